"""The page-table walker at every data width: each entry of a bucket is compared as its first word arrives
(hw.memory.walker, issue 18), at a beat and offset that depend on the width; the match must be the same
whichever beat carries the entry.

Uses the walk driver of sim_tests/memory/test_walker.py (a behavioural AXI read subordinate)."""

import dataclasses

import pytest

from firmware.page_table import bucket_hash
from sim_tests.memory.helpers import PARAMS
from sim_tests.memory.test_walker import BASE, BUCKET_BYTES, full_bucket, table, walk


def beats_of(words, data_width):
    """The 8-byte words of ``table`` packed into beats of ``data_width`` bits (the responder's words are
    beats: its key is the address over the beat's bytes)."""
    per = data_width // 64
    beats = {}
    for addr, value in words.items():
        beats[addr // per] = beats.get(addr // per, 0) | value << (64 * (addr % per))
    return beats


@pytest.mark.parametrize("data_width", [64, 128, 256, 512])
def test_every_slot_matches_at_every_width(data_width):
    params = dataclasses.replace(PARAMS, data_width=data_width)
    beats = BUCKET_BYTES * 8 // data_width
    pid, vpn = 3, 0x25
    home = bucket_hash(pid, vpn, params.pt_buckets_log2)
    for slot in range(4):
        # The other slots hold valid entries of other pages (and of the same vpn under another pid), so
        # only the compare of this slot's first word may find it.
        others = [(k, (pid, 0x30 + k, 1) if k % 2 else (pid ^ 1, vpn, 2)) for k in range(4) if k != slot]
        words = table({home: [*others, (slot, (pid, vpn, 5 + slot, 1, slot % 2))]})
        out = walk(beats_of(words, data_width), pid, vpn, params=params)
        assert out["bursts"] == [(BASE + home * BUCKET_BYTES, beats)], (data_width, slot)
        assert (out["found"], out["pfn"], out["r"], out["w"], out["fill"]) == (1, 5 + slot, 1, slot % 2, 1), \
            (data_width, slot)
        # start, hash, AR, the beats, compare (registered), decide.
        assert out["cycles"] == 4 + beats, (data_width, slot)


@pytest.mark.parametrize("data_width", [64, 256])
def test_a_full_bucket_does_not_match_and_the_next_one_does(data_width):
    params = dataclasses.replace(PARAMS, data_width=data_width)
    pid, vpn = 1, 0x7
    home = bucket_hash(pid, vpn, params.pt_buckets_log2)
    nxt = (home + 1) % (1 << params.pt_buckets_log2)
    # The next bucket's match is in its last slot: the match vector of the first bucket must not carry over.
    words = table({home: full_bucket(pid), nxt: [(0, (pid, 0x99, 1)), (3, (pid, vpn, 9))]})
    out = walk(beats_of(words, data_width), pid, vpn, params=params, gap=1)
    assert [a for a, _ in out["bursts"]] == [BASE + home * BUCKET_BYTES, BASE + nxt * BUCKET_BYTES]
    assert (out["found"], out["pfn"]) == (1, 9)
    # A match in the first bucket's slot 3 and nothing in the second: found in the first, one burst.
    words = table({home: [*full_bucket(pid)[:3], (3, (pid, vpn, 6))]})
    out = walk(beats_of(words, data_width), pid, vpn, params=params)
    assert len(out["bursts"]) == 1 and (out["found"], out["pfn"]) == (1, 6)

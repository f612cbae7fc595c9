"""Trace import (valgrind lackey) and the .dtrace binary format."""

import struct
from pathlib import Path

import numpy as np
import pytest

from emu.errors import DisaggError
from emu.traces import load, load_lackey, load_meta, load_trace, save
from emu.traces import lackey
from emu.traces.lackey import LackeyParser, split_aligned
from emu.workload_format import OP_READ, OP_WRITE, validate
from emu.workloads import generate
from sim_tests.lib.runner import default_seed

DATA = Path(__file__).parent / "data"
SNIPPET = DATA / "lackey_list.txt"


def test_real_lackey_snippet():
    """lackey_list.txt: valgrind 3.19 lackey on lackey_list.c (a 16-node list, 32 hops with an ``addq $1, mem``)."""
    w = load_lackey(SNIPPET)
    validate(w)
    text = SNIPPET.read_text().splitlines()
    n_l = sum(l.startswith(" L ") for l in text)
    n_s = sum(l.startswith(" S ") for l in text)
    n_m = sum(l.startswith(" M ") for l in text)
    n_i = sum(l.startswith("I  ") for l in text)
    assert (n_l, n_s, n_m) == (64, 33, 32)
    assert len(w) == n_l + n_s + 2 * n_m            # all 8-byte aligned accesses here; M = load + store
    assert (w["op"] == OP_WRITE).sum() == n_s + n_m
    # Instructions between data accesses became think time (cpi 1): all but trailing ones are counted.
    trailing = 0
    for l in reversed(text):
        if l.startswith("I  "):
            trailing += 1
        elif l[:3] in (" L ", " S ", " M "):
            break
    assert int(w["think"].sum()) == n_i - trailing
    # The M lines are read-modify-writes of the node's val: a read then a write of the same address.
    m_reads = np.flatnonzero((w["op"][:-1] == OP_READ) & (w["op"][1:] == OP_WRITE)
                             & (w["vaddr"][:-1] == w["vaddr"][1:]))
    assert len(m_reads) >= 32
    # The init loop stores 16 nodes of 16 bytes: next pointer then val, at consecutive addresses.
    stores = w["vaddr"][w["op"] == OP_WRITE][:32]
    assert (np.diff(stores.astype(np.int64)) == 8).all()


def test_lackey_cpi_and_pid(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("==1== banner\nI  00001000,4\nI  00001004,4\nI  00001008,4\n L 00002000,4\n\n S 00002008,8\n")
    w = load_lackey(p, pid=7, cpi=2.0)
    assert w["pid"].tolist() == [7, 7]
    assert w["think"].tolist() == [6, 0]
    assert w["size"].tolist() == [4, 8]


def test_lackey_splits_wide_and_unaligned(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text(" S 1fff0003a0,16\n L 00001003,6\n")
    w = load_lackey(p)
    assert [(int(a), int(s)) for a, s in zip(w["vaddr"], w["size"])] == \
        [(0x1fff0003a0, 8), (0x1fff0003a8, 8), (0x1003, 1), (0x1004, 4), (0x1008, 1)]
    assert split_aligned(0x1001, 15) == [(0x1001, 1), (0x1002, 2), (0x1004, 4), (0x1008, 8)]


@pytest.mark.parametrize("line, message", [
    ("hello world", "not a lackey trace line"),
    (" L 0000zz00,8", "bad address or size"),
    (" L 00001000", "bad address or size"),
    (" L 00001000,0", "bad address or size"),
    (" X 00001000,8", "not a lackey trace line"),
    (" L ffffffffffffff00,8", "bad address or size"),
])
def test_lackey_broken_input_names_file_and_line(tmp_path, line, message):
    p = tmp_path / "broken.txt"
    p.write_text("I  00001000,4\n L 00002000,8\n" + line + "\n")
    with pytest.raises(DisaggError, match=message) as e:
        load_lackey(p)
    assert str(e.value).startswith(f"{p}:3:")
    assert "\n" not in str(e.value)


def test_lackey_missing_file_and_bad_options(tmp_path):
    with pytest.raises(DisaggError, match="cannot read lackey trace"):
        load_lackey(tmp_path / "nope.txt")
    with pytest.raises(DisaggError, match="pid must be"):
        load_lackey(SNIPPET, pid=0)
    assert len(load_lackey(SNIPPET, max_accesses=10)) == 10


def test_dtrace_round_trip(tmp_path):
    w = generate("mix", n=3000, processes=3, footprint=4096, size=0, seed=2)
    p = save(tmp_path / "a.dtrace", w, {"workload": "mix", "seed": 2})
    assert np.array_equal(load(p), w)
    assert np.array_equal(load_trace(p), w)
    assert load_meta(p) == {"workload": "mix", "seed": 2}
    # Header: magic, version 1, 24-byte rows, count.
    head = p.read_bytes()[:24]
    assert head[:8] == b"DISAGGTR" and struct.unpack_from("<IIQ", head, 8) == (1, 24, 3000)
    assert p.stat().st_size == 32 + len(b'{"seed": 2, "workload": "mix"}') + 24 * 3000


def test_dtrace_empty_and_lackey_through_load_trace(tmp_path):
    p = save(tmp_path / "e.dtrace", generate("uniform", n=1)[:0])
    assert len(load(p)) == 0
    assert len(load_trace(SNIPPET)) == len(load_lackey(SNIPPET))


def _corrupt(path, fn):
    b = bytearray(path.read_bytes())
    fn(b)
    path.write_bytes(bytes(b))


@pytest.mark.parametrize("damage, message", [
    (lambda b: b.__setitem__(0, ord("X")), "bad magic"),
    (lambda b: struct.pack_into("<I", b, 8, 9), "version 9 is not supported"),
    (lambda b: struct.pack_into("<I", b, 12, 16), "row size 16"),
    (lambda b: b.__delitem__(slice(-5, None)), "truncated or padded"),
    (lambda b: b.extend(b"xx"), "truncated or padded"),
    (lambda b: b.__setitem__(-3, b[-3] ^ 0x40), "CRC mismatch"),
])
def test_dtrace_corruption_is_detected(tmp_path, damage, message):
    p = save(tmp_path / "c.dtrace", generate("uniform", n=100), {"x": 1})
    _corrupt(p, damage)
    with pytest.raises(DisaggError, match=message) as e:
        load(p)
    assert str(p) in str(e.value)


def test_dtrace_refuses_invalid_rows(tmp_path):
    w = generate("uniform", n=10)
    w["size"][3] = 3
    with pytest.raises(DisaggError, match="access 3: size"):
        save(tmp_path / "x.dtrace", w)
    with pytest.raises(DisaggError, match="metadata is not JSON"):
        save(tmp_path / "y.dtrace", generate("uniform", n=10), {"a": object()})


def _mixed_lackey_text(rng, n, odd):
    """Lackey text with every line form: I/L/S/M, banners, blank lines, sizes 1..64 (aligned or not), addresses
    of 1 to 12 hex digits; ``odd`` adds lines only the line reader takes (CR endings, ``0x``, trailing space,
    whitespace-only) and lines that are errors."""
    lines = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            lines.append(f"I  {int(rng.integers(0, 1 << 32)):08x},{int(rng.integers(1, 16))}")
        elif r < 0.33:
            lines.append("==12== banner")
        elif r < 0.35:
            lines.append("")
        elif odd and r < 0.36:
            lines.append(str(rng.choice(["   ", " L 0x1000,8", " S 1000,8 ", "\r", " L 00001000,8\r", " M 10,8\r",
                                         "hello", " L 1000,0", " L ffffffffffff0,8"])))
        else:
            size = int(rng.choice([1, 2, 4, 8, 8, 8, 16, 32, 3, 6, 7, 64]))
            addr = int(rng.integers(0, 1 << int(rng.choice([12, 36, 44]))))
            lines.append(f" {'LSM'[int(rng.integers(0, 3))]} {addr:0{int(rng.choice([1, 4, 8, 10]))}x},{size}")
    return ("\n".join(lines) + ("\n" if rng.random() < 0.5 else "")).encode()


def _read_line_by_line(path, **options):
    """The line reader (LackeyParser.feed on each line), as before the vectorised reader: the reference."""
    parser = LackeyParser(str(path), **options)
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            if not parser.feed(line, lineno):
                break
    return parser.finish(), parser.instructions


@pytest.mark.parametrize("block", [64, 1000, 1 << 19])
def test_vectorised_reader_equals_line_reader(request, tmp_path, monkeypatch, block):
    """The vectorised block reader gives the line reader's workload (bit for bit), instruction count and error
    message (same line number) on generated traces, with text fed in pieces of random sizes."""
    # A fixed seed per block size (--seed overrides): with a fresh entropy seed the mix of failing and comparable
    # traces, and so `compared > 4` below, was luck (a CI run drew only 4 comparable traces of 12).
    seed = request.config.getoption("--seed")
    seed = default_seed(f"sim_tests/workloads/test_traces.py::vectorised[{block}]") if seed is None else seed
    print(f"seed {seed} (reproduce with --seed {seed})")
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(lackey, "_BLOCK", block)
    compared = errors = 0
    for trial in range(12):
        p = tmp_path / f"t{trial}.lackey"
        p.write_bytes(_mixed_lackey_text(rng, int(rng.integers(1, 4000)), odd=rng.random() < 0.3))
        options = {"cpi": float(rng.choice([1.0, 0.5, 2.5, 1.3])), "seed": 3}
        if rng.random() < 0.3:
            options["max_accesses"] = int(rng.integers(1, 3000))
        try:
            want, want_instructions = _read_line_by_line(p, **options)
            want_error = None
        except DisaggError as exc:
            want_error = str(exc)
        parser = LackeyParser(str(p), **options)
        text, pos = p.read_bytes(), 0
        try:
            while pos < len(text):
                k = int(rng.integers(1, 3000))
                if not parser.feed_bytes(text[pos:pos + k]):
                    break
                pos += k
            got = parser.finish()
            got_error = None
        except DisaggError as exc:
            got_error = str(exc)
        assert got_error == want_error, (seed, trial)
        if want_error is not None:
            with pytest.raises(DisaggError) as e:
                load_lackey(p, **options)
            assert str(e.value) == want_error
            errors += 1
            continue
        assert np.array_equal(got, want), (seed, trial)
        assert parser.instructions == want_instructions, (seed, trial)
        assert np.array_equal(load_lackey(p, **options), want), (seed, trial)
        compared += 1
    assert compared > 4

"""Running out of memory is one error line naming the process, what it needed and what was free (exit 2).

Uses the small hardware-mode configuration of ``test_system_harness.py`` (its model is cached and shared):
16 KiB of DRAM in 256-byte pages, of which the page table takes 4, leaving 60 frames.
"""

import json

import pytest

from emu.cli import main
from firmware.global_memory_manager import GlobalMemoryManager, PlacementError, Region
from sim_tests.harness.test_system_harness import SMALL, small_config

pytestmark = pytest.mark.xdist_group("harness-system")


def _small_sets():
    cfg = small_config("hardware").to_dict()
    out = []
    for section, keys in SMALL.items():
        for key in keys:
            out += ["--set", f"{section}.{key}={json.dumps(cfg[section][key])}"]
    return out


def test_placement_message_names_pid_need_and_free():
    gmm = GlobalMemoryManager(page_size=4096)
    gmm.add_component("mem", 1, 60)
    with pytest.raises(PlacementError) as e:
        gmm.place(1, [Region(0x10000, 158 * 4096)])
    assert str(e.value) == ("out of memory: pid 1 needs 158 frames of 4096 bytes (632.0 KiB, the pages its regions "
                            "span), and no memory component has 158 free frames (mem (node 1): 60 of 60 frames "
                            "free, 240.0 KiB)")


def test_cli_out_of_memory_is_one_line_and_nonzero_exit(capsys):
    # 32 KiB of 256-byte pages = 128 frames, more than the 60 the small configuration has.
    code = main(["run", "--workload", "sequential", "-p", "n=4096", "-p", "footprint=32768", "--quiet",
                 *_small_sets()])
    captured = capsys.readouterr()
    assert code == 2
    err = captured.err.strip().splitlines()
    assert len(err) == 1, captured.err
    assert err[0] == ("disagg: error: cannot start process 1 of the workload: out of memory: pid 1 needs 128 "
                      "frames of 256 bytes (32.0 KiB, the pages its regions span), and no memory component has "
                      "128 free frames (mem (node 1): 60 of 60 frames free, 15.0 KiB)")
    assert "Traceback" not in captured.err + captured.out

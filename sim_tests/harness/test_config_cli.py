"""SystemConfig and the command-line front of ``disagg run``/``disagg bench``: bad input is one line, exit 2.

None of these builds a model: every error is caught before the build starts.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emu.cli import main
from emu.config import SCHEMA, SystemConfig, default_config, load_config
from emu.errors import DisaggError
from emu.workload_format import empty

REPO = Path(__file__).resolve().parents[2]


def test_default_config_is_the_documented_file_and_the_default_system():
    from hw.system.params import run_default_params
    text = (REPO / "configs" / "default.toml").read_text()
    stale = "configs/default.toml is stale: regenerate it with 'disagg run --print-config' (keep its header)"
    assert load_config(REPO / "configs" / "default.toml").to_dict() == default_config().to_dict(), stale
    # Every setting written out, with its comment, as --print-config prints it (not only the values: a key left
    # out of the file takes its default, and the file is the documentation of the defaults).
    assert text.endswith(default_config().toml() + "\n"), stale
    p, d = default_config().params, run_default_params()
    assert (p.excache, p.link, p.miss_path, p.dram_bytes, p.dram_latency) == \
           (d.excache, d.link, d.miss_path, d.dram_bytes, d.dram_latency)
    assert (p.mmu.tlb_entries, p.mmu.page_bytes, p.proc_netif, p.mem_netif) == \
           (d.mmu.tlb_entries, d.mmu.page_bytes, d.proc_netif, d.mem_netif)
    for keys in SCHEMA.values():
        for key in keys:
            assert f"{key} = " in default_config().toml()


def test_small_config_is_the_documented_file_and_the_tops_default_excache():
    from emu.config import small_config
    from hw.system.params import SystemParams, legoos_excache
    small = small_config()
    assert load_config(REPO / "configs" / "small.toml").to_dict() == small.to_dict()
    assert small.params.excache == SystemParams().excache and small.params.dram_bytes == default_config().params.dram_bytes
    assert default_config().params.excache == legoos_excache() and legoos_excache().capacity_bytes == 64 << 20


def test_overrides_map_to_hardware_parameters(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[cache]\nways = 8\nsets = 32\n[link]\nloss = 0.01\nlatency = 100\n")
    c = load_config(f, ["cache.policy=fifo", "system.miss_path=software", "system.clock_mhz=100"])
    p = c.params
    assert (p.excache.ways, p.excache.sets, p.excache.policy, p.miss_path) == (8, 32, "fifo", "software")
    assert p.link.latency == 100 and p.link.loss == round(0.01 * 65536)
    assert c.ns_per_cycle == 10.0 and c.key() != default_config().key()


@pytest.mark.parametrize("values, message", [
    ({"cache": {"line_bytes": 48}}, "impossible configuration: line_bytes must be a power of two"),
    ({"cache": {"ways": "4"}}, "cache.ways must be an integer"),
    ({"cache": {"colour": 1}}, "unknown setting cache.colour"),
    ({"disk": {}}, "unknown section [disk]"),
    ({"tlb": {"entries": 12, "ways": 8}}, "impossible configuration: tlb_entries"),
    ({"link": {"loss": 1.5}}, "link.loss must be a probability"),
    ({"system": {"miss_path": "magic"}}, "miss_path must be 'hardware' or 'software'"),
    ({"cache": {"line_bytes": 8192}}, "impossible configuration"),
])
def test_bad_configurations_are_one_line_errors(values, message):
    with pytest.raises(DisaggError) as info:
        SystemConfig(values)
    assert message in str(info.value) and "\n" not in str(info.value)


def _cli(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize("setup, argv, message", [
    (lambda d: (d / "bad.toml").write_text("[cache\nways = 4\n"), ["run", "--config", "{d}/bad.toml"], "not valid TOML"),
    (None, ["run", "--config", "{d}/missing.toml"], "does not exist"),
    (None, ["run", "--set", "cache.sets=3"], "impossible configuration: sets must be a power of two"),
    (None, ["run", "--set", "cache.ways"], "must look like section.key=value"),
    (None, ["run", "--workload", "no_such_workload"], "unknown workload 'no_such_workload'"),
    (None, ["run", "-p", "n=-5"], "parameter n"),
    (lambda d: (d / "t.npy").write_bytes(b"not numpy at all"), ["run", "--trace", "{d}/t.npy"], "t.npy"),
    (lambda d: np.save(d / "w.npy", np.zeros(4)), ["run", "--trace", "{d}/w.npy"], "WORKLOAD_DTYPE"),
    (lambda d: np.save(d / "z.npy", empty(3)), ["run", "--trace", "{d}/z.npy"], "size must be 1, 2, 4 or 8"),
    (lambda d: (d / "lackey.txt").write_text("garbage line\n"), ["run", "--trace", "{d}/lackey.txt"], "lackey.txt"),
    (None, ["run", "--window", "5:10"], "--window needs --waves"),
    (None, ["run", "--waves", "{d}/w.fst", "--window", "10:5"], "START <= END"),
    (None, ["bench", "--set", "memory.page_bytes=100"], "impossible configuration"),
    (None, ["bench", "--configs", "default,nope"], "--configs: unknown configuration 'nope'"),
    (None, ["bench", "--cocotb-config", "nope"], "--cocotb-config: unknown configuration 'nope'"),
    (None, ["bench", "--no-cocotb", "--cocotb-config", "nope"], "--cocotb-config: unknown configuration 'nope'"),
    (None, ["bench", "--set", "memory.page_bytes=256", "--set", "cache.line_bytes=64", "--cocotb-config", "large"],
     "--cocotb-config: configuration 'large': "),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, setup, argv, message):
    if setup is not None:
        setup(tmp_path)
    code, err = _cli(capsys, *[a.format(d=tmp_path) for a in argv])
    assert code == 2
    assert err.startswith("disagg: error:") and message in err and len(err.splitlines()) == 1, err


def test_entry_point_prints_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "emu.cli", "run", "--set", "cache.ways=0"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("disagg: error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

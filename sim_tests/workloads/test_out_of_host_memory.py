"""Running out of the host's memory (a trace or workload too large for this machine) is one error line and
exit status 2, never a traceback (``emu/cli.py``); the modelled memory running out is tested in
sim_tests/harness/test_out_of_memory.py."""

import subprocess
import sys

from emu.cli import main


def test_memory_error_is_one_line(monkeypatch, capsys):
    import emu.commands.run as run_command

    def exhausted(args):
        raise MemoryError

    monkeypatch.setattr(run_command, "run", exhausted)
    assert main(["run", "--workload", "uniform"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("disagg: error: this machine ran out of memory (")


def test_a_real_allocation_failure_under_a_memory_limit(tmp_path):
    # A workload far larger than the address space the process may use: numpy's allocation fails for real.
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
            "from emu.cli import main\n"
            "sys.exit(main(['run', '--quiet', '--workload', 'uniform', '-p', 'n=400000000']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "ran out of memory" in lines[0], proc.stderr

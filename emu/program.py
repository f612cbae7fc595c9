"""Real programs in one step: run a command under valgrind's lackey and stream its accesses into a workload.

``disagg run --program 'CMD ARGS'`` (and ``disagg sweep``) call :func:`trace_program`::

    valgrind --tool=lackey --trace-mem=yes --log-fd=N CMD ARGS

Lackey writes its trace to a pipe (file descriptor ``N``) that is parsed as the program runs
(:class:`emu.traces.lackey.LackeyParser`), so the text is never held in memory; only the workload array
grows. The trace is written to disk only when asked (``save_trace``; compressed by its suffix: ``.gz``,
``.xz``, ``.zst``, or plain text), and can be replayed later with ``disagg run --trace FILE``.

The program's standard output and error go to temporary files (a program that prints a lot cannot block
on a full pipe); the result keeps their first :data:`OUTPUT_KEEP` bytes, their sizes and the exit status.
The command is split like a shell would (``shlex``) but not run by one: no pipes or redirections (valgrind
would trace the shell, not the program). Valgrind is Debian's ``valgrind`` package
(``scripts/setup_system.sh`` installs it).
"""

from __future__ import annotations

import gzip
import lzma
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DisaggError
from .traces.lackey import LackeyParser

__all__ = ["ProgramRun", "trace_program", "valgrind_path", "OUTPUT_KEEP"]

#: Bytes read from lackey's pipe at a time (the parser gathers them into blocks of whole lines).
_PIPE_READ = 1 << 16

#: Bytes of the program's stdout and stderr kept in :class:`ProgramRun` (the rest is counted, not kept).
OUTPUT_KEEP = 64 * 1024


@dataclass
class ProgramRun:
    """What :func:`trace_program` returns.

    Attributes
    ----------
    command : list of str
        The program and its arguments.
    workload : numpy.ndarray of WORKLOAD_DTYPE
        Its data accesses (lackey conventions, see :mod:`emu.traces.lackey`).
    status : int
        Exit status of the program (valgrind passes it through; negative: killed by that signal).
    stdout, stderr : bytes
        The first :data:`OUTPUT_KEEP` bytes of each.
    stdout_bytes, stderr_bytes : int
        Their full sizes.
    instructions : int
        Instruction fetches lackey reported (they became think time).
    stopped : bool
        The program was stopped once ``max_accesses`` accesses were collected.
    saved_trace : Path or None
        Where the lackey text was kept (``save_trace``).
    """
    command: list
    workload: np.ndarray
    status: int
    stdout: bytes
    stderr: bytes
    stdout_bytes: int
    stderr_bytes: int
    instructions: int
    stopped: bool = False
    saved_trace: Path | None = None

    @property
    def name(self) -> str:
        """The command as one string (for reports)."""
        return shlex.join(self.command)

    def report(self, max_lines: int = 20) -> str:
        """Exit status and output of the program, for people (at most ``max_lines`` lines of each stream)."""
        how = (f"stopped after {len(self.workload):,} accesses" if self.stopped else
               f"exited with status {self.status}" if self.status >= 0 else f"killed by signal {-self.status}")
        lines = [f"program {self.name}: {how}; {len(self.workload):,} data accesses, "
                 f"{self.instructions:,} instructions traced by valgrind lackey"]
        if self.saved_trace is not None:
            lines.append(f"  trace kept in {self.saved_trace}")
        for label, data, size in (("stdout", self.stdout, self.stdout_bytes), ("stderr", self.stderr, self.stderr_bytes)):
            if not size:
                lines.append(f"  {label}: (empty)")
                continue
            text = data.decode("utf-8", "replace").splitlines()
            shown = text[:max_lines]
            lines.append(f"  {label} ({size:,} bytes):")
            lines += [f"    | {t}" for t in shown]
            if len(text) > max_lines or size > len(data):
                lines.append("    | ...")
        return "\n".join(lines)


def valgrind_path() -> str:
    """The ``valgrind`` executable, or a :class:`DisaggError` saying how to install it."""
    path = shutil.which("valgrind")
    if path is None:
        raise DisaggError("valgrind is not installed (needed by --program): run scripts/setup_system.sh as root, "
                          "or apt-get install valgrind")
    return path


def _trace_writer(path: Path):
    """A binary file object that compresses by ``path``'s suffix (.gz, .xz, .zst) or writes plain text."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gz":
        return gzip.open(path, "wb", compresslevel=6)
    if suffix == ".xz":
        return lzma.open(path, "wb", preset=6)
    if suffix == ".zst":
        import zstandard
        return zstandard.ZstdCompressor(level=10).stream_writer(open(path, "wb"), closefd=True)
    return open(path, "wb")


def _head(f, size):
    f.seek(0)
    return f.read(min(size, OUTPUT_KEEP))


def trace_program(command, *, save_trace=None, pid=1, cpi=1.0, seed=0, max_accesses=None, vaddr_width=48,
                  progress=False, cwd=None, env=None) -> ProgramRun:
    """Run ``command`` under valgrind lackey and return its accesses, exit status and output.

    Parameters
    ----------
    command : str or list of str
        The program and its arguments (a string is split with :func:`shlex.split`; no shell is used).
    save_trace : str or Path, optional
        Also keep lackey's text there (``.gz``/``.xz``/``.zst``: compressed); default: not kept.
    pid, cpi, seed, max_accesses, vaddr_width
        As for :func:`emu.traces.load_lackey`. With ``max_accesses`` the program is stopped once that many
        accesses were collected.
    progress : bool
        A progress bar (accesses collected) while the program runs.
    cwd, env : optional
        Working directory and environment of the program (default: this process's).

    Raises
    ------
    DisaggError
        An empty command, valgrind missing, the program not found or not started (valgrind's message), a
        trace line lackey should not print, or no data access at all.
    """
    argv = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
    if not argv:
        raise DisaggError("--program needs a command, e.g. --program 'sort data.txt'")
    valgrind = valgrind_path()
    name = f"lackey trace of {shlex.join(argv)}"
    parser = LackeyParser(name, pid=pid, cpi=cpi, seed=seed, max_accesses=max_accesses, vaddr_width=vaddr_width)
    save_path = Path(save_trace) if save_trace is not None else None
    read_fd, write_fd = os.pipe()
    bar = None
    stopped = False
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen([valgrind, "--tool=lackey", "--trace-mem=yes", f"--log-fd={write_fd}", *argv],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=(write_fd,),
                                    cwd=cwd, env=env)
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            raise DisaggError(f"cannot start valgrind for {shlex.join(argv)}: {exc.strerror or exc}") from None
        os.close(write_fd)      # the child holds it; EOF on read_fd when the program (and valgrind) ends
        writer = None
        try:
            if save_path is not None:
                try:
                    writer = _trace_writer(save_path)
                except OSError as exc:
                    raise DisaggError(f"cannot write trace {str(save_path)!r}: {exc.strerror or exc}") from None
            if progress:
                from tqdm import tqdm
                bar = tqdm(unit="acc", unit_scale=True, delay=2.0, leave=False, dynamic_ncols=True,
                           desc=f"tracing {Path(argv[0]).name}")
            with os.fdopen(read_fd, "rb", buffering=0) as log:
                read_fd = None
                shown = 0
                while True:
                    piece = log.read(_PIPE_READ)
                    if not piece:
                        parser.flush_lines(final=True)     # the last lines (max_accesses may be reached there)
                        stopped = parser.stopped
                        break
                    if writer is not None:
                        writer.write(piece)
                    if not parser.feed_bytes(piece):
                        stopped = True
                        break
                    if bar is not None and parser.accesses != shown:
                        bar.update(parser.accesses - shown)
                        shown = parser.accesses
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if read_fd is not None:
                os.close(read_fd)
            if bar is not None:
                bar.close()
            if writer is not None:
                writer.close()
        if stopped:
            proc.kill()
        status = proc.wait()
        out_size, err_size = out.seek(0, os.SEEK_END), err.seek(0, os.SEEK_END)
        stdout, stderr = _head(out, out_size), _head(err, err_size)
    workload = parser.finish()
    if len(workload) == 0:
        said = stderr.decode("utf-8", "replace").strip().splitlines()
        why = f": {said[-1]}" if said else ""
        raise DisaggError(f"program {shlex.join(argv)} made no data access under valgrind "
                          f"(exit status {status}){why}")
    return ProgramRun(argv, workload, status, stdout, stderr, out_size, err_size, parser.instructions,
                      stopped=stopped, saved_trace=save_path)

"""Compressed traces (gzip, xz, zstd), streamed reading, progress bar and damaged files."""

import gzip
import lzma
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import zstandard

from emu.errors import DisaggError
from emu.traces import load, load_lackey, load_trace, save, source
from emu.traces.source import TraceReadError, detect_compression
from emu.workloads import generate

REPO = Path(__file__).resolve().parents[2]
SNIPPET = Path(__file__).parent / "data" / "lackey_list.txt"

COMPRESS = {
    ".gz": gzip.compress,
    ".xz": lzma.compress,
    ".zst": lambda b: zstandard.ZstdCompressor(level=3).compress(b),
}


def _lackey_text(n_data, seed=0):
    """A generated lackey log: instruction fetches, loads, stores, modifies, a banner and blank lines."""
    rng = np.random.default_rng(seed)
    lines = ["==123== Lackey, an example Valgrind tool", ""]
    for i in range(n_data):
        lines += [f"I  {0x400000 + 4 * i:08x},4"] * int(rng.integers(0, 3))
        kind = "LSM"[int(rng.integers(0, 3))]
        addr = 0x1FFF000000 + int(rng.integers(0, 1 << 16)) * 8
        lines.append(f" {kind} {addr:010x},{(1, 2, 4, 8, 16)[int(rng.integers(0, 5))]}")
    return ("\n".join(lines) + "\n").encode()


def _write(tmp_path, name, data, suffix):
    p = tmp_path / (name + suffix)
    p.write_bytes(COMPRESS[suffix](data) if suffix else data)
    return p


@pytest.mark.parametrize("suffix", [".gz", ".xz", ".zst"])
def test_lackey_compressed_equals_plain(tmp_path, suffix):
    text = _lackey_text(3000)
    plain = load_lackey(_write(tmp_path, "t.lackey", text, ""), seed=3)
    packed = _write(tmp_path, "t.lackey", text, suffix)
    assert detect_compression(packed.read_bytes()[:8]) == {".gz": "gzip", ".xz": "xz", ".zst": "zstd"}[suffix]
    got = load_trace(packed, seed=3)
    assert len(got) > 3000 and np.array_equal(got, plain)


def test_zstd_multi_frame(tmp_path):
    text = _lackey_text(2000)
    half = len(text) // 2
    half = text.rindex(b"\n", 0, half) + 1
    c = zstandard.ZstdCompressor()
    p = tmp_path / "m.lackey.zst"
    p.write_bytes(c.compress(text[:half]) + c.compress(text[half:]))
    assert np.array_equal(load_lackey(p), load_lackey(_write(tmp_path, "m", text, "")))


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz", ".zst"])
def test_dtrace_compressed_round_trip(tmp_path, suffix):
    w = generate("mix", n=5000, processes=2, footprint=8192, size=0, seed=4)
    plain = save(tmp_path / "a.dtrace", w, {"k": suffix})
    p = _write(tmp_path, "b.dtrace", plain.read_bytes(), suffix)
    assert np.array_equal(load(p), w)
    assert np.array_equal(load_trace(p), w)


@pytest.mark.parametrize("suffix", [".gz", ".xz", ".zst"])
def test_truncated_compressed_lackey_names_file_and_line(tmp_path, suffix):
    text = _lackey_text(20000)
    full = COMPRESS[suffix](text)
    p = tmp_path / ("cut.lackey" + suffix)
    p.write_bytes(full[:len(full) * 2 // 3])
    with pytest.raises(TraceReadError, match="truncated") as e:
        load_lackey(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:") and "\n" not in msg
    line = int(msg[len(str(p)) + 1:].split(":")[0])
    assert 1 < line <= text.count(b"\n") + 1


@pytest.mark.parametrize("suffix", [".gz", ".xz", ".zst"])
def test_corrupt_compressed_lackey(tmp_path, suffix):
    full = bytearray(COMPRESS[suffix](_lackey_text(20000, seed=5)))
    for i in range(len(full) // 2, len(full) // 2 + 64):
        full[i] ^= 0x5A
    p = tmp_path / ("bad.lackey" + suffix)
    p.write_bytes(bytes(full))
    with pytest.raises(DisaggError) as e:
        load_lackey(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:") and "\n" not in msg
    # Either the decompressor notices, or the damaged text is not lackey: both name file and line.
    assert any(word in msg for word in ("corrupt", "truncated", "not a lackey trace line", "bad address"))


@pytest.mark.parametrize("suffix", [".gz", ".xz", ".zst"])
def test_truncated_compressed_dtrace(tmp_path, suffix):
    w = generate("uniform", n=20000, seed=1)
    full = COMPRESS[suffix](save(tmp_path / "a.dtrace", w).read_bytes())
    p = tmp_path / ("cut.dtrace" + suffix)
    p.write_bytes(full[:len(full) // 2])
    with pytest.raises(DisaggError, match="truncated") as e:
        load_trace(p)
    assert str(e.value).startswith(f"{p}:")


def test_misnamed_file_is_refused(tmp_path):
    p = tmp_path / "plain.lackey.xz"
    p.write_bytes(_lackey_text(10))
    with pytest.raises(TraceReadError, match=r"named like a xz file \(\.xz\) but not compressed"):
        load_lackey(p)
    q = tmp_path / "gz.lackey.zst"
    q.write_bytes(gzip.compress(_lackey_text(10)))
    with pytest.raises(TraceReadError, match="but gzip data"):
        load_trace(q)


def test_progress_bar_on_large_file(tmp_path, monkeypatch, capsys):
    p = _write(tmp_path, "big.lackey", _lackey_text(3000), ".xz")
    monkeypatch.setattr(source, "PROGRESS_MIN_BYTES", 1)
    load_trace(p, progress=True)
    assert "reading big.lackey.xz" in capsys.readouterr().err
    monkeypatch.setattr(source, "PROGRESS_MIN_BYTES", 1 << 40)
    load_trace(p, progress=True)
    assert "reading" not in capsys.readouterr().err          # small and read in well under the delay
    # A small file whose reading outlasts the delay (here 0 s: a compressed file of a large text) shows it.
    monkeypatch.setattr(source, "PROGRESS_DELAY_S", 0.0)
    load_trace(p, progress=True)
    assert "reading big.lackey.xz" in capsys.readouterr().err


def test_lackey_memory_bounded_by_the_workload(tmp_path):
    """Reading keeps the workload array (and packed columns), not the text nor per-access Python objects."""
    n = 200_000
    text = "".join(f" L {0x1FFF000000 + 8 * (i % 50_000):010x},8\n" for i in range(n)).encode()
    p = _write(tmp_path, "mem.lackey", text, ".zst")
    tracemalloc.start()
    try:
        w = load_lackey(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(w) == n
    # Rows (24 B) plus the packed columns or the data column while the array is built, plus a constant
    # for the chunk being parsed (Python lists of at most 2**16 accesses) and the decompressor.
    assert peak < 2 * w.nbytes + (8 << 20), (peak, w.nbytes)


def test_cli_truncated_trace_is_one_error_line(tmp_path):
    full = lzma.compress(_lackey_text(20000))
    p = tmp_path / "cut.lackey.xz"
    p.write_bytes(full[:len(full) // 2])
    r = subprocess.run([sys.executable, "-m", "emu.cli", "run", "--trace", str(p), "--quiet"], cwd=REPO,
                       capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"disagg: error: {p}:") and "truncated xz file" in lines[0]
    assert "Traceback" not in r.stderr

"""The key of the cached system Verilog covers every source it is made from (no stale model after an RTL change).

No model is built: the digest is computed over a copy of the sources.
"""

import shutil

import pytest

from emu.system import model_cache


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """A copy of hw/ and of the emu sources the digest reads, which the digest then reads instead."""
    root = model_cache._ROOT
    for path in (root / "hw").rglob("*.py"):
        dest = tmp_path / path.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    for rel in model_cache._EMU_SOURCES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, tmp_path / rel)
    monkeypatch.setattr(model_cache, "_ROOT", tmp_path)
    return tmp_path


def test_digest_is_that_of_the_checkout(sources, monkeypatch):
    copy = model_cache.source_digest()
    monkeypatch.undo()
    assert model_cache.source_digest() == copy


#: One file of every folder of hw/ (sub-packages at any depth), and the emu sources.
SAMPLES = sorted({p.parent: p.relative_to(model_cache._ROOT).as_posix()
                  for p in sorted((model_cache._ROOT / "hw").rglob("*.py"))}.values()) + list(model_cache._EMU_SOURCES)


@pytest.mark.parametrize("rel", SAMPLES)
def test_digest_changes_with_every_source(sources, rel):
    before = model_cache.source_digest()
    path = sources / rel
    original = path.read_bytes()
    path.write_bytes(original + b"\n# changed\n")
    assert model_cache.source_digest() != before
    path.write_bytes(original)
    assert model_cache.source_digest() == before


def test_digest_changes_with_a_new_or_moved_hw_file(sources):
    before = model_cache.source_digest()
    folders = sorted({p.parent for p in (sources / "hw").rglob("*.py")} - {sources / "hw"})
    new = folders[0] / "new_block.py"
    new.write_text("X = 1\n")
    with_new = model_cache.source_digest()
    assert with_new != before
    new.rename(folders[-1] / "new_block.py")
    assert model_cache.source_digest() not in (before, with_new)

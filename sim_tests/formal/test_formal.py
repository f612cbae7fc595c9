"""The formal checks of ``disagg formal`` (emu/formal.py), as the default suite runs them (``--quick``).

Each check must hold on the real block (proved by PDR where its quick method is ``pdr``, otherwise no
counterexample up to its quick depth), and each must fail on its deliberately broken variant (a mutation in
the harness): a property that cannot fail proves nothing. The default suite's runs take about three minutes of
CPU in all; the full runs (each check's own method and depth, and the mutants whose counterexamples are
deeper than the quick runs reach, ``FormalCheck.slow_mutations``) are slow tests, as ``disagg formal`` runs
them (docs/verification.md).
"""

import pytest

from emu.errors import DisaggError
from emu.formal import CHECKS, find_checks, run_check

QUICK = [c for c in CHECKS if c.quick_depth]


@pytest.mark.parametrize("check", QUICK, ids=lambda c: c.name)
def test_property_holds(check, tmp_path):
    r = run_check(check, depth=check.quick_depth, mode=check.quick_mode, build=tmp_path)
    expected = ("proved",) if check.quick_mode == "pdr" else ("proved", "bounded")
    assert r.status in expected, (
        f"{check.name}: {r.status} ({r.method}) at step {r.step}: {r.failed}; trace {r.trace}; log {r.log}")


MUTANTS = [(c, mutation) for c in QUICK for mutation in c.quick_mutations]


@pytest.mark.parametrize("check,mutation", MUTANTS, ids=[f"{c.name}+{m}" for c, m in MUTANTS])
def test_mutant_is_caught(check, mutation, tmp_path):
    r = run_check(check, depth=check.quick_depth, mode=check.quick_mode, mutation=mutation, build=tmp_path)
    assert r.status == "failed", f"{check.name}: the {mutation} mutant was not caught ({r.status}, {r.method})"
    if r.method.startswith("PDR (no counterexample"):
        # PDR's verdict is a proof that the property fails; its counterexample is deeper than the quick BMC that
        # would rebuild it as a trace (reorder_responses needs two reads by different processes, each a miss).
        return
    assert r.trace is not None and r.trace.exists(), "a failing check leaves its counterexample"
    assert r.step is not None and r.step <= check.quick_depth


def test_every_block_has_handshake_and_a_guarantee():
    blocks = {c.block for c in CHECKS}
    assert blocks == {"excache", "mmu", "netif"}
    for b in blocks:
        props = {c.prop for c in CHECKS if c.block == b}
        assert "handshake" in props and len(props) >= 2, (b, props)


def test_unknown_block_or_property_is_one_error():
    with pytest.raises(DisaggError, match="no formal checks for block 'nope'"):
        find_checks(["nope"])
    with pytest.raises(DisaggError, match="no property 'nope'"):
        find_checks(["excache"], ["nope"])


def test_unknown_method_is_one_error():
    with pytest.raises(DisaggError, match="method must be one of pdr, induction, bmc"):
        run_check(CHECKS[0], mode="sat")


def test_bad_mutation_name_is_rejected():
    from hw.processor.excache_formal import ExCacheFormal
    with pytest.raises(ValueError, match="mutation must be None or one of"):
        ExCacheFormal("handshake", mutation="nope")


def test_every_mutant_is_caught_by_some_run():
    """A check too deep to catch its own mutant (excache.no_lost_write: a write, its eviction and the read that
    fetches it back take 45 cycles or more) names a check of the same harness property and mutant that does,
    in a narrowed environment whose traces are traces of the free one."""
    by_name = {c.name: c for c in CHECKS}
    for c in CHECKS:
        if not c.mutant_shown_by:
            continue
        shown = by_name[f"{c.block}.{c.mutant_shown_by}"]
        assert not shown.mutant_shown_by, (c.name, shown.name)
        assert (shown.module, shown.harness, shown.harness_property, shown.mutation) == (
            c.module, c.harness, c.harness_property, c.mutation), (c.name, shown.name)


FULL = [c for c in CHECKS if not c.mutant_shown_by]


@pytest.mark.slow
@pytest.mark.parametrize("check", FULL, ids=lambda c: c.name)
def test_full_property_holds(check, tmp_path):
    """Each check's full run (its own method and depth: the PDR proofs, the deep bounds) holds."""
    r = run_check(check, build=tmp_path)
    expected = ("proved",) if check.mode == "pdr" else ("proved", "bounded")
    assert r.status in expected, f"{check.name}: {r.status} ({r.method}) at step {r.step}: {r.failed}"


DEEP_MUTANTS = [(c, mutation) for c in FULL for mutation in c.mutations if mutation not in c.quick_mutations]


@pytest.mark.slow
@pytest.mark.parametrize("check,mutation", DEEP_MUTANTS, ids=[f"{c.name}+{m}" for c, m in DEEP_MUTANTS])
def test_deep_mutant_is_caught(check, mutation, tmp_path):
    """... and catches the mutants the default suite leaves out (their counterexamples are deeper)."""
    skip = check.mutant_skip if check.mode == "bmc" else 0
    r = run_check(check, mutation=mutation, build=tmp_path, skip=skip)
    assert r.status == "failed", f"{check.name}: the {mutation} mutant was not caught ({r.status}, {r.method})"


def test_every_mutant_is_run_somewhere():
    """Every mutation of every check is caught by the default suite or by a slow test (or, for a check too
    deep for its own mutant, by the check named in ``mutant_shown_by``)."""
    quick = {(c.name, m) for c, m in MUTANTS}
    deep = {(c.name, m) for c, m in DEEP_MUTANTS}
    for c in CHECKS:
        for m in c.mutations:
            assert c.mutant_shown_by or (c.name, m) in quick | deep, (c.name, m)

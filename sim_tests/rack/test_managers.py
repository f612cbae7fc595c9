"""The rack's global managers (plain pytest, no simulation): the GPM's process placement and pids, the
GMM's region placement (round-robin, least-loaded, spilling, out of memory)."""

import pytest

from firmware.global_memory_manager import GlobalMemoryManager, PlacementError, Region, split_regions
from firmware.global_process_manager import GlobalProcessManager, ProcessPlacementError

PAGE = 4096
RB = 4 * PAGE   # region size of these tests: 4 pages


def gmm(capacities):
    g = GlobalMemoryManager(page_size=PAGE, vaddr_width=48)
    for k, cap in enumerate(capacities):
        g.add_component(f"m{k}", 10 + k, cap)
    return g


def test_split_regions_at_region_boundaries():
    pieces = split_regions([Region(2 * PAGE, 7 * PAGE), Region(16 * PAGE, PAGE, False)], RB)
    assert [(n, r.vaddr // PAGE, r.length // PAGE, r.writable) for n, r in pieces] == \
        [(0, 2, 2, True), (1, 4, 4, True), (2, 8, 1, True), (4, 16, 1, False)]


def test_round_robin_rotates_and_carries_over():
    g = gmm([100, 100, 100])
    a = g.place_regions(1, [Region(0, 4 * RB)], region_bytes=RB, policy="round-robin")
    assert [p.node for p in a] == [10, 11, 12, 10]
    b = g.place_regions(2, [Region(0, RB)], region_bytes=RB, policy="round-robin")
    assert [p.node for p in b] == [11]
    assert [c.reserved_frames for c in g.components.values()] == [8, 8, 4]
    assert g.spills == 0


def test_least_loaded_balances_and_spills():
    g = gmm([12, 12])
    placed = g.place_regions(1, [Region(0, 5 * RB)], region_bytes=RB)
    assert [p.node for p in placed] == [10, 11, 10, 11, 10]
    g.release(1)
    assert all(c.reserved_frames == 0 for c in g.components.values())
    # One component nearly full: least-loaded goes to the emptier one; round-robin's choice spills.
    g2 = gmm([4, 100])
    g2.place_regions(1, [Region(0, RB)], region_bytes=RB, policy="round-robin")     # m0 now full
    placed = g2.place_regions(2, [Region(0, 2 * RB)], region_bytes=RB, policy="round-robin")
    assert [p.node for p in placed] == [11, 11] and g2.spills == 1


def test_rack_out_of_memory_is_one_line_and_reserves_nothing():
    g = gmm([8, 8])
    g.place_regions(1, [Region(0, 3 * RB)], region_bytes=RB)
    with pytest.raises(PlacementError) as exc:
        g.place_regions(2, [Region(0, 2 * RB)], region_bytes=RB)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("out of memory: pid 2 needs 8 frames")
    assert "m0 (node 10): 0 of 8 frames free" in msg and "m1 (node 11): 4 of 8 frames free" in msg
    assert [c.reserved_frames for c in g.components.values()] == [8, 4]
    with pytest.raises(PlacementError, match="policy"):
        g.place_regions(3, [Region(0, RB)], region_bytes=RB, policy="best")


def test_whole_process_placement_unchanged():
    g = gmm([10, 20])
    assert g.place(1, [Region(0, 5 * PAGE)]).node_id == 11
    with pytest.raises(PlacementError, match="no memory component has 30 free frames"):
        g.place(2, [Region(0, 30 * PAGE)])


def test_gpm_policies_pids_and_vnodes():
    gpm = GlobalProcessManager((0, 1, 2), max_pid=3)
    got = []
    for vnode in ("a", "a", "b"):
        pid, node = gpm.place(vnode)
        gpm.commit(pid, node, vnode)
        got.append((pid, node))
    assert got == [(1, 0), (2, 1), (3, 2)]
    assert gpm.vnode_nodes("a") == [0, 1]
    with pytest.raises(ProcessPlacementError, match="no free pid"):
        gpm.place()
    assert gpm.release(2) == 1
    pid, node = gpm.place(pin=2)
    assert (pid, node) == (2, 2)
    rr = GlobalProcessManager((4, 5), max_pid=10, policy="round-robin")
    assert [rr.place()[1] for _ in range(3)] == [4, 5, 4]
    with pytest.raises(ValueError, match="policy"):
        GlobalProcessManager((0,), 3, policy="random")


def test_replication_places_a_secondary_elsewhere():
    g = gmm([20, 20, 20])
    placed = g.place_regions(1, [Region(0, 3 * RB)], region_bytes=RB, replication=2)
    assert all(p.secondary is not None and p.secondary != p.node for p in placed)
    assert sum(c.reserved_frames for c in g.components.values()) == 2 * 12
    g.release(1)
    assert all(c.reserved_frames == 0 for c in g.components.values())
    with pytest.raises(PlacementError, match="no second memory component"):
        gmm([100, 2]).place_regions(2, [Region(0, RB)], region_bytes=RB, replication=2)
    with pytest.raises(PlacementError, match="replication factor must be 1 or 2"):
        g.place_regions(3, [Region(0, RB)], region_bytes=RB, replication=3)

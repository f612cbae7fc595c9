"""``[topology]`` in the configuration and ``--topology PxM``: parsing, validation, mapping to RackParams."""

import pytest

from emu.config import default_config, load_config, parse_topology
from emu.errors import DisaggError


def test_default_is_one_by_one():
    c = default_config()
    assert (c.topology.processors, c.topology.memories) == (1, 1) and not c.is_rack


def test_topology_maps_to_rack_params():
    c = load_config(None, ["topology.processors=4", "topology.memories=4", "topology.region_bytes=65536",
                           "link.latency=30", "link.loss=0.01", "cache.ways=8"])
    p = c.rack_params()
    assert c.is_rack and (p.processors, p.memories, p.n_nodes, p.node_bits) == (4, 4, 8, 3)
    assert p.region_log2 == 16 and p.router_entries == 16
    assert p.port.latency == 30 and p.port.loss == round(0.01 * 65536) and p.excache.ways == 8
    assert p.memory_nodes == (4, 5, 6, 7) and p.netif_of(5).n_nodes == 8
    assert len({p.port_of(k).seed for k in range(8)}) == 8


@pytest.mark.parametrize("text, pm", [("4x4", (4, 4)), ("2X1", (2, 1)), ("1x1", (1, 1))])
def test_parse_topology(text, pm):
    assert parse_topology(text) == pm


@pytest.mark.parametrize("text", ["4", "0x2", "4x", "ax2", "40x40", "2x2x2"])
def test_bad_topology_is_one_line(text):
    with pytest.raises(DisaggError) as exc:
        parse_topology(text)
    assert "\n" not in str(exc.value) and "--topology" in str(exc.value)


@pytest.mark.parametrize("override, message", [
    ("topology.region_policy=best", "topology.region_policy must be one of least-loaded, round-robin"),
    ("topology.process_policy=crash", "topology.process_policy must be one of least-loaded, round-robin"),
    ("topology.region_bytes=1000", "topology.region_bytes must be a power of two"),
    ("topology.region_bytes=1024", "impossible rack: RackParams.region_log2 must make regions of at least a page"),
    ("topology.region_entries=0", "impossible rack"),
    ("cache.line_store=axi", "impossible rack: a rack's ExCache keeps its lines on chip"),
])
def test_bad_rack_settings(override, message):
    c = load_config(None, ["topology.processors=2", override])
    with pytest.raises(DisaggError, match=message.replace(".", r"\.")):
        c.rack_params()

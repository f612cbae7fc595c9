"""hw/lib/formal.py: channels are found by their names on every kind of port we have."""

from hw.lib.formal import stream_channels
from hw.memory.mmu import MemoryMMU
from hw.memory.params import MMUParams
from hw.network.netif import NetIf, NetIfParams


def test_mmu_channels_cover_streams_and_axi():
    chans = {c.name: c.driven_by_block for c in stream_channels(MemoryMMU(MMUParams()))}
    assert chans == {"net_rx.hdr": False, "net_rx.data": False, "net_tx.hdr": True, "net_tx.data": True,
                     "axi.ar": True, "axi.aw": True, "axi.w": True, "axi.r": False, "axi.b": False}


def test_netif_channels_cover_axi_stream():
    chans = {c.name: c.driven_by_block for c in stream_channels(NetIf(NetIfParams()))}
    assert chans["m_axis"] is True and chans["s_axis"] is False
    assert {"tx.hdr", "tx.data", "rx.hdr", "rx.data"} <= set(chans)

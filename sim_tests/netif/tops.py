"""Small Amaranth test tops for the network interface tests (not part of hw/)."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.axis import AXIStreamSignature
from hw.csr import CSRBusSignature
from hw.link import Link, LinkParams, LINK_COUNTERS, Switch, SWITCH_COUNTERS
from hw.netif import NetIf, NetIfParams, NETIF_REGISTERS
from hw.protocol import MessagePort

__all__ = ["NetIfPair", "NetIfStar", "pair_from_config", "star_from_config", "netif_from_config"]


def netif_params(config, node_id):
    return NetIfParams(node_id=node_id, **config["netif"])


def link_params(config, seed):
    return LinkParams(seed=seed, **config["link"])


class NetIfPair(wiring.Component):
    """NetIf A (node 0) -> link ab -> NetIf B (node 1) -> link ba -> NetIf A.

    Ports ``a_tx``, ``a_rx``, ``b_tx``, ``b_rx`` (message ports), ``a_csr``, ``b_csr`` (CSR buses) and the
    counters of both links as ``ab_<counter>`` / ``ba_<counter>``.
    """

    def __init__(self, config):
        self.config = config
        w = config["netif"].get("data_width", 64)
        sig = {}
        for side in "ab":
            sig[f"{side}_tx"] = In(MessagePort(w))
            sig[f"{side}_rx"] = Out(MessagePort(w))
            sig[f"{side}_csr"] = In(CSRBusSignature(NETIF_REGISTERS.addr_width))
        for link in ("ab", "ba"):
            for name in LINK_COUNTERS:
                sig[f"{link}_{name}"] = Out(32)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.submodules.a = a = NetIf(netif_params(cfg, 0))
        m.submodules.b = b = NetIf(netif_params(cfg, 1))
        m.submodules.ab = ab = Link(link_params(cfg, cfg["seed_ab"]))
        m.submodules.ba = ba = Link(link_params(cfg, cfg["seed_ba"]))
        wiring.connect(m, a.m_axis, ab.s_axis)
        wiring.connect(m, ab.m_axis, b.s_axis)
        wiring.connect(m, b.m_axis, ba.s_axis)
        wiring.connect(m, ba.m_axis, a.s_axis)
        for side, nif in (("a", a), ("b", b)):
            wiring.connect(m, wiring.flipped(getattr(self, f"{side}_tx")), nif.tx)
            wiring.connect(m, wiring.flipped(getattr(self, f"{side}_rx")), nif.rx)
            wiring.connect(m, wiring.flipped(getattr(self, f"{side}_csr")), nif.csr)
        for lname, link in (("ab", ab), ("ba", ba)):
            for name in LINK_COUNTERS:
                m.d.comb += getattr(self, f"{lname}_{name}").eq(getattr(link, name))
        return m


class NetIfStar(wiring.Component):
    """``n`` NetIfs (nodes 0..n-1), each over a pair of links to a port of one Switch.

    Ports ``n<i>_tx``, ``n<i>_rx``, ``n<i>_csr`` and the switch counters ``sw_<counter>``.
    """

    def __init__(self, config):
        self.config = config
        self.n = config["netif"]["n_nodes"]
        w = config["netif"].get("data_width", 64)
        sig = {}
        for i in range(self.n):
            sig[f"n{i}_tx"] = In(MessagePort(w))
            sig[f"n{i}_rx"] = Out(MessagePort(w))
            sig[f"n{i}_csr"] = In(CSRBusSignature(NETIF_REGISTERS.addr_width))
        for name in SWITCH_COUNTERS:
            sig[f"sw_{name}"] = Out(32)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        w = cfg["netif"].get("data_width", 64)
        m.submodules.sw = sw = Switch(self.n, w)
        for i in range(self.n):
            nif = NetIf(netif_params(cfg, i))
            up = Link(link_params(cfg, 1000 + i))
            down = Link(link_params(cfg, 2000 + i))
            m.submodules[f"n{i}"] = nif
            m.submodules[f"up{i}"] = up
            m.submodules[f"down{i}"] = down
            wiring.connect(m, nif.m_axis, up.s_axis)
            wiring.connect(m, up.m_axis, sw.s_axis[i])
            wiring.connect(m, sw.m_axis[i], down.s_axis)
            wiring.connect(m, down.m_axis, nif.s_axis)
            wiring.connect(m, wiring.flipped(getattr(self, f"n{i}_tx")), nif.tx)
            wiring.connect(m, wiring.flipped(getattr(self, f"n{i}_rx")), nif.rx)
            wiring.connect(m, wiring.flipped(getattr(self, f"n{i}_csr")), nif.csr)
        for name in SWITCH_COUNTERS:
            m.d.comb += getattr(self, f"sw_{name}").eq(getattr(sw, name))
        return m


def pair_from_config(config):
    return NetIfPair(config)


def star_from_config(config):
    return NetIfStar(config)


def netif_from_config(config):
    return NetIf(NetIfParams(**config["netif"]))

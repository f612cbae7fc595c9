"""Small Amaranth test tops for the network interface tests (not part of hw/)."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.lib.csr import CSRBusSignature
from hw.network.link import Link, LinkParams
from hw.network.switch import Switch
from hw.network.netif import NetIf, NetIfParams
from hw.network.registers import LINK_COUNTERS, NETIF_REGISTERS, SWITCH_COUNTERS
from hw.protocol import MessagePort

__all__ = ["NetIfPair", "NetIfStar", "NetIfPairTraffic", "pair_from_config", "star_from_config", "netif_from_config",
           "pair_traffic_from_config"]


RATES = ("loss", "corrupt", "dup", "reorder", "bandwidth")


def netif_params(config, node_id):
    """Node ``node_id``'s parameters: ``config["netif"]``, with receive cut-through at the node ids listed in
    ``config["rx_cut_through_at"]`` (a pair can test both receive modes in one model)."""
    ct = node_id in config.get("rx_cut_through_at", ())
    return NetIfParams(node_id=node_id, **{**config["netif"], **({"rx_cut_through": True} if ct else {})})


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
        for node, side in enumerate("ab"):
            sig[f"{side}_tx"] = In(MessagePort(w))
            sig[f"{side}_rx"] = Out(MessagePort(w, verdict=netif_params(config, node).rx_cut_through))
            sig[f"{side}_csr"] = In(CSRBusSignature(NETIF_REGISTERS.addr_width))
        for link in ("ab", "ba"):
            for name in LINK_COUNTERS:
                sig[f"{link}_{name}"] = Out(32)
        if config["link"].get("runtime_rates"):
            for name in RATES:
                sig[f"rate_{name}"] = In(17 if name != "bandwidth" else 16)
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
            if cfg["link"].get("runtime_rates"):
                for name in RATES:
                    m.d.comb += getattr(link, f"set_{name}").eq(getattr(self, f"rate_{name}"))
        return m


class NetIfStar(wiring.Component):
    """``n`` NetIfs (nodes 0..n-1), each over a pair of links to a port of one Switch.

    Ports ``n<i>_tx``, ``n<i>_rx``, ``n<i>_csr``, the switch counters ``sw_<counter>`` and, summed over
    the links into the switch, ``up_frames_out`` and ``up_corrupted``.
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
        for name in ("frames_out", "corrupted"):
            sig[f"up_{name}"] = Out(32)      # summed over the links from the NetIfs to the switch
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        w = cfg["netif"].get("data_width", 64)
        m.submodules.sw = sw = Switch(self.n, w)
        ups = []
        for i in range(self.n):
            nif = NetIf(netif_params(cfg, i))
            up = Link(link_params(cfg, 1000 + i))
            down = Link(link_params(cfg, 2000 + i))
            m.submodules[f"n{i}"] = nif
            m.submodules[f"up{i}"] = up
            m.submodules[f"down{i}"] = down
            ups.append(up)
            wiring.connect(m, nif.m_axis, up.s_axis)
            wiring.connect(m, up.m_axis, sw.s_axis[i])
            wiring.connect(m, sw.m_axis[i], down.s_axis)
            wiring.connect(m, down.m_axis, nif.s_axis)
            wiring.connect(m, wiring.flipped(getattr(self, f"n{i}_tx")), nif.tx)
            wiring.connect(m, wiring.flipped(getattr(self, f"n{i}_rx")), nif.rx)
            wiring.connect(m, wiring.flipped(getattr(self, f"n{i}_csr")), nif.csr)
        for name in SWITCH_COUNTERS:
            m.d.comb += getattr(self, f"sw_{name}").eq(getattr(sw, name))
        for name in ("frames_out", "corrupted"):
            m.d.comb += getattr(self, f"up_{name}").eq(sum(getattr(up, name) for up in ups))
        return m


def pair_from_config(config):
    return NetIfPair(config)


def star_from_config(config):
    return NetIfStar(config)


def netif_from_config(config):
    return NetIf(NetIfParams(**config["netif"]))


class NetIfPairTraffic(wiring.Component):
    """A :class:`NetIfPair` driven by in-RTL traffic generators and checkers (``traffic.py``).

    Ports: ``start``, ``n_ab``/``n_ba`` (messages per direction), ``full_lines`` (only 64-byte line
    writes), ``rate_loss/corrupt/dup/reorder`` (per 65536) and ``rate_bandwidth`` (bytes/cycle * 256) of
    both links, ``a_sent``/``b_sent``, ``a_received``/``b_received``
    (messages checked at A from B, at B from A), ``a_errors``/``b_errors``, ``a_first_error``/
    ``b_first_error``, ``cycles`` since start, ``mark_lo``/``mark_hi`` and ``t_lo``/``t_hi`` (the cycle
    at which ``b_received`` reached each mark), ``t_all`` (the cycle at which all messages were in), ``a_csr``/``b_csr`` and the link counters,
    ``a_discarded``/``b_discarded`` (messages a receive cut-through checker saw discarded).
    Config keys: ``idle``/``backpressure`` per 256 of the generators and checkers, ``rx_cut_through_at``.
    """

    def __init__(self, config):
        self.config = config
        sig = {"start": In(1), "n_ab": In(32), "n_ba": In(32), "full_lines": In(1), "cycles": Out(32),
               "mark_lo": In(32), "mark_hi": In(32), "t_lo": Out(32), "t_hi": Out(32), "t_all": Out(32)}
        for name in RATES:
            sig[f"rate_{name}"] = In(17 if name != "bandwidth" else 16)
        for side in "ab":
            for name in ("sent", "received", "errors", "first_error", "discarded"):
                sig[f"{side}_{name}"] = Out(32)
            sig[f"{side}_csr"] = In(CSRBusSignature(NETIF_REGISTERS.addr_width))
        for link in ("ab", "ba"):
            for name in LINK_COUNTERS:
                sig[f"{link}_{name}"] = Out(32)
        super().__init__(sig)

    def elaborate(self, platform):
        from sim_tests.netif.traffic import TrafficGen, TrafficCheck
        m = Module()
        cfg = self.config
        w = cfg["netif"].get("data_width", 64)
        maxp = cfg["netif"].get("max_payload", 64)
        idle, bp = cfg.get("idle", 0), cfg.get("backpressure", 0)
        m.submodules.pair = pair = NetIfPair({**cfg, "link": {**cfg["link"], "runtime_rates": True}})
        for name in RATES:
            m.d.comb += getattr(pair, f"rate_{name}").eq(getattr(self, f"rate_{name}"))
        for side in "ab":
            wiring.connect(m, wiring.flipped(getattr(self, f"{side}_csr")), getattr(pair, f"{side}_csr"))
        for link in ("ab", "ba"):
            for name in LINK_COUNTERS:
                m.d.comb += getattr(self, f"{link}_{name}").eq(getattr(pair, f"{link}_{name}"))
        for i, (src, dst) in enumerate((("a", "b"), ("b", "a"))):
            seed = 0x1000 + 77 * i + cfg.get("traffic_seed", 0)
            gen = TrafficGen(w, maxp, seed, dst="ab".index(dst), idle=idle)
            chk = TrafficCheck(w, maxp, seed, src="ab".index(src), node="ab".index(dst), backpressure=bp,
                               verdict=netif_params(cfg, "ab".index(dst)).rx_cut_through)
            m.submodules[f"gen_{src}"] = gen
            m.submodules[f"chk_{dst}"] = chk
            wiring.connect(m, gen.port, getattr(pair, f"{src}_tx"))
            wiring.connect(m, getattr(pair, f"{dst}_rx"), chk.port)
            m.d.comb += [gen.start.eq(self.start), gen.n_msgs.eq(getattr(self, f"n_{src}{dst}")),
                         gen.full_lines.eq(self.full_lines), chk.full_lines.eq(self.full_lines),
                         getattr(self, f"{src}_sent").eq(gen.sent),
                         getattr(self, f"{dst}_received").eq(chk.received),
                         getattr(self, f"{dst}_errors").eq(chk.errors),
                         getattr(self, f"{dst}_first_error").eq(chk.first_error),
                         getattr(self, f"{dst}_discarded").eq(chk.discarded)]
        with m.If(self.start):
            m.d.sync += self.cycles.eq(self.cycles + 1)
        for mark, t in ((self.mark_lo, self.t_lo), (self.mark_hi, self.t_hi)):
            with m.If(self.start & (t == 0) & (self.b_received >= mark)):
                m.d.sync += t.eq(self.cycles)
        all_in = (self.a_received == self.n_ba) & (self.b_received == self.n_ab)
        with m.If(self.start & (self.t_all == 0) & all_in):
            m.d.sync += self.t_all.eq(self.cycles)
        return m


def pair_traffic_from_config(config):
    return NetIfPairTraffic(config)

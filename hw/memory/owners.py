"""Owner table: which node owns each pid (requests from any other node get PROT_FAULT)."""

from amaranth import Cat, Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.lib.checks import check_int
from hw.memory.ports import OwnerSetSignature
from hw.protocol import NODE_ID_WIDTH, PID_WIDTH

__all__ = ["OwnerTable"]


class OwnerTable(wiring.Component):
    """``{valid, node}`` per pid in ``0 .. 2**pid_width - 1``: one write port, two registered lookups (the
    request check's and firmware's).

    Pids outside the range are never bound: writes to them are ignored and lookups return unbound.

    Parameters
    ----------
    pid_width : int

    Ports
    -----
    set : In(OwnerSetSignature())
        Bind (``valid``) or unbind ``pid`` in the cycle ``stb`` is high (the change shows next cycle).
    check_en : In(1), check_pid : In(16)
        Lookup for the request check, sampled when ``check_en`` is high; ``check_valid``/``check_node``
        (Out) are its answer in the next cycle (a bind or unbind in the lookup cycle is seen: the read is
        transparent to the write port). The read address is a register, so the check is not behind
        whatever computes the pid.
    get_pid : In(16)
        Lookup for firmware (OWNER_GET), sampled every cycle; ``get_valid``/``get_node`` (Out, both 0 for a
        pid out of range) are its answer in the next cycle (transparent to the write port). Registered so the
        table's read is not on the CSR read multiplexer's path (issue 18: it limited the MMU to 81 MHz).
    """

    def __init__(self, pid_width):
        check_int("OwnerTable pid_width", pid_width, 1, PID_WIDTH)
        self.pid_width = pid_width
        super().__init__({
            "set": In(OwnerSetSignature()),
            "check_en": In(1), "check_pid": In(PID_WIDTH), "check_valid": Out(1), "check_node": Out(NODE_ID_WIDTH),
            "get_pid": In(PID_WIDTH), "get_valid": Out(1), "get_node": Out(NODE_ID_WIDTH),
        })

    def _in_range(self, pid):
        return (pid >> self.pid_width) == 0

    def elaborate(self, platform):
        m = Module()
        pw = self.pid_width
        m.submodules.table = owners = memory.Memory(shape=NODE_ID_WIDTH + 1, depth=1 << pw, init=[])
        wr = owners.write_port()
        chk = owners.read_port(transparent_for=(wr,))
        get = owners.read_port(transparent_for=(wr,))
        chk_in_range = Signal()
        get_in_range = Signal()
        with m.If(self.check_en):
            m.d.sync += chk_in_range.eq(self._in_range(self.check_pid))
        m.d.sync += get_in_range.eq(self._in_range(self.get_pid))
        m.d.comb += [
            wr.addr.eq(self.set.pid[:pw]), wr.data.eq(Cat(self.set.node, self.set.valid)),
            wr.en.eq(self.set.stb & self._in_range(self.set.pid)),
            chk.addr.eq(self.check_pid[:pw]), chk.en.eq(self.check_en), get.addr.eq(self.get_pid[:pw]),
            self.check_valid.eq(chk_in_range & chk.data[NODE_ID_WIDTH]),
            self.check_node.eq(chk.data[:NODE_ID_WIDTH]),
        ]
        with m.If(get_in_range):
            m.d.comb += [self.get_valid.eq(get.data[NODE_ID_WIDTH]), self.get_node.eq(get.data[:NODE_ID_WIDTH])]
        return m

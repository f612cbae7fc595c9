"""The cocotb VCD window recorder end to end: Verilator runs the stream register, the window is checked."""

import pytest

from sim_tests.lib.runner import SimRun, run_cocotb

from .stream_reg import StreamRegister


@pytest.mark.parametrize("width", [8])
def test_recorded_window_is_checked(request, width):
    sim = SimRun(
        block="waves_stream_reg",
        component_factory=lambda cfg: StreamRegister(cfg["width"]),
        config={"width": width},
        test_module="sim_tests.waves.cocotb_stream_reg",
        gtkw_signals=["clk", "rst", "i__valid", "i__ready", "i__payload", "o__valid", "o__ready", "o__payload"],
    )
    run_cocotb(request, sim)


def test_window_arguments_are_validated():
    from types import SimpleNamespace

    from sim_tests.lib.vcd_window import VcdWindow, stream_signal_names
    dut = SimpleNamespace(_name="dut", clk=object(), rst=object(), a__valid=object(), a__ready=object(),
                          a__payload=object(), b__valid=object(), b__payload=object(), x=object())
    assert stream_signal_names(dut, "a") == ["a__valid", "a__ready", "a__payload"]
    assert stream_signal_names(dut, "b") == ["b__valid", "b__payload"]  # always ready: nothing to check
    w = VcdWindow(dut, "w.vcd", streams=["a"], signals=["x", "rst"], start=5, end=10)
    assert w.names == ["rst", "a__valid", "a__ready", "a__payload", "x"]
    with pytest.raises(ValueError, match="no stream 'c'"):
        VcdWindow(dut, "w.vcd", streams=["c"])
    with pytest.raises(ValueError, match="no signal 'y'"):
        VcdWindow(dut, "w.vcd", signals=["y"])
    with pytest.raises(ValueError, match="no clock 'ck'"):
        VcdWindow(dut, "w.vcd", streams=["a"], clock="ck")
    with pytest.raises(ValueError, match="start=5, end=5"):
        VcdWindow(dut, "w.vcd", streams=["a"], start=5, end=5)
    with pytest.raises(TypeError, match="lists of names"):
        VcdWindow(dut, "w.vcd", streams="a")
    with pytest.raises(AssertionError, match="no cycle recorded"):
        w.write()

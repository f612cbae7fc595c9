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

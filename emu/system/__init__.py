"""Running a workload through the whole compiled system, fast, and reporting where the time goes.

The public entry point is :func:`emu.system.runner.run_workload`; ``disagg run`` (``emu/commands/run.py``) and
``disagg sweep`` call it. Flow:

1. the :class:`~hw.system.top.SystemTop` of the configuration is converted to Verilog and compiled into a harness
   library (``emu/harness``), both cached (``model_cache.py``), then instantiated and reset;
2. the system firmware (``firmware/system_firmware.py``) boots over a :class:`~.firmware_bus.HarnessBus`, whose
   register accesses step the compiled model (no suspension, run with ``firmware.bus.run_sync``);
3. processes are created (``processes.py``: each workload pid becomes one process, or as given by ``processes``);
4. the compiled loop runs the accesses and returns to Python only to run firmware (page faults, software-managed
   misses, process start/exit points) and at batch boundaries (progress bar) (``runner.py``);
5. the results are checked access by access against the golden model of the whole system
   (``golden_check.py`` with ``emu/models/system.py``), the hardware counters are read through the same firmware,
   and the measurements become the statistics dictionary (``statistics.py``) and its text report (``summary.py``).

See ``docs/harness.md`` for the statistics.
"""

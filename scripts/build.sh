#!/usr/bin/env bash
# Configures and builds one build tree. Usage: scripts/build.sh [release|asan] [targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
case "$kind" in
  release)
    dir=build/release
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
    ;;
  asan)
    # Unit tests only, under AddressSanitizer + UndefinedBehaviorSanitizer.
    dir=build/asan
    flags=(-DCMAKE_BUILD_TYPE=Debug -DGATEWAYD_SANITIZE=ON -DGATEWAYD_UNIT_TESTS_ONLY=ON
           -DGATEWAYD_BUILD_BENCH=OFF)
    ;;
  *) echo "usage: $0 [release|asan] [targets...]" >&2; exit 2 ;;
esac
# Configure every time (cheap): it picks up dependencies installed since the last run.
if [[ -f $dir/CMakeCache.txt ]]; then
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null
else
  cmake -S . -B "$dir" "${generator[@]}" "${flags[@]}" >/dev/null
fi
if [[ $# -gt 0 ]]; then
  cmake --build "$dir" --target "$@"
else
  cmake --build "$dir"
fi

#!/usr/bin/env bash
# Installs every Debian 12 package gatewayd needs to build, run and test. Idempotent: when all
# packages are present it prints nothing and touches nothing.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-all-dev libboost-url1.81-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev
  libhiredis-dev libmariadb-dev libspdlog-dev libjemalloc-dev
)
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools mariadb-server mariadb-client etcd-server etcd-client
  python3 python3-jwt python3-yaml openssl curl procps
)
bench_packages=(nginx-light haproxy wrk)

want=("${build_packages[@]}")
case "${1:-all}" in
  build) ;;
  test) want+=("${test_packages[@]}") ;;
  all) want+=("${test_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The services' own init scripts must not start daemons here: tests launch their own instances.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

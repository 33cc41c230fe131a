#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts the demo upstream on 127.0.0.1:8002 and
# runs `gatewayd --env dev` in the foreground on port 8001. Try: curl localhost:8001/demo/hello
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh build
bash scripts/build.sh release gatewayd gatewayd-demo-upstream
./build/release/gatewayd-demo-upstream --port 8002 --name demo &
demo_pid=$!
trap 'kill $demo_pid 2>/dev/null || true' EXIT
./build/release/gatewayd --env dev

#!/usr/bin/env bash
# Resident memory of gatewayd, NGINX and HAProxy (one worker each, same set-up as run.sh):
# idle after a few requests, the peak while streaming a 1 GiB response to a slow reader, and
# holding 10,000 idle keep-alive client connections (then "after": once they are closed). Reports, never asserts.
#
# Usage: bench/memory.sh [--connections N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
connections=10000
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) connections=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--connections N] [--out FILE]" >&2; exit 2 ;;
  esac
done

bash scripts/setup-deps.sh all
bash scripts/build.sh release gatewayd >/dev/null
source bench/lib.sh
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
bench_prepare
bench_start_upstream
bench_start_peers
bench_start_gatewayd gatewayd $GWD
declare -A pid_of=([nginx]=$nginx_pid [haproxy]=$haproxy_pid [gatewayd]=${gw_pids[gatewayd]})
declare -A port_of=([nginx]=$NGX [haproxy]=$HAP [gatewayd]=$GWD)

# Opens N keep-alive connections, sends one request on each, reads each answer, then waits
# for a line on stdin before closing them all.
cat > "$work/hold.py" <<'PY'
import selectors, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
req = b"GET /small HTTP/1.1\r\nHost: bench\r\n\r\n"
socks, sel, pending = [], selectors.DefaultSelector(), 0
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, bytearray())
    socks.append(s)
    pending += 1
    # Keep the backlog short: drain answers as they come.
    while pending > 256 or (i == n - 1 and pending):
        for key, _ in sel.select(timeout=10):
            data = key.fileobj.recv(65536)
            key.data.extend(data)
            if not data or key.data.endswith(b"hello, world\n"):
                sel.unregister(key.fileobj)
                pending -= 1
                if not data:
                    sys.exit("connection closed early")
print("ready", flush=True)
sys.stdin.readline()
PY

table=()
for target in gatewayd nginx haproxy; do
  pid=${pid_of[$target]} port=${port_of[$target]} n=$connections
  # HAProxy's connection cap follows the descriptor limit (see bench/lib.sh).
  if [[ $target == haproxy ]] && (( n > hap_maxconn - 100 )); then n=$((hap_maxconn - 100)); fi
  for _ in $(seq 20); do curl -fsS -o /dev/null "http://127.0.0.1:$port/small"; done
  idle=$(bench_rss_kib "$pid")

  # A slow reader: curl limited to 256 MiB/s, so the proxy must hold back the upstream.
  peak=0
  taskset -c $cpu_load curl -fsS -o /dev/null --limit-rate 256M "http://127.0.0.1:$port/1g" &
  curl_pid=$!
  while kill -0 "$curl_pid" 2>/dev/null; do
    now=$(bench_rss_kib "$pid")
    if (( now > peak )); then peak=$now; fi
    sleep 0.2
  done
  wait "$curl_pid"

  coproc HOLD { taskset -c $cpu_load /usr/bin/python3 "$work/hold.py" "$port" "$n"; }
  read -r line <&"${HOLD[0]}"
  [[ $line == ready ]] || { echo "hold.py failed on $target" >&2; exit 1; }
  held=$(bench_rss_kib "$pid")
  echo done >&"${HOLD[1]}"
  wait "$HOLD_PID" || true

  after=$(bench_rss_kib "$pid")
  table+=("$(awk -v t="$target" -v a="$idle" -v c="$peak" -v n="$n" -v b="$held" -v d="$after" \
    'BEGIN { printf "| %s | %.1f | %.1f | %d | %.1f | %.1f |", t, a/1024, c/1024, n, b/1024, d/1024 }')")
  echo "$target: idle $idle KiB, streaming peak $peak KiB, $n idle connections $held KiB" >&2
done

{
  echo "| target | idle MiB | peak MiB while streaming 1 GiB | idle keep-alive connections | MiB holding them | MiB after closing them |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${table[@]}"
} | tee "${out:-/dev/null}"

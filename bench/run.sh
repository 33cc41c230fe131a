#!/usr/bin/env bash
# Compares gatewayd with NGINX and HAProxy as reverse proxies, and the upstream hit directly,
# on this machine in one run. Each proxy runs one worker pinned alone on CPU 1; wrk and the
# upstream (an NGINX answering fixed bodies) share CPU 0. Rounds are interleaved and medians
# reported. Further gatewayd processes of the same binary measure what a feature costs against
# the plain route: RS256 auth, local and Redis rate limiting, request history in MariaDB.
# Reports, never asserts.
#
# Usage: bench/run.sh [--duration SECONDS] [--rounds N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=10
rounds=3
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--rounds N] [--out FILE]" >&2; exit 2 ;;
  esac
done

bash scripts/setup-deps.sh all
bash scripts/build.sh release gatewayd >/dev/null
source bench/lib.sh
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
bench_prepare

# Tokens for the protected route, minted with python's standard library and openssl only.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/rs.key" 2>/dev/null
openssl pkey -in "$work/rs.key" -pubout -out "$work/rs.pub"
mint() {
  /usr/bin/python3 - "$@" <<'PY'
import base64, hashlib, hmac, json, subprocess, sys, time
alg, key = sys.argv[1], sys.argv[2]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "exp": int(time.time()) + 86400}).encode())
msg = f"{head}.{body}".encode()
if alg == "HS256":
    sig = hmac.new(key.encode(), msg, hashlib.sha256).digest()
else:
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=msg,
                         capture_output=True, check=True).stdout
print(f"{head}.{body}.{b64(sig)}")
PY
}
printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$(mint HS256 "$bench_hs_secret")" > "$work/hs256.lua"
printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$(mint RS256 "$work/rs.key")" > "$work/rs256.lua"
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = string.rep("x", 16384)
wrk.headers["Content-Type"] = "application/octet-stream"
LUA

# Redis and MariaDB for the limiter and request-history configurations, on the load CPU.
REDIS=$(bench_port 10) MARIADB=$(bench_port 11)
taskset -c $cpu_load redis-server --port $REDIS --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" >/dev/null & bench_pids+=($!)
bench_start_mariadb $MARIADB

bench_start_upstream
bench_start_peers
bench_start_gatewayd gatewayd $GWD
bench_start_gatewayd gw-rs256 $(bench_port 5) JWT_SECRET_KEY= JWT_PUBLIC_KEY_PATH="$work/rs.pub" JWT_ALGORITHM=RS256
bench_start_gatewayd gw-limit-local $(bench_port 6) RATE_LIMIT_ENABLED=true RATE_LIMIT_BACKEND=local
bench_start_gatewayd gw-limit-redis $(bench_port 7) RATE_LIMIT_ENABLED=true RATE_LIMIT_BACKEND=redis \
  REDIS_ENABLED=true REDIS_HOST=127.0.0.1 REDIS_PORT=$REDIS
bench_start_gatewayd gw-mysql-log $(bench_port 8) "${mysql_env[@]}" REQUEST_LOG_SAMPLE_RATE=1
gw_idle_rss=$(bench_rss_kib "${gw_pids[gatewayd]}")

declare -A ports=([upstream]=$UP [nginx]=$NGX [haproxy]=$HAP [gatewayd]=$GWD [gw-rs256]=$(bench_port 5)
                  [gw-limit-local]=$(bench_port 6) [gw-limit-redis]=$(bench_port 7) [gw-mysql-log]=$(bench_port 8))
# name|path|connections|script|targets. The feature cells compare with small-c64 on gatewayd.
scenarios=(
  "small-c64|/small|64||upstream nginx haproxy gatewayd"
  "small-c256|/small|256||upstream nginx haproxy gatewayd"
  "1MiB-c16|/1m|16||upstream nginx haproxy gatewayd"
  "post16k-c64|/post|64|post|upstream nginx haproxy gatewayd"
  "small-c64-hs256|/jwt/small|64|hs256|gatewayd"
  "small-c64-rs256|/jwt/small|64|rs256|gw-rs256"
  "small-c64-limit-local|/limited/small|64||gw-limit-local"
  "small-c64-limit-redis|/limited/small|64||gw-limit-redis"
  "small-c64-mysql-log|/small|64||gw-mysql-log"
)
results="$work/results.tsv"
: > "$results"
for round in $(seq "$rounds"); do
  for sc in "${scenarios[@]}"; do
    IFS='|' read -r name path conns script cell_targets <<<"$sc"
    for target in $cell_targets; do
      args=(-t1 -c"$conns" -d"${duration}s" --latency)
      [[ -n $script ]] && args+=(-s "$work/$script.lua")
      outp=$(taskset -c $cpu_load wrk "${args[@]}" "http://127.0.0.1:${ports[$target]}$path" 2>&1)
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$outp")
      tput=$(awk '/Transfer\/sec/ {v=$2; if (v ~ /GB/) {sub("GB","",v); v*=1024} else if (v ~ /MB/) {sub("MB","",v)} else if (v ~ /KB/) {sub("KB","",v); v/=1024} else {v=0}; print v}' <<<"$outp")
      p99=$(awk '$1=="99%" {v=$2; if (v ~ /us/) {sub("us","",v); v/=1000} else if (v ~ /ms/) {sub("ms","",v)} else if (v ~ /s/) {sub("s","",v); v*=1000}; print v}' <<<"$outp")
      errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$outp" | tr '\n' ' ')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$target" "${rps:-0}" "${tput:-0}" "${p99:-0}" "$errors" >> "$results"
      echo "round $round $name $target: ${rps:-0} req/s ${tput:-0} MiB/s p99 ${p99:-0} ms $errors" >&2
    done
  done
done
gw_after_rss=$(bench_rss_kib "${gw_pids[gatewayd]}")
logged=$(mariadb --no-defaults --socket="$work/db.sock" --user=root -N -e \
  'SELECT COUNT(*) FROM gatewayd.gateway_logs' 2>/dev/null || echo "?")

/usr/bin/python3 - "$results" "$gw_idle_rss" "$gw_after_rss" "$duration" "$rounds" "$logged" <<'PY' | tee "${out:-/dev/null}"
import statistics, sys, collections
path, idle, after, duration, rounds, logged = sys.argv[1:7]
rows = collections.defaultdict(list)
for line in open(path):
    r, sc, tgt, rps, tput, p99, err = (line.rstrip("\n").split("\t") + [""])[:7]
    rows[(sc, tgt)].append((float(rps), float(tput), float(p99)))
order = []
for key in rows:
    if key not in order: order.append(key)
med = lambda key, i: statistics.median(x[i] for x in rows[key])
base = ("small-c64", "gatewayd")
print("| scenario | target | req/s (median) | MiB/s | p99 ms | vs gatewayd small-c64 |")
print("|---|---|---:|---:|---:|---:|")
for key in order:
    sc, tgt = key
    ratio = ""
    if sc.startswith("small-c64-") and base in rows:
        ratio = f"{med(key, 0) / med(base, 0):.2f}x"
    print(f"| {sc} | {tgt} | {med(key, 0):,.0f} | {med(key, 1):,.1f} | {med(key, 2):.2f} | {ratio} |")
print()
print(f"gatewayd resident memory: {int(idle)/1024:.1f} MiB idle, {int(after)/1024:.1f} MiB after the run "
      f"({rounds} rounds of {duration} s per cell); gateway_logs rows written by gw-mysql-log: {logged}")
PY

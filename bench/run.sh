#!/usr/bin/env bash
# Compares gatewayd with NGINX and HAProxy as reverse proxies, and the upstream hit directly,
# on this machine in one run. Each proxy runs one worker pinned alone on CPU 1; wrk and the
# upstream (an NGINX answering fixed bodies) share CPU 0. Rounds are interleaved and medians
# reported. Reports, never asserts.
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

work=$(mktemp -d /tmp/gatewayd-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

UP=18080 NGX=18081 HAP=18082 GWD=18083
cpu_load=0 cpu_proxy=1
if [[ $(nproc) -lt 2 ]]; then cpu_proxy=0; fi

mkdir -p "$work/www" "$work/nginx-up" "$work/nginx-proxy" "$work/gw/config" "$work/gw/logs"
head -c 1048576 /dev/zero | tr '\0' 'x' > "$work/www/1m"
printf 'hello, world\n' > "$work/www/small"
# NGINX workers run as an unprivileged user: the served files must be readable by it.
chmod -R a+rX "$work"

cat > "$work/nginx-up/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx-up/nginx.pid;
error_log $work/nginx-up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx-up;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP reuseport backlog=4096;
    root $work/www;
    location = /post { client_max_body_size 1m; return 200 "ok\n"; }
    location / { }
  }
}
CONF

cat > "$work/nginx-proxy/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx-proxy/nginx.pid;
error_log $work/nginx-proxy/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $work/nginx-proxy;
  proxy_temp_path $work/nginx-proxy;
  keepalive_requests 1000000;
  upstream up { server 127.0.0.1:$UP; keepalive 256; }
  server {
    listen 127.0.0.1:$NGX backlog=4096;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      client_max_body_size 1m;
    }
  }
}
CONF

cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:$HAP
  default_backend be
backend be
  server up 127.0.0.1:$UP maxconn 1000
CONF

cat > "$work/gw/config/routes.yaml" <<CONF
routes:
  - path: /**
    service: up
    methods: [GET, POST]
    auth_required: false
  - path: /jwt/**
    service: up
    methods: [GET]
    auth_required: true
    strip_prefix: true
CONF
cat > "$work/gw/config/services.yaml" <<CONF
services:
  up:
    instances:
      - url: http://127.0.0.1:$UP
CONF

# An HS256 token for the protected route, minted with the standard library only.
jwt_secret=bench-hs256-secret-0123456789abcdef0123456789
jwt=$(/usr/bin/python3 - "$jwt_secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "exp": int(time.time()) + 86400}).encode())
sig = b64(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
PY
)
cat > "$work/jwt.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $jwt"
LUA

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = string.rep("x", 16384)
wrk.headers["Content-Type"] = "application/octet-stream"
LUA

taskset -c $cpu_load nginx -c "$work/nginx-up/nginx.conf" -g 'daemon off;' & pids+=($!)
taskset -c $cpu_proxy nginx -c "$work/nginx-proxy/nginx.conf" -g 'daemon off;' & pids+=($!)
taskset -c $cpu_proxy haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 & pids+=($!)
(cd "$work/gw" && exec env PORT=$GWD HOST=127.0.0.1 WORKERS=1 ADMIN_PORT=18084 ACCESS_LOG_ENABLED=false \
   LOG_LEVEL=warning LOG_DIRECTORY="$work/gw/logs" DATA_DIRECTORY="$work/gw/data" \
   MYSQL_ENABLED=false RATE_LIMIT_ENABLED=false CONFIG_WATCH=false REQUEST_LOG_SAMPLE_RATE=0 \
   JWT_SECRET_KEY="$jwt_secret" JWT_ALGORITHM=HS256 \
   taskset -c $cpu_proxy "$OLDPWD/build/release/gatewayd" --config-dir "$work/gw/config") & pids+=($!)
gw_pid=$!

for port in $UP $NGX $HAP $GWD; do
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/small" 2>/dev/null && break
    sleep 0.1
  done
done

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
gw_idle_rss=$(rss_kib "$gw_pid")

declare -A targets=([upstream]=$UP [nginx]=$NGX [haproxy]=$HAP [gatewayd]=$GWD)
# name|path|connections|kind; "jwt" runs against gatewayd only (an HS256-protected route, to
# compare with small-c64 on the same process).
scenarios=("small-c64|/small|64|" "small-c256|/small|256|" "1MiB-c16|/1m|16|" "post16k-c64|/post|64|post"
           "small-c64-hs256|/jwt/small|64|jwt")
results="$work/results.tsv"
: > "$results"
for round in $(seq "$rounds"); do
  for sc in "${scenarios[@]}"; do
    IFS='|' read -r name path conns kind <<<"$sc"
    for target in upstream nginx haproxy gatewayd; do
      [[ $kind == jwt && $target != gatewayd ]] && continue
      port=${targets[$target]}
      args=(-t1 -c"$conns" -d"${duration}s" --latency)
      [[ $kind == post ]] && args+=(-s "$work/post.lua")
      [[ $kind == jwt ]] && args+=(-s "$work/jwt.lua")
      outp=$(taskset -c $cpu_load wrk "${args[@]}" "http://127.0.0.1:$port$path" 2>&1)
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$outp")
      tput=$(awk '/Transfer\/sec/ {v=$2; if (v ~ /GB/) {sub("GB","",v); v*=1024} else if (v ~ /MB/) {sub("MB","",v)} else if (v ~ /KB/) {sub("KB","",v); v/=1024} else {v=0}; print v}' <<<"$outp")
      p99=$(awk '$1=="99%" {v=$2; if (v ~ /us/) {sub("us","",v); v/=1000} else if (v ~ /ms/) {sub("ms","",v)} else if (v ~ /s/) {sub("s","",v); v*=1000}; print v}' <<<"$outp")
      errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$outp" | tr '\n' ' ')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$target" "${rps:-0}" "${tput:-0}" "${p99:-0}" "$errors" >> "$results"
      echo "round $round $name $target: ${rps:-0} req/s ${tput:-0} MiB/s p99 ${p99:-0} ms $errors" >&2
    done
  done
done
gw_after_rss=$(rss_kib "$gw_pid")

/usr/bin/python3 - "$results" "$gw_idle_rss" "$gw_after_rss" "$duration" "$rounds" <<'PY' | tee "${out:-/dev/null}"
import statistics, sys, collections
path, idle, after, duration, rounds = sys.argv[1:6]
rows = collections.defaultdict(list)
for line in open(path):
    r, sc, tgt, rps, tput, p99, err = (line.rstrip("\n").split("\t") + [""])[:7]
    rows[(sc, tgt)].append((float(rps), float(tput), float(p99)))
scen = []
for sc, _ in rows:
    if sc not in scen: scen.append(sc)
print(f"| scenario | target | req/s (median) | MiB/s | p99 ms |")
print(f"|---|---|---:|---:|---:|")
for sc in scen:
    for tgt in ["upstream", "nginx", "haproxy", "gatewayd"]:
        v = rows.get((sc, tgt))
        if not v: continue
        med = lambda i: statistics.median(x[i] for x in v)
        print(f"| {sc} | {tgt} | {med(0):,.0f} | {med(1):,.1f} | {med(2):.2f} |")
print()
print(f"gatewayd resident memory: {int(idle)/1024:.1f} MiB idle, {int(after)/1024:.1f} MiB after the run "
      f"({rounds} rounds of {duration} s per cell)")
PY

# Shared set-up of the benchmark scripts (sourced, not run): a work folder, the upstream NGINX,
# the NGINX and HAProxy reverse proxies, and gatewayd processes in several configurations.
# Every proxy runs one worker pinned on $cpu_proxy; load generators and the upstream use $cpu_load.

# BENCH_PORT_BASE moves every port of a run (two benchmarks on one machine need distinct bases).
base=${BENCH_PORT_BASE:-18080}
UP=$base NGX=$((base + 1)) HAP=$((base + 2)) GWD=$((base + 3))
# Further ports for extra processes: port N of the run is $((base + N)).
bench_port() { echo $((base + $1)); }
cpu_load=0 cpu_proxy=1
if [[ $(nproc) -lt 2 ]]; then cpu_proxy=0; fi

bench_pids=()
bench_cleanup() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${work:-} ]] && rm -rf "$work"
}

# Creates $work with the served files and every configuration file.
bench_prepare() {
  work=$(mktemp -d /tmp/gatewayd-bench.XXXXXX)
  trap bench_cleanup EXIT
  mkdir -p "$work/www" "$work/nginx-up" "$work/nginx-proxy" "$work/gw/config"
  head -c 1048576 /dev/zero | tr '\0' 'x' > "$work/www/1m"
  truncate -s 1G "$work/www/1g"  # sparse: served from the page cache without disk space
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
worker_rlimit_nofile 65536;
pid $work/nginx-proxy/nginx.pid;
error_log $work/nginx-proxy/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $work/nginx-proxy;
  proxy_temp_path $work/nginx-proxy;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
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

  # HAProxy reserves two descriptors per connection and refuses to start past the limit.
  hap_maxconn=$(( ($(ulimit -n) - 200) / 2 ))
  (( hap_maxconn > 12000 )) && hap_maxconn=12000
  cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn $hap_maxconn
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:$HAP
  default_backend be
backend be
  server up 127.0.0.1:$UP maxconn 1000
CONF

  # One routes file for every gatewayd configuration: the unprotected catch-all, a JWT route
  # and a rate-limited route whose limit is never reached (it measures the cost of deciding).
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
  - path: /limited/**
    service: up
    methods: [GET]
    auth_required: false
    rate_limit: 100000000
    strip_prefix: true
CONF
  cat > "$work/gw/config/services.yaml" <<CONF
services:
  up:
    instances:
      - url: http://127.0.0.1:$UP
CONF
}

# Waits until http://127.0.0.1:$1/small answers.
bench_wait_http() {
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/small" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing answers on port $1" >&2
  return 1
}

bench_start_upstream() {
  taskset -c $cpu_load nginx -c "$work/nginx-up/nginx.conf" -g 'daemon off;' & bench_pids+=($!)
  bench_wait_http $UP
}

bench_start_peers() {
  taskset -c $cpu_proxy nginx -c "$work/nginx-proxy/nginx.conf" -g 'daemon off;' &
  nginx_pid=$!
  bench_pids+=($nginx_pid)
  taskset -c $cpu_proxy haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 &
  haproxy_pid=$!
  bench_pids+=($haproxy_pid)
  bench_wait_http $NGX
  bench_wait_http $HAP
}

bench_hs_secret=bench-hs256-secret-0123456789abcdef0123456789

# bench_start_gatewayd NAME PORT [VAR=VALUE...]: one gatewayd worker with the shared config,
# no access log, no request history and the HS256 secret unless the extra variables say
# otherwise. Sets gw_pids[NAME]. GATEWAYD_BIN (an absolute path) picks another build.
declare -A gw_pids=()
bench_start_gatewayd() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$work/gw/$name"
  (cd "$work/gw" && exec env PORT="$port" HOST=127.0.0.1 WORKERS=1 ADMIN_PORT=$((port + 1000)) \
     ACCESS_LOG_ENABLED=false LOG_LEVEL=warning LOG_DIRECTORY="$work/gw/$name/logs" \
     DATA_DIRECTORY="$work/gw/$name/data" MYSQL_ENABLED=false RATE_LIMIT_ENABLED=false \
     CONFIG_WATCH=false REQUEST_LOG_SAMPLE_RATE=0 MAX_CONNECTIONS=20000 \
     JWT_SECRET_KEY="$bench_hs_secret" JWT_ALGORITHM=HS256 "$@" \
     taskset -c $cpu_proxy "${GATEWAYD_BIN:-$OLDPWD/build/release/gatewayd}" \
       --config-dir "$work/gw/config") &
  gw_pids[$name]=$!
  bench_pids+=($!)
  bench_wait_http "$port"
}

# Resident memory of a process and its children, in KiB.
bench_rss_kib() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# bench_start_mariadb PORT: a throw-away mariadbd on $cpu_load with database gatewayd and user
# bench/bench, and the schema applied by `gatewayd --init-db`. Sets mariadb_pid, mariadb_sock and
# mysql_env (the gatewayd variables that point at it).
bench_start_mariadb() {
  local port=$1 as_root=()
  mkdir -p "$work/db"
  [[ $(id -u) -eq 0 ]] && as_root=(--user=root)
  mariadb-install-db --no-defaults --datadir="$work/db" --auth-root-authentication-method=normal \
    --skip-test-db "${as_root[@]}" >/dev/null 2>&1
  taskset -c $cpu_load mariadbd --no-defaults --datadir="$work/db" --socket="$work/db.sock" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin \
    --performance-schema=OFF --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=128M \
    --log-error="$work/db.err" "${as_root[@]}" &
  mariadb_pid=$!
  bench_pids+=($mariadb_pid)
  mariadb_sock=$work/db.sock
  for _ in $(seq 300); do
    mariadb --no-defaults --socket="$mariadb_sock" --user=root -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
  mariadb --no-defaults --socket="$mariadb_sock" --user=root -e "
    CREATE USER 'bench'@'%' IDENTIFIED BY 'bench'; GRANT ALL ON *.* TO 'bench'@'%';
    CREATE DATABASE gatewayd CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
  mysql_env=(MYSQL_ENABLED=true MYSQL_HOST=127.0.0.1 MYSQL_PORT="$port" MYSQL_USER=bench
             MYSQL_PASSWORD=bench MYSQL_DATABASE=gatewayd)
  env "${mysql_env[@]}" LOG_DIRECTORY="$work/initdb" DATA_DIRECTORY="$work/initdb" \
    "${GATEWAYD_BIN:-build/release/gatewayd}" --config-dir "$work/gw/config" --init-db >/dev/null
}

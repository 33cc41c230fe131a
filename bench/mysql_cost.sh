#!/usr/bin/env bash
# What request history in MariaDB costs, in CPU time rather than requests/s (which varies by more
# than the effect on a shared VM). Two gatewayd processes of the same binary, one without request
# history and one with MYSQL_ENABLED=true REQUEST_LOG_SAMPLE_RATE=1, pinned on CPU 1 as in
# bench/run.sh; wrk, the upstream NGINX and mariadbd share CPU 0. For each wrk run it reports
#   gatewayd CPU-µs per request, split by thread name (gw-records is the database writer),
#   mariadbd CPU-µs per gateway_logs row, and requests/s for reference.
# CPU time comes from /proc/PID/task/*/schedstat (nanoseconds on the CPU). Rounds alternate the
# two processes; the summary shows medians.
#
# Usage: bench/mysql_cost.sh [--duration S] [--rounds N] [--build DIR] [--compare DIR] [--perf S]
#                            [--out FILE]
#   --build DIR    build tree holding gatewayd (default build/release, built if missing)
#   --compare DIR  a second gatewayd (DIR/gatewayd) measured in the same rounds, alternated with
#                  the first (targets plain-b and mysql-log-b): before/after comparisons on a
#                  machine whose speed drifts between runs
#   --perf S     after the rounds, `perf record --call-graph dwarf` the writer thread for S
#                seconds under load and print its top symbols
set -euo pipefail
cd "$(dirname "$0")/.."
duration=10
rounds=3
build=build/release
perf_s=0
out=""
compare=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --compare) compare=$2; shift 2 ;;
    --perf) perf_s=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--rounds N] [--build DIR] [--compare DIR] [--perf S]" \
         "[--out FILE]" >&2
       exit 2 ;;
  esac
done
if [[ ! -x $build/gatewayd ]]; then
  [[ $build == build/release ]] || { echo "no gatewayd in $build" >&2; exit 2; }
  bash scripts/build.sh release gatewayd >/dev/null
fi
export GATEWAYD_BIN=$(realpath "$build/gatewayd")
source bench/lib.sh
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
bench_prepare
bench_start_mariadb $(bench_port 11)
bench_start_upstream
bench_start_gatewayd plain $GWD
bench_start_gatewayd mysql-log $(bench_port 8) "${mysql_env[@]}" REQUEST_LOG_SAMPLE_RATE=1
declare -A ports=([plain]=$GWD [mysql-log]=$(bench_port 8))
targets=(plain mysql-log)
if [[ -n $compare ]]; then
  [[ -x $compare/gatewayd ]] || { echo "no gatewayd in $compare" >&2; exit 2; }
  bin_b=$(realpath "$compare/gatewayd")
  GATEWAYD_BIN=$bin_b bench_start_gatewayd plain-b $(bench_port 14)
  GATEWAYD_BIN=$bin_b bench_start_gatewayd mysql-log-b $(bench_port 15) "${mysql_env[@]}" \
    REQUEST_LOG_SAMPLE_RATE=1
  ports[plain-b]=$(bench_port 14)
  ports[mysql-log-b]=$(bench_port 15)
  targets+=(plain-b mysql-log-b)
fi

# "name<TAB>ns" for every thread of a process.
threads_ns() {
  local t
  for t in /proc/$1/task/*; do
    printf '%s\t%s\n' "$(cat "$t/comm" 2>/dev/null)" "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
  done
}
# Nanoseconds on the CPU of all threads of a process (exited threads not included).
process_ns() {
  threads_ns "$1" | awk -F'\t' '{s += $2} END {printf "%d\n", s}'
}
# Rows in gateway_logs so far: its highest id (a look-up at the end of the primary key, unlike
# COUNT(*); the benchmark never inserts a duplicate that would skip an id).
rows_inserted() {
  mariadb --no-defaults --socket="$mariadb_sock" --user=root -N -e \
    "SELECT COALESCE(MAX(id), 0) FROM gatewayd.gateway_logs"
}
# Waits until the writer has caught up: the row counter stays put for longer than the default
# flush interval (1 s).
settle() {
  local last now
  last=$(rows_inserted)
  while sleep 1.5; now=$(rows_inserted); [[ $now != "$last" ]]; do last=$now; done
}

results=$work/results.tsv
: > "$results"
for round in $(seq "$rounds"); do
  for target in "${targets[@]}"; do
    gw=${gw_pids[$target]}
    settle
    threads_ns "$gw" > "$work/gw.before"
    db_before=$(process_ns "$mariadb_pid")
    rows_before=$(rows_inserted)
    outp=$(taskset -c $cpu_load wrk -t1 -c64 -d"${duration}s" "http://127.0.0.1:${ports[$target]}/small" 2>&1)
    settle
    threads_ns "$gw" > "$work/gw.after"
    db_after=$(process_ns "$mariadb_pid")
    rows_after=$(rows_inserted)
    requests=$(awk '/requests in/ {print $1}' <<<"$outp")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$outp")
    /usr/bin/python3 - "$work/gw.before" "$work/gw.after" "$round" "$target" "$requests" "$rps" \
      "$((db_after - db_before))" "$((rows_after - rows_before))" >> "$results" <<'PY'
import collections, sys
before, after, rnd, target, requests, rps, db_ns, rows = sys.argv[1:9]
def load(p):
    d = collections.defaultdict(int)
    for line in open(p):
        name, _, ns = line.rstrip("\n").partition("\t")
        if ns:
            d[name] += int(ns)
    return d
b, a = load(before), load(after)
per = {k: a[k] - b.get(k, 0) for k in a}
n = max(int(requests), 1)
total = sum(per.values()) / 1000 / n
threads = ",".join(f"{k}={v / 1000 / n:.2f}" for k, v in sorted(per.items()) if v > 0)
db_row = int(db_ns) / 1000 / int(rows) if int(rows) > 0 else 0.0
db_req = int(db_ns) / 1000 / n
print(f"{rnd}\t{target}\t{requests}\t{rps}\t{total:.2f}\t{db_row:.2f}\t{db_req:.2f}\t{rows}\t{threads}")
PY
    tail -1 "$results" >&2
  done
done

/usr/bin/python3 - "$results" "$duration" "$rounds" "$build" "$compare" <<'PY' | tee "${out:-/dev/null}"
import collections, statistics, sys
path, duration, rounds, build, compare = sys.argv[1:6]
rows = collections.defaultdict(list)
for line in open(path):
    rnd, target, requests, rps, total, db_row, db_req, nrows, threads = line.rstrip("\n").split("\t")
    t = {k: float(v) for k, v in (kv.split("=") for kv in threads.split(",") if kv)}
    rows[target].append((float(rps), float(total), float(db_row), float(db_req), t, int(nrows)))
med = lambda target, i: statistics.median(r[i] for r in rows[target])
thr = lambda target, name: statistics.median(r[4].get(name, 0.0) for r in rows[target])
print(f"{rounds} rounds x {duration} s, wrk -t1 -c64 GET /small, medians; gatewayd from {build}"
      + (f", -b from {compare}" if compare else ""))
print()
print("| gatewayd | req/s | gatewayd CPU-µs/req | worker thread(s) | gw-records (writer) | "
      "mariadbd CPU-µs/row | mariadbd CPU-µs/req |")
print("|---|---:|---:|---:|---:|---:|---:|")
for target in ("plain", "mysql-log", "plain-b", "mysql-log-b"):
    if target not in rows:
        continue
    names = set().union(*(r[4].keys() for r in rows[target]))
    worker = sum(thr(target, n) for n in names if n not in ("gw-records",))
    print(f"| {target} | {med(target, 0):,.0f} | {med(target, 1):.2f} | {worker:.2f} | "
          f"{thr(target, 'gw-records'):.2f} | "
          f"{med(target, 2) if target.startswith('mysql-log') else 0:.2f} | "
          f"{med(target, 3):.2f} |")
print()
for suffix in ("", "-b"):
    plain, logged = "plain" + suffix, "mysql-log" + suffix
    if plain in rows and logged in rows:
        extra = med(logged, 1) - med(plain, 1)
        print(f"{logged}: request history costs gatewayd {extra:+.2f} CPU-µs per request "
              f"({extra / med(plain, 1) * 100:+.1f} %); gatewayd CPU-bound throughput ratio "
              f"{med(plain, 1) / med(logged, 1):.3f}x; req/s ratio "
              f"{med(logged, 0) / med(plain, 0):.3f}x")
PY

if [[ $perf_s -gt 0 ]]; then
  gw=${gw_pids[mysql-log]}
  tid=$(for t in /proc/$gw/task/*; do if [[ $(cat "$t/comm") == gw-records ]]; then basename "$t"; fi; done)
  taskset -c $cpu_load wrk -t1 -c64 -d"$((perf_s + 2))s" "http://127.0.0.1:$(bench_port 8)/small" >/dev/null &
  sleep 1
  perf record -q --call-graph dwarf,16384 -t "$tid" -o "$work/perf.data" -- sleep "$perf_s" \
    >"$work/perf.log" 2>&1 || cat "$work/perf.log" >&2
  wait %% 2>/dev/null || true
  perf report -i "$work/perf.data" --no-children --stdio --percent-limit 1.5 2>/dev/null |
    grep -E '^ +[0-9]' | head -40
  perf report -i "$work/perf.data" --children --stdio --percent-limit 4 -g none 2>/dev/null |
    grep -E '^ +[0-9]' | head -40
fi

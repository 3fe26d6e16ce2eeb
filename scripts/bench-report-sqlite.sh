#!/usr/bin/env bash
# ReportIncident on SQLite (the embedded default) against its database ceiling,
# and the same service at twice its maximum, in one run:
#
#   scripts/bench-report-sqlite.sh [SECONDS] [TARGET_DIR]
#
# Starts the release `scir-intake` alone on a fresh SQLite file, then for 8, 32
# and 64 clients runs `scir bench load --target report` against it and
# scripts/bench/report_incident_sqlite.py (the same statements in one
# transaction, same pool and pragmas) against a copy of a freshly migrated
# database. Last, an open-loop run at twice the 64-client throughput: how much
# is served (goodput), how fast the excess is refused (RESOURCE_EXHAUSTED), and
# the latency of what is served. With BENCH_PIN=1 the service and the ceiling
# run on CPU 0 and the load generator on CPU 1 (taskset), so the generator does
# not take the cores it measures. Build first:
#   cargo build --release -p scir -p scir-intake -p scir-probe
set -euo pipefail
seconds="${1:-6}"
target="${2:-${CARGO_TARGET_DIR:-target}}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/bench/services.sh"
need_release scir scir-intake scir-probe
work="$(mktemp -d /tmp/scir-bench-sqlite.XXXXXX)"
cleanup() {
  [ -n "${intake:-}" ] && kill "$intake" 2>/dev/null && wait "$intake" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

dev_settings
server_cpu=() load_cpu=()
if [ "${BENCH_PIN:-0}" = 1 ]; then
  server_cpu=(taskset -c 0) load_cpu=(taskset -c 1)
fi
start_intake() {
  SCIR_LISTEN_ADDR=127.0.0.1:27081 SCIR_DATABASE_URL="sqlite://$1" \
    "${server_cpu[@]}" "$target/release/scir-intake" >>"$work/intake.log" 2>&1 &
  intake=$!
  wait_serving 127.0.0.1:27081
}
load() {
  "${load_cpu[@]}" "$target/release/scir" bench load --data-dir "$work/dev" --intake-addr 127.0.0.1:27081 \
    --server-pid "$intake" --target report --warmup 2s --duration "${seconds}s" "$@"
}

# A migrated, empty database for the ceiling: intake creates it, then stops.
start_intake "$work/schema.db"
kill "$intake" && wait "$intake" 2>/dev/null || true
start_intake "$work/intake.db"

echo "machine: $(nproc) cores${server_cpu[*]:+, service and ceiling on CPU 0, load generator on CPU 1}; SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)') (ceiling), WAL, synchronous=NORMAL"
max=0
for c in 8 32 64; do
  printf 'service  ReportIncident x%-3s ' "$c"
  out="$(load --concurrency "$c" --json)"
  echo "$out" | python3 -c 'import json,sys; print("{throughput:.0f} req/s; p50 {p50_ms:.2f} ms, p99 {p99_ms:.2f} ms; server CPU {cpu_seconds_per_1000:.2f} s per 1,000; {codes}".format(**json.load(sys.stdin)))'
  max="$(echo "$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["throughput"]))')"
  cp "$work/schema.db" "$work/ceiling.db"
  printf 'ceiling  same statements   x%-3s ' "$c"
  "${server_cpu[@]}" python3 "$here/bench/report_incident_sqlite.py" "$work/ceiling.db" "$c" "$seconds" \
    | python3 -c 'import json,sys; print("{tps:.0f} tps; p50 {p50_ms:.2f} ms, p99 {p99_ms:.2f} ms".format(**json.load(sys.stdin)))'
  rm -f "$work"/ceiling.db*
done

rate=$((max * 2))
printf 'overload open loop at %s req/s (twice the 64-client maximum): ' "$rate"
load --rate "$rate" --concurrency 4096

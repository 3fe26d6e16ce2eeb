#!/usr/bin/env bash
# ReportIncident on PostgreSQL against its database ceiling, in one run:
#
#   scripts/bench-report-pg.sh [SECONDS] [TARGET_DIR]
#
# Starts a PostgreSQL cluster with durable defaults (fsync and
# synchronous_commit on) and the release `scir-intake` on it, then for 8, 32 and
# 64 clients runs `scir bench load --target report` against the service and
# pgbench with scripts/bench/report_incident.pgbench (the same statements in
# one transaction) against the same database. Build first:
#   cargo build --release -p scir -p scir-intake -p scir-probe
# Needs PostgreSQL's server and pgbench (Debian: postgresql, postgresql-contrib).
set -euo pipefail
seconds="${1:-6}"
target="${2:-${CARGO_TARGET_DIR:-target}}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/bench/services.sh"
need_release scir scir-intake scir-probe
work="$(mktemp -d /tmp/scir-bench-pg.XXXXXX)"
port=27432
. "$here/bench/cluster.sh"
pg_start
cleanup() {
  [ -n "${intake:-}" ] && kill "$intake" 2>/dev/null && wait "$intake" 2>/dev/null
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres scir_intake

dev_settings
SCIR_LISTEN_ADDR=127.0.0.1:27071 \
SCIR_DATABASE_URL="postgres://postgres@127.0.0.1:$port/scir_intake" \
  "$target/release/scir-intake" >"$work/intake.log" 2>&1 &
intake=$!
wait_serving 127.0.0.1:27071

echo "machine: $(nproc) cores; PostgreSQL $("$bin/postgres" --version | awk '{print $3}'), fsync and synchronous_commit on"
for c in 8 32 64; do
  printf 'service  ReportIncident x%-3s ' "$c"
  "$target/release/scir" bench load --data-dir "$work/dev" --intake-addr 127.0.0.1:27071 \
    --server-pid "$intake" --target report --concurrency "$c" --warmup 2s --duration "${seconds}s" \
    | sed 's/^[A-Za-z]*, //'
  rm -f "$work"/pgbench_log.*
  (cd "$work" && "$bin/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c "$c" -j 2 -T "$seconds" \
    -f "$here/bench/report_incident.pgbench" -l --log-prefix=pgbench_log scir_intake >"$work/pgbench.out" 2>&1)
  tps=$(grep -oE 'tps = [0-9.]+' "$work/pgbench.out" | head -1 | awk '{print $3}')
  p=$(cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "p50 %.2f ms, p99 %.2f ms", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}')
  printf 'pgbench  same statements   x%-3s %s tps; %s\n' "$c" "$tps" "$p"
done

#!/usr/bin/env bash
# Review updates with optimistic concurrency on hot reviews, on PostgreSQL,
# against pgbench running the same statements, in one run:
#
#   scripts/bench-review-pg.sh [SECONDS] [TARGET_DIR]
#
# Starts a PostgreSQL cluster with durable defaults, the release `scir-intake`
# and `scir-review` on it, and for 8, 32 and 64 clients runs `scir bench
# review-updates` (50 hot reviews, Zipf 1.1: read, update with the etag, retry
# on ABORTED; then every review's history is checked against the OK answers)
# and pgbench with scripts/bench/review_update.pgbench against the same 50
# reviews. Build first:
#   cargo build --release -p scir -p scir-intake -p scir-review -p scir-probe
# Needs PostgreSQL's server and pgbench (Debian: postgresql, postgresql-contrib).
set -euo pipefail
seconds="${1:-6}"
target="${2:-${CARGO_TARGET_DIR:-target}}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/bench/services.sh"
need_release scir scir-intake scir-review scir-probe
work="$(mktemp -d /tmp/scir-bench-review.XXXXXX)"
port=27434
. "$here/bench/cluster.sh"
pg_start
cleanup() {
  for pid in ${review:-} ${intake:-}; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT
for db in scir_intake scir_review; do as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"; done
pg="postgres://postgres@127.0.0.1:$port"

dev_settings
SCIR_LISTEN_ADDR=127.0.0.1:27101 SCIR_DATABASE_URL="$pg/scir_intake" \
  "$target/release/scir-intake" >"$work/intake.log" 2>&1 &
intake=$!
SCIR_LISTEN_ADDR=127.0.0.1:27102 SCIR_DATABASE_URL="$pg/scir_review" \
SCIR_REVIEW_INTAKE_ADDR=http://127.0.0.1:27101 \
  "$target/release/scir-review" >"$work/review.log" 2>&1 &
review=$!
wait_serving 127.0.0.1:27101 127.0.0.1:27102

echo "machine: $(nproc) cores; PostgreSQL $("$bin/postgres" --version | awk '{print $3}'), fsync and synchronous_commit on"
for c in 8 32 64; do
  printf 'service  x%-3s ' "$c"
  "$target/release/scir" bench review-updates --data-dir "$work/dev" \
    --intake-addr http://127.0.0.1:27101 --review-addr http://127.0.0.1:27102 \
    --reviews 50 --skew 1.1 --concurrency "$c" --warmup 2s --duration "${seconds}s"
  # pgbench works on the 50 reviews the service run just made, hottest first.
  "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d scir_review -c \
    "DROP TABLE IF EXISTS bench_hot; CREATE TABLE bench_hot AS
       SELECT row_number() OVER (ORDER BY seq) AS k, id, jurisdiction
       FROM (SELECT seq, id, jurisdiction FROM reviews ORDER BY seq DESC LIMIT 50) latest;"
  rm -f "$work"/pgbench_log.*
  applied() {
    "$bin/psql" -X -q -A -t -h 127.0.0.1 -p "$port" -U postgres -d scir_review -c \
      "SELECT count(*) FROM review_history WHERE actor = 'bench-lead' AND time = 2"
  }
  before=$(applied)
  (cd "$work" && "$bin/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c "$c" -j 2 -T "$seconds" \
    -D hot=50 -D applied=1 -D k=1 -D lost=0 -f "$here/bench/review_update.pgbench" -l --log-prefix=pgbench_log scir_review >"$work/pgbench.out" 2>&1) \
    || { cat "$work/pgbench.out" >&2; exit 1; }
  tps=$(grep -oE 'tps = [0-9.]+' "$work/pgbench.out" | head -1 | awk '{print $3}')
  # An attempt whose version was stale updates nothing: count those that applied.
  updates=$(( $(applied) - before ))
  p=$(cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "p50 %.2f ms, p99 %.2f ms", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}')
  printf 'pgbench  x%-3s %s updates/s (%.0f read-and-update attempts/s); %s\n' \
    "$c" "$(awk -v u="$updates" -v s="$seconds" 'BEGIN { printf "%.0f", u / s }')" "$tps" "$p"
done

#!/usr/bin/env bash
# Insights questions on PostgreSQL against the same answers computed by
# hand-written SQL in psql, in one run:
#
#   scripts/bench-insights-pg.sh [REVIEWS] [CALLS] [TARGET_DIR]
#
# Starts a PostgreSQL cluster, loads REVIEWS synthetic reviews (default
# 100,000, 21 item levels each) into an insights database with `scir bench
# insights --database-url`, which then times every question over gRPC (CALLS
# calls each, default 100). Then runs each query of scripts/bench/insights/
# (the same answers, written by hand against the same tables, after VACUUM
# ANALYZE) 20 times in psql with \timing and prints its median and slowest.
# Build first: cargo build --release -p scir
set -euo pipefail
reviews="${1:-100000}"
calls="${2:-100}"
target="${3:-${CARGO_TARGET_DIR:-target}}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/bench/services.sh"
need_release scir
work="$(mktemp -d /tmp/scir-bench-insights.XXXXXX)"
port=27433
. "$here/bench/cluster.sh"
pg_start
trap 'pg_stop; rm -rf "$work"' EXIT
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres scir_insights
url="postgres://postgres@127.0.0.1:$port/scir_insights"

echo "machine: $(nproc) cores; PostgreSQL $("$bin/postgres" --version | awk '{print $3}')"
echo "== scir bench insights (gRPC, answers from the service's index)"
"$target/release/scir" bench insights --reviews "$reviews" --calls "$calls" --database-url "$url"

echo "== the same answers by hand-written SQL in psql (20 runs each)"
psql() { "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d scir_insights "$@"; }
psql -c "VACUUM ANALYZE" >/dev/null
for query in "$here"/bench/insights/*.sql; do
  rows="$(psql -A -t -f "$query" | wc -l)"
  times="$( { echo '\timing on'; for _ in $(seq 1 20); do cat "$query"; done; } \
    | psql -o /dev/null 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -n)"
  median="$(echo "$times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  slowest="$(echo "$times" | tail -1)"
  printf '%-32s median %8.2f ms, slowest %8.2f ms, %s rows\n' "$(basename "$query" .sql)" "$median" "$slowest" "$rows"
done

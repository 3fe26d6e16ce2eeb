#!/usr/bin/env bash
# The intake benchmarks against the gRPC ceiling, on this machine, in one run:
#
#   scripts/bench-grpc.sh [SECONDS] [TARGET_DIR]
#
# Starts `scir up` (SQLite) and `scir bench ceiling` (an intake whose handlers
# do nothing, same server settings), then runs `scir bench load` closed-loop
# at several concurrencies: EvaluateEligibility against both (the ratio is the
# service's share of the transport's throughput), ReportIncident against intake
# (durable writes), and one request in flight for the latency floor. Build
# first: cargo build --release -p scir.
set -euo pipefail
seconds="${1:-8}"
target="${2:-${CARGO_TARGET_DIR:-target}}"
scir="$target/release/scir"
[ -x "$scir" ] || { echo "build first: cargo build --release -p scir" >&2; exit 2; }
data="$(mktemp -d /tmp/scir-bench.XXXXXX)"
"$scir" up --data-dir "$data" --intake-port 27051 --review-port 27052 --scoring-port 27053 \
  --insights-port 27054 --log-filter warn >"$data/up.log" 2>&1 &
up=$!
"$scir" bench ceiling --listen 127.0.0.1:27061 >"$data/ceiling.log" 2>&1 &
ceiling=$!
trap 'kill $up $ceiling 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"' EXIT
sleep 2
run() {
  local name="$1" addr="$2" pid="$3"
  shift 3
  printf '%-44s ' "$name"
  "$scir" bench load --data-dir "$data" --intake-addr "$addr" --server-pid "$pid" \
    --warmup 2s --duration "${seconds}s" "$@" | sed 's/^[A-Za-z]*, //'
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for c in 1 8 32 64; do
  run "ceiling  EvaluateEligibility x$c" 127.0.0.1:27061 $ceiling --target evaluate --concurrency $c
  run "intake   EvaluateEligibility x$c" 127.0.0.1:27051 $up --target evaluate --concurrency $c
done
for c in 8 32 64; do
  run "intake   ReportIncident (SQLite) x$c" 127.0.0.1:27051 $up --target report --concurrency $c
done

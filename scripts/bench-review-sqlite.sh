#!/usr/bin/env bash
# Review updates with optimistic concurrency on hot reviews, on SQLite (the
# embedded default):
#
#   scripts/bench-review-sqlite.sh [SECONDS] [TARGET_DIR]
#
# Starts the release `scir-intake` and `scir-review` on fresh SQLite files and
# for 8, 32 and 64 clients runs `scir bench review-updates` (50 hot reviews,
# Zipf 1.1: read, update with the etag, retry on ABORTED; then every review's
# history is checked against the OK answers). There is no ceiling here: the
# figures are compared between two builds, run one after the other
# (scripts/bench-review-pg.sh has the PostgreSQL ceiling). Build first:
#   cargo build --release -p scir -p scir-intake -p scir-review -p scir-probe
set -euo pipefail
seconds="${1:-6}"
target="${2:-${CARGO_TARGET_DIR:-target}}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/bench/services.sh"
need_release scir scir-intake scir-review scir-probe
work="$(mktemp -d /tmp/scir-bench-review-sqlite.XXXXXX)"
cleanup() {
  for pid in ${review:-} ${intake:-}; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

dev_settings
SCIR_LISTEN_ADDR=127.0.0.1:27111 SCIR_DATABASE_URL="sqlite://$work/intake.db" \
  "$target/release/scir-intake" >"$work/intake.log" 2>&1 &
intake=$!
SCIR_LISTEN_ADDR=127.0.0.1:27112 SCIR_DATABASE_URL="sqlite://$work/review.db" \
SCIR_REVIEW_INTAKE_ADDR=http://127.0.0.1:27111 \
  "$target/release/scir-review" >"$work/review.log" 2>&1 &
review=$!
wait_serving 127.0.0.1:27111 127.0.0.1:27112

echo "machine: $(nproc) cores; SQLite, WAL, synchronous=NORMAL"
for c in 8 32 64; do
  printf 'service  x%-3s ' "$c"
  "$target/release/scir" bench review-updates --data-dir "$work/dev" \
    --intake-addr http://127.0.0.1:27111 --review-addr http://127.0.0.1:27112 \
    --reviews 50 --skew 1.1 --concurrency "$c" --warmup 2s --duration "${seconds}s"
done

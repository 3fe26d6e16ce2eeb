#!/usr/bin/env bash
# Soak: mixed traffic on all four services for a while, with memory watched.
#
#   scripts/soak.sh [MINUTES] [TARGET_DIR]
#
# Starts `scir up` on a fresh data directory, then runs `scir demo` rounds
# (each a new seed: reports to intake, whole review walks, ratings and
# consensus in scoring, questions to insights) until the time is up. Prints
# the resident memory of the process (all four services) before traffic,
# after each round and at the end, and every round's failures. Exits non-zero
# if a round failed. Build first: cargo build --release -p scir.
#
# With SOAK_SEED set, every round replays that seed: after the first, the
# traffic adds no data (reports are answered from the stored incidents, reviews
# are where the plan leaves them, insights is asked again), so memory that
# still grows would be a leak rather than data.
set -euo pipefail
minutes="${1:-5}"
target="${2:-${CARGO_TARGET_DIR:-target}}"
scir="$target/release/scir"
[ -x "$scir" ] || scir="$target/debug/scir"
[ -x "$scir" ] || { echo "build scir first: cargo build --release -p scir" >&2; exit 2; }

data="$(mktemp -d /tmp/scir-soak.XXXXXX)"
# Below 32768, outside the ports Linux hands to client sockets (see scripts/bench/services.sh).
ports=(26051 26052 26053 26054)
"$scir" up --data-dir "$data" --intake-port "${ports[0]}" --review-port "${ports[1]}" \
  --scoring-port "${ports[2]}" --insights-port "${ports[3]}" >"$data/up.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
for _ in $(seq 1 100); do
  grep -q "SCIR is up" "$data/up.log" && break
  sleep 0.1
done
export SCIR_INTAKE_ADDR="127.0.0.1:${ports[0]}" SCIR_REVIEW_ADDR="127.0.0.1:${ports[1]}"
export SCIR_SCORING_ADDR="127.0.0.1:${ports[2]}" SCIR_INSIGHTS_ADDR="127.0.0.1:${ports[3]}"

echo "scir: $scir; idle RSS $(rss) kB"
end=$(( SECONDS + minutes * 60 ))
round=0
failed=0
while [ $SECONDS -lt $end ]; do
  round=$((round + 1))
  start=$SECONDS
  if "$scir" demo --data-dir "$data" --incidents 300 --seed "${SOAK_SEED:-$round}" --concurrency 16 --quiet \
      >"$data/round.out" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=$((failed + 1))
    tail -5 "$data/round.out"
  fi
  reviews=$(grep -o 'Reviews opened: [0-9]*' "$data/round.out" | grep -o '[0-9]*$' || echo 0)
  echo "round $round: $status, $reviews reviews in $((SECONDS - start)) s; RSS $(rss) kB (peak $(hwm) kB)"
done
echo "after $round rounds: RSS $(rss) kB, peak $(hwm) kB; failed rounds: $failed"
[ "$failed" -eq 0 ]

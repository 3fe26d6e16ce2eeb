#!/usr/bin/env bash
# Footprint of each service: time from start to health SERVING (migrations on a
# fresh SQLite file included) and resident memory when idle, for the release
# binaries; image sizes when the images exist (.ci/compose.sh builds them).
#
#   scripts/bench-footprint.sh [TARGET_DIR]
#
# Build first: cargo build --release -p scir-intake -p scir-review -p scir-scoring
#   -p scir-insights -p scir-probe
set -euo pipefail
target="${1:-${CARGO_TARGET_DIR:-target}}"
work="$(mktemp -d /tmp/scir-footprint.XXXXXX)"
rows=()
cleanup() {
  for row in "${rows[@]}"; do kill "${row##* }" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
secret="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
common=(SCIR_JWT_HS256_SECRET="$secret" SCIR_DATA_KEYS="f:$(head -c 32 /dev/urandom | base64)" SCIR_LOG=warn)
ms() { date +%s%3N; }
start_service() {
  local name="$1" port="$2"
  shift 2
  local t0
  t0=$(ms)
  env "${common[@]}" SCIR_LISTEN_ADDR="127.0.0.1:$port" \
    SCIR_DATABASE_URL="sqlite://$work/$name.db" "$@" "$target/release/scir-$name" >"$work/$name.log" 2>&1 &
  until "$target/release/scir-probe" "127.0.0.1:$port" 2>/dev/null; do sleep 0.01; done
  echo "$name $(( $(ms) - t0 )) $!"
}
printf '%-9s %18s %20s %12s\n' service "start to SERVING" "idle RSS (anon)" image
rows+=("$(start_service intake 27081)")
rows+=("$(start_service review 27082 SCIR_REVIEW_INTAKE_ADDR=http://127.0.0.1:27081 SCIR_REVIEW_SCORING_ADDR=http://127.0.0.1:27083)")
rows+=("$(start_service scoring 27083 SCIR_SCORING_REVIEW_ADDR=http://127.0.0.1:27082)")
rows+=("$(start_service insights 27084 SCIR_INSIGHTS_REVIEW_ADDR=http://127.0.0.1:27082 SCIR_INSIGHTS_SCORING_ADDR=http://127.0.0.1:27083)")
sleep 5
for row in "${rows[@]}"; do
  read -r name ms_taken pid <<<"$row"
  # Resident in all, and the part of it that is the process's own (heap,
  # stacks): the rest is the binary's pages, shared and reclaimable.
  rss=$(awk '/VmRSS/ {all=$2} /RssAnon/ {anon=$2} END {printf "%.1f MB (%.1f)", all/1024, anon/1024}' "/proc/$pid/status")
  image=-
  if size=$(docker image inspect "scir-$name:ci" --format '{{.Size}}' 2>/dev/null); then
    image=$(awk '{printf "%.1f MB", $1/1000000}' <<<"$size")
  fi
  printf '%-9s %15s ms %20s %12s\n' "$name" "$ms_taken" "$rss" "$image"
done

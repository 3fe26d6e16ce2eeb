#!/usr/bin/env bash
# CI: the container images and the docker compose stack, on a machine that can
# reach no image registry. Builds the release binaries once, makes the local base
# images when missing, builds the four service images (the Dockerfile's
# `prebuilt` target) and the stand-in collector, brings the stack up, runs the
# compose journey (which stops and restarts the review container halfway), and
# tears everything down, also on failure. Prints each stage's time and the
# image sizes.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
project="scir-ci"
compose="docker-compose -p $project -f $PWD/docker-compose.yml"
services=(intake review scoring insights learning culture web)
timings=()
stage_start=$SECONDS
stage() {
  local now=$SECONDS
  [ -n "${stage_name:-}" ] && timings+=("$(printf '%-32s %4ss' "$stage_name" $((now - stage_start)))")
  stage_name="$1"
  stage_start=$now
  printf '\n== %s\n' "$1"
}
report() {
  stage ""
  printf '\n== stage timings\n'
  printf '%s\n' "${timings[@]}"
}
dist="$(mktemp -d /tmp/scir-dist.XXXXXX)"
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    printf '\n== compose logs (failure)\n'
    $compose logs --no-color --tail 40 2>/dev/null || true
  fi
  $compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$dist"
  report
  exit $rc
}
trap cleanup EXIT

stage "release binaries"
cargo build --release --locked -p scir-intake -p scir-review -p scir-scoring -p scir-insights -p scir-learning -p scir-culture -p scir-web \
  -p scir-probe -p scir-otlp-sink
for bin in scir-intake scir-review scir-scoring scir-insights scir-learning scir-culture scir-web scir-probe scir-otlp-sink; do
  cp "$target/release/$bin" "$dist/"
done

stage "local base images"
bash deploy/docker/local-images.sh

stage "service images"
runtime="scir-local/distroless-cc:bookworm"
for service in "${services[@]}"; do
  docker build -q -f deploy/docker/Dockerfile --target prebuilt \
    --build-arg SERVICE="$service" --build-arg RUNTIME_IMAGE="$runtime" \
    -t "scir-$service:ci" "$dist" >/dev/null
done
docker build -q -f deploy/docker/otlp-sink.Dockerfile --build-arg RUNTIME_IMAGE="$runtime" \
  -t scir-local/otlp-sink:ci "$dist" >/dev/null
printf '\n== image sizes\n'
docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' \
  | grep -E '^(scir-(intake|review|scoring|insights|learning|culture|web):ci|scir-local/)' | sort

stage "compose up"
bash deploy/compose/make-secrets.sh
export SCIR_POSTGRES_IMAGE=scir-local/postgres:15
export SCIR_COLLECTOR_IMAGE=scir-local/otlp-sink:ci
export SCIR_IMAGE_PREFIX=scir SCIR_VERSION=ci
$compose down -v --remove-orphans >/dev/null 2>&1 || true
$compose up -d --no-build
# The stack serves mutual TLS only; the probe and the journey present the client
# certificate make-secrets.sh made.
export SCIR_TLS_CERT=$PWD/deploy/compose/tls/client/cert.pem
export SCIR_TLS_KEY=$PWD/deploy/compose/tls/client/key.pem
export SCIR_TLS_CA=$PWD/deploy/compose/tls/client/ca.pem
for port in 50051 50052 50053 50054 50055 50056; do
  for _ in $(seq 1 120); do
    "$dist/scir-probe" "127.0.0.1:$port" 2>/dev/null && break
    sleep 1
  done
  "$dist/scir-probe" "127.0.0.1:$port"
done
# The console's own port is plain HTTP.
for _ in $(seq 1 120); do
  SCIR_PROBE_PLAIN=true "$dist/scir-probe" 127.0.0.1:50057 2>/dev/null && break
  sleep 1
done
SCIR_PROBE_PLAIN=true "$dist/scir-probe" 127.0.0.1:50057
$compose ps

stage "compose journey (review restarted halfway)"
# `--workspace`: the features the test command built with, so its build is
# reused rather than redone for one package's feature set.
SCIR_COMPOSE="$compose" \
SCIR_COMPOSE_JWT_SECRET="$(sed -n 's/^SCIR_JWT_HS256_SECRET=//p' deploy/compose/intake.env)" \
  cargo nextest run --workspace --locked --test compose --run-ignored only --no-capture

stage "collector received"
$compose logs --no-color collector | grep -E 'spans from|series from' | sed 's/^[^|]*| //' | sort | uniq -c | head -12

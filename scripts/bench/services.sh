# Sourced by the benchmarks that start release SCIR services themselves.
# The benchmarks listen on fixed ports below 32768: Linux hands out 32768-60999
# to client sockets, and one of those lingering in TIME_WAIT on a fixed port
# makes a server's bind fail ("Address already in use").
# Needs $target (the cargo target directory); dev_settings also $work (a scratch directory).
#   need_release BIN...  exit 2, saying what to build, unless each release binary is there
#   dev_settings         a development JWT secret in $work/dev (for `scir bench --data-dir`)
#                        and the settings every service started afterwards reads, exported
#   wait_serving ADDR... until each answers SERVING (10 s at most)
need_release() {
  local b
  for b in "$@"; do
    [ -x "$target/release/$b" ] || { echo "build first: cargo build --release -p $b" >&2; exit 2; }
  done
}
dev_settings() {
  local secret
  secret="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
  mkdir -p "$work/dev"
  printf '%s' "$secret" >"$work/dev/dev-jwt-secret"
  export SCIR_JWT_ISSUER=scir-dev SCIR_JWT_AUDIENCE=scir SCIR_JWT_HS256_SECRET="$secret" SCIR_LOG=warn
  export SCIR_DATA_KEYS="bench:$(head -c 32 /dev/urandom | base64)"
}
wait_serving() {
  local address
  for address in "$@"; do
    for _ in $(seq 1 100); do "$target/release/scir-probe" "$address" 2>/dev/null && break; sleep 0.1; done
  done
}

# Sourced by the PostgreSQL benchmarks: a throw-away PostgreSQL cluster with
# durable defaults (fsync and synchronous_commit on) in "$work/data", on
# 127.0.0.1:$port, owned by the postgres user when run as root.
#   pg_start   initdb and start; sets $bin (the server's bin directory)
#   pg_stop    stop it (call from the EXIT trap)
#   as_pg CMD  run CMD as the cluster's owner
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  chmod 755 "$work"
  [ "$(id -u)" = 0 ] && chown postgres "$work"
  as_pg "$bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 >/dev/null
  as_pg "$bin/pg_ctl" start -w -D "$work/data" -l "$work/pg.log" \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=300" >/dev/null
}
pg_stop() {
  as_pg "$bin/pg_ctl" stop -m fast -D "$work/data" >/dev/null 2>&1 || true
}

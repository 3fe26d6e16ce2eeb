#!/usr/bin/env bash
# Makes, when they are missing, the images SCIR's containers build on, from
# Debian's packages alone, for machines that can reach no image registry:
#
#   scir-local/distroless-cc:bookworm  glibc, libgcc, CA certificates, /etc/passwd
#                                      with nonroot (65532), no shell: the files of
#                                      gcr.io/distroless/cc-debian12
#   scir-local/postgres:15             Debian's PostgreSQL 15 with an entrypoint
#                                      implementing the part of the official
#                                      postgres image's interface SCIR uses
#                                      (POSTGRES_PASSWORD, POSTGRES_USER,
#                                      /docker-entrypoint-initdb.d, PGDATA)
#
# Both come from one `debootstrap --variant=minbase bookworm` tree, imported with
# `docker import`. Machines that can pull public images do not need this: the
# Dockerfile and docker-compose.yml default to the public images.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
runtime_tag="scir-local/distroless-cc:bookworm"
postgres_tag="scir-local/postgres:15"

have() { docker image inspect "$1" >/dev/null 2>&1; }

if have "$runtime_tag" && have "$postgres_tag"; then
    echo "local base images present: $runtime_tag, $postgres_tag"
    exit 0
fi

if ! command -v debootstrap >/dev/null; then
    echo "installing debootstrap"
    apt-get install -y -qq debootstrap >/dev/null || {
        apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
    }
fi

work="$(mktemp -d /tmp/scir-images.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/bookworm"
echo "debootstrap bookworm (minbase, with PostgreSQL 15) into $root"
debootstrap --variant=minbase --include=postgresql-15,ca-certificates \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log"
    exit 1
}
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

if ! have "$postgres_tag"; then
    install -m 0755 "$here/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
    mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
    chroot "$root" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
    tar -C "$root" -c . | docker import \
        -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV PGDATA=/var/lib/postgresql/data' \
        -c 'ENV LANG=C.UTF-8' \
        -c 'EXPOSE 5432' \
        -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
        -c 'CMD ["postgres"]' \
        - "$postgres_tag" >/dev/null
    echo "made $postgres_tag"
fi

if ! have "$runtime_tag"; then
    slim="$work/distroless"
    mkdir -p "$slim"/{etc,tmp,home/nonroot,usr/lib/x86_64-linux-gnu,lib64,etc/ssl/certs}
    chmod 1777 "$slim/tmp"
    for lib in libc.so.6 libm.so.6 libgcc_s.so.1 libpthread.so.0 libdl.so.2 librt.so.1 ld-linux-x86-64.so.2; do
        cp -L "$root/usr/lib/x86_64-linux-gnu/$lib" "$slim/usr/lib/x86_64-linux-gnu/$lib"
    done
    ln -s usr/lib "$slim/lib"
    ln -s ../usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$slim/lib64/ld-linux-x86-64.so.2"
    cp -L "$root/etc/ssl/certs/ca-certificates.crt" "$slim/etc/ssl/certs/ca-certificates.crt"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$slim/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$slim/etc/group"
    cp "$root/etc/nsswitch.conf" "$slim/etc/nsswitch.conf"
    chown 65532:65532 "$slim/home/nonroot"
    tar -C "$slim" -c . | docker import \
        -c 'USER 65532:65532' \
        -c 'WORKDIR /home/nonroot' \
        -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        - "$runtime_tag" >/dev/null
    echo "made $runtime_tag"
fi
docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep '^scir-local/'

#!/usr/bin/env bash
# Writes the git-ignored env files the development overlay's secretGenerator
# reads, with generated passwords and secrets, and the mutual TLS certificates
# (tls/, by deploy/tls/make-certs.sh), unless they exist already.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
umask 077
[ -e "$dir/tls/ca.pem" ] || bash "$dir/../../../tls/make-certs.sh" "$dir/tls" intake review scoring insights learning culture web client >/dev/null
[ -e "$dir/secrets.env" ] && { echo "secrets exist; keeping them"; exit 0; }
random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
echo "SCIR_JWT_HS256_SECRET=$(random 32)" >"$dir/secrets.env"
echo "SCIR_INSIGHTS_KEY_SALT=$(random 32)" >"$dir/insights-key-salt.env"
sed -i 's/^SCIR_INSIGHTS_KEY_SALT=/salt=/' "$dir/insights-key-salt.env"
echo "keys=k1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')" >"$dir/data-keys.env"
{
    echo "POSTGRES_PASSWORD=$(random 16)"
    for service in intake review scoring insights learning culture web; do
        password="$(random 16)"
        echo "SCIR_${service^^}_DB_PASSWORD=$password"
        echo "url=postgres://scir_$service:$password@postgres:5432/scir_$service" >"$dir/$service-database.env"
    done
} >"$dir/postgres.env"
echo "wrote $dir/*.env"

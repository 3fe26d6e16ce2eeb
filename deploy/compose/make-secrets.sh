#!/usr/bin/env bash
# Writes the env files docker-compose.yml reads, with generated passwords and
# secrets, and the certificates for mutual TLS between the services
# (deploy/compose/tls/, one directory per service and one for clients such as
# the `scir` CLI), unless they exist already (so running it again changes
# nothing). All of it is git-ignored; the env files are readable by their owner
# only.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"

if [ ! -e "$dir/tls/ca.pem" ]; then
    bash "$dir/../tls/make-certs.sh" "$dir/tls" intake review scoring insights learning culture web client
    # The containers run as uid 65532 and read their key through a bind mount,
    # so each service's key must be readable by others on this machine. The
    # authority's key (tls/ca.key) is not mounted and stays private. In
    # Kubernetes the keys come from Secrets instead (deploy/k8s/README.md).
    chmod 0644 "$dir"/tls/*/key.pem
    echo "wrote deploy/compose/tls/ (mutual TLS; clients use tls/client/)"
fi

umask 077
if [ -e "$dir/postgres.env" ]; then
    echo "deploy/compose/*.env exist; keeping them"
    exit 0
fi
random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
jwt_secret="$(random 32)"
data_keys="k1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
{
    echo "POSTGRES_PASSWORD=$(random 16)"
    for service in intake review scoring insights learning culture web; do
        password="$(random 16)"
        echo "SCIR_${service^^}_DB_PASSWORD=$password"
        {
            echo "SCIR_DATABASE_URL=postgres://scir_$service:$password@postgres:5432/scir_$service"
            echo "SCIR_JWT_ISSUER=scir-dev"
            echo "SCIR_JWT_AUDIENCE=scir"
            echo "SCIR_JWT_HS256_SECRET=$jwt_secret"
            [ "$service" = insights ] && echo "SCIR_INSIGHTS_KEY_SALT=$(random 32)"
            case "$service" in intake | review | scoring | learning) echo "SCIR_DATA_KEYS=$data_keys" ;; esac
            true
        } >"$dir/$service.env"
    done
} >"$dir/postgres.env"
echo "wrote deploy/compose/{postgres,intake,review,scoring,insights,learning,culture,web}.env"
echo "a development token: scir token --role reporter --jurisdiction us-wi \\"
echo "  --secret \"\$(sed -n 's/^SCIR_JWT_HS256_SECRET=//p' deploy/compose/intake.env)\""

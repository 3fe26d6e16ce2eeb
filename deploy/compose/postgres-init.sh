#!/bin/bash
# Runs once, when the PostgreSQL volume is empty: one login and one database per
# service, each owning its database and nothing else. Passwords come from
# postgres.env (deploy/compose/make-secrets.sh).
set -euo pipefail
for service in intake review scoring insights learning culture web; do
    var="SCIR_${service^^}_DB_PASSWORD"
    password="${!var:?$var is missing from postgres.env}"
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        -v role="scir_$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done

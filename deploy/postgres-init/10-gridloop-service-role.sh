#!/bin/sh
# Run once by the postgres image when its data directory is new (docker-compose mounts this
# directory at /docker-entrypoint-initdb.d): the services' least-privilege role and their login.
# Migrations (run as the owner, POSTGRES_USER) grant the role what each schema needs; the trail
# tables only SELECT and INSERT. See README, "Security".
set -eu
: "${GRIDLOOP_DB_APP_PASSWORD:?GRIDLOOP_DB_APP_PASSWORD is required}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v password="$GRIDLOOP_DB_APP_PASSWORD" <<'EOSQL'
CREATE ROLE gridloop_service NOLOGIN;
CREATE ROLE gridloop_app LOGIN PASSWORD :'password' IN ROLE gridloop_service;
EOSQL

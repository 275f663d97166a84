#!/bin/bash
# Entry point of the stand-in PostgreSQL image (deploy/images/postgres/Dockerfile), after the
# official image's docker-entrypoint.sh: on a new data directory, initdb with POSTGRES_USER
# and POSTGRES_PASSWORD (local socket: trust; TCP: scram-sha-256), create POSTGRES_DB, run
# /docker-entrypoint-initdb.d/* against a server listening on the socket only; then run
# PostgreSQL in the foreground, listening on every address.
set -euo pipefail

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# Runs /docker-entrypoint-initdb.d/* in name order: *.sh executed (or sourced when not
# executable), *.sql through psql, as the official image does.
run_init_scripts() {
  local file
  for file in /docker-entrypoint-initdb.d/*; do
    case "$file" in
      *.sh)
        # shellcheck disable=SC1090 # the operator's own script
        if [ -x "$file" ]; then echo "init: running $file"; "$file"; else echo "init: sourcing $file"; . "$file"; fi ;;
      *.sql) echo "init: running $file"; psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$file" ;;
      *) [ -e "$file" ] && echo "init: ignoring $file" ;;
    esac
  done
}

init_database() {
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required: the superuser password}"
  export POSTGRES_USER="${POSTGRES_USER:-postgres}"
  export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
  local pwfile
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # A private server for the init scripts: socket only, nobody else can connect meanwhile.
  as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  fi
  run_init_scripts
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "init: done"
}

if [ "${1:-}" = postgres ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then init_database; fi
  shift
  exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"

# shellcheck shell=bash
# PostgreSQL 15 on 127.0.0.1, run from Debian's package as the postgres user with its cluster in
# $HOME_DIR/postgres: plain and TLS on POSTGRES_PORT, the socket in that directory.
# postgres_start / postgres_stop, psql_admin (psql as the superuser), database_user (a login
# and a database it owns), database_service_login (the services' least-privilege login).
# Sourced by deploy/local.sh; expects HOME_DIR, PG_BIN, POSTGRES_PORT, log and tls_material
# (secrets.sh).

pg_dir() { echo "$HOME_DIR/postgres"; }

postgres_start() {
  local dir; dir="$(pg_dir)"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initialising PostgreSQL in $dir"
    mkdir -p "$dir"
    chown -R postgres:postgres "$dir"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # TLS (1.2+) beside plain connections; the key must be the server's own, mode 0600.
  tls_material
  mkdir -p "$dir/tls" && cp "$HOME_DIR/tls/server.crt" "$HOME_DIR/tls/server.key" "$dir/tls/" && chmod 600 "$dir/tls/server.key"
  chown -R postgres:postgres "$dir"
  if runuser -u postgres -- "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT"; then log "PostgreSQL already accepts on $POSTGRES_PORT"; return; fi
  log "starting PostgreSQL on 127.0.0.1:$POSTGRES_PORT (TLS too)"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -k $dir -c max_connections=200 -c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key -c ssl_min_protocol_version=TLSv1.2" start >/dev/null
}

postgres_stop() {
  local dir; dir="$(pg_dir)"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  log "stopping PostgreSQL"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
}

psql_admin() { runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -h "$(pg_dir)" -p "$POSTGRES_PORT" -U postgres "$@"; }

# The services' least-privilege role of a database, <db>_service (NOLOGIN; migrations grant it
# each schema's tables, the trail only SELECT and INSERT), and their login <db>_app in it.
database_service_login() { # database password
  psql_admin -d postgres -tc "SELECT 1 FROM pg_roles WHERE rolname = '$1_service'" | grep -q 1 \
    || psql_admin -d postgres -c "CREATE ROLE \"$1_service\" NOLOGIN" >/dev/null
  psql_admin -d postgres -tc "SELECT 1 FROM pg_roles WHERE rolname = '$1_app'" | grep -q 1 \
    || psql_admin -d postgres -c "CREATE ROLE \"$1_app\" LOGIN IN ROLE \"$1_service\"" >/dev/null
  psql_admin -d postgres -c "ALTER ROLE \"$1_app\" PASSWORD '$2'" >/dev/null
}

database_user() { # database user password [recreate]
  psql_admin -d postgres -tc "SELECT 1 FROM pg_roles WHERE rolname = '$2'" | grep -q 1 \
    || psql_admin -d postgres -c "CREATE ROLE \"$2\" LOGIN PASSWORD '$3'"
  psql_admin -d postgres -c "ALTER ROLE \"$2\" PASSWORD '$3'" >/dev/null
  if [ "${4:-}" = recreate ]; then psql_admin -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"; fi
  psql_admin -d postgres -tc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 \
    || psql_admin -d postgres -c "CREATE DATABASE \"$1\" OWNER \"$2\""
}

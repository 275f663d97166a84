#!/usr/bin/env bash
# GridLoop on one machine, without systemd or docker.
#
#   deploy/local.sh up        install what is missing, start RabbitMQ + PostgreSQL, build,
#                             migrate, import the demo org, start every service
#                             (ROUTING_REPLICAS=3 etc. start replicas, see replicas_of)
#   deploy/local.sh down      stop the services, RabbitMQ and PostgreSQL
#   deploy/local.sh test      infrastructure + the whole test suite (unit, integration, end-to-end)
#   deploy/local.sh status    what runs, and each service's /health
#   deploy/local.sh env       print the environment the services get (secrets included)
#   deploy/local.sh bench-reporting   1,000,000 requests of synthetic history, dashboard and CSV
#                             timings (BENCH_REQUESTS, BENCH_RUNS; release build) → docs/benchmarks/
#   deploy/local.sh bench-inbox       the staff inbox (API and page) with 10,000 open items in a street
#   deploy/local.sh bench     (also deploy/bench.sh) the machine's limits, then GridLoop against
#                             them: pgbench, broker publish rate, HTTP intake at 1–128 clients,
#                             submit → assignment, routing replicas, RSS and CPU → docs/benchmarks/
#   deploy/local.sh bench-sla       the SLA sweeper's part alone (BENCH_SLA_TIMERS, 1 and 2 replicas)
#   deploy/local.sh soak      the AMQP wrapper's memory over SOAK_MESSAGES (1,000,000) confirmed
#                             publishes and consumes; fails when RSS grows 5 MB after warm-up
#   deploy/local.sh bench-profile   perf samples of every service under HTTP load; the hottest
#                             functions → docs/benchmarks/profile.md
#   deploy/local.sh faults    the fault-injection harness, long version: FAULT_REQUESTS (10,000)
#                             requests through real processes, one fault at a time, reconciled;
#                             figures → docs/benchmarks/faults.md (the test suite runs a short one)
#   deploy/local.sh broker-stop | broker-start | broker-alarm on|off | postgres-crash | postgres-start
#                             | broker-vhost NAME | broker-vhost-delete NAME   (used by the fault and fail-fast tests)
#
# Everything lives under $GRIDLOOP_HOME (default: .run/ in the repository): data, logs,
# pid files and the generated local secrets (.run/secrets.env, never committed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR="${GRIDLOOP_HOME:-$ROOT/.run}"
RABBITMQ_PORT="${RABBITMQ_PORT:-5672}"
RABBITMQ_TLS_PORT="${RABBITMQ_TLS_PORT:-$((RABBITMQ_PORT - 1))}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
INTAKE_HTTP_PORT="${INTAKE_HTTP_PORT:-8080}"
REPORTING_HTTP_PORT="${REPORTING_HTTP_PORT:-8081}"
NOTIFICATION_HTTP_PORT="${NOTIFICATION_HTTP_PORT:-8082}"
MAIL_PORT="${MAIL_PORT:-2525}"
ROUTING_HTTP_PORT="${ROUTING_HTTP_PORT:-8083}"
WEB_HTTP_PORT="${WEB_HTTP_PORT:-8085}"
BUILD_CONFIGURATION="${GRIDLOOP_BUILD:-debug}"
PG_BIN="/usr/lib/postgresql/15/bin"
RMQ_BIN="/usr/lib/rabbitmq/bin"
SERVICES=(intake routing notification reporting web)

log() { printf '\033[1m[gridloop]\033[0m %s\n' "$*" >&2; }
die() { printf '[gridloop] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- installation
install_packages() {
  local missing=()
  [ -x "$RMQ_BIN/rabbitmq-server" ] || missing+=(rabbitmq-server)
  [ -f /usr/include/amqp.h ] || missing+=(librabbitmq-dev)
  [ -f /usr/include/qrencode.h ] || missing+=(libqrencode-dev)
  [ -f /usr/include/gd.h ] || missing+=(libgd-dev)
  command -v zbarimg >/dev/null || missing+=(zbar-tools)
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v curl >/dev/null || missing+=(curl)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  /usr/bin/python3 -c "import selenium" 2>/dev/null || missing+=(python3-selenium)
  fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing+=(fonts-wqy-microhei)
  /usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || missing+=(python3-aiosmtpd)
  /usr/bin/python3 -c "import requests, xmltodict" 2>/dev/null || missing+=(python3-requests python3-xmltodict)
  /usr/bin/python3 -c "import yaml" 2>/dev/null || missing+=(python3-yaml)
  /usr/bin/python3 -c "import PIL" 2>/dev/null || missing+=(python3-pil)
  /usr/bin/python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  fi
  command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
  command -v swift >/dev/null || die "swift not found (expected in /opt/swift/usr/bin)"
}

# ---------------------------------------------------------------- secrets
secrets() {
  mkdir -p "$HOME_DIR"
  if [ ! -f "$HOME_DIR/secrets.env" ]; then
    umask 077
    cat >"$HOME_DIR/secrets.env" <<EOT
GRIDLOOP_AMQP_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
GRIDLOOP_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
NOTIFICATION_WEBHOOK_SECRET=whsec_$(head -c 24 /dev/urandom | base64)
EOT
  fi
  # Added later: the services' least-privilege login (kept when the file exists already).
  grep -q '^GRIDLOOP_DB_APP_PASSWORD=' "$HOME_DIR/secrets.env" \
    || echo "GRIDLOOP_DB_APP_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')" >>"$HOME_DIR/secrets.env"
  # The staff and service tokens' signing secret (HS256, ≥ 32 characters).
  grep -q '^GRIDLOOP_AUTH_SECRET=' "$HOME_DIR/secrets.env" \
    || echo "GRIDLOOP_AUTH_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >>"$HOME_DIR/secrets.env"
  # Seals residents' phones (AES-GCM): losing it loses them, so keep .run/secrets.env with backups.
  grep -q '^GRIDLOOP_DATA_KEY=' "$HOME_DIR/secrets.env" \
    || echo "GRIDLOOP_DATA_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >>"$HOME_DIR/secrets.env"
  # shellcheck disable=SC1091
  . "$HOME_DIR/secrets.env"
}

# ---------------------------------------------------------------- TLS
# A throw-away CA and a server certificate for localhost / 127.0.0.1 (in $HOME_DIR/tls), so the
# local broker and database also listen with TLS 1.2+ and the tests can prove amqps:// and
# sslmode=verify-full. Operators bring their own certificates (README, Security).
tls_material() {
  local dir="$HOME_DIR/tls"
  [ -f "$dir/server.crt" ] && return
  mkdir -p "$dir"
  (
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=GridLoop local CA" \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
      -extfile "$dir/server.ext" -out "$dir/server.crt" >/dev/null 2>&1
  ) || die "cannot make the local TLS certificates (openssl)"
  chmod 644 "$dir/ca.crt" "$dir/server.crt"
}

# ---------------------------------------------------------------- RabbitMQ
rmq_env() {
  local dir="$HOME_DIR/rabbitmq"
  export HOME="$dir" RABBITMQ_NODENAME="gridloop@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RABBITMQ_PORT" RABBITMQ_DIST_PORT="$((RABBITMQ_PORT + 20000))"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
}

rmqctl() { ( rmq_env; "$RMQ_BIN/rabbitmqctl" -q "$@" ); }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

broker_start() {
  local dir="$HOME_DIR/rabbitmq"
  mkdir -p "$dir/mnesia" "$dir/log"
  [ -f "$dir/enabled_plugins" ] || echo '[rabbitmq_prometheus].' >"$dir/enabled_plugins"
  tls_material
  cat >"$dir/rabbitmq.conf" <<EOT
listeners.tcp.default = 127.0.0.1:$RABBITMQ_PORT
listeners.ssl.default = 127.0.0.1:$RABBITMQ_TLS_PORT
ssl_options.cacertfile = $HOME_DIR/tls/ca.crt
ssl_options.certfile = $HOME_DIR/tls/server.crt
ssl_options.keyfile = $HOME_DIR/tls/server.key
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
prometheus.tcp.port = $((RABBITMQ_PORT + 10020))
prometheus.tcp.ip = 127.0.0.1
loopback_users = none
EOT
  if port_open "$RABBITMQ_PORT"; then
    log "RabbitMQ already listens on $RABBITMQ_PORT"
    port_open "$RABBITMQ_TLS_PORT" || log "…but not with TLS on $RABBITMQ_TLS_PORT (started before TLS was configured: deploy/local.sh down, then again)"
    return
  fi
  log "starting RabbitMQ on 127.0.0.1:$RABBITMQ_PORT"
  ( rmq_env; "$RMQ_BIN/rabbitmq-server" -detached >/dev/null 2>&1 )
  local i
  for i in $(seq 1 120); do port_open "$RABBITMQ_PORT" && break; sleep 0.5; done
  port_open "$RABBITMQ_PORT" || die "RabbitMQ did not open port $RABBITMQ_PORT (logs: $dir/log)"
  for i in $(seq 1 20); do port_open "$RABBITMQ_TLS_PORT" && break; sleep 0.5; done
  port_open "$RABBITMQ_TLS_PORT" || die "RabbitMQ did not open its TLS port $RABBITMQ_TLS_PORT (logs: $dir/log)"
  for i in $(seq 1 30); do rmqctl await_startup >/dev/null 2>&1 && return; sleep 1; done
  die "RabbitMQ did not finish starting (logs: $dir/log)"
}

broker_stop() {
  port_open "$RABBITMQ_PORT" || return 0
  log "stopping RabbitMQ"
  rmqctl shutdown >/dev/null 2>&1 || true
  local i
  for i in $(seq 1 40); do port_open "$RABBITMQ_PORT" || return 0; sleep 0.25; done
}

broker_user() { # vhost user password
  rmqctl add_vhost "$1" >/dev/null 2>&1 || true
  rmqctl add_user "$2" "$3" >/dev/null 2>&1 || rmqctl change_password "$2" "$3" >/dev/null
  rmqctl set_permissions -p "$1" "$2" '.*' '.*' '.*' >/dev/null
}

# ---------------------------------------------------------------- PostgreSQL
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

# ---------------------------------------------------------------- services
bin_dir() { swift build -c "$BUILD_CONFIGURATION" --show-bin-path 2>/dev/null; }

build() {
  log "building ($BUILD_CONFIGURATION); the first build takes several minutes"
  ( cd "$ROOT" && swift build -c "$BUILD_CONFIGURATION" 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" | tail -20 ) || true
  ( cd "$ROOT" && swift build -c "$BUILD_CONFIGURATION" >/dev/null ) || die "build failed: run 'swift build' to see why"
}

service_env() {
  cat <<EOT
AMQP_URL=amqp://gridloop:$GRIDLOOP_AMQP_PASSWORD@127.0.0.1:$RABBITMQ_PORT/gridloop
DATABASE_URL=postgres://gridloop_app:$GRIDLOOP_DB_APP_PASSWORD@127.0.0.1:$POSTGRES_PORT/gridloop
DATABASE_MIGRATION_URL=postgres://gridloop:$GRIDLOOP_DB_PASSWORD@127.0.0.1:$POSTGRES_PORT/gridloop
INTAKE_HTTP_PORT=$INTAKE_HTTP_PORT
REPORTING_HTTP_PORT=$REPORTING_HTTP_PORT
NOTIFICATION_HTTP_PORT=$NOTIFICATION_HTTP_PORT
ROUTING_HTTP_PORT=$ROUTING_HTTP_PORT
NOTIFICATION_WEBHOOK_URL=${NOTIFICATION_WEBHOOK_URL:-}
NOTIFICATION_WEBHOOK_SECRET=${NOTIFICATION_WEBHOOK_SECRET:-}
GRIDLOOP_AUTH_SECRET=$GRIDLOOP_AUTH_SECRET
GRIDLOOP_DATA_KEY=$GRIDLOOP_DATA_KEY
INTAKE_CHAIN_HEAD_DIR=$HOME_DIR/chain-heads
INTAKE_CHAIN_HEAD_INTERVAL_SECONDS=${INTAKE_CHAIN_HEAD_INTERVAL_SECONDS:-300}
NOTIFICATION_SMTP_URL=${NOTIFICATION_SMTP_URL:-smtp://127.0.0.1:$MAIL_PORT}
NOTIFICATION_SMTP_FROM=${NOTIFICATION_SMTP_FROM:-gridloop@zhanyi.example}
NOTIFICATION_SMS_URL=${NOTIFICATION_SMS_URL:-}
REPORTING_INTAKE_URL=http://127.0.0.1:$INTAKE_HTTP_PORT
GRIDLOOP_ROUTING_URL=http://127.0.0.1:$ROUTING_HTTP_PORT
WEB_HTTP_PORT=$WEB_HTTP_PORT
WEB_ROUTING_URL=http://127.0.0.1:$ROUTING_HTTP_PORT
INTAKE_TRUSTED_PROXIES=127.0.0.1
ROUTING_TRUSTED_PROXIES=127.0.0.1
WEB_INTAKE_URL=http://127.0.0.1:$INTAKE_HTTP_PORT
WEB_REPORTING_URL=http://127.0.0.1:$REPORTING_HTTP_PORT
WEB_PUBLIC_URL=${WEB_PUBLIC_URL:-http://127.0.0.1:$WEB_HTTP_PORT}
REPORTING_WEB_URL=${WEB_PUBLIC_URL:-http://127.0.0.1:$WEB_HTTP_PORT}
NOTIFICATION_WEB_URL=${WEB_PUBLIC_URL:-http://127.0.0.1:$WEB_HTTP_PORT}
LOG_LEVEL=${LOG_LEVEL:-info}
LOG_FORMAT=${LOG_FORMAT:-json}
EOT
}

# The demo's mail catcher: every email notification lands in $HOME_DIR/mail.jsonl.
mail_start() {
  local pidfile="$HOME_DIR/pids/smtp-sink.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return; fi
  nohup "$ROOT/deploy/tools/smtp-sink.py" --port "$MAIL_PORT" --out "$HOME_DIR/mail.jsonl" >>"$HOME_DIR/logs/smtp-sink.log" 2>&1 &
  echo $! >"$pidfile"
}

services_start() {
  local bin; bin="$(cd "$ROOT" && bin_dir)"
  mkdir -p "$HOME_DIR/logs" "$HOME_DIR/pids"
  mail_start
  set -a; eval "$(service_env)"; set +a
  "$bin/gridloop" migrate >/dev/null
  local service replica
  for service in "${SERVICES[@]}"; do
    for replica in $(seq 1 "$(replicas_of "$service")"); do
      local name; name=$(replica_name "$service" "$replica")
      local pidfile="$HOME_DIR/pids/$name.pid"
      if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then log "$name already runs"; continue; fi
      env "$(tr a-z A-Z <<<"$service")_HTTP_PORT=$(replica_port "$service" "$replica")" nohup "$bin/gridloop-$service" >>"$HOME_DIR/logs/$name.log" 2>&1 &
      echo $! >"$pidfile"
    done
  done
  for service in "${SERVICES[@]}"; do
    for replica in $(seq 1 "$(replicas_of "$service")"); do
      local name port; name=$(replica_name "$service" "$replica"); port=$(replica_port "$service" "$replica")
      wait_healthy "$port" "$name (log: $HOME_DIR/logs/$name.log)"
    done
  done
}

# Replicas: INTAKE_REPLICAS, ROUTING_REPLICAS, NOTIFICATION_REPLICAS, REPORTING_REPLICAS (1 each
# by default); replica k > 1 listens on the service's port + 100 × (k − 1) and logs to <service>-<k>.log.
replicas_of() { local var; var="$(tr a-z A-Z <<<"$1")_REPLICAS"; echo "${!var:-1}"; }
replica_name() { if [ "$2" -eq 1 ]; then echo "$1"; else echo "$1-$2"; fi; }
replica_port() {
  local base
  case $1 in intake) base=$INTAKE_HTTP_PORT ;; routing) base=$ROUTING_HTTP_PORT ;; notification) base=$NOTIFICATION_HTTP_PORT ;; reporting) base=$REPORTING_HTTP_PORT ;; web) base=$WEB_HTTP_PORT ;; esac
  echo $((base + 100 * ($2 - 1)))
}

services_stop() { stop_pidfiles '*'; }

# Stops (SIGTERM, then SIGKILL after 10 s) every process whose pid file in pids/ matches the glob.
stop_pidfiles() {
  local pidfile pid
  for pidfile in "$HOME_DIR"/pids/$1.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

infrastructure() {
  install_packages
  secrets
  broker_start
  postgres_start
  broker_user gridloop gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop gridloop "$GRIDLOOP_DB_PASSWORD"
  database_service_login gridloop "$GRIDLOOP_DB_APP_PASSWORD"
}

# Demo requests (idempotent: fixed keys): the seed's transformer story — the 20 households of
# 光华三组 report one power problem, which becomes one incident — and a few others.
demo_requests() {
  local url="http://127.0.0.1:$INTAKE_HTTP_PORT/v1/requests" i
  post() { curl -fsS -o /dev/null -XPOST "$url" -H 'content-type: application/json' -H "Idempotency-Key: $1" -d "$2" || log "demo request $1 not accepted"; }
  for i in $(seq -w 1 20); do
    post "demo-transformer-$i" "{\"category\":\"power\",\"description\":\"电磁炉炒不了菜，电饭煲煮不了饭\",\"location\":{\"householdId\":\"guanghua-3-$i\"},
      \"reporter\":{\"name\":\"光华三组居民$i\",\"phone\":\"1380000$((1000 + 10#$i))\"},\"channel\":\"grid-worker\",\"submittedBy\":\"cui-chunhua\"}"
  done
  post demo-water "{\"category\":\"water\",\"description\":\"停水三天\",\"location\":{\"address\":\"西平街道红星社区三组2号\"},\"reporter\":{\"name\":\"李四\",\"phone\":\"13900002222\"},\"channel\":\"hotline\"}"
  post demo-housing "{\"category\":\"housing\",\"description\":\"院墙开裂\",\"location\":{\"latitude\":25.605,\"longitude\":103.805},\"reporter\":{\"name\":\"王五\",\"phone\":\"13900003333\",\"language\":\"en\"},\"channel\":\"web\"}"
  post demo-emergency "{\"category\":\"emergency\",\"description\":\"化粪池冒气，有人头晕\",\"location\":{\"gridId\":\"hanjiaxu-1\"},\"reporter\":{\"name\":\"赵六\",\"phone\":\"13900004444\"},\"channel\":\"hotline\"}"
}

# ---------------------------------------------------------------- commands
cmd_up() {
  infrastructure
  build
  services_start
  local bin; bin="$(cd "$ROOT" && bin_dir)"
  set -a; eval "$(service_env)"; set +a
  "$bin/gridloop" org import "$ROOT/deploy/demo-org.yaml"
  demo_requests
  # Sign-in secrets for the story's staff (new ones on every `up`; stored hashed).
  local staff secrets_line=""
  for staff in cui-chunhua xu-chunfeng power-officer-1 wang-xu; do
    secrets_line+="                $staff  $("$bin/gridloop" auth credential "$staff" 2>/dev/null | tail -1)"$'\n'
  done
  cat <<EOT

GridLoop is running.
  staff pages   http://127.0.0.1:$WEB_HTTP_PORT   (open on a phone-sized browser; sign in with a staff id and its secret:)
$secrets_line  intake        http://127.0.0.1:$INTAKE_HTTP_PORT   (POST /v1/requests, GET /v1/requests/{id})
  reporting     http://127.0.0.1:$REPORTING_HTTP_PORT   (GET /v1/reports/summary, /dashboard: sign in below)
  notification  http://127.0.0.1:$NOTIFICATION_HTTP_PORT/health
  routing       http://127.0.0.1:$ROUTING_HTTP_PORT/health
  every service /health and /metrics; RabbitMQ amqp://127.0.0.1:$RABBITMQ_PORT/gridloop; PostgreSQL 127.0.0.1:$POSTGRES_PORT/gridloop
  logs          $HOME_DIR/logs/
  mail          $HOME_DIR/mail.jsonl (email notifications, caught by a local SMTP sink on port $MAIL_PORT)
  CLI           eval "\$(deploy/local.sh env)"; $bin/gridloop --help
  sign in       $bin/gridloop auth token --staff wang-xu --link http://127.0.0.1:$REPORTING_HTTP_PORT   (the supervisor's dashboard, 15 min)
                export GRIDLOOP_TOKEN=\$($bin/gridloop auth token --staff cui-chunhua)   (then: gridloop staff take --unit grid:guanghua-3 --staff cui-chunhua)
EOT
}

cmd_down() {
  secrets
  services_stop
  broker_stop
  postgres_stop
}

# The PyPI Open311 client the tests drive intake with (georeport; its dependencies from Debian).
georeport_client() {
  local dir="$HOME_DIR/python"
  export GRIDLOOP_TEST_PYTHONPATH="$dir"
  [ -f "$dir/georeport/__init__.py" ] && return
  mkdir -p "$dir" "$HOME_DIR/wheels"
  local pip=(python3 -m pip)
  "${pip[@]}" --version >/dev/null 2>&1 || { apt-get install -y -q python3-pip >/dev/null 2>&1; pip=(/usr/bin/python3 -m pip); }
  "${pip[@]}" download --no-deps --quiet georeport==0.3.1 -d "$HOME_DIR/wheels" || die "cannot download the georeport client from PyPI"
  /usr/bin/python3 -m zipfile -e "$(ls "$HOME_DIR"/wheels/georeport-0.3.1-*.whl | head -1)" "$dir"
}

cmd_test() {
  infrastructure
  rmqctl set_vm_memory_high_watermark 0.4 >/dev/null  # in case an interrupted run left the alarm test's setting
  georeport_client
  # The tests get their own vhost and database, fresh for every run.
  broker_user gridloop_test gridloop "$GRIDLOOP_AMQP_PASSWORD"
  rmqctl delete_vhost gridloop_test >/dev/null 2>&1 || true
  broker_user gridloop_test gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop_test gridloop "$GRIDLOOP_DB_PASSWORD" recreate >/dev/null
  database_service_login gridloop_test "$GRIDLOOP_DB_APP_PASSWORD"
  cd "$ROOT"
  log "building services and tests"
  swift build --build-tests >/dev/null 2>&1 || swift build --build-tests
  export GRIDLOOP_TEST_AMQP_URL="amqp://gridloop:$GRIDLOOP_AMQP_PASSWORD@127.0.0.1:$RABBITMQ_PORT/gridloop_test"
  export GRIDLOOP_TEST_DATABASE_URL="postgres://gridloop:$GRIDLOOP_DB_PASSWORD@127.0.0.1:$POSTGRES_PORT/gridloop_test"
  export GRIDLOOP_TEST_SERVICE_DATABASE_URL="postgres://gridloop_test_app:$GRIDLOOP_DB_APP_PASSWORD@127.0.0.1:$POSTGRES_PORT/gridloop_test"
  export GRIDLOOP_BIN_DIR; GRIDLOOP_BIN_DIR="$(swift build --show-bin-path)"
  export GRIDLOOP_BROKER_CONTROL="$ROOT/deploy/local.sh"
  export GRIDLOOP_TEST_LOGS="$HOME_DIR/test-logs"
  export GRIDLOOP_TEST_TLS_CA="$HOME_DIR/tls/ca.crt" GRIDLOOP_TEST_AMQPS_PORT="$RABBITMQ_TLS_PORT"
  mkdir -p "$GRIDLOOP_TEST_LOGS"
  log "checking deploy/docker-compose.yml"
  command -v docker-compose >/dev/null || apt-get install -y -q --no-install-recommends docker-compose >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends docker-compose >/dev/null; }
  docker-compose -f "$ROOT/deploy/docker-compose.yml" config -q || die "deploy/docker-compose.yml is not valid"
  /usr/bin/python3 "$ROOT/deploy/tools/openapi-routes.py" || die "docs/openapi.yaml and the routes in the code differ"
  log "testing the fault proxy the fault tests use"
  /usr/bin/python3 "$ROOT/deploy/tools/test_fault_proxy.py" >"$GRIDLOOP_TEST_LOGS/fault-proxy-tests.log" 2>&1 \
    || { tail -30 "$GRIDLOOP_TEST_LOGS/fault-proxy-tests.log" >&2; die "the fault proxy's own tests failed"; }
  log "running the test suite"
  local status=0
  swift test --skip-build "$@" || status=$?
  # The whole run (no filter) also scans what it left for raw phone numbers, and fuzzes the
  # API on live services; PII_SCAN=1 and FUZZ=1 force either.
  if [ $# -eq 0 ] || [ -n "${PII_SCAN:-}" ]; then log "scanning logs, outboxes, dead letters, read models and notifications for raw phone numbers"; pii_scan || status=1; fi
  if [ $# -eq 0 ] || [ -n "${FUZZ:-}" ]; then log "fuzzing the HTTP API (schemathesis)"; api_fuzz || status=1; fi
  return "$status"
}

# The reporting benchmark: BENCH_REQUESTS (1,000,000) requests of synthetic history in an org
# of 10 streets × 20 grids, then dashboard and CSV timings against a reporting process.
cmd_bench_reporting() {
  local requests="${BENCH_REQUESTS:-1000000}" port="${BENCH_REPORTING_PORT:-18181}" runs="${BENCH_RUNS:-5}"
  BUILD_CONFIGURATION="${GRIDLOOP_BUILD:-release}"
  infrastructure
  build
  broker_user gridloop_bench gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop_bench gridloop "$GRIDLOOP_DB_PASSWORD" recreate >/dev/null
  database_service_login gridloop_bench "$GRIDLOOP_DB_APP_PASSWORD"
  local bin; bin="$(cd "$ROOT" && bin_dir)"
  export AMQP_URL="amqp://gridloop:$GRIDLOOP_AMQP_PASSWORD@127.0.0.1:$RABBITMQ_PORT/gridloop_bench"
  export DATABASE_URL="postgres://gridloop:$GRIDLOOP_DB_PASSWORD@127.0.0.1:$POSTGRES_PORT/gridloop_bench"
  "$bin/gridloop" migrate >/dev/null
  local org="$HOME_DIR/bench-org.yaml"
  {
    echo "district: { id: bench, name: 基准区 }"
    echo "streets:"; for s in $(seq 1 10); do echo "  - { id: s$s, name: 街道$s, kind: street }"; done
    echo "grids:"; for s in $(seq 1 10); do for g in $(seq 1 20); do echo "  - { id: s$s-g$g, name: 街道$s网格$g, street: s$s, kind: residents, households: 20, population: 60 }"; done; done
    echo "departments:"
    echo "  - { id: housing, name: 住建局, categories: [housing, property] }"
    echo "  - { id: utilities, name: 公用事业局, categories: [water, power] }"
    echo "  - { id: civil, name: 民政局, categories: [elderly-care, market] }"
    echo "staff:"; for s in $(seq 1 10); do for g in $(seq 1 20); do echo "  - { id: w$s-$g, name: 网格员$s-$g, role: grid-worker, unit: \"grid:s$s-g$g\" }"; done; done
  } >"$org"
  "$bin/gridloop" org import "$org" >/dev/null
  log "loading $requests requests of synthetic history"
  local started; started=$(date +%s.%N)
  PGPASSWORD="$GRIDLOOP_DB_PASSWORD" psql -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -d gridloop_bench -v requests="$requests" \
    -f "$ROOT/deploy/bench/reporting-history.sql" >"$HOME_DIR/bench-load.txt"
  local load; load=$(echo "$(date +%s.%N) - $started" | bc)
  local sizes; sizes=$(tail -3 "$HOME_DIR/bench-load.txt" | head -1 | tr -s ' ')
  export GRIDLOOP_AUTH_SECRET
  local auth; auth="Authorization: Bearer $("$bin/gridloop" auth token --service bench)"
  REPORTING_HTTP_PORT=$port LOG_LEVEL=warning nohup "$bin/gridloop-reporting" >"$HOME_DIR/logs/bench-reporting.log" 2>&1 &
  local pid=$!
  wait_healthy "$port" "reporting (log: $HOME_DIR/logs/bench-reporting.log)"
  local year; year=$(TZ=Asia/Shanghai date +%Y); local month; month=$(TZ=Asia/Shanghai date +%Y-%m)
  local out="$ROOT/docs/benchmarks/reporting.md"
  {
    echo "# Reporting benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), build $BUILD_CONFIGURATION;"
    echo "$requests requests of synthetic history over 365 days in 200 grids (10 streets); rows (requests | daily | monthly):$sizes; loaded in ${load%.*} s."
    echo "Each request: $runs runs after one warm-up, seconds (min / median / max), response size."
    echo
    echo "| request | min | median | max | bytes |"
    echo "|---|---|---|---|---|"
    local path
    for path in "/dashboard?period=$month" "/dashboard?period=$year" "/dashboard/workers/w1-1?period=$year" \
      "/v1/reports/figures?by=grid&period=$month" "/v1/reports/figures?by=grid&period=$year" "/v1/reports/figures?by=street&from=$year-01-01&to=$year-12-31" \
      "/v1/reports/figures.csv?by=grid&period=$year" "/v1/reports/workers.csv?period=$year" "/v1/reports/subsidy.csv" "/v1/reports/backlog.csv" "/v1/reports/overdue.csv" "/v1/reports/trend.csv"; do
      curl -fsS -o /dev/null -H "$auth" "http://127.0.0.1:$port$path" || die "GET $path failed"
      local times=() bytes=0 i
      for i in $(seq 1 "$runs"); do
        local result; result=$(curl -fsS -o /dev/null -H "$auth" -w '%{time_total} %{size_download}' "http://127.0.0.1:$port$path")
        times+=("${result% *}"); bytes="${result#* }"
      done
      local sorted; sorted=$(printf '%s\n' "${times[@]}" | sort -n)
      echo "| \`$path\` | $(echo "$sorted" | head -1) | $(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p") | $(echo "$sorted" | tail -1) | $bytes |"
    done
  } | tee "$out"
  kill -TERM "$pid" 2>/dev/null || true
  log "written to $out"
}

# ---------------------------------------------------------------- performance benchmark
# deploy/bench.sh: the machine's limits for our work, then GridLoop against them, in one run
# (release build, its own vhost and database, services on ports 1838x). Writes
# docs/benchmarks/performance.md. BENCH_SECONDS (pgbench), BENCH_REQUESTS (per HTTP run).
bench_pid_stat() { # pid → "rss_kb hwm_kb cpu_ticks"
  local pid=$1
  local rss hwm ticks
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
  echo "${rss:-0} ${hwm:-0} ${ticks:-0}"
}

bench_field() { # "k=v k=v" key → v
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'
}

bench_services_start() { # routing replicas [the other services too: all | none]
  local replicas=$1 others=${2:-all} bin service port i
  bin="$(cd "$ROOT" && bin_dir)"
  for service in $([ "$others" = all ] && echo intake notification reporting); do
    case $service in intake) port=18380 ;; reporting) port=18381 ;; notification) port=18382 ;; esac
    env "${BENCH_ENV[@]}" "$(tr a-z A-Z <<<"$service")_HTTP_PORT=$port" nohup "$bin/gridloop-$service" >>"$HOME_DIR/logs/bench-$service.log" 2>&1 &
    echo $! >"$HOME_DIR/pids/bench-$service.pid"
  done
  for i in $(seq 1 "$replicas"); do
    port=$((18383 + 10 * (i - 1)))
    env "${BENCH_ENV[@]}" "ROUTING_HTTP_PORT=$port" nohup "$bin/gridloop-routing" >>"$HOME_DIR/logs/bench-routing-$i.log" 2>&1 &
    echo $! >"$HOME_DIR/pids/bench-routing-$i.pid"
  done
  for port in $([ "$others" = all ] && echo 18380 18381 18382) $(for i in $(seq 1 "$replicas"); do echo $((18383 + 10 * (i - 1))); done); do
    wait_healthy "$port" "benchmark service on $port (logs: $HOME_DIR/logs/bench-*.log)"
  done
}

# Waits up to a minute for a service's /health on PORT; dies naming WHAT if it never answers.
wait_healthy() { # port what
  for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return; sleep 0.5; done
  die "$2 is not healthy"
}

bench_services_stop() { stop_pidfiles 'bench-*'; }

bench_psql() { PGPASSWORD="$GRIDLOOP_DB_PASSWORD" psql -qtAX -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -d gridloop_perf "$@"; }

# The SLA sweeper's rows of the table: BENCH_SLA_TIMERS (100,000) with 1 and 2 routing replicas.
bench_sla_rows() {
  local timers="${BENCH_SLA_TIMERS:-100000}" replicas
  for replicas in 1 2; do
    log "SLA sweeper: $timers overdue claim timers, $replicas routing replica(s), the other services stopped"
    bench_sla "$timers" "$replicas"
    rows+=("| SLA sweeper, $replicas routing replica(s): $timers overdue timers escalated in; events published in; escalated twice | ${SLA_FIRED_S} s (${SLA_RATE}/s); ${SLA_PUBLISHED_S} s; ${SLA_TWICE} | target ≤ 60 s |")
  done
}

# The SLA sweeper alone: a fresh database and vhost, routing's replicas started and idle, then
# `timers` claim timers (deploy/bench/sla-timers.sql) committed at once, all due; the clock runs
# from that commit until every one has fired (SLA_FIRED_S) and every resulting event has been
# published and confirmed (SLA_PUBLISHED_S). SLA_TWICE: requests escalated more than once.
bench_sla() { # timers replicas
  local timers=$1 replicas=$2 start now left unpublished
  bench_services_stop
  rmqctl delete_vhost gridloop_perf >/dev/null 2>&1 || true
  broker_user gridloop_perf gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop_perf gridloop "$GRIDLOOP_DB_PASSWORD" recreate >/dev/null
  bench_import_org
  # Every service's queue, so the escalations' events are routed as in a running system
  # (the other services stay stopped: their queues fill).
  AMQP_URL="$amqp" "$bin/gridloop" dead-letters list >/dev/null
  bench_services_start "$replicas" none
  bench_psql -v timers="$timers" -v due=0 -f "$ROOT/deploy/bench/sla-timers.sql" >/dev/null
  start=$(date +%s.%N); SLA_FIRED_S=""; SLA_PUBLISHED_S=""
  while :; do
    sleep 0.5; now=$(date +%s.%N)
    read -r left unpublished < <(bench_psql -F ' ' -c "SELECT
        (SELECT count(*) FROM routing.timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()),
        (SELECT count(*) FROM routing.outbox WHERE published_at IS NULL)")
    [ -z "$SLA_FIRED_S" ] && [ "$left" = 0 ] && SLA_FIRED_S=$(awk -v a="$start" -v b="$now" 'BEGIN {printf "%.1f", b - a}')
    [ -n "$SLA_FIRED_S" ] && [ "$unpublished" = 0 ] && { SLA_PUBLISHED_S=$(awk -v a="$start" -v b="$now" 'BEGIN {printf "%.1f", b - a}'); break; }
    awk -v a="$start" -v b="$now" 'BEGIN {exit !(b - a > 1800)}' && { SLA_FIRED_S=${SLA_FIRED_S:-"> 1800 ($left left)"}; SLA_PUBLISHED_S="> 1800 ($unpublished unpublished)"; break; }
  done
  SLA_RATE=$(awk -v n="$timers" -v t="${SLA_FIRED_S%% *}" 'BEGIN {printf "%.0f", n / t}')
  SLA_TWICE=$(bench_psql -c "SELECT count(*) FROM (SELECT request_id FROM routing.assignments WHERE reason LIKE 'escalated from%' GROUP BY request_id HAVING count(*) > 1) AS twice")
  local escalated; escalated=$(bench_psql -c "SELECT count(*) FROM routing.requests WHERE unit LIKE 'street:%' AND correlation_id LIKE 'sla-bench-%'")
  [ "$escalated" = "$timers" ] || log "SLA sweeper: only $escalated of $timers requests reached the street"
  bench_services_stop
}

# A fresh vhost and database `gridloop_perf` for the benchmarks (release build unless
# GRIDLOOP_BUILD says otherwise); sets bin, amqp, db and BENCH_ENV for the caller.
bench_prepare() {
  BUILD_CONFIGURATION="${GRIDLOOP_BUILD:-release}"
  infrastructure
  build
  mkdir -p "$HOME_DIR/logs" "$HOME_DIR/pids"
  bin="$(cd "$ROOT" && bin_dir)"
  bench_services_stop
  broker_user gridloop_perf gridloop "$GRIDLOOP_AMQP_PASSWORD"
  rmqctl delete_vhost gridloop_perf >/dev/null 2>&1 || true
  broker_user gridloop_perf gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop_perf gridloop "$GRIDLOOP_DB_PASSWORD" recreate >/dev/null
  database_service_login gridloop_perf "$GRIDLOOP_DB_APP_PASSWORD"
  amqp="amqp://gridloop:$GRIDLOOP_AMQP_PASSWORD@127.0.0.1:$RABBITMQ_PORT/gridloop_perf"
  db="postgres://gridloop:$GRIDLOOP_DB_PASSWORD@127.0.0.1:$POSTGRES_PORT/gridloop_perf"
  BENCH_ENV=("AMQP_URL=$amqp" "DATABASE_URL=$db" "LOG_LEVEL=warning" "ROUTING_INCIDENT_THRESHOLD=0" "REPORTING_INTAKE_URL=http://127.0.0.1:18380"
    "INTAKE_RATE_CLIENT_PER_MINUTE=0" "INTAKE_RATE_PHONE_PER_HOUR=0"
    "GRIDLOOP_AUTH_SECRET=$GRIDLOOP_AUTH_SECRET" "GRIDLOOP_DATA_KEY=$GRIDLOOP_DATA_KEY")
}

bench_import_org() {
  AMQP_URL="$amqp" DATABASE_URL="$db" "$bin/gridloop" migrate >/dev/null
  AMQP_URL="$amqp" DATABASE_URL="$db" "$bin/gridloop" org import "$ROOT/deploy/demo-org.yaml" >/dev/null
}

cmd_bench() {
  local seconds="${BENCH_SECONDS:-15}" requests="${BENCH_REQUESTS:-2000}" bin amqp db
  bench_prepare
  command -v pgbench >/dev/null || die "pgbench not found (it ships with PostgreSQL)"
  local out="$ROOT/docs/benchmarks/performance.md" rows=()

  log "limit 1: PostgreSQL, intake's transaction shape (request + trail event + outbox row), pgbench ${seconds}s"
  PGPASSWORD="$GRIDLOOP_DB_PASSWORD" psql -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -d gridloop_perf -f "$ROOT/deploy/bench/intake-shape.sql" >/dev/null
  local tps8 tps32
  tps8=$(PGPASSWORD="$GRIDLOOP_DB_PASSWORD" pgbench -n -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -M prepared -c 8 -j 2 -T "$seconds" \
    -f "$ROOT/deploy/bench/intake-transaction.pgbench" gridloop_perf 2>/dev/null | awk '/^tps/ {print int($3); exit}')
  tps32=$(PGPASSWORD="$GRIDLOOP_DB_PASSWORD" pgbench -n -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -M prepared -c 32 -j 2 -T "$seconds" \
    -f "$ROOT/deploy/bench/intake-transaction.pgbench" gridloop_perf 2>/dev/null | awk '/^tps/ {print int($3); exit}')
  rows+=("| pgbench, intake transaction, 8 clients | ${tps8} TPS | limit |")
  rows+=("| pgbench, intake transaction, 32 clients | ${tps32} TPS | limit |")

  log "limit 2: RabbitMQ, confirmed persistent publishes to a quorum queue through librabbitmq"
  local publish
  publish=$(AMQP_URL="$amqp" "$bin/gridloop-bench" publish-rate --messages 30000 --window 256)
  rows+=("| confirmed publishes, quorum queue, window 256 (600 B) | $(bench_field "$publish" publish_per_s) msg/s | limit |")
  rows+=("| consumed with manual acks | $(bench_field "$publish" consume_per_s) msg/s | limit |")

  log "GridLoop: services (release), demo org"
  bench_import_org
  bench_services_start 1
  sleep 5
  local service pid stat
  declare -A idle_rss start_ticks
  for service in intake routing-1 notification reporting; do
    pid=$(cat "$HOME_DIR/pids/bench-$service.pid"); stat=($(bench_pid_stat "$pid"))
    idle_rss[$service]=${stat[0]}; start_ticks[$service]=${stat[2]}
  done

  local clients result best=0 total=0 http8=""
  for clients in 1 8 32 128; do
    log "HTTP intake, $clients clients, $requests requests"
    result=$(AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$bin/gridloop-bench" http --clients "$clients" --requests "$requests" --grid hanjiaxu-1) \
      || log "errors in the $clients-client run (see above)"
    total=$((total + requests))
    [ "$clients" = 8 ] && http8=$result
    local rate; rate=$(bench_field "$result" accepted_per_s)
    [ "${rate%.*}" -gt "$best" ] && best=${rate%.*}
    rows+=("| HTTP intake, $clients clients: accepted/s; HTTP p50 / p99 / max ms; submit → assignment p50 / p99 ms; errors | $rate req/s; $(bench_field "$result" http_p50_ms) / $(bench_field "$result" http_p99_ms) / $(bench_field "$result" http_max_ms); $(bench_field "$result" e2e_p50_ms) / $(bench_field "$result" e2e_p99_ms); $(bench_field "$result" errors) | |")
  done
  log "CLI/AMQP submissions through intake and routing, 1 routing replica"
  result=$(AMQP_URL="$amqp" "$bin/gridloop-bench" amqp --requests 5000 --grid hanjiaxu-2) || true
  total=$((total + 5000))
  local pipeline1; pipeline1=$(bench_field "$result" pipeline_per_s)
  rows+=("| AMQP submissions published (confirmed) | $(bench_field "$result" publish_per_s) msg/s | |")
  rows+=("| pipeline to assignment, 1 routing replica | $pipeline1 req/s | $(awk -v a="$pipeline1" -v b="$tps32" 'BEGIN {printf "%.0f%% of pgbench 32 (target ≥ 35%%)", 100 * a / b}') |")
  rows+=("| HTTP intake, best | $best req/s | $(awk -v a="$best" -v b="$tps32" 'BEGIN {printf "%.0f%% of pgbench 32 (target ≥ 60%%)", 100 * a / b}') |")

  # Half the maximum rate the whole way to assignment (the slower of intake and the pipeline).
  local half; half=$(awk -v a="$best" -v b="$pipeline1" 'BEGIN {m = a < b ? a : b; printf "%d", m / 2}')
  log "submit → assignment at half the maximum rate ($half req/s)"
  result=$(AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$bin/gridloop-bench" http --clients 32 --rate "$half" --requests "$requests" --grid hanjiaxu-1) || true
  total=$((total + requests))
  local e2e50 e2e99; e2e50=$(bench_field "$result" e2e_p50_ms); e2e99=$(bench_field "$result" e2e_p99_ms)
  rows+=("| submit → assignment at $half req/s (half the maximum to assignment): p50 / p99 ms | $e2e50 / $e2e99 | target ≤ 15 / ≤ 60 |")

  for service in intake routing-1 notification reporting; do
    pid=$(cat "$HOME_DIR/pids/bench-$service.pid"); stat=($(bench_pid_stat "$pid"))
    local cpu_ms; cpu_ms=$(awk -v t="$((stat[2] - start_ticks[$service]))" -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", 1000 * t / hz / n}')
    rows+=("| $service: RSS idle / peak MB; CPU ms per request | $((idle_rss[$service] / 1024)) / $((stat[1] / 1024)); $cpu_ms | idle target ≤ 40 MB |")
  done

  local replicas
  for replicas in 2 3; do
    bench_services_stop
    bench_services_start "$replicas"
    log "CLI/AMQP submissions, $replicas routing replicas"
    result=$(AMQP_URL="$amqp" "$bin/gridloop-bench" amqp --requests 5000 --grid hanjiaxu-2) || true
    rows+=("| pipeline to assignment, $replicas routing replicas; requests assigned twice | $(bench_field "$result" pipeline_per_s) req/s; $(bench_field "$result" double_assigned) | vs $pipeline1 with 1 |")
  done
  bench_services_stop

  # The same measures with Swift concurrency on Dispatch's pool, as before the services moved
  # it onto the NIO event loops (ConcurrencyExecutor): the change's effect, in this run.
  BENCH_ENV+=("GRIDLOOP_EXECUTOR=dispatch")
  bench_services_start 1
  log "HTTP intake, 8 clients, and the pipeline, with GRIDLOOP_EXECUTOR=dispatch"
  result=$(AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$bin/gridloop-bench" http --clients 8 --requests "$requests" --grid hanjiaxu-1) || true
  rows+=("| HTTP intake, 8 clients, GRIDLOOP_EXECUTOR=dispatch: accepted/s; HTTP p50 / p99 ms | $(bench_field "$result" accepted_per_s) req/s; $(bench_field "$result" http_p50_ms) / $(bench_field "$result" http_p99_ms) | vs $(bench_field "$http8" accepted_per_s) on the event loops |")
  result=$(AMQP_URL="$amqp" "$bin/gridloop-bench" amqp --requests 5000 --grid hanjiaxu-2) || true
  rows+=("| pipeline to assignment, 1 routing replica, GRIDLOOP_EXECUTOR=dispatch | $(bench_field "$result" pipeline_per_s) req/s | vs $pipeline1 on the event loops |")
  bench_services_stop
  unset 'BENCH_ENV[${#BENCH_ENV[@]}-1]'

  bench_sla_rows

  {
    echo "# Performance benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), build $BUILD_CONFIGURATION,"
    echo "RabbitMQ $(rmqctl version 2>/dev/null | head -1), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), all on this machine (\`deploy/bench.sh\`)."
    echo
    echo "| measure | figure | ratio / target |"
    echo "|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | tee "$out"
  log "written to $out"
}

# Only the SLA sweeper's part of the benchmark (its rows printed, not written).
cmd_bench_sla() {
  local bin amqp db rows=()
  bench_prepare
  bench_sla_rows
  printf '%s\n' "${rows[@]}"
}

# Where the services spend their CPU under load: perf samples (cpu-clock) of each service while
# BENCH_CLIENTS (8) clients submit BENCH_REQUESTS (3000) requests over HTTP; the hottest
# functions of each, demangled, to docs/benchmarks/profile.md (per-service reports in .run/).
cmd_bench_profile() {
  local requests="${BENCH_REQUESTS:-3000}" clients="${BENCH_CLIENTS:-8}" bin amqp db service pid
  command -v perf >/dev/null || apt-get install -y -q linux-perf >/dev/null || die "perf not found (Debian: linux-perf)"
  bench_prepare
  bench_import_org
  bench_services_start 1
  sleep 3
  local perf_pids=() out="$ROOT/docs/benchmarks/profile.md" dir="$HOME_DIR/profile"
  mkdir -p "$dir"
  for service in intake routing-1 notification reporting; do
    pid=$(cat "$HOME_DIR/pids/bench-$service.pid")
    perf record -q -e cpu-clock -F 499 -g -p "$pid" -o "$dir/$service.data" >/dev/null 2>&1 &
    perf_pids+=($!)
  done
  log "profiling: $clients clients, $requests requests"
  local result; result=$(AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$bin/gridloop-bench" http --clients "$clients" --requests "$requests" --grid hanjiaxu-1) || true
  sleep 5   # the pipeline drains after intake has answered
  kill -INT "${perf_pids[@]}" 2>/dev/null; wait "${perf_pids[@]}" 2>/dev/null || true
  bench_services_stop
  {
    echo "# Profile under load"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, build $BUILD_CONFIGURATION, \`deploy/local.sh bench-profile\`: $clients HTTP clients, $requests requests"
    echo "(accepted/s $(bench_field "$result" accepted_per_s), submit → assignment p50 $(bench_field "$result" e2e_p50_ms) ms). perf cpu-clock samples"
    echo "at 499 Hz of each service; 'self' is the share of the service's samples in that function itself, grouped"
    echo "by library (\`[dso]\`) first, then the hottest functions."
    for service in intake routing-1 notification reporting; do
      echo
      echo "## $service"
      echo
      echo '```'
      perf report -i "$dir/$service.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8 || true
      echo
      perf report -i "$dir/$service.data" --no-children --sort symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -25 \
        | swift demangle --simplified | cut -c1-160 || true
      echo '```'
      echo
      echo "Inclusive (the function and what it calls; user space, below the event-loop plumbing):"
      echo
      echo '```'
      perf report -i "$dir/$service.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | grep -v '\[k\]' \
        | swift demangle --simplified | grep -vE 'start_thread|ThreadOpsPosix|setupThreadAndEventLoop|NIOThread|SelectableEventLoop\.run\(\)|_dispatch_|swift_job_run|runJobInEstablishedExecutorContext' \
        | head -30 | cut -c1-170 || true
      echo '```'
    done
  } >"$out"
  cat "$out"
  log "written to $out"
}

# After the test run: the services' logs, every outbox payload, the dead letters, the event
# store, the read models behind the CSVs and every notification, scanned for residents' raw
# phones (deploy/tools/pii-scan.py; staff work numbers from the org excepted).
pii_scan() {
  local bin; bin="$(swift build --show-bin-path)"
  AMQP_URL="$GRIDLOOP_TEST_AMQP_URL" DATABASE_URL="$GRIDLOOP_TEST_DATABASE_URL" "$bin/gridloop" dead-letters list --body \
    >"$GRIDLOOP_TEST_LOGS/dead-letters.txt" 2>&1 || { log "cannot list the test run's dead letters"; return 1; }
  /usr/bin/python3 "$ROOT/deploy/tools/pii-scan.py" --database "$GRIDLOOP_TEST_DATABASE_URL" --logs "$GRIDLOOP_TEST_LOGS" \
    --dead-letters "$GRIDLOOP_TEST_LOGS/dead-letters.txt"
}

# The API fuzzed: schemathesis (PyPI, into .run/venv-schemathesis) sends generated and
# malformed requests to every JSON operation of docs/openapi.yaml on live services (debug
# build, vhost and database gridloop_fuzz, ports 18480–18483, the demo org, production rate
# limits), fixed seed, FUZZ_EXAMPLES (25) examples an operation. Fails on any 5xx and on any
# status, content type or body the document does not allow. Reports in .run/test-logs/.
api_fuzz() {
  local venv="$HOME_DIR/venv-schemathesis" bin service port pids=() status=0
  if [ ! -x "$venv/bin/st" ]; then
    log "installing schemathesis into $venv"
    /usr/bin/python3 -m venv "$venv" && "$venv/bin/pip" install -q "schemathesis==4.32.5" >/dev/null \
      || die "cannot install schemathesis from PyPI"
  fi
  bin="$(cd "$ROOT" && swift build --show-bin-path)"
  broker_user gridloop_fuzz gridloop "$GRIDLOOP_AMQP_PASSWORD"
  rmqctl delete_vhost gridloop_fuzz >/dev/null 2>&1 || true
  broker_user gridloop_fuzz gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop_fuzz gridloop "$GRIDLOOP_DB_PASSWORD" recreate >/dev/null
  database_service_login gridloop_fuzz "$GRIDLOOP_DB_APP_PASSWORD"
  local env=(
    "AMQP_URL=amqp://gridloop:$GRIDLOOP_AMQP_PASSWORD@127.0.0.1:$RABBITMQ_PORT/gridloop_fuzz"
    "DATABASE_URL=postgres://gridloop_fuzz_app:$GRIDLOOP_DB_APP_PASSWORD@127.0.0.1:$POSTGRES_PORT/gridloop_fuzz"
    "DATABASE_MIGRATION_URL=postgres://gridloop:$GRIDLOOP_DB_PASSWORD@127.0.0.1:$POSTGRES_PORT/gridloop_fuzz"
    "INTAKE_HTTP_PORT=18480" "REPORTING_HTTP_PORT=18481" "NOTIFICATION_HTTP_PORT=18482" "ROUTING_HTTP_PORT=18483"
    "REPORTING_INTAKE_URL=http://127.0.0.1:18480" "LOG_LEVEL=warning" "GRIDLOOP_AUTH_SECRET=$GRIDLOOP_AUTH_SECRET" "GRIDLOOP_DATA_KEY=$GRIDLOOP_DATA_KEY"
  )
  env "${env[@]}" "$bin/gridloop" org import "$ROOT/deploy/demo-org.yaml" >/dev/null || die "fuzz: org import failed"
  mkdir -p "$HOME_DIR/test-logs" "$HOME_DIR/pids"
  for service in intake routing reporting notification; do
    env "${env[@]}" nohup "$bin/gridloop-$service" >"$HOME_DIR/test-logs/fuzz-$service.log" 2>&1 &
    echo $! >"$HOME_DIR/pids/fuzz-$service.pid"
  done
  for port in 18480 18481 18482 18483; do
    wait_healthy "$port" "fuzz service on $port (logs: $HOME_DIR/test-logs/fuzz-*.log)"
  done
  for service in intake routing reporting; do
    case $service in intake) port=18480 ;; reporting) port=18481 ;; routing) port=18483 ;; esac
    log "schemathesis: $service's operations"
    # Signed in: routing's commands as a street officer, reports as the supervisor (a fresh 15-minute token per service).
    local who=wang-xu; [ "$service" = routing ] && who=xu-chunfeng
    local token; token=$(env "${env[@]}" "$bin/gridloop" auth token --staff "$who") || die "fuzz: cannot issue a token"
    (cd "$HOME_DIR" && "$venv/bin/st" --no-color run "$ROOT/docs/openapi.yaml" --url "http://127.0.0.1:$port" --include-tag "$service" \
      --header "Authorization: Bearer $token" \
      $([ "$service" = intake ] && echo --include-tag operations) \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
      --max-examples "${FUZZ_EXAMPLES:-25}" --seed 20261127 --workers 1 \
      >"$HOME_DIR/test-logs/schemathesis-$service.txt" 2>&1) || { status=1; tail -40 "$HOME_DIR/test-logs/schemathesis-$service.txt"; }
    tail -3 "$HOME_DIR/test-logs/schemathesis-$service.txt"
  done
  for service in intake routing reporting notification; do
    kill -0 "$(cat "$HOME_DIR/pids/fuzz-$service.pid")" 2>/dev/null || { log "fuzz: $service died (see .run/test-logs/fuzz-$service.log)"; status=1; }
  done
  stop_pidfiles 'fuzz-*'
  return "$status"
}

# deploy/local.sh bench-inbox: the staff inbox with BENCH_INBOX_ITEMS (10,000) open items in a
# street: routing's GET /v1/inbox and the web app's inbox page, each at 8 clients (p50/p99 at
# the client on the same machine, so server time plus a loopback round trip), and the inbox
# page's weight (HTML + CSS + JS). Release build unless GRIDLOOP_BUILD says otherwise.
cmd_bench_inbox() {
  local items="${BENCH_INBOX_ITEMS:-10000}" reads="${BENCH_INBOX_READS:-400}" bin amqp db
  bench_prepare
  bench_import_org
  log "loading $items open items for street:xiping"
  bench_psql -v items="$items" -f "$ROOT/deploy/bench/inbox-open.sql" >"$HOME_DIR/bench-inbox-load.txt"
  local open; open=$(tail -1 "$HOME_DIR/bench-inbox-load.txt")
  # The deadline sweeper held (hourly) so the items stay as loaded while they are read.
  BENCH_ENV+=("ROUTING_SLA_SWEEP_INTERVAL_MS=3600000")
  bench_services_start 1 none
  env "${BENCH_ENV[@]}" WEB_HTTP_PORT=18385 WEB_ROUTING_URL=http://127.0.0.1:18383 WEB_INTAKE_URL=http://127.0.0.1:18380 \
    nohup "$bin/gridloop-web" >>"$HOME_DIR/logs/bench-web.log" 2>&1 &
  echo $! >"$HOME_DIR/pids/bench-web.pid"
  wait_healthy 18385 "the web app (log: $HOME_DIR/logs/bench-web.log)"
  # The sweeper's first pass escalates the overdue ones to the district; wait for it, then vacuum
  # (the escalations cleared the visibility map of most of the table's pages, which autovacuum
  # restores on a live system) so the reads see the street's desk as it stands between sweeps.
  local held waited=0
  while held=$(bench_psql -c "SELECT count(*) FROM routing.requests WHERE unit = 'street:xiping' AND state IN ('assigned', 'claimed')"); [ "$held" -gt "$items" ]; do
    [ "$waited" -lt 120 ] || die "the deadline sweeper has not escalated the overdue items after 120 s ($held held)"
    sleep 1; waited=$((waited + 1))
  done
  bench_psql -c "VACUUM ANALYZE routing.requests" >/dev/null
  export GRIDLOOP_AUTH_SECRET
  local token; token=$(DATABASE_URL="$db" AMQP_URL="$amqp" "$bin/gridloop" auth token --staff xu-chunfeng)
  local api page page_html css js
  log "GET /v1/inbox (routing), $reads reads at 8 clients"
  api=$("$bin/gridloop-bench" get --url "http://127.0.0.1:18383/v1/inbox?limit=50" --header "Authorization: Bearer $token" --requests "$reads" --clients 8)
  log "GET /inbox (web page), $reads reads at 8 clients"
  page=$("$bin/gridloop-bench" get --url "http://127.0.0.1:18385/inbox" --header "Cookie: gridloop_session=$token" --requests "$reads" --clients 8)
  page_html=$(curl -fsS -H "Cookie: gridloop_session=$token" http://127.0.0.1:18385/inbox | wc -c)
  css=$(curl -fsS http://127.0.0.1:18385/static/app.css | wc -c)
  js=$(curl -fsS http://127.0.0.1:18385/static/app.js | wc -c)
  local after; after=$(bench_psql -c "SELECT count(*) FROM routing.requests WHERE unit = 'street:xiping' AND state IN ('assigned', 'claimed')")
  bench_services_stop
  local out="$ROOT/docs/benchmarks/inbox.md"
  {
    echo "# Staff inbox benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), build $BUILD_CONFIGURATION;"
    echo "$held open items held by street:xiping while read ($after after the run; two in three waiting to be claimed, assigned within 20 h; $((open - held)) more loaded a week overdue were escalated by the deadline sweeper at start, then routing.requests vacuumed), read as its street officer;"
    echo "$reads reads after 20 warm-up reads, 8 concurrent clients on the same machine (latency = server time + a loopback round trip)."
    echo "Made by \`deploy/local.sh bench-inbox\` (BENCH_INBOX_ITEMS, BENCH_INBOX_READS)."
    echo
    echo "| read | reads/s | p50 ms | p99 ms | max ms | bytes |"
    echo "|---|---|---|---|---|---|"
    echo "| routing \`GET /v1/inbox?limit=50\` | $(bench_field "$api" reads_per_s) | $(bench_field "$api" latency_p50_ms) | $(bench_field "$api" latency_p99_ms) | $(bench_field "$api" latency_max_ms) | $(bench_field "$api" bytes) |"
    echo "| web \`GET /inbox\` (the page, 50 items) | $(bench_field "$page" reads_per_s) | $(bench_field "$page" latency_p50_ms) | $(bench_field "$page" latency_p99_ms) | $(bench_field "$page" latency_max_ms) | $(bench_field "$page" bytes) |"
    echo
    echo "Inbox page weight, uncompressed: HTML $page_html B + CSS $css B + JS $js B = $((page_html + css + js)) B (target ≤ 100 KB; no fonts, no CDN: nothing loaded from elsewhere)."
  } | tee "$out"
  log "written to $out"
}

# The fault-injection harness with FAULT_REQUESTS requests (the suite's own run is short).
cmd_faults() {
  export GRIDLOOP_FAULT_REQUESTS="${FAULT_REQUESTS:-10000}"
  export GRIDLOOP_FAULT_REPORT="${GRIDLOOP_FAULT_REPORT:-$ROOT/docs/benchmarks/faults.md}"
  cmd_test --filter faultInjection
}

case "${1:-}" in
  up) cmd_up ;;
  faults) cmd_faults ;;
  bench) cmd_bench ;;
  bench-profile) cmd_bench_profile ;;
  bench-sla) cmd_bench_sla ;;
  soak)  # the AMQP wrapper's memory: SOAK_MESSAGES (1,000,000) confirmed publishes and consumes, RSS sampled (release)
    bench_prepare
    env "AMQP_URL=$amqp" "$bin/gridloop-bench" soak --messages "${SOAK_MESSAGES:-1000000}" ;;
  bench-reporting) cmd_bench_reporting ;;
  bench-inbox) cmd_bench_inbox ;;
  down) cmd_down ;;
  test) shift; cmd_test "$@" ;;
  status)
    secrets
    for service in "${SERVICES[@]}"; do
      for replica in $(seq 1 "$(replicas_of "$service")"); do
        printf '%-15s ' "$(replica_name "$service" "$replica")"
        curl -s "http://127.0.0.1:$(replica_port "$service" "$replica")/health" || printf 'not running'; echo
      done
    done ;;
  env) secrets; service_env | sed 's/^/export /' ;;
  broker-stop) secrets; broker_stop ;;
  broker-alarm)  # on: a memory alarm blocks every publisher (as when RabbitMQ runs out of memory); off: back to normal
    secrets
    case "${2:-}" in
      on) rmqctl set_vm_memory_high_watermark 0.000001 >/dev/null ;;
      off) rmqctl set_vm_memory_high_watermark 0.4 >/dev/null ;;
      *) die "broker-alarm on|off" ;;
    esac ;;
  broker-start) secrets; broker_start ;;
  broker-vhost)  # NAME: an empty vhost the gridloop user may use (the fail-fast tests' vhost without GridLoop's topology)
    secrets; [ -n "${2:-}" ] || die "broker-vhost NAME"
    broker_user "$2" gridloop "$GRIDLOOP_AMQP_PASSWORD" ;;
  broker-vhost-delete)  # NAME: remove a vhost made by broker-vhost, and everything in it
    secrets; [ -n "${2:-}" ] || die "broker-vhost-delete NAME"
    rmqctl delete_vhost "$2" >/dev/null ;;
  postgres-crash)  # immediate shutdown: no checkpoint, like a power cut; recovery replays the WAL on start
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$(pg_dir)/data" -m immediate -w stop >/dev/null ;;
  postgres-start) postgres_start ;;
  *) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

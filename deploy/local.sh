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
#   deploy/local.sh compose-test [default|cluster|all]   deploy/docker-compose.yml in docker: the
#                             image from deploy/Dockerfile, up, scale, kills, restart with volumes
#                             (default); the 3-node broker cluster, leader stop, quorum loss
#                             (cluster); both (all; `test` runs it, COMPOSE_TEST=0 skips)
#                             → docs/benchmarks/compose.md (deploy/compose-test.sh)
#   deploy/local.sh faults    the fault-injection harness, long version: FAULT_REQUESTS (10,000)
#                             requests through real processes, one fault at a time, reconciled;
#                             figures → docs/benchmarks/faults.md (the test suite runs a short one)
#   deploy/local.sh broker-stop | broker-start | broker-alarm on|off | postgres-crash | postgres-start
#                             | broker-vhost NAME | broker-vhost-delete NAME   (used by the fault and fail-fast tests)
#
# Everything lives under $GRIDLOOP_HOME (default: .run/ in the repository): data, logs,
# pid files and the generated local secrets (.run/secrets.env, never committed).
set -euo pipefail

# How this script is built, for whoever changes it: the commands above are at the foot of this
# file; each job is a part under deploy/lib/, sourced below, that says at its top what it does
# and what it expects to be set:
#   packages.sh  what must be installed, installed once (Debian packages, the tests' PyPI clients)
#   secrets.sh   the generated local secrets (.run/secrets.env) and the throw-away TLS CA
#   broker.sh    RabbitMQ: start, stop, vhosts and users
#   database.sh  PostgreSQL: start, stop, databases and logins
#   services.sh  build, the services' environment (deploy/services.env), start and stop with
#                replicas, health, the demo's mail catcher and requests
#   test.sh      `test` and `faults`: the checks, the suite, the raw-phone scan, the API fuzzing
#   bench.sh     `bench`, `bench-sla`, `bench-profile`, `bench-inbox`, `bench-reporting`, `soak`
#   compose.sh   `compose-test`: deploy/compose-test.sh with this machine's executables
# The services' environment is written once, in deploy/services.env, in terms of the base
# variables below (ports, HOME_DIR, SERVICES_DB) and the secrets.

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
SERVICES_DB=gridloop   # the local system's vhost and database (the services' login: gridloop_app)
BUILD_CONFIGURATION="${GRIDLOOP_BUILD:-debug}"
PG_BIN="/usr/lib/postgresql/15/bin"
RMQ_BIN="/usr/lib/rabbitmq/bin"
SERVICES=(intake routing notification reporting web)

log() { printf '\033[1m[gridloop]\033[0m %s\n' "$*" >&2; }
die() { printf '[gridloop] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source-path=SCRIPTDIR source=lib/packages.sh
. "$ROOT/deploy/lib/packages.sh"
# shellcheck source-path=SCRIPTDIR source=lib/secrets.sh
. "$ROOT/deploy/lib/secrets.sh"
# shellcheck source-path=SCRIPTDIR source=lib/broker.sh
. "$ROOT/deploy/lib/broker.sh"
# shellcheck source-path=SCRIPTDIR source=lib/database.sh
. "$ROOT/deploy/lib/database.sh"
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$ROOT/deploy/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=lib/demo.sh
. "$ROOT/deploy/lib/demo.sh"
# shellcheck source-path=SCRIPTDIR source=lib/test.sh
. "$ROOT/deploy/lib/test.sh"
# shellcheck source-path=SCRIPTDIR source=lib/bench.sh
. "$ROOT/deploy/lib/bench.sh"
# shellcheck source-path=SCRIPTDIR source=lib/compose.sh
. "$ROOT/deploy/lib/compose.sh"

# What every command that runs GridLoop needs: the packages, the secrets, RabbitMQ and
# PostgreSQL running, and the local system's vhost, database and logins in them.
infrastructure() {
  install_packages
  secrets
  broker_start
  postgres_start
  broker_user "$SERVICES_DB" gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user "$SERVICES_DB" gridloop "$GRIDLOOP_DB_PASSWORD"
  database_service_login "$SERVICES_DB" "$GRIDLOOP_DB_APP_PASSWORD"
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
  demo_work "$bin/gridloop"
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

case "${1:-}" in
  up) cmd_up ;;
  faults) cmd_faults ;;
  bench) cmd_bench ;;
  bench-profile) cmd_bench_profile ;;
  bench-sla) cmd_bench_sla ;;
  soak) cmd_soak ;;
  bench-reporting) cmd_bench_reporting ;;
  bench-inbox) cmd_bench_inbox ;;
  down) cmd_down ;;
  test) shift; cmd_test "$@" ;;
  compose-test) shift; cmd_compose_test "$@" ;;
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

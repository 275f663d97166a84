#!/usr/bin/env bash
# GridLoop under docker-compose, for real: deploy/docker-compose.yml built, started, scaled,
# broken and healed, every request reconciled (also `deploy/local.sh compose-test`).
#
#   deploy/compose-test.sh [default]  the default stack (one broker):
#       up → demo org → flow (submitted, assigned, mailed, reported) → scale (routing=3,
#       notification=2, intake=2 while submitting) → kill (a routing and a notification
#       container SIGKILLed mid-load; restart: unless-stopped) → restart (down keeping volumes,
#       up: requests, trails and exported chain heads still there, `gridloop audit verify
#       --heads`, no mail sent twice)
#   deploy/compose-test.sh cluster    the cluster profile (three RabbitMQ nodes):
#       up → demo org → flow → cluster formed (3 running nodes, every quorum queue on all
#       three) → leader-stop (the node leading routing.requests stopped while requests flow,
#       then started) → quorum-loss (two nodes stopped for a while: publishes wait or fail and
#       are retried, nothing lost)
#   Every phase with requests reconciles each accepted one by id: assigned on intake's status
#   with a verified trail, 0 without an assignment, 0 with two owner assignments, the
#   reporter's "received" mail 0 times lost, 0 times twice.
#   deploy/compose-test.sh all        both, one image build for the two
#   figures → docs/benchmarks/compose.md (its section for each mode), a table on standard
#   output; exit 1 on any failed check. The stack is always removed at the end (down -v).
#
# Images: the base images from deploy/images.sh (official, or stand-ins where the registry
# cannot be reached); the gridloop image always from deploy/Dockerfile with `docker-compose
# build`, one of two ways (COMPOSE_TEST_BUILD):
#   prebuilt   package the executables this machine built (GRIDLOOP_BIN_DIR, else `swift
#              build --show-bin-path`: debug; staged by deploy/compose-test/stage-prebuilt.sh):
#              the default where that directory holds them, as after the test suite's build
#   source     the release build inside docker, as operators build it (slow: minutes)
#
# Settings (environment):
#   COMPOSE_TEST_BUILD          prebuilt | source (see above)
#   COMPOSE_TEST_PORT_BASE      host ports used (27000, below the ephemeral range): +672 AMQP,
#                               +673 management, +674/+675 the cluster's other nodes, +432
#                               PostgreSQL, +080-089 intake, +090-099 reporting, +070-079 web;
#                               all on 127.0.0.1
#   COMPOSE_TEST_RATE           submissions per second of the load (8). Each load phase runs
#                               across its fault and stops COMPOSE_TEST_AFTER (20) accepted
#                               requests after the fault is over (scale: new replicas
#                               healthy; kill: killed containers healthy; leader-stop and
#                               quorum-loss: 3 nodes running)
#   COMPOSE_TEST_QUORUM_DOWN    seconds the cluster stays without quorum (25)
# Secrets are generated for the run and live only in this process's environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARGUMENT="${1:-default}"
PROJECT="gridloop-ct"
COMPOSE_FILE="$ROOT/deploy/docker-compose.yml"
WORK="${COMPOSE_TEST_DIR:-$ROOT/.run/compose-test}"
STAGED="$ROOT/deploy/prebuilt"   # the Dockerfile's PREBUILT=1 context directory
PORT_BASE="${COMPOSE_TEST_PORT_BASE:-27000}"
RATE="${COMPOSE_TEST_RATE:-8}"
AFTER="${COMPOSE_TEST_AFTER:-20}"
QUORUM_DOWN="${COMPOSE_TEST_QUORUM_DOWN:-25}"
BUILD="${COMPOSE_TEST_BUILD:-}"
LOAD="$ROOT/deploy/compose-test/load.py"
REPORT="$ROOT/docs/benchmarks/compose.md"
MODE=""
FAILURES=0   # this mode's
FAILED_MODES=()
FIGURES=()   # "phase|figure|value" rows for the table
TIMINGS=()   # "phase|seconds"
SHARED_TIMINGS=()   # images and build, once per run
PROFILES=(--profile test)
LOAD_PID=""

log() { printf '\033[1m[compose-test]\033[0m %s\n' "$*" >&2; }
die() { printf '[compose-test] error: %s\n' "$*" >&2; exit 1; }
fail() { log "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
figure() { FIGURES+=("$1|$2|$3"); }

compose() { docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "${PROFILES[@]}" "$@"; }

# Runs a phase (a function) and records how long it took.
phase() { # name function
  local started=$SECONDS
  log "── $MODE: $1"
  "$2"
  TIMINGS+=("$1|$((SECONDS - started))")
}

# ─── the machine: docker, images, secrets, ports ──────────────────────────────────────────

ensure_docker() {
  if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
    log "installing docker.io, docker-compose, debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io docker-compose debootstrap >/dev/null
  fi
  docker info >/dev/null 2>&1 && return
  log "starting dockerd (log: $WORK/dockerd.log)"
  # No systemd here; no iptables rules (containers reach only each other and published ports).
  setsid nohup dockerd --iptables=false >"$WORK/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return; sleep 0.5; done
  die "dockerd did not start (see $WORK/dockerd.log)"
}

EXECUTABLES=(gridloop gridloop-intake gridloop-routing gridloop-notification gridloop-reporting gridloop-web)

# prebuilt where this machine's Swift build (GRIDLOOP_BIN_DIR, else `swift build
# --show-bin-path`) holds every executable, else source.
decide_build() {
  if [ -z "$BUILD" ]; then
    local bin="${GRIDLOOP_BIN_DIR:-}" executable
    BUILD=prebuilt
    [ -n "$bin" ] || bin=$(cd "$ROOT" && PATH="/opt/swift/usr/bin:$PATH" swift build --show-bin-path 2>/dev/null) || BUILD=source
    for executable in "${EXECUTABLES[@]}"; do
      [ "$BUILD" = prebuilt ] && [ -x "$bin/$executable" ] || BUILD=source
    done
  fi
  case "$BUILD" in prebuilt | source) ;; *) die "COMPOSE_TEST_BUILD=$BUILD: prebuilt or source" ;; esac
}

# The base images (official or stand-ins): the Swift image only to compile from source.
prepare_images() {
  local wanted=(runtime rabbitmq postgres smtp-sink)
  [ "$BUILD" = source ] && wanted+=(swift)
  eval "$("$ROOT/deploy/images.sh" "${wanted[@]}")"
}

# The gridloop image, from deploy/Dockerfile through the compose file's build section.
build_gridloop() {
  export GRIDLOOP_IMAGE="${GRIDLOOP_IMAGE:-gridloop:latest}"
  # Build containers reach Debian's mirror through the host (dockerd --iptables=false here).
  export GRIDLOOP_BUILD_NETWORK="${GRIDLOOP_BUILD_NETWORK:-host}"
  local previous current
  previous=$(docker image inspect -f '{{.Id}}' "$GRIDLOOP_IMAGE" 2>/dev/null || true)
  if [ "$BUILD" = prebuilt ]; then
    # The build stages earlier prebuilt builds left (untagged; a source build's are kept).
    docker image prune -f --filter label=org.gridloop.build-stage.prebuilt=1 >/dev/null || true
    "$ROOT/deploy/compose-test/stage-prebuilt.sh" "$STAGED"
    # Nothing is compiled: the build stage starts from the runtime image too.
    export GRIDLOOP_PREBUILT=1 GRIDLOOP_SWIFT_IMAGE="$GRIDLOOP_RUNTIME_IMAGE"
    log "building $GRIDLOOP_IMAGE from deploy/Dockerfile, PREBUILT=1 (the staged executables)"
  else
    export GRIDLOOP_PREBUILT=0
    log "building $GRIDLOOP_IMAGE from deploy/Dockerfile from source (a release build in docker: takes a while)"
  fi
  compose build migrate >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; die "docker-compose build failed (log: $WORK/build.log)"; }
  rm -rf "$STAGED"
  current=$(docker image inspect -f '{{.Id}}' "$GRIDLOOP_IMAGE")
  # The image this build replaced, unless something still uses or names it.
  if [ -n "$previous" ] && [ "$previous" != "$current" ] && [ -z "$(docker image inspect -f '{{join .RepoTags ""}}' "$previous" 2>/dev/null)" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  log "built $GRIDLOOP_IMAGE ($(docker image inspect -f '{{.Size}}' "$GRIDLOOP_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# Throw-away secrets and the test's settings, in this process's environment only.
export_settings() {
  local name
  for name in GRIDLOOP_AMQP_PASSWORD GRIDLOOP_DB_PASSWORD GRIDLOOP_DB_APP_PASSWORD; do
    export "$name=$(openssl rand -hex 16)"
  done
  GRIDLOOP_AUTH_SECRET=$(openssl rand -hex 32) GRIDLOOP_DATA_KEY=$(openssl rand -hex 32) GRIDLOOP_ERLANG_COOKIE=$(openssl rand -hex 20)
  export GRIDLOOP_AUTH_SECRET GRIDLOOP_DATA_KEY GRIDLOOP_ERLANG_COOKIE
  export GRIDLOOP_AMQP_PORT="127.0.0.1:$((PORT_BASE + 672))" GRIDLOOP_RABBITMQ_MANAGEMENT_PORT="127.0.0.1:$((PORT_BASE + 673))"
  export GRIDLOOP_AMQP_PORT_2="127.0.0.1:$((PORT_BASE + 674))" GRIDLOOP_AMQP_PORT_3="127.0.0.1:$((PORT_BASE + 675))"
  export GRIDLOOP_POSTGRES_PORT="127.0.0.1:$((PORT_BASE + 432))"
  export GRIDLOOP_INTAKE_PORTS="127.0.0.1:$((PORT_BASE + 80))-$((PORT_BASE + 89))"
  export GRIDLOOP_REPORTING_PORTS="127.0.0.1:$((PORT_BASE + 90))-$((PORT_BASE + 99))"
  export GRIDLOOP_WEB_PORTS="127.0.0.1:$((PORT_BASE + 70))-$((PORT_BASE + 79))"
  # Mail to the test's catcher; no incidents (the load is many water reports per grid) and no
  # rate limits (every request comes from one address); chain heads exported every 10 s (the
  # restart checks them against the trail).
  export NOTIFICATION_SMTP_URL=smtp://smtp-sink:2525 ROUTING_INCIDENT_THRESHOLD=0
  export INTAKE_RATE_CLIENT_PER_MINUTE=0 INTAKE_RATE_PHONE_PER_HOUR=0 INTAKE_CHAIN_HEAD_INTERVAL_SECONDS=10
}

# The mode's broker: one node, or the cluster profile's three.
mode_settings() {
  PROFILES=(--profile test)
  if [ "$MODE" = cluster ]; then
    export GRIDLOOP_AMQP_NODES=rabbitmq,rabbitmq-2,rabbitmq-3
    PROFILES+=(--profile cluster)
  else
    unset GRIDLOOP_AMQP_NODES
  fi
}

# Refuses to start when a port of ours is taken (the local stack uses 5672, 5432, 8080-8085).
check_ports_free() {
  local port
  for port in 672 673 674 675 432 $(seq 70 99); do
    if ss -ltnH "sport = :$((PORT_BASE + port))" | grep -q .; then
      die "port $((PORT_BASE + port)) is in use: set COMPOSE_TEST_PORT_BASE"
    fi
  done
}

# The whole stack and its volumes (at the end of a mode: nothing to shut down gracefully).
remove_stack() {
  compose --profile demo --profile cluster down -v --remove-orphans -t 2 >/dev/null 2>&1 || true
}

cleanup() {
  local status=$?
  [ -z "$LOAD_PID" ] || kill "$LOAD_PID" 2>/dev/null || true
  rm -rf "$STAGED"
  log "removing the stack (down -v)"
  remove_stack
  exit "$status"
}

# ─── the stack ────────────────────────────────────────────────────────────────────────────

# Containers of one compose service, or of the whole project.
containers() { # [service]
  docker ps -q --filter "label=com.docker.compose.project=$PROJECT" ${1:+--filter "label=com.docker.compose.service=$1"}
}

container_of() { containers "$1" | head -1; }

# Waits until every running container with a healthcheck reports healthy.
wait_healthy() { # timeout-seconds
  local deadline=$((SECONDS + $1)) unhealthy
  while :; do
    # shellcheck disable=SC2046
    unhealthy=$(docker inspect -f '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' $(containers) 2>/dev/null |
      awk '$2 != "healthy" && $2 != "none" { printf " %s", substr($1, 2) }')
    [ -z "$unhealthy" ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && { fail "not healthy after $1s:$unhealthy"; return 1; }
    sleep 1
  done
}

# The host ports of a service's replicas, one a line.
host_ports() { # service
  local container
  for container in $(containers "$1"); do
    docker port "$container" 8080/tcp 2>/dev/null | head -1 | sed 's/.*://'
  done | grep -v '^$' | sort -n || true
}

intake_port() { host_ports intake | head -1; }

# Writes intake's host ports for the load generator, which re-reads the file (atomic rename).
write_intake_ports() {
  host_ports intake >"$WORK/intake-ports.new"
  mv "$WORK/intake-ports.new" "$WORK/intake-ports"
}

# SQL from standard input against the compose PostgreSQL, as the owner over the socket.
psql_c() { docker exec -i "$(container_of postgres)" psql -U gridloop -d gridloop -Atq; }

# Runs the gridloop CLI as an operator would in a running intake container (the services'
# environment: DATABASE_URL, AMQP_URL, the signing secret; the chain-head volume mounted).
cli() { docker exec -i "$(container_of intake)" "$@" 2>>"$WORK/cli.log"; }

# A metric's value summed over a container's /metrics (docker exec: not every port is published).
metric() { # container name-and-labels-regex
  docker exec "$1" curl -fsS http://127.0.0.1:8080/metrics 2>/dev/null |
    awk -v pattern="^$2" '$0 ~ pattern { sum += $NF } END { print sum + 0 }'
}

jq_get() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(json.dumps(v) if isinstance(v,(list,dict)) else v)' "$1" "$2"; }

# ─── load ─────────────────────────────────────────────────────────────────────────────────

# Submits requests named PREFIX in the background over intake's current ports, at RATE a
# second, until stop_load (or MAX).
start_load() { # prefix [max]
  write_intake_ports
  rm -f "$WORK/$1.stop"
  python3 "$LOAD" submit --ports-file "$WORK/intake-ports" --prefix "$1" --count "${2:-2000}" --rate "$RATE" \
    --stop-file "$WORK/$1.stop" --out "$WORK/$1.ids" >"$WORK/$1.load.json" 2>"$WORK/$1.load.err" &
  LOAD_PID=$!
}

accepted() { [ -f "$WORK/$1.ids" ] && wc -l <"$WORK/$1.ids" || echo 0; }

# Waits until N submissions of PREFIX were accepted (every one is retried until it is).
wait_accepted() { # prefix n
  local deadline=$((SECONDS + 180))
  until [ "$(accepted "$1")" -ge "$2" ]; do
    [ "$SECONDS" -ge "$deadline" ] && { fail "$1: only $(accepted "$1") of $2 submissions accepted after 180 s"; return 1; }
    sleep 0.2
  done
}

# Lets the load run until AFTER more requests were accepted, then stops it.
stop_load_after() { # phase prefix
  wait_accepted "$2" $(($(accepted "$2") + AFTER)) || true
  touch "$WORK/$2.stop"
  wait "$LOAD_PID" || fail "$1: some submissions were never accepted ($(cat "$WORK/$2.load.err"))"
  LOAD_PID=""
  figure "$1" "requests accepted ($2)" "$(accepted "$2")"
}

# ─── reconciliation ───────────────────────────────────────────────────────────────────────

# Accepted requests without an assignment, and requests assigned more than once, by id.
reconcile_assignments() { # phase ids-file…
  local phase=$1 lost duplicated
  shift
  local sql
  sql=$(printf 'CREATE TEMP TABLE ids(id uuid);\nCOPY ids FROM STDIN;\n%s\n\\.\n' "$(awk '{ print $2 }' "$@")")
  sql+="
SELECT count(*) FROM ids WHERE id NOT IN (SELECT request_id FROM routing.assignments);
SELECT count(*) FROM (SELECT request_id FROM routing.assignments WHERE request_id IN (SELECT id FROM ids) AND kind = 'owner'
  GROUP BY request_id HAVING count(*) > 1) AS twice;"
  { read -r lost; read -r duplicated; } < <(psql_c <<<"$sql")
  figure "$phase" "requests lost (no assignment)" "$lost"
  figure "$phase" "requests assigned twice" "$duplicated"
  [ "$lost" = 0 ] || fail "$phase: $lost accepted requests have no assignment"
  [ "$duplicated" = 0 ] || fail "$phase: $duplicated requests assigned more than once"
}

# Every accepted request reaches `assigned` on intake's status (and its trail verifies).
wait_assigned() { # phase ids-file…
  local phase=$1 result
  shift
  result=$(python3 "$LOAD" wait --port "$(intake_port)" --ids "$@" --timeout 240) || true
  figure "$phase" "assigned / accepted" "$(jq_get "$result" reached)/$(jq_get "$result" total)"
  figure "$phase" "seconds until all assigned" "$(jq_get "$result" seconds)"
  [ "$(jq_get "$result" missing)" = "[]" ] || fail "$phase: not assigned: $(jq_get "$result" missing)"
  [ "$(jq_get "$result" untrusted)" = "[]" ] || fail "$phase: trail not verified: $(jq_get "$result" untrusted)"
}

# The reporter's "received" mail, once per request: polls the catcher's file until none is
# missing (at most 90 s). A mail sent twice later on is caught by the restart phase, which
# checks every phase's requests again (the catcher keeps its file on a volume).
reconcile_mail() { # phase ids-file…
  local phase=$1 result deadline=$((SECONDS + 90))
  shift
  while :; do
    docker exec "$(container_of smtp-sink)" cat /var/lib/smtp-sink/mail.jsonl >"$WORK/mail.jsonl" 2>/dev/null || : >"$WORK/mail.jsonl"
    result=$(python3 "$LOAD" mail --mail "$WORK/mail.jsonl" --ids "$@") || true
    if [ "$(jq_get "$result" lost)" = 0 ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
    sleep 1
  done
  figure "$phase" "mails lost / duplicated" "$(jq_get "$result" lost) / $(jq_get "$result" duplicated)"
  [ "$(jq_get "$result" lost)" = 0 ] || fail "$phase: mails lost: $(jq_get "$result" lostIds)"
  [ "$(jq_get "$result" duplicated)" = 0 ] || fail "$phase: mails duplicated: $(jq_get "$result" duplicatedIds)"
}

# ─── phases of both stacks ────────────────────────────────────────────────────────────────

phase_up() {
  compose up -d >"$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log" >&2; die "compose up failed"; }
  wait_healthy 300
}

phase_demo() {
  compose --profile demo run --rm -T org-import >"$WORK/org-import.log" 2>&1 || fail "org import failed: $(tail -3 "$WORK/org-import.log")"
  figure demo "org" "$(tail -1 "$WORK/org-import.log")"
}

phase_flow() {
  write_intake_ports
  python3 "$LOAD" submit --ports-file "$WORK/intake-ports" --prefix flow --count 20 --rate "$RATE" --out "$WORK/flow.ids" >/dev/null ||
    fail "flow: some submissions were never accepted"
  figure flow "requests accepted" "$(accepted flow)"
  wait_assigned flow "$WORK/flow.ids"
  reconcile_assignments flow "$WORK/flow.ids"
  reconcile_mail flow "$WORK/flow.ids"
  local token summary
  token=$(cli gridloop auth token --staff wang-xu) || { fail "flow: no supervisor token"; return; }
  summary=$(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$(host_ports reporting | head -1)/v1/reports/summary") ||
    { fail "flow: reporting's summary refused"; return; }
  figure flow "reporting summary total" "$(jq_get "$summary" total)"
  [ "$(jq_get "$summary" total)" -ge 20 ] || fail "flow: the report counts $(jq_get "$summary" total) requests, expected ≥ 20"
}

# ─── phases of the default stack ──────────────────────────────────────────────────────────

# Scales while submitting; the load goes on over both intake replicas once the new replicas
# are healthy.
phase_scale() {
  start_load scale
  wait_accepted scale 15
  compose up -d --no-recreate --scale routing=3 --scale notification=2 --scale intake=2 >"$WORK/scale.log" 2>&1 ||
    fail "scale: compose up --scale failed: $(tail -3 "$WORK/scale.log")"
  write_intake_ports   # the running load spreads over both replicas from now on
  wait_healthy 180
  stop_load_after scale scale
  wait_assigned scale "$WORK/scale.ids"
  reconcile_assignments scale "$WORK/scale.ids"
  reconcile_mail scale "$WORK/scale.ids"
  replicas_did_work scale
}

# Every replica did work: routing's and notification's consumed messages (their ports are not
# published: /metrics through docker exec); intake's accepted submissions (by host port: intake
# has no submission metric) and relayed outbox rows.
replicas_did_work() { # phase
  local service container name work port accepted
  for service in routing notification intake; do
    for container in $(containers "$service"); do
      name=$(docker inspect -f '{{.Name}}' "$container" | sed 's,^/,,')
      case $service in
        routing) work=$(metric "$container" 'gridloop_amqp_delivered_total\{queue="routing.requests"\}')
          figure "$1" "$name: requests consumed" "$work" ;;
        notification) work=$(metric "$container" 'gridloop_amqp_delivered_total')
          figure "$1" "$name: messages consumed" "$work" ;;
        intake)
          port=$(docker port "$container" 8080/tcp | head -1 | sed 's/.*://')
          accepted=$(cat "$WORK"/*.ids | awk -v port="$port" '$3 == port' | wc -l)
          figure "$1" "$name: submissions accepted / outbox rows relayed" "$accepted / $(metric "$container" 'gridloop_outbox_relayed_total')"
          work=$accepted ;;
      esac
      [ "$work" -gt 0 ] || fail "$1: $name did no work"
    done
  done
}

# Kills one routing and one notification container mid-load; the restart policy brings them
# back. `docker kill` counts as an operator's stop for the restart policy (the engine then
# leaves the container down), so the test SIGKILLs each container's process, as a crash would.
phase_kill() {
  start_load kill
  wait_accepted kill 15
  local victims container started back
  victims=("$(container_of routing)" "$(container_of notification)")
  started=$SECONDS
  for container in "${victims[@]}"; do
    log "SIGKILL $(docker inspect -f '{{.Name}}' "$container") (restarts so far: $(docker inspect -f '{{.RestartCount}}' "$container"))"
    kill -KILL "$(docker inspect -f '{{.State.Pid}}' "$container")"
  done
  back=""
  for _ in $(seq 1 240); do
    sleep 0.5
    all_back "${victims[@]}" && { back=$((SECONDS - started)); break; }
  done
  figure kill "killed containers healthy again after (s)" "${back:-never}"
  [ -n "$back" ] || fail "kill: the killed containers did not come back"
  figure kill "restart counts (routing, notification)" "$(docker inspect -f '{{.RestartCount}}' "${victims[0]}"), $(docker inspect -f '{{.RestartCount}}' "${victims[1]}")"
  stop_load_after kill kill
  wait_assigned kill "$WORK/kill.ids"
  reconcile_assignments kill "$WORK/kill.ids"
  reconcile_mail kill "$WORK/kill.ids"
}

# Whether every container was restarted (RestartCount > 0) and is healthy again.
all_back() { # container…
  local container
  for container in "$@"; do
    case "$(docker inspect -f '{{.RestartCount}} {{.State.Health.Status}}' "$container")" in
      "0 "*) return 1 ;;
      *" healthy") ;;
      *) return 1 ;;
    esac
  done
}

# down (volumes kept) and up: every request, its trail and the exported chain heads still
# there; the audit verifies both; the mail catcher (its file on a volume) has every phase's
# mail once, also after the services started again.
phase_restart() {
  local all=("$WORK"/flow.ids "$WORK"/scale.ids "$WORK"/kill.ids) result audit started
  started=$SECONDS
  compose down >"$WORK/down.log" 2>&1 || fail "restart: compose down failed"
  figure restart "compose down took (s)" "$((SECONDS - started))"
  compose up -d >"$WORK/up-again.log" 2>&1 || { fail "restart: compose up failed: $(tail -3 "$WORK/up-again.log")"; return; }
  wait_healthy 300
  figure restart "healthy again after (s, from down)" "$((SECONDS - started))"
  result=$(python3 "$LOAD" trail --port "$(intake_port)" --ids "${all[@]}") || true
  figure restart "requests found / verified trails" "$(jq_get "$result" found)/$(jq_get "$result" verified) of $(jq_get "$result" total)"
  figure restart "trail links" "$(jq_get "$result" links)"
  [ "$(jq_get "$result" found)" = "$(jq_get "$result" total)" ] || fail "restart: requests missing: $(jq_get "$result" missing)"
  [ "$(jq_get "$result" verified)" = "$(jq_get "$result" total)" ] || fail "restart: trails not verified"
  wait_assigned restart "${all[@]}"
  reconcile_assignments restart "${all[@]}"
  if audit=$(cli gridloop audit verify --heads /var/lib/gridloop/chain-heads 2>&1); then
    figure restart "gridloop audit verify --heads" "passed: $(tr '\n' ';' <<<"$audit" | sed 's/;$//; s/;/; /g')"
  else
    figure restart "gridloop audit verify --heads" "FAILED"
    fail "restart: gridloop audit verify --heads: $(tail -3 <<<"$audit")"
  fi
  reconcile_mail restart "${all[@]}"
}

# ─── the cluster ──────────────────────────────────────────────────────────────────────────

rabbitmqctl_on() { docker exec "$(container_of "$1")" rabbitmqctl -q "${@:2}"; }

running_nodes() { # service
  rabbitmqctl_on "$1" cluster_status --formatter json |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["running_nodes"]))'
}

# quorum queues and the fewest members any of them has.
queue_members() { # service
  rabbitmqctl_on "$1" list_queues -p gridloop name type members --formatter json |
    python3 -c '
import json, sys
queues = [q for q in json.load(sys.stdin) if q["type"] == "quorum"]
print(len(queues), min((len(q["members"]) for q in queues), default=0))'
}

leader_of() { # service queue
  rabbitmqctl_on "$1" list_queues -p gridloop name leader --formatter json |
    python3 -c 'import json,sys; print(next(q["leader"] for q in json.load(sys.stdin) if q["name"] == sys.argv[1]))' "$2"
}

phase_cluster_formed() {
  local nodes queues fewest
  nodes=$(running_nodes rabbitmq)
  figure cluster "running nodes (rabbitmqctl cluster_status)" "$nodes"
  [ "$nodes" = 3 ] || fail "cluster: $nodes running nodes, expected 3"
  read -r queues fewest < <(queue_members rabbitmq)
  figure cluster "quorum queues / fewest members" "$queues / $fewest"
  [ "$fewest" = 3 ] || fail "cluster: a quorum queue has only $fewest members"
}

# A node's compose service from its Erlang name (rabbit@rabbitmq-2 → rabbitmq-2).
service_of_node() { echo "${1#rabbit@}"; }

# Submits one request while a fault lasts; its id goes to PREFIX.ids.
submit_probe() { # prefix
  write_intake_ports
  python3 "$LOAD" submit --ports-file "$WORK/intake-ports" --prefix "$1" --count 1 --out "$WORK/$1.ids" >/dev/null ||
    fail "$1: the probe was not accepted"
}

# Stops the node leading routing.requests while requests flow, then starts it again.
phase_leader_stop() {
  local leader service started probe down_accepted
  leader=$(leader_of rabbitmq routing.requests)
  service=$(service_of_node "$leader")
  figure leader-stop "node stopped (leader of routing.requests)" "$leader"
  start_load leader
  wait_accepted leader 15
  started=$SECONDS
  compose stop "$service" >/dev/null 2>&1
  figure leader-stop "docker-compose stop took (s)" "$((SECONDS - started))"
  # A probe submitted while the node is down must be assigned, once; and the load goes on
  # (AFTER more requests accepted) before the node comes back.
  down_accepted=$(accepted leader)
  submit_probe leader-probe
  probe=$(python3 "$LOAD" wait --port "$(intake_port)" --ids "$WORK/leader-probe.ids" --timeout 120) || true
  figure leader-stop "request submitted while the node is down assigned after (s)" "$((SECONDS - started))"
  [ "$(jq_get "$probe" missing)" = "[]" ] || fail "leader-stop: the request submitted while $leader was down was not assigned"
  wait_accepted leader $((down_accepted + AFTER)) || true
  figure leader-stop "load requests accepted while the node is down" "$(($(accepted leader) - down_accepted))"
  compose start "$service" >/dev/null 2>&1
  wait_node_back leader-stop "$service" "$started"
  figure leader-stop "leader of routing.requests afterwards" "$(leader_of rabbitmq routing.requests)"
  stop_load_after leader-stop leader
  broker_errors leader-stop
  wait_assigned leader-stop "$WORK/leader.ids" "$WORK/leader-probe.ids"
  reconcile_assignments leader-stop "$WORK/leader.ids" "$WORK/leader-probe.ids"
  reconcile_mail leader-stop "$WORK/leader.ids" "$WORK/leader-probe.ids"
}

# What the services saw of the broker faults: publishes that failed (and were retried by the
# outbox relays) and outbox rows parked (given up on: must stay 0), over every replica.
broker_errors() { # phase
  local container failed=0 parked=0
  for container in $(containers intake) $(containers routing) $(containers notification) $(containers reporting); do
    failed=$((failed + $(metric "$container" 'gridloop_amqp_publish_failed_total')))
    parked=$((parked + $(metric "$container" 'gridloop_outbox_parked_total')))
  done
  figure "$1" "publishes failed and retried / outbox rows parked (all services)" "$failed / $parked"
  [ "$parked" = 0 ] || fail "$1: $parked outbox rows parked"
}

# Waits until SERVICE runs and the cluster has three running nodes again.
wait_node_back() { # phase service started
  local back=""
  for _ in $(seq 1 180); do
    if [ "$(running_nodes "$2" 2>/dev/null || echo 0)" = 3 ]; then back=$((SECONDS - $3)); break; fi
    sleep 1
  done
  figure "$1" "3 nodes running again after (s, from the fault)" "${back:-never}"
  [ -n "$back" ] || fail "$1: $2 did not rejoin"
}

# Two of three nodes down for QUORUM_DOWN seconds: quorum lost; publishes wait or fail and
# are retried.
phase_quorum_loss() {
  local started lost restored probe
  start_load quorum
  wait_accepted quorum 15
  started=$SECONDS
  compose stop rabbitmq-2 rabbitmq-3 >/dev/null 2>&1
  lost=$SECONDS
  figure quorum-loss "docker-compose stop of rabbitmq-2 and rabbitmq-3 took (s)" "$((lost - started))"
  submit_probe quorum-probe
  sleep $((QUORUM_DOWN - (SECONDS - lost) > 0 ? QUORUM_DOWN - (SECONDS - lost) : 0))
  figure quorum-loss "requests accepted without quorum, in (s)" "$(accepted quorum) by then, $((SECONDS - lost))"
  restored=$SECONDS
  compose start rabbitmq-2 rabbitmq-3 >/dev/null 2>&1
  wait_node_back quorum-loss rabbitmq-2 "$started"
  probe=$(python3 "$LOAD" wait --port "$(intake_port)" --ids "$WORK/quorum-probe.ids" --timeout 180) || true
  figure quorum-loss "request submitted without quorum assigned after (s, from the fault / from the restart)" "$((SECONDS - started)) / $((SECONDS - restored))"
  [ "$(jq_get "$probe" missing)" = "[]" ] || fail "quorum-loss: the request submitted without quorum was not assigned"
  stop_load_after quorum-loss quorum
  broker_errors quorum-loss
  wait_assigned quorum-loss "$WORK/quorum.ids" "$WORK/quorum-probe.ids"
  reconcile_assignments quorum-loss "$WORK/quorum.ids" "$WORK/quorum-probe.ids"
  reconcile_mail quorum-loss "$WORK/quorum.ids" "$WORK/quorum-probe.ids"
}

# ─── report ───────────────────────────────────────────────────────────────────────────────

print_table() {
  local row
  printf '\n%s\n%-13s %-62s %s\n' "$MODE" phase figure value
  for row in "${FIGURES[@]}"; do IFS='|' read -r a b c <<<"$row"; printf '%-13s %-62s %s\n' "$a" "$b" "$c"; done
  printf '\n%-13s %s\n' phase seconds
  for row in "${TIMINGS[@]}"; do IFS='|' read -r a b <<<"$row"; printf '%-13s %s\n' "$a" "$b"; done
  printf '\n%s: %s failure(s)\n' "$MODE" "$FAILURES"
}

# Replaces this mode's section of docs/benchmarks/compose.md.
write_report() { # mode-seconds
  local section row other="" build_note
  build_note="gridloop=$GRIDLOOP_IMAGE built from deploy/Dockerfile ($BUILD)"
  [ "$BUILD" != prebuilt ] || build_note="${build_note%)}: this machine's debug executables, staged)"
  section="## $MODE"$'\n\n'"$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; images: $build_note, rabbitmq=$GRIDLOOP_RABBITMQ_IMAGE, postgres=$GRIDLOOP_POSTGRES_IMAGE; load at $RATE/s, stopped $AFTER accepted requests after each fault; $FAILURES failure(s); $1 s from up to down."$'\n\n'"| phase | figure | value |"$'\n'"|---|---|---|"
  for row in "${FIGURES[@]}"; do section+=$'\n'"| ${row//|/ | } |"; done
  section+=$'\n\n'"| phase | seconds |"$'\n'"|---|---|"
  for row in "${SHARED_TIMINGS[@]}" "${TIMINGS[@]}"; do section+=$'\n'"| ${row//|/ | } |"; done
  if [ -f "$REPORT" ]; then
    other=$(python3 -c '
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
sections = re.split(r"(?m)^(?=## )", text)
print("".join(s for s in sections[1:] if not s.startswith("## " + sys.argv[2] + "\n")).rstrip())' "$REPORT" "$MODE")
  fi
  {
    echo "# docker-compose figures"
    echo
    echo "Written by \`deploy/compose-test.sh\` (\`deploy/local.sh compose-test [default|cluster|all]\`):"
    echo "the default stack and the cluster profile (three RabbitMQ nodes). lost = accepted requests"
    echo "without an assignment, duplicated = requests with more than one owner assignment"
    echo "(routing.assignments); mails = the reporter's \"received\" email at the test's SMTP sink,"
    echo "once per request. \"images\" is deploy/images.sh (0–2 s where the images exist), \"build\""
    echo "the gridloop image from deploy/Dockerfile; both are shared by the modes of one run."
    echo
    [ -n "$other" ] && printf '%s\n\n' "$other"
    echo "$section"
  } >"$REPORT.tmp"
  mv "$REPORT.tmp" "$REPORT"
}

# One mode on a fresh stack, removed afterwards.
run_mode() { # mode
  MODE=$1 FAILURES=0 FIGURES=() TIMINGS=()
  mode_settings
  rm -f "$WORK"/*.ids "$WORK"/*.load.* "$WORK"/*.stop
  remove_stack
  local started=$SECONDS
  phase up phase_up
  phase demo phase_demo
  phase flow phase_flow
  if [ "$MODE" = cluster ]; then
    phase cluster phase_cluster_formed
    phase leader-stop phase_leader_stop
    phase quorum-loss phase_quorum_loss
  else
    phase scale phase_scale
    phase kill phase_kill
    phase restart phase_restart
  fi
  started=$((SECONDS - started))
  phase down remove_stack
  print_table
  write_report "$started"
  SHARED_TIMINGS=()   # reported with the first mode of the run
  [ "$FAILURES" = 0 ] || FAILED_MODES+=("$MODE")
}

main() {
  local modes
  case "$ARGUMENT" in
    default | cluster) modes=("$ARGUMENT") ;;
    all) modes=(default cluster) ;;
    *) die "usage: compose-test.sh [default|cluster|all]" ;;
  esac
  mkdir -p "$WORK"
  ensure_docker
  export_settings
  decide_build
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  remove_stack   # what an interrupted run left
  check_ports_free
  local started=$SECONDS
  log "── images"
  prepare_images
  SHARED_TIMINGS+=("images|$((SECONDS - started))")
  started=$SECONDS
  log "── build ($BUILD)"
  build_gridloop
  SHARED_TIMINGS+=("build ($BUILD)|$((SECONDS - started))")
  local mode
  for mode in "${modes[@]}"; do run_mode "$mode"; done
  [ ${#FAILED_MODES[@]} -eq 0 ] || die "failed: ${FAILED_MODES[*]}"
  log "passed: ${modes[*]}"
}

main "$@"

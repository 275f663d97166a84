# shellcheck shell=bash
# GridLoop's own processes: the build (build, bin_dir), the services' environment
# (service_env: deploy/services.env expanded; side_env: the same for the benchmarks and the fuzz
# run), starting and stopping every service with its replicas (services_start, services_stop,
# stop_pidfiles, wait_healthy; pid files in $HOME_DIR/pids, logs in $HOME_DIR/logs), the demo's
# mail catcher (mail_start). The demo's data is deploy/lib/demo.sh.
# Sourced by deploy/local.sh; expects ROOT, HOME_DIR, BUILD_CONFIGURATION, SERVICES, the ports
# (RABBITMQ_PORT, POSTGRES_PORT, MAIL_PORT, the five *_HTTP_PORT), SERVICES_DB, log, die, and the
# secrets (secrets.sh) read before service_env.

# A release build links as deploy/Dockerfile does for the images: the Swift runtime and
# Foundation linked in statically, by lld with packed relative relocations (RELR) and only the
# symbols the dynamic linker needs exported. An idle service then maps about 10 MB less of
# shared libraries, relocation tables and symbol tables (docs/design/throughput.md).
# deploy/Dockerfile has the same (its RELEASE_BUILD_FLAGS argument).
RELEASE_BUILD_FLAGS=(--static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic)
build_flags() { [ "$BUILD_CONFIGURATION" = release ] && printf '%s\n' "${RELEASE_BUILD_FLAGS[@]}"; return 0; }

bin_dir() { swift build -c "$BUILD_CONFIGURATION" $(build_flags) --show-bin-path 2>/dev/null; }

build() {
  log "building ($BUILD_CONFIGURATION); the first build takes several minutes"
  ( cd "$ROOT" && swift build -c "$BUILD_CONFIGURATION" $(build_flags) 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" | tail -20 ) || true
  ( cd "$ROOT" && swift build -c "$BUILD_CONFIGURATION" $(build_flags) >/dev/null ) || die "build failed: run 'swift build' to see why"
}

# The services' environment, KEY=VALUE a line: deploy/services.env with its values expanded
# from the base variables as they are set when it is called (e.g. SERVICES_DB=x service_env).
service_env() {
  local definition
  definition=$(grep -v -e '^#' -e '^$' "$ROOT/deploy/services.env")
  eval "cat <<EOT
$definition
EOT"
}

# One value of service_env (the base variables as the caller sets them).
service_env_value() { service_env | sed -n "s/^$1=//p"; }

# KEY's value among KEY=VALUE words (the last one, as `env` takes it).
env_value() { # key words…
  local key=$1 word value=""
  shift
  for word; do [ "${word%%=*}" = "$key" ] && value=${word#*=}; done
  echo "$value"
}

# The services' environment for a system beside the local one (the benchmarks, the API fuzz
# run), as KEY=VALUE words in the array SIDE_ENV for `env`: deploy/services.env with vhost and
# database $1, intake's HTTP port $2 and the others after it (reporting +1, notification +2,
# routing +3, web +5), LOG_LEVEL=warning, and the local system's extras off (empty is off for
# the services): the demo's mail catcher, the chain-head export into $HOME_DIR/chain-heads, the
# web app as trusted proxy, the links to the web app.
side_env() { # vhost-and-database first-port
  local lines
  lines=$(SERVICES_DB=$1 INTAKE_HTTP_PORT=$2 REPORTING_HTTP_PORT=$(($2 + 1)) NOTIFICATION_HTTP_PORT=$(($2 + 2)) \
    ROUTING_HTTP_PORT=$(($2 + 3)) WEB_HTTP_PORT=$(($2 + 5)) LOG_LEVEL=warning service_env)
  mapfile -t SIDE_ENV <<<"$lines"
  SIDE_ENV+=(INTAKE_CHAIN_HEAD_DIR= NOTIFICATION_SMTP_URL= INTAKE_TRUSTED_PROXIES= ROUTING_TRUSTED_PROXIES= REPORTING_WEB_URL= NOTIFICATION_WEB_URL=)
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
      env "$(upper "$service")_HTTP_PORT=$(replica_port "$service" "$replica")" nohup "$bin/gridloop-$service" >>"$HOME_DIR/logs/$name.log" 2>&1 &
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

upper() { tr '[:lower:]' '[:upper:]' <<<"$1"; }

# Replicas: INTAKE_REPLICAS, ROUTING_REPLICAS, NOTIFICATION_REPLICAS, REPORTING_REPLICAS (1 each
# by default); replica k > 1 listens on the service's port + 100 × (k − 1) and logs to <service>-<k>.log.
replicas_of() { local var; var="$(upper "$1")_REPLICAS"; echo "${!var:-1}"; }
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

# Waits up to a minute for a service's /health on PORT; dies naming WHAT if it never answers.
wait_healthy() { # port what
  for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return; sleep 0.5; done
  die "$2 is not healthy"
}

# shellcheck shell=bash
# The benchmarks, each on its own vhost and database beside the local system (release build
# unless GRIDLOOP_BUILD says otherwise), figures to docs/benchmarks/: `bench` (also
# deploy/bench.sh: the machine's limits, then GridLoop against them), `bench-sla` (the SLA
# sweeper alone), `bench-profile` (perf samples under load), `bench-inbox` (the staff inbox
# with 10,000 open items), `bench-reporting` (dashboards over 1,000,000 requests of history)
# and `soak` (the AMQP wrapper's memory). The benchmark services get the services' environment
# (deploy/services.env, through side_env) on vhost and database gridloop_perf and ports 1838x.
# Sourced by deploy/local.sh; expects ROOT, HOME_DIR, BUILD_CONFIGURATION, PG_BIN,
# POSTGRES_PORT, the secrets, log, die, infrastructure, and the functions of broker.sh,
# database.sh and services.sh.

# ---------------------------------------------------------------- performance benchmark
# deploy/bench.sh: the machine's limits for our work, then GridLoop against them, in one run
# (release build, its own vhost and database, services on ports 1838x). With BENCH_BEFORE_BIN
# (a directory holding an earlier build's gridloop-* binaries) GridLoop's part runs twice, that
# build first, and the table gives each figure before and after. Writes
# docs/benchmarks/performance.md. BENCH_SECONDS (pgbench), BENCH_REQUESTS (per HTTP run),
# BENCH_SLA_TIMERS (100,000).
bench_pid_stat() { # pid → "rss_kb hwm_kb cpu_ticks"
  local pid=$1
  local rss hwm ticks
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
  echo "${rss:-0} ${hwm:-0} ${ticks:-0}"
}

# CPU ticks so far of PostgreSQL (the postmaster, the backends it reaped and those alive) and of
# RabbitMQ (its node's Erlang VM and the VM's children): "pg rmq".
bench_infra_ticks() {
  local master pg=0 rmq=0 pid
  master=$(head -1 "$(pg_dir)/data/postmaster.pid" 2>/dev/null)
  for pid in $master $(pgrep -P "$master" 2>/dev/null); do
    pg=$((pg + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  for pid in $(pgrep -f "beam.smp.*-home $HOME_DIR/rabbitmq"); do
    rmq=$((rmq + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$pg $rmq"
}

bench_field() { # "k=v k=v" key → v
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'
}

# The benchmark services from $bin (set by the caller; bench_prepare sets the current build's).
bench_services_start() { # routing replicas [the other services too: all | none | intake]
  local replicas=$1 others=${2:-all} service port i services=()
  case $others in all) services=(intake notification reporting) ;; intake) services=(intake) ;; esac
  for service in "${services[@]}"; do
    case $service in intake) port=18380 ;; reporting) port=18381 ;; notification) port=18382 ;; esac
    env "${BENCH_ENV[@]}" "$(upper "$service")_HTTP_PORT=$port" nohup "$bin/gridloop-$service" >>"$HOME_DIR/logs/bench-$service.log" 2>&1 &
    echo $! >"$HOME_DIR/pids/bench-$service.pid"
  done
  for i in $(seq 1 "$replicas"); do
    port=$((18383 + 10 * (i - 1)))
    env "${BENCH_ENV[@]}" "ROUTING_HTTP_PORT=$port" nohup "$bin/gridloop-routing" >>"$HOME_DIR/logs/bench-routing-$i.log" 2>&1 &
    echo $! >"$HOME_DIR/pids/bench-routing-$i.pid"
  done
  for service in "${services[@]}"; do
    case $service in intake) port=18380 ;; reporting) port=18381 ;; notification) port=18382 ;; esac
    wait_healthy "$port" "benchmark $service on $port (log: $HOME_DIR/logs/bench-$service.log)"
  done
  for i in $(seq 1 "$replicas"); do
    wait_healthy $((18383 + 10 * (i - 1))) "benchmark routing-$i (log: $HOME_DIR/logs/bench-routing-$i.log)"
  done
}

bench_services_stop() { stop_pidfiles 'bench-*'; }

bench_psql() { PGPASSWORD="$GRIDLOOP_DB_PASSWORD" psql -qtAX -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -d gridloop_perf "$@"; }

# Waits (up to 10 minutes) until the services' queues hold nothing and every outbox row is
# published, so that a run starts on a drained system and CPU counted after one includes all of
# its work downstream (notification, reporting).
bench_drain() {
  local waited=0 queued unpublished sum
  sum=$(bench_psql -c "SELECT string_agg(format('(SELECT count(*) FROM %I.outbox WHERE published_at IS NULL AND parked_at IS NULL)', table_schema), ' + ')
    FROM information_schema.tables WHERE table_name = 'outbox'")
  while :; do
    queued=$(rmqctl list_queues -p gridloop_perf name messages 2>/dev/null \
      | awk '$1 ~ /^(intake|routing|notification|reporting)\.(submissions|events|requests|commands)$/ {s += $2} END {print s + 0}')
    unpublished=$(bench_psql -c "SELECT ${sum:-0}")
    [ "$queued" = 0 ] && [ "${unpublished:-0}" = 0 ] && return 0
    [ "$waited" -lt 1200 ] || { log "not drained after 10 minutes: $queued queued, $unpublished unpublished"; return 1; }
    sleep 0.5; waited=$((waited + 1))
  done
}

# Purges the services' queues (after intake ran alone, routing and the others stopped).
bench_purge() {
  local queue
  for queue in intake.submissions intake.events routing.requests routing.commands notification.events reporting.events; do
    rmqctl purge_queue -p gridloop_perf "$queue" >/dev/null 2>&1 || true
  done
}

# A fresh vhost and database for one build's run: its own migrations and the demo org.
bench_fresh() {
  bench_services_stop
  rmqctl delete_vhost gridloop_perf >/dev/null 2>&1 || true
  broker_user gridloop_perf gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop_perf gridloop "$GRIDLOOP_DB_PASSWORD" recreate >/dev/null
  database_service_login gridloop_perf "$GRIDLOOP_DB_APP_PASSWORD"
  bench_import_org
}

# GridLoop's part of the benchmark with the services of one build ($bin); figures into
# FIG[label:measure]. The bench client ($tool) is the current build's in both runs.
bench_gridloop() { # label
  local label=$1 requests="${BENCH_REQUESTS:-2000}" result service pid stat i
  local -A idle start
  log "[$label] GridLoop from $bin: fresh vhost and database, demo org, services with 1 routing replica"
  bench_fresh
  bench_services_start 1
  sleep 5
  for service in intake routing-1 notification reporting; do
    read -r -a stat <<<"$(bench_pid_stat "$(cat "$HOME_DIR/pids/bench-$service.pid")")"
    idle[$service]=$((stat[0] / 1024))
  done

  log "[$label] one client on a drained system, each request sent once the last one is assigned: submit → assignment"
  AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$tool" http --clients 1 --requests 50 --grid hanjiaxu-1 >/dev/null || true   # warm-up
  bench_drain
  result=$(AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$tool" http --clients 1 --requests 500 --await-assignment --grid hanjiaxu-1) || log "[$label] errors in the 1-client run"
  FIG[$label:e2e1]="$(bench_field "$result" e2e_p50_ms) / $(bench_field "$result" e2e_p99_ms)"
  FIG[$label:e2e1-p50]=$(bench_field "$result" e2e_p50_ms)

  log "[$label] the pipeline: 5000 AMQP submissions to assignment, 1 routing replica; then $requests over HTTP at 32 clients; CPU counted until drained"
  bench_drain
  for service in intake routing-1 notification reporting; do
    read -r -a stat <<<"$(bench_pid_stat "$(cat "$HOME_DIR/pids/bench-$service.pid")")"
    start[$service]=${stat[2]}
  done
  read -r -a stat <<<"$(bench_infra_ticks)"; start[pg]=${stat[0]}; start[rmq]=${stat[1]}
  result=$(AMQP_URL="$amqp" "$tool" amqp --requests 5000 --grid hanjiaxu-2) || log "[$label] errors in the pipeline run"
  FIG[$label:pipeline]=$(bench_field "$result" pipeline_per_s)
  result=$(AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$tool" http --clients 32 --requests "$requests" --grid hanjiaxu-1) || log "[$label] errors in the 32-client run"
  FIG[$label:http32]="$(bench_field "$result" accepted_per_s) req/s; $(bench_field "$result" http_p50_ms) / $(bench_field "$result" http_p99_ms); $(bench_field "$result" e2e_p50_ms) / $(bench_field "$result" e2e_p99_ms); $(bench_field "$result" errors)"
  bench_drain
  local hz; hz=$(getconf CLK_TCK)
  for service in intake routing-1 notification reporting; do
    read -r -a stat <<<"$(bench_pid_stat "$(cat "$HOME_DIR/pids/bench-$service.pid")")"
    FIG[$label:cpu-$service]=$(awk -v t="$((stat[2] - start[$service]))" -v n="$((5000 + requests))" -v hz="$hz" 'BEGIN {printf "%.2f", 1000 * t / hz / n}')
    FIG[$label:rss-$service]="${idle[$service]} / $((stat[1] / 1024))"
  done
  read -r -a stat <<<"$(bench_infra_ticks)"
  FIG[$label:cpu-pg]=$(awk -v t="$((stat[0] - start[pg]))" -v n="$((5000 + requests))" -v hz="$hz" 'BEGIN {printf "%.2f", 1000 * t / hz / n}')
  FIG[$label:cpu-rmq]=$(awk -v t="$((stat[1] - start[rmq]))" -v n="$((5000 + requests))" -v hz="$hz" 'BEGIN {printf "%.2f", 1000 * t / hz / n}')

  local half; half=$(awk -v p="${FIG[$label:pipeline]:-0}" 'BEGIN {printf "%d", p / 2}')
  log "[$label] submit → assignment at half the pipeline's rate ($half req/s), drained first"
  bench_drain
  result=$(AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$tool" http --clients 32 --rate "$half" --requests "$requests" --grid hanjiaxu-1) || log "[$label] errors in the half-rate run"
  FIG[$label:half]="$half req/s: $(bench_field "$result" e2e_p50_ms) / $(bench_field "$result" e2e_p99_ms)"

  log "[$label] HTTP intake alone (routing, notification, reporting stopped), 32 clients, $((2 * requests)) requests"
  bench_drain
  stop_pidfiles 'bench-routing-*'; stop_pidfiles bench-notification; stop_pidfiles bench-reporting
  result=$(AMQP_URL="$amqp" INTAKE_URL=http://127.0.0.1:18380 "$tool" http --clients 32 --requests "$((2 * requests))" --no-assignments --grid hanjiaxu-1) || log "[$label] errors in the intake-alone run"
  FIG[$label:alone]=$(bench_field "$result" accepted_per_s)
  FIG[$label:alone-detail]="$(bench_field "$result" http_p50_ms) / $(bench_field "$result" http_p99_ms); $(bench_field "$result" errors)"

  log "[$label] the pipeline with 2 routing replicas"
  bench_services_stop
  bench_purge
  bench_services_start 2
  result=$(AMQP_URL="$amqp" "$tool" amqp --requests 5000 --grid hanjiaxu-2) || log "[$label] errors in the 2-replica run"
  FIG[$label:pipeline2]="$(bench_field "$result" pipeline_per_s) req/s; $(bench_field "$result" double_assigned)"
  bench_services_stop

  log "[$label] SLA sweeper: ${BENCH_SLA_TIMERS:-100000} overdue timers, 2 routing replicas"
  bench_sla "${BENCH_SLA_TIMERS:-100000}" 2
  FIG[$label:sla]="${SLA_FIRED_S} s (${SLA_RATE}/s); ${SLA_PUBLISHED_S} s; ${SLA_TWICE}"
}

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
  bench_env gridloop_perf
}

# The benchmark services' environment on vhost and database DB, for the caller: BENCH_ENV (the
# services' environment through side_env: ports 18380–18385, LOG_LEVEL=warning, the local
# system's extras off; then, as the benchmarks always ran, the database's owner as the services'
# login, no incidents and no rate limits), amqp (AMQP_URL) and db (the owner's DATABASE_URL).
bench_env() { # vhost-and-database
  local SIDE_ENV=()
  side_env "$1" 18380
  amqp=$(env_value AMQP_URL "${SIDE_ENV[@]}")
  db=$(env_value DATABASE_MIGRATION_URL "${SIDE_ENV[@]}")
  BENCH_ENV=("${SIDE_ENV[@]}" "DATABASE_URL=$db" "ROUTING_INCIDENT_THRESHOLD=0" "INTAKE_RATE_CLIENT_PER_MINUTE=0" "INTAKE_RATE_PHONE_PER_HOUR=0")
}

bench_import_org() {
  AMQP_URL="$amqp" DATABASE_URL="$db" "$bin/gridloop" migrate >/dev/null
  AMQP_URL="$amqp" DATABASE_URL="$db" "$bin/gridloop" org import "$ROOT/deploy/demo-org.yaml" >/dev/null
}

cmd_bench() {
  local seconds="${BENCH_SECONDS:-15}" bin amqp db tool
  bench_prepare
  tool="$bin/gridloop-bench"
  command -v pgbench >/dev/null || die "pgbench not found (it ships with PostgreSQL)"
  local out="$ROOT/docs/benchmarks/performance.md" rows=() after_bin=$bin
  local -A FIG

  # pgbench on the services' TLS setting: they connect in plain text on this machine (their
  # DATABASE_URL has no sslmode), so pgbench does too (libpq would prefer TLS).
  log "limit 1: PostgreSQL, intake's transaction shape (request + trail event + outbox row), pgbench ${seconds}s, no TLS"
  PGPASSWORD="$GRIDLOOP_DB_PASSWORD" psql -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -d gridloop_perf -f "$ROOT/deploy/bench/intake-shape.sql" >/dev/null
  local tps8 tps32
  tps8=$(PGSSLMODE=disable PGPASSWORD="$GRIDLOOP_DB_PASSWORD" pgbench -n -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -M prepared -c 8 -j 2 -T "$seconds" \
    -f "$ROOT/deploy/bench/intake-transaction.pgbench" gridloop_perf 2>/dev/null | awk '/^tps/ {print int($3); exit}')
  tps32=$(PGSSLMODE=disable PGPASSWORD="$GRIDLOOP_DB_PASSWORD" pgbench -n -h 127.0.0.1 -p "$POSTGRES_PORT" -U gridloop -M prepared -c 32 -j 2 -T "$seconds" \
    -f "$ROOT/deploy/bench/intake-transaction.pgbench" gridloop_perf 2>/dev/null | awk '/^tps/ {print int($3); exit}')

  log "limit 2: RabbitMQ, confirmed persistent publishes to a quorum queue through librabbitmq"
  local publish
  publish=$(AMQP_URL="$amqp" "$tool" publish-rate --messages 30000 --window 256)

  local labels=(after)
  if [ -n "${BENCH_BEFORE_BIN:-}" ]; then
    [ -x "$BENCH_BEFORE_BIN/gridloop-routing" ] || die "BENCH_BEFORE_BIN=$BENCH_BEFORE_BIN holds no gridloop-routing"
    labels=(before after)
    bin=$BENCH_BEFORE_BIN
    bench_gridloop before
  fi
  bin=$after_bin
  bench_gridloop after

  # One row a measure: the figure before (if measured) and after, then its ratio or target.
  row() { # measure key ratio-or-target
    local figures="" label
    for label in "${labels[@]}"; do figures+="${figures:+ → }${FIG[$label:$2]:-–}"; done
    rows+=("| $1 | $figures | $3 |")
  }
  share() { awk -v a="${1:-0}" -v b="$tps32" 'BEGIN {printf "%.0f%%", 100 * a / b}'; }
  rows+=("| pgbench, intake transaction, 8 clients | ${tps8} TPS | limit |")
  rows+=("| pgbench, intake transaction, 32 clients | ${tps32} TPS | limit |")
  rows+=("| confirmed publishes, quorum queue, window 256 (600 B) | $(bench_field "$publish" publish_per_s) msg/s | limit |")
  rows+=("| consumed with manual acks | $(bench_field "$publish" consume_per_s) msg/s | limit |")
  local label shares=""
  for label in "${labels[@]}"; do shares+="${shares:+ → }$(share "${FIG[$label:alone]}")"; done
  row "HTTP intake alone (the other services stopped), 32 clients: accepted/s" alone "$shares of pgbench 32 (target ≥ 60%)"
  row "… its HTTP p50 / p99 ms; errors" alone-detail ""
  shares=""
  for label in "${labels[@]}"; do shares+="${shares:+ → }$(share "${FIG[$label:pipeline]}")"; done
  row "pipeline to assignment (5000 AMQP submissions), 1 routing replica: req/s" pipeline "$shares of pgbench 32 (target ≥ 600 req/s)"
  row "pipeline to assignment, 2 routing replicas: req/s; requests assigned twice" pipeline2 "target 0 twice"
  row "HTTP intake with the pipeline running, 32 clients: accepted/s; HTTP p50 / p99 ms; submit → assignment p50 / p99 ms; errors" http32 ""
  row "submit → assignment, 1 client, drained, one request at a time: p50 / p99 ms" e2e1 "target ≤ 15 / ≤ 50"
  row "submit → assignment at half the pipeline's rate: p50 / p99 ms" half "target p50 ≤ 30"
  local service
  for service in intake routing-1 notification reporting; do
    row "$service: CPU ms per request (pipeline and HTTP runs, until drained)" "cpu-$service" "target ≤ 1"
    row "$service: RSS idle / peak MB" "rss-$service" "idle target ≤ 40"
  done
  row "PostgreSQL: CPU ms per request" cpu-pg ""
  row "RabbitMQ: CPU ms per request" cpu-rmq ""
  row "SLA sweeper, 2 routing replicas: ${BENCH_SLA_TIMERS:-100000} overdue timers escalated in; events published in; escalated twice" sla "target ≤ 60 s, 0 twice"

  {
    echo "# Performance benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), build $BUILD_CONFIGURATION,"
    echo "RabbitMQ $(rmqctl version 2>/dev/null | head -1), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), all on this machine (\`deploy/bench.sh\`)."
    [ "${#labels[@]}" = 2 ] && echo "Figures before → after: GridLoop's part run twice in this run, first with the services of \`${BENCH_BEFORE_REV:-$BENCH_BEFORE_BIN}\`, then with this build's; same machine, limits measured once."
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
  # BENCH_ENV has the web app on 18385, calling routing on 18383 and intake on 18380.
  env "${BENCH_ENV[@]}" nohup "$bin/gridloop-web" >>"$HOME_DIR/logs/bench-web.log" 2>&1 &
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
  local bin amqp db BENCH_ENV; bin="$(cd "$ROOT" && bin_dir)"
  bench_env gridloop_bench
  export AMQP_URL="$amqp" DATABASE_URL="$db"
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

# The AMQP wrapper's memory: SOAK_MESSAGES (1,000,000) confirmed publishes and consumes, RSS sampled (release).
cmd_soak() {
  local bin amqp db BENCH_ENV
  bench_prepare
  env "AMQP_URL=$amqp" "$bin/gridloop-bench" soak --messages "${SOAK_MESSAGES:-1000000}"
}

# shellcheck shell=bash
# The test run (`deploy/local.sh test [swift test arguments]`): the infrastructure, a fresh vhost
# and database gridloop_test, the Python clients, the checks before the suite (compose file,
# OpenAPI and AsyncAPI documents against the code, the fault proxy's own tests), the Swift suite,
# then on whole runs the source format check, the raw-phone scan (pii_scan), the API fuzzing
# (api_fuzz) and the compose test (deploy/compose-test.sh all; COMPOSE_TEST=0 skips it). Also
# `faults`, the fault-injection harness's long version (cmd_faults).
# Sourced by deploy/local.sh; expects ROOT, HOME_DIR, RABBITMQ_TLS_PORT, the secrets, log, die,
# infrastructure, and the functions of packages.sh, broker.sh, database.sh and services.sh.

cmd_test() {
  infrastructure
  rmqctl set_vm_memory_high_watermark 0.4 >/dev/null  # in case an interrupted run left the alarm test's setting
  test_python_clients
  # The tests get their own vhost and database, fresh for every run.
  broker_user gridloop_test gridloop "$GRIDLOOP_AMQP_PASSWORD"
  rmqctl delete_vhost gridloop_test >/dev/null 2>&1 || true
  broker_user gridloop_test gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop_test gridloop "$GRIDLOOP_DB_PASSWORD" recreate >/dev/null
  database_service_login gridloop_test "$GRIDLOOP_DB_APP_PASSWORD"
  cd "$ROOT" || die "cannot enter $ROOT"
  log "building services and tests"
  swift build --build-tests >/dev/null 2>&1 || swift build --build-tests
  # The services' URLs (deploy/services.env) for gridloop_test: the broker, the database as its
  # owner, and as the services' least-privilege login.
  export GRIDLOOP_TEST_AMQP_URL GRIDLOOP_TEST_DATABASE_URL GRIDLOOP_TEST_SERVICE_DATABASE_URL
  GRIDLOOP_TEST_AMQP_URL=$(SERVICES_DB=gridloop_test service_env_value AMQP_URL)
  GRIDLOOP_TEST_DATABASE_URL=$(SERVICES_DB=gridloop_test service_env_value DATABASE_MIGRATION_URL)
  GRIDLOOP_TEST_SERVICE_DATABASE_URL=$(SERVICES_DB=gridloop_test service_env_value DATABASE_URL)
  export GRIDLOOP_BIN_DIR; GRIDLOOP_BIN_DIR="$(swift build --show-bin-path)"
  export GRIDLOOP_BROKER_CONTROL="$ROOT/deploy/local.sh"
  export GRIDLOOP_TEST_LOGS="$HOME_DIR/test-logs"
  export GRIDLOOP_TEST_TLS_CA="$HOME_DIR/tls/ca.crt" GRIDLOOP_TEST_AMQPS_PORT="$RABBITMQ_TLS_PORT"
  mkdir -p "$GRIDLOOP_TEST_LOGS"
  log "checking deploy/docker-compose.yml"
  compose_tool
  docker-compose -f "$ROOT/deploy/docker-compose.yml" config -q || die "deploy/docker-compose.yml is not valid"
  /usr/bin/python3 "$ROOT/deploy/tools/openapi-routes.py" || die "docs/openapi.yaml and the routes in the code differ"
  /usr/bin/python3 "$ROOT/deploy/tools/asyncapi-check.py" || die "docs/asyncapi.yaml and the message types and queues in the code differ"
  if [ $# -eq 0 ] || [ -n "${FORMAT_CHECK:-}" ]; then  # whole runs (or FORMAT_CHECK=1)
    log "checking the Swift sources' format (.swift-format; to fix: swift format --in-place -r Package.swift Services Shared Tests)"
    (cd "$ROOT" && swift format lint --strict --recursive --parallel Package.swift Services Shared Tests) || die "the Swift sources are not formatted as .swift-format says"
  fi
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
  # …and runs the compose test, both modes, on an image packaging this run's executables
  # (deploy/compose-test.sh all, ≈ 5 minutes; prebuilt, never the slow source build unless
  # COMPOSE_TEST_BUILD says so; COMPOSE_TEST=0 skips it, COMPOSE_TEST=1 forces it).
  if { [ $# -eq 0 ] && [ "${COMPOSE_TEST:-}" != 0 ]; } || [ "${COMPOSE_TEST:-}" = 1 ]; then
    log "the compose test, default stack and cluster (deploy/compose-test.sh all; COMPOSE_TEST=0 skips it)"
    COMPOSE_TEST_BUILD="${COMPOSE_TEST_BUILD:-prebuilt}" "$ROOT/deploy/compose-test.sh" all || status=1
  fi
  return "$status"
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
  local venv="$HOME_DIR/venv-schemathesis" bin service port status=0
  if [ ! -x "$venv/bin/st" ]; then
    log "installing schemathesis into $venv"
    { /usr/bin/python3 -m venv "$venv" && "$venv/bin/pip" install -q "schemathesis==4.32.5" >/dev/null; } \
      || die "cannot install schemathesis from PyPI"
  fi
  bin="$(cd "$ROOT" && swift build --show-bin-path)"
  broker_user gridloop_fuzz gridloop "$GRIDLOOP_AMQP_PASSWORD"
  rmqctl delete_vhost gridloop_fuzz >/dev/null 2>&1 || true
  broker_user gridloop_fuzz gridloop "$GRIDLOOP_AMQP_PASSWORD"
  database_user gridloop_fuzz gridloop "$GRIDLOOP_DB_PASSWORD" recreate >/dev/null
  database_service_login gridloop_fuzz "$GRIDLOOP_DB_APP_PASSWORD"
  # The services' environment (deploy/services.env) on gridloop_fuzz and ports 18480–18485.
  local SIDE_ENV; side_env gridloop_fuzz 18480
  local env=("${SIDE_ENV[@]}")
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
    local tags=(--include-tag "$service"); [ "$service" = intake ] && tags+=(--include-tag operations)
    (cd "$HOME_DIR" && "$venv/bin/st" --no-color run "$ROOT/docs/openapi.yaml" --url "http://127.0.0.1:$port" "${tags[@]}" \
      --header "Authorization: Bearer $token" \
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

# The fault-injection harness with FAULT_REQUESTS requests (the suite's own run is short).
cmd_faults() {
  export GRIDLOOP_FAULT_REQUESTS="${FAULT_REQUESTS:-10000}"
  export GRIDLOOP_FAULT_REPORT="${GRIDLOOP_FAULT_REPORT:-$ROOT/docs/benchmarks/faults.md}"
  cmd_test --filter faultInjection
}

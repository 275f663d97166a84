# shellcheck shell=bash
# RabbitMQ on 127.0.0.1, run from Debian's package as the node gridloop@localhost with its data,
# logs and configuration in $HOME_DIR/rabbitmq: plain AMQP on RABBITMQ_PORT, TLS on
# RABBITMQ_TLS_PORT, Prometheus on RABBITMQ_PORT + 10020. broker_start / broker_stop,
# rmqctl (rabbitmqctl for that node), broker_user (a vhost and a user allowed in it), port_open.
# Sourced by deploy/local.sh; expects HOME_DIR, RMQ_BIN, RABBITMQ_PORT, RABBITMQ_TLS_PORT, log,
# die and tls_material (secrets.sh).

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
  for _ in $(seq 1 120); do port_open "$RABBITMQ_PORT" && break; sleep 0.5; done
  port_open "$RABBITMQ_PORT" || die "RabbitMQ did not open port $RABBITMQ_PORT (logs: $dir/log)"
  for _ in $(seq 1 20); do port_open "$RABBITMQ_TLS_PORT" && break; sleep 0.5; done
  port_open "$RABBITMQ_TLS_PORT" || die "RabbitMQ did not open its TLS port $RABBITMQ_TLS_PORT (logs: $dir/log)"
  for _ in $(seq 1 30); do rmqctl await_startup >/dev/null 2>&1 && return; sleep 1; done
  die "RabbitMQ did not finish starting (logs: $dir/log)"
}

broker_stop() {
  port_open "$RABBITMQ_PORT" || return 0
  log "stopping RabbitMQ"
  rmqctl shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 40); do port_open "$RABBITMQ_PORT" || return 0; sleep 0.25; done
}

broker_user() { # vhost user password
  rmqctl add_vhost "$1" >/dev/null 2>&1 || true
  rmqctl add_user "$2" "$3" >/dev/null 2>&1 || rmqctl change_password "$2" "$3" >/dev/null
  rmqctl set_permissions -p "$1" "$2" '.*' '.*' '.*' >/dev/null
}

#!/bin/sh
# Entry point of the stand-in RabbitMQ image (deploy/images/rabbitmq/Dockerfile): turns the
# official image's environment variables into a conf.d file and the Erlang cookie, then runs
# the command (rabbitmq-server by default) in the foreground.
set -eu

# RABBITMQ_DEFAULT_USER/PASS/VHOST: the first user and vhost of a new node (rabbitmq.conf's
# default_* keys, which RabbitMQ applies only when its database is empty, as the official
# image does). Logs go to standard output only.
write_defaults() {
  conf=/etc/rabbitmq/conf.d/10-defaults.conf
  {
    echo "loopback_users.guest = false"
    echo "listeners.tcp.default = 5672"
    echo "management.tcp.port = 15672"
    echo "log.console = true"
    echo "log.console.level = info"
    echo "log.file = false"
    if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then echo "default_user = $RABBITMQ_DEFAULT_USER"; fi
    if [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then echo "default_pass = $RABBITMQ_DEFAULT_PASS"; fi
    if [ -n "${RABBITMQ_DEFAULT_VHOST:-}" ]; then echo "default_vhost = $RABBITMQ_DEFAULT_VHOST"; fi
  } >"$conf"
}

# RABBITMQ_ERLANG_COOKIE: the shared secret of a cluster's nodes (and of rabbitmqctl).
write_cookie() {
  [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ] || return 0
  cookie="$HOME/.erlang.cookie"
  rm -f "$cookie"
  (umask 077 && printf '%s' "$RABBITMQ_ERLANG_COOKIE" >"$cookie")
  chmod 400 "$cookie"
}

if [ "${1:-}" = rabbitmq-server ]; then
  write_defaults
  write_cookie
  shift
  # Debian's /usr/sbin/rabbitmq-server sends the server's output to files under
  # /var/log/rabbitmq; the script behind it keeps it on standard output, as docker expects.
  exec /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"

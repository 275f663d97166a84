# shellcheck shell=bash
# The local secrets and TLS material, made once and kept in $HOME_DIR: secrets.env (the broker
# and database passwords, the webhook, token-signing and data keys; read into the shell by
# `secrets`) and tls/ (a throw-away CA and a certificate for localhost, `tls_material`).
# Sourced by deploy/local.sh; expects HOME_DIR and die.

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

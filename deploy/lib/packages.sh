# shellcheck shell=bash
# What GridLoop needs installed, installed once: Debian packages (install_packages: each is
# checked with a file test, `command -v` or a Python import, and apt runs only when something
# is missing), docker-compose for the compose check (compose_tool), and the PyPI packages the
# tests drive the services with, fetched once into $HOME_DIR/python (test_python_clients).
# Sourced by deploy/local.sh; expects ROOT, HOME_DIR, PG_BIN, RMQ_BIN, log and die.

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
  fc-list 2>/dev/null | grep -i "wenquanyi\|noto sans cjk" >/dev/null || missing+=(fonts-wqy-microhei)  # not -q: with pipefail, grep leaving early fails fc-list
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

# docker-compose (Debian's), with which `test` validates deploy/docker-compose.yml.
compose_tool() {
  command -v docker-compose >/dev/null || apt-get install -y -q --no-install-recommends docker-compose >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends docker-compose >/dev/null; }
}

# One PyPI package for the tests, into $HOME_DIR/python unless it is there already: its wheel
# alone (pip download --no-deps; its dependencies come from Debian), unzipped.
test_python_package() { # name version module
  local dir="$HOME_DIR/python"
  [ -f "$dir/$3/__init__.py" ] && return
  mkdir -p "$dir" "$HOME_DIR/wheels"
  local pip=(python3 -m pip) wheel
  "${pip[@]}" --version >/dev/null 2>&1 || { apt-get install -y -q python3-pip >/dev/null 2>&1; pip=(/usr/bin/python3 -m pip); }
  "${pip[@]}" download --no-deps --quiet "$1==$2" -d "$HOME_DIR/wheels" || die "cannot download the $1 client from PyPI"
  wheel=$(find "$HOME_DIR/wheels" -maxdepth 1 -name "$1-$2-*.whl" | sort | head -1)
  [ -n "$wheel" ] || die "no $1 $2 wheel in $HOME_DIR/wheels"
  /usr/bin/python3 -m zipfile -e "$wheel" "$dir"
}

# The PyPI Open311 client the tests drive intake with (georeport; its dependencies from Debian).
georeport_client() {
  export GRIDLOOP_TEST_PYTHONPATH="$HOME_DIR/python"
  test_python_package georeport 0.3.1 georeport
}

# Every Python client of the tests, on GRIDLOOP_TEST_PYTHONPATH: georeport (Open311) and pika
# (AMQP, pure Python).
test_python_clients() {
  georeport_client
  test_python_package pika 1.3.2 pika
}

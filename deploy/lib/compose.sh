# shellcheck shell=bash
# `deploy/local.sh compose-test [default|cluster|all]`: deploy/docker-compose.yml for real, in
# docker (deploy/compose-test.sh, whose header says what each mode checks): the gridloop image
# built from deploy/Dockerfile, started, scaled, broken and healed, every request reconciled;
# figures → docs/benchmarks/compose.md. The image packages this machine's executables
# (PREBUILT=1), so they are built first, as `up` builds them; COMPOSE_TEST_BUILD=source
# compiles them inside docker instead (a release build: many minutes). The whole test run
# (`test` without arguments) runs `all` after the suite (deploy/lib/test.sh).
# Sourced by deploy/local.sh; expects ROOT, log, die, install_packages, build and bin_dir.

cmd_compose_test() { # [default|cluster|all]
  local mode="${1:-default}"
  case "$mode" in default | cluster | all) ;; *) die "compose-test [default|cluster|all]" ;; esac
  if [ "${COMPOSE_TEST_BUILD:-prebuilt}" = prebuilt ]; then
    install_packages
    build
    export GRIDLOOP_BIN_DIR COMPOSE_TEST_BUILD=prebuilt
    GRIDLOOP_BIN_DIR="$(cd "$ROOT" && bin_dir)"
  fi
  "$ROOT/deploy/compose-test.sh" "$mode"
}

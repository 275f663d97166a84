#!/usr/bin/env bash
# The images deploy/docker-compose.yml builds on and runs, decided one by one:
#
#   GRIDLOOP_SWIFT_IMAGE       swift:6.3-bookworm         (build stage of deploy/Dockerfile)
#   GRIDLOOP_RUNTIME_IMAGE     debian:bookworm-slim       (the services' image)
#   GRIDLOOP_RABBITMQ_IMAGE    rabbitmq:3.12-management
#   GRIDLOOP_POSTGRES_IMAGE    postgres:15
#   GRIDLOOP_SMTP_SINK_IMAGE   gridloop/smtp-sink:latest  (the `test` profile's mail catcher;
#                              always built here, on the runtime image)
#
# For each official image: if it is here already (`docker image inspect`), or a pull succeeds
# within GRIDLOOP_PULL_TIMEOUT seconds (20), it is used. Otherwise a stand-in is built on this
# machine from Debian's packages (needs only deb.debian.org, through the host's network):
#
#   gridloop/bookworm:latest          debootstrap --variant=minbase bookworm + docker import
#   gridloop/swift:6.3-bookworm       that + the official swift image's packages + /opt/swift
#                                     (+ /opt/swift-packages, the machine's copy of the Swift
#                                     packages, where there is one: deploy/images/swift)
#   gridloop/rabbitmq:3.10-management Debian's rabbitmq-server (deploy/images/rabbitmq)
#   gridloop/postgres:15              Debian's postgresql-15 (deploy/images/postgres)
#
# Idempotent: an image that exists is not built again (GRIDLOOP_IMAGES_REBUILD=1 rebuilds the
# stand-ins). What it chose goes to standard error as a table and to standard output as
# `export NAME=IMAGE` lines, for
#
#   eval "$(deploy/images.sh)"      # then: docker-compose -f deploy/docker-compose.yml …
#
# Arguments name the images to decide (runtime swift rabbitmq postgres smtp-sink; default:
# all): the swift image is needed only to build GridLoop's own image.
# GRIDLOOP_IMAGES_OFFLINE=1 skips the pull attempts (a machine known to have no registry).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PULL_TIMEOUT="${GRIDLOOP_PULL_TIMEOUT:-20}"
DEBIAN_MIRROR="${GRIDLOOP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BOOKWORM=gridloop/bookworm:latest
SWIFT_TOOLCHAIN="${GRIDLOOP_SWIFT_TOOLCHAIN:-/opt/swift}"
SWIFT_PACKAGES="${GRIDLOOP_SWIFT_PACKAGES:-/opt/swift-packages}"

log() { printf '\033[1m[images]\033[0m %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Whether the official image IMAGE can be used: here already, or pulled in time.
official_available() { # image
  image_exists "$1" && return 0
  [ "${GRIDLOOP_IMAGES_OFFLINE:-0}" = 1 ] && return 1
  log "pulling $1 (at most ${PULL_TIMEOUT}s)"
  timeout "$PULL_TIMEOUT" docker pull -q "$1" >/dev/null 2>&1
}

# Whether a stand-in must be built: missing, or a rebuild asked for.
needs_build() { [ "${GRIDLOOP_IMAGES_REBUILD:-0}" = 1 ] || ! image_exists "$1"; }

# docker build with the host's network (apt-get reaches Debian's mirror only through it); its
# output goes to a log shown only when it fails. The context comes from the file or directory
# CONTEXT, or from standard input when CONTEXT is "-".
build_image() { # tag dockerfile|"" context [build-arg…]
  local tag=$1 dockerfile=$2 context=$3 started=$SECONDS output
  shift 3
  output=$(mktemp)
  log "building $tag"
  if ! docker build --network host -t "$tag" ${dockerfile:+-f "$dockerfile"} "$@" "$context" >"$output" 2>&1; then
    tail -30 "$output" >&2
    die "building $tag failed"
  fi
  rm -f "$output"
  log "built $tag in $((SECONDS - started))s"
}

# gridloop/bookworm: a minimal Debian 12 root file system, imported as an image (once a run:
# the stand-ins built on it, in parallel, find it there).
BOOKWORM_DONE=0
build_bookworm() {
  [ "$BOOKWORM_DONE" = 1 ] && return 0
  BOOKWORM_DONE=1
  needs_build "$BOOKWORM" || return 0
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  local dir started=$SECONDS
  dir=$(mktemp -d /tmp/gridloop-bookworm.XXXXXX)
  log "debootstrap bookworm into $dir"
  debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" >"$dir.log" 2>&1 || { tail -5 "$dir.log" >&2; die "debootstrap failed (log: $dir.log)"; }
  # As debian:bookworm-slim: no apt lists or caches, no docs.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
  tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' - "$BOOKWORM" >/dev/null
  rm -rf "$dir" "$dir.log"
  log "imported $BOOKWORM in $((SECONDS - started))s"
}

# gridloop/swift: the build context is a tar stream of the Dockerfile, the toolchain and the
# local Swift packages (an empty directory where the machine has none).
build_swift() { # tag
  needs_build "$1" || return 0
  [ -x "$SWIFT_TOOLCHAIN/usr/bin/swift" ] || die "no Swift toolchain at $SWIFT_TOOLCHAIN (GRIDLOOP_SWIFT_TOOLCHAIN)"
  build_bookworm
  local empty packages
  empty=$(mktemp -d)
  mkdir "$empty/swift-packages"
  packages=("-C" "$empty" "swift-packages")
  if [ -d "$SWIFT_PACKAGES" ]; then packages=("-C" "$(dirname "$SWIFT_PACKAGES")" "--transform" "s,^$(basename "$SWIFT_PACKAGES"),swift-packages," "$(basename "$SWIFT_PACKAGES")"); fi
  log "the toolchain ($(du -sh "$SWIFT_TOOLCHAIN" | cut -f1)) goes into the image"
  tar -c -C "$ROOT/deploy/images/swift" Dockerfile \
      -C "$(dirname "$SWIFT_TOOLCHAIN")" --transform "s,^$(basename "$SWIFT_TOOLCHAIN"),swift," "$(basename "$SWIFT_TOOLCHAIN")" \
      "${packages[@]}" |
    build_image "$1" "" - --build-arg "BASE=$BOOKWORM"
  rm -rf "$empty"
}

build_rabbitmq() { # tag
  needs_build "$1" || return 0
  build_bookworm
  build_image "$1" "$ROOT/deploy/images/rabbitmq/Dockerfile" "$ROOT" --build-arg "BASE=$BOOKWORM"
}

build_postgres() { # tag
  needs_build "$1" || return 0
  build_bookworm
  build_image "$1" "$ROOT/deploy/images/postgres/Dockerfile" "$ROOT" --build-arg "BASE=$BOOKWORM"
}

build_runtime() { # tag
  [ "$1" = "$BOOKWORM" ] && build_bookworm
}

# The test mail catcher, on whichever runtime image was chosen.
build_smtp_sink() { # tag runtime-image
  needs_build "$1" || return 0
  build_image "$1" "$ROOT/deploy/images/smtp-sink/Dockerfile" "$ROOT" --build-arg "BASE=$2"
}

CHOICES=()
BUILDS=()   # "builder tag [argument]": the stand-ins to build, after every choice is made

# Decides one image: the official one, or the stand-in BUILDER makes; exports VARIABLE.
choose() { # variable official stand-in builder
  local variable=$1 official=$2 standin=$3 builder=$4 image source
  if [ -n "${!variable:-}" ] && [ "${!variable}" != "$official" ]; then
    image=${!variable}; source="given"
    image_exists "$image" || die "$variable=$image is not here"
  elif official_available "$official"; then
    image=$official; source="official"
  else
    BUILDS+=("$builder $standin")
    image=$standin; source="stand-in"
  fi
  printf -v "$variable" '%s' "$image"
  export "${variable?}"
  CHOICES+=("$(printf '%-26s %-34s %s' "$variable" "$image" "$source")")
}

# Builds what the choices need: the bookworm base first (the other stand-ins start from it),
# then the rest at once, each with its own log, shown when it is done (mostly waiting for
# Debian's mirror: bookworm, rabbitmq, postgres and smtp-sink from scratch took 56 s so, 68 s
# one by one, on two busy cores).
build_chosen() {
  [ ${#BUILDS[@]} -eq 0 ] && return 0
  local build pids=() logs=() index failed=0
  if [[ " ${BUILDS[*]} " == *" build_runtime "* || " ${BUILDS[*]} " == *" build_rabbitmq "* ||
    " ${BUILDS[*]} " == *" build_postgres "* || " ${BUILDS[*]} " == *" build_swift "* ]]; then
    build_bookworm
  fi
  for build in "${BUILDS[@]}"; do
    [ "${build%% *}" = build_runtime ] && continue
    logs+=("$(mktemp)")
    # shellcheck disable=SC2086 # "builder tag [argument]", no spaces within
    ( $build ) >"${logs[-1]}" 2>&1 &
    pids+=($!)
  done
  for index in "${!pids[@]}"; do
    wait "${pids[$index]}" || failed=1
    cat "${logs[$index]}" >&2
    rm -f "${logs[$index]}"
  done
  [ "$failed" = 0 ] || die "building the stand-ins failed (above)"
}

wanted() { [ ${#WANTED[@]} -eq 0 ] || [[ " ${WANTED[*]} " == *" $1 "* ]]; }

main() {
  WANTED=("$@")
  command -v docker >/dev/null || die "docker is missing"
  docker info >/dev/null 2>&1 || die "the Docker engine does not answer (start dockerd)"
  # The runtime image is decided first: the mail catcher is built on it.
  choose GRIDLOOP_RUNTIME_IMAGE debian:bookworm-slim "$BOOKWORM" build_runtime
  wanted swift && choose GRIDLOOP_SWIFT_IMAGE swift:6.3-bookworm gridloop/swift:6.3-bookworm build_swift
  wanted rabbitmq && choose GRIDLOOP_RABBITMQ_IMAGE rabbitmq:3.12-management gridloop/rabbitmq:3.10-management build_rabbitmq
  wanted postgres && choose GRIDLOOP_POSTGRES_IMAGE postgres:15 gridloop/postgres:15 build_postgres
  if wanted smtp-sink; then
    GRIDLOOP_SMTP_SINK_IMAGE="${GRIDLOOP_SMTP_SINK_IMAGE:-gridloop/smtp-sink:latest}"
    BUILDS+=("build_smtp_sink $GRIDLOOP_SMTP_SINK_IMAGE $GRIDLOOP_RUNTIME_IMAGE")
    CHOICES+=("$(printf '%-26s %-34s %s' GRIDLOOP_SMTP_SINK_IMAGE "$GRIDLOOP_SMTP_SINK_IMAGE" "built here")")
  fi
  build_chosen
  printf '%s\n' "${CHOICES[@]}" >&2
  local variable
  for variable in GRIDLOOP_RUNTIME_IMAGE GRIDLOOP_SWIFT_IMAGE GRIDLOOP_RABBITMQ_IMAGE GRIDLOOP_POSTGRES_IMAGE GRIDLOOP_SMTP_SINK_IMAGE; do
    [ -n "${!variable:-}" ] && printf 'export %s=%q\n' "$variable" "${!variable}"
  done
  return 0
}

main "$@"

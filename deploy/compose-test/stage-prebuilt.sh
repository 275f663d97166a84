#!/usr/bin/env bash
# Stages the executables this machine already built for deploy/Dockerfile's PREBUILT=1 path
# (CI and deploy/compose-test.sh: no second, release build inside docker):
#
#   deploy/compose-test/stage-prebuilt.sh [DIR]      (default deploy/prebuilt, gitignored)
#
#   DIR/bin/       gridloop, gridloop-intake, -routing, -notification, -reporting, -web and the
#                  *.resources bundles, from `swift build --show-bin-path` (GRIDLOOP_BIN_DIR
#                  overrides it); the debugger's sections (DWARF, .swift_ast) are left out,
#                  the code and its symbols are the build's own
#   DIR/runtime/   the toolchain's Swift runtime libraries (/opt/swift/usr/lib/swift/linux/*.so*,
#                  GRIDLOOP_SWIFT_TOOLCHAIN/usr/lib/swift/linux): the executables' RUNPATH
#                  names that directory, and the image puts them there
#
# Then: docker build -f deploy/Dockerfile --build-arg PREBUILT=1 --build-arg SWIFT_IMAGE=<runtime
# image> … (docker-compose.yml: GRIDLOOP_PREBUILT=1 GRIDLOOP_SWIFT_IMAGE=$GRIDLOOP_RUNTIME_IMAGE).
# Warns when a Swift source is newer than the executables (the image would hold an old build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${1:-$ROOT/deploy/prebuilt}"
TOOLCHAIN="${GRIDLOOP_SWIFT_TOOLCHAIN:-/opt/swift}"
SWIFT_LIB="$TOOLCHAIN/usr/lib/swift/linux"
EXECUTABLES=(gridloop gridloop-intake gridloop-routing gridloop-notification gridloop-reporting gridloop-web)

log() { printf '\033[1m[stage-prebuilt]\033[0m %s\n' "$*" >&2; }
die() { printf '[stage-prebuilt] error: %s\n' "$*" >&2; exit 1; }

started=$SECONDS
bin="${GRIDLOOP_BIN_DIR:-}"
if [ -z "$bin" ]; then
  bin=$(cd "$ROOT" && PATH="$TOOLCHAIN/usr/bin:$PATH" swift build --show-bin-path 2>/dev/null) || die "no Swift build path (swift build --show-bin-path)"
fi
for executable in "${EXECUTABLES[@]}"; do
  [ -x "$bin/$executable" ] || die "$bin/$executable is missing: build first (swift build)"
done
compgen -G "$bin/*.resources" >/dev/null || die "no *.resources bundle in $bin"
[ -f "$SWIFT_LIB/libswiftCore.so" ] || die "no Swift runtime in $SWIFT_LIB (GRIDLOOP_SWIFT_TOOLCHAIN)"
newer=$(cd "$ROOT" && find Package.swift Shared Services -name '*.swift' -newer "$bin/gridloop-intake" -print -quit)
[ -z "$newer" ] || log "WARNING: $newer is newer than $bin/gridloop-intake: the image gets the last build, not the sources (swift build first)"

rm -rf "$DIR"
mkdir -p "$DIR/bin" "$DIR/runtime"
for executable in "${EXECUTABLES[@]}"; do
  if command -v objcopy >/dev/null; then
    objcopy --strip-debug --remove-section=.swift_ast "$bin/$executable" "$DIR/bin/$executable"
  else
    cp "$bin/$executable" "$DIR/bin/"
  fi
done
cp -R "$bin"/*.resources "$DIR/bin/"
cp -P "$SWIFT_LIB"/*.so* "$DIR/runtime/"
chmod -R a+rX "$DIR"   # the build leaves some files private to its user
log "staged $bin ($(du -sh "$DIR/bin" | cut -f1)) and $SWIFT_LIB ($(du -sh "$DIR/runtime" | cut -f1)) in $DIR in $((SECONDS - started))s"

#!/usr/bin/env bash
# End-to-end scenarios: builds what they need, then runs clawpost-e2e.
#
#   scripts/e2e.sh [RUNNER OPTIONS] [DIR...]   (./build.sh e2e passes its arguments here)
#
# Builds the server and the runner (release), rebuilds dist/extension with
# scripts/build-extension.sh when it is missing or older than its sources,
# and runs every scenario under e2e/scenarios (or each DIR). The runner
# installs Debian chromium/chromium-driver itself when they are missing.
# Options: see `target/release/clawpost-e2e --help` (e.g. --no-worker-restart,
# --headed: Chromium with a window on its own Xvfb display, xvfb installed
# with apt-get when missing, a user tab in front of the jobs' tabs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

log "Building the server and the end-to-end runner (release)"
cargo build --release -p clawpost-server -p clawpost-e2e

extension_stale() {
  local stamp="$ROOT/dist/extension/manifest.json"
  [ -f "$stamp" ] || return 0
  local src
  for src in extension extension-core static manifest.json scripts/build-extension.sh; do
    [ -e "$ROOT/$src" ] || continue
    if [ -n "$(find "$ROOT/$src" -newer "$stamp" -type f -not -path '*/target/*' -print -quit)" ]; then
      return 0
    fi
  done
  return 1
}

if [ -x "$ROOT/scripts/build-extension.sh" ]; then
  if extension_stale; then
    log "Building the extension (dist/extension)"
    "$ROOT/scripts/build-extension.sh"
  fi
else
  log "scripts/build-extension.sh does not exist yet; running without a fresh extension build"
fi

log "Running the end-to-end scenarios"
exec "$ROOT/target/release/clawpost-e2e" --root "$ROOT" "$@"

#!/usr/bin/env bash
# End-to-end scenarios: installs and builds what they need, then runs clawpost-e2e.
#
#   scripts/e2e.sh [RUNNER OPTIONS] [DIR...]   (./build.sh e2e passes its arguments here)
#
# Installs Debian chromium/chromium-driver when missing (and xvfb with
# --headed), builds the server and the runner (release), rebuilds
# dist/extension with scripts/build-extension.sh when it is missing or older
# than its sources, and runs every scenario under e2e/scenarios (or each DIR).
# Options: see `target/release/clawpost-e2e --help` (e.g. --no-worker-restart,
# --headed: Chromium with a window on its own Xvfb display, a user tab in
# front of the jobs' tabs).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

ensure_chromium
for arg in "$@"; do
  if [ "$arg" = --headed ]; then ensure_xvfb; fi
done

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

if extension_stale; then
  log "Building the extension (dist/extension)"
  "$ROOT/scripts/build-extension.sh"
fi

log "Running the end-to-end scenarios"
exec "$ROOT/target/release/clawpost-e2e" --root "$ROOT" "$@"

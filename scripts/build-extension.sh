#!/usr/bin/env bash
# Builds the Claw Post Chrome extension into dist/extension (load it with
# chrome://extensions → Developer mode → Load unpacked).
#
#   scripts/build-extension.sh
#
# Installs what it needs when missing: the wasm32 Rust target and the
# wasm-bindgen CLI at exactly the version in Cargo.lock. Builds the worker
# (extension/) and the popup (extension/popup/) for wasm32 in release,
# generates their JS bindings (--target web), assembles manifest, shims, DOM
# agent, pages, icons and wasm, and prints the shipped wasm sizes.
#
# Environment:
#   CLAWPOST_SERVER_URL  default server URL compiled in (else http://127.0.0.1:8080)
#   CLAWPOST_EXTENSION_OUT  the output folder (default dist/extension)
#   CLAWPOST_EXTENSION_QUICK=1  a quicker build for development (no LTO, larger wasm)
#   WASM_OPT             a binaryen >= 116 wasm-opt to shrink the modules (optional;
#                        Debian's wasm-opt 108 breaks wasm-bindgen output, so it is never
#                        picked up from PATH)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
OUT=${CLAWPOST_EXTENSION_OUT:-$ROOT/dist/extension}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

build_wasm() {
  if [ "${CLAWPOST_EXTENSION_QUICK:-0}" = 1 ]; then
    # For development: a plain release build (no LTO), much faster to rebuild.
    log "Building the worker and the popup for wasm32 (release, quick)"
    cargo build --release --target wasm32-unknown-unknown \
      -p clawpost-extension -p clawpost-popup
    return
  fi
  log "Building the worker and the popup for wasm32 (release)"
  CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
  CARGO_PROFILE_RELEASE_LTO=true \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  CARGO_PROFILE_RELEASE_PANIC=abort \
    cargo build --release --target wasm32-unknown-unknown \
      -p clawpost-extension -p clawpost-popup
}

bindgen() {
  local name=$1
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$OUT/wasm" \
    "$TARGET_DIR/wasm32-unknown-unknown/release/$name.wasm"
}

maybe_optimize() {
  local wasm_opt=${WASM_OPT:-}
  [ -n "$wasm_opt" ] || return 0
  local ver
  ver=$("$wasm_opt" --version 2>/dev/null | grep -oE '[0-9]+' | head -n1 || true)
  if [ -z "$ver" ] || [ "$ver" -lt 116 ]; then
    log "Skipping wasm-opt ($wasm_opt is version ${ver:-unknown}; 116 or newer is needed)"
    return 0
  fi
  for f in "$OUT"/wasm/*.wasm; do
    "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$f" -o "$f.opt" && mv "$f.opt" "$f"
  done
}

assemble() {
  log "Assembling $OUT"
  rm -rf "$OUT"
  mkdir -p "$OUT/wasm"
  cp "$ROOT/manifest.json" "$OUT/"
  for f in worker.js dom-agent.js net-watch.js offscreen.html offscreen.js popup.html popup.js options.html options.js ui.css; do
    cp "$ROOT/static/$f" "$OUT/"
  done
  cp -r "$ROOT/static/icons" "$OUT/"
  bindgen clawpost_extension
  bindgen clawpost_popup
  maybe_optimize
}

report_sizes() {
  log "Shipped WASM"
  for f in "$OUT"/wasm/*.wasm; do
    printf '  %-28s %8d bytes raw  %8d bytes gzip\n' "$(basename "$f")" \
      "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)"
  done
}

ensure_wasm_target
ensure_wasm_bindgen
build_wasm
assemble
report_sizes
echo "Extension ready: $OUT" >&2

#!/usr/bin/env bash
# Runs the extension's tests.
#
#   scripts/test-extension.sh            native tests, then the browser tests
#   scripts/test-extension.sh --browser  only the browser tests
#
# Native (cargo test): the selector packs and the flow engine
# (extension-core), the worker runtime with an in-memory host, the popup's
# helpers. Browser (wasm-bindgen-test in headless Chromium): the DOM agent's
# primitives against strict fixture pages, and the worker runtime through
# the real chrome.* bindings with chrome.* and fetch replaced.
#
# Installs what it needs when missing: the wasm32 target, wasm-bindgen-cli at
# the Cargo.lock version, and Debian's chromium + chromium-driver (as root).
# With those in place, `wasm-pack test --headless --chrome extension` runs the
# same browser tests (extension/webdriver.json, extension/.cargo/config.toml).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

only_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) only_browser=1 ;;
    *) die "unknown option: $arg" ;;
  esac
done

if [ "$only_browser" = 0 ]; then
  log "Extension tests: native"
  cargo test -p extension-core -p clawpost-extension -p clawpost-popup
fi

ensure_wasm_target
ensure_wasm_bindgen
ensure_chromium
log "Extension tests: headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=$(command -v chromedriver) \
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/extension/webdriver.json" \
WASM_BINDGEN_TEST_ONLY_WEB=1 \
WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-90} \
  cargo test --target wasm32-unknown-unknown -p clawpost-extension \
    --test suite

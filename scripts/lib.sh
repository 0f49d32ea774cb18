# Shared shell helpers for build.sh and scripts/*.sh (sourced, not run).
#
# Sets ROOT to the repository root and defines logging and the installers of
# what more than one script needs. Every ensure_* does nothing when the tool
# is already there.
#
#   log MESSAGE               a bold progress line on stderr
#   die MESSAGE               an error on stderr, exit 1
#   apt_install PACKAGE...    Debian packages with apt-get (as root)
#   ensure_chromium           chromium and chromedriver (Debian chromium, chromium-driver)
#   ensure_xvfb               Xvfb (Debian xvfb), for headed Chromium
#   ensure_wasm_target        the wasm32-unknown-unknown Rust target
#   wasm_bindgen_version      the wasm-bindgen version pinned in Cargo.lock
#   ensure_wasm_bindgen       wasm-bindgen-cli (wasm-bindgen, wasm-bindgen-test-runner) at that version

# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_install() {
  [ "$(id -u)" = 0 ] || die "$* not installed; as root: apt-get install $*"
  log "Installing $* with apt-get"
  # Waits for another apt-get (e.g. a parallel run installing the same) instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -q
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@"
  hash -r
}

# Headless Chromium and chromedriver, for everything that drives a real
# browser: the dashboard's WebDriver test, the extension's browser tests and
# the end-to-end runner.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  apt_install chromium chromium-driver
}

# Xvfb, the virtual display headed Chromium runs on (clawpost-e2e --headed).
ensure_xvfb() {
  if command -v Xvfb >/dev/null 2>&1; then return 0; fi
  apt_install xvfb
}

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "Installing the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
  fi
}

# The wasm-bindgen version pinned in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_bindgen() {
  local v
  v=$(wasm_bindgen_version)
  [ -n "$v" ] || die "no wasm-bindgen in Cargo.lock"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $v" ]; then
    log "Installing wasm-bindgen-cli $v (takes a few minutes, once)"
    # No --locked: its own lockfile pins crates the registry mirror may lack.
    cargo install wasm-bindgen-cli --version "=$v"
  fi
}

#!/usr/bin/env bash
# Claw Post build script. Everything a fresh machine needs goes through here.
#
#   ./build.sh run [SERVER ARGS...]   build, then start the server on the embedded SQLite default
#   ./build.sh test [--no-postgres]   install what the tests need, then run every test
#   ./build.sh check                  quick tier: fmt, clippy, native tests, server suite on SQLite
#   ./build.sh build                  build the server (release) and the extension (dist/extension)
#   ./build.sh e2e [--headed] [DIR...]  run end-to-end scenarios (see shared spec; --headed: under Xvfb)
#   ./build.sh help
set -euo pipefail
# log, die and the install helpers shared with scripts/*.sh; sets ROOT.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/scripts/lib.sh"
cd "$ROOT"

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

POSTGRES_URL_DEFAULT="postgres://postgres@127.0.0.1:5432/test"

build_server() {
  log "Building the server (release)"
  cargo build --release -p clawpost-server
}

build_extension() {
  # The extension build (Rust → WASM, dist/extension) lives in its own script
  # once the extension exists.
  if [ -x "$ROOT/scripts/build-extension.sh" ]; then
    "$ROOT/scripts/build-extension.sh"
  else
    mkdir -p dist/extension
    cp manifest.json dist/extension/ 2>/dev/null || true
  fi
}

postgres_reachable() {
  local url=${CLAWPOST_TEST_POSTGRES_URL:-$POSTGRES_URL_DEFAULT}
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -d "$url" >/dev/null 2>&1
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

ensure_postgres() {
  if postgres_reachable; then return 0; fi
  # A local cluster that is installed but stopped can be started.
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    log "Starting the local PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do postgres_reachable && return 0; sleep 1; done
  fi
  die "PostgreSQL is unreachable at ${CLAWPOST_TEST_POSTGRES_URL:-$POSTGRES_URL_DEFAULT}.
Start it, point CLAWPOST_TEST_POSTGRES_URL at a database, or run './build.sh test --no-postgres'."
}

cmd_run() {
  build_server
  build_extension
  log "Starting the server (Ctrl-C stops it)"
  echo "Extension folder to load in Chrome (chrome://extensions → Developer mode → Load unpacked): $ROOT/dist/extension" >&2
  exec "$ROOT/target/release/clawpost-server" serve "$@"
}

# moto: the S3-compatible server the media tests run the S3 store against.
ensure_moto() {
  if command -v moto_server >/dev/null 2>&1; then return 0; fi
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to install moto (the S3 test server)"
  log "Installing moto (S3 test server) from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' \
    || die "could not install moto: pip install 'moto[server]'"
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  hash -r
  command -v moto_server >/dev/null 2>&1 || die "moto is installed but moto_server is not on PATH"
}

# The official Python MCP SDK, for the MCP end-to-end test (server/tests/mcp_e2e.rs).
ensure_mcp_client() {
  local venv="$ROOT/target/mcp-venv"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import mcp' >/dev/null 2>&1; then return 0; fi
  log "Installing the Python MCP SDK into target/mcp-venv"
  mkdir -p "$ROOT/target"
  python3 -m venv "$venv" || die "python3 -m venv failed (install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/server/tests/mcp/requirements.txt" \
    || die "could not install the MCP SDK: pip install -r server/tests/mcp/requirements.txt"
}

# The end-to-end scenarios in CLAWPOST_E2E_SHARES (default 3) independent
# runs side by side (each its own server, fixture server and Chromium; the
# scenarios mostly wait on pages, so they share two cores well). Prints every
# PASS/FAIL line and one total `N passed, M failed`.
run_e2e_shares() {
  local bin=$1 shares=${CLAWPOST_E2E_SHARES:-3} out="$ROOT/target/e2e"
  mkdir -p "$out"
  local pids=() i
  for i in $(seq 1 "$shares"); do
    "$bin/clawpost-e2e" --root "$ROOT" --server-bin "$bin/clawpost-server" --shard "$i/$shares" \
      >"$out/share-$i.out" 2>"$out/share-$i.err" &
    pids+=($!)
  done
  local status=0
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || status=1; done
  local passed=0 failed=0 line
  for i in $(seq 1 "$shares"); do
    while IFS= read -r line; do
      if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
      else
        printf '%s\n' "$line"
      fi
    done <"$out/share-$i.out"
    if grep -q '^FAIL' "$out/share-$i.out" || ! grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$out/share-$i.out"; then
      printf -- '--- share %s of %s, stderr (last 40 lines; all in %s) ---\n' "$i" "$shares" "$out/share-$i.err"
      tail -n 40 "$out/share-$i.err"
    fi
  done
  echo "$passed passed, $failed failed"
  return "$status"
}

cmd_test() {
  local no_postgres=0
  for arg in "$@"; do
    case "$arg" in
      --no-postgres) no_postgres=1 ;;
      *) die "unknown test option: $arg" ;;
    esac
  done
  local skip=()
  if [ "$no_postgres" = 1 ]; then
    log "Skipping the PostgreSQL half of the suite (--no-postgres)"
    skip=(--skip postgres)
  else
    ensure_postgres
  fi
  ensure_moto
  ensure_mcp_client
  log "Checking formatting"
  cargo fmt --all -- --check
  log "Running clippy"
  cargo clippy --workspace --all-targets -- -D warnings
  # The dashboard's WebDriver test, the extension's browser tests and the
  # end-to-end runner need Chromium and chromedriver; the runner's own tests
  # also run Chromium headed, on Xvfb.
  ensure_chromium
  ensure_xvfb
  local failed=()
  # Everything at once, with the features the tests use, so the binaries the
  # end-to-end run needs (server, runner) come out of this one build.
  log "Building the workspace (debug, all targets)"
  cargo build --workspace --all-targets
  log "Running the workspace tests"
  cargo test --workspace --no-fail-fast -- "${skip[@]}" || failed+=("workspace tests")
  log "Running the OpenAPI conformance check (Schemathesis)"
  "$ROOT/scripts/schemathesis.sh" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/clawpost-server" \
    || failed+=("OpenAPI conformance (scripts/schemathesis.sh)")
  log "Running the extension's tests in headless Chromium"
  "$ROOT/scripts/test-extension.sh" --browser || failed+=("extension browser tests")
  log "Building the extension (dist/extension)"
  if "$ROOT/scripts/build-extension.sh"; then
    log "Running the end-to-end scenarios and the worker-restart check"
    # The debug binaries of the workspace build above.
    local bin=${CARGO_TARGET_DIR:-$ROOT/target}/debug
    run_e2e_shares "$bin" || failed+=("end-to-end scenarios")
  else
    failed+=("extension build")
  fi
  if [ ${#failed[@]} -gt 0 ]; then
    die "failed: ${failed[*]}"
  fi
  log "All tests passed"
}

# The quick tier: everything that needs no browser, PostgreSQL, S3 or
# Python. `./build.sh test` runs all of it again and the rest.
cmd_check() {
  log "Checking formatting"
  cargo fmt --all -- --check
  log "Running clippy"
  cargo clippy --workspace --all-targets -- -D warnings
  log "Running the native tests and the server suite on SQLite"
  # The server's suite without the tests that need a browser (dashboard_browser)
  # or the Python MCP SDK (mcp_e2e); ./build.sh test runs those.
  cargo test -p clawpost-server -p clawpost-store --lib --bins --tests -- \
    --skip postgres --skip dashboard_browser --skip mcp_e2e
  cargo test -p extension-core -p clawpost-extension -p clawpost-popup
  log "Quick checks passed (./build.sh test runs everything)"
}

cmd_e2e() {
  [ -x "$ROOT/scripts/e2e.sh" ] || die "the end-to-end runner is not built yet"
  exec "$ROOT/scripts/e2e.sh" "$@"
}

main() {
  local cmd=${1:-help}
  shift || true
  case "$cmd" in
    run) cmd_run "$@" ;;
    test) cmd_test "$@" ;;
    check) cmd_check ;;
    build) build_server; build_extension ;;
    e2e) cmd_e2e "$@" ;;
    help|-h|--help) sed -n '2,9p' "$ROOT/build.sh" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command: $cmd (try ./build.sh help)" ;;
  esac
}

main "$@"

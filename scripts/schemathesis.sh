#!/usr/bin/env bash
# OpenAPI conformance run: Schemathesis against the server's own /openapi.json.
#
#   scripts/schemathesis.sh [SERVER_BIN] [-- EXTRA ST RUN ARGS...]
#
# Starts SERVER_BIN (default target/debug/clawpost-server) on a free loopback
# port with a fresh SQLite data folder and rate limits raised a thousandfold
# (every request comes from one address), creates a tenant (API key), pairs a
# device (device bearer token), queues and leases jobs and issues signed media
# URLs (server/tests/schemathesis/prepare.py), then runs Schemathesis with
# the checks not_a_server_error, status_code_conformance,
# content_type_conformance and response_schema_conformance (configuration:
# server/tests/schemathesis/schemathesis.toml). Exits non-zero on any failure.
# The server is always stopped and the data folder removed.
#
# Schemathesis is installed from server/tests/schemathesis/requirements.txt
# into target/schemathesis-venv on first use.
#
# Environment:
#   CLAWPOST_ST_MAX_EXAMPLES  test cases per operation and phase (default: the config's)
#   CLAWPOST_ST_SEED          random seed (default: the config's, fixed)
#   CLAWPOST_ST_SCHEMA        test this OpenAPI file instead of the server's /openapi.json
#                             (the server is still the base URL): for trying document changes
#   CLAWPOST_ST_REPORT_DIR    where the reports go (default target/schemathesis): junit.xml,
#                             events.ndjson, openapi.json (the document tested) and summary.txt
#                             (every status each operation answered, and each failed check)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ST_DIR="$ROOT/server/tests/schemathesis"

BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/clawpost-server
if [ $# -gt 0 ] && [ "$1" != "--" ]; then BIN=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
EXTRA_ARGS=("$@")
[ -x "$BIN" ] || die "no server binary at $BIN (build it: cargo build -p clawpost-server)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed for Schemathesis"
command -v curl >/dev/null 2>&1 || die "curl is needed"

# Schemathesis, pinned, in its own virtualenv.
VENV="$ROOT/target/schemathesis-venv"
REQS="$ST_DIR/requirements.txt"
ensure_schemathesis() {
  local stamp="$VENV/.requirements"
  if [ -x "$VENV/bin/st" ] && cmp -s "$REQS" "$stamp"; then return 0; fi
  log "Installing Schemathesis into target/schemathesis-venv"
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || die "python3 -m venv failed (install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS" \
    || die "could not install Schemathesis: pip install -r server/tests/schemathesis/requirements.txt"
  cp "$REQS" "$stamp"
}
ensure_schemathesis

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawpost-schemathesis.XXXXXX")
SERVER_PID=
ST_PID=
cleanup() {
  local pid
  for pid in "$ST_PID" "$SERVER_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Only what this run sets: no outside database, media store, OpenID provider
# or pacing from the caller's environment. (`env` execs the server, so a
# background server's $! is the server itself.)
SERVER_ENV=(env -u DATABASE_URL -u CLAWPOST_MEDIA_STORE_URL -u CLAWPOST_OIDC_CLIENT_ID
  -u CLAWPOST_OIDC_CLIENT_SECRET -u CLAWPOST_OIDC_EXTENSION_CLIENT_ID -u CLAWPOST_OIDC_ISSUER
  -u CLAWPOST_SELECTOR_PACKS -u CLAWPOST_POST_INTERVAL -u CLAWPOST_PUBLIC_URL -u CLAWPOST_BIND
  -u CLAWPOST_ALLOW_EXTERNAL_MEDIA -u CLAWPOST_DEFAULT_QUOTA -u CLAWPOST_LEASE_SECONDS
  -u CLAWPOST_NO_PACING -u CLAWPOST_TRUSTED_PROXIES -u CLAWPOST_RATE_LIMIT_FACTOR
  CLAWPOST_DATA_DIR="$WORK/data")

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

mkdir -p "$WORK/data"
TENANT=$("${SERVER_ENV[@]}" "$BIN" tenant create --name schemathesis --quota 1000000) || die "tenant create failed"
API_KEY=$(printf '%s' "$TENANT" | python3 -c 'import json, sys; print(json.load(sys.stdin)["apiKey"])')

# Start the server; retry on another port if the chosen one was taken meanwhile.
BASE=
for _ in 1 2 3; do
  PORT=$(free_port)
  "${SERVER_ENV[@]}" "$BIN" serve --bind "127.0.0.1:$PORT" --no-pacing --lease-seconds 600 \
    --rate-limit-factor 1000 >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
      BASE="http://127.0.0.1:$PORT"
      break 2
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
done
if [ -z "$BASE" ]; then
  cat "$WORK/server.log" >&2 || true
  die "the server did not start"
fi
log "Server up at $BASE"

# A paired device, jobs and signed media URLs for the run to use.
PREPARED=$(python3 "$ST_DIR/prepare.py" "$BASE" "$API_KEY" "$WORK") || die "preparing the server failed"
cp "$ST_DIR/schemathesis.toml" "$WORK/schemathesis.toml"
eval "$PREPARED"
export CLAWPOST_ST_API_KEY=$API_KEY

REPORT_DIR=${CLAWPOST_ST_REPORT_DIR:-$ROOT/target/schemathesis}
mkdir -p "$REPORT_DIR"
REPORT_DIR=$(cd "$REPORT_DIR" && pwd)
rm -f "$REPORT_DIR/junit.xml" "$REPORT_DIR/events.ndjson" "$REPORT_DIR/summary.txt"
SCHEMA="$BASE/openapi.json"
if [ -n "${CLAWPOST_ST_SCHEMA:-}" ]; then
  cp "$CLAWPOST_ST_SCHEMA" "$REPORT_DIR/openapi.json" || die "cannot read $CLAWPOST_ST_SCHEMA"
  SCHEMA="$REPORT_DIR/openapi.json"
else
  curl -fsS -o "$REPORT_DIR/openapi.json" "$SCHEMA" || die "GET /openapi.json failed"
fi
ARGS=(--report junit,ndjson --report-dir "$REPORT_DIR"
  --report-junit-path "$REPORT_DIR/junit.xml" --report-ndjson-path "$REPORT_DIR/events.ndjson")
[ -n "${CLAWPOST_ST_MAX_EXAMPLES:-}" ] && ARGS+=(--max-examples "$CLAWPOST_ST_MAX_EXAMPLES")
[ -n "${CLAWPOST_ST_SEED:-}" ] && ARGS+=(--seed "$CLAWPOST_ST_SEED")

[ "$SCHEMA" = "$BASE/openapi.json" ] || ARGS+=(--url "$BASE")
log "Running Schemathesis: $SCHEMA"
START=$(date +%s)
# In the background, so that an interrupt stops it at once (see cleanup); in
# the temporary folder, where Hypothesis leaves its .hypothesis cache.
(cd "$WORK" && exec "$VENV/bin/st" --config-file "$WORK/schemathesis.toml" --no-color \
  run "$SCHEMA" "${ARGS[@]}" "${EXTRA_ARGS[@]}") &
ST_PID=$!
status=0
wait "$ST_PID" || status=$?
ST_PID=
log "Schemathesis finished in $(($(date +%s) - START))s (exit $status)"
if [ -f "$REPORT_DIR/events.ndjson" ]; then
  python3 "$ST_DIR/summarize.py" "$REPORT_DIR/openapi.json" "$REPORT_DIR/events.ndjson" >"$REPORT_DIR/summary.txt" \
    && log "Every status seen, per operation: $REPORT_DIR/summary.txt"
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo '--- the server exited during the run; its log: ---' >&2
  tail -n 40 "$WORK/server.log" >&2
  status=1
fi
exit "$status"

#!/usr/bin/env bash
# Peak server memory while a large file is PUT to a signed upload URL.
#
#   bench/media_put_memory.sh [SIZE_MB]     (default 1024: a 1 GB video)
#
# Builds the release server, starts it on a scratch data folder (local media
# store), creates a tenant, asks for an upload URL for an MP4 of SIZE_MB,
# PUTs a generated file with curl, and reports the server's peak resident
# memory (VmHWM) before and after the upload, sampled from /proc. The body
# is streamed to storage, so the peak should not grow with the file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE_MB=${1:-1024}
BYTES=$((SIZE_MB * 1024 * 1024))

cargo build --release -q -p clawpost-server
BIN="$ROOT/target/release/clawpost-server"

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export CLAWPOST_DATA_DIR="$WORK/data"
KEY=$("$BIN" tenant create --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')

# A free port on the loopback interface.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
"$BIN" serve --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.1
done

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$SERVER_PID/status"; }

# An MP4 header (so the magic bytes match video/mp4), then zeros.
FILE="$WORK/big.mp4"
{ printf '\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isommp41'; head -c $((BYTES - 24)) /dev/zero; } >"$FILE"

ISSUED=$(curl -fsS -X POST "$BASE/v1/media/upload-url" -H "clawpost-api-key: $KEY" \
  -H 'Content-Type: application/json' -d "{\"filename\": \"big.mp4\", \"bytes\": $BYTES}")
UPLOAD_URL=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["uploadUrl"])' "$ISSUED")

BEFORE=$(kib VmHWM)
START=$(date +%s.%N)
# Sample the resident set while the upload runs.
( peak=0; while kill -0 "$SERVER_PID" 2>/dev/null; do
    r=$(kib VmRSS); [ "${r:-0}" -gt "$peak" ] && peak=$r; echo "$peak" >"$WORK/rss_peak"; sleep 0.05
  done ) &
SAMPLER=$!
CODE=$(curl -sS -o "$WORK/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: video/mp4' \
  -T "$FILE" "$UPLOAD_URL")
END=$(date +%s.%N)
kill "$SAMPLER" 2>/dev/null || true
AFTER=$(kib VmHWM)
[ "$CODE" = 200 ] || { echo "PUT failed with $CODE: $(cat "$WORK/put.json")"; exit 1; }
STORED=$(find "$CLAWPOST_DATA_DIR/media" -type f -name 'big.mp4' -printf '%s\n')
[ "$STORED" = "$BYTES" ] || { echo "stored $STORED bytes, expected $BYTES"; exit 1; }

SECS=$(python3 -c "print(f'{$END - $START:.1f}')")
MBPS=$(python3 -c "print(f'{$SIZE_MB / ($END - $START):.0f}')")
echo "PUT of $SIZE_MB MB: HTTP $CODE in ${SECS}s (${MBPS} MB/s); stored $STORED bytes"
echo "server VmHWM (peak RSS): before ${BEFORE} KiB, after ${AFTER} KiB (+$((AFTER - BEFORE)) KiB); sampled VmRSS peak during the upload $(cat "$WORK/rss_peak") KiB"

"""Prepare a fresh server for the Schemathesis run and print the test data.

    python3 prepare.py BASE_URL API_KEY OUT_DIR

Pairs a device (register, pair with the API key, collect the device token
from the status poll), queues jobs (two leased to that device, so progress
and ack reach their 200 and 409 answers; one left queued), and issues two
signed upload URLs for a small PNG, one uploaded (so GET of the signed media
URL reaches 200) and one not (so fuzzed PUTs reach the checks past the
signature). Prints one `export NAME=VALUE` line per value, for the shell to eval,
and writes the job ids to OUT_DIR/jobs.dict (a libFuzzer-style dictionary);
schemathesis.toml reads both.
"""

from __future__ import annotations

import json
import shlex
import sys
import urllib.parse
import urllib.request
from typing import Any

# A PNG signature and padding: enough for the server's type sniffing.
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24


def put(url: str, body: bytes, content_type: str) -> None:
    request = urllib.request.Request(url, data=body, method="PUT")
    request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def call(base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def signed_parts(url: str) -> tuple[str, str, str, str]:
    parsed = urllib.parse.urlsplit(url)
    _, _, _, _, media_id, name = parsed.path.split("/")
    query = dict(urllib.parse.parse_qsl(parsed.query))
    return media_id, urllib.parse.unquote(name), query["expires"], query["signature"]


def main() -> int:
    base, api_key, out_dir = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    key = {"clawpost-api-key": api_key}

    registered = call(base, "POST", "/v1/connect/register", {"name": "schemathesis"})
    call(base, "POST", "/v1/connect/pair", {"code": registered["pairingCode"]}, key)
    query = urllib.parse.urlencode({"deviceId": registered["deviceId"]})
    poll = {"Authorization": f"Bearer {registered['pollToken']}"}
    status = call(base, "GET", f"/v1/connect/status?{query}", headers=poll)
    device = {"Authorization": f"Bearer {status['deviceToken']}"}

    # Leased jobs first: a pull hands out the oldest queued job.
    leased = []
    for text in ("Leased one", "Leased two"):
        job = call(base, "POST", "/v1/jobs/tweet", {"text": text}, key)
        pulled = call(base, "GET", "/v1/extension/pull", headers=device)
        if not pulled or pulled["id"] != job["id"]:
            raise SystemExit(f"expected to lease job {job['id']}, got {pulled!r}")
        leased.append(job["id"])
    queued = call(base, "POST", "/v1/jobs/tweet", {"text": "Queued"}, key)

    request = {"filename": "photo.png", "bytes": len(PNG)}
    uploaded = call(base, "POST", "/v1/media/upload-url", request, key)
    put(uploaded["uploadUrl"], PNG, uploaded["resolvedContentType"])
    get_id, get_name, get_expires, get_signature = signed_parts(uploaded["url"])
    pending = call(base, "POST", "/v1/media/upload-url", request, key)
    put_id, put_name, put_expires, put_signature = signed_parts(pending["uploadUrl"])

    values = {
        "CLAWPOST_ST_DEVICE_TOKEN": status["deviceToken"],
        "CLAWPOST_ST_POLL_TOKEN": registered["pollToken"],
        "CLAWPOST_ST_DEVICE_ID": registered["deviceId"],
        "CLAWPOST_ST_MEDIA_GET_ID": get_id,
        "CLAWPOST_ST_MEDIA_GET_NAME": get_name,
        "CLAWPOST_ST_MEDIA_GET_EXPIRES": get_expires,
        "CLAWPOST_ST_MEDIA_GET_SIGNATURE": get_signature,
        "CLAWPOST_ST_MEDIA_PUT_ID": put_id,
        "CLAWPOST_ST_MEDIA_PUT_NAME": put_name,
        "CLAWPOST_ST_MEDIA_PUT_EXPIRES": put_expires,
        "CLAWPOST_ST_MEDIA_PUT_SIGNATURE": put_signature,
        "CLAWPOST_ST_MEDIA_CONTENT_TYPE": pending["resolvedContentType"],
    }
    # Job ids as a dictionary (values there take no ${VARIABLES}).
    with open(f"{out_dir}/jobs.dict", "w") as f:
        f.writelines(json.dumps(job_id) + "\n" for job_id in (queued["id"], *leased))
    for name, value in values.items():
        print(f"export {name}={shlex.quote(str(value))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

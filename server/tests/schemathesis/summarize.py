"""Summarize a Schemathesis NDJSON event log against the OpenAPI document.

    python3 summarize.py OPENAPI_JSON EVENTS_NDJSON

Prints, per operation: the documented statuses, every status the server
answered (with counts and content types), the undocumented ones, and each
failed check with one request that produced it. Schemathesis itself reports
only the first failure per check and operation; this lists all it saw.
"""

from __future__ import annotations

import base64
import collections
import json
import sys
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def body_text(content: Any, limit: int = 300) -> str:
    if not content:
        return ""
    if isinstance(content, dict) and "$base64" in content:
        raw = base64.b64decode(content["$base64"])
    elif isinstance(content, dict) and "string" in content:
        raw = content["string"].encode()
    else:
        raw = json.dumps(content).encode()
    text = raw.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "…"


def request_line(request: dict[str, Any]) -> str:
    headers = {k: v[0] if isinstance(v, list) else v for k, v in request.get("headers", {}).items()}
    shown = {k: v for k, v in headers.items() if k.lower() in ("content-type", "authorization", "clawpost-api-key")}
    parts = [request["method"], request["uri"]]
    if shown:
        parts.append(" ".join(f"-H '{k}: {v}'" for k, v in sorted(shown.items())))
    body = body_text(request.get("body"), 200)
    if body:
        parts.append(f"-d {body!r}")
    return " ".join(parts)


def main() -> int:
    spec = json.load(open(sys.argv[1]))
    documented: dict[str, list[str]] = {}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS:
                documented[f"{method.upper()} {path}"] = sorted(op.get("responses", {}))

    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    content_types: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
    examples: dict[tuple[str, int], tuple[dict, dict]] = {}
    failures: dict[str, dict[tuple[str, str], tuple[str, dict, dict]]] = collections.defaultdict(dict)

    for line in open(sys.argv[2]):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        cases = recorder.get("cases", {})
        for case_id, interaction in recorder.get("interactions", {}).items():
            response = interaction.get("response")
            if not response:
                continue
            case = cases.get(case_id, {}).get("value", {})
            label = f"{case.get('method', interaction['request']['method'])} {case.get('path', '?')}"
            status = response["status_code"]
            phase = (case.get("meta") or {}).get("phase", {})
            scenario = (phase.get("data") or {}).get("scenario")
            # The coverage phase also tries methods the operation does not have.
            if case.get("method", "").upper() != interaction["request"]["method"].upper() or scenario == "unspecified_http_method":
                continue
            statuses[label][status] += 1
            ctype = ",".join(response.get("headers", {}).get("content-type", ["(none)"]))
            content_types[(label, status)].add(ctype)
            examples.setdefault((label, status), (interaction["request"], response))
        for case_id, checks in recorder.get("checks", {}).items():
            interaction = recorder.get("interactions", {}).get(case_id)
            case = cases.get(case_id, {}).get("value", {})
            label = f"{case.get('method', '?')} {case.get('path', '?')}"
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = (check.get("failure_info") or {}).get("failure", {})
                key = (check["name"], failure.get("title", ""))
                message = failure.get("message", "")
                if interaction and interaction.get("response"):
                    message_key = (check["name"], f"{failure.get('title', '')} [{interaction['response']['status_code']}]")
                else:
                    message_key = key
                if message_key not in failures[label] and interaction:
                    failures[label][message_key] = (message, interaction["request"], interaction.get("response") or {})

    for label in sorted(set(documented) | set(statuses)):
        print(f"## {label}")
        print(f"documented: {', '.join(documented.get(label, [])) or '(not in the document)'}")
        seen = ", ".join(
            f"{s}×{n} [{'; '.join(sorted(content_types[(label, s)]))}]" for s, n in sorted(statuses[label].items())
        )
        print(f"answered:   {seen or '(no requests)'}")
        undocumented = [str(s) for s in sorted(statuses[label]) if str(s) not in documented.get(label, []) and s != 405]
        if undocumented:
            print(f"UNDOCUMENTED: {', '.join(undocumented)}")
            for s in undocumented:
                request, response = examples[(label, int(s))]
                print(f"  {s}: {request_line(request)}")
                print(f"      -> {body_text(response.get('content'))}")
        for (check, title), (message, request, response) in sorted(failures[label].items()):
            print(f"FAILED {check}: {title}")
            print("  " + message.replace("\n", "\n  "))
            print(f"  request: {request_line(request)}")
            if response:
                print(f"  response: {response.get('status_code')} {body_text(response.get('content'))}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

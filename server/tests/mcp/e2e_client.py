"""End-to-end MCP client for Claw Post, on the official Python SDK (`mcp`).

Driven by `server/tests/mcp_e2e.rs`, which starts the server, pairs an
extension and runs this script with:

    MCP_URL        the server's MCP endpoint, e.g. http://127.0.0.1:PORT/mcp
    CLAWPOST_KEY   the tenant's API key (the "browser" signs in with it)

The script connects with nothing but the URL, as a real agent does: a 401
leads it to the protected-resource metadata, the authorization server
metadata, dynamic client registration and a PKCE authorization whose consent
it approves through the real HTML form, acting as the user's browser
(sign-in at /login, back to the consent page, submit "approve"). It then lists
and calls every tool, and refreshes its token.

Mid-way it prints {"event": "expire", ...} and waits for a line on stdin: the
test moves the server's clock past the access token's lifetime, then the
script checks that the old token is refused and that a refreshed one works.
The last line of stdout is a JSON summary the test checks against the REST
API. Any failed expectation raises, which exits non-zero.
"""

import asyncio
import base64
import hashlib
import json
import os
import re
import sys
from html import unescape
from urllib.parse import parse_qs, urlencode, urlparse

import httpx2
from pydantic import AnyUrl

from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

MCP_URL = os.environ["MCP_URL"]
API_KEY = os.environ["CLAWPOST_KEY"]
BASE = MCP_URL[: -len("/mcp")]
REDIRECT_URI = "http://127.0.0.1:53682/callback"
TOOLS = {
    "list_platforms",
    "validate_post",
    "create_post",
    "get_upload_url",
    "get_post_status",
    "get_account_status",
}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def emit(obj):
    print(json.dumps(obj), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def hidden_inputs(html: str, action: str) -> dict:
    """The hidden inputs of the form posting to `action`."""
    form = re.search(r'<form[^>]*action="%s"[^>]*>(.*?)</form>' % re.escape(action), html, re.S)
    expect(form is not None, f"no form posting to {action} in:\n{html[:2000]}")
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form.group(1)):
        if 'type="hidden"' not in tag:
            continue
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    return fields


class MemoryStorage:
    """TokenStorage: the four async methods the SDK calls."""

    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


class Browser:
    """The user's browser: follows the authorization URL, signs in to the
    dashboard with the API key when asked, approves on the consent page and
    hands the code from the redirect back to the SDK."""

    def __init__(self):
        self.result = None
        self.authorize_urls = []

    async def open(self, url: str):
        self.authorize_urls.append(url)
        q = parse_qs(urlparse(url).query)
        expect(q.get("code_challenge_method") == ["S256"], f"PKCE S256 expected in {url}")
        expect(q.get("resource") == [MCP_URL], f"resource={MCP_URL} expected in {url}")
        async with httpx2.AsyncClient(follow_redirects=False) as b:
            r = await b.get(url)
            # Not signed in: the server sends the browser to sign in, then back.
            expect(r.status_code == 303, f"sign-in redirect expected, got {r.status_code}: {r.text[:500]}")
            login_url = BASE + r.headers["location"]
            expect(login_url.startswith(BASE + "/login?"), f"redirect to /login expected: {login_url}")
            page = await b.get(login_url)
            expect(page.status_code == 200, f"sign-in page: {page.status_code}")
            form = hidden_inputs(page.text, "/login")
            form["apiKey"] = API_KEY
            r = await b.post(BASE + "/login", data=form)
            expect(r.status_code == 303, f"sign-in: {r.status_code} {r.text[:500]}")
            back = r.headers["location"]
            expect(back.startswith("/oauth/authorize?"), f"back to consent expected: {back}")

            consent = await b.get(BASE + back)
            expect(consent.status_code == 200, f"consent page: {consent.status_code} {consent.text[:500]}")
            expect("e2e-agent" in consent.text, "the consent page names the client")
            expect("unverified" in consent.text, "the client's name is marked unverified")
            expect("127.0.0.1" in consent.text, "the consent page shows the redirect host")
            expect(consent.headers.get("x-frame-options") == "DENY", "consent page refuses framing")
            fields = hidden_inputs(consent.text, "/oauth/authorize")
            expect("csrf" in fields, "the consent form carries a CSRF token")

            # A forged submission (no CSRF token) is refused.
            forged = {k: v for k, v in fields.items() if k != "csrf"}
            r = await b.post(BASE + "/oauth/authorize", data={**forged, "decision": "approve"})
            expect(r.status_code == 403, f"consent without CSRF token must be refused, got {r.status_code}")

            r = await b.post(BASE + "/oauth/authorize", data={**fields, "decision": "approve"})
            expect(r.status_code == 302, f"approval redirect expected, got {r.status_code}: {r.text[:500]}")
            location = r.headers["location"]
            expect(location.startswith(REDIRECT_URI + "?"), f"redirect to the client expected: {location}")
            cq = parse_qs(urlparse(location).query)
            expect(cq.get("iss") == [BASE], f"iss={BASE} expected in {location}")
            self.result = AuthorizationCodeResult(
                code=cq["code"][0],
                state=cq.get("state", [None])[0],
                iss=cq.get("iss", [None])[0],
            )

    async def callback(self):
        result, self.result = self.result, None
        expect(result is not None, "no authorization code was received")
        return result


def structured(result, tool):
    expect(not result.is_error, f"{tool} failed: {result.content}")
    sc = result.structured_content
    expect(isinstance(sc, dict), f"{tool}: structured content expected, got {result}")
    return sc


def tool_error(result, tool):
    expect(result.is_error, f"{tool} should have failed: {result}")
    return json.loads(result.content[0].text)


async def check_tools(client, summary):
    listed = (await client.list_tools()).tools
    by_name = {t.name: t for t in listed}
    expect(set(by_name) == TOOLS, f"tools: {sorted(by_name)}")
    for t in listed:
        expect(t.input_schema.get("type") == "object", f"{t.name} input schema")
        expect(t.output_schema and t.output_schema.get("type") == "object", f"{t.name} output schema")
        expect(t.annotations is not None, f"{t.name} annotations")
    cp = by_name["create_post"].annotations
    expect(cp.read_only_hint is False and cp.destructive_hint is True and cp.idempotent_hint is False,
           f"create_post annotations: {cp}")
    expect("idempotencyKey" in by_name["create_post"].input_schema["properties"], "create_post takes idempotencyKey")
    for name in ("list_platforms", "validate_post", "get_post_status", "get_account_status"):
        expect(by_name[name].annotations.read_only_hint is True, f"{name} is read-only")

    platforms = structured(await client.call_tool("list_platforms", {}), "list_platforms")["platforms"]
    by_platform = {p["platform"]: p for p in platforms}
    expect(set(by_platform) == {"x", "linkedin", "facebook", "tiktok", "instagram"}, f"platforms: {list(by_platform)}")
    expect(by_platform["x"]["maxTextLength"] == 280, f"x limit: {by_platform['x']}")
    expect(any(m["mime"] == "video/mp4" for m in by_platform["x"]["mediaTypes"]), "x takes mp4")

    ok = structured(await client.call_tool("validate_post", {"platform": "x", "text": "Hello from MCP"}), "validate_post")
    expect(ok["valid"] is True and ok["maxTextLength"] == 280, f"validate_post ok: {ok}")
    bad = structured(await client.call_tool("validate_post", {"platform": "x", "text": "x" * 281}), "validate_post")
    expect(bad["valid"] is False and bad["code"] == "TEXT_TOO_LONG" and bad["field"] == "text", f"validate_post too long: {bad}")

    account = structured(await client.call_tool("get_account_status", {}), "get_account_status")
    expect(account["paired"] is True and len(account["devices"]) == 1, f"account: {account}")
    expect(account["usage"]["used"] == 0 and account["usage"]["quota"] > 0, f"usage: {account['usage']}")
    summary["tenantId"] = account["tenantId"]

    upload = structured(await client.call_tool("get_upload_url", {"filename": "clip.mp4", "platform": "x"}), "get_upload_url")
    expect(upload["resolvedContentType"] == "video/mp4" and upload["uploadUrl"].startswith("http"), f"upload: {upload}")
    summary["mediaUrl"] = upload["url"]
    err = tool_error(await client.call_tool("get_upload_url", {"filename": "notes.txt"}), "get_upload_url")
    expect(err["code"] == "UNSUPPORTED_MEDIA_TYPE", f"upload of .txt: {err}")

    args = {"platform": "linkedin", "text": "Posted through MCP", "idempotencyKey": "e2e-1"}
    job = structured(await client.call_tool("create_post", args), "create_post")
    expect(job["status"] == "queued" and job["platform"] == "linkedin" and job["replayed"] is False, f"job: {job}")
    again = structured(await client.call_tool("create_post", args), "create_post")
    expect(again["jobId"] == job["jobId"] and again["replayed"] is True, f"idempotent replay: {again}")
    reused = tool_error(await client.call_tool("create_post", {**args, "text": "Something else"}), "create_post")
    expect(reused["code"] == "IDEMPOTENCY_KEY_REUSED" and reused["field"] == "idempotencyKey", f"key reuse: {reused}")
    invalid = tool_error(await client.call_tool("create_post", {"platform": "tiktok", "text": "no video"}), "create_post")
    expect(invalid["code"] == "MEDIA_REQUIRED", f"tiktok without media: {invalid}")
    summary["jobId"] = job["jobId"]

    status = structured(await client.call_tool("get_post_status", {"jobId": job["jobId"]}), "get_post_status")
    expect(status["jobId"] == job["jobId"] and status["status"] == "queued", f"status: {status}")
    expect("postUrl" in status and "errorCode" in status, f"status fields: {status}")
    missing = tool_error(await client.call_tool("get_post_status", {"jobId": "no-such-job"}), "get_post_status")
    expect(missing["code"] == "NOT_FOUND", f"missing job: {missing}")


async def main():
    # A request without credentials is refused with a pointer to the metadata.
    async with httpx2.AsyncClient() as raw:
        r = await raw.post(MCP_URL, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                           headers={"accept": "application/json, text/event-stream"})
        expect(r.status_code == 401, f"unauthenticated /mcp: {r.status_code}")
        expect(f'resource_metadata="{BASE}/.well-known/oauth-protected-resource/mcp"' in r.headers["www-authenticate"],
               f"WWW-Authenticate: {r.headers.get('www-authenticate')}")

    storage = MemoryStorage()
    browser = Browser()
    oauth = OAuthClientProvider(
        server_url=MCP_URL,
        client_metadata=OAuthClientMetadata(
            client_name="e2e-agent",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    summary = {}
    async with httpx2.AsyncClient(auth=oauth, timeout=30) as http:
        # 2026-07-28 (stateless, no initialize) when both sides speak it.
        async with Client(streamable_http_client(MCP_URL, http_client=http), mode="auto") as client:
            await check_tools(client, summary)
        expect(len(browser.authorize_urls) == 1, "one authorization for the whole run")
        expect(storage.client_info is not None and storage.client_info.client_id.startswith("cpcl_"),
               "the client registered dynamically")
        first = storage.tokens
        expect(first is not None and first.refresh_token, "tokens with a refresh token")
        summary["clientId"] = storage.client_info.client_id

        # The test moves the server's clock past the access token's lifetime.
        emit({"event": "expire", "jobId": summary["jobId"]})
        line = sys.stdin.readline()
        expect(line.strip() == "advanced", f"unexpected reply from the test: {line!r}")
        async with httpx2.AsyncClient() as raw:
            r = await raw.post(MCP_URL, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                               headers={"authorization": f"Bearer {first.access_token}",
                                        "accept": "application/json, text/event-stream"})
            expect(r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"],
                   f"expired token: {r.status_code} {r.headers.get('www-authenticate')}")

        # The SDK refreshes before its next request once it sees the token as expired.
        oauth.context.token_expiry_time = 1
        # The handshake-era protocol (initialize) over the same connection details.
        async with Client(streamable_http_client(MCP_URL, http_client=http), mode="legacy") as client:
            status = structured(await client.call_tool("get_post_status", {"jobId": summary["jobId"]}), "get_post_status")
            expect(status["status"] == "queued", f"status after refresh: {status}")
            summary["legacyTools"] = len((await client.list_tools()).tools)
        second = storage.tokens
        expect(second.access_token != first.access_token, "refresh issued a new access token")
        expect(second.refresh_token != first.refresh_token, "refresh rotated the refresh token")
        expect(len(browser.authorize_urls) == 1, "the refresh needed no new authorization")
        summary["refreshed"] = True

    emit(summary)


if __name__ == "__main__":
    asyncio.run(main())

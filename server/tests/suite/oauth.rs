//! The OAuth 2.0 authorization server and the MCP endpoint it guards, over
//! raw HTTP: discovery, registration, PKCE, codes, refresh rotation,
//! revocation, resource binding and tenant isolation. The consent form is
//! submitted as a browser would, with a real dashboard session.

use std::sync::Arc;

use crate::common::{into_parts, Db, TestApp};
use clawpost_server::app::AppState;
use clawpost_server::clock::Clock;
use clawpost_server::dashboard::session;
use clawpost_server::settings::Settings;
use clawpost_server::store::SignInMethod;
use reqwest::header::{HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const REDIRECT: &str = "http://127.0.0.1:53682/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A client that does not follow redirects, so each hop can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A dashboard session cookie (`name=value`) for the tenant.
async fn session_cookie(app: &TestApp, tenant_id: &str) -> String {
    let tenant = app.state.store.tenant(tenant_id).await.unwrap().unwrap();
    let (_, cookie) = session::start(&app.state, tenant, SignInMethod::ApiKey, None, None)
        .await
        .unwrap();
    cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Registers a public client (auth method `none`); returns its id.
async fn register(app: &TestApp, redirect_uris: &[&str]) -> String {
    let (s, body) = app
        .post_json(
            "/oauth/register",
            None,
            &json!({"client_name": "Test agent", "redirect_uris": redirect_uris,
                    "token_endpoint_auth_method": "none"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert!(body.get("client_secret").is_none(), "{body}");
    body["client_id"].as_str().unwrap().to_string()
}

/// The authorization request's query string.
fn auth_query(
    client_id: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut q: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        q.retain(|(key, _)| key != k);
        if !v.is_empty() {
            q.push((k.to_string(), v.to_string()));
        }
    }
    q
}

/// `GET /oauth/authorize` as the signed-in browser.
async fn authorize_get(
    app: &TestApp,
    cookie: Option<&str>,
    query: &[(String, String)],
) -> reqwest::Response {
    let mut req = browser().get(app.url("/oauth/authorize")).query(query);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

/// The hidden inputs of the consent form.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter(|tag| tag.contains("type=\"hidden\""))
        .map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let end = start + tag[start..].find('"').unwrap();
                tag[start..end]
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            };
            (attr("name"), attr("value"))
        })
        .collect()
}

/// Shows the consent page and submits `decision`; returns the response.
async fn consent(
    app: &TestApp,
    cookie: &str,
    query: &[(String, String)],
    decision: &str,
) -> reqwest::Response {
    let page = authorize_get(app, Some(cookie), query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let mut form = hidden_fields(&html);
    form.push(("decision".into(), decision.into()));
    browser()
        .post(app.url("/oauth/authorize"))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The query parameters of a redirect's `Location`.
fn location_params(resp: &reqwest::Response) -> (String, Vec<(String, String)>) {
    let loc = resp.headers()[LOCATION].to_str().unwrap().to_string();
    let url = url::Url::parse(&loc).unwrap();
    let params = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (loc, params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Approves an authorization for `tenant_id`; returns the code.
async fn approved_code(
    app: &TestApp,
    tenant_id: &str,
    client_id: &str,
    extra: &[(&str, &str)],
) -> String {
    let cookie = session_cookie(app, tenant_id).await;
    let resp = consent(
        app,
        &cookie,
        &auth_query(client_id, REDIRECT, extra),
        "approve",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let (loc, params) = location_params(&resp);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(param(&params, "iss"), Some(app.base.as_str()));
    param(&params, "code").expect("code").to_string()
}

/// `POST /oauth/token` with a form.
async fn token(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value, HeaderMap) {
    let resp = app
        .client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let headers = resp.headers().clone();
    let (s, v) = into_parts(resp).await;
    (s, v, headers)
}

async fn exchange(
    app: &TestApp,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    let (s, v, _) = token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("resource", &app.url("/mcp")),
        ],
    )
    .await;
    (s, v)
}

/// A full authorization for `tenant_id`: (client id, token response).
async fn connect(app: &TestApp, tenant_id: &str) -> (String, Value) {
    let client_id = register(app, &[REDIRECT]).await;
    let code = approved_code(app, tenant_id, &client_id, &[]).await;
    let (s, tokens) = exchange(app, &client_id, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    (client_id, tokens)
}

async fn refresh(app: &TestApp, client_id: &str, refresh_token: &str) -> (StatusCode, Value) {
    let (s, v, _) = token(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    (s, v)
}

/// A JSON-RPC request to `/mcp` at `base` with extra headers.
async fn mcp_at(
    base: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (StatusCode, Value, HeaderMap) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let h = resp.headers().clone();
    let (s, v) = into_parts(resp).await;
    (s, v, h)
}

fn call(tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}})
}

/// Calls a tool with a bearer token; returns the HTTP status and the JSON-RPC result.
async fn call_with_token(
    app: &TestApp,
    token: &str,
    tool: &str,
    args: Value,
) -> (StatusCode, Value) {
    let auth = format!("Bearer {token}");
    let (s, v, _) = mcp_at(&app.base, &[("authorization", &auth)], call(tool, args)).await;
    (s, v["result"].clone())
}

/// The `{"error","code","field"}` of a tool error result.
fn tool_error(result: &Value) -> Value {
    assert_eq!(result["isError"], true, "{result}");
    serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap()
}

fn access(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

async fn assert_token_refused(app: &TestApp, token: &str) {
    let (s, _, h) = mcp_at(
        &app.base,
        &[("authorization", &format!("Bearer {token}"))],
        call("list_platforms", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(h[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
}

async fn assert_token_works(app: &TestApp, token: &str) {
    let (s, result) = call_with_token(app, token, "list_platforms", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{result}");
    assert_eq!(
        result["structuredContent"]["platforms"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "{result}"
    );
}

// ---------------------------------------------------------------------------

async fn discovery_starts_from_a_401(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, body, h) = mcp_at(
        &app.base,
        &[("origin", "http://localhost:6274")],
        call("list_platforms", json!({})),
    )
    .await;
    crate::common::assert_error(&(s, body), StatusCode::UNAUTHORIZED, "UNAUTHORIZED", None);
    let challenge = h[WWW_AUTHENTICATE].to_str().unwrap();
    let prm_url = app.url("/.well-known/oauth-protected-resource/mcp");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{prm_url}\"")),
        "{challenge}"
    );
    assert!(
        !challenge.contains("invalid_token"),
        "no token was sent: {challenge}"
    );
    // Browser clients can read the challenge.
    assert_eq!(h["access-control-allow-origin"], "http://localhost:6274");
    assert!(h["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase()
        .contains("www-authenticate"));

    let (s, prm) = app
        .get("/.well-known/oauth-protected-resource/mcp", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.get("/.well-known/oauth-protected-resource", None)
            .await
            .1,
        prm
    );
    assert_eq!(prm["resource"], app.url("/mcp"));
    let issuer = prm["authorization_servers"][0].as_str().unwrap();
    assert_eq!(issuer, app.base);

    let (s, meta) = app
        .get("/.well-known/oauth-authorization-server", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        meta["issuer"], issuer,
        "issuer must equal authorization_servers[0] byte for byte"
    );
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["registration_endpoint"], app.url("/oauth/register"));
    assert!(meta["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("none")));

    // CORS preflight of the token endpoint.
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/oauth/token"))
        .header("origin", "http://localhost:6274")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success());
    assert_eq!(
        pre.headers()["access-control-allow-origin"],
        "http://localhost:6274"
    );
}
both_stores!(discovery, discovery_starts_from_a_401);

async fn registration_accepts_only_safe_redirect_uris(db: Db) {
    let app = TestApp::spawn(db).await;
    for ok in [
        "https://claude.ai/api/mcp/auth_callback",
        "http://localhost:6274/oauth/callback",
        "cursor://anysphere.cursor-mcp/oauth/callback",
    ] {
        register(&app, &[ok]).await;
    }
    for bad in [
        "http://evil.example/cb",
        "javascript:alert(1)",
        "https://claude.ai/cb#x",
    ] {
        let (s, body) = app
            .post_json("/oauth/register", None, &json!({"redirect_uris": [bad]}))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"], "invalid_redirect_uri", "{body}");
    }
    let (s, body) = app
        .post_json("/oauth/register", None, &json!({"client_name": "x"}))
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_redirect_uri"))
    );

    // A confidential client gets a secret, and must use it.
    let (s, conf) = app
        .post_json(
            "/oauth/register",
            None,
            &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = conf["client_id"].as_str().unwrap();
    let secret = conf["client_secret"].as_str().unwrap();
    let code = approved_code(&app, &app.tenant_id, id, &[]).await;
    let (s, body, _) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (s, body, h) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", id),
            ("client_secret", secret),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(h["cache-control"], "no-store");
    assert_token_works(&app, access(&body)).await;
    // HTTP Basic (client_secret_basic) works as well.
    let code = approved_code(&app, &app.tenant_id, id, &[]).await;
    let resp = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    let (s, tokens) = into_parts(resp).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert_token_works(&app, access(&tokens)).await;
}
both_stores!(registration, registration_accepts_only_safe_redirect_uris);

async fn the_consent_page_needs_a_session_and_its_csrf_token(db: Db) {
    let app = TestApp::spawn(db).await;
    let client_id = register(&app, &[REDIRECT]).await;
    let query = auth_query(&client_id, REDIRECT, &[]);

    // Signed out: sign in first, then back here.
    let resp = authorize_get(&app, None, &query).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let loc = resp.headers()[LOCATION].to_str().unwrap();
    let next = url::Url::parse(&format!("{}{loc}", app.base)).unwrap();
    assert_eq!(next.path(), "/login");
    let back = next
        .query_pairs()
        .find(|(k, _)| k == "next")
        .unwrap()
        .1
        .into_owned();
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    assert!(back.contains(&client_id));

    let cookie = session_cookie(&app, &app.tenant_id).await;
    let page = authorize_get(&app, Some(&cookie), &query).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Test agent") && html.contains("unverified") && html.contains("127.0.0.1")
    );
    assert!(html.contains("name=\"decision\" value=\"approve\""));
    assert!(html.contains("name=\"decision\" value=\"deny\""));

    // Without the CSRF token, or with another session's, nothing is approved.
    let mut form: Vec<(String, String)> = hidden_fields(&html)
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .collect();
    form.push(("decision".into(), "approve".into()));
    let other = session_cookie(&app, &app.tenant_id).await;
    for (c, extra) in [
        (&cookie, None),
        (
            &other,
            hidden_fields(&html).into_iter().find(|(k, _)| k == "csrf"),
        ),
    ] {
        let mut f = form.clone();
        f.extend(extra);
        let resp = browser()
            .post(app.url("/oauth/authorize"))
            .header("cookie", c.as_str())
            .form(&f)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(resp.headers().get(LOCATION).is_none());
    }

    // Denial goes back to the client with access_denied, state and iss.
    let resp = consent(&app, &cookie, &query, "deny").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let (_, params) = location_params(&resp);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(param(&params, "iss"), Some(app.base.as_str()));
    assert_eq!(param(&params, "code"), None);
}
both_stores!(
    consent_page,
    the_consent_page_needs_a_session_and_its_csrf_token
);

async fn bad_authorization_requests_are_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let client_id = register(&app, &[REDIRECT]).await;
    let cookie = session_cookie(&app, &app.tenant_id).await;

    // Unknown client, or a redirect URI it did not register: shown here, never redirected.
    for query in [
        auth_query("cpcl_nosuchclient", REDIRECT, &[]),
        auth_query(&client_id, "http://127.0.0.1:53682/elsewhere", &[]),
        auth_query(&client_id, "https://evil.example/callback", &[]),
    ] {
        let resp = authorize_get(&app, Some(&cookie), &query).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.headers().get(LOCATION).is_none());
    }
    // A loopback redirect on another port is the same redirect (RFC 8252).
    let resp = authorize_get(
        &app,
        Some(&cookie),
        &auth_query(&client_id, "http://127.0.0.1:9999/callback", &[]),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Once client and redirect are verified, errors go back to the client.
    for (extra, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("resource", "https://other.example/mcp")],
            "invalid_target",
        ),
        (vec![("scope", "admin")], "invalid_scope"),
    ] {
        let resp = authorize_get(
            &app,
            Some(&cookie),
            &auth_query(&client_id, REDIRECT, &extra),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FOUND, "{extra:?}");
        let (loc, params) = location_params(&resp);
        assert!(loc.starts_with(REDIRECT));
        assert_eq!(param(&params, "error"), Some(error), "{extra:?}");
        assert_eq!(param(&params, "iss"), Some(app.base.as_str()));
    }
    // The origin and a trailing slash name this resource too.
    for r in [app.url("/mcp/"), app.base.clone(), format!("{}/", app.base)] {
        let resp = authorize_get(
            &app,
            Some(&cookie),
            &auth_query(&client_id, REDIRECT, &[("resource", &r)]),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK, "{r}");
    }
}
both_stores!(bad_requests, bad_authorization_requests_are_refused);

async fn a_wrong_pkce_verifier_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let client_id = register(&app, &[REDIRECT]).await;
    let code = approved_code(&app, &app.tenant_id, &client_id, &[]).await;
    let wrong = "A".repeat(43);
    let (s, body) = exchange(&app, &client_id, &code, &wrong).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    // The code is spent: the right verifier no longer helps an attacker's retry either.
    let (s, body) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // No verifier at all.
    let code = approved_code(&app, &app.tenant_id, &client_id, &[]).await;
    let (s, body, _) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}
both_stores!(wrong_verifier, a_wrong_pkce_verifier_is_refused);

async fn a_reused_code_is_refused_and_revokes_its_tokens(db: Db) {
    let app = TestApp::spawn(db).await;
    let client_id = register(&app, &[REDIRECT]).await;
    let code = approved_code(&app, &app.tenant_id, &client_id, &[]).await;
    let (s, tokens) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "posts:read posts:write");
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    assert_token_works(&app, access(&tokens)).await;

    let (s, body) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_token_refused(&app, access(&tokens)).await;
    let (s, _) = refresh(&app, &client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
both_stores!(reused_code, a_reused_code_is_refused_and_revokes_its_tokens);

async fn a_mismatched_redirect_uri_or_client_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let client_id = register(&app, &[REDIRECT, "http://127.0.0.1:53682/other"]).await;
    let code = approved_code(&app, &app.tenant_id, &client_id, &[]).await;
    let (s, body, _) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:53682/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );

    // Another (registered) client cannot use the code.
    let intruder = register(&app, &[REDIRECT]).await;
    let code = approved_code(&app, &app.tenant_id, &client_id, &[]).await;
    let (s, body) = exchange(&app, &intruder, &code, VERIFIER).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // An unknown client is 401 invalid_client (clients then register again).
    let (s, body, h) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "cpcl_unknown"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert!(h.contains_key(WWW_AUTHENTICATE));
    let (s, body) = refresh(&app, "cpcl_unknown", "cprt_x").await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}
both_stores!(mismatched, a_mismatched_redirect_uri_or_client_is_refused);

async fn expired_codes_and_tokens_are_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let client_id = register(&app, &[REDIRECT]).await;
    let code = approved_code(&app, &app.tenant_id, &client_id, &[]).await;
    app.clock.advance_ms(11 * 60_000);
    let (s, body) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let (client_id, tokens) = connect(&app, &app.tenant_id).await;
    assert_token_works(&app, access(&tokens)).await;
    app.clock.advance_ms(61 * 60_000);
    assert_token_refused(&app, access(&tokens)).await;
    // The refresh token outlives it.
    let (s, fresh) = refresh(&app, &client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{fresh}");
    assert_token_works(&app, access(&fresh)).await;
    app.clock.advance_ms(31 * 24 * 60 * 60_000);
    let (s, body) = refresh(&app, &client_id, fresh["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}
both_stores!(expired, expired_codes_and_tokens_are_refused);

async fn refresh_rotates_and_a_replayed_refresh_token_revokes_the_family(db: Db) {
    let app = TestApp::spawn(db).await;
    let (client_id, first) = connect(&app, &app.tenant_id).await;
    let old_refresh = first["refresh_token"].as_str().unwrap();
    let (s, second) = refresh(&app, &client_id, old_refresh).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_token_works(&app, access(&second)).await;

    // The spent refresh token comes back: everything of the grant dies.
    let (s, body) = refresh(&app, &client_id, old_refresh).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_token_refused(&app, access(&second)).await;
    let (s, _) = refresh(&app, &client_id, second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A narrower scope may be asked for on refresh, not a wider one.
    let client_id = register(&app, &[REDIRECT]).await;
    let code = approved_code(&app, &app.tenant_id, &client_id, &[("scope", "posts:read")]).await;
    let (s, ro) = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(
        (s, ro["scope"].as_str()),
        (StatusCode::OK, Some("posts:read"))
    );
    let (s, body, _) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", ro["refresh_token"].as_str().unwrap()),
            ("scope", "posts:read posts:write"),
        ],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    // A read-only token cannot create posts.
    let (_, result) =
        call_with_token(&app, access(&ro), "create_post", json!({"text": "hi"})).await;
    assert_eq!(tool_error(&result)["code"], "INSUFFICIENT_SCOPE");
}
both_stores!(
    rotation,
    refresh_rotates_and_a_replayed_refresh_token_revokes_the_family
);

async fn revoked_tokens_stop_working(db: Db) {
    let app = TestApp::spawn(db).await;
    // Revoking an access token (RFC 7009).
    let (client_id, tokens) = connect(&app, &app.tenant_id).await;
    let resp = app
        .client
        .post(app.url("/oauth/revoke"))
        .form(&[
            ("client_id", client_id.as_str()),
            ("token", access(&tokens)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_token_refused(&app, access(&tokens)).await;

    // Revoking the refresh token ends the grant.
    let (s, fresh) = refresh(&app, &client_id, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    let resp = app
        .client
        .post(app.url("/oauth/revoke"))
        .form(&[
            ("client_id", client_id.as_str()),
            ("token", fresh["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_token_refused(&app, access(&fresh)).await;

    // Disconnecting from the dashboard's MCP clients page.
    let (_, tokens) = connect(&app, &app.tenant_id).await;
    let connections = app
        .state
        .store
        .tenant_connections(&app.tenant_id)
        .await
        .unwrap();
    assert_eq!(connections.len(), 1, "revoked grants are not listed");
    let grant = &connections[0].grant.id;
    let resp = browser().get(app.url("/mcp-clients")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "signed out: sign in first"
    );
    let cookie = session_cookie(&app, &app.tenant_id).await;
    let page = browser()
        .get(app.url("/mcp-clients"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Test agent") && html.contains("127.0.0.1"),
        "{html}"
    );
    let action = format!("/mcp-clients/{grant}/disconnect");
    assert!(html.contains(&action), "{html}");
    let csrf = hidden_fields(&html)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .unwrap()
        .1;
    // Without the CSRF token nothing happens.
    let resp = browser()
        .post(app.url(&action))
        .header("cookie", &cookie)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_token_works(&app, access(&tokens)).await;
    // Another tenant cannot disconnect it.
    let (other, _) = app.new_tenant(10).await;
    let other_cookie = session_cookie(&app, &other).await;
    let other_page = browser()
        .get(app.url("/mcp-clients"))
        .header("cookie", &other_cookie)
        .send()
        .await
        .unwrap();
    let other_csrf = hidden_fields(&other_page.text().await.unwrap())
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .unwrap()
        .1;
    let resp = browser()
        .post(app.url(&action))
        .header("cookie", &other_cookie)
        .form(&[("csrf", other_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_token_works(&app, access(&tokens)).await;

    let resp = browser()
        .post(app.url(&action))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/mcp-clients?notice=disconnected");
    assert_token_refused(&app, access(&tokens)).await;
    let (s, _) = refresh(
        &app,
        &connections[0].grant.client_id,
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(app
        .state
        .store
        .tenant_connections(&app.tenant_id)
        .await
        .unwrap()
        .is_empty());
}
both_stores!(revoked, revoked_tokens_stop_working);

async fn tokens_are_bound_to_this_resource(db: Db) {
    let app = TestApp::spawn(db).await;
    let client_id = register(&app, &[REDIRECT]).await;
    let code = approved_code(&app, &app.tenant_id, &client_id, &[]).await;
    let (s, body, _) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", "https://other.example/mcp"),
        ],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );

    // A token issued for this server's resource, presented to a server with
    // another public URL (another resource) on the same database.
    let (_, tokens) = connect(&app, &app.tenant_id).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let other = AppState::new(
        app.state.store.clone(),
        Arc::new(app.clock.clone()) as Arc<dyn Clock>,
        Settings {
            public_url: format!("http://localhost:{port}"),
            ..Settings::default()
        },
    );
    tokio::spawn(clawpost_server::startup::run(listener, other));
    let other_base = format!("http://127.0.0.1:{port}");
    let auth = format!("Bearer {}", access(&tokens));
    let (s, _, h) = mcp_at(
        &other_base,
        &[("authorization", &auth)],
        call("list_platforms", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(h[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains(&format!("http://localhost:{port}/.well-known/")));
    // The same token still works where it was issued.
    assert_token_works(&app, access(&tokens)).await;
}
both_stores!(resource_binding, tokens_are_bound_to_this_resource);

async fn a_tenants_token_never_reaches_another_tenants_jobs(db: Db) {
    let app = TestApp::spawn(db).await;
    app.pair_device(&app.api_key).await;
    let (b, _dev) = app.paired_tenant(100).await;
    let b_job = {
        let (s, body) = app
            .post_json(
                "/v1/jobs",
                Some(&b.key),
                &json!({"text": "B's secret post"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        body["id"].as_str().unwrap().to_string()
    };
    let (_, a_tokens) = connect(&app, &app.tenant_id).await;
    let a = access(&a_tokens);

    let (_, result) = call_with_token(&app, a, "get_post_status", json!({"jobId": b_job})).await;
    let err = tool_error(&result);
    assert_eq!(err["code"], "NOT_FOUND");
    assert!(!result.to_string().contains("B's secret post"));

    // Arguments cannot pick the tenant.
    let (_, result) = call_with_token(
        &app,
        a,
        "create_post",
        json!({"text": "mine", "tenantId": b.id}),
    )
    .await;
    assert_eq!(result["isError"], false, "{result}");
    let id = result["structuredContent"]["jobId"].as_str().unwrap();
    assert_eq!(
        app.job(id, Some(&app.api_key)).await["tenantId"],
        app.tenant_id.as_str()
    );
    assert_eq!(app.usage(&b.key).await["used"], 1);

    let (_, result) = call_with_token(&app, a, "get_account_status", json!({})).await;
    assert_eq!(
        result["structuredContent"]["tenantId"],
        app.tenant_id.as_str()
    );

    // B's own token sees B's job.
    let (_, b_tokens) = connect(&app, &b.id).await;
    let (_, result) = call_with_token(
        &app,
        access(&b_tokens),
        "get_post_status",
        json!({"jobId": b_job}),
    )
    .await;
    assert_eq!(result["structuredContent"]["status"], "queued", "{result}");
}
both_stores!(
    tenant_isolation,
    a_tenants_token_never_reaches_another_tenants_jobs
);

async fn the_api_key_also_works_on_mcp(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, body, _) = mcp_at(
        &app.base,
        &[("clawpost-api-key", &app.api_key)],
        call("get_account_status", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["tenantId"],
        app.tenant_id.as_str()
    );
    assert_eq!(body["result"]["structuredContent"]["paired"], false);

    // Same codes as the REST endpoint: no extension paired yet.
    let (_, body, _) = mcp_at(
        &app.base,
        &[("clawpost-api-key", &app.api_key)],
        call("create_post", json!({"text": "hi"})),
    )
    .await;
    let err = tool_error(&body["result"]);
    assert_eq!(err["code"], "EXTENSION_NOT_PAIRED");
    let rest = app
        .post_json("/v1/jobs", Some(&app.api_key), &json!({"text": "hi"}))
        .await;
    assert_eq!(rest.1["code"], err["code"]);
    assert_eq!(rest.1["error"], err["error"]);

    // Paired, and online while the extension keeps in touch.
    let dev = app.pair_device(&app.api_key).await;
    let (s, _) = app.pull(&dev, 0).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let status = |body: &Value| body["result"]["structuredContent"].clone();
    let (_, body, _) = mcp_at(
        &app.base,
        &[("clawpost-api-key", &app.api_key)],
        call("get_account_status", json!({})),
    )
    .await;
    let st = status(&body);
    assert_eq!(
        (st["paired"].clone(), st["online"].clone()),
        (json!(true), json!(true)),
        "{st}"
    );
    assert_eq!(st["devices"][0]["deviceId"], dev.device_id.as_str());
    assert_eq!(st["usage"]["used"], 0);
    app.clock.advance_ms(61_000);
    let (_, body, _) = mcp_at(
        &app.base,
        &[("clawpost-api-key", &app.api_key)],
        call("get_account_status", json!({})),
    )
    .await;
    let st = status(&body);
    assert_eq!(
        (st["paired"].clone(), st["online"].clone()),
        (json!(true), json!(false)),
        "{st}"
    );
    assert_eq!(st["devices"][0]["online"], false);

    let (s, _, h) = mcp_at(
        &app.base,
        &[("clawpost-api-key", "claw_wrong")],
        call("get_account_status", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(h[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
}
both_stores!(api_key, the_api_key_also_works_on_mcp);

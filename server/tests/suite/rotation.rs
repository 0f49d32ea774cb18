//! Rotating the API key ends everything the old key may have handed out:
//! every OAuth grant (its access and refresh tokens) and every other
//! dashboard session, from the command line and from the dashboard; paired
//! extensions stay unless revoked too (`--revoke-devices`, the dashboard's
//! box, "Revoke all extensions"). And a refresh that narrows the scope
//! issues an access token that carries only the narrower scope.

use std::process::Stdio;

use crate::common::{into_parts, Db, TestApp, TestDevice};
use crate::dashboard_client::Browser;
use clawpost_server::dashboard::session;
use clawpost_server::store::SignInMethod;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::process::Command;

const REDIRECT: &str = "http://127.0.0.1:53682/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// An MCP client connected through OAuth.
struct Connected {
    client_id: String,
    access: String,
    refresh: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Registers a public client and has the tenant approve it (through a
/// dashboard session and the consent form) for `scope`, then exchanges the
/// code.
async fn connect(app: &TestApp, tenant_id: &str, scope: Option<&str>) -> Connected {
    let (s, reg) = app
        .post_json(
            "/oauth/register",
            None,
            &json!({"client_name": "Agent", "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "none"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reg}");
    let client_id = reg["client_id"].as_str().unwrap().to_string();

    let tenant = app.state.store.tenant(tenant_id).await.unwrap().unwrap();
    let (_, cookie) = session::start(&app.state, tenant, SignInMethod::ApiKey, None, None)
        .await
        .unwrap();
    let cookie = cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    if let Some(scope) = scope {
        query.push(("scope", scope));
    }
    let page = no_redirects()
        .get(app.url("/oauth/authorize"))
        .query(&query)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let mut form: Vec<(String, String)> = crate::dashboard_client::tags(&html, "input")
        .into_iter()
        .filter(|t| crate::dashboard_client::attr(t, "type").as_deref() == Some("hidden"))
        .map(|t| {
            let a = |n: &str| crate::dashboard_client::attr(t, n).unwrap_or_default();
            (a("name"), a("value"))
        })
        .collect();
    form.push(("decision".into(), "approve".into()));
    let approved = no_redirects()
        .post(app.url("/oauth/authorize"))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::FOUND);
    let location = url::Url::parse(approved.headers()[LOCATION].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (s, tokens) = token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", &app.url("/mcp")),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    Connected {
        client_id,
        access: tokens["access_token"].as_str().unwrap().to_string(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_string(),
    }
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    into_parts(resp).await
}

/// A refresh, asking for `scope` when given.
async fn refresh(
    app: &TestApp,
    client_id: &str,
    refresh: &str,
    scope: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token(app, &form).await
}

/// Calls an MCP tool with a bearer token: the HTTP status and the JSON-RPC result.
async fn call_tool(app: &TestApp, bearer: &str, tool: &str, args: Value) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .bearer_auth(bearer)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": tool, "arguments": args}}))
        .send()
        .await
        .unwrap();
    let (s, body) = into_parts(resp).await;
    (s, body["result"].clone())
}

/// Whether an access token still reaches `/mcp`.
async fn access_works(app: &TestApp, access: &str) -> bool {
    let (s, result) = call_tool(app, access, "list_platforms", json!({})).await;
    match s {
        StatusCode::OK => {
            assert_eq!(result["isError"], false, "{result}");
            true
        }
        StatusCode::UNAUTHORIZED => false,
        other => panic!("unexpected {other}: {result}"),
    }
}

/// Whether a device token still reaches the extension API.
async fn device_works(app: &TestApp, dev: &TestDevice) -> bool {
    match app.pull(dev, 0).await.0 {
        StatusCode::NO_CONTENT | StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("unexpected {other}"),
    }
}

/// Whether a browser's dashboard session is live.
async fn signed_in(b: &Browser) -> bool {
    b.get("/").await.status == StatusCode::OK
}

/// `clawpost-server` run on the test's database; asserts success and
/// returns stdout.
async fn cli(app: &TestApp, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_clawpost-server"))
        .args(args)
        .args(["--database-url", &app.database_url])
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run clawpost-server");
    assert!(
        out.status.success(),
        "clawpost-server {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

both_stores!(
    rotating_from_the_command_line_revokes_grants_and_sessions,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let (other, _other_dev) = app.paired_tenant(100).await;
        let mcp = connect(&app, &app.tenant_id, None).await;
        let others_mcp = connect(&app, &other.id, None).await;
        let dev = app.pair_device(&app.api_key).await;
        let b = Browser::new(&app.base);
        b.sign_in(&app.api_key).await;
        assert!(access_works(&app, &mcp.access).await);

        let out = cli(&app, &["tenant", "rotate-key", "--tenant", &app.tenant_id]).await;
        let new_key = out.trim();
        assert!(new_key.starts_with("claw_"), "{out}");

        // The old key, the access token, the refresh token and the session
        // all stop working; the extension keeps its pairing.
        assert_eq!(
            app.get("/v1/usage", Some(&app.api_key)).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(app.usage(new_key).await["tenantId"], app.tenant_id.as_str());
        assert!(!access_works(&app, &mcp.access).await);
        let (s, body) = refresh(&app, &mcp.client_id, &mcp.refresh, None).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        assert!(!signed_in(&b).await);
        assert!(device_works(&app, &dev).await);
        // Another tenant's connection is untouched.
        assert!(access_works(&app, &others_mcp.access).await);

        // --revoke-devices unpairs the extensions too.
        let dev2 = app.pair_device(new_key).await;
        cli(
            &app,
            &[
                "tenant",
                "rotate-key",
                "--tenant",
                &app.tenant_id,
                "--revoke-devices",
            ],
        )
        .await;
        assert!(!device_works(&app, &dev).await);
        assert!(!device_works(&app, &dev2).await);
        assert!(app
            .state
            .store
            .tenant_devices(&app.tenant_id)
            .await
            .unwrap()
            .is_empty());
    }
);

both_stores!(
    rotating_from_the_dashboard_keeps_only_this_session,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let mcp = connect(&app, &app.tenant_id, None).await;
        let dev = app.pair_device(&app.api_key).await;
        let here = Browser::new(&app.base);
        here.sign_in(&app.api_key).await;
        let elsewhere = Browser::new(&app.base);
        elsewhere.sign_in(&app.api_key).await;

        let confirm = here.get("/key/rotate").await;
        assert!(confirm.body.contains("MCP client"), "{}", confirm.body);
        assert!(confirm.body.contains("revoke_devices"), "{}", confirm.body);
        let done = here.submit("/key/rotate", "/key/rotate", &[]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/?notice=rotated");
        let home = here.get("/?notice=rotated").await;
        assert!(
            home.body.contains("MCP clients were disconnected"),
            "{}",
            home.body
        );
        let key = home.input_value("api-key").expect("the new key is shown");

        assert!(signed_in(&here).await);
        assert!(!signed_in(&elsewhere).await);
        assert!(!access_works(&app, &mcp.access).await);
        let (s, _) = refresh(&app, &mcp.client_id, &mcp.refresh, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(device_works(&app, &dev).await);
        let clients = here.get("/mcp-clients").await;
        assert!(
            clients.body.contains("No MCP client is connected"),
            "{}",
            clients.body
        );

        // With the box ticked, the extensions go too.
        let done = here
            .submit("/key/rotate", "/key/rotate", &[("revoke_devices", "on")])
            .await;
        assert_eq!(done.location(), "/?notice=rotated-all");
        let home = here.get("/?notice=rotated-all").await;
        let newer = home.input_value("api-key").expect("the new key is shown");
        assert_ne!(newer, key);
        assert!(!device_works(&app, &dev).await);
        assert!(signed_in(&here).await);
    }
);

both_stores!(
    revoke_all_extensions_from_the_dashboard,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let (_other, other_dev) = app.paired_tenant(100).await;
        let mcp = connect(&app, &app.tenant_id, None).await;
        let first = app.pair_device(&app.api_key).await;
        let second = app.pair_device(&app.api_key).await;
        let b = Browser::new(&app.base);
        b.sign_in(&app.api_key).await;
        let page = b.get("/devices").await;
        assert!(page.body.contains("Revoke all extensions"), "{}", page.body);

        // Without this session's CSRF token nothing happens.
        let forged = b
            .post_form("/devices/revoke-all", &[("csrf", "nope")])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(device_works(&app, &first).await);

        let done = b.submit("/devices", "/devices/revoke-all", &[]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/devices?notice=revoked-all");
        let page = b.get("/devices?notice=revoked-all").await;
        assert!(
            page.body.contains("Every extension was revoked"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("No extension is paired yet"),
            "{}",
            page.body
        );
        assert!(!device_works(&app, &first).await);
        assert!(!device_works(&app, &second).await);
        // Only the extensions: the key, the session and MCP clients stay, and
        // another tenant's extension too.
        assert_eq!(
            app.usage(&app.api_key).await["tenantId"],
            app.tenant_id.as_str()
        );
        assert!(signed_in(&b).await);
        assert!(access_works(&app, &mcp.access).await);
        assert!(device_works(&app, &other_dev).await);
    }
);

both_stores!(
    a_narrowed_refresh_carries_only_its_scope,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let mcp = connect(&app, &app.tenant_id, None).await;
        let write = |token: String| {
            let app = &app;
            async move {
                let (s, result) =
                    call_tool(app, &token, "create_post", json!({"text": "hi"})).await;
                assert_eq!(s, StatusCode::OK, "{result}");
                let err = result["content"][0]["text"].as_str().unwrap_or("{}");
                serde_json::from_str::<Value>(err).unwrap_or(Value::Null)["code"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            }
        };
        // The full grant may write (no extension is paired, so the post itself
        // is refused past the scope check).
        assert_eq!(write(mcp.access.clone()).await, "EXTENSION_NOT_PAIRED");

        // Narrowed to reading: the new access token cannot write.
        let (s, narrow) = refresh(&app, &mcp.client_id, &mcp.refresh, Some("posts:read")).await;
        assert_eq!(s, StatusCode::OK, "{narrow}");
        assert_eq!(narrow["scope"], "posts:read");
        let narrow_access = narrow["access_token"].as_str().unwrap().to_string();
        assert!(access_works(&app, &narrow_access).await);
        assert_eq!(write(narrow_access.clone()).await, "INSUFFICIENT_SCOPE");

        // The refresh token issued with it has the scope of the one presented
        // (RFC 6749 §6): a later refresh may ask for the granted scope again, or
        // default to it, never for more.
        let narrow_refresh = narrow["refresh_token"].as_str().unwrap();
        let (s, again) = refresh(
            &app,
            &mcp.client_id,
            narrow_refresh,
            Some("posts:read posts:write"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{again}");
        assert_eq!(again["scope"], "posts:read posts:write");
        assert_eq!(
            write(again["access_token"].as_str().unwrap().to_string()).await,
            "EXTENSION_NOT_PAIRED"
        );

        // A read-only grant: no refresh widens it.
        let ro = connect(&app, &app.tenant_id, Some("posts:read")).await;
        assert_eq!(write(ro.access.clone()).await, "INSUFFICIENT_SCOPE");
        let (s, body) = refresh(&app, &ro.client_id, &ro.refresh, Some("posts:write")).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_scope"))
        );
        let (s, same) = refresh(&app, &ro.client_id, &ro.refresh, None).await;
        assert_eq!(s, StatusCode::OK, "{same}");
        assert_eq!(same["scope"], "posts:read");
        assert_eq!(
            write(same["access_token"].as_str().unwrap().to_string()).await,
            "INSUFFICIENT_SCOPE"
        );
    }
);

//! Limits on anonymous endpoints and on guessing: each trips at its number
//! with `429 RATE_LIMITED` and `Retry-After`, counts per client network
//! (IPv4 /24, IPv6 /64), believes `X-Forwarded-For` only from a trusted
//! proxy, and frees up as the window passes. The sweeper deletes
//! registrations that expired unpaired and OAuth clients that never
//! connected.

use std::time::Duration;

use crate::common::{assert_error, into_parts, Db, TestApp};
use crate::dashboard_client::Browser;
use clawpost_server::settings::{Rate, RateLimits, Settings};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Settings of a server behind a reverse proxy on 127.0.0.1 (where the
/// tests connect from), so that `X-Forwarded-For` names the client.
fn behind_proxy() -> Settings {
    Settings {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Settings::default()
    }
}

/// POSTs JSON as the client `from` (an `X-Forwarded-For` value) if given.
async fn post_from(
    app: &TestApp,
    path: &str,
    from: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).json(body);
    if let Some(from) = from {
        req = req.header("x-forwarded-for", from);
    }
    req.send().await.expect("request")
}

async fn register_from(app: &TestApp, from: Option<&str>) -> reqwest::Response {
    post_from(app, "/v1/connect/register", from, &json!({"name": "t"})).await
}

/// Asserts a 429 RATE_LIMITED whose Retry-After is within `max`; returns it.
async fn assert_limited(resp: reqwest::Response, max: Duration) -> u64 {
    let retry_after: u64 = resp
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry_after >= 1 && retry_after <= max.as_secs(),
        "Retry-After {retry_after}"
    );
    assert_error(
        &into_parts(resp).await,
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        None,
    );
    retry_after
}

both_stores!(registrations_are_limited_per_network, |db: Db| async move {
    let app = TestApp::spawn_with(db, behind_proxy()).await;
    for _ in 0..20 {
        assert_eq!(
            register_from(&app, Some("203.0.113.5")).await.status(),
            StatusCode::CREATED
        );
    }
    let retry = assert_limited(
        register_from(&app, Some("203.0.113.5")).await,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(retry, 60, "the clock has not moved: the whole window");
    // The same /24 is the same network; the next /24 is another.
    assert_limited(
        register_from(&app, Some("203.0.113.250")).await,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        register_from(&app, Some("203.0.114.5")).await.status(),
        StatusCode::CREATED
    );
    // A proxy's own address was not counted against the client's.
    assert_eq!(
        register_from(&app, None).await.status(),
        StatusCode::CREATED
    );
    // After a minute the network may register again.
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(
        register_from(&app, Some("203.0.113.5")).await.status(),
        StatusCode::CREATED
    );
});

both_stores!(ipv6_clients_count_per_64, |db: Db| async move {
    let app = TestApp::spawn_with(db, behind_proxy()).await;
    for i in 0..20 {
        let from = format!("2001:db8:1:2::{i:x}");
        assert_eq!(
            register_from(&app, Some(&from)).await.status(),
            StatusCode::CREATED
        );
    }
    assert_limited(
        register_from(&app, Some("2001:db8:1:2:ffff:ffff:ffff:ffff")).await,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        register_from(&app, Some("2001:db8:1:3::1")).await.status(),
        StatusCode::CREATED
    );
    // RFC 7239 `Forwarded` names the client too.
    let resp = app
        .client
        .post(app.url("/v1/connect/register"))
        .header("forwarded", "for=\"[2001:db8:1:2::99]:4711\"")
        .send()
        .await
        .unwrap();
    assert_limited(resp, Duration::from_secs(60)).await;
});

both_stores!(
    forwarded_headers_are_ignored_from_untrusted_peers,
    |db: Db| async move {
        // No trusted proxy: every request is the peer's, 127.0.0.1.
        let app = TestApp::spawn(db).await;
        for i in 0..20 {
            let from = format!("198.51.{i}.1");
            assert_eq!(
                register_from(&app, Some(&from)).await.status(),
                StatusCode::CREATED
            );
        }
        assert_limited(
            register_from(&app, Some("192.0.2.1")).await,
            Duration::from_secs(60),
        )
        .await;
        // Behind a trusted proxy, a client cannot dodge the limit by
        // prepending addresses: the proxy appends the real one.
        let app = TestApp::spawn_with(db, behind_proxy()).await;
        for i in 0..20 {
            let from = format!("10.{i}.0.1, 203.0.113.5");
            assert_eq!(
                register_from(&app, Some(&from)).await.status(),
                StatusCode::CREATED
            );
        }
        assert_limited(
            register_from(&app, Some("192.0.2.1, 203.0.113.5")).await,
            Duration::from_secs(60),
        )
        .await;
    }
);

both_stores!(oauth_registrations_are_limited, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let meta =
        json!({"redirect_uris": ["http://127.0.0.1:1/cb"], "token_endpoint_auth_method": "none"});
    for _ in 0..20 {
        assert_eq!(
            post_from(&app, "/oauth/register", None, &meta)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    let resp = post_from(&app, "/oauth/register", None, &meta).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let (_, body) = into_parts(resp).await;
    assert_eq!(body["error"], "rate_limited", "{body}");
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(
        post_from(&app, "/oauth/register", None, &meta)
            .await
            .status(),
        StatusCode::CREATED
    );
});

both_stores!(sign_ins_are_limited, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    // Pairing by ID token counts as a sign-in (refused here for want of a
    // provider, after being counted).
    let google = json!({"idToken": "x"});
    for _ in 0..15 {
        let (s, _) = into_parts(post_from(&app, "/v1/connect/google", None, &google).await).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    // Dashboard sign-ins with the API key share the count.
    for _ in 0..15 {
        Browser::new(&app.base).sign_in(&app.api_key).await;
    }
    let b = Browser::new(&app.base);
    let page = b
        .submit("/login", "/login", &[("apiKey", &app.api_key)])
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.header("retry-after").is_some());
    assert!(page.cookie("cp_session").is_none());
    assert_limited(
        post_from(&app, "/v1/connect/google", None, &google).await,
        Duration::from_secs(60),
    )
    .await;
    app.clock.advance(Duration::from_secs(60));
    b.sign_in(&app.api_key).await;
});

both_stores!(wrong_api_keys_lock_the_network_out, |db: Db| async move {
    let app = TestApp::spawn_with(db, behind_proxy()).await;
    let usage = |key: String, from: &'static str| {
        let req = app
            .client
            .get(app.url("/v1/usage"))
            .header("clawpost-api-key", key)
            .header("x-forwarded-for", from);
        async move { req.send().await.unwrap() }
    };
    for i in 0..30 {
        let resp = usage(format!("claw_wrong{i}"), "203.0.113.5").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    // Past the limit even the right key is refused from that network,
    // so the answers tell nothing about the keys tried.
    assert_limited(
        usage(app.api_key.clone(), "203.0.113.77").await,
        Duration::from_secs(60),
    )
    .await;
    let (s, _) = app
        .post_json(
            "/v1/connect/pair",
            Some("claw_wrong"),
            &json!({"code": "123456"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "another network (the proxy)");
    // Public endpoints that take a key optionally refuse it too.
    app.pair_device(&app.api_key).await;
    let job = app.create_post("hello").await;
    let resp = app
        .client
        .get(app.url(&format!("/v1/jobs/{job}")))
        .header("clawpost-api-key", &app.api_key)
        .header("x-forwarded-for", "203.0.113.5")
        .send()
        .await
        .unwrap();
    assert_limited(resp, Duration::from_secs(60)).await;
    // Other networks are not affected.
    assert_eq!(
        usage(app.api_key.clone(), "203.0.114.5").await.status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(
        usage(app.api_key.clone(), "203.0.113.5").await.status(),
        StatusCode::OK
    );
});

both_stores!(
    wrong_api_keys_at_mcp_count_and_are_refused_too,
    |db: Db| async move {
        let app = TestApp::spawn_with(db, behind_proxy()).await;
        let mcp = |key: String, from: &'static str| {
            let req = app
                .client
                .post(app.url("/mcp"))
                .header("clawpost-api-key", key)
                .header("x-forwarded-for", from)
                .header("accept", "application/json, text/event-stream")
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
            async move { req.send().await.unwrap() }
        };
        for i in 0..30 {
            let resp = mcp(format!("claw_wrong{i}"), "198.51.100.9").await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        }
        // The MCP door and the REST doors share the network's count.
        assert_limited(
            mcp(app.api_key.clone(), "198.51.100.10").await,
            Duration::from_secs(60),
        )
        .await;
        let rest = app
            .client
            .get(app.url("/v1/usage"))
            .header("clawpost-api-key", &app.api_key)
            .header("x-forwarded-for", "198.51.100.11")
            .send()
            .await
            .unwrap();
        assert_limited(rest, Duration::from_secs(60)).await;
    }
);

/// A code no registration has (the registration's own plus one).
fn wrong_code(reg: &Value) -> String {
    let code: u32 = reg["pairingCode"].as_str().unwrap().parse().unwrap();
    format!("{:06}", (code + 1) % 1_000_000)
}

async fn pair_from(app: &TestApp, key: &str, code: &str, from: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/connect/pair"))
        .header("clawpost-api-key", key)
        .header("x-forwarded-for", from)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap()
}

both_stores!(
    wrong_codes_are_limited_per_network_whatever_the_tenant,
    |db: Db| async move {
        let app = TestApp::spawn_with(db, behind_proxy()).await;
        let reg = app.register().await;
        let wrong = wrong_code(&reg);
        // 5 tenants × 10 wrong codes each (the per-tenant limit) = 50.
        for _ in 0..5 {
            let (_, key) = app.new_tenant(10).await;
            for _ in 0..10 {
                let resp = pair_from(&app, &key, &wrong, "203.0.113.5").await;
                assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
            }
        }
        // A fresh tenant from the same /24 is refused, even the right code.
        let (_, key) = app.new_tenant(10).await;
        let right = reg["pairingCode"].as_str().unwrap();
        let retry = assert_limited(
            pair_from(&app, &key, right, "203.0.113.9").await,
            Duration::from_secs(600),
        )
        .await;
        assert_eq!(retry, 600);
        // From another network the code still works, and a right code does
        // not count as a wrong one.
        let resp = pair_from(&app, &key, right, "198.51.100.1").await;
        assert_eq!(resp.status(), StatusCode::OK);
        app.clock.advance(Duration::from_secs(600));
        let reg = app.register().await;
        let resp = pair_from(
            &app,
            &app.api_key,
            reg["pairingCode"].as_str().unwrap(),
            "203.0.113.5",
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
);

both_stores!(wrong_codes_are_limited_server_wide, |db: Db| async move {
    let limits = RateLimits {
        wrong_codes_server: Rate {
            count: 12,
            window: Duration::from_secs(600),
        },
        ..RateLimits::default()
    };
    let app = TestApp::spawn_with(
        db,
        Settings {
            limits,
            ..behind_proxy()
        },
    )
    .await;
    let reg = app.register().await;
    let wrong = wrong_code(&reg);
    // Wrong codes from many networks and tenants add up.
    for i in 0..12 {
        let (_, key) = app.new_tenant(10).await;
        let from = format!("198.51.{i}.1");
        let resp = pair_from(&app, &key, &wrong, &from).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
    let (_, key) = app.new_tenant(10).await;
    assert_limited(
        pair_from(&app, &key, &wrong, "192.0.2.1").await,
        Duration::from_secs(600),
    )
    .await;
    // Five minutes on, the wait is what is left of the window.
    app.clock.advance(Duration::from_secs(300));
    let retry = assert_limited(
        pair_from(&app, &key, &wrong, "192.0.2.1").await,
        Duration::from_secs(600),
    )
    .await;
    assert_eq!(retry, 300);
});

both_stores!(
    the_sweeper_deletes_expired_registrations_and_unused_clients,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let idle = app.register().await;
        let paired = app.pair_device(&app.api_key).await;
        let meta = json!({"redirect_uris": ["http://127.0.0.1:1/cb"], "token_endpoint_auth_method": "none"});
        let (s, client) = into_parts(post_from(&app, "/oauth/register", None, &meta).await).await;
        assert_eq!(s, StatusCode::CREATED);
        let client_id = client["client_id"].as_str().unwrap().to_string();
        let sweep = || clawpost_server::app::limits::sweep(&app.state);

        // The code expired ten minutes after registering; an hour later
        // the registration is deleted.
        app.clock.advance(Duration::from_secs(10 * 60 + 3600));
        assert_eq!(app.connect_status(&idle).await.1["status"], "expired");
        let swept = sweep().await.unwrap();
        assert_eq!((swept.devices, swept.clients), (0, 0), "not yet");
        app.clock.advance(Duration::from_secs(1));
        let swept = sweep().await.unwrap();
        assert_eq!(swept.devices, 1);
        assert_eq!(app.connect_status(&idle).await.0, StatusCode::NOT_FOUND);
        // The paired device stays.
        let (s, _) = app.pull(&paired, 0).await;
        assert!(s.is_success(), "{s}");

        // A client that never connected goes a day after registering.
        assert!(app.state.store.client(&client_id).await.unwrap().is_some());
        app.clock.advance(Duration::from_secs(24 * 3600));
        let swept = sweep().await.unwrap();
        assert_eq!(swept.clients, 1);
        assert!(app.state.store.client(&client_id).await.unwrap().is_none());
    }
);

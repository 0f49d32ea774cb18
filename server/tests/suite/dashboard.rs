//! The dashboard over HTTP, as a browser uses it: sign-in with the API key,
//! sessions and their expiry, CSRF on every state-changing form, key reveal
//! and rotation, pairing and revoking extensions, the job history, usage,
//! and the security headers. Each test runs on SQLite and on PostgreSQL.

use crate::common::{assert_error, Db, TestApp};
use crate::dashboard_client::Browser;
use reqwest::StatusCode;
use serde_json::json;

const HOUR: i64 = 3_600_000;

both_stores!(pages_need_a_session, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let b = Browser::new(&app.base);
    for path in ["/", "/devices", "/jobs", "/usage", "/key/rotate"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), "/login", "{path}");
    }
    // Unknown paths keep the API's JSON 404.
    let (s, body) = app.get("/no/such/page", None).await;
    assert_error(&(s, body), StatusCode::NOT_FOUND, "NOT_FOUND", None);
});

both_stores!(sign_in_with_the_api_key, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let b = Browser::new(&app.base);
    // A wrong key is refused and starts no session.
    let wrong = b
        .submit("/login", "/login", &[("apiKey", "claw_wrong")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("not valid"), "{}", wrong.body);
    assert!(wrong.cookie("cp_session").is_none());
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);

    let signed_in = b.sign_in(&app.api_key).await;
    let cookie = signed_in.cookie("cp_session").expect("session cookie");
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(
        home.input_value("tenant-id").as_deref(),
        Some(app.tenant_id.as_str())
    );
    // The key is not on the page until revealed.
    assert!(!home.body.contains(&app.api_key));
    // Signed in, /login goes home.
    assert_eq!(b.get("/login").await.location(), "/");

    // The store holds the session's hash, never the cookie's secret.
    let store_has_plain: bool = {
        let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM dashboard_sessions WHERE id_hash = '{cookie}' OR sealed_key LIKE '%{}%'",
            app.api_key
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        n > 0
    };
    assert!(
        !store_has_plain,
        "session secret or API key stored in plaintext"
    );

    // Sign out: the cookie's session is gone on the server too.
    let out = b.submit("/", "/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login?notice=signed-out");
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/"))
        .header("cookie", format!("cp_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.status(),
        StatusCode::SEE_OTHER,
        "a signed-out session must not work"
    );
});

both_stores!(sessions_expire, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let b = Browser::new(&app.base);
    b.sign_in(&app.api_key).await;
    app.clock.advance_ms(11 * HOUR);
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    app.clock.advance_ms(HOUR);
    let page = b.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login");
});

both_stores!(cookies_and_security_headers, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let b = Browser::new(&app.base);
    let login = b.get("/login").await;
    let signed_in = b.sign_in(&app.api_key).await;
    let session_cookie = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("cp_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(
            session_cookie.contains(attr),
            "{session_cookie} lacks {attr}"
        );
    }
    // Plain HTTP on loopback: a local server, so not Secure.
    assert!(!session_cookie.contains("Secure"), "{session_cookie}");
    for page in [
        login,
        b.get("/").await,
        b.get("/jobs").await,
        b.get("/usage").await,
    ] {
        let csp = page.header("content-security-policy").expect("CSP");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("cache-control"), Some("no-store"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert!(!page.body.contains("<script>"), "no inline script");
    }
    let css = b.get("/assets/dashboard.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(css.header("x-content-type-options"), Some("nosniff"));
});

both_stores!(
    state_changing_forms_need_the_csrf_token,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let b = Browser::new(&app.base);
        // Sign-in itself: no token, no session.
        b.get("/login").await;
        let page = b.post_form("/login", &[("apiKey", &app.api_key)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);

        b.sign_in(&app.api_key).await;
        let reg = app.register().await;
        let code = reg["pairingCode"].as_str().unwrap();
        let posts: [(&str, Vec<(&str, &str)>); 5] = [
            ("/key/rotate", vec![]),
            ("/key/reveal", vec![]),
            ("/devices/pair", vec![("code", code)]),
            ("/logout", vec![]),
            ("/devices/some-id/revoke", vec![]),
        ];
        for (action, fields) in &posts {
            let none = b.post_form(action, fields).await;
            assert_eq!(
                none.status,
                StatusCode::FORBIDDEN,
                "{action} without a token"
            );
            let mut wrong = fields.clone();
            wrong.push(("csrf", "not-the-token"));
            let page = b.post_form(action, &wrong).await;
            assert_eq!(
                page.status,
                StatusCode::FORBIDDEN,
                "{action} with a wrong token"
            );
        }
        // Nothing happened: the key works, the session lives, the code is unused.
        assert_eq!(
            app.get("/v1/usage", Some(&app.api_key)).await.0,
            StatusCode::OK
        );
        assert_eq!(b.get("/").await.status, StatusCode::OK);
        assert_eq!(app.connect_status(&reg).await.1["status"], "pending");

        // Another session's token is not this one's.
        let other = Browser::new(&app.base);
        other.sign_in(&app.api_key).await;
        let foreign = other.get("/").await.csrf();
        let page = b.post_form("/key/rotate", &[("csrf", &foreign)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    }
);

both_stores!(
    pair_api_accepts_a_session_with_its_csrf_header,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let b = Browser::new(&app.base);
        b.sign_in(&app.api_key).await;
        let csrf = b.get("/").await.csrf();
        let reg = app.register().await;
        let code = reg["pairingCode"].as_str().unwrap();
        let post = |token: Option<String>| {
            let mut req = b
                .http
                .post(app.url("/v1/connect/pair"))
                .json(&json!({"code": code}));
            if let Some(t) = token {
                req = req.header("x-csrf-token", t);
            }
            async move { crate::common::into_parts(req.send().await.unwrap()).await }
        };
        assert_error(
            &post(None).await,
            StatusCode::FORBIDDEN,
            "CSRF_TOKEN_INVALID",
            None,
        );
        let (s, body) = post(Some(csrf)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["tenantId"], app.tenant_id.as_str());
        assert_eq!(app.connect_status(&reg).await.1["status"], "paired");
        // Without a session or key: 401.
        let (s, _) = app
            .post_json("/v1/connect/pair", None, &json!({"code": "123456"}))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
);

both_stores!(reveal_and_rotate_the_key, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let b = Browser::new(&app.base);
    b.sign_in(&app.api_key).await;
    let other = Browser::new(&app.base);
    other.sign_in(&app.api_key).await;

    let revealed = b.submit("/", "/key/reveal", &[]).await;
    assert_eq!(revealed.status, StatusCode::OK);
    assert_eq!(
        revealed.input_value("api-key").as_deref(),
        Some(app.api_key.as_str())
    );

    let confirm = b.get("/key/rotate").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("stops working at once"));
    let rotated = b.submit("/key/rotate", "/key/rotate", &[]).await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER);
    assert_eq!(rotated.location(), "/?notice=rotated");
    let shown = b.get("/?notice=rotated").await;
    let new_key = shown.input_value("api-key").expect("the new key is shown");
    assert!(new_key.starts_with("claw_") && new_key != app.api_key);

    // The old key stops at once; the new one works; reveal shows the new one.
    assert_eq!(
        app.get("/v1/usage", Some(&app.api_key)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/v1/usage", Some(&new_key)).await.0, StatusCode::OK);
    let again = b.submit("/", "/key/reveal", &[]).await;
    assert_eq!(again.input_value("api-key"), Some(new_key.clone()));
    // The other session was signed out; signing in with the old key fails.
    assert_eq!(other.get("/").await.status, StatusCode::SEE_OTHER);
    let old = Browser::new(&app.base)
        .submit("/login", "/login", &[("apiKey", &app.api_key)])
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    Browser::new(&app.base).sign_in(&new_key).await;
});

both_stores!(pair_list_and_revoke_devices, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let b = Browser::new(&app.base);
    b.sign_in(&app.api_key).await;
    assert!(b
        .get("/devices")
        .await
        .body
        .contains("No extension is paired yet"));

    // A wrong code is refused on the page.
    let wrong = b
        .submit("/devices", "/devices/pair", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong
            .body
            .contains("No extension is waiting with that code"),
        "{}",
        wrong.body
    );
    let malformed = b
        .submit("/devices", "/devices/pair", &[("code", "12ab")])
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);

    let reg = app
        .post_json(
            "/v1/connect/register",
            None,
            &json!({"name": "Chrome on <laptop>"}),
        )
        .await
        .1;
    let code = reg["pairingCode"].as_str().unwrap();
    let paired = b
        .submit("/devices", "/devices/pair", &[("code", code)])
        .await;
    assert_eq!(paired.status, StatusCode::SEE_OTHER);
    assert_eq!(paired.location(), "/devices?notice=paired");
    let st = app.connect_status(&reg).await.1;
    assert_eq!(st["status"], "paired");
    let dev = crate::common::TestDevice {
        device_id: reg["deviceId"].as_str().unwrap().to_string(),
        token: st["deviceToken"].as_str().unwrap().to_string(),
    };
    // The device reports in with a selector pack: the list shows it.
    let id = app.create_post("hello").await;
    let job = app.pull_job(&dev).await;
    assert_eq!(job["id"], id.as_str());
    let (s, _) = app
        .ack(&dev, &id, json!({"status": "succeeded", "postUrl": "https://x.com/u/status/9", "packVersion": "x-2026.11.1"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let list = b.get("/devices?notice=paired").await;
    assert!(list.body.contains("Extension paired."));
    assert!(
        list.body.contains("Chrome on &lt;laptop&gt;"),
        "names are escaped: {}",
        list.body
    );
    assert!(list.body.contains("x-2026.11.1"));
    assert!(list
        .body
        .contains(&format!(r#"data-device="{}""#, dev.device_id)));

    // Another tenant cannot revoke it.
    let (other_tenant, _) = app.paired_tenant(10).await;
    let intruder = Browser::new(&app.base);
    intruder.sign_in(&other_tenant.key).await;
    let page = intruder
        .submit(
            "/devices",
            &format!("/devices/{}/revoke", dev.device_id),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(app.pull(&dev, 0).await.0, StatusCode::NO_CONTENT);

    // Its owner revokes it: the token stops at once.
    let revoked = b
        .submit(
            "/devices",
            &format!("/devices/{}/revoke", dev.device_id),
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(revoked.location(), "/devices?notice=revoked");
    assert_eq!(app.pull(&dev, 0).await.0, StatusCode::UNAUTHORIZED);
    let list = b.get("/devices").await;
    assert!(!list.body.contains(&dev.device_id));
    let twice = b
        .submit(
            "/devices",
            &format!("/devices/{}/revoke", dev.device_id),
            &[],
        )
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
});

both_stores!(job_history_filters_and_details, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key.clone()).await;
    let ok = app.create_post("first").await;
    app.clock.advance_ms(1000);
    let (s, li) = app
        .post_json(
            "/v1/jobs",
            Some(&app.api_key),
            &json!({"platform": "linkedin", "text": "second <b>bold</b>"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{li}");
    let failed = li["id"].as_str().unwrap().to_string();
    app.clock.advance_ms(1000);
    let queued = app.create_post("third").await;

    app.pull_job(&dev).await;
    app.ack(
        &dev,
        &ok,
        json!({"status": "succeeded", "postUrl": "https://x.com/u/status/1"}),
    )
    .await;
    app.pull_job(&dev).await;
    let (s, body) = app
        .ack(
            &dev,
            &failed,
            json!({"status": "failed", "errorCode": "selector_not_found", "error": "Composer not found",
                   "details": {"selector": "div.composer", "url": "https://www.linkedin.com/feed/"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let b = Browser::new(&app.base);
    b.sign_in(&app.api_key).await;
    let all = b.get("/jobs").await;
    assert_eq!(all.status, StatusCode::OK);
    let pos = |id: &str| {
        all.body
            .find(&format!(r#"data-job="{id}""#))
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert!(
        pos(&queued) < pos(&failed) && pos(&failed) < pos(&ok),
        "newest first"
    );
    assert!(all.body.contains(r#"href="https://x.com/u/status/1""#));
    assert!(all.body.contains("selector_not_found") && all.body.contains("Composer not found"));

    let only_failed = b.get("/jobs?status=failed").await;
    assert!(only_failed.body.contains(&failed));
    assert!(!only_failed.body.contains(&ok) && !only_failed.body.contains(&queued));
    let only_x = b.get("/jobs?platform=x&status=").await;
    assert!(only_x.body.contains(&ok) && only_x.body.contains(&queued));
    assert!(!only_x.body.contains(&failed));
    assert!(
        only_x.body.contains(r#"<option value="x" selected"#),
        "{}",
        only_x.body
    );

    let detail = b.get(&format!("/jobs/{failed}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("Diagnostic"));
    assert!(
        detail.body.contains("div.composer"),
        "details shown: {}",
        detail.body
    );
    assert!(
        detail.body.contains("second &lt;b&gt;bold&lt;/b&gt;"),
        "text escaped"
    );
    let done = b.get(&format!("/jobs/{ok}")).await;
    assert!(done.body.contains(r#"href="https://x.com/u/status/1""#));
    assert!(!done.body.contains("Diagnostic"));

    // Someone else's job is not found.
    let (other, _) = app.paired_tenant(10).await;
    let intruder = Browser::new(&app.base);
    intruder.sign_in(&other.key).await;
    assert_eq!(
        intruder.get(&format!("/jobs/{ok}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!intruder.get("/jobs").await.body.contains(&ok));
});

both_stores!(job_history_pages, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    app.pair_device(&app.api_key.clone()).await;
    let mut ids = Vec::new();
    for i in 0..53 {
        ids.push(app.create_post(&format!("post {i}")).await);
        if i % 2 == 0 {
            app.clock.advance_ms(1);
        }
    }
    let b = Browser::new(&app.base);
    b.sign_in(&app.api_key).await;
    let first = b.get("/jobs").await;
    let count = |body: &str| body.matches("data-job=").count();
    assert_eq!(count(&first.body), 50);
    let older = first.body.find("Older jobs").expect("a link to older jobs");
    let link = crate::dashboard_client::tags(&first.body[..older], "a")
        .pop()
        .unwrap();
    let next = crate::dashboard_client::attr(link, "href").unwrap();
    assert!(next.starts_with("/jobs?before="), "{next}");
    let second = b.get(&next).await;
    assert_eq!(count(&second.body), 3);
    assert!(!second.body.contains("Older jobs"));
    let mut seen: Vec<String> = [&first.body, &second.body]
        .iter()
        .flat_map(|body| {
            body.split(r#"data-job=""#)
                .skip(1)
                .map(|s| s[..36].to_string())
        })
        .collect();
    seen.sort();
    seen.dedup();
    ids.sort();
    assert_eq!(seen, ids, "every job once across the pages");
});

both_stores!(usage_and_chart, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key.clone()).await;
    // Two days ago: one success. Today: one failure, one queued.
    let old = app.create_post("old").await;
    app.pull_job(&dev).await;
    app.ack(
        &dev,
        &old,
        json!({"status": "succeeded", "postUrl": "https://x.com/u/status/2"}),
    )
    .await;
    app.clock.advance_ms(48 * HOUR);
    let bad = app.create_post("bad").await;
    app.pull_job(&dev).await;
    app.ack(
        &dev,
        &bad,
        json!({"status": "failed", "errorCode": "not_logged_in", "error": "Signed out"}),
    )
    .await;
    app.create_post("waiting").await;

    let b = Browser::new(&app.base);
    b.sign_in(&app.api_key).await;
    let page = b.get("/usage").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("3 of 1000 jobs"), "{}", page.body);
    assert!(page.body.contains("<svg"));
    assert_eq!(page.body.matches(r#"class="day""#).count(), 30);
    assert!(
        page.body
            .contains(r#"data-date="2026-11-15" data-total="1""#),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains(r#"data-date="2026-11-17" data-total="2""#));
    assert!(page
        .body
        .contains("2026-11-17: 0 succeeded, 1 failed, 1 pending"));
    let bars = crate::dashboard_client::tags(&page.body, "rect");
    for class in ["ok", "failed", "pending"] {
        let of_class: Vec<_> = bars
            .iter()
            .filter(|t| crate::dashboard_client::attr(t, "class").as_deref() == Some(class))
            .collect();
        assert_eq!(of_class.len(), 1, "{class} bars: {bars:?}");
        let height: f64 = crate::dashboard_client::attr(of_class[0], "height")
            .unwrap()
            .parse()
            .unwrap();
        assert!(height > 1.0, "{class} bar drawn: {height}");
    }
    let home = b.get("/").await;
    assert!(home.body.contains("3 of 1000 jobs"));
    assert!(home.body.contains("1 paired"));
});

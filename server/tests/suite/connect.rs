//! Pairing over HTTP: register, status polling, pairing by code, code expiry
//! and the wrong-code limits.

use crate::common::{assert_error, Db, TestApp};
use clawpost_server::settings::{Rate, RateLimits, Settings};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A valid-looking code that is not `reg`'s.
fn wrong_code(reg: &Value) -> String {
    let code: u32 = reg["pairingCode"].as_str().unwrap().parse().unwrap();
    format!("{:06}", (code + 1) % 1_000_000)
}

fn code(reg: &Value) -> &str {
    reg["pairingCode"].as_str().unwrap()
}

both_stores!(register_hands_out_a_code, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let reg = app.register().await;
    let code = code(&reg);
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert!(reg["pollToken"].as_str().is_some_and(|t| t.len() >= 32));
    assert!(reg["deviceId"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(reg["expiresAt"], crate::common::T0 + 10 * 60_000);

    // The body is optional; a malformed one is refused.
    let (s, bare) = app.post_raw("/v1/connect/register", None, Vec::new()).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(bare["pairingCode"], reg["pairingCode"]);
    assert_error(
        &app.post_raw("/v1/connect/register", None, b"{name".to_vec())
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_JSON",
        None,
    );
});

both_stores!(
    status_turns_paired_and_hands_the_token_once,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let reg = app.register().await;
        let (s, st) = app.connect_status(&reg).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            st,
            json!({"status": "pending", "expiresAt": reg["expiresAt"]})
        );

        let (s, paired) = app.pair(&app.api_key, code(&reg)).await;
        assert_eq!(s, StatusCode::OK, "{paired}");
        assert_eq!(paired["deviceId"], reg["deviceId"]);
        assert_eq!(paired["tenantId"], app.tenant_id.as_str());
        assert_eq!(paired["name"], "test");

        let (_, st) = app.connect_status(&reg).await;
        assert_eq!(st["status"], "paired");
        assert_eq!(st["tenantId"], app.tenant_id.as_str());
        let token = st["deviceToken"]
            .as_str()
            .expect("the token, on the first paired answer");
        let (_, again) = app.connect_status(&reg).await;
        assert_eq!(again["status"], "paired");
        assert!(
            again.get("deviceToken").is_none(),
            "token handed out twice: {again}"
        );

        // The token works.
        let dev = crate::common::TestDevice {
            device_id: reg["deviceId"].as_str().unwrap().to_string(),
            token: token.to_string(),
        };
        assert_eq!(app.pull(&dev, 0).await.0, StatusCode::NO_CONTENT);

        // The poll token can also come as a bearer token.
        let resp = app
            .client
            .get(app.url(&format!("/v1/connect/status?deviceId={}", dev.device_id)))
            .bearer_auth(reg["pollToken"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(crate::common::into_parts(resp).await.1["status"], "paired");
    }
);

both_stores!(status_refuses_wrong_poll_tokens, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let reg = app.register().await;
    let other = app.register().await;
    let device = reg["deviceId"].as_str().unwrap();
    for token in [other["pollToken"].as_str().unwrap(), "cpp_guess"] {
        assert_error(
            &app.get_bearer(&format!("/v1/connect/status?deviceId={device}"), token)
                .await,
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            None,
        );
    }
    // The right poll token in the URL is refused: tokens never travel in URLs.
    let own = reg["pollToken"].as_str().unwrap();
    assert_error(
        &app.get_bearer(
            &format!("/v1/connect/status?deviceId={device}&pollToken={own}"),
            own,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        None,
    );
    assert_error(
        &app.get(&format!("/v1/connect/status?deviceId={device}"), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        None,
    );
    assert_error(
        &app.get_bearer("/v1/connect/status?deviceId=nope", "x")
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        None,
    );
    assert_error(
        &app.get("/v1/connect/status", None).await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("deviceId"),
    );
});

both_stores!(codes_expire_after_ten_minutes, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let early = app.register().await;
    let late = app.register().await;
    app.clock.advance_ms(10 * 60_000 - 1);
    assert_eq!(app.connect_status(&late).await.1["status"], "pending");
    assert_eq!(app.pair(&app.api_key, code(&early)).await.0, StatusCode::OK);

    app.clock.advance_ms(1);
    let (s, st) = app.connect_status(&late).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st["status"], "expired");
    assert!(st.get("deviceToken").is_none());
    assert_error(
        &app.pair(&app.api_key, code(&late)).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PAIRING_CODE",
        Some("code"),
    );
    assert_eq!(app.connect_status(&late).await.1["status"], "expired");
});

both_stores!(a_used_code_is_dead, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let reg = app.register().await;
    assert_eq!(app.pair(&app.api_key, code(&reg)).await.0, StatusCode::OK);
    let (_, b_key) = app.new_tenant(10).await;
    for key in [app.api_key.as_str(), b_key.as_str()] {
        assert_error(
            &app.pair(key, code(&reg)).await,
            StatusCode::BAD_REQUEST,
            "INVALID_PAIRING_CODE",
            Some("code"),
        );
    }
    // Still A's device.
    assert_eq!(
        app.connect_status(&reg).await.1["tenantId"],
        app.tenant_id.as_str()
    );
});

both_stores!(pair_checks_key_and_code_shape, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let reg = app.register().await;
    assert_error(
        &app.post_json("/v1/connect/pair", None, &json!({"code": code(&reg)}))
            .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        None,
    );
    assert_error(
        &app.pair("claw_wrong", code(&reg)).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        None,
    );
    for bad in ["12345", "1234567", "abcdef", ""] {
        assert_error(
            &app.pair(&app.api_key, bad).await,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            Some("code"),
        );
    }
    assert_error(
        &app.post_json("/v1/connect/pair", Some(&app.api_key), &json!({}))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        None,
    );
    // None of that used the code up.
    assert_eq!(
        app.pair(&app.api_key, &format!(" {} ", code(&reg))).await.0,
        StatusCode::OK
    );
});

/// Settings with small wrong-code limits (per tenant, per network).
fn limits(per_tenant: u32, per_network: u32) -> Settings {
    let defaults = RateLimits::default();
    Settings {
        limits: RateLimits {
            wrong_codes_per_tenant: Rate {
                count: per_tenant,
                ..defaults.wrong_codes_per_tenant
            },
            wrong_codes_per_network: Rate {
                count: per_network,
                ..defaults.wrong_codes_per_network
            },
            ..defaults
        },
        ..Settings::default()
    }
}

both_stores!(wrong_codes_lock_the_tenant_out, |db: Db| async move {
    let app = TestApp::spawn_with(db, limits(3, 100)).await;
    let reg = app.register().await;
    for _ in 0..3 {
        assert_error(
            &app.pair(&app.api_key, &wrong_code(&reg)).await,
            StatusCode::BAD_REQUEST,
            "INVALID_PAIRING_CODE",
            Some("code"),
        );
    }
    let resp = app
        .client
        .post(app.url("/v1/connect/pair"))
        .header("clawpost-api-key", &app.api_key)
        .json(&json!({"code": code(&reg)}))
        .send()
        .await
        .unwrap();
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    let got = crate::common::into_parts(resp).await;
    assert_error(&got, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", None);
    assert_eq!(app.connect_status(&reg).await.1["status"], "pending");

    // Another tenant at the same address is not locked out.
    let (_, other_key) = app.new_tenant(10).await;
    assert_eq!(app.pair(&other_key, code(&reg)).await.0, StatusCode::OK);

    // Once the window has passed, the tenant may try again.
    app.clock.advance(
        RateLimits::default().wrong_codes_per_tenant.window + std::time::Duration::from_millis(1),
    );
    let fresh = app.register().await;
    assert_eq!(app.pair(&app.api_key, code(&fresh)).await.0, StatusCode::OK);
});

both_stores!(wrong_codes_lock_the_network_out, |db: Db| async move {
    let app = TestApp::spawn_with(db, limits(100, 3)).await;
    let reg = app.register().await;
    for _ in 0..3 {
        let (_, key) = app.new_tenant(10).await;
        assert_eq!(
            app.pair(&key, &wrong_code(&reg)).await.0,
            StatusCode::BAD_REQUEST
        );
    }
    assert_error(
        &app.pair(&app.api_key, code(&reg)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        None,
    );
});

both_stores!(
    concurrent_wrong_codes_stay_within_the_limit,
    |db: Db| async move {
        let app = TestApp::spawn_with(db, limits(5, 100)).await;
        let reg = app.register().await;
        let wrong = wrong_code(&reg);
        let results =
            futures::future::join_all((0..30).map(|_| app.pair(&app.api_key, &wrong))).await;
        let guesses = results
            .iter()
            .filter(|(s, _)| *s == StatusCode::BAD_REQUEST)
            .count();
        let refused = results
            .iter()
            .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(guesses + refused, 30);
        assert!(
            guesses <= 5,
            "{guesses} wrong codes were tried against a limit of 5"
        );
    }
);

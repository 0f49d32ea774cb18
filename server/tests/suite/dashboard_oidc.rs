//! Sign-in through an OpenID provider, against a real local provider (RSA
//! keys generated here, JWKS, discovery, authorization and token endpoints
//! with PKCE): dashboard sign-in, the tenant created at the first sign-in,
//! extension auto-pairing with an ID token (`POST /v1/connect/google`), and
//! the tokens that must be refused: bad signature, wrong audience or issuer,
//! expired, unverified email, replayed nonce.

use crate::common::{assert_error, Db, TestApp};
use crate::dashboard_client::{Browser, Page};
use crate::oidc_provider::{Flaw, Provider, TokenSpec, User};
use clawpost_server::settings::OidcSettings;
use clawpost_server::settings::{Settings, Signup};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) const CLIENT_ID: &str = "dashboard-client";
const CLIENT_SECRET: &str = "dashboard-secret";
pub(crate) const EXTENSION_CLIENT_ID: &str = "extension-client";

/// A server whose dashboard signs in through a fresh local provider, open
/// to every verified account (the sign-up policies have tests of their own).
async fn spawn(db: Db) -> (TestApp, Provider) {
    spawn_with_signup(db, Signup::Open).await
}

/// A server whose dashboard signs in through a fresh local provider, with
/// the sign-up policy `signup`.
pub(crate) async fn spawn_with_signup(db: Db, signup: Signup) -> (TestApp, Provider) {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET).await;
    let settings = Settings {
        oidc: OidcSettings {
            issuer: provider.issuer().to_string(),
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(clawpost_server::crypto::SecretString::new(CLIENT_SECRET)),
            extension_client_id: Some(EXTENSION_CLIENT_ID.into()),
        },
        signup,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(db, settings).await;
    provider.use_clock(&app.clock);
    (app, provider)
}

/// Starts a sign-in at the server and lets the provider approve it; returns
/// the callback URL the provider sends the browser to.
async fn approve_at_provider(b: &Browser, provider: &Provider) -> String {
    let start = b.get("/login/oidc").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let authorize = start.location().to_string();
    assert!(
        authorize.starts_with(&format!("{}/authorize?", provider.issuer())),
        "{authorize}"
    );
    for param in [
        "code_challenge_method=S256",
        "nonce=",
        "state=",
        "scope=openid",
    ] {
        assert!(authorize.contains(param), "{authorize} lacks {param}");
    }
    let approved = b.get(&authorize).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let callback = approved.location().to_string();
    assert!(
        callback.starts_with(&format!("{}/login/callback?code=", b.base)),
        "{callback}"
    );
    callback
}

/// Signs in through the provider; returns the callback's answer.
pub(crate) async fn sign_in_via_provider(b: &Browser, provider: &Provider) -> Page {
    let callback = approve_at_provider(b, provider).await;
    b.get(&callback).await
}

both_stores!(
    first_sign_in_creates_the_tenant_later_ones_reach_it,
    |db: Db| async move {
        let (app, provider) = spawn(db).await;
        provider.sign_in_as(User::new("google-sub-1", "grace@example.com"));
        let b = Browser::new(&app.base);
        let login = b.get("/login").await;
        assert!(
            login.body.contains("Sign in with 127.0.0.1"),
            "{}",
            login.body
        );

        let done = sign_in_via_provider(&b, &provider).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/?notice=welcome");
        let welcome = b.get("/?notice=welcome").await;
        let tenant_id = welcome.input_value("tenant-id").expect("tenant id");
        assert_ne!(tenant_id, app.tenant_id, "a new tenant");
        assert!(welcome.body.contains("grace@example.com"));
        let key = welcome
            .input_value("api-key")
            .expect("the new key is shown once");
        let usage = app.usage(&key).await;
        assert_eq!(usage["tenantId"], tenant_id.as_str());

        // Signed out and in again: the same tenant, and no new key to show.
        b.submit("/", "/logout", &[]).await;
        let again = sign_in_via_provider(&b, &provider).await;
        assert_eq!(again.location(), "/");
        let home = b.get("/").await;
        assert_eq!(home.input_value("tenant-id"), Some(tenant_id.clone()));
        assert!(home.input_value("api-key").is_none());
        assert!(
            !home.body.contains("/key/reveal"),
            "nothing to reveal: only a hash is stored"
        );
        assert!(home.body.contains("Rotate it to get a new one"));

        // Another browser, same account: same tenant.
        let b2 = Browser::new(&app.base);
        sign_in_via_provider(&b2, &provider).await;
        assert_eq!(
            b2.get("/").await.input_value("tenant-id"),
            Some(tenant_id.clone())
        );

        // Another account: another tenant.
        provider.sign_in_as(User::new("google-sub-2", "alan@example.com"));
        let b3 = Browser::new(&app.base);
        sign_in_via_provider(&b3, &provider).await;
        let other = b3.get("/").await.input_value("tenant-id").unwrap();
        assert_ne!(other, tenant_id);
        assert_eq!(provider.token_calls(), 4);
    }
);

both_stores!(sign_in_returns_to_the_page_asked_for, |db: Db| async move {
    let (app, _provider) = spawn(db).await;
    let b = Browser::new(&app.base);
    let start = b.get("/login/oidc?next=%2Fjobs%3Fstatus%3Dfailed").await;
    let approved = b.get(start.location()).await;
    let done = b.get(approved.location()).await;
    assert_eq!(done.location(), "/jobs?status=failed");
    // Never off-site.
    let evil = Browser::new(&app.base);
    let start = evil.get("/login/oidc?next=%2F%2Fevil.example.com").await;
    let approved = evil.get(start.location()).await;
    let done = evil.get(approved.location()).await;
    assert_eq!(
        done.location(),
        "/",
        "the account exists since the first sign-in"
    );
});

both_stores!(
    callbacks_are_bound_to_their_browser_and_used_once,
    |db: Db| async move {
        let (app, provider) = spawn(db).await;
        let b = Browser::new(&app.base);
        let callback = approve_at_provider(&b, &provider).await;

        // Another browser (no sign-in cookie) cannot use it.
        let thief = Browser::new(&app.base);
        let stolen = thief.get(&callback).await;
        assert_eq!(stolen.status, StatusCode::BAD_REQUEST);
        assert_eq!(thief.get("/").await.status, StatusCode::SEE_OTHER);

        // A tampered state is refused.
        let tampered = callback.replace("state=", "state=x");
        assert_eq!(b.get(&tampered).await.status, StatusCode::BAD_REQUEST);

        let callback = approve_at_provider(&b, &provider).await;
        assert_eq!(b.get(&callback).await.status, StatusCode::SEE_OTHER);
        // Replayed: the sign-in was consumed.
        b.submit("/", "/logout", &[]).await;
        let replay = b.get(&callback).await;
        assert_eq!(replay.status, StatusCode::BAD_REQUEST);
        assert!(
            replay.body.contains("expired or was already used"),
            "{}",
            replay.body
        );

        // A sign-in left unfinished expires.
        let callback = approve_at_provider(&b, &provider).await;
        app.clock.advance_ms(11 * 60_000);
        assert_eq!(b.get(&callback).await.status, StatusCode::BAD_REQUEST);

        // A cancelled sign-in says so.
        let cancelled = b.get("/login/callback?error=access_denied&state=x").await;
        assert_eq!(cancelled.status, StatusCode::UNAUTHORIZED);
        assert!(cancelled.body.contains("cancelled"));
    }
);

both_stores!(
    dashboard_sign_in_refuses_bad_id_tokens,
    |db: Db| async move {
        let (app, provider) = spawn(db).await;
        let cases = [
            (Flaw::ForeignKey, StatusCode::UNAUTHORIZED, "signature"),
            (
                Flaw::WrongAudience,
                StatusCode::UNAUTHORIZED,
                "another client",
            ),
            (
                Flaw::WrongIssuer,
                StatusCode::UNAUTHORIZED,
                "another issuer",
            ),
            (Flaw::Expired, StatusCode::UNAUTHORIZED, "expired"),
            (Flaw::UnverifiedEmail, StatusCode::FORBIDDEN, "not verified"),
            (
                Flaw::Nonce("an-older-nonce".into()),
                StatusCode::UNAUTHORIZED,
                "nonce",
            ),
            (Flaw::NoNonce, StatusCode::UNAUTHORIZED, "nonce"),
        ];
        for (flaw, status, says) in cases {
            let b = Browser::new(&app.base);
            let callback = approve_at_provider(&b, &provider).await;
            provider.flaw_next_token(flaw.clone());
            let page = b.get(&callback).await;
            assert_eq!(page.status, status, "{flaw:?}: {}", page.body);
            assert!(
                page.body.contains(says),
                "{flaw:?} should say {says:?}: {}",
                page.body
            );
            assert!(
                page.cookie("cp_session").is_none(),
                "{flaw:?} started a session"
            );
            assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER, "{flaw:?}");
        }
        // Nothing was created by the refused sign-ins.
        assert_eq!(app.state.store.tenant_count().await.unwrap(), 1);
    }
);

/// `POST /v1/connect/google`.
pub(crate) async fn google_pair(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.post_json("/v1/connect/google", None, &body).await
}

both_stores!(extension_auto_pairs_with_an_id_token, |db: Db| async move {
    let (app, provider) = spawn(db).await;
    // What the extension needs to start the sign-in: the provider's
    // authorization endpoint (from discovery) and its own client id.
    let (s, config) = app.get("/v1/connect/google", None).await;
    assert_eq!(s, StatusCode::OK, "{config}");
    assert_eq!(config["issuer"], provider.issuer());
    assert_eq!(
        config["authorizationEndpoint"],
        format!("{}/authorize", provider.issuer())
    );
    assert_eq!(config["clientId"], EXTENSION_CLIENT_ID);
    let user = User::new("ext-sub", "lin@example.com");
    let token = provider.token_for(&user, EXTENSION_CLIENT_ID, "nonce-1");
    let (s, body) = google_pair(
        &app,
        json!({"idToken": token, "deviceName": "Chrome on desk"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let tenant_id = body["tenantId"].as_str().unwrap().to_string();
    let dev = crate::common::TestDevice {
        device_id: body["deviceId"].as_str().unwrap().to_string(),
        token: body["deviceToken"].as_str().unwrap().to_string(),
    };
    // The token works at once: the device is paired, no code needed.
    assert_eq!(app.pull(&dev, 0).await.0, StatusCode::NO_CONTENT);
    let stored = app
        .state
        .store
        .device(&dev.device_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.tenant_id.as_deref(), Some(tenant_id.as_str()));
    assert_eq!(stored.name, "Chrome on desk");

    // The same account signing in to the dashboard reaches that tenant and
    // sees the device.
    provider.sign_in_as(user.clone());
    let b = Browser::new(&app.base);
    sign_in_via_provider(&b, &provider).await;
    assert_eq!(
        b.get("/").await.input_value("tenant-id"),
        Some(tenant_id.clone())
    );
    assert!(b.get("/devices").await.body.contains("Chrome on desk"));

    // A token issued to the dashboard's client id pairs too, into the same tenant.
    let token = provider.token_for(&user, CLIENT_ID, "nonce-2");
    let (s, body) = google_pair(&app, json!({"idToken": token})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["tenantId"], tenant_id.as_str());
    assert_ne!(body["deviceId"], dev.device_id.as_str());
});

both_stores!(auto_pair_refuses_bad_id_tokens, |db: Db| async move {
    let (app, provider) = spawn(db).await;
    let user = User::new("sub-x", "eve@example.com");
    let spec = |flaw: Flaw, nonce: &str| TokenSpec {
        user: user.clone(),
        aud: EXTENSION_CLIENT_ID.into(),
        nonce: Some(nonce.into()),
        flaw: Some(flaw),
    };
    let cases = [
        (
            Flaw::ForeignKey,
            StatusCode::UNAUTHORIZED,
            "INVALID_ID_TOKEN",
            "signature",
        ),
        (
            Flaw::WrongAudience,
            StatusCode::UNAUTHORIZED,
            "INVALID_ID_TOKEN",
            "another client",
        ),
        (
            Flaw::WrongIssuer,
            StatusCode::UNAUTHORIZED,
            "INVALID_ID_TOKEN",
            "another issuer",
        ),
        (
            Flaw::Expired,
            StatusCode::UNAUTHORIZED,
            "INVALID_ID_TOKEN",
            "expired",
        ),
        (
            Flaw::NoNonce,
            StatusCode::UNAUTHORIZED,
            "INVALID_ID_TOKEN",
            "nonce",
        ),
        (
            Flaw::UnverifiedEmail,
            StatusCode::FORBIDDEN,
            "EMAIL_NOT_VERIFIED",
            "not verified",
        ),
    ];
    for (i, (flaw, status, code, says)) in cases.into_iter().enumerate() {
        let token = provider.mint(&spec(flaw.clone(), &format!("n-{i}")));
        let got = google_pair(&app, json!({"idToken": token})).await;
        let field = (code == "INVALID_ID_TOKEN").then_some("idToken");
        assert_error(&got, status, code, field);
        assert!(
            got.1["error"].as_str().unwrap().contains(says),
            "{flaw:?}: {}",
            got.1
        );
    }
    // Garbage and an unsigned token.
    assert_error(
        &google_pair(&app, json!({"idToken": "not-a-jwt"})).await,
        StatusCode::UNAUTHORIZED,
        "INVALID_ID_TOKEN",
        Some("idToken"),
    );
    let unsigned = {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT"})),
            b64(
                json!({"iss": provider.issuer(), "aud": EXTENSION_CLIENT_ID, "sub": "x",
                       "exp": 9_999_999_999i64, "email": "x@example.com", "email_verified": true, "nonce": "u"})
            )
        )
    };
    assert_error(
        &google_pair(&app, json!({"idToken": unsigned})).await,
        StatusCode::UNAUTHORIZED,
        "INVALID_ID_TOKEN",
        Some("idToken"),
    );
    // No tenant was created by any of them.
    assert_eq!(app.state.store.tenant_count().await.unwrap(), 1);

    // A replayed token (same nonce) pairs once only.
    let token = provider.token_for(&user, EXTENSION_CLIENT_ID, "once");
    assert_eq!(
        google_pair(&app, json!({"idToken": token})).await.0,
        StatusCode::CREATED
    );
    let replay = google_pair(&app, json!({"idToken": token})).await;
    assert_error(
        &replay,
        StatusCode::UNAUTHORIZED,
        "INVALID_ID_TOKEN",
        Some("idToken"),
    );
    assert!(replay.1["error"].as_str().unwrap().contains("replayed"));
    // A fresh token with the same nonce is a replay too.
    let token = provider.token_for(&user, EXTENSION_CLIENT_ID, "once");
    assert_eq!(
        google_pair(&app, json!({"idToken": token})).await.0,
        StatusCode::UNAUTHORIZED
    );
});

both_stores!(auto_pair_needs_a_configured_provider, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let got = app
        .post_json("/v1/connect/google", None, &json!({"idToken": "x.y.z"}))
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "OIDC_NOT_CONFIGURED", None);
    // The extension learns that it must pair by code.
    let got = app.get("/v1/connect/google", None).await;
    assert_error(&got, StatusCode::NOT_FOUND, "OIDC_NOT_CONFIGURED", None);
    // The sign-in page offers only the API key.
    let b = Browser::new(&app.base);
    let login = b.get("/login").await;
    assert!(!login.body.contains("/login/oidc"));
    assert_eq!(b.get("/login/oidc").await.status, StatusCode::NOT_FOUND);
});

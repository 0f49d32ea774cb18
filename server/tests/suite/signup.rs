//! Who may sign in through the identity provider for the first time (which
//! creates an account): the `--signup` policy (`invite` by default, `open`,
//! `domain:…`) and invitations (`clawpost-server tenant invite`), each
//! spent by one first sign-in, into a new tenant or an existing one. The
//! dashboard answers a refusal with a page of its own, `POST
//! /v1/connect/google` with `SIGNUP_CLOSED`.

use std::process::{Output, Stdio};

use crate::common::{assert_error, Db, TestApp};
use crate::dashboard_client::Browser;
use crate::dashboard_oidc::{
    google_pair, sign_in_via_provider, spawn_with_signup, EXTENSION_CLIENT_ID,
};
use crate::oidc_provider::{Provider, User};
use clawpost_server::settings::Signup;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::process::Command;

/// `clawpost-server ARGS --database-url …` on the test's database.
async fn cli(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clawpost-server"))
        .args(args)
        .args(["--database-url", &app.database_url])
        .env_remove("DATABASE_URL")
        .env_remove("CLAWPOST_SIGNUP")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run clawpost-server")
}

/// `tenant invite`; asserts success and returns its JSON line.
async fn invite(app: &TestApp, email: &str, tenant: Option<&str>) -> Value {
    let mut args = vec!["tenant", "invite", "--email", email];
    if let Some(t) = tenant {
        args.extend(["--tenant", t]);
    }
    let out = cli(app, &args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

/// Signs `user` in to the dashboard in a fresh browser: the browser and
/// the callback's status.
async fn dashboard_sign_in(
    app: &TestApp,
    provider: &Provider,
    user: &User,
) -> (Browser, StatusCode, String) {
    provider.sign_in_as(user.clone());
    let b = Browser::new(&app.base);
    let done = sign_in_via_provider(&b, provider).await;
    (b, done.status, done.body)
}

/// The tenant a signed-in browser sees.
async fn tenant_of(b: &Browser) -> Option<String> {
    b.get("/").await.input_value("tenant-id")
}

both_stores!(
    by_default_only_invited_accounts_sign_up,
    |db: Db| async move {
        let default = clawpost_server::settings::Settings::default().signup;
        assert_eq!(default, Signup::Invite);
        let (app, provider) = spawn_with_signup(db, default).await;
        let grace = User::new("sub-grace", "grace@example.com");

        // Not invited: a clear page, no session, no tenant.
        let (b, status, body) = dashboard_sign_in(&app, &provider, &grace).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body.contains(
                "This server admits invited accounts only; ask its operator for an invite"
            ),
            "{body}"
        );
        assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
        // The extension's sign-in gets the same answer as JSON.
        let token = provider.token_for(&grace, EXTENSION_CLIENT_ID, "nonce-1");
        let refused = google_pair(&app, json!({"idToken": token})).await;
        assert_error(&refused, StatusCode::FORBIDDEN, "SIGNUP_CLOSED", None);
        assert_eq!(app.state.store.tenant_count().await.unwrap(), 1);

        // Invited (in any letter case): the first sign-in creates a tenant.
        let line = invite(&app, "Grace@Example.com", None).await;
        assert_eq!(
            line,
            json!({"email": "grace@example.com", "tenantId": null})
        );
        let (b, status, body) = dashboard_sign_in(&app, &provider, &grace).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let home = b.get("/?notice=welcome").await;
        let tenant = home.input_value("tenant-id").expect("signed in");
        assert_ne!(tenant, app.tenant_id);
        assert!(home.input_value("api-key").is_some(), "a new tenant's key");

        // The invitation is spent: another account with that email is refused…
        let impostor = User::new("sub-other", "grace@example.com");
        let (_, status, _) = dashboard_sign_in(&app, &provider, &impostor).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let token = provider.token_for(&impostor, EXTENSION_CLIENT_ID, "nonce-2");
        let refused = google_pair(&app, json!({"idToken": token})).await;
        assert_error(&refused, StatusCode::FORBIDDEN, "SIGNUP_CLOSED", None);
        // …while the account that signed up keeps signing in, and pairing.
        let (b, status, _) = dashboard_sign_in(&app, &provider, &grace).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(tenant_of(&b).await, Some(tenant.clone()));
        let token = provider.token_for(&grace, EXTENSION_CLIENT_ID, "nonce-3");
        let (s, paired) = google_pair(&app, json!({"idToken": token})).await;
        assert_eq!(s, StatusCode::CREATED, "{paired}");
        assert_eq!(paired["tenantId"], tenant.as_str());
        assert_eq!(app.state.store.tenant_count().await.unwrap(), 2);
    }
);

both_stores!(
    an_invitation_can_join_an_existing_tenant,
    |db: Db| async move {
        let (app, provider) = spawn_with_signup(db, Signup::Invite).await;
        let line = invite(&app, "lin@example.com", Some(&app.tenant_id)).await;
        assert_eq!(line["tenantId"], app.tenant_id.as_str());

        // The extension's sign-in spends it: paired into the existing tenant.
        let lin = User::new("sub-lin", "lin@example.com");
        let token = provider.token_for(&lin, EXTENSION_CLIENT_ID, "nonce-1");
        let (s, paired) = google_pair(&app, json!({"idToken": token})).await;
        assert_eq!(s, StatusCode::CREATED, "{paired}");
        assert_eq!(paired["tenantId"], app.tenant_id.as_str());
        // The dashboard reaches that tenant; no key is shown (it is not new).
        let (b, status, _) = dashboard_sign_in(&app, &provider, &lin).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let home = b.get("/").await;
        assert_eq!(home.input_value("tenant-id"), Some(app.tenant_id.clone()));
        assert!(home.input_value("api-key").is_none());
        assert_eq!(app.state.store.tenant_count().await.unwrap(), 1);

        // No such tenant, or no email: refused, nothing stored.
        for args in [
            vec![
                "tenant",
                "invite",
                "--email",
                "x@example.com",
                "--tenant",
                "nope",
            ],
            vec!["tenant", "invite", "--email", "not-an-email"],
        ] {
            let out = cli(&app, &args).await;
            assert!(!out.status.success(), "{args:?}");
        }
        let store = &app.state.store;
        assert!(store.invite_for("x@example.com").await.unwrap().is_none());
    }
);

both_stores!(a_domain_policy_admits_its_domains, |db: Db| async move {
    let policy: Signup = "domain:example.com, Example.ORG".parse().unwrap();
    let (app, provider) = spawn_with_signup(db, policy).await;
    for (sub, email, admitted) in [
        ("a", "ada@example.com", true),
        ("b", "Bob@EXAMPLE.org", true),
        ("c", "carol@sub.example.com", false),
        ("d", "dan@example.com.evil.test", false),
        ("e", "eve@other.test", false),
    ] {
        let (b, status, body) = dashboard_sign_in(&app, &provider, &User::new(sub, email)).await;
        if admitted {
            assert_eq!(status, StatusCode::SEE_OTHER, "{email}: {body}");
            assert!(tenant_of(&b).await.is_some(), "{email}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{email}: {body}");
            assert!(body.contains("invite"), "{body}");
        }
    }
    assert_eq!(app.state.store.tenant_count().await.unwrap(), 3);
    // An invitation admits an account of another domain.
    invite(&app, "eve@other.test", None).await;
    let (_, status, _) =
        dashboard_sign_in(&app, &provider, &User::new("e", "eve@other.test")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
});

both_stores!(
    an_open_server_admits_every_verified_account,
    |db: Db| async move {
        let (app, provider) = spawn_with_signup(db, Signup::Open).await;
        let (_, status, _) =
            dashboard_sign_in(&app, &provider, &User::new("z", "zoe@anywhere.test")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let token = provider.token_for(
            &User::new("y", "yan@elsewhere.test"),
            EXTENSION_CLIENT_ID,
            "n",
        );
        let (s, paired) = google_pair(&app, json!({"idToken": token})).await;
        assert_eq!(s, StatusCode::CREATED, "{paired}");
        assert_eq!(app.state.store.tenant_count().await.unwrap(), 3);
    }
);

#[test]
fn the_signup_option_is_parsed_strictly() {
    assert_eq!("open".parse::<Signup>(), Ok(Signup::Open));
    assert_eq!("INVITE".parse::<Signup>(), Ok(Signup::Invite));
    assert_eq!(
        "domain:a.example,@B.example".parse::<Signup>(),
        Ok(Signup::Domains(vec![
            "a.example".into(),
            "b.example".into()
        ]))
    );
    for bad in [
        "",
        "closed",
        "domain:",
        "domain:localhost",
        "domain:a b.example",
    ] {
        assert!(bad.parse::<Signup>().is_err(), "{bad:?}");
    }
    // The server refuses to start with a bad one.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clawpost-server"))
        .args(["serve", "--signup", "closed", "--bind", "127.0.0.1:0"])
        .env_remove("CLAWPOST_SIGNUP")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--signup"));
}

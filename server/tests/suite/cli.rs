//! The `clawpost-server` binary: tenant commands, `--help`, and the first
//! start of `serve`, against both stores.

use std::process::Stdio;
use std::time::Duration;

use crate::common::Db;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The server binary, with none of its settings taken from the environment.
fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clawpost-server"));
    for var in [
        "DATABASE_URL",
        "CLAWPOST_DATA_DIR",
        "CLAWPOST_DEFAULT_QUOTA",
        "CLAWPOST_BIND",
        "CLAWPOST_PUBLIC_URL",
        "CLAWPOST_LEASE_SECONDS",
        "CLAWPOST_POST_INTERVAL",
        "CLAWPOST_NO_PACING",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// Runs the binary to completion; asserts success and returns its stdout.
async fn run(args: &[&str]) -> String {
    let out = bin()
        .args(args)
        .output()
        .await
        .expect("run clawpost-server");
    assert!(
        out.status.success(),
        "clawpost-server {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A `serve` process, ready for requests.
struct Server {
    child: Child,
    base: String,
    /// What it printed before it was listening.
    banner: String,
    /// The line announcing it listens.
    listening: String,
}

impl Server {
    /// Starts `serve` on a free port with `args` and waits for its
    /// "listening" line.
    async fn start(args: &[&str]) -> Server {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let bind = format!("127.0.0.1:{port}");
        let mut child = bin()
            .arg("serve")
            .args(["--bind", &bind])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = String::new();
        let listening = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if line.contains("listening on") {
                    return line;
                }
                banner.push_str(&line);
                banner.push('\n');
            }
            panic!("serve exited before listening; it printed:\n{banner}");
        })
        .await
        .expect("serve did not start within 60 s");
        Server {
            child,
            base: format!("http://{bind}"),
            banner,
            listening,
        }
    }

    /// `GET /v1/usage` with `key`: the status and body.
    async fn usage(&self, key: &str) -> (StatusCode, Value) {
        let resp = reqwest::Client::new()
            .get(format!("{}/v1/usage", self.base))
            .header("clawpost-api-key", key)
            .send()
            .await
            .expect("request");
        crate::common::into_parts(resp).await
    }

    async fn stop(mut self) {
        self.child.kill().await.expect("kill serve");
    }
}

/// A fresh database: its URL and the folder that holds it (SQLite).
async fn fresh(db: Db) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (crate::common::fresh_database(db, &dir).await, dir)
}

/// The value after `label` on a line of `text`.
fn labelled<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(str::trim)
}

#[test]
fn help_documents_the_options() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clawpost-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for option in ["--bind", "--data-dir", "--database-url", "--public-url"] {
        assert!(
            help.contains(option),
            "--help does not document {option}:\n{help}"
        );
    }
    for command in ["serve", "tenant"] {
        assert!(
            help.contains(command),
            "--help does not list {command}:\n{help}"
        );
    }
}

both_stores!(tenant_create_and_rotate_key, |db: Db| async move {
    let (url, _dir) = fresh(db).await;
    let out = run(&[
        "tenant",
        "create",
        "--name",
        "N",
        "--quota",
        "5",
        "--database-url",
        &url,
    ])
    .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line: {out}");
    let created: Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(created.as_object().unwrap().len(), 2, "{created}");
    let tenant = created["tenantId"].as_str().unwrap().to_string();
    let old_key = created["apiKey"].as_str().unwrap().to_string();

    let server = Server::start(&["--database-url", &url]).await;
    assert!(
        !server.banner.contains("API key"),
        "a tenant exists: no new key\n{}",
        server.banner
    );
    let (s, usage) = server.usage(&old_key).await;
    assert_eq!(s, StatusCode::OK, "{usage}");
    assert_eq!(usage["tenantId"], tenant.as_str());
    assert_eq!(usage["quota"], 5);

    // Rotating while the server runs: the old key stops working at once.
    let out = run(&[
        "tenant",
        "rotate-key",
        "--tenant",
        &tenant,
        "--database-url",
        &url,
    ])
    .await;
    let new_key = out.trim();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(new_key.starts_with("claw_") && new_key != old_key, "{out}");
    assert_eq!(server.usage(&old_key).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.usage(new_key).await.1["tenantId"], tenant.as_str());
    server.stop().await;

    let unknown = bin()
        .args([
            "tenant",
            "rotate-key",
            "--tenant",
            "no-such-tenant",
            "--database-url",
            &url,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        !unknown.status.success(),
        "rotating an unknown tenant must fail"
    );
    assert!(unknown.stdout.is_empty());
});

both_stores!(first_start_prints_the_key_once, |db: Db| async move {
    let dir = tempfile::tempdir().unwrap();
    let store_args: Vec<String> = match db {
        // An empty data folder that does not exist yet: the embedded default.
        Db::Sqlite => vec![
            "--data-dir".into(),
            dir.path().join("data").display().to_string(),
        ],
        Db::Postgres => vec![
            "--database-url".into(),
            crate::common::fresh_database(db, &dir).await,
        ],
    };
    let store_args: Vec<&str> = store_args.iter().map(String::as_str).collect();

    let first = Server::start(&store_args).await;
    let tenant = labelled(&first.banner, "Tenant ID:")
        .expect("tenant id printed")
        .to_string();
    let key = labelled(&first.banner, "API key:")
        .expect("API key printed")
        .to_string();
    let (s, usage) = first.usage(&key).await;
    assert_eq!(s, StatusCode::OK, "{usage}");
    assert_eq!(usage["tenantId"], tenant.as_str());
    assert!(first.listening.contains(&first.base));
    first.stop().await;
    if db == Db::Sqlite {
        assert!(dir.path().join("data/clawpost.sqlite").exists());
    }

    let args = [
        store_args.as_slice(),
        &["--public-url", "https://posts.example.com/"],
    ]
    .concat();
    let second = Server::start(&args).await;
    assert!(
        !second.banner.contains("API key") && !second.banner.contains("claw_"),
        "second start printed a key:\n{}",
        second.banner
    );
    assert!(
        second.listening.contains("https://posts.example.com "),
        "{}",
        second.listening
    );
    assert_eq!(
        second.usage(&key).await.0,
        StatusCode::OK,
        "the first key still works"
    );
    second.stop().await;
});

#[tokio::test]
async fn serve_applies_the_sign_in_and_selector_options() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    // An operator's selector pack folder with a malformed pack: no start.
    let packs = dir.path().join("packs");
    std::fs::create_dir_all(&packs).unwrap();
    std::fs::write(packs.join("x.json"), "{\"platform\": \"x\"}").unwrap();
    let out = bin()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir", &data])
        .args(["--selector-packs", &packs.display().to_string()])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x.json is malformed"), "{err}");

    // The OpenID options reach the server: with a client id, the extension's
    // sign-in endpoint tries the (unreachable) issuer instead of answering
    // that sign-in is not configured.
    let server = Server::start(&[
        "--data-dir",
        &data,
        "--oidc-issuer",
        "http://127.0.0.1:9/",
        "--oidc-client-id",
        "dash-client",
    ])
    .await;
    let resp = reqwest::get(format!("{}/v1/connect/google", server.base))
        .await
        .unwrap();
    let (status, body) = crate::common::into_parts(resp).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["code"], "OIDC_PROVIDER_UNAVAILABLE");
    server.stop().await;
}

both_stores!(tenant_pacing_and_post_intervals, |db: Db| async move {
    let (url, _dir) = fresh(db).await;
    let out = run(&["tenant", "create", "--name", "P", "--database-url", &url]).await;
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let tenant = created["tenantId"].as_str().unwrap();
    let out = run(&[
        "tenant",
        "pacing",
        "--tenant",
        tenant,
        "--platform",
        "linkedin",
        "--seconds",
        "300",
        "--database-url",
        &url,
    ])
    .await;
    let set: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(set["platform"], "linkedin");
    assert_eq!(set["intervalSeconds"], 300);
    run(&[
        "tenant",
        "pacing",
        "--tenant",
        tenant,
        "--platform",
        "linkedin",
        "--default",
        "--database-url",
        &url,
    ])
    .await;
    // Unknown tenants and platforms, and bad intervals, are refused.
    for args in [
        vec![
            "tenant",
            "pacing",
            "--tenant",
            "nope",
            "--platform",
            "x",
            "--seconds",
            "5",
        ],
        vec![
            "tenant",
            "pacing",
            "--tenant",
            tenant,
            "--platform",
            "myspace",
            "--seconds",
            "5",
        ],
        vec!["tenant", "pacing", "--tenant", tenant, "--platform", "x"],
        vec![
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--post-interval",
            "x=soon",
        ],
        vec![
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--post-interval",
            "myspace=5",
        ],
    ] {
        let out = bin()
            .args(&args)
            .args(["--database-url", &url])
            .output()
            .await
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(!out.stderr.is_empty(), "{args:?} said nothing");
    }
});

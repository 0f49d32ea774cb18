//! Black-box test harness: each test spawns the real server on a random port
//! with a fresh database (a temporary SQLite file, or a fresh schema in the
//! PostgreSQL database at `$CLAWPOST_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`) and talks to it over HTTP.
//! Time is a [`ManualClock`] the test moves.
#![allow(dead_code)]

use std::sync::Arc;

use clawpost_server::app::AppState;
use clawpost_server::clock::{Clock, ManualClock};
use clawpost_server::settings::Settings;
use clawpost_server::startup;
use clawpost_server::store::{SqlStore, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs one async test body against both stores:
/// `both_stores!(name, |db| async move { ... })` defines `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_stores {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                ($body)($crate::common::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                ($body)($crate::common::Db::Postgres).await
            }
        }
    };
}

pub fn postgres_url() -> String {
    std::env::var("CLAWPOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A server under test.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub state: AppState,
    /// The first tenant, created at spawn.
    pub tenant_id: String,
    pub api_key: String,
    pub database_url: String,
    _dir: tempfile::TempDir,
}

/// A tenant created by a test.
pub struct TestTenant {
    pub id: String,
    pub key: String,
}

/// A paired extension.
pub struct TestDevice {
    pub device_id: String,
    pub token: String,
}

/// Start of every test clock: 2026-11-15T12:00:00Z.
pub const T0: i64 = 1_794_744_000_000;

/// A fresh, empty database of kind `db`: a SQLite file in `dir`, or a new
/// PostgreSQL schema. Returns its URL.
pub async fn fresh_database(db: Db, dir: &tempfile::TempDir) -> String {
    match db {
        Db::Sqlite => clawpost_server::config::sqlite_url(&dir.path().join("test.sqlite")),
        Db::Postgres => {
            let admin = postgres_url();
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is unreachable ({e}); set CLAWPOST_TEST_POSTGRES_URL"));
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await
                .expect("create schema");
            let sep = if admin.contains('?') { '&' } else { '?' };
            format!("{admin}{sep}options=-c%20search_path%3D{schema}")
        }
    }
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, Settings::default()).await
    }

    pub async fn spawn_with(db: Db, settings: Settings) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = fresh_database(db, &dir).await;
        let store: Arc<dyn Store> =
            Arc::new(SqlStore::connect(&database_url).await.expect("store"));
        let clock = ManualClock::new(T0);
        let created =
            clawpost_server::app::tenants::create(&*store, "Test", settings.default_quota, T0)
                .await
                .expect("tenant");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let settings = Settings {
            public_url: base.clone(),
            // Uploaded media lives and dies with the test.
            media_dir: dir.path().join("media"),
            ..settings
        };
        let state = AppState::new(store, Arc::new(clock.clone()) as Arc<dyn Clock>, settings);
        tokio::spawn(startup::run(listener, state.clone()));
        TestApp {
            base,
            client: reqwest::Client::new(),
            clock,
            state,
            tenant_id: created.tenant.id,
            api_key: created.api_key,
            database_url,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Another tenant: (tenant id, API key).
    pub async fn new_tenant(&self, quota: i64) -> (String, String) {
        let c = clawpost_server::app::tenants::create(
            &*self.state.store,
            "Other",
            quota,
            self.clock.now_ms(),
        )
        .await
        .expect("tenant");
        (c.tenant.id, c.api_key)
    }

    /// POSTs JSON with an API key; returns status and body (Null when empty).
    pub async fn post_json(
        &self,
        path: &str,
        key: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(k) = key {
            req = req.header("clawpost-api-key", k);
        }
        into_parts(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(k) = key {
            req = req.header("clawpost-api-key", k);
        }
        into_parts(req.send().await.expect("request")).await
    }

    /// `POST /v1/connect/register`; asserts 201 and returns the registration
    /// (`deviceId`, `pairingCode`, `pollToken`, `expiresAt`).
    pub async fn register(&self) -> Value {
        let (s, reg) = self
            .post_json("/v1/connect/register", None, &json!({"name": "test"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{reg}");
        reg
    }

    /// `POST /v1/connect/pair` with `key` and `code`.
    pub async fn pair(&self, key: &str, code: &str) -> (StatusCode, Value) {
        self.post_json("/v1/connect/pair", Some(key), &json!({"code": code}))
            .await
    }

    /// `GET /v1/connect/status` for a registration returned by [`TestApp::register`].
    pub async fn connect_status(&self, reg: &Value) -> (StatusCode, Value) {
        let path = format!(
            "/v1/connect/status?deviceId={}",
            reg["deviceId"].as_str().unwrap()
        );
        self.get_bearer(&path, reg["pollToken"].as_str().unwrap())
            .await
    }

    /// `GET path` with `Authorization: Bearer token`.
    pub async fn get_bearer(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        into_parts(resp).await
    }

    /// Registers an extension, pairs it with `key`'s tenant and collects its token.
    pub async fn pair_device(&self, key: &str) -> TestDevice {
        let reg = self.register().await;
        let (s, body) = self.pair(key, reg["pairingCode"].as_str().unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let (s, st) = self.connect_status(&reg).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(st["status"], "paired");
        TestDevice {
            device_id: reg["deviceId"].as_str().unwrap().to_string(),
            token: st["deviceToken"].as_str().expect("token once").to_string(),
        }
    }

    /// Another tenant with a paired device.
    pub async fn paired_tenant(&self, quota: i64) -> (TestTenant, TestDevice) {
        let (id, key) = self.new_tenant(quota).await;
        let dev = self.pair_device(&key).await;
        (TestTenant { id, key }, dev)
    }

    /// `GET /v1/extension/pull?wait=N` as a device.
    pub async fn pull(&self, dev: &TestDevice, wait: u64) -> (StatusCode, Value) {
        let req = self
            .client
            .get(self.url(&format!("/v1/extension/pull?wait={wait}")))
            .bearer_auth(&dev.token);
        into_parts(req.send().await.expect("request")).await
    }

    /// POSTs JSON as a device.
    pub async fn device_post(
        &self,
        dev: &TestDevice,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let req = self
            .client
            .post(self.url(path))
            .bearer_auth(&dev.token)
            .json(body);
        into_parts(req.send().await.expect("request")).await
    }

    /// Leases the next job as `dev` (no wait); asserts 200 and returns it.
    pub async fn pull_job(&self, dev: &TestDevice) -> Value {
        let (s, job) = self.pull(dev, 0).await;
        assert_eq!(s, StatusCode::OK, "expected a job to lease: {job}");
        job
    }

    /// `POST /v1/extension/progress` for `job_id` at `stage` (`working`/`submitting`).
    pub async fn progress(
        &self,
        dev: &TestDevice,
        job_id: &str,
        stage: &str,
    ) -> (StatusCode, Value) {
        self.device_post(
            dev,
            "/v1/extension/progress",
            &json!({"jobId": job_id, "stage": stage}),
        )
        .await
    }

    /// `POST /v1/extension/ack` for `job_id`; `result` holds the other fields
    /// (`status`, `postUrl`, `errorCode`, ...).
    pub async fn ack(&self, dev: &TestDevice, job_id: &str, result: Value) -> (StatusCode, Value) {
        let mut body = result;
        body["jobId"] = json!(job_id);
        self.device_post(dev, "/v1/extension/ack", &body).await
    }

    /// `GET /v1/jobs/:id`, with or without a key; asserts 200.
    pub async fn job(&self, id: &str, key: Option<&str>) -> Value {
        let (s, job) = self.get(&format!("/v1/jobs/{id}"), key).await;
        assert_eq!(s, StatusCode::OK, "{job}");
        job
    }

    /// `GET /v1/usage` with `key`; asserts 200.
    pub async fn usage(&self, key: &str) -> Value {
        let (s, usage) = self.get("/v1/usage", Some(key)).await;
        assert_eq!(s, StatusCode::OK, "{usage}");
        usage
    }

    /// POSTs raw bytes (no Content-Type) with an optional API key.
    pub async fn post_raw(
        &self,
        path: &str,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(k) = key {
            req = req.header("clawpost-api-key", k);
        }
        into_parts(req.send().await.expect("request")).await
    }

    /// Creates an X post job for the first tenant; returns its id.
    pub async fn create_post(&self, text: &str) -> String {
        let (s, body) = self
            .post_json(
                "/v1/jobs/tweet",
                Some(&self.api_key),
                &json!({"text": text}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }
}

pub async fn into_parts(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.expect("body");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, value)
}

/// Settings that accept media URLs of any host, for tests that name files
/// they never upload.
pub fn external_media() -> Settings {
    Settings {
        allow_external_media: true,
        ..Settings::default()
    }
}

/// Words that must never reach a client in an error message.
const INTERNALS: [&str; 10] = [
    "sqlx",
    "sqlite",
    "postgres",
    "panicked",
    "select ",
    "insert ",
    "update ",
    "/src/",
    "backtrace",
    "constraint",
];

/// Asserts that `got` is the API's error: `status`, a JSON object with exactly
/// `error` (a non-empty message), `code` and, when `field` is given, `field`
/// (absent otherwise), with nothing internal in the message.
#[track_caller]
pub fn assert_error(
    got: &(StatusCode, Value),
    status: StatusCode,
    code: &str,
    field: Option<&str>,
) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not a JSON object: {body}"));
    assert!(
        obj.keys()
            .all(|k| ["error", "code", "field"].contains(&k.as_str())),
        "unexpected keys in {body}"
    );
    assert_eq!(obj.get("code"), Some(&json!(code)), "{body}");
    assert_eq!(
        obj.get("field").and_then(Value::as_str),
        field,
        "field of {body}"
    );
    let message = obj["error"].as_str().expect("error is a string");
    assert!(!message.trim().is_empty(), "empty error message");
    let lower = message.to_lowercase();
    for word in INTERNALS {
        assert!(!lower.contains(word), "error leaks {word:?}: {message}");
    }
}

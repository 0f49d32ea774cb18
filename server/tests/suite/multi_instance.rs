//! Two server instances on one PostgreSQL database: a job created on one
//! wakes a device long-polling the other at once (LISTEN/NOTIFY), and a job
//! is leased by only one of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{into_parts, postgres_url};
use clawpost_server::app::AppState;
use clawpost_server::clock::{Clock, SystemClock};
use clawpost_server::settings::Settings;
use clawpost_server::startup;
use clawpost_server::store::{SqlStore, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn instance(database_url: &str) -> String {
    let store: Arc<dyn Store> = Arc::new(SqlStore::connect(database_url).await.expect("store"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings {
        public_url: base.clone(),
        ..Settings::default()
    };
    let state = AppState::new(store, Arc::new(SystemClock) as Arc<dyn Clock>, settings);
    startup::start_background(&state, database_url)
        .await
        .expect("background");
    tokio::spawn(startup::run(listener, state));
    base
}

async fn post(
    client: &reqwest::Client,
    url: String,
    key: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = client.post(url).json(&body);
    if let Some(k) = key {
        req = req.header("clawpost-api-key", k);
    }
    into_parts(req.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_created_on_one_instance_wakes_a_long_poll_on_another() {
    let admin = postgres_url();
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("postgres");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let sep = if admin.contains('?') { '&' } else { '?' };
    let url = format!("{admin}{sep}options=-c%20search_path%3D{schema}");

    let a = instance(&url).await;
    let b = instance(&url).await;
    let store = SqlStore::connect(&url).await.unwrap();
    let tenant = clawpost_server::app::tenants::create(&store, "T", 100, SystemClock.now_ms())
        .await
        .unwrap();
    let key = tenant.api_key.as_str();
    let client = reqwest::Client::new();

    // Pair a device through instance B.
    let (_, reg) = post(&client, format!("{b}/v1/connect/register"), None, json!({})).await;
    let (s, _) = post(
        &client,
        format!("{b}/v1/connect/pair"),
        Some(key),
        json!({"code": reg["pairingCode"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let status_url = format!(
        "{b}/v1/connect/status?deviceId={}",
        reg["deviceId"].as_str().unwrap()
    );
    let (_, st) = into_parts(
        client
            .get(status_url)
            .bearer_auth(reg["pollToken"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = st["deviceToken"].as_str().unwrap().to_string();

    // The device waits on B; the agent creates the job on A.
    let pull = {
        let client = client.clone();
        let token = token.clone();
        let b = b.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let resp = client
                .get(format!("{b}/v1/extension/pull?wait=20"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (into_parts(resp).await, started)
        })
    };
    // Let the long-poll reach B before creating the job (it has nothing to lease yet).
    wait_until_waiting(&client, &b, &token).await;
    let created_at = Instant::now();
    let (s, job) = post(
        &client,
        format!("{a}/v1/jobs/tweet"),
        Some(key),
        json!({"text": "cross-instance"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    let ((status, leased), _) = pull.await.unwrap();
    let woke_after = created_at.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(leased["id"], job["id"]);
    assert!(
        woke_after < Duration::from_secs(5),
        "woke only after {woke_after:?}: no cross-instance wake-up"
    );

    // Leased once: neither instance hands it out again.
    for base in [&a, &b] {
        let (s, _) = into_parts(
            client
                .get(format!("{base}/v1/extension/pull"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
}

/// An empty pull proves the device is known to B and the queue is empty, so
/// the spawned long-poll can only be answered by a wake-up.
async fn wait_until_waiting(client: &reqwest::Client, b: &str, token: &str) {
    let (s, _) = into_parts(
        client
            .get(format!("{b}/v1/extension/pull"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

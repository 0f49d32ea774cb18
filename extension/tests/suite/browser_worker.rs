//! The worker runtime in headless Chromium with the real `chrome.*`
//! bindings and `fetch` pointed at replacements (`tests/fixtures.js`): the
//! X pack runs end to end through `ChromeHost`, the real DOM agent and a
//! strict X-like composer, including a worker stopped right after the
//! publish click and started again.

use clawpost_extension::runtime;
use clawpost_extension::worker::ChromeHost;
use futures::future::{select, Either};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

const AGENT_JS: &str = include_str!("../../../static/dom-agent.js");
const POST_URL: &str = "https://x.com/clawtest/status/1790000000000000001";

#[wasm_bindgen(module = "/tests/fixtures.js")]
extern "C" {
    fn install_agent(source: &str);
    fn install_chrome_mock(jobs_json: &str);
    fn mount_x_page();
    fn posted_json() -> String;
    fn received_json() -> String;
    fn mock_json() -> String;
    fn set_die_on_submit_click(on: bool);
    fn killed() -> js_sys::Promise;
}

fn job(id: &str, text: &str, media: &[&str]) -> Value {
    json!({"id": id, "type": "post", "platform": "x", "text": text, "mediaPaths": media,
        "leaseExpiresAt": 0, "attempt": 1})
}

/// The X pack the mock page is written for: a fixed snapshot (as in
/// `tests/runtime.rs`), stored as the served packs so it wins over the
/// shipped one. These tests follow the runtime and the chrome bindings,
/// not the shipped pack's latest selectors.
const TEST_PACK: &str = include_str!("../x-test-pack.json");

async fn setup(jobs: Value) {
    install_agent(AGENT_JS);
    mount_x_page();
    install_chrome_mock(&jobs.to_string());
    let pack: Value = serde_json::from_str(TEST_PACK).unwrap();
    let version = pack["version"].clone();
    let set = json!({"version": version, "hash": "test-pack", "packs": [pack]});
    clawpost_extension::chrome::storage_set(clawpost_extension::protocol::SELECTOR_PACKS, &set)
        .await
        .unwrap();
}

fn requests(path: &str) -> Vec<Value> {
    let m: Value = serde_json::from_str(&mock_json()).unwrap();
    m["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with(path))
        .cloned()
        .collect()
}

fn posted() -> Vec<String> {
    serde_json::from_str(&posted_json()).unwrap()
}

#[wasm_bindgen_test]
async fn an_x_job_with_media_runs_end_to_end_through_the_chrome_bindings() {
    setup(json!([job(
        "job-1",
        "Hello from the worker\n\nwith two paragraphs",
        &["http://media.test/v1/media/objects/m1/cat.png?signature=s"]
    )]))
    .await;
    let done = runtime::drain(&ChromeHost).await.expect("drain");
    assert_eq!(done, 1);
    assert_eq!(posted(), ["Hello from the worker\n\nwith two paragraphs"]);
    let files: Vec<Value> = serde_json::from_str(&received_json()).unwrap();
    assert_eq!(
        files,
        [json!({"name": "cat.png", "type": "image/png", "size": 1500})]
    );
    // Every server call carried the device token.
    for r in requests("/v1/extension") {
        assert_eq!(r["auth"], "Bearer cp_dev_test");
    }
    let progress = requests("/v1/extension/progress");
    assert_eq!(progress.last().unwrap()["body"]["stage"], "submitting");
    let acks = requests("/v1/extension/ack");
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0]["body"]["status"], "succeeded");
    assert_eq!(acks[0]["body"]["postUrl"], POST_URL);
    let m: Value = serde_json::from_str(&mock_json()).unwrap();
    assert_eq!(m["created"], json!(["https://x.com/home"]));
    assert_eq!(m["removed"], json!([1]), "the tab it opened is closed");
    let recent = clawpost_extension::chrome::storage_get("recentJobs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recent[0]["postUrl"], POST_URL);
    assert!(clawpost_extension::chrome::storage_get("inflight")
        .await
        .unwrap()
        .is_none());
}

#[wasm_bindgen_test]
async fn a_worker_stopped_after_the_click_never_posts_twice() {
    setup(json!([job("job-2", "Exactly once", &[])])).await;
    set_die_on_submit_click(true);
    let first = runtime::drain(&ChromeHost);
    let death = wasm_bindgen_futures::JsFuture::from(killed());
    futures::pin_mut!(first);
    match select(first, death).await {
        Either::Right(_) => {} // the worker "died": its future is dropped here
        Either::Left((r, _)) => panic!("the drain ended before the simulated death: {r:?}"),
    }
    assert_eq!(posted(), ["Exactly once"]);
    assert!(requests("/v1/extension/ack").is_empty());
    let inflight = clawpost_extension::chrome::storage_get("inflight")
        .await
        .unwrap()
        .expect("the job is still in flight");
    assert_eq!(inflight["state"]["submit"], "clicked");

    // Chrome starts the worker again.
    set_die_on_submit_click(false);
    let done = runtime::drain(&ChromeHost).await.expect("drain");
    assert_eq!(done, 1);
    assert_eq!(posted(), ["Exactly once"], "no second post");
    let acks = requests("/v1/extension/ack");
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0]["body"]["status"], "succeeded");
    assert_eq!(acks[0]["body"]["postUrl"], POST_URL);
    // Only one submitting report: the restart did not go through the submit step.
    let submitting: Vec<_> = requests("/v1/extension/progress")
        .into_iter()
        .filter(|r| r["body"]["stage"] == "submitting")
        .collect();
    assert_eq!(submitting.len(), 1);
}

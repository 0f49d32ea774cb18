//! Every curl example of the API reference, run as written through the real
//! `curl` against the server, with only the base URL, the API key and the
//! reference's elided media URL filled in.

use crate::common::{Db, TestApp};
use serde_json::{json, Value};

const REFERENCE_BASE: &str = "https://api.clawpost.net";
/// The reference elides its uploaded media URL as `https://storage.googleapis.com/...`.
const ELIDED_MEDIA: &str = "https://storage.googleapis.com/...";
const MEDIA: &str = "https://storage.googleapis.com/bucket/video.mp4";

const X: &str = r#"curl -X POST "https://api.clawpost.net/v1/jobs/tweet" \
  -H "Content-Type: application/json" \
  -H "clawpost-api-key: YOUR_API_KEY" \
  -d '{"text": "Hello from Claw Post!"}'"#;

const LINKEDIN: &str = r#"curl -X POST "https://api.clawpost.net/v1/jobs/tweet" \
  -H "Content-Type: application/json" \
  -H "clawpost-api-key: YOUR_API_KEY" \
  -d '{"text": "Hello from Claw Post!", "platform": "linkedin"}'"#;

const FACEBOOK_GROUP: &str = r#"curl -X POST "https://api.clawpost.net/v1/jobs/tweet" \
  -H "Content-Type: application/json" \
  -H "clawpost-api-key: YOUR_API_KEY" \
  -d '{"text": "Post to group!", "platform": "facebook", "platformPayload": {"groupId": "1577315533418837"}}'"#;

const TIKTOK: &str = r#"curl -X POST "https://api.clawpost.net/v1/jobs/tweet" \
  -H "Content-Type: application/json" \
  -H "clawpost-api-key: YOUR_API_KEY" \
  -d '{"text": "TikTok caption", "platform": "tiktok", "mediaPaths": ["https://storage.googleapis.com/..."]}'"#;

/// Runs `example` through `sh` and `curl` against a server whose tenant has a
/// paired extension; returns the HTTP status and the JSON body.
async fn run_example(app: &TestApp, example: &str) -> (u16, Value) {
    let command = example
        .replace(REFERENCE_BASE, &app.base)
        .replace("YOUR_API_KEY", &app.api_key)
        .replace(ELIDED_MEDIA, MEDIA);
    // Appended so the status can be read; the example itself is unchanged.
    let command = format!("{command} --silent --show-error --write-out '\\n%{{http_code}}'");
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .output()
        .await
        .expect("run sh and curl");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        out.status.success(),
        "curl failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, status) = stdout.rsplit_once('\n').expect("status line");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status.parse().expect("status code"), body)
}

/// Runs an example and checks the documented 201 response, then that the
/// paired extension receives the job.
async fn check_example(db: Db, example: &str, text: &str, platform: &str, media: Value) {
    let app = TestApp::spawn_with(db, crate::common::external_media()).await;
    let dev = app.pair_device(&app.api_key).await;
    let (status, job) = run_example(&app, example).await;
    assert_eq!(status, 201, "{job}");
    assert!(job["id"].as_str().is_some_and(|id| !id.is_empty()), "{job}");
    assert_eq!(job["tenantId"], app.tenant_id.as_str());
    assert_eq!(job["text"], text);
    assert_eq!(job["platform"], platform);
    assert_eq!(job["status"], "queued");
    assert_eq!(job["createdAt"], crate::common::T0);
    assert_eq!(job["updatedAt"], crate::common::T0);
    assert_eq!(job["mediaPaths"], media);

    let leased = app.pull_job(&dev).await;
    assert_eq!(leased["id"], job["id"]);
    assert_eq!(leased["text"], text);
}

both_stores!(x_example, |db: Db| async move {
    check_example(db, X, "Hello from Claw Post!", "x", json!([])).await;
});

both_stores!(linkedin_example, |db: Db| async move {
    check_example(db, LINKEDIN, "Hello from Claw Post!", "linkedin", json!([])).await;
});

both_stores!(facebook_group_example, |db: Db| async move {
    check_example(db, FACEBOOK_GROUP, "Post to group!", "facebook", json!([])).await;
});

both_stores!(tiktok_example, |db: Db| async move {
    check_example(db, TIKTOK, "TikTok caption", "tiktok", json!([MEDIA])).await;
});

both_stores!(
    examples_without_a_paired_extension_get_503,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let (status, body) = run_example(&app, X).await;
        assert_eq!(status, 503);
        assert_eq!(body["code"], "EXTENSION_NOT_PAIRED");
    }
);

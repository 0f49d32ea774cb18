use crate::common::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::json;

both_stores!(create_pull_ack_poll, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key.clone()).await;
    let id = app.create_post("Hello").await;
    let (s, job) = app.pull(&dev, 0).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(job["id"], id.as_str());
    let (s, done) = app
        .device_post(
            &dev,
            "/v1/extension/ack",
            &json!({"jobId": id, "status": "succeeded", "postUrl": "https://x.com/u/status/1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    let (s, view) = app.get(&format!("/v1/jobs/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(view["status"], "succeeded");
    assert_eq!(view["postUrl"], "https://x.com/u/status/1");
    assert!(
        view.get("text").is_none(),
        "public view must not show the text"
    );
});

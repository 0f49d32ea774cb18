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

both_stores!(no_answer_is_content_sniffed, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    for path in [
        "/healthz",
        "/openapi.json",
        "/api-docs",
        "/v1/jobs/no-such-job",
        "/no-such-endpoint",
        "/login",
        "/mcp",
        "/.well-known/oauth-authorization-server",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path} ({})",
            resp.status()
        );
    }
});

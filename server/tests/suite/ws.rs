//! The extension's wake-up socket, `GET /v1/extension/ws` with the device
//! token offered as a subprotocol, over a real WebSocket client.

use crate::common::{Db, TestApp};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(app: &TestApp, query: &str) -> String {
    format!(
        "{}/v1/extension/ws{query}",
        app.base.replacen("http://", "ws://", 1)
    )
}

/// Opens the socket as the extension does: `new WebSocket(url,
/// ["clawpost.device", token])`; the server must pick `clawpost.device`.
async fn open(app: &TestApp, token: &str) -> Result<Socket, tungstenite::Error> {
    use tungstenite::client::IntoClientRequest;
    let mut req = ws_url(app, "").into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        format!("clawpost.device, {token}").parse().unwrap(),
    );
    let (socket, resp) = tokio_tungstenite::connect_async(req).await?;
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some("clawpost.device")
    );
    Ok(socket)
}

/// The next text frame's `type`.
async fn next_type(socket: &mut Socket) -> String {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("valid frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            return v["type"].as_str().unwrap().to_string();
        }
    }
}

both_stores!(a_queued_job_wakes_the_socket, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key).await;
    let mut socket = open(&app, &dev.token).await.expect("handshake");
    assert_eq!(next_type(&mut socket).await, "hello");
    let id = app.create_post("wake up").await;
    assert_eq!(next_type(&mut socket).await, "job_available");
    // The socket only wakes; the job is leased over HTTP.
    let job = app.pull_job(&dev).await;
    assert_eq!(job["id"], id.as_str());
    // A second job wakes it again (the channel is re-armed).
    app.create_post("again").await;
    assert_eq!(next_type(&mut socket).await, "job_available");
});

both_stores!(a_socket_hears_only_its_own_tenant, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev_a = app.pair_device(&app.api_key).await;
    let (tenant_b, dev_b) = app.paired_tenant(100).await;
    let mut a = open(&app, &dev_a.token).await.unwrap();
    let mut b = open(&app, &dev_b.token).await.unwrap();
    assert_eq!(next_type(&mut a).await, "hello");
    assert_eq!(next_type(&mut b).await, "hello");

    app.create_post("for A").await;
    assert_eq!(next_type(&mut a).await, "job_available");
    let (s, body) = app
        .post_json(
            "/v1/jobs/tweet",
            Some(&tenant_b.key),
            &json!({"text": "for B"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // B's first wake-up is its own job's: had A's leaked, it would come first
    // and B's would follow.
    assert_eq!(next_type(&mut b).await, "job_available");
    b.send(Message::Close(None)).await.unwrap();
    let mut extra = 0;
    while let Some(Ok(msg)) = b.next().await {
        if matches!(&msg, Message::Text(t) if t.contains("job_available")) {
            extra += 1;
        }
    }
    assert_eq!(extra, 0, "B heard another tenant's job");
});

both_stores!(
    a_bad_token_is_refused_at_the_handshake,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        for token in ["cp_nope", "x"] {
            match open(&app, token).await {
                Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
                other => panic!("expected 401, got {:?}", other.map(|_| ())),
            }
        }
        // A good token in the URL is refused: tokens never travel in URLs.
        let dev = app.pair_device(&app.api_key).await;
        match tokio_tungstenite::connect_async(ws_url(&app, &format!("?token={}", dev.token))).await
        {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
            other => panic!("expected 401, got {:?}", other.map(|_| ())),
        }
        // So is one on any other route, even beside a good header.
        let resp = app
            .client
            .get(app.url(&format!("/v1/extension/pull?token={}", dev.token)))
            .bearer_auth(&dev.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
);

//! The extension's wake-up channel: `GET /v1/extension/ws`, a WebSocket
//! that tells a paired extension when one of its tenant's jobs is
//! available, so it pulls at once instead of polling.
//!
//! Frames (text, JSON): `{"type":"hello"}` once the server listens for the
//! tenant's jobs (the extension's cue for a catch-up pull),
//! `{"type":"job_available"}` on every wake-up of the tenant's channel, and
//! `{"type":"ping"}` every [`PING_EVERY`] (traffic keeps Chrome's service
//! worker alive; the extension answers `{"type":"pong"}`). The socket never
//! carries job content: jobs are leased with `GET /v1/extension/pull`.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;

use crate::api::auth::DeviceAuth;
use crate::app::AppState;
use crate::error::ErrorBody;

/// How often the server pings an idle socket.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// Open the wake-up socket. Browsers cannot set headers on a WebSocket
/// handshake, so the device token is offered as a subprotocol:
/// `new WebSocket(url, ["clawpost.device", token])`, answered with the
/// subprotocol `clawpost.device`. A token in the URL is refused.
#[utoipa::path(get, path = "/v1/extension/ws", tag = "extension",
    params(("Sec-WebSocket-Protocol" = String, Header, description = "`clawpost.device, <device token>`")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, description = "Invalid device token", body = ErrorBody),
    ))]
pub async fn ws(
    State(state): State<AppState>,
    auth: DeviceAuth,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols([crate::api::auth::WS_PROTOCOL])
        .on_upgrade(move |socket| serve(socket, state, auth))
}

fn frame(kind: &str) -> Message {
    Message::Text(format!(r#"{{"type":"{kind}"}}"#).into())
}

async fn serve(mut socket: WebSocket, state: AppState, auth: DeviceAuth) {
    let _ = state.store.touch_device(&auth.device.id, state.now()).await;
    tracing::debug!(device = %auth.device.id, "extension socket open");
    let channel = state.notifier.channel(&auth.tenant_id);
    // Listen before saying hello: a job created after the hello wakes us,
    // one created before it is found by the extension's catch-up pull.
    let mut notified = Box::pin(channel.notified());
    notified.as_mut().enable();
    if socket.send(frame("hello")).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        tokio::select! {
            _ = &mut notified => {
                // Re-arm before telling the extension, so nothing created
                // while it pulls goes unnoticed.
                notified.set(channel.notified());
                notified.as_mut().enable();
                if socket.send(frame("job_available")).await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if socket.send(frame("ping")).await.is_err() {
                    break;
                }
                let _ = state.store.touch_device(&auth.device.id, state.now()).await;
            }
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    tracing::debug!(device = %auth.device.id, "extension socket closed");
}

//! The offscreen relay: the extension's WebSocket to the server, kept in an
//! offscreen document (`offscreen.html`) because that outlives the service
//! worker. Chrome stops an idle worker (and its sockets) at will; a
//! `chrome.runtime` message from here starts it again at once, so a queued
//! job is picked up within moments even after the worker was stopped.
//!
//! It knows nothing but the socket: the worker tells it where to connect
//! ([`RelayCommand::RelayConnect`], or the answer to
//! [`PageMessage::RelayReady`]), and it forwards the socket's `hello`,
//! `job_available` and `closed` as [`PageMessage::RelayEvent`]. It answers
//! the server's pings itself and reconnects after 5 s when the socket closes.

use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::chrome;
use crate::protocol::{PageMessage, RelayCommand, Reply};

thread_local! {
    /// The URL the worker wants a socket to, and the socket.
    static WANTED: RefCell<Option<String>> = const { RefCell::new(None) };
    static SOCKET: RefCell<Option<(String, WebSocket)>> = const { RefCell::new(None) };
}

/// How long to wait before reconnecting a closed socket.
const RECONNECT_MS: u32 = 5_000;

fn notify(event: &'static str, detail: Option<String>) {
    let msg = PageMessage::RelayEvent {
        event: event.into(),
        detail,
    };
    spawn_local(async move {
        // Starts the worker if it is stopped.
        let _ = chrome::send_to_worker(&serde_json::to_value(msg).unwrap_or_default()).await;
    });
}

fn close() {
    if let Some((_, ws)) = SOCKET.with(|s| s.borrow_mut().take()) {
        ws.set_onclose(None);
        ws.set_onmessage(None);
        let _ = ws.close();
    }
}

/// Keeps a socket open to `url`, or none.
fn want(url: Option<String>) {
    WANTED.with(|w| *w.borrow_mut() = url.clone());
    let Some(url) = url else {
        close();
        return;
    };
    let alive = SOCKET.with(|s| {
        s.borrow().as_ref().is_some_and(|(u, ws)| {
            *u == url && matches!(ws.ready_state(), WebSocket::OPEN | WebSocket::CONNECTING)
        })
    });
    if !alive {
        close();
        connect(url);
    }
}

/// The subprotocol the server knows the device token by.
const WS_PROTOCOL: &str = "clawpost.device";

fn connect(url: String) {
    // `url` is the socket's URL with the device token as its fragment: the
    // token is offered as a subprotocol (`["clawpost.device", token]`),
    // since a browser cannot set headers on a handshake and a token never
    // goes in a URL that is sent.
    let (address, token) = url.split_once('#').unwrap_or((url.as_str(), ""));
    let protocols = js_sys::Array::of2(&WS_PROTOCOL.into(), &token.into());
    let ws = match WebSocket::new_with_str_sequence(address, &protocols) {
        Ok(ws) => ws,
        Err(e) => {
            notify("closed", Some(chrome::message_of(&e)));
            return;
        }
    };
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else {
            return;
        };
        let kind = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string));
        match kind.as_deref() {
            Some("hello") => notify("hello", None),
            Some("job_available") => notify("job_available", None),
            Some("ping") => SOCKET.with(|s| {
                if let Some((_, ws)) = s.borrow().as_ref() {
                    let _ = ws.send_with_str(r#"{"type":"pong"}"#);
                }
            }),
            _ => {}
        }
    });
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let closed_url = url.clone();
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
        SOCKET.with(|s| s.borrow_mut().take());
        notify(
            "closed",
            Some(format!(
                "connection to the server closed (code {})",
                ev.code()
            )),
        );
        let url = closed_url.clone();
        spawn_local(async move {
            chrome::sleep(RECONNECT_MS).await;
            let still_wanted = WANTED.with(|w| w.borrow().as_deref() == Some(url.as_str()));
            let open = SOCKET.with(|s| s.borrow().is_some());
            if still_wanted && !open {
                connect(url);
            }
        });
    });
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    on_close.forget();
    SOCKET.with(|s| *s.borrow_mut() = Some((url, ws)));
}

/// The offscreen page's entry point (`static/offscreen.js`).
#[wasm_bindgen]
pub async fn relay_main() {
    let listener = Closure::<dyn FnMut(JsValue, JsValue, Function) -> JsValue>::new(
        |msg: JsValue, _sender: JsValue, respond: Function| {
            match chrome::from_js::<RelayCommand>(&msg) {
                Ok(RelayCommand::RelayConnect { url }) => {
                    want(url);
                    let _ = respond.call1(&JsValue::NULL, &chrome::to_js(&Reply::ok()));
                }
                // Meant for the worker: leave the answer to it.
                Err(_) => {}
            }
            JsValue::FALSE
        },
    );
    chrome::runtime_on_message_add_listener(listener.as_ref().unchecked_ref());
    listener.forget();
    // Ask the worker where to connect (it may be starting too: retry).
    let ask = serde_json::to_value(PageMessage::RelayReady).unwrap_or_default();
    for _ in 0..30 {
        if let Ok(answer) = chrome::send_to_worker(&ask).await {
            if let Ok(reply) = serde_json::from_value::<Reply>(answer) {
                if WANTED.with(|w| w.borrow().is_none()) {
                    want(reply.url);
                }
                return;
            }
        }
        chrome::sleep(1_000).await;
    }
}

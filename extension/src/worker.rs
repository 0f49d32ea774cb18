//! The service worker: the [`Host`] made of `chrome.*` and `fetch`, the
//! wake-ups, the alarm watchdog, and the entry points `static/worker.js`
//! calls from its synchronously registered listeners.
//!
//! Wake-ups: the WebSocket to the server (`GET /v1/extension/ws`) lives in
//! the offscreen relay ([`crate::relay`]), which outlives the worker: its
//! `job_available` (and `hello`, the cue for a catch-up pull) reach the
//! worker as `chrome.runtime` messages, which start a stopped worker at
//! once. The watchdog alarm (every 30 s) re-opens the relay and catches up
//! after anything else goes wrong; the runtime resumes an in-flight job from
//! storage whenever the worker starts.

use std::cell::Cell;

use extension_core::engine::{AgentCommand, AgentReply};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

use crate::chrome;
use crate::host::{Host, HostError, HttpRequest, HttpResponse, TabInfo};
use crate::protocol::{self, Connection, PageMessage, RelayCommand, Reply};
use crate::runtime::{self, PairingState, RuntimeError};

/// The watchdog alarm's name.
pub const WATCHDOG_ALARM: &str = "clawpost-watchdog";
/// The watchdog's period (Chrome's minimum for packed extensions).
pub const WATCHDOG_MINUTES: f64 = 0.5;
/// Extra time given to the agent beyond a command's own timeout.
const AGENT_SLACK_MS: u64 = 15_000;
/// The file the manifest injects as the DOM agent.
const DOM_AGENT_FILE: &str = "dom-agent.js";

/// `chrome.*` and `fetch` as the runtime's [`Host`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ChromeHost;

fn classify_send_error(message: String) -> HostError {
    if message.contains("Receiving end does not exist") {
        HostError::NoReceiver(message)
    } else if message.contains("message channel closed") || message.contains("message port closed")
    {
        HostError::PageChanged(message)
    } else {
        HostError::Tab(message)
    }
}

/// How long the agent may take for a command (before the slack).
fn command_timeout(cmd: &AgentCommand) -> u64 {
    match cmd {
        AgentCommand::WaitFor { timeout_ms, .. }
        | AgentCommand::Click { timeout_ms, .. }
        | AgentCommand::Read { timeout_ms, .. }
        | AgentCommand::ReadAll { timeout_ms, .. }
        | AgentCommand::Press { timeout_ms, .. }
        | AgentCommand::AttachFiles { timeout_ms, .. } => *timeout_ms,
        // Typing may start over up to three times in a replaced editor.
        AgentCommand::InsertText { timeout_ms, .. } => timeout_ms.saturating_mul(4) + 6_000,
        // Each candidate gets a moment to take the overlay away.
        AgentCommand::Dismiss { .. } => 8_000,
        AgentCommand::Ping
        | AgentCommand::PutFileChunk { .. }
        | AgentCommand::DropFiles { .. }
        | AgentCommand::Outline { .. } => 0,
    }
}

impl ChromeHost {
    async fn load(
        &self,
        watch: chrome::LoadWatch,
        tab: chrome::Tab,
        timeout_ms: u64,
    ) -> Result<TabInfo, HostError> {
        let (completed, loading) = watch
            .wait(tab.id, timeout_ms.min(u32::MAX as u64) as u32)
            .await;
        if !completed && !loading {
            return Err(HostError::Tab(format!(
                "the tab did not start loading {}",
                tab.url.unwrap_or_default()
            )));
        }
        // A page that keeps loading is still usable once it started: the
        // agent's waits take it from here.
        let now = chrome::get_tab(tab.id)
            .await
            .ok_or_else(|| HostError::Tab("the tab was closed".into()))?;
        Ok(TabInfo {
            id: now.id,
            url: now.url,
        })
    }
}

impl Host for ChromeHost {
    async fn notify(&self, id: &str, title: &str, message: &str) {
        chrome::notify(id, title, message).await;
    }

    async fn set_badge(&self, text: &str) {
        chrome::set_badge(text).await;
    }

    async fn sleep(&self, ms: u32) {
        chrome::sleep(ms).await;
    }

    async fn web_sign_in(&self, url: &str) -> Result<String, HostError> {
        chrome::web_auth_flow(url).await.map_err(HostError::SignIn)
    }

    fn sign_in_redirect_url(&self) -> Result<String, HostError> {
        chrome::auth_redirect_url().map_err(HostError::SignIn)
    }

    fn random_token(&self) -> String {
        chrome::random_uuid()
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, HostError> {
        chrome::storage_get(key).await.map_err(HostError::Storage)
    }

    async fn set(&self, key: &str, value: Value) -> Result<(), HostError> {
        chrome::storage_set(key, &value)
            .await
            .map_err(HostError::Storage)
    }

    async fn remove(&self, key: &str) -> Result<(), HostError> {
        chrome::storage_remove(key)
            .await
            .map_err(HostError::Storage)
    }

    async fn http(&self, req: HttpRequest) -> Result<HttpResponse, HostError> {
        let r = chrome::fetch(
            req.method,
            &req.url,
            req.bearer.as_deref(),
            req.json.as_deref(),
        )
        .await
        .map_err(HostError::Network)?;
        Ok(HttpResponse {
            status: r.status,
            content_type: r.content_type,
            body: r.body,
        })
    }

    async fn platform_tabs(&self, hosts: &[String]) -> Result<Vec<TabInfo>, HostError> {
        let patterns: Vec<String> = hosts.iter().map(|h| format!("*://{h}/*")).collect();
        let tabs = chrome::query_tabs(&patterns)
            .await
            .map_err(HostError::Tab)?;
        Ok(tabs
            .into_iter()
            .map(|t| TabInfo {
                id: t.id,
                url: t.url,
            })
            .collect())
    }

    async fn tab(&self, id: i32) -> Option<TabInfo> {
        chrome::get_tab(id).await.map(|t| TabInfo {
            id: t.id,
            url: t.url,
        })
    }

    async fn open_tab(&self, url: &str, timeout_ms: u64) -> Result<TabInfo, HostError> {
        let watch = chrome::LoadWatch::start();
        let tab = chrome::create_tab(url, false)
            .await
            .map_err(HostError::Tab)?;
        self.load(watch, tab, timeout_ms).await
    }

    async fn navigate(&self, tab: i32, url: &str, timeout_ms: u64) -> Result<TabInfo, HostError> {
        let watch = chrome::LoadWatch::start();
        let t = chrome::update_tab_url(tab, url)
            .await
            .map_err(HostError::Tab)?;
        self.load(watch, t, timeout_ms).await
    }

    async fn close_tab(&self, tab: i32) {
        chrome::remove_tab(tab).await;
    }

    async fn agent(&self, tab: i32, cmd: &AgentCommand) -> Result<AgentReply, HostError> {
        let message = json!({"to": "clawpost-agent", "command": cmd});
        let limit = (command_timeout(cmd) + AGENT_SLACK_MS).min(u32::MAX as u64) as u32;
        match chrome::send_to_tab(tab, &message, limit).await {
            Ok(Some(v)) => serde_json::from_value(v)
                .map_err(|e| HostError::Tab(format!("bad agent reply: {e}"))),
            Ok(None) => Err(HostError::Tab(
                "the page agent did not answer in time".into(),
            )),
            Err(e) => Err(classify_send_error(e)),
        }
    }

    async fn inject_agent(&self, tab: i32) -> Result<(), HostError> {
        chrome::inject_files(tab, &[DOM_AGENT_FILE])
            .await
            .map_err(HostError::Tab)
    }

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }
}

// ---------------------------------------------------------------------------
// Wake-ups and the work loop.

thread_local! {
    static DRAINING: Cell<bool> = const { Cell::new(false) };
    static DRAIN_AGAIN: Cell<bool> = const { Cell::new(false) };
    static PAIR_POLLING: Cell<bool> = const { Cell::new(false) };
    static PAIRING_BUSY: Cell<bool> = const { Cell::new(false) };
}

/// Runs a pairing step unless another one is running (two wake-ups at once
/// must not register two codes); `None` when skipped.
async fn pairing_step<F, T>(step: F) -> Option<Result<T, RuntimeError>>
where
    F: std::future::Future<Output = Result<T, RuntimeError>>,
{
    if PAIRING_BUSY.replace(true) {
        return None;
    }
    let out = step.await;
    PAIRING_BUSY.set(false);
    Some(out)
}

fn log(msg: &str) {
    web_sys::console::log_1(&JsValue::from_str(&format!("[clawpost] {msg}")));
}

async fn set_connection(connected: bool, error: Option<String>) {
    let c = Connection {
        connected,
        error,
        at: js_sys::Date::now(),
    };
    let _ = ChromeHost
        .set(
            protocol::CONNECTION,
            serde_json::to_value(c).unwrap_or_default(),
        )
        .await;
}

/// Pulls and runs jobs until the queue is empty; one drain at a time (a
/// wake-up during a drain makes it pull once more).
pub fn kick_drain() {
    if DRAINING.get() {
        DRAIN_AGAIN.set(true);
        return;
    }
    DRAINING.set(true);
    // Keep the worker alive while a job runs (an extension API call every
    // 20 s resets Chrome's idle timer).
    spawn_local(async {
        while DRAINING.get() {
            chrome::sleep(20_000).await;
            if DRAINING.get() {
                chrome::keep_alive().await;
            }
        }
    });
    spawn_local(async {
        loop {
            DRAIN_AGAIN.set(false);
            match runtime::drain(&ChromeHost).await {
                Ok(_) => {}
                Err(RuntimeError::Unauthorized) => {
                    log("the server refused the device token; pairing again");
                    ensure_relay(None).await;
                    let _ = start_pairing().await;
                }
                Err(RuntimeError::NotPaired) => {}
                Err(e) => {
                    log(&format!("drain: {e}"));
                    set_connection(false, Some(e.to_string())).await;
                }
            }
            if !DRAIN_AGAIN.get() {
                break;
            }
        }
        DRAINING.set(false);
    });
}

/// The offscreen relay's page.
const RELAY_PAGE: &str = "offscreen.html";

/// The wake-up socket's URL for the current settings (`None` when unpaired).
async fn socket_url() -> Option<String> {
    let s = runtime::settings(&ChromeHost).await.ok()?;
    Some(ws_url(&s.server_url, &s.token?))
}

fn ws_url(server: &str, token: &str) -> String {
    let base = server.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    // The token rides in the fragment of the relay's target, which never
    // goes on the wire: the relay offers it as a WebSocket subprotocol.
    format!("{base}/v1/extension/ws#{token}")
}

/// Makes the offscreen relay keep a socket to `url` (or none). A relay that
/// is opened here asks for its URL itself once it runs.
async fn ensure_relay(url: Option<String>) {
    match chrome::has_offscreen_document().await {
        Ok(true) => {
            let cmd = serde_json::to_value(RelayCommand::RelayConnect { url }).unwrap_or_default();
            if let Err(e) = chrome::send_to_worker(&cmd).await {
                log(&format!("relay: {e}"));
            }
        }
        Ok(false) if url.is_some() => {
            let opened = chrome::create_offscreen_document(
                RELAY_PAGE,
                "WORKERS",
                "Keeps the connection to the Claw Post server that tells the extension when a post is queued.",
            )
            .await;
            if let Err(e) = opened {
                log(&format!("relay: {e}"));
                set_connection(false, Some(format!("cannot open the connection page: {e}"))).await;
            }
        }
        Ok(false) => {}
        Err(e) => log(&format!("relay: {e}")),
    }
}

/// Registers (or polls) a pairing code, and keeps polling every 2 s while
/// the worker lives and the code is pending.
async fn start_pairing() -> Result<(), RuntimeError> {
    match pairing_step(runtime::ensure_pairing(&ChromeHost)).await {
        Some(Ok(PairingState::Paired)) => {
            boot_paired().await;
            return Ok(());
        }
        Some(Ok(PairingState::Pending(_))) | None => {}
        Some(Err(e)) => return Err(e),
    }
    if PAIR_POLLING.get() {
        return Ok(());
    }
    PAIR_POLLING.set(true);
    spawn_local(async {
        loop {
            chrome::sleep(2_000).await;
            match pairing_step(runtime::poll_pairing(&ChromeHost)).await {
                Some(Ok(PairingState::Paired)) => {
                    log("paired");
                    PAIR_POLLING.set(false);
                    boot_paired().await;
                    break;
                }
                Some(Ok(PairingState::Pending(_))) | None => {}
                Some(Err(RuntimeError::NotPaired)) => {}
                Some(Err(e)) => {
                    // A server that is down: keep trying, slower.
                    set_connection(false, Some(e.to_string())).await;
                    chrome::sleep(8_000).await;
                }
            }
            if runtime::settings(&ChromeHost)
                .await
                .is_ok_and(|s| s.token.is_some())
            {
                PAIR_POLLING.set(false);
                boot_paired().await;
                break;
            }
        }
    });
    Ok(())
}

async fn boot_paired() {
    // Newer selectors from the server, when it has them; the packs in use
    // stay on any failure.
    match runtime::refresh_packs(&ChromeHost).await {
        Ok(true) => log("selector packs updated from the server"),
        Ok(false) => {}
        Err(e) => log(&format!("selector packs: {e}")),
    }
    if let Some(url) = socket_url().await {
        ensure_relay(Some(url)).await;
        kick_drain();
    }
}

/// Brings everything up: the socket and a catch-up drain when paired,
/// pairing otherwise. Idempotent; every wake-up calls it.
pub async fn boot() {
    let _ = chrome::ensure_alarm(WATCHDOG_ALARM, WATCHDOG_MINUTES).await;
    match runtime::settings(&ChromeHost).await {
        Ok(s) if s.token.is_some() => boot_paired().await,
        Ok(_) => {
            if let Err(e) = start_pairing().await {
                set_connection(false, Some(e.to_string())).await;
            }
        }
        Err(e) => log(&format!("storage: {e}")),
    }
}

// ---------------------------------------------------------------------------
// Entry points for static/worker.js.

/// Called once per worker start, after the wasm module is ready.
#[wasm_bindgen]
pub async fn start() {
    boot().await;
}

/// `chrome.alarms.onAlarm`.
#[wasm_bindgen]
pub async fn on_alarm(name: String) {
    if name == WATCHDOG_ALARM {
        boot().await;
    }
}

/// `chrome.runtime.onStartup` / `onInstalled`.
#[wasm_bindgen]
pub async fn on_lifecycle(reason: String) {
    if reason == "startup" {
        let _ = runtime::forget_tabs(&ChromeHost).await;
    }
    boot().await;
}

/// `chrome.storage.onChanged` for `serverUrl`: reconnect to the new server.
#[wasm_bindgen]
pub async fn on_settings_changed() {
    boot().await;
}

/// `chrome.runtime.onMessage` from the popup or the options page.
#[wasm_bindgen]
pub async fn on_message(message: JsValue) -> JsValue {
    let reply = match chrome::from_js::<PageMessage>(&message) {
        Ok(PageMessage::EnsurePairing) => Reply::from_result(start_pairing().await),
        Ok(PageMessage::GoogleSignIn) => {
            let paired = runtime::pair_with_google(&ChromeHost)
                .await
                .map_err(|e| e.to_string());
            if paired.is_ok() {
                boot().await;
            }
            Reply::from_result(paired.map(|_| ()))
        }
        Ok(PageMessage::Unpair) => {
            ensure_relay(None).await;
            let _ = runtime::unpair(&ChromeHost).await;
            set_connection(false, None).await;
            Reply::from_result(start_pairing().await)
        }
        Ok(PageMessage::ClearAttention) => Reply::from_result(
            runtime::clear_attention(&ChromeHost)
                .await
                .map_err(|e| e.to_string()),
        ),
        Ok(PageMessage::SettingsChanged) => {
            on_settings_changed().await;
            Reply::ok()
        }
        Ok(PageMessage::RelayReady) => Reply {
            url: socket_url().await,
            ..Reply::ok()
        },
        Ok(PageMessage::RelayEvent { event, detail }) => {
            match event.as_str() {
                "hello" => {
                    set_connection(true, None).await;
                    kick_drain();
                }
                "job_available" => kick_drain(),
                "closed" => set_connection(false, detail).await,
                _ => {}
            }
            Reply::ok()
        }
        Err(e) => Reply::from_result(Err(format!("unknown message: {e}"))),
    };
    chrome::to_js(&reply)
}

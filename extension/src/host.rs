//! What the worker runtime needs from its surroundings: storage, HTTP, tabs
//! and the DOM agent. In the extension this is `chrome.*` and `fetch`
//! (see `worker::ChromeHost`); tests plug in their own.

use extension_core::engine::{AgentCommand, AgentReply};
use serde_json::Value;

/// An HTTP request to the Claw Post server or a media URL.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    /// Sent as `Authorization: Bearer`.
    pub bearer: Option<String>,
    /// A JSON body.
    pub json: Option<String>,
}

impl HttpRequest {
    /// A GET.
    pub fn get(url: impl Into<String>) -> HttpRequest {
        HttpRequest {
            method: "GET",
            url: url.into(),
            bearer: None,
            json: None,
        }
    }

    /// A POST with a JSON body.
    pub fn post(url: impl Into<String>, json: String) -> HttpRequest {
        HttpRequest {
            method: "POST",
            url: url.into(),
            bearer: None,
            json: Some(json),
        }
    }

    /// Adds a bearer token (the device token, or a pairing poll token).
    pub fn bearer(mut self, token: &str) -> HttpRequest {
        self.bearer = Some(token.to_string());
        self
    }
}

/// An HTTP response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HostError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            HostError::Network(format!("unexpected response (HTTP {}): {e}", self.status))
        })
    }
}

/// A browser tab.
#[derive(Debug, Clone, PartialEq)]
pub struct TabInfo {
    pub id: i32,
    /// Visible for the pack's hosts (host permissions).
    pub url: Option<String>,
}

/// A failure of the surroundings.
#[derive(Debug, Clone, PartialEq)]
pub enum HostError {
    /// The request did not get an HTTP answer.
    Network(String),
    /// The tab's content script is not there ("Receiving end does not
    /// exist"): the message was not delivered, so sending again is safe.
    NoReceiver(String),
    /// The page went away while the agent worked on the message (the tab
    /// loaded another page): the command may have run in the old page.
    PageChanged(String),
    /// The tab is gone, or the message may have been delivered without an
    /// answer: never resend.
    Tab(String),
    /// chrome.storage failed.
    Storage(String),
    /// A web sign-in (chrome.identity) failed or was cancelled.
    SignIn(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Network(m) => write!(f, "network: {m}"),
            HostError::NoReceiver(m) => write!(f, "no content script: {m}"),
            HostError::PageChanged(m) => write!(f, "the page changed: {m}"),
            HostError::Tab(m) => write!(f, "tab: {m}"),
            HostError::Storage(m) => write!(f, "storage: {m}"),
            HostError::SignIn(m) => write!(f, "sign-in: {m}"),
        }
    }
}

impl std::error::Error for HostError {}

/// The worker's surroundings. Single-threaded (wasm), hence no `Send`.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// Reads a `chrome.storage.local` key.
    async fn get(&self, key: &str) -> Result<Option<Value>, HostError>;
    /// Writes a `chrome.storage.local` key.
    async fn set(&self, key: &str, value: Value) -> Result<(), HostError>;
    /// Removes a `chrome.storage.local` key.
    async fn remove(&self, key: &str) -> Result<(), HostError>;
    /// Performs an HTTP request (redirects followed).
    async fn http(&self, req: HttpRequest) -> Result<HttpResponse, HostError>;
    /// The open tabs on any of these hosts, most recently used first.
    async fn platform_tabs(&self, hosts: &[String]) -> Result<Vec<TabInfo>, HostError>;
    /// A tab by id, if it still exists.
    async fn tab(&self, id: i32) -> Option<TabInfo>;
    /// Opens a background tab at `url` and waits until it has loaded.
    async fn open_tab(&self, url: &str, timeout_ms: u64) -> Result<TabInfo, HostError>;
    /// Loads `url` in a tab and waits until it has loaded.
    async fn navigate(&self, tab: i32, url: &str, timeout_ms: u64) -> Result<TabInfo, HostError>;
    /// Closes a tab (errors ignored).
    async fn close_tab(&self, tab: i32);
    /// Sends a command to the tab's DOM agent (top frame) and awaits its reply.
    async fn agent(&self, tab: i32, cmd: &AgentCommand) -> Result<AgentReply, HostError>;
    /// Injects the DOM agent into a tab that has none (opened before the
    /// extension was installed).
    async fn inject_agent(&self, tab: i32) -> Result<(), HostError>;
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> f64;
    /// Runs an interactive web sign-in at `url` (chrome.identity) and
    /// returns the URL the provider redirected to.
    async fn web_sign_in(&self, url: &str) -> Result<String, HostError> {
        let _ = url;
        Err(HostError::SignIn(
            "web sign-in is not available here".into(),
        ))
    }
    /// The redirect URI web sign-ins must use.
    fn sign_in_redirect_url(&self) -> Result<String, HostError> {
        Err(HostError::SignIn(
            "web sign-in is not available here".into(),
        ))
    }
    /// A fresh unguessable string (for nonces).
    fn random_token(&self) -> String;
    /// Tells the user something needs them (a system notification).
    async fn notify(&self, _id: &str, _title: &str, _message: &str) {}
    /// Sets the toolbar badge (`""` clears it).
    async fn set_badge(&self, _text: &str) {}
    /// Waits a moment (a page that is loading anew).
    async fn sleep(&self, _ms: u32) {}
}

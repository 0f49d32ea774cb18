//! What the worker, the popup and the options page share: the
//! `chrome.storage.local` keys and the shapes stored under them, and the
//! messages the pages send the worker (`chrome.runtime.sendMessage`).
//!
//! Storage contract (relied on by the end-to-end runner):
//! - `serverUrl`: the Claw Post server's base URL (default
//!   [`default_server_url`]);
//! - `onlyOpenTabs`: `true` to post only through tabs the user has open;
//! - `deviceToken`: the device's bearer token once paired (secret);
//! - `pairing`: the pending registration ([`Pairing`]);
//! - `recentJobs`: the last jobs ([`RecentJob`]), newest first;
//! - `connection`: the worker's link to the server ([`Connection`]);
//! - `inflight`: the job being worked on (worker-private).

use serde::{Deserialize, Serialize};

/// Storage key of the server URL.
pub const SERVER_URL: &str = "serverUrl";
/// Storage key of the "use only my open tabs" option.
pub const ONLY_OPEN_TABS: &str = "onlyOpenTabs";
/// Storage key of the device token.
pub const DEVICE_TOKEN: &str = "deviceToken";
/// Storage key of the pending pairing.
pub const PAIRING: &str = "pairing";
/// Storage key of the recent jobs list.
pub const RECENT_JOBS: &str = "recentJobs";
/// Storage key of the connection state.
pub const CONNECTION: &str = "connection";
/// Storage key of the in-flight job.
pub const INFLIGHT: &str = "inflight";
/// Storage key of what needs the user ([`Attention`]), one per platform.
pub const ATTENTION: &str = "attention";
/// Storage key of the newest valid selector pack set the server served
/// (`extension_core::pack_set::PackSet`).
pub const SELECTOR_PACKS: &str = "selectorPacks";

/// How many jobs `recentJobs` keeps.
pub const RECENT_JOBS_KEPT: usize = 10;

/// The server URL used when storage has none: the build-time
/// `CLAWPOST_SERVER_URL`, else the local default.
pub fn default_server_url() -> &'static str {
    option_env!("CLAWPOST_SERVER_URL").unwrap_or("http://127.0.0.1:8080")
}

/// Trims a user-entered server URL; `None` unless it is `http(s)://host...`.
pub fn clean_server_url(input: &str) -> Option<String> {
    let url = input.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!host.is_empty() && !url.contains(char::is_whitespace)).then(|| url.to_string())
}

/// A registration waiting for the user to enter its code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pairing {
    pub device_id: String,
    /// The 6-digit code to show.
    pub code: String,
    pub poll_token: String,
    /// Milliseconds since the Unix epoch.
    pub expires_at: i64,
    /// The server it was registered with.
    pub server_url: String,
}

/// Something only the user can fix, for the popup (and the badge): a
/// platform stopped a job with a security check, a two-factor prompt, a
/// captcha, a suspension or a login wall. Kept until a later job on that
/// platform succeeds or the user dismisses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attention {
    pub platform: String,
    /// `checkpoint`, `two_factor`, `captcha`, `suspended`; none for a plain
    /// login wall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What to do, in the platform pack's words.
    pub message: String,
    pub job_id: String,
    /// Milliseconds since the Unix epoch.
    pub at: f64,
}

/// A finished job, for the popup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentJob {
    pub id: String,
    pub platform: String,
    /// `succeeded`, `failed`, or `abandoned`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at: f64,
}

/// The worker's link to the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// The WebSocket is open.
    pub connected: bool,
    /// The last problem talking to the server, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at: f64,
}

/// Messages the popup and options page send the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PageMessage {
    /// Make sure there is a pairing code (or a token); answers [`Reply`].
    EnsurePairing,
    /// Pair without a code: sign in with Google (or the server's OpenID
    /// provider) in a browser window and send the ID token to
    /// `POST /v1/connect/google`; answers [`Reply`].
    GoogleSignIn,
    /// Forget the device token and start pairing again.
    Unpair,
    /// The options changed (server URL): reconnect.
    SettingsChanged,
    /// The user read what needed them: forget it and clear the badge.
    ClearAttention,
    /// From the offscreen relay: it started and asks where to connect;
    /// answered with [`Reply::url`].
    RelayReady,
    /// From the offscreen relay: its socket said hello (`hello`), a job is
    /// available (`job_available`), or it closed (`closed`, with `detail`).
    #[serde(rename_all = "camelCase")]
    RelayEvent {
        event: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

/// What the worker tells the offscreen relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RelayCommand {
    /// Keep a socket open to `url` (`None`: close it).
    RelayConnect { url: Option<String> },
}

/// The worker's answer to a [`PageMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For [`PageMessage::RelayReady`]: the socket URL, when paired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Reply {
    /// Success.
    pub fn ok() -> Reply {
        Reply {
            ok: true,
            error: None,
            url: None,
        }
    }

    /// Success or the error's message.
    pub fn from_result<E: std::fmt::Display>(r: Result<(), E>) -> Reply {
        match r {
            Ok(()) => Reply::ok(),
            Err(e) => Reply {
                ok: false,
                error: Some(e.to_string()),
                url: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_cleaned_or_refused() {
        assert_eq!(
            clean_server_url(" http://127.0.0.1:8080/ ").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            clean_server_url("https://api.clawpost.net").as_deref(),
            Some("https://api.clawpost.net")
        );
        assert_eq!(clean_server_url("ftp://x"), None);
        assert_eq!(clean_server_url("http://"), None);
        assert_eq!(clean_server_url("http://a b"), None);
    }

    #[test]
    fn page_messages_have_a_type_tag() {
        assert_eq!(
            serde_json::to_value(PageMessage::EnsurePairing).unwrap(),
            serde_json::json!({"type": "ensurePairing"})
        );
        let ev: PageMessage = serde_json::from_value(
            serde_json::json!({"type": "relayEvent", "event": "job_available"}),
        )
        .unwrap();
        assert_eq!(
            ev,
            PageMessage::RelayEvent {
                event: "job_available".into(),
                detail: None
            }
        );
        assert_eq!(
            serde_json::to_value(RelayCommand::RelayConnect { url: None }).unwrap(),
            serde_json::json!({"type": "relayConnect", "url": null})
        );
    }
}

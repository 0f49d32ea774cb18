//! The worker's logic, independent of Chrome: pairing, pulling jobs, running
//! them through the engine, reporting progress and acking. Generic over
//! [`Host`], so it runs the same in the extension and in tests.
//!
//! Crash safety: the in-flight job (job, tab, engine state) is written to
//! storage before every command leaves. The engine records the publish
//! click in its state before the click command is executed, so a worker
//! that is stopped and restarted at any point resumes without clicking
//! twice (see [`extension_core::engine`]).

use base64::Engine as _;
use extension_core::engine::{
    advance, AgentCommand, AgentReply, Command, EngineState, Observation, Outcome,
};
use extension_core::pack::{Pack, Target};
use extension_core::pack_set::PackSet;
use extension_core::{
    infer_from_filename, media_type_by_mime, sniff, JobErrorCode, LeasedJob, Platform,
    ProgressRequest, ProgressStage,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::host::{Host, HostError, HttpRequest, HttpResponse};
use crate::protocol::{self, Attention, Pairing, RecentJob};

/// How often a command that only looks is sent again to a page that
/// loaded anew under it, and the pause before each try.
const RESEND_TRIES: u32 = 4;
const RESEND_PAUSE_MS: u32 = 500;
/// How often a running job renews its lease.
pub const RENEW_EVERY_MS: f64 = 30_000.0;
/// Raw bytes per file chunk handed to the DOM agent.
pub const MEDIA_CHUNK_BYTES: usize = 512 * 1024;
/// How long a tab may take to load.
pub const TAB_LOAD_TIMEOUT_MS: u64 = 30_000;

/// Why a runtime operation stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeError {
    Host(HostError),
    /// The server refused the device token: the extension was unpaired.
    Unauthorized,
    /// The server answered something unexpected.
    Server(String),
    /// Not paired yet.
    NotPaired,
}

impl From<HostError> for RuntimeError {
    fn from(e: HostError) -> Self {
        RuntimeError::Host(e)
    }
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeError::Host(e) => e.fmt(f),
            RuntimeError::Unauthorized => f.write_str("the server no longer accepts this device"),
            RuntimeError::Server(m) => write!(f, "server: {m}"),
            RuntimeError::NotPaired => f.write_str("not paired"),
        }
    }
}

/// The user's settings and the device token.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub server_url: String,
    pub only_open_tabs: bool,
    pub token: Option<String>,
}

/// Reads the settings from storage (with defaults).
pub async fn settings<H: Host>(h: &H) -> Result<Settings, HostError> {
    let server_url = h
        .get(protocol::SERVER_URL)
        .await?
        .and_then(|v| v.as_str().and_then(protocol::clean_server_url))
        .unwrap_or_else(|| protocol::default_server_url().to_string());
    let only_open_tabs = h
        .get(protocol::ONLY_OPEN_TABS)
        .await?
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let token = h
        .get(protocol::DEVICE_TOKEN)
        .await?
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|t| !t.is_empty());
    Ok(Settings {
        server_url,
        only_open_tabs,
        token,
    })
}

fn endpoint(server: &str, path: &str) -> String {
    format!("{}{path}", server.trim_end_matches('/'))
}

/// Percent-encodes a query component.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unexpected(resp: &HttpResponse) -> RuntimeError {
    let body = String::from_utf8_lossy(&resp.body);
    RuntimeError::Server(format!(
        "HTTP {}: {}",
        resp.status,
        body.chars().take(300).collect::<String>()
    ))
}

// ---------------------------------------------------------------------------
// Pairing.

/// Where pairing stands.
#[derive(Debug, Clone, PartialEq)]
pub enum PairingState {
    Paired,
    /// Waiting for the user to enter this code.
    Pending(Pairing),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterView {
    device_id: String,
    pairing_code: String,
    poll_token: String,
    expires_at: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusView {
    status: String,
    device_token: Option<String>,
}

async fn register<H: Host>(h: &H, server: &str) -> Result<Pairing, RuntimeError> {
    let body = json!({"name": "Chrome extension"}).to_string();
    let resp = h
        .http(HttpRequest::post(
            endpoint(server, "/v1/connect/register"),
            body,
        ))
        .await?;
    if !resp.ok() {
        return Err(unexpected(&resp));
    }
    let v: RegisterView = resp.json()?;
    let pairing = Pairing {
        device_id: v.device_id,
        code: v.pairing_code,
        poll_token: v.poll_token,
        expires_at: v.expires_at,
        server_url: server.to_string(),
    };
    h.set(
        protocol::PAIRING,
        serde_json::to_value(&pairing).unwrap_or_default(),
    )
    .await?;
    Ok(pairing)
}

async fn stored_pairing<H: Host>(h: &H) -> Result<Option<Pairing>, HostError> {
    Ok(h.get(protocol::PAIRING)
        .await?
        .and_then(|v| serde_json::from_value(v).ok()))
}

/// Makes sure the device is paired or has a live pairing code (registering
/// one when needed), and checks a pending code once.
pub async fn ensure_pairing<H: Host>(h: &H) -> Result<PairingState, RuntimeError> {
    let s = settings(h).await?;
    if s.token.is_some() {
        return Ok(PairingState::Paired);
    }
    match stored_pairing(h).await? {
        Some(p) if p.server_url == s.server_url && p.expires_at as f64 > h.now_ms() + 5_000.0 => {
            poll_pairing(h).await
        }
        _ => Ok(PairingState::Pending(register(h, &s.server_url).await?)),
    }
}

/// Asks the server whether the pending code was entered; stores the device
/// token when it was, registers a new code when the old one died.
pub async fn poll_pairing<H: Host>(h: &H) -> Result<PairingState, RuntimeError> {
    let s = settings(h).await?;
    if s.token.is_some() {
        return Ok(PairingState::Paired);
    }
    let Some(p) = stored_pairing(h).await? else {
        return Ok(PairingState::Pending(register(h, &s.server_url).await?));
    };
    if p.server_url != s.server_url {
        return Ok(PairingState::Pending(register(h, &s.server_url).await?));
    }
    let url = endpoint(
        &p.server_url,
        &format!(
            "/v1/connect/status?deviceId={}",
            encode_component(&p.device_id)
        ),
    );
    // The poll token goes in the Authorization header, never in the URL.
    let resp = h.http(HttpRequest::get(url).bearer(&p.poll_token)).await?;
    if matches!(resp.status, 401 | 404) {
        // The server forgot the registration (e.g. a fresh database).
        return Ok(PairingState::Pending(register(h, &s.server_url).await?));
    }
    if !resp.ok() {
        return Err(unexpected(&resp));
    }
    let v: StatusView = resp.json()?;
    match (v.status.as_str(), v.device_token) {
        ("paired", Some(token)) => {
            h.set(protocol::DEVICE_TOKEN, Value::String(token)).await?;
            h.remove(protocol::PAIRING).await?;
            Ok(PairingState::Paired)
        }
        ("pending", _) if p.expires_at as f64 > h.now_ms() => Ok(PairingState::Pending(p)),
        // Expired, revoked, or paired with the token already handed out
        // (and lost): start over.
        _ => Ok(PairingState::Pending(register(h, &s.server_url).await?)),
    }
}

/// `GET /v1/connect/google`: how to sign in with the server's provider.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleConfig {
    authorization_endpoint: String,
    client_id: String,
}

/// `POST /v1/connect/google`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GooglePairView {
    device_token: String,
}

/// The sign-in URL: an OpenID implicit request for an ID token bound to
/// `nonce`, answered at the extension's redirect URI.
pub fn sign_in_url(
    authorization_endpoint: &str,
    client_id: &str,
    redirect: &str,
    nonce: &str,
) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "id_token")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid email")
        .append_pair("nonce", nonce)
        .append_pair("state", nonce)
        .append_pair("prompt", "select_account")
        .finish();
    let sep = if authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{authorization_endpoint}{sep}{query}")
}

/// The ID token in the provider's redirect (fragment, or query), checked
/// against the `state` sent; the provider's error otherwise.
pub fn id_token_from_redirect(redirect: &str, state: &str) -> Result<String, String> {
    let params = redirect
        .split_once('#')
        .map(|(_, f)| f)
        .or_else(|| redirect.split_once('?').map(|(_, q)| q))
        .unwrap_or("");
    let mut token = None;
    let mut got_state = None;
    let mut error = None;
    for (k, v) in form_urlencoded::parse(params.as_bytes()) {
        match &*k {
            "id_token" => token = Some(v.into_owned()),
            "state" => got_state = Some(v.into_owned()),
            "error_description" => error = Some(v.into_owned()),
            "error" if error.is_none() => error = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some(e) = error {
        return Err(format!("the provider refused the sign-in: {e}"));
    }
    if got_state.as_deref() != Some(state) {
        return Err("the sign-in answer does not belong to this sign-in".into());
    }
    token.ok_or_else(|| "the provider sent no ID token".into())
}

/// Pairs without a code: signs the user in with the server's OpenID
/// provider (Google by default) in a browser window, sends the ID token to
/// `POST /v1/connect/google` and keeps the device token it returns.
pub async fn pair_with_google<H: Host>(h: &H) -> Result<PairingState, RuntimeError> {
    let s = settings(h).await?;
    let resp = h
        .http(HttpRequest::get(endpoint(
            &s.server_url,
            "/v1/connect/google",
        )))
        .await?;
    if resp.status == 404 {
        return Err(RuntimeError::Server(
            "this server has no Google sign-in configured; pair with the 6-digit code".into(),
        ));
    }
    if !resp.ok() {
        return Err(unexpected(&resp));
    }
    let config: GoogleConfig = resp.json()?;
    let redirect = h.sign_in_redirect_url()?;
    let nonce = h.random_token();
    let url = sign_in_url(
        &config.authorization_endpoint,
        &config.client_id,
        &redirect,
        &nonce,
    );
    let answer = h.web_sign_in(&url).await?;
    let id_token = id_token_from_redirect(&answer, &nonce).map_err(HostError::SignIn)?;
    let body = json!({"idToken": id_token, "deviceName": "Chrome extension"}).to_string();
    let resp = h
        .http(HttpRequest::post(
            endpoint(&s.server_url, "/v1/connect/google"),
            body,
        ))
        .await?;
    if !resp.ok() {
        return Err(unexpected(&resp));
    }
    let v: GooglePairView = resp.json()?;
    h.set(protocol::DEVICE_TOKEN, Value::String(v.device_token))
        .await?;
    h.remove(protocol::PAIRING).await?;
    Ok(PairingState::Paired)
}

/// Forgets the device token (and any in-flight job).
pub async fn unpair<H: Host>(h: &H) -> Result<(), HostError> {
    h.remove(protocol::DEVICE_TOKEN).await?;
    h.remove(protocol::PAIRING).await?;
    h.remove(protocol::INFLIGHT).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Jobs.

/// The job being worked on, as persisted under `inflight`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inflight {
    pub job: LeasedJob,
    pub pack_version: String,
    /// The server the job came from (acks go there even if the setting
    /// changes meanwhile).
    pub server_url: String,
    pub only_open_tabs: bool,
    pub tab_id: Option<i32>,
    /// Whether the worker opened the tab (and closes it at the end).
    pub opened_tab: bool,
    pub state: EngineState,
    pub started_at: f64,
    pub last_progress_at: f64,
}

async fn save<H: Host>(h: &H, inflight: &Inflight) -> Result<(), HostError> {
    h.set(
        protocol::INFLIGHT,
        serde_json::to_value(inflight).unwrap_or_default(),
    )
    .await
}

/// At browser start: tab ids do not survive a browser restart (a new tab
/// may get an old id), so the in-flight job forgets its tab.
pub async fn forget_tabs<H: Host>(h: &H) -> Result<(), HostError> {
    let Some(mut inflight) = h
        .get(protocol::INFLIGHT)
        .await?
        .and_then(|v| serde_json::from_value::<Inflight>(v).ok())
    else {
        return Ok(());
    };
    if inflight.tab_id.is_none() {
        return Ok(());
    }
    inflight.tab_id = None;
    inflight.opened_tab = false;
    save(h, &inflight).await
}

/// Runs the in-flight job left by a previous worker (if any), then leases
/// and runs jobs until the queue is empty. Returns how many jobs ended.
pub async fn drain<H: Host>(h: &H) -> Result<usize, RuntimeError> {
    let mut done = 0;
    if let Some(inflight) = h
        .get(protocol::INFLIGHT)
        .await?
        .and_then(|v| serde_json::from_value::<Inflight>(v).ok())
    {
        resume(h, inflight).await?;
        done += 1;
    }
    while let Some(job) = pull(h).await? {
        run_job(h, job).await?;
        done += 1;
    }
    Ok(done)
}

/// Leases the next job (`GET /v1/extension/pull?wait=0`).
pub async fn pull<H: Host>(h: &H) -> Result<Option<LeasedJob>, RuntimeError> {
    let s = settings(h).await?;
    let token = s.token.ok_or(RuntimeError::NotPaired)?;
    let resp = h
        .http(HttpRequest::get(endpoint(&s.server_url, "/v1/extension/pull?wait=0")).bearer(&token))
        .await?;
    match resp.status {
        200 => Ok(Some(resp.json()?)),
        204 => Ok(None),
        401 => {
            unpair(h).await?;
            Err(RuntimeError::Unauthorized)
        }
        _ => Err(unexpected(&resp)),
    }
}

// ---------------------------------------------------------------------------
// Selector packs.

/// The stored pack set, if it is still valid.
async fn stored_packs<H: Host>(h: &H) -> Option<PackSet> {
    let v = h.get(protocol::SELECTOR_PACKS).await.ok()??;
    serde_json::from_value::<PackSet>(v)
        .ok()
        .filter(|s| s.validate().is_ok())
}

/// The pack a new job runs: the server's or the compiled-in one, whichever
/// is newer.
pub async fn pack_for<H: Host>(h: &H, platform: Platform) -> Option<Pack> {
    PackSet::pack_for(stored_packs(h).await.as_ref(), platform)
}

/// The pack a resumed job continues with: the one it started with when it
/// is still at hand.
async fn resume_pack<H: Host>(h: &H, platform: Platform, version: &str) -> Option<Pack> {
    let stored = stored_packs(h).await;
    let same = stored
        .as_ref()
        .and_then(|s| {
            s.packs
                .iter()
                .find(|p| p.platform == platform && p.version == version)
        })
        .cloned()
        .or_else(|| Pack::builtin(platform).filter(|p| p.version == version));
    same.or_else(|| PackSet::pack_for(stored.as_ref(), platform))
}

/// Fetches the server's selector packs (`GET /v1/extension/selectors`) and
/// keeps the set when it is valid and new. A malformed set is refused whole
/// and the packs in use stay. Returns whether a new set was stored.
pub async fn refresh_packs<H: Host>(h: &H) -> Result<bool, RuntimeError> {
    let s = settings(h).await?;
    let Some(token) = s.token else {
        return Err(RuntimeError::NotPaired);
    };
    let resp = h
        .http(HttpRequest::get(endpoint(&s.server_url, "/v1/extension/selectors")).bearer(&token))
        .await?;
    match resp.status {
        401 => return Err(RuntimeError::Unauthorized),
        // An older server without the endpoint: the compiled-in packs.
        404 | 304 => return Ok(false),
        _ if !resp.ok() => return Err(unexpected(&resp)),
        _ => {}
    }
    let set = PackSet::parse(&String::from_utf8_lossy(&resp.body))
        .map_err(|e| RuntimeError::Server(format!("selector packs refused: {}", e.0)))?;
    if stored_packs(h)
        .await
        .is_some_and(|old| old.hash == set.hash)
    {
        return Ok(false);
    }
    h.set(
        protocol::SELECTOR_PACKS,
        serde_json::to_value(&set).unwrap_or_default(),
    )
    .await?;
    Ok(true)
}

/// Runs a freshly leased job to its end and acks it.
pub async fn run_job<H: Host>(h: &H, job: LeasedJob) -> Result<Outcome, RuntimeError> {
    let s = settings(h).await?;
    let now = h.now_ms();
    let pack = pack_for(h, job.platform).await;
    let mut inflight = Inflight {
        pack_version: pack.as_ref().map(|p| p.version.clone()).unwrap_or_default(),
        job,
        server_url: s.server_url.clone(),
        only_open_tabs: s.only_open_tabs,
        tab_id: None,
        opened_tab: false,
        state: EngineState::default(),
        started_at: now,
        last_progress_at: now,
    };
    let Some(pack) = pack else {
        let outcome = Outcome::failed(
            JobErrorCode::UnknownError,
            format!(
                "This extension cannot post to {} yet.",
                inflight.job.platform.display_name()
            ),
        );
        inflight.state.outcome = Some(outcome.clone());
        save(h, &inflight).await?;
        return finish(h, &mut inflight, outcome).await;
    };
    let mut url = None;
    if s.only_open_tabs {
        match h.platform_tabs(&pack.hosts).await?.into_iter().next() {
            Some(tab) => {
                inflight.tab_id = Some(tab.id);
                url = tab.url;
            }
            None => {
                let code = if inflight.job.platform == Platform::X {
                    JobErrorCode::NoXTab
                } else {
                    JobErrorCode::NoPlatformTab
                };
                let outcome = Outcome::failed(
                    code,
                    format!(
                        "No {} tab is open, and the extension is set to use only open tabs.",
                        pack.platform.display_name()
                    ),
                );
                inflight.state.outcome = Some(outcome.clone());
                save(h, &inflight).await?;
                return finish(h, &mut inflight, outcome).await;
            }
        }
    }
    drive(h, &pack, inflight, Observation::Start { url }).await
}

/// Picks up a job a previous worker left unfinished.
async fn resume<H: Host>(h: &H, mut inflight: Inflight) -> Result<Outcome, RuntimeError> {
    if let Some(outcome) = inflight.state.outcome.clone() {
        // Only the ack (or the cleanup) was missing.
        return finish(h, &mut inflight, outcome).await;
    }
    let Some(pack) = resume_pack(h, inflight.job.platform, &inflight.pack_version).await else {
        h.remove(protocol::INFLIGHT).await?;
        return Err(RuntimeError::Server(
            "in-flight job for an unknown platform".into(),
        ));
    };
    let mut url = None;
    if let Some(id) = inflight.tab_id {
        // Only a tab that still shows the platform is the job's tab: a tab
        // id can be reused for another page.
        match h.tab(id).await {
            Some(tab) if tab.url.as_deref().is_some_and(|u| pack.matches_url(u)) => url = tab.url,
            _ => {
                inflight.tab_id = None;
                inflight.opened_tab = false;
            }
        }
    }
    drive(h, &pack, inflight, Observation::Restarted { url }).await
}

async fn drive<H: Host>(
    h: &H,
    pack: &Pack,
    mut inflight: Inflight,
    first: Observation,
) -> Result<Outcome, RuntimeError> {
    let mut obs = first;
    loop {
        // The platform's own deadline (the pack's `deadlineSeconds`).
        if inflight.state.outcome.is_none()
            && h.now_ms() - inflight.started_at > pack.deadline_ms() as f64
        {
            obs = Observation::TimedOut;
        }
        let (state, cmd) = advance(pack, &inflight.job, inflight.state.clone(), obs);
        inflight.state = state;
        // Persist before the command leaves: this is what makes a restart
        // safe (the publish click is recorded before it is sent).
        save(h, &inflight).await?;
        obs = match cmd {
            Command::Finish { outcome } => return finish(h, &mut inflight, outcome).await,
            cmd => execute(h, pack, &mut inflight, cmd).await?,
        };
    }
}

/// `POST /v1/extension/progress`; `Ok(false)` when the lease is lost.
async fn report_progress<H: Host>(
    h: &H,
    inflight: &Inflight,
    stage: ProgressStage,
) -> Result<bool, RuntimeError> {
    let token = settings(h).await?.token.ok_or(RuntimeError::NotPaired)?;
    let body = serde_json::to_string(&ProgressRequest {
        job_id: inflight.job.id.clone(),
        stage,
    })
    .unwrap_or_default();
    let resp = h
        .http(
            HttpRequest::post(
                endpoint(&inflight.server_url, "/v1/extension/progress"),
                body,
            )
            .bearer(&token),
        )
        .await?;
    match resp.status {
        200..=299 => Ok(true),
        401 | 404 | 409 => Ok(false),
        _ => Err(unexpected(&resp)),
    }
}

async fn execute<H: Host>(
    h: &H,
    pack: &Pack,
    inflight: &mut Inflight,
    cmd: Command,
) -> Result<Observation, RuntimeError> {
    // Renew the lease now and then while working.
    if h.now_ms() - inflight.last_progress_at > RENEW_EVERY_MS
        && !matches!(cmd, Command::ReportSubmitting)
    {
        match report_progress(h, inflight, ProgressStage::Working).await {
            Ok(true) => inflight.last_progress_at = h.now_ms(),
            Ok(false) => return Ok(Observation::LeaseLost),
            // Try again at the next step; the lease is long enough.
            Err(_) => {}
        }
    }
    match cmd {
        Command::Navigate { url, timeout_ms } => Ok(navigate(h, inflight, &url, timeout_ms).await),
        Command::Agent { mut command } => {
            // In the user's own tab, never type over a draft they are writing.
            if let AgentCommand::InsertText { keep_draft, .. } = &mut command {
                *keep_draft = inflight.only_open_tabs;
            }
            let tab = match tab_for_agent(h, pack, inflight).await {
                Ok(t) => t,
                Err(message) => return Ok(Observation::Unreachable { message }),
            };
            // A page that loads anew (a checkpoint page after the publish
            // click) drops the message; a command that only looks is sent
            // again to the new page.
            let mut tries = 0;
            loop {
                match send_agent(h, tab, &command).await {
                    Ok(reply) => return Ok(Observation::Agent { reply }),
                    Err(HostError::PageChanged(_) | HostError::NoReceiver(_))
                        if command.only_looks() && tries < RESEND_TRIES =>
                    {
                        tries += 1;
                        h.sleep(RESEND_PAUSE_MS).await;
                    }
                    Err(e) => {
                        return Ok(Observation::Unreachable {
                            message: e.to_string(),
                        })
                    }
                }
            }
        }
        Command::AttachMedia {
            target,
            timeout_ms,
            interrupts,
        } => {
            let tab = match tab_for_agent(h, pack, inflight).await {
                Ok(t) => t,
                Err(message) => return Ok(Observation::Unreachable { message }),
            };
            let files = FilesTo { tab, target };
            Ok(attach_media(h, files, &inflight.job, timeout_ms, interrupts).await)
        }
        Command::ReportSubmitting => {
            let mut last = String::new();
            for _ in 0..3 {
                match report_progress(h, inflight, ProgressStage::Submitting).await {
                    Ok(true) => {
                        inflight.last_progress_at = h.now_ms();
                        return Ok(Observation::SubmittingAccepted);
                    }
                    Ok(false) => return Ok(Observation::LeaseLost),
                    Err(e) => last = e.to_string(),
                }
            }
            Ok(Observation::ServerUnreachable { message: last })
        }
        Command::Finish { .. } => unreachable!("handled by drive"),
    }
}

/// Sends a command to a tab's agent; when the tab has no agent yet (the
/// message was not delivered), injects it and sends once more.
async fn send_agent<H: Host>(h: &H, tab: i32, cmd: &AgentCommand) -> Result<AgentReply, HostError> {
    match h.agent(tab, cmd).await {
        Err(HostError::NoReceiver(_)) => {
            h.inject_agent(tab).await?;
            h.agent(tab, cmd).await
        }
        other => other,
    }
}

async fn navigate<H: Host>(
    h: &H,
    inflight: &mut Inflight,
    url: &str,
    timeout_ms: u64,
) -> Observation {
    let loaded = match inflight.tab_id {
        Some(id) => h.navigate(id, url, timeout_ms).await,
        None if inflight.only_open_tabs => {
            return Observation::Unreachable {
                message: "the tab the job was using was closed".into(),
            }
        }
        None => match h.open_tab(url, timeout_ms).await {
            Ok(tab) => {
                inflight.tab_id = Some(tab.id);
                inflight.opened_tab = true;
                if let Err(e) = save(h, inflight).await {
                    return Observation::Unreachable {
                        message: e.to_string(),
                    };
                }
                Ok(tab)
            }
            Err(e) => Err(e),
        },
    };
    let tab = match loaded {
        Ok(tab) => tab,
        Err(e) => {
            return Observation::Unreachable {
                message: e.to_string(),
            }
        }
    };
    match send_agent(h, tab.id, &AgentCommand::Ping).await {
        Ok(reply) => Observation::Navigated {
            url: reply.url.or(tab.url).unwrap_or_else(|| url.to_string()),
        },
        Err(e) => Observation::Unreachable {
            message: format!("the page's content script does not answer ({e})"),
        },
    }
}

/// The job's tab, opened at the pack's entry URL when there is none yet.
async fn tab_for_agent<H: Host>(
    h: &H,
    pack: &Pack,
    inflight: &mut Inflight,
) -> Result<i32, String> {
    if let Some(id) = inflight.tab_id {
        return Ok(id);
    }
    match navigate(h, inflight, &pack.entry_url, TAB_LOAD_TIMEOUT_MS).await {
        Observation::Navigated { .. } => inflight.tab_id.ok_or_else(|| "no tab".to_string()),
        Observation::Unreachable { message } => Err(message),
        _ => Err("no tab".into()),
    }
}

/// A media file's name: the last path segment of its URL.
pub fn file_name(url: &str, index: usize) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    if last.is_empty() || path.ends_with("//") {
        format!("media-{}", index + 1)
    } else {
        last.to_string()
    }
}

/// The MIME type to give a downloaded file.
pub fn file_mime(content_type: Option<&str>, name: &str, bytes: &[u8]) -> String {
    let declared = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .and_then(|c| media_type_by_mime(&c));
    declared
        .or_else(|| sniff(bytes))
        .or_else(|| infer_from_filename(name))
        .map(|t| t.mime.to_string())
        .unwrap_or_else(|| "application/octet-stream".into())
}

/// Where a job's media go: the tab and the target in it.
struct FilesTo {
    tab: i32,
    target: Target,
}

async fn attach_media<H: Host>(
    h: &H,
    FilesTo { tab, target }: FilesTo,
    job: &LeasedJob,
    timeout_ms: u64,
    interrupts: Vec<extension_core::engine::AgentBranch>,
) -> Observation {
    let mut ids = Vec::new();
    for (i, url) in job.media_paths.iter().enumerate() {
        let resp = match h.http(HttpRequest::get(url.clone())).await {
            Ok(r) if r.ok() => r,
            Ok(r) => {
                return Observation::MediaFailed {
                    message: format!(
                        "Media {} could not be downloaded: HTTP {}.",
                        i + 1,
                        r.status
                    ),
                }
            }
            Err(e) => {
                return Observation::MediaFailed {
                    message: format!("Media {} could not be downloaded: {e}.", i + 1),
                }
            }
        };
        let name = file_name(url, i);
        let mime = file_mime(resp.content_type.as_deref(), &name, &resp.body);
        let file_id = format!("{}-{i}", job.id);
        let chunks: Vec<&[u8]> = if resp.body.is_empty() {
            vec![&[]]
        } else {
            resp.body.chunks(MEDIA_CHUNK_BYTES).collect()
        };
        let total = chunks.len() as u32;
        for (index, chunk) in chunks.into_iter().enumerate() {
            let cmd = AgentCommand::PutFileChunk {
                file_id: file_id.clone(),
                name: name.clone(),
                mime: mime.clone(),
                index: index as u32,
                total,
                data: base64::engine::general_purpose::STANDARD.encode(chunk),
            };
            match send_agent(h, tab, &cmd).await {
                Ok(r) if r.ok => {}
                Ok(r) => {
                    return Observation::Agent { reply: r };
                }
                Err(e) => {
                    return Observation::Unreachable {
                        message: e.to_string(),
                    }
                }
            }
        }
        ids.push(file_id);
    }
    let cmd = AgentCommand::AttachFiles {
        target,
        file_ids: ids,
        timeout_ms,
        interrupts,
    };
    match send_agent(h, tab, &cmd).await {
        Ok(reply) => Observation::Agent { reply },
        Err(e) => Observation::Unreachable {
            message: e.to_string(),
        },
    }
}

/// The most lines of page outline a diagnostic carries.
const OUTLINE_NODES: u32 = 150;

/// What the extension saw where a job failed: the engine's view (step,
/// selectors tried, URL) plus a sanitized outline of the page when the tab
/// is still there.
async fn failure_diagnostic<H: Host>(h: &H, inflight: &Inflight) -> Value {
    let mut d = match resume_pack(h, inflight.job.platform, &inflight.pack_version).await {
        Some(pack) => extension_core::engine::diagnostic(&pack, &inflight.job, &inflight.state),
        None => json!({}),
    };
    if let Some(tab) = inflight.tab_id {
        let cmd = AgentCommand::Outline {
            max_nodes: OUTLINE_NODES,
        };
        if let Ok(reply) = h.agent(tab, &cmd).await {
            if let Some(url) = reply.url.filter(|_| reply.ok) {
                d["url"] = json!(url);
            }
            if let Some(outline) = reply.value.filter(|_| reply.ok) {
                d["outline"] = json!(outline.lines().collect::<Vec<_>>());
            }
        }
    }
    d
}

/// Acks the outcome, closes the tab the worker opened, records the job for
/// the popup and forgets it. On a network error the job stays in flight
/// (with its outcome) and the ack is retried by the next [`drain`].
async fn finish<H: Host>(
    h: &H,
    inflight: &mut Inflight,
    outcome: Outcome,
) -> Result<Outcome, RuntimeError> {
    let job_id = inflight.job.id.clone();
    let mut ack = outcome.ack(&job_id, Some(&inflight.pack_version));
    if let (Some(ack), Outcome::Failed { .. }) = (ack.as_mut(), &outcome) {
        ack.diagnostic = Some(failure_diagnostic(h, inflight).await);
        ack.details = extension_core::engine::failure_details(&inflight.state);
    }
    if let Some(ack) = ack {
        let token = settings(h).await?.token.ok_or(RuntimeError::NotPaired)?;
        let body = serde_json::to_string(&ack).unwrap_or_default();
        let resp = h
            .http(
                HttpRequest::post(endpoint(&inflight.server_url, "/v1/extension/ack"), body)
                    .bearer(&token),
            )
            .await?;
        match resp.status {
            // 409: the job ended otherwise (lease lost); 400/404: the server
            // will not take this ack. Either way, nothing more to do.
            200..=299 | 400 | 404 | 409 => {}
            401 => {
                unpair(h).await?;
                return Err(RuntimeError::Unauthorized);
            }
            _ => return Err(unexpected(&resp)),
        }
    }
    if inflight.opened_tab {
        if let Some(id) = inflight.tab_id {
            h.close_tab(id).await;
        }
    }
    let (status, post_url, error_code, error) = match &outcome {
        Outcome::Succeeded { post_url, .. } => ("succeeded", post_url.clone(), None, None),
        Outcome::Failed { code, message } => (
            "failed",
            None,
            Some(code.as_str().to_string()),
            Some(message.clone()),
        ),
        Outcome::Abandoned { message } => ("abandoned", None, None, Some(message.clone())),
    };
    let entry = RecentJob {
        id: job_id,
        platform: inflight.job.platform.as_str().to_string(),
        status: status.to_string(),
        post_url,
        error_code,
        error,
        at: h.now_ms(),
    };
    let mut recent: Vec<RecentJob> = h
        .get(protocol::RECENT_JOBS)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    recent.retain(|j| j.id != entry.id);
    recent.insert(0, entry);
    recent.truncate(protocol::RECENT_JOBS_KEPT);
    h.set(
        protocol::RECENT_JOBS,
        serde_json::to_value(&recent).unwrap_or_default(),
    )
    .await?;
    note_attention(h, inflight, &outcome).await?;
    h.remove(protocol::INFLIGHT).await?;
    Ok(outcome)
}

async fn attention_list<H: Host>(h: &H) -> Result<Vec<Attention>, HostError> {
    Ok(h.get(protocol::ATTENTION)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// A job the platform stopped for the user (a login wall, a security check,
/// two-factor, a captcha, a suspension) is kept for the popup, shown as the
/// toolbar badge and told in a notification; a later success on that
/// platform clears it.
async fn note_attention<H: Host>(
    h: &H,
    inflight: &Inflight,
    outcome: &Outcome,
) -> Result<(), HostError> {
    let platform = inflight.job.platform;
    let mut list = attention_list(h).await?;
    let before = list.len();
    match outcome {
        Outcome::Failed {
            code: JobErrorCode::NotLoggedIn,
            message,
        } => {
            list.retain(|a| a.platform != platform.as_str());
            let reason = inflight.state.vars.get("details.reason").cloned();
            let title = format!("Claw Post: {} needs you", platform.display_name());
            h.notify(&format!("clawpost-{}", platform.as_str()), &title, message)
                .await;
            list.insert(
                0,
                Attention {
                    platform: platform.as_str().to_string(),
                    reason,
                    message: message.clone(),
                    job_id: inflight.job.id.clone(),
                    at: h.now_ms(),
                },
            );
        }
        Outcome::Succeeded { .. } => {
            list.retain(|a| a.platform != platform.as_str());
            if list.len() == before {
                return Ok(());
            }
        }
        _ => return Ok(()),
    }
    h.set(
        protocol::ATTENTION,
        serde_json::to_value(&list).unwrap_or_default(),
    )
    .await?;
    h.set_badge(if list.is_empty() { "" } else { "!" }).await;
    Ok(())
}

/// The user read what needed them: forget it and clear the badge.
pub async fn clear_attention<H: Host>(h: &H) -> Result<(), HostError> {
    h.remove(protocol::ATTENTION).await?;
    h.set_badge("").await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_types() {
        assert_eq!(
            file_name(
                "http://h/v1/media/objects/abc/photo.png?expires=1&signature=x",
                0
            ),
            "photo.png"
        );
        assert_eq!(file_name("http://h/", 2), "media-3");
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0];
        assert_eq!(
            file_mime(Some("image/png; charset=binary"), "a", &[]),
            "image/png"
        );
        assert_eq!(
            file_mime(Some("application/octet-stream"), "a.bin", &png),
            "image/png"
        );
        assert_eq!(file_mime(None, "clip.mp4", b"????"), "video/mp4");
        assert_eq!(file_mime(None, "x", b"????"), "application/octet-stream");
    }

    #[test]
    fn query_components_are_encoded() {
        assert_eq!(encode_component("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
        assert_eq!(encode_component("cp_dev-1.x~"), "cp_dev-1.x~");
    }
}

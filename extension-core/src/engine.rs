//! The flow engine: a pure state machine that runs a selector [`Pack`].
//!
//! `(pack, job, state, observation) → (state, command)`, see [`advance`].
//! The worker executes each [`Command`] (navigate the tab, send a command to
//! the DOM agent, report `submitting`, ack) and feeds what happened back as
//! an [`Observation`]. The engine never touches a page or a network, so every
//! flow is tested natively with recorded observations.
//!
//! Its promises:
//! - it emits the publish click only after the server accepted
//!   `submitting` ([`Observation::SubmittingAccepted`]), and at most once per
//!   job: the state records the click before the command leaves, and a
//!   restarted worker ([`Observation::Restarted`]) resumes after the click
//!   (confirmation only) instead of clicking again;
//! - a lost lease ends the job without clicking ([`Outcome::Abandoned`]);
//! - success needs a captured `postUrl` (for posts);
//! - once the click may have happened, a failure the pack did not name
//!   (a missing element, a closed tab, a timeout) is `outcome_unknown`.
//!
//! The wire types of the DOM agent ([`AgentCommand`], [`AgentReply`]) live
//! here too: the agent is a generic executor of these primitives.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pack::{
    Action, Branch, Condition, Guard, NetRule, Pack, Shape, Step, Target, Then, DEFAULT_MAX_VISITS,
};
use crate::{AckRequest, AckStatus, JobErrorCode, JobType, LeasedJob};

// ---------------------------------------------------------------------------
// The DOM agent protocol (worker → content script, JSON).

/// One check inside a wait: all given criteria must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The target must be absent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
    /// The target must be enabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    /// The target's text must equal this (after [`normalize_text`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_equals: Option<String>,
    /// A JavaScript regular expression the page URL must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_matches: Option<String>,
    /// The armed network rule of this id must have captured its values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// One alternative of a wait, identified by `key` in the reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentBranch {
    pub key: String,
    pub probes: Vec<Probe>,
}

/// A primitive the DOM agent executes. Every command that names a target
/// first waits up to `timeoutMs` for it to appear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum AgentCommand {
    /// Answers with the page URL.
    Ping,
    /// Waits until one branch holds (in order), or the timeout.
    #[serde(rename_all = "camelCase")]
    WaitFor {
        branches: Vec<AgentBranch>,
        timeout_ms: u64,
    },
    /// Clicks with the full pointer/mouse event sequence. `arm`: network
    /// rules the page's watcher starts matching right before the click (the
    /// publish click arms the pack's create-call rules).
    #[serde(rename_all = "camelCase")]
    Click {
        target: Target,
        timeout_ms: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        arm: Vec<NetRule>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interrupts: Vec<AgentBranch>,
    },
    /// Replaces an editor's content with `text`: synthetic paste first, then
    /// `execCommand('insertText')`. When the editor is replaced while the
    /// text goes in (a composer swapped after it opened), the agent finds the
    /// target again and types into the new one.
    #[serde(rename_all = "camelCase")]
    InsertText {
        target: Target,
        text: String,
        timeout_ms: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interrupts: Vec<AgentBranch>,
        /// The tab is the user's own: when the editor already holds other
        /// text (a draft the user is writing), type nothing and answer
        /// `draft`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_draft: bool,
    },
    /// Reads `text`, `value`, `href`, or an attribute of the first match
    /// whose value is not in `exclude` (waiting for one). Reading `href`
    /// hovers and focuses an element whose link is not filled in yet.
    #[serde(rename_all = "camelCase")]
    Read {
        target: Target,
        what: String,
        timeout_ms: u64,
        /// A JavaScript regular expression: the value read is its first
        /// match; elements without one are skipped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exclude: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interrupts: Vec<AgentBranch>,
    },
    /// Reads `what` of every element the target matches (all locators), in
    /// `values`; no match is an empty list.
    #[serde(rename_all = "camelCase")]
    ReadAll {
        target: Target,
        what: String,
        timeout_ms: u64,
        /// A JavaScript regular expression: each value becomes its first
        /// match; values without one are left out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interrupts: Vec<AgentBranch>,
    },
    /// Dismisses an overlay: clicks each candidate the target matches (all
    /// locators, in order) until the page changes (the candidate, or the
    /// dialog it sits in, goes away), then presses Escape. Never fails.
    Dismiss { target: Target },
    /// Presses a key (`Escape`, `Enter`, …) on the target (focused first) or
    /// on the focused element.
    #[serde(rename_all = "camelCase")]
    Press {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Target>,
        timeout_ms: u64,
    },
    /// Stores one base64 chunk of a file the worker is handing over.
    #[serde(rename_all = "camelCase")]
    PutFileChunk {
        file_id: String,
        name: String,
        mime: String,
        index: u32,
        total: u32,
        data: String,
    },
    /// Attaches the stored files to a file input (or drops them on the
    /// target when it is not one), then forgets them.
    #[serde(rename_all = "camelCase")]
    AttachFiles {
        target: Target,
        file_ids: Vec<String>,
        timeout_ms: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interrupts: Vec<AgentBranch>,
    },
    /// Forgets stored files.
    #[serde(rename_all = "camelCase")]
    DropFiles { file_ids: Vec<String> },
    /// A sanitized outline of the page for a failure diagnostic (in
    /// `value`, one element per line): tags, roles, test ids, control
    /// labels and states — never text content or field values.
    #[serde(rename_all = "camelCase")]
    Outline { max_nodes: u32 },
}

impl AgentCommand {
    /// Whether sending the command twice does no harm (it only looks): a
    /// page that loaded anew under it (a checkpoint after the publish
    /// click) is asked again.
    pub fn only_looks(&self) -> bool {
        matches!(
            self,
            AgentCommand::Ping
                | AgentCommand::WaitFor { .. }
                | AgentCommand::Read { .. }
                | AgentCommand::ReadAll { .. }
                | AgentCommand::Outline { .. }
        )
    }
}

/// What the agent saw of one probe target (for diagnostics and the engine's
/// own text check).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeState {
    #[serde(default)]
    pub found: bool,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<usize>,
    /// A `network` probe that held: the values its rule captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
}

/// The agent's answer to any command. `url` is always the page URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentReply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why the command could not run (`ok: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the target was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<bool>,
    /// The index of the locator that matched (0 = primary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<usize>,
    /// `waitFor`: the key of the branch that held; absent on timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    /// `waitFor`: the probes of the matched branch (on timeout: of the first
    /// branch), in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Vec<ProbeState>>,
    /// `read`: the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `insertText`: the editor's text afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `insertText`: `paste` or `execCommand`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `attachFiles`: how many files the input holds afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// `readAll`: every value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// `waitFor`: the editor the text went into was replaced by an empty
    /// one (a composer swapped after it opened).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaced: bool,
    /// `insertText` with `keepDraft`: the editor holds the user's own draft;
    /// nothing was typed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draft: bool,
}

// ---------------------------------------------------------------------------
// Engine I/O.

/// What the worker must do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Command {
    /// Load `url` in the job's tab (opening a background tab if there is
    /// none), wait for it to load and the agent to answer, then report
    /// [`Observation::Navigated`].
    #[serde(rename_all = "camelCase")]
    Navigate { url: String, timeout_ms: u64 },
    /// Send this to the DOM agent; report [`Observation::Agent`].
    Agent { command: AgentCommand },
    /// Hand the job's media to the agent (fetched by the worker, in base64
    /// chunks), then send `attachFiles` with this target; report its reply,
    /// or [`Observation::MediaFailed`].
    #[serde(rename_all = "camelCase")]
    AttachMedia {
        target: Target,
        timeout_ms: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interrupts: Vec<AgentBranch>,
    },
    /// `POST /v1/extension/progress {stage: "submitting"}`; report
    /// [`Observation::SubmittingAccepted`] or [`Observation::LeaseLost`].
    ReportSubmitting,
    /// The job is over: ack it (unless abandoned) and clean up.
    Finish { outcome: Outcome },
}

/// What happened after a command.
// One observation exists at a time and is consumed at once: boxing the
// agent's reply would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Observation {
    /// A fresh job; `url` is the URL of the tab the job will use, if one is
    /// already chosen.
    Start {
        url: Option<String>,
    },
    /// The worker restarted while the job was in flight; the persisted state
    /// is handed back with the tab's current URL.
    Restarted {
        url: Option<String>,
    },
    Navigated {
        url: String,
    },
    Agent {
        reply: AgentReply,
    },
    /// The tab or its content script could not be reached.
    Unreachable {
        message: String,
    },
    MediaFailed {
        message: String,
    },
    SubmittingAccepted,
    /// The server refused `submitting`: this device lost the job.
    LeaseLost,
    /// The Claw Post server could not be reached (e.g. to report
    /// `submitting`).
    ServerUnreachable {
        message: String,
    },
    /// The worker's overall deadline for the job passed.
    TimedOut,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Outcome {
    #[serde(rename_all = "camelCase")]
    Succeeded {
        post_url: Option<String>,
        details: Option<serde_json::Value>,
    },
    #[serde(rename_all = "camelCase")]
    Failed { code: JobErrorCode, message: String },
    /// The job is no longer this device's: nothing to ack.
    #[serde(rename_all = "camelCase")]
    Abandoned { message: String },
}

impl Outcome {
    /// A failure.
    pub fn failed(code: JobErrorCode, message: impl Into<String>) -> Outcome {
        Outcome::Failed {
            code,
            message: message.into(),
        }
    }

    /// The ack to send, or `None` for an abandoned job.
    pub fn ack(&self, job_id: &str, pack_version: Option<&str>) -> Option<AckRequest> {
        let base = AckRequest {
            job_id: job_id.to_string(),
            status: AckStatus::Failed,
            post_url: None,
            error: None,
            error_code: None,
            details: None,
            pack_version: pack_version.map(str::to_string),
            diagnostic: None,
        };
        match self {
            Outcome::Succeeded { post_url, details } => Some(AckRequest {
                status: AckStatus::Succeeded,
                post_url: post_url.clone(),
                details: details.clone(),
                ..base
            }),
            Outcome::Failed { code, message } => Some(AckRequest {
                error: Some(message.clone()),
                error_code: Some(*code),
                ..base
            }),
            Outcome::Abandoned { .. } => None,
        }
    }
}

/// Where the job stands with respect to the publish click.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubmitPhase {
    /// Nothing published yet; the flow can be restarted safely.
    #[default]
    NotYet,
    /// `submitting` is being reported; the click has not been sent.
    Reporting,
    /// The click was (or may have been) sent: never click again.
    Clicked,
}

/// The engine's whole memory of a job; the worker persists it after every
/// transition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineState {
    /// Index of the current step in the flow.
    pub step: usize,
    pub submit: SubmitPhase,
    /// Values captured by `extract` steps (`postUrl`, `details.*`, ...).
    pub vars: BTreeMap<String, String>,
    /// The page URL last seen.
    pub url: Option<String>,
    /// Targets found only through a fallback locator (`editor#2`).
    pub fallbacks: Vec<String>,
    /// Set once the job is over.
    pub outcome: Option<Outcome>,
    /// Lists saved by `collect` steps.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists: BTreeMap<String, Vec<String>>,
    /// How often each step was entered (bounded loops).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub visits: BTreeMap<String, u32>,
    /// How long the current wait step has waited so far, in milliseconds
    /// (long waits go out in slices so the lease is renewed between them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waited_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The longest one agent command waits: a longer wait step is sent in
/// slices, and the worker renews the job's lease between them.
pub const WAIT_SLICE_MS: u64 = 20_000;

/// The engine variable holding a failure's known wait, in seconds.
pub const RETRY_AFTER_VAR: &str = "details.retryAfter";

/// The details a failed job's ack carries: `retryAfter` (seconds) when the
/// platform said how long to wait, and every `details.*` value the flow set
/// (an interruption's `reason`, what was `seen`).
pub fn failure_details(state: &EngineState) -> Option<serde_json::Value> {
    let mut details = serde_json::Map::new();
    for (k, v) in &state.vars {
        if let Some(key) = k.strip_prefix("details.") {
            let value = match (key, v.parse::<u64>()) {
                ("retryAfter", Ok(secs)) => secs.into(),
                _ => v.clone().into(),
            };
            details.insert(key.to_string(), value);
        }
    }
    (!details.is_empty()).then_some(details.into())
}

/// Where a failed job stopped, as the engine knows it: the pack version,
/// the step and its action, the page URL last seen, the fallbacks that were
/// needed and the selectors of every target the step looked for. The worker
/// adds the page outline and sends it with the ack as `diagnostic`.
pub fn diagnostic(pack: &Pack, job: &LeasedJob, state: &EngineState) -> serde_json::Value {
    let step = pack
        .flow(job.job_type)
        .and_then(|f| f.steps.get(state.step));
    let mut names: Vec<&str> = Vec::new();
    if let Some(step) = step {
        names.extend(step.target());
        let conditions: Vec<&Condition> = match &step.action {
            Action::WaitFor { branches, .. } => branches.iter().flat_map(|b| &b.when).collect(),
            Action::Check { conditions } => conditions.iter().collect(),
            _ => Vec::new(),
        };
        names.extend(conditions.iter().filter_map(|c| c.target.as_deref()));
    }
    let mut tried = serde_json::Map::new();
    for name in names {
        if let Some(target) = pack.target(name) {
            tried.insert(
                name.to_string(),
                serde_json::to_value(target).unwrap_or_default(),
            );
        }
    }
    let action = step
        .and_then(|s| serde_json::to_value(&s.action).ok())
        .and_then(|v| v.get("action").cloned());
    serde_json::json!({
        "packVersion": pack.version,
        "step": step.map(|s| s.id.clone()),
        "action": action,
        "url": state.url,
        "fallbacksUsed": state.fallbacks,
        "selectorsTried": tried,
    })
}

// ---------------------------------------------------------------------------
// The engine.

/// One transition: `(pack, job, state, observation) → (state, command)`.
pub fn advance(
    pack: &Pack,
    job: &LeasedJob,
    state: EngineState,
    obs: Observation,
) -> (EngineState, Command) {
    let mut run = Run {
        pack,
        job,
        st: state,
    };
    let cmd = run.observe(obs);
    (run.st, cmd)
}

/// Normalises editor text for comparison: unified line breaks, no-break
/// spaces as spaces, no zero-width spaces or BOMs, no trailing spaces on
/// lines, no leading or trailing blank space.
pub fn normalize_text(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let s: String = s
        .chars()
        .filter(|c| !matches!(c, '\u{200b}' | '\u{feff}'))
        .map(|c| if c == '\u{a0}' { ' ' } else { c })
        .collect();
    let lines: Vec<&str> = s.split('\n').map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}

/// The built-in variables of a job: `text` and `textStart` (the start of the
/// first non-blank line, at most 40 characters, to find the post in a feed).
pub fn job_vars(job: &LeasedJob) -> BTreeMap<String, String> {
    let first = job
        .text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let start: String = first.chars().take(40).collect();
    let mut vars = BTreeMap::from([
        ("text".to_string(), job.text.clone()),
        ("textStart".to_string(), start.trim_end().to_string()),
    ]);
    if let Some(p) = &job.platform_payload {
        let id = p
            .group_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let url = p
            .group_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if let Some(id) = id {
            vars.insert("groupId".into(), id.to_string());
        }
        if let Some(url) = url {
            vars.insert("groupUrl".into(), url.to_string());
        }
        // The group's page: its URL as given, else built from the id.
        let page = url.map(str::to_string).or_else(|| {
            id.map(|id| {
                let safe: String = id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    .collect();
                format!("https://www.facebook.com/groups/{safe}/")
            })
        });
        if let Some(page) = page {
            vars.insert("groupPageUrl".into(), page);
        }
    }
    vars
}

/// Whether a job names a group.
fn names_group(job: &LeasedJob) -> bool {
    job.platform_payload
        .as_ref()
        .is_some_and(|p| p.names_group())
}

/// Replaces `{name}` placeholders; `None` when one has no value.
pub fn interpolate(template: &str, vars: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        out.push_str(vars.get(&after[..close])?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Checks an extracted value against its shape; returns the cleaned value.
pub fn apply_shape(value: &str, shape: &Shape) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let mut value = value.to_string();
    if let Some(marker) = &shape.id_from {
        let start = value.find(marker.as_str())?;
        let at = start + marker.len();
        let digits = value[at..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        value = value[start..at + digits].to_string();
    }
    if let Some(template) = &shape.url_template {
        value = template.replace("{value}", &value);
    }
    if shape.absolute_url && !(value.starts_with("https://") || value.starts_with("http://")) {
        return None;
    }
    match &shape.digits_after {
        Some(marker) => {
            let at = value.find(marker.as_str())? + marker.len();
            let digits = value[at..].bytes().take_while(u8::is_ascii_digit).count();
            (digits > 0).then(|| value[..at + digits].to_string())
        }
        None => Some(value),
    }
}

struct Run<'a> {
    pack: &'a Pack,
    job: &'a LeasedJob,
    st: EngineState,
}

enum Failure {
    /// The pack named the failure: trusted as is.
    Named(JobErrorCode, String),
    /// The engine's own diagnosis: becomes `outcome_unknown` once the click
    /// may have happened.
    Inferred(JobErrorCode, String),
}

impl<'a> Run<'a> {
    fn steps(&self) -> &'a [Step] {
        self.pack
            .flow(self.job.job_type)
            .map(|f| f.steps.as_slice())
            .unwrap_or(&[])
    }

    fn name(&self) -> &'static str {
        self.pack.platform.display_name()
    }

    fn vars(&self) -> BTreeMap<String, String> {
        let mut v = job_vars(self.job);
        v.extend(self.st.vars.clone());
        v
    }

    fn observe(&mut self, obs: Observation) -> Command {
        if let Some(outcome) = &self.st.outcome {
            return Command::Finish {
                outcome: outcome.clone(),
            };
        }
        if self.pack.flow(self.job.job_type).is_none() {
            return self.fail(Failure::Named(
                JobErrorCode::UnknownError,
                format!(
                    "This extension cannot do {} jobs on {} yet.",
                    self.job.job_type.as_str(),
                    self.name()
                ),
            ));
        }
        match obs {
            Observation::Start { url } => {
                self.st = EngineState {
                    url,
                    ..EngineState::default()
                };
                // A job for a group must never land on the user's own feed:
                // only a flow that handles groups may run it.
                let handles_groups = self
                    .pack
                    .flow(self.job.job_type)
                    .is_some_and(|f| f.steps.iter().any(|s| s.only_if == Some(Guard::HasGroup)));
                if self.job.job_type == JobType::Post && names_group(self.job) && !handles_groups {
                    return self.fail(Failure::Named(
                        JobErrorCode::UnknownError,
                        format!("{}: this extension cannot post to groups yet.", self.name()),
                    ));
                }
                self.enter(0)
            }
            Observation::Restarted { url } => self.restart(url),
            Observation::TimedOut => self.fail(Failure::Inferred(
                JobErrorCode::UnknownError,
                format!("{}: the job took too long.", self.name()),
            )),
            Observation::Unreachable { message } => self.fail(Failure::Inferred(
                JobErrorCode::ContentScriptUnavailable,
                format!("{}: {message}", self.name()),
            )),
            Observation::ServerUnreachable { message } => self.fail(Failure::Inferred(
                JobErrorCode::NetworkError,
                format!("Could not reach the Claw Post server: {message}"),
            )),
            Observation::MediaFailed { message } => {
                self.fail(Failure::Named(JobErrorCode::MediaFetchFailed, message))
            }
            Observation::LeaseLost => self.finish(Outcome::Abandoned {
                message: "The server says this device no longer holds the job; not submitting."
                    .into(),
            }),
            Observation::SubmittingAccepted => self.submitting_accepted(),
            Observation::Navigated { url } => {
                self.st.url = Some(url);
                match self.current().map(|s| &s.action) {
                    Some(Action::Navigate { .. }) => self.enter(self.st.step + 1),
                    _ => self.unexpected("a navigation"),
                }
            }
            Observation::Agent { reply } => self.agent_reply(reply),
        }
    }

    fn current(&self) -> Option<&'a Step> {
        self.steps().get(self.st.step)
    }

    fn submit_index(&self) -> Option<usize> {
        self.steps().iter().position(Step::is_submit)
    }

    fn restart(&mut self, url: Option<String>) -> Command {
        match self.st.submit {
            // The click never left: start over (the agent replaces the
            // editor's content, so nothing is typed twice).
            SubmitPhase::NotYet | SubmitPhase::Reporting => {
                self.st = EngineState {
                    url,
                    ..EngineState::default()
                };
                self.enter(0)
            }
            // Maybe published: only look for the confirmation.
            SubmitPhase::Clicked => {
                self.st.url = url;
                match self.submit_index() {
                    Some(i) => self.enter(i + 1),
                    None => self.fail(Failure::Inferred(
                        JobErrorCode::UnknownError,
                        "restarted after a click".into(),
                    )),
                }
            }
        }
    }

    fn unexpected(&mut self, what: &str) -> Command {
        self.fail(Failure::Inferred(
            JobErrorCode::UnknownError,
            format!(
                "{}: unexpected {what} at step {:?}.",
                self.name(),
                self.current().map(|s| s.id.as_str()).unwrap_or("(end)")
            ),
        ))
    }

    fn finish(&mut self, outcome: Outcome) -> Command {
        self.st.outcome = Some(outcome.clone());
        Command::Finish { outcome }
    }

    /// Keeps a known wait (seconds) for the failure's `details.retryAfter`.
    fn note_retry_after(&mut self, seconds: Option<u64>) {
        if let Some(s) = seconds {
            self.st.vars.insert(RETRY_AFTER_VAR.into(), s.to_string());
        }
    }

    fn fail(&mut self, f: Failure) -> Command {
        let outcome = match f {
            Failure::Named(code, message) => Outcome::Failed { code, message },
            Failure::Inferred(code, message) if self.st.submit == SubmitPhase::Clicked => {
                Outcome::Failed {
                    code: JobErrorCode::OutcomeUnknown,
                    message: format!(
                        "{message} This happened after the post was submitted, so it may or may not have been published (original error: {}).",
                        code.as_str()
                    ),
                }
            }
            Failure::Inferred(code, message) => Outcome::Failed { code, message },
        };
        self.finish(outcome)
    }

    fn then(&mut self, then: &Then) -> Command {
        match then {
            Then::Next => self.enter(self.st.step + 1),
            Then::Goto(id) => match self.steps().iter().position(|s| &s.id == id) {
                Some(i) => self.enter(i),
                None => self.unexpected("jump"),
            },
            Then::Fail {
                code,
                message,
                retry_after_seconds,
            } => {
                self.note_retry_after(*retry_after_seconds);
                self.fail(Failure::Named(*code, message.clone()))
            }
        }
    }

    /// The step's target could not be found or used.
    fn step_failed(&mut self, step: &Step, why: String) -> Command {
        match &step.on_fail {
            Some(t) => self.then(t),
            None => self.fail(Failure::Inferred(JobErrorCode::SelectorNotFound, why)),
        }
    }

    fn target(&self, name: &str) -> Option<Target> {
        let vars = self.vars();
        let t = self.pack.target(name)?;
        let mut locators = Vec::with_capacity(t.0.len());
        for l in &t.0 {
            let mut l = l.clone();
            // `@label`: any of the label's strings, in every locale.
            if let Some(key) = l.text.as_deref().and_then(|t| t.strip_prefix('@')) {
                l.text_any = self.pack.label(key);
                l.text = None;
            }
            if let Some(key) = l.name.as_deref().and_then(|t| t.strip_prefix('@')) {
                l.name_any = self.pack.label(key);
                l.name = None;
            }
            if let Some(text) = &l.text {
                l.text = Some(interpolate(text, &vars)?);
            }
            if let Some(n) = &l.name {
                l.name = Some(interpolate(n, &vars)?);
            }
            if l.post_text {
                l.text_pattern = Some(crate::post_text::post_text_pattern(&self.job.text));
                l.post_text = false;
            }
            locators.push(l);
        }
        Some(Target(locators))
    }

    fn probes(&self, conds: &[Condition]) -> Option<Vec<Probe>> {
        conds
            .iter()
            .map(|c| {
                Some(Probe {
                    target: match &c.target {
                        Some(t) => Some(self.target(t)?),
                        None => None,
                    },
                    gone: c.gone,
                    enabled: c.enabled,
                    text_equals: c.has_job_text.then(|| self.job.text.clone()),
                    url_matches: c.url_matches.clone(),
                    network: c.network.clone(),
                })
            })
            .collect()
    }

    /// The pack's signals as wait branches `g0`, `g1`, ...
    fn signal_branches(&self) -> Vec<AgentBranch> {
        self.pack
            .signals
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                Some(AgentBranch {
                    key: format!("g{i}"),
                    probes: self.probes(&s.when)?,
                })
            })
            .collect()
    }

    fn has_media(&self) -> bool {
        !self.job.media_paths.is_empty()
    }

    /// Runs step `i` (skipping guarded ones) and returns its command.
    fn enter(&mut self, mut i: usize) -> Command {
        loop {
            self.st.step = i;
            let Some(step) = self.current() else {
                return self.unexpected("end of the flow");
            };
            let skip = match step.only_if {
                Some(Guard::HasMedia) => !self.has_media(),
                Some(Guard::NoMedia) => self.has_media(),
                Some(Guard::HasGroup) => !names_group(self.job),
                Some(Guard::NoGroup) => names_group(self.job),
                None => false,
            };
            if skip {
                i += 1;
                continue;
            }
            let visits = {
                let v = self.st.visits.entry(step.id.clone()).or_insert(0);
                *v += 1;
                *v
            };
            if visits > step.max_visits.unwrap_or(DEFAULT_MAX_VISITS) {
                let why = format!(
                    "{}: step {:?} came round {} times without getting anywhere.",
                    self.name(),
                    step.id,
                    visits - 1
                );
                // A pack may name this failure (`onFail: {fail: …}`); a
                // jump would only go round again.
                if let Some(Then::Fail { .. }) = &step.on_fail {
                    return self.then(&step.on_fail.clone().expect("matched"));
                }
                return self.fail(Failure::Inferred(JobErrorCode::UnknownError, why));
            }
            self.st.waited_ms = 0;
            if let Action::Set {
                into,
                value,
                or_else,
            } = &step.action
            {
                let vars = self.vars();
                let Some(v) = std::iter::once(value)
                    .chain(or_else)
                    .find_map(|t| interpolate(t, &vars))
                else {
                    return match &step.on_fail {
                        Some(t) => self.then(&t.clone()),
                        None => self.missing_target(step),
                    };
                };
                self.st.vars.insert(into.clone(), v);
                i += 1;
                continue;
            }
            if let Action::Navigate {
                keep_if_url_starts_with,
                ..
            } = &step.action
            {
                let here = self.st.url.as_deref().unwrap_or("");
                if keep_if_url_starts_with
                    .iter()
                    .any(|p| here.starts_with(p.as_str()))
                {
                    i += 1;
                    continue;
                }
            }
            return self.command_for(step);
        }
    }

    fn missing_target(&mut self, step: &Step) -> Command {
        self.fail(Failure::Inferred(
            JobErrorCode::UnknownError,
            format!(
                "{}: step {:?} refers to a value that was not captured.",
                self.name(),
                step.id
            ),
        ))
    }

    /// The next slice of a wait step: long waits go out in slices, and the
    /// worker renews the lease between them.
    fn wait_slice(&self, step: &Step) -> u64 {
        step.timeout_ms
            .saturating_sub(self.st.waited_ms)
            .min(WAIT_SLICE_MS)
    }

    fn command_for(&mut self, step: &'a Step) -> Command {
        let timeout_ms = match step.action {
            Action::WaitFor { .. } | Action::Check { .. } => self.wait_slice(step),
            _ => step.timeout_ms,
        };
        let target = match step.target() {
            Some(name) => match self.target(name) {
                Some(t) => Some(t),
                None => return self.missing_target(step),
            },
            None => None,
        };
        let agent = |command| Command::Agent { command };
        match &step.action {
            Action::Navigate { url, .. } => match interpolate(url, &self.vars()) {
                Some(url) => Command::Navigate { url, timeout_ms },
                None => self.missing_target(step),
            },
            Action::WaitFor { branches, .. } => match self.wait_branches(branches) {
                Some(branches) => agent(AgentCommand::WaitFor {
                    branches,
                    timeout_ms,
                }),
                None => self.missing_target(step),
            },
            Action::Check { conditions } => {
                let Some(probes) = self.probes(conditions) else {
                    return self.missing_target(step);
                };
                let mut branches = vec![AgentBranch {
                    key: "s0".into(),
                    probes,
                }];
                branches.extend(self.signal_branches());
                agent(AgentCommand::WaitFor {
                    branches,
                    timeout_ms,
                })
            }
            Action::Click { submit: true, .. } => match self.st.submit {
                SubmitPhase::NotYet | SubmitPhase::Reporting => {
                    self.st.submit = SubmitPhase::Reporting;
                    Command::ReportSubmitting
                }
                SubmitPhase::Clicked => self.fail(Failure::Named(
                    JobErrorCode::OutcomeUnknown,
                    format!(
                        "{}: the flow reached the submit control a second time; not clicking again.",
                        self.name()
                    ),
                )),
            },
            Action::Click { .. } => agent(AgentCommand::Click {
                target: target.expect("click has a target"),
                timeout_ms,
                arm: Vec::new(),
                interrupts: self.signal_branches(),
            }),
            Action::DismissOverlay { .. } => agent(AgentCommand::Dismiss {
                target: target.expect("dismissOverlay has a target"),
            }),
            Action::Press { key, .. } => agent(AgentCommand::Press {
                key: key.clone(),
                target,
                timeout_ms,
            }),
            Action::InsertText { .. } => agent(AgentCommand::InsertText {
                target: target.expect("insertText has a target"),
                text: self.job.text.clone(),
                timeout_ms,
                interrupts: self.signal_branches(),
                keep_draft: false,
            }),
            Action::AttachFiles { .. } => Command::AttachMedia {
                target: target.expect("attachFiles has a target"),
                timeout_ms,
                interrupts: self.signal_branches(),
            },
            Action::Extract {
                read,
                exclude,
                shape,
                ..
            } => agent(AgentCommand::Read {
                target: target.expect("extract has a target"),
                what: read.clone(),
                timeout_ms,
                pattern: shape.pattern.clone(),
                exclude: exclude
                    .as_ref()
                    .and_then(|name| self.st.lists.get(name))
                    .cloned()
                    .unwrap_or_default(),
                interrupts: self.signal_branches(),
            }),
            Action::Collect { read, pattern, .. } => agent(AgentCommand::ReadAll {
                target: target.expect("collect has a target"),
                what: read.clone(),
                timeout_ms,
                pattern: pattern.clone(),
                interrupts: self.signal_branches(),
            }),
            // Handled by `enter`, which never stops on it.
            Action::Set { .. } => self.unexpected("set step"),
            Action::Done => self.done(),
            Action::Fail { code, message } => self.fail(Failure::Named(*code, message.clone())),
        }
    }

    fn wait_branches(&self, branches: &[Branch]) -> Option<Vec<AgentBranch>> {
        let mut out = Vec::with_capacity(branches.len() + self.pack.signals.len());
        for (i, b) in branches.iter().enumerate() {
            out.push(AgentBranch {
                key: format!("s{i}"),
                probes: self.probes(&b.when)?,
            });
        }
        out.extend(self.signal_branches());
        Some(out)
    }

    fn done(&mut self) -> Command {
        let post_url = self.st.vars.get("postUrl").cloned();
        if self.job.job_type == JobType::Post && post_url.is_none() {
            return self.fail(Failure::Inferred(
                JobErrorCode::UnknownError,
                format!("{}: the flow ended without a post URL.", self.name()),
            ));
        }
        let mut details = serde_json::Map::new();
        for (k, v) in &self.st.vars {
            if let Some(key) = k.strip_prefix("details.") {
                details.insert(key.to_string(), v.clone().into());
            }
        }
        if !self.st.fallbacks.is_empty() {
            details.insert("fallbacks".into(), self.st.fallbacks.clone().into());
        }
        self.finish(Outcome::Succeeded {
            post_url,
            details: (!details.is_empty()).then_some(details.into()),
        })
    }

    fn submitting_accepted(&mut self) -> Command {
        let Some(step) = self.current() else {
            return self.unexpected("submitting acceptance");
        };
        if !step.is_submit() || self.st.submit != SubmitPhase::Reporting {
            return self.unexpected("submitting acceptance");
        }
        let Some(target) = step.target().and_then(|t| self.target(t)) else {
            return self.missing_target(step);
        };
        // Recorded before the command leaves: a restart from here on never
        // clicks again.
        self.st.submit = SubmitPhase::Clicked;
        Command::Agent {
            command: AgentCommand::Click {
                target,
                timeout_ms: step.timeout_ms,
                arm: self.pack.network.clone(),
                interrupts: self.signal_branches(),
            },
        }
    }

    fn note_fallback(&mut self, step: &Step, via: Option<usize>) {
        if let (Some(name), Some(via)) = (step.target(), via) {
            if via > 0 {
                let tag = format!("{name}#{via}");
                if !self.st.fallbacks.contains(&tag) {
                    self.st.fallbacks.push(tag);
                }
            }
        }
    }

    fn agent_reply(&mut self, reply: AgentReply) -> Command {
        if let Some(u) = &reply.url {
            self.st.url = Some(u.clone());
        }
        let Some(step) = self.current() else {
            return self.unexpected("agent reply");
        };
        if !reply.ok {
            return self.fail(Failure::Inferred(
                JobErrorCode::UnknownError,
                format!(
                    "{}: the page agent failed at step {:?}: {}",
                    self.name(),
                    step.id,
                    reply.error.as_deref().unwrap_or("no reason given")
                ),
            ));
        }
        let found = reply.found.unwrap_or(false);
        let what = |t: &str| format!("{}: could not find {t} (step {:?}).", self.name(), step.id);
        let waits = matches!(step.action, Action::WaitFor { .. } | Action::Check { .. });
        if !waits {
            // An interruption (a checkpoint, a captcha) showed up while the
            // agent waited for the step's target.
            if let Some(key) = reply.matched.as_deref().filter(|k| k.starts_with('g')) {
                return self.matched(key, &[], &reply);
            }
        }
        if matches!(step.action, Action::Check { .. }) && reply.replaced {
            // The composer was swapped after the text went in: type again
            // (bounded by the insert step's visits).
            if let Some(i) = self.steps()[..self.st.step]
                .iter()
                .rposition(|s| matches!(s.action, Action::InsertText { .. }))
            {
                return self.enter(i);
            }
        }
        if waits && reply.matched.is_none() {
            let slice = self.wait_slice(step);
            if self.st.waited_ms + slice < step.timeout_ms {
                // Only a slice of the wait is over: wait on.
                self.st.waited_ms += slice;
                return self.command_for(step);
            }
        }
        match &step.action {
            Action::WaitFor {
                branches,
                on_timeout,
            } => match reply.matched.as_deref() {
                Some(key) => self.matched(key, branches, &reply),
                None => self.then(on_timeout),
            },
            Action::Check { conditions } => match reply.matched.as_deref() {
                Some("s0") => self.check_passed(step, conditions, &reply),
                Some(key) => self.matched(key, &[], &reply),
                None => {
                    let (code, why) = self.check_diagnosis(step, conditions, &reply);
                    match &step.on_fail {
                        Some(t) => self.then(t),
                        None => self.fail(Failure::Inferred(code, why)),
                    }
                }
            },
            Action::Click { submit, target } => {
                if !found {
                    let why = what(target);
                    if *submit {
                        // The agent found nothing to click: nothing was sent.
                        return self.fail(Failure::Named(JobErrorCode::SelectorNotFound, why));
                    }
                    return self.step_failed(step, why);
                }
                self.note_fallback(step, reply.via);
                self.enter(self.st.step + 1)
            }
            Action::DismissOverlay { .. } | Action::Press { .. } => self.enter(self.st.step + 1),
            Action::Collect { into, .. } => {
                let values = reply.values.clone().filter(|_| found).unwrap_or_default();
                self.st.lists.insert(into.clone(), values);
                self.enter(self.st.step + 1)
            }
            Action::InsertText { target } => {
                if reply.draft {
                    let code = if self.job.platform == crate::Platform::X {
                        JobErrorCode::NoXTab
                    } else {
                        JobErrorCode::NoPlatformTab
                    };
                    let why = format!(
                        "The open {} tab holds a draft you are writing; the extension never types over it. Post or clear the draft, or turn off \"use only my open tabs\".",
                        self.name()
                    );
                    return self.fail(Failure::Named(code, why));
                }
                if !found {
                    return self.step_failed(step, what(target));
                }
                self.note_fallback(step, reply.via);
                let got = reply.text.as_deref().map(normalize_text);
                if got.as_deref() == Some(normalize_text(&self.job.text).as_str()) {
                    self.enter(self.st.step + 1)
                } else {
                    self.fail(Failure::Inferred(
                        JobErrorCode::UnknownError,
                        format!(
                            "{}: the editor did not take the text (it holds {:?}).",
                            self.name(),
                            reply.text.as_deref().unwrap_or("")
                        ),
                    ))
                }
            }
            Action::AttachFiles { target } => {
                if !found {
                    return self.step_failed(step, what(target));
                }
                self.note_fallback(step, reply.via);
                let want = self.job.media_paths.len();
                if reply.count == Some(want) {
                    self.enter(self.st.step + 1)
                } else {
                    self.fail(Failure::Inferred(
                        JobErrorCode::UnknownError,
                        format!(
                            "{}: the page took {} of {want} media files.",
                            self.name(),
                            reply.count.unwrap_or(0)
                        ),
                    ))
                }
            }
            Action::Extract {
                target,
                into,
                shape,
                ..
            } => {
                let value = reply
                    .value
                    .as_deref()
                    .filter(|_| found)
                    .and_then(|v| apply_shape(v, shape));
                match value {
                    Some(v) => {
                        self.note_fallback(step, reply.via);
                        self.st.vars.insert(into.clone(), v);
                        self.enter(self.st.step + 1)
                    }
                    None if found => {
                        let why = format!(
                            "{}: {target} holds no usable value ({:?}, step {:?}).",
                            self.name(),
                            reply.value.as_deref().unwrap_or(""),
                            step.id
                        );
                        self.step_failed(step, why)
                    }
                    None => self.step_failed(step, what(target)),
                }
            }
            Action::Navigate { .. } | Action::Set { .. } | Action::Done | Action::Fail { .. } => {
                self.unexpected("agent reply")
            }
        }
    }

    fn matched(&mut self, key: &str, branches: &[Branch], reply: &AgentReply) -> Command {
        let index = |prefix: char| {
            key.strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok())
        };
        // What a network probe captured becomes `net.<name>`.
        for p in reply.probes.iter().flatten() {
            for (k, v) in p.values.iter().flatten() {
                self.st.vars.insert(format!("net.{k}"), v.clone());
            }
        }
        if let Some(b) = index('s').and_then(|i| branches.get(i)) {
            if let Some(step) = self.current() {
                self.note_fallback(step, reply.via);
            }
            return self.then(&b.then.clone());
        }
        if let Some(s) = index('g').and_then(|i| self.pack.signals.get(i)) {
            self.note_retry_after(s.retry_after_seconds);
            if let Some(reason) = &s.reason {
                self.st.vars.insert("details.reason".into(), reason.clone());
            }
            return self.fail(Failure::Named(s.code, s.message.clone()));
        }
        self.unexpected(&format!("wait result {key:?}"))
    }

    fn check_passed(&mut self, step: &Step, conds: &[Condition], reply: &AgentReply) -> Command {
        // Verify the text ourselves too: the click must not leave on the
        // agent's word alone.
        let want = normalize_text(&self.job.text);
        let states = reply.probes.clone().unwrap_or_default();
        for (i, c) in conds.iter().enumerate() {
            let s = states.get(i).cloned().unwrap_or_default();
            if c.has_job_text && s.text.as_deref().map(normalize_text).as_deref() != Some(&want) {
                let why = format!(
                    "{}: the editor holds {:?}, not the post's text (step {:?}).",
                    self.name(),
                    s.text.as_deref().unwrap_or(""),
                    step.id
                );
                return self.fail(Failure::Inferred(JobErrorCode::UnknownError, why));
            }
            if c.enabled && !(s.found && s.enabled) {
                let why = format!(
                    "{}: {} is not enabled (step {:?}).",
                    self.name(),
                    c.target.as_deref().unwrap_or("?"),
                    step.id
                );
                return self.fail(Failure::Inferred(JobErrorCode::UnknownError, why));
            }
        }
        self.enter(self.st.step + 1)
    }

    fn check_diagnosis(
        &self,
        step: &Step,
        conds: &[Condition],
        reply: &AgentReply,
    ) -> (JobErrorCode, String) {
        let states = reply.probes.clone().unwrap_or_default();
        let want = normalize_text(&self.job.text);
        let mut code = JobErrorCode::UnknownError;
        let mut problems = Vec::new();
        for (i, c) in conds.iter().enumerate() {
            let s = states.get(i).cloned().unwrap_or_default();
            let name = c.target.as_deref().unwrap_or("the page");
            if c.target.is_some() && !c.gone && !s.found {
                code = JobErrorCode::SelectorNotFound;
                problems.push(format!("{name} not found"));
            } else if c.gone && s.found {
                problems.push(format!("{name} did not go away"));
            } else if c.enabled && !s.enabled {
                problems.push(format!("{name} stayed disabled"));
            } else if c.has_job_text
                && s.text.as_deref().map(normalize_text).as_deref() != Some(&want)
            {
                problems.push(format!(
                    "{name} holds {:?}",
                    s.text.as_deref().unwrap_or("")
                ));
            }
        }
        let message = format!(
            "{}: check {:?} failed: {}.",
            self.name(),
            step.id,
            if problems.is_empty() {
                "timed out".to_string()
            } else {
                problems.join(", ")
            }
        );
        (code, message)
    }
}

//! Selector packs: a platform's composer flow as data.
//!
//! A pack names the elements of a platform's pages ([`Target`]s: ordered
//! lists of [`Locator`]s, primary first, fallbacks after) and the [`Step`]s
//! of each flow (navigate, wait, click, insert text, attach files, dismiss an
//! overlay, check, extract), with per-step timeouts and the page signals
//! that end a job with an error code. The flow engine (`engine.rs`) runs a
//! pack; the DOM agent in the page evaluates locators and knows no platform.
//!
//! Packs are JSON so a new one (or a fixed selector) needs no code. The
//! built-in packs are compiled in and checked by [`Pack::validate`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{JobErrorCode, JobType, Platform};

/// The X (x.com / twitter.com) pack as shipped.
pub const X_PACK_JSON: &str = include_str!("packs/x.json");

/// The LinkedIn (www.linkedin.com) pack as shipped.
pub const LINKEDIN_PACK_JSON: &str = include_str!("packs/linkedin.json");

/// The Facebook (www.facebook.com) pack as shipped.
pub const FACEBOOK_PACK_JSON: &str = include_str!("packs/facebook.json");

/// The Instagram (www.instagram.com) pack as shipped.
pub const INSTAGRAM_PACK_JSON: &str = include_str!("packs/instagram.json");

/// The TikTok (www.tiktok.com, TikTok Studio) pack as shipped.
pub const TIKTOK_PACK_JSON: &str = include_str!("packs/tiktok.json");

/// Default time a step waits for its target, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;

/// A platform's flows as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pack {
    pub platform: Platform,
    /// Reported with every ack (`packVersion`), so a failure can be traced to
    /// the selectors that produced it.
    pub version: String,
    /// Host names the platform's pages are served on (`x.com`); a tab on one
    /// of them can run the pack.
    pub hosts: Vec<String>,
    /// Where a fresh tab starts when the first step does not navigate.
    pub entry_url: String,
    /// Named page elements the steps refer to.
    pub targets: BTreeMap<String, Target>,
    /// Page states that end the job wherever they show up (a login wall, a
    /// rate-limit toast): appended to every wait.
    #[serde(default)]
    pub signals: Vec<Signal>,
    /// One flow per job type the pack supports.
    pub flows: Vec<Flow>,
    /// The longest a job on this platform may run, in seconds (default
    /// [`DEFAULT_DEADLINE_SECONDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_seconds: Option<u64>,
    /// Per-locale label tables: `labels["postButton"]["de"] = ["Posten"]`.
    /// A locator's `text` or `name` of `@postButton` matches any of the
    /// label's strings, in every locale.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The platform's create calls, read as network evidence of the new
    /// post (armed in the page right before the submit click).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetRule>,
}

/// A job's deadline when the pack names none.
pub const DEFAULT_DEADLINE_SECONDS: u64 = 240;

/// The locales every label table must cover.
pub const LABEL_LOCALES: &[&str] = &["en", "de", "fr", "es", "pt", "it", "ja", "zh"];

/// The reasons an interruption signal may give (`details.reason`).
pub const SIGNAL_REASONS: &[&str] = &["checkpoint", "two_factor", "captcha", "suspended"];

/// A response of the platform's own web app that identifies the new post:
/// the MAIN-world watcher reads only the bodies of responses to requests
/// that match `url_matches` (and `method`, `body_contains`), and hands the
/// DOM agent only the captured values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetRule {
    /// Named by `network` conditions.
    pub id: String,
    /// A JavaScript regular expression the request URL must match.
    pub url_matches: String,
    /// The request method (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Text the request body must contain (e.g. Facebook's
    /// `ComposerStoryCreateMutation` friendly name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// Values to capture from the JSON response, by name.
    pub captures: BTreeMap<String, Capture>,
    /// The capture a response must yield to count as evidence.
    pub requires: String,
}

/// Where a captured value sits in a JSON response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capture {
    /// Dotted paths (`data.items.0.id`), tried in order; the first string or
    /// number wins.
    pub paths: Vec<String>,
    /// A JavaScript regular expression: keep its first match of the value.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// The steps of one job type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Flow {
    pub job_type: JobType,
    pub steps: Vec<Step>,
}

/// An element, found by the first locator that matches anything. The first
/// locator is the primary; the rest are fallbacks, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Target(pub Vec<Locator>);

/// One way to find an element. Every given criterion must hold. The DOM
/// agent searches the document and every open shadow root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Locator {
    /// A CSS selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub css: Option<String>,
    /// An ARIA role, explicit (`role="button"`) or implicit (`<button>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The accessible name (aria-label, aria-labelledby, or text), compared
    /// case-insensitively after trimming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Text the element's visible text contains, case-insensitively. May use
    /// `{var}` placeholders (filled in by the flow engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A CSS selector applied inside the matched element; the first match
    /// inside becomes the result (e.g. the link inside a post card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<String>,
    /// The element's rendered text must be the job's whole text (emoji as
    /// images, hidden text, shortened links and white space tolerated; see
    /// [`crate::post_text::post_text_pattern`]). Matched before `inner`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub post_text: bool,
    /// Agent wire form of a `@label` text: any of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text_any: Vec<String>,
    /// Agent wire form of a `@label` name: any of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_any: Vec<String>,
    /// Agent wire form of `postText`: a JavaScript regular expression the
    /// element's rendered text must match in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_pattern: Option<String>,
}

impl Locator {
    /// Whether the locator says anything at all.
    fn has_criteria(&self) -> bool {
        self.css.is_some()
            || self.role.is_some()
            || self.text.is_some()
            || self.name.is_some()
            || self.post_text
            || !self.text_any.is_empty()
            || !self.name_any.is_empty()
            || self.text_pattern.is_some()
    }
}

/// A page state, as a conjunction of probes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    /// A target name of the pack; holds when it is present (or absent with
    /// `gone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Holds when the target is absent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub gone: bool,
    /// The target must be enabled (no `disabled`, no `aria-disabled="true"`,
    /// no `data-disabled="true"`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub enabled: bool,
    /// The target's text must equal the job's text (after normalisation).
    #[serde(default, skip_serializing_if = "is_false")]
    pub has_job_text: bool,
    /// A JavaScript regular expression the page URL must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_matches: Option<String>,
    /// Holds once the pack's network rule of this id captured the new
    /// post's identifier in this page; its values become `net.<name>`
    /// variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A page state that ends the job with an error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signal {
    pub when: Vec<Condition>,
    pub code: JobErrorCode,
    pub message: String,
    /// When the platform says how long to wait (a rate limit), the seconds
    /// reported as `details.retryAfter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// For interruptions (code `not_logged_in`): `checkpoint`,
    /// `two_factor`, `captcha` or `suspended`, reported as `details.reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What happens after a wait branch matched, a step failed, or a wait timed
/// out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Then {
    /// Go on with the next step.
    Next,
    /// Jump to the step with this id.
    Goto(String),
    /// End the job as failed (`retryAfterSeconds`: reported as
    /// `details.retryAfter`, for rate limits whose wait is known).
    #[serde(rename_all = "camelCase")]
    Fail {
        code: JobErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_seconds: Option<u64>,
    },
}

/// When a step runs at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Guard {
    /// Only for jobs with media.
    HasMedia,
    /// Only for jobs without media.
    NoMedia,
    /// Only for jobs that name a group (`platformPayload.groupId` or
    /// `groupUrl`; Facebook).
    HasGroup,
    /// Only for jobs that name no group.
    NoGroup,
}

/// One alternative of a wait: when all its conditions hold, do `then`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Branch {
    pub when: Vec<Condition>,
    pub then: Then,
}

/// What an extracted value must look like.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Shape {
    /// The value must contain this text followed by at least one digit; it is
    /// cut after those digits (`/status/123/photo/1` → `/status/123`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits_after: Option<String>,
    /// The value must start with `http://` or `https://`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub absolute_url: bool,
    /// The value must contain this text followed by at least one digit; the
    /// value becomes that text and its digits (`urn:li:activity:` in
    /// `x urn:li:activity:7 y` → `urn:li:activity:7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_from: Option<String>,
    /// A JavaScript regular expression: the value becomes its first match
    /// (applied by the DOM agent while reading, so `exclude` compares the
    /// matched values; a candidate without a match is skipped).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The stored value: this template with `{value}` replaced by the value
    /// (`https://www.linkedin.com/feed/update/{value}/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_template: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
pub enum Action {
    /// Load `url` (may use `{var}` placeholders) in the job's tab, unless the
    /// tab's URL already starts with one of `keepIfUrlStartsWith`.
    #[serde(rename_all = "camelCase")]
    Navigate {
        url: String,
        #[serde(default)]
        keep_if_url_starts_with: Vec<String>,
    },
    /// Wait until one branch holds (the pack's signals are appended).
    #[serde(rename_all = "camelCase")]
    WaitFor {
        branches: Vec<Branch>,
        on_timeout: Then,
    },
    /// Click the target. `submit` marks the platform's publish control: the
    /// engine reports `submitting` first and never clicks it twice.
    #[serde(rename_all = "camelCase")]
    Click {
        target: String,
        #[serde(default)]
        submit: bool,
    },
    /// Replace the target editor's content with the job's text.
    #[serde(rename_all = "camelCase")]
    InsertText { target: String },
    /// Attach the job's media to the target (a file input, or a drop zone).
    #[serde(rename_all = "camelCase")]
    AttachFiles { target: String },
    /// Click the target if it is present right now; never fails.
    #[serde(rename_all = "camelCase")]
    DismissOverlay { target: String },
    /// Wait until every condition holds (e.g. the editor holds exactly the
    /// text and the submit control is enabled).
    #[serde(rename_all = "camelCase")]
    Check { conditions: Vec<Condition> },
    /// Read the target's `read` (`text`, `value`, `href`, or an attribute
    /// name) into the variable `into` (`postUrl`, or `details.<key>`).
    #[serde(rename_all = "camelCase")]
    Extract {
        target: String,
        read: String,
        into: String,
        #[serde(default)]
        shape: Shape,
        /// A list saved by `collect`: candidates whose value is in it are
        /// skipped (the agent waits for a new one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exclude: Option<String>,
    },
    /// Read `read` of every element the target matches into the saved list
    /// `into` (e.g. the posts present before submitting). A missing target
    /// is an empty list, never a failure.
    #[serde(rename_all = "camelCase")]
    Collect {
        target: String,
        read: String,
        into: String,
        /// A JavaScript regular expression: keep each value's first match
        /// (as an `extract`'s shape `match` does, so the two compare).
        #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// Press a key (`Escape`, `Enter`), on the target when one is given.
    #[serde(rename_all = "camelCase")]
    Press {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// Store `value` (may use `{var}` placeholders, e.g. `{groupPageUrl}`)
    /// in the variable `into` (`postUrl`, or `details.<key>`), e.g. a
    /// `details.buttonState` decided by which branch matched.
    #[serde(rename_all = "camelCase")]
    Set {
        into: String,
        value: String,
        /// Alternatives, in order, when `value` names a variable with no
        /// value.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        or_else: Vec<String>,
    },
    /// End the flow: success when the flow captured what the job needs.
    Done,
    /// End the flow as failed with this code (e.g. `outcome_unknown` after
    /// a `set` of `details.seen`).
    #[serde(rename_all = "camelCase")]
    Fail { code: JobErrorCode, message: String },
}

/// One step of a flow. (Unknown fields are rejected by [`Action`]: serde
/// cannot deny them on a struct with a flattened field.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Unique within the flow; used by `goto` and in error messages.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if: Option<Guard>,
    /// How long the step waits for its target or branches.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// What to do when the step's target is missing or its value is unusable
    /// (default: fail with `selector_not_found`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_fail: Option<Then>,
    /// How often the step may be entered in one job (bounded loops; default
    /// [`DEFAULT_MAX_VISITS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_visits: Option<u32>,
    #[serde(flatten)]
    pub action: Action,
}

/// How often a step may be entered in one job unless it says otherwise.
pub const DEFAULT_MAX_VISITS: u32 = 4;

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}

impl Step {
    /// The target name the step acts on, if any.
    pub fn target(&self) -> Option<&str> {
        match &self.action {
            Action::Click { target, .. }
            | Action::InsertText { target }
            | Action::AttachFiles { target }
            | Action::DismissOverlay { target }
            | Action::Collect { target, .. }
            | Action::Extract { target, .. } => Some(target),
            Action::Press { target, .. } => target.as_deref(),
            Action::Navigate { .. }
            | Action::WaitFor { .. }
            | Action::Check { .. }
            | Action::Set { .. } => None,
            Action::Done | Action::Fail { .. } => None,
        }
    }

    /// Whether this is the publish click.
    pub fn is_submit(&self) -> bool {
        matches!(self.action, Action::Click { submit: true, .. })
    }
}

/// Why a pack is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackError(pub String);

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid selector pack: {}", self.0)
    }
}

impl std::error::Error for PackError {}

impl Pack {
    /// Parses and validates a pack.
    pub fn from_json(json: &str) -> Result<Pack, PackError> {
        let pack: Pack = serde_json::from_str(json).map_err(|e| PackError(e.to_string()))?;
        pack.validate()?;
        Ok(pack)
    }

    /// The built-in pack of a platform, if one ships.
    pub fn builtin(platform: Platform) -> Option<Pack> {
        let json = match platform {
            Platform::X => X_PACK_JSON,
            Platform::Linkedin => LINKEDIN_PACK_JSON,
            Platform::Facebook => FACEBOOK_PACK_JSON,
            Platform::Instagram => INSTAGRAM_PACK_JSON,
            Platform::Tiktok => TIKTOK_PACK_JSON,
        };
        Some(Pack::from_json(json).expect("built-in packs are valid (tested)"))
    }

    /// The flow for a job type.
    pub fn flow(&self, job_type: JobType) -> Option<&Flow> {
        self.flows.iter().find(|f| f.job_type == job_type)
    }

    /// Looks a target up by name.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.get(name)
    }

    /// Every string of a label, all locales (English first), without
    /// repeats.
    pub fn label(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(table) = self.labels.get(name) {
            let en = table.get("en").into_iter().flatten();
            let rest = table
                .iter()
                .filter(|(k, _)| *k != "en")
                .flat_map(|(_, v)| v);
            for s in en.chain(rest) {
                if !s.trim().is_empty() && !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }

    /// The job deadline, in milliseconds.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_seconds.unwrap_or(DEFAULT_DEADLINE_SECONDS) * 1000
    }

    /// Whether a URL is on one of the pack's hosts.
    pub fn matches_url(&self, url: &str) -> bool {
        host_of(url).is_some_and(|h| self.hosts.iter().any(|x| x.eq_ignore_ascii_case(h)))
    }

    /// Checks everything the engine relies on: targets and gotos resolve,
    /// step ids are unique, every locator says something, a post flow has
    /// exactly one submit click and nothing after it clicks a submit again.
    pub fn validate(&self) -> Result<(), PackError> {
        let err = |m: String| Err(PackError(m));
        if self.version.trim().is_empty() {
            return err("version is empty".into());
        }
        if self.hosts.is_empty() {
            return err("no hosts".into());
        }
        if !self.matches_url(&self.entry_url) {
            return err(format!(
                "entryUrl {} is not on the pack's hosts",
                self.entry_url
            ));
        }
        for (name, target) in &self.targets {
            if target.0.is_empty() {
                return err(format!("target {name:?} has no locators"));
            }
            for l in &target.0 {
                if !l.has_criteria() {
                    return err(format!("target {name:?} has a locator with no criteria"));
                }
                for label in [&l.text, &l.name].into_iter().flatten() {
                    if let Some(key) = label.strip_prefix('@') {
                        if !self.labels.contains_key(key) {
                            return err(format!("target {name:?} names unknown label {label:?}"));
                        }
                    }
                }
            }
        }
        for (name, table) in &self.labels {
            for locale in LABEL_LOCALES {
                if table
                    .get(*locale)
                    .is_none_or(|v| v.iter().all(|s| s.trim().is_empty()))
                {
                    return err(format!("label {name:?} has no {locale} text"));
                }
            }
        }
        let mut rule_ids = BTreeSet::new();
        for r in &self.network {
            if !rule_ids.insert(r.id.as_str()) {
                return err(format!("two network rules named {:?}", r.id));
            }
            if !r.captures.contains_key(&r.requires) {
                return err(format!(
                    "network rule {:?} requires {:?}, which it does not capture",
                    r.id, r.requires
                ));
            }
            if r.captures.values().any(|c| c.paths.is_empty()) {
                return err(format!(
                    "network rule {:?} has a capture with no paths",
                    r.id
                ));
            }
        }
        for s in &self.signals {
            self.check_conditions("signal", &s.when)?;
            if let Some(r) = &s.reason {
                if !SIGNAL_REASONS.contains(&r.as_str()) {
                    return err(format!(
                        "signal reason {r:?} is not one of {SIGNAL_REASONS:?}"
                    ));
                }
            }
        }
        let mut types = BTreeSet::new();
        for flow in &self.flows {
            if !types.insert(flow.job_type.as_str()) {
                return err(format!("two flows for {}", flow.job_type.as_str()));
            }
            self.validate_flow(flow)?;
        }
        Ok(())
    }

    fn check_conditions(&self, place: &str, conds: &[Condition]) -> Result<(), PackError> {
        if conds.is_empty() {
            return Err(PackError(format!("{place}: empty condition list")));
        }
        for c in conds {
            if let Some(n) = &c.network {
                if !self.network.iter().any(|r| &r.id == n) {
                    return Err(PackError(format!("{place}: unknown network rule {n:?}")));
                }
            }
            match &c.target {
                Some(t) if !self.targets.contains_key(t) => {
                    return Err(PackError(format!("{place}: unknown target {t:?}")));
                }
                None if c.url_matches.is_none() && c.network.is_none() => {
                    return Err(PackError(format!(
                        "{place}: a condition needs a target, urlMatches or network"
                    )));
                }
                None if c.gone || c.enabled || c.has_job_text => {
                    return Err(PackError(format!(
                        "{place}: gone/enabled/hasJobText need a target"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn validate_flow(&self, flow: &Flow) -> Result<(), PackError> {
        let name = flow.job_type.as_str();
        let err = |m: String| Err(PackError(format!("flow {name}: {m}")));
        let mut ids = BTreeSet::new();
        for s in &flow.steps {
            if !ids.insert(s.id.as_str()) {
                return err(format!("duplicate step id {:?}", s.id));
            }
        }
        let check_then = |step: &str, then: &Then| match then {
            Then::Goto(id) if !ids.contains(id.as_str()) => Err(PackError(format!(
                "flow {name}: step {step:?} jumps to unknown step {id:?}"
            ))),
            _ => Ok(()),
        };
        for s in &flow.steps {
            if let Some(t) = s.target() {
                if !self.targets.contains_key(t) {
                    return err(format!("step {:?} names unknown target {t:?}", s.id));
                }
            }
            if let Some(t) = &s.on_fail {
                check_then(&s.id, t)?;
            }
            match &s.action {
                Action::WaitFor {
                    branches,
                    on_timeout,
                } => {
                    if branches.is_empty() {
                        return err(format!("step {:?} waits for nothing", s.id));
                    }
                    for b in branches {
                        self.check_conditions(&format!("flow {name} step {}", s.id), &b.when)?;
                        check_then(&s.id, &b.then)?;
                    }
                    check_then(&s.id, on_timeout)?;
                }
                Action::Check { conditions } => {
                    self.check_conditions(&format!("flow {name} step {}", s.id), conditions)?;
                }
                Action::Extract { into, .. } if into.trim().is_empty() => {
                    return err(format!("step {:?} extracts into nothing", s.id));
                }
                Action::Set { into, .. }
                    if into != "postUrl"
                        && into
                            .strip_prefix("details.")
                            .is_none_or(|k| k.trim().is_empty()) =>
                {
                    return err(format!(
                        "step {:?} sets {into:?}: only postUrl or details.<key>",
                        s.id
                    ));
                }
                _ => {}
            }
        }
        if !flow.steps.iter().any(|s| matches!(s.action, Action::Done)) {
            return err("no done step".into());
        }
        if flow.job_type == JobType::Post {
            let submits: Vec<usize> = flow
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_submit())
                .map(|(i, _)| i)
                .collect();
            if submits.len() != 1 {
                return err(format!(
                    "needs exactly one submit click, has {}",
                    submits.len()
                ));
            }
            // After the submit, a goto back to (or before) it would click twice.
            let submit = submits[0];
            let index = |id: &str| flow.steps.iter().position(|s| s.id == id);
            for s in &flow.steps[submit + 1..] {
                let mut thens: Vec<&Then> = s.on_fail.iter().collect();
                if let Action::WaitFor {
                    branches,
                    on_timeout,
                } = &s.action
                {
                    thens.extend(branches.iter().map(|b| &b.then));
                    thens.push(on_timeout);
                }
                for t in thens {
                    if let Then::Goto(id) = t {
                        if index(id).is_some_and(|i| i <= submit) {
                            return err(format!(
                                "step {:?} jumps back to {id:?}, before the submit click",
                                s.id
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The host of an `http(s)` URL, lowercase is not enforced (compare
/// case-insensitively).
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => &host[..i],
        _ => host,
    };
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_pack_is_valid_and_has_the_documented_selectors() {
        let pack = Pack::builtin(Platform::X).unwrap();
        assert_eq!(pack.platform, Platform::X);
        assert!(pack.matches_url("https://x.com/home"));
        assert!(pack.matches_url("https://twitter.com/compose/post"));
        assert!(!pack.matches_url("https://www.linkedin.com/feed/"));
        let css = |t: &str| -> Vec<String> {
            pack.target(t)
                .unwrap()
                .0
                .iter()
                .filter_map(|l| l.css.clone())
                .collect()
        };
        assert!(css("editor")
            .iter()
            .any(|c| c == r#"[data-testid="tweetTextarea_0"]"#));
        assert!(css("fileInput")
            .iter()
            .any(|c| c == r#"input[data-testid="fileInput"]"#));
        let submit = css("submit");
        assert!(submit.iter().any(|c| c.contains("tweetButtonInline")));
        assert!(submit
            .iter()
            .any(|c| c.ends_with(r#"[data-testid="tweetButton"]"#)));
        let flow = pack.flow(JobType::Post).unwrap();
        assert_eq!(flow.steps.iter().filter(|s| s.is_submit()).count(), 1);
        let codes: Vec<_> = pack.signals.iter().map(|s| s.code).collect();
        assert!(codes.contains(&JobErrorCode::NotLoggedIn));
        assert!(codes.contains(&JobErrorCode::RateLimited));
    }

    #[test]
    fn linkedin_pack_is_valid_and_has_the_documented_selectors() {
        let pack = Pack::builtin(Platform::Linkedin).unwrap();
        assert_eq!(pack.platform, Platform::Linkedin);
        assert!(pack.matches_url("https://www.linkedin.com/feed/"));
        assert!(pack.matches_url("https://linkedin.com/feed/"));
        assert!(!pack.matches_url("https://x.com/home"));
        let css = |t: &str| -> Vec<String> {
            pack.target(t)
                .unwrap()
                .0
                .iter()
                .filter_map(|l| l.css.clone())
                .collect()
        };
        // All three composer generations: classic Quill (also inside the
        // #interop-outlet shadow root, which the agent pierces) and SDUI Tiptap.
        let editor = css("editor");
        assert!(editor
            .iter()
            .any(|c| c == r#"div.ql-editor[contenteditable="true"]"#));
        assert!(editor.iter().any(|c| c.contains("ShareBox_textEditor")));
        assert!(editor.iter().any(|c| c.contains(".ProseMirror")));
        assert!(css("submit")
            .iter()
            .any(|c| c == "button.share-actions__primary-action"));
        assert!(css("launcher")
            .iter()
            .any(|c| c.contains("draft-text-replaceable-component")));
        assert!(css("fileInput")
            .iter()
            .any(|c| c == "#media-editor-file-selector__file-input"));
        assert!(css("toastPostLink")
            .iter()
            .any(|c| c.contains("urn:li:activity:")));
        let flow = pack.flow(JobType::Post).unwrap();
        assert_eq!(flow.steps.iter().filter(|s| s.is_submit()).count(), 1);
        let codes: Vec<_> = pack.signals.iter().map(|s| s.code).collect();
        assert!(codes.contains(&JobErrorCode::NotLoggedIn));
        assert!(codes.contains(&JobErrorCode::RateLimited));
    }

    #[test]
    fn facebook_pack_is_valid_and_has_the_documented_selectors() {
        let pack = Pack::builtin(Platform::Facebook).unwrap();
        assert_eq!(pack.platform, Platform::Facebook);
        assert!(pack.matches_url("https://www.facebook.com/"));
        assert!(pack.matches_url("https://www.facebook.com/groups/1577315533418837/"));
        assert!(!pack.matches_url("https://x.com/home"));
        let css = |t: &str| -> Vec<String> {
            pack.target(t)
                .unwrap()
                .0
                .iter()
                .filter_map(|l| l.css.clone())
                .collect()
        };
        // Lexical editor, div[role=button] Post control (with locale
        // variants), the file input by its accept prefix.
        assert!(css("editor")
            .iter()
            .any(|c| c.contains(r#"[data-lexical-editor="true"]"#)
                && c.contains(r#"[role="textbox"]"#)
                && c.contains(r#"[contenteditable="true"]"#)));
        let submit = css("submit");
        assert!(submit
            .iter()
            .any(|c| c.contains(r#"div[aria-label="Post"][role="button"]"#)));
        for label in ["发帖", "發佈", "Đăng", "Publier"] {
            assert!(submit.iter().any(|c| c.contains(label)), "{label}");
        }
        assert!(css("fileInput")
            .iter()
            .any(|c| c.contains(r#"accept^="image/*,image/heif,image/heic,video/*"#)));
        assert!(css("composerOpener")
            .iter()
            .any(|c| c.contains(r#"div[aria-label="Create a post"]"#)));
        let flow = pack.flow(JobType::Post).unwrap();
        assert_eq!(flow.steps.iter().filter(|s| s.is_submit()).count(), 1);
        let codes: Vec<_> = pack.signals.iter().map(|s| s.code).collect();
        assert!(codes.contains(&JobErrorCode::NotLoggedIn));
        assert!(codes.contains(&JobErrorCode::RateLimited));

        // Groups: the documented membership selectors and group composer.
        assert!(css("joinButton")
            .iter()
            .any(|c| c.contains(r#"[aria-label="Join group"]"#)));
        assert!(css("requestedButton")
            .iter()
            .any(|c| c.contains(r#"[aria-label="Cancel request"]"#)));
        assert!(css("groupComposerOpener")
            .iter()
            .any(|c| c.starts_with(r#"div[data-pagelet="GroupInlineComposer"]"#)));
        // "Joined" must never count as a Join button.
        assert!(css("joinButton")
            .iter()
            .filter(|c| c.contains("*=\"Join\""))
            .all(|c| c.contains("Joined")));

        // The post flow handles groups: group steps are guarded, the
        // membership check fails with group_not_approved before anything is
        // typed, and a post awaiting approval ends on the group's page.
        let steps = &flow.steps;
        let at = |id: &str| steps.iter().position(|s| s.id == id).unwrap();
        let guard = |id: &str| steps[at(id)].only_if;
        assert_eq!(guard("open"), Some(Guard::NoGroup));
        assert_eq!(guard("groupOpen"), Some(Guard::HasGroup));
        assert_eq!(guard("groupState"), Some(Guard::HasGroup));
        assert!(at("groupState") < at("text") && at("groupCompose") < at("submit"));
        let json = serde_json::to_value(&pack).unwrap();
        let flows = json["flows"].as_array().unwrap();
        let step_json = |job: &str, id: &str| -> serde_json::Value {
            let f = flows.iter().find(|f| f["jobType"] == job).unwrap();
            let steps = f["steps"].as_array().unwrap();
            steps.iter().find(|s| s["id"] == id).unwrap().clone()
        };
        let group_state = step_json("post", "groupState").to_string();
        assert_eq!(group_state.matches("group_not_approved").count(), 3);
        assert_eq!(step_json("post", "groupOpen")["url"], "{groupPageUrl}");
        let pending = step_json("post", "pending");
        assert_eq!(
            (&pending["action"], &pending["into"], &pending["value"]),
            (
                &serde_json::json!("set"),
                &serde_json::json!("details.approval"),
                &serde_json::json!("pending")
            )
        );
        assert_eq!(step_json("post", "pendingUrl")["value"], "{groupPageUrl}");
        assert!(step_json("post", "confirm")
            .to_string()
            .contains(r#""goto":"pending""#));

        // Status and join end with details.buttonState.
        for (job, job_type, states) in [
            (
                "facebook_group_status",
                JobType::FacebookGroupStatus,
                &["joined", "requested", "not_member"][..],
            ),
            (
                "facebook_group_join",
                JobType::FacebookGroupJoin,
                &["joined", "requested"][..],
            ),
        ] {
            let f = pack.flow(job_type).unwrap();
            let text = serde_json::to_string(f).unwrap();
            assert!(text.contains("{groupPageUrl}"), "{job}");
            for state in states {
                assert!(
                    f.steps.iter().any(|s| matches!(&s.action,
                        Action::Set { into, value, .. } if into == "details.buttonState" && value == state)),
                    "{job}: {state}"
                );
            }
            assert!(step_json(job, "open")["url"] == "{groupPageUrl}");
        }
        let join = pack.flow(JobType::FacebookGroupJoin).unwrap();
        let submits: Vec<_> = join.steps.iter().filter(|s| s.is_submit()).collect();
        assert_eq!(submits.len(), 1);
        assert_eq!(submits[0].target(), Some("joinButton"));
        assert!(join.steps.iter().any(|s| s.target() == Some("joinAnyway")));
        assert!(!pack
            .flow(JobType::FacebookGroupStatus)
            .unwrap()
            .steps
            .iter()
            .any(|s| s.is_submit() || matches!(s.action, Action::Click { .. })));
    }

    #[test]
    fn tiktok_pack_is_valid_and_has_the_documented_selectors() {
        let pack = Pack::builtin(Platform::Tiktok).unwrap();
        assert_eq!(pack.platform, Platform::Tiktok);
        assert!(pack.matches_url("https://www.tiktok.com/tiktokstudio/upload?lang=en"));
        assert!(pack.matches_url("https://www.tiktok.com/creator-center/upload"));
        assert!(!pack.matches_url("https://x.com/home"));
        let css = |t: &str| -> Vec<String> {
            pack.target(t)
                .unwrap()
                .0
                .iter()
                .filter_map(|l| l.css.clone())
                .collect()
        };
        // Draft.js caption, the hidden video input, the data-e2e Post button,
        // the "Post now" confirmation and the content page's post table.
        assert!(css("editor")
            .iter()
            .any(|c| c.starts_with("div.public-DraftEditor-content")));
        assert_eq!(
            css("fileInput")[0],
            r#"input[type="file"][accept="video/*"]"#
        );
        assert_eq!(css("submit")[0], r#"button[data-e2e="post_video_button"]"#);
        assert!(css("postNow")
            .iter()
            .any(|c| c.contains("common-modal-confirm-modal")));
        assert!(css("postLinks")
            .iter()
            .any(|c| c.contains("components_PostInfoCell_Container")));
        let flow = pack.flow(JobType::Post).unwrap();
        assert_eq!(flow.steps.iter().filter(|s| s.is_submit()).count(), 1);
        // The caption is only typed after the upload finished (TikTok
        // pre-fills it with the file name meanwhile).
        let at = |id: &str| flow.steps.iter().position(|s| s.id == id).unwrap();
        assert!(at("uploadDone") < at("text"));
        let codes: Vec<_> = pack.signals.iter().map(|s| s.code).collect();
        assert!(codes.contains(&JobErrorCode::NotLoggedIn));
        assert!(codes.contains(&JobErrorCode::RateLimited));
    }

    #[test]
    fn instagram_pack_is_valid_and_has_the_documented_selectors() {
        let pack = Pack::builtin(Platform::Instagram).unwrap();
        assert_eq!(pack.platform, Platform::Instagram);
        assert!(pack.matches_url("https://www.instagram.com/"));
        assert!(pack.matches_url("https://instagram.com/claw.test/"));
        assert!(!pack.matches_url("https://www.facebook.com/"));
        let css = |t: &str| -> Vec<String> {
            pack.target(t)
                .unwrap()
                .0
                .iter()
                .filter_map(|l| l.css.clone())
                .collect()
        };
        assert!(css("newPost")
            .iter()
            .any(|c| c == r#"svg[aria-label="New post"]"#));
        assert!(css("postMenuItem")
            .iter()
            .any(|c| c == r#"svg[aria-label="Post"]"#));
        assert!(css("caption")
            .iter()
            .any(|c| c
                .contains(r#"[data-lexical-editor="true"][aria-placeholder*="Write a caption"]"#)));
        assert!(css("fileInput")
            .iter()
            .any(|c| c.starts_with(r#"div[role="dialog"] input[type="file"]"#)));
        assert!(css("newestGridPost")
            .iter()
            .any(|c| c.starts_with(r#"main a[role="link"][href*="/p/"]"#)));
        let share = pack.target("shareButton").unwrap();
        assert!(share.0.iter().any(|l| l.name.as_deref() == Some("Share")));
        let flow = pack.flow(JobType::Post).unwrap();
        assert_eq!(flow.steps.iter().filter(|s| s.is_submit()).count(), 1);
        let codes: Vec<_> = pack.signals.iter().map(|s| s.code).collect();
        assert!(codes.contains(&JobErrorCode::NotLoggedIn));
        assert!(codes.contains(&JobErrorCode::RateLimited));
    }

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "platform": "x", "version": "t1", "hosts": ["x.com"], "entryUrl": "https://x.com/",
            "targets": {"a": [{"css": "#a"}]},
            "flows": [{"jobType": "post", "steps": [
                {"id": "c", "action": "click", "target": "a", "submit": true},
                {"id": "w", "action": "waitFor", "branches": [{"when": [{"target": "a"}], "then": "next"}],
                 "onTimeout": {"fail": {"code": "unknown_error", "message": "m"}}},
                {"id": "d", "action": "done"}
            ]}]
        })
    }

    fn check(v: serde_json::Value) -> Result<Pack, PackError> {
        Pack::from_json(&v.to_string())
    }

    #[test]
    fn validation_catches_broken_packs() {
        assert!(check(minimal()).is_ok());

        let mut v = minimal();
        v["flows"][0]["steps"][0]["target"] = "nope".into();
        assert!(check(v).unwrap_err().0.contains("unknown target"));

        let mut v = minimal();
        v["flows"][0]["steps"][1]["onTimeout"] = serde_json::json!({"goto": "c"});
        assert!(check(v).unwrap_err().0.contains("before the submit"));

        let mut v = minimal();
        v["flows"][0]["steps"][1]["onTimeout"] = serde_json::json!({"goto": "zz"});
        assert!(check(v).unwrap_err().0.contains("unknown step"));

        let mut v = minimal();
        v["flows"][0]["steps"][0]["submit"] = false.into();
        assert!(check(v).unwrap_err().0.contains("exactly one submit"));

        let mut v = minimal();
        v["targets"]["a"] = serde_json::json!([{"inner": "a"}]);
        assert!(check(v).unwrap_err().0.contains("no criteria"));

        let mut v = minimal();
        v["flows"][0]["steps"][2]["id"] = "c".into();
        assert!(check(v).unwrap_err().0.contains("duplicate step"));

        let mut v = minimal();
        v["entryUrl"] = "https://evil.example/".into();
        assert!(check(v).unwrap_err().0.contains("entryUrl"));

        let mut v = minimal();
        v["flows"][0]["steps"][0]["bogus"] = 1.into();
        assert!(check(v).is_err(), "unknown step fields are rejected");
    }

    #[test]
    fn host_of_handles_ports_and_userinfo() {
        assert_eq!(host_of("https://x.com/home"), Some("x.com"));
        assert_eq!(host_of("http://127.0.0.1:8080/v1"), Some("127.0.0.1"));
        assert_eq!(
            host_of("https://u:p@www.linkedin.com?x"),
            Some("www.linkedin.com")
        );
        assert_eq!(host_of("chrome://extensions"), None);
        assert_eq!(host_of("https://"), None);
    }
}

//! The Instagram pack run by the engine against recorded observations: the
//! replies the DOM agent and the worker give on real (fixture) pages, as
//! JSON. A small page model answers each command by the step that sent it,
//! and each test changes only what its case is about.

use extension_core::engine::{
    advance, failure_details, AgentCommand, Command, EngineState, Observation, Outcome,
};
use extension_core::pack::Pack;
use extension_core::{JobErrorCode, JobType, LeasedJob, Platform};
use serde_json::{json, Value};

const HOME: &str = "https://www.instagram.com/";
const PROFILE: &str = "https://www.instagram.com/claw.test/";
const PINNED: &str = "https://www.instagram.com/p/C7pinnedAbc/";
const OLDER: &str = "https://www.instagram.com/p/C8launch001/";
const NEW_TILE: &str = "https://www.instagram.com/claw.test/p/DLateT1le42/";
const CANONICAL: &str = "https://www.instagram.com/p/DLateT1le42/";
const TEXT: &str = "Launch day! Thanks everyone for the support 🎉\n\n#launch #clawpost";

fn job(text: &str) -> LeasedJob {
    LeasedJob {
        id: "job-1".into(),
        job_type: JobType::Post,
        platform: Platform::Instagram,
        text: text.into(),
        media_paths: vec!["https://claw.example/media/1.png".into()],
        platform_payload: None,
        lease_expires_at: 0,
        attempt: 1,
    }
}

/// What the page answers at a step: `None` is the happy default.
type Answer = Option<Observation>;

/// Feeds observations to the engine, keeping the state the way the worker
/// does (serialised between transitions, as in chrome.storage).
struct Driver {
    pack: Pack,
    job: LeasedJob,
    state: EngineState,
    /// Every command with the id of the step that sent it.
    commands: Vec<(String, Command)>,
}

impl Driver {
    fn new(text: &str) -> Driver {
        Driver {
            pack: Pack::builtin(Platform::Instagram).unwrap(),
            job: job(text),
            state: EngineState::default(),
            commands: Vec::new(),
        }
    }

    fn step_id(&self) -> String {
        let flow = self.pack.flow(JobType::Post).unwrap();
        flow.steps
            .get(self.state.step)
            .map(|s| s.id.clone())
            .unwrap_or_default()
    }

    fn feed(&mut self, obs: Observation) -> Command {
        let state: EngineState =
            serde_json::from_str(&serde_json::to_string(&self.state).unwrap()).unwrap();
        let (state, cmd) = advance(&self.pack, &self.job, state, obs);
        self.state = state;
        self.commands.push((self.step_id(), cmd.clone()));
        cmd
    }

    /// Runs the job to its end; `page` may answer a step differently from
    /// the happy default (it sees the step id, the command and how often
    /// that step has sent a command so far).
    fn run(&mut self, mut page: impl FnMut(&str, &Command, usize) -> Answer) -> Outcome {
        let mut cmd = self.feed(Observation::Start { url: None });
        for _ in 0..300 {
            if let Command::Finish { outcome } = &cmd {
                return outcome.clone();
            }
            let id = self.step_id();
            let seen = self.commands.iter().filter(|(s, _)| *s == id).count() - 1;
            let obs = page(&id, &cmd, seen).unwrap_or_else(|| happy(&id, &cmd, &self.job.text));
            cmd = self.feed(obs);
        }
        panic!("the flow did not end: {:?}", self.commands.last());
    }

    fn submit_clicks(&self) -> usize {
        self.commands
            .iter()
            .filter(|(id, c)| id == "share" && is_click(c))
            .count()
    }

    /// How often the caption was typed.
    fn typed(&self) -> usize {
        self.commands
            .iter()
            .filter(|(_, c)| {
                matches!(
                    c,
                    Command::Agent {
                        command: AgentCommand::InsertText { .. }
                    }
                )
            })
            .count()
    }

    fn reported_submitting(&self) -> bool {
        self.commands
            .iter()
            .any(|(_, c)| *c == Command::ReportSubmitting)
    }

    /// The URLs navigated to after the publish click.
    fn navigations_after_click(&self) -> Vec<String> {
        let at = self
            .commands
            .iter()
            .position(|(id, c)| id == "share" && is_click(c))
            .expect("a publish click");
        self.commands[at..]
            .iter()
            .filter_map(|(_, c)| match c {
                Command::Navigate { url, .. } => Some(url.clone()),
                _ => None,
            })
            .collect()
    }

    fn command_of(&self, step: &str) -> &Command {
        &self
            .commands
            .iter()
            .find(|(id, _)| id == step)
            .unwrap_or_else(|| panic!("no command from step {step:?}"))
            .1
    }
}

fn is_click(c: &Command) -> bool {
    matches!(
        c,
        Command::Agent {
            command: AgentCommand::Click { .. }
        }
    )
}

fn agent(reply: Value) -> Observation {
    Observation::Agent {
        reply: serde_json::from_value(reply).unwrap(),
    }
}

fn matched(key: &str) -> Observation {
    agent(json!({"ok": true, "url": PROFILE, "matched": key, "via": 0}))
}

fn timed_out() -> Observation {
    agent(json!({"ok": true, "url": PROFILE, "probes": [{"found": false}]}))
}

fn value(v: &str) -> Observation {
    agent(json!({"ok": true, "url": PROFILE, "found": true, "via": 0, "value": v}))
}

/// The page of a plain, successful post found on the profile grid.
fn happy(step: &str, cmd: &Command, text: &str) -> Observation {
    match cmd {
        Command::Navigate { url, .. } => return Observation::Navigated { url: url.clone() },
        Command::ReportSubmitting => return Observation::SubmittingAccepted,
        Command::AttachMedia { .. } => {
            return agent(json!({"ok": true, "url": HOME, "found": true, "via": 0, "count": 1}))
        }
        _ => {}
    }
    match step {
        "home" | "profileShown" | "uploadStep" | "captionShown" | "captionLive" | "isThisPost" => {
            matched("s0")
        }
        "createShown" | "createMenu" | "editShown" => matched("s1"),
        "cropShown" => matched("s2"),
        "confirm" => matched("s1"),
        "networkLate" => timed_out(),
        "meLink" | "profile" => value(PROFILE),
        "before" => agent(json!({"ok": true, "url": PROFILE, "found": true, "via": 0,
            "values": [PINNED, OLDER]})),
        "newTile" | "newTile2" => value(NEW_TILE),
        "canonicalUrl" => value(CANONICAL),
        "text" => agent(json!({"ok": true, "url": HOME, "found": true, "via": 0,
            "method": "paste", "text": text})),
        "verify" => agent(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
            {"found": true, "enabled": true, "text": text, "via": 0},
            {"found": true, "enabled": true, "via": 0}]})),
        _ => agent(json!({"ok": true, "url": HOME, "found": true, "via": 0})),
    }
}

fn failed(o: &Outcome) -> JobErrorCode {
    match o {
        Outcome::Failed { code, .. } => *code,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn post_url(o: &Outcome) -> Option<String> {
    match o {
        Outcome::Succeeded { post_url, .. } => post_url.clone(),
        _ => None,
    }
}

/// The wait branch key of the pack's signal with this reason.
fn signal_key(pack: &Pack, reason: &str) -> String {
    let i = pack
        .signals
        .iter()
        .position(|s| s.reason.as_deref() == Some(reason))
        .unwrap_or_else(|| panic!("no signal with reason {reason}"));
    format!("g{i}")
}

#[test]
fn the_configure_response_names_the_post() {
    let mut d = Driver::new(TEXT);
    let o = d.run(|step, _, _| match step {
        "confirm" => Some(agent(
            json!({"ok": true, "url": PROFILE, "matched": "s0", "probes": [
            {"found": false, "values": {"code": "DNetw0rkC0d", "pk": "3782145198765432101"}}]}),
        )),
        _ => None,
    });
    assert_eq!(
        post_url(&o).as_deref(),
        Some("https://www.instagram.com/p/DNetw0rkC0d/")
    );
    assert_eq!(d.submit_clicks(), 1);
    // The publish click arms the configure rule.
    let click = d
        .commands
        .iter()
        .find(|(id, c)| id == "share" && is_click(c))
        .map(|(_, c)| c);
    match click.expect("the publish click") {
        Command::Agent {
            command: AgentCommand::Click { arm, .. },
        } => {
            let rule = arm
                .iter()
                .find(|r| r.id == "create")
                .expect("the create rule is armed");
            assert_eq!(rule.method.as_deref(), Some("POST"));
            assert!(rule.captures["code"]
                .paths
                .contains(&"media.code".to_string()));
        }
        other => panic!("expected the publish click, got {other:?}"),
    }
    // Nothing else was looked up: the profile is not opened.
    assert!(d.navigations_after_click().is_empty());
}

#[test]
fn without_network_evidence_the_new_tile_confirmed_by_its_caption_is_the_post() {
    let mut d = Driver::new(TEXT);
    let o = d.run(|_, _, _| None);
    // Reported by the post page's canonical URL.
    assert_eq!(post_url(&o).as_deref(), Some(CANONICAL));
    assert_eq!(d.submit_clicks(), 1);
    // The tiles present before Share are excluded.
    match d.command_of("newTile") {
        Command::Agent {
            command: AgentCommand::Read { exclude, what, .. },
        } => {
            assert_eq!(what, "href");
            assert_eq!(exclude, &vec![PINNED.to_string(), OLDER.to_string()]);
        }
        other => panic!("expected the tile read, got {other:?}"),
    }
    // Its post page must show the whole caption, not a prefix.
    match d.command_of("isThisPost") {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => {
            let target = branches[0].probes[0].target.as_ref().unwrap();
            let pattern = target.0[0].text_pattern.as_deref().expect("postText");
            assert!(pattern.contains("clawpost"), "{pattern}");
        }
        other => panic!("expected the caption wait, got {other:?}"),
    }
    assert_eq!(
        d.navigations_after_click(),
        vec![PROFILE.to_string(), NEW_TILE.to_string()]
    );
}

#[test]
fn without_a_canonical_link_the_tile_url_is_reported() {
    let mut d = Driver::new(TEXT);
    let o = d.run(|step, _, _| match step {
        "canonicalUrl" => Some(agent(json!({"ok": true, "url": NEW_TILE, "found": false}))),
        _ => None,
    });
    assert_eq!(post_url(&o).as_deref(), Some(NEW_TILE));
}

#[test]
fn a_new_tile_with_another_caption_is_outcome_unknown() {
    let mut d = Driver::new(TEXT);
    let o = d.run(|step, _, _| match step {
        "newTile" => Some(value("https://www.instagram.com/p/DFromPh0ne1/")),
        "isThisPost" => Some(timed_out()),
        _ => None,
    });
    assert_eq!(failed(&o), JobErrorCode::OutcomeUnknown);
    assert!(failure_details(&d.state).unwrap()["seen"]
        .as_str()
        .unwrap()
        .contains("another caption"));
    assert!(!d.state.vars.contains_key("postUrl"));
}

#[test]
fn a_stale_profile_is_loaded_twice_then_outcome_unknown_never_an_older_post() {
    let mut d = Driver::new(TEXT);
    // Only tiles that were there before: found, but nothing new.
    let o = d.run(|step, _, _| match step {
        "newTile" | "newTile2" => Some(agent(
            json!({"ok": true, "url": PROFILE, "found": true, "via": 0}),
        )),
        _ => None,
    });
    assert_eq!(failed(&o), JobErrorCode::OutcomeUnknown);
    assert_eq!(
        d.navigations_after_click(),
        vec![PROFILE.to_string(), PROFILE.to_string()]
    );
    assert!(!d.state.vars.contains_key("postUrl"));
    assert!(failure_details(&d.state).unwrap()["seen"]
        .as_str()
        .unwrap()
        .contains("no new tile"));
}

#[test]
fn a_stale_first_load_finds_the_post_after_a_reload() {
    let mut d = Driver::new(TEXT);
    let o = d.run(|step, _, _| match step {
        "newTile" => Some(agent(
            json!({"ok": true, "url": PROFILE, "found": true, "via": 0}),
        )),
        _ => None,
    });
    assert_eq!(post_url(&o).as_deref(), Some(CANONICAL));
    assert_eq!(
        d.navigations_after_click(),
        vec![
            PROFILE.to_string(),
            PROFILE.to_string(),
            NEW_TILE.to_string()
        ]
    );
}

#[test]
fn interruptions_fail_at_once_with_their_reason_and_nothing_is_clicked() {
    for reason in ["checkpoint", "suspended", "two_factor"] {
        let mut d = Driver::new(TEXT);
        let key = signal_key(&d.pack, reason);
        let o = d.run(|step, _, _| match step {
            "home" => Some(agent(json!({"ok": true,
                "url": "https://www.instagram.com/challenge/action/AXF/?next=%2F", "matched": key}))),
            _ => None,
        });
        assert_eq!(failed(&o), JobErrorCode::NotLoggedIn, "{reason}");
        assert_eq!(failure_details(&d.state).unwrap()["reason"], reason);
        assert!(!d.reported_submitting());
        assert_eq!(d.commands.iter().filter(|(_, c)| is_click(c)).count(), 0);
    }
}

#[test]
fn the_url_signals_recognise_the_interruption_pages() {
    let pack = Pack::builtin(Platform::Instagram).unwrap();
    let reason_of = |url: &str| -> Option<String> {
        pack.signals.iter().find_map(|s| {
            let re = s.when[0].url_matches.as_deref()?;
            regex::Regex::new(re)
                .unwrap()
                .is_match(url)
                .then(|| s.reason.clone().unwrap_or_else(|| "login".into()))
        })
    };
    assert_eq!(
        reason_of("https://www.instagram.com/challenge/action/AXFkz0r3/?next=%2F").as_deref(),
        Some("checkpoint")
    );
    assert_eq!(
        reason_of("https://www.instagram.com/accounts/suspended/?next=%2F").as_deref(),
        Some("suspended")
    );
    assert_eq!(
        reason_of("https://www.instagram.com/accounts/login/two_factor/?next=%2F").as_deref(),
        Some("two_factor")
    );
    assert_eq!(
        reason_of("https://www.instagram.com/accounts/login/?next=%2F").as_deref(),
        Some("login")
    );
    assert_eq!(reason_of("https://www.instagram.com/claw.test/"), None);
}

#[test]
fn a_checkpoint_after_share_is_not_logged_in_not_outcome_unknown() {
    let mut d = Driver::new(TEXT);
    let key = signal_key(&d.pack, "checkpoint");
    let o = d.run(|step, _, _| match step {
        "confirm" => Some(agent(json!({"ok": true,
            "url": "https://www.instagram.com/challenge/AXGq5uVh0w4rZ2x9/?next=%2F", "matched": key}))),
        _ => None,
    });
    assert_eq!(failed(&o), JobErrorCode::NotLoggedIn);
    assert_eq!(failure_details(&d.state).unwrap()["reason"], "checkpoint");
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn the_notifications_prompt_is_dismissed_by_not_now_in_any_language() {
    let mut d = Driver::new(TEXT);
    let o = d.run(|step, _, seen| match step {
        // The prompt is up the first time; gone after "Not Now".
        "createShown" if seen == 0 => Some(matched("s0")),
        _ => None,
    });
    assert_eq!(post_url(&o).as_deref(), Some(CANONICAL));
    match d.command_of("dismiss") {
        Command::Agent {
            command: AgentCommand::Dismiss { target },
        } => {
            let names = &target.0[0].name_any;
            for label in ["Not Now", "Agora não", "Non ora", "Jetzt nicht", "後で"] {
                assert!(names.iter().any(|n| n == label), "{label} in {names:?}");
            }
            // Never the prompt's other button.
            assert!(!names
                .iter()
                .any(|n| n == "Turn On" || n == "Ativar" || n == "Attiva"));
        }
        other => panic!("expected the dismissal, got {other:?}"),
    }
    let creates: Vec<_> = d
        .commands
        .iter()
        .filter(|(id, c)| id == "create" && is_click(c))
        .collect();
    assert_eq!(creates.len(), 1);
}

#[test]
fn a_prompt_that_never_goes_away_ends_the_job_before_anything_is_posted() {
    let mut d = Driver::new(TEXT);
    let o = d.run(|step, _, _| match step {
        "createShown" => Some(matched("s0")),
        _ => None,
    });
    assert!(matches!(o, Outcome::Failed { .. }), "{o:?}");
    assert!(!d.reported_submitting());
}

#[test]
fn a_swapped_caption_box_is_typed_again_a_bounded_number_of_times() {
    // The check sees the editor replaced once, then the text holds.
    let mut d = Driver::new(TEXT);
    let o = d.run(|step, _, seen| match step {
        "verify" if seen == 0 => Some(agent(json!({"ok": true, "url": HOME, "replaced": true,
            "probes": [{"found": true, "enabled": true, "text": ""}, {"found": true, "enabled": true}]}))),
        _ => None,
    });
    assert_eq!(post_url(&o).as_deref(), Some(CANONICAL));
    assert_eq!(d.typed(), 2);
    assert_eq!(d.submit_clicks(), 1);

    // A caption box that keeps losing the text: never shared.
    let mut d = Driver::new(TEXT);
    let o = d.run(|step, _, _| match step {
        "verify" => Some(agent(json!({"ok": true, "url": HOME, "probes": [
            {"found": true, "enabled": true, "text": ""}, {"found": true, "enabled": true}]}))),
        _ => None,
    });
    assert!(matches!(o, Outcome::Failed { .. }), "{o:?}");
    assert!(!d.reported_submitting());
    assert_eq!(d.typed(), 3, "typed again, at most three times in all");
}

#[test]
fn every_label_is_used_and_the_flow_texts_go_through_labels() {
    let pack = Pack::builtin(Platform::Instagram).unwrap();
    let json: Value = serde_json::from_str(extension_core::pack::INSTAGRAM_PACK_JSON).unwrap();
    let targets = json["targets"].to_string();
    for name in pack.labels.keys() {
        assert!(
            targets.contains(&format!("\"@{name}\"")),
            "label {name} is not used"
        );
    }
    // The flow's visible texts go through labels: Share, Next, Not Now.
    for (target, label) in [
        ("shareButton", "@share"),
        ("nextButton", "@next"),
        ("notNow", "@notNow"),
    ] {
        let first = &json["targets"][target][0];
        assert_eq!(first["name"], label, "{target}");
    }
    assert!(pack.deadline_ms() <= 180_000);
}

//! The X pack run by the engine against recorded observations: the replies
//! the DOM agent and the worker give on real (fixture) pages, as JSON.

use extension_core::engine::{
    advance, AgentCommand, Command, EngineState, Observation, Outcome, SubmitPhase,
};
use extension_core::pack::Pack;
use extension_core::{JobErrorCode, JobType, LeasedJob, Platform};
use serde_json::json;

fn job(text: &str, media: &[&str]) -> LeasedJob {
    LeasedJob {
        id: "job-1".into(),
        job_type: JobType::Post,
        platform: Platform::X,
        text: text.into(),
        media_paths: media.iter().map(|s| s.to_string()).collect(),
        platform_payload: None,
        lease_expires_at: 0,
        attempt: 1,
    }
}

/// Feeds observations to the engine, keeping the state the way the worker
/// does (serialised between transitions, as in chrome.storage).
struct Driver {
    pack: Pack,
    job: LeasedJob,
    state: EngineState,
    commands: Vec<Command>,
}

impl Driver {
    fn new(job: LeasedJob) -> Driver {
        Driver {
            pack: Pack::builtin(Platform::X).unwrap(),
            job,
            state: EngineState::default(),
            commands: Vec::new(),
        }
    }

    fn feed(&mut self, obs: Observation) -> Command {
        // Round-trip through JSON like the persisted state.
        let state: EngineState =
            serde_json::from_str(&serde_json::to_string(&self.state).unwrap()).unwrap();
        let (state, cmd) = advance(&self.pack, &self.job, state, obs);
        self.state = state;
        self.commands.push(cmd.clone());
        cmd
    }

    fn reply(&mut self, reply: serde_json::Value) -> Command {
        self.feed(Observation::Agent {
            reply: serde_json::from_value(reply).unwrap(),
        })
    }

    /// How many clicks on the submit control were emitted.
    fn submit_clicks(&self) -> usize {
        self.commands.iter().filter(|c| is_submit_click(c)).count()
    }
}

fn is_submit_click(c: &Command) -> bool {
    match c {
        Command::Agent {
            command: AgentCommand::Click { target, .. },
        } => target.0[0]
            .css
            .as_deref()
            .is_some_and(|c| c.contains("tweetButton")),
        _ => false,
    }
}

fn wait_keys(c: &Command) -> Vec<String> {
    match c {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => branches.iter().map(|b| b.key.clone()).collect(),
        other => panic!("expected a wait, got {other:?}"),
    }
}

fn outcome(c: &Command) -> &Outcome {
    match c {
        Command::Finish { outcome } => outcome,
        other => panic!("expected the end, got {other:?}"),
    }
}

fn failed_code(c: &Command) -> JobErrorCode {
    match outcome(c) {
        Outcome::Failed { code, .. } => *code,
        other => panic!("expected a failure, got {other:?}"),
    }
}

const COMPOSE: &str = "https://x.com/compose/post";
const HOME: &str = "https://x.com/home";

/// Runs a text-only post from a fresh tab up to the submit click; returns the
/// driver right after the click was emitted.
fn up_to_click(text: &str) -> Driver {
    let mut d = Driver::new(job(text, &[]));
    let c = d.feed(Observation::Start { url: None });
    assert_eq!(
        c,
        Command::Navigate {
            url: HOME.into(),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated { url: HOME.into() });
    // The composer wait carries the pack's signals (login wall, limits).
    let keys = wait_keys(&c);
    assert_eq!(keys[0], "s0");
    assert!(keys.iter().any(|k| k == "g1"));
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0", "via": 0}));
    // Cookie bar: dismissed only if present right now.
    match &c {
        Command::Agent {
            command: AgentCommand::Click { timeout_ms, .. },
        } => assert_eq!(*timeout_ms, 0),
        other => panic!("expected the overlay dismissal, got {other:?}"),
    }
    // No media: attach steps are skipped, text goes in.
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": false}));
    match &c {
        Command::Agent {
            command: AgentCommand::InsertText { text: t, .. },
        } => assert_eq!(t, text),
        other => panic!("expected insertText, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "via": 0,
        "method": "paste", "text": format!("{text}\n")}));
    match &c {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => {
            assert_eq!(branches[0].probes.len(), 2);
            assert_eq!(branches[0].probes[0].text_equals.as_deref(), Some(text));
            assert!(branches[0].probes[1].enabled);
        }
        other => panic!("expected the check, got {other:?}"),
    }
    let c = d.reply(
        json!({"ok": true, "url": COMPOSE, "matched": "s0", "probes": [
            {"found": true, "enabled": true, "text": text, "via": 0},
            {"found": true, "enabled": true, "via": 0}
        ]}),
    );
    assert_eq!(c, Command::ReportSubmitting);
    assert_eq!(d.state.submit, SubmitPhase::Reporting);
    assert_eq!(d.submit_clicks(), 0, "no click before the server accepted");
    let c = d.feed(Observation::SubmittingAccepted);
    assert!(is_submit_click(&c), "{c:?}");
    assert_eq!(d.state.submit, SubmitPhase::Clicked);
    d
}

#[test]
fn text_post_from_a_fresh_tab_succeeds_with_the_toast_link() {
    let mut d = up_to_click("Hello from Claw Post!\n\nSecond paragraph.");
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "via": 0}));
    assert_eq!(wait_keys(&c)[0], "s0");
    let c = d.reply(json!({"ok": true, "url": "https://x.com/home", "matched": "s0"}));
    match &c {
        Command::Agent {
            command: AgentCommand::Read { what, .. },
        } => assert_eq!(what, "href"),
        other => panic!("expected the link read, got {other:?}"),
    }
    let c = d.reply(
        json!({"ok": true, "url": "https://x.com/home", "found": true, "via": 0,
        "value": "https://x.com/clawtest/status/1790000000000000001/analytics"}),
    );
    assert_eq!(
        outcome(&c),
        &Outcome::Succeeded {
            post_url: Some("https://x.com/clawtest/status/1790000000000000001".into()),
            details: None
        }
    );
    assert_eq!(d.submit_clicks(), 1);
    let ack = outcome(&c).ack("job-1", Some("x-2026.07.1")).unwrap();
    assert_eq!(ack.pack_version.as_deref(), Some("x-2026.07.1"));
    assert!(ack.error_code.is_none());
}

#[test]
fn without_a_home_composer_the_modal_composer_is_opened() {
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated { url: HOME.into() });
    // No editor on /home within the timeout.
    let c = d.reply(json!({"ok": true, "url": HOME, "probes": [{"found": false}]}));
    assert_eq!(
        c,
        Command::Navigate {
            url: COMPOSE.into(),
            timeout_ms: 30_000
        }
    );
    d.feed(Observation::Navigated {
        url: COMPOSE.into(),
    });
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    assert!(
        matches!(
            &c,
            Command::Agent {
                command: AgentCommand::Click { timeout_ms: 0, .. }
            }
        ),
        "went on with the flow: {c:?}"
    );
    // And a composer that never shows up is selector_not_found.
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated { url: HOME.into() });
    d.reply(json!({"ok": true, "url": HOME}));
    d.feed(Observation::Navigated {
        url: COMPOSE.into(),
    });
    let c = d.reply(json!({"ok": true, "url": COMPOSE}));
    assert_eq!(failed_code(&c), JobErrorCode::SelectorNotFound);
}

#[test]
fn inline_home_composer_is_used_without_navigating() {
    let mut d = Driver::new(job("hi", &[]));
    let c = d.feed(Observation::Start {
        url: Some("https://x.com/home".into()),
    });
    assert_eq!(wait_keys(&c)[0], "s0", "went straight to the composer wait");
    assert!(d
        .commands
        .iter()
        .all(|c| !matches!(c, Command::Navigate { .. })));
}

#[test]
fn a_login_wall_fails_with_not_logged_in() {
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated {
        url: "https://x.com/i/flow/login?redirect_after_login=%2Fcompose%2Fpost".into(),
    });
    // The agent saw the URL signal (g0).
    let c = d.reply(json!({"ok": true, "url": "https://x.com/i/flow/login", "matched": "g0"}));
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn a_missing_composer_is_selector_not_found() {
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start {
        url: Some(COMPOSE.into()),
    });
    d.reply(json!({"ok": true, "url": COMPOSE, "probes": [{"found": false}]}));
    d.feed(Observation::Navigated {
        url: COMPOSE.into(),
    });
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "probes": [{"found": false}]}));
    assert_eq!(failed_code(&c), JobErrorCode::SelectorNotFound);
}

#[test]
fn an_unreachable_tab_before_the_click_is_content_script_unavailable() {
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    let c = d.feed(Observation::Unreachable {
        message: "Receiving end does not exist.".into(),
    });
    assert_eq!(failed_code(&c), JobErrorCode::ContentScriptUnavailable);
}

#[test]
fn a_disabled_submit_or_wrong_text_never_reaches_submitting() {
    for probes in [
        // Timed out: the button stayed disabled.
        json!({"ok": true, "url": COMPOSE, "probes": [
            {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": false}]}),
        // The agent claims a match, but the text is not the post's.
        json!({"ok": true, "url": COMPOSE, "matched": "s0", "probes": [
            {"found": true, "enabled": true, "text": "h"}, {"found": true, "enabled": true}]}),
        // Matched, but the submit probe says disabled.
        json!({"ok": true, "url": COMPOSE, "matched": "s0", "probes": [
            {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": false}]}),
    ] {
        let mut d = Driver::new(job("hi", &[]));
        d.feed(Observation::Start {
            url: Some(COMPOSE.into()),
        });
        d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
        d.reply(json!({"ok": true, "url": COMPOSE, "found": false}));
        d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "text": "hi"}));
        let c = d.reply(probes);
        assert_eq!(failed_code(&c), JobErrorCode::UnknownError, "{c:?}");
        assert!(d
            .commands
            .iter()
            .all(|c| !matches!(c, Command::ReportSubmitting)));
    }
}

#[test]
fn an_editor_that_drops_the_text_fails_before_submitting() {
    let mut d = Driver::new(job("first\n\nsecond", &[]));
    d.feed(Observation::Start {
        url: Some(COMPOSE.into()),
    });
    d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    d.reply(json!({"ok": true, "url": COMPOSE, "found": false}));
    // execCommand-style loss of everything before the blank line (OpenCLI #93).
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "text": "second"}));
    assert_eq!(failed_code(&c), JobErrorCode::UnknownError);
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn a_lost_lease_abandons_without_clicking() {
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start {
        url: Some(COMPOSE.into()),
    });
    d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    d.reply(json!({"ok": true, "url": COMPOSE, "found": false}));
    d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "text": "hi"}));
    let c = d.reply(
        json!({"ok": true, "url": COMPOSE, "matched": "s0", "probes": [
        {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}),
    );
    assert_eq!(c, Command::ReportSubmitting);
    let c = d.feed(Observation::LeaseLost);
    assert!(matches!(outcome(&c), Outcome::Abandoned { .. }));
    assert!(outcome(&c).ack("job-1", None).is_none(), "nothing to ack");
    assert_eq!(d.submit_clicks(), 0);
    // Whatever arrives later, the job stays over.
    let c = d.feed(Observation::SubmittingAccepted);
    assert!(matches!(outcome(&c), Outcome::Abandoned { .. }));
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn restart_after_the_click_confirms_from_the_profile_and_never_clicks_again() {
    let mut d = up_to_click("Restart me");
    assert_eq!(d.submit_clicks(), 1);
    // The worker died right after sending the click; the state it persisted
    // says Clicked. It comes back:
    let c = d.feed(Observation::Restarted {
        url: Some("https://x.com/home".into()),
    });
    assert_eq!(wait_keys(&c)[0], "s0", "looks for the confirmation");
    // The toast is long gone.
    let c = d.reply(json!({"ok": true, "url": "https://x.com/home", "probes": [{"found": false}]}));
    match &c {
        Command::Agent {
            command: AgentCommand::Read { target, .. },
        } => assert!(target.0[0]
            .css
            .as_deref()
            .unwrap()
            .contains("AppTabBar_Profile_Link")),
        other => panic!("expected the profile link read, got {other:?}"),
    }
    let c = d.reply(
        json!({"ok": true, "url": "https://x.com/home", "found": true,
        "value": "https://x.com/clawtest"}),
    );
    assert_eq!(
        c,
        Command::Navigate {
            url: "https://x.com/clawtest".into(),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated {
        url: "https://x.com/clawtest".into(),
    });
    match &c {
        Command::Agent {
            command: AgentCommand::Read { target, .. },
        } => assert_eq!(target.0[0].text.as_deref(), Some("Restart me")),
        other => panic!("expected the post lookup, got {other:?}"),
    }
    let c = d.reply(
        json!({"ok": true, "url": "https://x.com/clawtest", "found": true, "via": 1,
        "value": "https://x.com/clawtest/status/42"}),
    );
    match outcome(&c) {
        Outcome::Succeeded { post_url, details } => {
            assert_eq!(
                post_url.as_deref(),
                Some("https://x.com/clawtest/status/42")
            );
            // The fallback locator is reported for selector maintenance.
            assert_eq!(
                details.as_ref().unwrap()["fallbacks"],
                json!(["profilePostLink#1"])
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.submit_clicks(), 1, "never clicked twice");
}

#[test]
fn restart_after_the_click_without_confirmation_is_outcome_unknown() {
    let mut d = up_to_click("hi");
    d.feed(Observation::Restarted { url: None });
    d.reply(json!({"ok": true, "url": "https://x.com/home"}));
    let c = d.reply(json!({"ok": true, "url": "https://x.com/home", "found": false}));
    assert_eq!(failed_code(&c), JobErrorCode::OutcomeUnknown);
    assert_eq!(d.submit_clicks(), 1);
    // A tab that vanished after the click is also outcome_unknown.
    let mut d = up_to_click("hi");
    let c = d.feed(Observation::Unreachable {
        message: "tab closed".into(),
    });
    assert_eq!(failed_code(&c), JobErrorCode::OutcomeUnknown);
}

#[test]
fn restart_while_reporting_submitting_starts_over_and_clicks_once() {
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start {
        url: Some(COMPOSE.into()),
    });
    d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    d.reply(json!({"ok": true, "url": COMPOSE, "found": false}));
    d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "text": "hi"}));
    let c = d.reply(
        json!({"ok": true, "url": COMPOSE, "matched": "s0", "probes": [
        {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}),
    );
    assert_eq!(c, Command::ReportSubmitting);
    // The worker died while the progress request was in flight: the click
    // was never sent, so the flow may start over.
    let c = d.feed(Observation::Restarted {
        url: Some(COMPOSE.into()),
    });
    assert_eq!(wait_keys(&c)[0], "s0");
    assert_eq!(d.state.submit, SubmitPhase::NotYet);
    // A stale acceptance from before the restart is not a licence to click.
    let c = d.feed(Observation::SubmittingAccepted);
    assert_eq!(failed_code(&c), JobErrorCode::UnknownError);
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn rate_limits_fail_and_duplicates_count_as_already_posted() {
    let mut d = up_to_click("hi");
    d.reply(json!({"ok": true, "url": COMPOSE, "found": true}));
    // The pack's rate-limit signal is g2.
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "matched": "g2"}));
    assert_eq!(failed_code(&c), JobErrorCode::RateLimited);
    // X's notice names no wait: no retryAfter.
    assert_eq!(extension_core::engine::failure_details(&d.state), None);

    // A pack whose rate-limit signal knows the wait reports it.
    let mut d = up_to_click("hi");
    d.pack.signals[2].retry_after_seconds = Some(3600);
    d.reply(json!({"ok": true, "url": COMPOSE, "found": true}));
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "matched": "g2"}));
    assert_eq!(failed_code(&c), JobErrorCode::RateLimited);
    assert_eq!(
        extension_core::engine::failure_details(&d.state),
        Some(json!({"retryAfter": 3600}))
    );

    // "You already said that": the earlier post went out; the job succeeds
    // with that post's URL from the profile, and nothing is clicked again.
    let mut d = up_to_click("hi");
    d.reply(json!({"ok": true, "url": COMPOSE, "found": true}));
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s1"}));
    match &c {
        Command::Agent {
            command: AgentCommand::Read { target, .. },
        } => assert!(target.0[0].css.as_deref().unwrap().contains("Profile_Link")),
        other => panic!("{other:?}"),
    }
    let profile = "https://x.com/clawtest";
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "value": profile}));
    assert_eq!(
        c,
        Command::Navigate {
            url: profile.into(),
            timeout_ms: 30_000
        }
    );
    d.feed(Observation::Navigated {
        url: profile.into(),
    });
    let earlier = "https://x.com/clawtest/status/1790000000000000077";
    let c = d.reply(json!({"ok": true, "url": profile, "found": true, "value": earlier}));
    match outcome(&c) {
        Outcome::Succeeded { post_url, details } => {
            assert_eq!(post_url.as_deref(), Some(earlier));
            assert_eq!(details, &Some(json!({"alreadyPosted": "true"})));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.submit_clicks(), 1);

    // Without the earlier post on the profile, it fails — still no retry.
    let mut d = up_to_click("hi");
    d.reply(json!({"ok": true, "url": COMPOSE, "found": true}));
    d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s1"}));
    d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "value": profile}));
    d.feed(Observation::Navigated {
        url: profile.into(),
    });
    let c = d.reply(json!({"ok": true, "url": profile, "found": false}));
    match outcome(&c) {
        Outcome::Failed { code, message } => {
            assert_eq!(*code, JobErrorCode::UnknownError);
            assert!(message.contains("already posted"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn a_toast_link_that_is_not_a_status_url_falls_back_to_the_profile() {
    let mut d = up_to_click("hi");
    d.reply(json!({"ok": true, "url": COMPOSE, "found": true}));
    d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "value": "/status/abc"}));
    match &c {
        Command::Agent {
            command: AgentCommand::Read { target, .. },
        } => assert!(target.0[0].css.as_deref().unwrap().contains("Profile_Link")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn media_jobs_attach_then_wait_for_previews() {
    let mut d = Driver::new(job("pic", &["http://127.0.0.1:8080/v1/media/a.png"]));
    d.feed(Observation::Start {
        url: Some(COMPOSE.into()),
    });
    d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": false}));
    match &c {
        Command::AttachMedia { target, .. } => {
            assert!(target
                .0
                .iter()
                .any(|l| l.css.as_deref() == Some(r#"input[data-testid="fileInput"]"#)))
        }
        other => panic!("expected the attachment, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "count": 1}));
    assert_eq!(wait_keys(&c)[..2], ["s0", "s1"]);
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s1"}));
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::InsertText { .. }
        }
    ));

    // A failed download ends the job with media_fetch_failed.
    let mut d = Driver::new(job("pic", &["http://127.0.0.1:8080/v1/media/a.png"]));
    d.feed(Observation::Start {
        url: Some(COMPOSE.into()),
    });
    d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    d.reply(json!({"ok": true, "url": COMPOSE, "found": false}));
    let c = d.feed(Observation::MediaFailed {
        message: "HTTP 404".into(),
    });
    assert_eq!(failed_code(&c), JobErrorCode::MediaFetchFailed);

    // The page took fewer files than sent.
    let mut d = Driver::new(job("pic", &["http://h/a.png", "http://h/b.png"]));
    d.feed(Observation::Start {
        url: Some(COMPOSE.into()),
    });
    d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    d.reply(json!({"ok": true, "url": COMPOSE, "found": false}));
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "found": true, "count": 1}));
    assert_eq!(failed_code(&c), JobErrorCode::UnknownError);
}

#[test]
fn a_finished_job_stays_finished() {
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    let c = d.feed(Observation::TimedOut);
    let first = outcome(&c).clone();
    let c = d.feed(Observation::Restarted { url: None });
    assert_eq!(outcome(&c), &first);
}

/// The observation a well-behaved page and server give for a command.
fn happy(cmd: &Command) -> Observation {
    let reply = |v: serde_json::Value| Observation::Agent {
        reply: serde_json::from_value(v).unwrap(),
    };
    match cmd {
        Command::Navigate { url, .. } => Observation::Navigated { url: url.clone() },
        Command::ReportSubmitting => Observation::SubmittingAccepted,
        Command::AttachMedia { .. } => reply(json!({"ok": true, "found": true, "count": 0})),
        Command::Agent { command } => match command {
            AgentCommand::WaitFor { .. } => {
                reply(json!({"ok": true, "url": COMPOSE, "matched": "s0",
                "probes": [{"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}))
            }
            AgentCommand::InsertText { text, .. } => {
                reply(json!({"ok": true, "url": COMPOSE, "found": true, "text": text}))
            }
            AgentCommand::Read { .. } => reply(json!({"ok": true, "url": COMPOSE, "found": true,
                "value": "https://x.com/a/status/1"})),
            _ => reply(json!({"ok": true, "url": COMPOSE, "found": true})),
        },
        Command::Finish { .. } => Observation::Restarted {
            url: Some(COMPOSE.into()),
        },
    }
}

/// A tiny deterministic PRNG for the adversarial run below.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn no_observation_sequence_clicks_submit_twice_or_without_acceptance() {
    let replies = [
        json!({"ok": true, "url": COMPOSE, "matched": "s0", "found": true, "via": 0, "count": 0,
            "text": "hi", "value": "https://x.com/a/status/1",
            "probes": [{"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}),
        json!({"ok": true, "url": COMPOSE, "found": false}),
        json!({"ok": true, "url": COMPOSE, "matched": "s4"}),
        json!({"ok": false, "error": "boom"}),
    ];
    let mut runs_that_clicked = 0;
    for seed in 0..1500u64 {
        let mut rng = Lcg(seed);
        let mut d = Driver::new(job("hi", &[]));
        let mut last = d.feed(Observation::Start { url: None });
        let mut accepted_since_report = false;
        for _ in 0..40 {
            // Mostly the answer the last command expects, sometimes anything.
            let obs = if rng.next() % 10 < 7 {
                happy(&last)
            } else {
                match rng.next() % 9 {
                    0 => Observation::Navigated {
                        url: COMPOSE.into(),
                    },
                    1 => Observation::SubmittingAccepted,
                    2 => Observation::Restarted {
                        url: Some(COMPOSE.into()),
                    },
                    3 => Observation::LeaseLost,
                    4 => Observation::Unreachable {
                        message: "gone".into(),
                    },
                    n => Observation::Agent {
                        reply: serde_json::from_value(replies[(n % 4) as usize].clone()).unwrap(),
                    },
                }
            };
            let is_accept = matches!(obs, Observation::SubmittingAccepted);
            let before = d.submit_clicks();
            let cmd = d.feed(obs);
            if d.submit_clicks() > before {
                assert!(is_accept, "seed {seed}: click without a fresh acceptance");
                assert!(!accepted_since_report || is_accept);
            }
            accepted_since_report = matches!(cmd, Command::ReportSubmitting);
            last = cmd.clone();
            assert!(d.submit_clicks() <= 1, "seed {seed}: clicked twice");
            if let Command::Finish {
                outcome: Outcome::Succeeded { post_url, .. },
            } = &cmd
            {
                assert!(post_url.is_some(), "seed {seed}: success without a URL");
            }
        }
        runs_that_clicked += usize::from(d.submit_clicks() > 0);
    }
    // The sequences must actually reach the click often enough to mean something.
    assert!(
        runs_that_clicked > 20,
        "only {runs_that_clicked} runs clicked"
    );
}

//! The X pack run by the engine against recorded observations: the replies
//! the DOM agent and the worker give on real (fixture) pages, as JSON.

use extension_core::engine::{
    advance, failure_details, AgentCommand, Command, EngineState, Observation, Outcome, SubmitPhase,
};
use extension_core::pack::{Pack, Target};
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

/// The target of a read (extract) command, with its exclusions.
fn read_of(c: &Command) -> (&Target, &[String]) {
    match c {
        Command::Agent {
            command: AgentCommand::Read {
                target, exclude, ..
            },
        } => (target, exclude),
        other => panic!("expected a read, got {other:?}"),
    }
}

fn first_css(t: &Target) -> &str {
    t.0[0].css.as_deref().unwrap_or("")
}

fn is_dismiss(c: &Command) -> bool {
    matches!(
        c,
        Command::Agent {
            command: AgentCommand::Dismiss { .. }
        }
    )
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

fn succeeded_with(c: &Command) -> String {
    match outcome(c) {
        Outcome::Succeeded { post_url, .. } => post_url.clone().unwrap(),
        other => panic!("expected success, got {other:?}"),
    }
}

const COMPOSE: &str = "https://x.com/compose/post";
const HOME: &str = "https://x.com/home";
const PROFILE: &str = "https://x.com/clawtest";
const EARLIER: &str = "https://x.com/clawtest/status/1790000000000000001";

/// Signal indexes of the pack (`g<i>` keys of a wait).
const LOGIN_URL: &str = "g0";
const LOCKED_URL: &str = "g1";
const CHALLENGE: &str = "g2";
const SUSPENDED: &str = "g4";
const RATE_LIMIT: &str = "g5";

/// From a fresh tab to the composer found on /home: reads the profile
/// link, collects the profile's posts, comes back to /home.
fn up_to_composer(d: &mut Driver) -> Command {
    let c = d.feed(Observation::Start { url: None });
    assert_eq!(
        c,
        Command::Navigate {
            url: HOME.into(),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated { url: HOME.into() });
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("AppTabBar_Profile_Link"));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "via": 0, "value": PROFILE}));
    assert_eq!(
        c,
        Command::Navigate {
            url: PROFILE.into(),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated {
        url: PROFILE.into(),
    });
    match &c {
        Command::Agent {
            command: AgentCommand::ReadAll { what, target, .. },
        } => {
            assert_eq!(what, "href");
            assert!(first_css(target).starts_with("article"));
        }
        other => panic!("expected the baseline collection, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": PROFILE, "found": true, "via": 0,
        "values": [EARLIER]}));
    assert_eq!(
        c,
        Command::Navigate {
            url: HOME.into(),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated { url: HOME.into() });
    // The composer wait carries the pack's signals (login wall, challenge, limits).
    let keys = wait_keys(&c);
    assert_eq!(keys[0], "s0");
    assert!(keys.iter().any(|k| k == RATE_LIMIT));
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "via": 1}));
    // Before touching any overlay: a look for interruptions only.
    let keys = wait_keys(&c);
    assert!(keys.iter().any(|k| k == CHALLENGE));
    d.reply(json!({"ok": true, "url": HOME}))
}

/// Runs a text-only post from a fresh tab up to the submit click; returns the
/// driver right after the click was emitted.
fn up_to_click(text: &str) -> Driver {
    let mut d = Driver::new(job(text, &[]));
    let c = up_to_composer(&mut d);
    // Overlays: dismissed if present, then a short look for more.
    assert!(is_dismiss(&c), "expected the overlay dismissal, got {c:?}");
    let c = d.reply(json!({"ok": true, "url": HOME, "found": false}));
    assert_eq!(wait_keys(&c)[0], "s0");
    let c = d.reply(json!({"ok": true, "url": HOME, "probes": [{"found": false}]}));
    // No media: attach steps are skipped, text goes in.
    match &c {
        Command::Agent {
            command: AgentCommand::InsertText { text: t, .. },
        } => assert_eq!(t, text),
        other => panic!("expected insertText, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "via": 0,
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
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
        {"found": true, "enabled": true, "text": text, "via": 1},
        {"found": true, "enabled": true, "via": 1}
    ]}));
    // A last look for an overlay over the Post button.
    assert!(is_dismiss(&c), "{c:?}");
    let c = d.reply(json!({"ok": true, "url": HOME, "found": false}));
    assert_eq!(c, Command::ReportSubmitting);
    assert_eq!(d.state.submit, SubmitPhase::Reporting);
    assert_eq!(d.submit_clicks(), 0, "no click before the server accepted");
    let c = d.feed(Observation::SubmittingAccepted);
    assert!(is_submit_click(&c), "{c:?}");
    // The click arms the create-call rule in the page.
    match &c {
        Command::Agent {
            command: AgentCommand::Click { arm, .. },
        } => {
            assert_eq!(arm.len(), 1);
            assert!(regex_like(&arm[0].url_matches, "CreateNoteTweet"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.state.submit, SubmitPhase::Clicked);
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "via": 0}));
    // The confirmation: network evidence first.
    let keys = wait_keys(&c);
    assert_eq!(keys[0], "s0");
    match &c {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => assert_eq!(branches[0].probes[0].network.as_deref(), Some("create")),
        other => panic!("{other:?}"),
    }
    d
}

fn regex_like(pattern: &str, s: &str) -> bool {
    pattern.contains("Create(?:Note)?Tweet") && s.starts_with("Create")
}

#[test]
fn text_post_from_a_fresh_tab_succeeds_with_the_toast_link() {
    let mut d = up_to_click("Hello from Claw Post!\n\nSecond paragraph.");
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s1"}));
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("toast"));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "via": 0,
        "value": "https://x.com/clawtest/status/1790000000000000009/analytics"}));
    assert_eq!(
        outcome(&c),
        &Outcome::Succeeded {
            post_url: Some("https://x.com/clawtest/status/1790000000000000009".into()),
            details: None
        }
    );
    assert_eq!(d.submit_clicks(), 1);
    let ack = outcome(&c).ack("job-1", Some("x-2026.12.2")).unwrap();
    assert_eq!(ack.pack_version.as_deref(), Some("x-2026.12.2"));
    assert!(ack.error_code.is_none());
}

#[test]
fn the_create_reply_names_the_post() {
    // Handle and id from CreateTweet's reply.
    let mut d = up_to_click("hi");
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
        {"found": false, "values": {"id": "1866540012345678901", "screenName": "clawtest"}}]}));
    assert_eq!(
        succeeded_with(&c),
        "https://x.com/clawtest/status/1866540012345678901"
    );
    assert_eq!(d.submit_clicks(), 1);

    // No handle in the reply: the profile link read before posting gives it.
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated { url: HOME.into() });
    d.reply(
        json!({"ok": true, "url": HOME, "found": true, "value": "https://x.com/claw_research"}),
    );
    d.feed(Observation::Navigated {
        url: "https://x.com/claw_research".into(),
    });
    d.reply(json!({"ok": true, "found": false, "values": []}));
    d.feed(Observation::Navigated { url: HOME.into() });
    d.reply(json!({"ok": true, "url": HOME, "matched": "s0"}));
    d.reply(json!({"ok": true, "url": HOME}));
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.reply(json!({"ok": true, "url": HOME}));
    d.reply(json!({"ok": true, "url": HOME, "found": true, "text": "hi"}));
    d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
        {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}));
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.feed(Observation::SubmittingAccepted);
    d.reply(json!({"ok": true, "url": HOME, "found": true}));
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
        {"found": false, "values": {"id": "1866540055555555501"}}]}));
    assert_eq!(
        succeeded_with(&c),
        "https://x.com/claw_research/status/1866540055555555501"
    );

    // Neither: the handle-less status URL of that very post.
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated { url: HOME.into() });
    // No profile link: the baseline is skipped.
    let c = d.reply(json!({"ok": true, "url": HOME, "found": false}));
    assert_eq!(wait_keys(&c)[0], "s0");
    d.reply(json!({"ok": true, "url": HOME, "matched": "s0"}));
    d.reply(json!({"ok": true, "url": HOME}));
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.reply(json!({"ok": true, "url": HOME}));
    d.reply(json!({"ok": true, "url": HOME, "found": true, "text": "hi"}));
    d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
        {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}));
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.feed(Observation::SubmittingAccepted);
    d.reply(json!({"ok": true, "url": HOME, "found": true}));
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
        {"found": false, "values": {"id": "42"}}]}));
    assert_eq!(succeeded_with(&c), "https://x.com/i/status/42");
}

#[test]
fn a_sent_toast_without_link_waits_for_a_late_link() {
    let mut d = up_to_click("hi");
    // "Your post was sent." without a link.
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s5"}));
    let keys = wait_keys(&c);
    assert_eq!(keys[..2], ["s0", "s1"]);
    // The View link shows up.
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s1"}));
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("toast"));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true,
        "value": "https://x.com/clawtest/status/1866540011111111111"}));
    assert_eq!(
        succeeded_with(&c),
        "https://x.com/clawtest/status/1866540011111111111"
    );
}

/// After the click, no link and no network: the profile lookup.
fn to_profile_lookup(d: &mut Driver) -> Command {
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s5"}));
    wait_keys(&c);
    let c = d.reply(json!({"ok": true, "url": HOME, "probes": [{"found": false}]}));
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("AppTabBar_Profile_Link"));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "value": PROFILE}));
    assert_eq!(
        c,
        Command::Navigate {
            url: PROFILE.into(),
            timeout_ms: 30_000
        }
    );
    d.feed(Observation::Navigated {
        url: PROFILE.into(),
    })
}

#[test]
fn without_link_or_network_the_new_post_is_found_by_its_whole_text() {
    let text = "Release day 🚀\n\nNotes: https://clawpost.net/changelog";
    let mut d = up_to_click(text);
    let c = to_profile_lookup(&mut d);
    let (target, exclude) = read_of(&c);
    // Posts seen before submitting are skipped, pinned ones never count, and
    // every locator matches the whole rendered text (not a prefix).
    assert_eq!(exclude, [EARLIER.to_string()]);
    assert!(first_css(target).contains(":not(:has([data-testid=\"socialContext\"]))"));
    for l in &target.0 {
        let p = l
            .text_pattern
            .as_deref()
            .expect("postText on every locator");
        assert!(p.contains("Release"), "{p}");
        assert!(l.text.is_none());
    }
    let c = d.reply(json!({"ok": true, "url": PROFILE, "found": true, "via": 0,
        "value": "https://x.com/clawtest/status/1866540022222222222"}));
    assert_eq!(
        succeeded_with(&c),
        "https://x.com/clawtest/status/1866540022222222222"
    );
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn no_identity_is_outcome_unknown_never_a_guess() {
    let mut d = up_to_click("Sent, but nothing says which post it is");
    let c = to_profile_lookup(&mut d);
    read_of(&c);
    // Only older posts (excluded or not this text): nothing new.
    let c = d.reply(json!({"ok": true, "url": PROFILE, "found": true, "via": 0, "value": null}));
    // What was seen goes with the failure.
    assert_eq!(failed_code(&c), JobErrorCode::OutcomeUnknown);
    let details = failure_details(&d.state).unwrap();
    assert!(details["seen"].as_str().unwrap().contains("no new post"));
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn interruptions_fail_with_not_logged_in_and_a_reason() {
    // The Arkose challenge covers the page while the composer is awaited.
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated { url: HOME.into() });
    d.reply(json!({"ok": true, "url": HOME, "found": true, "value": PROFILE}));
    d.feed(Observation::Navigated {
        url: PROFILE.into(),
    });
    d.reply(json!({"ok": true, "found": true, "values": []}));
    d.feed(Observation::Navigated { url: HOME.into() });
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": CHALLENGE}));
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(
        failure_details(&d.state),
        Some(json!({"reason": "captcha"}))
    );
    assert_eq!(d.submit_clicks(), 0);

    // The locked account page interrupts the very first read.
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated {
        url: "https://x.com/account/access".into(),
    });
    let c = d.reply(
        json!({"ok": true, "url": "https://x.com/account/access", "found": false,
        "matched": LOCKED_URL}),
    );
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(
        failure_details(&d.state),
        Some(json!({"reason": "suspended"}))
    );

    // "Your account is suspended…" in answer to Post: named, so not
    // outcome_unknown, and never a second click.
    let mut d = up_to_click("hi");
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": SUSPENDED}));
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(
        failure_details(&d.state),
        Some(json!({"reason": "suspended"}))
    );
    assert_eq!(d.submit_clicks(), 1);

    // The challenge in answer to Post.
    let mut d = up_to_click("hi");
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": CHALLENGE}));
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(
        failure_details(&d.state),
        Some(json!({"reason": "captcha"}))
    );
}

#[test]
fn a_login_wall_fails_with_not_logged_in() {
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated {
        url: "https://x.com/i/flow/login?redirect_after_login=%2Fhome".into(),
    });
    // The agent saw the URL signal while looking for the profile link.
    let c = d.reply(
        json!({"ok": true, "url": "https://x.com/i/flow/login", "found": false,
        "matched": LOGIN_URL}),
    );
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(
        failure_details(&d.state),
        None,
        "a login wall is no interruption"
    );
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn overlays_are_dismissed_until_none_is_left() {
    let mut d = Driver::new(job("hi", &[]));
    let c = up_to_composer(&mut d);
    assert!(is_dismiss(&c));
    // Two stacked sheets: each round dismisses one, then looks again.
    for _ in 0..2 {
        let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "via": 0}));
        assert_eq!(wait_keys(&c)[0], "s0");
        let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s0"}));
        wait_keys(&c);
        let c = d.reply(json!({"ok": true, "url": HOME}));
        assert!(is_dismiss(&c), "{c:?}");
    }
    let c = d.reply(json!({"ok": true, "url": HOME, "found": false}));
    wait_keys(&c);
    let c = d.reply(json!({"ok": true, "url": HOME}));
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::InsertText { .. }
        }
    ));

    // An overlay that never goes away ends the loop (before anything is typed).
    let mut d = Driver::new(job("hi", &[]));
    up_to_composer(&mut d);
    let mut last = d.reply(json!({"ok": true, "url": HOME, "found": true}));
    for _ in 0..20 {
        if matches!(last, Command::Finish { .. }) {
            break;
        }
        last = if is_dismiss(&last) {
            d.reply(json!({"ok": true, "url": HOME, "found": true}))
        } else {
            d.reply(json!({"ok": true, "url": HOME, "matched": "s0"}))
        };
    }
    assert_eq!(failed_code(&last), JobErrorCode::UnknownError);
    assert_eq!(d.submit_clicks(), 0);

    // A challenge that shows up with the overlays: nothing is dismissed.
    let mut d = Driver::new(job("hi", &[]));
    up_to_composer(&mut d);
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true}));
    wait_keys(&c);
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s0"}));
    let c2 = d.reply(json!({"ok": true, "url": HOME, "matched": CHALLENGE}));
    wait_keys(&c);
    assert_eq!(failed_code(&c2), JobErrorCode::NotLoggedIn);
    assert_eq!(
        failure_details(&d.state),
        Some(json!({"reason": "captcha"}))
    );
    let dismissals = d.commands.iter().filter(|c| is_dismiss(c)).count();
    assert_eq!(dismissals, 1, "only the one before the challenge appeared");
}

#[test]
fn a_swapped_composer_gets_the_text_again() {
    let mut d = Driver::new(job("hi", &[]));
    up_to_composer(&mut d);
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.reply(json!({"ok": true, "url": HOME}));
    d.reply(json!({"ok": true, "url": HOME, "found": true, "text": "hi"}));
    // The agent reports the editor replaced by an empty one: type again.
    let c = d.reply(
        json!({"ok": true, "url": HOME, "replaced": true, "probes": [
        {"found": true, "enabled": false, "text": ""}, {"found": true, "enabled": false}]}),
    );
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::InsertText { .. }
        }
    ));
    // A check that times out (shell composer, Post never enabled) types again too.
    d.reply(json!({"ok": true, "url": HOME, "found": true, "text": "hi"}));
    let c = d.reply(json!({"ok": true, "url": HOME, "probes": [
        {"found": true, "enabled": false, "text": ""}, {"found": true, "enabled": false}]}));
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::InsertText { .. }
        }
    ));
    // Bounded: the third failed check ends the job without a click.
    d.reply(json!({"ok": true, "url": HOME, "found": true, "text": "hi"}));
    let c = d.reply(json!({"ok": true, "url": HOME, "probes": [
        {"found": true, "enabled": false, "text": ""}, {"found": true, "enabled": false}]}));
    assert_eq!(failed_code(&c), JobErrorCode::UnknownError);
    assert!(d
        .commands
        .iter()
        .all(|c| !matches!(c, Command::ReportSubmitting)));
}

#[test]
fn without_a_home_composer_the_modal_composer_is_opened() {
    let mut d = Driver::new(job("hi", &[]));
    up_to_composer_timeout(&mut d);
    let c = d.feed(Observation::Navigated {
        url: COMPOSE.into(),
    });
    wait_keys(&c);
    let c = d.reply(json!({"ok": true, "url": COMPOSE, "matched": "s0"}));
    wait_keys(&c);
    let c = d.reply(json!({"ok": true, "url": COMPOSE}));
    assert!(is_dismiss(&c), "went on with the flow: {c:?}");

    // The home timeline rendered without an inline composer (narrow
    // layout): no need to wait it out.
    let mut d = Driver::new(job("hi", &[]));
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated { url: HOME.into() });
    d.reply(json!({"ok": true, "url": HOME, "found": true, "value": PROFILE}));
    d.feed(Observation::Navigated {
        url: PROFILE.into(),
    });
    d.reply(json!({"ok": true, "found": true, "values": []}));
    let c = d.feed(Observation::Navigated { url: HOME.into() });
    match &c {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => {
            assert_eq!(branches[1].probes.len(), 2);
            assert!(branches[1].probes[1].gone);
        }
        other => panic!("{other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s1"}));
    assert_eq!(
        c,
        Command::Navigate {
            url: COMPOSE.into(),
            timeout_ms: 30_000
        }
    );

    // And a composer that never shows up is selector_not_found.
    let mut d = Driver::new(job("hi", &[]));
    up_to_composer_timeout(&mut d);
    d.feed(Observation::Navigated {
        url: COMPOSE.into(),
    });
    let c = d.reply(json!({"ok": true, "url": COMPOSE}));
    assert_eq!(failed_code(&c), JobErrorCode::SelectorNotFound);
}

/// Like [`up_to_composer`], but /home has no composer: the modal opens.
fn up_to_composer_timeout(d: &mut Driver) {
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated { url: HOME.into() });
    d.reply(json!({"ok": true, "url": HOME, "found": true, "value": PROFILE}));
    d.feed(Observation::Navigated {
        url: PROFILE.into(),
    });
    d.reply(json!({"ok": true, "found": true, "values": []}));
    d.feed(Observation::Navigated { url: HOME.into() });
    let c = d.reply(json!({"ok": true, "url": HOME, "probes": [{"found": false}]}));
    assert_eq!(
        c,
        Command::Navigate {
            url: COMPOSE.into(),
            timeout_ms: 30_000
        }
    );
}

#[test]
fn a_tab_already_on_home_is_not_reloaded_first() {
    let mut d = Driver::new(job("hi", &[]));
    let c = d.feed(Observation::Start {
        url: Some("https://x.com/home".into()),
    });
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("AppTabBar_Profile_Link"));
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

/// A driver at the check step (the text went in).
fn at_check(text: &str) -> Driver {
    let mut d = Driver::new(job(text, &[]));
    up_to_composer(&mut d);
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.reply(json!({"ok": true, "url": HOME}));
    d.reply(json!({"ok": true, "url": HOME, "found": true, "text": text}));
    d
}

#[test]
fn a_disabled_submit_or_wrong_text_never_reaches_submitting() {
    for probes in [
        // The agent claims a match, but the text is not the post's.
        json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
            {"found": true, "enabled": true, "text": "h"}, {"found": true, "enabled": true}]}),
        // Matched, but the submit probe says disabled.
        json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
            {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": false}]}),
    ] {
        let mut d = at_check("hi");
        let c = d.reply(probes);
        assert_eq!(failed_code(&c), JobErrorCode::UnknownError, "{c:?}");
        assert!(d
            .commands
            .iter()
            .all(|c| !matches!(c, Command::ReportSubmitting)));
    }
    // A button that stays disabled: typed again (bounded), never submitted.
    let mut d = at_check("hi");
    let mut c = d.reply(json!({"ok": true, "url": HOME, "probes": [
        {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": false}]}));
    for _ in 0..10 {
        if matches!(c, Command::Finish { .. }) {
            break;
        }
        c = match &c {
            Command::Agent {
                command: AgentCommand::InsertText { .. },
            } => d.reply(json!({"ok": true, "url": HOME, "found": true, "text": "hi"})),
            _ => d.reply(json!({"ok": true, "url": HOME, "probes": [
                {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": false}]})),
        };
    }
    assert_eq!(failed_code(&c), JobErrorCode::UnknownError);
    assert!(d
        .commands
        .iter()
        .all(|c| !matches!(c, Command::ReportSubmitting)));
}

#[test]
fn an_editor_that_drops_the_text_fails_before_submitting() {
    let mut d = Driver::new(job("first\n\nsecond", &[]));
    up_to_composer(&mut d);
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.reply(json!({"ok": true, "url": HOME}));
    // execCommand-style loss of everything before the blank line (OpenCLI #93).
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "text": "second"}));
    assert_eq!(failed_code(&c), JobErrorCode::UnknownError);
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn a_lost_lease_abandons_without_clicking() {
    let mut d = at_check("hi");
    d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
        {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": false}));
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
    // The toast is long gone, and the page's network hit with it.
    let c = d.reply(json!({"ok": true, "url": HOME, "probes": [{"found": false}]}));
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("AppTabBar_Profile_Link"));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "value": PROFILE}));
    assert_eq!(
        c,
        Command::Navigate {
            url: PROFILE.into(),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated {
        url: PROFILE.into(),
    });
    let (_, exclude) = read_of(&c);
    assert_eq!(
        exclude,
        [EARLIER.to_string()],
        "the baseline survived the restart"
    );
    let c = d.reply(json!({"ok": true, "url": PROFILE, "found": true, "via": 1,
        "value": "https://x.com/clawtest/status/42"}));
    match outcome(&c) {
        Outcome::Succeeded { post_url, details } => {
            assert_eq!(
                post_url.as_deref(),
                Some("https://x.com/clawtest/status/42")
            );
            // The fallback locator is reported for selector maintenance.
            assert_eq!(
                details.as_ref().unwrap()["fallbacks"],
                json!(["newPostLink#1"])
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
    d.reply(json!({"ok": true, "url": HOME}));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": false}));
    // No profile link now: the one read before posting is used.
    assert_eq!(
        c,
        Command::Navigate {
            url: PROFILE.into(),
            timeout_ms: 30_000
        }
    );
    d.feed(Observation::Navigated {
        url: PROFILE.into(),
    });
    d.reply(json!({"ok": true, "url": PROFILE, "found": false}));
    let c = d.reply(json!({"ok": true, "url": PROFILE}));
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
    let mut d = at_check("hi");
    d.reply(json!({"ok": true, "url": HOME, "matched": "s0", "probes": [
        {"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": false}));
    assert_eq!(c, Command::ReportSubmitting);
    // The worker died while the progress request was in flight: the click
    // was never sent, so the flow may start over.
    let c = d.feed(Observation::Restarted {
        url: Some(HOME.into()),
    });
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("AppTabBar_Profile_Link"));
    assert_eq!(d.state.submit, SubmitPhase::NotYet);
    // A stale acceptance from before the restart is not a licence to click.
    let c = d.feed(Observation::SubmittingAccepted);
    assert_eq!(failed_code(&c), JobErrorCode::UnknownError);
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn rate_limits_fail_and_duplicates_count_as_already_posted() {
    let mut d = up_to_click("hi");
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": RATE_LIMIT}));
    assert_eq!(failed_code(&c), JobErrorCode::RateLimited);
    // X's notice names no wait: no retryAfter.
    assert_eq!(failure_details(&d.state), None);

    // A pack whose rate-limit signal knows the wait reports it.
    let mut d = up_to_click("hi");
    d.pack.signals[5].retry_after_seconds = Some(3600);
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": RATE_LIMIT}));
    assert_eq!(failed_code(&c), JobErrorCode::RateLimited);
    assert_eq!(failure_details(&d.state), Some(json!({"retryAfter": 3600})));

    // "You already said that": the earlier post went out; the job succeeds
    // with that post's URL from the profile, and nothing is clicked again.
    let mut d = up_to_click("hi");
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s2"}));
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("Profile_Link"));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "value": PROFILE}));
    assert_eq!(
        c,
        Command::Navigate {
            url: PROFILE.into(),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated {
        url: PROFILE.into(),
    });
    // The earlier post may be one seen before (even pinned): nothing excluded.
    let (target, exclude) = read_of(&c);
    assert!(exclude.is_empty());
    assert!(target.0.iter().all(|l| l.text_pattern.is_some()));
    let earlier = "https://x.com/clawtest/status/1790000000000000077";
    let c = d.reply(json!({"ok": true, "url": PROFILE, "found": true, "value": earlier}));
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
    d.reply(json!({"ok": true, "url": HOME, "matched": "s2"}));
    d.reply(json!({"ok": true, "url": HOME, "found": true, "value": PROFILE}));
    d.feed(Observation::Navigated {
        url: PROFILE.into(),
    });
    let c = d.reply(json!({"ok": true, "url": PROFILE, "found": false}));
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
    d.reply(json!({"ok": true, "url": HOME, "matched": "s1"}));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "value": "/status/abc"}));
    let (target, _) = read_of(&c);
    assert!(first_css(target).contains("Profile_Link"));
}

#[test]
fn media_jobs_attach_then_wait_for_previews_and_the_upload() {
    let mut d = Driver::new(job("pic", &["http://127.0.0.1:8080/v1/media/a.png"]));
    up_to_composer(&mut d);
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    let c = d.reply(json!({"ok": true, "url": HOME}));
    match &c {
        Command::AttachMedia { target, .. } => {
            assert!(target
                .0
                .iter()
                .any(|l| l.css.as_deref() == Some(r#"input[data-testid="fileInput"]"#)))
        }
        other => panic!("expected the attachment, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "count": 1}));
    assert_eq!(wait_keys(&c)[..2], ["s0", "s1"]);
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s1"}));
    // The Post button enables once the upload finished.
    match &c {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => assert!(branches[1].probes[0].enabled),
        other => panic!("{other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": HOME, "matched": "s1"}));
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::InsertText { .. }
        }
    ));

    // A failed download ends the job with media_fetch_failed.
    let mut d = Driver::new(job("pic", &["http://127.0.0.1:8080/v1/media/a.png"]));
    up_to_composer(&mut d);
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.reply(json!({"ok": true, "url": HOME}));
    let c = d.feed(Observation::MediaFailed {
        message: "HTTP 404".into(),
    });
    assert_eq!(failed_code(&c), JobErrorCode::MediaFetchFailed);

    // The page took fewer files than sent.
    let mut d = Driver::new(job("pic", &["http://h/a.png", "http://h/b.png"]));
    up_to_composer(&mut d);
    d.reply(json!({"ok": true, "url": HOME, "found": false}));
    d.reply(json!({"ok": true, "url": HOME}));
    let c = d.reply(json!({"ok": true, "url": HOME, "found": true, "count": 1}));
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

#[test]
fn every_label_has_the_locales_and_the_fixture_strings() {
    let pack = Pack::builtin(Platform::X).unwrap();
    assert!(pack.deadline_seconds.is_some());
    // The German and Japanese UIs the scenarios run in.
    for (label, de, ja) in [
        (
            "sentToast",
            "Dein Post wurde gesendet",
            "ポストを送信しました",
        ),
        ("postButton", "Posten", "ポストする"),
        (
            "refuseCookies",
            "Nicht-essenzielle Cookies ablehnen",
            "必須ではないCookieを拒否",
        ),
        (
            "unusualActivity",
            "ungewöhnliche Aktivität",
            "不審なアクティビティ",
        ),
        ("rateLimit", "tägliche Limit", "1日の上限"),
    ] {
        let all = pack.label(label);
        assert!(all.iter().any(|s| s == de), "{label} de");
        assert!(all.iter().any(|s| s == ja), "{label} ja");
    }
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
            // No overlay to dismiss.
            AgentCommand::WaitFor { branches, .. }
                if branches[0].probes[0]
                    .target
                    .as_ref()
                    .is_some_and(|t| first_css(t).contains("sheetDialog")) =>
            {
                reply(json!({"ok": true, "url": COMPOSE, "probes": [{"found": false}]}))
            }
            AgentCommand::WaitFor { .. } => {
                reply(json!({"ok": true, "url": COMPOSE, "matched": "s0",
                "probes": [{"found": true, "enabled": true, "text": "hi"}, {"found": true, "enabled": true}]}))
            }
            AgentCommand::InsertText { text, .. } => {
                reply(json!({"ok": true, "url": COMPOSE, "found": true, "text": text}))
            }
            AgentCommand::Read { .. } => reply(json!({"ok": true, "url": COMPOSE, "found": true,
                "value": "https://x.com/a/status/1"})),
            AgentCommand::ReadAll { .. } => {
                reply(json!({"ok": true, "url": COMPOSE, "found": true, "values": []}))
            }
            AgentCommand::Dismiss { .. } => {
                reply(json!({"ok": true, "url": COMPOSE, "found": false}))
            }
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
            "text": "hi", "value": "https://x.com/a/status/1", "values": [],
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
        for _ in 0..60 {
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

/// Post cards as the agent renders the X fixture's profile (emoji from
/// `<img alt>`, X's 0.001px link parts left out, blocks on their own
/// lines): the whole-text pattern takes the new post and none of the older
/// ones that start the same way.
#[test]
fn the_whole_text_pattern_tells_the_new_post_from_older_look_alikes() {
    use extension_core::post_text::{comparable, post_text_pattern};
    let shows = |text: &str, card: &str| {
        regex::Regex::new(&post_text_pattern(text))
            .unwrap()
            .is_match(&comparable(card))
    };
    let text = "Release day 🚀\n\nNotes: https://clawpost.net/changelog/2026-12-07?ref=x&utm_source=e2e #ClawPost by @clawtest 👋🏽\nThanks all!";
    let new = "\n\nClaw Test\n\n@clawtest · now\n\n\nRelease day 🚀\n\nNotes: clawpost.net/changelog/2… #ClawPost by \n@clawtest\n 👋🏽\nThanks all!\n\n\n\n\n\n";
    let pinned = "\nPinned\n\n\nClaw Test\n\n@clawtest · Jun 1\n\n\nRelease day 🚀\n\nPinned: how Claw Post works clawpost.net/docs\n\n\n3\n\n1\n\n12\n\n";
    let older = "\n\nClaw Test\n\n@clawtest · Jun 1\n\n\nRelease day 🚀\n\nNotes: clawpost.net/changelog/2…\n\n\n3\n\n1\n\n12\n\n";
    assert!(shows(text, new));
    assert!(!shows(text, pinned));
    assert!(!shows(text, older));

    let text = "Weekly update: 3 fixes, 1 feature";
    assert!(shows(
        text,
        "\n\nClaw Test\n\n@clawtest · now\n\n\nWeekly update: 3 fixes, 1 feature\n\n\n"
    ));
    assert!(!shows(text, "\nPinned\n\nClaw Test\n\nWeekly update: 3 fixes, 1 feature (pinned from last month)\n\n3\n"));
    assert!(!shows(
        text,
        "\n\nClaw Test\n\nWeekly update: 3 fixes\n\n3\n\n1\n"
    ));

    let text = "同じ内容はもうポスト済み";
    assert!(shows(
        text,
        "\n\nClaw Test\n\n@clawtest · 6月1日\n\n\n同じ内容はもうポスト済み\n\n\n3\n"
    ));
    assert!(!shows(
        text,
        "\n\nClaw Test\n\n@clawtest · 6月1日\n\n\n同じ内容はもうポスト済み（下書き）\n\n\n3\n"
    ));

    // As shown, a link cut before the part that differs looks the same:
    // only the posts seen before submitting (and pinned ones) are ruled out.
    let text =
        "Grüße aus der Redaktion 👋 Neue Ausgabe: https://clawpost.net/de/ausgabe-12 #Newsletter";
    let card = |when: &str| {
        format!("\n\nClaw Test\n\n@clawtest · {when}\n\n\nGrüße aus der Redaktion 👋 Neue Ausgabe: clawpost.net/de/ausgabe-… #Newsletter\n\n\n")
    };
    assert!(shows(text, &card("Jetzt")));
    assert!(shows(text, &card("1. Juni")));
}

//! The LinkedIn pack run by the engine against recorded observations: the
//! replies the DOM agent and the worker give on the fixture pages, as JSON.

use extension_core::engine::{
    advance, failure_details, AgentCommand, Command, EngineState, Observation, Outcome,
};
use extension_core::pack::{Pack, Target, LABEL_LOCALES};
use extension_core::{JobErrorCode, JobType, LeasedJob, Platform};
use serde_json::json;

fn job(text: &str) -> LeasedJob {
    LeasedJob {
        id: "job-1".into(),
        job_type: JobType::Post,
        platform: Platform::Linkedin,
        text: text.into(),
        media_paths: Vec::new(),
        platform_payload: None,
        lease_expires_at: 0,
        attempt: 1,
    }
}

struct Driver {
    pack: Pack,
    job: LeasedJob,
    state: EngineState,
    commands: Vec<Command>,
}

impl Driver {
    fn new(text: &str) -> Driver {
        Driver {
            pack: Pack::builtin(Platform::Linkedin).unwrap(),
            job: job(text),
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

    fn submit_clicks(&self) -> usize {
        self.commands.iter().filter(|c| is_submit_click(c)).count()
    }
}

fn first_css(t: &Target) -> &str {
    t.0[0].css.as_deref().unwrap_or("")
}

fn is_submit_click(c: &Command) -> bool {
    matches!(c, Command::Agent { command: AgentCommand::Click { target, .. } }
        if first_css(target) == "button.share-actions__primary-action")
}

fn wait_keys(c: &Command) -> Vec<String> {
    match c {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => branches.iter().map(|b| b.key.clone()).collect(),
        other => panic!("expected a wait, got {other:?}"),
    }
}

fn read_of(c: &Command) -> (&Target, &str, &[String]) {
    match c {
        Command::Agent {
            command:
                AgentCommand::Read {
                    target,
                    what,
                    exclude,
                    ..
                },
        } => (target, what, exclude),
        other => panic!("expected a read, got {other:?}"),
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

fn succeeded_with(c: &Command) -> String {
    match outcome(c) {
        Outcome::Succeeded { post_url, .. } => post_url.clone().unwrap(),
        other => panic!("expected success, got {other:?}"),
    }
}

fn nav(url: &str) -> Command {
    Command::Navigate {
        url: url.into(),
        timeout_ms: 30_000,
    }
}

const RECENT: &str = "https://www.linkedin.com/in/me/recent-activity/all/";
const FEED: &str = "https://www.linkedin.com/feed/?shareActive=true";
const PRELOAD: &str = "https://www.linkedin.com/preload/sharebox/";
const OLD_A: &str = "urn:li:activity:7390000000000000001";
const OLD_B: &str = "urn:li:activity:7390000000000000002";
const SEEDED: &str = "urn:li:activity:7391000000000000033";

/// Signal keys of the pack, in its order.
const TWO_FACTOR: &str = "g0";
const LOGIN_URL: &str = "g2";
const CHECKPOINT: &str = "g4";
const RATE_LIMIT: &str = "g6";

/// Entry-wait branch keys.
const ENTRY_EDITOR: &str = "s0";
const ENTRY_SHELL: &str = "s1";
const ENTRY_OVERLAY: &str = "s2";
const ENTRY_LAUNCHER: &str = "s3";

/// Confirm-wait branch keys.
const NET: &str = "s0";
const TOAST_LINK: &str = "s2";
const DUPLICATE: &str = "s3";
const RATE: &str = "s4";
const SUCCESS_TOAST: &str = "s7";

/// From a fresh tab: the recent activity's posts are collected, then the
/// feed opens with the composer wait.
fn up_to_entry(d: &mut Driver) -> Command {
    let c = d.feed(Observation::Start { url: None });
    assert_eq!(c, nav(RECENT));
    let c = d.feed(Observation::Navigated { url: RECENT.into() });
    match &c {
        Command::Agent {
            command: AgentCommand::ReadAll { what, target, .. },
        } => {
            assert_eq!(what, "data-urn");
            assert!(first_css(target).starts_with("[data-urn^=\"urn:li:activity:\"]"));
        }
        other => panic!("expected the baseline collection, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": RECENT, "found": true, "via": 0,
        "values": [SEEDED, OLD_A, OLD_B]}));
    assert_eq!(c, nav(FEED));
    let c = d.feed(Observation::Navigated { url: FEED.into() });
    let keys = wait_keys(&c);
    assert_eq!(
        keys[..4],
        [ENTRY_EDITOR, ENTRY_SHELL, ENTRY_OVERLAY, ENTRY_LAUNCHER]
    );
    assert!(keys.iter().any(|k| k == RATE_LIMIT));
    c
}

/// From the editor found to the text typed: returns the check command.
fn type_text(d: &mut Driver, text: &str) -> Command {
    match d.commands.last().unwrap() {
        Command::Agent {
            command: AgentCommand::InsertText { text: t, .. },
        } => assert_eq!(t, text),
        other => panic!("expected insertText, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": FEED, "found": true, "via": 0,
        "method": "execCommand", "text": text}));
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
    c
}

/// The check passes, the feed's items are collected, the server accepts
/// `submitting`, Post is clicked once (arming the create-call rules).
fn check_to_confirm(d: &mut Driver, text: &str) -> Command {
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": "s0", "probes": [
        {"found": true, "enabled": true, "text": text, "via": 0},
        {"found": true, "enabled": true, "via": 0}]}));
    match &c {
        Command::Agent {
            command: AgentCommand::ReadAll { what, .. },
        } => assert_eq!(what, "data-urn"),
        other => panic!("expected the feed baseline, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": FEED, "found": true, "values": [OLD_A, OLD_B]}));
    assert_eq!(c, Command::ReportSubmitting);
    assert_eq!(d.submit_clicks(), 0, "no click before the server accepted");
    let c = d.feed(Observation::SubmittingAccepted);
    assert!(is_submit_click(&c), "{c:?}");
    match &c {
        Command::Agent {
            command: AgentCommand::Click { arm, .. },
        } => {
            let ids: Vec<&str> = arm.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(ids, ["create", "createLegacy"]);
            assert!(arm[0]
                .url_matches
                .contains("voyagerContentcreationDashShares"));
            assert_eq!(arm[0].method.as_deref(), Some("POST"));
        }
        other => panic!("{other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": FEED, "found": true, "via": 0}));
    let keys = wait_keys(&c);
    assert_eq!(keys[..8], ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"]);
    match &c {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => {
            assert_eq!(branches[0].probes[0].network.as_deref(), Some("create"));
            assert_eq!(
                branches[1].probes[0].network.as_deref(),
                Some("createLegacy")
            );
        }
        other => panic!("{other:?}"),
    }
    c
}

/// A text post with the composer open on the feed, up to the confirmation.
fn up_to_confirm(text: &str) -> Driver {
    let mut d = Driver::new(text);
    up_to_entry(&mut d);
    d.reply(json!({"ok": true, "url": FEED, "matched": ENTRY_EDITOR, "via": 0}));
    type_text(&mut d, text);
    check_to_confirm(&mut d, text);
    d
}

#[test]
fn the_toast_link_gives_the_post_url() {
    let text = "Shipping day 🚀\n\nThanks, everyone";
    let mut d = up_to_confirm(text);
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": TOAST_LINK}));
    let (target, what, _) = read_of(&c);
    assert_eq!(what, "href");
    assert!(first_css(target).contains("artdeco-toast-item"));
    let c = d.reply(json!({"ok": true, "url": FEED, "found": true, "via": 0,
        "value": "https://www.linkedin.com/feed/update/urn:li:activity:7400000000000000001/"}));
    assert_eq!(
        succeeded_with(&c),
        "https://www.linkedin.com/feed/update/urn:li:activity:7400000000000000001"
    );
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn the_create_response_names_the_share() {
    let mut d = up_to_confirm("Hiring!");
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": NET, "probes": [
        {"found": false, "values": {"share": "urn:li:share:7401234567890123456"}}]}));
    assert_eq!(
        succeeded_with(&c),
        "https://www.linkedin.com/feed/update/urn:li:share:7401234567890123456/"
    );
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn a_toast_without_link_finds_the_new_feed_item_by_its_whole_text() {
    let text = "Spring release notes are out #OpenSource";
    let mut d = up_to_confirm(text);
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": SUCCESS_TOAST}));
    // A last short look for the network evidence or a late link.
    assert_eq!(wait_keys(&c)[..3], ["s0", "s1", "s2"]);
    let c = d.reply(json!({"ok": true, "url": FEED}));
    let (target, what, exclude) = read_of(&c);
    assert_eq!(what, "data-urn");
    assert_eq!(exclude, [OLD_A.to_string(), OLD_B.to_string()]);
    for l in &target.0 {
        let p = l
            .text_pattern
            .as_deref()
            .expect("postText on every locator");
        assert!(p.contains("OpenSource"), "{p}");
    }
    let c = d.reply(json!({"ok": true, "url": FEED, "found": true, "via": 0,
        "value": "urn:li:activity:7402111111111111111"}));
    assert_eq!(
        succeeded_with(&c),
        "https://www.linkedin.com/feed/update/urn:li:activity:7402111111111111111/"
    );
}

/// After the click: a toast without link, nothing new on the feed, then
/// the recent activity.
fn to_recent_lookup(d: &mut Driver) -> Command {
    d.reply(json!({"ok": true, "url": FEED, "matched": SUCCESS_TOAST}));
    d.reply(json!({"ok": true, "url": FEED}));
    let c = d.reply(json!({"ok": true, "url": FEED, "found": false}));
    assert_eq!(c, nav(RECENT));
    let c = d.feed(Observation::Navigated { url: RECENT.into() });
    let (_, what, exclude) = read_of(&c);
    assert_eq!(what, "data-urn");
    // The recent activity's posts seen before posting never count.
    assert_eq!(
        exclude,
        [SEEDED.to_string(), OLD_A.to_string(), OLD_B.to_string()]
    );
    c
}

#[test]
fn the_new_post_late_in_the_recent_activity_is_taken_not_an_older_one() {
    let mut d = up_to_confirm("Quarterly numbers are in: revenue up 12% 📈");
    to_recent_lookup(&mut d);
    let c = d.reply(json!({"ok": true, "url": RECENT, "found": true, "via": 0,
        "value": "urn:li:activity:7402333333333333333"}));
    assert_eq!(
        succeeded_with(&c),
        "https://www.linkedin.com/feed/update/urn:li:activity:7402333333333333333/"
    );
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn no_identity_is_outcome_unknown_never_a_guess() {
    let mut d = up_to_confirm("A post nobody can point to.");
    to_recent_lookup(&mut d);
    let c = d.reply(json!({"ok": true, "url": RECENT, "found": false}));
    assert_eq!(failed_code(&c), JobErrorCode::OutcomeUnknown);
    let details = failure_details(&d.state).unwrap();
    assert!(details["seen"]
        .as_str()
        .unwrap()
        .contains("recent activity"));
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn interruptions_fail_with_not_logged_in_and_a_reason() {
    // Two-step verification instead of the feed.
    let mut d = Driver::new("hi");
    up_to_entry(&mut d);
    let c = d.reply(
        json!({"ok": true, "url": "https://www.linkedin.com/checkpoint/challenge/AgG1",
        "matched": TWO_FACTOR}),
    );
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(failure_details(&d.state).unwrap()["reason"], "two_factor");

    // A security check while the baseline is collected.
    let mut d = Driver::new("hi");
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated { url: RECENT.into() });
    let c = d.reply(
        json!({"ok": true, "url": "https://www.linkedin.com/checkpoint/challenge/AgG1",
        "matched": CHECKPOINT}),
    );
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(failure_details(&d.state).unwrap()["reason"], "checkpoint");
    assert_eq!(d.submit_clicks(), 0);

    // The login wall has no reason.
    let mut d = Driver::new("hi");
    up_to_entry(&mut d);
    let c =
        d.reply(json!({"ok": true, "url": "https://www.linkedin.com/login", "matched": LOGIN_URL}));
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert!(failure_details(&d.state).is_none_or(|v| v.get("reason").is_none()));
}

#[test]
fn interruption_signals_come_in_the_order_that_names_them_right() {
    let pack = Pack::builtin(Platform::Linkedin).unwrap();
    let reasons: Vec<Option<&str>> = pack.signals.iter().map(|s| s.reason.as_deref()).collect();
    // Two-step verification pages live under /checkpoint/ too: they are
    // named before the generic checkpoint.
    assert_eq!(reasons[0], Some("two_factor"));
    assert_eq!(reasons[1], Some("two_factor"));
    assert_eq!(reasons[4], Some("checkpoint"));
    assert_eq!(reasons[5], Some("captcha"));
    let login = pack.signals[2].when[0].url_matches.as_deref().unwrap();
    assert!(login.contains("checkpoint/(lg|rm)/"));
    assert_eq!(pack.signals[6].code, JobErrorCode::RateLimited);
}

#[test]
fn a_swapped_composer_gets_the_text_again_a_bounded_number_of_times() {
    let text = "Swapped composers are no excuse";
    let mut d = Driver::new(text);
    up_to_entry(&mut d);
    // "Start a post", then the (placeholder) editor.
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": ENTRY_LAUNCHER, "via": 2}));
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::Click { .. }
        }
    ));
    d.reply(json!({"ok": true, "url": FEED, "found": true, "via": 2}));
    d.reply(json!({"ok": true, "url": FEED, "matched": "s0", "via": 0}));
    type_text(&mut d, text);
    // The agent saw the editor replaced: type again.
    let c = d.reply(
        json!({"ok": true, "url": FEED, "replaced": true, "probes": [
        {"found": true, "enabled": false, "text": ""}, {"found": true, "enabled": false}]}),
    );
    assert!(
        matches!(
            c,
            Command::Agent {
                command: AgentCommand::InsertText { .. }
            }
        ),
        "{c:?}"
    );
    type_text(&mut d, text);
    // The check times out (the new editor is empty): once more.
    let c = d.reply(json!({"ok": true, "url": FEED, "probes": [
        {"found": true, "enabled": false, "text": ""}, {"found": true, "enabled": false}]}));
    assert!(
        matches!(
            c,
            Command::Agent {
                command: AgentCommand::InsertText { .. }
            }
        ),
        "{c:?}"
    );
    type_text(&mut d, text);
    // A third time the text is lost: the job ends, nothing was clicked.
    let c = d.reply(json!({"ok": true, "url": FEED, "probes": [
        {"found": true, "enabled": false, "text": ""}, {"found": true, "enabled": false}]}));
    assert_eq!(failed_code(&c), JobErrorCode::SelectorNotFound);
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn a_tour_over_the_feed_is_dismissed_until_it_is_gone() {
    let text = "Posting past the product tour.";
    let mut d = Driver::new(text);
    up_to_entry(&mut d);
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": ENTRY_OVERLAY}));
    assert!(
        matches!(
            c,
            Command::Agent {
                command: AgentCommand::Dismiss { .. }
            }
        ),
        "{c:?}"
    );
    // The first candidate closed only a tip: the tour is still there.
    let c = d.reply(json!({"ok": true, "url": FEED}));
    wait_keys(&c);
    let c = d.reply(json!({"ok": true, "url": FEED}));
    assert!(
        matches!(
            c,
            Command::Agent {
                command: AgentCommand::Dismiss { .. }
            }
        ),
        "{c:?}"
    );
    // "Not now" closed it: the wait for it to be gone holds.
    let c = d.reply(json!({"ok": true, "url": FEED}));
    assert_eq!(wait_keys(&c).len(), 1 + d.pack.signals.len());
    // Back at the entry wait: the launcher now.
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": "s0"}));
    assert_eq!(wait_keys(&c)[3], ENTRY_LAUNCHER);
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": ENTRY_LAUNCHER}));
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::Click { .. }
        }
    ));
    d.reply(json!({"ok": true, "url": FEED, "found": true}));
    d.reply(json!({"ok": true, "url": FEED, "matched": "s0"}));
    type_text(&mut d, text);
    check_to_confirm(&mut d, text);
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn a_placeholder_composer_is_awaited_and_a_missing_one_tries_the_preload_route() {
    let mut d = Driver::new("hi");
    up_to_entry(&mut d);
    // The shell of the share box is there, its editor not yet.
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": ENTRY_SHELL}));
    assert_eq!(wait_keys(&c)[0], "s0");
    let c = d.reply(json!({"ok": true, "url": FEED}));
    assert_eq!(c, nav(PRELOAD));
    let c = d.feed(Observation::Navigated {
        url: PRELOAD.into(),
    });
    wait_keys(&c);
    let c = d.reply(json!({"ok": true, "url": PRELOAD}));
    assert_eq!(failed_code(&c), JobErrorCode::SelectorNotFound);
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn rate_limits_fail_and_duplicates_count_as_already_posted() {
    let mut d = up_to_confirm("Rate limited attempt");
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": RATE}));
    assert_eq!(failed_code(&c), JobErrorCode::RateLimited);

    let text = "Our quarterly update is out: read it on the blog.";
    let mut d = up_to_confirm(text);
    let c = d.reply(json!({"ok": true, "url": FEED, "matched": DUPLICATE}));
    assert_eq!(c, nav(RECENT));
    let c = d.feed(Observation::Navigated { url: RECENT.into() });
    let (target, what, exclude) = read_of(&c);
    // The earlier post itself: no exclusion, but its whole text.
    assert_eq!(what, "href");
    assert!(exclude.is_empty());
    assert!(target.0.iter().all(|l| l.text_pattern.is_some()));
    let c = d.reply(json!({"ok": true, "url": RECENT, "found": true, "via": 0,
        "value": "https://www.linkedin.com/feed/update/urn:li:activity:7391234567890123456/"}));
    match outcome(&c) {
        Outcome::Succeeded { post_url, details } => {
            assert_eq!(
                post_url.as_deref(),
                Some("https://www.linkedin.com/feed/update/urn:li:activity:7391234567890123456")
            );
            assert_eq!(details.as_ref().unwrap()["alreadyPosted"], "true");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn every_label_has_the_locales_and_the_fixture_strings() {
    let pack = Pack::builtin(Platform::Linkedin).unwrap();
    for (name, table) in &pack.labels {
        for l in LABEL_LOCALES {
            assert!(table.get(*l).is_some_and(|v| !v.is_empty()), "{name} {l}");
        }
    }
    let has = |label: &str, s: &str| pack.label(label).iter().any(|x| x == s);
    // The French and German fixture UIs.
    assert!(has("startPost", "Commencer un post"));
    assert!(has("startPost", "Beitrag beginnen"));
    assert!(has("postButton", "Publier"));
    assert!(has("postButton", "Posten"));
    assert!(has("postSuccess", "Post publié"));
    assert!(has("viewPost", "Voir le post"));
    assert!(has("rateLimit", "limite hebdomadaire"));
    assert!(has(
        "editorName",
        "Éditeur de texte pour la création de contenu"
    ));
    // Texts and names in locators come from labels only.
    for (name, t) in &pack.targets {
        for l in &t.0 {
            for s in [&l.text, &l.name].into_iter().flatten() {
                assert!(s.starts_with('@'), "{name}: {s:?} is not a label");
            }
        }
    }
}

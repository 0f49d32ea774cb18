//! The TikTok (TikTok Studio) pack run by the engine against recorded
//! observations: the replies the DOM agent and the worker give on real
//! (fixture) pages, as JSON.

use extension_core::engine::{
    advance, failure_details, AgentCommand, Command, EngineState, Observation, Outcome,
};
use extension_core::pack::{Pack, Target};
use extension_core::{JobErrorCode, JobType, LeasedJob, Platform};
use serde_json::json;

const TEXT: &str = "Weekly recap 🎬\n#clawpost";
const CONTENT: &str = "https://www.tiktok.com/tiktokstudio/content";
const UPLOAD: &str = "https://www.tiktok.com/tiktokstudio/upload?lang=en";
const PROFILE: &str = "https://www.tiktok.com/@claw.maker";
/// An older video with the very same caption, on the content page before
/// posting.
const OLDER: &str = "https://www.tiktok.com/@claw.maker/video/7300000000000000401";
const NEW: &str = "https://www.tiktok.com/@claw.maker/video/7452000000000000402";

/// Signal indexes of the pack (`g<i>` keys of a wait).
const LOGIN_URL: &str = "g0";
const CAPTCHA: &str = "g1";
const RATE_LIMIT: &str = "g3";
/// The confirmation wait's "Video published" branch.
const PUBLISHED: &str = "s5";

fn job(text: &str) -> LeasedJob {
    LeasedJob {
        id: "job-1".into(),
        job_type: JobType::Post,
        platform: Platform::Tiktok,
        text: text.into(),
        media_paths: vec!["https://claw.example/media/clip.mp4".into()],
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
    fn new(text: &str) -> Driver {
        Driver {
            pack: Pack::builtin(Platform::Tiktok).unwrap(),
            job: job(text),
            state: EngineState::default(),
            commands: Vec::new(),
        }
    }

    fn feed(&mut self, obs: Observation) -> Command {
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
        self.commands
            .iter()
            .filter(|c| match c {
                Command::Agent {
                    command: AgentCommand::Click { target, .. },
                } => first_css(target).contains("post_video_button"),
                _ => false,
            })
            .count()
    }
}

fn first_css(t: &Target) -> &str {
    t.0[0].css.as_deref().unwrap_or("")
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
        other => panic!("expected the job to finish, got {other:?}"),
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

fn is_insert_text(c: &Command) -> bool {
    matches!(
        c,
        Command::Agent {
            command: AgentCommand::InsertText { .. }
        }
    )
}

fn is_dismiss(c: &Command) -> bool {
    matches!(
        c,
        Command::Agent {
            command: AgentCommand::Dismiss { .. }
        }
    )
}

/// From a fresh tab to the editor view: the content page (the profile link
/// and the videos present before posting), the upload page, the video
/// attached and uploaded. Returns the command after "upload done" (typing).
fn up_to_typing(d: &mut Driver, before: &[&str]) -> Command {
    let c = d.feed(Observation::Start { url: None });
    assert_eq!(
        c,
        Command::Navigate {
            url: format!("{CONTENT}?lang=en"),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated {
        url: format!("{CONTENT}?lang=en"),
    });
    let keys = wait_keys(&c);
    assert_eq!(keys[0], "s0");
    assert!(
        keys.iter().any(|k| k == CAPTCHA),
        "signals ride along: {keys:?}"
    );
    let c = d.reply(json!({"ok": true, "url": CONTENT, "matched": "s0", "via": 0}));
    // The account's profile link (for a URL from the create response).
    match &c {
        Command::Agent {
            command: AgentCommand::Read { target, what, .. },
        } => {
            assert_eq!(what, "href");
            assert!(first_css(target).contains("components_Sidebar_Container"));
        }
        other => panic!("expected the profile read, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": CONTENT, "found": true, "via": 0, "value": PROFILE}));
    // Every video link present before posting.
    match &c {
        Command::Agent {
            command: AgentCommand::ReadAll { target, what, .. },
        } => {
            assert_eq!(what, "href");
            assert!(first_css(target).contains("components_PostTable_Container"));
        }
        other => panic!("expected the baseline collection, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": CONTENT, "found": true, "via": 0, "values": before}));
    assert_eq!(
        c,
        Command::Navigate {
            url: UPLOAD.into(),
            timeout_ms: 30_000
        }
    );
    let c = d.feed(Observation::Navigated { url: UPLOAD.into() });
    assert_eq!(wait_keys(&c)[0], "s0");
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s0", "via": 0}));
    assert!(matches!(c, Command::AttachMedia { .. }), "{c:?}");
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "found": true, "via": 0, "count": 1}));
    // The editor shows; then the upload finishes (Post enabled).
    assert_eq!(wait_keys(&c)[1], "s1");
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s1", "via": 0}));
    assert_eq!(wait_keys(&c)[1], "s1");
    d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s1", "via": 0}))
}

/// Types, finds no overlay, and clicks Post. Returns the command after the
/// click (the confirmation wait).
fn type_and_post(d: &mut Driver, first: Command) -> Command {
    assert!(is_insert_text(&first), "expected typing, got {first:?}");
    let c =
        d.reply(json!({"ok": true, "url": UPLOAD, "found": true, "via": 0, "text": d.job.text}));
    assert!(is_dismiss(&c), "expected the overlay dismissal, got {c:?}");
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "found": false}));
    // Ready: the caption holds the text and Post is enabled.
    assert_eq!(wait_keys(&c)[1], "s1");
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s1", "via": 0}));
    assert_eq!(wait_keys(&c)[0], "s0");
    let text = d.job.text.clone();
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s0",
        "probes": [{"found": true, "enabled": true, "text": text}, {"found": true, "enabled": true}]}));
    assert_eq!(c, Command::ReportSubmitting);
    let c = d.feed(Observation::SubmittingAccepted);
    match &c {
        Command::Agent {
            command: AgentCommand::Click { target, arm, .. },
        } => {
            assert!(first_css(target).contains("post_video_button"));
            // The create call's rule is armed right before the click.
            assert_eq!(arm.len(), 1);
            assert!(arm[0].url_matches.contains("tiktok/web/project/post/v1"));
        }
        other => panic!("expected the Post click, got {other:?}"),
    }
    d.reply(json!({"ok": true, "url": UPLOAD, "found": true, "via": 0}))
}

#[test]
fn the_create_response_gives_the_video_id_and_the_page_the_handle() {
    let mut d = Driver::new(TEXT);
    let c = up_to_typing(&mut d, &[OLDER]);
    let c = type_and_post(&mut d, c);
    // The confirmation wait: the network evidence comes first.
    assert_eq!(wait_keys(&c)[0], "s0");
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s0",
        "probes": [{"found": true, "values": {"id": "7451234567890123456"}}]}));
    assert_eq!(
        succeeded_with(&c),
        "https://www.tiktok.com/@claw.maker/video/7451234567890123456"
    );
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn without_a_profile_link_the_url_from_the_response_has_no_handle() {
    let mut d = Driver::new(TEXT);
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated {
        url: format!("{CONTENT}?lang=en"),
    });
    d.reply(json!({"ok": true, "url": CONTENT, "matched": "s0", "via": 0}));
    // No profile link: not a failure.
    let c = d.reply(json!({"ok": true, "url": CONTENT, "found": false}));
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::ReadAll { .. }
        }
    ));
    let c = d.reply(json!({"ok": true, "url": CONTENT, "found": false, "values": []}));
    assert!(matches!(c, Command::Navigate { .. }));
    d.feed(Observation::Navigated { url: UPLOAD.into() });
    d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s0", "via": 0}));
    d.reply(json!({"ok": true, "url": UPLOAD, "found": true, "via": 0, "count": 1}));
    d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s1", "via": 0}));
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s1", "via": 0}));
    let c = type_and_post(&mut d, c);
    assert_eq!(wait_keys(&c)[0], "s0");
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s0",
        "probes": [{"found": true, "values": {"id": "7451234567890123456"}}]}));
    assert_eq!(
        succeeded_with(&c),
        "https://www.tiktok.com/@/video/7451234567890123456"
    );
}

#[test]
fn the_new_video_is_the_one_with_this_caption_that_was_not_there_before() {
    let mut d = Driver::new(TEXT);
    let c = up_to_typing(&mut d, &[OLDER, OLDER]);
    let c = type_and_post(&mut d, c);
    assert_eq!(wait_keys(&c)[5], PUBLISHED);
    // "Video published" (no link), then TikTok moves to the content page.
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": PUBLISHED, "via": 0}));
    assert_eq!(wait_keys(&c)[1], "s1");
    let c = d.reply(json!({"ok": true, "url": CONTENT, "matched": "s1"}));
    match &c {
        Command::Agent {
            command:
                AgentCommand::Read {
                    target,
                    exclude,
                    timeout_ms,
                    ..
                },
        } => {
            // The whole caption, not a prefix; the older video excluded.
            assert!(target
                .0
                .iter()
                .all(|l| l.post_text || l.text_pattern.is_some()));
            assert_eq!(exclude, &vec![OLDER.to_string(), OLDER.to_string()]);
            assert!(*timeout_ms >= 5_000, "the new row may still be processing");
        }
        other => panic!("expected the content lookup, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "url": CONTENT, "found": true, "via": 0, "value": NEW}));
    assert_eq!(succeeded_with(&c), NEW);
}

#[test]
fn no_identity_at_all_is_outcome_unknown_with_what_was_seen() {
    let mut d = Driver::new(TEXT);
    let c = up_to_typing(&mut d, &[OLDER]);
    let c = type_and_post(&mut d, c);
    assert_eq!(wait_keys(&c)[5], PUBLISHED);
    d.reply(json!({"ok": true, "url": UPLOAD, "matched": PUBLISHED, "via": 0}));
    d.reply(json!({"ok": true, "url": CONTENT, "matched": "s1"}));
    // Only the older video matches: nothing new.
    let c = d.reply(json!({"ok": true, "url": CONTENT, "found": true, "via": 0, "value": null}));
    // A last look at the network evidence, then the failure.
    assert_eq!(wait_keys(&c)[0], "s0");
    let c = d.reply(json!({"ok": true, "url": CONTENT, "probes": [{"found": false}]}));
    assert_eq!(failed_code(&c), JobErrorCode::OutcomeUnknown);
    let details = failure_details(&d.state).unwrap();
    assert!(details["seen"].as_str().unwrap().contains("content page"));
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn a_caption_editor_replaced_after_the_upload_gets_the_text_again() {
    let mut d = Driver::new(TEXT);
    let c = up_to_typing(&mut d, &[]);
    assert!(is_insert_text(&c));
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "found": true, "via": 0, "text": TEXT}));
    assert!(is_dismiss(&c));
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "found": false}));
    assert_eq!(wait_keys(&c)[2], "s2");
    // Post enabled, but the (new) editor holds the file name: type again.
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s2", "via": 0}));
    assert!(is_insert_text(&c), "expected typing again, got {c:?}");
    let c = type_and_post(&mut d, c);
    assert_eq!(wait_keys(&c)[0], "s0");
    assert_eq!(d.submit_clicks(), 1);
}

#[test]
fn a_tour_that_stays_is_dismissed_again_but_not_forever() {
    let mut d = Driver::new(TEXT);
    let c = up_to_typing(&mut d, &[]);
    assert!(is_insert_text(&c));
    let mut c = d.reply(json!({"ok": true, "url": UPLOAD, "found": true, "via": 0, "text": TEXT}));
    let mut rounds = 0;
    while is_dismiss(&c) {
        rounds += 1;
        assert!(rounds < 20, "the overlay loop must be bounded");
        c = d.reply(json!({"ok": true, "url": UPLOAD, "found": true, "via": 11}));
        // The overlay is still there.
        if matches!(c, Command::Finish { .. }) {
            break;
        }
        c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": "s0", "via": 11}));
    }
    assert_eq!(failed_code(&c), JobErrorCode::UnknownError);
    assert!(
        rounds >= 3,
        "a multi-step tour gets several tries ({rounds})"
    );
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn the_slider_captcha_stops_the_job_with_its_reason() {
    let mut d = Driver::new(TEXT);
    d.feed(Observation::Start { url: None });
    let c = d.feed(Observation::Navigated {
        url: format!("{CONTENT}?lang=en"),
    });
    let keys = wait_keys(&c);
    assert!(keys.iter().any(|k| k == LOGIN_URL) && keys.iter().any(|k| k == RATE_LIMIT));
    let c = d.reply(json!({"ok": true, "url": CONTENT, "matched": CAPTCHA, "via": 0}));
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(
        failure_details(&d.state),
        Some(json!({"reason": "captcha"}))
    );
    assert_eq!(d.submit_clicks(), 0);
}

#[test]
fn the_slider_captcha_after_post_is_an_interruption_not_an_unknown_outcome() {
    let mut d = Driver::new(TEXT);
    let c = up_to_typing(&mut d, &[]);
    let c = type_and_post(&mut d, c);
    assert!(wait_keys(&c).iter().any(|k| k == CAPTCHA));
    let c = d.reply(json!({"ok": true, "url": UPLOAD, "matched": CAPTCHA, "via": 1}));
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(
        failure_details(&d.state),
        Some(json!({"reason": "captcha"}))
    );
}

#[test]
fn the_login_page_is_not_logged_in_without_a_reason() {
    let mut d = Driver::new(TEXT);
    d.feed(Observation::Start { url: None });
    d.feed(Observation::Navigated {
        url: "https://www.tiktok.com/login?redirect_url=x".into(),
    });
    let c =
        d.reply(json!({"ok": true, "url": "https://www.tiktok.com/login", "matched": LOGIN_URL}));
    assert_eq!(failed_code(&c), JobErrorCode::NotLoggedIn);
    assert_eq!(failure_details(&d.state), None);
}

#[test]
fn every_label_the_pack_reads_covers_the_eight_locales() {
    let pack = Pack::builtin(Platform::Tiktok).unwrap();
    for (name, table) in &pack.labels {
        for locale in ["en", "de", "fr", "es", "pt", "it", "ja", "zh"] {
            assert!(
                table.get(locale).is_some_and(|v| !v.is_empty()),
                "label {name} lacks {locale}"
            );
        }
    }
    // Japanese Studio: the words the flow reads.
    let post = pack.label("post");
    assert!(post.contains(&"投稿".to_string()));
    assert!(pack.label("postNow").contains(&"今すぐ投稿".to_string()));
    assert!(pack
        .label("uploaded")
        .contains(&"アップロード完了".to_string()));
}

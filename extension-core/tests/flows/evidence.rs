//! Proof of the post, as the engine runs it: network evidence captured from
//! the platform's own create call, new-item diffing against the posts seen
//! before submitting, whole-text identity, per-locale labels, interruptions
//! with a reason, bounded loops, re-typing into a swapped composer and long
//! waits sent in slices.

use extension_core::engine::{
    advance, AgentCommand, AgentReply, Command, EngineState, Observation, Outcome, WAIT_SLICE_MS,
};
use extension_core::pack::Pack;
use extension_core::{JobErrorCode, JobType, LeasedJob, Platform};
use serde_json::{json, Value};

const TEXT: &str = "Launch day 🚀 https://clawpost.net/docs";

fn job() -> LeasedJob {
    LeasedJob {
        id: "job-1".into(),
        job_type: JobType::Post,
        platform: Platform::X,
        text: TEXT.into(),
        media_paths: vec![],
        platform_payload: None,
        lease_expires_at: 0,
        attempt: 1,
    }
}

fn labels() -> Value {
    json!({"post": {"en": ["Post"], "de": ["Posten"], "fr": ["Publier"], "es": ["Publicar"],
        "pt": ["Publicar"], "it": ["Pubblica"], "ja": ["ポストする"], "zh": ["发帖"]}})
}

/// A pack in the shape of the real ones, using every evidence feature.
fn pack_json() -> Value {
    json!({
        "platform": "x",
        "version": "test-1",
        "hosts": ["x.com"],
        "entryUrl": "https://x.com/home",
        "deadlineSeconds": 90,
        "labels": labels(),
        "network": [{
            "id": "create",
            "urlMatches": "/graphql/[^/]+/CreateTweet",
            "method": "POST",
            "captures": {
                "id": {"paths": ["data.create_tweet.tweet_results.result.rest_id"]},
                "handle": {"paths": ["data.create_tweet.tweet_results.result.core.user_results.result.core.screen_name"]}
            },
            "requires": "id"
        }],
        "targets": {
            "editor": [{"css": "[data-testid=tweetTextarea_0]"}],
            "submit": [{"css": "[data-testid=tweetButton]"}, {"role": "button", "name": "@post"}],
            "posts": [{"css": "article a[href*='/status/']"}],
            "thisPost": [{"css": "article", "postText": true, "inner": "a[href*='/status/']"}],
            "tour": [{"css": "[role=dialog] button"}],
            "captcha": [{"css": "#arkose"}]
        },
        "signals": [
            {"when": [{"target": "captcha"}], "code": "not_logged_in", "reason": "captcha",
             "message": "X asks to solve a puzzle."}
        ],
        "flows": [{"jobType": "post", "steps": [
            {"id": "before", "action": "collect", "target": "posts", "read": "href", "into": "before.posts", "timeoutMs": 1000},
            {"id": "tour", "action": "dismissOverlay", "target": "tour"},
            {"id": "text", "action": "insertText", "target": "editor"},
            {"id": "verify", "action": "check", "timeoutMs": 60000,
             "conditions": [{"target": "editor", "hasJobText": true}, {"target": "submit", "enabled": true}]},
            {"id": "submit", "action": "click", "target": "submit", "submit": true},
            {"id": "confirm", "action": "waitFor", "timeoutMs": 10000,
             "branches": [{"when": [{"network": "create"}], "then": {"goto": "netUrl"}}],
             "onTimeout": {"goto": "find"}},
            {"id": "netUrl", "action": "set", "into": "postUrl",
             "value": "https://x.com/{net.handle}/status/{net.id}", "orElse": ["https://x.com/i/status/{net.id}"]},
            {"id": "netDone", "action": "done"},
            {"id": "find", "action": "extract", "target": "thisPost", "read": "href", "into": "postUrl",
             "exclude": "before.posts", "timeoutMs": 5000,
             "shape": {"digitsAfter": "/status/", "absoluteUrl": true},
             "onFail": {"goto": "unknown"}},
            {"id": "found", "action": "done"},
            {"id": "unknown", "action": "set", "into": "details.seen", "value": "no new post with this text"},
            {"id": "giveUp", "action": "fail", "code": "outcome_unknown",
             "message": "X: the post could not be identified."},
            {"id": "end", "action": "done"}
        ]}]
    })
}

fn pack() -> Pack {
    Pack::from_json(&pack_json().to_string()).expect("valid test pack")
}

struct Driver {
    pack: Pack,
    job: LeasedJob,
    state: EngineState,
    last: Option<Command>,
}

impl Driver {
    fn new() -> Driver {
        Driver {
            pack: pack(),
            job: job(),
            state: EngineState::default(),
            last: None,
        }
    }

    fn feed(&mut self, obs: Observation) -> Command {
        let (state, cmd) = advance(&self.pack, &self.job, self.state.clone(), obs);
        self.state = state;
        self.last = Some(cmd.clone());
        cmd
    }

    fn reply(&mut self, v: Value) -> Command {
        let reply: AgentReply = serde_json::from_value(v).expect("reply");
        self.feed(Observation::Agent { reply })
    }

    /// Runs up to the submit click (text typed, check passed, submitting
    /// accepted); `before` are the links present before submitting.
    fn up_to_click(before: &[&str]) -> (Driver, Command) {
        let mut d = Driver::new();
        let c = d.feed(Observation::Start {
            url: Some("https://x.com/home".into()),
        });
        assert!(matches!(
            c,
            Command::Agent {
                command: AgentCommand::ReadAll { .. }
            }
        ));
        let c = d.reply(json!({"ok": true, "found": true, "values": before}));
        assert!(matches!(
            c,
            Command::Agent {
                command: AgentCommand::Dismiss { .. }
            }
        ));
        let c = d.reply(json!({"ok": true, "found": false}));
        assert!(matches!(
            c,
            Command::Agent {
                command: AgentCommand::InsertText { .. }
            }
        ));
        let c = d.reply(json!({"ok": true, "found": true, "text": TEXT}));
        assert!(matches!(
            c,
            Command::Agent {
                command: AgentCommand::WaitFor { .. }
            }
        ));
        let c = d.reply(json!({"ok": true, "matched": "s0",
            "probes": [{"found": true, "enabled": true, "text": TEXT}, {"found": true, "enabled": true}]}));
        assert_eq!(c, Command::ReportSubmitting);
        let c = d.feed(Observation::SubmittingAccepted);
        (d, c)
    }
}

fn outcome(c: &Command) -> &Outcome {
    match c {
        Command::Finish { outcome } => outcome,
        other => panic!("expected the end, got {other:?}"),
    }
}

#[test]
fn the_publish_click_arms_the_packs_network_rules_and_carries_the_signals() {
    let (_, click) = Driver::up_to_click(&[]);
    match click {
        Command::Agent {
            command: AgentCommand::Click {
                arm, interrupts, ..
            },
        } => {
            assert_eq!(arm.len(), 1);
            assert_eq!(arm[0].id, "create");
            assert_eq!(arm[0].requires, "id");
            assert_eq!(interrupts.len(), 1);
            assert_eq!(interrupts[0].key, "g0");
        }
        other => panic!("expected the submit click, got {other:?}"),
    }
}

#[test]
fn network_evidence_gives_the_post_url_from_the_captured_values() {
    let (mut d, _) = Driver::up_to_click(&[]);
    let c = d.reply(json!({"ok": true, "found": true}));
    match &c {
        Command::Agent {
            command: AgentCommand::WaitFor { branches, .. },
        } => assert_eq!(branches[0].probes[0].network.as_deref(), Some("create")),
        other => panic!("expected the confirmation wait, got {other:?}"),
    }
    let c = d.reply(json!({"ok": true, "matched": "s0",
        "probes": [{"found": false, "values": {"id": "1790000000000000042", "handle": "clawtest"}}]}));
    assert_eq!(
        outcome(&c),
        &Outcome::Succeeded {
            post_url: Some("https://x.com/clawtest/status/1790000000000000042".into()),
            details: None
        }
    );
}

#[test]
fn without_a_handle_the_url_falls_back_to_the_next_template() {
    let (mut d, _) = Driver::up_to_click(&[]);
    d.reply(json!({"ok": true, "found": true}));
    let c = d.reply(json!({"ok": true, "matched": "s0",
        "probes": [{"found": false, "values": {"id": "1790000000000000042"}}]}));
    assert_eq!(
        outcome(&c),
        &Outcome::Succeeded {
            post_url: Some("https://x.com/i/status/1790000000000000042".into()),
            details: None
        }
    );
}

#[test]
fn without_network_evidence_the_new_post_is_found_by_its_whole_text_and_not_among_the_old() {
    let old = "https://x.com/clawtest/status/1790000000000000001";
    let (mut d, _) = Driver::up_to_click(&[old]);
    d.reply(json!({"ok": true, "found": true}));
    let c = d.reply(json!({"ok": true, "probes": [{"found": false}]}));
    let Command::Agent {
        command: AgentCommand::Read {
            target, exclude, ..
        },
    } = &c
    else {
        panic!("expected the read of the new post, got {c:?}");
    };
    // The posts seen before submitting are never this post.
    assert_eq!(exclude, &vec![old.to_string()]);
    // The card must show the whole text, as a pattern the agent tests.
    let pattern = target.0[0].text_pattern.as_deref().expect("a text pattern");
    let re = regex::Regex::new(pattern).unwrap();
    assert!(re.is_match("Claw Test\nLaunch day 🚀 clawpost.net/docs\n3 Likes"));
    assert!(!re.is_match("Launch day 🚀 another.example/docs"));
    assert!(!target.0[0].post_text, "sent as a pattern");
    let c = d.reply(json!({"ok": true, "found": true,
        "value": "https://x.com/clawtest/status/1790000000000000002/photo/1"}));
    assert_eq!(
        outcome(&c),
        &Outcome::Succeeded {
            post_url: Some("https://x.com/clawtest/status/1790000000000000002".into()),
            details: None
        }
    );
}

#[test]
fn no_identity_is_outcome_unknown_with_what_was_seen_never_a_guess() {
    let (mut d, _) = Driver::up_to_click(&[]);
    d.reply(json!({"ok": true, "found": true}));
    d.reply(json!({"ok": true, "probes": [{"found": false}]}));
    // Cards exist, but none is new with this text.
    let c = d.reply(json!({"ok": true, "found": true, "value": null}));
    match outcome(&c) {
        Outcome::Failed { code, .. } => assert_eq!(*code, JobErrorCode::OutcomeUnknown),
        other => panic!("expected outcome_unknown, got {other:?}"),
    }
    let details = extension_core::engine::failure_details(&d.state).unwrap();
    assert_eq!(details, json!({"seen": "no new post with this text"}));
}

#[test]
fn an_interruption_while_waiting_for_a_target_ends_the_job_with_its_reason() {
    let mut d = Driver::new();
    d.feed(Observation::Start { url: None });
    d.reply(json!({"ok": true, "found": false, "values": []}));
    let c = d.reply(json!({"ok": true, "found": false}));
    let Command::Agent {
        command: AgentCommand::InsertText { interrupts, .. },
    } = &c
    else {
        panic!("expected insertText, got {c:?}");
    };
    assert_eq!(interrupts[0].key, "g0");
    let c =
        d.reply(json!({"ok": true, "found": false, "matched": "g0", "probes": [{"found": true}]}));
    match outcome(&c) {
        Outcome::Failed { code, message } => {
            assert_eq!(*code, JobErrorCode::NotLoggedIn);
            assert!(message.contains("puzzle"));
        }
        other => panic!("expected not_logged_in, got {other:?}"),
    }
    let details = extension_core::engine::failure_details(&d.state).unwrap();
    assert_eq!(details, json!({"reason": "captcha"}));
}

#[test]
fn labels_reach_the_agent_as_every_locales_strings() {
    let (d, click) = Driver::up_to_click(&[]);
    let Command::Agent {
        command: AgentCommand::Click { target, .. },
    } = click
    else {
        panic!("expected the click");
    };
    let by_name = &target.0[1];
    assert_eq!(by_name.name, None);
    for s in ["Post", "Posten", "Publier", "ポストする", "发帖"] {
        assert!(by_name.name_any.iter().any(|n| n == s), "{s} missing");
    }
    // Spanish and Portuguese share a word: sent once.
    assert_eq!(
        by_name.name_any.iter().filter(|n| *n == "Publicar").count(),
        1
    );
    assert_eq!(d.pack.deadline_ms(), 90_000);
}

#[test]
fn a_composer_replaced_after_typing_is_typed_into_again_a_bounded_number_of_times() {
    let mut d = Driver::new();
    d.feed(Observation::Start { url: None });
    d.reply(json!({"ok": true, "found": true, "values": []}));
    d.reply(json!({"ok": true, "found": false}));
    let mut typed = 0;
    let mut c = d.reply(json!({"ok": true, "found": true, "text": TEXT}));
    typed += 1;
    loop {
        match &c {
            Command::Agent {
                command: AgentCommand::WaitFor { .. },
            } => {
                // The check sees an empty editor that replaced the one typed into.
                c = d.reply(json!({"ok": true, "replaced": true,
                    "probes": [{"found": true, "text": ""}, {"found": true}]}));
            }
            Command::Agent {
                command: AgentCommand::InsertText { .. },
            } => {
                typed += 1;
                c = d.reply(json!({"ok": true, "found": true, "text": TEXT}));
            }
            Command::Finish { outcome } => {
                match outcome {
                    Outcome::Failed { code, message } => {
                        assert_eq!(*code, JobErrorCode::UnknownError);
                        assert!(message.contains("came round"), "{message}");
                    }
                    other => panic!("expected a failure, got {other:?}"),
                }
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The default bound: four visits of the insert step.
    assert_eq!(typed, 4);
}

#[test]
fn long_waits_go_out_in_slices_and_time_out_only_at_the_steps_timeout() {
    let mut d = Driver::new();
    d.feed(Observation::Start { url: None });
    d.reply(json!({"ok": true, "found": true, "values": []}));
    d.reply(json!({"ok": true, "found": false}));
    let mut c = d.reply(json!({"ok": true, "found": true, "text": TEXT}));
    let mut slices = Vec::new();
    while let Command::Agent {
        command: AgentCommand::WaitFor { timeout_ms, .. },
    } = &c
    {
        assert!(*timeout_ms <= WAIT_SLICE_MS);
        slices.push(*timeout_ms);
        c = d.reply(json!({"ok": true, "probes": [{"found": true, "text": ""}, {"found": true}]}));
    }
    assert_eq!(slices.iter().sum::<u64>(), 60_000);
    assert_eq!(slices.len(), 3);
    assert!(matches!(outcome(&c), Outcome::Failed { .. }));
}

#[test]
fn malformed_evidence_features_are_refused() {
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut v = pack_json();
        edit(&mut v);
        Pack::from_json(&v.to_string()).unwrap_err().0
    };
    assert!(broken(&|v| v["labels"]["post"]
        .as_object_mut()
        .unwrap()
        .remove("ja")
        .map(|_| ())
        .unwrap())
    .contains("no ja text"));
    assert!(
        broken(&|v| v["targets"]["submit"][1]["name"] = json!("@nope")).contains("unknown label")
    );
    assert!(
        broken(&|v| v["network"][0]["requires"] = json!("nothing")).contains("does not capture")
    );
    assert!(broken(&|v| v["signals"][0]["reason"] = json!("bored")).contains("reason"));
    assert!(broken(&|v| {
        v["flows"][0]["steps"][5]["branches"][0]["when"][0]["network"] = json!("other")
    })
    .contains("unknown network rule"));
}

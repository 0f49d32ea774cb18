//! Group jobs as data: the job's group reaches a pack as `{groupId}`,
//! `{groupUrl}` and `{groupPageUrl}`, steps can be guarded by whether a job
//! names a group, and `set` writes a decided value such as
//! `details.buttonState`. A post for a group never runs a flow that does not
//! handle groups.

use extension_core::engine::{advance, AgentCommand, Command, EngineState, Observation, Outcome};
use extension_core::pack::Pack;
use extension_core::{JobErrorCode, JobType, LeasedJob, Platform, PlatformPayload};
use serde_json::json;

fn job(job_type: JobType, group_id: Option<&str>, group_url: Option<&str>) -> LeasedJob {
    LeasedJob {
        id: "job-1".into(),
        job_type,
        platform: Platform::Facebook,
        text: if job_type == JobType::Post {
            "Hello group".into()
        } else {
            String::new()
        },
        media_paths: vec![],
        platform_payload: (group_id.is_some() || group_url.is_some()).then(|| PlatformPayload {
            group_id: group_id.map(str::to_string),
            group_url: group_url.map(str::to_string),
        }),
        lease_expires_at: 0,
        attempt: 1,
    }
}

/// A small pack in the shape of a Facebook one.
fn pack() -> Pack {
    Pack::from_json(
        &json!({
            "platform": "facebook",
            "version": "test-1",
            "hosts": ["www.facebook.com"],
            "entryUrl": "https://www.facebook.com/",
            "targets": {
                "joined": [{"css": "[data-t=joined]"}],
                "join": [{"css": "[data-t=join]"}],
                "postButton": [{"css": "[data-t=post]"}]
            },
            "flows": [
                {"jobType": "post", "steps": [
                    {"id": "group", "action": "navigate", "url": "{groupPageUrl}", "onlyIf": "hasGroup"},
                    {"id": "feed", "action": "navigate", "url": "https://www.facebook.com/", "onlyIf": "noGroup"},
                    {"id": "submit", "action": "click", "target": "postButton", "submit": true},
                    {"id": "url", "action": "set", "into": "postUrl", "value": "{groupPageUrl}", "onlyIf": "hasGroup"},
                    {"id": "approval", "action": "set", "into": "details.approval", "value": "pending", "onlyIf": "hasGroup"},
                    {"id": "done", "action": "done"}
                ]},
                {"jobType": "facebook_group_status", "steps": [
                    {"id": "open", "action": "navigate", "url": "{groupPageUrl}"},
                    {"id": "state", "action": "waitFor", "branches": [
                        {"when": [{"target": "joined"}], "then": {"goto": "isJoined"}},
                        {"when": [{"target": "join"}], "then": {"goto": "notMember"}}
                    ], "onTimeout": {"fail": {"code": "selector_not_found", "message": "no state"}}},
                    {"id": "isJoined", "action": "set", "into": "details.buttonState", "value": "joined"},
                    {"id": "doneJoined", "action": "done"},
                    {"id": "notMember", "action": "set", "into": "details.buttonState", "value": "not_member"},
                    {"id": "doneNot", "action": "done"}
                ]}
            ]
        })
        .to_string(),
    )
    .expect("the test pack is valid")
}

fn step(
    pack: &Pack,
    job: &LeasedJob,
    state: EngineState,
    obs: Observation,
) -> (EngineState, Command) {
    advance(pack, job, state, obs)
}

#[test]
fn a_status_job_opens_the_group_and_sets_the_button_state() {
    let pack = pack();
    let job = job(JobType::FacebookGroupStatus, Some("1234567890"), None);
    let (st, c) = step(
        &pack,
        &job,
        EngineState::default(),
        Observation::Start { url: None },
    );
    let url = "https://www.facebook.com/groups/1234567890/";
    assert_eq!(
        c,
        Command::Navigate {
            url: url.into(),
            timeout_ms: 15_000
        }
    );
    let (st, c) = step(&pack, &job, st, Observation::Navigated { url: url.into() });
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::WaitFor { .. }
        }
    ));
    let reply = serde_json::from_value(json!({"ok": true, "url": url, "matched": "s1"})).unwrap();
    let (_, c) = step(&pack, &job, st, Observation::Agent { reply });
    match c {
        Command::Finish {
            outcome: Outcome::Succeeded { details, .. },
        } => assert_eq!(details, Some(json!({"buttonState": "not_member"}))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_group_url_is_used_as_given_and_guards_pick_the_group_steps() {
    let pack = pack();
    let given = "https://www.facebook.com/groups/rustaceans/";
    let job = job(JobType::Post, None, Some(given));
    let (st, c) = step(
        &pack,
        &job,
        EngineState::default(),
        Observation::Start { url: None },
    );
    assert_eq!(
        c,
        Command::Navigate {
            url: given.into(),
            timeout_ms: 15_000
        }
    );
    let (st, c) = step(
        &pack,
        &job,
        st,
        Observation::Navigated { url: given.into() },
    );
    assert_eq!(c, Command::ReportSubmitting);
    let (st, c) = step(&pack, &job, st, Observation::SubmittingAccepted);
    assert!(matches!(
        c,
        Command::Agent {
            command: AgentCommand::Click { .. }
        }
    ));
    let reply = serde_json::from_value(json!({"ok": true, "url": given, "found": true})).unwrap();
    let (_, c) = step(&pack, &job, st, Observation::Agent { reply });
    match c {
        Command::Finish {
            outcome: Outcome::Succeeded { post_url, details },
        } => {
            assert_eq!(post_url.as_deref(), Some(given));
            assert_eq!(details, Some(json!({"approval": "pending"})));
        }
        other => panic!("{other:?}"),
    }

    // The same flow without a group takes the feed steps.
    let feed = job_without_group();
    let (_, c) = step(
        &pack,
        &feed,
        EngineState::default(),
        Observation::Start { url: None },
    );
    assert_eq!(
        c,
        Command::Navigate {
            url: "https://www.facebook.com/".into(),
            timeout_ms: 15_000
        }
    );
}

fn job_without_group() -> LeasedJob {
    job(JobType::Post, None, None)
}

#[test]
fn group_ids_cannot_smuggle_a_path() {
    let pack = pack();
    let job = job(JobType::FacebookGroupStatus, Some("../../evil?x=1"), None);
    let (_, c) = step(
        &pack,
        &job,
        EngineState::default(),
        Observation::Start { url: None },
    );
    assert_eq!(
        c,
        Command::Navigate {
            url: "https://www.facebook.com/groups/....evilx1/".into(),
            timeout_ms: 15_000
        }
    );
}

#[test]
fn a_post_for_a_group_never_runs_a_flow_without_group_steps() {
    let mut pack = pack();
    for s in &mut pack.flows[0].steps {
        s.only_if = None;
    }
    let job = job(JobType::Post, Some("123"), None);
    let (_, c) = step(
        &pack,
        &job,
        EngineState::default(),
        Observation::Start { url: None },
    );
    match c {
        Command::Finish {
            outcome: Outcome::Failed { code, message },
        } => {
            assert_eq!(code, JobErrorCode::UnknownError);
            assert!(message.contains("cannot post to groups"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn set_writes_only_post_url_or_details() {
    let mut v: serde_json::Value = serde_json::to_value(pack()).expect("packs serialize");
    v["flows"][1]["steps"][2]["into"] = json!("text");
    assert_eq!(v["flows"][1]["steps"][2]["action"], "set");
    let e = Pack::from_json(&v.to_string()).unwrap_err();
    assert!(e.0.contains("only postUrl or details"), "{}", e.0);
}

// ---------------------------------------------------------------------------
// The built-in Facebook pack, run against recorded observations (the replies
// the DOM agent gives on the fixture pages).

mod builtin {
    use extension_core::engine::{
        advance, failure_details, AgentCommand, Command, EngineState, Observation, Outcome,
    };
    use extension_core::pack::Pack;
    use extension_core::{JobErrorCode, JobType, LeasedJob, Platform, PlatformPayload};
    use serde_json::{json, Value};

    const TEXT: &str = "Quarterly numbers are in 📈\nThanks to everyone.";
    const FEED: &str = "https://www.facebook.com/";
    const GROUP_ID: &str = "1577315533418837";

    fn post_job(group_id: Option<&str>) -> LeasedJob {
        LeasedJob {
            id: "job-fb".into(),
            job_type: JobType::Post,
            platform: Platform::Facebook,
            text: TEXT.into(),
            media_paths: vec![],
            platform_payload: group_id.map(|id| PlatformPayload {
                group_id: Some(id.into()),
                group_url: None,
            }),
            lease_expires_at: 0,
            attempt: 1,
        }
    }

    struct Driver {
        pack: Pack,
        job: LeasedJob,
        state: EngineState,
        last: Command,
        submit_clicks: usize,
    }

    impl Driver {
        fn new(job: LeasedJob) -> Driver {
            let mut d = Driver {
                pack: Pack::builtin(Platform::Facebook).unwrap(),
                job,
                state: EngineState::default(),
                last: Command::ReportSubmitting,
                submit_clicks: 0,
            };
            d.feed(Observation::Start { url: None });
            d
        }

        fn feed(&mut self, obs: Observation) -> &Command {
            let state: EngineState =
                serde_json::from_str(&serde_json::to_string(&self.state).unwrap()).unwrap();
            let (state, cmd) = advance(&self.pack, &self.job, state, obs);
            self.state = state;
            if let Command::Agent {
                command: AgentCommand::Click { arm, .. },
            } = &cmd
            {
                self.submit_clicks += usize::from(!arm.is_empty());
            }
            self.last = cmd;
            &self.last
        }

        fn reply(&mut self, reply: Value) -> &Command {
            self.feed(Observation::Agent {
                reply: serde_json::from_value(reply).unwrap(),
            })
        }

        /// The key of the current wait's branch whose first probe is the
        /// given target (or network rule).
        fn key_of(&self, what: &str) -> String {
            let Command::Agent {
                command: AgentCommand::WaitFor { branches, .. },
            } = &self.last
            else {
                panic!("expected a wait, got {:?}", self.last)
            };
            branches
                .iter()
                .find(|b| {
                    let p = &b.probes[0];
                    p.network.as_deref() == Some(what)
                        || p.target
                            .as_ref()
                            .is_some_and(|t| serde_json::to_string(t).unwrap().contains(what))
                })
                .map(|b| b.key.clone())
                .unwrap_or_else(|| panic!("no branch for {what} in {:?}", self.last))
        }

        fn matched(&mut self, key: &str, probes: Value) -> &Command {
            self.reply(json!({"ok": true, "url": FEED, "matched": key, "probes": probes}))
        }

        /// Feed, or group page: up to the composer's check.
        fn up_to_check(&mut self) {
            match self.last.clone() {
                Command::Navigate { url, .. } => {
                    self.feed(Observation::Navigated { url });
                }
                other => panic!("expected navigate, got {other:?}"),
            }
            let group = self.job.platform_payload.is_some();
            let opener = if group {
                "Write something"
            } else {
                r#"[role=\"region\"] [role=\"button\"]"#
            };
            let key = self.key_of(opener);
            self.matched(&key, json!([{"found": true, "enabled": true}]));
            // The overlay (cookie consent) is dismissed only if present.
            assert!(
                matches!(
                    &self.last,
                    Command::Agent {
                        command: AgentCommand::Dismiss { .. }
                    }
                ),
                "{:?}",
                self.last
            );
            self.reply(json!({"ok": true, "url": FEED, "found": false}));
            assert!(
                matches!(&self.last, Command::Agent { command: AgentCommand::Click { arm, .. } } if arm.is_empty())
            );
            self.reply(json!({"ok": true, "url": FEED, "found": true, "via": 0}));
            self.matched("s0", json!([{"found": true, "enabled": true}]));
            match &self.last {
                Command::Agent {
                    command: AgentCommand::InsertText { text, .. },
                } => assert_eq!(text, TEXT),
                other => panic!("expected insertText, got {other:?}"),
            }
            self.reply(json!({"ok": true, "url": FEED, "found": true, "via": 0, "method": "paste", "text": TEXT}));
        }

        /// From the check to the publish click (a one-step composer).
        fn check_to_click(&mut self, before: &[&str]) {
            self.matched("s0", json!([{"found": true, "enabled": true, "text": TEXT}, {"found": true, "enabled": true}]));
            // Post is enabled: no Next.
            self.matched("s0", json!([{"found": true, "enabled": true}]));
            assert!(
                matches!(&self.last, Command::Agent { command: AgentCommand::ReadAll { what, .. } } if what == "href"),
                "the links present before posting are collected: {:?}",
                self.last
            );
            self.reply(json!({"ok": true, "url": FEED, "found": true, "values": before}));
            assert_eq!(self.last, Command::ReportSubmitting);
            self.feed(Observation::SubmittingAccepted);
            match &self.last {
                Command::Agent {
                    command: AgentCommand::Click { arm, .. },
                } => {
                    let rule = arm
                        .iter()
                        .find(|r| r.id == "create")
                        .expect("the create rule is armed");
                    assert_eq!(
                        rule.body_contains.as_deref(),
                        Some("ComposerStoryCreateMutation")
                    );
                    assert_eq!(rule.method.as_deref(), Some("POST"));
                }
                other => panic!("expected the publish click, got {other:?}"),
            }
            self.reply(json!({"ok": true, "url": FEED, "found": true, "via": 0}));
        }

        fn outcome(&self) -> &Outcome {
            match &self.last {
                Command::Finish { outcome } => outcome,
                other => panic!("expected the end, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_create_response_gives_a_feed_post_its_url() {
        let mut d = Driver::new(post_job(None));
        d.up_to_check();
        d.check_to_click(&["https://www.facebook.com/someone.else/posts/pfbid02Sample1"]);
        let key = d.key_of("create");
        let url = "https://www.facebook.com/clawtest/posts/pfbid02kNe7vQx3Wc9m";
        d.matched(&key, json!([{"found": true, "values": {"storyUrl": url, "postId": "122115474637250051", "actorId": "100089999000001"}}]));
        match d.outcome() {
            Outcome::Succeeded { post_url, .. } => assert_eq!(post_url.as_deref(), Some(url)),
            other => panic!("{other:?}"),
        }
        assert_eq!(d.submit_clicks, 1);
    }

    #[test]
    fn a_group_post_id_from_the_create_response_is_the_group_permalink() {
        let mut d = Driver::new(post_job(Some(GROUP_ID)));
        d.up_to_check();
        d.check_to_click(&[]);
        let key = d.key_of("create");
        d.matched(
            &key,
            json!([{"found": true, "values": {"postId": "1592031457280115"}}]),
        );
        // A short look for a pending-approval notice first.
        let timeout = d.reply(json!({"ok": true, "url": FEED}));
        match timeout {
            Command::Finish {
                outcome: Outcome::Succeeded { post_url, .. },
            } => {
                assert_eq!(
                post_url.as_deref(),
                Some("https://www.facebook.com/groups/1577315533418837/permalink/1592031457280115/")
            )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_two_step_composer_clicks_next_then_post_once() {
        let mut d = Driver::new(post_job(None));
        d.up_to_check();
        d.matched("s0", json!([{"found": true, "enabled": true, "text": TEXT}, {"found": true, "enabled": true}]));
        // Post is not there, Next is.
        let next = d.key_of("Siguiente");
        assert_eq!(next, "s1");
        d.matched(&next, json!([{"found": true, "enabled": true}]));
        match &d.last {
            Command::Agent {
                command: AgentCommand::Click { arm, target, .. },
            } => {
                assert!(arm.is_empty(), "Next is not the publish click");
                assert!(serde_json::to_string(target).unwrap().contains("Siguiente"));
            }
            other => panic!("expected the Next click, got {other:?}"),
        }
        d.reply(json!({"ok": true, "url": FEED, "found": true, "via": 0}));
        // The settings screen's Post.
        d.matched("s0", json!([{"found": true, "enabled": true}]));
        assert!(matches!(
            &d.last,
            Command::Agent {
                command: AgentCommand::ReadAll { .. }
            }
        ));
        d.reply(json!({"ok": true, "url": FEED, "found": false, "values": []}));
        assert_eq!(d.last, Command::ReportSubmitting);
        assert_eq!(d.submit_clicks, 0);
    }

    #[test]
    fn a_checkpoint_or_two_factor_page_fails_not_logged_in_with_its_reason() {
        for (url, reason, marker) in [
            (
                "https://www.facebook.com/checkpoint/1501092823525282/?next=x",
                "checkpoint",
                "checkpoint/\"",
            ),
            (
                "https://www.facebook.com/two_step_verification/authentication/?flow=pre_authentication",
                "two_factor",
                "two_step_verification",
            ),
            (
                "https://www.facebook.com/checkpoint/828281030927956/?next=x",
                "suspended",
                "828281030927956",
            ),
        ] {
            let mut d = Driver::new(post_job(None));
            d.feed(Observation::Navigated { url: FEED.into() });
            // The signal the agent finds holding: the URL-only one for this page.
            let Command::Agent {
                command: AgentCommand::WaitFor { branches, .. },
            } = d.last.clone()
            else {
                panic!("{:?}", d.last)
            };
            let key = branches
                .iter()
                .find(|b| {
                    b.key.starts_with('g')
                        && b.probes.len() == 1
                        && serde_json::to_string(&b.probes[0].url_matches)
                            .unwrap()
                            .contains(marker)
                })
                .map(|b| b.key.clone())
                .unwrap();
            d.reply(json!({"ok": true, "url": url, "matched": key}));
            match d.outcome() {
                Outcome::Failed { code, .. } => assert_eq!(*code, JobErrorCode::NotLoggedIn),
                other => panic!("{other:?}"),
            }
            assert_eq!(failure_details(&d.state).unwrap()["reason"], reason, "{url}");
            assert_eq!(d.submit_clicks, 0);
        }
    }

    #[test]
    fn without_any_identity_the_post_is_outcome_unknown_with_what_was_seen() {
        let mut d = Driver::new(post_job(None));
        d.up_to_check();
        let old = "https://www.facebook.com/clawtest/posts/pfbid0Older";
        d.check_to_click(&[old]);
        // The composer closed; no response, notice or link.
        let gone = d.key_of(r#"]:has([data-lexical-editor=\"true\"])"#);
        d.matched(&gone, json!([{"found": false}, {"found": false}]));
        d.reply(json!({"ok": true, "url": FEED}));
        match &d.last {
            Command::Agent {
                command: AgentCommand::Read { exclude, .. },
            } => assert_eq!(
                exclude,
                &vec![old.to_string()],
                "posts seen before are never taken"
            ),
            other => panic!("expected the feed read, got {other:?}"),
        }
        d.reply(json!({"ok": true, "url": FEED, "found": false}));
        assert_eq!(
            d.last,
            Command::Navigate {
                url: "https://www.facebook.com/me".into(),
                timeout_ms: 30_000
            }
        );
        d.feed(Observation::Navigated {
            url: "https://www.facebook.com/clawtest".into(),
        });
        d.reply(json!({"ok": true, "url": FEED, "found": false}));
        match d.outcome() {
            Outcome::Failed { code, .. } => assert_eq!(*code, JobErrorCode::OutcomeUnknown),
            other => panic!("{other:?}"),
        }
        assert!(failure_details(&d.state).unwrap()["seen"]
            .as_str()
            .unwrap()
            .contains("no link"));
        assert_eq!(d.submit_clicks, 1);
    }
}

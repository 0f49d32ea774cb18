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

//! The DOM agent (`static/dom-agent.js`) in headless Chromium, driven from
//! Rust with the engine's own command types, against strict fixture DOMs
//! (`tests/fixtures.js`): an editor that reverts direct DOM edits, a submit
//! control disabled until the editor's model holds text, a composer inside
//! an open shadow root, late and vanishing elements, file inputs.
#![cfg(target_arch = "wasm32")]

use extension_core::engine::{AgentBranch, AgentCommand, AgentReply, Probe};
use extension_core::pack::{Locator, Target};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const AGENT_JS: &str = include_str!("../../static/dom-agent.js");

#[wasm_bindgen(module = "/tests/fixtures.js")]
extern "C" {
    fn install_agent(source: &str);
    async fn agent(command_json: String) -> JsValue;
    fn posted_json() -> String;
    fn events_json() -> String;
    fn mount_composer(accept_paste: bool);
    fn mount_shadow_composer();
    fn model() -> String;
    fn submit_disabled() -> bool;
    fn assign_text_content(text: &str);
    fn add_later(html: &str, ms: u32);
    fn remove_later(css: &str, ms: u32);
    fn set_html(html: &str);
    fn mount_click_recorder();
    fn mount_file_targets();
    fn append_shadow_editor();
}

async fn run(cmd: AgentCommand) -> AgentReply {
    install_agent(AGENT_JS);
    let out = agent(serde_json::to_string(&cmd).unwrap()).await;
    let reply: AgentReply = serde_json::from_str(&out.as_string().unwrap()).unwrap();
    assert!(reply.ok, "agent error: {:?}", reply.error);
    reply
}

/// Lets pending microtasks and mutation observers run.
async fn settle() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys_timeout(&resolve, 50);
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn web_sys_timeout(cb: &js_sys::Function, ms: i32);
}

fn css(s: &str) -> Locator {
    Locator {
        css: Some(s.into()),
        ..Default::default()
    }
}

fn target(locators: Vec<Locator>) -> Target {
    Target(locators)
}

fn editor() -> Target {
    target(vec![
        css(r#"[data-testid="missing"]"#),
        css(r#"[role="dialog"] [data-testid="tweetTextarea_0"]"#),
    ])
}

#[wasm_bindgen_test]
async fn the_strict_editor_reverts_direct_dom_edits() {
    // The fixture must be as strict as the real editors, or the tests below
    // prove nothing.
    mount_composer(true);
    assign_text_content("sneaky");
    settle().await;
    assert_eq!(model(), "");
    assert!(submit_disabled());
    let r = run(AgentCommand::Read {
        target: editor(),
        what: "text".into(),
        timeout_ms: 0,
    })
    .await;
    assert_eq!(
        r.value.as_deref().map(str::trim),
        Some(""),
        "the DOM was restored"
    );
}

#[wasm_bindgen_test]
async fn insert_text_pastes_multi_paragraph_text_into_the_model() {
    mount_composer(true);
    let text = "First paragraph.\n\nSecond one, with a link https://example.com/x?y=1";
    let r = run(AgentCommand::InsertText {
        target: editor(),
        text: text.into(),
        timeout_ms: 1000,
    })
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(r.via, Some(1), "the fallback locator matched");
    assert_eq!(r.method.as_deref(), Some("paste"));
    assert_eq!(model(), text);
    assert_eq!(
        extension_core::engine::normalize_text(r.text.as_deref().unwrap()),
        text
    );
    assert!(
        !submit_disabled(),
        "the model holds text, so Post is enabled"
    );
    // Inserting again replaces instead of appending (a restarted job).
    run(AgentCommand::InsertText {
        target: editor(),
        text: "Replaced".into(),
        timeout_ms: 0,
    })
    .await;
    assert_eq!(model(), "Replaced");
}

#[wasm_bindgen_test]
async fn insert_text_falls_back_to_exec_command_when_paste_is_ignored() {
    mount_composer(false);
    let r = run(AgentCommand::InsertText {
        target: editor(),
        text: "Typed\nby the editing engine".into(),
        timeout_ms: 1000,
    })
    .await;
    assert_eq!(r.method.as_deref(), Some("execCommand"));
    assert_eq!(model(), "Typed\nby the editing engine");
    assert!(!submit_disabled());
}

#[wasm_bindgen_test]
async fn wait_for_checks_text_and_enabled_state_and_the_click_posts() {
    mount_composer(true);
    let submit = target(vec![css(r#"[data-testid="tweetButton"]"#)]);
    let check = |timeout_ms| AgentCommand::WaitFor {
        branches: vec![AgentBranch {
            key: "s0".into(),
            probes: vec![
                Probe {
                    target: Some(editor()),
                    text_equals: Some("Ready".into()),
                    ..Default::default()
                },
                Probe {
                    target: Some(submit.clone()),
                    enabled: true,
                    ..Default::default()
                },
            ],
        }],
        timeout_ms,
    };
    // Empty editor: the check times out and says why.
    let r = run(check(200)).await;
    assert_eq!(r.matched, None);
    let probes = r.probes.unwrap();
    assert!(probes[1].found && !probes[1].enabled);
    // Text arrives while we wait.
    let waiting = run(check(3000));
    let typing = run(AgentCommand::InsertText {
        target: editor(),
        text: "Ready".into(),
        timeout_ms: 0,
    });
    let (r, _) = futures::join!(waiting, typing);
    assert_eq!(r.matched.as_deref(), Some("s0"));
    let r = run(AgentCommand::Click {
        target: submit,
        timeout_ms: 0,
    })
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(posted_json(), r#"["Ready"]"#);
}

#[wasm_bindgen_test]
async fn a_composer_in_an_open_shadow_root_is_found_typed_into_and_submitted() {
    mount_shadow_composer();
    let by_role = target(vec![Locator {
        role: Some("textbox".into()),
        name: Some("text editor for creating content".into()),
        ..Default::default()
    }]);
    let r = run(AgentCommand::InsertText {
        target: by_role,
        text: "From inside the shadow".into(),
        timeout_ms: 1000,
    })
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(model(), "From inside the shadow");
    // A text-only locator finds the innermost element holding the text.
    let post = target(vec![Locator {
        role: Some("button".into()),
        text: Some("post".into()),
        ..Default::default()
    }]);
    let r = run(AgentCommand::Click {
        target: post,
        timeout_ms: 0,
    })
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(posted_json(), r#"["From inside the shadow"]"#);
}

#[wasm_bindgen_test]
async fn waits_see_elements_appear_and_vanish_and_time_out() {
    set_html(r#"<div class="spinner">Uploading</div>"#);
    add_later(
        r#"<div data-testid="toast">Your post was sent. <a href="/clawtest/status/42">View</a></div>"#,
        150,
    );
    remove_later(".spinner", 300);
    let toast_link = target(vec![css(r#"[data-testid="toast"] a[href*="/status/"]"#)]);
    let r = run(AgentCommand::WaitFor {
        branches: vec![
            AgentBranch {
                key: "never".into(),
                probes: vec![Probe {
                    url_matches: Some("/i/flow/login".into()),
                    ..Default::default()
                }],
            },
            AgentBranch {
                key: "toast".into(),
                probes: vec![Probe {
                    target: Some(toast_link.clone()),
                    ..Default::default()
                }],
            },
        ],
        timeout_ms: 3000,
    })
    .await;
    assert_eq!(r.matched.as_deref(), Some("toast"));
    let r = run(AgentCommand::WaitFor {
        branches: vec![AgentBranch {
            key: "gone".into(),
            probes: vec![Probe {
                target: Some(target(vec![css(".spinner")])),
                gone: true,
                ..Default::default()
            }],
        }],
        timeout_ms: 3000,
    })
    .await;
    assert_eq!(r.matched.as_deref(), Some("gone"));
    // The link reads as an absolute URL.
    let r = run(AgentCommand::Read {
        target: toast_link,
        what: "href".into(),
        timeout_ms: 0,
    })
    .await;
    let href = r.value.unwrap();
    assert!(
        href.starts_with("http://") && href.ends_with("/clawtest/status/42"),
        "{href}"
    );
    // Nothing matches: a timeout, not an error.
    let started = js_sys::Date::now();
    let r = run(AgentCommand::WaitFor {
        branches: vec![AgentBranch {
            key: "x".into(),
            probes: vec![Probe {
                target: Some(target(vec![css("#nope")])),
                ..Default::default()
            }],
        }],
        timeout_ms: 250,
    })
    .await;
    assert_eq!(r.matched, None);
    assert!(js_sys::Date::now() - started >= 240.0);
}

#[wasm_bindgen_test]
async fn clicks_send_the_full_pointer_sequence() {
    mount_click_recorder();
    let r = run(AgentCommand::Click {
        target: target(vec![Locator {
            role: Some("button".into()),
            name: Some("Publish now".into()),
            ..Default::default()
        }]),
        timeout_ms: 0,
    })
    .await;
    assert_eq!(r.found, Some(true));
    let events: Vec<String> = serde_json::from_str(&events_json()).unwrap();
    assert_eq!(
        events,
        [
            "pointerdown:true",
            "mousedown:true",
            "pointerup:true",
            "mouseup:true",
            "click:true"
        ]
    );
    // A missing target is reported, not an error.
    let r = run(AgentCommand::Click {
        target: target(vec![css("#absent")]),
        timeout_ms: 0,
    })
    .await;
    assert_eq!(r.found, Some(false));
}

#[wasm_bindgen_test]
async fn files_arrive_in_chunks_and_reach_the_input_or_a_drop_zone() {
    mount_file_targets();
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
    let sum = bytes.iter().fold(0u32, |a, b| (a + *b as u32) % 65521);
    use base64::Engine as _;
    for (i, chunk) in bytes.chunks(600).enumerate() {
        run(AgentCommand::PutFileChunk {
            file_id: "f1".into(),
            name: "cat.png".into(),
            mime: "image/png".into(),
            index: i as u32,
            total: 2,
            data: base64::engine::general_purpose::STANDARD.encode(chunk),
        })
        .await;
    }
    let r = run(AgentCommand::AttachFiles {
        target: target(vec![css(r#"input[data-testid="fileInput"]"#)]),
        file_ids: vec!["f1".into()],
        timeout_ms: 0,
    })
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(r.count, Some(1), "the hidden input was found and filled");
    settle().await;
    let events: Vec<Value> = serde_json::from_str(&events_json()).unwrap();
    assert_eq!(
        events[0],
        serde_json::json!({"via": "input", "name": "cat.png", "type": "image/png", "size": 1000, "sum": sum})
    );
    // Drop onto a zone that is not an input.
    run(AgentCommand::PutFileChunk {
        file_id: "f2".into(),
        name: "clip.mp4".into(),
        mime: "video/mp4".into(),
        index: 0,
        total: 1,
        data: base64::engine::general_purpose::STANDARD.encode(b"abc"),
    })
    .await;
    let r = run(AgentCommand::AttachFiles {
        target: target(vec![css("#drop")]),
        file_ids: vec!["f2".into()],
        timeout_ms: 0,
    })
    .await;
    assert_eq!(r.count, Some(1));
    let events: Vec<Value> = serde_json::from_str(&events_json()).unwrap();
    assert_eq!(
        events[1],
        serde_json::json!({"via": "drop", "name": "clip.mp4", "type": "video/mp4", "size": 3})
    );
    // A file missing a chunk is an error, not a broken upload.
    run(AgentCommand::PutFileChunk {
        file_id: "f3".into(),
        name: "x.png".into(),
        mime: "image/png".into(),
        index: 0,
        total: 2,
        data: "AA==".into(),
    })
    .await;
    install_agent(AGENT_JS);
    let out = agent(
        serde_json::to_string(&AgentCommand::AttachFiles {
            target: target(vec![css(r#"input[data-testid="fileInput"]"#)]),
            file_ids: vec!["f3".into()],
            timeout_ms: 0,
        })
        .unwrap(),
    )
    .await;
    let reply: AgentReply = serde_json::from_str(&out.as_string().unwrap()).unwrap();
    assert!(!reply.ok && reply.error.unwrap().contains("misses chunk 1"));
}

#[wasm_bindgen_test]
async fn the_outline_shows_structure_and_never_user_content() {
    set_html(
        r#"<main role="main"><div data-testid="primaryColumn"><p>Private words of the user</p>
           <input type="text" value="secret value" aria-label="Search">
           <button aria-label="Post" disabled>Post now</button>
           <a href="https://example.com/private" data-testid="link">my link text</a></div></main>"#,
    );
    append_shadow_editor();
    let r = run(AgentCommand::Outline { max_nodes: 50 }).await;
    assert!(r.ok, "{:?}", r.error);
    let outline = r.value.unwrap();
    for expected in [
        "main[role=main]",
        "  div[data-testid=primaryColumn]",
        "input[type=text][aria-label=\"Search\"]",
        "button[aria-label=\"Post\"][disabled]",
        "div#interop-outlet #shadow-root",
        "  div[role=textbox][contenteditable]",
    ] {
        assert!(
            outline.contains(expected),
            "{expected} missing from:\n{outline}"
        );
    }
    for private in [
        "Private words",
        "secret value",
        "example.com",
        "my link text",
        "Post now",
        "draft text",
    ] {
        assert!(
            !outline.contains(private),
            "{private} leaked into:\n{outline}"
        );
    }
    // Capped.
    let r = run(AgentCommand::Outline { max_nodes: 2 }).await;
    assert_eq!(r.value.unwrap().lines().count(), 2);
}

//! The DOM agent (`static/dom-agent.js`) in headless Chromium, driven from
//! Rust with the engine's own command types, against strict fixture DOMs
//! (`tests/fixtures.js`): an editor that reverts direct DOM edits, a submit
//! control disabled until the editor's model holds text, a composer inside
//! an open shadow root, late and vanishing elements, file inputs.

use std::collections::BTreeMap;

use extension_core::engine::{AgentBranch, AgentCommand, AgentReply, Probe};
use extension_core::pack::{Locator, NetRule, Pack, Target};
use extension_core::post_text::post_text_pattern;
use extension_core::Platform;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

const AGENT_JS: &str = include_str!("../../../static/dom-agent.js");
const NET_WATCH_JS: &str = include_str!("../../../static/net-watch.js");

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
    fn rendered_text(css: &str) -> String;
    fn mount_lazy_permalinks();
    fn mount_tour(closable: bool, rerender: bool);
    fn tour_open() -> bool;
    fn mount_key_recorder();
    fn active_id() -> String;
    fn mount_swapping_composer(ms: u32);
    fn swap_editor();
    fn set_route(path: &str, status: u16, body: &str);
    fn install_net_watch(source: &str);
    async fn page_request(spec_json: String) -> JsValue;
    fn mount_publish(spec_json: String);
    fn requests_json() -> String;
    fn clear_requests();
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
    sleep(50).await;
}

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys_timeout(&resolve, ms);
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

fn events() -> Vec<String> {
    serde_json::from_str(&events_json()).unwrap()
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

fn click(target: Target, timeout_ms: u64) -> AgentCommand {
    AgentCommand::Click {
        target,
        timeout_ms,
        arm: vec![],
        interrupts: vec![],
    }
}

fn insert(target: Target, text: String, timeout_ms: u64) -> AgentCommand {
    AgentCommand::InsertText {
        target,
        text,
        timeout_ms,
        interrupts: vec![],
        keep_draft: false,
    }
}

fn read_all(target: Target, what: &str, timeout_ms: u64) -> AgentCommand {
    AgentCommand::ReadAll {
        target,
        what: what.into(),
        timeout_ms,
        pattern: None,
        interrupts: vec![],
    }
}

fn read(target: Target, what: &str, timeout_ms: u64) -> AgentCommand {
    AgentCommand::Read {
        target,
        what: what.into(),
        timeout_ms,
        pattern: None,
        exclude: vec![],
        interrupts: vec![],
    }
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
    let r = run(read(editor(), "text", 0)).await;
    // An empty text reads as no value.
    assert_eq!(r.found, Some(true));
    assert_eq!(
        r.value.as_deref().map(str::trim).unwrap_or(""),
        "",
        "the DOM was restored"
    );
}

#[wasm_bindgen_test]
async fn insert_text_pastes_multi_paragraph_text_into_the_model() {
    mount_composer(true);
    let text = "First paragraph.\n\nSecond one, with a link https://example.com/x?y=1";
    let r = run(insert(editor(), text.into(), 1000)).await;
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
    run(insert(editor(), "Replaced".into(), 0)).await;
    assert_eq!(model(), "Replaced");
}

#[wasm_bindgen_test]
async fn insert_text_falls_back_to_exec_command_when_paste_is_ignored() {
    mount_composer(false);
    let r = run(insert(
        editor(),
        "Typed\nby the editing engine".into(),
        1000,
    ))
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
    let typing = run(insert(editor(), "Ready".into(), 0));
    let (r, _) = futures::join!(waiting, typing);
    assert_eq!(r.matched.as_deref(), Some("s0"));
    let r = run(click(submit, 0)).await;
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
    let r = run(insert(by_role, "From inside the shadow".into(), 1000)).await;
    assert_eq!(r.found, Some(true));
    assert_eq!(model(), "From inside the shadow");
    // A text-only locator finds the innermost element holding the text.
    let post = target(vec![Locator {
        role: Some("button".into()),
        text: Some("post".into()),
        ..Default::default()
    }]);
    let r = run(click(post, 0)).await;
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
    let r = run(read(toast_link, "href", 0)).await;
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
    let publish = target(vec![Locator {
        role: Some("button".into()),
        name: Some("Publish now".into()),
        ..Default::default()
    }]);
    let r = run(click(publish, 0)).await;
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
    let r = run(click(target(vec![css("#absent")]), 0)).await;
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
        interrupts: vec![],
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
        interrupts: vec![],
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
            interrupts: vec![],
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

// ---------------------------------------------------------------------------
// Finding THIS post by its whole rendered text.

const GIF: &str = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==";

/// The usual "visually hidden" clip, without a class the agent knows.
const CLIP: &str = "position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0";

const LAUNCH: &str = "Launch day 🚀 at the café: Claw Post is live ❤️\n\nRead the docs: https://clawpost.net/docs/getting-started?ref=launch #ai #launch";

/// An X timeline card: name, handle and time in their own blocks, the
/// post's text in `tweetText`, the counts below.
fn tweet(status: u32, text_html: &str) -> String {
    format!(
        r#"
    <article data-testid="tweet" tabindex="0" id="tweet-{status}">
      <div>
        <div data-testid="User-Name">
          <div><a href="/clawtest" role="link"><span>Claw Test</span></a></div>
          <div><a href="/clawtest" role="link" tabindex="-1"><span>@clawtest</span></a><span>·</span>
            <a class="permalink" href="/clawtest/status/{status}" role="link"><time datetime="2026-11-29T05:00:00.000Z">{status}m</time></a></div>
        </div>
        <div data-testid="tweetText" lang="en" dir="auto">{text_html}</div>
        <div role="group" aria-label="3 replies, 12 likes"><span>3</span> <span>12</span></div>
      </div>
    </article>"#
    )
}

/// `LAUNCH` the way a timeline renders it: emoji as images (the heart
/// without its variation selector), "café" decomposed, extra spaces and
/// source line breaks, the paragraphs split by <br>, the link shortened to
/// "clawpost.net/docs…" behind t.co, and each hashtag link with a hidden
/// "hashtag" word (LinkedIn's visually-hidden class, or just the clip
/// CSS). `first` and `last` replace the first paragraph and follow the
/// last hashtag.
fn launch_html(first: Option<&str>, last: &str) -> String {
    let first = first.map(str::to_string).unwrap_or_else(|| {
        format!(
            r#"<span>Launch   day </span><img alt="🚀" draggable="false" src="{GIF}" class="emoji"><span> at the cafe{acute}: Claw Post
          is live </span><img alt="❤" draggable="false" src="{GIF}" class="emoji">"#,
            acute = '\u{301}'
        )
    });
    format!(
        r#"{first}<br><br><span>Read the docs: </span><a href="https://t.co/AbC123xyz" rel="noopener noreferrer nofollow" target="_blank" role="link">clawpost.net/docs…</a>
          <a href="/hashtag/ai?src=hashtag_click" role="link"><span class="visually-hidden">hashtag</span>#ai</a>
          <a href="/hashtag/launch?src=hashtag_click" role="link"><span style="{CLIP}">hashtag</span>#launch</a>{last}"#
    )
}

fn launch_feed() -> String {
    let style = r#"<style>.visually-hidden{position:absolute!important;width:1px!important;height:1px!important;padding:0!important;margin:-1px!important;overflow:hidden!important;clip:rect(0,0,0,0)!important;white-space:nowrap!important;border:0!important}.emoji{height:1.2em;width:1.2em}</style>"#;
    [
        style.to_string(),
        // The same words plus more, on the same line.
        tweet(101, &launch_html(None, " Thanks for waiting!")),
        // The same words plus a hashtag that only markup white space
        // separates from them: one line on screen.
        tweet(
            102,
            &launch_html(
                None,
                "\n          <a href=\"/hashtag/beta\" role=\"link\">#beta</a>",
            ),
        ),
        // A prefix: the first paragraph only.
        tweet(
            103,
            &format!(
                r#"<span>Launch day </span><img alt="🚀" src="{GIF}"><span> at the café: Claw Post is live </span><img alt="❤" src="{GIF}">"#
            ),
        ),
        // A prefix across the paragraphs (the last hashtag missing).
        tweet(
            104,
            &format!(
                r#"<span>Launch day </span><img alt="🚀" src="{GIF}"><span> at the café: Claw Post is live </span><img alt="❤" src="{GIF}"><br><br><span>Read the docs: </span><a href="https://t.co/AbC123xyz">clawpost.net/docs…</a> <a href="/hashtag/ai"><span class="visually-hidden">hashtag</span>#ai</a>"#
            ),
        ),
        // THIS post.
        tweet(300, &launch_html(None, "")),
        // Without the rocket.
        tweet(
            105,
            &launch_html(
                Some(&format!(
                    r#"<span>Launch day at the café: Claw Post is live </span><img alt="❤" src="{GIF}">"#
                )),
                "",
            ),
        ),
        // The "hashtag" word shown.
        tweet(
            106,
            &launch_html(None, "").replace(r#"<span class="visually-hidden">hashtag</span>"#, "<span>hashtag</span>"),
        ),
    ]
    .concat()
}

/// A pack locator list with `postText` turned into the pattern the engine
/// sends for `text`.
fn with_post_text(t: &Target, text: &str) -> Target {
    Target(
        t.0.iter()
            .map(|l| {
                let mut l = l.clone();
                if l.post_text {
                    l.text_pattern = Some(post_text_pattern(text));
                    l.post_text = false;
                }
                l
            })
            .collect(),
    )
}

#[wasm_bindgen_test]
async fn rendered_text_reads_like_the_screen() {
    set_html(&format!(
        r#"<div id="rt">
          <div>Claw Test</div>
          <div style="white-space: pre-wrap">First line
Second line</div>
          <p>Source
             formatting <a href="/hashtag/x"><span class="visually-hidden">hashtag</span>#x</a> <img alt="🚀" src="{GIF}"></p>
          <span style="display:none">secret</span><span hidden>gone</span><span style="visibility:hidden">ghost</span>
          <p>cafe{acute} <span style="{CLIP}">clipped</span>ok</p>
          <script>var notText = 1;</script>
          <p>a<br>b</p>
        </div>"#,
        acute = '\u{301}'
    ));
    install_agent(AGENT_JS);
    let text = rendered_text("#rt");
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines,
        [
            "Claw Test",
            "First line",
            "Second line",
            "Source formatting #x 🚀",
            "café ok",
            "a",
            "b"
        ],
        "{text:?}"
    );
}

#[wasm_bindgen_test]
async fn a_post_text_locator_finds_this_card_only() {
    set_html(&launch_feed());
    let card = target(vec![Locator {
        css: Some("article".into()),
        text_pattern: Some(post_text_pattern(LAUNCH)),
        inner: Some("a.permalink".into()),
        ..Default::default()
    }]);
    let r = run(read(card.clone(), "href", 0)).await;
    assert_eq!(r.found, Some(true));
    let href = r.value.unwrap();
    assert!(href.ends_with("/clawtest/status/300"), "{href}");
    // No other card shows the whole text.
    let r = run(read_all(card, "href", 0)).await;
    assert_eq!(r.values, Some(vec![href.clone()]));
    // The X pack's own target, as the engine sends it.
    let pack = Pack::builtin(Platform::X).expect("the X pack");
    let new_post = with_post_text(&pack.targets["newPostLink"], LAUNCH);
    let r = run(read(new_post, "href", 0)).await;
    assert_eq!(r.value.as_deref(), Some(href.as_str()));
}

// ---------------------------------------------------------------------------
// Reading what is new.

fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").unwrap() + 3;
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_string()
}

#[wasm_bindgen_test]
async fn read_skips_excluded_values_and_waits_for_a_new_one() {
    set_html(r#"<div class="feed"><a class="post" href="/clawtest/posts/1">one</a></div>"#);
    let posts = target(vec![css("a.post")]);
    let old = run(read(posts.clone(), "href", 0)).await.value.unwrap();
    add_later(r#"<a class="post" href="/clawtest/posts/2">two</a>"#, 200);
    let started = js_sys::Date::now();
    let r = run(AgentCommand::Read {
        target: posts.clone(),
        what: "href".into(),
        timeout_ms: 3000,
        pattern: None,
        exclude: vec![old.clone()],
        interrupts: vec![],
    })
    .await;
    let waited = js_sys::Date::now() - started;
    assert_eq!(r.found, Some(true));
    let new = r.value.unwrap();
    assert!(new.ends_with("/clawtest/posts/2"), "{new}");
    assert!((150.0..2500.0).contains(&waited), "{waited}");
    // Everything excluded: found, but no value, after the timeout.
    let started = js_sys::Date::now();
    let r = run(AgentCommand::Read {
        target: posts,
        what: "href".into(),
        timeout_ms: 300,
        pattern: None,
        exclude: vec![old, new],
        interrupts: vec![],
    })
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(r.value, None);
    assert!(js_sys::Date::now() - started >= 290.0);
}

#[wasm_bindgen_test]
async fn exclude_compares_values_after_the_pattern() {
    // Facebook adds click-tracking parameters to permalinks that differ
    // between renders and pages: the list collected before posting holds
    // the old post's link with other parameters than the page shows now.
    set_html(
        r#"<div role="article" id="old"><a role="link" href="/clawtest/posts/pfbid0Old?__cft__[0]=AZWsecond&amp;__tn__=%2CO%2CP-R">1h</a></div>"#,
    );
    let links = target(vec![css(r#"[role="article"] a[role="link"]"#)]);
    let shown = run(read(links.clone(), "href", 0)).await.value.unwrap();
    let origin = origin_of(&shown);
    let collected = format!("{origin}/clawtest/posts/pfbid0Old?__cft__[0]=AZWfirst&__tn__=-R");
    add_later(
        r#"<div role="article" id="new"><a role="link" href="/clawtest/posts/pfbid0New?__cft__[0]=AZWthird&amp;__tn__=%2CO%2CP-R">Just now</a></div>"#,
        200,
    );
    let r = run(AgentCommand::Read {
        target: links,
        what: "href".into(),
        timeout_ms: 3000,
        pattern: Some(r"^https?://[^/]+/[^?#]+".into()),
        exclude: vec![collected],
        interrupts: vec![],
    })
    .await;
    assert_eq!(
        r.value,
        Some(format!("{origin}/clawtest/posts/pfbid0New")),
        "the old post is excluded whatever its tracking parameters"
    );
}

#[wasm_bindgen_test]
async fn lazy_permalinks_are_hovered_until_the_page_fills_them_in() {
    mount_lazy_permalinks();
    let r = run(read(target(vec![css("#hovered a")]), "href", 2000)).await;
    let href = r.value.unwrap();
    assert!(href.starts_with("http"), "{href}");
    assert!(
        href.ends_with("/clawtest/posts/pfbid0Hovered?__cft__[0]=AZWx1&__tn__=%2CO%2CP-R"),
        "{href}"
    );
    assert!(events().contains(&"hovered:mouseover".to_string()));
    // Filled on focus, at once: no wait needed.
    let r = run(read(target(vec![css("#focused a")]), "href", 0)).await;
    let href = r.value.unwrap();
    assert!(href.ends_with("/clawtest/posts/pfbid0Focused?__cft__[0]=AZWx2&__tn__=%2CO%2CP-R"));
    // The list of posts seen before posting holds lazy links too.
    mount_lazy_permalinks();
    let r = run(read_all(
        target(vec![css(r#"[role="article"] a[role="link"]"#)]),
        "href",
        2000,
    ))
    .await;
    let values = r.values.unwrap();
    assert_eq!(values.len(), 2, "{values:?}");
    assert!(
        values[0].contains("/clawtest/posts/pfbid0Hovered?"),
        "{values:?}"
    );
    assert!(
        values[1].contains("/clawtest/posts/pfbid0Focused?"),
        "{values:?}"
    );
    // With the extract's pattern, as the engine sends it: each value cut
    // to its match (the tracking parameters dropped).
    mount_lazy_permalinks();
    let origin = origin_of(&values[0]);
    let r = run(AgentCommand::ReadAll {
        target: target(vec![css(r#"[role="article"] a[role="link"]"#)]),
        what: "href".into(),
        timeout_ms: 2000,
        pattern: Some(r"^https?://[^/]+/[^?#]+".into()),
        interrupts: vec![],
    })
    .await;
    assert_eq!(
        r.values.unwrap(),
        [
            format!("{origin}/clawtest/posts/pfbid0Hovered"),
            format!("{origin}/clawtest/posts/pfbid0Focused")
        ]
    );
    // A link nobody fills in reads as no value.
    set_html(r##"<div role="article"><a role="link" href="#">2h</a></div>"##);
    let r = run(read(
        target(vec![css(r#"[role="article"] a"#)]),
        "href",
        300,
    ))
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(r.value, None);
}

#[wasm_bindgen_test]
async fn read_all_returns_every_value_in_locator_order() {
    set_html(
        r#"<ul>
          <li data-urn="urn:li:activity:1">a</li>
          <li data-urn="urn:li:activity:2">b</li>
          <li class="pinned" data-urn="urn:li:activity:3">c</li>
          <li data-urn="">no urn</li>
        </ul>"#,
    );
    let items = target(vec![css("li.pinned"), css("li[data-urn]")]);
    let r = run(read_all(items, "data-urn", 0)).await;
    assert_eq!(r.found, Some(true));
    assert_eq!(r.via, Some(0));
    assert_eq!(
        r.values.unwrap(),
        [
            "urn:li:activity:3",
            "urn:li:activity:1",
            "urn:li:activity:2"
        ]
    );
    // Missing: not found, an empty list, after the timeout.
    let started = js_sys::Date::now();
    let r = run(read_all(target(vec![css("#none")]), "href", 200)).await;
    assert_eq!(r.found, Some(false));
    assert_eq!(r.values, Some(vec![]));
    assert!(js_sys::Date::now() - started >= 190.0);
    // Late: waited for.
    set_html("");
    add_later(r#"<li data-urn="urn:li:activity:9">late</li>"#, 150);
    let r = run(read_all(
        target(vec![css("li[data-urn]")]),
        "data-urn",
        3000,
    ))
    .await;
    assert_eq!(r.values.unwrap(), ["urn:li:activity:9"]);
}

// ---------------------------------------------------------------------------
// Overlays and keys.

#[wasm_bindgen_test]
async fn dismiss_tries_each_candidate_until_the_overlay_goes() {
    for rerender in [false, true] {
        mount_tour(true, rerender);
        let candidates = target(vec![
            css(r#"#tour [data-action="next"]"#),
            css(r#"#tour [data-action="close"]"#),
        ]);
        let r = run(AgentCommand::Dismiss { target: candidates }).await;
        assert_eq!(r.found, Some(true));
        assert!(!tour_open(), "rerender {rerender}: {:?}", events());
        assert_eq!(events(), ["next", "close"], "rerender {rerender}");
    }
}

#[wasm_bindgen_test]
async fn dismiss_presses_escape_when_no_candidate_closes_the_overlay() {
    mount_tour(false, false);
    let r = run(AgentCommand::Dismiss {
        target: target(vec![css(r#"#tour [data-action="next"]"#)]),
    })
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(events(), ["next", "keydown:Escape:Escape:27", "escape"]);
    assert!(!tour_open());
    // Nothing to dismiss: nothing clicked, no key pressed.
    mount_tour(true, false);
    let r = run(AgentCommand::Dismiss {
        target: target(vec![css("#cookie-banner button")]),
    })
    .await;
    assert_eq!(r.found, Some(false));
    assert!(events().is_empty(), "{:?}", events());
    assert!(tour_open());
}

#[wasm_bindgen_test]
async fn press_sends_the_key_to_the_target_or_the_focused_element() {
    mount_key_recorder();
    let r = run(AgentCommand::Press {
        key: "Enter".into(),
        target: Some(target(vec![css("#field")])),
        timeout_ms: 1000,
    })
    .await;
    assert_eq!(r.found, Some(true));
    assert_eq!(active_id(), "field", "the target is focused first");
    run(AgentCommand::Press {
        key: "Escape".into(),
        target: None,
        timeout_ms: 0,
    })
    .await;
    run(AgentCommand::Press {
        key: " ".into(),
        target: Some(target(vec![css("#box")])),
        timeout_ms: 0,
    })
    .await;
    assert_eq!(
        events(),
        [
            "field:keydown:Enter:Enter:13:true",
            "field:keyup:Enter:Enter:13:true",
            "field:keydown:Escape:Escape:27:true",
            "field:keyup:Escape:Escape:27:true",
            "box:keydown: :Space:32:true",
            "box:keyup: :Space:32:true",
        ]
    );
    let r = run(AgentCommand::Press {
        key: "Enter".into(),
        target: Some(target(vec![css("#missing")])),
        timeout_ms: 100,
    })
    .await;
    assert_eq!(r.found, Some(false));
    assert_eq!(events().len(), 6, "no key went anywhere");
}

// ---------------------------------------------------------------------------
// A composer replaced after it opened.

#[wasm_bindgen_test]
async fn insert_text_types_again_into_an_editor_that_replaced_the_first() {
    mount_swapping_composer(100);
    let r = run(insert(editor(), LAUNCH.into(), 3000)).await;
    assert_eq!(r.found, Some(true));
    assert!(events().contains(&"swapped".to_string()));
    assert_eq!(model(), LAUNCH, "the new editor holds the text");
    assert!(!submit_disabled());
}

#[wasm_bindgen_test]
async fn a_text_check_on_a_replaced_editor_answers_at_once() {
    mount_composer(true);
    run(insert(editor(), "Hello".into(), 1000)).await;
    assert_eq!(model(), "Hello");
    swap_editor();
    let check = AgentCommand::WaitFor {
        branches: vec![AgentBranch {
            key: "s0".into(),
            probes: vec![Probe {
                target: Some(editor()),
                text_equals: Some("Hello".into()),
                ..Default::default()
            }],
        }],
        timeout_ms: 5000,
    };
    let started = js_sys::Date::now();
    let r = run(check.clone()).await;
    assert!(r.replaced, "{r:?}");
    assert_eq!(r.matched, None);
    assert!(js_sys::Date::now() - started < 1500.0);
    // Typed again: the check holds, nothing is replaced.
    run(insert(editor(), "Hello".into(), 1000)).await;
    let r = run(check).await;
    assert_eq!(r.matched.as_deref(), Some("s0"));
    assert!(!r.replaced);
}

// ---------------------------------------------------------------------------
// Interruptions.

fn captcha_interrupts() -> Vec<AgentBranch> {
    vec![
        AgentBranch {
            key: "g0".into(),
            probes: vec![Probe {
                target: Some(target(vec![css("#captcha")])),
                ..Default::default()
            }],
        },
        AgentBranch {
            key: "g1".into(),
            probes: vec![Probe {
                url_matches: Some("/checkpoint/".into()),
                ..Default::default()
            }],
        },
    ]
}

#[wasm_bindgen_test]
async fn an_interruption_ends_a_command_before_its_timeout() {
    set_html("<p>Loading…</p>");
    add_later(r#"<div id="captcha">Verify you are human</div>"#, 200);
    let started = js_sys::Date::now();
    let r = run(AgentCommand::Click {
        target: target(vec![css("#never")]),
        timeout_ms: 10_000,
        arm: vec![],
        interrupts: captcha_interrupts(),
    })
    .await;
    let waited = js_sys::Date::now() - started;
    assert_eq!(r.found, Some(false));
    assert_eq!(r.matched.as_deref(), Some("g0"));
    assert!((150.0..2000.0).contains(&waited), "{waited}");
    // Reads and insertions too.
    let r = run(AgentCommand::Read {
        target: target(vec![css("#never")]),
        what: "href".into(),
        timeout_ms: 10_000,
        pattern: None,
        exclude: vec![],
        interrupts: captcha_interrupts(),
    })
    .await;
    assert_eq!((r.found, r.matched.as_deref()), (Some(false), Some("g0")));
    let r = run(AgentCommand::InsertText {
        target: target(vec![css("#never")]),
        text: "x".into(),
        timeout_ms: 10_000,
        interrupts: captcha_interrupts(),
        keep_draft: false,
    })
    .await;
    assert_eq!((r.found, r.matched.as_deref()), (Some(false), Some("g0")));
    let r = run(AgentCommand::ReadAll {
        target: target(vec![css("#never")]),
        what: "href".into(),
        timeout_ms: 10_000,
        pattern: None,
        interrupts: captcha_interrupts(),
    })
    .await;
    assert_eq!((r.found, r.matched.as_deref()), (Some(false), Some("g0")));
    // The interruption wins over a present target: nothing is clicked.
    mount_click_recorder();
    add_later(r#"<div id="captcha">Verify you are human</div>"#, 0);
    settle().await;
    let r = run(AgentCommand::Click {
        target: target(vec![css(r#"[aria-label="Publish now"]"#)]),
        timeout_ms: 1000,
        arm: vec![],
        interrupts: captcha_interrupts(),
    })
    .await;
    assert_eq!(r.matched.as_deref(), Some("g0"));
    assert!(events().is_empty(), "{:?}", events());
}

// ---------------------------------------------------------------------------
// The page's own create call (static/net-watch.js in the MAIN world).

fn network_probe(timeout_ms: u64) -> AgentCommand {
    AgentCommand::WaitFor {
        branches: vec![AgentBranch {
            key: "net".into(),
            probes: vec![Probe {
                network: Some("create".into()),
                ..Default::default()
            }],
        }],
        timeout_ms,
    }
}

/// Arms `rules` with the publish click, then waits for the `create` hit.
async fn publish_and_wait(spec: Value, rules: &[NetRule], timeout_ms: u64) -> AgentReply {
    mount_publish(spec.to_string());
    let r = run(AgentCommand::Click {
        target: target(vec![css(r#"[data-testid="publish"]"#)]),
        timeout_ms: 1000,
        arm: rules.to_vec(),
        interrupts: vec![],
    })
    .await;
    assert_eq!(r.found, Some(true));
    let r = run(network_probe(timeout_ms)).await;
    // The page got its answer, untouched, whatever the watcher did.
    for _ in 0..40 {
        if !events().is_empty() {
            break;
        }
        sleep(25).await;
    }
    assert_eq!(events().len(), 1, "the page's call completed");
    r
}

fn values(r: &AgentReply) -> Option<BTreeMap<String, String>> {
    r.probes.as_ref()?.first()?.values.clone()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A pack's network rules, for the test page's origin when `path` is given.
fn pack_rules(platform: Platform, path: Option<&str>) -> Vec<NetRule> {
    let mut rules = Pack::builtin(platform).expect("pack").network;
    assert!(!rules.is_empty(), "{platform:?} has network rules");
    if let Some(path) = path {
        for r in &mut rules {
            r.url_matches = format!("^https?://[^/]+{path}/?([?#]|$)");
        }
    }
    rules
}

const X_CREATE: &str = "/i/api/graphql/AbCdEf123/CreateTweet";
const X_RESPONSE: &str = r#"{"data":{"create_tweet":{"tweet_results":{"result":{"rest_id":"1790000000000000777","core":{"user_results":{"result":{"__typename":"User","core":{"screen_name":"clawtest","name":"Claw Test"},"legacy":{"screen_name":"clawtest"}}}},"legacy":{"full_text":"Launch day"}}}}}}"#;

#[wasm_bindgen_test]
async fn the_network_watcher_captures_the_create_call_only_when_armed() {
    install_agent(AGENT_JS);
    install_net_watch(NET_WATCH_JS);
    set_route(X_CREATE, 200, X_RESPONSE);
    let x_call = json!({
        "via": "xhr", "method": "POST", "url": X_CREATE, "bodyType": "json",
        "body": {"variables": {"tweet_text": "Launch day"}, "queryId": "AbCdEf123"},
    });
    let x_rules = pack_rules(Platform::X, None);

    // Unarmed: the call goes through and nothing is captured.
    mount_publish(x_call.to_string());
    install_agent(AGENT_JS); // listening before the call
    let got = page_request(x_call.to_string()).await.as_string().unwrap();
    assert_eq!(got, X_RESPONSE);
    let r = run(network_probe(300)).await;
    assert_eq!(r.matched, None);
    assert_eq!(values(&r), None);

    // Armed by the publish click: over XMLHttpRequest...
    let r = publish_and_wait(x_call.clone(), &x_rules, 3000).await;
    assert_eq!(r.matched.as_deref(), Some("net"));
    assert_eq!(
        values(&r),
        Some(map(&[
            ("id", "1790000000000000777"),
            ("screenName", "clawtest")
        ]))
    );
    assert_eq!(events(), [X_RESPONSE]);
    // ...and fetch.
    let mut fetch_call = x_call.clone();
    fetch_call["via"] = json!("fetch");
    let r = publish_and_wait(fetch_call, &x_rules, 3000).await;
    assert_eq!(
        values(&r).and_then(|v| v.get("id").cloned()).as_deref(),
        Some("1790000000000000777")
    );
    // Arming again forgets the last hit: a click whose call is not a create
    // call captures nothing.
    set_route("/i/api/graphql/Zz9/FavoriteTweet", 200, X_RESPONSE);
    let mut like = x_call.clone();
    like["url"] = json!("/i/api/graphql/Zz9/FavoriteTweet");
    let r = publish_and_wait(like, &x_rules, 400).await;
    assert_eq!(r.matched, None);
    // A create call whose answer lacks the required id is no evidence.
    set_route(
        X_CREATE,
        200,
        r#"{"data":{"create_tweet":{"tweet_results":{}}},"errors":[{"message":"Authorization: Status is a duplicate. (187)","code":187}]}"#,
    );
    let r = publish_and_wait(x_call, &x_rules, 400).await;
    assert_eq!(r.matched, None);
}

const FB_GRAPHQL: &str = "/api/graphql/";

fn fb_form(friendly_name: &str) -> String {
    let variables = json!({"input": {"message": {"ranges": [], "text": "Launch day"}, "actor_id": "100089999000001", "idempotence_token": "e2e_1_FEED", "source": "WWW"}});
    format!(
        "av=100089999000001&__user=100089999000001&__a=1&fb_dtsg=NAcN%3A17&fb_api_caller_class=RelayModern&fb_api_req_friendly_name={friendly_name}&variables={}&server_timestamps=true&doc_id=7711610262190099",
        String::from(js_sys::encode_uri_component(&variables.to_string()))
    )
}

const FB_RESPONSE: &str = "for (;;);{\"data\":{\"story_create\":{\"story\":{\"id\":\"UzpfSTEwMDA4OTk5OTAwMDAwMToxMjIxNTAwMDA=\",\"legacy_story_hideable_id\":\"122150000000000123\",\"url\":\"https://www.facebook.com/clawtest/posts/pfbid02NetEvidence7kQ2\",\"actors\":[{\"__typename\":\"User\",\"id\":\"100089999000001\",\"name\":\"Claw Test\"}]},\"story_id\":\"UzpfSTEwMDA4OTk5OTAwMDAwMToxMjIxNTAwMDA=\"}},\"extensions\":{\"is_final\":false}}\n{\"label\":\"ComposerStoryCreateMutation$defer$Story_feedback\",\"path\":[\"story_create\",\"story\"],\"data\":{\"feedback\":{\"id\":\"ZmVlZGJhY2s6MTIy\"}}}\n{\"extensions\":{\"is_final\":true}}";

#[wasm_bindgen_test]
async fn the_network_watcher_reads_facebook_style_calls_by_their_friendly_name() {
    install_agent(AGENT_JS);
    install_net_watch(NET_WATCH_JS);
    set_route(FB_GRAPHQL, 200, FB_RESPONSE);
    let rules = pack_rules(Platform::Facebook, Some("/api/graphql"));
    let call = |via: &str, body_type: &str, name: &str| {
        let form = fb_form(name);
        let body = if body_type == "text" {
            json!(form)
        } else {
            let pairs: BTreeMap<String, String> = form
                .split('&')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (
                        k.to_string(),
                        String::from(js_sys::decode_uri_component(v).unwrap()),
                    )
                })
                .collect();
            json!(pairs)
        };
        json!({"via": via, "method": "POST", "url": FB_GRAPHQL, "bodyType": body_type, "body": body})
    };
    let expected = map(&[
        ("postId", "122150000000000123"),
        (
            "storyUrl",
            "https://www.facebook.com/clawtest/posts/pfbid02NetEvidence7kQ2",
        ),
        ("actorId", "100089999000001"),
    ]);

    // Another mutation to the same endpoint (its answer would name a post):
    // not the create call.
    let r = publish_and_wait(
        call("xhr", "text", "CometUFIFeedbackReactMutation"),
        &rules,
        400,
    )
    .await;
    assert_eq!(r.matched, None);
    // The create call refused: no post id, no evidence.
    set_route(
        FB_GRAPHQL,
        200,
        "for (;;);{\"errors\":[{\"message\":\"You're Temporarily Blocked\",\"severity\":\"CRITICAL\",\"code\":1404078}],\"data\":{\"story_create\":null}}",
    );
    let r = publish_and_wait(
        call("xhr", "text", "ComposerStoryCreateMutation"),
        &rules,
        400,
    )
    .await;
    assert_eq!(r.matched, None);
    // The create call: form-encoded over XHR, "for (;;);" and JSON lines.
    set_route(FB_GRAPHQL, 200, FB_RESPONSE);
    let r = publish_and_wait(
        call("xhr", "text", "ComposerStoryCreateMutation"),
        &rules,
        3000,
    )
    .await;
    assert_eq!(r.matched.as_deref(), Some("net"));
    assert_eq!(values(&r), Some(expected.clone()));
    assert_eq!(events(), [FB_RESPONSE], "the page got the answer untouched");
    // Over fetch, with the body as URLSearchParams, FormData, or a Request.
    for (via, body_type) in [
        ("fetch", "params"),
        ("fetch", "form"),
        ("fetchRequest", "params"),
    ] {
        clear_requests();
        let r = publish_and_wait(
            call(via, body_type, "ComposerStoryCreateMutation"),
            &rules,
            3000,
        )
        .await;
        assert_eq!(values(&r), Some(expected.clone()), "{via} {body_type}");
        let sent: Vec<Value> = serde_json::from_str(&requests_json()).unwrap();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0]["body"]
                .as_str()
                .unwrap()
                .contains("ComposerStoryCreateMutation"),
            "the page's body still reached the server: {via} {body_type}"
        );
    }
}

#[wasm_bindgen_test]
async fn the_network_watcher_keeps_long_ids_exact_and_applies_matches() {
    install_agent(AGENT_JS);
    install_net_watch(NET_WATCH_JS);
    // TikTok: the id at an array index, sent as a JSON number too large for
    // a double: its digits must survive.
    let tiktok = pack_rules(Platform::Tiktok, Some("/tiktok/web/project/post/v1"));
    let path = "/tiktok/web/project/post/v1/";
    let call = json!({"via": "fetch", "method": "POST", "url": format!("{path}?aid=1988&msToken=abc"), "bodyType": "json",
        "body": {"post_common_info": {"creation_id": "x1", "post_type": 3}, "single_post_req_list": [{"batch_index": 0, "video_id": "v0"}]}});
    for item_id in [r#""7301234567890123456""#, "7301234567890123456"] {
        set_route(
            path,
            200,
            &format!(
                r#"{{"project_id":"7301234567890000000","project_status":1,"single_post_resp_list":[{{"batch_index":0,"item_id":{item_id},"status_code":0,"status_msg":""}}],"status_code":0,"status_msg":""}}"#
            ),
        );
        let r = publish_and_wait(call.clone(), &tiktok, 3000).await;
        assert_eq!(
            values(&r),
            Some(map(&[("id", "7301234567890123456")])),
            "item_id {item_id}"
        );
    }
    // LinkedIn: the share's URN picked out of a longer value by `match`,
    // read from a Blob response.
    let linkedin = pack_rules(Platform::Linkedin, None);
    let url = "/voyager/api/graphql?action=execute&queryId=voyagerContentcreationDashShares.279996efa5064c01775d5aff003d9377";
    set_route(
        "/voyager/api/graphql",
        200,
        r#"{"data":{"data":{"createContentcreationDashShares":{"*entity":"urn:li:fsd_share:urn:li:share:7260000000000000001","__typename":"ContentcreationDashSharesCreateResponse"}}},"included":[]}"#,
    );
    let call = json!({"via": "xhr", "method": "POST", "url": url, "bodyType": "json", "responseType": "blob",
        "body": {"variables": {"post": {"commentary": {"text": "Launch day"}}}, "queryId": "voyagerContentcreationDashShares.279996efa5064c01775d5aff003d9377"}});
    let r = publish_and_wait(call, &linkedin, 3000).await;
    assert_eq!(
        values(&r),
        Some(map(&[("share", "urn:li:share:7260000000000000001")]))
    );
}

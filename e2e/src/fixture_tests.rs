//! Contract tests of the fixture server and the shared X fixture, in real
//! headless Chromium (no extension): the fixture must be as strict as the
//! real site, or the scenarios prove nothing.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::browser::{find_chromium, find_xvfb, Browser, VirtualDisplay};
use crate::cdp::Page;
use crate::fixture::Fixture;

const WAIT: Duration = Duration::from_secs(15);

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Rig {
    fixture: Fixture,
    browser: Browser,
    _tmp: tempfile::TempDir,
    // Dropped after the browser.
    _display: Option<VirtualDisplay>,
}

async fn rig(sites: &str) -> Rig {
    rig_with(sites, false).await
}

/// A rig whose Chromium is headless, or headed on its own Xvfb display.
async fn rig_with(sites: &str, headed: bool) -> Rig {
    let chromium = find_chromium().unwrap_or_else(|e| panic!("{e:#}"));
    let fixture = Fixture::start().await.expect("fixture server");
    fixture.use_sites(Some(&e2e_dir().join(sites)));
    let tmp = tempfile::tempdir().unwrap();
    let display = if headed {
        let xvfb = find_xvfb().unwrap_or_else(|e| panic!("{e:#}"));
        Some(
            VirtualDisplay::start(&xvfb, &tmp.path().join("xvfb.log"))
                .await
                .expect("Xvfb starts"),
        )
    } else {
        None
    };
    let browser = Browser::launch(
        &chromium,
        None,
        display.as_ref().map(|d| d.name.as_str()),
        fixture.port,
        &tmp.path().join("profile"),
        &tmp.path().join("chromium.log"),
    )
    .await
    .expect("chromium starts");
    Rig {
        fixture,
        browser,
        _tmp: tmp,
        _display: display,
    }
}

async fn open(rig: &Rig, url: &str) -> Page {
    let page = rig.browser.cdp.open_page(url).await.unwrap();
    page.wait_for("document.readyState === 'complete'", WAIT, "page load")
        .await
        .unwrap();
    page
}

/// The editor model's text as the page shows it (blocks joined by \n).
const EDITOR_TEXT: &str = "Array.from(document.querySelectorAll('[data-testid=\"tweetTextarea_0\"] [data-block=\"true\"]')).map(b => b.textContent).join('\\n')";
const BUTTON_DISABLED: &str =
    "document.querySelector('[data-testid=\"tweetButtonInline\"]').getAttribute('aria-disabled')";

/// Runs `js`, lets mutation observers and timers settle, returns the editor
/// text and the button state.
async fn after(page: &Page, js: &str) -> (String, String) {
    page.eval(&format!(
        "(async () => {{ {js}; await new Promise(r => setTimeout(r, 50)); }})()"
    ))
    .await
    .unwrap();
    let text = page.eval(EDITOR_TEXT).await.unwrap();
    let disabled = page.eval(BUTTON_DISABLED).await.unwrap();
    (
        text.as_str().unwrap().to_string(),
        disabled.as_str().unwrap().to_string(),
    )
}

async fn wait_records(fixture: &Fixture, n: usize) -> Vec<Value> {
    fixture.wait_records(n, WAIT).await
}

#[tokio::test(flavor = "multi_thread")]
async fn x_editor_takes_only_real_input_and_posts_exactly() {
    let rig = rig("builtin/worker-restart/sites").await;
    let page = open(&rig, "https://x.com/home").await;
    page.wait_for(
        "document.querySelector('[data-testid=\"tweetTextarea_0\"]') !== null",
        WAIT,
        "the X editor",
    )
    .await
    .unwrap();
    assert_eq!(after(&page, "").await, (String::new(), "true".into()));

    // Direct DOM edits are reverted, even with an input event after them.
    let ed = "const ed = document.querySelector('[data-testid=\"tweetTextarea_0\"]')";
    let (text, disabled) = after(
        &page,
        &format!("{ed}; ed.textContent = 'hacked'; ed.dispatchEvent(new InputEvent('input', {{bubbles: true, inputType: 'insertText', data: 'hacked'}}))"),
    )
    .await;
    assert_eq!((text.as_str(), disabled.as_str()), ("", "true"));
    let (text, _) = after(
        &page,
        &format!("{ed}; ed.querySelector('[data-contents]').innerHTML = '<div>x</div>'"),
    )
    .await;
    assert_eq!(text, "");
    // An untrusted beforeinput changes nothing either.
    let (text, _) = after(
        &page,
        &format!("{ed}; ed.focus(); ed.dispatchEvent(new InputEvent('beforeinput', {{bubbles: true, cancelable: true, inputType: 'insertText', data: 'fake'}}))"),
    )
    .await;
    assert_eq!(text, "");

    // Trusted typing (CDP Input.insertText) goes into the model.
    page.eval(&format!("{ed}; ed.focus(); true")).await.unwrap();
    page.insert_text("Hi").await.unwrap();
    let (text, disabled) = after(&page, "").await;
    assert_eq!((text.as_str(), disabled.as_str()), ("Hi", "false"));

    // execCommand on one line works, like Draft.js's onInput.
    let (text, _) = after(
        &page,
        &format!("{ed}; ed.focus(); document.execCommand('selectAll'); document.execCommand('insertText', false, 'Single line')"),
    )
    .await;
    assert_eq!(text, "Single line");

    // A synthetic paste replaces the selection with paragraphs, exactly.
    let post = "Para one 🚀\n\nPara two — https://example.com/a?b=1&c=2\nline 👋🏽";
    let (text, disabled) = after(
        &page,
        &format!(
            "{ed}; ed.focus(); document.execCommand('selectAll'); const dt = new DataTransfer(); dt.setData('text/plain', {}); \
             ed.querySelector('[data-contents]').dispatchEvent(new ClipboardEvent('paste', {{clipboardData: dt, bubbles: true, cancelable: true}}))",
            json!(post)
        ),
    )
    .await;
    assert_eq!((text.as_str(), disabled.as_str()), (post, "false"));

    // Post: the record holds the model text; the toast links the status.
    page.eval("document.querySelector('[data-testid=\"tweetButtonInline\"]').click(), true")
        .await
        .unwrap();
    let href = page
        .wait_for(
            "document.querySelector('[data-testid=\"toast\"] a[href*=\"/status/\"]')?.href",
            WAIT,
            "the success toast",
        )
        .await
        .unwrap();
    let re = regex::Regex::new(r"^https://x\.com/clawtest/status/\d{19}$").unwrap();
    assert!(re.is_match(href.as_str().unwrap()), "{href}");
    let records = wait_records(&rig.fixture, 1).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["host"], "x.com");
    assert_eq!(records[0]["kind"], "post");
    assert_eq!(records[0]["text"], post);
    assert_eq!(records[0]["path"], "/home");
    assert_eq!(records[0]["media"], json!([]));
    // The inline composer is empty again, its button disabled.
    assert_eq!(after(&page, "").await, (String::new(), "true".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn x_modal_composer_takes_files_and_records_them() {
    let rig = rig("scenarios/x/image-post-compose/sites").await;
    let page = open(&rig, "https://x.com/home").await;
    // This variant's home has no inline composer; the side-nav Post link opens the modal.
    page.wait_for(
        "document.querySelector('[data-testid=\"SideNav_NewTweet_Button\"]') !== null",
        WAIT,
        "the side nav",
    )
    .await
    .unwrap();
    assert_eq!(
        page.eval("document.querySelector('[data-testid=\"tweetTextarea_0\"]') === null")
            .await
            .unwrap(),
        json!(true)
    );
    page.eval("document.querySelector('[data-testid=\"SideNav_NewTweet_Button\"]').click(), true")
        .await
        .unwrap();
    page.wait_for(
        "location.pathname === '/compose/post' && document.querySelector('[role=\"dialog\"] [data-testid=\"tweetButton\"]') !== null",
        WAIT,
        "the compose modal",
    )
    .await
    .unwrap();

    let png =
        std::fs::read(e2e_dir().join("scenarios/x/image-post-compose/media/gradient.png")).unwrap();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &png);
    page.eval(&format!(
        "(() => {{ const bytes = Uint8Array.from(atob('{b64}'), c => c.charCodeAt(0)); \
         const dt = new DataTransfer(); dt.items.add(new File([bytes], 'gradient.png', {{type: 'image/png'}})); \
         const input = document.querySelector('[role=\"dialog\"] input[data-testid=\"fileInput\"]'); \
         input.files = dt.files; input.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()"
    ))
    .await
    .unwrap();
    page.wait_for(
        "document.querySelector('[role=\"dialog\"] [data-testid=\"attachments\"] img[src^=\"blob:\"]') !== null",
        WAIT,
        "the thumbnail",
    )
    .await
    .unwrap();
    // Enabled (media only) once the upload bar is gone.
    page.wait_for(
        "document.querySelector('[role=\"dialog\"] [data-testid=\"tweetButton\"]').getAttribute('aria-disabled') === 'false'",
        WAIT,
        "the enabled Post button",
    )
    .await
    .unwrap();
    page.eval("document.querySelector('[role=\"dialog\"] [data-testid=\"tweetTextarea_0\"]').focus(), true")
        .await
        .unwrap();
    page.insert_text("With a picture").await.unwrap();
    page.eval(
        "document.querySelector('[role=\"dialog\"] [data-testid=\"tweetButton\"]').click(), true",
    )
    .await
    .unwrap();
    let records = wait_records(&rig.fixture, 1).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["text"], "With a picture");
    assert_eq!(records[0]["path"], "/compose/post");
    assert_eq!(
        records[0]["media"],
        json!([{ "sha256": hex::encode(Sha256::digest(&png)), "size": png.len(),
                 "name": "gradient.png", "type": "image/png" }])
    );
    // The modal closes back to /home.
    page.wait_for(
        "location.pathname === '/home' && document.querySelector('[role=\"dialog\"]') === null",
        WAIT,
        "the closed modal",
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn x_logged_out_shows_the_login_wall_and_other_hosts_are_not_served() {
    let rig = rig("scenarios/x/logged-out/sites").await;
    let page = open(&rig, "https://x.com/compose/post").await;
    let url = page
        .wait_for(
            "document.querySelector('input[autocomplete=\"username\"]') && location.pathname + location.search",
            WAIT,
            "the login wall",
        )
        .await
        .unwrap();
    assert_eq!(url, "/i/flow/login?redirect_after_login=%2Fcompose%2Fpost");
    assert_eq!(
        page.eval(
            "document.querySelector('[data-testid=\"SideNav_AccountSwitcher_Button\"]') === null"
        )
        .await
        .unwrap(),
        json!(true)
    );
    // The scenario has no www.linkedin.com folder: a connection error.
    let nav = page
        .call(
            "Page.navigate",
            json!({ "url": "https://www.linkedin.com/feed/" }),
        )
        .await
        .unwrap();
    assert!(
        nav["errorText"].as_str().is_some_and(|e| !e.is_empty()),
        "{nav}"
    );
    assert!(rig.fixture.records().is_empty());
}

/// Headed mode as the runner uses it: Chromium with a window on Xvfb, the
/// user tab in front and focused, a fixture tab opened in the background
/// (as the extension opens the job's tab) is hidden yet still loads and
/// hydrates; the user tab never left the front.
#[tokio::test(flavor = "multi_thread")]
async fn headed_user_tab_stays_in_front_of_a_background_fixture_tab() {
    let mut rig = rig_with("builtin/worker-restart/sites", true).await;
    rig.browser.open_user_tab().await.unwrap();
    let focused = rig.browser.bring_user_tab_to_front().await.unwrap();
    assert_eq!(focused, Some(true), "the user tab's window has focus");

    // Like chrome.tabs.create({ active: false }).
    let created = rig
        .browser
        .cdp
        .call(
            None,
            "Target.createTarget",
            json!({ "url": "https://x.com/home", "background": true }),
        )
        .await
        .unwrap();
    let target = created["targetId"].as_str().unwrap();
    let attached = rig
        .browser
        .cdp
        .call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )
        .await
        .unwrap();
    let session = attached["sessionId"].as_str().unwrap();
    let eval = |expression: &str| {
        rig.browser.cdp.call(
            Some(session),
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        )
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let hydrated = eval("document.querySelector('[data-testid=\"tweetTextarea_0\"]') !== null")
            .await
            .unwrap();
        if hydrated["result"]["value"] == json!(true) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the background tab did not hydrate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = eval("document.visibilityState").await.unwrap();
    assert_eq!(
        state["result"]["value"], "hidden",
        "the job's tab is in the background"
    );
    assert_eq!(rig.browser.user_tab_left_front().await.unwrap(), None);
    assert!(rig.fixture.records().is_empty());
}

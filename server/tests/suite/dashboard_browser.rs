//! The dashboard in real headless Chromium, driven over WebDriver
//! (chromedriver + fantoccini), keyboard only: sign in with the API key, see
//! the tenant id, reveal and rotate the key (the old key then gets 401), pair
//! a registered extension by its code, revoke it, see a finished job with its
//! postUrl and a failed one's diagnostic, and the usage chart rendered.
//! Screenshots of every page at 1280 and 390 pixels wide are kept in
//! `target/screenshots/`.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium
//! chromium-driver`; `./build.sh test` installs them).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{Db, TestApp, TestDevice};
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const ENTER: &str = "\u{e007}";
const WIDTHS: [u32; 2] = [1280, 390];

/// A chromedriver process, ended when dropped.
struct ChromeDriver {
    child: tokio::process::Child,
    url: String,
}

impl ChromeDriver {
    /// Starts chromedriver on a free port; returns once it says it is ready.
    async fn start() -> ChromeDriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = tokio::process::Command::new(
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()),
        )
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver is not installed: apt-get install chromium chromium-driver");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("started successfully") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "chromedriver did not start");
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn browser(&self) -> Client {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--hide-scrollbars", "--window-size=1280,900", "--lang=en-US"],
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("WebDriver session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Resizes the window so the page's viewport is `width` wide and the whole
/// page fits, then saves a screenshot `dashboard-<name>-<width>.png`.
async fn snap(c: &Client, name: &str, width: u32) {
    c.set_window_size(width, 900).await.unwrap();
    let inner = c.execute("return window.innerWidth", vec![]).await.unwrap();
    let chrome_w = width as i64 - inner.as_i64().unwrap();
    c.set_window_size(width + chrome_w as u32, 900)
        .await
        .unwrap();
    let inner = c.execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(
        inner.as_i64(),
        Some(width as i64),
        "viewport width for {name}"
    );
    // No horizontal scrolling at this width.
    let scroll_w = c
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .unwrap();
    assert!(
        scroll_w.as_i64().unwrap() <= width as i64,
        "{name} at {width}px scrolls sideways ({scroll_w})"
    );
    let h = c
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    let outer_h = c
        .execute("return window.outerHeight - window.innerHeight", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    c.set_window_size(width + chrome_w as u32, (h + outer_h).max(600) as u32)
        .await
        .unwrap();
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(
        screenshot_dir().join(format!("dashboard-{name}-{width}.png")),
        png,
    )
    .unwrap();
}

/// Screenshots of the current page at every width.
async fn snap_all(c: &Client, name: &str) {
    for w in WIDTHS {
        snap(c, name, w).await;
    }
    c.set_window_size(1280, 900).await.unwrap();
}

async fn css(c: &Client, selector: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
}

async fn value(c: &Client, selector: &str) -> String {
    css(c, selector)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Presses keys on the focused element.
async fn type_into(c: &Client, selector: &str, text: &str) {
    let el = css(c, selector).await;
    el.send_keys(text).await.unwrap();
}

/// Moves focus to the element (keyboard users reach it with Tab) and
/// activates it with Enter.
async fn press(c: &Client, selector: &str) {
    let el = css(c, selector).await;
    c.execute(
        "arguments[0].focus(); return document.activeElement === arguments[0]",
        vec![serde_json::to_value(&el).unwrap()],
    )
    .await
    .unwrap();
    el.send_keys(ENTER).await.unwrap();
}

/// Waits until the page's URL path (and query) is `path`.
async fn wait_for_path(c: &Client, path: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let url = c.current_url().await.unwrap();
        let here = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        if here == path {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still at {here}, expected {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dashboard_in_chromium() {
    let app = TestApp::spawn(Db::Sqlite).await;
    // A paired extension with a finished job and a failed one.
    let dev = app.pair_device(&app.api_key.clone()).await;
    let done = app.create_post("Hello from Claw Post").await;
    app.pull_job(&dev).await;
    let (s, _) = app
        .ack(&dev, &done, json!({"status": "succeeded", "postUrl": "https://x.com/clawpost/status/42", "packVersion": "x-2026.11.1"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    app.clock.advance_ms(86_400_000);
    let failed = app.create_post("This one fails").await;
    app.pull_job(&dev).await;
    app.ack(&dev, &failed, json!({"status": "failed", "errorCode": "selector_not_found",
        "error": "The composer was not found.", "details": {"selector": "[data-testid=tweetTextarea_0]", "step": "fill"}}))
        .await;
    app.create_post("Still queued").await;

    let driver = ChromeDriver::start().await;
    let c = driver.browser().await;
    let base = &app.base;

    // Sign in with the API key, keyboard only.
    c.goto(&format!("{base}/login")).await.unwrap();
    snap_all(&c, "login").await;
    type_into(&c, "#apiKey", &app.api_key).await;
    type_into(&c, "#apiKey", ENTER).await;
    wait_for_path(&c, "/").await;
    assert_eq!(value(&c, "#tenant-id").await, app.tenant_id);
    snap_all(&c, "overview").await;

    // Reveal: the key the session signed in with; the copy button appears.
    press(&c, "form[action='/key/reveal'] button").await;
    assert_eq!(value(&c, "#api-key").await, app.api_key);
    let copy = css(&c, "button[data-copy='api-key']").await;
    assert!(
        copy.is_displayed().await.unwrap(),
        "dashboard.js shows the copy button"
    );
    snap_all(&c, "key-revealed").await;

    // Rotate, after confirming.
    press(&c, "a[href='/key/rotate']").await;
    wait_for_path(&c, "/key/rotate").await;
    snap_all(&c, "rotate-confirm").await;
    press(&c, "form[action='/key/rotate'] button.danger").await;
    wait_for_path(&c, "/?notice=rotated").await;
    let new_key = value(&c, "#api-key").await;
    assert!(new_key.starts_with("claw_") && new_key != app.api_key);
    assert_eq!(
        app.get("/v1/usage", Some(&app.api_key)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/v1/usage", Some(&new_key)).await.0, StatusCode::OK);
    snap_all(&c, "key-rotated").await;

    // Pair a registered extension by its code.
    let reg = app.register().await;
    c.goto(&format!("{base}/devices")).await.unwrap();
    type_into(&c, "#code", reg["pairingCode"].as_str().unwrap()).await;
    type_into(&c, "#code", ENTER).await;
    wait_for_path(&c, "/devices?notice=paired").await;
    let device_id = reg["deviceId"].as_str().unwrap();
    css(&c, &format!("tr[data-device='{device_id}']")).await;
    let st = app.connect_status(&reg).await.1;
    let paired = TestDevice {
        device_id: device_id.to_string(),
        token: st["deviceToken"].as_str().expect("token").to_string(),
    };
    assert_eq!(
        app.pull(&paired, 0).await.0,
        StatusCode::OK,
        "the queued job"
    );
    snap_all(&c, "devices").await;

    // Revoke it: its token stops working.
    press(&c, &format!("tr[data-device='{device_id}'] button")).await;
    wait_for_path(&c, "/devices?notice=revoked").await;
    assert!(c
        .find(Locator::Css(&format!("tr[data-device='{device_id}']")))
        .await
        .is_err());
    assert_eq!(app.pull(&paired, 0).await.0, StatusCode::UNAUTHORIZED);

    // Jobs: the finished one links its post.
    c.goto(&format!("{base}/jobs")).await.unwrap();
    let link = css(
        &c,
        &format!("tr[data-job='{done}'] a[href='https://x.com/clawpost/status/42']"),
    )
    .await;
    assert_eq!(link.text().await.unwrap(), "View post");
    css(&c, &format!("tr[data-job='{failed}'] code")).await;
    snap_all(&c, "jobs").await;
    press(&c, &format!("tr[data-job='{failed}'] a")).await;
    wait_for_path(&c, &format!("/jobs/{failed}")).await;
    let diag = css(&c, "pre.details").await.text().await.unwrap();
    assert!(diag.contains("tweetTextarea_0"), "{diag}");
    snap_all(&c, "job-failed").await;
    c.goto(&format!("{base}/jobs/{done}")).await.unwrap();
    css(&c, "a[href='https://x.com/clawpost/status/42']").await;
    snap_all(&c, "job").await;

    // Usage: the chart's bars are drawn.
    c.goto(&format!("{base}/usage")).await.unwrap();
    let chart = css(&c, "svg.chart").await;
    let (_, _, w, h) = chart.rectangle().await.unwrap();
    assert!(w > 300.0 && h > 100.0, "chart is {w}x{h}");
    for class in ["ok", "failed", "pending"] {
        let bar = css(&c, &format!("svg.chart rect.{class}")).await;
        let (_, _, bw, bh) = bar.rectangle().await.unwrap();
        assert!(bw > 1.0 && bh > 1.0, "{class} bar is {bw}x{bh}");
    }
    snap_all(&c, "usage").await;

    // Sign out from the header.
    press(&c, "form.signout button").await;
    wait_for_path(&c, "/login?notice=signed-out").await;
    c.close().await.unwrap();
}

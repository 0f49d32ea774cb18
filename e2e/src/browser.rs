//! Debian Chromium with the unpacked extension loaded, driven over the
//! DevTools protocol: finding it, launch (headless, or headed on an Xvfb
//! display with a user tab in front), extension id, pairing, clearing the
//! fixture origins, and the extension's service worker.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::broadcast::error::RecvError;

use crate::cdp::{Cdp, Page};
use crate::fixture::PLATFORM_HOSTS;
use crate::server::{copy_lines, Server};

/// How long pairing steps may take.
const PAIRING_TIMEOUT: Duration = Duration::from_secs(30);

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The Chromium binary from PATH. The runner installs nothing: a missing
/// browser is an error that says what to install.
pub fn find_chromium() -> anyhow::Result<PathBuf> {
    on_path("chromium").context(
        "chromium is not on PATH: install Debian's chromium and chromium-driver \
         (apt-get install chromium chromium-driver); ./build.sh e2e and ./build.sh test \
         install them when missing",
    )
}

/// The Xvfb binary from PATH, for headed mode; an error that says what to
/// install when it is missing.
pub fn find_xvfb() -> anyhow::Result<PathBuf> {
    on_path("Xvfb").context(
        "Xvfb is not on PATH (--headed runs Chromium on its own Xvfb display): install \
         Debian's xvfb (apt-get install xvfb); ./build.sh test and ./build.sh e2e --headed \
         install it when missing",
    )
}

/// A virtual X display (Xvfb) for headed Chromium; stopped when dropped.
pub struct VirtualDisplay {
    _child: Child,
    /// The display name for `DISPLAY`, e.g. `:0`.
    pub name: String,
}

impl VirtualDisplay {
    /// Starts Xvfb on the first free display number; ready when Xvfb writes
    /// that number (`-displayfd`), so there is nothing to wait for after.
    pub async fn start(xvfb: &Path, log: &Path) -> anyhow::Result<VirtualDisplay> {
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(xvfb)
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1920x1080x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", xvfb.display()))?;
        let mut lines = BufReader::new(child.stdout.take().context("Xvfb stdout")?).lines();
        let number = match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
            Ok(Ok(Some(line))) => line.trim().parse::<u32>().ok(),
            _ => None,
        };
        let Some(number) = number else {
            bail!(
                "Xvfb did not report a display within 30s; {}: {}",
                log.display(),
                log_tail(log)
            );
        };
        // Keep reading so that Xvfb never writes into a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(VirtualDisplay {
            _child: child,
            name: format!(":{number}"),
        })
    }
}

/// The id Chromium gives an unpacked extension whose manifest has `key`:
/// the first 32 hex digits of SHA-256 of the decoded key, 0-9a-f mapped to a-p.
pub fn extension_id_from_key(key_b64: &str) -> anyhow::Result<String> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(key_b64.trim())
        .context("the manifest key is not base64")?;
    let digest = hex::encode(Sha256::digest(&der));
    Ok(digest[..32]
        .chars()
        .map(|c| {
            let v = c.to_digit(16).expect("hex digit") as u8;
            (b'a' + v) as char
        })
        .collect())
}

/// The extension id from `dir/manifest.json`'s `key`.
pub fn extension_id(dir: &Path) -> anyhow::Result<String> {
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let key = value["key"]
        .as_str()
        .with_context(|| format!("{} has no \"key\"", manifest.display()))?;
    extension_id_from_key(key)
}

/// The last lines of a log file, for error messages.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// The page the user tab shows in headed mode: it counts the times it went
/// to the background (`window.__userTabHidden`).
const USER_TAB_HTML: &str = "<!doctype html><title>User tab</title>\
<p>The user's own tab: it stays in front while the jobs run in the background.</p>\
<script>window.__userTabHidden = 0; document.addEventListener('visibilitychange', () => \
{ if (document.visibilityState === 'hidden') window.__userTabHidden++; });</script>";

/// Whether `url` is a page on a fixture hostname.
fn on_fixture(url: &str) -> bool {
    PLATFORM_HOSTS
        .iter()
        .any(|h| url.starts_with(&format!("https://{h}/")))
}

/// A running Chromium.
pub struct Browser {
    _child: Child,
    /// The browser-level DevTools connection.
    pub cdp: Cdp,
    /// A blank tab of the runner's own, for commands that need a page
    /// session (clearing storage and cookies).
    control: Page,
    /// Headed mode: the tab a user would be looking at, kept in front so
    /// that the job's tab is in the background.
    user_tab: Option<Page>,
}

impl Browser {
    /// Launches Chromium with `extension` loaded (when given), every platform
    /// hostname mapped to the fixture port, and its output in `log`:
    /// headless, or headed on the X display `display` when given.
    pub async fn launch(
        chromium: &Path,
        extension: Option<&Path>,
        display: Option<&str>,
        fixture_port: u16,
        profile: &Path,
        log: &Path,
    ) -> anyhow::Result<Browser> {
        let rules = PLATFORM_HOSTS
            .iter()
            .map(|h| format!("MAP {h} 127.0.0.1:{fixture_port}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut cmd = Command::new(chromium);
        match display {
            // A real window: no flag that keeps background tabs running.
            Some(display) => {
                cmd.env("DISPLAY", display).env_remove("WAYLAND_DISPLAY");
            }
            None => {
                cmd.arg("--headless=new");
            }
        }
        cmd.args([
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--window-size=1280,900",
            "--ignore-certificate-errors",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--host-resolver-rules={rules}"))
        .arg(format!("--user-data-dir={}", profile.display()));
        if let Some(ext) = extension {
            cmd.arg(format!("--load-extension={}", ext.display()))
                .arg(format!("--disable-extensions-except={}", ext.display()));
        }
        cmd.arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("starting chromium")?;
        let log_file =
            std::sync::Arc::new(tokio::sync::Mutex::new(tokio::fs::File::create(log).await?));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(copy_lines(
            child.stderr.take().context("chromium stderr")?,
            log_file,
            Some(("DevTools listening on".to_string(), ready_tx)),
        ));
        // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        // once its DevTools endpoint accepts connections. The line carries the
        // URL itself, so there is no race with the DevToolsActivePort file.
        let line = match tokio::time::timeout(Duration::from_secs(30), ready_rx).await {
            Ok(Ok(line)) => line,
            _ => bail!(
                "chromium did not open its DevTools port within 30s; {}: {}",
                log.display(),
                log_tail(log)
            ),
        };
        let ws = line
            .split_whitespace()
            .find(|w| w.starts_with("ws://"))
            .with_context(|| format!("no DevTools URL in {line:?}"))?
            .to_string();
        let cdp = Cdp::connect(&ws).await?;
        let control = cdp.open_page("about:blank").await?;
        Ok(Browser {
            _child: child,
            cdp,
            control,
            user_tab: None,
        })
    }

    /// Headed mode: opens the user tab (a page of its own, not on a fixture
    /// host) and brings it to the front.
    pub async fn open_user_tab(&mut self) -> anyhow::Result<()> {
        let url = format!(
            "data:text/html,{}",
            percent_encoding::utf8_percent_encode(
                USER_TAB_HTML,
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        let tab = self.cdp.open_page(&url).await?;
        tab.wait_for(
            "document.readyState === 'complete' && typeof window.__userTabHidden === 'number'",
            Duration::from_secs(15),
            "the user tab",
        )
        .await?;
        self.user_tab = Some(tab);
        self.bring_user_tab_to_front().await.map(|_| ())
    }

    /// Headed mode: makes the user tab the active tab of the focused window
    /// and starts counting its trips to the background afresh. Returns
    /// whether the page has focus (`document.hasFocus()`); `None` without a
    /// user tab.
    pub async fn bring_user_tab_to_front(&self) -> anyhow::Result<Option<bool>> {
        let Some(tab) = &self.user_tab else {
            return Ok(None);
        };
        self.cdp
            .call(
                None,
                "Target.activateTarget",
                json!({ "targetId": tab.target_id }),
            )
            .await?;
        tab.call("Page.bringToFront", json!({})).await?;
        let focus = tab
            .wait_for(
                "document.visibilityState === 'visible' && (window.__userTabHidden = 0, [document.hasFocus()])",
                Duration::from_secs(15),
                "the user tab in front",
            )
            .await?;
        Ok(Some(focus[0].as_bool().unwrap_or(false)))
    }

    /// Headed mode: how the user tab fared since [`Browser::bring_user_tab_to_front`],
    /// when it did not stay in front; `None` when it did (or without one).
    pub async fn user_tab_left_front(&self) -> anyhow::Result<Option<String>> {
        let Some(tab) = &self.user_tab else {
            return Ok(None);
        };
        let seen = tab
            .eval("[window.__userTabHidden, document.visibilityState]")
            .await?;
        let hidden = seen[0].as_u64().unwrap_or(0);
        let state = seen[1].as_str().unwrap_or_default();
        Ok((hidden > 0 || state != "visible").then(|| {
            format!("the user tab went to the background {hidden} time(s) and is now {state}")
        }))
    }

    /// Waits until no tab is on a fixture hostname (the extension closes its
    /// job tab after the ack), following Chromium's target events; `false`
    /// when `timeout` passes first.
    pub async fn wait_fixture_tabs_closed(&self, timeout: Duration) -> anyhow::Result<bool> {
        let mut events = self.cdp.events();
        self.cdp
            .call(
                None,
                "Target.setDiscoverTargets",
                json!({ "discover": true }),
            )
            .await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let open =
                self.cdp.targets().await?.iter().any(|t| {
                    t["type"] == "page" && on_fixture(t["url"].as_str().unwrap_or_default())
                });
            if !open {
                return Ok(true);
            }
            // The next change of any target (or a lagged stream) means look again.
            loop {
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Err(_) | Ok(Err(RecvError::Closed)) => return Ok(false),
                    Ok(Err(RecvError::Lagged(_))) => break,
                    Ok(Ok(event)) if event.method.starts_with("Target.") => break,
                    Ok(Ok(_)) => {}
                }
            }
        }
    }

    /// Waits until the extension's service worker is running; returns its
    /// target id.
    pub async fn wait_for_service_worker(
        &self,
        extension_id: &str,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let mut events = self.cdp.events();
        self.cdp
            .call(
                None,
                "Target.setDiscoverTargets",
                json!({ "discover": true }),
            )
            .await?;
        if let Some(id) = self.service_worker(extension_id).await? {
            return Ok(id);
        }
        let prefix = format!("chrome-extension://{extension_id}/");
        let wait = async {
            while let Ok(event) = events.recv().await {
                let info = &event.params["targetInfo"];
                if (event.method == "Target.targetCreated"
                    || event.method == "Target.targetInfoChanged")
                    && info["type"] == "service_worker"
                    && info["url"].as_str().is_some_and(|u| u.starts_with(&prefix))
                {
                    return info["targetId"].as_str().map(str::to_string);
                }
            }
            None
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Some(id)) => Ok(id),
            _ => bail!(
                "the extension's service worker (chrome-extension://{extension_id}/…) did not start within {timeout:?}"
            ),
        }
    }

    /// The target id of the extension's running service worker, if any.
    pub async fn service_worker(&self, extension_id: &str) -> anyhow::Result<Option<String>> {
        let prefix = format!("chrome-extension://{extension_id}/");
        Ok(self.cdp.targets().await?.into_iter().find_map(|t| {
            (t["type"] == "service_worker"
                && t["url"].as_str().is_some_and(|u| u.starts_with(&prefix)))
            .then(|| t["targetId"].as_str().map(str::to_string))
            .flatten()
        }))
    }

    /// Stops the extension's service worker (`Target.closeTarget`) and waits
    /// until Chromium reports it destroyed. Returns `false` when it was not
    /// running.
    pub async fn kill_service_worker(&self, extension_id: &str) -> anyhow::Result<bool> {
        let mut events = self.cdp.events();
        self.cdp
            .call(
                None,
                "Target.setDiscoverTargets",
                json!({ "discover": true }),
            )
            .await?;
        let Some(target) = self.service_worker(extension_id).await? else {
            return Ok(false);
        };
        self.cdp.close_target(&target).await?;
        let wait = async {
            while let Ok(event) = events.recv().await {
                if event.method == "Target.targetDestroyed" && event.params["targetId"] == target {
                    return true;
                }
            }
            false
        };
        let destroyed = tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or(false);
        anyhow::ensure!(
            destroyed,
            "the service worker target {target} was not destroyed after Target.closeTarget"
        );
        Ok(true)
    }

    /// Closes every tab on a fixture hostname and clears those origins'
    /// storage and the browser's cookies.
    pub async fn reset_fixture_origins(&self) -> anyhow::Result<()> {
        for target in self.cdp.targets().await? {
            let url = target["url"].as_str().unwrap_or_default();
            if target["type"] == "page"
                && on_fixture(url)
                && target["targetId"] != self.control.target_id
            {
                if let Some(id) = target["targetId"].as_str() {
                    let _ = self.cdp.close_target(id).await;
                }
            }
        }
        for host in PLATFORM_HOSTS {
            self.control
                .call(
                    "Storage.clearDataForOrigin",
                    json!({ "origin": format!("https://{host}"), "storageTypes": "all" }),
                )
                .await?;
        }
        self.control
            .call("Network.clearBrowserCookies", json!({}))
            .await?;
        Ok(())
    }

    /// Pairs the extension with the server the way a user does: saves the
    /// server URL in the options page, reads the code from the popup, enters
    /// it with the tenant's API key, and waits for the popup to say Paired.
    pub async fn pair(&self, extension_id: &str, server: &Server) -> anyhow::Result<()> {
        let base = format!("chrome-extension://{extension_id}");
        let options = self.cdp.open_page(&format!("{base}/options.html")).await?;
        options
            .wait_for(
                "document.querySelector('#server-url') !== null && document.querySelector('#save') !== null",
                PAIRING_TIMEOUT,
                "options.html #server-url and #save",
            )
            .await?;
        options
            .eval("(() => { const i = document.querySelector('#server-url'); i.focus(); i.select(); return true; })()")
            .await?;
        options.insert_text(&server.base_url).await?;
        // A real click: saving may ask for a host permission, which needs a
        // user gesture.
        options.click("#save").await?;
        let url_json = serde_json::to_string(&server.base_url)?;
        options
            .wait_for_or_show(
                &format!(
                    "chrome.storage.local.get('serverUrl').then(v => v.serverUrl === {url_json})"
                ),
                PAIRING_TIMEOUT,
                "chrome.storage.local serverUrl saved by the options page",
            )
            .await?;
        options.close().await?;

        let popup = self.cdp.open_page(&format!("{base}/popup.html")).await?;
        // Unpaired, the popup offers Google sign-in; this server has no
        // provider configured, so the worker answers with the code fallback.
        popup
            .wait_for_or_show(
                "document.querySelector('#google-sign-in') !== null",
                PAIRING_TIMEOUT,
                "popup.html #google-sign-in",
            )
            .await?;
        popup.click("#google-sign-in").await?;
        popup
            .wait_for_or_show(
                "Array.from(document.querySelectorAll('.error')).some(e => e.textContent.includes('6-digit code'))",
                PAIRING_TIMEOUT,
                "the popup's answer to Google sign-in without a provider",
            )
            .await?;
        let code = popup
            .wait_for_or_show(
                "(() => { const t = document.querySelector('#pairing-code')?.textContent?.trim() ?? ''; \
                 const m = t.replace(/\\s+/g, '').match(/^\\d{6}$/); return m ? m[0] : null; })()",
                PAIRING_TIMEOUT,
                "a 6-digit code in popup.html #pairing-code",
            )
            .await?;
        let code = code.as_str().context("pairing code")?.to_string();
        server.pair(&code).await?;
        popup
            .wait_for_or_show(
                "(document.querySelector('#status')?.textContent ?? '').includes('Paired')",
                PAIRING_TIMEOUT,
                "\"Paired\" in popup.html #status",
            )
            .await?;
        // A real popup closes when the user clicks away.
        popup.close().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_id_follows_chromiums_rule() {
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223…
        let key = base64::engine::general_purpose::STANDARD.encode(b"abc");
        assert_eq!(
            extension_id_from_key(&key).unwrap(),
            "lkhibglpipabmpokebebeanofnkocccd"
        );
        assert!(extension_id_from_key("not base64!").is_err());
    }
}

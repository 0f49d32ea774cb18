//! The worker runtime natively, with the browser replaced by an in-memory
//! host: a fake X page behind the agent protocol, a fake Claw Post server
//! behind HTTP, and storage that survives a "worker restart" (dropping the
//! running future, as Chrome does when it stops the worker).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use clawpost_extension::host::{Host, HostError, HttpRequest, HttpResponse, TabInfo};
use clawpost_extension::protocol;
use clawpost_extension::runtime::{self, PairingState};
use extension_core::engine::{AgentCommand, AgentReply, ProbeState};
use extension_core::pack::Target;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use serde_json::{json, Value};

const SERVER: &str = "http://127.0.0.1:9999";
/// The X pack the fake page below is written for: a fixed snapshot, so these
/// tests follow the runtime, not the shipped pack's latest selectors. It is
/// stored as served packs, with a version newer than any built-in one.
const TEST_PACK: &str = include_str!("../x-test-pack.json");
const POST_URL: &str = "https://x.com/clawtest/status/1790000000000000001";

#[derive(Default)]
struct Page {
    url: String,
    captcha: bool,
    editor: String,
    files: usize,
    toast: bool,
    /// Texts the "platform" published from this tab.
    published: Vec<String>,
}

#[derive(Default)]
struct World {
    storage: HashMap<String, Value>,
    queue: Vec<Value>,
    /// Requests the server saw: (method, path, body).
    requests: Vec<(String, String, Value)>,
    /// Answers for POST /v1/extension/progress {submitting}.
    submitting_status: u16,
    tabs: HashMap<i32, Page>,
    next_tab: i32,
    closed_tabs: Vec<i32>,
    /// Simulate the worker dying when this happens.
    die_on: Option<&'static str>,
    /// The toast disappears (as after a restart).
    toast_expired: bool,
    media_status: u16,
    now: f64,
    /// Everything published, by any tab (closed ones included).
    published: Vec<String>,
    /// The answer to GET /v1/extension/selectors: status and body.
    selectors: Option<(u16, String)>,
    /// X shows its puzzle (Arkose) instead of the composer.
    captcha: bool,
    /// The editor already holds this (the user's own draft).
    draft: Option<String>,
    /// Notifications shown: (id, title, message).
    notifications: Vec<(String, String, String)>,
    /// The toolbar badge.
    badge: String,
    /// After the publish click, X loads its puzzle page anew: the first
    /// wait's message is dropped with the old page.
    checkpoint_after_click: bool,
}

#[derive(Clone, Default)]
struct FakeHost(Rc<RefCell<World>>);

fn first_css(t: &Target) -> String {
    t.0.first().and_then(|l| l.css.clone()).unwrap_or_default()
}

impl FakeHost {
    fn new() -> FakeHost {
        let h = FakeHost::default();
        {
            let mut w = h.0.borrow_mut();
            w.storage.insert(protocol::SERVER_URL.into(), json!(SERVER));
            w.storage
                .insert(protocol::DEVICE_TOKEN.into(), json!("cp_dev_token"));
            let set: Value =
                serde_json::from_str(&served_set("x-test-9999.0.0", "test-pack")).unwrap();
            w.storage.insert(protocol::SELECTOR_PACKS.into(), set);
            w.submitting_status = 200;
            w.media_status = 200;
            w.next_tab = 1;
            w.now = 1_000_000.0;
        }
        h
    }

    fn enqueue(&self, text: &str, media: &[&str]) {
        let id = format!("job-{}", self.0.borrow().queue.len() + 1);
        self.0.borrow_mut().queue.push(json!({
            "id": id, "type": "post", "platform": "x", "text": text,
            "mediaPaths": media, "leaseExpiresAt": 0, "attempt": 1
        }));
    }

    fn requests(&self, path: &str) -> Vec<Value> {
        self.0
            .borrow()
            .requests
            .iter()
            .filter(|(_, p, _)| p.starts_with(path))
            .map(|(_, _, b)| b.clone())
            .collect()
    }

    fn published(&self) -> Vec<String> {
        self.0.borrow().published.clone()
    }

    /// Whether the page has an element for this target.
    fn exists(page: &Page, toast_expired: bool, css: &str) -> Option<(bool, Option<String>)> {
        if css.contains("arkose") {
            return page.captcha.then_some((true, None));
        }
        let on_composer =
            (page.url.contains("/compose/post") || page.url.ends_with("/home")) && !page.captcha;
        if css.contains("tweetTextarea") {
            return on_composer.then(|| (true, Some(page.editor.clone())));
        }
        if css.contains("tweetButton") {
            return on_composer.then_some((!page.editor.is_empty(), None));
        }
        if css.contains("fileInput") {
            return on_composer.then_some((true, None));
        }
        if css.contains("attachments") {
            return (page.files > 0).then_some((true, None));
        }
        if css.contains("toast") && css.contains("/status/") {
            return (page.toast && !toast_expired).then(|| (true, Some(POST_URL.to_string())));
        }
        if css.contains("Profile_Link") {
            return Some((true, Some("https://x.com/clawtest".into())));
        }
        if css.starts_with("article") {
            return (page.url == "https://x.com/clawtest" && !page.published.is_empty())
                .then(|| (true, Some(POST_URL.to_string())));
        }
        None
    }
}

impl Host for FakeHost {
    async fn get(&self, key: &str) -> Result<Option<Value>, HostError> {
        Ok(self.0.borrow().storage.get(key).cloned())
    }

    async fn set(&self, key: &str, value: Value) -> Result<(), HostError> {
        self.0.borrow_mut().storage.insert(key.into(), value);
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), HostError> {
        self.0.borrow_mut().storage.remove(key);
        Ok(())
    }

    async fn http(&self, req: HttpRequest) -> Result<HttpResponse, HostError> {
        let path = req.url.strip_prefix(SERVER).unwrap_or(&req.url).to_string();
        let body: Value = req
            .json
            .as_deref()
            .map(|b| serde_json::from_str(b).unwrap())
            .unwrap_or(Value::Null);
        if path.starts_with("/v1/") && !path.starts_with("/v1/media") {
            assert_eq!(req.bearer.as_deref(), Some("cp_dev_token"), "{path}");
        }
        self.0
            .borrow_mut()
            .requests
            .push((req.method.into(), path.clone(), body.clone()));
        let json_resp = |status: u16, v: Value| HttpResponse {
            status,
            content_type: Some("application/json".into()),
            body: v.to_string().into_bytes(),
        };
        if path.starts_with("/v1/extension/pull") {
            let mut w = self.0.borrow_mut();
            return Ok(if w.queue.is_empty() {
                HttpResponse {
                    status: 204,
                    ..Default::default()
                }
            } else {
                json_resp(200, w.queue.remove(0))
            });
        }
        if path == "/v1/extension/progress" {
            if body["stage"] == "submitting" {
                if self.0.borrow().die_on == Some("progress") {
                    futures::future::pending::<()>().await;
                }
                let status = self.0.borrow().submitting_status;
                return Ok(json_resp(status, json!({})));
            }
            return Ok(json_resp(200, json!({})));
        }
        if path == "/v1/extension/ack" {
            return Ok(json_resp(200, json!({})));
        }
        if path == "/v1/extension/selectors" {
            let (status, body) = self
                .0
                .borrow()
                .selectors
                .clone()
                .unwrap_or((404, "{}".into()));
            return Ok(HttpResponse {
                status,
                content_type: Some("application/json".into()),
                body: body.into_bytes(),
            });
        }
        if path.starts_with("/v1/media/") {
            let status = self.0.borrow().media_status;
            return Ok(HttpResponse {
                status,
                content_type: Some("image/png".into()),
                body: vec![7u8; 700_000],
            });
        }
        panic!("unexpected request {path}");
    }

    async fn platform_tabs(&self, hosts: &[String]) -> Result<Vec<TabInfo>, HostError> {
        let w = self.0.borrow();
        Ok(w.tabs
            .iter()
            .filter(|(_, p)| hosts.iter().any(|h| p.url.contains(h.as_str())))
            .map(|(id, p)| TabInfo {
                id: *id,
                url: Some(p.url.clone()),
            })
            .collect())
    }

    async fn tab(&self, id: i32) -> Option<TabInfo> {
        self.0.borrow().tabs.get(&id).map(|p| TabInfo {
            id,
            url: Some(p.url.clone()),
        })
    }

    async fn open_tab(&self, url: &str, _timeout_ms: u64) -> Result<TabInfo, HostError> {
        let mut w = self.0.borrow_mut();
        let id = w.next_tab;
        w.next_tab += 1;
        let page = Page {
            url: url.into(),
            captcha: w.captcha,
            editor: w.draft.clone().unwrap_or_default(),
            ..Default::default()
        };
        w.tabs.insert(id, page);
        Ok(TabInfo {
            id,
            url: Some(url.into()),
        })
    }

    async fn navigate(&self, tab: i32, url: &str, _timeout_ms: u64) -> Result<TabInfo, HostError> {
        let mut w = self.0.borrow_mut();
        let page = w
            .tabs
            .get_mut(&tab)
            .ok_or_else(|| HostError::Tab("no such tab".into()))?;
        page.url = url.into();
        page.editor.clear();
        page.toast = false;
        Ok(TabInfo {
            id: tab,
            url: Some(url.into()),
        })
    }

    async fn close_tab(&self, tab: i32) {
        let mut w = self.0.borrow_mut();
        w.tabs.remove(&tab);
        w.closed_tabs.push(tab);
    }

    async fn agent(&self, tab: i32, cmd: &AgentCommand) -> Result<AgentReply, HostError> {
        let mut die = false;
        let mut published = None;
        let reply = {
            let mut w = self.0.borrow_mut();
            let expired = w.toast_expired;
            let die_on = w.die_on;
            let checkpoint = w.checkpoint_after_click;
            let page = w
                .tabs
                .get_mut(&tab)
                .ok_or_else(|| HostError::Tab("no such tab".into()))?;
            if checkpoint
                && !page.published.is_empty()
                && !page.captcha
                && matches!(cmd, AgentCommand::WaitFor { .. })
            {
                page.captcha = true;
                page.toast = false;
                return Err(HostError::PageChanged(
                    "the message channel closed before a response was received".into(),
                ));
            }
            let mut r = AgentReply {
                ok: true,
                url: Some(page.url.clone()),
                ..Default::default()
            };
            match cmd {
                AgentCommand::Ping | AgentCommand::DropFiles { .. } => {}
                AgentCommand::Outline { .. } => {
                    r.value = Some("main[role=main]\n  div[data-testid=primaryColumn]".into());
                }
                AgentCommand::PutFileChunk { .. } => {}
                AgentCommand::WaitFor { branches, .. } => {
                    for b in branches {
                        let mut states = Vec::new();
                        let mut holds = true;
                        for p in &b.probes {
                            let el = p
                                .target
                                .as_ref()
                                .and_then(|t| Self::exists(page, expired, &first_css(t)));
                            if p.url_matches.is_some() {
                                holds = false; // no login walls here
                            }
                            if p.target.is_some() {
                                holds &= if p.gone { el.is_none() } else { el.is_some() };
                            }
                            if p.enabled {
                                holds &= el.as_ref().is_some_and(|e| e.0);
                            }
                            if let Some(t) = &p.text_equals {
                                holds &= el.as_ref().and_then(|e| e.1.as_deref()) == Some(t);
                            }
                            states.push(ProbeState {
                                found: el.is_some(),
                                enabled: el.as_ref().is_some_and(|e| e.0),
                                text: el.and_then(|e| e.1),
                                via: Some(0),
                                values: None,
                            });
                        }
                        if holds {
                            r.matched = Some(b.key.clone());
                            r.probes = Some(states);
                            break;
                        }
                    }
                }
                AgentCommand::Click { target, .. } => {
                    let css = first_css(target);
                    let el = Self::exists(page, expired, &css);
                    r.found = Some(el.is_some());
                    if css.contains("tweetButton") && el.is_some_and(|e| e.0) {
                        page.published.push(page.editor.clone());
                        published = Some(page.editor.clone());
                        page.editor.clear();
                        page.toast = true;
                        die = die_on == Some("click");
                    }
                }
                AgentCommand::InsertText {
                    target,
                    text,
                    keep_draft,
                    ..
                } => {
                    let found = Self::exists(page, expired, &first_css(target)).is_some();
                    r.found = Some(found);
                    if found && *keep_draft && !page.editor.is_empty() && page.editor != *text {
                        r.draft = true;
                    } else if found {
                        page.editor = text.clone();
                        r.text = Some(text.clone());
                    }
                }
                AgentCommand::Read { target, .. } => {
                    let el = Self::exists(page, expired, &first_css(target));
                    r.found = Some(el.is_some());
                    r.value = el.and_then(|e| e.1);
                }
                AgentCommand::AttachFiles { file_ids, .. } => {
                    page.files = file_ids.len();
                    r.found = Some(true);
                    r.count = Some(file_ids.len());
                }
                AgentCommand::ReadAll { target, .. } => {
                    let el = Self::exists(page, expired, &first_css(target));
                    r.found = Some(el.is_some());
                    r.values = Some(el.and_then(|e| e.1).into_iter().collect());
                }
                AgentCommand::Dismiss { .. } | AgentCommand::Press { .. } => {
                    r.found = Some(false);
                }
            }
            r
        };
        if let Some(p) = published {
            self.0.borrow_mut().published.push(p);
        }
        if die {
            // The worker is stopped right after the click left.
            futures::future::pending::<()>().await;
        }
        Ok(reply)
    }

    async fn inject_agent(&self, _tab: i32) -> Result<(), HostError> {
        Ok(())
    }

    fn now_ms(&self) -> f64 {
        let mut w = self.0.borrow_mut();
        w.now += 10.0;
        w.now
    }
    fn random_token(&self) -> String {
        "4f1c2a9e-nonce".into()
    }

    async fn notify(&self, id: &str, title: &str, message: &str) {
        self.0
            .borrow_mut()
            .notifications
            .push((id.into(), title.into(), message.into()));
    }

    async fn set_badge(&self, text: &str) {
        self.0.borrow_mut().badge = text.into();
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// Runs `drain` until it stalls (the simulated worker death), then drops it.
fn drain_until_killed(h: &FakeHost) {
    let mut pool = LocalPool::new();
    let done = Rc::new(RefCell::new(false));
    let (h2, done2) = (h.clone(), done.clone());
    pool.spawner()
        .spawn_local(async move {
            let _ = runtime::drain(&h2).await;
            *done2.borrow_mut() = true;
        })
        .unwrap();
    pool.run_until_stalled();
    assert!(!*done.borrow(), "the worker was supposed to die mid-job");
    drop(pool);
}

fn acks(h: &FakeHost) -> Vec<Value> {
    h.requests("/v1/extension/ack")
}

#[test]
fn a_text_job_posts_once_acks_with_the_post_url_and_closes_its_tab() {
    let h = FakeHost::new();
    h.enqueue("Hello from Claw Post!", &[]);
    assert_eq!(block_on(runtime::drain(&h)).unwrap(), 1);
    assert_eq!(h.published(), ["Hello from Claw Post!"]);
    let acks = acks(&h);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0]["status"], "succeeded");
    assert_eq!(acks[0]["postUrl"], POST_URL);
    assert_eq!(acks[0]["packVersion"], "x-test-9999.0.0");
    // submitting was reported before the click (the only progress here).
    let progress = h.requests("/v1/extension/progress");
    assert_eq!(progress, [json!({"jobId": "job-1", "stage": "submitting"})]);
    let w = h.0.borrow();
    assert_eq!(w.closed_tabs, [1], "the tab it opened is closed");
    assert!(!w.storage.contains_key(protocol::INFLIGHT));
    assert_eq!(w.storage[protocol::RECENT_JOBS][0]["status"], "succeeded");
    assert_eq!(w.storage[protocol::RECENT_JOBS][0]["postUrl"], POST_URL);
}

#[test]
fn a_restart_right_after_the_click_never_posts_twice() {
    let h = FakeHost::new();
    h.enqueue("Only once", &[]);
    h.0.borrow_mut().die_on = Some("click");
    drain_until_killed(&h);
    assert_eq!(h.published(), ["Only once"]);
    assert!(acks(&h).is_empty(), "died before the ack");
    let inflight = h.0.borrow().storage[protocol::INFLIGHT].clone();
    assert_eq!(inflight["state"]["submit"], "clicked");

    // Chrome starts the worker again; the toast is gone by now.
    {
        let mut w = h.0.borrow_mut();
        w.die_on = None;
        w.toast_expired = true;
    }
    assert_eq!(block_on(runtime::drain(&h)).unwrap(), 1);
    assert_eq!(h.published(), ["Only once"], "no second post");
    let acks = acks(&h);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0]["status"], "succeeded");
    assert_eq!(acks[0]["postUrl"], POST_URL, "found on the profile");
    assert!(!h.0.borrow().storage.contains_key(protocol::INFLIGHT));
}

#[test]
fn a_restart_while_reporting_submitting_starts_over_and_posts_once() {
    let h = FakeHost::new();
    h.enqueue("Report first", &[]);
    h.0.borrow_mut().die_on = Some("progress");
    drain_until_killed(&h);
    assert!(
        h.published().is_empty(),
        "no click before the server answered"
    );
    h.0.borrow_mut().die_on = None;
    block_on(runtime::drain(&h)).unwrap();
    assert_eq!(h.published(), ["Report first"]);
    assert_eq!(acks(&h)[0]["status"], "succeeded");
}

#[test]
fn a_lost_lease_at_submitting_neither_clicks_nor_acks() {
    let h = FakeHost::new();
    h.enqueue("Not mine anymore", &[]);
    h.0.borrow_mut().submitting_status = 409;
    block_on(runtime::drain(&h)).unwrap();
    assert!(h.published().is_empty());
    assert!(acks(&h).is_empty());
    let w = h.0.borrow();
    assert_eq!(w.storage[protocol::RECENT_JOBS][0]["status"], "abandoned");
    assert_eq!(w.closed_tabs, [1]);
}

#[test]
fn only_open_tabs_without_an_x_tab_fails_with_no_x_tab() {
    let h = FakeHost::new();
    h.0.borrow_mut()
        .storage
        .insert(protocol::ONLY_OPEN_TABS.into(), json!(true));
    h.enqueue("hi", &[]);
    block_on(runtime::drain(&h)).unwrap();
    let acks = acks(&h);
    assert_eq!(acks[0]["status"], "failed");
    assert_eq!(acks[0]["errorCode"], "no_x_tab");
    assert!(h.0.borrow().tabs.is_empty(), "opened no tab");
}

#[test]
fn only_open_tabs_uses_the_users_tab_and_leaves_it_open() {
    let h = FakeHost::new();
    h.0.borrow_mut()
        .storage
        .insert(protocol::ONLY_OPEN_TABS.into(), json!(true));
    block_on(h.open_tab("https://x.com/home", 0)).unwrap();
    h.enqueue("from my tab", &[]);
    block_on(runtime::drain(&h)).unwrap();
    assert_eq!(h.published(), ["from my tab"]);
    let w = h.0.borrow();
    assert!(w.closed_tabs.is_empty(), "the user's tab stays");
    assert_eq!(w.tabs.len(), 1);
}

#[test]
fn media_is_fetched_and_attached_or_fails_with_media_fetch_failed() {
    let h = FakeHost::new();
    h.enqueue(
        "pic",
        &["http://127.0.0.1:9999/v1/media/objects/m1/cat.png?sig=1"],
    );
    block_on(runtime::drain(&h)).unwrap();
    assert_eq!(acks(&h)[0]["status"], "succeeded");
    assert_eq!(h.0.borrow().tabs.len(), 0);

    let h = FakeHost::new();
    h.0.borrow_mut().media_status = 410;
    h.enqueue(
        "pic",
        &["http://127.0.0.1:9999/v1/media/objects/m1/cat.png?sig=1"],
    );
    block_on(runtime::drain(&h)).unwrap();
    let acks = acks(&h);
    assert_eq!(acks[0]["errorCode"], "media_fetch_failed");
    assert!(h.published().is_empty());
    // The failure carries a diagnostic: where it stopped, what it looked
    // for, and the page's outline (no user content).
    let d = &acks[0]["diagnostic"];
    assert_eq!(d["step"], "attach", "{d}");
    assert_eq!(d["action"], "attachFiles", "{d}");
    assert!(d["selectorsTried"]["fileInput"].is_array(), "{d}");
    assert_eq!(d["packVersion"], "x-test-9999.0.0");
    assert!(
        d["url"].as_str().unwrap().starts_with("https://x.com/"),
        "{d}"
    );
    assert_eq!(
        d["outline"],
        json!(["main[role=main]", "  div[data-testid=primaryColumn]"])
    );
}

#[test]
fn pairing_registers_polls_and_stores_the_token() {
    // A tiny pairing server: pending once, then paired.
    #[derive(Clone)]
    struct PairHost(FakeHost, Rc<RefCell<u32>>);
    impl Host for PairHost {
        async fn get(&self, k: &str) -> Result<Option<Value>, HostError> {
            self.0.get(k).await
        }
        async fn set(&self, k: &str, v: Value) -> Result<(), HostError> {
            self.0.set(k, v).await
        }
        async fn remove(&self, k: &str) -> Result<(), HostError> {
            self.0.remove(k).await
        }
        async fn http(&self, req: HttpRequest) -> Result<HttpResponse, HostError> {
            let ok = |v: Value| HttpResponse {
                status: 200,
                content_type: None,
                body: v.to_string().into_bytes(),
            };
            if req.url.ends_with("/v1/connect/register") {
                return Ok(ok(json!({"deviceId": "d1", "pairingCode": "123456",
                    "pollToken": "cp_poll x", "expiresAt": 9_000_000_000_000_i64})));
            }
            // The poll token goes in the Authorization header, never the URL.
            assert_eq!(req.url, format!("{SERVER}/v1/connect/status?deviceId=d1"));
            assert_eq!(req.bearer.as_deref(), Some("cp_poll x"));
            *self.1.borrow_mut() += 1;
            Ok(if *self.1.borrow() == 1 {
                ok(json!({"status": "pending", "expiresAt": 9_000_000_000_000_i64}))
            } else {
                ok(
                    json!({"status": "paired", "deviceToken": "cp_dev_new", "expiresAt": 9_000_000_000_000_i64}),
                )
            })
        }
        async fn platform_tabs(&self, h: &[String]) -> Result<Vec<TabInfo>, HostError> {
            self.0.platform_tabs(h).await
        }
        async fn tab(&self, id: i32) -> Option<TabInfo> {
            self.0.tab(id).await
        }
        async fn open_tab(&self, u: &str, t: u64) -> Result<TabInfo, HostError> {
            self.0.open_tab(u, t).await
        }
        async fn navigate(&self, id: i32, u: &str, t: u64) -> Result<TabInfo, HostError> {
            self.0.navigate(id, u, t).await
        }
        async fn close_tab(&self, id: i32) {
            self.0.close_tab(id).await
        }
        async fn agent(&self, id: i32, c: &AgentCommand) -> Result<AgentReply, HostError> {
            self.0.agent(id, c).await
        }
        async fn inject_agent(&self, id: i32) -> Result<(), HostError> {
            self.0.inject_agent(id).await
        }
        fn now_ms(&self) -> f64 {
            self.0.now_ms()
        }
        fn random_token(&self) -> String {
            self.0.random_token()
        }
    }
    let fake = FakeHost::new();
    fake.0.borrow_mut().storage.remove(protocol::DEVICE_TOKEN);
    let h = PairHost(fake.clone(), Rc::new(RefCell::new(0)));
    match block_on(runtime::ensure_pairing(&h)).unwrap() {
        PairingState::Pending(p) => assert_eq!(p.code, "123456"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fake.0.borrow().storage[protocol::PAIRING]["code"],
        "123456",
        "the popup reads the code from storage"
    );
    // First poll: still pending; second: paired.
    assert!(matches!(
        block_on(runtime::poll_pairing(&h)).unwrap(),
        PairingState::Pending(_)
    ));
    assert_eq!(
        block_on(runtime::poll_pairing(&h)).unwrap(),
        PairingState::Paired
    );
    let w = fake.0.borrow();
    assert_eq!(w.storage[protocol::DEVICE_TOKEN], "cp_dev_new");
    assert!(!w.storage.contains_key(protocol::PAIRING));
}

#[test]
fn a_revoked_token_unpairs() {
    #[derive(Clone)]
    struct Revoked(FakeHost);
    let h = Revoked(FakeHost::new());
    impl Revoked {
        async fn pull(&self) -> Result<Option<extension_core::LeasedJob>, runtime::RuntimeError> {
            runtime::pull(self).await
        }
    }
    impl Host for Revoked {
        async fn get(&self, k: &str) -> Result<Option<Value>, HostError> {
            self.0.get(k).await
        }
        async fn set(&self, k: &str, v: Value) -> Result<(), HostError> {
            self.0.set(k, v).await
        }
        async fn remove(&self, k: &str) -> Result<(), HostError> {
            self.0.remove(k).await
        }
        async fn http(&self, _req: HttpRequest) -> Result<HttpResponse, HostError> {
            Ok(HttpResponse {
                status: 401,
                ..Default::default()
            })
        }
        async fn platform_tabs(&self, _: &[String]) -> Result<Vec<TabInfo>, HostError> {
            Ok(vec![])
        }
        async fn tab(&self, _: i32) -> Option<TabInfo> {
            None
        }
        async fn open_tab(&self, _: &str, _: u64) -> Result<TabInfo, HostError> {
            Err(HostError::Tab("no".into()))
        }
        async fn navigate(&self, _: i32, _: &str, _: u64) -> Result<TabInfo, HostError> {
            Err(HostError::Tab("no".into()))
        }
        async fn close_tab(&self, _: i32) {}
        async fn agent(&self, _: i32, _: &AgentCommand) -> Result<AgentReply, HostError> {
            Err(HostError::Tab("no".into()))
        }
        async fn inject_agent(&self, _: i32) -> Result<(), HostError> {
            Ok(())
        }
        fn now_ms(&self) -> f64 {
            0.0
        }
        fn random_token(&self) -> String {
            self.0.random_token()
        }
    }
    assert_eq!(
        block_on(h.pull()).unwrap_err(),
        runtime::RuntimeError::Unauthorized
    );
    assert!(!h.0 .0.borrow().storage.contains_key(protocol::DEVICE_TOKEN));
}

/// A Google sign-in host: the server's `/v1/connect/google` and a provider
/// window that answers with `answer(url)`.
#[derive(Clone)]
struct GoogleHost {
    fake: FakeHost,
    configured: bool,
    /// The sign-in URL the window was opened at.
    opened: Rc<RefCell<Option<String>>>,
    /// What the provider redirects to, given the sign-in URL.
    answer: fn(&str) -> String,
}

impl Host for GoogleHost {
    async fn get(&self, k: &str) -> Result<Option<Value>, HostError> {
        self.fake.get(k).await
    }
    async fn set(&self, k: &str, v: Value) -> Result<(), HostError> {
        self.fake.set(k, v).await
    }
    async fn remove(&self, k: &str) -> Result<(), HostError> {
        self.fake.remove(k).await
    }
    async fn http(&self, req: HttpRequest) -> Result<HttpResponse, HostError> {
        assert_eq!(req.url, format!("{SERVER}/v1/connect/google"));
        assert_eq!(req.bearer, None, "no device token yet");
        let reply = |status: u16, v: Value| HttpResponse {
            status,
            content_type: Some("application/json".into()),
            body: v.to_string().into_bytes(),
        };
        if !self.configured {
            return Ok(reply(
                404,
                json!({"code": "OIDC_NOT_CONFIGURED", "error": "not configured"}),
            ));
        }
        let body: Value = req
            .json
            .as_deref()
            .map(|b| serde_json::from_str(b).unwrap())
            .unwrap_or(Value::Null);
        self.fake.0.borrow_mut().requests.push((
            req.method.into(),
            "/v1/connect/google".into(),
            body.clone(),
        ));
        Ok(match req.method {
            "GET" => reply(
                200,
                json!({"issuer": "https://accounts.example",
                       "authorizationEndpoint": "https://accounts.example/o/auth?hl=en",
                       "clientId": "ext-client.apps"}),
            ),
            _ => {
                assert_eq!(body["idToken"], "header.claims.sig");
                reply(
                    201,
                    json!({"deviceId": "d9", "deviceToken": "cp_dev_google", "tenantId": "t1"}),
                )
            }
        })
    }
    async fn platform_tabs(&self, h: &[String]) -> Result<Vec<TabInfo>, HostError> {
        self.fake.platform_tabs(h).await
    }
    async fn tab(&self, id: i32) -> Option<TabInfo> {
        self.fake.tab(id).await
    }
    async fn open_tab(&self, u: &str, t: u64) -> Result<TabInfo, HostError> {
        self.fake.open_tab(u, t).await
    }
    async fn navigate(&self, id: i32, u: &str, t: u64) -> Result<TabInfo, HostError> {
        self.fake.navigate(id, u, t).await
    }
    async fn close_tab(&self, id: i32) {
        self.fake.close_tab(id).await
    }
    async fn agent(&self, id: i32, c: &AgentCommand) -> Result<AgentReply, HostError> {
        self.fake.agent(id, c).await
    }
    async fn inject_agent(&self, id: i32) -> Result<(), HostError> {
        self.fake.inject_agent(id).await
    }
    fn now_ms(&self) -> f64 {
        self.fake.now_ms()
    }
    fn random_token(&self) -> String {
        self.fake.random_token()
    }
    fn sign_in_redirect_url(&self) -> Result<String, HostError> {
        Ok("https://abcdefgh.chromiumapp.org/".into())
    }
    async fn web_sign_in(&self, url: &str) -> Result<String, HostError> {
        *self.opened.borrow_mut() = Some(url.to_string());
        Ok((self.answer)(url))
    }
}

fn google_host(configured: bool, answer: fn(&str) -> String) -> GoogleHost {
    let fake = FakeHost::new();
    fake.0.borrow_mut().storage.remove(protocol::DEVICE_TOKEN);
    GoogleHost {
        fake,
        configured,
        opened: Rc::new(RefCell::new(None)),
        answer,
    }
}

#[test]
fn google_sign_in_pairs_without_a_code() {
    let h = google_host(true, |_| {
        "https://abcdefgh.chromiumapp.org/#state=4f1c2a9e-nonce&id_token=header.claims.sig&authuser=0".into()
    });
    assert_eq!(
        block_on(runtime::pair_with_google(&h)).unwrap(),
        PairingState::Paired
    );
    let opened = h.opened.borrow().clone().unwrap();
    assert!(
        opened.starts_with("https://accounts.example/o/auth?hl=en&response_type=id_token&client_id=ext-client.apps&"),
        "{opened}"
    );
    for part in [
        "redirect_uri=https%3A%2F%2Fabcdefgh.chromiumapp.org%2F",
        "nonce=4f1c2a9e-nonce",
        "scope=openid+email",
    ] {
        assert!(opened.contains(part), "{opened} lacks {part}");
    }
    let w = h.fake.0.borrow();
    assert_eq!(w.storage[protocol::DEVICE_TOKEN], "cp_dev_google");
    assert_eq!(
        w.requests.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["GET", "POST"]
    );
}

#[test]
fn google_sign_in_refusals_store_nothing() {
    // Not configured on this server: the code is the way.
    let h = google_host(false, |_| unreachable!("no window without a provider"));
    let e = block_on(runtime::pair_with_google(&h)).unwrap_err();
    assert!(e.to_string().contains("6-digit code"), "{e}");
    assert!(h.opened.borrow().is_none());

    // An answer for another sign-in (state mismatch) is not used.
    let h = google_host(true, |_| {
        "https://abcdefgh.chromiumapp.org/#state=other&id_token=header.claims.sig".into()
    });
    let e = block_on(runtime::pair_with_google(&h)).unwrap_err();
    assert!(e.to_string().contains("does not belong"), "{e}");

    // The user cancelled at the provider.
    let h = google_host(true, |_| {
        "https://abcdefgh.chromiumapp.org/#error=access_denied&state=4f1c2a9e-nonce".into()
    });
    let e = block_on(runtime::pair_with_google(&h)).unwrap_err();
    assert!(e.to_string().contains("access_denied"), "{e}");
    let w = h.fake.0.borrow();
    assert!(!w.storage.contains_key(protocol::DEVICE_TOKEN));
    assert_eq!(w.requests.len(), 1, "only the config was fetched");
}

/// A pack set as the server serves it: the X pack at `version`.
fn served_set(version: &str, hash: &str) -> String {
    let mut pack: Value = serde_json::from_str(TEST_PACK).unwrap();
    pack["version"] = json!(version);
    json!({"version": version, "hash": hash, "packs": [pack]}).to_string()
}

#[test]
fn served_selector_packs_are_kept_when_valid_and_newer() {
    use extension_core::Platform;
    let builtin = extension_core::pack::Pack::builtin(Platform::X)
        .unwrap()
        .version;
    let h = FakeHost::new();
    h.0.borrow_mut().storage.remove(protocol::SELECTOR_PACKS);
    // No endpoint (an older server): the compiled-in pack.
    assert!(!block_on(runtime::refresh_packs(&h)).unwrap());
    assert_eq!(
        block_on(runtime::pack_for(&h, Platform::X))
            .unwrap()
            .version,
        builtin
    );

    // A newer set is stored and used, and reported with the ack.
    h.0.borrow_mut().selectors = Some((200, served_set("x-2099.1.0", "h1")));
    assert!(block_on(runtime::refresh_packs(&h)).unwrap());
    assert!(
        !block_on(runtime::refresh_packs(&h)).unwrap(),
        "same hash: nothing new"
    );
    assert_eq!(
        block_on(runtime::pack_for(&h, Platform::X))
            .unwrap()
            .version,
        "x-2099.1.0"
    );
    h.enqueue("with served packs", &[]);
    block_on(runtime::drain(&h)).unwrap();
    assert_eq!(acks(&h)[0]["packVersion"], "x-2099.1.0");
    assert_eq!(h.published(), ["with served packs"]);

    // A malformed set is refused whole; the stored one stays.
    let mut broken: Value = serde_json::from_str(&served_set("x-2099.2.0", "h2")).unwrap();
    broken["packs"][0]["hosts"] = json!([]);
    h.0.borrow_mut().selectors = Some((200, broken.to_string()));
    let e = block_on(runtime::refresh_packs(&h)).unwrap_err();
    assert!(e.to_string().contains("selector packs refused"), "{e}");
    assert_eq!(h.0.borrow().storage[protocol::SELECTOR_PACKS]["hash"], "h1");

    // An older set is stored but never downgrades the compiled-in pack.
    h.0.borrow_mut().selectors = Some((200, served_set("x-2000.1.0", "h3")));
    assert!(block_on(runtime::refresh_packs(&h)).unwrap());
    assert_eq!(
        block_on(runtime::pack_for(&h, Platform::X))
            .unwrap()
            .version,
        builtin
    );
}

#[test]
fn an_interruption_notifies_the_user_sets_the_badge_and_a_later_success_clears_it() {
    let h = FakeHost::new();
    h.0.borrow_mut().captcha = true;
    h.enqueue("Blocked by a puzzle", &[]);
    block_on(runtime::drain(&h)).unwrap();
    assert!(h.published().is_empty(), "nothing posted behind a captcha");
    let acks = acks(&h);
    assert_eq!(acks[0]["status"], "failed");
    assert_eq!(acks[0]["errorCode"], "not_logged_in");
    assert_eq!(acks[0]["details"], json!({"reason": "captcha"}));
    {
        let w = h.0.borrow();
        assert_eq!(w.badge, "!");
        assert_eq!(w.notifications.len(), 1);
        let (_, title, message) = &w.notifications[0];
        assert_eq!(title, "Claw Post: X needs you");
        assert!(message.contains("solve"), "{message}");
        let attention = &w.storage[protocol::ATTENTION];
        assert_eq!(attention[0]["platform"], "x");
        assert_eq!(attention[0]["reason"], "captcha");
        assert_eq!(attention[0]["jobId"], "job-1");
    }
    // The user solved it; the next X job succeeds and the notice goes away.
    h.0.borrow_mut().captcha = false;
    h.enqueue("After the puzzle", &[]);
    block_on(runtime::drain(&h)).unwrap();
    assert_eq!(h.published(), ["After the puzzle"]);
    let w = h.0.borrow();
    assert_eq!(w.badge, "");
    assert_eq!(w.storage[protocol::ATTENTION], json!([]));
}

#[test]
fn the_user_can_dismiss_what_needed_them() {
    let h = FakeHost::new();
    h.0.borrow_mut().captcha = true;
    h.enqueue("Blocked", &[]);
    block_on(runtime::drain(&h)).unwrap();
    assert_eq!(h.0.borrow().badge, "!");
    block_on(runtime::clear_attention(&h)).unwrap();
    let w = h.0.borrow();
    assert_eq!(w.badge, "");
    assert!(!w.storage.contains_key(protocol::ATTENTION));
}

#[test]
fn only_open_tabs_never_types_over_the_users_draft() {
    let h = FakeHost::new();
    block_on(h.open_tab("https://x.com/home", 0)).unwrap();
    {
        let mut w = h.0.borrow_mut();
        w.storage
            .insert(protocol::ONLY_OPEN_TABS.into(), json!(true));
        w.tabs.get_mut(&1).unwrap().editor = "my own half-written thought".into();
    }
    h.enqueue("From the agent", &[]);
    block_on(runtime::drain(&h)).unwrap();
    let acks = acks(&h);
    assert_eq!(acks[0]["status"], "failed");
    assert_eq!(acks[0]["errorCode"], "no_x_tab");
    assert!(acks[0]["error"].as_str().unwrap().contains("draft"));
    let w = h.0.borrow();
    assert_eq!(
        w.tabs[&1].editor, "my own half-written thought",
        "the draft is untouched"
    );
    assert!(w.published.is_empty());
}

#[test]
fn a_stored_tab_that_no_longer_shows_the_platform_is_not_reused() {
    let h = FakeHost::new();
    h.enqueue("Survives a restart", &[]);
    h.0.borrow_mut().die_on = Some("progress");
    drain_until_killed(&h);
    // Meanwhile the tab went elsewhere (or its id now names another tab).
    {
        let mut w = h.0.borrow_mut();
        w.die_on = None;
        w.tabs.get_mut(&1).unwrap().url = "https://example.com/bank".into();
    }
    block_on(runtime::drain(&h)).unwrap();
    assert_eq!(h.published(), ["Survives a restart"]);
    let w = h.0.borrow();
    assert_eq!(
        w.tabs[&1].url, "https://example.com/bank",
        "the other page is left alone"
    );
    assert_eq!(w.closed_tabs, [2], "a new tab did the job (and was closed)");
}

#[test]
fn browser_start_forgets_the_in_flight_jobs_tab() {
    let h = FakeHost::new();
    h.enqueue("Across a browser restart", &[]);
    h.0.borrow_mut().die_on = Some("progress");
    drain_until_killed(&h);
    assert_eq!(h.0.borrow().storage[protocol::INFLIGHT]["tabId"], 1);
    block_on(runtime::forget_tabs(&h)).unwrap();
    assert!(h.0.borrow().storage[protocol::INFLIGHT]["tabId"].is_null());
}

#[test]
fn a_checkpoint_page_loaded_after_the_click_is_read_not_guessed() {
    let h = FakeHost::new();
    h.0.borrow_mut().checkpoint_after_click = true;
    h.enqueue("Posted, then a puzzle", &[]);
    block_on(runtime::drain(&h)).unwrap();
    assert_eq!(h.published(), ["Posted, then a puzzle"], "clicked once");
    let acks = acks(&h);
    assert_eq!(acks.len(), 1);
    // The wait went to the new page, which shows the puzzle: the platform
    // stopped the post, and the user is told so.
    assert_eq!(acks[0]["errorCode"], "not_logged_in", "{}", acks[0]);
    assert_eq!(acks[0]["details"], json!({"reason": "captcha"}));
    assert_eq!(h.0.borrow().badge, "!");
}

//! A small Chrome DevTools Protocol client over one browser-level WebSocket
//! (flattened sessions: page commands carry a `sessionId`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// How long one CDP command may take before it counts as hung.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// A protocol event (a message without an `id`).
#[derive(Debug, Clone)]
pub struct Event {
    /// The event name, e.g. `Target.targetDestroyed`.
    pub method: String,
    /// The event parameters.
    pub params: Value,
}

/// A connection to the browser endpoint (`ws://…/devtools/browser/<id>`).
#[derive(Clone)]
pub struct Cdp {
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
    events: broadcast::Sender<Event>,
}

impl Cdp {
    /// Connects to a browser WebSocket endpoint.
    pub async fn connect(ws_url: &str) -> anyhow::Result<Cdp> {
        let (ws, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .with_context(|| format!("connecting to the DevTools endpoint {ws_url}"))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let pending: Pending = Arc::default();
        let (events, _) = broadcast::channel(1024);

        tokio::spawn(async move {
            while let Some(msg) = out_rx.recv().await {
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
        });
        let reader_pending = pending.clone();
        let reader_events = events.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if let Some(id) = value.get("id").and_then(Value::as_u64) {
                    let waiter = reader_pending.lock().expect("cdp lock").remove(&id);
                    if let Some(waiter) = waiter {
                        let result = match value.get("error") {
                            Some(err) => Err(err.to_string()),
                            None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
                        };
                        let _ = waiter.send(result);
                    }
                } else if let Some(method) = value.get("method").and_then(Value::as_str) {
                    let _ = reader_events.send(Event {
                        method: method.to_string(),
                        params: value.get("params").cloned().unwrap_or(Value::Null),
                    });
                }
            }
            // The browser went away: fail every waiting command.
            reader_pending.lock().expect("cdp lock").clear();
        });
        Ok(Cdp {
            out,
            pending,
            next_id: Arc::new(AtomicU64::new(1)),
            events,
        })
    }

    /// Subscribes to protocol events from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Sends one command and waits for its result.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> anyhow::Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            msg["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("cdp lock").insert(id, tx);
        self.out
            .send(Message::Text(msg.to_string().into()))
            .map_err(|_| anyhow!("the DevTools connection is closed"))?;
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(err))) => bail!("{method} failed: {err}"),
            Ok(Err(_)) => bail!("{method}: the DevTools connection closed"),
            Err(_) => {
                self.pending.lock().expect("cdp lock").remove(&id);
                bail!("{method}: no answer within {COMMAND_TIMEOUT:?}")
            }
        }
    }

    /// Lists the browser's targets (`Target.getTargets`).
    pub async fn targets(&self) -> anyhow::Result<Vec<Value>> {
        let result = self.call(None, "Target.getTargets", json!({})).await?;
        Ok(result["targetInfos"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Opens a new tab at `url` and attaches to it.
    pub async fn open_page(&self, url: &str) -> anyhow::Result<Page> {
        let created = self
            .call(None, "Target.createTarget", json!({ "url": url }))
            .await?;
        let target_id = created["targetId"]
            .as_str()
            .context("Target.createTarget returned no targetId")?
            .to_string();
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await?;
        let session_id = attached["sessionId"]
            .as_str()
            .context("Target.attachToTarget returned no sessionId")?
            .to_string();
        Ok(Page {
            cdp: self.clone(),
            target_id,
            session_id,
        })
    }

    /// Closes a target (a tab or a service worker).
    pub async fn close_target(&self, target_id: &str) -> anyhow::Result<()> {
        self.call(None, "Target.closeTarget", json!({ "targetId": target_id }))
            .await?;
        Ok(())
    }
}

/// An attached tab.
pub struct Page {
    cdp: Cdp,
    /// The tab's target id.
    pub target_id: String,
    session_id: String,
}

impl Page {
    /// Sends a command to this tab's session.
    pub async fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.cdp.call(Some(&self.session_id), method, params).await
    }

    /// Evaluates a JavaScript expression (promises are awaited) and returns
    /// its JSON value.
    pub async fn eval(&self, expression: &str) -> anyhow::Result<Value> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or_else(|| details["text"].as_str())
                .unwrap_or("exception");
            bail!("{text}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Evaluates `expression` every 100 ms until it returns something other
    /// than `null`/`false`/`""`, and returns that; fails after `timeout`
    /// naming `what`. (Page state has no push signal over CDP without
    /// injecting observers; a bounded poll is the plain way.)
    pub async fn wait_for(
        &self,
        expression: &str,
        timeout: Duration,
        what: &str,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last_err = None;
        loop {
            match self.eval(expression).await {
                Ok(Value::Null | Value::Bool(false)) => {}
                Ok(Value::String(s)) if s.is_empty() => {}
                Ok(value) => return Ok(value),
                Err(err) => last_err = Some(err),
            }
            if tokio::time::Instant::now() >= deadline {
                let why = last_err
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default();
                bail!("{what}: not seen within {timeout:?}{why}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the centre of the first element matching `selector` with
    /// trusted mouse events (a user gesture, unlike `element.click()`).
    pub async fn click(&self, selector: &str) -> anyhow::Result<()> {
        let sel = serde_json::to_string(selector)?;
        let point = self
            .eval(&format!(
                "(() => {{ const el = document.querySelector({sel}); if (!el) return null; \
                 el.scrollIntoView({{block: 'center'}}); const r = el.getBoundingClientRect(); \
                 return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
            ))
            .await?;
        let (Some(x), Some(y)) = (point[0].as_f64(), point[1].as_f64()) else {
            bail!("no element matches {selector}");
        };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            )
            .await?;
        }
        Ok(())
    }

    /// [`Page::wait_for`], with the page's visible text in the error.
    pub async fn wait_for_or_show(
        &self,
        expression: &str,
        timeout: Duration,
        what: &str,
    ) -> anyhow::Result<Value> {
        match self.wait_for(expression, timeout, what).await {
            Ok(v) => Ok(v),
            Err(e) => {
                let shown = self
                    .eval("document.body?.innerText ?? ''")
                    .await
                    .unwrap_or_default();
                let shown = shown.as_str().unwrap_or_default().replace('\n', " / ");
                bail!("{e:#}; the page shows: {shown}")
            }
        }
    }

    /// Types `text` into the focused element as trusted input.
    pub async fn insert_text(&self, text: &str) -> anyhow::Result<()> {
        self.call("Input.insertText", json!({ "text": text }))
            .await?;
        Ok(())
    }

    /// Closes the tab.
    pub async fn close(self) -> anyhow::Result<()> {
        self.cdp.close_target(&self.target_id).await
    }
}

//! The one typed binding module for `chrome.*` (and `fetch`).
//!
//! Every function resolves `chrome.…` at call time (`js_namespace`), so a
//! test page can install its own `globalThis.chrome` and the production
//! code runs unchanged against it. Values cross the boundary as JSON
//! (`JSON.stringify`/`JSON.parse`), which keeps integers exact and maps as
//! plain objects.

use js_sys::{Array, Function, Promise, JSON};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = get, catch)]
    async fn storage_local_get(keys: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = set, catch)]
    async fn storage_local_set(items: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = remove, catch)]
    async fn storage_local_remove(keys: &JsValue) -> Result<JsValue, JsValue>;
    /// `chrome.storage.onChanged.addListener(cb)`.
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "onChanged"], js_name = addListener)]
    pub fn storage_on_changed_add_listener(cb: &Function);

    #[wasm_bindgen(js_namespace = ["chrome", "alarms"], js_name = create, catch)]
    async fn alarms_create(name: &str, info: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "alarms"], js_name = get, catch)]
    async fn alarms_get(name: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = create, catch)]
    async fn tabs_create(props: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = update, catch)]
    async fn tabs_update(tab_id: i32, props: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = get, catch)]
    async fn tabs_get(tab_id: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = query, catch)]
    async fn tabs_query(query: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = remove, catch)]
    async fn tabs_remove(tab_id: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = sendMessage, catch)]
    fn tabs_send_message(
        tab_id: i32,
        message: &JsValue,
        options: &JsValue,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs", "onUpdated"], js_name = addListener)]
    fn tabs_on_updated_add_listener(cb: &Function);
    #[wasm_bindgen(js_namespace = ["chrome", "tabs", "onUpdated"], js_name = removeListener)]
    fn tabs_on_updated_remove_listener(cb: &Function);

    #[wasm_bindgen(js_namespace = ["chrome", "scripting"], js_name = executeScript, catch)]
    async fn scripting_execute_script(injection: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = sendMessage, catch)]
    async fn runtime_send_message(message: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getPlatformInfo, catch)]
    async fn runtime_get_platform_info() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getContexts, catch)]
    async fn runtime_get_contexts(filter: &JsValue) -> Result<JsValue, JsValue>;
    /// `chrome.runtime.onMessage.addListener(cb)`.
    #[wasm_bindgen(js_namespace = ["chrome", "runtime", "onMessage"], js_name = addListener)]
    pub fn runtime_on_message_add_listener(cb: &Function);

    #[wasm_bindgen(js_namespace = ["chrome", "offscreen"], js_name = createDocument, catch)]
    async fn offscreen_create_document(params: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["chrome", "permissions"], js_name = request, catch)]
    async fn permissions_request(permissions: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["chrome", "identity"], js_name = launchWebAuthFlow, catch)]
    async fn identity_launch_web_auth_flow(details: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "identity"], js_name = getRedirectURL, catch)]
    fn identity_get_redirect_url() -> Result<String, JsValue>;
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    fn crypto_random_uuid() -> String;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &Function, ms: i32) -> JsValue;

    #[wasm_bindgen(js_namespace = ["chrome", "notifications"], js_name = create, catch)]
    async fn notifications_create(id: &str, options: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = setBadgeText, catch)]
    async fn action_set_badge_text(details: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "action"], js_name = setBadgeBackgroundColor, catch)]
    async fn action_set_badge_background_color(details: &JsValue) -> Result<JsValue, JsValue>;
}

// ---- telling the user ---------------------------------------------------------

/// `chrome.notifications.create` (a basic notification with the extension's
/// icon); errors ignored: a notification is a courtesy, never a condition.
pub async fn notify(id: &str, title: &str, message: &str) {
    let options = obj(serde_json::json!({
        "type": "basic",
        "iconUrl": "icons/icon128.png",
        "title": title,
        "message": message,
        "priority": 2,
    }));
    let _ = notifications_create(id, &options).await;
}

/// The toolbar badge (`""` clears it); errors ignored.
pub async fn set_badge(text: &str) {
    let _ = action_set_badge_background_color(&obj(serde_json::json!({"color": "#b42318"}))).await;
    let _ = action_set_badge_text(&obj(serde_json::json!({"text": text}))).await;
}

// ---- identity ---------------------------------------------------------------

/// Runs an interactive web sign-in in a browser window
/// (`chrome.identity.launchWebAuthFlow`); returns the URL the provider
/// redirected to.
pub async fn web_auth_flow(url: &str) -> Result<String, String> {
    let got =
        identity_launch_web_auth_flow(&obj(serde_json::json!({"url": url, "interactive": true})))
            .await
            .map_err(|e| message_of(&e))?;
    got.as_string()
        .ok_or_else(|| "the sign-in window closed without an answer".to_string())
}

/// The redirect URI of web sign-ins: `https://<extension id>.chromiumapp.org/`.
pub fn auth_redirect_url() -> Result<String, String> {
    identity_get_redirect_url().map_err(|e| message_of(&e))
}

/// A random UUID (`crypto.randomUUID`).
pub fn random_uuid() -> String {
    crypto_random_uuid()
}

/// A chrome API error, as its message.
pub fn message_of(e: &JsValue) -> String {
    if let Some(s) = e.as_string() {
        return s;
    }
    js_sys::Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Rust value → JS value, through JSON.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    JSON::parse(&json).unwrap_or(JsValue::NULL)
}

/// JS value → Rust value, through JSON.
pub fn from_js<T: DeserializeOwned>(value: &JsValue) -> Result<T, String> {
    if value.is_undefined() {
        return serde_json::from_str("null").map_err(|e| e.to_string());
    }
    let json: String = JSON::stringify(value).map_err(|e| message_of(&e))?.into();
    serde_json::from_str(&json).map_err(|e| e.to_string())
}

fn obj(v: Value) -> JsValue {
    to_js(&v)
}

// ---- storage --------------------------------------------------------------

/// Reads one `chrome.storage.local` key.
pub async fn storage_get(key: &str) -> Result<Option<Value>, String> {
    let got = storage_local_get(&JsValue::from_str(key))
        .await
        .map_err(|e| message_of(&e))?;
    let mut map: serde_json::Map<String, Value> = from_js(&got)?;
    Ok(map.remove(key))
}

/// Writes one `chrome.storage.local` key.
pub async fn storage_set(key: &str, value: &Value) -> Result<(), String> {
    let mut items = serde_json::Map::new();
    items.insert(key.to_string(), value.clone());
    storage_local_set(&obj(Value::Object(items)))
        .await
        .map(|_| ())
        .map_err(|e| message_of(&e))
}

/// Removes one `chrome.storage.local` key.
pub async fn storage_remove(key: &str) -> Result<(), String> {
    storage_local_remove(&JsValue::from_str(key))
        .await
        .map(|_| ())
        .map_err(|e| message_of(&e))
}

// ---- alarms -----------------------------------------------------------------

/// Creates a repeating alarm unless one with this name exists.
pub async fn ensure_alarm(name: &str, period_minutes: f64) -> Result<(), String> {
    let existing = alarms_get(name).await.map_err(|e| message_of(&e))?;
    if existing.is_undefined() || existing.is_null() {
        alarms_create(
            name,
            &obj(serde_json::json!({"periodInMinutes": period_minutes, "delayInMinutes": period_minutes})),
        )
        .await
        .map_err(|e| message_of(&e))?;
    }
    Ok(())
}

// ---- tabs -------------------------------------------------------------------

/// The fields of a `tabs.Tab` the worker uses.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tab {
    pub id: i32,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub last_accessed: Option<f64>,
}

/// `chrome.tabs.create`.
pub async fn create_tab(url: &str, active: bool) -> Result<Tab, String> {
    let t = tabs_create(&obj(serde_json::json!({"url": url, "active": active})))
        .await
        .map_err(|e| message_of(&e))?;
    from_js(&t)
}

/// `chrome.tabs.update(id, {url})`.
pub async fn update_tab_url(id: i32, url: &str) -> Result<Tab, String> {
    let t = tabs_update(id, &obj(serde_json::json!({"url": url})))
        .await
        .map_err(|e| message_of(&e))?;
    from_js(&t)
}

/// `chrome.tabs.get`; `None` when the tab is gone.
pub async fn get_tab(id: i32) -> Option<Tab> {
    let t = tabs_get(id).await.ok()?;
    from_js(&t).ok()
}

/// `chrome.tabs.query({url: patterns})`, most recently used first.
pub async fn query_tabs(patterns: &[String]) -> Result<Vec<Tab>, String> {
    let got = tabs_query(&obj(serde_json::json!({"url": patterns})))
        .await
        .map_err(|e| message_of(&e))?;
    let mut tabs: Vec<Tab> = from_js(&got)?;
    tabs.sort_by(|a, b| {
        b.last_accessed
            .unwrap_or(0.0)
            .total_cmp(&a.last_accessed.unwrap_or(0.0))
    });
    Ok(tabs)
}

/// `chrome.tabs.remove`, errors ignored.
pub async fn remove_tab(id: i32) {
    let _ = tabs_remove(id).await;
}

/// Sends a message to a tab's top frame and waits for the answer at most
/// `timeout_ms`. `Ok(None)` on timeout.
pub async fn send_to_tab(
    id: i32,
    message: &Value,
    timeout_ms: u32,
) -> Result<Option<Value>, String> {
    let p = tabs_send_message(id, &to_js(message), &obj(serde_json::json!({"frameId": 0})))
        .map_err(|e| message_of(&e))?;
    let timeout = sleep_promise(timeout_ms);
    let raced = Promise::race(&Array::of2(&p, &timeout));
    let answer = JsFuture::from(raced).await.map_err(|e| message_of(&e))?;
    if answer.is_undefined() {
        return Ok(None);
    }
    from_js(&answer).map(Some)
}

/// A promise resolving to `undefined` after `ms` milliseconds.
pub fn sleep_promise(ms: u32) -> Promise {
    Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, ms.min(i32::MAX as u32) as i32);
    })
}

/// Sleeps.
pub async fn sleep(ms: u32) {
    let _ = JsFuture::from(sleep_promise(ms)).await;
}

/// Watches `tabs.onUpdated` for one tab's load to finish. Create it before
/// starting the navigation so no event is missed.
pub struct LoadWatch {
    listener: Closure<dyn FnMut(JsValue, JsValue, JsValue)>,
    promise: Promise,
    target: std::rc::Rc<std::cell::RefCell<WatchState>>,
}

#[derive(Default)]
struct WatchState {
    tab: Option<i32>,
    /// Tabs seen loading / completed since the watch began.
    loading: Vec<i32>,
    completed: Vec<(i32, JsValue)>,
    resolve: Option<Function>,
}

impl WatchState {
    fn settle(&mut self) {
        let Some(tab) = self.tab else { return };
        if !self.loading.contains(&tab) {
            return;
        }
        if let Some((_, t)) = self.completed.iter().find(|(id, _)| *id == tab) {
            if let Some(resolve) = self.resolve.take() {
                let _ = resolve.call1(&JsValue::NULL, t);
            }
        }
    }
}

impl LoadWatch {
    /// Starts watching (for a tab id given later with [`LoadWatch::wait`]).
    pub fn start() -> LoadWatch {
        let target = std::rc::Rc::new(std::cell::RefCell::new(WatchState::default()));
        let promise = {
            let target = target.clone();
            Promise::new(&mut move |resolve, _| {
                target.borrow_mut().resolve = Some(resolve);
            })
        };
        let t = target.clone();
        let listener = Closure::wrap(Box::new(move |id: JsValue, change: JsValue, tab: JsValue| {
            let Some(id) = id.as_f64().map(|f| f as i32) else {
                return;
            };
            let status = js_sys::Reflect::get(&change, &"status".into())
                .ok()
                .and_then(|s| s.as_string());
            let mut st = t.borrow_mut();
            match status.as_deref() {
                Some("loading") => st.loading.push(id),
                Some("complete") => st.completed.push((id, tab)),
                _ => return,
            }
            st.settle();
        }) as Box<dyn FnMut(JsValue, JsValue, JsValue)>);
        tabs_on_updated_add_listener(listener.as_ref().unchecked_ref());
        LoadWatch {
            listener,
            promise,
            target,
        }
    }

    /// Waits until `tab` went through loading to complete, at most
    /// `timeout_ms`. Returns whether it completed, and whether it started
    /// loading at all.
    pub async fn wait(self, tab: i32, timeout_ms: u32) -> (bool, bool) {
        {
            let mut st = self.target.borrow_mut();
            st.tab = Some(tab);
            // A fresh tab may have been "loading" before we learnt its id.
            st.settle();
        }
        let raced = Promise::race(&Array::of2(&self.promise, &sleep_promise(timeout_ms)));
        let got = JsFuture::from(raced).await.unwrap_or(JsValue::UNDEFINED);
        let loading = self.target.borrow().loading.contains(&tab);
        (!got.is_undefined(), loading)
    }
}

impl Drop for LoadWatch {
    fn drop(&mut self) {
        tabs_on_updated_remove_listener(self.listener.as_ref().unchecked_ref());
    }
}

// ---- scripting, runtime, permissions -----------------------------------------

/// Injects extension files into a tab's top frame.
pub async fn inject_files(tab: i32, files: &[&str]) -> Result<(), String> {
    scripting_execute_script(&obj(serde_json::json!({
        "target": {"tabId": tab, "frameIds": [0]},
        "files": files,
    })))
    .await
    .map(|_| ())
    .map_err(|e| message_of(&e))
}

/// Sends a message to the extension's other contexts (the worker, from a
/// page; the offscreen relay, from the worker).
pub async fn send_to_worker(message: &Value) -> Result<Value, String> {
    let answer = runtime_send_message(&to_js(message))
        .await
        .map_err(|e| message_of(&e))?;
    from_js(&answer)
}

/// Whether the extension has an offscreen document open.
pub async fn has_offscreen_document() -> Result<bool, String> {
    let got = runtime_get_contexts(&obj(
        serde_json::json!({"contextTypes": ["OFFSCREEN_DOCUMENT"]}),
    ))
    .await
    .map_err(|e| message_of(&e))?;
    let list: Vec<Value> = from_js(&got)?;
    Ok(!list.is_empty())
}

/// Opens the extension's offscreen document (one at most; an existing one
/// is not an error).
pub async fn create_offscreen_document(
    url: &str,
    reason: &str,
    justification: &str,
) -> Result<(), String> {
    match offscreen_create_document(&obj(serde_json::json!({
        "url": url, "reasons": [reason], "justification": justification,
    })))
    .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let m = message_of(&e);
            if m.contains("single offscreen") {
                Ok(())
            } else {
                Err(m)
            }
        }
    }
}

/// An extension API call that keeps the worker alive.
pub async fn keep_alive() {
    let _ = runtime_get_platform_info().await;
}

/// Asks the user for access to an origin (`https://host/*`); needs a user
/// gesture. Returns whether it was granted.
pub async fn request_origin(pattern: &str) -> Result<bool, String> {
    let granted = permissions_request(&obj(serde_json::json!({"origins": [pattern]})))
        .await
        .map_err(|e| message_of(&e))?;
    Ok(granted.as_bool().unwrap_or(false))
}

// ---- fetch ------------------------------------------------------------------

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &web_sys::Request) -> Promise;
}

/// The parts of a fetch response the worker uses.
pub struct FetchResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// `fetch`, in a window or a worker.
pub async fn fetch(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    json: Option<&str>,
) -> Result<FetchResponse, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|e| message_of(&e))?;
    if let Some(token) = bearer {
        headers
            .set("Authorization", &format!("Bearer {token}"))
            .map_err(|e| message_of(&e))?;
    }
    if let Some(body) = json {
        headers
            .set("Content-Type", "application/json")
            .map_err(|e| message_of(&e))?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let req = web_sys::Request::new_with_str_and_init(url, &init).map_err(|e| message_of(&e))?;
    let resp: web_sys::Response = JsFuture::from(global_fetch(&req))
        .await
        .map_err(|e| message_of(&e))?
        .unchecked_into();
    let content_type = resp.headers().get("content-type").ok().flatten();
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| message_of(&e))?)
        .await
        .map_err(|e| message_of(&e))?;
    Ok(FetchResponse {
        status: resp.status(),
        content_type,
        body: js_sys::Uint8Array::new(&buf).to_vec(),
    })
}

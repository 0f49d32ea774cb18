//! The Leptos components (wasm32 only).

use clawpost_extension::chrome;
use clawpost_extension::protocol::{
    self, Attention, Connection, PageMessage, Pairing, RecentJob, Reply,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// What the popup shows, read from storage.
#[derive(Debug, Clone, Default, PartialEq)]
struct Snapshot {
    paired: bool,
    pairing: Option<Pairing>,
    recent: Vec<RecentJob>,
    attention: Vec<Attention>,
    connection: Connection,
    server_url: String,
}

async fn read(key: &str) -> Option<Value> {
    chrome::storage_get(key).await.ok().flatten()
}

async fn snapshot() -> Snapshot {
    let paired = read(protocol::DEVICE_TOKEN)
        .await
        .and_then(|v| v.as_str().map(|s| !s.is_empty()))
        .unwrap_or(false);
    fn parse<T: serde::de::DeserializeOwned>(v: Option<Value>) -> Option<T> {
        v.and_then(|v| serde_json::from_value(v).ok())
    }
    Snapshot {
        paired,
        pairing: parse(read(protocol::PAIRING).await),
        recent: parse(read(protocol::RECENT_JOBS).await).unwrap_or_default(),
        attention: parse(read(protocol::ATTENTION).await).unwrap_or_default(),
        connection: parse(read(protocol::CONNECTION).await).unwrap_or_default(),
        server_url: read(protocol::SERVER_URL)
            .await
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| protocol::default_server_url().to_string()),
    }
}

async fn send(message: PageMessage) -> Reply {
    let msg = serde_json::to_value(message).unwrap_or_default();
    match chrome::send_to_worker(&msg).await {
        Ok(v) => serde_json::from_value(v)
            .unwrap_or_else(|_| Reply::from_result(Err("unexpected answer from the extension"))),
        Err(e) => Reply::from_result(Err(e)),
    }
}

fn status_text(s: &Snapshot, loaded: bool) -> String {
    if !loaded {
        return "Loading…".into();
    }
    if s.paired {
        if s.connection.connected {
            format!("Paired — connected to {}", s.server_url)
        } else {
            format!("Paired — connecting to {}…", s.server_url)
        }
    } else if s.pairing.is_some() {
        format!("Waiting for pairing with {}", s.server_url)
    } else {
        format!("Contacting {}…", s.server_url)
    }
}

/// Mounts the popup into `popup.html`'s body.
#[wasm_bindgen]
pub fn mount_popup() {
    leptos::mount::mount_to_body(Popup);
}

/// Mounts the options page into `options.html`'s body.
#[wasm_bindgen]
pub fn mount_options() {
    leptos::mount::mount_to_body(Options);
}

#[component]
fn Popup() -> impl IntoView {
    let (snap, set_snap) = signal(Snapshot::default());
    let (loaded, set_loaded) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let refresh = move || {
        spawn_local(async move {
            set_snap.set(snapshot().await);
            set_loaded.set(true);
        })
    };
    refresh();
    let on_change =
        Closure::<dyn FnMut(JsValue, JsValue)>::new(move |_: JsValue, _: JsValue| refresh());
    chrome::storage_on_changed_add_listener(on_change.as_ref().unchecked_ref());
    on_change.forget();
    spawn_local(async move {
        let r = send(PageMessage::EnsurePairing).await;
        set_error.set(r.error);
    });
    let unpair = move |_| {
        spawn_local(async move {
            let r = send(PageMessage::Unpair).await;
            set_error.set(r.error);
        })
    };
    let clear_attention = move |_| {
        spawn_local(async move {
            let r = send(PageMessage::ClearAttention).await;
            set_error.set(r.error);
        })
    };
    // The worker runs the sign-in (the popup closes when its window opens).
    let google = move |_| {
        set_error.set(None);
        spawn_local(async move {
            let r = send(PageMessage::GoogleSignIn).await;
            set_error.set(r.error);
        })
    };
    view! {
        <h1>"Claw Post"</h1>
        <div id="status">{move || status_text(&snap.get(), loaded.get())}</div>
        {move || (loaded.get() && !snap.get().paired).then(|| view! {
            <button id="google-sign-in" on:click=google>"Sign in with Google"</button>
            <p class="muted">"or pair with a code:"</p>
        })}
        {move || {
            let s = snap.get();
            s.pairing.filter(|p| !s.paired && p.server_url == s.server_url).map(|p| view! {
                <p class="muted">"Enter this code in your Claw Post dashboard (or POST /v1/connect/pair):"</p>
                <div id="pairing-code">{p.code}</div>
            })
        }}
        {move || snap.get().connection.error.filter(|_| !snap.get().connection.connected)
            .map(|e| view! { <p class="muted error">{e}</p> })}
        {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        {move || {
            let list = snap.get().attention;
            (!list.is_empty()).then(|| view! {
                <section id="attention" class="attention">
                    <h2>"Needs you"</h2>
                    <ul>
                        {list.into_iter().map(|a| view! {
                            <li data-platform=a.platform.clone() data-reason=a.reason.clone().unwrap_or_default()>
                                {a.message.clone()}
                            </li>
                        }).collect_view()}
                    </ul>
                    <button id="clear-attention" on:click=clear_attention>"Done — hide this"</button>
                </section>
            })
        }}
        <ul class="jobs" id="recent-jobs">
            {move || snap.get().recent.into_iter().map(|j| {
                let detail = match (&j.post_url, &j.error_code) {
                    (Some(url), _) => view! { <a href=url.clone() target="_blank">{url.clone()}</a> }.into_any(),
                    (None, Some(code)) => view! {
                        <span>{format!("{code}: {}", j.error.clone().unwrap_or_default())}</span>
                    }.into_any(),
                    (None, None) => view! { <span>{j.error.clone().unwrap_or_default()}</span> }.into_any(),
                };
                view! {
                    <li class="job" data-job-id=j.id.clone()>
                        <span class=j.status.clone()>{j.status.clone()}</span>
                        " " {j.platform.clone()} " " {detail}
                    </li>
                }
            }).collect_view()}
        </ul>
        {move || snap.get().paired.then(|| view! {
            <button id="unpair" on:click=unpair>"Unpair"</button>
        })}
        <p class="muted"><a href="options.html" target="_blank">"Options"</a></p>
    }
}

#[component]
fn Options() -> impl IntoView {
    let (url, set_url) = signal(String::new());
    let (only, set_only) = signal(false);
    let (message, set_message) = signal(None::<(bool, String)>);
    // The form appears only once the saved settings are in it, so nothing
    // typed before they load is overwritten.
    let (loaded, set_loaded) = signal(false);
    spawn_local(async move {
        let s = snapshot().await;
        set_url.set(s.server_url);
        set_only.set(
            read(protocol::ONLY_OPEN_TABS)
                .await
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        );
        set_loaded.set(true);
    });
    let save = move |_| {
        let Some(clean) = protocol::clean_server_url(&url.get_untracked()) else {
            set_message.set(Some((
                false,
                "Enter a server URL starting with http:// or https://.".into(),
            )));
            return;
        };
        let only_open = only.get_untracked();
        spawn_local(async move {
            // Asked first, while the click still counts as a user gesture.
            if let Some(pattern) = crate::permission_pattern(&clean) {
                match chrome::request_origin(&pattern).await {
                    Ok(true) => {}
                    Ok(false) => {
                        set_message.set(Some((
                            false,
                            format!("Access to {pattern} was not granted."),
                        )));
                        return;
                    }
                    Err(e) => {
                        set_message.set(Some((false, e)));
                        return;
                    }
                }
            }
            let saved = async {
                chrome::storage_set(protocol::SERVER_URL, &Value::String(clean.clone())).await?;
                chrome::storage_set(protocol::ONLY_OPEN_TABS, &Value::Bool(only_open)).await
            };
            if let Err(e) = saved.await {
                set_message.set(Some((false, e)));
                return;
            }
            set_url.set(clean);
            let r = send(PageMessage::SettingsChanged).await;
            set_message.set(Some(match r.error {
                None => (true, "Saved.".into()),
                Some(e) => (false, format!("Saved, but the extension said: {e}")),
            }));
        });
    };
    view! {
        <h1>"Claw Post options"</h1>
        <Show when=move || loaded.get() fallback=|| view! { <p class="muted">"Loading…"</p> }>
        <label for="server-url">"Claw Post server URL"</label>
        <input type="url" id="server-url" placeholder=protocol::default_server_url()
            prop:value=move || url.get()
            on:input=move |ev| set_url.set(event_target_value(&ev)) />
        <label>
            <input type="checkbox" id="only-open-tabs"
                prop:checked=move || only.get()
                on:change=move |ev| set_only.set(event_target_checked(&ev)) />
            " Use only my open tabs (never open a tab; fail with no_x_tab / no_platform_tab instead)"
        </label>
        <button id="save" on:click=save>"Save"</button>
        </Show>
        {move || message.get().map(|(ok, m)| view! {
            <p id="saved" class=if ok { "muted" } else { "error" }>{m}</p>
        })}
    }
}

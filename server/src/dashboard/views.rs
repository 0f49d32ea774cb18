//! The dashboard's pages, rendered on the server with Leptos (`view!` to an
//! HTML string; no hydration, no inline script). Every form is a plain HTML
//! form that works without JavaScript; the only script, `dashboard.js`, adds
//! "Copy" buttons.

use extension_core::{JobStatus, Platform};
use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;

use super::chart::{self, Day};
use crate::clock::Millis;
use crate::store::{Counts, Device, JobRecord};

/// The CSRF form field name.
use super::session::CSRF_FIELD;

/// Which section the navigation marks as current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Devices,
    Jobs,
    Usage,
    /// Pages outside the signed-in sections (sign-in, errors).
    None,
}

/// What the page frame shows of the signed-in user.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The account's email, or the tenant name.
    pub label: String,
    pub csrf: String,
}

/// `YYYY-MM-DD HH:MM UTC`.
pub fn time_label(ms: Millis) -> String {
    let dt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

/// `YYYY-MM-DD` (UTC).
pub fn day_label(ms: Millis) -> String {
    time_label(ms)[..10].to_string()
}

fn csrf_input(csrf: &str) -> impl IntoView {
    view! { <input type="hidden" name=CSRF_FIELD value=csrf.to_string()/> }
}

/// A whole page: the frame (header, navigation, sign-out) around `body`.
pub fn page(title: &str, nav: Nav, viewer: Option<&Viewer>, body: impl IntoView) -> String {
    let link = |href: &'static str, label: &'static str, item: Nav| {
        let current = (nav == item).then_some("page");
        view! { <li><a href=href aria-current=current>{label}</a></li> }
    };
    let header_right = viewer.map(|v| {
        view! {
            <nav aria-label="Sections">
                <ul>
                    {link("/", "Overview", Nav::Overview)}
                    {link("/devices", "Extensions", Nav::Devices)}
                    {link("/jobs", "Jobs", Nav::Jobs)}
                    {link("/usage", "Usage", Nav::Usage)}
                </ul>
            </nav>
            <form class="signout" method="post" action="/logout">
                {csrf_input(&v.csrf)}
                <span class="who">{v.label.clone()}</span>
                <button type="submit" class="link">"Sign out"</button>
            </form>
        }
    });
    let html = view! {
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="referrer" content="no-referrer"/>
                <title>{format!("{title} · Claw Post")}</title>
                <link rel="stylesheet" href="/assets/dashboard.css"/>
                <script src="/assets/dashboard.js" defer="defer"></script>
            </head>
            <body>
                <a class="skip" href="#main">"Skip to content"</a>
                <header class="top">
                    <a class="brand" href="/">"Claw Post"</a>
                    {header_right}
                </header>
                <main id="main" tabindex="-1">
                    <h1>{title.to_string()}</h1>
                    {body}
                </main>
            </body>
        </html>
    }
    .to_html();
    format!("<!DOCTYPE html>{html}")
}

/// A notice or error banner.
pub fn banner(kind: &'static str, text: String) -> impl IntoView {
    let role = if kind == "error" { "alert" } else { "status" };
    view! { <p class=format!("banner {kind}") role=role>{text}</p> }
}

fn banners(notice: Option<String>, error: Option<String>) -> impl IntoView {
    (
        notice.map(|n| banner("notice", n)),
        error.map(|e| banner("error", e)),
    )
}

/// What the sign-in page shows.
#[derive(Debug, Clone, Default)]
pub struct LoginPage {
    /// The sign-in form's CSRF token.
    pub csrf: String,
    /// The OpenID provider's name, when sign-in through it is offered.
    pub provider: Option<String>,
    /// The local page to return to after signing in.
    pub next: Option<String>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// The sign-in page.
pub fn login(p: LoginPage) -> String {
    let oidc_href = match &p.next {
        Some(next) => format!(
            "/login/oidc?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish()
        ),
        None => "/login/oidc".to_string(),
    };
    let oidc = p.provider.map(|name| {
        view! {
            <p><a class="button primary" href=oidc_href>{format!("Sign in with {name}")}</a></p>
            <p class="or">"or"</p>
        }
    });
    let next = p
        .next
        .map(|n| view! { <input type="hidden" name="next" value=n/> });
    let body = view! {
        {banners(p.notice, p.error)}
        <section class="card narrow">
            {oidc}
            <form method="post" action="/login" class="stack">
                {csrf_input(&p.csrf)}
                {next}
                <label for="apiKey">"API key"</label>
                <input id="apiKey" name="apiKey" type="password" autocomplete="off"
                    spellcheck="false" required="required" placeholder="claw_…"/>
                <button type="submit">"Sign in with API key"</button>
            </form>
            <p class="hint">
                "Self-hosted? The first start of the server printed a tenant's API key; "
                <code>"clawpost-server tenant rotate-key --tenant ID"</code>
                " makes a new one."
            </p>
        </section>
    };
    page("Sign in", Nav::None, None, body)
}

/// A page that only says what went wrong.
pub fn message(title: &str, text: &str, viewer: Option<&Viewer>) -> String {
    let body = view! {
        {banner("error", text.to_string())}
        <p><a href="/">"Back to the dashboard"</a></p>
    };
    page(title, Nav::None, viewer, body)
}

/// What the overview shows.
pub struct Overview {
    pub tenant_id: String,
    pub tenant_name: String,
    pub email: Option<String>,
    /// The key, when it is to be shown now.
    pub shown_key: Option<String>,
    /// Whether this session can reveal the key.
    pub can_reveal: bool,
    pub used: i64,
    pub quota: i64,
    pub devices: usize,
    pub notice: Option<String>,
}

fn copy_button(target: &'static str) -> impl IntoView {
    view! {
        <button type="button" class="copy" data-copy=target hidden="hidden">"Copy"</button>
    }
}

/// The overview: tenant id, API key (reveal, copy, rotate), usage at a glance.
pub fn overview(v: Overview, viewer: &Viewer) -> String {
    let key = match (v.shown_key, v.can_reveal) {
        (Some(key), _) => view! {
            <div class="field">
                <input id="api-key" class="secret" type="text" readonly="readonly" value=key
                    aria-label="API key" spellcheck="false"/>
                {copy_button("api-key")}
            </div>
            <p class="hint">"Keep it secret: it lets anyone post as you. Send it in the "
                <code>"clawpost-api-key"</code>" header."</p>
        }
        .into_any(),
        (None, true) => view! {
            <div class="field">
                <span class="masked" aria-label="API key, hidden">"claw_••••••••••••••••"</span>
                <form method="post" action="/key/reveal" class="inline">
                    {csrf_input(&viewer.csrf)}
                    <button type="submit">"Reveal"</button>
                </form>
            </div>
        }
        .into_any(),
        (None, false) => view! {
            <div class="field">
                <span class="masked">"claw_••••••••••••••••"</span>
            </div>
            <p class="hint">"The server stores only a hash of your API key, so it can show the key "
                "only in the session where it was typed, created or rotated. Rotate it to get a new one."</p>
        }
        .into_any(),
    };
    let pct = if v.quota > 0 {
        (v.used * 100 / v.quota).min(100)
    } else {
        100
    };
    let body = view! {
        {banners(v.notice, None)}
        <div class="grid">
            <section class="card" aria-labelledby="tenant-h">
                <h2 id="tenant-h">"Tenant ID"</h2>
                <div class="field">
                    <input id="tenant-id" type="text" readonly="readonly" value=v.tenant_id.clone()
                        aria-label="Tenant ID" spellcheck="false"/>
                    {copy_button("tenant-id")}
                </div>
                <p class="hint">{format!("Account: {}", v.email.unwrap_or(v.tenant_name))}</p>
            </section>
            <section class="card" aria-labelledby="key-h">
                <h2 id="key-h">"API key"</h2>
                {key}
                <p><a class="button danger-outline" href="/key/rotate">"Rotate key…"</a></p>
            </section>
            <section class="card" aria-labelledby="usage-h">
                <h2 id="usage-h">"This month"</h2>
                <p class="big">{format!("{} of {} jobs", v.used, v.quota)}</p>
                <meter min="0" max="100" value=pct.to_string() aria-label="Quota used"></meter>
                <p><a href="/usage">"Usage and chart"</a></p>
            </section>
            <section class="card" aria-labelledby="dev-h">
                <h2 id="dev-h">"Extensions"</h2>
                <p class="big">{format!("{} paired", v.devices)}</p>
                <p><a href="/devices">"Pair or revoke an extension"</a></p>
            </section>
        </div>
    };
    page("Overview", Nav::Overview, Some(viewer), body)
}

/// Confirmation before rotating the key.
pub fn rotate_confirm(viewer: &Viewer) -> String {
    let body = view! {
        <section class="card narrow">
            <p>"A new API key replaces the current one. "
                <strong>"The current key stops working at once"</strong>
                ": every agent using it gets 401 until you give it the new key. "
                "Every connected MCP client is disconnected (it must be approved again) "
                "and other dashboard sessions are signed out."</p>
            <form method="post" action="/key/rotate">
                {csrf_input(&viewer.csrf)}
                <p>
                    <input id="revoke-devices" name="revoke_devices" type="checkbox" value="on"/>
                    " "
                    <label for="revoke-devices">"Also revoke every paired extension (each must be paired again)"</label>
                </p>
                <div class="actions">
                    <button type="submit" class="danger">"Rotate key"</button>
                    <a class="button" href="/">"Cancel"</a>
                </div>
            </form>
        </section>
    };
    page("Rotate API key", Nav::Overview, Some(viewer), body)
}

fn opt_time(t: Option<Millis>) -> String {
    t.map(time_label).unwrap_or_else(|| "never".to_string())
}

/// Paired extensions, pairing by code, revoking.
pub fn devices(
    devices: &[Device],
    viewer: &Viewer,
    notice: Option<String>,
    error: Option<String>,
) -> String {
    let rows = devices
        .iter()
        .map(|d| {
            let action = format!("/devices/{}/revoke", d.id);
            let label = format!("Revoke {}", d.name);
            view! {
                <tr data-device=d.id.clone()>
                    <td data-label="Name">{d.name.clone()}</td>
                    <td data-label="Paired">{opt_time(d.paired_at)}</td>
                    <td data-label="Last seen">{opt_time(d.last_seen_at)}</td>
                    <td data-label="Selector pack">{d.pack_version.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>
                        <form method="post" action=action class="inline">
                            {csrf_input(&viewer.csrf)}
                            <button type="submit" class="danger-outline" aria-label=label>"Revoke"</button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let list = if devices.is_empty() {
        view! { <p class="empty">"No extension is paired yet."</p> }.into_any()
    } else {
        view! {
            <table class="list">
                <thead><tr><th>"Name"</th><th>"Paired"</th><th>"Last seen"</th><th>"Selector pack"</th><th><span class="sr">"Actions"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="hint">"Revoking all extensions ends every extension's token at once; each must be paired again."</p>
            <form method="post" action="/devices/revoke-all" class="actions">
                {csrf_input(&viewer.csrf)}
                <button type="submit" class="danger-outline">"Revoke all extensions"</button>
            </form>
        }
        .into_any()
    };
    let body = view! {
        {banners(notice, error)}
        <section class="card" aria-labelledby="pair-h">
            <h2 id="pair-h">"Pair an extension"</h2>
            <p class="hint">"Click the Claw Post icon in the browser: it shows a 6-digit code. "
                "(Signing in with Google in the extension pairs it without a code.)"</p>
            <form method="post" action="/devices/pair" class="row">
                {csrf_input(&viewer.csrf)}
                <label for="code">"Code"</label>
                <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}"
                    maxlength="6" autocomplete="one-time-code" required="required" placeholder="123456"/>
                <button type="submit">"Pair"</button>
            </form>
        </section>
        <section aria-labelledby="list-h">
            <h2 id="list-h">"Paired extensions"</h2>
            {list}
        </section>
    };
    page("Extensions", Nav::Devices, Some(viewer), body)
}

/// The job history's filter and page.
pub struct JobList {
    pub jobs: Vec<JobRecord>,
    pub platform: Option<Platform>,
    pub status: Option<JobStatus>,
    /// The query string of the next (older) page, if any.
    pub next: Option<String>,
}

fn status_badge(status: JobStatus) -> impl IntoView {
    view! { <span class=format!("badge {}", status.as_str())>{status.as_str()}</span> }
}

fn post_link(url: Option<String>) -> impl IntoView {
    match url {
        Some(u) => {
            view! { <a href=u.clone() rel="noopener noreferrer" target="_blank">"View post"</a> }
                .into_any()
        }
        None => view! { <span class="muted">"—"</span> }.into_any(),
    }
}

fn error_cell(job: &JobRecord) -> impl IntoView {
    (job.error_code.is_some() || job.error.is_some()).then(|| {
        view! {
            <code>{job.error_code.clone()}</code>
            " "
            <span>{job.error.clone()}</span>
        }
    })
}

/// Job history, newest first.
pub fn jobs(list: JobList, viewer: &Viewer) -> String {
    let platform_opts = Platform::ALL
        .iter()
        .map(|p| {
            let selected = list.platform == Some(*p);
            view! { <option value=p.as_str() selected=selected>{p.display_name()}</option> }
        })
        .collect_view();
    let status_opts = JobStatus::ALL
        .iter()
        .map(|s| {
            let selected = list.status == Some(*s);
            view! { <option value=s.as_str() selected=selected>{s.as_str()}</option> }
        })
        .collect_view();
    let rows = list
        .jobs
        .iter()
        .map(|j| {
            let href = format!("/jobs/{}", j.id);
            view! {
                <tr data-job=j.id.clone()>
                    <td data-label="Created"><a href=href>{time_label(j.created_at)}</a></td>
                    <td data-label="Platform">{j.platform.display_name()}</td>
                    <td data-label="Status">{status_badge(j.status)}</td>
                    <td data-label="Post">{post_link(j.post_url.clone())}</td>
                    <td data-label="Error">{error_cell(j)}</td>
                </tr>
            }
        })
        .collect_view();
    let table = if list.jobs.is_empty() {
        view! { <p class="empty">"No jobs match."</p> }.into_any()
    } else {
        view! {
            <table class="list">
                <thead><tr><th>"Created"</th><th>"Platform"</th><th>"Status"</th><th>"Post"</th><th>"Error"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let next = list.next.map(|q| {
        view! { <p><a class="button" href=format!("/jobs?{q}")>"Older jobs →"</a></p> }
    });
    let body = view! {
        <form method="get" action="/jobs" class="row filters" aria-label="Filter jobs">
            <label for="platform">"Platform"</label>
            <select id="platform" name="platform">
                <option value="">"All"</option>
                {platform_opts}
            </select>
            <label for="status">"Status"</label>
            <select id="status" name="status">
                <option value="">"All"</option>
                {status_opts}
            </select>
            <button type="submit">"Filter"</button>
        </form>
        {table}
        {next}
    };
    page("Jobs", Nav::Jobs, Some(viewer), body)
}

/// One job, with its diagnostic when it failed.
pub fn job(job: &JobRecord, device_name: Option<String>, viewer: &Viewer) -> String {
    let row = |k: &'static str, v: String| view! { <dt>{k}</dt><dd>{v}</dd> };
    let media = (!job.media_paths.is_empty()).then(|| {
        let items = job
            .media_paths
            .iter()
            .map(|m| view! { <li><code>{m.clone()}</code></li> })
            .collect_view();
        view! { <dt>"Media"</dt><dd><ul class="plain">{items}</ul></dd> }
    });
    let diagnostic = (job.status == JobStatus::Failed).then(|| {
        let details = job
            .diagnostic
            .as_ref()
            .or(job.details.as_ref())
            .map(|d| serde_json::to_string_pretty(d).unwrap_or_default())
            .filter(|d| !d.is_empty() && d != "null");
        view! {
            <section class="card" aria-labelledby="diag-h">
                <h2 id="diag-h">"Diagnostic"</h2>
                <p><code>{job.error_code.clone()}</code>" "{job.error.clone()}</p>
                {match details {
                    Some(d) => view! { <pre class="details">{d}</pre> }.into_any(),
                    None => view! { <p class="muted">"The extension sent no details."</p> }.into_any(),
                }}
            </section>
        }
    });
    let body = view! {
        <section class="card">
            <dl class="facts">
                {row("Job ID", job.id.clone())}
                <dt>"Status"</dt><dd>{status_badge(job.status)}</dd>
                {row("Platform", job.platform.display_name().to_string())}
                {row("Type", job.job_type.as_str().to_string())}
                <dt>"Post"</dt><dd>{post_link(job.post_url.clone())}</dd>
                {row("Created", time_label(job.created_at))}
                {row("Finished", opt_time(job.finished_at))}
                {row("Attempts", job.attempts.to_string())}
                {row("Extension", device_name.unwrap_or_else(|| "—".into()))}
                {row("Selector pack", job.pack_version.clone().unwrap_or_else(|| "—".into()))}
                {media}
            </dl>
            <h2>"Text"</h2>
            <pre class="text">{job.text.clone()}</pre>
        </section>
        {diagnostic}
        <p><a href="/jobs">"← All jobs"</a></p>
    };
    page("Job", Nav::Jobs, Some(viewer), body)
}

/// What the usage page shows.
pub struct UsagePage {
    pub period_start: Millis,
    pub period_end: Millis,
    pub quota: i64,
    pub total: Counts,
    pub by_platform: Vec<(Platform, Counts)>,
    pub media_bytes: i64,
    pub days: Vec<Day>,
}

fn bytes_label(n: i64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Usage and quota for the period, and jobs per day.
pub fn usage(u: UsagePage, viewer: &Viewer) -> String {
    let used = u.total.created;
    let remaining = (u.quota - used).max(0);
    let pct = if u.quota > 0 {
        (used * 100 / u.quota).min(100)
    } else {
        100
    };
    let rows = u
        .by_platform
        .iter()
        .map(|(p, c)| {
            view! {
                <tr>
                    <td data-label="Platform">{p.display_name()}</td>
                    <td data-label="Jobs">{c.created}</td>
                    <td data-label="Succeeded">{c.succeeded}</td>
                    <td data-label="Failed">{c.failed}</td>
                    <td data-label="Pending">{c.queued + c.processing}</td>
                </tr>
            }
        })
        .collect_view();
    let day_rows = u
        .days
        .iter()
        .rev()
        .filter(|d| d.total() > 0)
        .map(|d| {
            view! {
                <tr>
                    <td data-label="Day">{day_label(d.start)}</td>
                    <td data-label="Succeeded">{d.succeeded}</td>
                    <td data-label="Failed">{d.failed}</td>
                    <td data-label="Pending">{d.pending}</td>
                </tr>
            }
        })
        .collect_view();
    let body = view! {
        <div class="grid">
            <section class="card" aria-labelledby="quota-h">
                <h2 id="quota-h">"Quota"</h2>
                <p class="big">{format!("{used} of {} jobs", u.quota)}</p>
                <meter min="0" max="100" value=pct.to_string() aria-label="Quota used"></meter>
                <p class="hint">{format!(
                    "{remaining} left. The period runs from {} to {}; the quota resets then.",
                    day_label(u.period_start), day_label(u.period_end)
                )}</p>
            </section>
            <section class="card" aria-labelledby="media-h">
                <h2 id="media-h">"Media"</h2>
                <p class="big">{bytes_label(u.media_bytes)}</p>
                <p class="hint">"uploaded this period"</p>
            </section>
        </div>
        <section class="card" aria-labelledby="chart-h">
            <h2 id="chart-h">"Jobs per day, last 30 days"</h2>
            {chart::chart(&u.days)}
            <ul class="legend">
                <li><span class="swatch ok"></span>"Succeeded"</li>
                <li><span class="swatch failed"></span>"Failed"</li>
                <li><span class="swatch pending"></span>"Queued or processing"</li>
            </ul>
            <details>
                <summary>"Data"</summary>
                <table class="list compact">
                    <thead><tr><th>"Day"</th><th>"Succeeded"</th><th>"Failed"</th><th>"Pending"</th></tr></thead>
                    <tbody>{day_rows}</tbody>
                </table>
            </details>
        </section>
        <section aria-labelledby="plat-h">
            <h2 id="plat-h">"This period by platform"</h2>
            <table class="list">
                <thead><tr><th>"Platform"</th><th>"Jobs"</th><th>"Succeeded"</th><th>"Failed"</th><th>"Pending"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    };
    page("Usage", Nav::Usage, Some(viewer), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_users_wrote() {
        let html = message("Oops", "<script>alert(1)</script>", None);
        assert!(
            html.starts_with("<!DOCTYPE html><html lang=\"en\">"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert"));
    }

    #[test]
    fn the_sign_in_page_carries_its_csrf_token() {
        let html = login(LoginPage {
            csrf: "tok\"en".into(),
            provider: Some("Google".into()),
            next: Some("/oauth/authorize?a=1&b=2".into()),
            ..LoginPage::default()
        });
        assert!(
            html.contains(r#"name="csrf" value="tok&quot;en""#),
            "{html}"
        );
        assert!(html.contains("Sign in with Google"));
        assert!(
            html.contains(r#"name="next" value="/oauth/authorize?a=1&amp;b=2""#),
            "{html}"
        );
        assert!(
            html.contains("/login/oidc?next=%2Foauth%2Fauthorize%3Fa%3D1%26b%3D2"),
            "{html}"
        );
        let plain = login(LoginPage {
            csrf: "t".into(),
            error: Some("Wrong key".into()),
            ..LoginPage::default()
        });
        assert!(!plain.contains("/login/oidc"));
        assert!(plain.contains("Wrong key"));
    }

    #[test]
    fn times_are_utc_labels() {
        assert_eq!(time_label(1_794_744_000_000), "2026-11-15 12:00 UTC");
        assert_eq!(day_label(1_794_744_000_000), "2026-11-15");
        assert_eq!(bytes_label(512), "512 B");
        assert_eq!(bytes_label(1536), "1.5 KB");
    }
}

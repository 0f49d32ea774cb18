//! The dashboard (HTML pages at `/`) and sign-in, plus the extension's
//! Google auto-pairing (`POST /v1/connect/google`). Pages are rendered by
//! [`crate::dashboard::views`]; every state-changing form is checked by
//! [`CsrfForm`] or [`LoginForm`]. Every page carries the security headers of
//! [`security_headers`].

use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use extension_core::{JobStatus, Platform};
use serde::Deserialize;

use crate::app::limits::{self, ClientNet, Limit};
use crate::app::oidc::OidcError;
use crate::app::pairing;
use crate::app::tenants::{self, sign_in_id_token, spend_nonce};
use crate::app::AppState;
use crate::clock::month_bounds;
use crate::crypto::{self};
use crate::dashboard::csrf::{CsrfForm, LoginForm};
use crate::dashboard::session::{self, with_cookie, LoginSecret, Session};
use crate::dashboard::{chart, viewer, views};
use crate::error::ApiError;
use crate::store::{JobFilter, SignInMethod};

/// Jobs per page of the history.
const JOBS_PER_PAGE: i64 = 50;

/// The dashboard's pages and sign-in.
pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(overview))
        .route("/login", get(login_page).post(login_with_key))
        .route("/login/oidc", get(oidc_start))
        .route("/login/callback", get(oidc_callback))
        .route("/logout", post(logout))
        .route("/key/reveal", post(reveal_key))
        .route("/key/rotate", get(rotate_confirm).post(rotate_key))
        .route("/devices", get(devices))
        .route("/devices/pair", post(pair_device))
        .route("/devices/revoke-all", post(revoke_all_devices))
        .route("/devices/{id}/revoke", post(revoke_device))
        .route("/jobs", get(jobs))
        .route("/jobs/{id}", get(job_page))
        .route("/usage", get(usage))
        .route("/assets/dashboard.css", get(css))
        .route("/assets/dashboard.js", get(js));
    crate::web::security_headers(pages).merge(super::connections::routes())
}

type Page = Result<Response, Response>;

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

/// A 303 to `to`, the answer to a form post that worked.
fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// An error page for an API error met while serving a page.
fn error_page(e: ApiError, session: Option<&Session>) -> Response {
    let viewer = session.map(viewer);
    html(
        e.status(),
        views::message("Something went wrong", &e.message, viewer.as_ref()),
    )
}

// --- assets

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/dashboard.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/dashboard.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// --- sign-in

/// Notices shown after a redirect, by fixed key (nothing from the URL is echoed).
fn notice_text(key: Option<&str>) -> Option<String> {
    Some(
        match key? {
            "welcome" => "Welcome! Your account was created. Here is your API key: copy it now and keep it secret.",
            "rotated" => "Key rotated: the old key no longer works, connected MCP clients were disconnected and other sessions signed out. Here is the new key: copy it now.",
            "rotated-all" => "Key rotated: the old key no longer works, connected MCP clients and every extension were disconnected and other sessions signed out. Here is the new key: copy it now.",
            "paired" => "Extension paired.",
            "revoked" => "Extension revoked: its token no longer works.",
            "revoked-all" => "Every extension was revoked: their tokens no longer work. Pair them again to keep posting.",
            "signed-out" => "You are signed out.",
            _ => return None,
        }
        .to_string(),
    )
}

#[derive(Debug, Default, Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// A local path to return to after signing in: `/…` only (never `//host`
/// or a backslash trick), so sign-in cannot redirect off-site.
fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/\\")
        && n.len() <= 2048
        && !n.chars().any(|c| c.is_control() || c == '\\');
    ok.then(|| n.to_string())
}

/// The sign-in page, for the browser's pre-sign-in secret.
fn login_with(
    state: &AppState,
    secret: LoginSecret,
    status: StatusCode,
    next: Option<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let provider = state
        .oidc
        .dashboard_enabled()
        .then(|| state.oidc.provider_name());
    let page = views::LoginPage {
        csrf: secret.csrf_token(),
        provider,
        next,
        notice,
        error,
    };
    let resp = html(status, views::login(page));
    match secret.set {
        Some(cookie) => with_cookie(resp, cookie),
        None => resp,
    }
}

/// The sign-in page with an error.
fn login_response(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: Option<String>,
    error: Option<String>,
) -> Response {
    login_with(
        state,
        LoginSecret::of(state, headers),
        status,
        next,
        None,
        error,
    )
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    notice: Option<String>,
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Option<Session>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if session.is_some() {
        return see_other(next.as_deref().unwrap_or("/"));
    }
    let secret = LoginSecret::of(&state, &headers);
    let notice = notice_text(q.notice.as_deref());
    login_with(&state, secret, StatusCode::OK, next, notice, None)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyForm {
    #[serde(default)]
    api_key: String,
    next: Option<String>,
}

async fn login_with_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    net: ClientNet,
    LoginForm(_, form): LoginForm<KeyForm>,
) -> Response {
    let key = form.api_key.trim();
    let next = safe_next(form.next.as_deref());
    if let Err(e) = limits::hit(&state, Limit::SignIn, &net).await {
        return rate_limited(&state, &headers, next, e);
    }
    let tenant = match limits::tenant_by_key(&state, &net, key).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return login_response(
                &state,
                &headers,
                StatusCode::UNAUTHORIZED,
                next,
                Some("That API key is not valid. Check it and try again.".into()),
            )
        }
        Err(e) if e.retry_after_secs.is_some() => return rate_limited(&state, &headers, next, e),
        Err(e) => return error_page(e, None),
    };
    match session::start(&state, tenant, SignInMethod::ApiKey, None, Some(key)).await {
        Ok((_, cookie)) => {
            let resp = with_cookie(see_other(next.as_deref().unwrap_or("/")), cookie);
            with_cookie(resp, LoginSecret::clear(&state))
        }
        Err(e) => error_page(e, None),
    }
}

/// The sign-in page refusing a sign-in past the network's limit (429 with
/// `Retry-After`), or an error page for a failure of the store.
fn rate_limited(
    state: &AppState,
    headers: &HeaderMap,
    next: Option<String>,
    e: ApiError,
) -> Response {
    let Some(secs) = e.retry_after_secs else {
        return error_page(e, None);
    };
    let resp = login_response(state, headers, e.status(), next, Some(e.message));
    with_retry_after(resp, secs)
}

fn with_retry_after(mut resp: Response, secs: u64) -> Response {
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    resp
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/login/callback", state.settings.public_url)
}

/// Starts a sign-in at the provider: a fresh browser secret derives the
/// state, nonce and PKCE verifier; only the state's hash is stored.
async fn oidc_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    net: ClientNet,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if !state.oidc.dashboard_enabled() {
        return login_response(
            &state,
            &headers,
            StatusCode::NOT_FOUND,
            next,
            Some(OidcError::NotConfigured.to_string()),
        );
    }
    // Each callback needs its own start, so counting starts limits both.
    if let Err(e) = limits::hit(&state, Limit::SignIn, &net).await {
        return rate_limited(&state, &headers, next, e);
    }
    let secret = LoginSecret::fresh(&state);
    let login_state = secret.derive("oidc-state");
    let challenge = crate::crypto::code_challenge(&secret.derive("oidc-pkce"));
    let url = match state
        .oidc
        .authorization_url(
            &redirect_uri(&state),
            &login_state,
            &secret.derive("oidc-nonce"),
            &challenge,
        )
        .await
    {
        Ok(url) => url,
        Err(e) => {
            let e = ApiError::from(e);
            return login_response(&state, &headers, e.status(), next, Some(e.message));
        }
    };
    let now = state.now();
    if let Err(e) = state
        .store
        .create_oidc_login(
            &crypto::hash(&login_state),
            next.as_deref(),
            now,
            now + session::LOGIN_TTL_SECS * 1000,
        )
        .await
    {
        return error_page(e.into(), None);
    }
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        resp.headers_mut().insert(LOCATION, v);
    }
    with_cookie(resp, secret.set.expect("a fresh secret has a cookie"))
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Finishes a sign-in: the state must be this browser's and unused, the
/// code is exchanged with the PKCE verifier, and the ID token must verify
/// and carry this sign-in's nonce.
async fn oidc_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let fail = |status: StatusCode, msg: String| {
        let resp = login_response(&state, &headers, status, None, Some(msg));
        with_cookie(resp, LoginSecret::clear(&state))
    };
    if q.error.is_some() {
        return fail(
            StatusCode::UNAUTHORIZED,
            "Sign-in was cancelled at the provider.".into(),
        );
    }
    let (Some(code), Some(returned_state)) = (q.code, q.state) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in answer was incomplete.".into(),
        );
    };
    let expired = || "This sign-in expired or was already used. Start again.".to_string();
    let Some(secret) = LoginSecret::existing(&state, &headers) else {
        return fail(StatusCode::BAD_REQUEST, expired());
    };
    let expected_state = secret.derive("oidc-state");
    let state_ok = crypto::same(&expected_state, &returned_state);
    if !state_ok {
        return fail(StatusCode::BAD_REQUEST, expired());
    }
    let next = match state
        .store
        .take_oidc_login(&crypto::hash(&expected_state), state.now())
        .await
    {
        Ok(Some(next)) => safe_next(next.as_deref()),
        Ok(None) => return fail(StatusCode::BAD_REQUEST, expired()),
        Err(e) => return error_page(e.into(), None),
    };
    let result = async {
        let id_token = state
            .oidc
            .exchange_code(&code, &redirect_uri(&state), &secret.derive("oidc-pkce"))
            .await?;
        let client_id = state.oidc.dashboard_client_id()?.to_string();
        let token = state
            .oidc
            .verify_id_token(&id_token, &[client_id], state.now())
            .await?;
        let nonce_ok = token
            .nonce
            .as_deref()
            .is_some_and(|n| crypto::same(n, &secret.derive("oidc-nonce")));
        if !nonce_ok {
            return Err(ApiError::from(OidcError::InvalidToken(
                "its nonce is not this sign-in's (replayed)",
            )));
        }
        spend_nonce(&state, &token).await?;
        let signed_in = sign_in_id_token(&state, &token).await?;
        let (_, cookie) = session::start(
            &state,
            signed_in.tenant,
            SignInMethod::Oidc,
            Some(signed_in.email),
            signed_in.new_api_key.as_deref(),
        )
        .await?;
        Ok::<_, ApiError>((cookie, signed_in.new_api_key.is_some()))
    }
    .await;
    match result {
        Ok((cookie, created)) => {
            let to = match (next, created) {
                (Some(next), _) => next,
                (None, true) => "/?notice=welcome".to_string(),
                (None, false) => "/".to_string(),
            };
            with_cookie(
                with_cookie(see_other(&to), cookie),
                LoginSecret::clear(&state),
            )
        }
        // A clear page of its own: signing in again does not help.
        Err(e) if e.code == crate::error::Code::SignupClosed => with_cookie(
            html(
                e.status(),
                views::message("Invitation needed", &e.message, None),
            ),
            LoginSecret::clear(&state),
        ),
        Err(e) => fail(e.status(), e.message),
    }
}

#[derive(Debug, Deserialize)]
struct Empty {}

async fn logout(State(state): State<AppState>, CsrfForm(session, _): CsrfForm<Empty>) -> Page {
    let cookie = session.end(&state).await.map_err(|e| error_page(e, None))?;
    Ok(with_cookie(see_other("/login?notice=signed-out"), cookie))
}

// --- overview and key

async fn overview_page(
    state: &AppState,
    session: &Session,
    show_key: bool,
    notice: Option<String>,
) -> Page {
    let now = state.now();
    let (start, _) = month_bounds(now);
    let err = |e: crate::store::StoreError| error_page(e.into(), Some(session));
    let usage = state
        .store
        .usage(&session.tenant.id, start)
        .await
        .map_err(err)?;
    let devices = state
        .store
        .tenant_devices(&session.tenant.id)
        .await
        .map_err(err)?;
    let email = match &session.record.email {
        Some(e) => Some(e.clone()),
        None => state
            .store
            .tenant_email(&session.tenant.id)
            .await
            .map_err(err)?,
    };
    let key = session.api_key();
    let page = views::Overview {
        tenant_id: session.tenant.id.clone(),
        tenant_name: session.tenant.name.clone(),
        email,
        can_reveal: key.is_some(),
        shown_key: key.filter(|_| show_key),
        used: usage.total.created,
        quota: session.tenant.quota,
        devices: devices.len(),
        notice,
    };
    Ok(html(
        StatusCode::OK,
        views::overview(page, &viewer(session)),
    ))
}

async fn overview(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<NoticeQuery>,
) -> Page {
    // After a first sign-in or a rotation the new key is shown at once.
    let show_key = matches!(
        q.notice.as_deref(),
        Some("welcome" | "rotated" | "rotated-all")
    );
    overview_page(&state, &session, show_key, notice_text(q.notice.as_deref())).await
}

async fn reveal_key(State(state): State<AppState>, CsrfForm(session, _): CsrfForm<Empty>) -> Page {
    overview_page(&state, &session, true, None).await
}

async fn rotate_confirm(session: Session) -> Response {
    html(StatusCode::OK, views::rotate_confirm(&viewer(&session)))
}

#[derive(Debug, Deserialize)]
struct RotateForm {
    /// The "also revoke every extension" box: present when ticked.
    #[serde(default)]
    revoke_devices: Option<String>,
}

/// Replaces the API key (the old one stops working at once), disconnects
/// every MCP client, signs every other session out and, when asked, revokes
/// every extension; keeps the new key sealed in this session.
async fn rotate_key(
    State(state): State<AppState>,
    CsrfForm(mut session, form): CsrfForm<RotateForm>,
) -> Page {
    let err = |e: ApiError, s: &Session| error_page(e, Some(s));
    let revoke_devices = form.revoke_devices.is_some();
    let Some(rotated) = tenants::rotate_key(
        &*state.store,
        &session.tenant.id,
        Some(&session.record.id_hash),
        revoke_devices,
        state.now(),
    )
    .await
    .map_err(|e| err(e, &session))?
    else {
        return Err(err(ApiError::not_found("No such tenant."), &session));
    };
    session
        .remember_key(&state, &rotated.api_key)
        .await
        .map_err(|e| err(e, &session))?;
    Ok(see_other(if revoke_devices {
        "/?notice=rotated-all"
    } else {
        "/?notice=rotated"
    }))
}

// --- devices

async fn devices_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Page {
    let devices = state
        .store
        .tenant_devices(&session.tenant.id)
        .await
        .map_err(|e| error_page(e.into(), Some(session)))?;
    Ok(html(
        status,
        views::devices(&devices, &viewer(session), notice, error),
    ))
}

async fn devices(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<NoticeQuery>,
) -> Page {
    devices_page(
        &state,
        &session,
        StatusCode::OK,
        notice_text(q.notice.as_deref()),
        None,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct PairForm {
    #[serde(default)]
    code: String,
}

async fn pair_device(
    State(state): State<AppState>,
    net: ClientNet,
    CsrfForm(session, form): CsrfForm<PairForm>,
) -> Page {
    match pairing::pair_with_code(&state, &session.tenant.id, &net, &form.code).await {
        Ok(_) => Ok(see_other("/devices?notice=paired")),
        Err(e) if e.status().is_server_error() => Err(error_page(e, Some(&session))),
        Err(e) => {
            let retry_after = e.retry_after_secs;
            let page = devices_page(&state, &session, e.status(), None, Some(e.message)).await;
            match retry_after {
                Some(secs) => page.map(|r| with_retry_after(r, secs)),
                None => page,
            }
        }
    }
}

/// Revokes every extension of the tenant at once.
async fn revoke_all_devices(
    State(state): State<AppState>,
    CsrfForm(session, _): CsrfForm<Empty>,
) -> Page {
    pairing::revoke_all(&state, &session.tenant.id)
        .await
        .map_err(|e| error_page(e, Some(&session)))?;
    Ok(see_other("/devices?notice=revoked-all"))
}

async fn revoke_device(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, _): CsrfForm<Empty>,
) -> Page {
    let revoked = pairing::revoke(&state, &session.tenant.id, &id)
        .await
        .map_err(|e| error_page(e, Some(&session)))?;
    if !revoked {
        return Err(error_page(
            ApiError::not_found("No such extension among yours (already revoked?)."),
            Some(&session),
        ));
    }
    Ok(see_other("/devices?notice=revoked"))
}

// --- jobs

#[derive(Debug, Default, Deserialize)]
struct JobsQuery {
    platform: Option<String>,
    status: Option<String>,
    /// `<created_at>.<id>` of the last job of the previous page.
    before: Option<String>,
}

async fn jobs(State(state): State<AppState>, session: Session, Query(q): Query<JobsQuery>) -> Page {
    let non_empty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    let filter = JobFilter {
        platform: non_empty(&q.platform).and_then(|p| Platform::from_str(&p).ok()),
        status: non_empty(&q.status).and_then(|s| JobStatus::parse(&s)),
        before: non_empty(&q.before).and_then(|b| {
            let (at, id) = b.split_once('.')?;
            Some((at.parse().ok()?, id.to_string()))
        }),
    };
    let mut jobs = state
        .store
        .tenant_jobs(&session.tenant.id, &filter, JOBS_PER_PAGE + 1)
        .await
        .map_err(|e| error_page(e.into(), Some(&session)))?;
    let next = (jobs.len() as i64 > JOBS_PER_PAGE).then(|| {
        jobs.truncate(JOBS_PER_PAGE as usize);
        let last = jobs.last().expect("a full page");
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(p) = filter.platform {
            q.append_pair("platform", p.as_str());
        }
        if let Some(s) = filter.status {
            q.append_pair("status", s.as_str());
        }
        q.append_pair("before", &format!("{}.{}", last.created_at, last.id));
        q.finish()
    });
    let list = views::JobList {
        jobs,
        platform: filter.platform,
        status: filter.status,
        next,
    };
    Ok(html(StatusCode::OK, views::jobs(list, &viewer(&session))))
}

async fn job_page(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> Page {
    let err = |e: crate::store::StoreError| error_page(e.into(), Some(&session));
    let job = state
        .store
        .job(&id)
        .await
        .map_err(err)?
        .filter(|j| j.tenant_id == session.tenant.id)
        .ok_or_else(|| error_page(ApiError::not_found("No such job."), Some(&session)))?;
    let device_name = match &job.device_id {
        Some(d) => state.store.device(d).await.map_err(err)?.map(|d| d.name),
        None => None,
    };
    Ok(html(
        StatusCode::OK,
        views::job(&job, device_name, &viewer(&session)),
    ))
}

// --- usage

async fn usage(State(state): State<AppState>, session: Session) -> Page {
    let err = |e: crate::store::StoreError| error_page(e.into(), Some(&session));
    let now = state.now();
    let (start, end) = month_bounds(now);
    let counts = state
        .store
        .usage(&session.tenant.id, start)
        .await
        .map_err(err)?;
    let media_bytes = state
        .store
        .media_bytes_since(&session.tenant.id, start)
        .await
        .map_err(err)?;
    let range = chart::range_start(now);
    let per_day = state
        .store
        .jobs_per_day(&session.tenant.id, range)
        .await
        .map_err(err)?;
    let page = views::UsagePage {
        period_start: start,
        period_end: end,
        quota: session.tenant.quota,
        total: counts.total,
        by_platform: counts.by_platform,
        media_bytes,
        days: chart::days(range, &per_day),
    };
    Ok(html(StatusCode::OK, views::usage(page, &viewer(&session))))
}

//! Dashboard sessions: an HttpOnly cookie holding a random secret (the store
//! keeps its SHA-256), CSRF tokens derived from that secret, and the API key
//! sealed under it so the session that saw the key can show it again.
//!
//! Cookies are `SameSite=Lax`, `HttpOnly`, and `Secure` with the `__Host-`
//! prefix unless the server's public URL is plain HTTP on loopback.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::crypto;
use crate::error::ApiError;
use crate::store::Tenant;
use crate::store::{SessionRecord, SignInMethod};

/// Prefix of session secrets.
pub const SESSION_PREFIX: &str = "cpses_";
/// Prefix of the pre-sign-in secret (sign-in form CSRF and OIDC state).
pub const LOGIN_PREFIX: &str = "cplogin_";
/// The header a session sends its CSRF token in on JSON requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The session cookie's base name.
const SESSION_COOKIE: &str = "cp_session";
/// The pre-sign-in cookie's base name.
const LOGIN_COOKIE: &str = "cp_login";
/// How long a started sign-in stays valid.
pub const LOGIN_TTL_SECS: i64 = 600;

/// Whether cookies must be `Secure`: always, unless the public URL is plain
/// HTTP on a loopback address (a local, self-hosted server).
pub fn cookies_secure(public_url: &str) -> bool {
    match url::Url::parse(public_url) {
        Ok(u) => u.scheme() != "http" || !crate::settings::is_loopback_host(&u),
        Err(_) => true,
    }
}

fn cookie_name(state: &AppState, base: &str) -> String {
    if cookies_secure(&state.settings.public_url) {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// The value of cookie `name` on a request.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` header for `name`; `max_age` 0 deletes the cookie.
fn set_cookie(state: &AppState, base: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if cookies_secure(&state.settings.public_url) {
        "; Secure"
    } else {
        ""
    };
    let name = cookie_name(state, base);
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are URL-safe")
}

/// The pre-sign-in secret of a browser: read from its cookie, or made now
/// (then `set` holds the cookie to send). It keys the sign-in form's CSRF
/// token and the OpenID sign-in's state, nonce and PKCE verifier.
pub struct LoginSecret {
    secret: String,
    /// The `Set-Cookie` to send when the secret is new.
    pub set: Option<HeaderValue>,
}

impl LoginSecret {
    /// The browser's secret, or a new one.
    pub fn of(state: &AppState, headers: &HeaderMap) -> LoginSecret {
        match read_cookie(headers, &cookie_name(state, LOGIN_COOKIE))
            .filter(|s| crypto::looks_like(LOGIN_PREFIX, s))
        {
            Some(secret) => LoginSecret { secret, set: None },
            None => LoginSecret::fresh(state),
        }
    }

    /// A new secret (and its cookie), replacing any the browser has.
    pub fn fresh(state: &AppState) -> LoginSecret {
        let secret = crypto::generate(LOGIN_PREFIX).plaintext;
        let set = Some(set_cookie(state, LOGIN_COOKIE, &secret, LOGIN_TTL_SECS));
        LoginSecret { secret, set }
    }

    /// The browser's secret if it has one (no new one is made).
    pub fn existing(state: &AppState, headers: &HeaderMap) -> Option<LoginSecret> {
        let ls = LoginSecret::of(state, headers);
        ls.set.is_none().then_some(ls)
    }

    /// A value derived from the secret for `purpose`.
    pub fn derive(&self, purpose: &str) -> String {
        crate::crypto::derive(&self.secret, purpose)
    }

    /// The sign-in form's CSRF token.
    pub fn csrf_token(&self) -> String {
        self.derive("login-csrf")
    }

    /// Whether `presented` is this browser's sign-in CSRF token.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        crypto::same(&self.csrf_token(), presented)
    }

    /// The `Set-Cookie` that deletes the pre-sign-in cookie.
    pub fn clear(state: &AppState) -> HeaderValue {
        set_cookie(state, LOGIN_COOKIE, "", 0)
    }
}

/// A signed-in dashboard session.
#[derive(Clone)]
pub struct Session {
    pub record: SessionRecord,
    pub tenant: Tenant,
    /// The secret from the cookie: derives the CSRF token and opens the sealed key.
    secret: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("record", &self.record)
            .field("tenant", &self.tenant.id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The CSRF token every state-changing form of this session carries.
    pub fn csrf_token(&self) -> String {
        crate::crypto::derive(&self.secret, "csrf")
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, presented: &str) -> bool {
        crypto::same(&self.csrf_token(), presented)
    }

    /// The API key, if this session saw it (sign-in with it, tenant
    /// creation or rotation) and it was not rotated elsewhere since.
    pub fn api_key(&self) -> Option<String> {
        let sealed = self.record.sealed_key.as_deref()?;
        open(&self.secret, &self.record.id_hash, sealed)
    }

    /// Keeps `api_key` sealed in this session (replacing any older one).
    pub async fn remember_key(&mut self, state: &AppState, api_key: &str) -> Result<(), ApiError> {
        let sealed = seal(&self.secret, &self.record.id_hash, api_key);
        state
            .store
            .set_session_key(&self.record.id_hash, Some(&sealed))
            .await?;
        self.record.sealed_key = Some(sealed);
        Ok(())
    }

    /// Ends the session; returns the `Set-Cookie` that deletes its cookie.
    pub async fn end(self, state: &AppState) -> Result<HeaderValue, ApiError> {
        state.store.delete_session(&self.record.id_hash).await?;
        Ok(set_cookie(state, SESSION_COOKIE, "", 0))
    }
}

/// Seals the API key under a key derived from the session secret, bound
/// to the session's id hash.
fn seal(secret: &str, id_hash: &str, plaintext: &str) -> String {
    crypto::seal(secret, "seal-api-key", id_hash, plaintext)
}

fn open(secret: &str, id_hash: &str, sealed: &str) -> Option<String> {
    crypto::open(secret, "seal-api-key", id_hash, sealed)
}

/// Signs a browser in: stores a new session for the tenant and returns it
/// with the `Set-Cookie` header that carries its secret. `api_key` is kept
/// sealed in the session when the sign-in saw it.
pub async fn start(
    state: &AppState,
    tenant: Tenant,
    method: SignInMethod,
    email: Option<String>,
    api_key: Option<&str>,
) -> Result<(Session, HeaderValue), ApiError> {
    let now = state.now();
    let secret = crypto::generate(SESSION_PREFIX);
    let ttl = state.settings.session_ttl;
    let record = SessionRecord {
        id_hash: secret.hash.clone(),
        tenant_id: tenant.id.clone(),
        method,
        email,
        sealed_key: api_key.map(|k| seal(&secret.plaintext, &secret.hash, k)),
        created_at: now,
        expires_at: now + crate::clock::ms(ttl),
    };
    state.store.create_session(&record, now).await?;
    tracing::info!(tenant = %tenant.id, method = method.as_str(), "dashboard sign-in");
    let cookie = set_cookie(
        state,
        SESSION_COOKIE,
        &secret.plaintext,
        ttl.as_secs() as i64,
    );
    Ok((
        Session {
            record,
            tenant,
            secret: secret.plaintext,
        },
        cookie,
    ))
}

/// The session a request's cookie names, if it is live.
pub async fn from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, ApiError> {
    let Some(secret) = read_cookie(headers, &cookie_name(state, SESSION_COOKIE)) else {
        return Ok(None);
    };
    if !crypto::looks_like(SESSION_PREFIX, &secret) {
        return Ok(None);
    }
    let hash = crypto::hash(&secret);
    let Some(record) = state.store.session(&hash, state.now()).await? else {
        return Ok(None);
    };
    if !crypto::verify(&secret, &record.id_hash) {
        return Ok(None);
    }
    let Some(tenant) = state.store.tenant(&record.tenant_id).await? else {
        return Ok(None);
    };
    Ok(Some(Session {
        record,
        tenant,
        secret,
    }))
}

/// Why a page needing a session was not served: no session (go sign in), or
/// a store failure.
pub enum SessionRejection {
    SignIn,
    Error(ApiError),
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            SessionRejection::SignIn => Redirect::to("/login").into_response(),
            SessionRejection::Error(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match from_headers(state, &parts.headers).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(SessionRejection::SignIn),
            Err(e) => Err(SessionRejection::Error(e)),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        from_headers(state, &parts.headers).await
    }
}

/// Adds a `Set-Cookie` header to a response.
pub fn with_cookie(mut resp: Response, cookie: HeaderValue) -> Response {
    resp.headers_mut().append(SET_COOKIE, cookie);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_session_secret() {
        let sealed = seal("cpses_a", "hash-a", "claw_secret");
        assert_eq!(
            open("cpses_a", "hash-a", &sealed).as_deref(),
            Some("claw_secret")
        );
        assert_eq!(open("cpses_b", "hash-a", &sealed), None);
        assert_eq!(open("cpses_a", "hash-b", &sealed), None);
        assert!(!sealed.contains("claw_secret"));
        assert_ne!(
            seal("cpses_a", "hash-a", "claw_secret"),
            sealed,
            "fresh nonce each time"
        );
    }

    #[test]
    fn cookies_are_secure_except_plain_http_on_loopback() {
        assert!(!cookies_secure("http://127.0.0.1:8080"));
        assert!(!cookies_secure("http://localhost:8080"));
        assert!(!cookies_secure("http://[::1]:8080"));
        assert!(cookies_secure("https://127.0.0.1:8080"));
        assert!(cookies_secure("http://claw.example.com"));
        assert!(cookies_secure("https://claw.example.com"));
    }

    #[test]
    fn cookies_are_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; cp_session=xyz ; b=2"),
        );
        assert_eq!(read_cookie(&h, "cp_session").as_deref(), Some("xyz"));
        assert_eq!(read_cookie(&h, "cp_login"), None);
    }
}

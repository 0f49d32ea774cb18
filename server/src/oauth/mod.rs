//! The OAuth 2.0 authorization server that guards the MCP endpoint, on the
//! same origin as the API: the MCP client (Claude, ChatGPT, an SDK) discovers
//! it from a 401 on `/mcp`, registers itself (RFC 7591), sends the user's
//! browser to `/oauth/authorize` where a signed-in dashboard user approves,
//! and trades the code (PKCE S256 only) for tokens bound to the `/mcp`
//! resource and to the user's tenant.
//!
//! - [`metadata`]: RFC 9728 protected-resource and RFC 8414 server metadata.
//! - [`register`]: dynamic client registration.
//! - [`authorize`]: the consent page and the authorization response.
//! - [`token`]: the token endpoint (code exchange, refresh with rotation) and
//!   revocation (RFC 7009).
//! - [`bearer`]: checking an access token presented to `/mcp`.
//! - [`connections`]: the dashboard page listing connected clients, to
//!   disconnect them.
//!
//! Tokens are opaque random secrets ([`crate::crypto`]) stored hashed
//! ([`crate::store::OAuthStore`]). Every code and token belongs to a grant,
//! one approved connection of a client to a tenant: revoking the grant (the
//! dashboard's "disconnect", a replayed code or refresh token) ends them all.

pub mod authorize;
pub mod metadata;
pub mod register;
pub mod token;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::app::AppState;
use crate::error::ApiError;

pub use crate::app::grants::{
    issuer, parse_scope, resource, resource_metadata_url, ACCESS_TOKEN_PREFIX, ACCESS_TOKEN_TTL,
    CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX, CODE_PREFIX, CODE_TTL, MCP_PATH, REFRESH_TOKEN_PREFIX,
    REFRESH_TOKEN_TTL, RESOURCE_METADATA_PATH, SCOPES, SCOPE_READ, SCOPE_WRITE,
};

/// The authorization server's routes, with CORS where browser-based MCP
/// clients call them (metadata, registration, token, revocation). The
/// authorization endpoint is a top-level navigation and gets none.
pub fn routes() -> Router<AppState> {
    let cors_routes = Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(metadata::protected_resource),
        )
        .route(RESOURCE_METADATA_PATH, get(metadata::protected_resource))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::authorization_server),
        )
        .route("/oauth/register", post(register::register))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(token::revoke))
        .layer(cors());
    Router::new()
        .route(
            "/oauth/authorize",
            get(authorize::consent_page).post(authorize::decide),
        )
        .merge(cors_routes)
}

/// Deletes codes and tokens a day after they expired, every ten minutes,
/// for as long as the server runs.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = state.store.purge_oauth(state.now() - 86_400_000).await {
                tracing::warn!(error = %e, "purging expired OAuth codes and tokens failed");
            }
        }
    })
}

/// CORS for endpoints that browser-based MCP clients call: any origin (the
/// credentials are bearer tokens and client secrets, never cookies), the MCP
/// headers allowed, `WWW-Authenticate` exposed so the client can discover the
/// authorization server from a 401.
pub fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("mcp-protocol-version"),
            header::HeaderName::from_static("mcp-session-id"),
            header::HeaderName::from_static("last-event-id"),
            header::HeaderName::from_static(crate::web::API_KEY_HEADER),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            header::HeaderName::from_static("mcp-session-id"),
        ])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// Whether a `resource` parameter names this server's MCP endpoint. Clients
/// have been seen sending the origin and trailing slashes, so the endpoint
/// URL and the server's base URL match, with or without a trailing slash,
/// scheme and host in any case.
pub fn is_our_resource(state: &AppState, presented: &str) -> bool {
    let normalize = |s: &str| -> Option<String> {
        let u = url::Url::parse(s).ok()?;
        if u.fragment().is_some() || u.query().is_some() {
            return None;
        }
        let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = u.path().trim_end_matches('/').to_string();
        Some(format!("{}://{}{port}{path}", u.scheme(), u.host_str()?))
    };
    let Some(p) = normalize(presented) else {
        return false;
    };
    [resource(state), issuer(state)]
        .iter()
        .filter_map(|r| normalize(r))
        .any(|r| r == p)
}

/// Schemes never accepted as redirect URIs, even as private-use schemes.
const REFUSED_SCHEMES: [&str; 11] = [
    "javascript",
    "data",
    "file",
    "vbscript",
    "about",
    "blob",
    "filesystem",
    "ftp",
    "ws",
    "wss",
    "mailto",
];

/// Checks a redirect URI offered at registration: `https` with a host,
/// `http` on a loopback host (any port, RFC 8252 §7.3), or a private-use
/// scheme (`cursor://…`, `com.example.app:/cb`, RFC 8252 §7.1); never a
/// fragment. Returns why not.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|_| format!("{uri:?} is not an absolute URI"))?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(format!("{uri:?} has a fragment"));
    }
    match parsed.scheme() {
        "https" if parsed.has_host() => Ok(()),
        "http" if crate::settings::is_loopback_host(&parsed) => Ok(()),
        "http" => Err(format!(
            "{uri:?}: plain http is only accepted for loopback hosts (localhost, 127.0.0.1, [::1])"
        )),
        "https" => Err(format!("{uri:?} has no host")),
        s if REFUSED_SCHEMES.contains(&s) => Err(format!("{uri:?}: scheme {s} is not accepted")),
        _ => Ok(()),
    }
}

/// Whether a presented redirect URI is one registered: exactly equal, or for
/// a loopback `http` URI equal except for the port (RFC 8252 §7.3: native
/// apps listen on an ephemeral port).
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback = |u: &url::Url| u.scheme() == "http" && crate::settings::is_loopback_host(u);
    loopback(&r)
        && loopback(&p)
        && r.host() == p.host()
        && r.path() == p.path()
        && r.query() == p.query()
        && r.fragment().is_none()
        && p.fragment().is_none()
        && r.username() == p.username()
        && r.password() == p.password()
}

/// An OAuth error answered by the token, registration and revocation
/// endpoints, in the protocol's shape `{"error", "error_description"}`
/// (RFC 6749 §5.2, RFC 7591 §3.2.2) that OAuth clients parse.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    /// The OAuth error code, e.g. `invalid_grant`.
    pub error: &'static str,
    pub description: String,
}

#[derive(Serialize)]
struct OAuthErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    /// A 400 with that code.
    pub fn bad(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad("invalid_request", description)
    }

    /// `invalid_grant`: a code or refresh token that is wrong, spent,
    /// expired, revoked or another client's.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::bad("invalid_grant", description)
    }

    /// 401 `invalid_client`: clients such as Claude register again on it.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
        }
    }

    /// 500 `server_error`, without details.
    pub fn server_error() -> Self {
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "Internal server error. Try again later.".into(),
        }
    }
}

impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> Self {
        if e.status().is_server_error() {
            OAuthError::server_error()
        } else {
            OAuthError::invalid_request(e.message)
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.error,
            error_description: &self.description,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        no_store(&mut resp);
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth\""),
            );
        }
        resp
    }
}

/// Marks a response that carries credentials as not cacheable.
pub fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Parses an `application/x-www-form-urlencoded` body, refusing repeated
/// parameters (RFC 6749 §3.1) and ignoring empty values as absent.
pub fn parse_form(body: &[u8]) -> Result<std::collections::HashMap<String, String>, OAuthError> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if v.is_empty() {
            continue;
        }
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {k} is repeated"
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_loopback_or_private_use() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://127.0.0.1:53682/callback",
            "http://localhost:6274/oauth/callback",
            "http://[::1]:8000/cb",
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://claude.ai/cb#frag",
            "/relative",
            "file:///etc/passwd",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_redirects_match_on_any_port_others_exactly() {
        assert!(redirect_uri_matches(
            "http://127.0.0.1:1/callback",
            "http://127.0.0.1:53682/callback"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1:1/callback",
            "http://127.0.0.1:53682/other"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1:1/callback",
            "http://localhost:1/callback"
        ));
        assert!(!redirect_uri_matches(
            "https://claude.ai/cb",
            "https://claude.ai:8443/cb"
        ));
        assert!(!redirect_uri_matches(
            "https://claude.ai/cb",
            "https://claude.ai/cb/"
        ));
        assert!(redirect_uri_matches("cursor://a/cb", "cursor://a/cb"));
    }
}

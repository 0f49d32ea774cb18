//! Dynamic client registration (RFC 7591): `POST /oauth/register`. Any MCP
//! client may register; what it says about itself (its name) is shown on the
//! consent page as unverified. Redirect URIs must be `https`, loopback `http`
//! or a private-use scheme ([`super::check_redirect_uri`]).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{
    check_redirect_uri, no_store, parse_scope, OAuthError, CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX,
};
use crate::app::limits::{self, ClientNet, Limit};
use crate::app::AppState;
use crate::crypto;
use crate::store::oauth::OAuthClient;

const MAX_REDIRECT_URIS: usize = 10;
const MAX_URI_LEN: usize = 2000;
const MAX_NAME_LEN: usize = 200;
/// The auth methods a client may register with.
pub const AUTH_METHODS: [&str; 3] = ["none", "client_secret_post", "client_secret_basic"];

/// The registration request fields this server reads; others are ignored.
#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
}

fn invalid_metadata(description: impl Into<String>) -> OAuthError {
    OAuthError::bad("invalid_client_metadata", description)
}

/// `POST /oauth/register`: 201 with the client's id (and secret, for a
/// confidential client), or 400 `invalid_redirect_uri` /
/// `invalid_client_metadata`, or 429 `rate_limited` with `Retry-After` past
/// the registrations allowed per client network. A client that never
/// connects is deleted a day later.
pub async fn register(
    State(state): State<AppState>,
    net: ClientNet,
    body: Bytes,
) -> Result<Response, OAuthError> {
    if let Err(e) = limits::hit(&state, Limit::OAuthRegister, &net).await {
        return match e.retry_after_secs {
            Some(secs) => Ok(rate_limited(&e.message, secs)),
            None => Err(e.into()),
        };
    }
    let meta: Metadata = serde_json::from_slice(&body)
        .map_err(|e| invalid_metadata(format!("The body must be client metadata JSON: {e}")))?;

    if meta.redirect_uris.is_empty() {
        return Err(OAuthError::bad(
            "invalid_redirect_uri",
            "redirect_uris must list at least one URI",
        ));
    }
    if meta.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::bad(
            "invalid_redirect_uri",
            format!("at most {MAX_REDIRECT_URIS} redirect_uris"),
        ));
    }
    for uri in &meta.redirect_uris {
        if uri.len() > MAX_URI_LEN {
            return Err(OAuthError::bad(
                "invalid_redirect_uri",
                "redirect URI too long",
            ));
        }
        check_redirect_uri(uri).map_err(|why| OAuthError::bad("invalid_redirect_uri", why))?;
    }

    let auth_method = meta
        .token_endpoint_auth_method
        .unwrap_or_else(|| "client_secret_basic".to_string()); // RFC 7591 §2 default
    if !AUTH_METHODS.contains(&auth_method.as_str()) {
        return Err(invalid_metadata(format!(
            "token_endpoint_auth_method must be one of {}",
            AUTH_METHODS.join(", ")
        )));
    }
    let grant_types = meta
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".to_string()]);
    if grant_types.is_empty()
        || grant_types
            .iter()
            .any(|g| g != "authorization_code" && g != "refresh_token")
    {
        return Err(invalid_metadata(
            "grant_types may be authorization_code and refresh_token",
        ));
    }
    if !grant_types.iter().any(|g| g == "authorization_code") {
        return Err(invalid_metadata(
            "grant_types must include authorization_code",
        ));
    }
    // Refresh tokens are issued with every code exchange (clients that did
    // not ask for them otherwise lose the connection when the access token
    // expires); RFC 7591 §3.2.1 lets the server replace the requested value.
    let grant_types = vec![
        "authorization_code".to_string(),
        "refresh_token".to_string(),
    ];
    let response_types = meta
        .response_types
        .unwrap_or_else(|| vec!["code".to_string()]);
    if response_types != ["code"] {
        return Err(invalid_metadata("response_types must be [\"code\"]"));
    }
    if parse_scope(meta.scope.as_deref()).is_none() {
        return Err(invalid_metadata(format!(
            "unknown scope; this server has {}",
            super::SCOPES.join(", ")
        )));
    }
    let name = meta
        .client_name
        .map(|n| n.trim().chars().take(MAX_NAME_LEN).collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Unnamed MCP client".to_string());

    let now = state.now();
    let secret = (auth_method != "none").then(|| crypto::generate(CLIENT_SECRET_PREFIX));
    let client = OAuthClient {
        id: format!("{CLIENT_ID_PREFIX}{}", uuid::Uuid::new_v4().simple()),
        secret_hash: secret.as_ref().map(|s| s.hash.clone()),
        name,
        redirect_uris: meta.redirect_uris,
        grant_types,
        auth_method,
        created_at: now,
    };
    state.store.insert_client(&client).await?;
    tracing::info!(client = %client.id, auth_method = %client.auth_method, "OAuth client registered");

    let mut body = json!({
        "client_id": client.id,
        "client_id_issued_at": now / 1000,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": client.auth_method,
        "scope": super::SCOPES.join(" "),
    });
    if let Some(s) = secret {
        body["client_secret"] = json!(s.plaintext);
        body["client_secret_expires_at"] = json!(0);
    }
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    no_store(&mut resp);
    Ok(resp)
}

/// A 429 in the protocol's error shape, with `Retry-After`.
fn rate_limited(description: &str, retry_after_secs: u64) -> Response {
    let body = json!({"error": "rate_limited", "error_description": description});
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    no_store(&mut resp);
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

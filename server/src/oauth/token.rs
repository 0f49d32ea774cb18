//! The token endpoint (`POST /oauth/token`): authorization codes for tokens
//! (PKCE S256, the same client and redirect URI, single use) and refresh
//! tokens for new ones (rotated: a refresh token works once, and presenting
//! a spent one revokes its whole grant, RFC 9700 §4.14.2). Also revocation
//! (`POST /oauth/revoke`, RFC 7009).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::json;

use super::{is_our_resource, no_store, parse_form, OAuthError, ACCESS_TOKEN_TTL};
use crate::app::grants;
use crate::app::AppState;
use crate::crypto;
use crate::store::oauth::OAuthClient;

/// Authenticates the client of a token or revocation request: HTTP Basic
/// (`client_secret_basic`), `client_secret` in the form
/// (`client_secret_post`), or just `client_id` for a public client (`none`).
/// An unknown client or a wrong secret is 401 `invalid_client`.
pub async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<OAuthClient, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        });
    let (client_id, secret) = match basic {
        Some(encoded) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::invalid_client("Malformed Basic credentials."))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client("Malformed Basic credentials."))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded.
            let unescape = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let id = unescape(id);
            if form.get("client_id").is_some_and(|f| *f != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Basic credentials",
                ));
            }
            (id, Some(unescape(secret)))
        }
        None => {
            let id = form
                .get("client_id")
                .cloned()
                .ok_or_else(|| OAuthError::invalid_client("client_id is missing."))?;
            (id, form.get("client_secret").cloned())
        }
    };
    let client = state.store.client(&client_id).await?.ok_or_else(|| {
        OAuthError::invalid_client("Unknown client_id. Register the client again.")
    })?;
    match (&client.secret_hash, secret) {
        (None, None) => Ok(client),
        (None, Some(_)) => Err(OAuthError::invalid_client(
            "This client is public (token_endpoint_auth_method none) and has no secret.",
        )),
        (Some(_), None) => Err(OAuthError::invalid_client(
            "This client must authenticate with its client_secret.",
        )),
        (Some(hash), Some(secret)) => {
            if crypto::looks_like(super::CLIENT_SECRET_PREFIX, &secret)
                && crypto::verify(&secret, hash)
            {
                Ok(client)
            } else {
                Err(OAuthError::invalid_client("Wrong client_secret."))
            }
        }
    }
}

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = parse_form(&body)?;
    let client = authenticate_client(&state, &headers, &form).await?;
    if let Some(resource) = form.get("resource") {
        if !is_our_resource(&state, resource) {
            return Err(OAuthError::bad(
                "invalid_target",
                format!(
                    "This server issues tokens only for {}",
                    super::resource(&state)
                ),
            ));
        }
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = required(&form, "code")?;
            let verifier = required(&form, "code_verifier").map_err(|_| {
                OAuthError::invalid_request("code_verifier is missing (PKCE is required)")
            })?;
            let redirect_uri = form.get("redirect_uri").map(String::as_str);
            let tokens =
                grants::exchange_code(&state, &client, code, verifier, redirect_uri).await?;
            Ok(token_response(tokens))
        }
        Some("refresh_token") => {
            let presented = required(&form, "refresh_token")?;
            let scope = form.get("scope").map(String::as_str);
            let tokens = grants::refresh(&state, &client, presented, scope).await?;
            Ok(token_response(tokens))
        }
        Some(other) => Err(OAuthError::bad(
            "unsupported_grant_type",
            format!("grant_type {other} is not supported; use authorization_code or refresh_token"),
        )),
        None => Err(OAuthError::invalid_request("grant_type is missing")),
    }
}

fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, OAuthError> {
    form.get(name)
        .map(String::as_str)
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
}

/// The token endpoint's JSON answer (never cached).
fn token_response(tokens: grants::Tokens) -> Response {
    let mut resp = Json(json!({
        "access_token": tokens.access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL.as_secs(),
        "refresh_token": tokens.refresh,
        "scope": tokens.scope,
    }))
    .into_response();
    no_store(&mut resp);
    resp
}

impl From<grants::GrantError> for OAuthError {
    fn from(e: grants::GrantError) -> Self {
        match e {
            grants::GrantError::InvalidGrant(m) => OAuthError::invalid_grant(m),
            grants::GrantError::InvalidScope(m) => OAuthError::bad("invalid_scope", m),
            grants::GrantError::Internal(e) => e.into(),
        }
    }
}

/// `POST /oauth/revoke` (RFC 7009): revoking a refresh token ends its whole
/// grant; revoking an access token ends that token. Answers 200 for tokens
/// it does not know, as the RFC asks.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = parse_form(&body)?;
    let client = authenticate_client(&state, &headers, &form).await?;
    let presented = required(&form, "token")?;
    grants::revoke(&state, &client, presented).await?;
    let mut resp = StatusCode::OK.into_response();
    no_store(&mut resp);
    Ok(resp)
}

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

use super::{
    is_our_resource, no_store, parse_form, parse_scope, pkce_matches, OAuthError,
    ACCESS_TOKEN_PREFIX, ACCESS_TOKEN_TTL, CODE_PREFIX, REFRESH_TOKEN_PREFIX, REFRESH_TOKEN_TTL,
};
use crate::app::AppState;
use crate::crypto;
use crate::store::oauth::{
    CodeClaim, OAuthClient, OAuthGrant, OAuthToken, RefreshSpend, TokenKind,
};

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
        Some("authorization_code") => exchange_code(&state, &client, &form).await,
        Some("refresh_token") => refresh(&state, &client, &form).await,
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

/// Looks a presented secret up by hash, confirming in constant time; None
/// for anything that does not have the shape of a `prefix` secret.
async fn lookup_token(
    state: &AppState,
    prefix: &str,
    presented: &str,
) -> Result<Option<(OAuthToken, OAuthGrant)>, OAuthError> {
    if !crypto::looks_like(prefix, presented) {
        return Ok(None);
    }
    let hash = crypto::hash(presented);
    let found = state.store.token(&hash).await?;
    Ok(found.filter(|_| crypto::verify(presented, &hash)))
}

async fn exchange_code(
    state: &AppState,
    client: &OAuthClient,
    form: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let code = required(form, "code")?;
    let verifier = required(form, "code_verifier")
        .map_err(|_| OAuthError::invalid_request("code_verifier is missing (PKCE is required)"))?;
    let invalid =
        || OAuthError::invalid_grant("The authorization code is invalid, expired or used.");
    if !crypto::looks_like(CODE_PREFIX, code) {
        return Err(invalid());
    }
    let now = state.now();
    let code_hash = crypto::hash(code);
    let claimed = match state.store.claim_code(&code_hash, now).await? {
        CodeClaim::Claimed(c) => c,
        CodeClaim::Spent(c) => {
            // A replayed code: whoever holds it may have stolen it. End every
            // token issued with it (RFC 6749 §4.1.2).
            if state.store.revoke_grant(&c.grant_id, now).await? {
                tracing::warn!(grant = %c.grant_id, "authorization code replayed; grant revoked");
            }
            return Err(invalid());
        }
        CodeClaim::NotFound => return Err(invalid()),
    };
    if !crypto::verify(code, &claimed.code_hash) || claimed.expires_at <= now {
        return Err(invalid());
    }
    let grant = state
        .store
        .grant(&claimed.grant_id)
        .await?
        .filter(|g| g.revoked_at.is_none())
        .ok_or_else(invalid)?;
    if grant.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "The authorization code was issued to another client.",
        ));
    }
    // The redirect URI of the authorization request, which may be left out
    // of both requests when the client registered only one.
    let same_redirect = match form.get("redirect_uri") {
        Some(uri) => *uri == claimed.redirect_uri,
        None => client.redirect_uris == [claimed.redirect_uri.clone()],
    };
    if !same_redirect {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one of the authorization request.",
        ));
    }
    if !pkce_matches(verifier, &claimed.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge (PKCE S256).",
        ));
    }
    state.store.connect_grant(&grant, now).await?;
    tracing::info!(grant = %grant.id, client = %client.id, tenant = %grant.tenant_id, "MCP client connected");
    issue_tokens(state, &grant, &grant.scope).await
}

async fn refresh(
    state: &AppState,
    client: &OAuthClient,
    form: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let presented = required(form, "refresh_token")?;
    let invalid = || OAuthError::invalid_grant("The refresh token is invalid, expired or revoked.");
    let (tok, grant) = lookup_token(state, REFRESH_TOKEN_PREFIX, presented)
        .await?
        .filter(|(t, _)| t.kind == TokenKind::Refresh)
        .ok_or_else(invalid)?;
    if grant.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "The refresh token was issued to another client.",
        ));
    }
    let now = state.now();
    if grant.revoked_at.is_some() || tok.expires_at <= now {
        return Err(invalid());
    }
    if tok.revoked_at.is_some()
        || state
            .store
            .spend_refresh_token(&tok.token_hash, now)
            .await?
            == RefreshSpend::AlreadySpent
    {
        // A rotated refresh token came back: it leaked, or a copy raced the
        // client. Revoke the family so neither copy keeps working.
        if state.store.revoke_grant(&grant.id, now).await? {
            tracing::warn!(grant = %grant.id, "spent refresh token presented; grant revoked");
        }
        return Err(invalid());
    }
    // A narrower scope may be asked for, never a wider one.
    let scope = match form.get("scope") {
        None => grant.scope.clone(),
        Some(asked) => {
            let granted: Vec<&str> = grant.scope.split(' ').collect();
            let asked =
                parse_scope(Some(asked)).filter(|s| s.split(' ').all(|x| granted.contains(&x)));
            asked.ok_or_else(|| {
                OAuthError::bad("invalid_scope", "scope exceeds what the user granted")
            })?
        }
    };
    issue_tokens(state, &grant, &scope).await
}

/// Issues an access and a refresh token under `grant`.
async fn issue_tokens(
    state: &AppState,
    grant: &OAuthGrant,
    scope: &str,
) -> Result<Response, OAuthError> {
    let now = state.now();
    let access = crypto::generate(ACCESS_TOKEN_PREFIX);
    let refresh = crypto::generate(REFRESH_TOKEN_PREFIX);
    for (secret, kind, ttl) in [
        (&access, TokenKind::Access, ACCESS_TOKEN_TTL),
        (&refresh, TokenKind::Refresh, REFRESH_TOKEN_TTL),
    ] {
        state
            .store
            .insert_token(&OAuthToken {
                token_hash: secret.hash.clone(),
                grant_id: grant.id.clone(),
                kind,
                created_at: now,
                expires_at: now + crate::clock::ms(ttl),
                used_at: None,
                revoked_at: None,
            })
            .await?;
    }
    let mut resp = Json(json!({
        "access_token": access.plaintext,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL.as_secs(),
        "refresh_token": refresh.plaintext,
        "scope": scope,
    }))
    .into_response();
    no_store(&mut resp);
    Ok(resp)
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
    let prefix = if presented.starts_with(REFRESH_TOKEN_PREFIX) {
        REFRESH_TOKEN_PREFIX
    } else {
        ACCESS_TOKEN_PREFIX
    };
    if let Some((tok, grant)) = lookup_token(&state, prefix, presented).await? {
        // Another client's token is left alone (RFC 7009 §2.1).
        if grant.client_id == client.id {
            let now = state.now();
            match tok.kind {
                TokenKind::Refresh => {
                    state.store.revoke_grant(&grant.id, now).await?;
                }
                TokenKind::Access => state.store.revoke_token(&tok.token_hash, now).await?,
            }
        }
    }
    let mut resp = StatusCode::OK.into_response();
    no_store(&mut resp);
    Ok(resp)
}

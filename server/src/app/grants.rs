//! OAuth grants as the domain sees them: the scopes an MCP client can be
//! granted, the lifetimes and shapes of codes and tokens, the resource
//! tokens are bound to, and checking an access token presented to the MCP
//! endpoint: it must be live (not expired, not revoked, its grant not
//! revoked), issued for this server's `/mcp` resource, and its tenant must
//! exist; it carries the scope it was issued with, which a refresh may
//! have narrowed below its grant's. The authorization server itself is the
//! `oauth` adapter.

use std::time::Duration;

use crate::app::AppState;
use crate::crypto;
use crate::error::ApiError;
use crate::store::oauth::{
    CodeClaim, OAuthClient, OAuthGrant, OAuthToken, RefreshSpend, TokenKind,
};
use crate::store::Tenant;

/// Read access: platforms, validation, post status, account status.
pub const SCOPE_READ: &str = "posts:read";
/// Write access: creating posts and upload URLs.
pub const SCOPE_WRITE: &str = "posts:write";
/// Every scope, in the order advertised.
pub const SCOPES: [&str; 2] = [SCOPE_READ, SCOPE_WRITE];

/// The path of the MCP endpoint (the protected resource).
pub const MCP_PATH: &str = "/mcp";
/// Where the protected-resource metadata of `/mcp` is served (RFC 9728 §3.1).
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// Lifetime of an authorization code.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Lifetime of an access token.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(60 * 60);
/// Lifetime of a refresh token (each refresh issues a new one).
pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Prefix of access tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "cpat_";
/// Prefix of refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "cprt_";
/// Prefix of authorization codes.
pub const CODE_PREFIX: &str = "cpcode_";
/// Prefix of client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "cpcs_";
/// Prefix of client ids (not secret).
pub const CLIENT_ID_PREFIX: &str = "cpcl_";

/// A requested `scope` checked and normalized: every scope when none is
/// asked for (ChatGPT omits it on reconnect), else the known ones asked for,
/// in canonical order. `offline_access` is accepted and ignored (refresh
/// tokens are always issued). None when an unknown scope is asked for.
pub fn parse_scope(requested: Option<&str>) -> Option<String> {
    let requested: Vec<&str> = requested.unwrap_or("").split_whitespace().collect();
    if requested.is_empty() {
        return Some(SCOPES.join(" "));
    }
    if requested
        .iter()
        .any(|s| !SCOPES.contains(s) && *s != "offline_access")
    {
        return None;
    }
    let granted: Vec<&str> = SCOPES
        .iter()
        .copied()
        .filter(|s| requested.contains(s))
        .collect();
    if granted.is_empty() {
        // Only offline_access: the full set.
        return Some(SCOPES.join(" "));
    }
    Some(granted.join(" "))
}

/// The issuer: the server's public URL, byte for byte as in the metadata.
pub fn issuer(state: &AppState) -> String {
    state.settings.public_url.clone()
}

/// The canonical URI of the MCP endpoint, the resource tokens are bound to.
pub fn resource(state: &AppState) -> String {
    format!("{}{MCP_PATH}", state.settings.public_url)
}

/// The URL of the MCP endpoint's protected-resource metadata.
pub fn resource_metadata_url(state: &AppState) -> String {
    format!("{}{RESOURCE_METADATA_PATH}", state.settings.public_url)
}

/// A verified OAuth access token: whose it is and what it may do.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub tenant: Tenant,
    pub grant_id: String,
    pub client_id: String,
    /// The scopes this access token carries: its grant's, or fewer when the
    /// refresh that issued it asked for fewer.
    pub scopes: Vec<String>,
}

/// Resolves an access token to its grant; None when it is not a live token
/// of this server's MCP resource.
pub async fn verify_access_token(
    state: &AppState,
    presented: &str,
) -> Result<Option<AccessGrant>, ApiError> {
    if !crypto::looks_like(ACCESS_TOKEN_PREFIX, presented) {
        return Ok(None);
    }
    let hash = crypto::hash(presented);
    let Some((tok, grant)) = state.store.token(&hash).await? else {
        return Ok(None);
    };
    let now = state.now();
    let live = crypto::verify(presented, &hash)
        && tok.kind == TokenKind::Access
        && tok.revoked_at.is_none()
        && tok.expires_at > now
        && grant.revoked_at.is_none()
        // Bound to this resource: a token minted by a server with another
        // public URL (another resource) is refused here.
        && grant.resource == resource(state);
    if !live {
        return Ok(None);
    }
    let Some(tenant) = state.store.tenant(&grant.tenant_id).await? else {
        return Ok(None);
    };
    state.store.touch_grant(&grant.id, now).await?;
    // The token's own scope, never beyond its grant's.
    let granted: Vec<&str> = grant.scope.split(' ').collect();
    let scopes = tok
        .scope
        .split(' ')
        .filter(|s| granted.contains(s))
        .map(str::to_string)
        .collect();
    Ok(Some(AccessGrant {
        tenant,
        grant_id: grant.id,
        client_id: grant.client_id,
        scopes,
    }))
}

/// Why a token request is refused.
#[derive(Debug)]
pub enum GrantError {
    /// The code or refresh token is invalid, expired, spent, or another
    /// client's (`invalid_grant`).
    InvalidGrant(&'static str),
    /// A wider scope than granted was asked for (`invalid_scope`).
    InvalidScope(&'static str),
    Internal(ApiError),
}

impl From<ApiError> for GrantError {
    fn from(e: ApiError) -> Self {
        GrantError::Internal(e)
    }
}

impl From<crate::store::StoreError> for GrantError {
    fn from(e: crate::store::StoreError) -> Self {
        GrantError::Internal(e.into())
    }
}

/// A fresh access and refresh token pair.
#[derive(Debug)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub scope: String,
}

/// Looks a presented secret up by hash, confirming in constant time; None
/// for anything that does not have the shape of a `prefix` secret.
async fn lookup_token(
    state: &AppState,
    prefix: &str,
    presented: &str,
) -> Result<Option<(OAuthToken, OAuthGrant)>, ApiError> {
    if !crypto::looks_like(prefix, presented) {
        return Ok(None);
    }
    let hash = crypto::hash(presented);
    let found = state.store.token(&hash).await?;
    Ok(found.filter(|_| crypto::verify(presented, &hash)))
}

/// Exchanges an authorization code for tokens: the code is single use (a
/// replayed one revokes its grant, RFC 6749 §4.1.2), issued to this client
/// for this redirect URI, and the PKCE verifier must match its S256
/// challenge.
pub async fn exchange_code(
    state: &AppState,
    client: &OAuthClient,
    code: &str,
    verifier: &str,
    redirect_uri: Option<&str>,
) -> Result<Tokens, GrantError> {
    let invalid =
        || GrantError::InvalidGrant("The authorization code is invalid, expired or used.");
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
        return Err(GrantError::InvalidGrant(
            "The authorization code was issued to another client.",
        ));
    }
    // The redirect URI of the authorization request, which may be left out
    // of both requests when the client registered only one.
    let same_redirect = match redirect_uri {
        Some(uri) => uri == claimed.redirect_uri,
        None => client.redirect_uris == [claimed.redirect_uri.clone()],
    };
    if !same_redirect {
        return Err(GrantError::InvalidGrant(
            "redirect_uri differs from the one of the authorization request.",
        ));
    }
    if !crate::crypto::pkce_matches(verifier, &claimed.code_challenge) {
        return Err(GrantError::InvalidGrant(
            "code_verifier does not match the code_challenge (PKCE S256).",
        ));
    }
    state.store.connect_grant(&grant, now).await?;
    tracing::info!(grant = %grant.id, client = %client.id, tenant = %grant.tenant_id, "MCP client connected");
    issue_tokens(state, &grant, &grant.scope, &grant.scope).await
}

/// Rotates a refresh token: it works once, and a spent one presented again
/// revokes its whole grant (RFC 9700 §4.14.2). A narrower `scope` than the
/// refresh token's may be asked for, never a wider one: the new access
/// token carries only the scope asked for, and the new refresh token the
/// same scope as the one presented (RFC 6749 §6), so each later refresh is
/// bounded by what the user granted and chooses its own access scope.
pub async fn refresh(
    state: &AppState,
    client: &OAuthClient,
    presented: &str,
    scope: Option<&str>,
) -> Result<Tokens, GrantError> {
    let invalid = || GrantError::InvalidGrant("The refresh token is invalid, expired or revoked.");
    let (tok, grant) = lookup_token(state, REFRESH_TOKEN_PREFIX, presented)
        .await?
        .filter(|(t, _)| t.kind == TokenKind::Refresh)
        .ok_or_else(invalid)?;
    if grant.client_id != client.id {
        return Err(GrantError::InvalidGrant(
            "The refresh token was issued to another client.",
        ));
    }
    let now = state.now();
    if grant.revoked_at.is_some() || tok.expires_at <= now {
        return Err(invalid());
    }
    if tok.revoked_at.is_some() || tok.used_at.is_some() {
        return Err(replayed(state, &grant, now).await);
    }
    // A narrower scope may be asked for, never a wider one: bounded by the
    // refresh token's scope (and its grant's). Checked before the token is
    // spent, so a refused request leaves it usable.
    let granted: Vec<&str> = grant.scope.split(' ').collect();
    let refresh_scope = tok
        .scope
        .split(' ')
        .filter(|s| granted.contains(s))
        .collect::<Vec<_>>()
        .join(" ");
    let access_scope = match scope {
        None => refresh_scope.clone(),
        Some(asked) => {
            let held: Vec<&str> = refresh_scope.split(' ').collect();
            let asked =
                parse_scope(Some(asked)).filter(|s| s.split(' ').all(|x| held.contains(&x)));
            asked.ok_or(GrantError::InvalidScope(
                "scope exceeds what the user granted",
            ))?
        }
    };
    if state
        .store
        .spend_refresh_token(&tok.token_hash, now)
        .await?
        == RefreshSpend::AlreadySpent
    {
        return Err(replayed(state, &grant, now).await);
    }
    issue_tokens(state, &grant, &access_scope, &refresh_scope).await
}

/// A rotated refresh token came back: it leaked, or a copy raced the
/// client. Revokes the family so neither copy keeps working.
async fn replayed(state: &AppState, grant: &OAuthGrant, now: crate::clock::Millis) -> GrantError {
    match state.store.revoke_grant(&grant.id, now).await {
        Ok(true) => {
            tracing::warn!(grant = %grant.id, "spent refresh token presented; grant revoked");
        }
        Ok(false) => {}
        Err(e) => return e.into(),
    }
    GrantError::InvalidGrant("The refresh token is invalid, expired or revoked.")
}

/// Issues an access token with `access_scope` and a refresh token with
/// `refresh_scope` under `grant`.
async fn issue_tokens(
    state: &AppState,
    grant: &OAuthGrant,
    access_scope: &str,
    refresh_scope: &str,
) -> Result<Tokens, GrantError> {
    let now = state.now();
    let access = crypto::generate(ACCESS_TOKEN_PREFIX);
    let refresh = crypto::generate(REFRESH_TOKEN_PREFIX);
    for (secret, kind, scope, ttl) in [
        (&access, TokenKind::Access, access_scope, ACCESS_TOKEN_TTL),
        (
            &refresh,
            TokenKind::Refresh,
            refresh_scope,
            REFRESH_TOKEN_TTL,
        ),
    ] {
        state
            .store
            .insert_token(&OAuthToken {
                token_hash: secret.hash.clone(),
                grant_id: grant.id.clone(),
                kind,
                scope: scope.to_string(),
                created_at: now,
                expires_at: now + crate::clock::ms(ttl),
                used_at: None,
                revoked_at: None,
            })
            .await?;
    }
    Ok(Tokens {
        access: access.plaintext,
        refresh: refresh.plaintext,
        scope: access_scope.to_string(),
    })
}

/// Revokes a token of `client` (RFC 7009): a refresh token ends its whole
/// grant, an access token only itself. Unknown tokens and other clients'
/// tokens are left alone.
pub async fn revoke(
    state: &AppState,
    client: &OAuthClient,
    presented: &str,
) -> Result<(), ApiError> {
    let prefix = if presented.starts_with(REFRESH_TOKEN_PREFIX) {
        REFRESH_TOKEN_PREFIX
    } else {
        ACCESS_TOKEN_PREFIX
    };
    if let Some((tok, grant)) = lookup_token(state, prefix, presented).await? {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_default_to_all_and_refuse_unknown_ones() {
        assert_eq!(parse_scope(None).unwrap(), "posts:read posts:write");
        assert_eq!(parse_scope(Some("  ")).unwrap(), "posts:read posts:write");
        assert_eq!(
            parse_scope(Some("posts:write posts:read")).unwrap(),
            "posts:read posts:write"
        );
        assert_eq!(parse_scope(Some("posts:read")).unwrap(), "posts:read");
        assert_eq!(
            parse_scope(Some("offline_access")).unwrap(),
            "posts:read posts:write"
        );
        assert!(parse_scope(Some("posts:read admin")).is_none());
    }
}

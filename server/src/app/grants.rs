//! OAuth grants as the domain sees them: the scopes an MCP client can be
//! granted, the lifetimes and shapes of codes and tokens, the resource
//! tokens are bound to, and checking an access token presented to the MCP
//! endpoint: it must be live (not expired, not revoked, its grant not
//! revoked), issued for this server's `/mcp` resource, and its tenant must
//! exist. The authorization server itself is the `oauth` adapter.

use std::time::Duration;

use crate::app::AppState;
use crate::crypto;
use crate::error::ApiError;
use crate::store::oauth::TokenKind;
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
    /// The granted scopes.
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
    Ok(Some(AccessGrant {
        tenant,
        grant_id: grant.id,
        client_id: grant.client_id,
        scopes: grant.scope.split(' ').map(str::to_string).collect(),
    }))
}

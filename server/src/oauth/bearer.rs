//! Checking an OAuth access token presented to the MCP endpoint: it must be
//! live (not expired, not revoked, its grant not revoked), issued for this
//! server's `/mcp` resource, and its tenant must exist. Failures answer 401
//! with `WWW-Authenticate` pointing at the protected-resource metadata, which
//! is how MCP clients discover the authorization server.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{resource, resource_metadata_url, ACCESS_TOKEN_PREFIX, SCOPES};
use crate::error::ApiError;
use crate::secrets;
use crate::state::AppState;
use crate::store::oauth::TokenKind;
use crate::store::Tenant;

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
    if !secrets::looks_like(ACCESS_TOKEN_PREFIX, presented) {
        return Ok(None);
    }
    let hash = secrets::hash(presented);
    let Some((tok, grant)) = state.store.token(&hash).await? else {
        return Ok(None);
    };
    let now = state.now();
    let live = secrets::verify(presented, &hash)
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

/// The 401 of the MCP endpoint: the API's JSON error plus
/// `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` (RFC 9728
/// §5.1), with `error="invalid_token"` when a credential was presented.
pub fn unauthorized(state: &AppState, presented_invalid: bool, message: &str) -> Response {
    let mut challenge = format!(
        "Bearer resource_metadata=\"{}\", scope=\"{}\"",
        resource_metadata_url(state),
        SCOPES.join(" ")
    );
    if presented_invalid {
        challenge.push_str(", error=\"invalid_token\", error_description=\"The access token is invalid, expired or revoked\"");
    }
    let mut resp = ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

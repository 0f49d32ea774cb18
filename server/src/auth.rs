//! Credentials on requests: the tenant's API key (`clawpost-api-key`) and the
//! extension's device token (`Authorization: Bearer`). Both are looked up by
//! hash and compared in constant time; neither is ever logged.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::error::ApiError;
use crate::secrets::{self, API_KEY_PREFIX, DEVICE_TOKEN_PREFIX};
use crate::state::AppState;
use crate::store::{Device, Tenant};

/// The header agents send their API key in.
pub const API_KEY_HEADER: &str = "clawpost-api-key";

/// The bearer token of an `Authorization` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The API key presented on a request: the `clawpost-api-key` header, or a
/// bearer token that has the key's shape.
fn presented_api_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(API_KEY_HEADER) {
        return v.to_str().ok().map(str::trim);
    }
    bearer(headers).filter(|t| t.starts_with(API_KEY_PREFIX))
}

/// Resolves an API key to its tenant.
pub async fn tenant_for_key(state: &AppState, key: &str) -> Result<Option<Tenant>, ApiError> {
    if !secrets::looks_like(API_KEY_PREFIX, key) {
        return Ok(None);
    }
    let hash = secrets::hash(key);
    let tenant = state.store.tenant_by_key_hash(&hash).await?;
    // The lookup matched on the hash; confirm in constant time all the same.
    Ok(tenant.filter(|_| secrets::verify(key, &hash)))
}

/// A request authenticated with a tenant's API key.
#[derive(Debug, Clone)]
pub struct TenantAuth(pub Tenant);

impl FromRequestParts<AppState> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(key) = presented_api_key(&parts.headers) else {
            return Err(ApiError::unauthorized(
                "Missing API key. Send it in the clawpost-api-key header.",
            ));
        };
        match tenant_for_key(state, key).await? {
            Some(t) => Ok(TenantAuth(t)),
            None => Err(ApiError::unauthorized("Invalid API key.")),
        }
    }
}

/// A request that may carry a tenant's API key (public endpoints that show
/// more to the owner). A wrong key counts as none.
#[derive(Debug, Clone)]
pub struct MaybeTenant(pub Option<Tenant>);

impl FromRequestParts<AppState> for MaybeTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match presented_api_key(&parts.headers) {
            Some(key) => Ok(MaybeTenant(tenant_for_key(state, key).await?)),
            None => Ok(MaybeTenant(None)),
        }
    }
}

/// A request from a paired extension, authenticated by its device token.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub device: Device,
    pub tenant_id: String,
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token: String = match bearer(&parts.headers) {
            Some(t) => t.to_string(),
            // Browsers cannot set headers on a WebSocket handshake.
            None => query_param(parts, "token").ok_or_else(|| {
                ApiError::unauthorized("Missing device token (Authorization: Bearer).")
            })?,
        };
        let token = token.as_str();
        let invalid =
            || ApiError::unauthorized("Invalid or revoked device token. Pair the extension again.");
        if !secrets::looks_like(DEVICE_TOKEN_PREFIX, token) {
            return Err(invalid());
        }
        let hash = secrets::hash(token);
        let device = state
            .store
            .device_by_token_hash(&hash)
            .await?
            .ok_or_else(invalid)?;
        if !secrets::verify(token, &hash) {
            return Err(invalid());
        }
        let tenant_id = device.tenant_id.clone().ok_or_else(invalid)?;
        Ok(DeviceAuth { device, tenant_id })
    }
}

fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let q = parts.uri.query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

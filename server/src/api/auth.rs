//! Credentials on requests: the tenant's API key (`clawpost-api-key`) and the
//! extension's device token (`Authorization: Bearer`). Both are looked up by
//! hash and compared in constant time; neither is ever logged.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::app::limits::{self, ClientNet};
use crate::app::AppState;
use crate::crypto::{self, API_KEY_PREFIX, DEVICE_TOKEN_PREFIX};
use crate::dashboard::session;
use crate::error::{ApiError, Code};
use crate::store::{Device, Tenant};

pub use crate::web::{bearer, API_KEY_HEADER};

/// The API key presented on a request: the `clawpost-api-key` header, or a
/// bearer token that has the key's shape.
fn presented_api_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(API_KEY_HEADER) {
        return v.to_str().ok().map(str::trim);
    }
    bearer(headers).filter(|t| t.starts_with(API_KEY_PREFIX))
}

/// The network the request comes from (rate limits count per network).
fn client_net(parts: &Parts, state: &AppState) -> ClientNet {
    ClientNet::of_request(parts, &state.settings.trusted_proxies)
}

/// A request authenticated with a tenant's API key. Wrong keys are limited
/// per client network: past the limit, every API-key request of the
/// network is answered `429 RATE_LIMITED` until the window has passed.
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
        let net = client_net(parts, state);
        match limits::tenant_by_key(state, &net, key).await? {
            Some(t) => Ok(TenantAuth(t)),
            None => Err(ApiError::unauthorized("Invalid API key.")),
        }
    }
}

/// A request that may carry a tenant's API key (public endpoints that show
/// more to the owner). A wrong key counts as none, and against the wrong-key
/// limit of the client's network.
#[derive(Debug, Clone)]
pub struct MaybeTenant(pub Option<Tenant>);

impl FromRequestParts<AppState> for MaybeTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match presented_api_key(&parts.headers) {
            Some(key) => {
                let net = client_net(parts, state);
                Ok(MaybeTenant(limits::tenant_by_key(state, &net, key).await?))
            }
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

impl DeviceAuth {
    /// The lease holder this device is, for the domain's lease rules.
    pub fn holder(&self) -> crate::app::leases::Holder<'_> {
        crate::app::leases::Holder {
            device: &self.device,
            tenant_id: &self.tenant_id,
        }
    }
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Tokens never travel in URLs (logs, proxies and browser history
        // keep URLs). The WebSocket handshake, which cannot set headers in a
        // browser, offers its token as a subprotocol instead.
        if query_param(parts, "token").is_some() {
            return Err(ApiError::unauthorized(
                "The device token goes in the Authorization header (Bearer), never in the URL.",
            ));
        }
        let token: String = match bearer(&parts.headers) {
            Some(t) => t.to_string(),
            None => ws_protocol_token(&parts.headers).ok_or_else(|| {
                ApiError::unauthorized("Missing device token (Authorization: Bearer).")
            })?,
        };
        let token = token.as_str();
        let invalid =
            || ApiError::unauthorized("Invalid or revoked device token. Pair the extension again.");
        if !crypto::looks_like(DEVICE_TOKEN_PREFIX, token) {
            return Err(invalid());
        }
        let hash = crypto::hash(token);
        let device = state
            .store
            .device_by_token_hash(&hash)
            .await?
            .ok_or_else(invalid)?;
        if !crypto::verify(token, &hash) {
            return Err(invalid());
        }
        let tenant_id = device.tenant_id.clone().ok_or_else(invalid)?;
        Ok(DeviceAuth { device, tenant_id })
    }
}

/// The subprotocol a WebSocket handshake names its device token with:
/// `Sec-WebSocket-Protocol: clawpost.device, <token>`.
pub const WS_PROTOCOL: &str = "clawpost.device";

fn ws_protocol_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let offered = headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?;
    let mut parts = offered.split(',').map(str::trim);
    if !parts.any(|p| p == WS_PROTOCOL) {
        return None;
    }
    offered
        .split(',')
        .map(str::trim)
        .find(|p| p.starts_with(DEVICE_TOKEN_PREFIX))
        .map(str::to_string)
}

fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let q = parts.uri.query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A tenant authenticated by its API key, or by a dashboard session whose
/// request carries the session's CSRF token in `x-csrf-token` (JSON calls
/// made from the dashboard's origin).
#[derive(Debug, Clone)]
pub struct ApiKeyOrSession(pub Tenant);

impl FromRequestParts<AppState> for ApiKeyOrSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let has_key =
            parts.headers.contains_key(API_KEY_HEADER) || bearer(&parts.headers).is_some();
        if has_key {
            let TenantAuth(t) = TenantAuth::from_request_parts(parts, state).await?;
            return Ok(ApiKeyOrSession(t));
        }
        let Some(session) = session::from_headers(state, &parts.headers).await? else {
            return Err(ApiError::unauthorized(
                "Missing API key. Send it in the clawpost-api-key header, or sign in to the dashboard.",
            ));
        };
        let token = parts
            .headers
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !session.csrf_ok(token) {
            return Err(ApiError::new(
                Code::CsrfTokenInvalid,
                "Missing or wrong x-csrf-token for this dashboard session.",
            ));
        }
        Ok(ApiKeyOrSession(session.tenant))
    }
}

//! Pairing an extension with a tenant: the extension registers and shows a
//! 6-digit code, the user enters it (API key or dashboard), the extension
//! polls and receives its device token once; or it pairs at once with the
//! user's Google (OpenID) sign-in. The rules are in [`crate::app::pairing`].

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::docs::{JsonBodyErrors, ServerErrors};
use super::{BodyBytes, JsonBody, QueryParams};
use crate::api::auth::bearer;
use crate::api::auth::ApiKeyOrSession;
use crate::app::limits::{self, ClientNet, Limit};
use crate::app::pairing::{self, PairingStatus};
use crate::app::AppState;
use crate::clock::Millis;
use crate::error::{ApiError, Code, ErrorBody};

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    /// A name for the device, shown in the dashboard (e.g. "Chrome on laptop").
    pub name: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterView {
    pub device_id: String,
    /// The 6-digit code the user enters in the dashboard.
    pub pairing_code: String,
    /// Secret for polling `GET /v1/connect/status`.
    pub poll_token: String,
    /// When the code dies (milliseconds since the Unix epoch).
    pub expires_at: Millis,
}

/// Register an extension for pairing. No authentication.
#[utoipa::path(post, path = "/v1/connect/register", tag = "connect",
    request_body(content = Option<RegisterRequest>, description = "Optional: an empty body registers a device without a name"),
    responses(
        JsonBodyErrors, ServerErrors,
        (status = 201, description = "Registered", body = RegisterView),
        (status = 400, description = "INVALID_JSON: the body is not JSON of this shape; INVALID_REQUEST: the body could not be read", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED: too many registrations from this network (20 a minute); wait the Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "TRY_AGAIN: no free pairing code was found; retry", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    net: ClientNet,
    BodyBytes(body): BodyBytes,
) -> Result<(StatusCode, Json<RegisterView>), ApiError> {
    // The body is optional: an empty one means no name.
    let req: RegisterRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RegisterRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(Code::InvalidJson, format!("Invalid JSON: {e}")))?
    };
    limits::hit(&state, Limit::Register, &net).await?;
    let r = pairing::register(&state, req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterView {
            device_id: r.device_id,
            pairing_code: r.pairing_code,
            poll_token: r.poll_token,
            expires_at: r.expires_at,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct StatusQuery {
    pub device_id: String,
    /// Refused: the poll token goes in `Authorization: Bearer`, never in the URL.
    #[param(ignore)]
    pub poll_token: Option<String>,
}

/// Where a registration stands: waiting for its code (`pending`), its code
/// expired unused (`expired`), paired (`paired`), or its device revoked
/// since (`revoked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PairingState {
    Pending,
    Expired,
    Paired,
    Revoked,
}

impl From<&PairingStatus> for PairingState {
    fn from(s: &PairingStatus) -> Self {
        match s {
            PairingStatus::Pending => PairingState::Pending,
            PairingStatus::Expired => PairingState::Expired,
            PairingStatus::Revoked => PairingState::Revoked,
            PairingStatus::Paired { .. } => PairingState::Paired,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub status: PairingState,
    /// The device bearer token: present once, on the first `paired` answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub expires_at: Millis,
}

/// Poll a registration: `pending`, `expired`, or `paired` with the device
/// token (handed out once). The poll token goes in `Authorization: Bearer`;
/// one in the query string is refused.
#[utoipa::path(get, path = "/v1/connect/status", tag = "connect",
    params(StatusQuery),
    security(("poll_token" = [])),
    responses(
        ServerErrors,
        (status = 200, description = "Pairing state", body = StatusView),
        (status = 400, description = "INVALID_REQUEST: deviceId missing, or a malformed query string (`field` names the parameter)", body = ErrorBody),
        (status = 401, description = "UNAUTHORIZED: missing or wrong poll token, or a poll token in the URL", body = ErrorBody),
        (status = 404, description = "NOT_FOUND: no such device registration", body = ErrorBody),
    ))]
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<StatusQuery>,
) -> Result<Json<StatusView>, ApiError> {
    if q.poll_token.is_some() {
        return Err(ApiError::unauthorized(
            "The poll token goes in the Authorization header (Bearer), never in the URL.",
        ));
    }
    let token = bearer(&headers).ok_or_else(|| {
        ApiError::unauthorized("Missing poll token: send it as Authorization: Bearer.")
    })?;
    let (status, expires_at) = pairing::status(&state, &q.device_id, token).await?;
    let (device_token, tenant_id) = match status {
        PairingStatus::Paired {
            ref tenant_id,
            ref device_token,
        } => (device_token.clone(), Some(tenant_id.clone())),
        _ => (None, None),
    };
    Ok(Json(StatusView {
        status: PairingState::from(&status),
        device_token,
        tenant_id,
        expires_at,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairRequest {
    /// The 6-digit code the extension shows.
    pub code: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairView {
    pub device_id: String,
    pub name: String,
    pub tenant_id: String,
    pub paired_at: Millis,
}

/// Pair the extension showing `code` with the caller's tenant. Authenticated
/// by the API key, or by a dashboard session (its cookie plus its CSRF token
/// in `x-csrf-token`).
#[utoipa::path(post, path = "/v1/connect/pair", tag = "connect",
    request_body = PairRequest,
    params(
        ("x-csrf-token" = Option<String>, Header, description = "The dashboard session's CSRF token, with its cookie"),
    ),
    security(("api_key" = []), ("dashboard_session" = [])),
    responses(
        JsonBodyErrors, ServerErrors,
        (status = 200, description = "Paired", body = PairView),
        (status = 400, description = "INVALID_PAIRING_CODE: wrong, used or expired; INVALID_REQUEST: code missing or not 6 digits; INVALID_JSON: the body is not JSON", body = ErrorBody),
        (status = 401, description = "UNAUTHORIZED: missing or invalid API key, and no dashboard session", body = ErrorBody),
        (status = 403, description = "CSRF_TOKEN_INVALID: a session without its CSRF token", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED: too many wrong codes (for this account, from this network or on the server), or too many wrong API keys from this network; wait the Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn pair(
    State(state): State<AppState>,
    net: ClientNet,
    ApiKeyOrSession(tenant): ApiKeyOrSession,
    JsonBody(req): JsonBody<PairRequest>,
) -> Result<Json<PairView>, ApiError> {
    let paired = pairing::pair_with_code(&state, &tenant.id, &net, &req.code).await?;
    Ok(Json(PairView {
        device_id: paired.device.id,
        name: paired.device.name,
        tenant_id: tenant.id,
        paired_at: paired.paired_at,
    }))
}

// --- pairing by sign-in

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GooglePairRequest {
    /// An OpenID ID token from the configured provider (Google by default),
    /// issued to the dashboard's or the extension's client id, with a fresh
    /// `nonce` (each token is accepted once) and a verified email.
    pub id_token: String,
    /// A name for the device, shown in the dashboard.
    pub device_name: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GooglePairView {
    pub device_id: String,
    /// The device bearer token (shown once).
    pub device_token: String,
    pub tenant_id: String,
}

/// What the extension needs to start a Google (OpenID) sign-in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GoogleConfigView {
    /// The provider's issuer.
    pub issuer: String,
    /// Where the sign-in starts (`response_type=id_token`, with a nonce).
    pub authorization_endpoint: String,
    /// The client id to sign in as (the extension's, else the dashboard's).
    pub client_id: String,
}

/// How the extension signs in with Google (or the configured OpenID
/// provider) to pair without a code. 404 when no provider is configured:
/// the 6-digit code is then the way to pair.
#[utoipa::path(get, path = "/v1/connect/google", tag = "connect",
    responses(
        ServerErrors,
        (status = 200, description = "Sign-in is available", body = GoogleConfigView),
        (status = 404, description = "OIDC_NOT_CONFIGURED: no identity provider is configured; pair with the code", body = ErrorBody),
        (status = 502, description = "OIDC_PROVIDER_UNAVAILABLE: the identity provider could not be reached", body = ErrorBody),
    ))]
pub async fn google_config(
    State(state): State<AppState>,
) -> Result<Json<GoogleConfigView>, ApiError> {
    let client_id = state.oidc.extension_sign_in_client_id()?.to_string();
    let authorization_endpoint = state.oidc.authorization_endpoint().await?;
    Ok(Json(GoogleConfigView {
        issuer: state.oidc.issuer().to_string(),
        authorization_endpoint,
        client_id,
    }))
}

/// Pair an extension by the user's Google (OpenID) sign-in, without a code.
/// The account's tenant is created at its first sign-in when the server's
/// sign-up policy admits it (`--signup`: invited emails only by default).
#[utoipa::path(post, path = "/v1/connect/google", tag = "connect",
    request_body = GooglePairRequest,
    responses(
        JsonBodyErrors, ServerErrors,
        (status = 201, description = "Paired", body = GooglePairView),
        (status = 401, description = "INVALID_ID_TOKEN: bad signature, issuer, audience, expired, no nonce or replayed", body = ErrorBody),
        (status = 403, description = "EMAIL_NOT_VERIFIED: the provider does not vouch for the account's email; SIGNUP_CLOSED: the account has not signed in before and the server's sign-up policy does not admit it (ask the operator for an invitation)", body = ErrorBody),
        (status = 404, description = "OIDC_NOT_CONFIGURED: no identity provider is configured; pair with the code", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED: too many sign-ins from this network (30 a minute); wait the Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 502, description = "OIDC_PROVIDER_UNAVAILABLE: the identity provider could not be reached", body = ErrorBody),
    ))]
pub async fn connect_google(
    State(state): State<AppState>,
    net: ClientNet,
    JsonBody(req): JsonBody<GooglePairRequest>,
) -> Result<(StatusCode, Json<GooglePairView>), ApiError> {
    limits::hit(&state, Limit::SignIn, &net).await?;
    let paired = pairing::pair_with_id_token(&state, &req.id_token, req.device_name).await?;
    Ok((
        StatusCode::CREATED,
        Json(GooglePairView {
            device_id: paired.device_id,
            device_token: paired.device_token,
            tenant_id: paired.tenant_id,
        }),
    ))
}

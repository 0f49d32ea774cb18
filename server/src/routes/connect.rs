//! Pairing an extension with a tenant: the extension registers and shows a
//! 6-digit code, the user enters it (API key or dashboard), the extension
//! polls and receives its device token once.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{BodyBytes, JsonBody, QueryParams};
use crate::auth::bearer;
use crate::clock::Millis;
use crate::dashboard::session::ApiKeyOrSession;
use crate::error::{ApiError, ErrorBody};
use crate::secrets::{self, DEVICE_TOKEN_PREFIX, POLL_TOKEN_PREFIX};
use crate::state::AppState;
use crate::store::{Device, PairOutcome};

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
    request_body(content = RegisterRequest, description = "Optional"),
    responses((status = 201, description = "Registered", body = RegisterView)))]
pub async fn register(
    State(state): State<AppState>,
    BodyBytes(body): BodyBytes,
) -> Result<(StatusCode, Json<RegisterView>), ApiError> {
    // The body is optional: an empty one means no name.
    let req: RegisterRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RegisterRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("INVALID_JSON", format!("Invalid JSON: {e}")))?
    };
    let name = device_name(req.name);
    let now = state.now();
    let poll = secrets::generate(POLL_TOKEN_PREFIX);
    let mut device = Device {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: None,
        name,
        pairing_code: None,
        code_expires_at: now + state.settings.pairing_code_ttl_ms,
        poll_token_hash: poll.hash,
        token_issued: false,
        paired_at: None,
        last_seen_at: None,
        revoked_at: None,
        pack_version: None,
        created_at: now,
    };
    // A live code is unique; retry the rare collision with a fresh one.
    for _ in 0..20 {
        let code = secrets::pairing_code();
        device.pairing_code = Some(code.clone());
        if state.store.register_device(&device).await? {
            return Ok((
                StatusCode::CREATED,
                Json(RegisterView {
                    device_id: device.id,
                    pairing_code: code,
                    poll_token: poll.plaintext,
                    expires_at: device.code_expires_at,
                }),
            ));
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "TRY_AGAIN",
        "No pairing code is free right now. Try again.",
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct StatusQuery {
    pub device_id: String,
    /// The poll token from register (or send it as `Authorization: Bearer`).
    pub poll_token: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// `pending`, `expired` or `paired`.
    pub status: &'static str,
    /// The device bearer token: present once, on the first `paired` answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub expires_at: Millis,
}

/// Poll a registration: `pending`, `expired`, or `paired` with the device
/// token (handed out once).
#[utoipa::path(get, path = "/v1/connect/status", tag = "connect",
    params(StatusQuery),
    responses(
        (status = 200, description = "Pairing state", body = StatusView),
        (status = 401, description = "Wrong poll token", body = ErrorBody),
        (status = 404, description = "Unknown device", body = ErrorBody),
    ))]
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<StatusQuery>,
) -> Result<Json<StatusView>, ApiError> {
    let token = q
        .poll_token
        .as_deref()
        .or_else(|| bearer(&headers))
        .ok_or_else(|| ApiError::unauthorized("Missing pollToken."))?;
    let device = state
        .store
        .device(&q.device_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such device registration."))?;
    if !secrets::verify(token, &device.poll_token_hash) {
        return Err(ApiError::unauthorized("Wrong pollToken for this device."));
    }
    let view = |status, device_token, tenant_id| StatusView {
        status,
        device_token,
        tenant_id,
        expires_at: device.code_expires_at,
    };
    if device.revoked_at.is_some() {
        return Ok(Json(view("revoked", None, None)));
    }
    match &device.tenant_id {
        Some(tenant) => {
            let mut token = None;
            if !device.token_issued {
                let t = secrets::generate(DEVICE_TOKEN_PREFIX);
                if state.store.issue_device_token(&device.id, &t.hash).await? {
                    token = Some(t.plaintext);
                }
            }
            Ok(Json(view("paired", token, Some(tenant.clone()))))
        }
        None if device.code_expires_at <= state.now() => Ok(Json(view("expired", None, None))),
        None => Ok(Json(view("pending", None, None))),
    }
}

/// A device's display name from what the extension sent: trimmed, at most
/// 80 characters, "Browser extension" when empty.
pub fn device_name(name: Option<String>) -> String {
    name.map(|n| n.trim().chars().take(80).collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Browser extension".to_string())
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
        ("clawpost-api-key" = Option<String>, Header, description = "Your API key (or a dashboard session)"),
        ("x-csrf-token" = Option<String>, Header, description = "The dashboard session's CSRF token, with its cookie"),
    ),
    responses(
        (status = 200, description = "Paired", body = PairView),
        (status = 400, description = "INVALID_PAIRING_CODE: wrong, used or expired", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 403, description = "CSRF_TOKEN_INVALID: a session without its CSRF token", body = ErrorBody),
        (status = 429, description = "TOO_MANY_ATTEMPTS", body = ErrorBody),
    ))]
pub async fn pair(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiKeyOrSession(tenant): ApiKeyOrSession,
    JsonBody(req): JsonBody<PairRequest>,
) -> Result<Json<PairView>, ApiError> {
    pair_with_code(&state, &tenant.id, addr, &req.code)
        .await
        .map(Json)
}

/// Pairs by code on behalf of a tenant, limiting wrong codes per tenant and
/// per client address so the code space cannot be searched. Attempts are
/// serialized within a server process; instances sharing a PostgreSQL
/// database can each admit one attempt past the limit at the same moment.
pub async fn pair_with_code(
    state: &AppState,
    tenant_id: &str,
    addr: SocketAddr,
    code: &str,
) -> Result<PairView, ApiError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_field(
            "code",
            "code must be the 6 digits the extension shows",
        ));
    }
    // Checking the limits, trying the code and recording a failure happen
    // one attempt at a time, or a burst of guesses would all pass the check
    // before any failure is recorded.
    static ATTEMPTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = ATTEMPTS.lock().await;
    let now = state.now();
    let s = &state.settings;
    let since = now - s.pair_failure_window_ms;
    let scopes = [format!("tenant:{tenant_id}"), format!("addr:{}", addr.ip())];
    let limits = [s.pair_failures_per_tenant, s.pair_failures_per_address];
    for (scope, limit) in scopes.iter().zip(limits) {
        if state.store.pair_failures_since(scope, since).await? >= limit {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_ATTEMPTS",
                "Too many wrong pairing codes. Wait a few minutes, then try again.",
            )
            .with_retry_after((s.pair_failure_window_ms / 1000) as u64));
        }
    }
    match state.store.pair_device(code, tenant_id, now).await? {
        PairOutcome::Paired(device) => {
            tracing::info!(device = %device.id, tenant = %tenant_id, "device paired");
            Ok(PairView {
                device_id: device.id,
                name: device.name,
                tenant_id: tenant_id.to_string(),
                paired_at: now,
            })
        }
        PairOutcome::NoSuchCode => {
            state.store.record_pair_failure(&scopes, now).await?;
            Err(ApiError::bad_request(
                "INVALID_PAIRING_CODE",
                "No extension is waiting with that code (wrong, used or expired). Check the code the extension shows.",
            )
            .with_field("code"))
        }
    }
}

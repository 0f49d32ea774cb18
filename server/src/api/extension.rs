//! Endpoints of the paired browser extension (device token): pull a job,
//! report progress, ack the result.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use extension_core::{AckRequest, LeasedJob, ProgressRequest};
use serde::{Deserialize, Serialize};

use super::docs::{DeviceErrors, JsonBodyErrors, ServerErrors};
use super::{JsonBody, QueryParams};
use crate::api::auth::DeviceAuth;
use crate::app::jobs::JobView;
use crate::app::{leases, AppState};
use crate::clock::Millis;
use crate::error::{ApiError, ErrorBody};
use crate::store::JobRecord;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// Seconds to wait for a job before answering 204 (0 to 25; default 0).
    #[param(minimum = 0, maximum = 25)]
    pub wait: Option<u64>,
}

fn leased(job: &JobRecord) -> LeasedJob {
    LeasedJob {
        id: job.id.clone(),
        job_type: job.job_type,
        platform: job.platform,
        text: job.text.clone(),
        media_paths: job.media_paths.clone(),
        platform_payload: job.platform_payload.clone(),
        lease_expires_at: job.lease_expires_at.unwrap_or_default(),
        attempt: job.attempts,
    }
}

/// Lease the tenant's oldest queued job. 204 when none is (or becomes,
/// within `wait` seconds) available.
#[utoipa::path(get, path = "/v1/extension/pull", tag = "extension",
    params(PullQuery),
    security(("device_token" = [])),
    responses(
        DeviceErrors, ServerErrors,
        (status = 200, description = "A leased job", body = LeasedJob),
        (status = 204, description = "No job"),
        (status = 400, description = "INVALID_REQUEST: wait is not 0 to 25 seconds", body = ErrorBody),
    ))]
pub async fn pull(
    State(state): State<AppState>,
    auth: DeviceAuth,
    QueryParams(q): QueryParams<PullQuery>,
) -> Result<Response, ApiError> {
    let wait = Duration::from_secs(q.wait.unwrap_or(0));
    match leases::lease(&state, auth.holder(), wait).await? {
        Some(job) => Ok(Json(leased(&job)).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// The answer to a progress report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgressView {
    pub job_id: String,
    /// The renewed lease deadline (milliseconds since the Unix epoch).
    pub lease_expires_at: Millis,
    /// Set once `submitting` was reported.
    pub submitting_at: Option<Millis>,
}

/// Report progress on a leased job and renew the lease. Report
/// `submitting` right before clicking the platform's submit control: if the
/// lease then runs out, the job fails with `outcome_unknown` instead of
/// being handed out again.
#[utoipa::path(post, path = "/v1/extension/progress", tag = "extension",
    request_body = ProgressRequest,
    security(("device_token" = [])),
    responses(
        JsonBodyErrors, DeviceErrors, ServerErrors,
        (status = 200, description = "Recorded; lease renewed", body = ProgressView),
        (status = 404, description = "NOT_FOUND: no such job of this device's tenant", body = ErrorBody),
        (status = 409, description = "LEASE_LOST: this device does not hold a live lease", body = ErrorBody),
    ))]
pub async fn progress(
    State(state): State<AppState>,
    auth: DeviceAuth,
    JsonBody(req): JsonBody<ProgressRequest>,
) -> Result<Json<ProgressView>, ApiError> {
    let job = leases::renew(&state, auth.holder(), &req).await?;
    Ok(Json(ProgressView {
        job_id: job.id,
        lease_expires_at: job.lease_expires_at.unwrap_or_default(),
        submitting_at: job.submitting_at,
    }))
}

/// Report a job's result. Only the lease holder may ack; an identical repeat
/// is accepted, a different one is 409.
#[utoipa::path(post, path = "/v1/extension/ack", tag = "extension",
    request_body = AckRequest,
    security(("device_token" = [])),
    responses(
        JsonBodyErrors, DeviceErrors, ServerErrors,
        (status = 200, description = "Recorded (or an identical repeat)", body = JobView),
        (status = 400, description = "INVALID_JSON: the body is not JSON; INVALID_REQUEST: a field is missing, of the wrong type, or does not fit the status, `postUrl` is not an https URL on the platform's own site, `error` is over 1 KB or `details` over 8 KB of JSON (`field` names it)", body = ErrorBody),
        (status = 404, description = "NOT_FOUND: no such job of this device's tenant", body = ErrorBody),
        (status = 409, description = "ACK_CONFLICT: not the lease holder, or the job already ended differently", body = ErrorBody),
    ))]
pub async fn ack(
    State(state): State<AppState>,
    auth: DeviceAuth,
    JsonBody(req): JsonBody<AckRequest>,
) -> Result<Json<JobView>, ApiError> {
    let job = leases::complete(&state, auth.holder(), &req).await?;
    Ok(Json(JobView::owner(&job)))
}

/// The answer of `GET /v1/extension/selectors` (the served
/// [`extension_core::pack_set::PackSet`]), for the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelectorSetView {
    /// The packs' versions, joined (for example `x-2026.07.1+linkedin-2026.08.0`).
    pub version: String,
    /// Hex SHA-256 of the packs' content; the `ETag` is this, quoted.
    pub hash: String,
    /// One pack per platform: selectors and flow steps as JSON data, never code.
    #[schema(value_type = Vec<Object>)]
    pub packs: Vec<serde_json::Value>,
}

/// The selector packs the extension runs: `{version, hash, packs}`. The
/// extension keeps the newest valid set (a malformed one is refused whole)
/// and reports the pack version with every ack. With `If-None-Match` equal
/// to the set's `ETag` (its quoted hash), the answer is 304.
#[utoipa::path(get, path = "/v1/extension/selectors", tag = "extension",
    params(
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the set the extension holds"),
    ),
    security(("device_token" = [])),
    responses(
        DeviceErrors, ServerErrors,
        (status = 200, description = "The pack set: version, content hash and the packs (JSON data, never code)",
            body = SelectorSetView, headers(("ETag" = String, description = "The set's hash, quoted"))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match",
            headers(("ETag" = String, description = "The set's hash, quoted"))),
    ))]
pub async fn selectors(
    State(state): State<AppState>,
    _auth: DeviceAuth,
    headers: axum::http::HeaderMap,
) -> Response {
    let set = &state.settings.selector_packs;
    let etag = format!("\"{}\"", set.hash);
    let unchanged = headers
        .get(axum::http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let etag_header = [
        (axum::http::header::ETAG, etag.clone()),
        (axum::http::header::CACHE_CONTROL, "no-cache".to_string()),
    ];
    if unchanged {
        return (StatusCode::NOT_MODIFIED, etag_header).into_response();
    }
    (StatusCode::OK, etag_header, Json(set.as_ref())).into_response()
}

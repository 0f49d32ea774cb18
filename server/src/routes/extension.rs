//! Endpoints of the paired browser extension (device token): pull a job,
//! report progress, ack the result.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use extension_core::{
    AckRequest, AckStatus, JobErrorCode, JobStatus, JobType, LeasedJob, ProgressRequest,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{JsonBody, QueryParams};
use crate::auth::DeviceAuth;
use crate::clock::Millis;
use crate::error::{ApiError, ErrorBody};
use crate::jobs::JobView;
use crate::state::AppState;
use crate::store::{AckOutcome, Completion, JobRecord, ProgressOutcome};

/// Largest failure diagnostic an ack may carry (JSON bytes).
pub const MAX_DIAGNOSTIC_BYTES: usize = 32 * 1024;

/// Longest long-poll: a service worker fetch longer than 30 s is killed.
pub const MAX_WAIT_SECS: u64 = 25;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PullQuery {
    /// Seconds to wait for a job before answering 204 (0 to 25; default 0).
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
        (status = 200, description = "A leased job", body = LeasedJob),
        (status = 204, description = "No job"),
        (status = 401, description = "Invalid device token", body = ErrorBody),
    ))]
pub async fn pull(
    State(state): State<AppState>,
    auth: DeviceAuth,
    QueryParams(q): QueryParams<PullQuery>,
) -> Result<Response, ApiError> {
    let wait = q.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::invalid_field(
            "wait",
            format!("wait must be 0 to {MAX_WAIT_SECS} seconds"),
        ));
    }
    state
        .store
        .touch_device(&auth.device.id, state.now())
        .await?;
    crate::startup::expire_leases(&state).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let channel = state.notifier.channel(&auth.tenant_id);
    loop {
        // Register interest before looking, so a job created in between wakes us.
        let notified = channel.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = state.now();
        if let Some(job) = state
            .store
            .lease_next(
                &auth.tenant_id,
                &auth.device.id,
                now,
                state.settings.lease_ms,
                &state.settings.post_interval_ms,
            )
            .await?
        {
            tracing::info!(job = %job.id, device = %auth.device.id, attempt = job.attempts, "job leased");
            return Ok(Json(leased(&job)).into_response());
        }
        tokio::select! {
            _ = &mut notified => continue,
            _ = tokio::time::sleep_until(deadline) => return Ok(StatusCode::NO_CONTENT.into_response()),
        }
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

fn not_found(job_id: &str) -> ApiError {
    ApiError::not_found(format!("No job with id {job_id:?} for this device."))
}

/// Report progress on a leased job and renew the lease. Report
/// `submitting` right before clicking the platform's submit control: if the
/// lease then runs out, the job fails with `outcome_unknown` instead of
/// being handed out again.
#[utoipa::path(post, path = "/v1/extension/progress", tag = "extension",
    request_body = ProgressRequest,
    security(("device_token" = [])),
    responses(
        (status = 200, description = "Recorded; lease renewed", body = ProgressView),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "LEASE_LOST: this device does not hold a live lease", body = ErrorBody),
    ))]
pub async fn progress(
    State(state): State<AppState>,
    auth: DeviceAuth,
    JsonBody(req): JsonBody<ProgressRequest>,
) -> Result<Json<ProgressView>, ApiError> {
    let now = state.now();
    let outcome = state
        .store
        .report_progress(
            &req.job_id,
            &auth.device.id,
            req.stage,
            now,
            state.settings.lease_ms,
        )
        .await?;
    match outcome {
        ProgressOutcome::Accepted(job) => Ok(Json(ProgressView {
            job_id: job.id,
            lease_expires_at: job.lease_expires_at.unwrap_or_default(),
            submitting_at: job.submitting_at,
        })),
        ProgressOutcome::NotHolder(job) if job.tenant_id == auth.tenant_id => Err(ApiError::conflict(
            "LEASE_LOST",
            format!("This device no longer holds a live lease on job {} (status {}). Do not submit.", job.id, job.status.as_str()),
        )),
        _ => Err(not_found(&req.job_id)),
    }
}

fn ack_hash(req: &AckRequest) -> String {
    let canonical = serde_json::json!({
        "status": req.status, "postUrl": req.post_url, "error": req.error,
        "errorCode": req.error_code, "details": req.details,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn completion(req: &AckRequest, job: Option<&JobRecord>) -> Result<Completion, ApiError> {
    let status = match req.status {
        AckStatus::Succeeded => {
            if req.error_code.is_some() {
                return Err(ApiError::invalid_field(
                    "errorCode",
                    "a succeeded ack carries no errorCode",
                ));
            }
            if let Some(u) = &req.post_url {
                let ok = url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
                if !ok {
                    return Err(ApiError::invalid_field(
                        "postUrl",
                        "postUrl must be an http(s) URL",
                    ));
                }
            }
            match job.map(|j| j.job_type) {
                Some(JobType::Post) if req.post_url.is_none() => {
                    return Err(ApiError::invalid_field(
                        "postUrl",
                        "a succeeded post needs its postUrl",
                    ));
                }
                Some(JobType::FacebookGroupJoin | JobType::FacebookGroupStatus) => {
                    let state = req.details.as_ref().and_then(|d| d.get("buttonState"));
                    let valid = state
                        .cloned()
                        .and_then(|s| serde_json::from_value::<extension_core::ButtonState>(s).ok())
                        .is_some();
                    if !valid {
                        return Err(ApiError::invalid_field(
                            "details.buttonState",
                            "a finished group job needs details.buttonState: joined, requested or not_member",
                        ));
                    }
                }
                _ => {}
            }
            JobStatus::Succeeded
        }
        AckStatus::Failed => JobStatus::Failed,
    };
    if let Some(d) = &req.diagnostic {
        if !d.is_object() {
            return Err(ApiError::invalid_field(
                "diagnostic",
                "diagnostic must be an object",
            ));
        }
        if d.to_string().len() > MAX_DIAGNOSTIC_BYTES {
            return Err(ApiError::invalid_field(
                "diagnostic",
                format!("diagnostic must be at most {MAX_DIAGNOSTIC_BYTES} bytes of JSON"),
            ));
        }
    }
    if let Some(d) = &req.details {
        if !d.is_object() {
            return Err(ApiError::invalid_field(
                "details",
                "details must be an object",
            ));
        }
    }
    let (error, error_code) = match req.status {
        AckStatus::Succeeded => (None, None),
        AckStatus::Failed => {
            let code = req.error_code.unwrap_or(JobErrorCode::UnknownError);
            let message = req
                .error
                .clone()
                .unwrap_or_else(|| code.default_message().to_string());
            (Some(message), Some(code.as_str().to_string()))
        }
    };
    Ok(Completion {
        status,
        post_url: req.post_url.clone(),
        error,
        error_code,
        details: req.details.clone(),
        diagnostic: req.diagnostic.clone(),
        pack_version: req.pack_version.clone(),
        ack_hash: ack_hash(req),
    })
}

/// Report a job's result. Only the lease holder may ack; an identical repeat
/// is accepted, a different one is 409.
#[utoipa::path(post, path = "/v1/extension/ack", tag = "extension",
    request_body = AckRequest,
    security(("device_token" = [])),
    responses(
        (status = 200, description = "Recorded (or an identical repeat)", body = JobView),
        (status = 400, description = "Invalid ack", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "ACK_CONFLICT: not the lease holder, or the job already ended differently", body = ErrorBody),
    ))]
pub async fn ack(
    State(state): State<AppState>,
    auth: DeviceAuth,
    JsonBody(req): JsonBody<AckRequest>,
) -> Result<Json<JobView>, ApiError> {
    let job = state
        .store
        .job(&req.job_id)
        .await?
        .filter(|j| j.tenant_id == auth.tenant_id)
        .ok_or_else(|| not_found(&req.job_id))?;
    let completion = completion(&req, Some(&job))?;
    match state
        .store
        .complete_job(&job.id, &auth.device.id, &completion, state.now())
        .await?
    {
        AckOutcome::Completed(job) => {
            tracing::info!(job = %job.id, status = job.status.as_str(), code = ?job.error_code, "job acked");
            Ok(Json(JobView::owner(&job)))
        }
        AckOutcome::Duplicate(job) => Ok(Json(JobView::owner(&job))),
        AckOutcome::Conflict(job) => Err(ApiError::conflict(
            "ACK_CONFLICT",
            format!(
                "Job {} cannot take this ack: it is {} and this device {} its lease.",
                job.id,
                job.status.as_str(),
                if job.device_id.as_deref() == Some(auth.device.id.as_str()) {
                    "held"
                } else {
                    "does not hold"
                }
            ),
        )),
        AckOutcome::NotFound => Err(not_found(&req.job_id)),
    }
}

/// The selector packs the extension runs: `{version, hash, packs}`. The
/// extension keeps the newest valid set (a malformed one is refused whole)
/// and reports the pack version with every ack. With `If-None-Match` equal
/// to the set's `ETag` (its quoted hash), the answer is 304.
#[utoipa::path(get, path = "/v1/extension/selectors", tag = "extension",
    security(("device_token" = [])),
    responses(
        (status = 200, description = "The pack set: version, content hash and the packs (JSON data, never code)"),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 401, description = "Invalid device token", body = ErrorBody),
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

//! Agent-facing endpoints: create a job, read its status, usage.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JsonBody, QueryParams};
use crate::auth::{MaybeTenant, TenantAuth};
use crate::clock::{month_bounds, Millis};
use crate::error::{ApiError, ErrorBody};
use crate::jobs::JobView;
use crate::state::AppState;
use crate::store::{Counts, Tenant};

/// Create a post job (X by default). The body is the same as `POST /v1/jobs`.
#[utoipa::path(post, path = "/v1/jobs/tweet", tag = "jobs",
    request_body(content = Object, description = "{text, platform?, mediaPaths?, idempotencyKey?, platformPayload?}"),
    params(("clawpost-api-key" = String, Header, description = "Your API key")),
    responses(
        (status = 201, description = "Job created", body = JobView),
        (status = 200, description = "Idempotent replay: the job created earlier with this idempotencyKey", body = JobView),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 403, description = "QUOTA_EXCEEDED", body = ErrorBody),
        (status = 409, description = "IDEMPOTENCY_KEY_REUSED: same key, different body", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 503, description = "EXTENSION_NOT_PAIRED", body = ErrorBody),
    ))]
pub async fn create_tweet(
    state: State<AppState>,
    auth: TenantAuth,
    body: JsonBody<Value>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    create_job(state, auth, body).await
}

/// Create a job of any type: `post` (default), `facebook_group_join`,
/// `facebook_group_status` (the group ones take `platformPayload` and no text).
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs",
    request_body(content = Object, description = "{type?, text, platform?, mediaPaths?, idempotencyKey?, platformPayload?}"),
    params(("clawpost-api-key" = String, Header, description = "Your API key")),
    responses(
        (status = 201, description = "Job created", body = JobView),
        (status = 200, description = "Idempotent replay", body = JobView),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 403, description = "QUOTA_EXCEEDED", body = ErrorBody),
        (status = 409, description = "IDEMPOTENCY_KEY_REUSED", body = ErrorBody),
        (status = 503, description = "EXTENSION_NOT_PAIRED", body = ErrorBody),
    ))]
pub async fn create_job(
    State(state): State<AppState>,
    TenantAuth(tenant): TenantAuth,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let created = crate::jobs::create(&state, &tenant, &body).await?;
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(created.job)))
}

/// Get a job's status. No authentication required; with the owner's API key
/// the answer also carries the text, media and tenant.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn get_job(
    State(state): State<AppState>,
    MaybeTenant(tenant): MaybeTenant,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = crate::jobs::current(&state, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No job with id {id:?}.")))?;
    let owner = tenant.is_some_and(|t| t.id == job.tenant_id);
    Ok(Json(if owner {
        JobView::owner(&job)
    } else {
        JobView::public(&job)
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct UsageQuery {
    /// Optional: must be the key's own tenant.
    pub tenant_id: Option<String>,
}

/// Job counts of one platform, or of all.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountsView {
    pub created: i64,
    pub queued: i64,
    pub processing: i64,
    pub succeeded: i64,
    pub failed: i64,
}

impl From<&Counts> for CountsView {
    fn from(c: &Counts) -> Self {
        CountsView {
            created: c.created,
            queued: c.queued,
            processing: c.processing,
            succeeded: c.succeeded,
            failed: c.failed,
        }
    }
}

/// The tenant's usage in the current period (calendar month, UTC).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    pub tenant_id: String,
    /// Period start, milliseconds since the Unix epoch.
    pub period_start: Millis,
    /// Period end (exclusive): when the quota resets.
    pub period_end: Millis,
    /// Jobs allowed per period.
    pub quota: i64,
    /// Jobs created this period (counts against the quota).
    pub used: i64,
    pub remaining: i64,
    /// Bytes of media uploaded this period.
    pub media_bytes: i64,
    #[serde(flatten)]
    pub totals: CountsView,
    /// Counts per platform, keyed by platform name.
    #[schema(value_type = Object)]
    pub by_platform: serde_json::Map<String, Value>,
}

/// Usage for the current period.
#[utoipa::path(get, path = "/v1/usage", tag = "jobs",
    params(UsageQuery, ("clawpost-api-key" = String, Header, description = "Your API key")),
    responses(
        (status = 200, description = "Usage", body = UsageView),
        (status = 401, description = "Missing or invalid API key", body = ErrorBody),
        (status = 403, description = "tenantId is not the key's tenant", body = ErrorBody),
    ))]
pub async fn usage(
    State(state): State<AppState>,
    TenantAuth(tenant): TenantAuth,
    QueryParams(q): QueryParams<UsageQuery>,
) -> Result<Json<UsageView>, ApiError> {
    if q.tenant_id.as_ref().is_some_and(|t| *t != tenant.id) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "tenantId does not belong to this API key.",
        ));
    }
    Ok(Json(usage_view(&state, &tenant).await?))
}

/// The tenant's usage in the current period: `GET /v1/usage`, and the MCP
/// `get_account_status` tool.
pub async fn usage_view(state: &AppState, tenant: &Tenant) -> Result<UsageView, ApiError> {
    let (start, end) = month_bounds(state.now());
    let usage = state.store.usage(&tenant.id, start).await?;
    let media_bytes = state.store.media_bytes_since(&tenant.id, start).await?;
    let by_platform = usage
        .by_platform
        .iter()
        .map(|(p, c)| {
            (
                p.as_str().to_string(),
                serde_json::to_value(CountsView::from(c)).expect("serializes"),
            )
        })
        .collect();
    Ok(UsageView {
        tenant_id: tenant.id.clone(),
        period_start: start,
        period_end: end,
        quota: tenant.quota,
        used: usage.total.created,
        remaining: (tenant.quota - usage.total.created).max(0),
        media_bytes,
        totals: CountsView::from(&usage.total),
        by_platform,
    })
}

//! Agent-facing endpoints: create a job, read its status, usage.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::{JsonBody, QueryParams};
use crate::api::auth::{MaybeTenant, TenantAuth};
use crate::app::jobs::JobView;
use crate::app::usage::{self, UsageView};
use crate::app::AppState;
use crate::error::{ApiError, Code, ErrorBody};

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
    let created = crate::app::jobs::create(&state, &tenant, &body).await?;
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
    let job = crate::app::jobs::current(&state, &id)
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
            Code::Forbidden,
            "tenantId does not belong to this API key.",
        ));
    }
    Ok(Json(usage::of(&state, &tenant).await?))
}

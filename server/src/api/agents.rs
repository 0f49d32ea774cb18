//! Agent-facing endpoints: create a job, read its status, usage.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use extension_core::{JobType, Platform, PlatformPayload};

use super::docs::{ApiKeyErrors, JsonBodyErrors, ServerErrors};
use super::{JsonBody, QueryParams};
use crate::api::auth::{MaybeTenant, TenantAuth};
use crate::app::jobs::JobView;
use crate::app::usage::{self, UsageView};
use crate::app::AppState;
use crate::error::{ApiError, Code, ErrorBody};

/// The body of `POST /v1/jobs` and `POST /v1/jobs/tweet`, for the OpenAPI
/// document. The handlers read the body as JSON and check it themselves (to
/// name the field at fault); unknown fields are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateJobRequest {
    /// `post` (the default), `facebook_group_join` or `facebook_group_status`.
    #[serde(rename = "type")]
    pub job_type: Option<JobType>,
    /// The post's text: posts need it (or, where the platform allows, media);
    /// group jobs take none.
    pub text: Option<String>,
    /// The platform; `x` by default.
    pub platform: Option<Platform>,
    /// Media to attach: `url`s answered by `POST /v1/media/upload` or
    /// `POST /v1/media/upload-url`.
    pub media_paths: Option<Vec<String>>,
    /// Makes the request safe to retry: the same key with the same body
    /// answers the job created first (200); with another body, 409.
    #[schema(min_length = 1, max_length = 255)]
    pub idempotency_key: Option<String>,
    /// Facebook group jobs only: `groupId` or `groupUrl`.
    pub platform_payload: Option<PlatformPayload>,
}

/// The 400 answers of creating a job.
const CREATE_400: &str = "INVALID_JSON (not a JSON object), INVALID_REQUEST (`field` names the field), \
    UNKNOWN_PLATFORM, GROUP_REQUIRED, PLATFORM_PAYLOAD_NOT_SUPPORTED, TEXT_REQUIRED, TEXT_TOO_LONG, \
    MEDIA_REQUIRED, TOO_MANY_MEDIA, UNSUPPORTED_MEDIA_TYPE, MIXED_MEDIA, MEDIA_TOO_LARGE, \
    MEDIA_NOT_UPLOADED, MEDIA_EXPIRED, UNKNOWN_MEDIA, EXTERNAL_MEDIA_NOT_ALLOWED, MEDIA_TYPE_MISMATCH, \
    EMPTY_UPLOAD, INCOMPLETE_UPLOAD: the request breaks a rule; `field` names the field at fault";

/// Create a post job (X by default). The body is the same as `POST /v1/jobs`.
#[utoipa::path(post, path = "/v1/jobs/tweet", tag = "jobs",
    request_body = CreateJobRequest,
    security(("api_key" = [])),
    responses(
        JsonBodyErrors, ApiKeyErrors, ServerErrors,
        (status = 201, description = "Job created", body = JobView),
        (status = 200, description = "Idempotent replay: the job created earlier with this idempotencyKey", body = JobView),
        (status = 400, description = CREATE_400, body = ErrorBody),
        (status = 403, description = "QUOTA_EXCEEDED: the month's job quota is used up", body = ErrorBody),
        (status = 409, description = "IDEMPOTENCY_KEY_REUSED: same key, different body", body = ErrorBody),
        (status = 503, description = "EXTENSION_NOT_PAIRED: pair an extension, then retry", body = ErrorBody),
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
    request_body = CreateJobRequest,
    security(("api_key" = [])),
    responses(
        JsonBodyErrors, ApiKeyErrors, ServerErrors,
        (status = 201, description = "Job created", body = JobView),
        (status = 200, description = "Idempotent replay: the job created earlier with this idempotencyKey", body = JobView),
        (status = 400, description = CREATE_400, body = ErrorBody),
        (status = 403, description = "QUOTA_EXCEEDED: the month's job quota is used up", body = ErrorBody),
        (status = 409, description = "IDEMPOTENCY_KEY_REUSED: same key, different body", body = ErrorBody),
        (status = 503, description = "EXTENSION_NOT_PAIRED: pair an extension, then retry", body = ErrorBody),
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
    security((), ("api_key" = [])),
    responses(
        ServerErrors,
        (status = 200, description = "The job (the owner's view with the owner's API key)", body = JobView),
        (status = 404, description = "NOT_FOUND: no such job", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED: an API key was sent and this network sent too many wrong ones; wait the Retry-After seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
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
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct UsageQuery {
    /// Optional: must be the key's own tenant.
    pub tenant_id: Option<String>,
}

/// Usage for the current period.
#[utoipa::path(get, path = "/v1/usage", tag = "jobs",
    params(UsageQuery),
    security(("api_key" = [])),
    responses(
        ApiKeyErrors, ServerErrors,
        (status = 200, description = "Usage", body = UsageView),
        (status = 400, description = "INVALID_REQUEST: a malformed query string (`field` names the parameter)", body = ErrorBody),
        (status = 403, description = "FORBIDDEN: tenantId is not the key's tenant", body = ErrorBody),
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

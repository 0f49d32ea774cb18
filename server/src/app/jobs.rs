//! Jobs at the API edge: parsing a create request into a valid [`JobRequest`]
//! (the platform rules come from `extension-core`), the one create path that
//! the REST routes and the MCP tools share ([`check`], [`create`]), and the
//! JSON views of a stored job.

use extension_core::media::infer_from_filename;
use extension_core::rules::{validate_post, MediaItem};
use extension_core::{JobStatus, JobType, Platform, PlatformPayload};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::clock::{month_bounds, Millis};
use crate::error::{ApiError, Code};
use crate::store::{CreateOutcome, JobRecord, NewJob, Tenant};

const MAX_IDEMPOTENCY_KEY: usize = 255;
const MAX_MEDIA_URL: usize = 4096;

/// A create-job request that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    pub job_type: JobType,
    pub platform: Platform,
    pub text: String,
    pub media_paths: Vec<String>,
    pub platform_payload: Option<PlatformPayload>,
    pub idempotency_key: Option<String>,
}

fn optional_string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_field(
            field,
            format!("{field} must be a string"),
        )),
    }
}

impl JobRequest {
    /// Parses the JSON body of `POST /v1/jobs` or `POST /v1/jobs/tweet`.
    pub fn parse(body: &Value) -> Result<JobRequest, ApiError> {
        let obj = body.as_object().ok_or_else(|| {
            ApiError::new(Code::InvalidJson, "The request body must be a JSON object.")
        })?;

        let job_type = match optional_string(obj, "type")? {
            None => JobType::Post,
            Some(t) => JobType::parse(&t).ok_or_else(|| {
                ApiError::invalid_field(
                    "type",
                    format!("unknown job type {t:?}: expected post, facebook_group_join or facebook_group_status"),
                )
            })?,
        };
        let platform = match optional_string(obj, "platform")? {
            None => Platform::X,
            Some(p) => p.parse::<Platform>().map_err(|e| {
                ApiError::new(Code::UnknownPlatform, e.to_string()).with_field("platform")
            })?,
        };
        let text = optional_string(obj, "text")?.unwrap_or_default();
        let media_paths = parse_media_paths(obj.get("mediaPaths"))?;
        let platform_payload = parse_payload(obj.get("platformPayload"), platform)?;
        let idempotency_key = optional_string(obj, "idempotencyKey")?;
        if let Some(k) = &idempotency_key {
            if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY {
                return Err(ApiError::invalid_field(
                    "idempotencyKey",
                    format!("idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
                ));
            }
        }

        if job_type.is_group_action() {
            if platform != Platform::Facebook {
                return Err(ApiError::invalid_field(
                    "platform",
                    format!("{} jobs are for platform facebook", job_type.as_str()),
                ));
            }
            if platform_payload.is_none() {
                return Err(ApiError::new(
                    Code::GroupRequired,
                    format!(
                        "{} jobs need platformPayload.groupId or platformPayload.groupUrl",
                        job_type.as_str()
                    ),
                )
                .with_field("platformPayload"));
            }
            if !text.is_empty() {
                return Err(ApiError::invalid_field(
                    "text",
                    format!("{} jobs take no text", job_type.as_str()),
                ));
            }
            if !media_paths.is_empty() {
                return Err(ApiError::invalid_field(
                    "mediaPaths",
                    format!("{} jobs take no media", job_type.as_str()),
                ));
            }
        } else {
            let items: Vec<MediaItem> = media_paths
                .iter()
                .map(|url| {
                    let t = infer_from_filename(url);
                    MediaItem {
                        kind: t.map(|t| t.kind),
                        mime: t.map(|t| t.mime),
                    }
                })
                .collect();
            validate_post(platform, &text, &items)?;
        }

        Ok(JobRequest {
            job_type,
            platform,
            text,
            media_paths,
            platform_payload,
            idempotency_key,
        })
    }

    /// Checks a post against its platform's rules again, with the media
    /// types known for certain (e.g. from uploaded media's records) instead
    /// of those inferred from the URLs. Jobs without media pass.
    pub fn validate_media(&self, items: &[MediaItem]) -> Result<(), ApiError> {
        if self.job_type.is_group_action() {
            return Ok(());
        }
        Ok(validate_post(self.platform, &self.text, items)?)
    }

    /// A digest of what the request asks for, to tell an idempotent replay
    /// from a reused key.
    pub fn request_hash(&self) -> String {
        let canonical = serde_json::json!({
            "type": self.job_type,
            "platform": self.platform,
            "text": self.text,
            "mediaPaths": self.media_paths,
            "platformPayload": self.platform_payload,
        });
        crate::crypto::fingerprint(canonical.to_string().as_bytes())
    }
}

fn parse_media_paths(value: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "mediaPaths",
                "mediaPaths must be an array of URLs",
            ))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("mediaPaths[{i}]");
            let s = item.as_str().ok_or_else(|| {
                ApiError::invalid_field(&field, format!("{field} must be a URL string"))
            })?;
            let ok = s.len() <= MAX_MEDIA_URL
                && url::Url::parse(s)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(ApiError::invalid_field(
                    &field,
                    format!("{field} must be an http(s) URL"),
                ));
            }
            Ok(s.to_string())
        })
        .collect()
}

fn parse_payload(
    value: Option<&Value>,
    platform: Platform,
) -> Result<Option<PlatformPayload>, ApiError> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) if o.is_empty() => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "platformPayload",
                "platformPayload must be an object",
            ))
        }
    };
    if !platform.accepts_platform_payload() {
        return Err(ApiError::new(
            Code::PlatformPayloadNotSupported,
            format!(
                "platformPayload is only for facebook (groups); {} takes none",
                platform
            ),
        )
        .with_field("platformPayload"));
    }
    if let Some(k) = obj.keys().find(|k| *k != "groupId" && *k != "groupUrl") {
        return Err(ApiError::invalid_field(
            &format!("platformPayload.{k}"),
            format!("unknown field platformPayload.{k}: expected groupId or groupUrl"),
        ));
    }
    let group_id =
        optional_string(obj, "groupId").map_err(|e| e.with_field("platformPayload.groupId"))?;
    let group_url =
        optional_string(obj, "groupUrl").map_err(|e| e.with_field("platformPayload.groupUrl"))?;
    if let Some(id) = &group_id {
        if id.is_empty()
            || id.len() > 128
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        {
            return Err(ApiError::invalid_field(
                "platformPayload.groupId",
                "platformPayload.groupId must be a group id (digits) or the group's short name",
            ));
        }
    }
    if let Some(u) = &group_url {
        let valid = url::Url::parse(u).is_ok_and(|url| {
            url.scheme() == "https"
                && url
                    .host_str()
                    .is_some_and(|h| h == "facebook.com" || h.ends_with(".facebook.com"))
                && url.path().starts_with("/groups/")
                && url.path().len() > "/groups/".len()
        });
        if !valid {
            return Err(ApiError::invalid_field(
                "platformPayload.groupUrl",
                "platformPayload.groupUrl must be a https://www.facebook.com/groups/… URL",
            ));
        }
    }
    match (group_id, group_url) {
        (Some(_), Some(_)) => Err(ApiError::invalid_field(
            "platformPayload",
            "give platformPayload.groupId or platformPayload.groupUrl, not both",
        )),
        (group_id, group_url) => Ok(Some(PlatformPayload {
            group_id,
            group_url,
        })),
    }
}

const NOT_PAIRED: &str = "Extension not paired. No active extension is paired for this account. \
    Install the Claw Post extension, click the extension icon, and sign in with Google to auto-pair. \
    If needed, use the Dashboard 6-digit code as fallback.";

/// Checks a create request completely, creating nothing: the body's fields,
/// the platform's rules, and the media it names (which must be the tenant's
/// own live uploads, or allowed external URLs).
pub async fn check(
    state: &AppState,
    tenant: &Tenant,
    body: &Value,
) -> Result<JobRequest, ApiError> {
    let req = JobRequest::parse(body)?;
    let media =
        crate::app::media::job_media(state, &tenant.id, req.platform, &req.media_paths).await?;
    req.validate_media(&media)?;
    Ok(req)
}

/// A job made by [`create`].
#[derive(Debug)]
pub struct Created {
    pub job: JobView,
    /// True when the idempotency key named a job created earlier with the
    /// same request, which is returned instead of a new one.
    pub replayed: bool,
}

/// Creates a job for `tenant` from a request body of `POST /v1/jobs`: the
/// one create path of the REST endpoints and the MCP `create_post` tool.
/// Refuses with `EXTENSION_NOT_PAIRED` (503) without a paired extension,
/// `QUOTA_EXCEEDED` (403) past the month's quota, and
/// `IDEMPOTENCY_KEY_REUSED` (409) for a key used with another request.
pub async fn create(state: &AppState, tenant: &Tenant, body: &Value) -> Result<Created, ApiError> {
    let req = check(state, tenant, body).await?;
    if state.store.paired_device_count(&tenant.id).await? == 0 {
        return Err(ApiError::new(Code::ExtensionNotPaired, NOT_PAIRED));
    }
    let now = state.now();
    let new = NewJob {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.id.clone(),
        request_hash: req.request_hash(),
        job_type: req.job_type,
        platform: req.platform,
        text: req.text,
        media_paths: req.media_paths,
        platform_payload: req.platform_payload,
        idempotency_key: req.idempotency_key,
        created_at: now,
    };
    let (period_start, _) = month_bounds(now);
    match state.store.create_job(&new, tenant.quota, period_start).await? {
        CreateOutcome::Created(job) => {
            tracing::info!(job = %job.id, tenant = %job.tenant_id, platform = %job.platform, "job created");
            state.notifier.job_available(&job.tenant_id);
            Ok(Created {
                job: JobView::owner(&job),
                replayed: false,
            })
        }
        CreateOutcome::Replayed(job) => Ok(Created {
            job: JobView::owner(&job),
            replayed: true,
        }),
        CreateOutcome::KeyReused(job) => Err(ApiError::new(Code::IdempotencyKeyReused,
            format!(
                "idempotencyKey was already used for job {} with a different request body.",
                job.id
            ),
        )
        .with_field("idempotencyKey")),
        CreateOutcome::QuotaExceeded { used, quota } => Err(ApiError::new(Code::QuotaExceeded,
            format!("Quota exceeded: {used} of {quota} jobs used this month. Check usage limits in the Dashboard."),
        )),
    }
}

/// A job by id, its status current: a lease that ran out and that no sweep
/// has seen yet is settled first.
pub async fn current(state: &AppState, id: &str) -> Result<Option<JobRecord>, ApiError> {
    let Some(job) = state.store.job(id).await? else {
        return Ok(None);
    };
    if job.lease_expires_at.is_some_and(|t| t < state.now()) {
        crate::app::leases::expire(state).await?;
        return Ok(state.store.job(id).await?);
    }
    Ok(Some(job))
}

/// A job as the API shows it. The public status view leaves out everything
/// after `details`; the owner (with the tenant's key) sees all of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    #[serde(rename = "type")]
    pub job_type: JobType,
    pub status: JobStatus,
    pub platform: Platform,
    /// Milliseconds since the Unix epoch.
    pub created_at: Millis,
    /// Milliseconds since the Unix epoch.
    pub updated_at: Millis,
    /// The live URL of the published post (succeeded post jobs).
    pub post_url: Option<String>,
    /// What went wrong (failed jobs).
    pub error: Option<String>,
    /// The failure code (failed jobs), e.g. `not_logged_in`.
    pub error_code: Option<String>,
    /// Result details, e.g. `{"buttonState": "joined"}` for group jobs.
    pub details: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_paths: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_payload: Option<PlatformPayload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// How many times the job was handed to an extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i64>,
    /// For failed jobs: what the extension saw (the step, the selectors
    /// tried, the page URL, a sanitized outline of the page). Owner only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<Value>,
}

impl JobView {
    /// What anyone with the job id may see: no text, no media, no tenant.
    pub fn public(job: &JobRecord) -> JobView {
        JobView {
            id: job.id.clone(),
            job_type: job.job_type,
            status: job.status,
            platform: job.platform,
            created_at: job.created_at,
            updated_at: job.updated_at,
            post_url: job.post_url.clone(),
            error: job.error.clone(),
            error_code: job.error_code.clone(),
            details: job.details.clone(),
            tenant_id: None,
            text: None,
            media_paths: None,
            platform_payload: None,
            idempotency_key: None,
            attempts: None,
            diagnostic: None,
        }
    }

    /// Everything, for the tenant that owns the job.
    pub fn owner(job: &JobRecord) -> JobView {
        JobView {
            tenant_id: Some(job.tenant_id.clone()),
            text: Some(job.text.clone()),
            media_paths: Some(job.media_paths.clone()),
            platform_payload: job.platform_payload.clone(),
            idempotency_key: job.idempotency_key.clone(),
            attempts: Some(job.attempts),
            diagnostic: job.diagnostic.clone(),
            ..JobView::public(job)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(body: Value) -> ApiError {
        JobRequest::parse(&body).expect_err("should be refused")
    }

    #[test]
    fn defaults_to_an_x_post() {
        let r = JobRequest::parse(&json!({"text": "hi"})).unwrap();
        assert_eq!(
            (r.job_type, r.platform, r.text.as_str()),
            (JobType::Post, Platform::X, "hi")
        );
    }

    #[test]
    fn refuses_bad_fields_with_the_field_named() {
        assert_eq!(err(json!({"text": ""})).field.as_deref(), Some("text"));
        assert_eq!(
            err(json!({"text": "a", "platform": "myspace"}))
                .code
                .as_str(),
            "UNKNOWN_PLATFORM"
        );
        assert_eq!(
            err(json!({"text": "a", "platformPayload": {"groupId": "1"}}))
                .code
                .as_str(),
            "PLATFORM_PAYLOAD_NOT_SUPPORTED"
        );
        assert_eq!(
            err(json!({"text": "a", "mediaPaths": ["ftp://x/y"]}))
                .field
                .as_deref(),
            Some("mediaPaths[0]")
        );
        assert_eq!(err(json!({"text": 5})).field.as_deref(), Some("text"));
        assert_eq!(err(json!([1])).code.as_str(), "INVALID_JSON");
        assert_eq!(
            err(json!({"type": "facebook_group_join", "platform": "facebook"}))
                .code
                .as_str(),
            "GROUP_REQUIRED"
        );
        assert_eq!(
            err(json!({"text": "a", "platform": "facebook", "platformPayload": {"groupUrl": "https://evil.example/groups/1"}}))
                .field
                .as_deref(),
            Some("platformPayload.groupUrl")
        );
    }

    #[test]
    fn group_jobs_parse() {
        let r = JobRequest::parse(
            &json!({"type": "facebook_group_status", "platform": "facebook",
            "platformPayload": {"groupUrl": "https://www.facebook.com/groups/1577315533418837"}}),
        )
        .unwrap();
        assert_eq!(r.job_type, JobType::FacebookGroupStatus);
        assert!(r.platform_payload.unwrap().group_url.is_some());
    }

    #[test]
    fn request_hash_tells_bodies_apart() {
        let a = JobRequest::parse(&json!({"text": "a", "idempotencyKey": "k"})).unwrap();
        let b = JobRequest::parse(&json!({"text": "b", "idempotencyKey": "k"})).unwrap();
        let a2 = JobRequest::parse(&json!({"text": "a", "idempotencyKey": "k", "platform": "x"}))
            .unwrap();
        assert_ne!(a.request_hash(), b.request_hash());
        assert_eq!(a.request_hash(), a2.request_hash());
    }
}

//! The MCP tools. Each one is a thin shell over the code path the REST API
//! uses ([`crate::app::jobs::create`], [`crate::app::jobs::check`],
//! [`crate::app::media::issue_upload_url`], ...), so validation, error codes,
//! quota and idempotency are the same. The tenant comes only from the
//! verified credential ([`McpCaller`]), never from arguments.
//!
//! Failures the caller can act on (`EXTENSION_NOT_PAIRED`, `QUOTA_EXCEEDED`,
//! a rule broken, ...) are tool results with `isError: true` whose text is
//! the API's error JSON `{"error", "code", "field"}`.

use axum::http::request::Parts;
use extension_core::rules::{all_rules, PlatformRules, TextCounting};
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{tool, tool_handler, tool_router, ErrorData, Json, ServerHandler};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::McpCaller;
use crate::app::grants::{SCOPE_READ, SCOPE_WRITE};
use crate::app::jobs::JobView;
use crate::app::media::UploadUrlRequest;
use crate::app::AppState;
use crate::clock::Millis;
use crate::error::{ApiError, Code};

/// A device counts as online when it was seen this recently.
pub const ONLINE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// The Claw Post MCP server: one per request (stateless), sharing the app state.
#[derive(Clone)]
pub struct ClawPostMcp {
    state: AppState,
}

/// A failed tool call, reported to the model as a tool error.
#[derive(Debug)]
pub struct ToolError(pub ApiError);

impl From<ApiError> for ToolError {
    fn from(e: ApiError) -> Self {
        ToolError(e)
    }
}

impl From<crate::store::StoreError> for ToolError {
    fn from(e: crate::store::StoreError) -> Self {
        ToolError(e.into())
    }
}

impl rmcp::handler::server::tool::IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        let e = self.0;
        let mut body = json!({"error": e.message, "code": e.code});
        if let Some(f) = e.field {
            body["field"] = json!(f);
        }
        Ok(CallToolResult::error(vec![ContentBlock::text(body.to_string())]).into())
    }
}

// ---------------------------------------------------------------------------
// Arguments

/// A post, as `POST /v1/jobs` takes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostArgs {
    /// The post's text. Required for posts; omit it for Facebook group jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Where to publish. Defaults to x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["x", "linkedin", "facebook", "tiktok", "instagram"]))]
    pub platform: Option<String>,
    /// Media URLs returned by get_upload_url (after uploading the file to its uploadUrl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_paths: Option<Vec<String>>,
    /// Facebook only: the group to post to (or to join / check), by groupId or groupUrl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_payload: Option<PlatformPayloadArgs>,
    /// `post` (default); `facebook_group_join` and `facebook_group_status`
    /// take platform facebook, a platformPayload and no text.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["post", "facebook_group_join", "facebook_group_status"]))]
    pub job_type: Option<String>,
}

/// A Facebook group: its id or its URL, not both.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformPayloadArgs {
    /// The group's numeric id or short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// https://www.facebook.com/groups/…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_url: Option<String>,
}

/// The arguments of `create_post`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePostArgs {
    #[serde(flatten)]
    pub post: PostArgs,
    /// Makes retries safe: a repeat with the same key and the same post returns
    /// the job created first instead of a new one (IDEMPOTENCY_KEY_REUSED if
    /// the post differs). 1 to 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The arguments of `get_post_status`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostStatusArgs {
    /// The job id returned by create_post.
    pub job_id: String,
}

/// The arguments of `get_upload_url`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrlArgs {
    /// The file's name; its extension gives the content type (e.g. video.mp4).
    pub filename: String,
    /// Check the file's type and size against this platform before uploading.
    #[serde(default)]
    #[schemars(extend("enum" = ["x", "linkedin", "facebook", "tiktok", "instagram"]))]
    pub platform: Option<String>,
    /// Override the inferred type (must match the extension).
    #[serde(default)]
    pub content_type: Option<String>,
    /// The file's size in bytes; the upload must then be exactly this long.
    #[serde(default)]
    pub bytes: Option<u64>,
}

// ---------------------------------------------------------------------------
// Results

/// What a platform accepts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformInfo {
    /// The value to pass as `platform`.
    pub platform: String,
    pub name: String,
    /// The longest text, as counted by `textCounting`.
    pub max_text_length: usize,
    /// `x_weighted` (X's weighted count: URLs 23, most CJK and emoji 2) or `chars`.
    pub text_counting: String,
    /// The fewest media items a post needs.
    pub min_media: usize,
    /// The most images (GIFs included) per post.
    pub max_images: usize,
    pub max_videos: usize,
    /// Whether images and videos may be mixed in one post.
    pub allows_mixed_media: bool,
    /// The accepted media types.
    pub media_types: Vec<MediaTypeInfo>,
    pub max_image_bytes: u64,
    pub max_gif_bytes: u64,
    pub max_video_bytes: u64,
    /// Whether posts may carry a platformPayload (Facebook groups).
    pub takes_platform_payload: bool,
}

/// An accepted media type.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaTypeInfo {
    pub mime: String,
    /// File extensions, without the dot.
    pub extensions: Vec<String>,
    /// image, gif or video.
    pub kind: String,
}

impl From<&PlatformRules> for PlatformInfo {
    fn from(r: &PlatformRules) -> Self {
        PlatformInfo {
            platform: r.platform.as_str().to_string(),
            name: r.platform.display_name().to_string(),
            max_text_length: r.max_text,
            text_counting: match r.counting {
                TextCounting::XWeighted => "x_weighted",
                TextCounting::Chars => "chars",
            }
            .to_string(),
            min_media: r.min_media,
            max_images: r.max_images,
            max_videos: r.max_videos,
            allows_mixed_media: r.allows_mixed,
            media_types: r
                .accepted_types()
                .map(|t| MediaTypeInfo {
                    mime: t.mime.to_string(),
                    extensions: t.extensions.iter().map(|e| e.to_string()).collect(),
                    kind: t.kind.as_str().to_string(),
                })
                .collect(),
            max_image_bytes: r.max_image_bytes,
            max_gif_bytes: r.max_gif_bytes,
            max_video_bytes: r.max_video_bytes,
            takes_platform_payload: r.takes_platform_payload,
        }
    }
}

/// The answer of `list_platforms`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlatformList {
    pub platforms: Vec<PlatformInfo>,
}

/// A job's status.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostStatus {
    /// The job id; pass it to get_post_status.
    pub job_id: String,
    /// post, facebook_group_join or facebook_group_status.
    #[serde(rename = "type")]
    pub job_type: String,
    /// queued, processing, succeeded or failed.
    pub status: String,
    pub platform: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The live URL of the published post, once succeeded.
    pub post_url: Option<String>,
    /// What went wrong, when failed.
    pub error: Option<String>,
    /// The failure code, e.g. not_logged_in, selector_not_found.
    pub error_code: Option<String>,
    /// Result details, e.g. {"buttonState": "joined"} for group jobs.
    pub details: Option<Value>,
    /// How many times the job was handed to the browser extension.
    pub attempts: Option<i64>,
    /// True when an idempotencyKey returned a job created earlier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed: Option<bool>,
}

impl From<JobView> for PostStatus {
    fn from(v: JobView) -> Self {
        PostStatus {
            job_id: v.id,
            job_type: v.job_type.as_str().to_string(),
            status: v.status.as_str().to_string(),
            platform: v.platform.as_str().to_string(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            post_url: v.post_url,
            error: v.error,
            error_code: v.error_code,
            details: v.details,
            attempts: v.attempts,
            replayed: None,
        }
    }
}

/// The answer of `validate_post`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    /// Whether create_post would accept the post (quota and pairing aside).
    pub valid: bool,
    /// Why not: the message, the code (as create_post would answer) and the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The text's length as the platform counts it, with its limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_text_length: Option<usize>,
}

/// The answer of `get_upload_url`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrl {
    /// PUT the file's bytes here, with the header Content-Type: resolvedContentType.
    pub upload_url: String,
    /// Pass this in mediaPaths of create_post; readable for 24 hours.
    pub url: String,
    pub resolved_content_type: String,
    /// When uploadUrl stops working (milliseconds since the Unix epoch).
    pub upload_expires_at: Millis,
    /// When url stops working (milliseconds since the Unix epoch).
    pub expires_at: Millis,
}

/// A paired browser extension.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    pub device_id: String,
    pub name: String,
    pub paired_at: Option<Millis>,
    pub last_seen_at: Option<Millis>,
    /// Seen within the last minute: it will pick up new posts right away.
    pub online: bool,
    /// The selector-pack version the extension last reported.
    pub pack_version: Option<String>,
}

/// The month's quota and usage.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaStatus {
    /// Jobs allowed per calendar month (UTC).
    pub quota: i64,
    /// Jobs created this month.
    pub used: i64,
    pub remaining: i64,
    pub period_start: Millis,
    /// When the quota resets.
    pub period_end: Millis,
    /// Bytes of media uploaded this month.
    pub media_bytes: i64,
}

/// The answer of `get_account_status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountStatus {
    pub tenant_id: String,
    pub tenant_name: String,
    /// Whether at least one browser extension is paired (create_post needs one).
    pub paired: bool,
    /// Whether a paired extension was seen within the last minute.
    pub online: bool,
    /// The selector-pack version of the most recently seen extension.
    pub selector_pack_version: Option<String>,
    pub devices: Vec<DeviceStatus>,
    pub usage: QuotaStatus,
}

// ---------------------------------------------------------------------------
// Tools

fn caller(parts: &Parts, scope: &str) -> Result<McpCaller, ToolError> {
    let caller = parts
        .extensions
        .get::<McpCaller>()
        .cloned()
        .ok_or_else(|| ToolError(ApiError::unauthorized("No verified credential.")))?;
    if !caller.has_scope(scope) {
        return Err(ToolError(ApiError::new(
            Code::InsufficientScope,
            format!("This connection was not granted {scope}. Reconnect and approve it."),
        )));
    }
    Ok(caller)
}

/// A post's arguments as the REST request body.
fn body_of<T: Serialize>(args: &T) -> Result<Value, ToolError> {
    serde_json::to_value(args).map_err(|_| ToolError(ApiError::internal()))
}

impl ClawPostMcp {
    /// A server over the app's state.
    pub fn new(state: AppState) -> Self {
        ClawPostMcp { state }
    }
}

#[tool_router]
impl ClawPostMcp {
    /// Lists the platforms Claw Post publishes to, with each one's text
    /// limit, media limits and accepted media types.
    #[tool(
        title = "List platforms",
        annotations(
            title = "List platforms",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_platforms(
        &self,
        Extension(parts): Extension<Parts>,
    ) -> Result<Json<PlatformList>, ToolError> {
        caller(&parts, SCOPE_READ)?;
        Ok(Json(PlatformList {
            platforms: all_rules().iter().map(PlatformInfo::from).collect(),
        }))
    }

    /// Checks a post against its platform's rules (text length, media count,
    /// types and sizes, uploaded media) without creating anything. Answers
    /// valid, or the error code create_post would give.
    #[tool(
        title = "Validate a post",
        annotations(
            title = "Validate a post",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn validate_post(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<PostArgs>,
    ) -> Result<Json<Validation>, ToolError> {
        let caller = caller(&parts, SCOPE_READ)?;
        let body = body_of(&args)?;
        let limits = |platform: extension_core::Platform, text: &str| {
            let rules = extension_core::rules::rules(platform);
            (Some(rules.text_length(text)), Some(rules.max_text))
        };
        match crate::app::jobs::check(&self.state, &caller.tenant, &body).await {
            Ok(req) => {
                let (text_length, max_text_length) = limits(req.platform, &req.text);
                Ok(Json(Validation {
                    valid: true,
                    error: None,
                    code: None,
                    field: None,
                    text_length,
                    max_text_length,
                }))
            }
            Err(e) if e.status().is_client_error() => {
                let platform = args
                    .platform
                    .as_deref()
                    .unwrap_or("x")
                    .parse::<extension_core::Platform>()
                    .ok();
                let (text_length, max_text_length) = platform
                    .map(|p| limits(p, args.text.as_deref().unwrap_or("")))
                    .unwrap_or((None, None));
                Ok(Json(Validation {
                    valid: false,
                    error: Some(e.message),
                    code: Some(e.code.to_string()),
                    field: e.field,
                    text_length,
                    max_text_length,
                }))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Queues a post for publishing through the user's own logged-in browser
    /// (the paired Claw Post extension). Returns the job; poll
    /// get_post_status with its jobId for the live postUrl. Not idempotent
    /// unless an idempotencyKey is given. Fails with EXTENSION_NOT_PAIRED
    /// when no extension is paired, QUOTA_EXCEEDED past the monthly quota.
    #[tool(
        title = "Create a post",
        annotations(
            title = "Create a post",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_post(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<CreatePostArgs>,
    ) -> Result<Json<PostStatus>, ToolError> {
        let caller = caller(&parts, SCOPE_WRITE)?;
        let created =
            crate::app::jobs::create(&self.state, &caller.tenant, &body_of(&args)?).await?;
        let mut status = PostStatus::from(created.job);
        status.replayed = Some(created.replayed);
        Ok(Json(status))
    }

    /// Gets a signed URL to upload a media file (image or video) to. PUT the
    /// file's bytes to uploadUrl with the header Content-Type set to
    /// resolvedContentType, then pass url in create_post's mediaPaths.
    #[tool(
        title = "Get an upload URL",
        annotations(
            title = "Get an upload URL",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn get_upload_url(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<UploadUrlArgs>,
    ) -> Result<Json<UploadUrl>, ToolError> {
        let caller = caller(&parts, SCOPE_WRITE)?;
        let req = UploadUrlRequest {
            filename: args.filename,
            platform: args.platform,
            content_type: args.content_type,
            bytes: args.bytes,
        };
        let v = crate::app::media::issue_upload_url(&self.state, &caller.tenant.id, &req).await?;
        Ok(Json(UploadUrl {
            upload_url: v.upload_url,
            url: v.url,
            resolved_content_type: v.resolved_content_type,
            upload_expires_at: v.upload_expires_at,
            expires_at: v.expires_at,
        }))
    }

    /// Gets a post job's status: queued, processing, succeeded (with the
    /// live postUrl) or failed (with error and errorCode).
    #[tool(
        title = "Get a post's status",
        annotations(
            title = "Get a post's status",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_post_status(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<PostStatusArgs>,
    ) -> Result<Json<PostStatus>, ToolError> {
        let caller = caller(&parts, SCOPE_READ)?;
        let job = crate::app::jobs::current(&self.state, &args.job_id)
            .await?
            // Another tenant's job is answered as missing.
            .filter(|j| j.tenant_id == caller.tenant.id)
            .ok_or_else(|| {
                ApiError::not_found(format!("No job with id {:?} in this account.", args.job_id))
                    .with_field("jobId")
            })?;
        Ok(Json(PostStatus::from(JobView::owner(&job))))
    }

    /// Gets the account's status: the paired browser extensions and whether
    /// one is online now, the selector-pack version, and the month's quota
    /// and usage.
    #[tool(
        title = "Get account status",
        annotations(
            title = "Get account status",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_account_status(
        &self,
        Extension(parts): Extension<Parts>,
    ) -> Result<Json<AccountStatus>, ToolError> {
        let caller = caller(&parts, SCOPE_READ)?;
        let now = self.state.now();
        let tenant = caller.tenant;
        let mut devices = self.state.store.tenant_devices(&tenant.id).await?;
        devices.sort_by_key(|d| std::cmp::Reverse(d.last_seen_at));
        let devices: Vec<DeviceStatus> = devices
            .into_iter()
            .map(|d| DeviceStatus {
                online: d
                    .last_seen_at
                    .is_some_and(|t| now - t <= crate::clock::ms(ONLINE_WINDOW)),
                device_id: d.id,
                name: d.name,
                paired_at: d.paired_at,
                last_seen_at: d.last_seen_at,
                pack_version: d.pack_version,
            })
            .collect();
        let usage = crate::app::usage::of(&self.state, &tenant).await?;
        Ok(Json(AccountStatus {
            paired: !devices.is_empty(),
            online: devices.iter().any(|d| d.online),
            selector_pack_version: devices.iter().find_map(|d| d.pack_version.clone()),
            tenant_id: tenant.id,
            tenant_name: tenant.name,
            devices,
            usage: QuotaStatus {
                quota: usage.quota,
                used: usage.used,
                remaining: usage.remaining,
                period_start: usage.period_start,
                period_end: usage.period_end,
                media_bytes: usage.media_bytes,
            },
        }))
    }
}

#[tool_handler(
    name = "Claw Post",
    instructions = "Claw Post publishes posts to X, LinkedIn, Facebook, TikTok and Instagram \
        through the user's own logged-in browser (the paired Claw Post extension). Call \
        list_platforms for each platform's limits, validate_post to check a post, \
        get_upload_url to upload media, create_post to queue a post, then poll \
        get_post_status with the jobId for the live postUrl. get_account_status tells \
        whether an extension is paired and online."
)]
impl ServerHandler for ClawPostMcp {}

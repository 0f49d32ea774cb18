//! Media endpoints: small uploads through the server, signed upload URLs,
//! and the signed object URLs that receive uploads (local store) and serve
//! media (no API key: the signature is the credential). The logic lives in
//! [`crate::media`].

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;

use super::docs::{ApiKeyErrors, JsonBodyErrors, ServerErrors};
use super::JsonBody;
use crate::api::auth::TenantAuth;
use crate::app::media::signing::Grant;
use crate::app::media::{
    self, storage_error, MediaView, UploadUrlRequest, UploadUrlView, MAX_MULTIPART_BYTES,
};
use crate::app::AppState;
use crate::clock::Millis;
use crate::error::{ApiError, Code, ErrorBody};
use crate::store::MediaRecord;

/// Body limit of `POST /v1/media/upload`: the file plus the multipart framing.
pub const MULTIPART_BODY_LIMIT: usize = MAX_MULTIPART_BYTES as usize + 64 * 1024;

fn file_too_large() -> ApiError {
    ApiError::new(
        Code::FileTooLarge,
        format!(
            "POST /v1/media/upload takes files up to {} MB. For larger files and videos, \
             get a signed URL from POST /v1/media/upload-url and PUT the file to it.",
            MAX_MULTIPART_BYTES / (1024 * 1024)
        ),
    )
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        file_too_large()
    } else {
        ApiError::new(
            Code::InvalidRequest,
            format!("Invalid multipart body: {}", e.body_text()),
        )
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The form of `POST /v1/media/upload`, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
pub struct UploadForm {
    /// The file (a part with a file name, under any field name); the file
    /// name's extension gives the type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Checks the file against this platform's rules before storing it.
    pub platform: Option<extension_core::Platform>,
}

/// A file's bytes, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// Upload a small file (under 30 MB) as `multipart/form-data` with one file
/// part (any field name; its file name gives the type) and an optional
/// `platform` field to check the file against. Returns the `url` to pass in
/// `mediaPaths`, readable for 24 hours.
#[utoipa::path(post, path = "/v1/media/upload", tag = "media",
    request_body(content_type = "multipart/form-data", content = UploadForm,
        description = "One file part (its file name gives the type) and an optional `platform` field"),
    security(("api_key" = [])),
    responses(
        ApiKeyErrors, ServerErrors,
        (status = 201, description = "Stored", body = MediaView),
        (status = 400, description = "INVALID_REQUEST: not a multipart form, or no file part, or two; \
            UNKNOWN_PLATFORM; UNSUPPORTED_MEDIA_TYPE, CONTENT_TYPE_MISMATCH, MEDIA_TYPE_MISMATCH: \
            an unknown or mismatched type; MEDIA_TOO_LARGE, EMPTY_UPLOAD: the file's size", body = ErrorBody),
        (status = 403, description = "MEDIA_QUOTA_EXCEEDED: the file would pass the account's media quota (bytes per 24 hours)", body = ErrorBody),
        (status = 413, description = "FILE_TOO_LARGE: 30 MB or more; use /v1/media/upload-url", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED: 4 uploads of this account are running, or too many wrong API keys from this network; see Retry-After", body = ErrorBody),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    TenantAuth(tenant): TenantAuth,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<MediaView>), ApiError> {
    if content_length(&headers).is_some_and(|n| n > MULTIPART_BODY_LIMIT as u64) {
        return Err(file_too_large());
    }
    let _slot = state.media.start_upload(&tenant.id)?;
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            Code::InvalidRequest,
            "Send the file as multipart/form-data with one file part.",
        )
    })?;
    let mut file = None;
    let mut platform = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if let Some(filename) = field.file_name().map(str::to_string) {
            if file.is_some() {
                return Err(ApiError::invalid_field(
                    "file",
                    "Send one file per request.",
                ));
            }
            let content_type = field.content_type().map(str::to_string);
            let mut data = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                if (data.len() + chunk.len()) as u64 > MAX_MULTIPART_BYTES {
                    return Err(file_too_large());
                }
                data.extend_from_slice(&chunk);
            }
            file = Some((filename, content_type, data));
        } else if field.name() == Some("platform") {
            platform = Some(field.text().await.map_err(multipart_error)?);
        }
    }
    let (filename, content_type, data) = file.ok_or_else(|| {
        ApiError::invalid_field(
            "file",
            "The form has no file part (a part with a filename).",
        )
    })?;
    let view = media::store_upload(
        &state,
        &tenant.id,
        &filename,
        content_type.as_deref(),
        platform.as_deref(),
        data.into(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Get a signed URL to `PUT` a file to, for videos and anything over ~30 MB.
/// The content type is inferred from `filename` (`contentType` may only
/// confirm it); with `platform`, types and sizes the platform does not take
/// are refused before any upload. The upload URL works for 1 hour, with
/// `Content-Type: resolvedContentType` exactly; `url` is readable for 24 hours.
#[utoipa::path(post, path = "/v1/media/upload-url", tag = "media",
    request_body = UploadUrlRequest,
    security(("api_key" = [])),
    responses(
        JsonBodyErrors, ApiKeyErrors, ServerErrors,
        (status = 200, description = "Signed URLs", body = UploadUrlView),
        (status = 400, description = "INVALID_JSON, INVALID_REQUEST: a malformed body, filename or bytes; \
            UNKNOWN_PLATFORM; UNSUPPORTED_MEDIA_TYPE: an unknown extension or contentType; \
            CONTENT_TYPE_MISMATCH: contentType not matching the extension; MEDIA_TOO_LARGE: \
            a size the platform refuses", body = ErrorBody),
        (status = 403, description = "MEDIA_QUOTA_EXCEEDED: the declared size would pass the account's media quota (bytes per 24 hours)", body = ErrorBody),
    ))]
pub async fn upload_url(
    State(state): State<AppState>,
    TenantAuth(tenant): TenantAuth,
    JsonBody(req): JsonBody<UploadUrlRequest>,
) -> Result<Json<UploadUrlView>, ApiError> {
    Ok(Json(
        media::issue_upload_url(&state, &tenant.id, &req).await?,
    ))
}

/// The `expires` and `signature` of a signed URL; 403 when missing.
fn signed_params(query: Option<&str>) -> Result<(Millis, String), ApiError> {
    let mut expires = None;
    let mut signature = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*k {
            "expires" => expires = v.parse::<Millis>().ok(),
            "signature" => signature = Some(v.into_owned()),
            _ => {}
        }
    }
    match (expires, signature) {
        (Some(e), Some(s)) => Ok((e, s)),
        _ => Err(ApiError::new(
            Code::SignatureInvalid,
            "This URL is not signed. Use the URL exactly as it was issued.",
        )),
    }
}

/// The record an object URL names, if any.
async fn record_at(
    state: &AppState,
    id: &str,
    object_key: &str,
) -> Result<Option<MediaRecord>, ApiError> {
    Ok(state
        .store
        .media(id)
        .await?
        .filter(|r| r.object_key == object_key))
}

/// Upload a file to a signed URL from `POST /v1/media/upload-url` (local
/// store). `Content-Type` must be the `resolvedContentType`; the body is
/// streamed to storage and may not exceed the announced size.
#[utoipa::path(put, path = "/v1/media/objects/{id}/{name}", tag = "media",
    params(
        ("id" = String, Path, description = "Media id"),
        ("name" = String, Path, description = "Object name"),
        ("expires" = i64, Query, description = "From the signed URL"),
        ("signature" = String, Query, description = "From the signed URL"),
    ),
    request_body(content((FileBytes = "image/*"), (FileBytes = "video/*")),
        description = "The file's bytes, with `Content-Type` exactly the `resolvedContentType` the URL was issued for"),
    responses(
        ServerErrors,
        (status = 200, description = "Uploaded", body = MediaView),
        (status = 400, description = "MEDIA_TYPE_MISMATCH: the content is not the declared type; \
            INCOMPLETE_UPLOAD, EMPTY_UPLOAD: shorter than announced, or empty; INVALID_REQUEST: \
            the body could not be read", body = ErrorBody),
        (status = 403, description = "SIGNATURE_INVALID, SIGNATURE_EXPIRED: an invalid or expired signature; \
            CONTENT_TYPE_MISMATCH: Content-Type is not the resolvedContentType; MEDIA_QUOTA_EXCEEDED: \
            the bytes would pass the account's media quota", body = ErrorBody),
        (status = 409, description = "ALREADY_UPLOADED: an upload URL takes one upload; UPLOAD_IN_PROGRESS: \
            another upload to this URL is running", body = ErrorBody),
        (status = 410, description = "MEDIA_EXPIRED: the media expired while it was uploading", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE: longer than announced", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED: 4 uploads of this account are running; see Retry-After", body = ErrorBody),
    ))]
pub async fn put_object(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<MediaView>, ApiError> {
    let (expires, signature) = signed_params(query.as_deref())?;
    let object_key = format!("{id}/{name}");
    let forbidden = |code, message: &str| ApiError::new(code, message);
    if state.media.storage().direct_uploads() {
        return Err(forbidden(
            Code::SignatureInvalid,
            "Uploads go straight to the media store: PUT to the uploadUrl as issued.",
        ));
    }
    let Some(record) = record_at(&state, &id, &object_key).await? else {
        return Err(forbidden(
            Code::SignatureInvalid,
            "The URL's signature does not match. Use the URL exactly as it was issued.",
        ));
    };
    let grant = Grant::Put {
        content_type: &record.content_type,
        bytes: record.declared_bytes,
    };
    media::check_signature(&state, &object_key, expires, &signature, grant).await?;
    if state.now() >= expires {
        return Err(forbidden(
            Code::SignatureExpired,
            "This upload URL expired (upload URLs work for 1 hour). Request a new one.",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != record.content_type {
        return Err(forbidden(
            Code::UploadContentTypeMismatch,
            &format!(
                "Content-Type must be exactly the resolvedContentType {:?} (got {content_type:?}).",
                record.content_type
            ),
        ));
    }
    let _slot = state.media.start_upload(&record.tenant_id)?;
    let record = media::receive_upload(
        &state,
        &record,
        content_length(&headers),
        body.into_data_stream(),
    )
    .await?;
    Ok(Json(media::view(&state, &record).await?))
}

/// Read uploaded media. No API key: the signature is the credential, valid
/// for 24 hours after the upload URL was issued. Serves the bytes (local
/// store) or redirects to a short-lived URL of the media store (S3).
#[utoipa::path(get, path = "/v1/media/objects/{id}/{name}", tag = "media",
    params(
        ("id" = String, Path, description = "Media id"),
        ("name" = String, Path, description = "Object name"),
        ("expires" = i64, Query, description = "From the signed URL"),
        ("signature" = String, Query, description = "From the signed URL"),
    ),
    responses(
        ServerErrors,
        (status = 200, description = "The file's bytes, with its content type",
            content((FileBytes = "image/*"), (FileBytes = "video/*"))),
        (status = 307, description = "Redirect to the media store"),
        (status = 403, description = "SIGNATURE_INVALID: a missing or wrong signature", body = ErrorBody),
        (status = 404, description = "NOT_FOUND: no such media, or not uploaded", body = ErrorBody),
        (status = 410, description = "MEDIA_EXPIRED: media URLs work for 24 hours", body = ErrorBody),
    ))]
pub async fn get_object(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (expires, signature) = signed_params(query.as_deref())?;
    let object_key = format!("{id}/{name}");
    media::check_signature(&state, &object_key, expires, &signature, Grant::Get).await?;
    let gone = || {
        ApiError::new(
            Code::MediaGone,
            "This media URL expired (media URLs work for 24 hours). Upload the file again.",
        )
    };
    let now = state.now();
    if now >= expires {
        return Err(gone());
    }
    let record = record_at(&state, &id, &object_key)
        .await?
        .ok_or_else(|| ApiError::not_found("No such media."))?;
    let record = media::live_record(&state, record)
        .await
        .map_err(|e| match e.code {
            Code::MediaExpired => gone(),
            Code::InternalError => e,
            _ => ApiError::not_found(e.message),
        })?;
    let storage = state.media.storage();
    if let Some(url) = storage
        .presigned_url(
            axum::http::Method::GET,
            &record.object_key,
            media::REDIRECT_TTL,
        )
        .await
        .map_err(storage_error)?
    {
        return Ok(Redirect::temporary(url.as_str()).into_response());
    }
    let object = match storage.get(&record.object_key).await {
        Ok(o) => o,
        Err(object_store::Error::NotFound { .. }) => return Err(gone()),
        Err(e) => return Err(storage_error(e)),
    };
    let size = object.meta.size;
    let mut resp = Body::from_stream(object.into_stream()).into_response();
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&record.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    // Served from the API's origin: never rendered as a page, never sniffed.
    let file_name: String = record
        .object_key
        .rsplit('/')
        .next()
        .unwrap_or("media")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    let max_age = ((record.expires_at - now) / 1000).max(0);
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    if let Some(sha) = record.sha256.as_deref() {
        if let Ok(v) = HeaderValue::from_str(&format!("\"{sha}\"")) {
            headers.insert(header::ETAG, v);
        }
    }
    Ok(resp)
}

//! Media: uploads, signed URLs, validation and delivery.
//!
//! A media file gets a record (in the database: its tenant, resolved type,
//! sizes, status and expiry) and an object (in the [`storage`]: a local
//! folder or an S3 bucket). Two ways in:
//!
//! - `POST /v1/media/upload`: a small file (≤ 30 MB) through this server.
//! - `POST /v1/media/upload-url` then `PUT <uploadUrl>`: a signed URL, valid
//!   for an hour, bound to the object, the resolved content type and the
//!   announced size. On the local folder the server signs it ([`signing`])
//!   and streams the body to disk; on S3 the store presigns it and the
//!   upload is verified (size, magic bytes) when the media is first used.
//!
//! Either way the client gets a `url` readable for 24 hours: a link to this
//! server, signed, which serves the bytes (local) or redirects to a
//! short-lived presigned URL of the store (S3). Jobs may name such URLs in
//! `mediaPaths` only for the tenant's own, live media ([`job_media`]); the
//! platform rules then see the real content types. A sweeper deletes what
//! expired.

pub mod signing;
pub mod storage;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use extension_core::media::{infer_from_filename, media_type_by_mime, sniff, sniff_agrees};
use extension_core::rules::{all_rules, check_media_type, rules, MediaItem, RuleViolation};
use extension_core::{MediaKind, MediaType, Platform, MEDIA_TYPES, SNIFF_LEN};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::clock::{ms, Millis};
use crate::error::{ApiError, Code};
use crate::settings::Settings;
use crate::store::{MediaRecord, MediaStatus, Store};
use signing::{Grant, UrlSigner};
use storage::{MediaStorage, PART_CONCURRENCY};

/// The largest file `POST /v1/media/upload` takes (30 MB).
pub const MAX_MULTIPART_BYTES: u64 = 30 * 1024 * 1024;
/// How long an upload URL works.
pub const UPLOAD_WINDOW: Duration = Duration::from_secs(60 * 60);
/// How long a media URL is readable.
pub const URL_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The path under which this server serves (and, locally, receives) media.
pub const OBJECTS_PATH: &str = "/v1/media/objects/";
/// Lifetime of the store-presigned URL a media URL redirects to (S3).
pub const REDIRECT_TTL: Duration = Duration::from_secs(15 * 60);
/// Longest file name accepted.
const MAX_FILENAME: usize = 255;
/// Longest stem kept in an object's name.
const MAX_STEM: usize = 80;
/// Records handled per sweep.
const SWEEP_BATCH: i64 = 100;
/// How often the sweeper looks for expired media.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The span the media quota counts uploaded bytes over.
pub const QUOTA_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// Uploads one tenant may run at once (per server process).
pub const MAX_CONCURRENT_UPLOADS: usize = 4;

/// Media storage and the URL signer of a running server.
#[derive(Debug)]
pub struct Media {
    storage: MediaStorage,
    signer: UrlSigner,
    /// Uploads running now, by tenant.
    uploads: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

/// One running upload of a tenant, counted until dropped.
pub struct UploadSlot {
    uploads: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    tenant_id: String,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = uploads.get_mut(&self.tenant_id) {
            *n -= 1;
            if *n == 0 {
                uploads.remove(&self.tenant_id);
            }
        }
    }
}

impl Media {
    /// Opens the media store the settings name.
    pub fn open(settings: &Settings) -> anyhow::Result<Media> {
        Ok(Media {
            storage: MediaStorage::open(settings.media_store_url.as_deref(), &settings.media_dir)?,
            signer: UrlSigner::new(crate::crypto::derive_raw(
                settings.secret_key.expose(),
                "media-url-signing",
            )),
            uploads: Default::default(),
        })
    }

    pub fn storage(&self) -> &MediaStorage {
        &self.storage
    }

    /// Starts an upload of `tenant_id`: `RATE_LIMITED` (429) while it runs
    /// [`MAX_CONCURRENT_UPLOADS`] already.
    pub fn start_upload(&self, tenant_id: &str) -> Result<UploadSlot, ApiError> {
        let mut uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        let running = uploads.entry(tenant_id.to_string()).or_insert(0);
        if *running >= MAX_CONCURRENT_UPLOADS {
            return Err(ApiError::new(
                Code::RateLimited,
                format!(
                    "{MAX_CONCURRENT_UPLOADS} uploads of this account are running; wait for one to finish."
                ),
            )
            .with_retry_after(5));
        }
        *running += 1;
        Ok(UploadSlot {
            uploads: self.uploads.clone(),
            tenant_id: tenant_id.to_string(),
        })
    }

    /// The URL signer, keyed from the server's secret key (never stored in
    /// the database).
    pub fn signer(&self) -> &UrlSigner {
        &self.signer
    }
}

/// A storage failure: logged, never shown.
pub fn storage_error(e: object_store::Error) -> ApiError {
    tracing::error!(error = %e, "media storage error");
    ApiError::internal()
}

// ---------------------------------------------------------------------------
// Types and names

/// The body of `POST /v1/media/upload-url`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrlRequest {
    /// The file name; its extension gives the content type.
    pub filename: String,
    /// Checks the type and size against this platform before any upload.
    #[schema(value_type = Option<Platform>)]
    pub platform: Option<String>,
    /// Overrides the inferred type; must agree with the extension.
    pub content_type: Option<String>,
    /// The file's size; the upload must be exactly this long.
    pub bytes: Option<u64>,
}

/// The answer of `POST /v1/media/upload-url`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrlView {
    /// `PUT` the file's bytes here, with `Content-Type: resolvedContentType`.
    pub upload_url: String,
    /// Pass this in `mediaPaths`; readable for 24 hours.
    pub url: String,
    pub resolved_content_type: String,
    /// When `uploadUrl` stops working (milliseconds since the Unix epoch).
    pub upload_expires_at: Millis,
    /// When `url` stops working (milliseconds since the Unix epoch).
    pub expires_at: Millis,
}

/// Uploaded media, as `POST /v1/media/upload` and the local `PUT` answer it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaView {
    /// Pass this in `mediaPaths`; readable for 24 hours.
    pub url: String,
    pub content_type: String,
    pub bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: Option<String>,
    /// When `url` stops working (milliseconds since the Unix epoch).
    pub expires_at: Millis,
}

fn parse_platform(platform: Option<&str>) -> Result<Option<Platform>, ApiError> {
    platform
        .map(|p| {
            Platform::from_str(p).map_err(|e| {
                ApiError::new(Code::UnknownPlatform, e.to_string()).with_field("platform")
            })
        })
        .transpose()
}

/// A platform rule broken by a file: type violations are reported on
/// `type_field`, size violations on `size_field`.
fn violation(v: RuleViolation, type_field: &str, size_field: &str) -> ApiError {
    let field = if v.code == RuleViolation::MEDIA_TOO_LARGE {
        size_field
    } else {
        type_field
    };
    ApiError::new(Code::of_rule(v.code), v.message).with_field(field)
}

fn known_types() -> String {
    MEDIA_TYPES
        .iter()
        .map(|t| format!(".{}", t.extensions.join(", .")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The size limit for media of a kind: the platform's, or without one the
/// largest any platform takes.
pub fn max_bytes(platform: Option<Platform>, kind: MediaKind) -> u64 {
    match platform {
        Some(p) => rules(p).max_bytes(kind),
        None => all_rules()
            .iter()
            .map(|r| r.max_bytes(kind))
            .max()
            .unwrap_or(0),
    }
}

/// The content type of a file to upload: inferred from `filename`,
/// overridden by `content_type` only when it agrees with the extension, and
/// checked against `platform` (type and, when known, size).
pub fn resolve_type(
    filename: &str,
    content_type: Option<&str>,
    platform: Option<Platform>,
    bytes: Option<u64>,
) -> Result<&'static MediaType, ApiError> {
    if filename.trim().is_empty() || filename.len() > MAX_FILENAME {
        return Err(ApiError::invalid_field(
            "filename",
            format!("filename must be 1 to {MAX_FILENAME} characters"),
        ));
    }
    let inferred = infer_from_filename(filename).ok_or_else(|| {
        ApiError::new(
            Code::UnsupportedMediaType,
            format!(
                "filename {filename:?} has no media extension Claw Post knows; use one of {}",
                known_types()
            ),
        )
        .with_field("filename")
    })?;
    let resolved = match content_type {
        None => inferred,
        Some(ct) => {
            let declared = media_type_by_mime(ct).ok_or_else(|| {
                ApiError::new(
                    Code::UnsupportedMediaType,
                    format!("contentType {ct:?} is not a media type Claw Post knows"),
                )
                .with_field("contentType")
            })?;
            if !sniff_agrees(inferred, declared) {
                return Err(ApiError::new(
                    Code::ContentTypeMismatch,
                    format!(
                        "contentType {} does not match the extension of {filename:?} ({})",
                        declared.mime, inferred.mime
                    ),
                )
                .with_field("contentType"));
            }
            declared
        }
    };
    let field = if content_type.is_some() {
        "contentType"
    } else {
        "filename"
    };
    if let Some(p) = platform {
        check_media_type(p, resolved.mime, bytes).map_err(|v| violation(v, field, "bytes"))?;
    }
    if bytes == Some(0) {
        return Err(ApiError::invalid_field("bytes", "bytes must be at least 1"));
    }
    if let Some(b) = bytes {
        let limit = max_bytes(platform, resolved.kind);
        if b > limit {
            return Err(ApiError::new(
                Code::MediaTooLarge,
                format!(
                    "bytes is {b}; no platform takes {} larger than {limit} bytes",
                    resolved.kind.plural()
                ),
            )
            .with_field("bytes"));
        }
    }
    Ok(resolved)
}

/// The object's name: the file's stem made URL-safe, with the canonical
/// extension of its resolved type (so the name never contradicts the type).
pub fn object_name(filename: &str, media_type: &MediaType) -> String {
    let file = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let stem: String = stem
        .chars()
        .take(MAX_STEM)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = if stem.is_empty() { "media" } else { &stem };
    format!("{stem}.{}", media_type.extensions[0])
}

fn record_type(record: &MediaRecord) -> Result<&'static MediaType, ApiError> {
    media_type_by_mime(&record.content_type).ok_or_else(|| {
        tracing::error!(media = %record.id, "stored media has an unknown content type");
        ApiError::internal()
    })
}

/// The most bytes an upload of this record may have.
fn upload_limit(record: &MediaRecord, media_type: &MediaType) -> u64 {
    let limit = max_bytes(record.platform, media_type.kind);
    match record.declared_bytes {
        Some(d) => limit.min(d.max(0) as u64),
        None => limit,
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        Code::PayloadTooLarge,
        format!("The body is longer than the {limit} bytes this upload URL allows."),
    )
}

/// Checks the first bytes of a file against its declared type.
fn check_sniff(media_type: &MediaType, head: &[u8]) -> Result<(), ApiError> {
    match sniff(head) {
        Some(found) if sniff_agrees(media_type, found) => Ok(()),
        Some(found) => Err(ApiError::new(Code::MediaTypeMismatch,
            format!(
                "The file's content is {}, not the declared {}.",
                found.mime, media_type.mime
            ),
        )),
        None => Err(ApiError::new(Code::MediaTypeMismatch,
            format!(
                "The file's content is not {}: its first bytes match no media type Claw Post accepts.",
                media_type.mime
            ),
        )),
    }
}

/// Checks a whole upload's size against the record.
fn check_size(record: &MediaRecord, media_type: &MediaType, size: u64) -> Result<(), ApiError> {
    let limit = upload_limit(record, media_type);
    if size > limit {
        return Err(too_large(limit));
    }
    if size == 0 {
        return Err(ApiError::new(Code::EmptyUpload, "The file is empty."));
    }
    if let Some(declared) = record.declared_bytes {
        if size as i64 != declared {
            return Err(ApiError::new(
                Code::IncompleteUpload,
                format!("The upload has {size} bytes; the upload URL was issued for {declared}."),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// URLs

/// The signed `url` of a media record, readable until it expires.
pub async fn read_url(state: &AppState, record: &MediaRecord) -> Result<String, ApiError> {
    let signer = state.media.signer();
    let sig = signer.sign(&record.object_key, record.expires_at, Grant::Get);
    Ok(format!(
        "{}{OBJECTS_PATH}{}?expires={}&signature={sig}",
        state.settings.public_url, record.object_key, record.expires_at
    ))
}

/// The view of uploaded media.
pub async fn view(state: &AppState, record: &MediaRecord) -> Result<MediaView, ApiError> {
    Ok(MediaView {
        url: read_url(state, record).await?,
        content_type: record.content_type.clone(),
        bytes: record.bytes.unwrap_or_default(),
        sha256: record.sha256.clone(),
        expires_at: record.expires_at,
    })
}

fn new_record(
    tenant_id: &str,
    filename: &str,
    media_type: &MediaType,
    platform: Option<Platform>,
    now: Millis,
) -> MediaRecord {
    let id = uuid::Uuid::new_v4().to_string();
    MediaRecord {
        object_key: format!("{id}/{}", object_name(filename, media_type)),
        id,
        tenant_id: tenant_id.to_string(),
        filename: filename.to_string(),
        content_type: media_type.mime.to_string(),
        platform,
        declared_bytes: None,
        bytes: None,
        sha256: None,
        status: MediaStatus::Pending,
        upload_expires_at: now + ms(UPLOAD_WINDOW),
        expires_at: now + ms(URL_TTL),
        created_at: now,
        uploaded_at: None,
        deleted_at: None,
    }
}

/// Bytes `tenant_id` may still upload: the media quota less what it
/// uploaded over the last [`QUOTA_WINDOW`].
async fn quota_left(state: &AppState, tenant_id: &str) -> Result<u64, ApiError> {
    let since = state.now() - ms(QUOTA_WINDOW);
    let used = state
        .store
        .media_bytes_since(tenant_id, since)
        .await?
        .max(0) as u64;
    Ok(state.settings.media_quota_bytes.saturating_sub(used))
}

fn over_quota(state: &AppState) -> ApiError {
    ApiError::new(
        Code::MediaQuotaExceeded,
        format!(
            "This upload would pass the media quota of {} bytes per 24 hours. Upload it later.",
            state.settings.media_quota_bytes
        ),
    )
}

/// Refuses with `MEDIA_QUOTA_EXCEEDED` (403) when `more` bytes do not fit
/// in the tenant's quota.
async fn check_quota(state: &AppState, tenant_id: &str, more: u64) -> Result<(), ApiError> {
    if more > quota_left(state, tenant_id).await? {
        return Err(over_quota(state));
    }
    Ok(())
}

/// `POST /v1/media/upload-url`: validates the request, records the pending
/// media and signs the upload URL (or has the store presign it).
pub async fn issue_upload_url(
    state: &AppState,
    tenant_id: &str,
    req: &UploadUrlRequest,
) -> Result<UploadUrlView, ApiError> {
    let platform = parse_platform(req.platform.as_deref())?;
    let media_type = resolve_type(
        &req.filename,
        req.content_type.as_deref(),
        platform,
        req.bytes,
    )?;
    // Against the declared size, or at least one byte when none is declared.
    check_quota(state, tenant_id, req.bytes.unwrap_or(1)).await?;
    let now = state.now();
    let mut record = new_record(tenant_id, &req.filename, media_type, platform, now);
    record.declared_bytes = req.bytes.map(|b| b as i64);
    let upload_url = match state
        .media
        .storage()
        .presigned_url(Method::PUT, &record.object_key, UPLOAD_WINDOW)
        .await
        .map_err(storage_error)?
    {
        Some(url) => url.to_string(),
        None => {
            let signer = state.media.signer();
            let grant = Grant::Put {
                content_type: &record.content_type,
                bytes: record.declared_bytes,
            };
            let sig = signer.sign(&record.object_key, record.upload_expires_at, grant);
            format!(
                "{}{OBJECTS_PATH}{}?expires={}&signature={sig}",
                state.settings.public_url, record.object_key, record.upload_expires_at
            )
        }
    };
    state.store.insert_media(&record).await?;
    tracing::info!(media = %record.id, tenant = %tenant_id, content_type = %record.content_type, "upload URL issued");
    Ok(UploadUrlView {
        upload_url,
        url: read_url(state, &record).await?,
        resolved_content_type: record.content_type,
        upload_expires_at: record.upload_expires_at,
        expires_at: record.expires_at,
    })
}

/// `POST /v1/media/upload`: stores a small file received whole. The part's
/// own content type, when it names a media type, must agree with the name.
pub async fn store_upload(
    state: &AppState,
    tenant_id: &str,
    filename: &str,
    part_content_type: Option<&str>,
    platform: Option<&str>,
    data: Bytes,
) -> Result<MediaView, ApiError> {
    let platform = parse_platform(platform)?;
    // Generic types say nothing; a media type must agree with the extension.
    let declared = part_content_type.filter(|ct| media_type_by_mime(ct).is_some());
    let size = data.len() as u64;
    // Everything about the file is reported on the file part.
    let media_type =
        resolve_type(filename, declared, platform, None).map_err(|e| e.with_field("file"))?;
    if let Some(p) = platform {
        check_media_type(p, media_type.mime, Some(size))
            .map_err(|v| violation(v, "file", "file"))?;
    }
    let limit = max_bytes(None, media_type.kind);
    if size > limit {
        return Err(ApiError::new(
            Code::MediaTooLarge,
            format!(
                "the file is {size} bytes; no platform takes {} larger than {limit} bytes",
                media_type.kind.plural()
            ),
        )
        .with_field("file"));
    }
    check_sniff(media_type, &data[..data.len().min(SNIFF_LEN)])?;
    check_quota(state, tenant_id, size).await?;
    let now = state.now();
    let mut record = new_record(tenant_id, filename, media_type, platform, now);
    check_size(&record, media_type, size)?;
    record.status = MediaStatus::Ready;
    record.bytes = Some(size as i64);
    record.sha256 = Some(crate::crypto::fingerprint(&data));
    record.uploaded_at = Some(now);
    let storage = state.media.storage();
    storage
        .put(&record.object_key, data, &record.content_type)
        .await
        .map_err(storage_error)?;
    if let Err(e) = state.store.insert_media(&record).await {
        let _ = storage.delete(&record.object_key).await;
        return Err(e.into());
    }
    tracing::info!(media = %record.id, tenant = %tenant_id, bytes = size, "media uploaded");
    view(state, &record).await
}

// ---------------------------------------------------------------------------
// Receiving a signed upload (local store)

/// Releases an upload claim that did not end in `ready` (a failed or
/// abandoned upload), so the URL may be used again within its window.
struct Claim {
    store: Arc<dyn Store>,
    id: Option<String>,
}

impl Claim {
    /// The upload ended in `ready`: nothing to release.
    fn done(mut self) {
        self.id = None;
    }

    /// The upload failed: release the claim before answering, so the client
    /// may retry at once. (Dropping an unreleased claim, as when the request
    /// is cancelled, releases it in the background.)
    async fn release(mut self) {
        if let Some(id) = self.id.take() {
            if let Err(e) = self.store.release_media_upload(&id).await {
                tracing::warn!(error = %e, media = %id, "could not release an upload claim");
            }
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.release_media_upload(&id).await {
                    tracing::warn!(error = %e, media = %id, "could not release an upload claim");
                }
            });
        }
    }
}

/// Checks a signed URL's `expires` and `signature` for a grant on a record.
pub async fn check_signature(
    state: &AppState,
    object_key: &str,
    expires: Millis,
    signature: &str,
    grant: Grant<'_>,
) -> Result<(), ApiError> {
    let signer = state.media.signer();
    if signer.verify(object_key, expires, grant, signature) {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::SignatureInvalid,
            "The URL's signature does not match. Use the URL exactly as it was issued.",
        ))
    }
}

/// Streams a signed upload to the local store: the first bytes must match
/// the record's type, the body may not exceed the announced size, and memory
/// stays bounded whatever the file's size. Marks the media ready.
pub async fn receive_upload<S>(
    state: &AppState,
    record: &MediaRecord,
    content_length: Option<u64>,
    mut body: S,
) -> Result<MediaRecord, ApiError>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    let media_type = record_type(record)?;
    let limit = upload_limit(record, media_type);
    if content_length.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    if !state
        .store
        .claim_media_upload(&record.id, state.now())
        .await?
    {
        return Err(match record.status {
            MediaStatus::Ready => ApiError::new(
                Code::AlreadyUploaded,
                "This media was already uploaded; an upload URL takes one upload.",
            ),
            MediaStatus::Uploading => ApiError::new(
                Code::UploadInProgress,
                "Another upload to this URL is in progress.",
            ),
            _ => ApiError::new(
                Code::SignatureExpired,
                "The upload window of this URL has closed. Request a new one.",
            ),
        });
    }
    let claim = Claim {
        store: state.store.clone(),
        id: Some(record.id.clone()),
    };
    let quota = match quota_left(state, &record.tenant_id).await {
        Ok(q) => q,
        Err(e) => {
            claim.release().await;
            return Err(e);
        }
    };
    let storage = state.media.storage();
    let mut writer = match storage.writer(&record.object_key).await {
        Ok(w) => w,
        Err(e) => {
            claim.release().await;
            return Err(storage_error(e));
        }
    };
    let mut hasher = crate::crypto::Fingerprinter::default();
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_LEN);
    let streamed: Result<(), ApiError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|_| {
                ApiError::new(Code::InvalidRequest, "The request body could not be read.")
            })?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(too_large(limit));
            }
            if size > quota {
                return Err(over_quota(state));
            }
            if head.len() < SNIFF_LEN {
                let take = (SNIFF_LEN - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                if head.len() == SNIFF_LEN {
                    check_sniff(media_type, &head)?;
                }
            }
            hasher.update(&chunk);
            writer
                .wait_for_capacity(PART_CONCURRENCY)
                .await
                .map_err(storage_error)?;
            writer.put(chunk);
        }
        if head.len() < SNIFF_LEN {
            check_sniff(media_type, &head)?;
        }
        check_size(record, media_type, size)
    }
    .await;
    if let Err(e) = streamed {
        let _ = writer.abort().await;
        claim.release().await;
        return Err(e);
    }
    if let Err(e) = writer.finish().await {
        claim.release().await;
        return Err(storage_error(e));
    }
    let sha256 = hasher.finish();
    let Some(done) = state
        .store
        .complete_media(&record.id, size as i64, Some(&sha256), state.now())
        .await?
    else {
        // Swept while it was uploading: the object has no record any more.
        let _ = storage.delete(&record.object_key).await;
        return Err(ApiError::new(Code::MediaGone, "This media expired."));
    };
    claim.done();
    tracing::info!(media = %done.id, tenant = %done.tenant_id, bytes = size, "media uploaded");
    Ok(done)
}

// ---------------------------------------------------------------------------
// Verifying direct uploads (S3)

/// Checks an object uploaded straight to the store (size, magic bytes) and
/// marks the media ready.
pub async fn verify_direct_upload(
    state: &AppState,
    record: &MediaRecord,
) -> Result<MediaRecord, ApiError> {
    let media_type = record_type(record)?;
    let storage = state.media.storage();
    let size = storage
        .size(&record.object_key)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| {
            ApiError::new(
                Code::MediaNotUploaded,
                "This media has not been uploaded yet: PUT the file to its uploadUrl first.",
            )
        })?;
    check_size(record, media_type, size)?;
    let head = storage
        .head_bytes(&record.object_key, size.min(SNIFF_LEN as u64))
        .await
        .map_err(storage_error)?;
    check_sniff(media_type, &head)?;
    state
        .store
        .complete_media(&record.id, size as i64, None, state.now())
        .await?
        .ok_or_else(|| ApiError::new(Code::MediaExpired, "This media expired."))
}

/// A record usable now: ready (verifying a direct upload first when its
/// upload window is still open, as the object could still change), or an
/// error saying why not.
pub async fn live_record(state: &AppState, record: MediaRecord) -> Result<MediaRecord, ApiError> {
    let now = state.now();
    if record.status == MediaStatus::Deleted || record.expires_at <= now {
        return Err(ApiError::new(
            Code::MediaExpired,
            "This media expired (media URLs work for 24 hours). Upload it again.",
        ));
    }
    let direct = state.media.storage().direct_uploads();
    match record.status {
        MediaStatus::Ready if !(direct && now < record.upload_expires_at) => Ok(record),
        MediaStatus::Pending | MediaStatus::Ready if direct => {
            verify_direct_upload(state, &record).await
        }
        _ => Err(ApiError::new(
            Code::MediaNotUploaded,
            "This media has not been uploaded yet: PUT the file to its uploadUrl first.",
        )),
    }
}

// ---------------------------------------------------------------------------
// Media in jobs

/// A media URL of this server: the object key and its signature.
struct OwnUrl {
    id: String,
    object_key: String,
    expires: Option<Millis>,
    signature: Option<String>,
}

/// Parses `url` as one of this server's media URLs; None for other URLs.
fn own_url(public_url: &str, url: &str) -> Option<Result<OwnUrl, ()>> {
    let public = url::Url::parse(public_url).ok()?;
    let url = url::Url::parse(url).ok()?;
    if url.origin() != public.origin() {
        return None;
    }
    let base = public.path().trim_end_matches('/');
    let rest = url.path().strip_prefix(base)?.strip_prefix(OBJECTS_PATH)?;
    let Some((id, name)) = rest.split_once('/') else {
        return Some(Err(()));
    };
    if id.is_empty() || name.is_empty() || name.contains('/') {
        return Some(Err(()));
    }
    let param = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    Some(Ok(OwnUrl {
        id: id.to_string(),
        object_key: rest.to_string(),
        expires: param("expires").and_then(|e| e.parse().ok()),
        signature: param("signature"),
    }))
}

/// Checks a job's `mediaPaths` and returns what each item really is. URLs of
/// this server must name the tenant's own live media, whose recorded type and
/// size then meet the platform's rules; other URLs pass only when the
/// operator allows external media (their type is inferred from the name).
pub async fn job_media(
    state: &AppState,
    tenant_id: &str,
    platform: Platform,
    media_paths: &[String],
) -> Result<Vec<MediaItem>, ApiError> {
    let mut items = Vec::with_capacity(media_paths.len());
    for (i, path) in media_paths.iter().enumerate() {
        let field = format!("mediaPaths[{i}]");
        let unknown = || {
            ApiError::new(Code::UnknownMedia,
                format!("{field} names no media of this account. Upload it with /v1/media/upload or /v1/media/upload-url and pass the url returned."),
            )
            .with_field(&field)
        };
        let Some(own) = own_url(&state.settings.public_url, path) else {
            if !state.settings.allow_external_media {
                return Err(ApiError::new(Code::ExternalMediaNotAllowed,
                    format!("{field} is not a media URL of this server, and this server takes no external media. Upload the file with /v1/media/upload or /v1/media/upload-url and pass the url returned."),
                )
                .with_field(&field));
            }
            items.push(MediaItem::from(infer_from_filename(path)));
            continue;
        };
        let own = own.map_err(|()| unknown())?;
        let record = state
            .store
            .media(&own.id)
            .await?
            .filter(|r| r.tenant_id == tenant_id && r.object_key == own.object_key)
            .ok_or_else(unknown)?;
        let (Some(expires), Some(signature)) = (own.expires, own.signature.as_deref()) else {
            return Err(unknown());
        };
        check_signature(state, &own.object_key, expires, signature, Grant::Get)
            .await
            .map_err(|_| unknown())?;
        let record = live_record(state, record).await.map_err(|e| {
            // A direct upload longer than announced is a bad item here, not a bad body.
            let e = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(Code::MediaTooLarge, e.message)
            } else {
                e
            };
            e.with_field(&field)
        })?;
        let media_type = record_type(&record)?;
        let bytes = record.bytes.map(|b| b.max(0) as u64);
        check_media_type(platform, media_type.mime, bytes).map_err(|v| {
            let mut e = violation(v, &field, &field);
            e.message = format!("{field}: {}", e.message);
            e
        })?;
        items.push(MediaItem::from(media_type));
    }
    Ok(items)
}

// ---------------------------------------------------------------------------
// Sweeping

/// Deletes the objects of media whose URL expired, and settles uploads whose
/// window closed: verified into `ready` (direct uploads), else deleted.
/// Returns how many records it handled.
pub async fn sweep(state: &AppState) -> Result<usize, ApiError> {
    let now = state.now();
    let due = state.store.media_to_sweep(now, SWEEP_BATCH).await?;
    let storage = state.media.storage();
    for record in &due {
        let expired = record.expires_at <= now;
        if !expired && record.status == MediaStatus::Pending && storage.direct_uploads() {
            match verify_direct_upload(state, record).await {
                Ok(_) => continue,
                Err(e) if e.status() == StatusCode::INTERNAL_SERVER_ERROR => continue,
                Err(_) => {}
            }
        }
        if let Err(e) = storage.delete(&record.object_key).await {
            tracing::warn!(error = %e, media = %record.id, "could not delete expired media");
            continue;
        }
        state.store.mark_media_deleted(&record.id, now).await?;
    }
    Ok(due.len())
}

/// Sweeps expired media every minute, for as long as the server runs.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            // Drain a backlog a batch at a time (a bounded number per tick,
            // should some objects fail to delete).
            for _ in 0..10 {
                match sweep(&state).await {
                    Ok(n) if n == SWEEP_BATCH as usize => continue,
                    _ => break,
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_types_from_names_and_agreeing_overrides() {
        assert_eq!(
            resolve_type("a.MP4", None, None, None).unwrap().mime,
            "video/mp4"
        );
        assert_eq!(
            resolve_type("a.mp4", Some("video/quicktime"), None, None)
                .unwrap()
                .mime,
            "video/quicktime"
        );
        assert_eq!(
            resolve_type("a.jpg", Some("image/png"), None, None)
                .unwrap_err()
                .code
                .as_str(),
            "CONTENT_TYPE_MISMATCH"
        );
        assert_eq!(
            resolve_type("a.txt", None, None, None)
                .unwrap_err()
                .field
                .as_deref(),
            Some("filename")
        );
        let heic_on_x = resolve_type("a.heic", None, Some(Platform::X), None).unwrap_err();
        assert_eq!(
            heic_on_x.code.as_str(),
            RuleViolation::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(heic_on_x.field.as_deref(), Some("filename"));
        let big =
            resolve_type("a.png", None, Some(Platform::X), Some(6 * 1024 * 1024)).unwrap_err();
        assert_eq!(
            (big.code.as_str(), big.field.as_deref()),
            (RuleViolation::MEDIA_TOO_LARGE, Some("bytes"))
        );
        assert_eq!(
            resolve_type("a.mp4", None, None, Some(11 << 30))
                .unwrap_err()
                .code
                .as_str(),
            RuleViolation::MEDIA_TOO_LARGE
        );
    }

    #[test]
    fn object_names_are_url_safe_and_carry_the_type() {
        assert_eq!(
            object_name("My Clip (1).MOV", &MediaType::QUICKTIME),
            "My_Clip__1_.mov"
        );
        assert_eq!(object_name("../../etc/x.jpeg", &MediaType::JPEG), "x.jpg");
        assert_eq!(object_name(".png", &MediaType::PNG), "media.png");
        assert_eq!(object_name("a.heif", &MediaType::HEIC), "a.heic");
    }

    #[test]
    fn own_urls_are_recognised_by_origin_and_path() {
        let base = "http://127.0.0.1:8080";
        let u = own_url(
            base,
            "http://127.0.0.1:8080/v1/media/objects/abc/x.png?expires=5&signature=ff",
        )
        .unwrap()
        .unwrap();
        assert_eq!((u.id.as_str(), u.object_key.as_str()), ("abc", "abc/x.png"));
        assert_eq!((u.expires, u.signature.as_deref()), (Some(5), Some("ff")));
        assert!(own_url(base, "http://127.0.0.1:8080/v1/media/objects/abc")
            .unwrap()
            .is_err());
        assert!(own_url(base, "https://cdn.example/v1/media/objects/abc/x.png").is_none());
        assert!(own_url(base, "http://127.0.0.1:8080/other/x.png").is_none());
    }
}

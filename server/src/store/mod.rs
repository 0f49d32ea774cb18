//! Persistence. One [`Store`] interface owns every state transition of a job;
//! [`sql::SqlStore`] implements it on SQLite (the embedded default) and on
//! PostgreSQL.

pub mod dashboard;
pub mod media;
pub mod oauth;
pub mod sql;

use async_trait::async_trait;
use extension_core::{JobStatus, JobType, Platform, PlatformPayload, ProgressStage};
use serde_json::Value;

use crate::clock::Millis;

pub use dashboard::DashboardStore;
pub use oauth::OAuthStore;
pub use sql::SqlStore;

/// A failure of the storage layer. Never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An account: its jobs, devices and API key.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// Jobs per calendar month (UTC).
    pub quota: i64,
    pub created_at: Millis,
}

/// A browser extension install, from registration to pairing.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: String,
    pub tenant_id: Option<String>,
    pub name: String,
    pub pairing_code: Option<String>,
    pub code_expires_at: Millis,
    pub poll_token_hash: String,
    pub token_issued: bool,
    pub paired_at: Option<Millis>,
    pub last_seen_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    pub pack_version: Option<String>,
    pub created_at: Millis,
}

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub tenant_id: String,
    pub job_type: JobType,
    pub platform: Platform,
    pub text: String,
    pub media_paths: Vec<String>,
    pub platform_payload: Option<PlatformPayload>,
    pub idempotency_key: Option<String>,
    /// Hash of the request's meaningful fields, to tell a replay from a reuse.
    pub request_hash: String,
    pub created_at: Millis,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: String,
    pub tenant_id: String,
    pub job_type: JobType,
    pub platform: Platform,
    pub text: String,
    pub media_paths: Vec<String>,
    pub platform_payload: Option<PlatformPayload>,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub status: JobStatus,
    pub device_id: Option<String>,
    pub lease_expires_at: Option<Millis>,
    pub submitting_at: Option<Millis>,
    pub attempts: i64,
    pub post_url: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub details: Option<Value>,
    /// What the extension saw when the job failed (tenant-only).
    pub diagnostic: Option<Value>,
    pub pack_version: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
}

/// What `create_job` did.
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    Created(JobRecord),
    /// The idempotency key was used before with the same request.
    Replayed(JobRecord),
    /// The idempotency key was used before with a different request.
    KeyReused(JobRecord),
    QuotaExceeded {
        used: i64,
        quota: i64,
    },
}

/// A job's final result as reported by the extension.
#[derive(Debug, Clone)]
pub struct Completion {
    pub status: JobStatus,
    pub post_url: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub details: Option<Value>,
    pub diagnostic: Option<Value>,
    pub pack_version: Option<String>,
    /// Hash of the ack, to accept an identical repeat and refuse a different one.
    pub ack_hash: String,
}

/// What `complete_job` did.
#[derive(Debug, Clone)]
pub enum AckOutcome {
    Completed(JobRecord),
    /// The same device already sent this exact ack.
    Duplicate(JobRecord),
    /// The ack conflicts with the job's state: the device does not hold the
    /// lease, or the job already ended differently.
    Conflict(JobRecord),
    NotFound,
}

/// What `report_progress` did.
#[derive(Debug, Clone)]
pub enum ProgressOutcome {
    Accepted(JobRecord),
    /// The device does not hold a live lease on the job.
    NotHolder(JobRecord),
    NotFound,
}

/// What `pair_device` did.
#[derive(Debug, Clone)]
pub enum PairOutcome {
    Paired(Box<Device>),
    /// No live code matches (wrong, used or expired).
    NoSuchCode,
}

/// Job counts of one platform (or of all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub created: i64,
    pub queued: i64,
    pub processing: i64,
    pub succeeded: i64,
    pub failed: i64,
}

/// Jobs created since a point in time, by platform.
#[derive(Debug, Clone, Default)]
pub struct UsageCounts {
    pub total: Counts,
    pub by_platform: Vec<(Platform, Counts)>,
}

/// Leases that ran out, as handled by `expire_leases`.
#[derive(Debug, Clone, Default)]
pub struct Expired {
    /// Tenants whose jobs went back to `queued` (their devices should be woken).
    pub requeued_tenants: Vec<String>,
    /// Jobs failed with `outcome_unknown`.
    pub failed_unknown: u64,
}

/// The persistence interface. Every job state transition happens here, each
/// as one atomic conditional statement.
#[async_trait]
pub trait Store: MediaStore + DashboardStore + OAuthStore + Send + Sync + 'static {
    // --- tenants
    async fn create_tenant(&self, tenant: &Tenant, api_key_hash: &str) -> StoreResult<()>;
    async fn tenant_count(&self) -> StoreResult<i64>;
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>>;
    /// Replaces the tenant's key hash; false when the tenant does not exist.
    async fn rotate_key(&self, tenant_id: &str, api_key_hash: &str) -> StoreResult<bool>;

    // --- devices and pairing
    /// Inserts a device awaiting pairing; false when its code is taken by a live one.
    async fn register_device(&self, device: &Device) -> StoreResult<bool>;
    async fn device(&self, id: &str) -> StoreResult<Option<Device>>;
    /// Binds the device holding this live code to the tenant and kills the code.
    async fn pair_device(
        &self,
        code: &str,
        tenant_id: &str,
        now: Millis,
    ) -> StoreResult<PairOutcome>;
    /// Stores the device token hash if none was issued yet; false otherwise.
    async fn issue_device_token(&self, device_id: &str, token_hash: &str) -> StoreResult<bool>;
    async fn device_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Device>>;
    async fn touch_device(&self, device_id: &str, now: Millis) -> StoreResult<()>;
    async fn paired_device_count(&self, tenant_id: &str) -> StoreResult<i64>;
    async fn record_pair_failure(&self, scopes: &[String], now: Millis) -> StoreResult<()>;
    async fn pair_failures_since(&self, scope: &str, since: Millis) -> StoreResult<i64>;

    // --- jobs
    /// Inserts the job unless its idempotency key exists or the tenant's
    /// quota (jobs created since `period_start`) is used up.
    async fn create_job(
        &self,
        job: &NewJob,
        quota: i64,
        period_start: Millis,
    ) -> StoreResult<CreateOutcome>;
    async fn job(&self, id: &str) -> StoreResult<Option<JobRecord>>;
    /// Leases the tenant's oldest queued job to the device until `now + lease_ms`,
    /// skipping post jobs of a platform the tenant posted on (reached
    /// `submitting`) less than its interval ago: the tenant's own interval
    /// (`set_tenant_pacing`) or `intervals[platform as usize]`, plus up to 20 %
    /// jitter taken from the job's creation time.
    async fn lease_next(
        &self,
        tenant_id: &str,
        device_id: &str,
        now: Millis,
        lease_ms: i64,
        intervals: &[i64; 5],
    ) -> StoreResult<Option<JobRecord>>;
    /// Sets (`Some`) or clears (`None`) a tenant's interval between posts on
    /// a platform. False when there is no such tenant.
    async fn set_tenant_pacing(
        &self,
        tenant_id: &str,
        platform: Platform,
        interval_ms: Option<i64>,
    ) -> StoreResult<bool>;
    /// Records progress by the lease holder and renews its lease.
    async fn report_progress(
        &self,
        job_id: &str,
        device_id: &str,
        stage: ProgressStage,
        now: Millis,
        lease_ms: i64,
    ) -> StoreResult<ProgressOutcome>;
    async fn complete_job(
        &self,
        job_id: &str,
        device_id: &str,
        completion: &Completion,
        now: Millis,
    ) -> StoreResult<AckOutcome>;
    /// Requeues leases that ran out before `submitting`; fails with
    /// `outcome_unknown` those that ran out after it.
    async fn expire_leases(&self, now: Millis) -> StoreResult<Expired>;
    async fn usage(&self, tenant_id: &str, since: Millis) -> StoreResult<UsageCounts>;
}

/// Where an uploaded media object is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaStatus {
    /// An upload URL was issued; no upload has finished (or been verified) yet.
    Pending,
    /// The server is receiving the upload right now.
    Uploading,
    /// Uploaded and verified; its URL serves it until it expires.
    Ready,
    /// Expired or never uploaded: the object is gone, the row stays for usage.
    Deleted,
}

impl MediaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaStatus::Pending => "pending",
            MediaStatus::Uploading => "uploading",
            MediaStatus::Ready => "ready",
            MediaStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<MediaStatus> {
        [
            MediaStatus::Pending,
            MediaStatus::Uploading,
            MediaStatus::Ready,
            MediaStatus::Deleted,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// An uploaded (or announced) media file.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRecord {
    pub id: String,
    pub tenant_id: String,
    /// `<id>/<name>`: the object's key in the media store and its URL path.
    pub object_key: String,
    /// The file name the client gave.
    pub filename: String,
    /// The resolved MIME type (canonical).
    pub content_type: String,
    /// The platform the upload was checked against, if any.
    pub platform: Option<Platform>,
    /// The size announced with the upload URL, if any.
    pub declared_bytes: Option<i64>,
    /// The verified size, once uploaded.
    pub bytes: Option<i64>,
    /// The SHA-256 (hex) of the content, when the server saw every byte.
    pub sha256: Option<String>,
    pub status: MediaStatus,
    /// End of the upload window.
    pub upload_expires_at: Millis,
    /// End of the URL's validity; the object is swept after it.
    pub expires_at: Millis,
    pub created_at: Millis,
    pub uploaded_at: Option<Millis>,
    pub deleted_at: Option<Millis>,
}

/// Persistence of uploaded media and of the key that signs media URLs. A
/// supertrait of [`Store`], so its SQL lives apart in [`media`].
#[async_trait]
pub trait MediaStore: Send + Sync + 'static {
    /// The per-install key that signs media URLs: the stored one, or
    /// `candidate` stored now if there is none yet (first caller wins).
    async fn media_signing_key(&self, candidate: &str, now: Millis) -> StoreResult<String>;
    async fn insert_media(&self, media: &MediaRecord) -> StoreResult<()>;
    async fn media(&self, id: &str) -> StoreResult<Option<MediaRecord>>;
    /// `pending` → `uploading` while the upload window is open; false when
    /// the media is not pending or the window has closed.
    async fn claim_media_upload(&self, id: &str, now: Millis) -> StoreResult<bool>;
    /// `uploading` → `pending`, after a failed upload (it may be retried).
    async fn release_media_upload(&self, id: &str) -> StoreResult<()>;
    /// `pending`, `uploading` or `ready` → `ready` with the verified size
    /// (and digest). Returns the updated record; None when the media is gone.
    async fn complete_media(
        &self,
        id: &str,
        bytes: i64,
        sha256: Option<&str>,
        now: Millis,
    ) -> StoreResult<Option<MediaRecord>>;
    /// Up to `limit` live media whose URL expired, or whose upload window
    /// closed before an upload was verified.
    async fn media_to_sweep(&self, now: Millis, limit: i64) -> StoreResult<Vec<MediaRecord>>;
    /// Marks media deleted (its object is gone); the row stays for usage.
    async fn mark_media_deleted(&self, id: &str, now: Millis) -> StoreResult<()>;
    /// Bytes of media the tenant uploaded in records created since `since`.
    async fn media_bytes_since(&self, tenant_id: &str, since: Millis) -> StoreResult<i64>;
}

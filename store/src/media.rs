//! Media: uploaded (or announced) files, from the upload URL through upload
//! and verification to their sweep, and the per-install key that signs
//! media URLs.

use std::str::FromStr;

use async_trait::async_trait;
use extension_core::Platform;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::{corrupt, SqlStore};
use crate::{Millis, StoreResult};

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

/// Persistence of uploaded media and of the key that signs media URLs.
#[async_trait]
pub trait MediaStore: Send + Sync + 'static {
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

const MEDIA_COLS: &str = "id, tenant_id, object_key, filename, content_type, platform, \
    declared_bytes, bytes, sha256, status, upload_expires_at, expires_at, created_at, \
    uploaded_at, deleted_at";

fn media_from_row(row: &AnyRow) -> StoreResult<MediaRecord> {
    let status: String = row.try_get("status")?;
    let platform: Option<String> = row.try_get("platform")?;
    Ok(MediaRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        object_key: row.try_get("object_key")?,
        filename: row.try_get("filename")?,
        content_type: row.try_get("content_type")?,
        platform: platform
            .map(|p| Platform::from_str(&p).map_err(|_| corrupt("platform", &p)))
            .transpose()?,
        declared_bytes: row.try_get("declared_bytes")?,
        bytes: row.try_get("bytes")?,
        sha256: row.try_get("sha256")?,
        status: MediaStatus::parse(&status).ok_or_else(|| corrupt("media status", &status))?,
        upload_expires_at: row.try_get("upload_expires_at")?,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
        uploaded_at: row.try_get("uploaded_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

#[async_trait]
impl MediaStore for SqlStore {
    async fn insert_media(&self, m: &MediaRecord) -> StoreResult<()> {
        sqlx::query(&self.q(
            "INSERT INTO media (id, tenant_id, object_key, filename, content_type, platform, \
               declared_bytes, bytes, sha256, status, upload_expires_at, expires_at, created_at, \
               uploaded_at, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        ))
        .bind(&m.id)
        .bind(&m.tenant_id)
        .bind(&m.object_key)
        .bind(&m.filename)
        .bind(&m.content_type)
        .bind(m.platform.map(|p| p.as_str()))
        .bind(m.declared_bytes)
        .bind(m.bytes)
        .bind(&m.sha256)
        .bind(m.status.as_str())
        .bind(m.upload_expires_at)
        .bind(m.expires_at)
        .bind(m.created_at)
        .bind(m.uploaded_at)
        .bind(m.deleted_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn media(&self, id: &str) -> StoreResult<Option<MediaRecord>> {
        let sql = format!("SELECT {MEDIA_COLS} FROM media WHERE id = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(media_from_row).transpose()
    }

    async fn claim_media_upload(&self, id: &str, now: Millis) -> StoreResult<bool> {
        let done = sqlx::query(&self.q("UPDATE media SET status = 'uploading' \
             WHERE id = $1 AND status = 'pending' AND upload_expires_at > $2"))
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_media_upload(&self, id: &str) -> StoreResult<()> {
        sqlx::query(
            &self.q("UPDATE media SET status = 'pending' WHERE id = $1 AND status = 'uploading'"),
        )
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn complete_media(
        &self,
        id: &str,
        bytes: i64,
        sha256: Option<&str>,
        now: Millis,
    ) -> StoreResult<Option<MediaRecord>> {
        let sql = format!(
            "UPDATE media SET status = 'ready', bytes = $1, sha256 = $2, uploaded_at = $3 \
             WHERE id = $4 AND status IN ('pending', 'uploading', 'ready') \
             RETURNING {MEDIA_COLS}"
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(bytes)
            .bind(sha256)
            .bind(now)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(media_from_row).transpose()
    }

    async fn media_to_sweep(&self, now: Millis, limit: i64) -> StoreResult<Vec<MediaRecord>> {
        let sql = format!(
            "SELECT {MEDIA_COLS} FROM media \
             WHERE (status <> 'deleted' AND expires_at <= $1) \
                OR (status IN ('pending', 'uploading') AND upload_expires_at <= $1) \
             ORDER BY expires_at LIMIT $2"
        );
        let rows = sqlx::query(&self.q(&sql))
            .bind(now)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(media_from_row).collect()
    }

    async fn mark_media_deleted(&self, id: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(
            &self.q("UPDATE media SET status = 'deleted', deleted_at = $1 \
             WHERE id = $2 AND status <> 'deleted'"),
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn media_bytes_since(&self, tenant_id: &str, since: Millis) -> StoreResult<i64> {
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast it back.
        Ok(sqlx::query_scalar(
            &self.q("SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM media \
             WHERE tenant_id = $1 AND created_at >= $2"),
        )
        .bind(tenant_id)
        .bind(since)
        .fetch_one(self.pool())
        .await?)
    }
}

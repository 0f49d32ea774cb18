//! Jobs: the queue and every state transition of a job (create, lease,
//! progress, complete, expire), per-platform pacing between posts, and the
//! per-tenant reads (history, counts per day, usage).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use extension_core::{
    JobErrorCode, JobStatus, JobType, Platform, PlatformMap, PlatformPayload, ProgressStage,
};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::{corrupt, millis, parse_json, Dialect, SqlStore};
use crate::{Millis, StoreResult};

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

/// Which jobs the history shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub platform: Option<Platform>,
    pub status: Option<JobStatus>,
    /// Only jobs older than this `(created_at, id)` position (the next page).
    pub before: Option<(Millis, String)>,
}

/// Jobs created on one day, by status.
#[derive(Debug, Clone, PartialEq)]
pub struct DayCount {
    /// Days since the start of the range (0 = the first day).
    pub day: i64,
    pub status: JobStatus,
    pub count: i64,
}

/// Persistence of jobs. Every job state transition happens here, each as one
/// atomic conditional statement.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Inserts the job unless its idempotency key exists or the tenant's
    /// quota (jobs created since `period_start`) is used up.
    async fn create_job(
        &self,
        job: &NewJob,
        quota: i64,
        period_start: Millis,
    ) -> StoreResult<CreateOutcome>;
    async fn job(&self, id: &str) -> StoreResult<Option<JobRecord>>;
    /// Leases the tenant's oldest queued job to the device until `now + lease`,
    /// skipping post jobs of a platform the tenant posted on (reached
    /// `submitting`) less than its interval ago: the tenant's own interval
    /// (`set_tenant_pacing`) or the platform's in `intervals`, plus up to
    /// 20 % jitter taken from the job's creation time.
    async fn lease_next(
        &self,
        tenant_id: &str,
        device_id: &str,
        now: Millis,
        lease: Duration,
        intervals: &PlatformMap<Duration>,
    ) -> StoreResult<Option<JobRecord>>;
    /// Sets (`Some`) or clears (`None`) a tenant's interval between posts on
    /// a platform. False when there is no such tenant.
    async fn set_tenant_pacing(
        &self,
        tenant_id: &str,
        platform: Platform,
        interval_ms: Option<i64>,
    ) -> StoreResult<bool>;
    /// Records progress by the lease holder and renews its lease until
    /// `now + lease`.
    async fn report_progress(
        &self,
        job_id: &str,
        device_id: &str,
        stage: ProgressStage,
        now: Millis,
        lease: Duration,
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
    /// The tenant's jobs, newest first, at most `limit`.
    async fn tenant_jobs(
        &self,
        tenant_id: &str,
        filter: &JobFilter,
        limit: i64,
    ) -> StoreResult<Vec<JobRecord>>;
    /// Jobs created since `since`, counted per day and status.
    async fn jobs_per_day(&self, tenant_id: &str, since: Millis) -> StoreResult<Vec<DayCount>>;
}

pub(crate) const JOB_COLS: &str =
    "id, tenant_id, job_type, platform, text, media_paths, platform_payload, \
    idempotency_key, request_hash, status, device_id, lease_expires_at, submitting_at, attempts, \
    post_url, error, error_code, details, diagnostic, pack_version, created_at, updated_at, finished_at";

/// The buckets of `jobs_per_day`.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

pub(crate) fn job_from_row(row: &AnyRow) -> StoreResult<JobRecord> {
    let job_type: String = row.try_get("job_type")?;
    let platform: String = row.try_get("platform")?;
    let status: String = row.try_get("status")?;
    let media: String = row.try_get("media_paths")?;
    let payload: Option<String> = row.try_get("platform_payload")?;
    let details: Option<String> = row.try_get("details")?;
    let diagnostic: Option<String> = row.try_get("diagnostic")?;
    Ok(JobRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        job_type: JobType::parse(&job_type).ok_or_else(|| corrupt("job_type", &job_type))?,
        platform: Platform::from_str(&platform).map_err(|_| corrupt("platform", &platform))?,
        text: row.try_get("text")?,
        media_paths: parse_json("media_paths", &media)?,
        platform_payload: payload
            .as_deref()
            .map(|p| parse_json("platform_payload", p))
            .transpose()?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        status: JobStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        device_id: row.try_get("device_id")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        submitting_at: row.try_get("submitting_at")?,
        attempts: row.try_get("attempts")?,
        post_url: row.try_get("post_url")?,
        error: row.try_get("error")?,
        error_code: row.try_get("error_code")?,
        details: details
            .as_deref()
            .map(|d| parse_json("details", d))
            .transpose()?,
        diagnostic: diagnostic
            .as_deref()
            .map(|d| parse_json("diagnostic", d))
            .transpose()?,
        pack_version: row.try_get("pack_version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

impl SqlStore {
    async fn job_by_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<JobRecord>> {
        let sql =
            format!("SELECT {JOB_COLS} FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2");
        let row = sqlx::query(&self.q(&sql))
            .bind(tenant_id)
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn jobs_created_since(&self, tenant_id: &str, since: Millis) -> StoreResult<i64> {
        let n: i64 = sqlx::query_scalar(
            &self.q("SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND created_at >= $2"),
        )
        .bind(tenant_id)
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }
}

#[async_trait]
impl JobStore for SqlStore {
    async fn create_job(
        &self,
        job: &NewJob,
        quota: i64,
        period_start: Millis,
    ) -> StoreResult<CreateOutcome> {
        let media = serde_json::to_string(&job.media_paths).expect("strings serialize");
        let payload = job
            .platform_payload
            .as_ref()
            .map(|p| serde_json::to_string(p).expect("payload serializes"));
        // One statement: insert only while under quota and only if the
        // idempotency key is new.
        let sql = format!(
            "INSERT INTO jobs (id, tenant_id, job_type, platform, text, media_paths, platform_payload, \
               idempotency_key, request_hash, status, attempts, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, $10 \
             WHERE (SELECT COUNT(*) FROM jobs WHERE tenant_id = $2 AND created_at >= $11) < $12 \
             ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
             RETURNING {JOB_COLS}"
        );
        // PostgreSQL's quota count (READ COMMITTED) cannot see concurrent
        // inserts, so one tenant's creates queue on its row. SQLite has a
        // single writer: the statement alone is atomic there.
        let mut tx = self.pool().begin().await?;
        if self.dialect() == Dialect::Postgres {
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
                .bind(&job.tenant_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let row = sqlx::query(&self.q(&sql))
            .bind(&job.id)
            .bind(&job.tenant_id)
            .bind(job.job_type.as_str())
            .bind(job.platform.as_str())
            .bind(&job.text)
            .bind(&media)
            .bind(&payload)
            .bind(&job.idempotency_key)
            .bind(&job.request_hash)
            .bind(job.created_at)
            .bind(period_start)
            .bind(quota)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        if let Some(row) = row {
            self.announce(&job.tenant_id).await?;
            return Ok(CreateOutcome::Created(job_from_row(&row)?));
        }
        if let Some(key) = &job.idempotency_key {
            if let Some(existing) = self.job_by_key(&job.tenant_id, key).await? {
                return Ok(if existing.request_hash == job.request_hash {
                    CreateOutcome::Replayed(existing)
                } else {
                    CreateOutcome::KeyReused(existing)
                });
            }
        }
        let used = self
            .jobs_created_since(&job.tenant_id, period_start)
            .await?;
        Ok(CreateOutcome::QuotaExceeded { used, quota })
    }

    async fn job(&self, id: &str) -> StoreResult<Option<JobRecord>> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn lease_next(
        &self,
        tenant_id: &str,
        device_id: &str,
        now: Millis,
        lease: Duration,
        intervals: &PlatformMap<Duration>,
    ) -> StoreResult<Option<JobRecord>> {
        // The platform's interval: the tenant's own, else the server's
        // (integers from the settings, never user input).
        let server_interval = intervals
            .iter()
            .map(|(p, interval)| format!("WHEN '{}' THEN {}", p.as_str(), millis(*interval)))
            .collect::<Vec<_>>()
            .join(" ");
        let interval = format!(
            "COALESCE((SELECT tp.interval_ms FROM tenant_pacing tp \
               WHERE tp.tenant_id = j.tenant_id AND tp.platform = j.platform), \
               CASE j.platform {server_interval} ELSE 0 END)"
        );
        let sql = format!(
            "UPDATE jobs SET status = 'processing', device_id = $1, lease_expires_at = $2, \
               attempts = attempts + 1, updated_at = $3 \
             WHERE status = 'queued' AND id = ( \
               SELECT j.id FROM jobs j WHERE j.tenant_id = $4 AND j.status = 'queued' \
               AND (j.job_type <> 'post' OR NOT EXISTS ( \
                 SELECT 1 FROM jobs p WHERE p.tenant_id = j.tenant_id AND p.platform = j.platform \
                 AND p.job_type = 'post' AND p.submitting_at IS NOT NULL \
                 AND p.submitting_at > $3 - ({interval}) * (1000 + (j.created_at % 1000) / 5) / 1000)) \
               ORDER BY j.{order} LIMIT 1 {lock}) \
             RETURNING {JOB_COLS}",
            order = self.dialect().queue_order(),
            lock = self.dialect().skip_locked(),
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(device_id)
            .bind(now.saturating_add(millis(lease)))
            .bind(now)
            .bind(tenant_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn set_tenant_pacing(
        &self,
        tenant_id: &str,
        platform: Platform,
        interval_ms: Option<i64>,
    ) -> StoreResult<bool> {
        let exists = sqlx::query(&self.q("SELECT id FROM tenants WHERE id = $1"))
            .bind(tenant_id)
            .fetch_optional(self.pool())
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        match interval_ms {
            Some(ms) => {
                sqlx::query(&self.q(
                    "INSERT INTO tenant_pacing (tenant_id, platform, interval_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id, platform) DO UPDATE SET interval_ms = excluded.interval_ms",
                ))
                .bind(tenant_id)
                .bind(platform.as_str())
                .bind(ms.max(0))
                .execute(self.pool())
                .await?;
            }
            None => {
                sqlx::query(
                    &self.q("DELETE FROM tenant_pacing WHERE tenant_id = $1 AND platform = $2"),
                )
                .bind(tenant_id)
                .bind(platform.as_str())
                .execute(self.pool())
                .await?;
            }
        }
        Ok(true)
    }

    async fn report_progress(
        &self,
        job_id: &str,
        device_id: &str,
        stage: ProgressStage,
        now: Millis,
        lease: Duration,
    ) -> StoreResult<ProgressOutcome> {
        let submitting = match stage {
            ProgressStage::Working => "submitting_at",
            ProgressStage::Submitting => "COALESCE(submitting_at, $2)",
        };
        // Only a live lease may move on: a lease that already ran out may be
        // handed to another device, so its holder must not click submit.
        let sql = format!(
            "UPDATE jobs SET lease_expires_at = $1, updated_at = $2, submitting_at = {submitting} \
             WHERE id = $3 AND device_id = $4 AND status = 'processing' AND lease_expires_at >= $2 \
             RETURNING {JOB_COLS}"
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(now.saturating_add(millis(lease)))
            .bind(now)
            .bind(job_id)
            .bind(device_id)
            .fetch_optional(self.pool())
            .await?;
        if let Some(row) = row {
            return Ok(ProgressOutcome::Accepted(job_from_row(&row)?));
        }
        Ok(match self.job(job_id).await? {
            Some(job) => ProgressOutcome::NotHolder(job),
            None => ProgressOutcome::NotFound,
        })
    }

    async fn complete_job(
        &self,
        job_id: &str,
        device_id: &str,
        c: &Completion,
        now: Millis,
    ) -> StoreResult<AckOutcome> {
        // The holder completes a job it is processing, or corrects an
        // `outcome_unknown` failure that was decided while it was silent.
        let sql = format!(
            "UPDATE jobs SET status = $1, post_url = $2, error = $3, error_code = $4, details = $5, \
               pack_version = COALESCE($6, pack_version), ack_hash = $7, updated_at = $8, finished_at = $8, \
               lease_expires_at = NULL, diagnostic = $11 \
             WHERE id = $9 AND device_id = $10 AND (status = 'processing' \
               OR (status = 'failed' AND error_code = '{unknown}' AND ack_hash IS NULL)) \
             RETURNING {JOB_COLS}",
            unknown = JobErrorCode::OutcomeUnknown.as_str(),
        );
        let details = c.details.as_ref().map(|d| d.to_string());
        let diagnostic = c.diagnostic.as_ref().map(|d| d.to_string());
        let row = sqlx::query(&self.q(&sql))
            .bind(c.status.as_str())
            .bind(&c.post_url)
            .bind(&c.error)
            .bind(&c.error_code)
            .bind(&details)
            .bind(&c.pack_version)
            .bind(&c.ack_hash)
            .bind(now)
            .bind(job_id)
            .bind(device_id)
            .bind(&diagnostic)
            .fetch_optional(self.pool())
            .await?;
        if let Some(row) = row {
            if let Some(v) = &c.pack_version {
                sqlx::query(&self.q("UPDATE devices SET pack_version = $1 WHERE id = $2"))
                    .bind(v)
                    .bind(device_id)
                    .execute(self.pool())
                    .await?;
            }
            return Ok(AckOutcome::Completed(job_from_row(&row)?));
        }
        let stored_hash: Option<Option<String>> =
            sqlx::query_scalar(&self.q("SELECT ack_hash FROM jobs WHERE id = $1"))
                .bind(job_id)
                .fetch_optional(self.pool())
                .await?;
        let Some(job) = self.job(job_id).await? else {
            return Ok(AckOutcome::NotFound);
        };
        let same_ack = stored_hash.flatten().as_deref() == Some(c.ack_hash.as_str());
        Ok(if same_ack && job.device_id.as_deref() == Some(device_id) {
            AckOutcome::Duplicate(job)
        } else {
            AckOutcome::Conflict(job)
        })
    }

    async fn expire_leases(&self, now: Millis) -> StoreResult<Expired> {
        let requeued: Vec<String> = sqlx::query_scalar(&self.q(
            "UPDATE jobs SET status = 'queued', device_id = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE status = 'processing' AND lease_expires_at < $1 AND submitting_at IS NULL \
             RETURNING tenant_id",
        ))
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let failed = sqlx::query(&self.q(
            "UPDATE jobs SET status = 'failed', error_code = $2, error = $3, updated_at = $1, \
               finished_at = $1, lease_expires_at = NULL \
             WHERE status = 'processing' AND lease_expires_at < $1 AND submitting_at IS NOT NULL",
        ))
        .bind(now)
        .bind(JobErrorCode::OutcomeUnknown.as_str())
        .bind(JobErrorCode::OutcomeUnknown.default_message())
        .execute(self.pool())
        .await?;
        let mut requeued_tenants = requeued;
        requeued_tenants.sort();
        requeued_tenants.dedup();
        for tenant in &requeued_tenants {
            self.announce(tenant).await?;
        }
        Ok(Expired {
            requeued_tenants,
            failed_unknown: failed.rows_affected(),
        })
    }

    async fn usage(&self, tenant_id: &str, since: Millis) -> StoreResult<UsageCounts> {
        let rows = sqlx::query(&self.q("SELECT platform, status, COUNT(*) AS n FROM jobs \
             WHERE tenant_id = $1 AND created_at >= $2 GROUP BY platform, status"))
        .bind(tenant_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        let mut total = Counts::default();
        let mut by_platform = PlatformMap::<Counts>::default();
        for row in rows {
            let platform: String = row.try_get("platform")?;
            let status: String = row.try_get("status")?;
            let n: i64 = row.try_get("n")?;
            let platform =
                Platform::from_str(&platform).map_err(|_| corrupt("platform", &platform))?;
            let status = JobStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
            for counts in [&mut total, &mut by_platform[platform]] {
                counts.created += n;
                match status {
                    JobStatus::Queued => counts.queued += n,
                    JobStatus::Processing => counts.processing += n,
                    JobStatus::Succeeded => counts.succeeded += n,
                    JobStatus::Failed => counts.failed += n,
                }
            }
        }
        Ok(UsageCounts {
            total,
            by_platform: by_platform.into_iter().collect(),
        })
    }

    async fn tenant_jobs(
        &self,
        tenant_id: &str,
        filter: &JobFilter,
        limit: i64,
    ) -> StoreResult<Vec<JobRecord>> {
        // Only the conditions in use are written, so every bound value has a
        // type PostgreSQL can infer.
        let mut conds = vec!["tenant_id = $1".to_string()];
        let mut n = 1;
        let mut next = || {
            n += 1;
            n
        };
        if filter.platform.is_some() {
            conds.push(format!("platform = ${}", next()));
        }
        if filter.status.is_some() {
            conds.push(format!("status = ${}", next()));
        }
        if filter.before.is_some() {
            let (a, b) = (next(), next());
            conds.push(format!(
                "(created_at < ${a} OR (created_at = ${a} AND id < ${b}))"
            ));
        }
        let limit_at = next();
        let sql = format!(
            "SELECT {JOB_COLS} FROM jobs WHERE {} ORDER BY created_at DESC, id DESC LIMIT ${limit_at}",
            conds.join(" AND ")
        );
        let sql = self.q(&sql);
        let mut query = sqlx::query(&sql).bind(tenant_id);
        if let Some(p) = filter.platform {
            query = query.bind(p.as_str());
        }
        if let Some(s) = filter.status {
            query = query.bind(s.as_str());
        }
        if let Some((at, id)) = &filter.before {
            query = query.bind(*at).bind(id.clone());
        }
        let rows = query.bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn jobs_per_day(&self, tenant_id: &str, since: Millis) -> StoreResult<Vec<DayCount>> {
        let rows = sqlx::query(&self.q(
            "SELECT (created_at - $2) / $3 AS day_index, status, COUNT(*) AS n FROM jobs \
             WHERE tenant_id = $1 AND created_at >= $2 GROUP BY day_index, status",
        ))
        .bind(tenant_id)
        .bind(since)
        .bind(millis(DAY))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(DayCount {
                    day: row.try_get("day_index")?,
                    status: JobStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }
}

//! The SQL store: one implementation over sqlx's `Any` driver, for SQLite
//! (WAL, `synchronous=FULL`) and PostgreSQL. The few dialect differences (the
//! queue's order column, `FOR UPDATE SKIP LOCKED`, placeholders, migrations)
//! are settled once in [`Dialect`]; every state transition is a single
//! conditional statement, so both engines give the same guarantees.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use extension_core::{JobErrorCode, JobStatus, JobType, Platform, ProgressStage};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use super::*;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The database engine behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Which engine a database URL names.
    pub fn of_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }

    /// The column that orders the queue (insertion order).
    fn queue_order(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "seq",
        }
    }

    /// Row locking for the lease's inner select. SQLite has a single writer,
    /// so the statement is atomic without it.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// Queries are written with PostgreSQL's `$N`; SQLite's numbered form is `?N`.
    fn sql(self, sql: &str) -> Cow<'_, str> {
        match self {
            Dialect::Postgres => Cow::Borrowed(sql),
            Dialect::Sqlite => Cow::Owned(sql.replace('$', "?")),
        }
    }
}

pub(super) const JOB_COLS: &str =
    "id, tenant_id, job_type, platform, text, media_paths, platform_payload, \
    idempotency_key, request_hash, status, device_id, lease_expires_at, submitting_at, attempts, \
    post_url, error, error_code, details, diagnostic, pack_version, created_at, updated_at, finished_at";

pub(super) const DEVICE_COLS: &str =
    "id, tenant_id, name, pairing_code, code_expires_at, poll_token_hash, \
    token_hash, paired_at, last_seen_at, revoked_at, pack_version, created_at";

const TENANT_COLS: &str = "id, name, quota, created_at";

/// The SQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl SqlStore {
    /// Connects to `url` (`sqlite:…` or `postgres://…`) and runs the migrations.
    pub async fn connect(url: &str) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url).ok_or_else(|| {
            StoreError::Db(sqlx::Error::Configuration(
                "database URL must start with sqlite: or postgres://".into(),
            ))
        })?;
        let opts = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // Durable commits, readers beside one writer, waits instead of SQLITE_BUSY.
                        conn.execute("PRAGMA journal_mode=WAL").await?;
                        conn.execute("PRAGMA synchronous=FULL").await?;
                        conn.execute("PRAGMA busy_timeout=10000").await?;
                        conn.execute("PRAGMA foreign_keys=ON").await?;
                    }
                    Ok(())
                })
            });
        let pool = opts.connect(url).await?;
        let store = SqlStore { pool, dialect };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(super) fn q<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        self.dialect.sql(sql)
    }

    /// Tells every server instance on this PostgreSQL database that the
    /// tenant has a job available (see [`crate::notify::listen_postgres`]).
    /// SQLite has a single instance, whose in-process notifier suffices.
    async fn announce(&self, tenant_id: &str) -> StoreResult<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::notify::JOBS_CHANNEL)
                .bind(tenant_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn job_by_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<JobRecord>> {
        let sql =
            format!("SELECT {JOB_COLS} FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2");
        let row = sqlx::query(&self.q(&sql))
            .bind(tenant_id)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn jobs_created_since(&self, tenant_id: &str, since: Millis) -> StoreResult<i64> {
        let n: i64 = sqlx::query_scalar(
            &self.q("SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND created_at >= $2"),
        )
        .bind(tenant_id)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|_| corrupt(what, s))
}

pub(super) fn job_from_row(row: &AnyRow) -> StoreResult<JobRecord> {
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

pub(super) fn device_from_row(row: &AnyRow) -> StoreResult<Device> {
    let token_hash: Option<String> = row.try_get("token_hash")?;
    Ok(Device {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        pairing_code: row.try_get("pairing_code")?,
        code_expires_at: row.try_get("code_expires_at")?,
        poll_token_hash: row.try_get("poll_token_hash")?,
        token_issued: token_hash.is_some(),
        paired_at: row.try_get("paired_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        revoked_at: row.try_get("revoked_at")?,
        pack_version: row.try_get("pack_version")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn tenant_from_row(row: &AnyRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        quota: row.try_get("quota")?,
        created_at: row.try_get("created_at")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[async_trait]
impl Store for SqlStore {
    async fn create_tenant(&self, t: &Tenant, api_key_hash: &str) -> StoreResult<()> {
        sqlx::query(&self.q(
            "INSERT INTO tenants (id, name, api_key_hash, quota, created_at) VALUES ($1, $2, $3, $4, $5)",
        ))
        .bind(&t.id)
        .bind(&t.name)
        .bind(api_key_hash)
        .bind(t.quota)
        .bind(t.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn tenant_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn tenant_by_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE api_key_hash = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(api_key_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn rotate_key(&self, tenant_id: &str, api_key_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(&self.q("UPDATE tenants SET api_key_hash = $1 WHERE id = $2"))
            .bind(api_key_hash)
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn register_device(&self, d: &Device) -> StoreResult<bool> {
        // An expired code may still sit in the unique index: free it first.
        sqlx::query(&self.q(
            "UPDATE devices SET pairing_code = NULL WHERE pairing_code = $1 AND code_expires_at <= $2",
        ))
        .bind(&d.pairing_code)
        .bind(d.created_at)
        .execute(&self.pool)
        .await?;
        let inserted = sqlx::query(&self.q(
            "INSERT INTO devices (id, tenant_id, name, pairing_code, code_expires_at, poll_token_hash, created_at) \
             VALUES ($1, NULL, $2, $3, $4, $5, $6)",
        ))
        .bind(&d.id)
        .bind(&d.name)
        .bind(&d.pairing_code)
        .bind(d.code_expires_at)
        .bind(&d.poll_token_hash)
        .bind(d.created_at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn device(&self, id: &str) -> StoreResult<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn pair_device(
        &self,
        code: &str,
        tenant_id: &str,
        now: Millis,
    ) -> StoreResult<PairOutcome> {
        let sql = format!(
            "UPDATE devices SET tenant_id = $1, paired_at = $2, pairing_code = NULL \
             WHERE pairing_code = $3 AND code_expires_at > $2 AND tenant_id IS NULL \
             RETURNING {DEVICE_COLS}"
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(tenant_id)
            .bind(now)
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => PairOutcome::Paired(Box::new(device_from_row(&r)?)),
            None => PairOutcome::NoSuchCode,
        })
    }

    async fn issue_device_token(&self, device_id: &str, token_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(&self.q(
            "UPDATE devices SET token_hash = $1 \
             WHERE id = $2 AND tenant_id IS NOT NULL AND token_hash IS NULL AND revoked_at IS NULL",
        ))
        .bind(token_hash)
        .bind(device_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Device>> {
        let sql = format!(
            "SELECT {DEVICE_COLS} FROM devices \
             WHERE token_hash = $1 AND tenant_id IS NOT NULL AND revoked_at IS NULL"
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn touch_device(&self, device_id: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(&self.q("UPDATE devices SET last_seen_at = $1 WHERE id = $2"))
            .bind(now)
            .bind(device_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn paired_device_count(&self, tenant_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(&self.q(
            "SELECT COUNT(*) FROM devices WHERE tenant_id = $1 AND paired_at IS NOT NULL AND revoked_at IS NULL",
        ))
        .bind(tenant_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn record_pair_failure(&self, scopes: &[String], now: Millis) -> StoreResult<()> {
        for scope in scopes {
            sqlx::query(&self.q("INSERT INTO pair_failures (scope, at) VALUES ($1, $2)"))
                .bind(scope)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        // Keep the table small: nothing older than a day matters.
        sqlx::query(&self.q("DELETE FROM pair_failures WHERE at < $1"))
            .bind(now - 86_400_000)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn pair_failures_since(&self, scope: &str, since: Millis) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            &self.q("SELECT COUNT(*) FROM pair_failures WHERE scope = $1 AND at >= $2"),
        )
        .bind(scope)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

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
        let mut tx = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
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
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn lease_next(
        &self,
        tenant_id: &str,
        device_id: &str,
        now: Millis,
        lease_ms: i64,
        intervals: &[i64; 5],
    ) -> StoreResult<Option<JobRecord>> {
        // The platform's interval: the tenant's own, else the server's
        // (integers from the settings, never user input).
        let server_interval = Platform::ALL
            .iter()
            .map(|p| {
                format!(
                    "WHEN '{}' THEN {}",
                    p.as_str(),
                    intervals[*p as usize].max(0)
                )
            })
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
            order = self.dialect.queue_order(),
            lock = self.dialect.skip_locked(),
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(device_id)
            .bind(now + lease_ms)
            .bind(now)
            .bind(tenant_id)
            .fetch_optional(&self.pool)
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
            .fetch_optional(&self.pool)
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
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query(
                    &self.q("DELETE FROM tenant_pacing WHERE tenant_id = $1 AND platform = $2"),
                )
                .bind(tenant_id)
                .bind(platform.as_str())
                .execute(&self.pool)
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
        lease_ms: i64,
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
            .bind(now + lease_ms)
            .bind(now)
            .bind(job_id)
            .bind(device_id)
            .fetch_optional(&self.pool)
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
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = row {
            if let Some(v) = &c.pack_version {
                sqlx::query(&self.q("UPDATE devices SET pack_version = $1 WHERE id = $2"))
                    .bind(v)
                    .bind(device_id)
                    .execute(&self.pool)
                    .await?;
            }
            return Ok(AckOutcome::Completed(job_from_row(&row)?));
        }
        let stored_hash: Option<Option<String>> =
            sqlx::query_scalar(&self.q("SELECT ack_hash FROM jobs WHERE id = $1"))
                .bind(job_id)
                .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
        .await?;
        let failed = sqlx::query(&self.q(
            "UPDATE jobs SET status = 'failed', error_code = $2, error = $3, updated_at = $1, \
               finished_at = $1, lease_expires_at = NULL \
             WHERE status = 'processing' AND lease_expires_at < $1 AND submitting_at IS NOT NULL",
        ))
        .bind(now)
        .bind(JobErrorCode::OutcomeUnknown.as_str())
        .bind(JobErrorCode::OutcomeUnknown.default_message())
        .execute(&self.pool)
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
        .fetch_all(&self.pool)
        .await?;
        let mut usage = UsageCounts {
            total: Counts::default(),
            by_platform: Platform::ALL
                .iter()
                .map(|p| (*p, Counts::default()))
                .collect(),
        };
        for row in rows {
            let platform: String = row.try_get("platform")?;
            let status: String = row.try_get("status")?;
            let n: i64 = row.try_get("n")?;
            let platform =
                Platform::from_str(&platform).map_err(|_| corrupt("platform", &platform))?;
            let status = JobStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
            let slot = &mut usage
                .by_platform
                .iter_mut()
                .find(|(p, _)| *p == platform)
                .expect("every platform has a slot")
                .1;
            for counts in [&mut usage.total, slot] {
                counts.created += n;
                match status {
                    JobStatus::Queued => counts.queued += n,
                    JobStatus::Processing => counts.processing += n,
                    JobStatus::Succeeded => counts.succeeded += n,
                    JobStatus::Failed => counts.failed += n,
                }
            }
        }
        Ok(usage)
    }
}

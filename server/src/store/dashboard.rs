//! Persistence for the dashboard and sign-in: sessions, OpenID Connect
//! identities, pending sign-ins and spent nonces, plus the tenant-scoped reads
//! the dashboard shows (devices, job history, jobs per day) and device
//! revocation. [`DashboardStore`] is a supertrait of [`Store`](super::Store);
//! its SQL on [`SqlStore`] follows `sql.rs`: `$N` placeholders converted by
//! the dialect, every transition one conditional statement.

use async_trait::async_trait;
use extension_core::{JobStatus, Platform};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{device_from_row, job_from_row, tenant_from_row, DEVICE_COLS, JOB_COLS};
use super::{Device, JobRecord, SqlStore, StoreError, StoreResult, Tenant};
use crate::clock::Millis;

/// How a dashboard session signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    /// With the tenant's API key.
    ApiKey,
    /// Through the OpenID provider.
    Oidc,
}

impl SignInMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::ApiKey => "api_key",
            SignInMethod::Oidc => "oidc",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [SignInMethod::ApiKey, SignInMethod::Oidc]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A signed-in dashboard session. The browser holds the secret; the store
/// holds its hash.
#[derive(Clone, PartialEq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub tenant_id: String,
    pub method: SignInMethod,
    /// The account's email, for sessions signed in through the provider.
    pub email: Option<String>,
    /// The API key sealed under the session secret, when this session saw it.
    pub sealed_key: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("tenant_id", &self.tenant_id)
            .field("method", &self.method)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An account at an OpenID provider, linked to the tenant it owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub tenant_id: String,
    pub email: String,
    pub created_at: Millis,
    pub last_login_at: Millis,
}

/// What [`DashboardStore::sign_in_identity`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum IdentitySignIn {
    /// The identity was known: its tenant.
    Existing(Tenant),
    /// First sign-in: the tenant given was created and linked.
    Created(Tenant),
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

/// The dashboard's persistence.
#[async_trait]
pub trait DashboardStore: Send + Sync + 'static {
    // --- sessions
    /// Stores a new session and drops the expired ones.
    async fn create_session(&self, session: &SessionRecord, now: Millis) -> StoreResult<()>;
    /// A live session by the hash of its secret.
    async fn session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<SessionRecord>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    /// Ends every session of the tenant except `keep_id_hash`.
    async fn delete_other_sessions(&self, tenant_id: &str, keep_id_hash: &str) -> StoreResult<u64>;
    async fn set_session_key(&self, id_hash: &str, sealed_key: Option<&str>) -> StoreResult<()>;

    // --- OpenID Connect
    /// Records a started sign-in (and the local page to return to) until
    /// `expires_at`; drops expired ones.
    async fn create_oidc_login(
        &self,
        state_hash: &str,
        next_path: Option<&str>,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// Consumes a started sign-in, once, while it is live: `Some(next_path)`.
    async fn take_oidc_login(
        &self,
        state_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<Option<String>>>;
    /// Spends an ID token's nonce: true the first time, false on a replay.
    async fn spend_nonce(
        &self,
        nonce_hash: &str,
        expires_at: Millis,
        now: Millis,
    ) -> StoreResult<bool>;
    async fn identity(&self, issuer: &str, subject: &str) -> StoreResult<Option<Identity>>;
    /// Signs an identity in: updates its email and last sign-in when it is
    /// known, otherwise creates `new_tenant` (with `api_key_hash`) and links
    /// the identity to it, atomically; a concurrent first sign-in of the same
    /// identity ends on the tenant that won.
    async fn sign_in_identity(
        &self,
        identity: &Identity,
        new_tenant: &Tenant,
        api_key_hash: &str,
    ) -> StoreResult<IdentitySignIn>;
    /// The email of the first identity linked to the tenant, if any.
    async fn tenant_email(&self, tenant_id: &str) -> StoreResult<Option<String>>;

    // --- devices
    /// Inserts a device already paired with its tenant and holding its token
    /// (pairing without a code, after an ID-token sign-in).
    async fn create_paired_device(&self, device: &Device, token_hash: &str) -> StoreResult<()>;
    /// The tenant's paired, unrevoked devices, most recently paired first.
    async fn tenant_devices(&self, tenant_id: &str) -> StoreResult<Vec<Device>>;
    /// Revokes the tenant's device: its token stops working at once. False
    /// when the tenant has no such live device.
    async fn revoke_device(
        &self,
        tenant_id: &str,
        device_id: &str,
        now: Millis,
    ) -> StoreResult<bool>;

    // --- job history
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

const SESSION_COLS: &str = "id_hash, tenant_id, method, email, sealed_key, created_at, expires_at";
const IDENTITY_COLS: &str = "issuer, subject, tenant_id, email, created_at, last_login_at";
const DAY_MS: i64 = 86_400_000;

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {v:?}"))
}

fn session_from_row(row: &AnyRow) -> StoreResult<SessionRecord> {
    let method: String = row.try_get("method")?;
    Ok(SessionRecord {
        id_hash: row.try_get("id_hash")?,
        tenant_id: row.try_get("tenant_id")?,
        method: SignInMethod::parse(&method).ok_or_else(|| corrupt("session method", &method))?,
        email: row.try_get("email")?,
        sealed_key: row.try_get("sealed_key")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn identity_from_row(row: &AnyRow) -> StoreResult<Identity> {
    Ok(Identity {
        issuer: row.try_get("issuer")?,
        subject: row.try_get("subject")?,
        tenant_id: row.try_get("tenant_id")?,
        email: row.try_get("email")?,
        created_at: row.try_get("created_at")?,
        last_login_at: row.try_get("last_login_at")?,
    })
}

#[async_trait]
impl DashboardStore for SqlStore {
    async fn create_session(&self, s: &SessionRecord, now: Millis) -> StoreResult<()> {
        sqlx::query(&self.q("DELETE FROM dashboard_sessions WHERE expires_at <= $1"))
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(&self.q(
            "INSERT INTO dashboard_sessions (id_hash, tenant_id, method, email, sealed_key, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        ))
        .bind(&s.id_hash)
        .bind(&s.tenant_id)
        .bind(s.method.as_str())
        .bind(&s.email)
        .bind(&s.sealed_key)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<SessionRecord>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > $2"
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(id_hash)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query(&self.q("DELETE FROM dashboard_sessions WHERE id_hash = $1"))
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn delete_other_sessions(&self, tenant_id: &str, keep_id_hash: &str) -> StoreResult<u64> {
        let done = sqlx::query(
            &self.q("DELETE FROM dashboard_sessions WHERE tenant_id = $1 AND id_hash <> $2"),
        )
        .bind(tenant_id)
        .bind(keep_id_hash)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn set_session_key(&self, id_hash: &str, sealed_key: Option<&str>) -> StoreResult<()> {
        sqlx::query(&self.q("UPDATE dashboard_sessions SET sealed_key = $1 WHERE id_hash = $2"))
            .bind(sealed_key)
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn create_oidc_login(
        &self,
        state_hash: &str,
        next_path: Option<&str>,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()> {
        sqlx::query(&self.q("DELETE FROM oidc_logins WHERE expires_at <= $1"))
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(&self.q(
            "INSERT INTO oidc_logins (state_hash, next_path, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        ))
        .bind(state_hash)
        .bind(next_path)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn take_oidc_login(
        &self,
        state_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<Option<String>>> {
        let row = sqlx::query(&self.q(
            "DELETE FROM oidc_logins WHERE state_hash = $1 AND expires_at > $2 RETURNING next_path",
        ))
        .bind(state_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("next_path")).transpose()?)
    }

    async fn spend_nonce(
        &self,
        nonce_hash: &str,
        expires_at: Millis,
        now: Millis,
    ) -> StoreResult<bool> {
        sqlx::query(&self.q("DELETE FROM oidc_nonces WHERE expires_at <= $1"))
            .bind(now)
            .execute(self.pool())
            .await?;
        let done = sqlx::query(&self.q(
            "INSERT INTO oidc_nonces (nonce_hash, expires_at) VALUES ($1, $2) \
             ON CONFLICT (nonce_hash) DO NOTHING",
        ))
        .bind(nonce_hash)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn identity(&self, issuer: &str, subject: &str) -> StoreResult<Option<Identity>> {
        let sql = format!(
            "SELECT {IDENTITY_COLS} FROM oidc_identities WHERE issuer = $1 AND subject = $2"
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(issuer)
            .bind(subject)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(identity_from_row).transpose()
    }

    async fn sign_in_identity(
        &self,
        id: &Identity,
        new_tenant: &Tenant,
        api_key_hash: &str,
    ) -> StoreResult<IdentitySignIn> {
        let existing_tenant = |tenant_id: String| async move {
            let sql = "SELECT id, name, quota, created_at FROM tenants WHERE id = $1";
            let row = sqlx::query(&self.q(sql))
                .bind(&tenant_id)
                .fetch_one(self.pool())
                .await?;
            tenant_from_row(&row)
        };
        // Known identity: refresh it.
        let known: Option<String> = sqlx::query_scalar(
            &self.q("UPDATE oidc_identities SET email = $1, last_login_at = $2 \
             WHERE issuer = $3 AND subject = $4 RETURNING tenant_id"),
        )
        .bind(&id.email)
        .bind(id.last_login_at)
        .bind(&id.issuer)
        .bind(&id.subject)
        .fetch_optional(self.pool())
        .await?;
        if let Some(tenant_id) = known {
            return Ok(IdentitySignIn::Existing(existing_tenant(tenant_id).await?));
        }
        // First sign-in: tenant and link together, or neither.
        let mut tx = self.pool().begin().await?;
        sqlx::query(&self.q(
            "INSERT INTO tenants (id, name, api_key_hash, quota, created_at) VALUES ($1, $2, $3, $4, $5)",
        ))
        .bind(&new_tenant.id)
        .bind(&new_tenant.name)
        .bind(api_key_hash)
        .bind(new_tenant.quota)
        .bind(new_tenant.created_at)
        .execute(&mut *tx)
        .await?;
        let linked = sqlx::query(&self.q(
            "INSERT INTO oidc_identities (issuer, subject, tenant_id, email, created_at, last_login_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (issuer, subject) DO NOTHING",
        ))
        .bind(&id.issuer)
        .bind(&id.subject)
        .bind(&new_tenant.id)
        .bind(&id.email)
        .bind(id.created_at)
        .bind(id.last_login_at)
        .execute(&mut *tx)
        .await?;
        if linked.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(IdentitySignIn::Created(new_tenant.clone()));
        }
        // A concurrent first sign-in linked it first: use its tenant.
        tx.rollback().await?;
        let winner = self
            .identity(&id.issuer, &id.subject)
            .await?
            .ok_or_else(|| StoreError::Corrupt("identity vanished while linking".into()))?;
        Ok(IdentitySignIn::Existing(
            existing_tenant(winner.tenant_id).await?,
        ))
    }

    async fn tenant_email(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(&self.q(
            "SELECT email FROM oidc_identities WHERE tenant_id = $1 ORDER BY created_at LIMIT 1",
        ))
        .bind(tenant_id)
        .fetch_optional(self.pool())
        .await?)
    }

    async fn create_paired_device(&self, d: &Device, token_hash: &str) -> StoreResult<()> {
        sqlx::query(&self.q(
            "INSERT INTO devices (id, tenant_id, name, pairing_code, code_expires_at, poll_token_hash, \
               token_hash, paired_at, created_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8)",
        ))
        .bind(&d.id)
        .bind(&d.tenant_id)
        .bind(&d.name)
        .bind(d.code_expires_at)
        .bind(&d.poll_token_hash)
        .bind(token_hash)
        .bind(d.paired_at)
        .bind(d.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn tenant_devices(&self, tenant_id: &str) -> StoreResult<Vec<Device>> {
        let sql = format!(
            "SELECT {DEVICE_COLS} FROM devices \
             WHERE tenant_id = $1 AND paired_at IS NOT NULL AND revoked_at IS NULL \
             ORDER BY paired_at DESC, id"
        );
        let rows = sqlx::query(&self.q(&sql))
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(device_from_row).collect()
    }

    async fn revoke_device(
        &self,
        tenant_id: &str,
        device_id: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            &self.q("UPDATE devices SET revoked_at = $1, pairing_code = NULL \
             WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL"),
        )
        .bind(now)
        .bind(device_id)
        .bind(tenant_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
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
        .bind(DAY_MS)
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

//! Tenants: accounts owning jobs, devices and an API key (stored as a hash).

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::devices::REVOKE_TENANT_DEVICES;
use crate::oauth::REVOKE_TENANT_GRANTS;
use crate::sessions::DELETE_OTHER_SESSIONS;
use crate::sql::SqlStore;
use crate::{Millis, StoreResult};

/// An account: its jobs, devices and API key.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// Jobs per calendar month (UTC).
    pub quota: i64,
    pub created_at: Millis,
}

/// What a key rotation ends besides the old key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revocation<'a> {
    /// The hash of the dashboard session that rotated the key, which stays
    /// signed in; every other session of the tenant ends.
    pub keep_session: Option<&'a str>,
    /// Whether every paired device is revoked too.
    pub devices: bool,
}

/// What a key rotation ended: how many grants, sessions and devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revoked {
    pub grants: u64,
    pub sessions: u64,
    pub devices: u64,
}

/// Persistence of tenants and their API key hashes.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    async fn create_tenant(&self, tenant: &Tenant, api_key_hash: &str) -> StoreResult<()>;
    async fn tenant_count(&self) -> StoreResult<i64>;
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>>;
    /// Replaces the tenant's key hash and, in the same transaction, ends
    /// what the old key could have opened: every OAuth grant of the tenant
    /// is revoked, every dashboard session but `revoke.keep_session` ends
    /// and, with `revoke.devices`, every device is revoked. None when the
    /// tenant does not exist (nothing changes).
    async fn rotate_key(
        &self,
        tenant_id: &str,
        api_key_hash: &str,
        revoke: Revocation<'_>,
        now: Millis,
    ) -> StoreResult<Option<Revoked>>;
}

pub(crate) const TENANT_COLS: &str = "id, name, quota, created_at";

/// The statement that inserts a tenant: `id, name, api_key_hash, quota, created_at`.
pub(crate) const INSERT_TENANT: &str =
    "INSERT INTO tenants (id, name, api_key_hash, quota, created_at) VALUES ($1, $2, $3, $4, $5)";

pub(crate) fn tenant_from_row(row: &AnyRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        quota: row.try_get("quota")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn create_tenant(&self, t: &Tenant, api_key_hash: &str) -> StoreResult<()> {
        sqlx::query(&self.q(INSERT_TENANT))
            .bind(&t.id)
            .bind(&t.name)
            .bind(api_key_hash)
            .bind(t.quota)
            .bind(t.created_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn tenant_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
            .fetch_one(self.pool())
            .await?)
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn tenant_by_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE api_key_hash = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(api_key_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn rotate_key(
        &self,
        tenant_id: &str,
        api_key_hash: &str,
        revoke: Revocation<'_>,
        now: Millis,
    ) -> StoreResult<Option<Revoked>> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(&self.q("UPDATE tenants SET api_key_hash = $1 WHERE id = $2"))
            .bind(api_key_hash)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let grants = sqlx::query(&self.q(REVOKE_TENANT_GRANTS))
            .bind(now)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        let sessions = sqlx::query(&self.q(DELETE_OTHER_SESSIONS))
            .bind(tenant_id)
            .bind(revoke.keep_session.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        let devices = if revoke.devices {
            sqlx::query(&self.q(REVOKE_TENANT_DEVICES))
                .bind(now)
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        } else {
            0
        };
        tx.commit().await?;
        Ok(Some(Revoked {
            grants: grants.rows_affected(),
            sessions: sessions.rows_affected(),
            devices,
        }))
    }
}

//! Tenants: accounts owning jobs, devices and an API key (stored as a hash).

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

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

/// Persistence of tenants and their API key hashes.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    async fn create_tenant(&self, tenant: &Tenant, api_key_hash: &str) -> StoreResult<()>;
    async fn tenant_count(&self) -> StoreResult<i64>;
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>>;
    /// Replaces the tenant's key hash; false when the tenant does not exist.
    async fn rotate_key(&self, tenant_id: &str, api_key_hash: &str) -> StoreResult<bool>;
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

    async fn rotate_key(&self, tenant_id: &str, api_key_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(&self.q("UPDATE tenants SET api_key_hash = $1 WHERE id = $2"))
            .bind(api_key_hash)
            .bind(tenant_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

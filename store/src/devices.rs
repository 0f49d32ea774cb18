//! Devices: browser extension installs, from registration through pairing
//! (by code, or directly after a sign-in) to revocation; registrations
//! never paired are swept once their code expired. Tokens are stored only as
//! hashes.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::{is_unique_violation, SqlStore};
use crate::{Millis, StoreResult};

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

/// What `pair_device` did.
#[derive(Debug, Clone)]
pub enum PairOutcome {
    Paired(Box<Device>),
    /// No live code matches (wrong, used or expired).
    NoSuchCode,
}

/// Persistence of devices and pairing.
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
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
    /// Deletes registrations never paired whose code expired before
    /// `expired_before`; returns how many.
    async fn sweep_unpaired_devices(&self, expired_before: Millis) -> StoreResult<u64>;
    /// Inserts a device already paired with its tenant and holding its token
    /// (pairing without a code, after an ID-token sign-in).
    async fn create_paired_device(&self, device: &Device, token_hash: &str) -> StoreResult<()>;
    /// Revokes every device of the tenant; returns how many were live.
    async fn revoke_tenant_devices(&self, tenant_id: &str, now: Millis) -> StoreResult<u64>;
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
}

pub(crate) const DEVICE_COLS: &str =
    "id, tenant_id, name, pairing_code, code_expires_at, poll_token_hash, \
    token_hash, paired_at, last_seen_at, revoked_at, pack_version, created_at";

/// Revokes every live device of a tenant: `$1` now, `$2` the tenant id.
pub(crate) const REVOKE_TENANT_DEVICES: &str =
    "UPDATE devices SET revoked_at = $1, pairing_code = NULL \
     WHERE tenant_id = $2 AND revoked_at IS NULL";

pub(crate) fn device_from_row(row: &AnyRow) -> StoreResult<Device> {
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

#[async_trait]
impl DeviceStore for SqlStore {
    async fn register_device(&self, d: &Device) -> StoreResult<bool> {
        // An expired code may still sit in the unique index: free it first.
        sqlx::query(&self.q(
            "UPDATE devices SET pairing_code = NULL WHERE pairing_code = $1 AND code_expires_at <= $2",
        ))
        .bind(&d.pairing_code)
        .bind(d.created_at)
        .execute(self.pool())
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
        .execute(self.pool())
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
            .fetch_optional(self.pool())
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
            .fetch_optional(self.pool())
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
        .execute(self.pool())
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
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn touch_device(&self, device_id: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(&self.q("UPDATE devices SET last_seen_at = $1 WHERE id = $2"))
            .bind(now)
            .bind(device_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn paired_device_count(&self, tenant_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(&self.q(
            "SELECT COUNT(*) FROM devices WHERE tenant_id = $1 AND paired_at IS NOT NULL AND revoked_at IS NULL",
        ))
        .bind(tenant_id)
        .fetch_one(self.pool())
        .await?)
    }

    async fn sweep_unpaired_devices(&self, expired_before: Millis) -> StoreResult<u64> {
        let done = sqlx::query(&self.q(
            "DELETE FROM devices WHERE tenant_id IS NULL AND paired_at IS NULL \
             AND token_hash IS NULL AND code_expires_at < $1",
        ))
        .bind(expired_before)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
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

    async fn revoke_tenant_devices(&self, tenant_id: &str, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query(&self.q(REVOKE_TENANT_DEVICES))
            .bind(now)
            .bind(tenant_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
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
}

//! Identities: accounts at an OpenID provider, each linked to the tenant it
//! owns; the first sign-in of an identity creates its tenant.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::SqlStore;
use crate::tenants::{tenant_from_row, Tenant, INSERT_TENANT, TENANT_COLS};
use crate::{Millis, StoreError, StoreResult};

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

/// What [`IdentityStore::sign_in_identity`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum IdentitySignIn {
    /// The identity was known: its tenant.
    Existing(Tenant),
    /// First sign-in: the tenant given was created and linked.
    Created(Tenant),
}

/// Persistence of provider identities.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
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
}

const IDENTITY_COLS: &str = "issuer, subject, tenant_id, email, created_at, last_login_at";

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
impl IdentityStore for SqlStore {
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
            let sql = format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1");
            let row = sqlx::query(&self.q(&sql))
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
        sqlx::query(&self.q(INSERT_TENANT))
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
}

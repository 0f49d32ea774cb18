//! Identities: accounts at an OpenID provider, each linked to the tenant it
//! owns; the first sign-in of an identity creates its tenant, or joins the
//! tenant its email was invited into, when sign-up admits it.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::invites::SPEND_INVITE;
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
    /// First sign-in by an invitation into an existing tenant: linked to it.
    Joined(Tenant),
    /// First sign-in, and sign-up does not admit it: nothing was stored.
    Refused,
}

/// Persistence of provider identities.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    async fn identity(&self, issuer: &str, subject: &str) -> StoreResult<Option<Identity>>;
    /// Signs an identity in: updates its email and last sign-in when it is
    /// known. Otherwise, atomically: an unused invitation of its email (in
    /// lower case) is spent and the identity joins the invitation's tenant,
    /// or, for an invitation without one or when `open` (sign-up admits the
    /// account uninvited), `new_tenant` is created (with `api_key_hash`) and
    /// linked; else the sign-in is refused. A concurrent first sign-in of the
    /// same identity ends on the tenant that won.
    async fn sign_in_identity(
        &self,
        identity: &Identity,
        new_tenant: &Tenant,
        api_key_hash: &str,
        open: bool,
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
        open: bool,
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
        // First sign-in: invitation, tenant and link together, or none.
        let mut tx = self.pool().begin().await?;
        let invited: Option<Option<String>> = sqlx::query_scalar(&self.q(SPEND_INVITE))
            .bind(id.last_login_at)
            .bind(id.email.trim().to_lowercase())
            .fetch_optional(&mut *tx)
            .await?;
        let joins = match invited {
            Some(Some(tenant_id)) => Some(tenant_id),
            Some(None) => None,
            None if open => None,
            None => {
                tx.rollback().await?;
                return Ok(IdentitySignIn::Refused);
            }
        };
        if joins.is_none() {
            sqlx::query(&self.q(INSERT_TENANT))
                .bind(&new_tenant.id)
                .bind(&new_tenant.name)
                .bind(api_key_hash)
                .bind(new_tenant.quota)
                .bind(new_tenant.created_at)
                .execute(&mut *tx)
                .await?;
        }
        let tenant_id = joins.as_deref().unwrap_or(&new_tenant.id);
        let linked = sqlx::query(&self.q(
            "INSERT INTO oidc_identities (issuer, subject, tenant_id, email, created_at, last_login_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (issuer, subject) DO NOTHING",
        ))
        .bind(&id.issuer)
        .bind(&id.subject)
        .bind(tenant_id)
        .bind(&id.email)
        .bind(id.created_at)
        .bind(id.last_login_at)
        .execute(&mut *tx)
        .await?;
        if linked.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(match joins {
                Some(tenant_id) => IdentitySignIn::Joined(existing_tenant(tenant_id).await?),
                None => IdentitySignIn::Created(new_tenant.clone()),
            });
        }
        // A concurrent first sign-in linked it first: use its tenant (the
        // invitation stays unused).
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

//! Invitations: emails allowed a first sign-in through the OpenID provider
//! when sign-up is closed, each into a new tenant or an existing one. An
//! invitation is spent by the first sign-in that uses it (see
//! [`crate::IdentityStore::sign_in_identity`]).

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::SqlStore;
use crate::{Millis, StoreResult};

/// An invitation to sign in.
#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    /// The invited email, in lower case.
    pub email: String,
    /// The tenant the account joins; None: its first sign-in creates one.
    pub tenant_id: Option<String>,
    pub created_at: Millis,
    /// When a first sign-in spent it.
    pub used_at: Option<Millis>,
}

/// Persistence of invitations.
#[async_trait]
pub trait InviteStore: Send + Sync + 'static {
    /// Stores an invitation, replacing an earlier one of the same email
    /// (which becomes unused again).
    async fn invite(&self, invite: &Invite) -> StoreResult<()>;
    /// The invitation of an email (lower case), spent or not.
    async fn invite_for(&self, email: &str) -> StoreResult<Option<Invite>>;
}

/// Spends the unused invitation of `$2` (lower case) at `$1`, returning its
/// `tenant_id`; no row when there is none.
pub(crate) const SPEND_INVITE: &str = "UPDATE signup_invites SET used_at = $1 \
     WHERE email = $2 AND used_at IS NULL RETURNING tenant_id";

fn invite_from_row(row: &AnyRow) -> StoreResult<Invite> {
    Ok(Invite {
        email: row.try_get("email")?,
        tenant_id: row.try_get("tenant_id")?,
        created_at: row.try_get("created_at")?,
        used_at: row.try_get("used_at")?,
    })
}

#[async_trait]
impl InviteStore for SqlStore {
    async fn invite(&self, i: &Invite) -> StoreResult<()> {
        sqlx::query(&self.q(
            "INSERT INTO signup_invites (email, tenant_id, created_at, used_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO UPDATE SET \
             tenant_id = excluded.tenant_id, created_at = excluded.created_at, \
             used_at = excluded.used_at",
        ))
        .bind(&i.email)
        .bind(&i.tenant_id)
        .bind(i.created_at)
        .bind(i.used_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn invite_for(&self, email: &str) -> StoreResult<Option<Invite>> {
        let row = sqlx::query(&self.q(
            "SELECT email, tenant_id, created_at, used_at FROM signup_invites WHERE email = $1",
        ))
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(invite_from_row).transpose()
    }
}

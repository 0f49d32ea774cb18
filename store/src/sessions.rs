//! Sessions: signed-in dashboard sessions, OpenID Connect sign-ins under way
//! (their `state`), and ID token nonces already spent. Session secrets,
//! states and nonces are stored only as hashes.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::{corrupt, SqlStore};
use crate::{Millis, StoreResult};

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

/// Persistence of sessions, sign-ins under way and spent nonces.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session and drops the expired ones.
    async fn create_session(&self, session: &SessionRecord, now: Millis) -> StoreResult<()>;
    /// A live session by the hash of its secret.
    async fn session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<SessionRecord>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    async fn set_session_key(&self, id_hash: &str, sealed_key: Option<&str>) -> StoreResult<()>;

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
}

/// Ends every session of a tenant but one (a key rotation, see
/// [`crate::TenantStore::rotate_key`]): `$1` the tenant id, `$2` the hash of
/// the session to keep (`""` keeps none).
pub(crate) const DELETE_OTHER_SESSIONS: &str =
    "DELETE FROM dashboard_sessions WHERE tenant_id = $1 AND id_hash <> $2";

const SESSION_COLS: &str = "id_hash, tenant_id, method, email, sealed_key, created_at, expires_at";

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

#[async_trait]
impl SessionStore for SqlStore {
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
}

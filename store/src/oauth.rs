//! Persistence of the OAuth 2.0 authorization server that guards the MCP
//! endpoint: registered clients, grants (one approved connection of a client
//! to a tenant, the family of every code and token issued under it), codes
//! and tokens. Codes, tokens and client secrets are stored only as hashes.
//! The protocol logic lives in the server.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::{corrupt, millis, parse_json, SqlStore};
use crate::{Millis, StoreResult};

/// A client registered through dynamic client registration (RFC 7591).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthClient {
    pub id: String,
    /// Hash of the client secret; None for public clients.
    pub secret_hash: Option<String>,
    /// The name the client gave itself (unverified).
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// `none`, `client_secret_post` or `client_secret_basic`.
    pub auth_method: String,
    pub created_at: Millis,
}

/// An approved connection of a client to a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthGrant {
    pub id: String,
    pub client_id: String,
    pub tenant_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The resource (MCP endpoint URL) its tokens are bound to.
    pub resource: String,
    pub created_at: Millis,
    /// When its code was first exchanged for tokens.
    pub connected_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// An authorization code.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthCode {
    pub code_hash: String,
    pub grant_id: String,
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
}

/// What [`OAuthStore::claim_code`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeClaim {
    /// The code was unused and is now spent by this call.
    Claimed(OAuthCode),
    /// The code was spent before: a replay.
    Spent(OAuthCode),
    NotFound,
}

/// The two kinds of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }

    fn parse(s: &str) -> Option<TokenKind> {
        match s {
            "access" => Some(TokenKind::Access),
            "refresh" => Some(TokenKind::Refresh),
            _ => None,
        }
    }
}

/// An access or refresh token.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthToken {
    pub token_hash: String,
    pub grant_id: String,
    pub kind: TokenKind,
    /// Space-separated scopes it carries: its grant's, or fewer when a
    /// refresh asked for a narrower scope.
    pub scope: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    /// When a refresh token was rotated.
    pub used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// A live connection as the dashboard lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthConnection {
    pub grant: OAuthGrant,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
}

/// What [`OAuthStore::spend_refresh_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshSpend {
    /// The token was live and is now spent: issue its successor.
    Spent,
    /// The token was spent before (or revoked): a replay.
    AlreadySpent,
}

/// The authorization server's persistence.
#[async_trait]
pub trait OAuthStore: Send + Sync + 'static {
    async fn insert_client(&self, client: &OAuthClient) -> StoreResult<()>;
    async fn client(&self, id: &str) -> StoreResult<Option<OAuthClient>>;

    /// Stores an approved grant and its first code together.
    async fn insert_grant_with_code(&self, grant: &OAuthGrant, code: &OAuthCode)
        -> StoreResult<()>;
    async fn grant(&self, id: &str) -> StoreResult<Option<OAuthGrant>>;
    /// Spends a code: the first call for a code gets it, later ones see it spent.
    async fn claim_code(&self, code_hash: &str, now: Millis) -> StoreResult<CodeClaim>;
    /// Marks a grant connected (its code was exchanged) and revokes the
    /// tenant's other grants to the same client: one connection per client.
    async fn connect_grant(&self, grant: &OAuthGrant, now: Millis) -> StoreResult<()>;
    /// Records use of a grant's tokens, at most once a minute.
    async fn touch_grant(&self, grant_id: &str, now: Millis) -> StoreResult<()>;
    /// Revokes a grant: every token issued under it stops working. False
    /// when it was already revoked or does not exist.
    async fn revoke_grant(&self, grant_id: &str, now: Millis) -> StoreResult<bool>;
    /// Revokes the tenant's grant (the dashboard's "disconnect"). False
    /// when the tenant has no such live grant.
    async fn revoke_tenant_grant(
        &self,
        tenant_id: &str,
        grant_id: &str,
        now: Millis,
    ) -> StoreResult<bool>;
    /// The tenant's connected, unrevoked grants, most recent first.
    async fn tenant_connections(&self, tenant_id: &str) -> StoreResult<Vec<OAuthConnection>>;

    async fn insert_token(&self, token: &OAuthToken) -> StoreResult<()>;
    /// A token and the grant it was issued under.
    async fn token(&self, token_hash: &str) -> StoreResult<Option<(OAuthToken, OAuthGrant)>>;
    /// Spends a live refresh token (rotation).
    async fn spend_refresh_token(&self, token_hash: &str, now: Millis)
        -> StoreResult<RefreshSpend>;
    async fn revoke_token(&self, token_hash: &str, now: Millis) -> StoreResult<()>;
    /// Deletes codes and tokens that expired before `before`; returns how many.
    async fn purge_oauth(&self, before: Millis) -> StoreResult<u64>;
    /// Deletes clients registered before `registered_before` that never
    /// connected (no code was ever exchanged under one of their grants),
    /// with their unconnected grants and codes; returns how many clients.
    async fn purge_unused_clients(&self, registered_before: Millis) -> StoreResult<u64>;
}

const CLIENT_COLS: &str =
    "id, secret_hash, name, redirect_uris, grant_types, auth_method, created_at";
const GRANT_COLS: &str = "id, client_id, tenant_id, scope, resource, created_at, connected_at, \
    last_used_at, revoked_at";
const CODE_COLS: &str = "code_hash, grant_id, redirect_uri, code_challenge, expires_at, used_at";
/// Token columns from table alias `t`; tokens issued before scopes were
/// stored per token carry their grant's.
const TOKEN_COLS: &str = "t.token_hash, t.grant_id, t.kind, COALESCE(t.scope, g.scope) AS scope, \
    t.created_at, t.expires_at, t.used_at, t.revoked_at";

/// Revokes every live grant of a tenant: `$1` now, `$2` the tenant id.
pub(crate) const REVOKE_TENANT_GRANTS: &str =
    "UPDATE oauth_grants SET revoked_at = $1 WHERE tenant_id = $2 AND revoked_at IS NULL";

/// How often `touch_grant` writes.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

fn string_list(what: &str, s: &str) -> StoreResult<Vec<String>> {
    parse_json(what, s)
}

fn client_from_row(row: &AnyRow) -> StoreResult<OAuthClient> {
    let uris: String = row.try_get("redirect_uris")?;
    let grants: String = row.try_get("grant_types")?;
    Ok(OAuthClient {
        id: row.try_get("id")?,
        secret_hash: row.try_get("secret_hash")?,
        name: row.try_get("name")?,
        redirect_uris: string_list("redirect_uris", &uris)?,
        grant_types: string_list("grant_types", &grants)?,
        auth_method: row.try_get("auth_method")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A grant from columns named as in [`GRANT_COLS`], each after `prefix`.
fn grant_from_row(row: &AnyRow, prefix: &str) -> StoreResult<OAuthGrant> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(OAuthGrant {
        id: row.try_get(col("id").as_str())?,
        client_id: row.try_get(col("client_id").as_str())?,
        tenant_id: row.try_get(col("tenant_id").as_str())?,
        scope: row.try_get(col("scope").as_str())?,
        resource: row.try_get(col("resource").as_str())?,
        created_at: row.try_get(col("created_at").as_str())?,
        connected_at: row.try_get(col("connected_at").as_str())?,
        last_used_at: row.try_get(col("last_used_at").as_str())?,
        revoked_at: row.try_get(col("revoked_at").as_str())?,
    })
}

fn code_from_row(row: &AnyRow) -> StoreResult<OAuthCode> {
    Ok(OAuthCode {
        code_hash: row.try_get("code_hash")?,
        grant_id: row.try_get("grant_id")?,
        redirect_uri: row.try_get("redirect_uri")?,
        code_challenge: row.try_get("code_challenge")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
    })
}

fn token_from_row(row: &AnyRow) -> StoreResult<OAuthToken> {
    let kind: String = row.try_get("kind")?;
    Ok(OAuthToken {
        token_hash: row.try_get("token_hash")?,
        grant_id: row.try_get("grant_id")?,
        kind: TokenKind::parse(&kind).ok_or_else(|| corrupt("token kind", &kind))?,
        scope: row.try_get("scope")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// The grant columns prefixed `g_`, from table alias `g`.
fn prefixed_grant_cols() -> String {
    GRANT_COLS
        .split(", ")
        .map(|c| format!("g.{c} AS g_{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl OAuthStore for SqlStore {
    async fn insert_client(&self, c: &OAuthClient) -> StoreResult<()> {
        let json = |v: &Vec<String>| serde_json::to_string(v).expect("strings serialize");
        sqlx::query(&self.q(
            "INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, \
               auth_method, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        ))
        .bind(&c.id)
        .bind(&c.secret_hash)
        .bind(&c.name)
        .bind(json(&c.redirect_uris))
        .bind(json(&c.grant_types))
        .bind(&c.auth_method)
        .bind(c.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn client(&self, id: &str) -> StoreResult<Option<OAuthClient>> {
        let sql = format!("SELECT {CLIENT_COLS} FROM oauth_clients WHERE id = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn insert_grant_with_code(&self, g: &OAuthGrant, c: &OAuthCode) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(&self.q(
            "INSERT INTO oauth_grants (id, client_id, tenant_id, scope, resource, created_at, \
               connected_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        ))
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(&g.tenant_id)
        .bind(&g.scope)
        .bind(&g.resource)
        .bind(g.created_at)
        .bind(g.connected_at)
        .bind(g.last_used_at)
        .bind(g.revoked_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.q(
            "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, \
               expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)",
        ))
        .bind(&c.code_hash)
        .bind(&c.grant_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(c.expires_at)
        .bind(c.used_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn grant(&self, id: &str) -> StoreResult<Option<OAuthGrant>> {
        let sql = format!("SELECT {GRANT_COLS} FROM oauth_grants WHERE id = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(|r| grant_from_row(r, "")).transpose()
    }

    async fn claim_code(&self, code_hash: &str, now: Millis) -> StoreResult<CodeClaim> {
        let sql = format!(
            "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
             RETURNING {CODE_COLS}"
        );
        let claimed = sqlx::query(&self.q(&sql))
            .bind(now)
            .bind(code_hash)
            .fetch_optional(self.pool())
            .await?;
        if let Some(row) = claimed {
            return Ok(CodeClaim::Claimed(code_from_row(&row)?));
        }
        let sql = format!("SELECT {CODE_COLS} FROM oauth_codes WHERE code_hash = $1");
        let row = sqlx::query(&self.q(&sql))
            .bind(code_hash)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => CodeClaim::Spent(code_from_row(&r)?),
            None => CodeClaim::NotFound,
        })
    }

    async fn connect_grant(&self, g: &OAuthGrant, now: Millis) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(&self.q(
            "UPDATE oauth_grants SET connected_at = $1, last_used_at = $1 \
             WHERE id = $2 AND connected_at IS NULL",
        ))
        .bind(now)
        .bind(&g.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.q("UPDATE oauth_grants SET revoked_at = $1 \
             WHERE tenant_id = $2 AND client_id = $3 AND id <> $4 AND revoked_at IS NULL"))
        .bind(now)
        .bind(&g.tenant_id)
        .bind(&g.client_id)
        .bind(&g.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn touch_grant(&self, grant_id: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(&self.q("UPDATE oauth_grants SET last_used_at = $1 \
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)"))
        .bind(now)
        .bind(grant_id)
        .bind(now - millis(TOUCH_INTERVAL))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn revoke_grant(&self, grant_id: &str, now: Millis) -> StoreResult<bool> {
        let done = sqlx::query(
            &self.q("UPDATE oauth_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"),
        )
        .bind(now)
        .bind(grant_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_tenant_grant(
        &self,
        tenant_id: &str,
        grant_id: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = sqlx::query(&self.q("UPDATE oauth_grants SET revoked_at = $1 \
             WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL"))
        .bind(now)
        .bind(grant_id)
        .bind(tenant_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn tenant_connections(&self, tenant_id: &str) -> StoreResult<Vec<OAuthConnection>> {
        let sql = format!(
            "SELECT {}, c.name AS client_name, c.redirect_uris AS client_redirect_uris \
             FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id \
             WHERE g.tenant_id = $1 AND g.connected_at IS NOT NULL AND g.revoked_at IS NULL \
             ORDER BY g.connected_at DESC, g.id",
            prefixed_grant_cols()
        );
        let rows = sqlx::query(&self.q(&sql))
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let uris: String = r.try_get("client_redirect_uris")?;
                Ok(OAuthConnection {
                    grant: grant_from_row(r, "g_")?,
                    client_name: r.try_get("client_name")?,
                    redirect_uris: string_list("redirect_uris", &uris)?,
                })
            })
            .collect()
    }

    async fn insert_token(&self, t: &OAuthToken) -> StoreResult<()> {
        sqlx::query(&self.q(
            "INSERT INTO oauth_tokens (token_hash, grant_id, kind, scope, created_at, \
               expires_at, used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        ))
        .bind(&t.token_hash)
        .bind(&t.grant_id)
        .bind(t.kind.as_str())
        .bind(&t.scope)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.used_at)
        .bind(t.revoked_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn token(&self, token_hash: &str) -> StoreResult<Option<(OAuthToken, OAuthGrant)>> {
        let sql = format!(
            "SELECT {TOKEN_COLS}, {} FROM oauth_tokens t \
             JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = $1",
            prefixed_grant_cols()
        );
        let row = sqlx::query(&self.q(&sql))
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref()
            .map(|r| Ok((token_from_row(r)?, grant_from_row(r, "g_")?)))
            .transpose()
    }

    async fn spend_refresh_token(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<RefreshSpend> {
        let done = sqlx::query(&self.q(
            "UPDATE oauth_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL",
        ))
        .bind(now)
        .bind(token_hash)
        .execute(self.pool())
        .await?;
        Ok(if done.rows_affected() == 1 {
            RefreshSpend::Spent
        } else {
            RefreshSpend::AlreadySpent
        })
    }

    async fn revoke_token(&self, token_hash: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(&self.q(
            "UPDATE oauth_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        ))
        .bind(now)
        .bind(token_hash)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn purge_oauth(&self, before: Millis) -> StoreResult<u64> {
        let codes = sqlx::query(&self.q("DELETE FROM oauth_codes WHERE expires_at < $1"))
            .bind(before)
            .execute(self.pool())
            .await?;
        let tokens = sqlx::query(&self.q("DELETE FROM oauth_tokens WHERE expires_at < $1"))
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(codes.rows_affected() + tokens.rows_affected())
    }

    async fn purge_unused_clients(&self, registered_before: Millis) -> StoreResult<u64> {
        const UNUSED: &str = "SELECT c.id FROM oauth_clients c WHERE c.created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM oauth_grants g \
               WHERE g.client_id = c.id AND g.connected_at IS NOT NULL)";
        let mut tx = self.pool().begin().await?;
        let grants = format!("SELECT g.id FROM oauth_grants g WHERE g.client_id IN ({UNUSED})");
        for sql in [
            format!("DELETE FROM oauth_tokens WHERE grant_id IN ({grants})"),
            format!("DELETE FROM oauth_codes WHERE grant_id IN ({grants})"),
            format!("DELETE FROM oauth_grants WHERE client_id IN ({UNUSED})"),
        ] {
            sqlx::query(&self.q(&sql))
                .bind(registered_before)
                .execute(&mut *tx)
                .await?;
        }
        let clients = format!("DELETE FROM oauth_clients WHERE id IN ({UNUSED})");
        let clients = sqlx::query(&self.q(&clients))
            .bind(registered_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(clients.rows_affected())
    }
}

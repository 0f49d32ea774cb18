//! Rate limits: counted events (a registration, a sign-in, a wrong pairing
//! code or API key) under scopes such as `register|203.0.113.0/24`, kept in
//! the database so that every instance sharing it sees the same counts. A
//! limit allows at most `limit` events of a scope within a sliding window.
//!
//! [`LimitStore::admit`] takes a place under several limits at once or none:
//! on PostgreSQL it holds a transaction-scoped advisory lock per scope while
//! it counts and inserts; on SQLite its first statement is a write, so the
//! transaction holds the single writer's lock throughout. Either way two
//! instances cannot both take the last place.

use async_trait::async_trait;

use crate::sql::{Dialect, SqlStore};
use crate::{Millis, StoreResult};

/// One limit on one scope: at most `limit` events within `window_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRule {
    pub scope: String,
    pub limit: i64,
    pub window_ms: Millis,
}

/// What [`LimitStore::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted under every rule.
    Admitted,
    /// Some rule is full; nothing was counted. Every rule has room again at
    /// `retry_at`.
    Refused { retry_at: Millis },
}

/// Persistence of rate-limit events.
#[async_trait]
pub trait LimitStore: Send + Sync + 'static {
    /// Counts one event named `id` under every rule, atomically, if every
    /// rule has room at `now`; otherwise counts nothing.
    async fn admit(&self, id: &str, rules: &[RateRule], now: Millis) -> StoreResult<Admission>;
    /// When every rule has room again, if one is full at `now` (counts only).
    async fn full_until(&self, rules: &[RateRule], now: Millis) -> StoreResult<Option<Millis>>;
    /// Counts one event named `id` under each scope, whatever the limits.
    async fn record_event(&self, id: &str, scopes: &[String], now: Millis) -> StoreResult<()>;
    /// Takes back the events named `id` (an attempt that turned out fine).
    async fn give_back(&self, id: &str) -> StoreResult<()>;
    /// Deletes events older than `before`; returns how many.
    async fn purge_rate_events(&self, before: Millis) -> StoreResult<u64>;
}

/// The count of a scope's events in its window and, when the rule is full,
/// when it has room again: the event whose leaving makes room, plus the window.
async fn full_at(
    store: &SqlStore,
    conn: &mut sqlx::AnyConnection,
    rule: &RateRule,
    now: Millis,
) -> StoreResult<Option<Millis>> {
    let since = now - rule.window_ms;
    let count: i64 = sqlx::query_scalar(
        &store.q("SELECT COUNT(*) FROM rate_events WHERE scope = $1 AND at > $2"),
    )
    .bind(&rule.scope)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    if count < rule.limit {
        return Ok(None);
    }
    let freeing: Option<Millis> = sqlx::query_scalar(&store.q(
        "SELECT at FROM rate_events WHERE scope = $1 AND at > $2 ORDER BY at LIMIT 1 OFFSET $3",
    ))
    .bind(&rule.scope)
    .bind(since)
    .bind(count - rule.limit.max(0))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Some(freeing.unwrap_or(now) + rule.window_ms))
}

#[async_trait]
impl LimitStore for SqlStore {
    async fn admit(&self, id: &str, rules: &[RateRule], now: Millis) -> StoreResult<Admission> {
        let mut ordered: Vec<&RateRule> = rules.iter().collect();
        ordered.sort_by(|a, b| a.scope.cmp(&b.scope));
        let mut tx = self.pool().begin().await?;
        for rule in &ordered {
            if self.dialect() == Dialect::Postgres {
                // Taken in scope order, so two attempts never wait on each other.
                sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l")
                    .bind(&rule.scope)
                    .execute(&mut *tx)
                    .await?;
            }
            // Events out of the window no longer count. (On SQLite this write
            // also takes the writer's lock before anything is counted.)
            sqlx::query(&self.q("DELETE FROM rate_events WHERE scope = $1 AND at <= $2"))
                .bind(&rule.scope)
                .bind(now - rule.window_ms)
                .execute(&mut *tx)
                .await?;
        }
        let mut retry_at = None;
        for rule in &ordered {
            if let Some(at) = full_at(self, &mut tx, rule, now).await? {
                retry_at = Some(retry_at.map_or(at, |r: Millis| r.max(at)));
            }
        }
        if let Some(retry_at) = retry_at {
            tx.commit().await?;
            return Ok(Admission::Refused { retry_at });
        }
        for rule in &ordered {
            sqlx::query(&self.q("INSERT INTO rate_events (id, scope, at) VALUES ($1, $2, $3)"))
                .bind(id)
                .bind(&rule.scope)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Admission::Admitted)
    }

    async fn full_until(&self, rules: &[RateRule], now: Millis) -> StoreResult<Option<Millis>> {
        let mut conn = self.pool().acquire().await?;
        let mut until = None;
        for rule in rules {
            if let Some(at) = full_at(self, &mut conn, rule, now).await? {
                until = Some(until.map_or(at, |u: Millis| u.max(at)));
            }
        }
        Ok(until)
    }

    async fn record_event(&self, id: &str, scopes: &[String], now: Millis) -> StoreResult<()> {
        for scope in scopes {
            sqlx::query(&self.q("INSERT INTO rate_events (id, scope, at) VALUES ($1, $2, $3)"))
                .bind(id)
                .bind(scope)
                .bind(now)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    async fn give_back(&self, id: &str) -> StoreResult<()> {
        sqlx::query(&self.q("DELETE FROM rate_events WHERE id = $1"))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn purge_rate_events(&self, before: Millis) -> StoreResult<u64> {
        let done = sqlx::query(&self.q("DELETE FROM rate_events WHERE at < $1"))
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

//! The SQL store: one implementation over sqlx's `Any` driver, for SQLite
//! (WAL, `synchronous=FULL`) and PostgreSQL. The few dialect differences (the
//! queue's order column, `FOR UPDATE SKIP LOCKED`, placeholders, migrations)
//! are settled once in [`Dialect`]; every state transition is a single
//! conditional statement, so both engines give the same guarantees.
//!
//! This module holds the pool, the dialect, the migrations and the helpers
//! the data modules share; each data module implements its trait on
//! [`SqlStore`] next to its records. Queries are written with PostgreSQL's
//! `$N` placeholders and converted to the store's dialect.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::{Millis, Store, StoreError, StoreResult};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL channel on which instances announce "job available for
/// tenant `<payload>`"; every instance sharing the database listens on it.
pub const JOBS_CHANNEL: &str = "clawpost_jobs";

/// The database engine behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Which engine a database URL names.
    pub fn of_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }

    /// The column that orders the queue (insertion order).
    pub(crate) fn queue_order(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "seq",
        }
    }

    /// Row locking for the lease's inner select. SQLite has a single writer,
    /// so the statement is atomic without it.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// Queries are written with PostgreSQL's `$N`; SQLite's numbered form is `?N`.
    fn sql(self, sql: &str) -> Cow<'_, str> {
        match self {
            Dialect::Postgres => Cow::Borrowed(sql),
            Dialect::Sqlite => Cow::Owned(sql.replace('$', "?")),
        }
    }
}

/// The SQL implementation of [`Store`] and of each of its parts.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl Store for SqlStore {}

impl SqlStore {
    /// Connects to `url` (`sqlite:…` or `postgres://…`) and runs the migrations.
    pub async fn connect(url: &str) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url).ok_or_else(|| {
            StoreError::Db(sqlx::Error::Configuration(
                "database URL must start with sqlite: or postgres://".into(),
            ))
        })?;
        let opts = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // Durable commits, readers beside one writer, waits instead of SQLITE_BUSY.
                        conn.execute("PRAGMA journal_mode=WAL").await?;
                        conn.execute("PRAGMA synchronous=FULL").await?;
                        conn.execute("PRAGMA busy_timeout=10000").await?;
                        conn.execute("PRAGMA foreign_keys=ON").await?;
                    }
                    Ok(())
                })
            });
        let pool = opts.connect(url).await?;
        let store = SqlStore { pool, dialect };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A query written with `$N` placeholders, in this store's dialect.
    pub(crate) fn q<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        self.dialect.sql(sql)
    }

    /// Tells every server instance on this PostgreSQL database that the
    /// tenant has a job available (on [`JOBS_CHANNEL`]). SQLite has a single
    /// instance, whose in-process notifier suffices.
    pub(crate) async fn announce(&self, tenant_id: &str) -> StoreResult<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(JOBS_CHANNEL)
                .bind(tenant_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}

/// A duration as the milliseconds the tables store (saturating: no stored
/// duration comes near `i64::MAX` milliseconds).
pub(crate) fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// A row holding a value this crate never writes.
pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

/// A JSON column.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|_| corrupt(what, s))
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_of_url() {
        assert_eq!(
            Dialect::of_url("sqlite://x.db?mode=rwc"),
            Some(Dialect::Sqlite)
        );
        assert_eq!(Dialect::of_url("postgres://h/db"), Some(Dialect::Postgres));
        assert_eq!(
            Dialect::of_url("postgresql://h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::of_url("mysql://h/db"), None);
    }

    #[test]
    fn placeholders_follow_the_dialect() {
        let sql = "SELECT 1 WHERE a = $1 AND b = $2";
        assert_eq!(Dialect::Postgres.sql(sql), sql);
        assert_eq!(Dialect::Sqlite.sql(sql), "SELECT 1 WHERE a = ?1 AND b = ?2");
    }

    #[test]
    fn millis_of_durations() {
        assert_eq!(millis(Duration::from_secs(120)), 120_000);
        assert_eq!(millis(Duration::from_micros(1_999)), 1);
        assert_eq!(millis(Duration::MAX), Millis::MAX);
    }
}

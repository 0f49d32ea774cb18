//! Claw Post's persistence, named after the data it holds: [`tenants`],
//! [`devices`], [`jobs`], [`media`], [`sessions`], [`identities`],
//! [`invites`], [`oauth`] grants and rate [`limits`]. Each module defines its records and one trait;
//! [`Store`] is all of them together. [`SqlStore`] implements every trait on
//! SQLite (the embedded default) and on PostgreSQL, with the migrations of
//! this crate; [`sql`] holds what the modules share (pool, dialect,
//! migrations, row helpers). Every job state transition is one atomic
//! conditional statement.

pub mod devices;
pub mod identities;
pub mod invites;
pub mod jobs;
pub mod limits;
pub mod media;
pub mod oauth;
pub mod sessions;
pub mod sql;
pub mod tenants;

pub use devices::{Device, DeviceStore, PairOutcome};
pub use identities::{Identity, IdentitySignIn, IdentityStore};
pub use invites::{Invite, InviteStore};
pub use jobs::{
    AckOutcome, Completion, Counts, CreateOutcome, DayCount, Expired, JobFilter, JobRecord,
    JobStore, NewJob, ProgressOutcome, UsageCounts,
};
pub use limits::{Admission, LimitStore, RateRule};
pub use media::{MediaRecord, MediaStatus, MediaStore};
pub use oauth::{
    CodeClaim, OAuthClient, OAuthCode, OAuthConnection, OAuthGrant, OAuthStore, OAuthToken,
    RefreshSpend, TokenKind,
};
pub use sessions::{SessionRecord, SessionStore, SignInMethod};
pub use sql::{Dialect, SqlStore, JOBS_CHANNEL};
pub use tenants::{Revocation, Revoked, Tenant, TenantStore};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A failure of the storage layer. Never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The whole persistence interface: every data module's trait. Methods of
/// each part are callable on a `dyn Store` without importing that part.
pub trait Store:
    TenantStore
    + DeviceStore
    + JobStore
    + MediaStore
    + SessionStore
    + IdentityStore
    + InviteStore
    + OAuthStore
    + LimitStore
    + Send
    + Sync
    + 'static
{
}

/// Every store trait, for code that calls store methods on a concrete or
/// generic store: `use clawpost_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        DeviceStore, IdentityStore, InviteStore, JobStore, LimitStore, MediaStore, OAuthStore,
        SessionStore, Store, TenantStore,
    };
}

//! Command-line and environment configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

/// Claw Post server: the REST API agents call to publish posts through a
/// user's own browser, the job queue, and extension pairing.
#[derive(Debug, Parser)]
#[command(name = "clawpost-server", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (the default when no command is given).
    Serve,
    /// Manage tenants (accounts) directly in the database.
    #[command(subcommand)]
    Tenant(TenantCommand),
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints one JSON line {"tenantId", "apiKey"}.
    Create {
        /// A display name for the tenant.
        #[arg(long)]
        name: String,
        /// Jobs allowed per calendar month (UTC); defaults to --default-quota.
        #[arg(long)]
        quota: Option<i64>,
    },
    /// Replace a tenant's API key; prints the new key. The old key stops working at once.
    RotateKey {
        /// The tenant id.
        #[arg(long)]
        tenant: String,
    },
}

/// Where data lives.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Folder for the embedded SQLite database and other local data.
    #[arg(
        long,
        env = "CLAWPOST_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite:PATH` or `postgres://…`. Defaults to a SQLite
    /// file `clawpost.sqlite` in the data folder, created and migrated on start.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Jobs per calendar month for tenants created without an explicit quota.
    #[arg(
        long,
        env = "CLAWPOST_DEFAULT_QUOTA",
        default_value_t = 1000,
        global = true
    )]
    pub default_quota: i64,
}

impl StoreArgs {
    /// The database URL to connect to.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => sqlite_url(&self.data_dir.join("clawpost.sqlite")),
        }
    }
}

/// A SQLite URL that creates the file when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// How the HTTP server runs.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "CLAWPOST_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,
    /// Public base URL of this server, used in links it returns (defaults to http://BIND).
    #[arg(long, env = "CLAWPOST_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Seconds a leased job stays with a device without a progress report.
    #[arg(
        long,
        env = "CLAWPOST_LEASE_SECONDS",
        default_value_t = 120,
        global = true
    )]
    pub lease_seconds: u32,
}

impl ServeArgs {
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }
}

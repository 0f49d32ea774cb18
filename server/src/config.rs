//! Command-line and environment configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::time::Duration;

use crate::crypto::SecretString;
use clap::{Args, Parser, Subcommand};
use extension_core::PlatformMap;

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
    /// Replace a tenant's API key; prints the new key. The old key stops
    /// working at once, every connected MCP client (OAuth grant) is
    /// disconnected and every dashboard session signed out.
    RotateKey {
        /// The tenant id.
        #[arg(long)]
        tenant: String,
        /// Also revoke every paired extension (each must be paired again).
        #[arg(long)]
        revoke_devices: bool,
    },
    /// Let an email sign in through the identity provider for the first
    /// time even when --signup does not admit it (once); prints one JSON
    /// line {"email", "tenantId"}.
    Invite {
        /// The email the provider must vouch for.
        #[arg(long)]
        email: String,
        /// An existing tenant the account joins; without it, its first
        /// sign-in creates a tenant of its own.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Set a tenant's least time between two posts on a platform (replacing
    /// the server's --post-interval for that tenant), or clear it with
    /// --default.
    Pacing {
        /// The tenant id.
        #[arg(long)]
        tenant: String,
        /// x, linkedin, facebook, tiktok or instagram.
        #[arg(long)]
        platform: extension_core::Platform,
        /// Seconds between posts (0: no pacing).
        #[arg(long, conflicts_with = "default", required_unless_present = "default")]
        seconds: Option<u32>,
        /// Go back to the server's interval.
        #[arg(long)]
        default: bool,
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
    /// Where uploaded media is stored: an S3-compatible bucket URL such as
    /// `s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1` (AWS
    /// credentials from the standard AWS_* variables). Defaults to the
    /// folder `media` in the data folder.
    #[arg(long, env = "CLAWPOST_MEDIA_STORE_URL", global = true)]
    pub media_store_url: Option<String>,
    /// Accept media URLs of other hosts in job mediaPaths (by default only
    /// media uploaded to this server).
    #[arg(long, env = "CLAWPOST_ALLOW_EXTERNAL_MEDIA", global = true)]
    pub allow_external_media: bool,
    /// A folder of selector packs (`*.json`, one per platform) served to
    /// extensions at `GET /v1/extension/selectors` in place of the built-in
    /// ones for their platforms. A malformed pack stops the server.
    #[arg(long, env = "CLAWPOST_SELECTOR_PACKS", global = true)]
    pub selector_packs: Option<std::path::PathBuf>,
    /// Least time between two posts of one tenant on a platform, as
    /// PLATFORM=SECONDS (repeatable, or comma-separated), replacing that
    /// platform's default (x 60, linkedin 120, facebook 120, tiktok 300,
    /// instagram 300). Up to 20 % jitter is added. A tenant's own setting
    /// (`clawpost-server tenant pacing`) takes precedence.
    #[arg(
        long = "post-interval",
        env = "CLAWPOST_POST_INTERVAL",
        value_delimiter = ',',
        global = true
    )]
    pub post_interval: Vec<String>,
    /// No pacing between posts (for tests and demos).
    #[arg(long, env = "CLAWPOST_NO_PACING", global = true)]
    pub no_pacing: bool,
    /// A reverse proxy (address or CIDR network) whose `Forwarded` or
    /// `X-Forwarded-For` header names the client (repeatable, or
    /// comma-separated). Rate limits count per client network; without
    /// this, or from any other peer, those headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "CLAWPOST_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxy: Vec<crate::settings::Cidr>,
    /// Multiplies every rate limit (for conformance and load tests that make
    /// many requests from one address; never in production).
    #[arg(
        long,
        env = "CLAWPOST_RATE_LIMIT_FACTOR",
        default_value_t = 1,
        hide = true,
        global = true
    )]
    pub rate_limit_factor: u32,
    /// OpenID Connect issuer for dashboard sign-in and extension auto-pairing
    /// (its `/.well-known/openid-configuration` is fetched).
    #[arg(
        long,
        env = "CLAWPOST_OIDC_ISSUER",
        default_value = crate::settings::GOOGLE_ISSUER,
        global = true
    )]
    pub oidc_issuer: String,
    /// The dashboard's OpenID client id; sign-in through the provider is
    /// offered only when it is set (sign-in with the API key always is).
    /// Register `PUBLIC_URL/login/callback` as its redirect URI.
    #[arg(long, env = "CLAWPOST_OIDC_CLIENT_ID", global = true)]
    pub oidc_client_id: Option<String>,
    /// The dashboard's OpenID client secret.
    #[arg(
        long,
        env = "CLAWPOST_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub oidc_client_secret: Option<SecretString>,
    /// Bytes of media each tenant may upload over any 24 hours (default 5 GiB).
    #[arg(long, env = "CLAWPOST_MEDIA_QUOTA_BYTES", default_value_t = 5 << 30, global = true)]
    pub media_quota_bytes: u64,
    /// The server's secret key (hex), which keys media URL signatures. Give
    /// every replica of one install the same one. Default: the contents of
    /// `--secret-key-file`.
    #[arg(
        long,
        env = "CLAWPOST_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_key: Option<SecretString>,
    /// Where the secret key is kept when `CLAWPOST_SECRET_KEY` is not set;
    /// created (mode 0600, a fresh random key) on first start. Default:
    /// `secret.key` in the data folder.
    #[arg(long, env = "CLAWPOST_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,
    /// The browser extension's OpenID client id: ID tokens issued to it are
    /// accepted by `POST /v1/connect/google` (besides the dashboard's).
    #[arg(long, env = "CLAWPOST_OIDC_EXTENSION_CLIENT_ID", global = true)]
    pub oidc_extension_client_id: Option<String>,
    /// Who may sign in through the identity provider for the first time
    /// (which creates their account): `invite` (emails invited with
    /// `clawpost-server tenant invite`), `open` (any verified email) or
    /// `domain:example.com,…` (verified emails of those domains, and invited
    /// ones). Accounts that signed in before always may.
    #[arg(long, env = "CLAWPOST_SIGNUP", default_value = "invite", global = true)]
    pub signup: crate::settings::Signup,
}

impl ServeArgs {
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }

    /// The least interval between posts on each platform: the platforms'
    /// defaults, then `--post-interval` overrides; all zero with `--no-pacing`.
    pub fn post_intervals(&self) -> anyhow::Result<PlatformMap<Duration>> {
        if self.no_pacing {
            return Ok(PlatformMap::default());
        }
        let mut out = PlatformMap::from_fn(|p| {
            Duration::from_millis(extension_core::rules::rules(p).min_post_interval_ms)
        });
        for item in &self.post_interval {
            let (platform, secs) = item.split_once('=').ok_or_else(|| {
                anyhow::anyhow!("--post-interval {item:?}: expected PLATFORM=SECONDS")
            })?;
            let p: extension_core::Platform = platform.trim().parse().map_err(|_| {
                anyhow::anyhow!("--post-interval {item:?}: unknown platform {platform:?}")
            })?;
            let secs: u32 = secs.trim().parse().map_err(|_| {
                anyhow::anyhow!("--post-interval {item:?}: SECONDS must be a whole number")
            })?;
            out[p] = Duration::from_secs(u64::from(secs));
        }
        Ok(out)
    }

    /// The OpenID Connect settings given on the command line.
    pub fn oidc(&self) -> crate::settings::OidcSettings {
        crate::settings::OidcSettings {
            issuer: self.oidc_issuer.clone(),
            client_id: self.oidc_client_id.clone().filter(|s| !s.is_empty()),
            client_secret: self
                .oidc_client_secret
                .clone()
                .filter(|s| !s.expose().is_empty()),
            extension_client_id: self
                .oidc_extension_client_id
                .clone()
                .filter(|s| !s.is_empty()),
        }
    }
}

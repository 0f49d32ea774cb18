//! The tunables of a running server, set from the command line and the
//! environment (see `config`) or by tests. Spans are `Duration`s and
//! per-platform values a `PlatformMap`; milliseconds appear only where the
//! store keeps time.

use std::net::IpAddr;
use std::time::Duration;

use extension_core::PlatformMap;

/// Tunables of a running server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of returned links, without a trailing slash.
    pub public_url: String,
    /// How long a lease lasts without a progress report.
    pub lease: Duration,
    /// Quota of tenants created without one.
    pub default_quota: i64,
    /// Lifetime of a 6-digit pairing code.
    pub pairing_code_ttl: Duration,
    /// Rate limits of anonymous endpoints and of guessing (see `app::limits`).
    pub limits: RateLimits,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers name the client
    /// (`--trusted-proxy`); from any other peer those headers are ignored.
    pub trusted_proxies: Vec<Cidr>,
    /// Where uploaded media is stored: an `s3://bucket?...` URL, or None
    /// for the local folder `media_dir`.
    pub media_store_url: Option<String>,
    /// The local media folder (used when `media_store_url` is None).
    pub media_dir: std::path::PathBuf,
    /// Whether job `mediaPaths` may name URLs of other hosts. When false
    /// only media uploaded to this server is accepted.
    pub allow_external_media: bool,
    /// OpenID Connect sign-in (dashboard and extension auto-pairing).
    pub oidc: OidcSettings,
    /// Who may sign in through the provider for the first time (`--signup`).
    pub signup: Signup,
    /// How long a dashboard session lasts after sign-in.
    pub session_ttl: Duration,
    /// Least time between two posts of a tenant on a platform (zero: no
    /// pacing); a tenant's own setting (`tenant pacing`) takes precedence.
    /// Up to 20 % jitter is added.
    pub post_intervals: PlatformMap<Duration>,
    /// Bytes of media a tenant may upload over any 24 hours.
    pub media_quota_bytes: u64,
    /// The server's secret: media URL signatures are keyed from it. Every
    /// replica of one install needs the same one (`--secret-key-file`).
    pub secret_key: crate::crypto::SecretString,
    /// The selector packs served to extensions.
    pub selector_packs: std::sync::Arc<extension_core::pack_set::PackSet>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            lease: Duration::from_secs(120),
            default_quota: 1000,
            pairing_code_ttl: Duration::from_secs(10 * 60),
            limits: RateLimits::default(),
            trusted_proxies: Vec::new(),
            media_store_url: None,
            media_dir: std::env::temp_dir().join("clawpost-media"),
            allow_external_media: false,
            oidc: OidcSettings::default(),
            signup: Signup::Invite,
            session_ttl: Duration::from_secs(12 * 3600),
            selector_packs: std::sync::Arc::new(crate::selectors::builtin()),
            media_quota_bytes: 5 << 30,
            // A fresh one per Settings: servers sharing a database must be
            // given the same key (tests clone one Settings).
            secret_key: crate::crypto::SecretString::new(crate::crypto::random_key()),
            // Tests and embedders opt in; the server binary applies the
            // platforms' defaults (see `ServeArgs::post_intervals`).
            post_intervals: PlatformMap::default(),
        }
    }
}

/// At most `count` events within any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub window: Duration,
}

impl Rate {
    pub const fn per_minute(count: u32) -> Rate {
        Rate {
            count,
            window: Duration::from_secs(60),
        }
    }

    pub const fn per_10_minutes(count: u32) -> Rate {
        Rate {
            count,
            window: Duration::from_secs(600),
        }
    }
}

/// The rate limits (per client network: an IPv4 /24 or an IPv6 /64). The
/// counts live in the store, so they hold across replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `POST /v1/connect/register`, per network.
    pub register: Rate,
    /// `POST /oauth/register`, per network.
    pub oauth_register: Rate,
    /// Dashboard sign-ins (API key form, identity provider) and
    /// `POST /v1/connect/google`, per network.
    pub sign_in: Rate,
    /// Requests refused for a wrong API key, per network; past it every
    /// API-key request of the network is refused until the window passes.
    pub wrong_api_keys: Rate,
    /// Wrong pairing codes per tenant.
    pub wrong_codes_per_tenant: Rate,
    /// Wrong pairing codes per network, whatever the tenant.
    pub wrong_codes_per_network: Rate,
    /// Wrong pairing codes on the whole server.
    pub wrong_codes_server: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            register: Rate::per_minute(20),
            oauth_register: Rate::per_minute(20),
            sign_in: Rate::per_minute(30),
            wrong_api_keys: Rate::per_minute(30),
            wrong_codes_per_tenant: Rate::per_10_minutes(10),
            wrong_codes_per_network: Rate::per_10_minutes(50),
            wrong_codes_server: Rate::per_10_minutes(1000),
        }
    }
}

impl RateLimits {
    /// Every count multiplied by `factor` (at least 1): for load tests and
    /// conformance runs that make many requests from one address.
    pub fn scaled(self, factor: u32) -> RateLimits {
        let f = |r: Rate| Rate {
            count: r.count.saturating_mul(factor.max(1)),
            ..r
        };
        RateLimits {
            register: f(self.register),
            oauth_register: f(self.oauth_register),
            sign_in: f(self.sign_in),
            wrong_api_keys: f(self.wrong_api_keys),
            wrong_codes_per_tenant: f(self.wrong_codes_per_tenant),
            wrong_codes_per_network: f(self.wrong_codes_per_network),
            wrong_codes_server: f(self.wrong_codes_server),
        }
    }
}

/// An IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare
/// address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in this network (IPv4-mapped IPv6 addresses count
    /// as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network (CIDR)"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Who may sign in through the identity provider for the first time (a
/// first sign-in creates the account's tenant). Accounts that signed in
/// before always may, and so may invited emails (`tenant invite`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signup {
    /// Anyone with a verified email.
    Open,
    /// Invited emails only (the default).
    Invite,
    /// Verified emails of these domains (lower case), and invited ones.
    Domains(Vec<String>),
}

impl std::str::FromStr for Signup {
    type Err = String;

    /// `open`, `invite` or `domain:example.com,example.org`.
    fn from_str(s: &str) -> Result<Signup, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("open") {
            return Ok(Signup::Open);
        }
        if s.eq_ignore_ascii_case("invite") {
            return Ok(Signup::Invite);
        }
        let Some(list) = s.strip_prefix("domain:") else {
            return Err(format!(
                "{s:?}: expected open, invite or domain:example.com,…"
            ));
        };
        let domains: Vec<String> = list
            .split(',')
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        let valid = |d: &String| {
            d.contains('.')
                && d.split('.').all(|label| {
                    !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        };
        if domains.is_empty() || !domains.iter().all(valid) {
            return Err(format!("{s:?}: expected domain:example.com[,example.org…]"));
        }
        Ok(Signup::Domains(domains))
    }
}

/// Google's issuer, the default.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// Which OpenID provider signs users in, and as which clients.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The issuer URL; its `/.well-known/openid-configuration` is fetched.
    pub issuer: String,
    /// The dashboard's client id. Dashboard sign-in through the provider is
    /// offered only when it is set.
    pub client_id: Option<String>,
    /// The dashboard's client secret (confidential clients).
    pub client_secret: Option<crate::crypto::SecretString>,
    /// The browser extension's client id, also accepted as the `aud` of ID
    /// tokens sent to `POST /v1/connect/google`.
    pub extension_client_id: Option<String>,
}

impl Default for OidcSettings {
    fn default() -> Self {
        OidcSettings {
            issuer: GOOGLE_ISSUER.to_string(),
            client_id: None,
            client_secret: None,
            extension_client_id: None,
        }
    }
}

/// Whether a URL's host is a loopback address (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

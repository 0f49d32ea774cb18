//! The tunables of a running server, set from the command line and the
//! environment (see `config`) or by tests. Spans are `Duration`s and
//! per-platform values a `PlatformMap`; milliseconds appear only where the
//! store keeps time.

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
    /// Wrong pairing codes allowed per tenant within `pair_failure_window`.
    pub pair_failures_per_tenant: i64,
    /// Wrong pairing codes allowed per client address within the window.
    pub pair_failures_per_address: i64,
    pub pair_failure_window: Duration,
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
    /// How long a dashboard session lasts after sign-in.
    pub session_ttl: Duration,
    /// Least time between two posts of a tenant on a platform (zero: no
    /// pacing); a tenant's own setting (`tenant pacing`) takes precedence.
    /// Up to 20 % jitter is added.
    pub post_intervals: PlatformMap<Duration>,
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
            pair_failures_per_tenant: 10,
            pair_failures_per_address: 20,
            pair_failure_window: Duration::from_secs(10 * 60),
            media_store_url: None,
            media_dir: std::env::temp_dir().join("clawpost-media"),
            allow_external_media: false,
            oidc: OidcSettings::default(),
            session_ttl: Duration::from_secs(12 * 3600),
            selector_packs: std::sync::Arc::new(crate::selectors::builtin()),
            // Tests and embedders opt in; the server binary applies the
            // platforms' defaults (see `ServeArgs::post_intervals`).
            post_intervals: PlatformMap::default(),
        }
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

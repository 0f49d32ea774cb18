//! Shared application state handed to every route.

use std::ops::Deref;
use std::sync::Arc;

use crate::clock::{Clock, Millis};
use crate::media::Media;
use crate::notify::Notifier;
use crate::store::Store;

/// Tunables of a running server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of returned links, without a trailing slash.
    pub public_url: String,
    /// How long a lease lasts without a progress report.
    pub lease_ms: i64,
    /// Quota of tenants created without one.
    pub default_quota: i64,
    /// Lifetime of a 6-digit pairing code.
    pub pairing_code_ttl_ms: i64,
    /// Wrong pairing codes allowed per tenant within `pair_failure_window_ms`.
    pub pair_failures_per_tenant: i64,
    /// Wrong pairing codes allowed per client address within the window.
    pub pair_failures_per_address: i64,
    pub pair_failure_window_ms: i64,
    /// Where uploaded media is stored: an `s3://bucket?...` URL, or None
    /// for the local folder `media_dir`.
    pub media_store_url: Option<String>,
    /// The local media folder (used when `media_store_url` is None).
    pub media_dir: std::path::PathBuf,
    /// Whether job `mediaPaths` may name URLs of other hosts. When false
    /// only media uploaded to this server is accepted.
    pub allow_external_media: bool,
    /// OpenID Connect sign-in (dashboard and extension auto-pairing).
    pub oidc: crate::dashboard::oidc::OidcSettings,
    /// How long a dashboard session lasts after sign-in.
    pub session_ttl_ms: i64,
    /// Least time between two posts of a tenant on a platform, in
    /// milliseconds, by `Platform as usize` (0: no pacing); a tenant's own
    /// setting (`tenant pacing`) takes precedence. Up to 20 % jitter is added.
    pub post_interval_ms: [i64; 5],
    /// The selector packs served to extensions.
    pub selector_packs: std::sync::Arc<extension_core::pack_set::PackSet>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            lease_ms: 120_000,
            default_quota: 1000,
            pairing_code_ttl_ms: 10 * 60_000,
            pair_failures_per_tenant: 10,
            pair_failures_per_address: 20,
            pair_failure_window_ms: 10 * 60_000,
            media_store_url: None,
            media_dir: std::env::temp_dir().join("clawpost-media"),
            allow_external_media: false,
            oidc: crate::dashboard::oidc::OidcSettings::default(),
            session_ttl_ms: 12 * 3_600_000,
            selector_packs: std::sync::Arc::new(crate::selectors::builtin()),
            // Tests and embedders opt in; the server binary applies the
            // platforms' defaults (see `ServeArgs::post_intervals`).
            post_interval_ms: [0; 5],
        }
    }
}

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub notifier: Notifier,
    pub settings: Settings,
    /// Media storage and URL signing.
    pub media: Media,
    /// The OpenID client (discovery and signing keys cached).
    pub oidc: crate::dashboard::oidc::Oidc,
}

/// Cheap to clone; everything routes need.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// The state of a server. Panics if the media store cannot be opened;
    /// servers use [`AppState::try_new`] to report that as an error.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self::try_new(store, clock, settings).expect("open the media store")
    }

    /// The state of a server, opening its media store.
    pub fn try_new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        Ok(AppState(Arc::new(Inner {
            media: Media::open(&settings)?,
            oidc: crate::dashboard::oidc::Oidc::new(&settings.oidc)?,
            store,
            clock,
            notifier: Notifier::default(),
            settings,
        })))
    }

    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

//! The application state every adapter hands to the domain: the store, the
//! clock, the settings, media storage and the OpenID client.

use std::ops::Deref;
use std::sync::Arc;

use crate::app::media::Media;
use crate::app::notify::Notifier;
use crate::clock::{Clock, Millis};
use crate::settings::Settings;
use crate::store::Store;

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub notifier: Notifier,
    pub settings: Settings,
    /// Media storage and URL signing.
    pub media: Media,
    /// The OpenID client (discovery and signing keys cached).
    pub oidc: crate::app::oidc::Oidc,
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
            oidc: crate::app::oidc::Oidc::new(&settings.oidc)?,
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

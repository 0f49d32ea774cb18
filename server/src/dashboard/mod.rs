//! The dashboard: sign-in (API key, or OpenID Connect with PKCE and nonce),
//! sessions with CSRF tokens, and the server-rendered pages (Leptos) where a
//! user finds the tenant id and API key, pairs and revokes extensions, reads
//! the job history and usage. Routes are in [`routes`].

pub mod chart;
pub mod connections;
pub mod csrf;
pub mod routes;
pub mod session;
pub mod views;

use session::Session;

/// What the page frame shows of a session.
pub fn viewer(session: &Session) -> views::Viewer {
    views::Viewer {
        label: session
            .record
            .email
            .clone()
            .unwrap_or_else(|| session.tenant.name.clone()),
        csrf: session.csrf_token(),
    }
}

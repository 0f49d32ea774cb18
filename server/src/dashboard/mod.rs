//! The dashboard: sign-in (API key, or OpenID Connect with PKCE and nonce),
//! sessions with CSRF tokens, and the server-rendered pages (Leptos) where a
//! user finds the tenant id and API key, pairs and revokes extensions, reads
//! the job history and usage. Routes are in [`crate::routes::dashboard`].

pub mod oidc;

/// Whether a URL's host is a loopback address (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

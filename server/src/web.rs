//! Pieces every HTTP adapter shares: reading credentials off headers,
//! escaping text into HTML, the security headers of HTML answers, and the
//! plain page shell of the server's standalone pages (the API docs and the
//! OAuth consent page). No state, no rules.

use axum::http::header::{self, HeaderName};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The header agents send their API key in.
pub const API_KEY_HEADER: &str = "clawpost-api-key";

/// The bearer token of an `Authorization` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Escapes text for HTML content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Content-Security-Policy of every dashboard page: only this origin's
/// stylesheet and script, no inline code, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

/// The Content-Security-Policy of a standalone page ([`page`]): its own
/// inline style, nothing else, no framing.
const STANDALONE_POLICY: &str = "frame-ancestors 'none'; default-src 'none'; \
    style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'";

/// Adds the headers every HTML answer of `router` carries (unless a handler
/// set its own): the dashboard's CSP, no sniffing, no framing, no referrer,
/// no caching.
pub fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let h = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    router
        .layer(h("content-security-policy", CONTENT_SECURITY_POLICY))
        .layer(h("x-content-type-options", "nosniff"))
        .layer(h("x-frame-options", "DENY"))
        .layer(h("referrer-policy", "no-referrer"))
        .layer(h("cache-control", "no-store"))
        .layer(h("cross-origin-opener-policy", "same-origin"))
}

/// Sets the headers of a standalone page on one answer: its CSP, no
/// framing, no caching, no referrer, no sniffing.
pub fn protect(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(STANDALONE_POLICY),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// A standalone HTML page: `title` (escaped here), the page's own CSS on
/// top of the shared base, and `body` (HTML, escaped by the caller).
pub fn page(title: &str, max_width: &str, css: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:{max_width};margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}}\
         code{{background:#f3f3f3;padding:0 .2rem}}{css}</style></head><body>{body}</body></html>",
        title = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc "),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn pages_escape_their_title() {
        assert!(page("<x>", "30rem", "", "").contains("<title>&lt;x&gt;</title>"));
    }
}

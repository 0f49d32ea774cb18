//! Pieces every HTTP adapter shares: reading credentials and the client's
//! network off headers, escaping text into HTML, the security headers of
//! HTML answers, and the plain page shell of the server's standalone pages
//! (the API docs and the OAuth consent page). No state, no rules.

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

/// The network a request comes from, which rate limits count per: the
/// client's IPv4 /24 or IPv6 /64 (`203.0.113.0/24`, `2001:db8:1:2::/64`).
/// The client is the TCP peer, or, when the peer is a trusted proxy, the
/// address its `Forwarded` / `X-Forwarded-For` header names ([`client_ip`]).
/// A request served without connection info counts as `0.0.0.0/24`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientNet {
    pub ip: std::net::IpAddr,
    key: String,
}

impl ClientNet {
    pub fn of(ip: std::net::IpAddr) -> ClientNet {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        let key = match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let net = Ipv4Addr::from(u32::from(v4) & 0xffff_ff00);
                format!("{net}/24")
            }
            IpAddr::V6(v6) => {
                let net = Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1));
                format!("{net}/64")
            }
        };
        ClientNet { ip, key }
    }

    /// The network, in CIDR notation.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A state that says which peers are trusted proxies.
pub trait TrustedProxies {
    fn trusted_proxies(&self) -> &[crate::settings::Cidr];
}

impl<S: TrustedProxies + Send + Sync> axum::extract::FromRequestParts<S> for ClientNet {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientNet::of_request(parts, state.trusted_proxies()))
    }
}

impl ClientNet {
    /// The network of a request whose peer is known from its connection info.
    pub fn of_request(
        parts: &axum::http::request::Parts,
        trusted: &[crate::settings::Cidr],
    ) -> ClientNet {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
        ClientNet::of(client_ip(peer, &parts.headers, trusted))
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy;
/// then the forwarding chain (`Forwarded`, else `X-Forwarded-For`) is read
/// from the right, skipping trusted proxies, and the first other address is
/// the client. An entry that is no address (`unknown`, an obfuscated name)
/// ends the walk at the last trusted hop, so a client cannot hide behind a
/// made-up entry.
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    trusted: &[crate::settings::Cidr],
) -> std::net::IpAddr {
    let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|c| c.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    for hop in forwarding_chain(headers).into_iter().rev() {
        let Some(ip) = hop else { break };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// The addresses a request was forwarded for, client first: the `for=` of
/// each `Forwarded` element (RFC 7239) or, without that header, the entries
/// of `X-Forwarded-For`. `None` for an entry that is no address.
fn forwarding_chain(headers: &HeaderMap) -> Vec<Option<std::net::IpAddr>> {
    let values = |name: HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .flat_map(|v| {
                v.to_str()
                    .unwrap_or("")
                    .split(',')
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let forwarded = values(header::FORWARDED);
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| {
                let node = element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then_some(v)
                })?;
                parse_node(node)
            })
            .collect();
    }
    values(HeaderName::from_static("x-forwarded-for"))
        .iter()
        .map(|entry| parse_node(entry))
        .collect()
}

/// An address as forwarding headers write it: bare, quoted, `[v6]`,
/// `[v6]:port` or `v4:port`.
fn parse_node(node: &str) -> Option<std::net::IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    let (host, port) = node.split_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(Into::into)
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

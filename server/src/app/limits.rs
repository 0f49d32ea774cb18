//! Limits on what anyone may try without an account, so that guessing is
//! hopeless and anonymous endpoints cannot be flooded. Each limit is a
//! [`Rate`] of `settings.limits`, counted in the store (so it holds across
//! replicas) per client network ([`ClientNet`]: IPv4 /24, IPv6 /64), per
//! tenant or server-wide:
//!
//! - registrations (`POST /v1/connect/register`, `POST /oauth/register`)
//!   and sign-ins (dashboard, `POST /v1/connect/google`) per network
//!   ([`hit`]);
//! - wrong API keys per network: past the limit every API-key request of
//!   the network is refused before its key is looked at
//!   ([`tenant_by_key`]);
//! - wrong pairing codes per tenant, per network and server-wide
//!   ([`CodeGuess`]).
//!
//! A refusal is `429 RATE_LIMITED` with `Retry-After`. The sweeper
//! ([`spawn_sweeper`], [`sweep`]) forgets old counts and deletes what
//! anonymous callers left behind: registrations whose code expired unpaired
//! and OAuth clients that never connected.

use std::time::Duration;

use crate::app::AppState;
use crate::clock::{ms, Millis};
use crate::error::{ApiError, Code};
use crate::settings::{Cidr, Rate};
use crate::store::{Admission, RateRule, Tenant};
pub use crate::web::ClientNet;

/// How long after its code expired an unpaired registration is deleted.
pub const UNPAIRED_DEVICE_GRACE: Duration = Duration::from_secs(3600);
/// How long after registering an OAuth client that never connected is deleted.
pub const UNUSED_CLIENT_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long counted events are kept: longer than any window.
const EVENT_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How often the sweeper runs.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Extension registrations, per network.
    Register,
    /// OAuth client registrations, per network.
    OAuthRegister,
    /// Sign-ins (dashboard, pairing by ID token), per network.
    SignIn,
    /// Wrong API keys, per network.
    WrongApiKeys,
    /// Wrong pairing codes, per tenant.
    WrongCodesPerTenant,
    /// Wrong pairing codes, per network.
    WrongCodesPerNetwork,
    /// Wrong pairing codes, server-wide.
    WrongCodesServer,
}

impl Limit {
    /// The limit's name in its store scopes.
    fn name(self) -> &'static str {
        match self {
            Limit::Register => "register",
            Limit::OAuthRegister => "oauth-register",
            Limit::SignIn => "sign-in",
            Limit::WrongApiKeys => "wrong-api-key",
            Limit::WrongCodesPerTenant => "wrong-code-tenant",
            Limit::WrongCodesPerNetwork => "wrong-code-network",
            Limit::WrongCodesServer => "wrong-code-server",
        }
    }

    /// Its rate on this server.
    pub fn rate(self, state: &AppState) -> Rate {
        let l = &state.settings.limits;
        match self {
            Limit::Register => l.register,
            Limit::OAuthRegister => l.oauth_register,
            Limit::SignIn => l.sign_in,
            Limit::WrongApiKeys => l.wrong_api_keys,
            Limit::WrongCodesPerTenant => l.wrong_codes_per_tenant,
            Limit::WrongCodesPerNetwork => l.wrong_codes_per_network,
            Limit::WrongCodesServer => l.wrong_codes_server,
        }
    }

    /// What the refusal says.
    fn message(self) -> &'static str {
        match self {
            Limit::Register | Limit::OAuthRegister => {
                "Too many registrations from your network. Wait, then try again."
            }
            Limit::SignIn => "Too many sign-ins from your network. Wait, then try again.",
            Limit::WrongApiKeys => {
                "Too many requests with a wrong API key from your network. Wait, then try again."
            }
            Limit::WrongCodesPerTenant | Limit::WrongCodesPerNetwork | Limit::WrongCodesServer => {
                "Too many wrong pairing codes. Wait a few minutes, then try again."
            }
        }
    }
}

fn rule(state: &AppState, limit: Limit, key: &str) -> RateRule {
    let rate = limit.rate(state);
    RateRule {
        scope: format!("{}|{key}", limit.name()),
        limit: i64::from(rate.count),
        window_ms: ms(rate.window),
    }
}

/// `429 RATE_LIMITED`, retry after `retry_at` (whole seconds, at least one).
fn refused(state: &AppState, limit: Limit, retry_at: Millis) -> ApiError {
    let wait_ms = u64::try_from(retry_at - state.now()).unwrap_or(0);
    let secs = wait_ms.div_ceil(1000).max(1);
    tracing::info!(limit = limit.name(), retry_after = secs, "rate limited");
    ApiError::new(Code::RateLimited, limit.message()).with_retry_after(secs)
}

fn event_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Counts one request of `net` under `limit`, or refuses it when the
/// network used up its rate.
pub async fn hit(state: &AppState, limit: Limit, net: &ClientNet) -> Result<(), ApiError> {
    let rules = [rule(state, limit, net.key())];
    match state.store.admit(&event_id(), &rules, state.now()).await? {
        Admission::Admitted => Ok(()),
        Admission::Refused { retry_at } => Err(refused(state, limit, retry_at)),
    }
}

/// The tenant of an API key presented from `net`. A network that sent too
/// many wrong keys is refused before the key is looked at (so the answer
/// tells nothing about the key); a wrong key counts against its network.
pub async fn tenant_by_key(
    state: &AppState,
    net: &ClientNet,
    key: &str,
) -> Result<Option<Tenant>, ApiError> {
    let rule = rule(state, Limit::WrongApiKeys, net.key());
    let now = state.now();
    if let Some(until) = state
        .store
        .full_until(std::slice::from_ref(&rule), now)
        .await?
    {
        return Err(refused(state, Limit::WrongApiKeys, until));
    }
    let tenant = crate::app::tenants::by_key(state, key).await?;
    if tenant.is_none() {
        state
            .store
            .record_event(&event_id(), &[rule.scope], now)
            .await?;
    }
    Ok(tenant)
}

/// One try of a pairing code, counted as wrong until it proves right: it
/// takes a place under the tenant's, the network's and the server's limits
/// at once (or is refused), and a right code gives the places back. Taking
/// before trying keeps a burst of guesses, on any number of replicas,
/// within the limits.
#[must_use]
pub struct CodeGuess {
    id: String,
}

impl CodeGuess {
    /// Takes the places of one guess for `tenant_id` from `net`.
    pub async fn begin(
        state: &AppState,
        tenant_id: &str,
        net: &ClientNet,
    ) -> Result<CodeGuess, ApiError> {
        let rules = [
            rule(state, Limit::WrongCodesPerTenant, tenant_id),
            rule(state, Limit::WrongCodesPerNetwork, net.key()),
            rule(state, Limit::WrongCodesServer, "all"),
        ];
        let id = event_id();
        match state.store.admit(&id, &rules, state.now()).await? {
            Admission::Admitted => Ok(CodeGuess { id }),
            Admission::Refused { retry_at } => {
                Err(refused(state, Limit::WrongCodesPerTenant, retry_at))
            }
        }
    }

    /// The code was right: the guess does not count.
    pub async fn was_right(self, state: &AppState) -> Result<(), ApiError> {
        Ok(state.store.give_back(&self.id).await?)
    }
}

impl crate::web::TrustedProxies for AppState {
    fn trusted_proxies(&self) -> &[Cidr] {
        &self.settings.trusted_proxies
    }
}

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub events: u64,
    pub devices: u64,
    pub clients: u64,
}

/// Forgets counted events older than a day, deletes registrations whose
/// code expired unpaired an hour ago or more, and OAuth clients registered
/// a day ago or more that never connected.
pub async fn sweep(state: &AppState) -> Result<Swept, ApiError> {
    let now = state.now();
    let events = state
        .store
        .purge_rate_events(now - ms(EVENT_RETENTION))
        .await?;
    let devices = state
        .store
        .sweep_unpaired_devices(now - ms(UNPAIRED_DEVICE_GRACE))
        .await?;
    let clients = state
        .store
        .purge_unused_clients(now - ms(UNUSED_CLIENT_TTL))
        .await?;
    if devices + clients > 0 {
        tracing::info!(
            devices,
            clients,
            "swept unpaired registrations and unused OAuth clients"
        );
    }
    Ok(Swept {
        events,
        devices,
        clients,
    })
}

/// Runs [`sweep`] every ten minutes for as long as the server runs.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&state).await {
                tracing::warn!(error = %e.message, "sweeping rate limits and registrations failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use axum::http::{HeaderMap, HeaderValue};

    use super::*;
    use crate::web::client_ip;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_are_ipv4_24_and_ipv6_64() {
        assert_eq!(ClientNet::of(ip("203.0.113.77")).key(), "203.0.113.0/24");
        assert_eq!(
            ClientNet::of(ip("::ffff:203.0.113.9")).key(),
            "203.0.113.0/24"
        );
        assert_eq!(
            ClientNet::of(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).key(),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            ClientNet::of(ip("203.0.113.1")),
            ClientNet::of(ip("203.0.114.1"))
        );
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains(ip("10.1.200.3")));
        assert!(c.contains(ip("::ffff:10.1.0.1")));
        assert!(!c.contains(ip("10.2.0.1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "::/129", "example.com", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let xff = headers(&[("x-forwarded-for", "198.51.100.7")]);
        // From an untrusted peer the header is ignored.
        assert_eq!(client_ip(ip("192.0.2.1"), &xff, &trusted), ip("192.0.2.1"));
        assert_eq!(
            client_ip(ip("10.0.0.5"), &xff, &trusted),
            ip("198.51.100.7")
        );
        // Read from the right: a client cannot prepend a made-up address.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.9")]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &chain, &trusted),
            ip("198.51.100.7")
        );
        let junk = headers(&[("x-forwarded-for", "198.51.100.7, unknown")]);
        assert_eq!(client_ip(ip("10.0.0.5"), &junk, &trusted), ip("10.0.0.5"));
        // RFC 7239 takes precedence, with quoted IPv6 and ports.
        let fwd = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"",
            ),
            ("x-forwarded-for", "203.0.113.1"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &fwd, &trusted),
            ip("2001:db8:cafe::17")
        );
        let port = headers(&[("forwarded", "for=192.0.2.60:8080")]);
        assert_eq!(client_ip(ip("10.0.0.5"), &port, &trusted), ip("192.0.2.60"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.5"), &HeaderMap::new(), &trusted),
            ip("10.0.0.5")
        );
    }
}

//! The dashboard: sign-in (API key, or OpenID Connect with PKCE and nonce),
//! sessions with CSRF tokens, and the server-rendered pages (Leptos) where a
//! user finds the tenant id and API key, pairs and revokes extensions, reads
//! the job history and usage. Routes are in [`crate::routes::dashboard`].

pub mod chart;
pub mod csrf;
pub mod oidc;
pub mod session;
pub mod views;

use crate::error::ApiError;
use crate::secrets::{self, API_KEY_PREFIX};
use crate::state::AppState;
use crate::store::dashboard::{Identity, IdentitySignIn};
use crate::store::Tenant;
use oidc::{IdToken, OidcError};
use session::Session;

/// Whether a URL's host is a loopback address (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// HMAC-SHA256 of `purpose` keyed by `secret`: a value only the holder of the
/// secret can compute, and that tells nothing about it.
pub fn derive_raw(secret: &str, purpose: &str) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// [`derive_raw`] as URL-safe base64 without padding (43 characters: also a
/// valid PKCE verifier).
pub fn derive(secret: &str, purpose: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(derive_raw(secret, purpose))
}

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

/// An account signed in through the provider.
pub struct SignedIn {
    pub tenant: Tenant,
    pub email: String,
    /// The new tenant's API key, on the account's first sign-in.
    pub new_api_key: Option<String>,
}

/// Signs in the account of a verified ID token: the tenant linked to its
/// (issuer, subject), or, on the first sign-in, a new tenant named after its
/// email. The email must be verified.
pub async fn sign_in_id_token(state: &AppState, token: &IdToken) -> Result<SignedIn, ApiError> {
    let email = match (&token.email, token.email_verified) {
        (Some(email), true) if !email.trim().is_empty() => email.trim().to_string(),
        _ => return Err(OidcError::EmailNotVerified.into()),
    };
    let now = state.now();
    let key = secrets::generate(API_KEY_PREFIX);
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        name: email.clone(),
        quota: state.settings.default_quota,
        created_at: now,
    };
    let identity = Identity {
        issuer: token.issuer.clone(),
        subject: token.subject.clone(),
        tenant_id: tenant.id.clone(),
        email: email.clone(),
        created_at: now,
        last_login_at: now,
    };
    Ok(
        match state
            .store
            .sign_in_identity(&identity, &tenant, &key.hash)
            .await?
        {
            IdentitySignIn::Existing(tenant) => SignedIn {
                tenant,
                email,
                new_api_key: None,
            },
            IdentitySignIn::Created(tenant) => {
                tracing::info!(tenant = %tenant.id, "tenant created at first sign-in");
                SignedIn {
                    tenant,
                    email,
                    new_api_key: Some(key.plaintext),
                }
            }
        },
    )
}

/// Spends a verified token's nonce so the token is accepted only once.
pub async fn spend_nonce(state: &AppState, token: &IdToken) -> Result<(), ApiError> {
    let nonce = token
        .nonce
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or(OidcError::InvalidToken("it has no nonce"))?;
    let fresh = state
        .store
        // Kept past `exp` by more than the accepted clock skew.
        .spend_nonce(
            &secrets::hash(nonce),
            token.expires_at + 5 * 60_000,
            state.now(),
        )
        .await?;
    if fresh {
        Ok(())
    } else {
        Err(OidcError::Replayed.into())
    }
}

//! Tenants: the one way a tenant comes to be (the CLI, the server's first
//! start and the first sign-in through the identity provider all go through
//! [`new_tenant`]), API keys (lookup, rotation) and sign-in with an ID token.

use crate::app::oidc::{IdToken, OidcError};
use crate::app::AppState;
use crate::clock::Millis;
use crate::crypto::{self, NewSecret, API_KEY_PREFIX};
use crate::error::ApiError;
use crate::store::{Identity, IdentitySignIn, Store, Tenant};

/// A tenant and its API key, freshly created.
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub api_key: String,
}

/// A new tenant record and its API key (hash to store, plaintext to show
/// once). Nothing is stored yet.
fn new_tenant(name: &str, quota: i64, now: Millis) -> (Tenant, NewSecret) {
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        quota,
        created_at: now,
    };
    (tenant, crypto::generate(API_KEY_PREFIX))
}

/// Creates a tenant with a new API key.
pub async fn create(
    store: &dyn Store,
    name: &str,
    quota: i64,
    now: Millis,
) -> anyhow::Result<CreatedTenant> {
    anyhow::ensure!(quota >= 0, "quota must not be negative");
    let (tenant, key) = new_tenant(name, quota, now);
    store.create_tenant(&tenant, &key.hash).await?;
    Ok(CreatedTenant {
        tenant,
        api_key: key.plaintext,
    })
}

/// Gives the tenant a new API key; the old one stops working at once.
/// `None` when there is no such tenant.
pub async fn rotate_key(store: &dyn Store, tenant_id: &str) -> Result<Option<String>, ApiError> {
    let key = crypto::generate(API_KEY_PREFIX);
    Ok(store
        .rotate_key(tenant_id, &key.hash)
        .await?
        .then_some(key.plaintext))
}

/// Sets the tenant's own least interval between posts on `platform`
/// (`None`: back to the server's default). False when there is no such
/// tenant.
pub async fn set_pacing(
    store: &dyn Store,
    tenant_id: &str,
    platform: extension_core::Platform,
    interval: Option<std::time::Duration>,
) -> Result<bool, ApiError> {
    Ok(store
        .set_tenant_pacing(tenant_id, platform, interval.map(crate::clock::ms))
        .await?)
}

/// Resolves an API key to its tenant.
pub async fn by_key(state: &AppState, key: &str) -> Result<Option<Tenant>, ApiError> {
    if !crypto::looks_like(API_KEY_PREFIX, key) {
        return Ok(None);
    }
    let hash = crypto::hash(key);
    let tenant = state.store.tenant_by_key_hash(&hash).await?;
    // The lookup matched on the hash; confirm in constant time all the same.
    Ok(tenant.filter(|_| crypto::verify(key, &hash)))
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
    let (tenant, key) = new_tenant(&email, state.settings.default_quota, now);
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
            &crypto::hash(nonce),
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

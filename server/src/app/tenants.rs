//! Tenants: the one way a tenant comes to be (the CLI, the server's first
//! start and the first sign-in through the identity provider all go through
//! [`new_tenant`]), API keys (lookup, rotation, which ends every OAuth grant
//! and other dashboard session), sign-in with an ID token and who may sign
//! up that way (the `--signup` policy, invitations).

use crate::app::oidc::{IdToken, OidcError};
use crate::app::AppState;
use crate::clock::Millis;
use crate::crypto::{self, NewSecret, API_KEY_PREFIX};
use crate::error::{ApiError, Code};
use crate::settings::Signup;
use crate::store::{Identity, IdentitySignIn, Invite, Revocation, Revoked, Store, Tenant};

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

/// A rotated key and what the rotation ended.
pub struct Rotated {
    pub api_key: String,
    pub revoked: Revoked,
}

/// Gives the tenant a new API key and ends, at once and together, whatever
/// the old key may have handed out: the old key stops working, every OAuth
/// grant (MCP connection) of the tenant is revoked with all its tokens, and
/// every dashboard session ends but `keep_session` (the hash of the session
/// that rotated). With `revoke_devices` every paired extension is revoked
/// too. `None` when there is no such tenant. The one rotation of the CLI
/// and the dashboard.
pub async fn rotate_key(
    store: &dyn Store,
    tenant_id: &str,
    keep_session: Option<&str>,
    revoke_devices: bool,
    now: Millis,
) -> Result<Option<Rotated>, ApiError> {
    let key = crypto::generate(API_KEY_PREFIX);
    let revoke = Revocation {
        keep_session,
        devices: revoke_devices,
    };
    let Some(revoked) = store.rotate_key(tenant_id, &key.hash, revoke, now).await? else {
        return Ok(None);
    };
    tracing::info!(
        tenant = %tenant_id,
        grants = revoked.grants,
        sessions = revoked.sessions,
        devices = revoked.devices,
        "API key rotated"
    );
    Ok(Some(Rotated {
        api_key: key.plaintext,
        revoked,
    }))
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

/// Normalizes an email for invitations and domain checks: trimmed, lower
/// case, `local@domain` with both parts non-empty. None when it is not one.
pub fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(email)
}

/// Whether `policy` lets the account of a verified `email` sign up without
/// an invitation.
pub fn signup_admits(policy: &Signup, email: &str) -> bool {
    match policy {
        Signup::Open => true,
        Signup::Invite => false,
        Signup::Domains(domains) => normalize_email(email)
            .and_then(|e| e.rsplit_once('@').map(|(_, d)| d.to_string()))
            .is_some_and(|d| domains.contains(&d)),
    }
}

/// Invites `email` to sign in through the provider once, into the existing
/// tenant `tenant_id` or, without one, into a tenant of its own created at
/// its first sign-in. Replaces an earlier invitation of the same email.
pub async fn invite(
    store: &dyn Store,
    email: &str,
    tenant_id: Option<&str>,
    now: Millis,
) -> anyhow::Result<Invite> {
    let email = normalize_email(email)
        .ok_or_else(|| anyhow::anyhow!("{email:?} is not an email address"))?;
    if let Some(id) = tenant_id {
        anyhow::ensure!(
            store.tenant(id).await?.is_some(),
            "no tenant with id {id:?}"
        );
    }
    let invite = Invite {
        email,
        tenant_id: tenant_id.map(str::to_string),
        created_at: now,
        used_at: None,
    };
    store.invite(&invite).await?;
    Ok(invite)
}

/// An account signed in through the provider.
pub struct SignedIn {
    pub tenant: Tenant,
    pub email: String,
    /// The new tenant's API key, on the account's first sign-in.
    pub new_api_key: Option<String>,
}

/// Signs in the account of a verified ID token: the tenant linked to its
/// (issuer, subject). On the account's first sign-in, the tenant its email
/// was invited into, or a new tenant named after its email when it was
/// invited without one or the sign-up policy admits it; otherwise
/// `SIGNUP_CLOSED`. The email must be verified.
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
    let open = signup_admits(&state.settings.signup, &email);
    Ok(
        match state
            .store
            .sign_in_identity(&identity, &tenant, &key.hash, open)
            .await?
        {
            IdentitySignIn::Existing(tenant) => SignedIn {
                tenant,
                email,
                new_api_key: None,
            },
            IdentitySignIn::Joined(tenant) => {
                tracing::info!(tenant = %tenant.id, "invited account joined its tenant");
                SignedIn {
                    tenant,
                    email,
                    new_api_key: None,
                }
            }
            IdentitySignIn::Refused => {
                tracing::info!("first sign-in refused: sign-up is closed to this account");
                return Err(signup_closed(&state.settings.signup));
            }
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

/// The refusal of a first sign-in the policy does not admit.
fn signup_closed(policy: &Signup) -> ApiError {
    let message = match policy {
        Signup::Domains(_) => {
            "This server admits accounts of its own email domains and invited accounts only; \
             ask its operator for an invite."
        }
        Signup::Invite | Signup::Open => {
            "This server admits invited accounts only; ask its operator for an invite."
        }
    };
    ApiError::new(Code::SignupClosed, message)
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

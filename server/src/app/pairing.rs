//! Pairing: how a browser extension becomes a tenant's device. It
//! registers and shows a 6-digit code ([`register`]); the user enters the
//! code in the dashboard or an agent sends it ([`pair_with_code`], wrong
//! codes limited per tenant, per network and server-wide); the extension
//! polls ([`status`]) and takes its device token once. Or it signs in with
//! the identity provider and is paired at once ([`pair_with_id_token`]).

use crate::app::limits::{ClientNet, CodeGuess};
use crate::app::tenants::{sign_in_id_token, spend_nonce};
use crate::app::AppState;
use crate::clock::{ms, Millis};
use crate::crypto::{self, DEVICE_TOKEN_PREFIX, POLL_TOKEN_PREFIX};
use crate::error::{ApiError, Code};
use crate::store::{Device, PairOutcome};

/// A registration: what the extension shows and keeps.
#[derive(Debug)]
pub struct Registered {
    pub device_id: String,
    pub pairing_code: String,
    pub poll_token: String,
    pub expires_at: Millis,
}

/// Registers an extension for pairing under a new 6-digit code.
pub async fn register(state: &AppState, name: Option<String>) -> Result<Registered, ApiError> {
    let now = state.now();
    let poll = crypto::generate(POLL_TOKEN_PREFIX);
    let mut device = Device {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: None,
        name: device_name(name),
        pairing_code: None,
        code_expires_at: now + ms(state.settings.pairing_code_ttl),
        poll_token_hash: poll.hash,
        token_issued: false,
        paired_at: None,
        last_seen_at: None,
        revoked_at: None,
        pack_version: None,
        created_at: now,
    };
    // A live code is unique; retry the rare collision with a fresh one.
    for _ in 0..20 {
        let code = crypto::pairing_code();
        device.pairing_code = Some(code.clone());
        if state.store.register_device(&device).await? {
            return Ok(Registered {
                device_id: device.id,
                pairing_code: code,
                poll_token: poll.plaintext,
                expires_at: device.code_expires_at,
            });
        }
    }
    Err(ApiError::new(
        Code::TryAgain,
        "No pairing code is free right now. Try again.",
    ))
}

/// Where a registration stands.
#[derive(Debug)]
pub enum PairingStatus {
    Pending,
    Expired,
    Revoked,
    /// Paired with `tenant_id`; the device token only on the first answer.
    Paired {
        tenant_id: String,
        device_token: Option<String>,
    },
}

impl PairingStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PairingStatus::Pending => "pending",
            PairingStatus::Expired => "expired",
            PairingStatus::Revoked => "revoked",
            PairingStatus::Paired { .. } => "paired",
        }
    }
}

/// The status of a registration, for the holder of its poll token. The
/// device token is handed out once, on the first `Paired` answer.
pub async fn status(
    state: &AppState,
    device_id: &str,
    poll_token: &str,
) -> Result<(PairingStatus, Millis), ApiError> {
    let device = state
        .store
        .device(device_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such device registration."))?;
    if !crypto::verify(poll_token, &device.poll_token_hash) {
        return Err(ApiError::unauthorized("Wrong pollToken for this device."));
    }
    let status = if device.revoked_at.is_some() {
        PairingStatus::Revoked
    } else {
        match &device.tenant_id {
            Some(tenant) => {
                let mut token = None;
                if !device.token_issued {
                    let t = crypto::generate(DEVICE_TOKEN_PREFIX);
                    if state.store.issue_device_token(&device.id, &t.hash).await? {
                        token = Some(t.plaintext);
                    }
                }
                PairingStatus::Paired {
                    tenant_id: tenant.clone(),
                    device_token: token,
                }
            }
            None if device.code_expires_at <= state.now() => PairingStatus::Expired,
            None => PairingStatus::Pending,
        }
    };
    Ok((status, device.code_expires_at))
}

/// A device's display name from what the extension sent: trimmed, at most
/// 80 characters, "Browser extension" when empty.
pub fn device_name(name: Option<String>) -> String {
    name.map(|n| n.trim().chars().take(80).collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Browser extension".to_string())
}

/// A device paired by code.
#[derive(Debug)]
pub struct Paired {
    pub device: Device,
    pub paired_at: Millis,
}

/// Pairs by code on behalf of a tenant. Wrong codes are limited per
/// tenant, per client network and server-wide ([`CodeGuess`]), so the code
/// space cannot be searched.
pub async fn pair_with_code(
    state: &AppState,
    tenant_id: &str,
    net: &ClientNet,
    code: &str,
) -> Result<Paired, ApiError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_field(
            "code",
            "code must be the 6 digits the extension shows",
        ));
    }
    let guess = CodeGuess::begin(state, tenant_id, net).await?;
    let now = state.now();
    match state.store.pair_device(code, tenant_id, now).await? {
        PairOutcome::Paired(device) => {
            guess.was_right(state).await?;
            tracing::info!(device = %device.id, tenant = %tenant_id, "device paired");
            Ok(Paired {
                device: *device,
                paired_at: now,
            })
        }
        PairOutcome::NoSuchCode => Err(ApiError::new(Code::InvalidPairingCode,
                "No extension is waiting with that code (wrong, used or expired). Check the code the extension shows.",
            )
            .with_field("code")),
    }
}

/// A device paired by the user's sign-in.
#[derive(Debug)]
pub struct PairedByToken {
    pub device_id: String,
    pub device_token: String,
    pub tenant_id: String,
}

/// Pairs an extension by an ID token of the user's sign-in with the
/// identity provider, without a code. The account's tenant is created at
/// its first sign-in when the sign-up policy admits it
/// ([`sign_in_id_token`]).
pub async fn pair_with_id_token(
    state: &AppState,
    id_token: &str,
    name: Option<String>,
) -> Result<PairedByToken, ApiError> {
    let audiences = state.oidc.pairing_audiences();
    if audiences.is_empty() {
        return Err(crate::app::oidc::OidcError::NotConfigured.into());
    }
    let token = state
        .oidc
        .verify_id_token(id_token.trim(), &audiences, state.now())
        .await?;
    spend_nonce(state, &token).await?;
    let signed_in = sign_in_id_token(state, &token).await?;
    let now = state.now();
    let device_token = crypto::generate(DEVICE_TOKEN_PREFIX);
    let device = Device {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: Some(signed_in.tenant.id.clone()),
        name: device_name(name),
        pairing_code: None,
        code_expires_at: now,
        // Never polled: a hash of a secret nobody holds.
        poll_token_hash: crypto::generate(POLL_TOKEN_PREFIX).hash,
        token_issued: true,
        paired_at: Some(now),
        last_seen_at: None,
        revoked_at: None,
        pack_version: None,
        created_at: now,
    };
    state
        .store
        .create_paired_device(&device, &device_token.hash)
        .await?;
    tracing::info!(device = %device.id, tenant = %signed_in.tenant.id, "device paired by ID token");
    Ok(PairedByToken {
        device_id: device.id,
        device_token: device_token.plaintext,
        tenant_id: signed_in.tenant.id,
    })
}

/// Revokes one of the tenant's devices; false when it has no such device.
pub async fn revoke(state: &AppState, tenant_id: &str, device_id: &str) -> Result<bool, ApiError> {
    let revoked = state
        .store
        .revoke_device(tenant_id, device_id, state.now())
        .await?;
    if revoked {
        tracing::info!(device = %device_id, tenant = %tenant_id, "device revoked");
    }
    Ok(revoked)
}

/// Revokes every device of the tenant (the dashboard's "revoke all
/// extensions"); returns how many were paired.
pub async fn revoke_all(state: &AppState, tenant_id: &str) -> Result<u64, ApiError> {
    let revoked = state
        .store
        .revoke_tenant_devices(tenant_id, state.now())
        .await?;
    tracing::info!(tenant = %tenant_id, devices = revoked, "every device revoked");
    Ok(revoked)
}

//! Secrets: API keys, device tokens and pairing poll tokens. They are random,
//! shown once, stored only as SHA-256 hashes (they carry 285 bits of entropy,
//! so a fast hash is enough) and compared in constant time.

use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The prefix of tenant API keys, as the API reference shows them.
pub const API_KEY_PREFIX: &str = "claw_";
/// The prefix of device bearer tokens.
pub const DEVICE_TOKEN_PREFIX: &str = "cpdev_";
/// The prefix of pairing poll tokens.
pub const POLL_TOKEN_PREFIX: &str = "cppoll_";
const SECRET_LEN: usize = 48;

/// A freshly generated secret: its plaintext (to hand out once) and its hash (to store).
#[derive(Clone)]
pub struct NewSecret {
    pub plaintext: String,
    pub hash: String,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// Generates `prefix` + 48 random alphanumeric characters.
pub fn generate(prefix: &str) -> NewSecret {
    let plaintext = format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), SECRET_LEN)
    );
    let hash = hash(&plaintext);
    NewSecret { plaintext, hash }
}

/// The stored form of a secret: lowercase hex SHA-256.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `presented` hashes to `stored_hash`, compared in constant time.
pub fn verify(presented: &str, stored_hash: &str) -> bool {
    hash(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Whether a string has the shape of a secret with that prefix (cheap pre-check).
pub fn looks_like(prefix: &str, s: &str) -> bool {
    s.len() == prefix.len() + SECRET_LEN
        && s.starts_with(prefix)
        && s[prefix.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A fresh 256-bit random key, hex-encoded.
pub fn random_key() -> String {
    let key: [u8; 32] = rand::random();
    hex::encode(key)
}

/// The server's secret key: the `CLAWPOST_SECRET_KEY` value when given,
/// else the contents of `file`, which is created (mode 0600, a fresh
/// random key) when missing.
pub fn load_or_create_key(
    from_env: Option<&SecretString>,
    file: &std::path::Path,
) -> anyhow::Result<SecretString> {
    use anyhow::Context;
    if let Some(key) = from_env.filter(|k| !k.expose().trim().is_empty()) {
        return Ok(SecretString::new(key.expose().trim()));
    }
    match std::fs::read_to_string(file) {
        Ok(s) if !s.trim().is_empty() => return Ok(SecretString::new(s.trim())),
        Ok(_) => anyhow::bail!("the secret key file {} is empty", file.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key = random_key();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(file)
        .with_context(|| format!("creating the secret key file {}", file.display()))?;
    std::io::Write::write_all(&mut f, format!("{key}\n").as_bytes())?;
    tracing::info!(file = %file.display(), "created the server's secret key");
    Ok(SecretString::new(key))
}

/// A uniformly random 6-digit pairing code.
pub fn pairing_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// A secret setting: never shown by `Debug`, so it cannot reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl std::str::FromStr for SecretString {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretString(s.to_string()))
    }
}

/// HMAC-SHA256 of `purpose` keyed by `secret`: a value only the holder of the
/// secret can compute, and that tells nothing about it.
pub fn derive_raw(secret: &str, purpose: &str) -> [u8; 32] {
    mac(secret.as_bytes(), purpose.as_bytes())
}

/// [`derive_raw`] as URL-safe base64 without padding (43 characters: also a
/// valid PKCE verifier).
pub fn derive(secret: &str, purpose: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(derive_raw(secret, purpose))
}

/// The PKCE S256 challenge of a verifier.
pub fn code_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether a PKCE verifier (RFC 7636 §4.1: 43 to 128 unreserved characters)
/// matches the S256 challenge, compared in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use subtle::ConstantTimeEq;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = code_challenge(verifier);
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// Whether a `code_challenge` has the shape of an S256 challenge (the
/// unpadded base64url of a SHA-256 digest).
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Constant-time equality of two tokens.
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// HMAC-SHA256 of `message` under `key`.
pub fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Whether `presented` is the HMAC-SHA256 of `message` under `key`,
/// compared in constant time.
pub fn mac_matches(key: &[u8], message: &[u8], presented: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.verify_slice(presented).is_ok()
}

/// The SHA-256 of some content as lowercase hex: a fingerprint, not a
/// secret's stored form (that is [`hash`]).
pub fn fingerprint(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// [`fingerprint`] of content that arrives in pieces.
#[derive(Default)]
pub struct Fingerprinter(Sha256);

impl Fingerprinter {
    pub fn update(&mut self, piece: &[u8]) {
        self.0.update(piece);
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// Encrypts `plaintext` (ChaCha20-Poly1305) under a key derived from
/// `secret` for `purpose`, bound to `aad`: hex(nonce ‖ ciphertext).
pub fn seal(secret: &str, purpose: &str, aad: &str, plaintext: &str) -> String {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&derive_raw(secret, purpose)));
    let nonce: [u8; 12] = rand::random();
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext.as_bytes(),
                aad: aad.as_bytes(),
            },
        )
        .expect("ChaCha20-Poly1305 encrypts any message");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    hex::encode(out)
}

/// Opens what [`seal`] made with the same secret, purpose and `aad`; None
/// when anything differs or it was tampered with.
pub fn open(secret: &str, purpose: &str, aad: &str, sealed: &str) -> Option<String> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
    let bytes = hex::decode(sealed).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ct) = bytes.split_at(12);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&derive_raw(secret, purpose)));
    let pt = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: aad.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(pt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_key_file_is_made_once_readable_only_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data/secret.key");
        let first = load_or_create_key(None, &file).unwrap();
        assert_eq!(first.expose().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load_or_create_key(None, &file).unwrap(), first);
        let env = SecretString::new("  from-env  ");
        assert_eq!(
            load_or_create_key(Some(&env), &file).unwrap().expose(),
            "from-env"
        );
        std::fs::write(&file, "\n").unwrap();
        assert!(load_or_create_key(None, &file).is_err());
    }

    #[test]
    fn sealed_text_opens_only_with_its_secret_purpose_and_aad() {
        let sealed = seal("s", "p", "a", "claw_key");
        assert_eq!(open("s", "p", "a", &sealed).as_deref(), Some("claw_key"));
        assert_eq!(open("t", "p", "a", &sealed), None);
        assert_eq!(open("s", "q", "a", &sealed), None);
        assert_eq!(open("s", "p", "b", &sealed), None);
        assert_ne!(seal("s", "p", "a", "claw_key"), sealed);
    }

    #[test]
    fn macs_verify_only_their_message() {
        let m = mac(b"k", b"GET\nx");
        assert!(mac_matches(b"k", b"GET\nx", &m));
        assert!(!mac_matches(b"k", b"GET\ny", &m));
        assert!(!mac_matches(b"j", b"GET\nx", &m));
        assert!(same("abc", "abc") && !same("abc", "abd"));
    }

    #[test]
    fn pkce_needs_the_right_well_formed_verifier() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_s256_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(&verifier.replace('d', "e"), challenge));
        assert!(!pkce_matches("short", &code_challenge("short")));
        assert!(!is_s256_challenge("plain-verifier"));
    }

    #[test]
    fn api_keys_have_the_reference_shape_and_verify() {
        let k = generate(API_KEY_PREFIX);
        assert_eq!(k.plaintext.len(), 5 + 48);
        assert!(looks_like(API_KEY_PREFIX, &k.plaintext));
        assert!(verify(&k.plaintext, &k.hash));
        assert!(!verify(&format!("{}x", k.plaintext), &k.hash));
        assert!(!format!("{k:?}").contains(&k.plaintext));
        assert_ne!(generate(API_KEY_PREFIX).plaintext, k.plaintext);
    }

    #[test]
    fn pairing_codes_are_six_digits() {
        for _ in 0..100 {
            let c = pairing_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}

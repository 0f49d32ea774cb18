//! Signed media URLs for the local store: HMAC-SHA256 over the method, the
//! object, the expiry and (for uploads) the content type and size, with a
//! per-install key kept in the database. Verification is constant-time.

use crate::crypto;

use crate::clock::Millis;

/// Bytes of a freshly generated signing key.
pub const KEY_LEN: usize = 32;

/// What a signature authorizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant<'a> {
    /// Read the object.
    Get,
    /// Upload the object with exactly this `Content-Type` and, when given,
    /// at most this many bytes.
    Put {
        content_type: &'a str,
        bytes: Option<i64>,
    },
}

/// Signs and verifies media URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner").finish_non_exhaustive()
    }
}

/// A new random key, hex-encoded (as stored).
pub fn generate_key() -> String {
    let key: [u8; KEY_LEN] = rand::random();
    hex::encode(key)
}

impl UrlSigner {
    /// A signer with this key.
    pub fn new(key: [u8; 32]) -> UrlSigner {
        UrlSigner { key: key.to_vec() }
    }

    /// A signer with a hex-encoded key (as stored); None if it is not hex.
    pub fn from_hex(key: &str) -> Option<UrlSigner> {
        let key = hex::decode(key).ok().filter(|k| k.len() >= 16)?;
        Some(UrlSigner { key })
    }

    /// The signed message: newline-separated fields, none of which can hold
    /// a newline.
    fn message(object_key: &str, expires: Millis, grant: Grant<'_>) -> String {
        match grant {
            Grant::Get => format!("GET\n{object_key}\n{expires}"),
            Grant::Put {
                content_type,
                bytes,
            } => format!(
                "PUT\n{object_key}\n{expires}\n{content_type}\n{}",
                bytes.map(|b| b.to_string()).unwrap_or_default()
            ),
        }
    }

    /// The hex signature of a grant on an object until `expires`.
    pub fn sign(&self, object_key: &str, expires: Millis, grant: Grant<'_>) -> String {
        hex::encode(crypto::mac(
            &self.key,
            Self::message(object_key, expires, grant).as_bytes(),
        ))
    }

    /// Whether `signature` (hex) is this signer's for the grant; constant-time.
    pub fn verify(
        &self,
        object_key: &str,
        expires: Millis,
        grant: Grant<'_>,
        signature: &str,
    ) -> bool {
        let Ok(presented) = hex::decode(signature) else {
            return false;
        };
        crypto::mac_matches(
            &self.key,
            Self::message(object_key, expires, grant).as_bytes(),
            &presented,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_field() {
        let s = UrlSigner::from_hex(&generate_key()).unwrap();
        let put = Grant::Put {
            content_type: "video/mp4",
            bytes: Some(10),
        };
        let sig = s.sign("a/b.mp4", 5, put);
        assert!(s.verify("a/b.mp4", 5, put, &sig));
        assert!(!s.verify("a/c.mp4", 5, put, &sig));
        assert!(!s.verify("a/b.mp4", 6, put, &sig));
        assert!(!s.verify("a/b.mp4", 5, Grant::Get, &sig));
        for other in [
            Grant::Put {
                content_type: "video/quicktime",
                bytes: Some(10),
            },
            Grant::Put {
                content_type: "video/mp4",
                bytes: None,
            },
            Grant::Put {
                content_type: "video/mp4",
                bytes: Some(11),
            },
        ] {
            assert!(!s.verify("a/b.mp4", 5, other, &sig), "{other:?}");
        }
        assert!(!s.verify("a/b.mp4", 5, put, "zz"));
        assert!(!s.verify("a/b.mp4", 5, put, &sig[..10]));
        let other_install = UrlSigner::from_hex(&generate_key()).unwrap();
        assert!(!other_install.verify("a/b.mp4", 5, put, &sig));
    }

    #[test]
    fn keys_are_hex_and_debug_hides_them() {
        let key = generate_key();
        assert_eq!(key.len(), KEY_LEN * 2);
        let s = UrlSigner::from_hex(&key).unwrap();
        assert!(!format!("{s:?}").contains(&key));
        assert!(UrlSigner::from_hex("not hex").is_none());
        assert!(UrlSigner::from_hex("abcd").is_none());
    }
}

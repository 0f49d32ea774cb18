//! OpenID Connect: the provider's discovery document and signing keys
//! (JWKS), the authorization code flow with PKCE (S256) and nonce, and ID
//! token verification (signature, `iss`, `aud`, `exp`, `iat`). Any provider
//! works; Google is the default. Times are checked against the server's
//! clock, not the library's, so tests can move it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::clock::Millis;
use crate::error::{ApiError, Code};
use crate::settings::{OidcSettings, GOOGLE_ISSUER};

/// Clock skew tolerated on `exp` and `iat`.
const LEEWAY: Duration = Duration::from_secs(60);
/// How long discovery and keys are kept before they are fetched again.
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// An unknown `kid` refetches the keys at most this often.
const KEY_REFRESH_MIN: Duration = Duration::from_secs(10);
/// Timeout of each request to the provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The signing algorithms accepted (asymmetric only: never `none` or HMAC).
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// What can go wrong signing in through the provider.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("Sign-in with an OpenID provider is not configured on this server.")]
    NotConfigured,
    /// The provider could not be reached or answered nonsense; the detail is
    /// logged, never shown.
    #[error("The sign-in provider could not be reached. Try again later.")]
    Provider(String),
    /// The provider refused to exchange the authorization code.
    #[error("The sign-in provider refused the sign-in. Try again.")]
    Rejected(String),
    #[error("Invalid ID token: {0}.")]
    InvalidToken(&'static str),
    #[error("The account's email address is not verified with the sign-in provider.")]
    EmailNotVerified,
    #[error("Invalid ID token: it was already used (replayed nonce).")]
    Replayed,
}

impl From<OidcError> for ApiError {
    fn from(e: OidcError) -> Self {
        let message = e.to_string();
        match e {
            OidcError::NotConfigured => ApiError::new(Code::OidcNotConfigured, message),
            OidcError::Provider(detail) => {
                tracing::warn!(%detail, "OpenID provider unavailable");
                ApiError::new(Code::OidcProviderUnavailable, message)
            }
            OidcError::Rejected(detail) => {
                tracing::warn!(%detail, "OpenID provider refused the code exchange");
                ApiError::new(Code::OidcSignInFailed, message)
            }
            OidcError::InvalidToken(_) | OidcError::Replayed => {
                ApiError::new(Code::InvalidIdToken, message).with_field("idToken")
            }
            OidcError::EmailNotVerified => ApiError::new(Code::EmailNotVerified, message),
        }
    }
}

/// The parts of the provider's discovery document used here.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// The claims of a verified ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct IdToken {
    /// The configured issuer (normalized), whatever spelling the token used.
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub nonce: Option<String>,
    /// `exp`, in milliseconds.
    pub expires_at: Millis,
}

#[derive(Debug, Deserialize)]
struct RawClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    aud: Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// A boolean, or the string "true" at some providers.
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    nonce: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

struct Cached<T> {
    value: Arc<T>,
    fetched: Instant,
}

#[derive(Default)]
struct Cache {
    discovery: Option<Cached<Discovery>>,
    jwks: Option<Cached<JwkSet>>,
}

/// The server's OpenID client: settings plus the cached discovery document
/// and keys.
pub struct Oidc {
    settings: OidcSettings,
    issuer: String,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The issuer without a trailing slash.
fn normalize(issuer: &str) -> String {
    issuer.trim().trim_end_matches('/').to_string()
}

/// Whether a URL may be used to reach the provider: HTTPS, or plain HTTP on
/// a loopback address (local development and tests).
fn acceptable_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    match u.scheme() {
        "https" => true,
        "http" => crate::settings::is_loopback_host(&u),
        _ => false,
    }
}

impl Oidc {
    /// A client for `settings`; refuses an issuer that is not an HTTPS URL
    /// (plain HTTP is allowed on loopback only).
    pub fn new(settings: &OidcSettings) -> anyhow::Result<Oidc> {
        let issuer = normalize(&settings.issuer);
        anyhow::ensure!(
            acceptable_url(&issuer),
            "the OpenID issuer must be an https:// URL (http:// only on loopback): {issuer:?}"
        );
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Oidc {
            settings: settings.clone(),
            issuer,
            http,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// The configured issuer, normalized: the key identities are stored under.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether the dashboard offers sign-in through the provider.
    pub fn dashboard_enabled(&self) -> bool {
        self.settings.client_id.is_some()
    }

    /// A short name of the provider for buttons: "Google" or its host.
    pub fn provider_name(&self) -> String {
        if self.issuer == GOOGLE_ISSUER {
            return "Google".to_string();
        }
        url::Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| self.issuer.clone())
    }

    /// The client ids an ID token for extension auto-pairing may be issued to.
    pub fn pairing_audiences(&self) -> Vec<String> {
        [&self.settings.client_id, &self.settings.extension_client_id]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// The client id the extension signs in as: its own when configured,
    /// else the dashboard's; `NotConfigured` when there is neither.
    pub fn extension_sign_in_client_id(&self) -> Result<&str, OidcError> {
        self.settings
            .extension_client_id
            .as_deref()
            .or(self.settings.client_id.as_deref())
            .ok_or(OidcError::NotConfigured)
    }

    /// The provider's authorization endpoint (from discovery), checked to be
    /// HTTPS (or loopback).
    pub async fn authorization_endpoint(&self) -> Result<String, OidcError> {
        let discovery = self.discovery().await?;
        if !acceptable_url(&discovery.authorization_endpoint) {
            return Err(OidcError::Provider(
                "insecure authorization_endpoint".into(),
            ));
        }
        Ok(discovery.authorization_endpoint.clone())
    }

    /// The dashboard's client id, or `NotConfigured`.
    pub fn dashboard_client_id(&self) -> Result<&str, OidcError> {
        self.settings
            .client_id
            .as_deref()
            .ok_or(OidcError::NotConfigured)
    }

    /// Issuer spellings accepted in `iss` (Google also uses the bare host).
    fn accepted_issuers(&self) -> Vec<String> {
        let mut v = vec![self.issuer.clone()];
        if self.issuer == GOOGLE_ISSUER {
            v.push("accounts.google.com".to_string());
        }
        v
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        if !acceptable_url(url) {
            return Err(OidcError::Provider(format!("refusing insecure URL {url}")));
        }
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("GET {url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(OidcError::Provider(format!(
                "GET {url}: HTTP {}",
                resp.status()
            )));
        }
        resp.json()
            .await
            .map_err(|e| OidcError::Provider(format!("GET {url}: {e}")))
    }

    /// The provider's discovery document (cached for an hour).
    pub async fn discovery(&self) -> Result<Arc<Discovery>, OidcError> {
        if let Some(c) = &self.cache.lock().expect("oidc cache").discovery {
            if c.fetched.elapsed() < CACHE_TTL {
                return Ok(c.value.clone());
            }
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let doc: Discovery = self.get_json(&url).await?;
        // The document must speak for the configured issuer (mix-up defence).
        if normalize(&doc.issuer) != self.issuer {
            return Err(OidcError::Provider(format!(
                "discovery names issuer {:?}, expected {:?}",
                doc.issuer, self.issuer
            )));
        }
        let doc = Arc::new(doc);
        self.cache.lock().expect("oidc cache").discovery = Some(Cached {
            value: doc.clone(),
            fetched: Instant::now(),
        });
        Ok(doc)
    }

    /// The provider's keys: cached, refetched when stale or, at most every
    /// few seconds, when a token names a key not among them.
    async fn key_for(&self, kid: Option<&str>) -> Result<Jwk, OidcError> {
        let find = |set: &JwkSet| -> Option<Jwk> {
            match kid {
                Some(kid) => set
                    .keys
                    .iter()
                    .find(|k| k.common.key_id.as_deref() == Some(kid))
                    .cloned(),
                None if set.keys.len() == 1 => set.keys.first().cloned(),
                None => None,
            }
        };
        let refetch = {
            let cache = self.cache.lock().expect("oidc cache");
            match &cache.jwks {
                Some(c) if c.fetched.elapsed() < CACHE_TTL => {
                    if let Some(k) = find(&c.value) {
                        return Ok(k);
                    }
                    c.fetched.elapsed() >= KEY_REFRESH_MIN
                }
                _ => true,
            }
        };
        if refetch {
            let discovery = self.discovery().await?;
            let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
            let found = find(&set);
            self.cache.lock().expect("oidc cache").jwks = Some(Cached {
                value: Arc::new(set),
                fetched: Instant::now(),
            });
            if let Some(k) = found {
                return Ok(k);
            }
        }
        Err(OidcError::InvalidToken(
            "it is signed with a key the provider does not publish",
        ))
    }

    /// Verifies an ID token: a signature by one of the provider's published
    /// keys, `iss` the configured issuer, `aud` one of `audiences`, `exp` not
    /// past and `iat` not in the future (by the server's clock, `now`).
    pub async fn verify_id_token(
        &self,
        token: &str,
        audiences: &[String],
        now: Millis,
    ) -> Result<IdToken, OidcError> {
        if audiences.is_empty() {
            return Err(OidcError::NotConfigured);
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| OidcError::InvalidToken("it is not a signed JWT"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::InvalidToken(
                "it uses a signing algorithm that is not accepted",
            ));
        }
        let jwk = self.key_for(header.kid.as_deref()).await?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|e| OidcError::Provider(format!("unusable provider key: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(audiences);
        validation.set_issuer(&self.accepted_issuers());
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Time is checked below against the server's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<RawClaims>(token, &key, &validation).map_err(|e| {
            OidcError::InvalidToken(match e.kind() {
                ErrorKind::InvalidSignature => "the signature does not verify",
                ErrorKind::InvalidIssuer => "it was issued by another issuer",
                ErrorKind::InvalidAudience => "it was issued to another client (aud)",
                ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    "its algorithm does not match the provider's key"
                }
                _ => "it is malformed",
            })
        })?;
        let claims = data.claims;
        if claims.exp.saturating_mul(1000) + crate::clock::ms(LEEWAY) <= now {
            return Err(OidcError::InvalidToken("it has expired"));
        }
        if claims
            .iat
            .is_some_and(|iat| iat.saturating_mul(1000) > now + crate::clock::ms(LEEWAY))
        {
            return Err(OidcError::InvalidToken("it was issued in the future"));
        }
        // With several audiences, the authorized party must be ours.
        if claims.aud.as_array().is_some_and(|a| a.len() > 1)
            && claims
                .azp
                .as_ref()
                .is_some_and(|azp| !audiences.contains(azp))
        {
            return Err(OidcError::InvalidToken(
                "it was issued to another client (azp)",
            ));
        }
        let email_verified = match &claims.email_verified {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        Ok(IdToken {
            issuer: self.issuer.clone(),
            subject: claims.sub,
            email: claims.email,
            email_verified,
            nonce: claims.nonce,
            expires_at: claims.exp.saturating_mul(1000),
        })
    }

    /// The provider URL that starts a sign-in (authorization code flow with
    /// PKCE S256 and a nonce).
    pub async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        code_challenge: &str,
    ) -> Result<String, OidcError> {
        let client_id = self.dashboard_client_id()?;
        let discovery = self.discovery().await?;
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|e| OidcError::Provider(format!("authorization_endpoint: {e}")))?;
        if !acceptable_url(url.as_str()) {
            return Err(OidcError::Provider(
                "insecure authorization_endpoint".into(),
            ));
        }
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges an authorization code for the ID token.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<String, OidcError> {
        let client_id = self.dashboard_client_id()?;
        let discovery = self.discovery().await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
        ];
        let mut req = self.http.post(&discovery.token_endpoint);
        let methods = &discovery.token_endpoint_auth_methods_supported;
        match &self.settings.client_secret {
            // client_secret_basic is the default when the provider lists none.
            Some(secret)
                if methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic") =>
            {
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                req = req.basic_auth(enc(client_id), Some(enc(secret.expose())));
            }
            Some(secret) => {
                form.push(("client_id", client_id));
                form.push(("client_secret", secret.expose()));
            }
            None => form.push(("client_id", client_id)),
        }
        if !acceptable_url(&discovery.token_endpoint) {
            return Err(OidcError::Provider("insecure token_endpoint".into()));
        }
        let resp = req
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            let body: String = body.chars().take(300).collect();
            return Err(OidcError::Rejected(format!(
                "token endpoint HTTP {status}: {body}"
            )));
        }
        let tokens: TokenResponse = resp
            .json()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint answer: {e}")))?;
        tokens
            .id_token
            .ok_or_else(|| OidcError::Provider("token endpoint returned no id_token".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            crate::crypto::code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        let with = |issuer: &str| {
            Oidc::new(&OidcSettings {
                issuer: issuer.into(),
                ..OidcSettings::default()
            })
        };
        assert!(with("https://accounts.google.com/").is_ok());
        assert!(with("http://127.0.0.1:9000").is_ok());
        assert!(with("http://localhost:9000").is_ok());
        assert!(with("http://idp.example.com").is_err());
        assert!(with("ftp://idp.example.com").is_err());
        assert_eq!(
            with("https://accounts.google.com/").unwrap().issuer(),
            GOOGLE_ISSUER
        );
    }
}

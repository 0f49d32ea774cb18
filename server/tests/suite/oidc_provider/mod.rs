//! A local OpenID provider for tests: a real RSA key pair generated here,
//! its JWKS, a discovery document, an authorization endpoint that signs in
//! the user the test chose, and a token endpoint that checks the client's
//! secret, the redirect URI and the PKCE verifier before it signs an ID token
//! with jsonwebtoken. Tests can also mint ID tokens directly, and make the
//! next token wrong in one way (audience, issuer, expiry, key, nonce, email).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use clawpost_server::clock::{Clock, ManualClock};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// An RSA signing key and its public JWK.
pub struct Key {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

impl Key {
    fn generate(kid: &str) -> Key {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key");
        let der = private.to_pkcs1_der().expect("PKCS#1 DER");
        let b64 = |b: Vec<u8>| URL_SAFE_NO_PAD.encode(b);
        Key {
            kid: kid.to_string(),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": kid,
                "n": b64(private.n().to_bytes_be()),
                "e": b64(private.e().to_bytes_be()),
            }),
        }
    }
}

/// The provider's key and a foreign key (same `kid`, never published), made
/// once per test binary: RSA key generation is slow.
fn keys() -> &'static (Key, Key) {
    static KEYS: OnceLock<(Key, Key)> = OnceLock::new();
    KEYS.get_or_init(|| (Key::generate("test-key-1"), Key::generate("test-key-1")))
}

/// The account the authorization endpoint signs in.
#[derive(Debug, Clone)]
pub struct User {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
}

impl User {
    pub fn new(sub: &str, email: &str) -> User {
        User {
            sub: sub.into(),
            email: email.into(),
            email_verified: true,
        }
    }
}

/// One way to make an ID token wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Flaw {
    /// Signed with a key the provider does not publish (same `kid`).
    ForeignKey,
    WrongAudience,
    WrongIssuer,
    /// Expired an hour ago.
    Expired,
    /// `email_verified: false`.
    UnverifiedEmail,
    /// Carries this nonce instead of the one asked for.
    Nonce(String),
    /// No nonce at all.
    NoNonce,
}

/// What a minted ID token says.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub user: User,
    pub aud: String,
    pub nonce: Option<String>,
    pub flaw: Option<Flaw>,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    user: User,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    clock: Mutex<ManualClock>,
    user: Mutex<User>,
    /// Applied to the ID token of the next code exchange.
    next_flaw: Mutex<Option<Flaw>>,
    codes: Mutex<HashMap<String, Grant>>,
    /// How many times the token endpoint was called.
    token_calls: Mutex<u32>,
}

/// A running provider.
#[derive(Clone)]
pub struct Provider(Arc<Inner>);

impl Provider {
    /// Starts a provider on a random loopback port with one confidential
    /// client.
    pub async fn start(client_id: &str, client_secret: &str) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let provider = Provider(Arc::new(Inner {
            issuer,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            clock: Mutex::new(ManualClock::new(crate::common::T0)),
            user: Mutex::new(User::new("user-1", "ada@example.com")),
            next_flaw: Mutex::new(None),
            codes: Mutex::new(HashMap::new()),
            token_calls: Mutex::new(0),
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        provider
    }

    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// Tokens are dated by this clock (the server's, in tests).
    pub fn use_clock(&self, clock: &ManualClock) {
        *self.0.clock.lock().unwrap() = clock.clone();
    }

    /// The account the next authorization signs in.
    pub fn sign_in_as(&self, user: User) {
        *self.0.user.lock().unwrap() = user;
    }

    /// Makes the next exchanged ID token wrong in this way.
    pub fn flaw_next_token(&self, flaw: Flaw) {
        *self.0.next_flaw.lock().unwrap() = Some(flaw);
    }

    pub fn token_calls(&self) -> u32 {
        *self.0.token_calls.lock().unwrap()
    }

    /// Signs an ID token as this provider would (or wrongly, per `flaw`).
    pub fn mint(&self, spec: &TokenSpec) -> String {
        let now = self.0.clock.lock().unwrap().now_ms() / 1000;
        let (good, foreign) = keys();
        let flaw = spec.flaw.as_ref();
        let key = if flaw == Some(&Flaw::ForeignKey) {
            foreign
        } else {
            good
        };
        let mut claims = json!({
            "iss": if flaw == Some(&Flaw::WrongIssuer) { "https://evil.example.com" } else { self.issuer() },
            "sub": spec.user.sub,
            "aud": if flaw == Some(&Flaw::WrongAudience) { "someone-else" } else { spec.aud.as_str() },
            "azp": spec.aud,
            "iat": if flaw == Some(&Flaw::Expired) { now - 7200 } else { now },
            "exp": if flaw == Some(&Flaw::Expired) { now - 3600 } else { now + 3600 },
            "email": spec.user.email,
            "email_verified": spec.user.email_verified && flaw != Some(&Flaw::UnverifiedEmail),
        });
        let nonce = match flaw {
            Some(Flaw::Nonce(n)) => Some(n.clone()),
            Some(Flaw::NoNonce) => None,
            _ => spec.nonce.clone(),
        };
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).expect("sign")
    }

    /// A well-formed ID token for `user`, issued to `aud`, with `nonce`.
    pub fn token_for(&self, user: &User, aud: &str, nonce: &str) -> String {
        self.mint(&TokenSpec {
            user: user.clone(),
            aud: aud.into(),
            nonce: Some(nonce.into()),
            flaw: None,
        })
    }
}

async fn discovery(State(p): State<Provider>) -> Json<Value> {
    let i = p.issuer();
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

async fn jwks() -> Json<Value> {
    Json(json!({ "keys": [keys().0.jwk.clone()] }))
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

async fn authorize(
    State(p): State<Provider>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != p.0.client_id {
        return oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    }
    let well_formed = get("response_type") == "code"
        && get("scope").split(' ').any(|s| s == "openid")
        && get("code_challenge_method") == "S256"
        && !get("code_challenge").is_empty()
        && !get("redirect_uri").is_empty();
    if !well_formed {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    p.0.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            code_challenge: get("code_challenge"),
            nonce: q.get("nonce").cloned(),
            user: p.0.user.lock().unwrap().clone(),
        },
    );
    let mut back = url::Url::parse(&get("redirect_uri")).expect("redirect_uri");
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    Redirect::to(back.as_str()).into_response()
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The client's credentials: HTTP Basic (form-urlencoded parts) or the form.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((dec(id)?, dec(secret)?));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

async fn token(
    State(p): State<Provider>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    *p.0.token_calls.lock().unwrap() += 1;
    let Some((id, secret)) = client_credentials(&headers, &form) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if id != p.0.client_id || secret != p.0.client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.grant_type != "authorization_code" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Codes are single-use.
    let Some(grant) = p.0.codes.lock().unwrap().remove(&form.code) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.code_verifier.unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if grant.client_id != id
        || grant.redirect_uri != form.redirect_uri
        || challenge != grant.code_challenge
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let flaw = p.0.next_flaw.lock().unwrap().take();
    let id_token = p.mint(&TokenSpec {
        user: grant.user,
        aud: id,
        nonce: grant.nonce,
        flaw,
    });
    Json(json!({
        "access_token": format!("at-{}", uuid::Uuid::new_v4().simple()),
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token,
    }))
    .into_response()
}

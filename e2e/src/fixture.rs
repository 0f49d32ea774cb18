//! The HTTPS fixture server: serves the running scenario's `sites/<hostname>/`
//! under the platforms' real hostnames and keeps what the fixture pages record
//! through `POST /__fixture/record`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The hostnames Chromium maps to the fixture server.
pub const PLATFORM_HOSTS: &[&str] = &[
    "x.com",
    "twitter.com",
    "www.linkedin.com",
    "www.facebook.com",
    "www.tiktok.com",
    "www.instagram.com",
];

/// The path every fixture host answers for records.
const RECORD_PATH: &str = "/__fixture/record";

/// One page request the fixture server answered.
#[derive(Debug, Clone)]
pub struct Hit {
    /// When it arrived.
    pub at: Instant,
    /// The hostname it was for.
    pub host: String,
    /// Its method and path.
    pub what: String,
}

#[derive(Debug, Default)]
struct Shared {
    /// The running scenario's `sites/` folder; nothing is served without one.
    sites: RwLock<Option<PathBuf>>,
    /// Records of the running scenario, in arrival order (JSON objects).
    records: Mutex<Vec<Value>>,
    /// Every request of the running scenario.
    hits: Mutex<Vec<Hit>>,
}

impl Shared {
    /// The folder for `host` when the running scenario serves it.
    fn site_dir(&self, host: &str) -> Option<PathBuf> {
        if !PLATFORM_HOSTS.contains(&host) {
            return None;
        }
        let sites = self.sites.read().expect("sites lock").clone()?;
        let dir = sites.join(host);
        dir.is_dir().then_some(dir)
    }
}

/// A running fixture server.
pub struct Fixture {
    shared: Arc<Shared>,
    hits_tx: watch::Sender<u64>,
    /// The local port Chromium's host-resolver rules point at.
    pub port: u16,
}

impl Fixture {
    /// Generates a self-signed certificate for the platform hostnames and
    /// starts serving on a free local port.
    pub async fn start() -> anyhow::Result<Fixture> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let names: Vec<String> = PLATFORM_HOSTS.iter().map(|h| h.to_string()).collect();
        let generated = rcgen::generate_simple_self_signed(names)
            .context("generating the fixture certificate")?;
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
        let certified = CertifiedKey::from_der(vec![generated.cert.der().clone()], key, &provider)
            .context("loading the fixture certificate")?;

        let shared = Arc::new(Shared::default());
        let resolver = Arc::new(SiteCertResolver {
            shared: shared.clone(),
            key: Arc::new(certified),
        });
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let (hits_tx, _) = watch::channel(0u64);
        let app = Router::new().fallback(handle).with_state(AppState {
            shared: shared.clone(),
            hits_tx: hits_tx.clone(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    // A hostname the scenario does not serve fails the
                    // handshake: the browser sees a connection error.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(Fixture {
            shared,
            hits_tx,
            port,
        })
    }

    /// Serves `sites` from now on and forgets the previous scenario's
    /// records and requests.
    pub fn use_sites(&self, sites: Option<&Path>) {
        *self.shared.sites.write().expect("sites lock") = sites.map(Path::to_path_buf);
        self.shared.records.lock().expect("records lock").clear();
        self.shared.hits.lock().expect("hits lock").clear();
    }

    /// The records of the running scenario, in order.
    pub fn records(&self) -> Vec<Value> {
        self.shared.records.lock().expect("records lock").clone()
    }

    /// Waits until a request arrives at or after `since` and returns it;
    /// `None` when `timeout` passes first.
    pub async fn first_hit_since(
        &self,
        since: Instant,
        timeout: std::time::Duration,
    ) -> Option<Hit> {
        let mut rx = self.hits_tx.subscribe();
        let wait = async {
            loop {
                rx.borrow_and_update();
                let found = self
                    .shared
                    .hits
                    .lock()
                    .expect("hits lock")
                    .iter()
                    .find(|h| h.at >= since)
                    .cloned();
                if let Some(hit) = found {
                    return Some(hit);
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }
}

/// Hands out the certificate only for hostnames the running scenario serves.
#[derive(Debug)]
struct SiteCertResolver {
    shared: Arc<Shared>,
    key: Arc<CertifiedKey>,
}

impl ResolvesServerCert for SiteCertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let host = hello.server_name()?.to_ascii_lowercase();
        self.shared.site_dir(&host).map(|_| self.key.clone())
    }
}

#[derive(Clone)]
struct AppState {
    shared: Arc<Shared>,
    hits_tx: watch::Sender<u64>,
}

async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
        .unwrap_or_default();
    let Some(dir) = state.shared.site_dir(&host) else {
        return (StatusCode::MISDIRECTED_REQUEST, "not a fixture host").into_response();
    };
    let path = req.uri().path().to_string();
    state.shared.hits.lock().expect("hits lock").push(Hit {
        at: Instant::now(),
        host: host.clone(),
        what: format!("{} {path}", req.method()),
    });
    state.hits_tx.send_modify(|n| *n += 1);

    if path == RECORD_PATH {
        if req.method() != Method::POST {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        return match Multipart::from_request(req, &()).await {
            Ok(multipart) => match read_record(&host, multipart).await {
                Ok(record) => {
                    state
                        .shared
                        .records
                        .lock()
                        .expect("records lock")
                        .push(record);
                    StatusCode::NO_CONTENT.into_response()
                }
                Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
            },
            Err(e) => (StatusCode::BAD_REQUEST, e.body_text()).into_response(),
        };
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    match resolve_file(&dir, &path) {
        Some(file) => match tokio::fs::read(&file).await {
            Ok(bytes) => {
                let mut res = Response::new(Body::from(bytes));
                let headers = res.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&file)),
                );
                // Scenarios reuse URLs with different content.
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res
            }
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        },
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Reads one record: `kind`, `text`, `media` file parts (size and SHA-256),
/// and any other text field under its own name.
async fn read_record(host: &str, mut multipart: Multipart) -> Result<Value, String> {
    let mut record = Map::new();
    record.insert("host".into(), json!(host));
    let mut media = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let bytes = field.bytes().await.map_err(|e| e.body_text())?;
        if name == "media" {
            media.push(json!({
                "sha256": hex::encode(Sha256::digest(&bytes)),
                "size": bytes.len(),
                "name": file_name,
                "type": content_type,
            }));
        } else {
            let text = String::from_utf8_lossy(&bytes);
            // Browsers send string entries with CRLF line breaks; a Blob
            // part (one with a file name) arrives byte for byte.
            let text = if file_name.is_none() {
                text.replace("\r\n", "\n")
            } else {
                text.into_owned()
            };
            record.insert(name, json!(text));
        }
    }
    record.insert("media".into(), Value::Array(media));
    Ok(Value::Object(record))
}

/// The file that answers `path` under a site folder: the file itself, a
/// folder's `index.html`, or the site's `index.html` (single-page fallback).
/// `None` when even the fallback is missing or the path tries to escape.
pub fn resolve_file(site: &Path, path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let mut file = site.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." || segment.contains(['\\', '\0']) {
            return None;
        }
        file.push(segment);
    }
    if file.is_dir() {
        file.push("index.html");
    }
    if file.is_file() {
        return Some(file);
    }
    let fallback = site.join("index.html");
    fallback.is_file().then_some(fallback)
}

fn content_type(file: &Path) -> &'static str {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("mp4") => "video/mp4",
        Some("woff2") => "font/woff2",
        Some("wasm") => "application/wasm",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A summary of the running scenario's requests, for failure messages.
pub fn describe_hits(hits: &[Hit]) -> String {
    let mut by_host: BTreeMap<&str, usize> = BTreeMap::new();
    for hit in hits {
        *by_host.entry(hit.host.as_str()).or_default() += 1;
    }
    by_host
        .iter()
        .map(|(h, n)| format!("{h}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Fixture {
    /// The requests of the running scenario so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().expect("hits lock").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_files_folders_and_the_spa_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path();
        std::fs::write(site.join("index.html"), "root").unwrap();
        std::fs::create_dir_all(site.join("i/flow")).unwrap();
        std::fs::write(site.join("i/flow/index.html"), "flow").unwrap();
        std::fs::write(site.join("app.js"), "js").unwrap();
        assert_eq!(resolve_file(site, "/app.js"), Some(site.join("app.js")));
        assert_eq!(
            resolve_file(site, "/i/flow"),
            Some(site.join("i/flow/index.html"))
        );
        assert_eq!(
            resolve_file(site, "/compose/post"),
            Some(site.join("index.html"))
        );
        assert_eq!(resolve_file(site, "/"), Some(site.join("index.html")));
        assert_eq!(resolve_file(site, "/%61pp.js"), Some(site.join("app.js")));
        assert_eq!(resolve_file(site, "/../secret"), None);
        std::fs::remove_file(site.join("index.html")).unwrap();
        assert_eq!(resolve_file(site, "/home"), None);
    }
}

//! The HTTPS fixture server: serves the running scenario's `sites/<hostname>/`
//! under the platforms' real hostnames, answers the pages' API calls
//! (`POST`/`PUT`/`PATCH` to a path with a file behind it get that file) and
//! keeps what the fixture pages record through `POST /__fixture/record`.

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
use futures_util::StreamExt;
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
    records_tx: watch::Sender<RecordsState>,
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
        let (records_tx, _) = watch::channel(RecordsState::default());
        let app = Router::new().fallback(handle).with_state(AppState {
            shared: shared.clone(),
            hits_tx: hits_tx.clone(),
            records_tx: records_tx.clone(),
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
            records_tx,
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

    /// Waits until the running scenario holds at least `n` records or
    /// `timeout` passes; returns the records either way.
    #[cfg(test)]
    pub async fn wait_records(&self, n: usize, timeout: std::time::Duration) -> Vec<Value> {
        let mut rx = self.records_tx.subscribe();
        let enough = async {
            let records = &self.shared.records;
            let _ = rx
                .wait_for(|_| records.lock().expect("records lock").len() >= n)
                .await;
        };
        let _ = tokio::time::timeout(timeout, enough).await;
        self.records()
    }

    /// Waits until no record request is being received (one that has
    /// arrived but is not stored yet); `false` when `timeout` passes first.
    pub async fn wait_records_idle(&self, timeout: std::time::Duration) -> bool {
        let mut rx = self.records_tx.subscribe();
        let idle = async { rx.wait_for(|state| state.receiving == 0).await.is_ok() };
        tokio::time::timeout(timeout, idle).await.unwrap_or(false)
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
    records_tx: watch::Sender<RecordsState>,
}

/// The record endpoint's activity, watched by [`Fixture::wait_records_idle`]
/// and [`Fixture::wait_records`].
#[derive(Debug, Default, Clone, Copy)]
struct RecordsState {
    /// Record requests that arrived and are not stored (or refused) yet.
    receiving: usize,
}

/// Counts one record request as being received until it is dropped, also
/// when the connection goes away mid-body.
struct Receiving(watch::Sender<RecordsState>);

impl Receiving {
    fn start(tx: &watch::Sender<RecordsState>) -> Receiving {
        tx.send_modify(|s| s.receiving += 1);
        Receiving(tx.clone())
    }
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.0.send_modify(|s| s.receiving -= 1);
    }
}

/// The methods a page calls the platform's API with: answered with the file
/// at the path, never the single-page fallback.
fn is_api_call(method: &Method) -> bool {
    method == Method::POST || method == Method::PUT || method == Method::PATCH
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
        let _receiving = Receiving::start(&state.records_tx);
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
    let file = if is_api_call(req.method()) {
        // An API call: whatever the body says, the answer is the file.
        // Nothing is recorded. The body is read to its end so that the
        // connection stays usable.
        let mut body = req.into_body().into_data_stream();
        while let Some(Ok(_)) = body.next().await {}
        resolve_existing(&dir, &path)
    } else if req.method() == Method::GET || req.method() == Method::HEAD {
        resolve_file(&dir, &path)
    } else {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    match file {
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
    if let Some(file) = resolve_existing(site, path) {
        return Some(file);
    }
    site_path(site, path)?;
    let fallback = site.join("index.html");
    fallback.is_file().then_some(fallback)
}

/// The file that is really behind `path` under a site folder (the file
/// itself or a folder's `index.html`), without the single-page fallback:
/// what answers an API call.
pub fn resolve_existing(site: &Path, path: &str) -> Option<PathBuf> {
    let mut file = site_path(site, path)?;
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

/// `path` (percent-decoded) under `site`; `None` when it tries to escape.
fn site_path(site: &Path, path: &str) -> Option<PathBuf> {
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
    Some(file)
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
        // A file with no extension stands for an API response
        // (`i/api/graphql/<id>/CreateTweet`).
        None => "application/json",
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

    #[test]
    fn api_calls_resolve_only_files_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path();
        std::fs::write(site.join("index.html"), "root").unwrap();
        std::fs::create_dir_all(site.join("i/api")).unwrap();
        std::fs::write(site.join("i/api/CreateTweet"), "{}").unwrap();
        assert_eq!(
            resolve_existing(site, "/i/api/CreateTweet"),
            Some(site.join("i/api/CreateTweet"))
        );
        assert_eq!(resolve_existing(site, "/i/api/Other"), None);
        assert_eq!(resolve_existing(site, "/i/api"), None);
        assert_eq!(resolve_existing(site, "/../x"), None);
        assert_eq!(content_type(Path::new("a/CreateTweet")), "application/json");
        assert_eq!(content_type(Path::new("a/b.JSON")), "application/json");
        assert_eq!(
            content_type(Path::new("a/b.bin")),
            "application/octet-stream"
        );
    }

    /// The spec's API-call rule over real HTTPS (no browser): `POST`, `PUT`
    /// and `PATCH` get the file at the path whatever the body, query strings
    /// are ignored, a path with no file is 404 (no single-page fallback), and
    /// nothing is recorded.
    #[tokio::test]
    async fn api_calls_get_the_file_and_record_nothing() {
        use reqwest::Method;

        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("x.com");
        let api = site.join("i/api/graphql/AbCdEf");
        std::fs::create_dir_all(&api).unwrap();
        std::fs::write(site.join("index.html"), "<p>app</p>").unwrap();
        let create = r#"{"data":{"create_tweet":{"tweet_results":{"result":{"rest_id":"1790000000000000001"}}}}}"#;
        std::fs::write(api.join("CreateTweet"), create).unwrap();
        std::fs::write(site.join("settings.json"), r#"{"a":1}"#).unwrap();
        std::fs::write(site.join("notes.txt"), "plain").unwrap();

        let fixture = Fixture::start().await.unwrap();
        fixture.use_sites(Some(dir.path()));
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], fixture.port));
        let http = reqwest::Client::builder()
            .no_proxy()
            .danger_accept_invalid_certs(true)
            .resolve("x.com", addr)
            .build()
            .unwrap();
        let call = |method: Method, path: &str, body: &'static str| {
            http.request(method, format!("https://x.com{path}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let content_type = |res: &reqwest::Response| {
            res.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_string()
        };

        let create_path = "/i/api/graphql/AbCdEf/CreateTweet";
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            let res = call(
                method.clone(),
                &format!("{create_path}?variables=%7B%7D&features=x"),
                r#"{"variables":{"tweet_text":"Hello"}}"#,
            )
            .await
            .unwrap();
            assert_eq!(res.status(), 200, "{method}");
            assert_eq!(content_type(&res), "application/json", "{method}");
            assert_eq!(res.text().await.unwrap(), create, "{method}");
        }
        // The same file answers GET, with or without a query string.
        for path in [create_path.to_string(), format!("{create_path}?a=1")] {
            let res = call(Method::GET, &path, "").await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(content_type(&res), "application/json");
            assert_eq!(res.text().await.unwrap(), create);
        }
        // Whatever the body: a multipart form to a .json file.
        let form = reqwest::multipart::Form::new().text("kind", "post");
        let res = http
            .post("https://x.com/settings.json?x=1")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(content_type(&res), "application/json");
        assert_eq!(res.text().await.unwrap(), r#"{"a":1}"#);
        // Other files keep their own type.
        let res = call(Method::POST, "/notes.txt", "{}").await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(content_type(&res), "text/plain; charset=utf-8");

        // No file behind the path: 404, where GET gets the single-page app.
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            for path in ["/i/api/graphql/Other/CreateTweet", "/home", "/i/api"] {
                let res = call(method.clone(), path, "{}").await.unwrap();
                assert_eq!(res.status(), 404, "{method} {path}");
            }
        }
        let res = call(Method::GET, "/home?x=1", "").await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "<p>app</p>");
        let res = call(Method::DELETE, create_path, "").await.unwrap();
        assert_eq!(res.status(), 405);

        // None of it was recorded; the record endpoint still records.
        assert_eq!(fixture.records(), Vec::<Value>::new());
        assert!(
            fixture
                .wait_records_idle(std::time::Duration::from_secs(1))
                .await
        );
        let form = reqwest::multipart::Form::new()
            .text("kind", "post")
            .text("text", "Hello");
        let res = http
            .post("https://x.com/__fixture/record")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let records = fixture.records();
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["text"], "Hello");
        assert!(fixture.hits().len() > 10);
    }
}

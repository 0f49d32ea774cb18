//! The REST API adapter: agents' endpoints (`clawpost-api-key`), the
//! extension's (device token), pairing, media, and the OpenAPI document.
//! Handlers parse, call the domain ([`crate::app`]) and render JSON; they
//! hold no rules.

pub mod agents;
pub mod auth;
pub mod connect;
pub mod docs;
pub mod extension;
pub mod media;
pub mod ws;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Code};

/// Every REST endpoint.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/jobs/tweet", post(agents::create_tweet))
        .route("/v1/jobs", post(agents::create_job))
        .route("/v1/jobs/{id}", get(agents::get_job))
        .route("/v1/usage", get(agents::usage))
        .route(
            "/v1/media/upload",
            post(media::upload).layer(DefaultBodyLimit::max(media::MULTIPART_BODY_LIMIT)),
        )
        .route("/v1/media/upload-url", post(media::upload_url))
        // Uploads stream to storage, bounded by the size the URL was signed for.
        .route(
            "/v1/media/objects/{id}/{name}",
            get(media::get_object)
                .put(media::put_object)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/extension/pull", get(extension::pull))
        .route("/v1/extension/progress", post(extension::progress))
        .route("/v1/extension/ack", post(extension::ack))
        .route("/v1/extension/ws", get(ws::ws))
        .route("/v1/extension/selectors", get(extension::selectors))
        .route("/v1/connect/register", post(connect::register))
        .route("/v1/connect/status", get(connect::status))
        .route("/v1/connect/pair", post(connect::pair))
        .route(
            "/v1/connect/google",
            get(connect::google_config).post(connect::connect_google),
        )
        .route("/openapi.json", get(docs::openapi_json))
        .route("/api-docs", get(docs::api_docs))
        .route("/healthz", get(|| async { "ok" }))
        // Last: it applies to the routes above. A known path asked with
        // another method answers the API's JSON error (axum adds `Allow`).
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        Code::MethodNotAllowed,
        format!("This endpoint does not take {method}; the Allow header lists the methods it takes. See /api-docs."),
    )
}

/// Largest JSON body the API accepts.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body with the API's own errors: 413 when too large, 400
/// `INVALID_JSON` for malformed JSON, 400 `INVALID_REQUEST` for a body of the
/// wrong shape. The `Content-Type` is not required to be JSON.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let BodyBytes(bytes) = BodyBytes::from_request(req, state).await?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => {
                    ApiError::new(Code::InvalidRequest, format!("Invalid request body: {e}"))
                }
                _ => ApiError::new(Code::InvalidJson, format!("Invalid JSON: {e}")),
            }
        })
    }
}

/// A raw request body with the API's own errors: 413 `PAYLOAD_TOO_LARGE`
/// past [`JSON_BODY_LIMIT`], 400 `INVALID_REQUEST` when it cannot be read.
pub struct BodyBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for BodyBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(BodyBytes)
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        Code::PayloadTooLarge,
                        format!("The request body is larger than {JSON_BODY_LIMIT} bytes."),
                    )
                } else {
                    ApiError::new(Code::InvalidRequest, "The request body could not be read.")
                }
            })
    }
}

/// Query parameters with the API's own errors: 400 `INVALID_REQUEST` with
/// the parameter at fault in `field`.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let params =
            serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(params)
            .map(QueryParams)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                // A missing parameter is reported at the root, named in the message.
                let field = if path == "." {
                    message
                        .strip_prefix("missing field `")
                        .and_then(|m| m.strip_suffix('`'))
                        .map(str::to_string)
                } else {
                    Some(path)
                };
                let error = ApiError::new(
                    Code::InvalidRequest,
                    format!("Invalid query string: {message}"),
                );
                match field {
                    Some(f) => error.with_field(f),
                    None => error,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::app::AppState;
    use crate::clock::SystemClock;
    use crate::settings::Settings;
    use crate::store::SqlStore;

    #[tokio::test]
    async fn a_wrong_method_on_an_api_path_answers_the_json_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::config::sqlite_url(&dir.path().join("t.sqlite"));
        let store = Arc::new(SqlStore::connect(&url).await.unwrap());
        let settings = Settings {
            media_dir: dir.path().join("media"),
            ..Settings::default()
        };
        let state = AppState::new(store, Arc::new(SystemClock), settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(crate::startup::run(listener, state));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();

        for (method, path, allow) in [
            (reqwest::Method::DELETE, "/v1/jobs", "POST"),
            (reqwest::Method::GET, "/v1/jobs", "POST"),
            (reqwest::Method::PUT, "/v1/jobs/some-id", "GET,HEAD"),
        ] {
            let resp = client
                .request(method.clone(), format!("{base}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 405, "{method} {path}");
            assert_eq!(resp.headers()["allow"], allow, "{method} {path}");
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["code"], "METHOD_NOT_ALLOWED", "{method} {path}");
            assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
        // The dashboard's routes keep their own answers.
        let resp = client.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        server.abort();
    }
}

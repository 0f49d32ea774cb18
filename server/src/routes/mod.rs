//! HTTP routes, grouped by audience. Routes parse and delegate; the store owns
//! every state transition.

pub mod agents;
pub mod connect;
pub mod dashboard;
pub mod docs;
pub mod extension;
pub mod media;
pub mod ws;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

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
                    ApiError::bad_request("INVALID_REQUEST", format!("Invalid request body: {e}"))
                }
                _ => ApiError::bad_request("INVALID_JSON", format!("Invalid JSON: {e}")),
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
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "PAYLOAD_TOO_LARGE",
                        format!("The request body is larger than {JSON_BODY_LIMIT} bytes."),
                    )
                } else {
                    ApiError::bad_request("INVALID_REQUEST", "The request body could not be read.")
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
                let error = ApiError::bad_request(
                    "INVALID_REQUEST",
                    format!("Invalid query string: {message}"),
                );
                match field {
                    Some(f) => error.with_field(f),
                    None => error,
                }
            })
    }
}

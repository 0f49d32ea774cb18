//! HTTP routes, grouped by audience. Routes parse and delegate; the store owns
//! every state transition.

pub mod agents;
pub mod connect;
pub mod docs;
pub mod extension;
pub mod ws;
pub mod media;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
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
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    format!("The request body is larger than {JSON_BODY_LIMIT} bytes."),
                )
            } else {
                ApiError::bad_request("INVALID_REQUEST", "The request body could not be read.")
            }
        })?;
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

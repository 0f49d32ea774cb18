//! CSRF protection of the dashboard's forms. Every state-changing form
//! carries a token derived from a secret only the browser's cookie holds:
//! the session secret once signed in, the pre-sign-in secret on the sign-in
//! form. The token is checked (in constant time) before the form is read.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::session::{LoginSecret, Session, CSRF_FIELD};
use super::views;
use crate::app::AppState;

/// Largest form body the dashboard accepts.
const FORM_LIMIT: usize = 16 * 1024;

/// The `csrf` field of a URL-encoded form body.
fn csrf_of(body: &[u8]) -> String {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn read_body(req: Request, state: &AppState) -> Result<Bytes, Response> {
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|r| r.into_response())?;
    if bytes.len() > FORM_LIMIT {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "Form too large.").into_response());
    }
    Ok(bytes)
}

// An axum `Response` is the natural error of a handler helper.
#[allow(clippy::result_large_err)]
fn parse<T: DeserializeOwned>(bytes: &[u8], viewer: Option<&views::Viewer>) -> Result<T, Response> {
    serde_urlencoded::from_bytes(bytes).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            Html(views::message(
                "Bad request",
                "The form was incomplete. Go back and try again.",
                viewer,
            )),
        )
            .into_response()
    })
}

/// The answer to a form without the right CSRF token.
pub fn forbidden(viewer: Option<&views::Viewer>) -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(views::message(
            "Form expired",
            "This form was not sent from your dashboard page, or it expired. Reload the page and try again.",
            viewer,
        )),
    )
        .into_response()
}

/// A signed-in form post whose CSRF token matched: the session and the
/// form's fields. Without a session the browser is sent to sign in.
pub struct CsrfForm<T>(pub Session, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session =
            <Session as FromRequestParts<AppState>>::from_request_parts(&mut parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
        let bytes = read_body(Request::from_parts(parts, body), state).await?;
        let viewer = super::viewer(&session);
        if !session.csrf_ok(&csrf_of(&bytes)) {
            return Err(forbidden(Some(&viewer)));
        }
        Ok(CsrfForm(session, parse(&bytes, Some(&viewer))?))
    }
}

/// A sign-in form post whose CSRF token matched the browser's pre-sign-in
/// secret.
pub struct LoginForm<T>(pub LoginSecret, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for LoginForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let secret = LoginSecret::existing(state, req.headers());
        let bytes = read_body(req, state).await?;
        match secret {
            Some(s) if s.csrf_ok(&csrf_of(&bytes)) => Ok(LoginForm(s, parse(&bytes, None)?)),
            _ => Err(forbidden(None)),
        }
    }
}

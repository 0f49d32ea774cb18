//! The errors of the public API: every code a client can get ([`Code`]),
//! each with its one HTTP status, and [`ApiError`], the one JSON shape for
//! every failure, `{"error": "...", "code": "...", "field": "..."}`, never
//! leaking internals. The domain raises them; adapters render them (REST as
//! JSON, MCP as tool errors, the dashboard as pages). `/api-docs` lists
//! every code from [`Code::ALL`].

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = ($status:ident, $code:literal), )*) => {
        /// Every error code of the public API. Codes are stable strings;
        /// each variant has exactly one HTTP status (a code answered with two
        /// statuses in different places is two variants).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Code {
            /// Every code, in the order `/api-docs` lists them.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as clients see it, e.g. `EXTENSION_NOT_PAIRED`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The HTTP status answered with this code.
            pub fn status(self) -> StatusCode {
                match self { $(Code::$variant => StatusCode::$status,)* }
            }

            /// What the code means, for `/api-docs`.
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc),*).trim_ascii(),)* }
            }
        }
    };
}

codes! {
    /// The request is malformed or a field is invalid (`field` names it).
    InvalidRequest = (BAD_REQUEST, "INVALID_REQUEST"),
    /// The body is not JSON, or not a JSON object.
    InvalidJson = (BAD_REQUEST, "INVALID_JSON"),
    /// `platform` is not one of x, linkedin, facebook, tiktok, instagram.
    UnknownPlatform = (BAD_REQUEST, "UNKNOWN_PLATFORM"),
    /// A Facebook group job needs `platformPayload.groupId` or `groupUrl`.
    GroupRequired = (BAD_REQUEST, "GROUP_REQUIRED"),
    /// `platformPayload` is set for a platform that takes none.
    PlatformPayloadNotSupported = (BAD_REQUEST, "PLATFORM_PAYLOAD_NOT_SUPPORTED"),
    /// The post needs text.
    TextRequired = (BAD_REQUEST, "TEXT_REQUIRED"),
    /// The text is longer than the platform allows.
    TextTooLong = (BAD_REQUEST, "TEXT_TOO_LONG"),
    /// The platform needs media (TikTok, Instagram).
    MediaRequired = (BAD_REQUEST, "MEDIA_REQUIRED"),
    /// More media than the platform takes in one post.
    TooManyMedia = (BAD_REQUEST, "TOO_MANY_MEDIA"),
    /// A file type the platform does not take.
    UnsupportedMediaType = (BAD_REQUEST, "UNSUPPORTED_MEDIA_TYPE"),
    /// Images and videos mixed where the platform does not allow it.
    MixedMedia = (BAD_REQUEST, "MIXED_MEDIA"),
    /// A file larger than the platform takes.
    MediaTooLarge = (BAD_REQUEST, "MEDIA_TOO_LARGE"),
    /// `contentType` does not match the file name's extension.
    ContentTypeMismatch = (BAD_REQUEST, "CONTENT_TYPE_MISMATCH"),
    /// The file's bytes are not of the type its name and content type say.
    MediaTypeMismatch = (BAD_REQUEST, "MEDIA_TYPE_MISMATCH"),
    /// The uploaded file is empty.
    EmptyUpload = (BAD_REQUEST, "EMPTY_UPLOAD"),
    /// The upload ended before the announced size.
    IncompleteUpload = (BAD_REQUEST, "INCOMPLETE_UPLOAD"),
    /// `mediaPaths` names media whose upload never finished.
    MediaNotUploaded = (BAD_REQUEST, "MEDIA_NOT_UPLOADED"),
    /// `mediaPaths` names media that expired (uploads live 24 hours).
    MediaExpired = (BAD_REQUEST, "MEDIA_EXPIRED"),
    /// `mediaPaths` names a URL of this server that is no upload of this tenant.
    UnknownMedia = (BAD_REQUEST, "UNKNOWN_MEDIA"),
    /// `mediaPaths` names another host's URL and this server takes only its own uploads.
    ExternalMediaNotAllowed = (BAD_REQUEST, "EXTERNAL_MEDIA_NOT_ALLOWED"),
    /// The 6-digit pairing code is wrong or expired.
    InvalidPairingCode = (BAD_REQUEST, "INVALID_PAIRING_CODE"),
    /// Missing or invalid credentials (API key, device token, session).
    Unauthorized = (UNAUTHORIZED, "UNAUTHORIZED"),
    /// The identity provider refused the sign-in.
    OidcSignInFailed = (UNAUTHORIZED, "OIDC_SIGN_IN_FAILED"),
    /// The ID token is invalid, expired, replayed or for another client.
    InvalidIdToken = (UNAUTHORIZED, "INVALID_ID_TOKEN"),
    /// The credentials are valid but do not reach this resource.
    Forbidden = (FORBIDDEN, "FORBIDDEN"),
    /// The month's job quota is used up.
    QuotaExceeded = (FORBIDDEN, "QUOTA_EXCEEDED"),
    /// A signed media URL whose signature does not match.
    SignatureInvalid = (FORBIDDEN, "SIGNATURE_INVALID"),
    /// A signed media URL past its expiry.
    SignatureExpired = (FORBIDDEN, "SIGNATURE_EXPIRED"),
    /// The PUT's `Content-Type` is not the `resolvedContentType` the upload URL was signed for.
    UploadContentTypeMismatch = (FORBIDDEN, "CONTENT_TYPE_MISMATCH"),
    /// The provider does not vouch for the account's email.
    EmailNotVerified = (FORBIDDEN, "EMAIL_NOT_VERIFIED"),
    /// The account has not signed in before and this server's sign-up
    /// policy does not admit it (ask the operator for an invitation).
    SignupClosed = (FORBIDDEN, "SIGNUP_CLOSED"),
    /// The upload would pass the account's media quota (bytes per 24 hours).
    MediaQuotaExceeded = (FORBIDDEN, "MEDIA_QUOTA_EXCEEDED"),
    /// A form was posted without this session's CSRF token.
    CsrfTokenInvalid = (FORBIDDEN, "CSRF_TOKEN_INVALID"),
    /// The OAuth grant lacks the scope this MCP tool needs.
    InsufficientScope = (FORBIDDEN, "INSUFFICIENT_SCOPE"),
    /// No such resource (or not one this caller may see).
    NotFound = (NOT_FOUND, "NOT_FOUND"),
    /// Sign-in through an identity provider is not configured on this server.
    OidcNotConfigured = (NOT_FOUND, "OIDC_NOT_CONFIGURED"),
    /// The path exists but does not take this HTTP method (`Allow` lists the ones it takes).
    MethodNotAllowed = (METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
    /// The idempotency key was used before with a different request.
    IdempotencyKeyReused = (CONFLICT, "IDEMPOTENCY_KEY_REUSED"),
    /// The media was uploaded already; an upload URL takes one upload.
    AlreadyUploaded = (CONFLICT, "ALREADY_UPLOADED"),
    /// Another upload to this URL is running.
    UploadInProgress = (CONFLICT, "UPLOAD_IN_PROGRESS"),
    /// The device no longer holds the job's lease: it must not submit.
    LeaseLost = (CONFLICT, "LEASE_LOST"),
    /// The job already ended differently, or the device does not hold its lease.
    AckConflict = (CONFLICT, "ACK_CONFLICT"),
    /// The media expired and was deleted.
    MediaGone = (GONE, "MEDIA_EXPIRED"),
    /// The request body is larger than this endpoint takes.
    PayloadTooLarge = (PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
    /// The file is larger than direct uploads take (use `/v1/media/upload-url`).
    FileTooLarge = (PAYLOAD_TOO_LARGE, "FILE_TOO_LARGE"),
    /// Too many requests or wrong guesses (pairing codes, API keys) from this
    /// network, for this account or on the server; wait the `Retry-After` seconds.
    RateLimited = (TOO_MANY_REQUESTS, "RATE_LIMITED"),
    /// Something failed on the server; try again later.
    InternalError = (INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
    /// The identity provider could not be reached.
    OidcProviderUnavailable = (BAD_GATEWAY, "OIDC_PROVIDER_UNAVAILABLE"),
    /// No extension is paired with this account: pair one, then retry.
    ExtensionNotPaired = (SERVICE_UNAVAILABLE, "EXTENSION_NOT_PAIRED"),
    /// A transient conflict; retry the request.
    TryAgain = (SERVICE_UNAVAILABLE, "TRY_AGAIN"),
}

impl Code {
    /// The code of a platform rule broken by a post (`extension_core::rules`).
    pub fn of_rule(code: &str) -> Code {
        use extension_core::rules::RuleViolation as R;
        match code {
            R::TEXT_REQUIRED => Code::TextRequired,
            R::TEXT_TOO_LONG => Code::TextTooLong,
            R::MEDIA_REQUIRED => Code::MediaRequired,
            R::TOO_MANY_MEDIA => Code::TooManyMedia,
            R::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
            R::MIXED_MEDIA => Code::MixedMedia,
            R::MEDIA_TOO_LARGE => Code::MediaTooLarge,
            _ => Code::InvalidRequest,
        }
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A human-readable message.
    pub error: String,
    /// A stable machine-readable code (for example `EXTENSION_NOT_PAIRED`).
    pub code: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// The HTTP status of this error's code.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(Code::InvalidRequest, message).with_field(field)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    pub fn internal() -> Self {
        Self::new(
            Code::InternalError,
            "Internal server error. Try again later.",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // Details go to the log, never to the client.
        tracing::error!(error = %e, "store error");
        ApiError::internal()
    }
}

impl From<extension_core::rules::RuleViolation> for ApiError {
    fn from(v: extension_core::rules::RuleViolation) -> Self {
        ApiError::new(Code::of_rule(v.code), v.message).with_field(v.field)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            error: self.message,
            code: self.code.as_str().to_string(),
            field: self.field,
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_meaning_and_a_client_error_or_server_status() {
        for code in Code::ALL {
            assert!(!code.meaning().is_empty(), "{code:?}");
            assert!(code.status().as_u16() >= 400, "{code:?}");
            assert!(code
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_'));
        }
    }

    #[test]
    fn a_code_string_means_one_status_except_documented_twins() {
        // Twins: MEDIA_EXPIRED (400 naming it in a job, 410 fetching it) and
        // CONTENT_TYPE_MISMATCH (400 asking for an upload URL, 403 on the PUT).
        let mut seen = std::collections::HashMap::new();
        for code in Code::ALL {
            if let Some(other) = seen.insert(code.as_str(), *code) {
                assert!(
                    matches!(
                        (other, *code),
                        (Code::MediaExpired, Code::MediaGone)
                            | (Code::ContentTypeMismatch, Code::UploadContentTypeMismatch)
                    ),
                    "{other:?} and {code:?}"
                );
            }
        }
    }

    #[test]
    fn rule_codes_map_to_their_variants() {
        use extension_core::rules::RuleViolation as R;
        for (rule, code) in [
            (R::TEXT_TOO_LONG, Code::TextTooLong),
            (R::MIXED_MEDIA, Code::MixedMedia),
        ] {
            assert_eq!(Code::of_rule(rule), code);
            assert_eq!(code.as_str(), rule);
        }
    }
}

//! The OpenAPI document (generated from the code) and a readable page of it.

use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{agents, connect, extension, media};
use crate::error::{Code, ErrorBody};
use crate::web::{self, escape};

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "clawpost-api-key",
                "The tenant's API key (`clawpost-api-key` header).",
            ))),
        );
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A paired extension's device token (`Authorization: Bearer`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "poll_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A registration's poll token (`Authorization: Bearer`), from `POST /v1/connect/register`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "dashboard_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-cp_session",
                "A dashboard session (named `cp_session` on a plain-HTTP loopback server); \
                 requests made with it also carry the session's CSRF token in `x-csrf-token`.",
            ))),
        );
    }
}

// Error answers shared by many operations. List them first in `responses(...)`:
// a later entry for the same status (one naming more codes) replaces them.

/// The errors of reading a JSON request body.
#[derive(utoipa::IntoResponses)]
pub enum JsonBodyErrors {
    /// INVALID_JSON: the body is not JSON, or not a JSON object; INVALID_REQUEST: a field is
    /// missing or of the wrong type (`field` names it).
    #[response(status = 400)]
    Invalid(ErrorBody),
    /// PAYLOAD_TOO_LARGE: the body is larger than 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
}

/// The errors of an operation that requires the API key.
#[derive(utoipa::IntoResponses)]
pub enum ApiKeyErrors {
    /// UNAUTHORIZED: missing or invalid API key.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// RATE_LIMITED: too many requests with a wrong API key from this network; wait the
    /// Retry-After seconds.
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds to wait")))]
    RateLimited(ErrorBody),
}

/// The error of an operation that requires a device token.
#[derive(utoipa::IntoResponses)]
pub enum DeviceErrors {
    /// UNAUTHORIZED: missing, invalid or revoked device token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
}

/// The error any operation can answer.
#[derive(utoipa::IntoResponses)]
pub enum ServerErrors {
    /// INTERNAL_ERROR: something failed on the server; try again later.
    #[response(status = 500)]
    Internal(ErrorBody),
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Claw Post API", description = "Publish posts to X, LinkedIn, Facebook (feed or groups), TikTok and Instagram through the user's own browser."),
    paths(
        agents::create_tweet, agents::create_job, agents::get_job, agents::usage,
        extension::pull, extension::progress, extension::ack, extension::selectors,
        connect::register, connect::status, connect::pair, connect::google_config, connect::connect_google,
        media::upload, media::upload_url, media::put_object, media::get_object,
    ),
    components(schemas(crate::error::ErrorBody, crate::app::jobs::JobView, crate::app::usage::UsageView, crate::app::usage::CountsView,
        crate::app::media::UploadUrlRequest, crate::app::media::UploadUrlView, crate::app::media::MediaView,
        agents::CreateJobRequest, extension::SelectorSetView, media::UploadForm, media::FileBytes)),
    modifiers(&Security),
    tags(
        (name = "jobs", description = "Agent endpoints (clawpost-api-key)"),
        (name = "extension", description = "Browser extension endpoints (device bearer token)"),
        (name = "connect", description = "Extension pairing"),
        (name = "media", description = "Media uploads and signed media URLs"),
    )
)]
pub struct ApiDoc;

/// `GET /openapi.json`
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// `GET /api-docs`: every operation of the OpenAPI document and every
/// error code, readable without JavaScript.
pub async fn api_docs() -> Response {
    let api = ApiDoc::openapi();
    let mut body = String::new();
    for (path, item) in api.paths.paths.iter() {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            body.push_str(&format!(
                "<section><h2><code>{method} {}</code></h2>",
                escape(path)
            ));
            for text in [&op.summary, &op.description].into_iter().flatten() {
                body.push_str(&format!("<p>{}</p>", escape(text)));
            }
            if let Some(requirements) = &op.security {
                // Each requirement is a map of scheme names; `{}` makes it optional.
                let alternatives: Vec<String> = requirements
                    .iter()
                    .filter_map(|r| serde_json::to_value(r).ok())
                    .map(|r| match r.as_object() {
                        Some(o) if !o.is_empty() => o
                            .keys()
                            .map(|k| format!("<code>{}</code>", escape(k)))
                            .collect::<Vec<_>>()
                            .join(" and "),
                        _ => "none".to_string(),
                    })
                    .collect();
                body.push_str(&format!(
                    "<p>Authentication: {}</p>",
                    alternatives.join(" or ")
                ));
            }
            if let Some(params) = &op.parameters {
                body.push_str("<h3>Parameters</h3><ul>");
                for p in params {
                    body.push_str(&format!(
                        "<li><code>{}</code> ({}){}</li>",
                        escape(&p.name),
                        serde_json::to_value(&p.parameter_in)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        p.description
                            .as_deref()
                            .map(|d| format!(": {}", escape(d)))
                            .unwrap_or_default()
                    ));
                }
                body.push_str("</ul>");
            }
            body.push_str("<h3>Responses</h3><ul>");
            for (code, resp) in op.responses.responses.iter() {
                let desc = match resp {
                    utoipa::openapi::RefOr::T(r) => r.description.clone(),
                    utoipa::openapi::RefOr::Ref(r) => r.ref_location.clone(),
                };
                body.push_str(&format!(
                    "<li><b>{}</b> {}</li>",
                    escape(code),
                    escape(&desc)
                ));
            }
            body.push_str("</ul></section>");
        }
    }
    let mut codes = String::new();
    for code in Code::ALL {
        codes.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            code.as_str(),
            code.status().as_u16(),
            escape(code.meaning())
        ));
    }
    let html = web::page(
        "Claw Post API",
        "60rem",
        "section{border-top:1px solid #ddd;padding:.5rem 0}\
         table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left;vertical-align:top}",
        &format!(
            "<h1>Claw Post API</h1><p>{}</p><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>. \
             Agents authenticate with the <code>clawpost-api-key</code> header (<code>api_key</code> below), \
             the extension with its device token as <code>Authorization: Bearer</code> (<code>device_token</code>), \
             the dashboard with its session cookie and <code>x-csrf-token</code> (<code>dashboard_session</code>).</p>{body}\
             <section id=\"errors\"><h2>Error codes</h2><p>Every error answer is JSON \
             <code>{{\"error\": \"…\", \"code\": \"…\", \"field\": \"…\"}}</code> (<code>field</code> only when \
             one request field is at fault), with one of these codes and its HTTP status. A failed job \
             carries its own <code>errorCode</code> (for example <code>not_logged_in</code>) in the job, not here.</p>\
             <table><tr><th>code</th><th>status</th><th>meaning</th></tr>{codes}</table></section>",
            escape(api.info.description.as_deref().unwrap_or_default())
        ),
    );
    let mut resp = Html(html).into_response();
    web::protect(&mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every operation of the document: (method, path, operation).
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut ops = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                if ["get", "put", "post", "delete", "patch", "head", "options"]
                    .contains(&method.as_str())
                {
                    ops.push((method.to_uppercase(), path.clone(), op.clone()));
                }
            }
        }
        assert!(ops.len() >= 17, "{} operations", ops.len());
        ops
    }

    fn doc() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("the document serializes")
    }

    fn statuses(op: &Value) -> Vec<&str> {
        op["responses"]
            .as_object()
            .map(|r| r.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_body_can_be_refused_as_malformed_or_too_large() {
        for (method, path, op) in operations(&doc()) {
            if op.get("requestBody").is_none() {
                continue;
            }
            let listed = statuses(&op);
            for status in ["400", "413"] {
                assert!(
                    listed.contains(&status),
                    "{method} {path} takes a body but does not list {status}"
                );
            }
            let json_body = op["requestBody"]["content"].get("application/json");
            if json_body.is_some() {
                let d = op["responses"]["400"]["description"].as_str().unwrap();
                assert!(
                    d.contains("INVALID_JSON"),
                    "{method} {path}: its 400 does not name INVALID_JSON: {d}"
                );
            }
        }
    }

    #[test]
    fn every_authenticated_operation_lists_401() {
        for (method, path, op) in operations(&doc()) {
            let Some(requirements) = op.get("security").and_then(Value::as_array) else {
                continue;
            };
            // `{}` among the alternatives: authentication is optional.
            let optional = requirements
                .iter()
                .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
            if optional {
                continue;
            }
            assert!(
                statuses(&op).contains(&"401"),
                "{method} {path} requires credentials but does not list 401"
            );
        }
    }

    #[test]
    fn security_requirements_name_declared_schemes() {
        let doc = doc();
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        for (method, path, op) in operations(&doc) {
            for requirement in op["security"].as_array().into_iter().flatten() {
                for name in requirement.as_object().unwrap().keys() {
                    assert!(
                        schemes.contains_key(name),
                        "{method} {path}: unknown scheme {name}"
                    );
                }
            }
        }
    }

    #[test]
    fn path_parameters_are_in_the_path_template() {
        for (method, path, op) in operations(&doc()) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let placeholder = format!("{{{name}}}");
                if p["in"] == "path" {
                    assert!(
                        path.contains(&placeholder),
                        "{method} {path}: parameter {name} is `in: path` but not in the template"
                    );
                } else {
                    assert!(
                        !path.contains(&placeholder),
                        "{method} {path}: {name} is in the template but `in: {}`",
                        p["in"]
                    );
                }
            }
        }
    }

    #[test]
    fn every_error_answer_is_an_error_body_naming_its_codes() {
        for (method, path, op) in operations(&doc()) {
            for (status, response) in op["responses"].as_object().unwrap() {
                let Ok(code) = status.parse::<u16>() else {
                    panic!("{method} {path}: status {status} is not a number");
                };
                if code < 400 {
                    continue;
                }
                let at = format!("{method} {path} {status}");
                let content = response["content"].as_object().unwrap_or_else(|| {
                    panic!("{at}: no content");
                });
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/json"],
                    "{at}"
                );
                assert_eq!(
                    content["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{at}"
                );
                // The codes named are codes answered with this status.
                let description = response["description"].as_str().unwrap();
                let named: Vec<&str> = description
                    .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                    .filter(|w| w.len() >= 6)
                    .collect();
                assert!(!named.is_empty(), "{at} names no code: {description}");
                for word in named {
                    assert!(
                        Code::ALL
                            .iter()
                            .any(|c| c.as_str() == word && c.status().as_u16() == code),
                        "{at}: {word} is no code answered with {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(v: &Value, schemas: &serde_json::Map<String, Value>) {
            match v {
                Value::Object(o) => {
                    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                        let name = r
                            .strip_prefix("#/components/schemas/")
                            .unwrap_or_else(|| panic!("unexpected reference {r}"));
                        assert!(schemas.contains_key(name), "no schema {name}");
                    }
                    o.values().for_each(|v| walk(v, schemas));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, schemas)),
                _ => {}
            }
        }
        let doc = doc();
        walk(&doc, doc["components"]["schemas"].as_object().unwrap());
    }
}

//! The OpenAPI document (generated from the code) and a readable page of it.

use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{agents, connect, extension, media};
use crate::error::Code;
use crate::web::{self, escape};

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("clawpost-api-key"))),
        );
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
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
        crate::app::media::UploadUrlRequest, crate::app::media::UploadUrlView, crate::app::media::MediaView)),
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
             Agents authenticate with the <code>clawpost-api-key</code> header.</p>{body}\
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

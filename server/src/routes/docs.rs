//! The OpenAPI document (generated from the code) and a readable page of it.

use axum::response::Html;
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{agents, connect, extension, media};

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
        connect::register, connect::status, connect::pair, super::dashboard::google_config, super::dashboard::connect_google,
        media::upload, media::upload_url, media::put_object, media::get_object,
    ),
    components(schemas(crate::error::ErrorBody, crate::jobs::JobView, agents::UsageView, agents::CountsView,
        crate::media::UploadUrlRequest, crate::media::UploadUrlView, crate::media::MediaView)),
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

/// Escapes text for HTML content and double-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /api-docs`: every operation of the OpenAPI document, readable without JavaScript.
pub async fn api_docs() -> Html<String> {
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
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Claw Post API</title><style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         section{{border-top:1px solid #ddd;padding:.5rem 0}}code{{background:#f4f4f4;padding:0 .2rem}}</style></head>\
         <body><h1>Claw Post API</h1><p>{}</p><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>. \
         Agents authenticate with the <code>clawpost-api-key</code> header.</p>{body}</body></html>",
        escape(api.info.description.as_deref().unwrap_or_default())
    ))
}

//! The MCP endpoint: `/mcp`, Streamable HTTP, served by the official Rust SDK
//! (`rmcp`) in stateless mode (every POST stands alone; GET and DELETE are
//! 405), answering every protocol revision the SDK knows (2024-11-05 through
//! 2026-07-28). The tools are in [`tools`].
//!
//! Every request needs a credential, checked here before the SDK sees it:
//! an OAuth access token (`Authorization: Bearer cpat_…`, see
//! [`crate::oauth`]) or, for clients without OAuth, the tenant's API key
//! (`clawpost-api-key`, or as a bearer token). Without one the answer is 401
//! with `WWW-Authenticate: Bearer resource_metadata="…"`, from which MCP
//! clients discover the authorization server. The verified [`McpCaller`] is
//! put in the request's extensions; tools take the tenant only from it.

pub mod tools;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::app::AppState;
use crate::crypto::API_KEY_PREFIX;
use crate::web::{bearer, ClientNet, API_KEY_HEADER};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;

use crate::app::grants::{resource_metadata_url, verify_access_token, MCP_PATH, SCOPES};
use crate::error::{ApiError, Code};
use crate::store::Tenant;

/// Who is calling a tool, as verified from the request's credential.
#[derive(Debug, Clone)]
pub struct McpCaller {
    pub tenant: Tenant,
    /// The scopes granted (`posts:read`, `posts:write`); all of them for an API key.
    pub scopes: Vec<String>,
    /// The OAuth client, when the credential is an access token.
    pub client_id: Option<String>,
}

impl McpCaller {
    /// Whether the caller holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The `/mcp` route: the rmcp service behind the credential check, with CORS
/// for browser-based clients.
pub fn routes(state: &AppState) -> Router<AppState> {
    let app = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(tools::ClawPostMcp::new(app.clone())),
        Arc::new(NeverSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_allowed_hosts(allowed_hosts(&state.settings.public_url)),
    );
    Router::new()
        .route_service(MCP_PATH, service)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_credential,
        ))
        .layer(crate::oauth::cors())
}

/// The `Host` values accepted on `/mcp` (the SDK's DNS-rebinding guard):
/// loopback, and the public URL's host.
fn allowed_hosts(public_url: &str) -> Vec<String> {
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()))
    {
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    hosts
}

/// Checks the credential of an MCP request and records the [`McpCaller`].
async fn require_credential(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let headers = req.headers();
    let net = ClientNet::of(crate::web::client_ip(
        peer,
        headers,
        &state.settings.trusted_proxies,
    ));
    let (presented, caller) = if let Some(key) = headers.get(API_KEY_HEADER) {
        let key = key.to_str().unwrap_or("").trim().to_string();
        (true, api_key_caller(&state, &net, &key).await)
    } else if let Some(token) = bearer(headers).map(str::to_string) {
        if token.starts_with(API_KEY_PREFIX) {
            (true, api_key_caller(&state, &net, &token).await)
        } else {
            let grant = verify_access_token(&state, &token).await;
            (
                true,
                grant.map(|g| {
                    g.map(|g| McpCaller {
                        tenant: g.tenant,
                        scopes: g.scopes,
                        client_id: Some(g.client_id),
                    })
                }),
            )
        }
    } else {
        (false, Ok(None))
    };
    match caller {
        Ok(Some(caller)) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Ok(None) if presented => unauthorized(
            &state,
            true,
            "Invalid, expired or revoked credential. Authorize again.",
        ),
        Ok(None) => unauthorized(
            &state,
            false,
            "Authorization required: connect with OAuth, or send your API key in the clawpost-api-key header.",
        ),
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

/// The caller of an API key (limited per client network like every other
/// API-key door).
async fn api_key_caller(
    state: &AppState,
    net: &ClientNet,
    key: &str,
) -> Result<Option<McpCaller>, crate::error::ApiError> {
    let tenant = crate::app::limits::tenant_by_key(state, net, key).await?;
    Ok(tenant.map(|tenant| McpCaller {
        tenant,
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        client_id: None,
    }))
}

/// The 401 of the MCP endpoint: the API's JSON error plus
/// `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` (RFC 9728
/// §5.1), with `error="invalid_token"` when a credential was presented.
pub fn unauthorized(state: &AppState, presented_invalid: bool, message: &str) -> Response {
    let mut challenge = format!(
        "Bearer resource_metadata=\"{}\", scope=\"{}\"",
        resource_metadata_url(state),
        SCOPES.join(" ")
    );
    if presented_invalid {
        challenge.push_str(", error=\"invalid_token\", error_description=\"The access token is invalid, expired or revoked\"");
    }
    let mut resp = ApiError::new(Code::Unauthorized, message).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

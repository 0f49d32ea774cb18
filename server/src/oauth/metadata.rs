//! Discovery documents: the MCP endpoint's protected-resource metadata
//! (RFC 9728), served at both well-known paths clients try, and the
//! authorization server metadata (RFC 8414). The issuer is the server's
//! public URL, byte for byte the same in both (strict clients compare them).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{issuer, resource, SCOPES};
use crate::app::AppState;

/// `GET /.well-known/oauth-protected-resource[/mcp]`.
pub async fn protected_resource(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "resource": resource(&state),
        "authorization_servers": [issuer(&state)],
        "scopes_supported": SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "Claw Post",
        "resource_documentation": format!("{}/api-docs", state.settings.public_url),
    }))
}

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(State(state): State<AppState>) -> Json<Value> {
    let base = issuer(&state);
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "registration_endpoint": format!("{base}/oauth/register"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": false,
    }))
}

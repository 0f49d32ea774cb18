//! The dashboard's "MCP clients" page: the clients connected to the account
//! through OAuth, and disconnecting one (its grant is revoked: every token it
//! holds stops working at once). Rendered in the dashboard's frame
//! ([`crate::dashboard::views::page`]), behind its session and CSRF checks.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use serde::Deserialize;

use crate::app::AppState;
use crate::dashboard::csrf::CsrfForm;
use crate::dashboard::session::{Session, CSRF_FIELD};
use crate::dashboard::viewer;
use crate::dashboard::views::{self, Nav, Viewer};
use crate::error::ApiError;
use crate::store::oauth::OAuthConnection;

/// The page's path.
pub const PATH: &str = "/mcp-clients";

/// The page and its form, with the dashboard's security headers.
pub fn routes() -> Router<AppState> {
    crate::web::security_headers(
        Router::new()
            .route(PATH, get(page))
            .route("/mcp-clients/{id}/disconnect", post(disconnect)),
    )
}

#[derive(Debug, Default, Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
struct Empty {}

fn error_page(e: ApiError, session: &Session) -> Response {
    let viewer = viewer(session);
    (
        e.status(),
        Html(views::message(
            "Something went wrong",
            &e.message,
            Some(&viewer),
        )),
    )
        .into_response()
}

/// Where a client's approvals go: the hosts (or app schemes) of its redirect URIs.
fn redirect_hosts(uris: &[String]) -> String {
    let mut hosts: Vec<String> = uris
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| match u.scheme() {
            "http" | "https" => u.host_str().unwrap_or("").to_string(),
            s => format!("{s}://{}", u.host_str().unwrap_or("")),
        })
        .collect();
    hosts.dedup();
    hosts.join(", ")
}

fn render(connections: &[OAuthConnection], viewer: &Viewer, notice: Option<String>) -> String {
    let rows = connections
        .iter()
        .map(|c| {
            let action = format!("/mcp-clients/{}/disconnect", c.grant.id);
            let label = format!("Disconnect {}", c.client_name);
            let used = c.grant.last_used_at.or(c.grant.connected_at);
            view! {
                <tr data-grant=c.grant.id.clone()>
                    <td data-label="Client">{c.client_name.clone()}" "<span class="hint">"(unverified name)"</span></td>
                    <td data-label="Redirects to">{redirect_hosts(&c.redirect_uris)}</td>
                    <td data-label="Access">{c.grant.scope.clone()}</td>
                    <td data-label="Connected">{c.grant.connected_at.map(views::time_label)}</td>
                    <td data-label="Last used">{used.map(views::time_label)}</td>
                    <td>
                        <form method="post" action=action class="inline">
                            <input type="hidden" name=CSRF_FIELD value=viewer.csrf.clone()/>
                            <button type="submit" class="danger-outline" aria-label=label>"Disconnect"</button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let list = if connections.is_empty() {
        view! { <p class="empty">"No MCP client is connected."</p> }.into_any()
    } else {
        view! {
            <table class="list">
                <thead><tr><th>"Client"</th><th>"Redirects to"</th><th>"Access"</th><th>"Connected"</th>
                    <th>"Last used"</th><th><span class="sr">"Actions"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let body = view! {
        {notice.map(|n| views::banner("notice", n))}
        <p class="hint">"AI agents (Claude, ChatGPT, …) connected to Claw Post's MCP server with your approval. "
            "Disconnecting one ends its access at once; it must ask for your approval again to reconnect."</p>
        {list}
    };
    views::page("MCP clients", Nav::None, Some(viewer), body)
}

async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let connections = match state.store.tenant_connections(&session.tenant.id).await {
        Ok(c) => c,
        Err(e) => return error_page(e.into(), &session),
    };
    let notice = (q.notice.as_deref() == Some("disconnected"))
        .then(|| "Disconnected: that client's tokens no longer work.".to_string());
    (
        StatusCode::OK,
        Html(render(&connections, &viewer(&session), notice)),
    )
        .into_response()
}

async fn disconnect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, Empty {}): CsrfForm<Empty>,
) -> Response {
    match state
        .store
        .revoke_tenant_grant(&session.tenant.id, &id, state.now())
        .await
    {
        Ok(true) => {
            tracing::info!(grant = %id, tenant = %session.tenant.id, "MCP client disconnected");
            Redirect::to("/mcp-clients?notice=disconnected").into_response()
        }
        Ok(false) => error_page(
            ApiError::not_found("No such connected client among yours (already disconnected?)."),
            &session,
        ),
        Err(e) => error_page(e.into(), &session),
    }
}

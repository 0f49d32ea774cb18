//! The authorization endpoint: `GET /oauth/authorize` checks the request and
//! shows the consent page to the signed-in dashboard user (sending them to
//! sign in first); `POST /oauth/authorize` takes their decision and
//! redirects back to the client with a code (or `access_denied`), plus
//! `state` and `iss` (RFC 9207).
//!
//! The page is a plain HTML form that works without JavaScript: hidden
//! inputs carry the request and the session's CSRF token; approval is the
//! submit button `decision=approve`, denial `decision=deny`. Until the client
//! and redirect URI are verified, errors are shown here and never redirected.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::{
    is_our_resource, issuer, parse_form, parse_scope, redirect_uri_matches, resource, CODE_PREFIX,
    CODE_TTL, SCOPE_READ, SCOPE_WRITE,
};
use crate::app::AppState;
use crate::crypto;
use crate::dashboard::session::{self, Session, CSRF_FIELD};
use crate::store::oauth::{OAuthClient, OAuthCode, OAuthGrant};
use crate::web::{self, escape};

/// The request parameters carried from the query string to the form.
const REQUEST_FIELDS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "scope",
];

/// An authorization request that passed every check.
struct AuthRequest {
    client: OAuthClient,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    scope: String,
    resource: String,
}

/// Why an authorization request is refused.
enum Refusal {
    /// The client or redirect URI cannot be trusted: show the error here.
    Page(String),
    /// Tell the client, at its verified redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

impl Refusal {
    fn into_response(self, app: &AppState) -> Response {
        match self {
            Refusal::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
            Refusal::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => redirect_to_client(
                app,
                &redirect_uri,
                &[("error", error), ("error_description", &description)],
                state.as_deref(),
            ),
        }
    }
}

/// Checks an authorization request: the client and redirect URI first
/// (failures shown on a page), then the rest (failures redirected).
async fn check(app: &AppState, p: &HashMap<String, String>) -> Result<AuthRequest, Refusal> {
    let client_id = p
        .get("client_id")
        .ok_or_else(|| Refusal::Page("The request has no client_id.".into()))?;
    let client = app
        .store
        .client(client_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "store error");
            Refusal::Page("Internal server error. Try again later.".into())
        })?
        .ok_or_else(|| {
            Refusal::Page(
                "Unknown client. The application must register again (its registration may have expired)."
                    .into(),
            )
        })?;
    let redirect_uri = match p.get("redirect_uri") {
        Some(uri) => client
            .redirect_uris
            .iter()
            .any(|r| redirect_uri_matches(r, uri))
            .then(|| uri.clone())
            .ok_or_else(|| {
                Refusal::Page("The redirect_uri is not one the client registered.".into())
            })?,
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return Err(Refusal::Page(
                "The request has no redirect_uri and the client registered several.".into(),
            ))
        }
    };
    let state = p.get("state").cloned();
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description: description.to_string(),
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let code_challenge = p
        .get("code_challenge")
        .filter(|_| p.get("code_challenge_method").map(String::as_str) == Some("S256"))
        .filter(|c| crate::crypto::is_s256_challenge(c))
        .ok_or_else(|| {
            refuse(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            )
        })?
        .clone();
    if let Some(r) = p.get("resource") {
        if !is_our_resource(app, r) {
            return Err(refuse(
                "invalid_target",
                "resource is not this server's MCP endpoint",
            ));
        }
    }
    let scope = parse_scope(p.get("scope").map(String::as_str))
        .ok_or_else(|| refuse("invalid_scope", "unknown scope"))?;
    Ok(AuthRequest {
        client,
        redirect_uri,
        state,
        code_challenge,
        scope,
        resource: resource(app),
    })
}

/// A 302 to the client's redirect URI with `params`, `state` and `iss`.
fn redirect_to_client(
    app: &AppState,
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(StatusCode::BAD_REQUEST, "The redirect_uri is not a URI.");
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &issuer(app));
    }
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    web::protect(&mut resp);
    resp
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let css = ".warn{background:#fff4e5;border:1px solid #f0b46c;padding:.6rem .8rem;border-radius:6px}\
         button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.6rem;border-radius:6px;border:1px solid #888;cursor:pointer}\
         button[value=approve]{background:#1a5fd0;color:#fff;border-color:#1a5fd0}";
    let html = web::page(&format!("{title} · Claw Post"), "34rem", css, body);
    let mut resp = (status, Html(html)).into_response();
    web::protect(&mut resp);
    resp
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Authorization failed",
        &format!(
            "<h1>Authorization failed</h1><p>{}</p><p>Return to the application and try connecting again.</p>",
            escape(message)
        ),
    )
}

/// Where the user lands after signing in: back on this request.
fn sign_in_redirect(query: &str) -> Response {
    let back = format!("/oauth/authorize?{query}");
    let target = format!(
        "/login?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &back)
            .finish()
    );
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    web::protect(&mut resp);
    resp
}

/// How the redirect target is described to the user: its host, or for a
/// private-use scheme the scheme (the app that registered it).
fn redirect_target(uri: &str) -> (String, bool) {
    match url::Url::parse(uri) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
            let loopback = crate::settings::is_loopback_host(&u);
            (u.host_str().unwrap_or("").to_string(), loopback)
        }
        Ok(u) => (
            format!("{}://{}", u.scheme(), u.host_str().unwrap_or("")),
            false,
        ),
        Err(_) => (uri.to_string(), false),
    }
}

fn scope_lines(scope: &str) -> String {
    scope
        .split(' ')
        .map(|s| match s {
            SCOPE_READ => {
                "<li>See your platforms, account status and the status of your posts</li>"
            }
            SCOPE_WRITE => "<li>Publish posts through your browser and upload media for them</li>",
            _ => "",
        })
        .collect()
}

fn render_consent(
    req: &AuthRequest,
    session: &Session,
    params: &HashMap<String, String>,
) -> Response {
    let (target, loopback) = redirect_target(&req.redirect_uri);
    let hidden: String = REQUEST_FIELDS
        .iter()
        .filter_map(|k| params.get(*k).map(|v| (k, v)))
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                escape(v)
            )
        })
        .collect();
    let loopback_note = if loopback {
        "<p class=\"warn\">This application receives the approval on your own computer \
         (a local address). Approve only if you just started connecting it.</p>"
    } else {
        ""
    };
    let account = session
        .record
        .email
        .clone()
        .unwrap_or_else(|| session.tenant.name.clone());
    let body = format!(
        "<h1>Connect an MCP client to Claw Post?</h1>\
         <p><strong>{name}</strong> <em>(unverified: this is the name the application gave itself)</em> \
         wants to act for your Claw Post account <strong>{account}</strong>.</p>\
         <p>After approval you are sent back to <code>{target}</code>.</p>{loopback_note}\
         <p>It will be able to:</p><ul>{scopes}</ul>\
         <p>You can disconnect it at any time on the dashboard's <a href=\"/mcp-clients\">MCP clients</a> page.</p>\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        name = escape(&req.client.name),
        account = escape(&account),
        target = escape(&target),
        scopes = scope_lines(&req.scope),
        csrf = escape(&session.csrf_token()),
    );
    page(StatusCode::OK, "Connect an MCP client", &body)
}

/// `GET /oauth/authorize`: the consent page, or sign-in first.
pub async fn consent_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let params = match parse_form(query.as_bytes()) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.description),
    };
    let req = match check(&app, &params).await {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(&app),
    };
    match session::from_headers(&app, &headers).await {
        Ok(Some(session)) => render_consent(&req, &session, &params),
        Ok(None) => sign_in_redirect(&query),
        Err(_) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error. Try again later.",
        ),
    }
}

/// `POST /oauth/authorize`: the user's decision, from the consent form.
pub async fn decide(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match parse_form(&body) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.description),
    };
    let session = match session::from_headers(&app, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    REQUEST_FIELDS
                        .iter()
                        .filter_map(|k| params.get(*k).map(|v| (*k, v.as_str()))),
                )
                .finish();
            return sign_in_redirect(&query);
        }
        Err(_) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error. Try again later.",
            )
        }
    };
    if !session.csrf_ok(params.get(CSRF_FIELD).map(String::as_str).unwrap_or("")) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This form expired or did not come from Claw Post. Start connecting again from the application.",
        );
    }
    let req = match check(&app, &params).await {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(&app),
    };
    match params.get("decision").map(String::as_str) {
        Some("approve") => match approve(&app, &req, &session).await {
            Ok(code) => redirect_to_client(
                &app,
                &req.redirect_uri,
                &[("code", &code)],
                req.state.as_deref(),
            ),
            Err(e) => {
                tracing::error!(error = %e, "store error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal server error. Try again later.",
                )
            }
        },
        Some("deny") => redirect_to_client(
            &app,
            &req.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request."),
            ],
            req.state.as_deref(),
        ),
        _ => error_page(StatusCode::BAD_REQUEST, "Choose Approve or Deny."),
    }
}

/// Records the approval: a grant for the session's tenant and its code.
async fn approve(
    app: &AppState,
    req: &AuthRequest,
    session: &Session,
) -> Result<String, crate::store::StoreError> {
    let now = app.now();
    let code = crypto::generate(CODE_PREFIX);
    let grant = OAuthGrant {
        id: uuid::Uuid::new_v4().to_string(),
        client_id: req.client.id.clone(),
        tenant_id: session.tenant.id.clone(),
        scope: req.scope.clone(),
        resource: req.resource.clone(),
        created_at: now,
        connected_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    let record = OAuthCode {
        code_hash: code.hash.clone(),
        grant_id: grant.id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        expires_at: now + crate::clock::ms(CODE_TTL),
        used_at: None,
    };
    app.store.insert_grant_with_code(&grant, &record).await?;
    tracing::info!(grant = %grant.id, client = %req.client.id, tenant = %grant.tenant_id, "MCP client approved");
    Ok(code.plaintext)
}

//! Wiring: the adapters' routers into one, the background work, the
//! first start's local tenant, and serving. No rules live here.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::tenants;
use crate::app::AppState;
use crate::clock::{Clock, SystemClock};
use crate::config::{ServeArgs, StoreArgs};
use crate::error::ApiError;
use crate::settings::Settings;
use crate::store::sql::Dialect;
use crate::store::{SqlStore, Store};

/// The whole server: the REST API, MCP and the OAuth server that guards
/// it, and the dashboard, each its own router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::api::router())
        .merge(crate::mcp::routes(&state))
        .merge(crate::oauth::routes())
        .merge(crate::dashboard::routes::router())
        .fallback(|| async { ApiError::not_found("No such endpoint. See /api-docs.") })
        .layer(DefaultBodyLimit::max(crate::api::JSON_BODY_LIMIT))
        // No answer of this server is ever to be content-sniffed.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Starts the background work of a server instance: the lease, media and
/// OAuth sweepers and, on PostgreSQL, the listener that hears jobs created by other instances.
pub async fn start_background(state: &AppState, database_url: &str) -> anyhow::Result<()> {
    crate::app::leases::spawn_sweeper(state.clone());
    crate::app::media::spawn_sweeper(state.clone());
    crate::oauth::spawn_sweeper(state.clone());
    crate::app::limits::spawn_sweeper(state.clone());
    if Dialect::of_url(database_url) == Some(Dialect::Postgres) {
        crate::app::notify::listen_postgres(database_url, state.notifier.clone()).await?;
    }
    Ok(())
}

/// Opens the configured store (creating the data folder for SQLite).
pub async fn open_store(args: &StoreArgs) -> anyhow::Result<SqlStore> {
    let url = args.database_url();
    if args.database_url.is_none() {
        std::fs::create_dir_all(&args.data_dir)?;
    }
    Ok(SqlStore::connect(&url).await?)
}

/// Runs the server until the process is stopped.
pub async fn serve(store_args: StoreArgs, serve_args: ServeArgs) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = Arc::new(open_store(&store_args).await?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let public_url = serve_args.public_url();
    if store.tenant_count().await? == 0 {
        let created =
            tenants::create(&*store, "Local", store_args.default_quota, clock.now_ms()).await?;
        println!(
            "\nFirst start: created a local tenant.\n\n  Tenant ID: {}\n  API key:   {}\n\n\
             The key is shown only this once; keep it (rotate it with `clawpost-server tenant rotate-key --tenant {}`).\n\n\
             Next steps:\n  1. Load the extension: chrome://extensions → Developer mode → Load unpacked → dist/extension\n  \
             2. Click the Claw Post icon; it shows a 6-digit code. Pair it:\n     \
             curl -X POST {public_url}/v1/connect/pair -H 'clawpost-api-key: {}' -H 'Content-Type: application/json' -d '{{\"code\": \"123456\"}}'\n  \
             3. Create a post:\n     \
             curl -X POST {public_url}/v1/jobs/tweet -H 'clawpost-api-key: {}' -H 'Content-Type: application/json' -d '{{\"text\": \"Hello from Claw Post!\"}}'\n",
            created.tenant.id, created.api_key, created.tenant.id, created.api_key, created.api_key
        );
    }
    let settings = Settings {
        public_url: public_url.clone(),
        lease: Duration::from_secs(u64::from(serve_args.lease_seconds)),
        default_quota: store_args.default_quota,
        media_store_url: serve_args.media_store_url.clone(),
        media_dir: store_args.data_dir.join("media"),
        allow_external_media: serve_args.allow_external_media,
        oidc: serve_args.oidc(),
        signup: serve_args.signup.clone(),
        post_intervals: serve_args.post_intervals()?,
        selector_packs: crate::selectors::load(serve_args.selector_packs.as_deref())?,
        limits: crate::settings::RateLimits::default().scaled(serve_args.rate_limit_factor),
        trusted_proxies: serve_args.trusted_proxy.clone(),
        media_quota_bytes: serve_args.media_quota_bytes,
        secret_key: crate::crypto::load_or_create_key(
            serve_args.secret_key.as_ref(),
            &serve_args
                .secret_key_file
                .clone()
                .unwrap_or_else(|| store_args.data_dir.join("secret.key")),
        )?,
        ..Settings::default()
    };
    let state = AppState::try_new(store, clock, settings)?;
    start_background(&state, &store_args.database_url()).await?;
    let listener = TcpListener::bind(serve_args.bind).await?;
    println!("Claw Post server listening on {public_url} (API docs: {public_url}/api-docs)");
    run(listener, state).await
}

/// Serves the API on a bound listener (tests bind port 0).
pub async fn run(listener: TcpListener, state: AppState) -> anyhow::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

//! Building and running the application: the router, background work, and
//! the first-start bootstrap.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::clock::{Clock, SystemClock};
use crate::config::{ServeArgs, StoreArgs};
use crate::error::ApiError;
use crate::routes::{self, agents, connect, docs, extension, media};
use crate::secrets::{self, API_KEY_PREFIX};
use crate::state::{AppState, Settings};
use crate::store::sql::Dialect;
use crate::store::{SqlStore, Store, Tenant};

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/jobs/tweet", post(agents::create_tweet))
        .route("/v1/jobs", post(agents::create_job))
        .route("/v1/jobs/{id}", get(agents::get_job))
        .route("/v1/usage", get(agents::usage))
        .route(
            "/v1/media/upload",
            post(media::upload).layer(DefaultBodyLimit::max(media::MULTIPART_BODY_LIMIT)),
        )
        .route("/v1/media/upload-url", post(media::upload_url))
        // Uploads stream to storage, bounded by the size the URL was signed for.
        .route(
            "/v1/media/objects/{id}/{name}",
            get(media::get_object)
                .put(media::put_object)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/extension/pull", get(extension::pull))
        .route("/v1/extension/progress", post(extension::progress))
        .route("/v1/extension/ack", post(extension::ack))
        .route("/v1/extension/ws", get(routes::ws::ws))
        .route("/v1/extension/selectors", get(routes::extension::selectors))
        .route("/v1/connect/register", post(connect::register))
        .route("/v1/connect/status", get(connect::status))
        .route("/v1/connect/pair", post(connect::pair))
        .route(
            "/v1/connect/google",
            get(routes::dashboard::google_config).post(routes::dashboard::connect_google),
        )
        .route("/openapi.json", get(docs::openapi_json))
        .route("/api-docs", get(docs::api_docs))
        .route("/healthz", get(|| async { "ok" }))
        // MCP over Streamable HTTP, and the OAuth server that guards it.
        .merge(crate::mcp::routes(&state))
        .merge(crate::oauth::routes())
        // The dashboard's pages and sign-in (HTML, at `/`).
        .merge(routes::dashboard::router())
        .fallback(|| async { ApiError::not_found("No such endpoint. See /api-docs.") })
        .layer(DefaultBodyLimit::max(routes::JSON_BODY_LIMIT))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Settles leases that ran out and wakes the devices of requeued jobs.
pub async fn expire_leases(state: &AppState) -> Result<(), ApiError> {
    let expired = state.store.expire_leases(state.now()).await?;
    for tenant in &expired.requeued_tenants {
        tracing::warn!(tenant = %tenant, "lease expired before submitting; job requeued");
        state.notifier.job_available(tenant);
    }
    if expired.failed_unknown > 0 {
        tracing::warn!(
            count = expired.failed_unknown,
            "lease expired after submitting; failed with outcome_unknown"
        );
    }
    Ok(())
}

/// Starts the background work of a server instance: the lease, media and
/// OAuth sweepers and, on PostgreSQL, the listener that hears jobs created by other instances.
pub async fn start_background(state: &AppState, database_url: &str) -> anyhow::Result<()> {
    spawn_sweeper(state.clone());
    crate::media::spawn_sweeper(state.clone());
    crate::oauth::spawn_sweeper(state.clone());
    if Dialect::of_url(database_url) == Some(Dialect::Postgres) {
        crate::notify::listen_postgres(database_url, state.notifier.clone()).await?;
    }
    Ok(())
}

/// Sweeps expired leases every second, for as long as the server runs.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let _ = expire_leases(&state).await;
        }
    })
}

/// Opens the configured store (creating the data folder for SQLite).
pub async fn open_store(args: &StoreArgs) -> anyhow::Result<SqlStore> {
    let url = args.database_url();
    if args.database_url.is_none() {
        std::fs::create_dir_all(&args.data_dir)?;
    }
    Ok(SqlStore::connect(&url).await?)
}

/// A tenant and its API key, freshly created.
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub api_key: String,
}

/// Creates a tenant with a new API key.
pub async fn create_tenant(
    store: &dyn Store,
    name: &str,
    quota: i64,
    now: i64,
) -> anyhow::Result<CreatedTenant> {
    anyhow::ensure!(quota >= 0, "quota must not be negative");
    let key = secrets::generate(API_KEY_PREFIX);
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        quota,
        created_at: now,
    };
    store.create_tenant(&tenant, &key.hash).await?;
    Ok(CreatedTenant {
        tenant,
        api_key: key.plaintext,
    })
}

/// Runs the server until the process is stopped.
pub async fn serve(store_args: StoreArgs, serve_args: ServeArgs) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = Arc::new(open_store(&store_args).await?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let public_url = serve_args.public_url();
    if store.tenant_count().await? == 0 {
        let created =
            create_tenant(&*store, "Local", store_args.default_quota, clock.now_ms()).await?;
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
        lease_ms: i64::from(serve_args.lease_seconds) * 1000,
        default_quota: store_args.default_quota,
        media_store_url: serve_args.media_store_url.clone(),
        media_dir: store_args.data_dir.join("media"),
        allow_external_media: serve_args.allow_external_media,
        oidc: serve_args.oidc(),
        post_interval_ms: serve_args.post_intervals()?,
        selector_packs: crate::selectors::load(serve_args.selector_packs.as_deref())?,
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

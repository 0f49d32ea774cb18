//! `clawpost-server`: see `clawpost-server --help`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "clawpost_server=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    clawpost_server::cli::run().await
}

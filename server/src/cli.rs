//! The `clawpost-server` command line.

use std::sync::Arc;

use clap::Parser;

use crate::clock::{Clock, SystemClock};
use crate::config::{Cli, Command, TenantCommand};
use crate::secrets::{self, API_KEY_PREFIX};
use crate::startup;

/// Parses the command line and runs it.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => startup::serve(cli.store, cli.serve).await,
        Command::Tenant(cmd) => {
            let store = Arc::new(startup::open_store(&cli.store).await?);
            match cmd {
                TenantCommand::Create { name, quota } => {
                    let quota = quota.unwrap_or(cli.store.default_quota);
                    let created =
                        startup::create_tenant(&*store, &name, quota, SystemClock.now_ms()).await?;
                    println!(
                        "{}",
                        serde_json::json!({"tenantId": created.tenant.id, "apiKey": created.api_key})
                    );
                }
                TenantCommand::Pacing {
                    tenant,
                    platform,
                    seconds,
                    default: _,
                } => {
                    let ms = seconds.map(|s| i64::from(s) * 1000);
                    let set =
                        crate::store::Store::set_tenant_pacing(&*store, &tenant, platform, ms)
                            .await?;
                    anyhow::ensure!(set, "no tenant with id {tenant:?}");
                    println!(
                        "{}",
                        serde_json::json!({"tenantId": tenant, "platform": platform.as_str(),
                                           "intervalSeconds": seconds})
                    );
                }
                TenantCommand::RotateKey { tenant } => {
                    let key = secrets::generate(API_KEY_PREFIX);
                    let rotated =
                        crate::store::Store::rotate_key(&*store, &tenant, &key.hash).await?;
                    anyhow::ensure!(rotated, "no tenant with id {tenant:?}");
                    println!("{}", key.plaintext);
                }
            }
            Ok(())
        }
    }
}

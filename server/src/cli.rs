//! The `clawpost-server` command line.

use std::sync::Arc;

use clap::Parser;

use crate::clock::{Clock, SystemClock};
use crate::config::{Cli, Command, TenantCommand};
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
                        crate::app::tenants::create(&*store, &name, quota, SystemClock.now_ms())
                            .await?;
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
                    let interval = seconds.map(|s| std::time::Duration::from_secs(u64::from(s)));
                    let set = crate::app::tenants::set_pacing(&*store, &tenant, platform, interval)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message))?;
                    anyhow::ensure!(set, "no tenant with id {tenant:?}");
                    println!(
                        "{}",
                        serde_json::json!({"tenantId": tenant, "platform": platform.as_str(),
                                           "intervalSeconds": seconds})
                    );
                }
                TenantCommand::RotateKey { tenant } => {
                    let key = crate::app::tenants::rotate_key(&*store, &tenant)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message))?;
                    let key = key.ok_or_else(|| anyhow::anyhow!("no tenant with id {tenant:?}"))?;
                    println!("{key}");
                }
            }
            Ok(())
        }
    }
}

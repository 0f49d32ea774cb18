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
                TenantCommand::RotateKey {
                    tenant,
                    revoke_devices,
                } => {
                    let rotated = crate::app::tenants::rotate_key(
                        &*store,
                        &tenant,
                        None,
                        revoke_devices,
                        SystemClock.now_ms(),
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?
                    .ok_or_else(|| anyhow::anyhow!("no tenant with id {tenant:?}"))?;
                    let r = rotated.revoked;
                    eprintln!(
                        "Revoked {} MCP connection(s) and {} extension(s); ended {} dashboard session(s).",
                        r.grants, r.devices, r.sessions
                    );
                    println!("{}", rotated.api_key);
                }
                TenantCommand::Invite { email, tenant } => {
                    let invite = crate::app::tenants::invite(
                        &*store,
                        &email,
                        tenant.as_deref(),
                        SystemClock.now_ms(),
                    )
                    .await?;
                    println!(
                        "{}",
                        serde_json::json!({"email": invite.email, "tenantId": invite.tenant_id})
                    );
                }
            }
            Ok(())
        }
    }
}

//! In-process wake-ups: "a job is available for tenant T". Long-polls (and
//! the extension WebSocket) wait on these instead of polling the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Per-tenant notification channels.
#[derive(Debug, Default, Clone)]
pub struct Notifier {
    inner: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl Notifier {
    /// The channel of a tenant. Call `notified()` and `enable()` on it *before*
    /// checking the queue, so a job created in between is not missed.
    pub fn channel(&self, tenant_id: &str) -> Arc<Notify> {
        let mut map = self.inner.lock().expect("notifier lock");
        map.entry(tenant_id.to_string()).or_default().clone()
    }

    /// Wakes every waiter of the tenant.
    pub fn job_available(&self, tenant_id: &str) {
        let n = self
            .inner
            .lock()
            .expect("notifier lock")
            .get(tenant_id)
            .cloned();
        if let Some(n) = n {
            n.notify_waiters();
        }
    }
}

pub use crate::store::JOBS_CHANNEL;

/// Listens on PostgreSQL for jobs announced by any server instance sharing
/// the database and wakes this instance's waiters. The listener reconnects
/// by itself when the connection drops.
pub async fn listen_postgres(
    database_url: &str,
    notifier: Notifier,
) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
    listener.listen(JOBS_CHANNEL).await?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(n) => notifier.job_available(n.payload()),
                Err(e) => {
                    tracing::warn!(error = %e, "PostgreSQL job listener; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }))
}

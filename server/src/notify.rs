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

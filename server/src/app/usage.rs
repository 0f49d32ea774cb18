//! Usage: what a tenant used of its quota this period (calendar month,
//! UTC), by job status and platform, and the media bytes it uploaded. One
//! view for `GET /v1/usage`, the MCP `get_account_status` tool and the
//! dashboard.

use serde::Serialize;
use serde_json::Value;

use crate::app::AppState;
use crate::clock::{month_bounds, Millis};
use crate::error::ApiError;
use crate::store::{Counts, Tenant};

/// Job counts of one platform, or of all.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountsView {
    pub created: i64,
    pub queued: i64,
    pub processing: i64,
    pub succeeded: i64,
    pub failed: i64,
}

impl From<&Counts> for CountsView {
    fn from(c: &Counts) -> Self {
        CountsView {
            created: c.created,
            queued: c.queued,
            processing: c.processing,
            succeeded: c.succeeded,
            failed: c.failed,
        }
    }
}

/// The tenant's usage in the current period (calendar month, UTC).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    pub tenant_id: String,
    /// Period start, milliseconds since the Unix epoch.
    pub period_start: Millis,
    /// Period end (exclusive): when the quota resets.
    pub period_end: Millis,
    /// Jobs allowed per period.
    pub quota: i64,
    /// Jobs created this period (counts against the quota).
    pub used: i64,
    pub remaining: i64,
    /// Bytes of media uploaded this period.
    pub media_bytes: i64,
    #[serde(flatten)]
    pub totals: CountsView,
    /// Counts per platform, keyed by platform name.
    #[schema(value_type = Object)]
    pub by_platform: serde_json::Map<String, Value>,
}

/// The tenant's usage in the current period: `GET /v1/usage`, and the MCP
/// `get_account_status` tool.
pub async fn of(state: &AppState, tenant: &Tenant) -> Result<UsageView, ApiError> {
    let (start, end) = month_bounds(state.now());
    let usage = state.store.usage(&tenant.id, start).await?;
    let media_bytes = state.store.media_bytes_since(&tenant.id, start).await?;
    let by_platform = usage
        .by_platform
        .iter()
        .map(|(p, c)| {
            (
                p.as_str().to_string(),
                serde_json::to_value(CountsView::from(c)).expect("serializes"),
            )
        })
        .collect();
    Ok(UsageView {
        tenant_id: tenant.id.clone(),
        period_start: start,
        period_end: end,
        quota: tenant.quota,
        used: usage.total.created,
        remaining: (tenant.quota - usage.total.created).max(0),
        media_bytes,
        totals: CountsView::from(&usage.total),
        by_platform,
    })
}

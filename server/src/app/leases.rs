//! Leases: how a paired extension takes a job (`lease`), keeps it while it
//! works (`renew`), hands back its result (`complete`), and what happens
//! when it goes silent (`expire`): a job that never reached `submitting`
//! goes back to the queue; one that did fails with `outcome_unknown`, never
//! a second post.

use std::time::Duration;

use extension_core::pack_set::PackSet;
use extension_core::{AckRequest, AckStatus, JobErrorCode, JobStatus, JobType, ProgressRequest};

use crate::app::AppState;
use crate::error::{ApiError, Code};
use crate::store::{AckOutcome, Completion, Device, JobRecord, ProgressOutcome};

/// Largest failure diagnostic an ack may carry (JSON bytes).
pub const MAX_DIAGNOSTIC_BYTES: usize = 32 * 1024;
/// Largest `error` message an ack may carry (bytes).
pub const MAX_ERROR_BYTES: usize = 1024;
/// Largest `details` an ack may carry (JSON bytes).
pub const MAX_DETAILS_BYTES: usize = 8 * 1024;

/// Longest long-poll: a service worker fetch longer than 30 s is killed.
pub const MAX_WAIT: Duration = Duration::from_secs(25);

/// How often the background sweep settles leases that ran out.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The paired device a request came from, and its tenant.
#[derive(Debug, Clone)]
pub struct Holder<'a> {
    pub device: &'a Device,
    pub tenant_id: &'a str,
}

/// Leases the tenant's oldest queued job to `device`, waiting up to `wait`
/// for one to be created. `None` when there was none in that time.
pub async fn lease(
    state: &AppState,
    holder: Holder<'_>,
    wait: Duration,
) -> Result<Option<JobRecord>, ApiError> {
    if wait > MAX_WAIT {
        return Err(ApiError::invalid_field(
            "wait",
            format!("wait must be 0 to {} seconds", MAX_WAIT.as_secs()),
        ));
    }
    state
        .store
        .touch_device(&holder.device.id, state.now())
        .await?;
    expire(state).await?;
    let deadline = tokio::time::Instant::now() + wait;
    let channel = state.notifier.channel(holder.tenant_id);
    loop {
        // Register interest before looking, so a job created in between wakes us.
        let notified = channel.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(job) = state
            .store
            .lease_next(
                holder.tenant_id,
                &holder.device.id,
                state.now(),
                state.settings.lease,
                &state.settings.post_intervals,
            )
            .await?
        {
            tracing::info!(job = %job.id, device = %holder.device.id, attempt = job.attempts, "job leased");
            return Ok(Some(job));
        }
        tokio::select! {
            _ = &mut notified => continue,
            _ = tokio::time::sleep_until(deadline) => return Ok(None),
        }
    }
}

fn not_found(job_id: &str) -> ApiError {
    ApiError::new(
        Code::NotFound,
        format!("No job with id {job_id:?} for this device."),
    )
}

/// Records a progress report of the lease holder and renews its lease.
/// `LEASE_LOST` (409) when this device no longer holds a live lease.
pub async fn renew(
    state: &AppState,
    holder: Holder<'_>,
    req: &ProgressRequest,
) -> Result<JobRecord, ApiError> {
    let outcome = state
        .store
        .report_progress(
            &req.job_id,
            &holder.device.id,
            req.stage,
            state.now(),
            state.settings.lease,
        )
        .await?;
    match outcome {
        ProgressOutcome::Accepted(job) => Ok(job),
        ProgressOutcome::NotHolder(job) if job.tenant_id == holder.tenant_id => Err(ApiError::new(
            Code::LeaseLost,
            format!(
                "This device no longer holds a live lease on job {} (status {}). Do not submit.",
                job.id,
                job.status.as_str()
            ),
        )),
        _ => Err(not_found(&req.job_id)),
    }
}

/// Ends a job with the holder's result. An identical repeat is accepted;
/// a different one, or one from a device without the lease, is
/// `ACK_CONFLICT` (409).
pub async fn complete(
    state: &AppState,
    holder: Holder<'_>,
    req: &AckRequest,
) -> Result<JobRecord, ApiError> {
    let job = state
        .store
        .job(&req.job_id)
        .await?
        .filter(|j| j.tenant_id == holder.tenant_id)
        .ok_or_else(|| not_found(&req.job_id))?;
    let pack = PackSet::pack_for(Some(&state.settings.selector_packs), job.platform);
    let hosts = pack.map(|p| p.hosts).unwrap_or_default();
    let completion = completion(req, Some(&job), &hosts)?;
    match state
        .store
        .complete_job(&job.id, &holder.device.id, &completion, state.now())
        .await?
    {
        AckOutcome::Completed(job) => {
            tracing::info!(job = %job.id, status = job.status.as_str(), code = ?job.error_code, "job acked");
            Ok(job)
        }
        AckOutcome::Duplicate(job) => Ok(job),
        AckOutcome::Conflict(job) => Err(ApiError::new(
            Code::AckConflict,
            format!(
                "Job {} cannot take this ack: it is {} and this device {} its lease.",
                job.id,
                job.status.as_str(),
                if job.device_id.as_deref() == Some(holder.device.id.as_str()) {
                    "held"
                } else {
                    "does not hold"
                }
            ),
        )),
        AckOutcome::NotFound => Err(not_found(&req.job_id)),
    }
}

/// Settles leases that ran out and wakes the devices of requeued jobs.
pub async fn expire(state: &AppState) -> Result<(), ApiError> {
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

/// Sweeps expired leases every second, for as long as the server runs.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            let _ = expire(&state).await;
        }
    })
}

fn ack_hash(req: &AckRequest) -> String {
    let canonical = serde_json::json!({
        "status": req.status, "postUrl": req.post_url, "error": req.error,
        "errorCode": req.error_code, "details": req.details,
    });
    crate::crypto::fingerprint(canonical.to_string().as_bytes())
}

/// Whether `url` is an https URL on one of `hosts` (or a subdomain of one).
fn on_platform(url: &str, hosts: &[String]) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let Some(host) = u.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    u.scheme() == "https"
        && hosts.iter().any(|h| {
            let h = h.to_ascii_lowercase();
            host == h || host.ends_with(&format!(".{h}"))
        })
}

fn completion(
    req: &AckRequest,
    job: Option<&JobRecord>,
    hosts: &[String],
) -> Result<Completion, ApiError> {
    if let Some(u) = &req.post_url {
        if !on_platform(u, hosts) {
            return Err(ApiError::invalid_field(
                "postUrl",
                format!(
                    "postUrl must be an https URL on the platform's own site ({})",
                    hosts.join(", ")
                ),
            ));
        }
    }
    if req
        .error
        .as_ref()
        .is_some_and(|e| e.len() > MAX_ERROR_BYTES)
    {
        return Err(ApiError::invalid_field(
            "error",
            format!("error must be at most {MAX_ERROR_BYTES} bytes"),
        ));
    }
    if req
        .details
        .as_ref()
        .is_some_and(|d| d.to_string().len() > MAX_DETAILS_BYTES)
    {
        return Err(ApiError::invalid_field(
            "details",
            format!("details must be at most {MAX_DETAILS_BYTES} bytes of JSON"),
        ));
    }
    let status = match req.status {
        AckStatus::Succeeded => {
            if req.error_code.is_some() {
                return Err(ApiError::invalid_field(
                    "errorCode",
                    "a succeeded ack carries no errorCode",
                ));
            }
            match job.map(|j| j.job_type) {
                Some(JobType::Post) if req.post_url.is_none() => {
                    return Err(ApiError::invalid_field(
                        "postUrl",
                        "a succeeded post needs its postUrl",
                    ));
                }
                Some(JobType::FacebookGroupJoin | JobType::FacebookGroupStatus) => {
                    let state = req.details.as_ref().and_then(|d| d.get("buttonState"));
                    let valid = state
                        .cloned()
                        .and_then(|s| serde_json::from_value::<extension_core::ButtonState>(s).ok())
                        .is_some();
                    if !valid {
                        return Err(ApiError::invalid_field(
                            "details.buttonState",
                            "a finished group job needs details.buttonState: joined, requested or not_member",
                        ));
                    }
                }
                _ => {}
            }
            JobStatus::Succeeded
        }
        AckStatus::Failed => JobStatus::Failed,
    };
    if let Some(d) = &req.diagnostic {
        if !d.is_object() {
            return Err(ApiError::invalid_field(
                "diagnostic",
                "diagnostic must be an object",
            ));
        }
        if d.to_string().len() > MAX_DIAGNOSTIC_BYTES {
            return Err(ApiError::invalid_field(
                "diagnostic",
                format!("diagnostic must be at most {MAX_DIAGNOSTIC_BYTES} bytes of JSON"),
            ));
        }
    }
    if let Some(d) = &req.details {
        if !d.is_object() {
            return Err(ApiError::invalid_field(
                "details",
                "details must be an object",
            ));
        }
    }
    let (error, error_code) = match req.status {
        AckStatus::Succeeded => (None, None),
        AckStatus::Failed => {
            let code = req.error_code.unwrap_or(JobErrorCode::UnknownError);
            let message = req
                .error
                .clone()
                .unwrap_or_else(|| code.default_message().to_string());
            (Some(message), Some(code.as_str().to_string()))
        }
    };
    Ok(Completion {
        status,
        post_url: req.post_url.clone(),
        error,
        error_code,
        details: req.details.clone(),
        diagnostic: req.diagnostic.clone(),
        pack_version: req.pack_version.clone(),
        ack_hash: ack_hash(req),
    })
}

//! Job types, statuses and the wire types of the extension protocol
//! (`GET /v1/extension/pull`, `POST /v1/extension/progress`, `POST /v1/extension/ack`).

use crate::{JobErrorCode, Platform};
use serde::{Deserialize, Serialize};

/// What a job asks the extension to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// Publish a post (the default).
    #[default]
    Post,
    /// Click "Join group" on a Facebook group.
    FacebookGroupJoin,
    /// Read the membership state of a Facebook group.
    FacebookGroupStatus,
}

impl JobType {
    pub const ALL: [JobType; 3] = [
        JobType::Post,
        JobType::FacebookGroupJoin,
        JobType::FacebookGroupStatus,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Post => "post",
            JobType::FacebookGroupJoin => "facebook_group_join",
            JobType::FacebookGroupStatus => "facebook_group_status",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Group jobs act on a Facebook group and carry no text.
    pub fn is_group_action(self) -> bool {
        !matches!(self, JobType::Post)
    }
}

/// `queued → processing → succeeded | failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Processing,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Queued,
        JobStatus::Processing,
        JobStatus::Succeeded,
        JobStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Processing => "processing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// `succeeded` and `failed` never change again.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }
}

/// Platform-specific job input. Only Facebook takes one: a group, by id or URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_url: Option<String>,
}

impl PlatformPayload {
    pub fn is_empty(&self) -> bool {
        self.group_id.is_none() && self.group_url.is_none()
    }

    pub fn names_group(&self) -> bool {
        !self.is_empty()
    }
}

/// The membership state a Facebook group job ends with (`details.buttonState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ButtonState {
    Joined,
    Requested,
    NotMember,
}

/// A job as the extension receives it from `GET /v1/extension/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LeasedJob {
    pub id: String,
    #[serde(rename = "type")]
    pub job_type: JobType,
    pub platform: Platform,
    pub text: String,
    pub media_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_payload: Option<PlatformPayload>,
    /// Milliseconds since the Unix epoch at which the lease runs out unless
    /// renewed by a progress report.
    pub lease_expires_at: i64,
    /// How many times the job has been leased (1 on the first delivery).
    pub attempt: i64,
}

/// Stages the extension reports while it works on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProgressStage {
    /// Still working (opening a tab, filling the composer, uploading): renews the lease.
    Working,
    /// About to click the platform's submit control. After this the job is
    /// never leased again: a lost lease fails it with `outcome_unknown`.
    Submitting,
}

/// Body of `POST /v1/extension/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProgressRequest {
    pub job_id: String,
    pub stage: ProgressStage,
}

/// The result the extension reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    Succeeded,
    Failed,
}

/// Body of `POST /v1/extension/ack`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AckRequest {
    pub job_id: String,
    pub status: AckStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<JobErrorCode>,
    /// Free-form result details (for example `{"buttonState": "joined"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// The selector-pack version the extension ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_version: Option<String>,
    /// For failures: what the extension saw (the step, the selectors tried,
    /// the page URL, a sanitized outline of the page — no user content).
    /// Shown only to the job's tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_type_and_status_wire_names() {
        for t in JobType::ALL {
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            assert_eq!(JobType::parse(t.as_str()), Some(t));
        }
        for s in JobStatus::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        assert!(JobStatus::Failed.is_final() && !JobStatus::Processing.is_final());
    }

    #[test]
    fn ack_parses_camel_case_and_rejects_unknown_fields() {
        let ack: AckRequest = serde_json::from_str(
            r#"{"jobId":"j","status":"failed","errorCode":"not_logged_in","error":"x"}"#,
        )
        .unwrap();
        assert_eq!(ack.error_code, Some(JobErrorCode::NotLoggedIn));
        assert!(
            serde_json::from_str::<AckRequest>(r#"{"jobId":"j","status":"failed","bogus":1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<AckRequest>(r#"{"jobId":"j","status":"maybe"}"#).is_err());
    }

    #[test]
    fn payload_rejects_unknown_keys() {
        assert!(serde_json::from_str::<PlatformPayload>(r#"{"groupId":"1"}"#).is_ok());
        assert!(serde_json::from_str::<PlatformPayload>(r#"{"group":"1"}"#).is_err());
    }
}

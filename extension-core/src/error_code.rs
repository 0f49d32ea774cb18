//! Job failure codes (`errorCode` of a failed job), as the public API lists them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a job failed. The wire form is the snake_case name of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobErrorCode {
    /// The user is not logged in to the platform in the browser.
    NotLoggedIn,
    /// No x.com or twitter.com tab is open (with "use only my open tabs").
    NoXTab,
    /// No tab for the job's platform is open (with "use only my open tabs").
    NoPlatformTab,
    /// The extension could not reach the tab's content script.
    ContentScriptUnavailable,
    /// Platform UI elements were not found.
    SelectorNotFound,
    /// The platform rate-limited the user.
    RateLimited,
    /// A network error during posting.
    NetworkError,
    /// The user may not post in the Facebook group (not a member, or pending).
    GroupNotApproved,
    /// The extension could not download a media file.
    MediaFetchFailed,
    /// The lease ran out after the extension reported `submitting`: the post
    /// may or may not have been published. Never retried automatically.
    OutcomeUnknown,
    /// Anything else; `error` carries the message.
    UnknownError,
}

impl JobErrorCode {
    pub const ALL: [JobErrorCode; 11] = [
        JobErrorCode::NotLoggedIn,
        JobErrorCode::NoXTab,
        JobErrorCode::NoPlatformTab,
        JobErrorCode::ContentScriptUnavailable,
        JobErrorCode::SelectorNotFound,
        JobErrorCode::RateLimited,
        JobErrorCode::NetworkError,
        JobErrorCode::GroupNotApproved,
        JobErrorCode::MediaFetchFailed,
        JobErrorCode::OutcomeUnknown,
        JobErrorCode::UnknownError,
    ];

    /// The wire name (`"not_logged_in"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            JobErrorCode::NotLoggedIn => "not_logged_in",
            JobErrorCode::NoXTab => "no_x_tab",
            JobErrorCode::NoPlatformTab => "no_platform_tab",
            JobErrorCode::ContentScriptUnavailable => "content_script_unavailable",
            JobErrorCode::SelectorNotFound => "selector_not_found",
            JobErrorCode::RateLimited => "rate_limited",
            JobErrorCode::NetworkError => "network_error",
            JobErrorCode::GroupNotApproved => "group_not_approved",
            JobErrorCode::MediaFetchFailed => "media_fetch_failed",
            JobErrorCode::OutcomeUnknown => "outcome_unknown",
            JobErrorCode::UnknownError => "unknown_error",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The default human message for the code, used when the reporter sent none.
    pub fn default_message(self) -> &'static str {
        match self {
            JobErrorCode::NotLoggedIn => "Not logged in to the platform in the browser.",
            JobErrorCode::NoXTab => "No x.com or twitter.com tab is open.",
            JobErrorCode::NoPlatformTab => "No tab for the job's platform is open.",
            JobErrorCode::ContentScriptUnavailable => {
                "The extension could not reach the tab. Refresh the tab."
            }
            JobErrorCode::SelectorNotFound => "Platform UI elements were not found.",
            JobErrorCode::RateLimited => "The platform rate-limited the account. Wait and retry.",
            JobErrorCode::NetworkError => "Network error during posting.",
            JobErrorCode::GroupNotApproved => {
                "Not approved to post in the Facebook group (not a member or pending approval)."
            }
            JobErrorCode::MediaFetchFailed => "The extension could not download the media.",
            JobErrorCode::OutcomeUnknown => {
                "The browser stopped responding after submitting; the post may or may not have been published. Not retried automatically."
            }
            JobErrorCode::UnknownError => "Unclassified error.",
        }
    }
}

impl fmt::Display for JobErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_and_parse() {
        for c in JobErrorCode::ALL {
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
            assert_eq!(JobErrorCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(JobErrorCode::parse("nope"), None);
    }
}

//! The platforms Claw Post posts to.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A social platform a job targets. Serialized as the lowercase names of the
/// public API: `x`, `linkedin`, `facebook`, `tiktok`, `instagram`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    X,
    Linkedin,
    Facebook,
    Tiktok,
    Instagram,
}

impl Platform {
    /// Every platform, in the order the API documents them.
    pub const ALL: [Platform; 5] = [
        Platform::X,
        Platform::Linkedin,
        Platform::Facebook,
        Platform::Tiktok,
        Platform::Instagram,
    ];

    /// The wire name (`"x"`, `"linkedin"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::Linkedin => "linkedin",
            Platform::Facebook => "facebook",
            Platform::Tiktok => "tiktok",
            Platform::Instagram => "instagram",
        }
    }

    /// A human name for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::X => "X",
            Platform::Linkedin => "LinkedIn",
            Platform::Facebook => "Facebook",
            Platform::Tiktok => "TikTok",
            Platform::Instagram => "Instagram",
        }
    }

    /// Whether the platform takes a `platformPayload` (Facebook groups only).
    pub fn accepts_platform_payload(self) -> bool {
        self == Platform::Facebook
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown platform name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPlatform(pub String);

impl fmt::Display for UnknownPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown platform {:?}: expected one of x, linkedin, facebook, tiktok, instagram",
            self.0
        )
    }
}

impl std::error::Error for UnknownPlatform {}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPlatform(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_wire_name() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        assert!("twitter".parse::<Platform>().is_err());
        assert!("X".parse::<Platform>().is_err());
    }
}

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

/// One value per platform: per-platform settings without indexing arrays by
/// `Platform as usize`. Every platform always has a value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlatformMap<T> {
    values: [T; Platform::ALL.len()],
}

impl Platform {
    /// The platform's slot in a [`PlatformMap`] (its place in [`Platform::ALL`]).
    const fn slot(self) -> usize {
        match self {
            Platform::X => 0,
            Platform::Linkedin => 1,
            Platform::Facebook => 2,
            Platform::Tiktok => 3,
            Platform::Instagram => 4,
        }
    }
}

impl<T> PlatformMap<T> {
    /// A map holding `f(platform)` for every platform.
    pub fn from_fn(mut f: impl FnMut(Platform) -> T) -> Self {
        PlatformMap {
            values: Platform::ALL.map(&mut f),
        }
    }

    /// The value of a platform.
    pub fn get(&self, platform: Platform) -> &T {
        &self.values[platform.slot()]
    }

    /// The value of a platform, to change it in place.
    pub fn get_mut(&mut self, platform: Platform) -> &mut T {
        &mut self.values[platform.slot()]
    }

    /// Replaces the value of a platform, returning the previous one.
    pub fn set(&mut self, platform: Platform, value: T) -> T {
        std::mem::replace(self.get_mut(platform), value)
    }

    /// Every platform with its value, in the order of [`Platform::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (Platform, &T)> {
        Platform::ALL.into_iter().zip(self.values.iter())
    }

    /// Every platform with its value, mutable, in the order of [`Platform::ALL`].
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Platform, &mut T)> {
        Platform::ALL.into_iter().zip(self.values.iter_mut())
    }

    /// A map of `f(platform, value)` for every platform.
    pub fn map<U>(&self, mut f: impl FnMut(Platform, &T) -> U) -> PlatformMap<U> {
        PlatformMap::from_fn(|p| f(p, self.get(p)))
    }
}

impl<T> std::ops::Index<Platform> for PlatformMap<T> {
    type Output = T;

    fn index(&self, platform: Platform) -> &T {
        self.get(platform)
    }
}

impl<T> std::ops::IndexMut<Platform> for PlatformMap<T> {
    fn index_mut(&mut self, platform: Platform) -> &mut T {
        self.get_mut(platform)
    }
}

/// Shown as a map from wire name to value: `{"x": .., "linkedin": .., ...}`.
impl<T: fmt::Debug> fmt::Debug for PlatformMap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(p, v)| (p.as_str(), v)))
            .finish()
    }
}

impl<T> IntoIterator for PlatformMap<T> {
    type Item = (Platform, T);
    type IntoIter = std::iter::Zip<
        std::array::IntoIter<Platform, { Platform::ALL.len() }>,
        std::array::IntoIter<T, { Platform::ALL.len() }>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        Platform::ALL.into_iter().zip(self.values)
    }
}

impl<'a, T> IntoIterator for &'a PlatformMap<T> {
    type Item = (Platform, &'a T);
    type IntoIter = std::iter::Zip<
        std::array::IntoIter<Platform, { Platform::ALL.len() }>,
        std::slice::Iter<'a, T>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        Platform::ALL.into_iter().zip(self.values.iter())
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

    #[test]
    fn platform_map_holds_one_value_per_platform() {
        let mut m = PlatformMap::from_fn(|p| p.as_str().len());
        assert_eq!(m[Platform::X], 1);
        assert_eq!(*m.get(Platform::Instagram), "instagram".len());
        assert_eq!(m.set(Platform::X, 7), 1);
        m[Platform::Tiktok] += 1;
        assert_eq!(m[Platform::X], 7);
        assert_eq!(m[Platform::Tiktok], "tiktok".len() + 1);
        // Setting one platform leaves the others alone.
        assert_eq!(m[Platform::Linkedin], "linkedin".len());
        assert_eq!(m[Platform::Facebook], "facebook".len());
    }

    #[test]
    fn platform_map_iterates_in_documented_order() {
        let m = PlatformMap::from_fn(|p| p.display_name());
        let seen: Vec<Platform> = m.iter().map(|(p, _)| p).collect();
        assert_eq!(seen, Platform::ALL.to_vec());
        for (p, name) in &m {
            assert_eq!(*name, p.display_name());
        }
        let lens = m.map(|_, name| name.len());
        assert_eq!(lens[Platform::Linkedin], "LinkedIn".len());
        let mut n = PlatformMap::<u32>::default();
        for (_, v) in n.iter_mut() {
            *v += 2;
        }
        assert!(n.iter().all(|(_, v)| *v == 2));
        let owned: Vec<(Platform, u32)> = n.into_iter().collect();
        assert_eq!(owned.len(), Platform::ALL.len());
        assert_eq!(owned[4], (Platform::Instagram, 2));
    }

    #[test]
    fn platform_map_compares_clones_and_debugs() {
        let a = PlatformMap::<u8>::default();
        let mut b = a;
        assert_eq!(a, b);
        b[Platform::Facebook] = 3;
        assert_ne!(a, b);
        assert_eq!(b.clone(), b);
        assert_eq!(
            format!("{b:?}"),
            r#"{"x": 0, "linkedin": 0, "facebook": 3, "tiktok": 0, "instagram": 0}"#
        );
    }
}

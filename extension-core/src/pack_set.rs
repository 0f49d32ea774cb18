//! The set of selector packs the server hands out
//! (`GET /v1/extension/selectors`) and the extension keeps.
//!
//! Packs are data only. A set is taken whole or not at all: one malformed
//! pack rejects the set ([`PackSet::parse`]). Between a served pack and the
//! one compiled into the extension, the newer version wins
//! ([`PackSet::pack_for`]), so an old server never downgrades a newer
//! extension, and a fixed selector reaches every extension without a release.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::pack::{Pack, PackError};
use crate::Platform;

/// A set of packs, at most one per platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackSet {
    /// The packs' versions, joined (`x-2026.07.1+linkedin-2026.08.0`).
    pub version: String,
    /// A hash of the packs' content (hex SHA-256 of their JSON, computed by
    /// the server); the extension stores a set again only when it changes.
    pub hash: String,
    pub packs: Vec<Pack>,
}

impl PackSet {
    /// The version string of a list of packs.
    pub fn version_of(packs: &[Pack]) -> String {
        packs
            .iter()
            .map(|p| p.version.as_str())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// The packs compiled in, one per platform that has one.
    pub fn builtin_packs() -> Vec<Pack> {
        Platform::ALL
            .into_iter()
            .filter_map(Pack::builtin)
            .collect()
    }

    /// Checks a set: every pack valid, one pack per platform, and the
    /// version matching the packs. Any problem rejects the whole set.
    pub fn validate(&self) -> Result<(), PackError> {
        for (i, pack) in self.packs.iter().enumerate() {
            pack.validate()
                .map_err(|e| PackError(format!("pack {} ({}): {}", i, pack.version, e.0)))?;
            if self.packs[..i].iter().any(|p| p.platform == pack.platform) {
                return Err(PackError(format!(
                    "two packs for {}",
                    pack.platform.as_str()
                )));
            }
        }
        if self.version != Self::version_of(&self.packs) {
            return Err(PackError(format!(
                "the set's version {:?} does not match its packs",
                self.version
            )));
        }
        if self.hash.is_empty() {
            return Err(PackError("the set has no hash".into()));
        }
        Ok(())
    }

    /// Parses and checks a set (as served or stored).
    pub fn parse(json: &str) -> Result<PackSet, PackError> {
        let set: PackSet = serde_json::from_str(json).map_err(|e| PackError(e.to_string()))?;
        set.validate()?;
        Ok(set)
    }

    /// The pack to run for `platform`: this set's or the compiled-in one,
    /// whichever has the newer version.
    pub fn pack_for(set: Option<&PackSet>, platform: Platform) -> Option<Pack> {
        let served = set.and_then(|s| s.packs.iter().find(|p| p.platform == platform));
        let builtin = Pack::builtin(platform);
        match (served, builtin) {
            (Some(s), Some(b)) => Some(
                if compare_versions(&s.version, &b.version) == Ordering::Less {
                    b
                } else {
                    s.clone()
                },
            ),
            (Some(s), None) => Some(s.clone()),
            (None, b) => b,
        }
    }
}

/// Compares pack versions (`x-2026.07.1`) piece by piece: runs of digits as
/// numbers, everything else as text, so `x-2026.10.0` is newer than
/// `x-2026.9.3`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn pieces(s: &str) -> Vec<Result<u64, String>> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut digits = false;
        for c in s.chars() {
            if !cur.is_empty() && c.is_ascii_digit() != digits {
                out.push(piece(&cur, digits));
                cur.clear();
            }
            digits = c.is_ascii_digit();
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(piece(&cur, digits));
        }
        out
    }
    fn piece(s: &str, digits: bool) -> Result<u64, String> {
        if digits {
            s.parse().map_err(|_| s.to_string())
        } else {
            Err(s.to_string())
        }
    }
    let (a, b) = (pieces(a), pieces(b));
    for (x, y) in a.iter().zip(&b) {
        let o = match (x, y) {
            (Ok(x), Ok(y)) => x.cmp(y),
            (Err(x), Err(y)) => x.cmp(y),
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(_), Ok(_)) => Ordering::Less,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_with(packs: Vec<Pack>) -> PackSet {
        PackSet {
            version: PackSet::version_of(&packs),
            hash: "abc".into(),
            packs,
        }
    }

    fn x_pack(version: &str) -> Pack {
        let mut p = Pack::builtin(Platform::X).unwrap();
        p.version = version.into();
        p
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(
            compare_versions("x-2026.10.0", "x-2026.9.3"),
            Ordering::Greater
        );
        assert_eq!(
            compare_versions("x-2026.07.1", "x-2026.7.1"),
            Ordering::Equal
        );
        assert_eq!(
            compare_versions("x-2026.07.1", "x-2026.07.1.1"),
            Ordering::Less
        );
        assert_eq!(
            compare_versions("x-2026.07.1", "x-2026.07.2"),
            Ordering::Less
        );
    }

    #[test]
    fn the_builtin_set_is_valid_and_round_trips() {
        let set = set_with(PackSet::builtin_packs());
        set.validate().unwrap();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(PackSet::parse(&json).unwrap(), set);
        assert!(set
            .version
            .contains(&Pack::builtin(Platform::X).unwrap().version));
    }

    #[test]
    fn one_bad_pack_rejects_the_whole_set() {
        let mut broken = x_pack("x-2099.1.0");
        broken.hosts.clear();
        let mut set = set_with(vec![broken]);
        assert!(set.validate().unwrap_err().0.contains("no hosts"));
        set.packs[0] = x_pack("x-2099.1.0");
        set.version = PackSet::version_of(&set.packs);
        set.validate().unwrap();

        let twice = set_with(vec![x_pack("x-2099.1.0"), x_pack("x-2099.2.0")]);
        assert!(twice.validate().unwrap_err().0.contains("two packs"));

        let mut wrong_version = set_with(vec![x_pack("x-2099.1.0")]);
        wrong_version.version = "x-2100.0.0".into();
        assert!(wrong_version.validate().is_err());

        // Unknown fields (code smuggled in as data) are refused.
        let json = serde_json::to_string(&set_with(vec![x_pack("x-2099.1.0")]))
            .unwrap()
            .replacen("\"hash\"", "\"script\":\"alert(1)\",\"hash\"", 1);
        assert!(PackSet::parse(&json).is_err());
        assert!(PackSet::parse("{\"version\":\"\",\"hash\":\"h\",\"packs\":[{}]}").is_err());
    }

    #[test]
    fn the_newer_of_served_and_builtin_wins() {
        let builtin = Pack::builtin(Platform::X).unwrap();
        // No set: the compiled-in pack.
        assert_eq!(PackSet::pack_for(None, Platform::X), Some(builtin.clone()));
        // A newer served pack replaces it.
        let newer = set_with(vec![x_pack("x-2099.1.0")]);
        assert_eq!(
            PackSet::pack_for(Some(&newer), Platform::X)
                .unwrap()
                .version,
            "x-2099.1.0"
        );
        // An older served pack never downgrades.
        let older = set_with(vec![x_pack("x-2000.1.0")]);
        assert_eq!(
            PackSet::pack_for(Some(&older), Platform::X)
                .unwrap()
                .version,
            builtin.version
        );
        // A set without the platform leaves the compiled-in pack.
        let empty = set_with(vec![]);
        assert_eq!(PackSet::pack_for(Some(&empty), Platform::X), Some(builtin));
    }
}

//! The selector packs served to extensions (`GET /v1/extension/selectors`):
//! the ones compiled into `extension-core`, each replaceable by a pack from
//! the operator's `--selector-packs` folder. Packs are data only; a
//! malformed one is refused whole, at start.

use std::path::Path;

use anyhow::Context;
use extension_core::pack::Pack;
use extension_core::pack_set::PackSet;

/// A set of packs with its version and content hash.
pub fn set_of(mut packs: Vec<Pack>) -> PackSet {
    // Platform order (`Platform`'s `Ord` is its declaration order).
    packs.sort_by_key(|p| p.platform);
    let json = serde_json::to_vec(&packs).expect("packs serialize");
    PackSet {
        version: PackSet::version_of(&packs),
        hash: crate::crypto::fingerprint(&json),
        packs,
    }
}

/// The built-in set.
pub fn builtin() -> PackSet {
    set_of(PackSet::builtin_packs())
}

/// The built-in set with the packs of `dir` (if given) in place of the
/// built-in ones for their platforms.
pub fn load(dir: Option<&Path>) -> anyhow::Result<std::sync::Arc<PackSet>> {
    let mut packs = PackSet::builtin_packs();
    if let Some(dir) = dir {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading the selector pack folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let mut seen = Vec::new();
        for file in files {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let pack = Pack::from_json(&json).map_err(|e| {
                anyhow::anyhow!("selector pack {} is malformed: {}", file.display(), e.0)
            })?;
            anyhow::ensure!(
                !seen.contains(&pack.platform),
                "two selector packs for {} in {}",
                pack.platform.as_str(),
                dir.display()
            );
            seen.push(pack.platform);
            packs.retain(|p| p.platform != pack.platform);
            packs.push(pack);
        }
    }
    let set = set_of(packs);
    set.validate()
        .map_err(|e| anyhow::anyhow!("selector packs: {}", e.0))?;
    Ok(std::sync::Arc::new(set))
}

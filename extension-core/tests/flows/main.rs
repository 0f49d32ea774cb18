//! The flow engine running the shipped packs (and small packs of its own)
//! against recorded observations: the replies the DOM agent and the worker
//! give on real (fixture) pages, as JSON. One test binary; a module per
//! platform, plus the evidence features on a pack of their own.

mod evidence;
mod group;
mod instagram;
mod linkedin;
mod tiktok;
mod x;

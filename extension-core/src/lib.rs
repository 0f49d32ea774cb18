//! Claw Post's shared core: everything both the server and the extension must
//! agree on, with no I/O at all.
//!
//! - [`platform`]: the platforms a job can target, and [`PlatformMap`], one
//!   value per platform.
//! - [`job`]: job types, statuses and the wire types of the extension protocol.
//! - [`error_code`]: the job failure codes of the public API.
//! - [`media`]: the media types Claw Post recognises, by MIME type, file name
//!   or content.
//! - [`rules`]: per-platform text and media limits, defined once.
//! - [`pack`]: selector packs, the platforms' composer flows as data.
//! - [`engine`]: the pure state machine that runs a pack, and the DOM
//!   agent's wire types.
//! - [`post_text`]: a post's text as a pattern that finds it as the
//!   platforms render it.
//!
//! This crate builds natively and for `wasm32-unknown-unknown`; it must never
//! depend on an async runtime, a database or a DOM.

pub mod engine;
pub mod error_code;
pub mod job;
pub mod media;
pub mod pack;
pub mod pack_set;
pub mod platform;
pub mod post_text;
pub mod rules;

pub use error_code::JobErrorCode;
pub use job::{
    AckRequest, AckStatus, ButtonState, JobStatus, JobType, LeasedJob, PlatformPayload,
    ProgressRequest, ProgressStage,
};
pub use media::{
    infer_from_filename, media_type_by_mime, sniff, sniff_agrees, MediaKind, MediaType,
    MEDIA_TYPES, SNIFF_LEN,
};
pub use platform::{Platform, PlatformMap};
// `rules::rules` stays in its module: a root `rules` would be both a module
// and a function.
pub use rules::{
    all_rules, check_media_type, text_length, validate_post, x_weighted_length, MediaItem,
    PlatformRules, RuleViolation, TextCounting,
};

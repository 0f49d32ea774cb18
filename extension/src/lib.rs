//! The Claw Post browser extension (Chrome MV3): the service worker's logic,
//! compiled to WebAssembly.
//!
//! - [`protocol`]: the storage keys and page messages shared with the popup
//!   and options page (the end-to-end runner relies on them too).
//! - [`host`]: what the runtime needs from the browser, as a trait.
//! - [`runtime`]: pairing, pulling, running and acking jobs, generic over
//!   the host, so it is tested natively.
//! - `chrome` (wasm32): the one typed binding module for `chrome.*`.
//! - `worker` (wasm32, feature `worker`): the [`host::Host`] made of
//!   `chrome.*` and `fetch`, the wake-ups, the alarm watchdog, and the entry
//!   points the JS shim (`static/worker.js`) calls.
//! - `relay` (wasm32, feature `worker`): the WebSocket to the server, kept
//!   in an offscreen document that outlives the worker and wakes it.
//!
//! The platform flows are data (selector packs) run by the pure engine in
//! `extension_core::engine`; the page side is the generic DOM agent in
//! `static/dom-agent.js`.

pub use extension_core as core;

pub mod host;
pub mod protocol;
pub mod runtime;

#[cfg(target_arch = "wasm32")]
pub mod chrome;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
pub mod relay;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
pub mod worker;

//! The Claw Post browser extension (Chrome MV3). The service worker's logic
//! will live here, compiled to WebAssembly; see ARCHITECTURE.md.

pub use extension_core as core;

//! The extension's integration tests, in one test binary. Natively
//! (`cargo test -p clawpost-extension`) it holds the worker runtime driven
//! through an in-memory host; built for wasm32 and run in headless Chromium
//! (`scripts/test-extension.sh --browser`, or `wasm-pack test --headless
//! --chrome extension`) it holds the DOM agent's primitives against strict
//! fixture pages and the worker through the real `chrome.*` bindings.

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[cfg(target_arch = "wasm32")]
mod browser_agent;
#[cfg(target_arch = "wasm32")]
mod browser_worker;
#[cfg(not(target_arch = "wasm32"))]
mod runtime;

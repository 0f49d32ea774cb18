// The offscreen relay: keeps the WebSocket to the Claw Post server and wakes
// the service worker when a job is queued (logic in Rust: relay.rs).
import init, { relay_main } from "./wasm/clawpost_extension.js";
await init({ module_or_path: new URL("./wasm/clawpost_extension_bg.wasm", import.meta.url) });
await relay_main();

// Loads the Rust/WASM popup (inline scripts are blocked by the extension CSP).
import init, { mount_popup } from "./wasm/clawpost_popup.js";
await init({ module_or_path: new URL("./wasm/clawpost_popup_bg.wasm", import.meta.url) });
mount_popup();

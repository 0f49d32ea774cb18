// Loads the Rust/WASM options page (inline scripts are blocked by the extension CSP).
import init, { mount_options } from "./wasm/clawpost_popup.js";
await init({ module_or_path: new URL("./wasm/clawpost_popup_bg.wasm", import.meta.url) });
mount_options();

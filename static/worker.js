// Claw Post service worker shim. All logic is Rust (wasm/clawpost_extension*).
//
// Chrome only delivers the event that woke a stopped worker to listeners
// registered synchronously during the first run of this script, so every
// listener is registered here, at top level, and each awaits the wasm
// module inside the handler.
import init, * as wasm from "./wasm/clawpost_extension.js";

const ready = init({ module_or_path: new URL("./wasm/clawpost_extension_bg.wasm", import.meta.url) })
  .then(() => wasm.start());

const report = (e) => console.error("[clawpost]", e);

chrome.runtime.onMessage.addListener((message, _sender, sendResponse) => {
  ready
    .then(() => wasm.on_message(message))
    .then(sendResponse, (e) => sendResponse({ ok: false, error: String(e) }));
  return true; // answered asynchronously
});

chrome.alarms.onAlarm.addListener((alarm) => {
  ready.then(() => wasm.on_alarm(alarm.name)).catch(report);
});

// A server URL written straight into storage (not through the options page)
// takes effect at once too.
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && "serverUrl" in changes) {
    ready.then(() => wasm.on_settings_changed()).catch(report);
  }
});

chrome.runtime.onStartup.addListener(() => {
  ready.then(() => wasm.on_lifecycle("startup")).catch(report);
});

chrome.runtime.onInstalled.addListener((details) => {
  ready.then(() => wasm.on_lifecycle(details.reason)).catch(report);
});

//! The Claw Post extension's popup (pairing code, status, recent jobs,
//! unpair) and options page (server URL, "use only my open tabs"), in
//! Leptos. Both read `chrome.storage.local` directly (the contract in
//! `clawpost_extension::protocol`) and ask the worker to act with
//! `chrome.runtime.sendMessage`. Loaded by `popup.js` / `options.js`
//! (external module scripts: the extension CSP forbids inline ones).

#[cfg(target_arch = "wasm32")]
mod ui;

#[cfg(target_arch = "wasm32")]
pub use ui::{mount_options, mount_popup};

/// The origin pattern to ask host access for, when the server is not on the
/// loopback hosts the manifest already grants (`http://127.0.0.1/*`,
/// `http://localhost/*`).
pub fn permission_pattern(server_url: &str) -> Option<String> {
    let (scheme, rest) = server_url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    if host.is_empty() || (scheme == "http" && matches!(host, "127.0.0.1" | "localhost")) {
        return None;
    }
    Some(format!("{scheme}://{host}/*"))
}

#[cfg(test)]
mod tests {
    use super::permission_pattern;

    #[test]
    fn loopback_needs_no_extra_permission() {
        assert_eq!(permission_pattern("http://127.0.0.1:8080"), None);
        assert_eq!(permission_pattern("http://localhost"), None);
        assert_eq!(
            permission_pattern("https://api.clawpost.net/base").as_deref(),
            Some("https://api.clawpost.net/*")
        );
        assert_eq!(
            permission_pattern("http://10.0.0.5:9000").as_deref(),
            Some("http://10.0.0.5/*")
        );
    }
}

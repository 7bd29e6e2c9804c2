//! Links in lesson Markdown open in the learner's web browser, never in the KubeQuest window.
//!
//! A followed link would navigate the app window away from the app (and give the linked page
//! the window's IPC). The window instead intercepts link clicks and calls `open_link`, which
//! accepts only `http`/`https` URLs with a host and no embedded credentials, and hands them to
//! the system browser through tauri-plugin-opener. The plugin is used from Rust only: the window
//! has no opener permission and the plugin's click-interception script is not injected, so
//! nothing but this check decides what opens.

use kq_engine::ipc::UiError;
use tauri_plugin_opener::OpenerExt;

use crate::error;

/// Longer than any real documentation link; a bound so a lesson cannot hand the browser an
/// arbitrarily large string.
const MAX_URL_LEN: usize = 2048;

/// The URL, if it is one the system browser may be asked to open.
pub fn checked_url(raw: &str) -> Result<tauri::Url, UiError> {
    let refuse = |why: &str| {
        error::lessons(format!(
            "This link cannot be opened: {why}. Lessons may link to web pages (http or https) \
             only."
        ))
    };
    if raw.len() > MAX_URL_LEN {
        return Err(refuse("it is too long"));
    }
    let url = tauri::Url::parse(raw.trim()).map_err(|_| refuse("it is not a valid address"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse(&format!("`{}:` is not a web address", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("it names no web site"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // `https://docs.example@evil.test` shows one site and opens another.
        return Err(refuse("it carries a user name or password"));
    }
    Ok(url)
}

/// Opens a lesson's link in the system browser after [`checked_url`].
#[tauri::command]
pub fn open_link(app: tauri::AppHandle, url: String) -> Result<(), UiError> {
    let url = checked_url(&url)?;
    app.opener()
        .open_url(url.as_str(), None::<&str>)
        .map_err(|e| {
            error::internal(format!(
                "The browser could not be opened for {url}: {e}. Copy the address into your \
                 browser instead."
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_with_a_host_and_no_credentials_are_opened() {
        for ok in [
            "https://kubernetes.io/docs/concepts/workloads/pods/",
            "http://localhost:8080/",
            "https://example.com/a?b=c#d",
        ] {
            assert!(
                checked_url(ok).is_ok(),
                "{ok} is a web page the browser may open"
            );
        }
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "tauri://localhost/",
            "ipc://localhost/app_info",
            "mailto:a@example.com",
            "smb://server/share",
            "https://docs.example.com@evil.test/",
            "https://user:secret@example.com/",
            "not a url",
            "",
        ] {
            let err = checked_url(bad).expect_err(bad);
            assert!(
                err.message.contains("http or https"),
                "{bad} is refused with a message that says what lessons may link to: {}",
                err.message
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(
            checked_url(&long).is_err(),
            "an oversized address is refused"
        );
    }
}

//! The learner's settings (theme, speed, cluster, allowed remote contexts, teacher preview), kept with
//! tauri-plugin-store in `settings.json` in the app's data folder, under the key `settings`.
//!
//! Saving applies them: the speed goes to the embedded cluster's clock at once (and its new
//! reading to a running mission's window, which computes ages against it), and a change of
//! cluster drops the current client (and stops a running mission session, which was watching
//! the other cluster). A context that is not on this machine is refused unless the learner
//! allowed it by name.
//!
//! That allow-list is owned here, not by the window: `save_settings` keeps the stored list
//! whatever the window sends, and only `allow_remote_context`, called after the window's
//! confirmation dialog, adds one named context that the kubeconfig lists as remote. A script in
//! the page therefore cannot quietly allow a production cluster by rewriting the settings.

use std::sync::{Arc, Mutex};

use kq_engine::connect::{ContextInfo, load_kubeconfig_from_env, record_consent};
use kq_engine::ipc::{SessionUpdate, Settings, UiError};
use tauri::Wry;
use tauri_plugin_store::{Store, StoreExt};

use crate::cluster::{self, EmbeddedCluster, Targets};
use crate::error;
use crate::missions::Sessions;

const FILE: &str = "settings.json";
const KEY: &str = "settings";

/// The stored settings and the speed this launch was asked to run at.
pub struct SettingsBook {
    store: Option<Arc<Store<Wry>>>,
    current: Mutex<Settings>,
    /// `KUBEQUEST_SPEED`, which wins over the stored speed until the learner picks one.
    speed_override: Mutex<Option<f64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SettingsBook {
    pub fn load(app: &tauri::AppHandle, speed_override: Option<f64>) -> Self {
        let store = match app.store(FILE) {
            Ok(s) => Some(s),
            Err(e) => {
                log::error!("the settings store cannot be opened: {e}; using the defaults");
                None
            }
        };
        let stored = store
            .as_ref()
            .and_then(|s| s.get(KEY))
            .and_then(|v| match serde_json::from_value::<Settings>(v) {
                Ok(s) => Some(s),
                Err(e) => {
                    log::warn!("the stored settings are unreadable ({e}); using the defaults");
                    None
                }
            })
            .filter(|s| cluster::valid_speed(s.speed))
            .unwrap_or_default();
        SettingsBook {
            store,
            current: Mutex::new(stored),
            speed_override: Mutex::new(speed_override),
        }
    }

    /// The settings in effect: the stored ones, with this launch's speed.
    pub fn get(&self) -> Settings {
        let mut s = lock(&self.current).clone();
        if let Some(speed) = *lock(&self.speed_override) {
            s.speed = speed;
        }
        s
    }

    /// The stored settings, without this launch's speed override (what `save` writes back).
    fn stored(&self) -> Settings {
        lock(&self.current).clone()
    }

    fn save(&self, settings: &Settings) -> Result<(), UiError> {
        let store = self.store.as_ref().ok_or_else(|| {
            error::internal(
                "The settings file cannot be opened, so settings cannot be saved. Check that the \
                 app's data folder is writable, then restart KubeQuest.",
            )
        })?;
        let value = serde_json::to_value(settings)
            .map_err(|e| error::internal(format!("Cannot store the settings: {e}")))?;
        store.set(KEY, value);
        store.save().map_err(|e| {
            error::internal(format!(
                "The settings could not be saved: {e}. Check that the app's data folder is \
                 writable and has free space."
            ))
        })?;
        *lock(&self.current) = settings.clone();
        Ok(())
    }
}

#[tauri::command]
pub fn get_settings(book: tauri::State<'_, SettingsBook>) -> Settings {
    book.get()
}

/// The settings the window asked for, with the consent list as Rust holds it: the window may
/// change the theme, speed and chosen cluster, never which remote contexts are allowed.
fn from_window(stored: &Settings, mut asked: Settings) -> Settings {
    asked
        .allowed_remote_contexts
        .clone_from(&stored.allowed_remote_contexts);
    asked
}

/// Checks, stores and applies the settings; answers them as stored. The allow-list of remote
/// contexts is not taken from the window (see `allow_remote_context`).
#[tauri::command]
pub fn save_settings(
    settings: Settings,
    book: tauri::State<'_, SettingsBook>,
    embedded: tauri::State<'_, EmbeddedCluster>,
    targets: tauri::State<'_, Targets>,
    sessions: tauri::State<'_, Sessions>,
) -> Result<Settings, UiError> {
    if !cluster::valid_speed(settings.speed) {
        return Err(error::internal(format!(
            "A speed of {} cannot be used: choose one above 0 and at most 100.",
            settings.speed
        )));
    }
    let settings = from_window(&book.stored(), settings);
    if let Some(name) = &settings.context {
        cluster::allowed_context(name, &settings)?;
    }
    let before = book.get();
    book.save(&settings)?;
    if settings.speed != before.speed {
        *lock(&book.speed_override) = None;
    }
    let now = book.get();
    embedded.set_speed(now.speed);
    if before.context != settings.context
        || before.allowed_remote_contexts != settings.allowed_remote_contexts
    {
        targets.invalidate();
    }
    if before.context != settings.context {
        sessions.stop_all();
    } else if now.speed != before.speed && now.context.is_none() {
        // The running mission's ages and countdowns follow the new speed at once.
        if let Some(clock) = embedded.clock() {
            sessions.notify(SessionUpdate::Clock { clock });
        }
    }
    Ok(now)
}

/// Records that the learner, in the window's confirmation dialog, allowed missions on the
/// remote context `context`; answers the settings as stored. The context must be in the
/// kubeconfig now (a local one needs no consent and changes nothing). Choosing it is a separate
/// `save_settings`.
#[tauri::command]
pub fn allow_remote_context(
    context: String,
    book: tauri::State<'_, SettingsBook>,
    targets: tauri::State<'_, Targets>,
) -> Result<Settings, UiError> {
    let loaded = load_kubeconfig_from_env().map_err(|e| error::from_connect(&e))?;
    let contexts = kq_engine::connect::list_contexts(&loaded.config);
    let mut next = book.stored();
    next.allowed_remote_contexts =
        record_consent(&next.allowed_remote_contexts, &contexts, &context)
            .map_err(|e| error::from_connect(&e))?;
    book.save(&next)?;
    targets.invalidate();
    Ok(book.get())
}

/// The contexts of the learner's kubeconfig, classified local or remote. No kubeconfig at all
/// is not an error: the list is empty and the embedded cluster is the only choice.
#[tauri::command]
pub fn list_contexts() -> Result<Vec<ContextInfo>, UiError> {
    if !kubeconfig_exists() {
        return Ok(Vec::new());
    }
    let loaded = load_kubeconfig_from_env().map_err(|e| error::from_connect(&e))?;
    Ok(kq_engine::connect::list_contexts(&loaded.config))
}

/// Whether any file kubectl would read exists (`KUBECONFIG`'s list, else `~/.kube/config`).
fn kubeconfig_exists() -> bool {
    let listed: Vec<std::path::PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !listed.is_empty() {
        return listed.iter().any(|p| p.exists());
    }
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .is_some_and(|h| std::path::Path::new(&h).join(".kube/config").exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teacher_preview_is_off_unless_chosen_and_the_window_may_choose_it() {
        let before_preview = serde_json::json!({
            "context": null, "allowedRemoteContexts": [], "speed": 2.0, "theme": "dark"
        });
        let read: Settings =
            serde_json::from_value(before_preview).expect("settings saved before it still load");
        assert!(
            !read.teacher_preview,
            "a learner's stored settings never open every mission by themselves"
        );
        assert_eq!(read.speed, 2.0, "the rest of the stored settings are kept");
        assert!(!Settings::default().teacher_preview, "off by default");
        let saved = from_window(
            &read,
            Settings {
                teacher_preview: true,
                ..read.clone()
            },
        );
        assert!(saved.teacher_preview, "the settings screen turns it on");
        let back: Settings =
            serde_json::from_value(serde_json::to_value(&saved).expect("serialises"))
                .expect("reads back");
        assert!(back.teacher_preview, "and it is stored as chosen");
    }

    #[test]
    fn the_window_cannot_grow_or_replace_the_remote_allow_list() {
        let stored = Settings {
            allowed_remote_contexts: vec!["classroom".into()],
            ..Settings::default()
        };
        let asked = Settings {
            context: Some("prod".into()),
            allowed_remote_contexts: vec!["prod".into()],
            speed: 2.0,
            ..Settings::default()
        };
        let saved = from_window(&stored, asked);
        assert_eq!(
            saved.allowed_remote_contexts,
            ["classroom"],
            "consent is recorded only by allow_remote_context; a list sent by the window is \
             ignored"
        );
        assert_eq!(
            (saved.context.as_deref(), saved.speed),
            (Some("prod"), 2.0),
            "the rest of what the window asked for is kept (the policy check refuses prod)"
        );
        let cleared = from_window(
            &stored,
            Settings {
                allowed_remote_contexts: Vec::new(),
                ..Settings::default()
            },
        );
        assert_eq!(
            cleared.allowed_remote_contexts,
            ["classroom"],
            "the window cannot drop recorded consent either"
        );
    }
}

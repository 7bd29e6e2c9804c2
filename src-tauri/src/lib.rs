//! The KubeQuest desktop shell: a thin Tauri layer over `kq-engine`.
//!
//! Commands here only translate between IPC and plain engine functions; anything with logic
//! lives in the engine so the `kq` CLI and the tests reach it without a window.
//!
//! - [`cluster`]: the embedded cluster (started with the app; its kubeconfig, mode 0600, is
//!   written to the app's data folder for real `kubectl`) or a kubeconfig context chosen in
//!   Settings, and the one `kube::Client` used for it;
//! - [`missions`]: the curriculum, the mission session streamed over a `Channel`, the editor's
//!   Apply and Delete, hints;
//! - [`progress`]: the progress file (the CLI's format and code), export and import through
//!   native dialogs opened from Rust ([`dialogs`], which also reads picked files safely);
//! - [`settings`]: theme, speed, cluster choice, kept with tauri-plugin-store; consent to a
//!   remote context is recorded here, never taken from the window;
//! - [`terminal`]: the terminal beside the mission, a shell on a PTY with `KUBECONFIG` set for
//!   the mission's cluster and namespace, ended with its mission or the window;
//! - [`classroom`]: a class served from this computer (a second embedded cluster on the
//!   address the teacher chose), its live view and exports, and a learner's class joined with
//!   a kubeconfig or a join code (kept 0600 in the data folder), with the fall-back to the
//!   embedded cluster when the class server stops answering;
//! - [`links`]: lesson links open in the system browser (http/https only), never in the window;
//! - [`logging`]: the app's log and the embedded cluster's `tracing` events, quiet unless
//!   `RUST_LOG` asks for more.
//!
//! `KUBEQUEST_LESSONS` points at another lessons folder; `KUBEQUEST_SPEED` runs the embedded
//! cluster's clock faster (or slower) for this launch.

mod classroom;
mod cluster;
mod dialogs;
mod error;
mod links;
mod logging;
mod missions;
mod progress;
mod settings;
mod terminal;

use kq_engine::ipc::AppInfo;
use tauri::Manager;

use cluster::{EmbeddedCluster, Targets};
use missions::Sessions;
use progress::ProgressBook;
use settings::SettingsBook;

#[tauri::command]
fn app_info(
    app: tauri::AppHandle,
    embedded: tauri::State<'_, EmbeddedCluster>,
    settings: tauri::State<'_, SettingsBook>,
    classroom: tauri::State<'_, classroom::Classroom>,
) -> AppInfo {
    AppInfo {
        version: app.package_info().version.to_string(),
        lesson_dirs: missions::lesson_roots(&app)
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        cluster: classroom
            .status()
            .unwrap_or_else(|| cluster::status(&embedded, &settings.get())),
    }
}

fn data_file(app: &tauri::AppHandle, name: &str) -> Result<std::path::PathBuf, String> {
    app.path()
        .app_local_data_dir()
        .map(|dir| dir.join(name))
        .map_err(|e| {
            format!(
                "KubeQuest has no data folder to keep its {name} in ({e}). Check that your home \
                 folder is writable, then restart KubeQuest."
            )
        })
}

/// Starts the desktop app. Returns when the last window closes.
pub fn run() {
    let result = tauri::Builder::default()
        // Single-instance must be registered first: a second launch focuses the open window
        // instead of starting a second embedded cluster.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(logging::plugin())
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .plugin(tauri_plugin_store::Builder::new().build())
        // Used from Rust only (export and import); the window has no dialog permission.
        .plugin(tauri_plugin_dialog::init())
        // Used from Rust only (`links::open_link` checks the URL); without its click script,
        // which would call the plugin from the window.
        .plugin(
            tauri_plugin_opener::Builder::new()
                .open_js_links_on_click(false)
                .build(),
        )
        .setup(|app| {
            web_view_rendering(app);
            let handle = app.handle();
            let settings = SettingsBook::load(handle, cluster::speed_override());
            let roots = missions::lesson_roots(handle);
            missions::install_diagnosis_texts(&roots);
            let embedded = EmbeddedCluster::start(
                data_file(handle, "kubeconfig"),
                settings.get().speed,
                &roots,
            );
            app.manage(settings);
            app.manage(embedded);
            app.manage(Targets::default());
            // A class joined before (its kubeconfig kept in the data folder) is rejoined.
            app.manage(classroom::Classroom::open(data_file(
                handle,
                "class.kubeconfig",
            )));
            app.manage(Sessions::default());
            app.manage(terminal::Terminals::default());
            // The progress file is shared with `kq`; the app's own file from before is merged.
            app.manage(ProgressBook::open(data_file(handle, "progress.json")));
            Ok(())
        })
        // A closed window hangs up its terminals' shells.
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Destroyed = event {
                window.state::<terminal::Terminals>().close_all();
            }
        })
        .invoke_handler(tauri::generate_handler![
            app_info,
            missions::list_missions,
            missions::mission_debrief,
            missions::start_mission,
            missions::stop_mission,
            missions::reset_mission,
            missions::apply_manifest,
            missions::delete_manifest,
            missions::reapply_manifest,
            missions::reveal_hint,
            missions::run_in_container,
            missions::object_yaml,
            progress::get_progress,
            progress::export_progress,
            progress::import_progress,
            progress::set_learner_name,
            settings::get_settings,
            settings::save_settings,
            settings::list_contexts,
            settings::allow_remote_context,
            links::open_link,
            terminal::terminal_open,
            terminal::terminal_write,
            terminal::terminal_ack,
            terminal::terminal_resize,
            terminal::terminal_close,
            classroom::classroom_state,
            classroom::classroom_defaults,
            classroom::classroom_open_roster,
            classroom::classroom_serve,
            classroom::classroom_stop,
            classroom::classroom_open_folder,
            classroom::classroom_view,
            classroom::classroom_open_teacher,
            classroom::classroom_export,
            classroom::classroom_join_file,
            classroom::classroom_join_code,
            classroom::classroom_leave,
            classroom::classroom_fall_back,
            classroom::classroom_retry,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("KubeQuest could not start: {e}");
        std::process::exit(1);
    }
}

/// The window renders in software unless `KUBEQUEST_GPU=1`: the mission screen is flat 2D with
/// small animations, and WebKitGTK's GL compositing costs more than it gives here — about
/// 140 MB more in the web process and half a second more at start (measured with
/// `cargo xtask bench`), and a blank window on some classroom GPUs and virtual machines.
fn web_view_rendering(app: &tauri::App) {
    #[cfg(target_os = "linux")]
    {
        if std::env::var_os("KUBEQUEST_GPU").is_some_and(|v| v == "1") {
            return;
        }
        let Some(window) = app.get_webview_window("main") else {
            return;
        };
        let _ = window.with_webview(|view| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            if let Some(settings) = WebViewExt::settings(&view.inner()) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

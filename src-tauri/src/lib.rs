//! The KubeQuest desktop shell: a thin Tauri layer over `kq-engine`.
//!
//! Commands here only translate between IPC and plain engine functions; anything with logic
//! lives in the engine so the `kq` CLI and the tests reach it without a window.
//!
//! At start the shell brings up the embedded cluster in-process (the same server `kq cluster
//! up` runs) and writes its kubeconfig, mode 0600, into the app's data folder so a learner can
//! point real `kubectl` at it.

use std::path::PathBuf;

use kq_engine::ipc::{AppInfo, ClusterStatus, ErrorKind, MissionList, UiError};
use kq_engine::mission::Catalog;
use kq_sim::{Cluster, ClusterConfig, RunningCluster};
use tauri::Manager;

/// The embedded cluster as the window sees it. The running server lives as long as the app.
struct EmbeddedCluster {
    status: ClusterStatus,
    _running: Option<RunningCluster>,
}

/// Starts the embedded cluster; failure is reported in the title bar, not fatal: the mission
/// map still works and the message says what to do.
fn start_embedded_cluster(app: &tauri::AppHandle) -> EmbeddedCluster {
    let kubeconfig = match app.path().app_local_data_dir() {
        Ok(dir) => dir.join("kubeconfig"),
        Err(e) => {
            return EmbeddedCluster {
                status: ClusterStatus::Unavailable {
                    message: format!(
                        "KubeQuest has no data folder to write its kubeconfig to ({e}). Check that your home folder is writable, then restart KubeQuest."
                    ),
                },
                _running: None,
            };
        }
    };
    let config = ClusterConfig {
        kubeconfig_path: Some(kubeconfig),
        ..ClusterConfig::default()
    };
    match tauri::async_runtime::block_on(Cluster::start(config)) {
        Ok(running) => EmbeddedCluster {
            status: ClusterStatus::Ready {
                context: "kubequest".into(),
                kubeconfig: running
                    .kubeconfig_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                server: running.url().to_owned(),
            },
            _running: Some(running),
        },
        Err(e) => {
            log::error!("embedded cluster failed to start: {e}");
            EmbeddedCluster {
                status: ClusterStatus::Unavailable {
                    message: format!(
                        "The embedded cluster could not start: {e}. Restart KubeQuest; if it keeps failing, free up a loopback port or disk space."
                    ),
                },
                _running: None,
            }
        }
    }
}

/// Where lessons are read from: `KUBEQUEST_LESSONS` if set (teachers and tests), then the
/// lessons bundled as a resource, then (in development builds) the source tree's `lessons/`.
fn lesson_roots(app: &tauri::AppHandle) -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("KUBEQUEST_LESSONS") {
        return vec![PathBuf::from(dir)];
    }
    let mut roots = Vec::new();
    if let Ok(res) = app.path().resource_dir() {
        let bundled = res.join("lessons");
        if bundled.is_dir() {
            roots.push(bundled);
        }
    }
    if roots.is_empty() && cfg!(debug_assertions) {
        roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lessons"));
    }
    roots
}

#[tauri::command]
fn app_info(app: tauri::AppHandle, cluster: tauri::State<'_, EmbeddedCluster>) -> AppInfo {
    AppInfo {
        version: app.package_info().version.to_string(),
        lesson_dirs: lesson_roots(&app)
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        cluster: cluster.status.clone(),
    }
}

#[tauri::command]
fn list_missions(app: tauri::AppHandle) -> Result<MissionList, UiError> {
    let roots = lesson_roots(&app);
    if roots.is_empty() {
        return Err(UiError {
            kind: ErrorKind::Lessons,
            message: "No lesson folder was found. Reinstall KubeQuest, or set KUBEQUEST_LESSONS \
                      to a folder of missions."
                .into(),
        });
    }
    let catalog = Catalog::load(&roots);
    Ok(MissionList {
        missions: catalog.summaries(),
        problems: catalog.problems.iter().map(ToString::to_string).collect(),
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
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                .build(),
        )
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .plugin(tauri_plugin_store::Builder::new().build())
        .setup(|app| {
            let cluster = start_embedded_cluster(app.handle());
            app.manage(cluster);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![app_info, list_missions])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("KubeQuest could not start: {e}");
        std::process::exit(1);
    }
}

//! Build script: embeds the app manifest so the capability files can grant each KubeQuest command
//! by name, and nothing the UI does not call.

/// Every command the window calls (ui/src/lib/ipc.ts), and nothing else.
const COMMANDS: &[&str] = &[
    "app_info",
    "list_missions",
    "mission_debrief",
    "get_progress",
    "get_settings",
    "save_settings",
    "list_contexts",
    "start_mission",
    "stop_mission",
    "reset_mission",
    "apply_manifest",
    "delete_manifest",
    "reapply_manifest",
    "reveal_hint",
    "run_in_container",
    "object_yaml",
    "export_progress",
    "import_progress",
    "set_learner_name",
    "allow_remote_context",
    "open_link",
    "terminal_open",
    "terminal_write",
    "terminal_ack",
    "terminal_resize",
    "terminal_close",
    "classroom_state",
    "classroom_defaults",
    "classroom_open_roster",
    "classroom_serve",
    "classroom_stop",
    "classroom_open_folder",
    "classroom_view",
    "classroom_open_teacher",
    "classroom_export",
    "classroom_join_file",
    "classroom_join_code",
    "classroom_leave",
    "classroom_fall_back",
    "classroom_retry",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}

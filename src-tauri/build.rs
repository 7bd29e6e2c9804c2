//! Build script: embeds the app manifest so the capability files can grant each KubeQuest command
//! by name, and nothing the UI does not call.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(&["app_info", "list_missions"])),
    )
    .expect("tauri build script failed");
}

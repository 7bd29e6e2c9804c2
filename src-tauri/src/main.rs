//! KubeQuest desktop entry point. Everything lives in the library so tests can reach it.

// Release builds on Windows must not open a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    kubequest_lib::run();
}

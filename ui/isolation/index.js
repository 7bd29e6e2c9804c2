// Isolation hook (Tauri's isolation pattern). Every IPC message from the KubeQuest window is
// encrypted in this sandboxed frame before it reaches Rust, so a script injected into the main
// page cannot forge calls. Which commands may run at all is decided by the capability files in
// src-tauri/capabilities; this hook only passes well-formed messages on.
window.__TAURI_ISOLATION_HOOK__ = (payload) => payload;

//! What the desktop app logs: tauri-plugin-log's output (stdout, the log folder and the web
//! view's console), fed by the `log` facade. The cluster crates log with `tracing`; its `log`
//! feature (switched on in this crate's Cargo.toml) hands their events to the same facade.
//!
//! Quiet by default: the app's own messages from `info`, the embedded cluster's only from
//! `warn`, since it logs every request and reconcile at debug. `RUST_LOG` chooses more, with the
//! usual directives (`RUST_LOG=kq_sim=debug`, `RUST_LOG=debug`), as the `kq` CLI reads it; a
//! directive with a span filter or regex is ignored here (the `log` facade has no spans).

use std::collections::BTreeMap;

use log::LevelFilter;

/// The crates of the embedded cluster, kept at `warn` unless `RUST_LOG` says otherwise.
const CLUSTER_CRATES: &[&str] = &[
    "kq_sim",
    "kq_apiserver",
    "kq_controllers",
    "kq_runtime",
    "kq_shell",
    "kq_registry",
    "kq_kube",
];

/// The default level and the per-target levels for `rust_log` (the `RUST_LOG` value, if set).
fn levels(rust_log: Option<&str>) -> (LevelFilter, BTreeMap<String, LevelFilter>) {
    let mut default = LevelFilter::Info;
    let mut targets: BTreeMap<String, LevelFilter> = CLUSTER_CRATES
        .iter()
        .map(|c| ((*c).to_owned(), LevelFilter::Warn))
        .collect();
    for directive in rust_log.unwrap_or_default().split(',').map(str::trim) {
        match directive.split_once('=') {
            Some((target, level)) => {
                if let Ok(level) = level.parse() {
                    targets.insert(target.to_owned(), level);
                }
            }
            None => {
                if let Ok(level) = directive.parse() {
                    // A bare level is everyone's, the cluster's included.
                    default = level;
                    for c in CLUSTER_CRATES {
                        targets.insert((*c).to_owned(), level);
                    }
                }
            }
        }
    }
    (default, targets)
}

/// The log plugin, with the levels above.
pub fn plugin<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    let (default, targets) = levels(std::env::var("RUST_LOG").ok().as_deref());
    let mut builder = tauri_plugin_log::Builder::new().level(default);
    for (target, level) in targets {
        builder = builder.level_for(target, level);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_is_quiet_unless_rust_log_asks() {
        let (default, targets) = levels(None);
        assert_eq!(default, LevelFilter::Info);
        assert_eq!(targets["kq_sim"], LevelFilter::Warn);

        let (default, targets) = levels(Some("kq_sim=debug"));
        assert_eq!(default, LevelFilter::Info);
        assert_eq!(targets["kq_sim"], LevelFilter::Debug);
        assert_eq!(targets["kq_apiserver"], LevelFilter::Warn);

        let (default, targets) = levels(Some("trace, kube=info,nonsense=loud"));
        assert_eq!(default, LevelFilter::Trace);
        assert_eq!(targets["kq_controllers"], LevelFilter::Trace);
        assert_eq!(targets["kube"], LevelFilter::Info);
        assert!(!targets.contains_key("nonsense"));
    }
}

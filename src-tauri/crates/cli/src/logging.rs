//! What `kq` logs, and where: a `tracing` subscriber writing to stderr, so stdout stays the
//! command's own output (tables, `kq play`'s transcript).
//!
//! Quiet by default (warnings and errors only). `RUST_LOG` chooses more, with `tracing`'s
//! env-filter syntax: `RUST_LOG=kq_sim=debug kq play crash-loop-backoff` shows the embedded
//! cluster's spans and events, `RUST_LOG=debug` everything. Kubernetes components do the same
//! with klog's `-v` levels; `kubectl -v=6` is the closest twin.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is unset (or unreadable): warnings and errors.
const DEFAULT_FILTER: &str = "warn";

/// Installs the subscriber for the whole process. `log` records (from dependencies that use
/// the `log` crate) are forwarded to it too.
pub fn init() {
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(spec) => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!(
                "warning: RUST_LOG={spec:?} is not a log filter ({e}); using {DEFAULT_FILTER:?}"
            );
            EnvFilter::new(DEFAULT_FILTER)
        }),
        Err(_) => EnvFilter::new(DEFAULT_FILTER),
    };
    // A second subscriber (a test harness's) is not an error worth stopping for.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a terminal only, not for a file or a pipe a test reads.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

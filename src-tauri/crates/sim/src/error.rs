//! The embedded cluster's start-up errors (port, certificates, kubeconfig, image catalogs),
//! apart from the API server's `metav1.Status` errors, which they wrap.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong starting or driving the embedded cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API error (a write during bootstrap, a pod that is not there).
    #[error(transparent)]
    Api(#[from] kq_apiserver::Error),
    /// An image catalog file (a teacher's or mission's `registry.yaml`) is invalid; the text
    /// names the file, line and field.
    #[error("{0}")]
    Catalog(String),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address we tried.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Generating the CA or serving certificate failed.
    #[error("cannot create certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The TLS configuration was rejected.
    #[error("cannot configure TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The kubeconfig file could not be written.
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        /// Where we tried to write it.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Any other I/O failure at start-up.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

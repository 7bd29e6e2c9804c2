//! The controllers' errors: why a reconcile could not finish.
//!
//! A failed reconcile is not fatal in Kubernetes either: the controller logs it and the key
//! comes back after its back-off (`utilruntime.HandleError` plus `AddRateLimited` in every
//! `pkg/controller` sync loop). The variants say what failed; the runtime only needs to know
//! that something did.

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A read or write through the API server failed (a conflict, an object refused, one
    /// that is gone).
    #[error("API request failed: {0}")]
    Api(#[from] kq_apiserver::Error),
    /// The object is not in a state the controller can act on yet (a reference missing, a
    /// field not set); retried after the back-off.
    #[error("{0}")]
    Invalid(String),
}

/// A reconcile's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

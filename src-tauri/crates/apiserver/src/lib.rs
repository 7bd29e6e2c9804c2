//! The embedded cluster's API server: storage, a generic registry that runs each kind's
//! strategy, the admission chain, patch, and the HTTPS layer real kubectl talks to.
//!
//! Kubernetes keeps the same component in `k8s.io/apiserver` and `pkg/registry`:
//!
//! - [`storage`]: objects, the global resourceVersion, history and watch fan-out (etcd and
//!   `k8s.io/apiserver/pkg/storage`).
//! - [`registry`]: the validated writes (create, replace, patch, delete, bind) every client
//!   goes through, run against each kind's strategy (`k8s.io/apiserver/pkg/registry/rest`,
//!   `generic/registry.Store`); [`kinds`] holds one table entry and strategy per served kind
//!   (`pkg/registry/core/<kind>/strategy.go`).
//! - [`admission`]: the admission chain (`k8s.io/apiserver/pkg/admission`).
//! - [`auth`]: authentication, impersonation and RBAC authorization.
//! - [`patch`]: JSON, merge, strategic merge and apply patches.
//! - [`http`]: the HTTPS server: routing, handlers, watches, tables, discovery, protobuf.
//! - [`streaming`]: the seam to the node for exec, attach, port-forward and proxy (the
//!   kubelet's streaming server).
//! - [`logs`]: per-container log buffers behind `kubectl logs`.
//! - [`clock`]: the cluster's one virtual clock; the API server stamps times with it.
//! - [`error`]: the `metav1.Status` errors every request can end with.

pub mod admission;
pub mod auth;
pub mod clock;
pub mod error;
pub mod http;
pub mod logs;
pub mod patch;
pub mod registry;
pub mod storage;
pub mod streaming;
pub mod strict;

pub use clock::Clock;
pub use error::{Error, Result};
pub use http::{MAX_BODY_BYTES, ServerLimits, VERSION};
pub use registry::kinds;
pub use storage::Store;

/// The store as its callers know it: storage plus the registry's validated write
/// operations and their options.
pub mod store {
    pub use crate::patch::PatchKind;
    pub use crate::registry::{
        DeleteOptions, DeleteOutcome, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, FieldValidation,
        Preconditions, Propagation, WriteOptions, WriteResult,
    };
    pub use crate::storage::*;
}

//! The embedded cluster's controllers on one reconciler runtime driven by the virtual clock.
//!
//! Kubernetes runs its controllers (kube-controller-manager's, the scheduler's queue, the
//! kubelet's pod workers) as loops over rate-limited work queues of object keys fed by
//! informers. KubeQuest keeps that shape in one runtime:
//!
//! - [`queue`]: the work queue of (controller, key) in virtual time, de-duplicating, with
//!   per-key exponential back-off and requeue-after (client-go `util/workqueue`).
//! - [`reconciler`]: the [`Controller`] trait (`reconcile(key, ctx) -> Action`, as
//!   kube-runtime's `Controller`) and the [`Runner`] that feeds changes to controllers and
//!   reconciles due keys in a deterministic order.
//! - [`error`]: why a reconcile failed.

pub mod error;
pub mod queue;
pub mod reconciler;

pub use error::{Error, Result};
pub use queue::{ItemBackoff, QueueKey, WorkQueue};
pub use reconciler::{Action, Change, ChangeType, Controller, Enqueue, Runner, object_key};

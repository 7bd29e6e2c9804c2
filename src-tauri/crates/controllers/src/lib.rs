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
//!
//! The controllers on it, in the files Kubernetes keeps them in:
//!
//! - `scheduler`: kube-scheduler's default plugins and scheduling queue, a controller keyed
//!   by pod.
//! - `recorder`: the event recorders (client-go `tools/record` and `tools/events`), and
//!   `series_refresh`, the events.k8s.io series refresh as a controller.
//! - `kubelet`: each node's kubelet (`pkg/kubelet`), with `backoff` (client-go
//!   `flowcontrol.Backoff`) and `runtime`, the kubelet's side of the container runtime
//!   (kq-runtime, a CRI).
//! - `shared`: what the node side's controllers and kubelets work with (informer caches, the
//!   recorder, the deterministic jitter generator); `informer`: the watches that feed a
//!   runner, one per resource its controllers watch.
//! - `manager`: [`Controllers`], which owns the node side's runner (the scheduler, the series
//!   refresh and the kubelets, whose timers are keys in the same queue), drains the watches
//!   and moves the keys along the virtual clock (what the scheduler and each node's kubelet
//!   process do on a real cluster).
//! - `garbagecollector`: the garbage collector (`pkg/controller/garbagecollector`) on the node
//!   side's runner: the owner→dependents graph by uid, background, foreground and orphan
//!   propagation of deletes.
//! - [`control_plane`]: [`ControlPlane`], kube-controller-manager's controllers for the API
//!   server's own objects on their own runner: `namespace` (empties and finalizes a deleted
//!   namespace), `serviceaccount` (the `default` ServiceAccount) and `rootca` (the
//!   `kube-root-ca.crt` ConfigMap), one file each, and `podgc` (finishes terminating pods
//!   while no kubelet is attached).

mod api_client;
mod backoff;
mod clusterroleaggregation;
pub mod control_plane;
mod cronjob;
mod daemonset;
mod deployment;
mod disruption;
mod endpoints;
mod endpointslice;
pub mod error;
mod garbagecollector;
mod history;
mod informer;
mod job;
mod kubelet;
mod manager;
mod namespace;
mod network;
mod persistentvolume;
mod podgc;
mod pvcprotection;
pub mod queue;
pub mod reconciler;
mod recorder;
mod replicaset;
mod resourcequota;
mod rootca;
mod runtime;
mod scheduler;
mod series_refresh;
mod serviceaccount;
mod shared;
mod statefulset;
mod streaming;
mod workload;

pub use control_plane::ControlPlane;
pub use error::{Error, Result};
pub use manager::Controllers;
pub use queue::{ItemBackoff, QueueKey, WorkQueue};
pub use reconciler::{Action, Change, ChangeType, Controller, Enqueue, Runner, object_key};
pub use streaming::{NodeStreams, streams};

// The controllers reach the API server and the shared Kubernetes knowledge by these paths.
use kq_apiserver::kinds::node::NodeTemplate;
use kq_apiserver::{clock, kinds, store};
use kq_kube::{duration, quantity};

//! Each node's heartbeat Lease, as the kubelet's node lease controller keeps it
//! (`pkg/kubelet/nodelease`, `k8s.io/component-helpers/apimachinery/lease/controller.go`).
//!
//! The Lease is `kube-node-lease/<node>`: `holderIdentity` the node's name,
//! `leaseDurationSeconds` 40 (the kubelet's `--node-lease-duration-seconds` default), owned by
//! the Node so it goes with it, and no `acquireTime` (the kubelet never sets one, so
//! `kubectl describe node` shows `AcquireTime: <unset>`). Its `renewTime` is refreshed every
//! quarter of the duration, 10 s (`nodeLeaseRenewIntervalFraction`), with `wait.JitterUntil`'s
//! 4 % jitter, on the virtual clock.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};

use crate::shared::Shared;
use crate::{Action, Change, ChangeType, Controller, Enqueue};

/// The namespace of the node Leases (`corev1.NamespaceNodeLease`).
pub(crate) const NAMESPACE: &str = "kube-node-lease";
/// `--node-lease-duration-seconds`' default.
const DURATION_SECONDS: i32 = 40;
/// A quarter of the duration.
const RENEW_INTERVAL: Duration = Duration::from_secs(10);
/// `wait.JitterUntil`'s factor for the renewal loop.
const JITTER: f64 = 0.04;

/// The node lease controllers of every kubelet, keyed by node name.
///
/// The renewal jitter comes from the controller's own generator, not the cluster's shared one:
/// a heartbeat every 10 s would otherwise shift every later draw (container ids, kubelet
/// resyncs, termination timings), so adding or removing a node's lease would change what the
/// learner sees elsewhere in a seeded, paused-clock run.
#[derive(Debug)]
pub(crate) struct NodeLeases {
    rng: crate::shared::Rng,
}

impl Default for NodeLeases {
    fn default() -> Self {
        Self {
            rng: crate::shared::Rng::new(0x006c_6561_7365),
        }
    }
}

impl Controller<Shared> for NodeLeases {
    fn name(&self) -> &'static str {
        "nodelease"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["nodes"]
    }

    fn on_change(&mut self, change: &Change<'_>, _ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        if change.change == ChangeType::Deleted {
            queue.remove(change.key());
        } else if change.change == ChangeType::Added {
            queue.key(change.key());
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let Ok(node) = ctx.store.get::<Node>("", key) else {
            return Ok(Action::await_change());
        };
        renew(ctx, &node, now);
        let next = RENEW_INTERVAL.mul_f64(1.0 + JITTER * self.rng.unit());
        Ok(Action::requeue(next))
    }

    fn resync(&mut self, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        for n in ctx.store.list::<Node>(None) {
            if let Some(name) = n.metadata.name {
                queue.key(name);
            }
        }
    }
}

/// Create the node's Lease, or move its `renewTime` to `now`.
fn renew(sh: &Shared, node: &Node, now: Timestamp) {
    let name = node.metadata.name.clone().unwrap_or_default();
    let renewed = sh.store.update_with::<Lease>(NAMESPACE, &name, |l| {
        let spec = l.spec.get_or_insert_with(Default::default);
        spec.renew_time = Some(MicroTime(now));
        spec.holder_identity = Some(name.clone());
        spec.lease_duration_seconds = Some(DURATION_SECONDS);
    });
    if renewed.is_ok() {
        return;
    }
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(NAMESPACE.into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "Node".into(),
                name: name.clone(),
                uid: node.metadata.uid.clone().unwrap_or_default(),
                ..Default::default()
            }]),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name.clone()),
            lease_duration_seconds: Some(DURATION_SECONDS),
            renew_time: Some(MicroTime(now)),
            ..Default::default()
        }),
    };
    let _ = sh.store.create_typed(NAMESPACE, &lease);
}

//! The kubelets on the reconciler runtime: one controller for every node's kubelet, as
//! `kubelet.go`'s `syncLoop` is the one place a real kubelet hears about pod changes (its
//! config source), and about its timers (pod worker syncs, PLEG relists, probes).
//!
//! A pod change reaches the kubelet of the pod's node through [`Controller::on_change`]. A
//! kubelet's timers are keys of this controller: unlike an object key, a timer is queued once
//! per plan (a pod may have a sync and a stale sync, a probe and a program step waiting at
//! once), so each timer gets a key of its own (`sync <uid> #17`), fires once, and plans the
//! next ones through the queue it is reconciled with. Timers set at the same moment as other
//! controllers' keys keep the order they were set in, because they share one queue.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;

use super::node_status::{register_new_nodes, start_kubelet};
use super::{Containers, Ctx, Kubelet, Runtime};
use crate::kinds;
use crate::shared::Shared;
use crate::{Action, Change, ChangeType, Controller, Enqueue};

/// A kubelet timer in virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Pod worker sync.
    Sync(String),
    /// PLEG relist for a pod.
    Relist(String),
    /// A container program's next step (pod uid, container index, run epoch).
    Program(String, usize, u64),
    /// A probe (pod uid, container index, run epoch, liveness?).
    Probe(String, usize, u64, bool),
    /// Remove a terminated pod.
    Finalize(String),
}

impl fmt::Display for Wake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wake::Sync(uid) => write!(f, "sync {uid}"),
            Wake::Relist(uid) => write!(f, "relist {uid}"),
            Wake::Program(uid, i, epoch) => write!(f, "program {uid} {i} {epoch}"),
            Wake::Probe(uid, i, epoch, liveness) => {
                let which = if *liveness { "liveness" } else { "readiness" };
                write!(f, "{which} {uid} {i} {epoch}")
            }
            Wake::Finalize(uid) => write!(f, "finalize {uid}"),
        }
    }
}

/// Every node's kubelet, as one controller.
#[derive(Debug)]
pub(crate) struct Kubelets {
    kubelets: Vec<Kubelet>,
    runtime: Arc<Runtime>,
    /// The timers waiting in the queue, by their key.
    timers: HashMap<String, Wake>,
    /// The number in the next timer's key.
    next_timer: u64,
    /// How many nodes there were at the last look (a new node's addresses follow theirs).
    known_nodes: usize,
    /// The running containers exec and attach reach (see [`super::streams`]).
    containers: Arc<Containers>,
}

impl Kubelets {
    pub(crate) const NAME: &str = "kubelet";
    /// The key that steps main processes whose stdin input arrived.
    pub(crate) const INPUT_KEY: &str = "stdin input";

    /// A kubelet for each of `nodes`, each recording its start-up events.
    pub(crate) fn start(
        sh: &mut Shared,
        runtime: Arc<Runtime>,
        nodes: &[Node],
        containers: Arc<Containers>,
    ) -> Self {
        let now = sh.store.clock().now();
        let kubelets = nodes
            .iter()
            .map(|n| start_kubelet(&sh.store, &mut sh.recorder, &runtime, n, now))
            .collect();
        Kubelets {
            kubelets,
            runtime,
            timers: HashMap::new(),
            next_timer: 0,
            known_nodes: nodes.len(),
            containers,
        }
    }

    /// Register nodes created through the API, and start a kubelet on every node without one.
    fn reload_nodes(&mut self, sh: &mut Shared) {
        register_new_nodes(&sh.store, self.known_nodes);
        let nodes = sh.store.list::<Node>(None);
        self.known_nodes = nodes.len();
        let now = sh.store.clock().now();
        for n in &nodes {
            let name = n.metadata.name.as_deref().unwrap_or_default();
            if self.kubelets.iter().any(|k| k.node == name) {
                continue;
            }
            let k = start_kubelet(&sh.store, &mut sh.recorder, &self.runtime, n, now);
            self.kubelets.push(k);
        }
    }

    /// Run `f` on the kubelets with a context for `now`, then queue the timers they set, in
    /// the order they set them.
    fn with_kubelets(
        &mut self,
        sh: &mut Shared,
        queue: &mut Enqueue<'_>,
        f: impl FnOnce(&mut [Kubelet], &mut Ctx<'_>),
    ) {
        let mut wakes = Vec::new();
        let mut cx = Ctx {
            now: queue.now(),
            rng: &mut sh.rng,
            wakes: &mut wakes,
            rec: &mut sh.recorder,
            store: &sh.store,
            containers: &self.containers,
        };
        f(&mut self.kubelets, &mut cx);
        for (at, wake) in wakes {
            self.next_timer += 1;
            let key = format!("{wake} #{}", self.next_timer);
            queue.key_at(key.clone(), at);
            self.timers.insert(key, wake);
        }
    }
}

impl Controller<Shared> for Kubelets {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn watches(&self) -> &'static [&'static str] {
        &["nodes", "pods"]
    }

    fn on_change(&mut self, change: &Change<'_>, sh: &mut Shared, queue: &mut Enqueue<'_>) {
        if change.resource == "nodes" {
            self.reload_nodes(sh);
            return;
        }
        let pod = change.object;
        let uid = kinds::str_at(pod, "/metadata/uid");
        let node = kinds::str_at(pod, "/spec/nodeName");
        let gone = change.change == ChangeType::Deleted;
        // The informer cache's copy of a live pod (a worker keeps it); a deleted pod's last
        // state only comes with the change.
        let pod = match sh.pods.get(uid) {
            Some(cached) if !gone => cached.clone(),
            _ => Arc::new(pod.clone()),
        };
        if gone {
            // One registry for every node: a deleted pod's containers leave it once.
            self.containers.forget_pod(uid);
        }
        self.with_kubelets(sh, queue, |kubelets, cx| {
            for k in kubelets {
                if gone || k.node == node || k.has(uid) {
                    k.observe(&pod, gone, cx);
                }
            }
        });
    }

    fn reconcile(
        &mut self,
        key: &str,
        _: Timestamp,
        sh: &mut Shared,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        if key == Self::INPUT_KEY {
            for (uid, i, epoch) in self.containers.take_wakes() {
                let wake = Wake::Program(uid, i, epoch);
                self.with_kubelets(sh, queue, |kubelets, cx| {
                    for k in kubelets {
                        k.fire(&wake, cx);
                    }
                });
            }
        } else if let Some(wake) = self.timers.remove(key) {
            self.with_kubelets(sh, queue, |kubelets, cx| {
                for k in kubelets {
                    k.fire(&wake, cx);
                }
            });
        }
        Ok(Action::await_change())
    }

    fn resync(&mut self, sh: &mut Shared, _: &mut Enqueue<'_>) {
        self.reload_nodes(sh);
    }
}

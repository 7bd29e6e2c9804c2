//! The scheduler: fits pending pods onto nodes the way kube-scheduler's default plugins do and
//! reports failures with the real FitError text.
//!
//! Filters, in the default plugin order: NodeUnschedulable, TaintToleration, NodeAffinity
//! (nodeSelector and required node affinity), NodeResourcesFit (cpu, memory, pods). A node
//! fails on the first filter that rejects it; NodeResourcesFit may give several reasons. The
//! message counts reasons across nodes, sorted, then adds the preemption verdict
//! (`pkg/scheduler/framework/types.go` FitError.Error and
//! `plugins/defaultpreemption` PostFilter), which is how the famous double period comes about:
//! `0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No
//! preemption victims found for incoming pod..`
//!
//! Retries follow the scheduling queue: an unschedulable pod moves back to the active queue
//! when the cluster changes (a node added or updated, a pod deleted), after its per-pod back-off
//! (1 s doubling to 10 s), and otherwise after five minutes. An update of the unschedulable pod
//! itself moves it the same way when a plug-in that rejected it says the update may help (the
//! queueing hints, on by default since 1.32): TaintToleration for any added toleration,
//! NodeUnschedulable for one that tolerates `node.kubernetes.io/unschedulable:NoSchedule`
//! (`isSchedulableAfterPodTolerationChange` in both plug-ins; `PriorityQueue.Update`). Other
//! edits of a pending pod (labels, annotations, an added toleration that no rejecting plug-in
//! cares about) leave it waiting.
//!
//! The scheduler is a controller on the reconciler runtime ([`Scheduler`]), keyed by pod uid:
//! its change handler is kube-scheduler's informer event handler (queue an unbound pod of
//! ours once; on a node change or a pod deletion, move unschedulable pods up), and a
//! reconcile is one scheduling attempt.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use crate::{Action, Change, ChangeType, Controller, Enqueue};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod};
use kq_kube::scheduling::{self, Filter, Requests};
use serde_json::Value;

use crate::kinds;
use crate::recorder::Regarding;
use crate::shared::Shared;

/// `DefaultPodMaxInUnschedulablePodsDuration`.
pub(crate) const UNSCHEDULABLE_RETRY: Duration = Duration::from_secs(300);
const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[cfg(test)]
pub(crate) use kq_kube::scheduling::pod_requests;
pub(crate) use kq_kube::scheduling::{NodeUsage, affinity_matches, tolerates};

/// Why one node was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeVerdict {
    /// The plug-in that rejected the node.
    filter: Filter,
    reasons: Vec<String>,
    /// Preemption could help (resources) or not (taints, affinity, cordon).
    resolvable: bool,
}

/// The node filters, stopping at the first that rejects the node: the shared
/// [`kq_kube::scheduling`] plug-ins, so the engine's table of verdicts agrees with this
/// scheduler's FitError by construction.
fn filter(pod: &Pod, node: &Node, usage: NodeUsage, want: Requests) -> Result<(), NodeVerdict> {
    match scheduling::filter_node(pod, node, usage, want) {
        None => Ok(()),
        Some(v) => Err(NodeVerdict {
            filter: v.filter,
            reasons: v.reasons,
            resolvable: v.resolvable,
        }),
    }
}

/// The outcome of one scheduling attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement {
    Node(String),
    Unschedulable(String),
}

/// Pick a node for `pod` or explain why none fits. `usage` maps node name to what is placed.
#[cfg(test)]
pub(crate) fn place(pod: &Pod, nodes: &[Node], usage: &HashMap<String, NodeUsage>) -> Placement {
    place_with(pod, nodes, usage, &|_| None).0
}

/// [`place`] with the filters that come after NodeResourcesFit (VolumeBinding): `later`
/// gives a node's unresolvable rejection, if any. Also returns the plug-ins that rejected a
/// node (the pod's `UnschedulablePlugins`).
fn place_with(
    pod: &Pod,
    nodes: &[Node],
    usage: &HashMap<String, NodeUsage>,
    later: &dyn Fn(&Node) -> Option<String>,
) -> (Placement, BTreeSet<Filter>) {
    let want = scheduling::pod_requests(pod);
    let mut best: Option<(i128, String)> = None;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let (mut no_victims, mut not_helpful) = (0usize, 0usize);
    let mut rejectors = BTreeSet::new();
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let u = usage.get(&name).copied().unwrap_or_default();
        let verdict = filter(pod, node, u, want).and_then(|()| match later(node) {
            None => Ok(()),
            Some(r) => Err(NodeVerdict {
                filter: Filter::VolumeBinding,
                reasons: vec![r],
                resolvable: false,
            }),
        });
        match verdict {
            Ok(()) => {
                // LeastAllocated: prefer the node with the most cpu left (then by name).
                let free = scheduling::allocatable(node, "cpu", true)
                    - u.requests.cpu_milli
                    - want.cpu_milli;
                let better = match &best {
                    None => true,
                    Some((f, n)) => free > *f || (free == *f && name < *n),
                };
                if better {
                    best = Some((free, name));
                }
            }
            Err(v) => {
                rejectors.insert(v.filter);
                for r in v.reasons {
                    *counts.entry(r).or_default() += 1;
                }
                if v.resolvable {
                    no_victims += 1;
                } else {
                    not_helpful += 1;
                }
            }
        }
    }
    if let Some((_, name)) = best {
        return (Placement::Node(name), BTreeSet::new());
    }
    (
        Placement::Unschedulable(fit_error(nodes.len(), &counts, no_victims, not_helpful)),
        rejectors,
    )
}

/// The FitError text with its preemption suffix.
fn fit_error(
    total: usize,
    counts: &BTreeMap<String, usize>,
    no_victims: usize,
    not_helpful: usize,
) -> String {
    let mut reasons: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    reasons.sort();
    let mut post: Vec<String> = Vec::new();
    if no_victims > 0 {
        post.push(format!(
            "{no_victims} No preemption victims found for incoming pod"
        ));
    }
    if not_helpful > 0 {
        post.push(format!(
            "{not_helpful} Preemption is not helpful for scheduling"
        ));
    }
    post.sort();
    format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {}..",
        reasons.join(", "),
        post.join(", ")
    )
}

/// Per-pod queue state.
#[derive(Debug, Clone)]
pub(crate) struct QueuedPod {
    pub attempts: u32,
    pub next_attempt: Timestamp,
    pub last_attempt: Option<Timestamp>,
    /// The plug-ins that rejected the pod at its last attempt.
    pub rejectors: BTreeSet<Filter>,
    /// How many tolerations the pod had when last seen: the API only lets them be added, so a
    /// different count is a toleration update (`framework.UpdatePodToleration`).
    pub tolerations: usize,
}

impl QueuedPod {
    pub(crate) fn new(now: Timestamp) -> Self {
        QueuedPod {
            attempts: 0,
            next_attempt: now,
            last_attempt: None,
            rejectors: BTreeSet::new(),
            tolerations: 0,
        }
    }

    /// The queueing hints for an update of the pod itself (`isPodWorthRequeuing` with the
    /// `UpdatePodToleration` event): may the update make the pod schedulable?
    pub(crate) fn worth_requeuing(&self, pod: &Pod) -> bool {
        let tolerations = pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_ref())
            .map_or(0, Vec::len);
        if self.last_attempt.is_none() || tolerations == self.tolerations {
            return false;
        }
        let unschedulable = k8s_openapi::api::core::v1::Taint {
            key: scheduling::TAINT_UNSCHEDULABLE.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        self.rejectors.contains(&Filter::TaintToleration)
            || (self.rejectors.contains(&Filter::NodeUnschedulable)
                && tolerates(pod, &unschedulable))
    }

    fn backoff(&self) -> Duration {
        let exp = self.attempts.saturating_sub(1).min(8);
        (INITIAL_BACKOFF * 2u32.pow(exp)).min(MAX_BACKOFF)
    }

    /// After a failed attempt at `now`, rejected by `rejectors`: wait for a cluster change, or
    /// five minutes.
    pub(crate) fn failed(&mut self, now: Timestamp, rejectors: BTreeSet<Filter>) {
        self.rejectors = rejectors;
        self.attempts += 1;
        self.last_attempt = Some(now);
        self.next_attempt = add(now, UNSCHEDULABLE_RETRY);
    }

    /// The cluster changed in a way that may help: retry once the back-off allows.
    pub(crate) fn cluster_changed(&mut self, now: Timestamp) {
        let earliest = self
            .last_attempt
            .map_or(now, |t| add(t, self.backoff()))
            .max(now);
        if earliest < self.next_attempt {
            self.next_attempt = earliest;
        }
    }
}

pub(crate) fn add(t: Timestamp, d: Duration) -> Timestamp {
    crate::queue::at_after(t, d)
}

/// The scheduler on the reconciler runtime: the scheduling queue's per-pod state, by uid.
#[derive(Debug, Default)]
pub(crate) struct Scheduler {
    queue: BTreeMap<String, QueuedPod>,
    /// Pods assumed on a node while their `WaitForFirstConsumer` claims are provisioned
    /// (VolumeBinding's PreBind): uid → node.
    binding_volumes: BTreeMap<String, String>,
    /// What each bound pod that still runs holds (uid → node and requests), kept from the
    /// pod changes as kube-scheduler's cache is, so an attempt does not decode every pod.
    placed: HashMap<String, (String, Requests)>,
    /// The sums of `placed` by node: [`usage`] of the pod cache, kept up to date.
    by_node: HashMap<String, NodeUsage>,
}

impl Scheduler {
    /// Count a pod's change into the node usage: what it held before goes, what it holds now
    /// comes (nothing once it is deleted, unbound or finished).
    fn track_usage(&mut self, uid: &str, pod: Option<&Value>) {
        if let Some((node, requests)) = self.placed.remove(uid)
            && let Some(u) = self.by_node.get_mut(&node)
        {
            u.remove(requests);
            if u.pods == 0 {
                self.by_node.remove(&node);
            }
        }
        let Some((node, requests)) = pod.and_then(placed_on) else {
            return;
        };
        self.by_node.entry(node.clone()).or_default().add(requests);
        self.placed.insert(uid.to_string(), (node, requests));
    }

    /// Unschedulable pods get another look once their back-off allows.
    fn cluster_changed(&mut self, queue: &mut Enqueue<'_>) {
        let now = queue.now();
        for (uid, q) in &mut self.queue {
            let before = q.next_attempt;
            q.cluster_changed(now);
            if q.next_attempt < before {
                queue.key_at(uid.clone(), q.next_attempt);
            }
        }
    }
}

/// The node a pod holds and what it holds there, when it is bound and still runs
/// ([`scheduling::add_pod_usage`], which the engine's table uses too).
fn placed_on(p: &Value) -> Option<(String, Requests)> {
    let node = kinds::str_at(p, "/spec/nodeName");
    let phase = kinds::str_at(p, "/status/phase");
    if node.is_empty() || phase == "Succeeded" || phase == "Failed" {
        return None;
    }
    let typed = serde_json::from_value::<Pod>(p.clone()).ok()?;
    Some((node.to_string(), scheduling::pod_requests(&typed)))
}

/// What is placed on each node: requests of the pods bound there that still run. The
/// scheduler keeps this up to date itself; a debug build checks it against the pod cache.
#[cfg(debug_assertions)]
fn usage(pods: &HashMap<String, std::sync::Arc<Value>>) -> HashMap<String, NodeUsage> {
    let mut usage: HashMap<String, NodeUsage> = HashMap::new();
    for (node, requests) in pods.values().filter_map(|p| placed_on(p)) {
        usage.entry(node).or_default().add(requests);
    }
    usage
}

impl Controller<Shared> for Scheduler {
    fn name(&self) -> &'static str {
        "scheduler"
    }

    fn watches(&self) -> &'static [&'static str] {
        &[
            "nodes",
            "pods",
            "persistentvolumeclaims",
            "persistentvolumes",
        ]
    }

    fn on_change(&mut self, change: &Change<'_>, _: &mut Shared, queue: &mut Enqueue<'_>) {
        if change.resource == "nodes" {
            self.cluster_changed(queue);
            return;
        }
        if change.resource != "pods" {
            // A claim or volume changed: pods waiting on volumes look again.
            for uid in self.binding_volumes.keys() {
                queue.key(uid.clone());
            }
            self.cluster_changed(queue);
            return;
        }
        let pod = change.object;
        let uid = kinds::str_at(pod, "/metadata/uid").to_string();
        let deleted = change.change == ChangeType::Deleted;
        self.track_usage(&uid, (!deleted).then_some(pod));
        if deleted {
            self.queue.remove(&uid);
            self.binding_volumes.remove(&uid);
            // Room freed on a node: unschedulable pods get another look.
            self.cluster_changed(queue);
            return;
        }
        let unbound = kinds::str_at(pod, "/spec/nodeName").is_empty();
        let ours = matches!(
            kinds::str_at(pod, "/spec/schedulerName"),
            "" | "default-scheduler"
        );
        let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
        let tolerations = pod
            .pointer("/spec/tolerations")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if unbound && ours && !deleting {
            let now = queue.now();
            match self.queue.get_mut(&uid) {
                None => {
                    let mut q = QueuedPod::new(now);
                    q.tolerations = tolerations;
                    self.queue.insert(uid.clone(), q);
                    queue.key(uid.clone());
                }
                Some(q) => {
                    // The pod itself changed: requeue it (after its back-off) when a plug-in
                    // that rejected it says the update may help.
                    let helps = serde_json::from_value::<Pod>(pod.clone())
                        .is_ok_and(|typed| q.worth_requeuing(&typed));
                    q.tolerations = tolerations;
                    if helps {
                        let before = q.next_attempt;
                        q.cluster_changed(now);
                        if q.next_attempt < before {
                            queue.key_at(uid.clone(), q.next_attempt);
                        }
                    }
                }
            }
        }
        if !unbound {
            self.queue.remove(&uid);
            self.binding_volumes.remove(&uid);
        }
    }

    /// One scheduling attempt: bind the pod to the node that fits, or record why none does
    /// and retry after five minutes (or sooner, when the cluster changes).
    fn reconcile(
        &mut self,
        uid: &str,
        now: Timestamp,
        sh: &mut Shared,
        _: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let Some(q) = self.queue.get(uid) else {
            return Ok(Action::await_change());
        };
        if q.next_attempt > now {
            let wait = Duration::try_from(q.next_attempt.duration_since(now)).unwrap_or_default();
            return Ok(Action::requeue(wait));
        }
        let Some(pod) = sh.pods.get(uid).cloned() else {
            return Ok(Action::await_change());
        };
        let Ok(typed) = serde_json::from_value::<Pod>((*pod).clone()) else {
            return Ok(Action::await_change());
        };
        let (ns, name) = (
            kinds::namespace_of(&pod).to_string(),
            kinds::name_of(&pod).to_string(),
        );
        #[cfg(debug_assertions)]
        debug_assert_eq!(self.by_node, usage(&sh.pods), "the scheduler's node usage");
        let store = sh.store.clone();
        let (placement, rejectors) = match volumes::prefilter(&store, &pod) {
            Err(msg) => (
                Placement::Unschedulable(volumes::prefilter_error(sh.nodes.len(), &msg)),
                BTreeSet::from([Filter::VolumeBinding]),
            ),
            Ok(claims) => match self.binding_volumes.get(uid) {
                Some(node) => (Placement::Node(node.clone()), BTreeSet::new()),
                None => place_with(&typed, &sh.nodes, &self.by_node, &|n| {
                    volumes::filter(&store, &claims, n)
                }),
            },
        };
        match placement {
            Placement::Node(node) => {
                // VolumeBinding's PreBind: claims waiting for a consumer learn the node, and
                // the pod is bound once they are.
                if !volumes::claims_ready(&store, &pod, &node) {
                    self.binding_volumes.insert(uid.to_string(), node);
                    return Ok(Action::requeue(Duration::from_secs(1)));
                }
                self.binding_volumes.remove(uid);
                if store.bind_pod(&ns, &name, &node).is_ok() {
                    self.queue.remove(uid);
                    let fresh = store.get_raw(&kinds::pod::KIND, &ns, &name).unwrap_or(pod);
                    sh.recorder.scheduler(
                        &store,
                        now,
                        &Regarding::pod(&fresh, None),
                        "Normal",
                        "Scheduled",
                        "Binding",
                        &format!("Successfully assigned {ns}/{name} to {node}"),
                    );
                }
                Ok(Action::await_change())
            }
            Placement::Unschedulable(message) => {
                let _ = store.update_status::<Pod>(&ns, &name, |p| {
                    let st = p.status.get_or_insert_with(Default::default);
                    let conds = st.conditions.get_or_insert_with(Vec::new);
                    let existing = conds.iter().position(|c| c.type_ == "PodScheduled");
                    let same = existing.is_some_and(|i| {
                        conds[i].status == "False"
                            && conds[i].message.as_deref() == Some(message.as_str())
                    });
                    if !same {
                        if let Some(i) = existing {
                            conds.remove(i);
                        }
                        conds.push(k8s_openapi::api::core::v1::PodCondition {
                            type_: "PodScheduled".into(),
                            status: "False".into(),
                            reason: Some("Unschedulable".into()),
                            message: Some(message.clone()),
                            last_transition_time: Some(
                                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now),
                            ),
                            ..Default::default()
                        });
                    }
                    st.phase.get_or_insert_with(|| "Pending".into());
                });
                sh.recorder.scheduler(
                    &store,
                    now,
                    &Regarding::pod(&pod, None),
                    "Warning",
                    "FailedScheduling",
                    "Scheduling",
                    &message,
                );
                match self.queue.get_mut(uid) {
                    Some(q) => {
                        q.failed(now, rejectors);
                        Ok(Action::requeue(UNSCHEDULABLE_RETRY))
                    }
                    None => Ok(Action::await_change()),
                }
            }
        }
    }
}

/// The VolumeBinding plugin (`pkg/scheduler/framework/plugins/volumebinding`): PreFilter
/// refuses a pod whose claims are missing, being deleted, bound to a missing volume or unbound
/// with an `Immediate` class; Filter checks bound volumes' node affinity and that a
/// `WaitForFirstConsumer` claim can get a volume on the node; PreBind writes the chosen node
/// on such claims (`volume.kubernetes.io/selected-node`) and waits until they are bound.
mod volumes {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::{Node, NodeSelector};
    use serde_json::Value;

    use kq_kube::scheduling;

    use crate::kinds;
    use crate::persistentvolume::{ANN_SELECTED_NODE, claim_class, find_match};
    use crate::store::Store;

    /// The pod's claims: the bound volumes and the claims that wait for a consumer.
    #[derive(Debug, Default)]
    pub(super) struct Claims {
        bound: Vec<Arc<Value>>,
        delayed: Vec<Arc<Value>>,
    }

    fn claim_names(pod: &Value) -> Vec<String> {
        pod.pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    }

    /// PreFilter; the error is the plugin's status message.
    pub(super) fn prefilter(store: &Store, pod: &Value) -> Result<Claims, String> {
        let ns = kinds::namespace_of(pod);
        let mut out = Claims::default();
        let mut unbound_immediate = false;
        for name in claim_names(pod) {
            let Some(claim) = store.get_raw(&kinds::persistentvolumeclaim::KIND, ns, &name) else {
                return Err(format!("persistentvolumeclaim {name:?} not found"));
            };
            if claim.pointer("/metadata/deletionTimestamp").is_some() {
                return Err(format!("persistentvolumeclaim {name:?} is being deleted"));
            }
            let volume = kinds::str_at(&claim, "/spec/volumeName");
            if !volume.is_empty() {
                match store.get_raw(&kinds::persistentvolume::KIND, "", volume) {
                    Some(pv) => out.bound.push(pv),
                    None => {
                        return Err(format!(
                            "persistentvolumeclaim {name:?} bound to non-existent persistentvolume {volume:?}"
                        ));
                    }
                }
                continue;
            }
            let class = claim_class(&claim).unwrap_or_default();
            let wffc = !class.is_empty()
                && store
                    .get_raw(&kinds::storageclass::KIND, "", &class)
                    .is_some_and(|c| {
                        kinds::str_at(&c, "/volumeBindingMode") == "WaitForFirstConsumer"
                    });
            if wffc {
                out.delayed.push(claim);
            } else {
                unbound_immediate = true;
            }
        }
        if unbound_immediate {
            return Err("pod has unbound immediate PersistentVolumeClaims".into());
        }
        Ok(out)
    }

    /// A PreFilter rejection as the FitError prints it: the message replaces the per-node
    /// reasons, and preemption cannot help on any node.
    pub(super) fn prefilter_error(nodes: usize, msg: &str) -> String {
        format!(
            "0/{nodes} nodes are available: {msg}. preemption: 0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling."
        )
    }

    fn affinity_ok(pv: &Value, node: &Node) -> bool {
        let Some(required) = pv
            .pointer("/spec/nodeAffinity/required")
            .filter(|v| !v.is_null())
        else {
            return true;
        };
        let Ok(sel) = serde_json::from_value::<NodeSelector>(required.clone()) else {
            return true;
        };
        sel.node_selector_terms
            .iter()
            .any(|t| scheduling::term_matches(t, node))
    }

    /// Filter: the node's reason for refusing, if any.
    pub(super) fn filter(store: &Store, claims: &Claims, node: &Node) -> Option<String> {
        if claims.bound.iter().any(|pv| !affinity_ok(pv, node)) {
            return Some(scheduling::REASON_VOLUME_NODE_CONFLICT.into());
        }
        if claims.delayed.is_empty() {
            return None;
        }
        let volumes = store.list_raw(&kinds::persistentvolume::KIND, None);
        for claim in &claims.delayed {
            let fits_static =
                find_match(claim, &volumes, false).is_some_and(|pv| affinity_ok(pv, node));
            if fits_static {
                continue;
            }
            let class = claim_class(claim).unwrap_or_default();
            let provisioner = store
                .get_raw(&kinds::storageclass::KIND, "", &class)
                .map(|c| kinds::str_at(&c, "/provisioner").to_string())
                .unwrap_or_default();
            if provisioner == "kubernetes.io/no-provisioner" || provisioner.is_empty() {
                return Some(scheduling::REASON_VOLUME_BIND_CONFLICT.into());
            }
        }
        None
    }

    /// PreBind: name the node on claims still waiting for it; are all the pod's claims bound?
    pub(super) fn claims_ready(store: &Store, pod: &Value, node: &str) -> bool {
        let ns = kinds::namespace_of(pod);
        let mut ready = true;
        for name in claim_names(pod) {
            let Some(claim) = store.get_raw(&kinds::persistentvolumeclaim::KIND, ns, &name) else {
                continue;
            };
            if !kinds::str_at(&claim, "/spec/volumeName").is_empty() {
                continue;
            }
            ready = false;
            let selected = claim
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(ANN_SELECTED_NODE))
                .and_then(Value::as_str);
            if selected != Some(node) {
                let _ = store.update_with::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(
                    ns,
                    &name,
                    |c| {
                        c.metadata
                            .annotations
                            .get_or_insert_with(Default::default)
                            .insert(ANN_SELECTED_NODE.into(), node.to_string());
                    },
                );
            }
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(v: serde_json::Value) -> Node {
        serde_json::from_value(v).unwrap()
    }

    fn node_1() -> Node {
        node(
            json!({"metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
            "status": {"allocatable": {"cpu": "2", "memory": "3912660Ki", "pods": "110"}}}),
        )
    }

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn cpu_pod(cpu: &str) -> Pod {
        pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x",
            "resources": {"requests": {"cpu": cpu}}}]}}),
        )
    }

    #[test]
    fn insufficient_cpu_has_the_real_text_with_the_double_period() {
        let got = place(&cpu_pod("6"), &[node_1()], &HashMap::new());
        assert_eq!(
            got,
            Placement::Unschedulable(
                "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..".into()
            )
        );
        assert_eq!(
            place(&cpu_pod("250m"), &[node_1()], &HashMap::new()),
            Placement::Node("node-1".into())
        );
    }

    #[test]
    fn usage_counts_and_reasons_are_sorted_across_nodes() {
        let tainted = node(json!({"metadata": {"name": "cp", "labels": {}},
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "8", "memory": "8Gi", "pods": "110"}}}));
        let mut usage = HashMap::new();
        usage.insert(
            "node-1".to_string(),
            NodeUsage {
                requests: Requests {
                    cpu_milli: 1900,
                    memory: 0,
                },
                pods: 3,
            },
        );
        let got = place(&cpu_pod("250m"), &[node_1(), tainted], &usage);
        assert_eq!(
            got,
            Placement::Unschedulable(
                "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling..".into()
            )
        );
    }

    #[test]
    fn selector_tolerations_and_pod_count() {
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"nodeSelector": {"disktype": "ssd"},
            "containers": [{"name": "c", "image": "x"}]}}),
        );
        assert!(matches!(place(&p, &[node_1()], &HashMap::new()),
            Placement::Unschedulable(m) if m.starts_with("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..")));
        let mut usage = HashMap::new();
        usage.insert(
            "node-1".to_string(),
            NodeUsage {
                requests: Requests::default(),
                pods: 110,
            },
        );
        assert!(matches!(place(&cpu_pod("10m"), &[node_1()], &usage),
            Placement::Unschedulable(m) if m.contains("1 Too many pods.")));
        let tainted = node(
            json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "10"}}}),
        );
        let tolerant = pod(
            json!({"metadata": {"name": "p"}, "spec": {"tolerations": [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
            "containers": [{"name": "c", "image": "x"}]}}),
        );
        assert_eq!(
            place(&tolerant, std::slice::from_ref(&tainted), &HashMap::new()),
            Placement::Node("n".into())
        );
        assert!(
            matches!(place(&cpu_pod("10m"), &[tainted], &HashMap::new()),
            Placement::Unschedulable(m) if m.contains("1 node(s) had untolerated taint {gpu: true}"))
        );
    }

    #[test]
    fn init_containers_count_by_their_maximum() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "i", "image": "x", "resources": {"requests": {"cpu": "1500m"}}}],
            "containers": [{"name": "a", "image": "x", "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}}},
                           {"name": "b", "image": "x", "resources": {"requests": {"cpu": "250m"}}}]}}));
        assert_eq!(
            pod_requests(&p),
            Requests {
                cpu_milli: 1500,
                memory: 64 * 1024 * 1024
            }
        );
    }

    #[test]
    fn only_an_added_toleration_a_rejecting_plugin_cares_about_requeues_the_pod() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let with = |tolerations: serde_json::Value| {
            pod(json!({"metadata": {"name": "p", "labels": {"app": "x"}},
                "spec": {"tolerations": tolerations, "containers": [{"name": "c", "image": "x"}]}}))
        };
        let gpu = json!([{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]);
        let cordon = json!([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]);
        // Not tried yet: the update is picked up by the coming attempt anyway.
        let fresh = QueuedPod::new(t0);
        assert!(!fresh.worth_requeuing(&with(gpu.clone())));
        // Rejected by a taint: any added toleration may help; nothing else does.
        let mut tainted = QueuedPod::new(t0);
        tainted.failed(t0, BTreeSet::from([Filter::TaintToleration]));
        assert!(!tainted.worth_requeuing(&with(json!([]))));
        assert!(tainted.worth_requeuing(&with(gpu.clone())));
        // Rejected by a cordon: only a toleration of the unschedulable taint helps.
        let mut cordoned = QueuedPod::new(t0);
        cordoned.failed(t0, BTreeSet::from([Filter::NodeUnschedulable]));
        assert!(!cordoned.worth_requeuing(&with(gpu)));
        assert!(cordoned.worth_requeuing(&with(cordon.clone())));
        // Rejected for cpu: tolerations cannot help.
        let mut cpu = QueuedPod::new(t0);
        cpu.failed(t0, BTreeSet::from([Filter::NodeResourcesFit]));
        assert!(!cpu.worth_requeuing(&with(cordon)));
    }

    #[test]
    fn rejecting_plugins_are_those_that_refused_a_node() {
        let tainted = node(json!({"metadata": {"name": "cp"},
            "spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "8", "memory": "8Gi", "pods": "110"}}}));
        let (_, rejectors) = place_with(
            &cpu_pod("4"),
            &[node_1(), tainted],
            &HashMap::new(),
            &|_| None,
        );
        assert_eq!(
            rejectors,
            BTreeSet::from([Filter::TaintToleration, Filter::NodeResourcesFit])
        );
    }

    #[test]
    fn queue_retries_after_changes_with_backoff_or_after_five_minutes() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut q = QueuedPod::new(t0);
        q.failed(t0, BTreeSet::new());
        assert_eq!(q.next_attempt, add(t0, UNSCHEDULABLE_RETRY));
        q.cluster_changed(t0);
        assert_eq!(q.next_attempt, add(t0, Duration::from_secs(1)));
    }
}

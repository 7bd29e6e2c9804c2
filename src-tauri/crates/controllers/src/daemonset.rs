//! The DaemonSet controller: one pod per eligible node, as Kubernetes does in
//! `pkg/controller/daemon/daemon_controller.go` (which nodes should run a daemon pod, what to
//! create and delete per node, failed-pod back-off, status), `update.go` (ControllerRevision
//! history and the rolling update with maxUnavailable / maxSurge) and
//! `pkg/controller/daemon/util/daemonset_util.go` (the pod template's labels, the tolerations
//! every daemon pod gets, the node-name affinity, `IsPodUpdated`).
//!
//! Node eligibility uses the scheduler's own predicates (`crate::scheduler`): the template's
//! nodeSelector and required node affinity, and its tolerations (plus the automatic ones)
//! against the node's NoSchedule / NoExecute taints; a control-plane taint is not tolerated
//! unless the template says so. Unset fields are read with the API server's defaults
//! (`RollingUpdate`, maxUnavailable 1, maxSurge 0, revisionHistoryLimit 10).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use serde_json::{Map, Value, json};

use crate::backoff::Backoff;
use crate::history;
use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::scheduler;
use crate::shared::Shared;
use crate::store::{DeleteOptions, WriteOptions};
use crate::workload::{self, PodName};

/// The label holding the revision hash (`apps.DefaultDaemonSetUniqueLabelKey`).
const HASH_LABEL: &str = "controller-revision-hash";
/// The label holding the template generation (`extensions.DaemonSetTemplateGenerationKey`).
const GENERATION_LABEL: &str = "pod-template-generation";
/// The annotation the API server keeps the template generation in.
const GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";
/// The most pods one sync creates (`BurstReplicas`).
const BURST_REPLICAS: usize = 250;

/// The daemonset controller, with its failed-pod back-off per (daemon set, node).
#[derive(Debug)]
pub(crate) struct DaemonSetController {
    failed_pods: Backoff,
}

impl Default for DaemonSetController {
    fn default() -> Self {
        DaemonSetController {
            failed_pods: Backoff::new(Duration::from_secs(1), Duration::from_secs(15 * 60)),
        }
    }
}

fn ds_kind() -> &'static ResourceKind {
    &kinds::daemonset::KIND
}

impl Controller<Shared> for DaemonSetController {
    fn name(&self) -> &'static str {
        "daemonset"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/daemonsets", "pods", "nodes"]
    }

    fn on_change(&mut self, change: &Change<'_>, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        match change.resource {
            "pods" => workload::dependent_change(ctx, ds_kind(), change, queue),
            "nodes" => {
                // Any daemon set may want (or no longer want) a pod on the node.
                for ds in ctx.store.list_raw(ds_kind(), None) {
                    queue.key(crate::reconciler::object_key(&ds));
                }
            }
            _ => workload::own_change(change, queue),
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let Some(ds) = ctx.store.get_raw(ds_kind(), ns, name) else {
            self.failed_pods.forget_prefix(&format!("{key}/"));
            return Ok(Action::await_change());
        };
        self.sync(ctx, &ds, key, now)
    }
}

/// The daemon set's spec as the controller reads it, defaults applied.
struct Spec {
    rolling: bool,
    max_unavailable: Value,
    max_surge: Value,
    history_limit: i64,
    min_ready: Duration,
    /// The template generation (the API server's annotation, else the object's generation).
    generation: Option<String>,
}

impl Spec {
    fn of(ds: &Value) -> Spec {
        let strategy = ds
            .pointer("/spec/updateStrategy/type")
            .and_then(Value::as_str)
            .unwrap_or("RollingUpdate");
        let ru = ds.pointer("/spec/updateStrategy/rollingUpdate");
        let generation = ds
            .pointer(&format!(
                "/metadata/annotations/{}",
                GENERATION_ANNOTATION.replace('/', "~1")
            ))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                ds.pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .map(|g| g.to_string())
            });
        Spec {
            rolling: strategy == "RollingUpdate",
            max_unavailable: ru
                .and_then(|r| r.get("maxUnavailable"))
                .cloned()
                .unwrap_or(json!(1)),
            max_surge: ru
                .and_then(|r| r.get("maxSurge"))
                .cloned()
                .unwrap_or(json!(0)),
            history_limit: ds
                .pointer("/spec/revisionHistoryLimit")
                .and_then(Value::as_i64)
                .unwrap_or(10),
            min_ready: Duration::from_secs(
                ds.pointer("/spec/minReadySeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    .max(0)
                    .unsigned_abs(),
            ),
            generation,
        }
    }
}

/// An int-or-percent scaled to `total`, rounding up (`GetScaledValueFromIntOrPercent`).
fn scaled(v: &Value, total: i64) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => p.saturating_mul(total).saturating_add(99) / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// The tolerations every daemon pod gets (`AddOrUpdateDaemonPodTolerations`).
fn daemon_tolerations(host_network: bool) -> Vec<Value> {
    let mut t = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        t.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    t.into_iter()
        .map(|(key, effect)| json!({"key": key, "operator": "Exists", "effect": effect}))
        .collect()
}

/// The pod template with the daemon labels and tolerations (`CreatePodTemplate`).
fn pod_template(ds: &Value, generation: Option<&str>, hash: &str) -> Value {
    let mut t = ds
        .pointer("/spec/template")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    if !t["metadata"].is_object() {
        t["metadata"] = json!({});
    }
    if !t["metadata"]["labels"].is_object() {
        t["metadata"]["labels"] = json!({});
    }
    if let Some(g) = generation {
        t["metadata"]["labels"][GENERATION_LABEL] = json!(g);
    }
    if !hash.is_empty() {
        t["metadata"]["labels"][HASH_LABEL] = json!(hash);
    }
    if !t["spec"].is_object() {
        t["spec"] = json!({});
    }
    let host_network = t["spec"]["hostNetwork"].as_bool() == Some(true);
    let mut tolerations: Vec<Value> = t["spec"]["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for add in daemon_tolerations(host_network) {
        // An identical toleration is updated in place, anything else is added.
        if !tolerations.iter().any(|have| {
            ["key", "operator", "value", "effect"].iter().all(|k| {
                have.get(*k).unwrap_or(&Value::Null) == add.get(*k).unwrap_or(&Value::Null)
            })
        }) {
            tolerations.push(add);
        }
    }
    t["spec"]["tolerations"] = json!(tolerations);
    t
}

/// Pin a pod template to `node` (`ReplaceDaemonSetPodNodeNameNodeAffinity`): the required node
/// affinity becomes the one term `metadata.name In [node]`.
fn pin_to_node(template: &mut Value, node: &str) {
    let term =
        json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]});
    let spec = &mut template["spec"];
    if !spec["affinity"].is_object() {
        spec["affinity"] = json!({});
    }
    if !spec["affinity"]["nodeAffinity"].is_object() {
        spec["affinity"]["nodeAffinity"] = json!({});
    }
    let na = &mut spec["affinity"]["nodeAffinity"];
    if !na["requiredDuringSchedulingIgnoredDuringExecution"].is_object() {
        na["requiredDuringSchedulingIgnoredDuringExecution"] = json!({});
    }
    na["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] = json!([term]);
}

/// The node a daemon pod is for: its node name, else the node its affinity pins it to
/// (`GetTargetNodeName`).
fn target_node(pod: &Value) -> Option<String> {
    let bound = kinds::str_at(pod, "/spec/nodeName");
    if !bound.is_empty() {
        return Some(bound.to_string());
    }
    let terms = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")?
        .as_array()?;
    terms.iter().find_map(|t| {
        t.get("matchFields")?.as_array()?.iter().find_map(|f| {
            let vals = f.get("values")?.as_array()?;
            (kinds::str_at(f, "/key") == "metadata.name"
                && kinds::str_at(f, "/operator") == "In"
                && vals.len() == 1)
                .then(|| vals[0].as_str().map(str::to_string))
                .flatten()
        })
    })
}

/// Should the daemon set run a pod on `node`, and may a pod already there keep running
/// (`NodeShouldRunDaemonPod`)?
fn should_run(template: &Value, node: &Node) -> (bool, bool) {
    let node_name = node.metadata.name.clone().unwrap_or_default();
    let wanted = kinds::str_at(template, "/spec/nodeName");
    if !wanted.is_empty() && wanted != node_name {
        return (false, false);
    }
    let pod_json = json!({"metadata": template.get("metadata").cloned().unwrap_or(json!({})),
        "spec": template.get("spec").cloned().unwrap_or(json!({}))});
    let Ok(pod) = serde_json::from_value::<Pod>(pod_json) else {
        return (false, false);
    };
    if !scheduler::affinity_matches(&pod, node) {
        return (false, false);
    }
    let taints: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let untolerated = |effects: &[&str]| {
        taints
            .iter()
            .any(|t| effects.contains(&t.effect.as_str()) && !scheduler::tolerates(&pod, t))
    };
    if untolerated(&["NoSchedule", "NoExecute"]) {
        return (false, !untolerated(&["NoExecute"]));
    }
    (true, true)
}

/// `IsPodUpdated`: the pod carries the current hash or the current template generation.
fn is_updated(pod: &Value, hash: &str, generation: Option<&str>) -> bool {
    let labels = pod.pointer("/metadata/labels");
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let by_generation = generation.is_some() && label(GENERATION_LABEL) == generation;
    let by_hash = !hash.is_empty() && label(HASH_LABEL) == Some(hash);
    by_hash || by_generation
}

/// Scheduled pods first, then oldest, then by name (`podByCreationTimestampAndPhase`).
fn oldest_first(pods: &mut [Arc<Value>]) {
    pods.sort_by(|a, b| {
        let bound = |p: &Value| !kinds::str_at(p, "/spec/nodeName").is_empty();
        bound(b)
            .cmp(&bound(a))
            .then_with(|| {
                kinds::str_at(a, "/metadata/creationTimestamp")
                    .cmp(kinds::str_at(b, "/metadata/creationTimestamp"))
            })
            .then_with(|| kinds::name_of(a).cmp(kinds::name_of(b)))
    });
}

/// The new and old pod on a node, or `None` when there is more than one of either
/// (`findUpdatedPodsOnNode`).
#[allow(clippy::type_complexity)]
fn updated_and_old(
    pods: &[Arc<Value>],
    hash: &str,
    generation: Option<&str>,
) -> Option<(Option<Arc<Value>>, Option<Arc<Value>>)> {
    let (mut new, mut old) = (None, None);
    for p in pods {
        if workload::is_terminating(p) {
            continue;
        }
        let slot = if is_updated(p, hash, generation) {
            &mut new
        } else {
            &mut old
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(p.clone());
    }
    Some((new, old))
}

impl DaemonSetController {
    /// One sync of one daemon set (`syncDaemonSet`).
    fn sync(
        &mut self,
        sh: &mut Shared,
        ds: &Arc<Value>,
        key: &str,
        now: Timestamp,
    ) -> crate::Result<Action> {
        let ns = kinds::namespace_of(ds).to_string();
        let uid = kinds::str_at(ds, "/metadata/uid").to_string();
        let selector = ds.pointer("/spec/selector").cloned().unwrap_or(json!({}));
        if workload::selector_is_empty(&selector)
            || ds.pointer("/metadata/deletionTimestamp").is_some()
        {
            return Ok(Action::await_change());
        }
        let spec = Spec::of(ds);
        let (hash, old_revisions) = construct_history(sh, ds)?;
        let generation = spec.generation.as_deref();
        let template = ds
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));

        let mut nodes = sh.nodes.clone();
        nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let node_pods = |sh: &Shared| -> BTreeMap<String, Vec<Arc<Value>>> {
            let mut m: BTreeMap<String, Vec<Arc<Value>>> = BTreeMap::new();
            for p in workload::owned_pods(sh, &ns, &uid) {
                let terminal = matches!(workload::phase(&p), "Succeeded" | "Failed");
                if terminal && workload::is_terminating(&p) {
                    continue;
                }
                if let Some(n) = target_node(&p) {
                    m.entry(n).or_default().push(p);
                }
            }
            for pods in m.values_mut() {
                oldest_first(pods);
            }
            m
        };
        // Claim first: release what is no longer selected, adopt selected orphans.
        let mut candidates: Vec<Arc<Value>> = sh
            .pods
            .values()
            .filter(|p| {
                kinds::namespace_of(p) == ns
                    && workload::controller_of(p).is_none_or(|r| kinds::str_at(r, "/uid") == uid)
            })
            .cloned()
            .collect();
        candidates.sort_by(|a, b| kinds::name_of(a).cmp(kinds::name_of(b)));
        let claimed = workload::claim(
            &sh.store,
            ds,
            ds_kind(),
            &kinds::pod::KIND,
            candidates,
            |p| workload::selector_matches(&selector, p.pointer("/metadata/labels")),
        );
        let uids = |v: &[Arc<Value>]| -> Vec<String> {
            v.iter()
                .map(|p| kinds::str_at(p, "/metadata/uid").to_string())
                .collect()
        };
        let changed_claims = uids(&claimed) != uids(&workload::owned_pods(sh, &ns, &uid));
        if changed_claims {
            // The adopted and released pods come back through the watch; sync then.
            return Ok(Action::requeue(Duration::ZERO));
        }
        let by_node = node_pods(sh);

        // manage: what each node needs.
        let mut to_create: Vec<String> = Vec::new();
        let mut to_delete: Vec<Arc<Value>> = Vec::new();
        let mut requeue: Option<Duration> = None;
        // `AllowsSurge`: maxSurge scaled to one node is above zero.
        let surge_allowed = spec.rolling && scaled(&spec.max_surge, 1) > 0;
        for node in &nodes {
            let node_name = node.metadata.name.clone().unwrap_or_default();
            let (run, keep) = should_run(&template, node);
            let pods = by_node.get(&node_name).cloned().unwrap_or_default();
            // `podsShouldBeOnNode`.
            if run && pods.is_empty() {
                to_create.push(node_name);
                continue;
            }
            if keep {
                let mut running: Vec<Arc<Value>> = Vec::new();
                for p in &pods {
                    if workload::is_terminating(p) {
                        continue;
                    }
                    match workload::phase(p) {
                        "Failed" => {
                            let bkey = format!("{key}/{node_name}");
                            if self.failed_pods.in_backoff_since_update(&bkey, now) {
                                let d = self.failed_pods.get(&bkey);
                                requeue = Some(requeue.map_or(d, |r| r.min(d)));
                                continue;
                            }
                            self.failed_pods.next(&bkey, now, now);
                            let msg = format!(
                                "Found failed daemon pod {ns}/{} on node {node_name}, will try to kill it",
                                kinds::name_of(p)
                            );
                            workload::event(
                                sh,
                                now,
                                ds,
                                ds_kind(),
                                "Warning",
                                "FailedDaemonPod",
                                &msg,
                            );
                            to_delete.push(p.clone());
                        }
                        "Succeeded" => {
                            let msg = format!(
                                "Found succeeded daemon pod {ns}/{} on node {node_name}, will try to delete it",
                                kinds::name_of(p)
                            );
                            workload::event(
                                sh,
                                now,
                                ds,
                                ds_kind(),
                                "Normal",
                                "SucceededDaemonPod",
                                &msg,
                            );
                            to_delete.push(p.clone());
                        }
                        _ => running.push(p.clone()),
                    }
                }
                if !surge_allowed {
                    to_delete.extend(running.iter().skip(1).cloned());
                } else if running.is_empty() {
                    // Surging keeps at least one live pod on the node.
                    if run {
                        to_create.push(node_name);
                    }
                } else if running.len() > 1 {
                    let (mut oldest_new, mut oldest_old) = (None, None);
                    for p in &running {
                        let slot = if kinds::str_at(p, &format!("/metadata/labels/{HASH_LABEL}"))
                            == hash
                        {
                            &mut oldest_new
                        } else {
                            &mut oldest_old
                        };
                        if slot.is_none() {
                            *slot = Some(p.clone());
                        } else {
                            to_delete.push(p.clone());
                        }
                    }
                    if let (Some(n), Some(o)) = (oldest_new, oldest_old)
                        && (!workload::is_ready(&o)
                            || workload::is_available(&n, spec.min_ready, now))
                    {
                        to_delete.push(o);
                    }
                }
            } else if !pods.is_empty() {
                to_delete.extend(
                    pods.iter()
                        .filter(|p| !workload::is_terminating(p))
                        .cloned(),
                );
            }
        }
        // Unscheduled pods pinned to nodes that no longer exist
        // (`getUnscheduledPodsWithoutNode`): no scheduler or pod GC will ever remove them.
        for (node_name, pods) in &by_node {
            if nodes
                .iter()
                .any(|n| n.metadata.name.as_deref() == Some(node_name.as_str()))
            {
                continue;
            }
            to_delete.extend(
                pods.iter()
                    .filter(|p| kinds::str_at(p, "/spec/nodeName").is_empty())
                    .cloned(),
            );
        }
        let changed = !to_create.is_empty() || !to_delete.is_empty();
        let mut result = self.sync_nodes(sh, ds, &to_delete, &to_create, &spec, &hash, now);

        // Roll out once the pods made above are seen (Kubernetes' expectations).
        if result.is_ok() && !changed && spec.rolling {
            let (del, create) = rolling_update(&by_node, &nodes, &template, &spec, &hash, now);
            if !del.is_empty() || !create.is_empty() {
                result = self.sync_nodes(sh, ds, &del, &create, &spec, &hash, now);
            }
        }

        // History: old revisions beyond the limit that no pod uses (`cleanupHistory`).
        let live: Vec<String> = by_node
            .values()
            .flatten()
            .map(|p| kinds::str_at(p, &format!("/metadata/labels/{HASH_LABEL}")).to_string())
            .collect();
        let mut excess = (old_revisions.len() as i64).saturating_sub(spec.history_limit);
        for r in &old_revisions {
            if excess <= 0 {
                break;
            }
            let h = kinds::str_at(r, &format!("/metadata/labels/{HASH_LABEL}"));
            if live.iter().any(|l| l == h) {
                continue;
            }
            history::delete(&sh.store, r)?;
            excess -= 1;
        }

        // Status (`updateDaemonSetStatus`), over what the cache holds now.
        let by_node = node_pods(sh);
        let (mut desired, mut current, mut mis, mut ready, mut updated, mut available) =
            (0i64, 0i64, 0i64, 0i64, 0i64, 0i64);
        for node in &nodes {
            let name = node.metadata.name.clone().unwrap_or_default();
            let (run, _) = should_run(&template, node);
            let pods = by_node.get(&name).map(Vec::as_slice).unwrap_or(&[]);
            let scheduled = !pods.is_empty();
            if run {
                desired += 1;
                if let Some(p) = pods.first() {
                    current += 1;
                    if workload::is_ready(p) {
                        ready += 1;
                        if workload::is_available(p, spec.min_ready, now) {
                            available += 1;
                        }
                    }
                    if is_updated(p, &hash, generation) {
                        updated += 1;
                    }
                }
            } else if scheduled {
                mis += 1;
            }
        }
        let mut status = Map::new();
        status.insert("currentNumberScheduled".into(), json!(current));
        status.insert("numberMisscheduled".into(), json!(mis));
        status.insert("desiredNumberScheduled".into(), json!(desired));
        status.insert("numberReady".into(), json!(ready));
        if let Some(g) = ds.pointer("/metadata/generation").and_then(Value::as_i64) {
            status.insert("observedGeneration".into(), json!(g));
        }
        if updated > 0 {
            status.insert("updatedNumberScheduled".into(), json!(updated));
        }
        if available > 0 {
            status.insert("numberAvailable".into(), json!(available));
        }
        if desired - available > 0 {
            status.insert("numberUnavailable".into(), json!(desired - available));
        }
        for keep in ["collisionCount", "conditions"] {
            if let Some(v) = ds.pointer(&format!("/status/{keep}")) {
                status.insert(keep.into(), v.clone());
            }
        }
        let status = Value::Object(status);
        if ds.get("status") != Some(&status) {
            let mut body = (**ds).clone();
            body["status"] = status;
            let mut opts = WriteOptions::default();
            opts.field_manager = Some("kube-controller-manager".into());
            sh.store
                .replace(ds_kind(), &ns, kinds::name_of(ds), body, &opts, true)?;
        }
        result?;

        if !spec.min_ready.is_zero() && ready != available {
            requeue = Some(requeue.map_or(spec.min_ready, |r| r.min(spec.min_ready)));
        }
        Ok(match requeue {
            Some(d) => Action::requeue(d),
            None => Action::await_change(),
        })
    }

    /// Delete, then create pinned pods in slow-start batches (`syncNodes`).
    #[allow(clippy::too_many_arguments)]
    fn sync_nodes(
        &mut self,
        sh: &mut Shared,
        ds: &Value,
        to_delete: &[Arc<Value>],
        to_create: &[String],
        spec: &Spec,
        hash: &str,
        now: Timestamp,
    ) -> crate::Result<()> {
        let ns = kinds::namespace_of(ds).to_string();
        let mut failure: Option<crate::Error> = None;
        for p in to_delete {
            let name = kinds::name_of(p);
            let opts = DeleteOptions::default();
            if let Err(e) = workload::delete_pod_recorded(sh, now, ds, ds_kind(), &ns, name, &opts)
            {
                failure = Some(e.into());
            }
        }
        let template = pod_template(ds, spec.generation.as_deref(), hash);
        let prefix = format!("{}-", kinds::name_of(ds));
        let mut remaining: &[String] = &to_create[..to_create.len().min(BURST_REPLICAS)];
        let mut batch = 1usize;
        while !remaining.is_empty() {
            let (now_batch, rest) = remaining.split_at(batch.min(remaining.len()));
            let mut batch_failed = false;
            for node in now_batch {
                let mut t = template.clone();
                pin_to_node(&mut t, node);
                let pod =
                    workload::pod_from_template(&t, ds, ds_kind(), PodName::Generate(&prefix));
                if let Err(e) = workload::create_pod_recorded(sh, now, ds, ds_kind(), &ns, pod) {
                    batch_failed = true;
                    failure = Some(e);
                }
            }
            if batch_failed {
                break;
            }
            remaining = rest;
            batch *= 2;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The current revision's hash and the old revisions, oldest first (`constructHistory`): an
/// equal revision is reused (renumbered to the newest if it was an older one), else one is
/// made, named `<ds>-<hash of the template>`.
fn construct_history(sh: &Shared, ds: &Value) -> crate::Result<(String, Vec<Arc<Value>>)> {
    let ns = kinds::namespace_of(ds);
    let uid = kinds::str_at(ds, "/metadata/uid");
    history::adopt_orphans(&sh.store, ds, ds_kind());
    let data = history::template_patch(ds);
    let revs = history::owned(&sh.store, ns, uid);
    let (current, old): (Vec<Arc<Value>>, Vec<Arc<Value>>) =
        revs.into_iter().partition(|r| r.get("data") == Some(&data));
    let next = history::next_number(&old);
    let hash_label = |r: &Value| {
        let h = kinds::str_at(r, &format!("/metadata/labels/{HASH_LABEL}"));
        if h.is_empty() {
            kinds::name_of(r).to_string()
        } else {
            h.to_string()
        }
    };
    let cur = match current.last() {
        Some(cur) => {
            // Duplicates of the current revision go (`dedupCurHistories`).
            for dup in &current[..current.len() - 1] {
                history::delete(&sh.store, dup)?;
            }
            if history::number(cur) < next {
                Arc::new(history::renumber(&sh.store, cur, next)?)
            } else {
                cur.clone()
            }
        }
        None => {
            let template = ds
                .pointer("/spec/template")
                .cloned()
                .unwrap_or_else(|| json!({}));
            let mut collision = ds
                .pointer("/status/collisionCount")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let hash = workload::hash_suffix(&template, (collision > 0).then_some(collision));
            let mut labels: Map<String, Value> = template
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            labels.insert(HASH_LABEL.into(), json!(hash));
            let annotations = ds
                .pointer("/metadata/annotations")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let rev = history::new_revision(ds, ds_kind(), labels, annotations, data, next);
            let made = history::create(&sh.store, ds, rev, &template, &mut collision)?;
            // A collision changed the hash: the label follows the name.
            let mut made = made;
            let name_hash = kinds::name_of(&made)
                .rsplit_once('-')
                .map(|(_, h)| h.to_string())
                .unwrap_or_default();
            if kinds::str_at(&made, &format!("/metadata/labels/{HASH_LABEL}")) != name_hash {
                made["metadata"]["labels"][HASH_LABEL] = json!(name_hash);
                made = history::renumber(&sh.store, &made, next)?;
            }
            Arc::new(made)
        }
    };
    Ok((hash_label(&cur), old))
}

/// Which old pods to delete and which nodes get a new pod for the rolling update
/// (`rollingUpdate`), nodes in name order.
fn rolling_update(
    by_node: &BTreeMap<String, Vec<Arc<Value>>>,
    nodes: &[Node],
    template: &Value,
    spec: &Spec,
    hash: &str,
    now: Timestamp,
) -> (Vec<Arc<Value>>, Vec<String>) {
    let generation = spec.generation.as_deref();
    let mut per_node: BTreeMap<String, Vec<Arc<Value>>> = by_node.clone();
    let mut desired = 0i64;
    for n in nodes {
        if should_run(template, n).0 {
            desired += 1;
            per_node
                .entry(n.metadata.name.clone().unwrap_or_default())
                .or_default();
        }
    }
    let mut max_unavailable = scaled(&spec.max_unavailable, desired);
    let max_surge = scaled(&spec.max_surge, desired);
    if desired > 0 && max_unavailable == 0 && max_surge == 0 {
        max_unavailable = 1;
    }
    let available = |p: &Value| workload::is_available(p, spec.min_ready, now);
    if max_surge == 0 {
        let mut unavailable = 0i64;
        let mut replace: Vec<Arc<Value>> = Vec::new();
        let mut candidates: Vec<Arc<Value>> = Vec::new();
        for pods in per_node.values() {
            match updated_and_old(pods, hash, generation) {
                None | Some((None, None)) | Some((Some(_), Some(_))) => unavailable += 1,
                Some((Some(new), None)) => {
                    if !available(&new) {
                        unavailable += 1;
                    }
                }
                Some((None, Some(old))) => {
                    if !available(&old) {
                        // Replaced regardless, and counted against maxUnavailable.
                        replace.push(old);
                        unavailable += 1;
                    } else if unavailable < max_unavailable {
                        candidates.push(old);
                    }
                }
            }
        }
        let room = (max_unavailable - unavailable).clamp(0, candidates.len() as i64) as usize;
        replace.extend(candidates.into_iter().take(room));
        return (replace, Vec::new());
    }
    // Surge: a node whose old pod is unavailable gets its new pod at once; others are
    // candidates, of which only maxSurge minus the surges in flight start now. An old pod goes
    // once the new one beside it is available; on a node the set no longer wants, only while
    // more pods are available than desired.
    let should = |node: &str| {
        nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(node))
            .is_some_and(|n| should_run(template, n).0)
    };
    let (mut surge, mut available_count) = (0i64, 0i64);
    let mut allowed: Vec<String> = Vec::new();
    let mut candidates: Vec<String> = Vec::new();
    let mut delete: Vec<Arc<Value>> = Vec::new();
    let mut sunset: Vec<Arc<Value>> = Vec::new();
    for (node, pods) in &per_node {
        let Some((new, old)) = updated_and_old(pods, hash, generation) else {
            surge += 1;
            continue;
        };
        if let Some(p) = old.as_ref().or(new.as_ref())
            && available(p)
        {
            available_count += 1;
        }
        match (new, old) {
            (_, None) => {}
            (None, Some(old)) => {
                if !should(node) {
                    if available(&old) {
                        sunset.push(old);
                    } else {
                        delete.push(old);
                    }
                } else if !available(&old) {
                    allowed.push(node.clone());
                } else {
                    candidates.push(node.clone());
                }
            }
            (Some(new), Some(old)) => {
                if available(&new) {
                    delete.push(old);
                } else {
                    surge += 1;
                }
            }
        }
    }
    let deletable = (available_count - desired).clamp(0, sunset.len() as i64) as usize;
    delete.extend(sunset.into_iter().take(deletable));
    let room = (max_surge - surge).clamp(0, candidates.len() as i64) as usize;
    allowed.extend(candidates.into_iter().take(room));
    (delete, allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(v: Value) -> Node {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_daemon_pod_is_pinned_labelled_and_tolerant() {
        let ds = json!({"metadata": {"name": "agent", "generation": 1,
                "annotations": {GENERATION_ANNOTATION: "2"}},
            "spec": {"template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}],
                         "tolerations": [{"key": "gpu", "operator": "Exists"}]}}}});
        let spec = Spec::of(&ds);
        assert_eq!(spec.generation.as_deref(), Some("2"));
        let mut t = pod_template(&ds, spec.generation.as_deref(), "6b9c8d7f5");
        pin_to_node(&mut t, "node-2");
        assert_eq!(t["metadata"]["labels"][HASH_LABEL], "6b9c8d7f5");
        assert_eq!(t["metadata"]["labels"][GENERATION_LABEL], "2");
        let tol = t["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(tol.len(), 7);
        assert_eq!(tol[0]["key"], "gpu");
        assert_eq!(tol[1]["key"], "node.kubernetes.io/not-ready");
        assert_eq!(tol[1]["effect"], "NoExecute");
        assert_eq!(tol[6]["key"], "node.kubernetes.io/unschedulable");
        let pod = json!({"spec": t["spec"].clone()});
        assert_eq!(target_node(&pod).as_deref(), Some("node-2"));
        assert!(is_updated(
            &json!({"metadata": t["metadata"].clone()}),
            "6b9c8d7f5",
            None
        ));
    }

    #[test]
    fn taints_and_selectors_decide_which_nodes_run_it() {
        let cp = node(
            json!({"metadata": {"name": "cp", "labels": {"disk": "ssd"}},
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}),
        );
        let worker = node(json!({"metadata": {"name": "w", "labels": {"disk": "hdd"}}}));
        let drained = node(json!({"metadata": {"name": "d"},
            "spec": {"taints": [{"key": "dedicated", "value": "x", "effect": "NoExecute"}]}}));
        let plain = pod_template(
            &json!({"spec": {"template": {"spec": {"containers": []}}}}),
            None,
            "h",
        );
        assert_eq!(should_run(&plain, &cp), (false, true));
        assert_eq!(should_run(&plain, &worker), (true, true));
        assert_eq!(should_run(&plain, &drained), (false, false));
        let tolerant = pod_template(
            &json!({"spec": {"template": {"spec": {"containers": [], "tolerations": [
                {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}}}}),
            None,
            "h",
        );
        assert_eq!(should_run(&tolerant, &cp), (true, true));
        let ssd = pod_template(
            &json!({"spec": {"template": {"spec": {"containers": [], "nodeSelector": {"disk": "ssd"}}}}}),
            None,
            "h",
        );
        assert_eq!(should_run(&ssd, &worker), (false, false));
    }

    #[test]
    fn int_or_percent_rounds_up() {
        assert_eq!(scaled(&json!(1), 5), 1);
        assert_eq!(scaled(&json!("25%"), 5), 2);
        assert_eq!(scaled(&json!("0%"), 5), 0);
    }
}

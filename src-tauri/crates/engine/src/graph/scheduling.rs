//! "What the scheduler saw" for a Pending pod: a node-by-node table of kube-scheduler's Filter
//! verdicts, computed with the embedded scheduler's own filters ([`kq_kube::scheduling`]), so
//! on the embedded cluster the table and the FailedScheduling event agree by construction.
//!
//! Each node gets one row per filter, in the default profile's order: NodeUnschedulable,
//! NodeName, TaintToleration, NodeAffinity, NodeResourcesFit
//! (`pkg/scheduler/framework/plugins/...`), then VolumeBinding. Unlike kube-scheduler, which
//! stops at a node's first failing filter, the table runs them all, so a learner sees every
//! reason at once. A node's usage is the sum of the requests of the non-terminated pods bound
//! to it, as the scheduler cache counts it.
//!
//! # The scheduler's message is the last word
//!
//! VolumeBinding needs claims, volumes and StorageClasses, and a real cluster's scheduler may
//! run plug-ins the app does not know (InterPodAffinity, PodTopologySpread, out-of-tree ones),
//! so when a FitError is given (`0/3 nodes are available: ...`) the table never contradicts
//! it. The rule, the same for both [`SchedulingSource`]s:
//!
//! 1. `message` carries the FitError text verbatim.
//! 2. A FitError means no node was feasible. A node that passes every check the app can make
//!    is therefore never shown as fitting: it gets `fits: false` and a failing row for the
//!    reasons in the message that the other nodes' verdicts do not account for. The row is
//!    the plug-in those reasons belong to when they all belong to one we know (VolumeBinding
//!    for `node(s) had volume node affinity conflict`, InterPodAffinity for `node(s) didn't
//!    match pod anti-affinity rules`), replacing that plug-in's row; otherwise a row named
//!    `Unknown`. Its detail says the objects read pass the app's checks and quotes the
//!    unaccounted reasons (or, when none are left, the whole list of reasons).
//! 3. A message without per-node counts (a PreFilter rejection such as `persistentvolumeclaim
//!    "data" not found`) refused the pod before any node filter ran: every node gets a
//!    failing row with it.
//! 4. A node's first failing verdict (the one kube-scheduler reports) that the message does
//!    not mention stays failing (it is what the Node and Pod objects say now), with ` (not in
//!    the scheduler's message: the cluster may have changed since that attempt)` added to its
//!    detail.
//!
//! With [`SchedulingSource::Filters`] and no FitError, the verdicts are the filters' alone.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};
use kq_kube::scheduling::{self, Filter, Verdict};

use super::{FilterVerdict, NodeVerdict, SchedulingSource, SchedulingView};

/// The row name for a reason the app cannot attribute to a plug-in.
pub const UNKNOWN_FILTER: &str = "Unknown";

/// The FitError's reasons: `0/{total} nodes are available: {count} {reason}, ...`
/// (`FitError.Error`, `pkg/scheduler/framework/types.go`), without the preemption part.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FitReasons {
    /// Counted reasons, each from as many nodes.
    counted: Vec<(usize, String)>,
    /// Reasons without a count: a PreFilter plug-in's status message, for every node.
    uncounted: Vec<String>,
}

fn parse_fit_error(msg: &str) -> FitReasons {
    let body = msg
        .split_once("nodes are available: ")
        .map_or(msg, |(_, rest)| rest);
    // The preemption verdict follows the reasons (`. preemption: 0/3 nodes ...`).
    let body = body.split_once(". preemption: ").map_or(body, |(r, _)| r);
    let body = body.trim().trim_end_matches('.');
    let mut out = FitReasons {
        counted: Vec::new(),
        uncounted: Vec::new(),
    };
    for part in body.split(", ").map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once(' ') {
            Some((n, reason)) if n.parse::<usize>().is_ok() => {
                out.counted
                    .push((n.parse().unwrap_or(0), reason.to_string()));
            }
            _ => out.uncounted.push(part.to_string()),
        }
    }
    out
}

/// The plug-in a reason belongs to: ours ([`Filter::of_reason`]), or one of the default
/// profile's other Filter plug-ins by its `ErrReason` texts.
fn plugin_of(reason: &str) -> Option<&'static str> {
    if let Some(f) = Filter::of_reason(reason) {
        return Some(f.name());
    }
    let r = reason.trim();
    // `plugins/interpodaffinity` (ErrReasonAffinityRulesNotMatch,
    // ErrReasonAntiAffinityRulesNotMatch).
    if r == "node(s) didn't match pod affinity rules"
        || r == "node(s) didn't match pod anti-affinity rules"
    {
        return Some("InterPodAffinity");
    }
    // `plugins/nodeports` (ErrReason).
    if r == "node(s) didn't have free ports for the requested pod ports" {
        return Some("NodePorts");
    }
    // `plugins/podtopologyspread` (ErrReasonConstraintsNotMatch).
    if r == "node(s) didn't match pod topology spread constraints" {
        return Some("PodTopologySpread");
    }
    // `plugins/volumebinding` PreFilter messages name the claims.
    if r.contains("PersistentVolumeClaim") || r.starts_with("persistentvolumeclaim ") {
        return Some(Filter::VolumeBinding.name());
    }
    None
}

fn claim_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone())
        .collect()
}

/// The VolumeBinding row before the FitError is read: the app does not read claims here.
fn volume_row(pod: &Pod) -> Verdict {
    let claims = claim_names(pod);
    let detail = if claims.is_empty() {
        "pod uses no PersistentVolumeClaims".to_string()
    } else {
        format!(
            "claims {}: not checked here (the scheduler checks their volumes)",
            claims.join(", ")
        )
    };
    scheduling::volume_binding(None, detail)
}

fn row(v: &Verdict) -> FilterVerdict {
    FilterVerdict {
        filter: v.filter.name().to_string(),
        passed: v.passed,
        detail: v.detail.clone(),
    }
}

fn identity(p: &Pod) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        p.metadata.uid.as_deref(),
        p.metadata.namespace.as_deref(),
        p.metadata.name.as_deref(),
    )
}

/// The table for `pod` on `nodes`, with the usage of `pods` (the whole cluster's), reconciled
/// with the scheduler's `fit_error` when there is one (see the module's rule).
pub fn scheduling_view(
    pod: &Pod,
    nodes: &[Node],
    pods: &[Pod],
    fit_error: Option<&str>,
    source: SchedulingSource,
) -> SchedulingView {
    let me = identity(pod);
    let usage = scheduling::node_usage(pods.iter().filter(|p| identity(p) != me));
    let mut sorted: Vec<&Node> = nodes.iter().collect();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));

    // Every filter on every node, then the first failure the scheduler would report.
    let verdicts: Vec<(String, Vec<Verdict>)> = sorted
        .iter()
        .map(|node| {
            let name = node.metadata.name.clone().unwrap_or_default();
            let mut v =
                scheduling::run_filters(pod, node, usage.get(&name).copied().unwrap_or_default());
            v.push(volume_row(pod));
            (name, v)
        })
        .collect();

    let mut rows: Vec<NodeVerdict> = verdicts
        .iter()
        .map(|(name, v)| NodeVerdict {
            node: name.clone(),
            fits: v.iter().all(|x| x.passed),
            filters: v.iter().map(row).collect(),
        })
        .collect();

    if let Some(msg) = fit_error {
        reconcile(&mut rows, &verdicts, msg);
    }

    SchedulingView {
        pod: pod.metadata.name.clone().unwrap_or_default(),
        source,
        nodes: rows,
        message: fit_error.map(str::to_string),
    }
}

const STALE: &str =
    " (not in the scheduler's message: the cluster may have changed since that attempt)";

/// Apply the module's rule: the FitError is the last word.
fn reconcile(rows: &mut [NodeVerdict], verdicts: &[(String, Vec<Verdict>)], msg: &str) {
    let fit = parse_fit_error(msg);

    // Rule 3: a PreFilter rejection refused the pod on every node.
    if !fit.uncounted.is_empty() {
        let text = fit.uncounted.join(", ");
        let plugin = plugin_of(&text).unwrap_or(UNKNOWN_FILTER);
        let detail = format!("the pod was refused before the node filters ran: {text}");
        for r in rows.iter_mut() {
            set_failing(r, plugin, &detail);
        }
    }

    // What the message counts, minus what our first failures account for.
    let mut left: BTreeMap<String, usize> = BTreeMap::new();
    for (n, reason) in &fit.counted {
        *left.entry(reason.clone()).or_default() += n;
    }
    for (r, (_, v)) in rows.iter_mut().zip(verdicts) {
        let Some(i) = v.iter().position(|x| !x.passed) else {
            continue;
        };
        // Rule 4: the scheduler reports a node's first failure only; one the message does
        // not mention is what the objects say now.
        let first = &v[i];
        if !fit.counted.is_empty() && !first.reasons.iter().any(|x| left.contains_key(x)) {
            r.filters[i].detail.push_str(STALE);
        }
        for reason in &first.reasons {
            if let Some(n) = left.get_mut(reason) {
                *n = n.saturating_sub(1);
            }
        }
    }
    left.retain(|_, n| *n > 0);

    // Rule 2: no node fits when the scheduler found none.
    let unexplained: Vec<String> = left.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let plugins: Vec<Option<&str>> = left.keys().map(|r| plugin_of(r)).collect();
    let plugin = match plugins.split_first() {
        Some((Some(p), rest)) if rest.iter().all(|q| *q == Some(*p)) => p,
        _ => UNKNOWN_FILTER,
    };
    let detail = if unexplained.is_empty() {
        let all: Vec<String> = fit
            .counted
            .iter()
            .map(|(n, r)| format!("{n} {r}"))
            .chain(fit.uncounted.iter().cloned())
            .collect();
        format!(
            "the objects read pass the app's checks, but the scheduler found no node available: {}",
            if all.is_empty() {
                msg.to_string()
            } else {
                all.join(", ")
            }
        )
    } else {
        format!(
            "the objects read pass the app's checks, but the scheduler found no node available; reasons its message gives that these checks do not explain: {}",
            unexplained.join(", ")
        )
    };
    for r in rows.iter_mut().filter(|r| r.fits) {
        set_failing(r, plugin, &detail);
    }
}

/// Mark `plugin`'s row failing with `detail` (appending a row when there is none), and the
/// node as not fitting.
fn set_failing(r: &mut NodeVerdict, plugin: &str, detail: &str) {
    r.fits = false;
    match r.filters.iter_mut().find(|f| f.filter == plugin) {
        Some(f) => {
            f.passed = false;
            f.detail = if f.detail.is_empty() {
                detail.to_string()
            } else {
                format!("{}; {detail}", f.detail)
            };
        }
        None => r.filters.push(FilterVerdict {
            filter: plugin.to_string(),
            passed: false,
            detail: detail.to_string(),
        }),
    }
}

/// The Node objects and every pod in the cluster, or `None` when the client may not list them
/// (RBAC) or the cluster does not answer: the table needs both.
pub async fn read_nodes_and_pods(client: &kube::Client) -> Option<(Vec<Node>, Vec<Pod>)> {
    use kube::Api;
    use kube::api::ListParams;
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client.clone());
    let lp = ListParams::default();
    let (n, p) = futures::join!(nodes.list(&lp), pods.list(&lp));
    Some((n.ok()?.items, p.ok()?.items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(v: serde_json::Value) -> Node {
        serde_json::from_value(v).unwrap()
    }

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    /// A kubeadm-like three-node cluster: a tainted control plane, two 1.9-core workers, the
    /// second labelled `disk=ssd`.
    fn three_nodes() -> Vec<Node> {
        let alloc = json!({"cpu": "1900m", "memory": "3912660Ki", "pods": "110"});
        vec![
            node(json!({"metadata": {"name": "control-plane",
                "labels": {"node-role.kubernetes.io/control-plane": ""}},
                "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
                "status": {"allocatable": {"cpu": "2", "memory": "3912660Ki", "pods": "110"}}})),
            node(
                json!({"metadata": {"name": "worker-1", "labels": {"disk": "hdd"}},
                "status": {"allocatable": alloc}}),
            ),
            node(
                json!({"metadata": {"name": "worker-2", "labels": {"disk": "ssd"}},
                "status": {"allocatable": alloc}}),
            ),
        ]
    }

    fn bound(name: &str, node: &str, cpu: &str, phase: &str) -> Pod {
        pod(
            json!({"metadata": {"name": name, "namespace": "default", "uid": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x",
                "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"phase": phase}}),
        )
    }

    fn pending(spec: serde_json::Value) -> Pod {
        let mut p = json!({"metadata": {"name": "web", "namespace": "default", "uid": "web"},
            "spec": {"containers": [{"name": "c", "image": "x"}]}, "status": {"phase": "Pending"}});
        for (k, v) in spec.as_object().unwrap() {
            p["spec"][k] = v.clone();
        }
        pod(p)
    }

    fn filter<'a>(v: &'a SchedulingView, node: &str, f: &str) -> &'a FilterVerdict {
        let n = v.nodes.iter().find(|n| n.node == node).unwrap();
        n.filters.iter().find(|x| x.filter == f).unwrap()
    }

    #[test]
    fn insufficient_cpu_on_two_workers_and_the_control_plane_taint() {
        let web = pending(json!({"containers": [{"name": "c", "image": "x",
            "resources": {"requests": {"cpu": "1500m"}}}]}));
        let pods = vec![
            bound("a", "worker-1", "550m", "Running"),
            bound("b", "worker-2", "500m", "Running"),
            // Terminated pods hold nothing.
            bound("c", "worker-2", "1", "Succeeded"),
        ];
        let v = scheduling_view(&web, &three_nodes(), &pods, None, SchedulingSource::Filters);
        assert_eq!(v.pod, "web");
        assert_eq!(v.message, None);
        let names: Vec<&str> = v.nodes.iter().map(|n| n.node.as_str()).collect();
        assert_eq!(names, ["control-plane", "worker-1", "worker-2"]);
        assert!(v.nodes.iter().all(|n| !n.fits));
        let taint = filter(&v, "control-plane", "TaintToleration");
        assert!(!taint.passed);
        assert_eq!(
            taint.detail,
            "taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated"
        );
        // The control plane has the room; its taint is what refuses it.
        assert!(filter(&v, "control-plane", "NodeResourcesFit").passed);
        let w1 = filter(&v, "worker-1", "NodeResourcesFit");
        assert!(!w1.passed);
        assert_eq!(
            w1.detail,
            "cpu: requests 1500m, 1350m free of 1900m allocatable"
        );
        assert_eq!(
            filter(&v, "worker-2", "NodeResourcesFit").detail,
            "cpu: requests 1500m, 1400m free of 1900m allocatable"
        );
        assert!(filter(&v, "worker-1", "TaintToleration").passed);
        assert!(filter(&v, "worker-1", "VolumeBinding").passed);
        // The same filters and the embedded scheduler's message agree.
        let msg = "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..";
        let with = scheduling_view(
            &web,
            &three_nodes(),
            &pods,
            Some(msg),
            SchedulingSource::Filters,
        );
        assert_eq!(with.message.as_deref(), Some(msg));
        assert_eq!(with.nodes, v.nodes, "nothing to reconcile");
    }

    #[test]
    fn node_selector_mismatch() {
        let web = pending(json!({"nodeSelector": {"disk": "nvme"}}));
        let v = scheduling_view(&web, &three_nodes(), &[], None, SchedulingSource::Filters);
        assert_eq!(
            filter(&v, "worker-1", "NodeAffinity").detail,
            "nodeSelector disk=nvme, node has disk=hdd"
        );
        assert_eq!(
            filter(&v, "control-plane", "NodeAffinity").detail,
            "nodeSelector disk=nvme, node has no disk label"
        );
        assert!(v.nodes.iter().all(|n| !n.fits));
        let ssd = pending(json!({"nodeSelector": {"disk": "ssd"}}));
        let v = scheduling_view(&ssd, &three_nodes(), &[], None, SchedulingSource::Filters);
        let fits: Vec<&str> = v
            .nodes
            .iter()
            .filter(|n| n.fits)
            .map(|n| n.node.as_str())
            .collect();
        assert_eq!(fits, ["worker-2"]);
        assert_eq!(
            filter(&v, "worker-2", "NodeAffinity").detail,
            "nodeSelector matches"
        );
    }

    #[test]
    fn unschedulable_node() {
        let mut nodes = three_nodes();
        nodes[1]
            .spec
            .get_or_insert_with(Default::default)
            .unschedulable = Some(true);
        let web = pending(json!({}));
        let v = scheduling_view(&web, &nodes, &[], None, SchedulingSource::Filters);
        let cordon = filter(&v, "worker-1", "NodeUnschedulable");
        assert!(!cordon.passed);
        assert_eq!(cordon.detail, "node is cordoned (spec.unschedulable: true)");
        let fits: Vec<&str> = v
            .nodes
            .iter()
            .filter(|n| n.fits)
            .map(|n| n.node.as_str())
            .collect();
        assert_eq!(fits, ["worker-2"]);
        // A toleration for the cordon's taint lets the pod on.
        let tolerant = pending(
            json!({"tolerations": [{"key": "node.kubernetes.io/unschedulable",
            "operator": "Exists", "effect": "NoSchedule"}]}),
        );
        let v = scheduling_view(&tolerant, &nodes, &[], None, SchedulingSource::Filters);
        assert!(filter(&v, "worker-1", "NodeUnschedulable").passed);
    }

    #[test]
    fn fit_error_is_the_last_word() {
        let web = pending(json!({}));
        // A real cluster's scheduler saw a taint the Node objects read no longer carry.
        let msg = "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..";
        let v = scheduling_view(
            &web,
            &three_nodes(),
            &[],
            Some(msg),
            SchedulingSource::FitError,
        );
        assert_eq!(v.source, SchedulingSource::FitError);
        assert_eq!(v.message.as_deref(), Some(msg));
        assert!(
            v.nodes.iter().all(|n| !n.fits),
            "never fits against a FitError"
        );
        let w1 = filter(&v, "worker-1", "TaintToleration");
        assert!(!w1.passed);
        assert_eq!(
            w1.detail,
            "no NoSchedule or NoExecute taints; the objects read pass the app's checks, but the scheduler found no node available; reasons its message gives that these checks do not explain: 2 node(s) had untolerated taint {dedicated: gpu}"
        );
        // The control plane's own verdict accounts for its reason and stays as it is.
        let cp = filter(&v, "control-plane", "TaintToleration");
        assert_eq!(
            cp.detail,
            "taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated"
        );

        // A plug-in the app does not run.
        let msg = "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..";
        let v = scheduling_view(
            &web,
            &three_nodes(),
            &[],
            Some(msg),
            SchedulingSource::FitError,
        );
        let row = filter(&v, "worker-2", "InterPodAffinity");
        assert!(!row.passed);
        assert!(
            row.detail
                .ends_with("2 node(s) didn't match pod anti-affinity rules")
        );
        assert!(v.nodes.iter().all(|n| !n.fits));

        // A PreFilter rejection: every node, before any filter.
        let msg = "0/3 nodes are available: persistentvolumeclaim \"data\" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..";
        let v = scheduling_view(
            &web,
            &three_nodes(),
            &[],
            Some(msg),
            SchedulingSource::FitError,
        );
        for n in &v.nodes {
            let vb = n
                .filters
                .iter()
                .find(|f| f.filter == "VolumeBinding")
                .unwrap();
            assert!(!vb.passed);
            assert!(
                vb.detail
                    .ends_with("persistentvolumeclaim \"data\" not found"),
                "{}",
                vb.detail
            );
        }

        // A verdict the message does not mention says so.
        let big = pending(json!({"containers": [{"name": "c", "image": "x",
            "resources": {"requests": {"cpu": "3"}}}]}));
        let msg = "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..";
        let v = scheduling_view(
            &big,
            &three_nodes(),
            &[],
            Some(msg),
            SchedulingSource::FitError,
        );
        assert!(
            filter(&v, "worker-1", "NodeResourcesFit")
                .detail
                .ends_with(STALE)
        );
    }

    #[test]
    fn fit_errors_parse_into_counted_and_prefilter_reasons() {
        let f = parse_fit_error(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..",
        );
        assert_eq!(f.counted, [(1, "Insufficient cpu".to_string())]);
        assert!(f.uncounted.is_empty());
        let f = parse_fit_error("0/2 nodes are available: 2 Insufficient memory.");
        assert_eq!(f.counted, [(2, "Insufficient memory".to_string())]);
    }
}

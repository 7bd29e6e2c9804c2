//! kube-scheduler's per-node Filter plug-ins, shared by the embedded scheduler (which turns
//! their reasons into the FitError text) and the engine (which shows a Pending pod's
//! node-by-node table of verdicts). One implementation, so the table and the event agree by
//! construction.
//!
//! The filters run in the default profile's order (`pkg/scheduler/apis/config/v1/
//! default_plugins.go`): [`node_unschedulable`], [`node_name`], [`taint_toleration`],
//! [`node_affinity`], [`node_resources_fit`]; VolumeBinding comes later and needs the claims,
//! volumes and classes, so the embedded scheduler keeps it and reports it through
//! [`volume_binding`]. As in `RunFilterPlugins` (`pkg/scheduler/framework/runtime/framework.go`)
//! a node is rejected by the first filter that fails ([`first_failure`]); the table runs them
//! all ([`run_filters`]) so a learner sees every reason at once.
//!
//! Each verdict carries the reasons it contributes to the FitError (the plug-ins' `ErrReason`
//! texts, counted per node by `FitError.Error` in `pkg/scheduler/framework/types.go`) and a
//! human detail: `cpu: requests 2, 1350m free of 1900m allocatable`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;

use crate::quantity::Quantity;
use crate::selectors::LabelOp;

/// `node(s) were unschedulable` (`plugins/nodeunschedulable`, `ErrReasonUnschedulable`).
pub const REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// `plugins/nodename`, `ErrReason`.
pub const REASON_NODE_NAME: &str = "node(s) didn't match the requested node name";
/// `plugins/nodeaffinity`, `ErrReasonPod`.
pub const REASON_NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
/// `plugins/noderesources` (fit.go): `Too many pods`.
pub const REASON_TOO_MANY_PODS: &str = "Too many pods";
/// `plugins/volumebinding`, `ErrReasonNodeConflict`.
pub const REASON_VOLUME_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
/// `plugins/volumebinding`, `ErrReasonBindConflict`.
pub const REASON_VOLUME_BIND_CONFLICT: &str =
    "node(s) didn't find available persistent volumes to bind";

/// The taint kube-scheduler tolerates a cordoned node against
/// (`v1.TaintNodeUnschedulable`, effect NoSchedule).
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The Filter plug-ins this module knows, by their registry names
/// (`pkg/scheduler/framework/plugins/names/names.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Filter {
    NodeUnschedulable,
    NodeName,
    TaintToleration,
    NodeAffinity,
    NodeResourcesFit,
    VolumeBinding,
}

impl Filter {
    /// The plug-in's name, as kube-scheduler's configuration spells it.
    pub fn name(self) -> &'static str {
        match self {
            Filter::NodeUnschedulable => "NodeUnschedulable",
            Filter::NodeName => "NodeName",
            Filter::TaintToleration => "TaintToleration",
            Filter::NodeAffinity => "NodeAffinity",
            Filter::NodeResourcesFit => "NodeResourcesFit",
            Filter::VolumeBinding => "VolumeBinding",
        }
    }

    /// The plug-in whose reason text this is, when it is one of ours.
    pub fn of_reason(reason: &str) -> Option<Filter> {
        let r = reason.trim();
        Some(match r {
            REASON_UNSCHEDULABLE => Filter::NodeUnschedulable,
            REASON_NODE_NAME => Filter::NodeName,
            REASON_NODE_AFFINITY => Filter::NodeAffinity,
            REASON_TOO_MANY_PODS => Filter::NodeResourcesFit,
            REASON_VOLUME_NODE_CONFLICT | REASON_VOLUME_BIND_CONFLICT => Filter::VolumeBinding,
            _ if r.starts_with("Insufficient ") => Filter::NodeResourcesFit,
            _ if r.starts_with("node(s) had untolerated taint") => Filter::TaintToleration,
            _ => return None,
        })
    }
}

/// One filter's verdict on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub filter: Filter,
    pub passed: bool,
    /// The reasons this node adds to the FitError when it fails; empty when it passes.
    pub reasons: Vec<String>,
    /// Preemption could make room (`Unschedulable`, NodeResourcesFit) rather than not
    /// (`UnschedulableAndUnresolvable`: cordon, taints, affinity, volumes).
    pub resolvable: bool,
    /// What was compared, for people.
    pub detail: String,
}

impl Verdict {
    fn pass(filter: Filter, detail: String) -> Self {
        Verdict {
            filter,
            passed: true,
            reasons: Vec::new(),
            resolvable: false,
            detail,
        }
    }

    fn fail(filter: Filter, reason: String, detail: String) -> Self {
        Verdict {
            filter,
            passed: false,
            reasons: vec![reason],
            resolvable: false,
            detail,
        }
    }
}

/// The resources a pod asks for, in milli-CPU and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    pub cpu_milli: i128,
    pub memory: i128,
}

/// What is already placed on a node: the requests of its pods and how many there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeUsage {
    pub requests: Requests,
    pub pods: i64,
}

impl NodeUsage {
    /// One more pod, asking for `r`.
    pub fn add(&mut self, r: Requests) {
        self.requests.cpu_milli += r.cpu_milli;
        self.requests.memory += r.memory;
        self.pods += 1;
    }

    /// One pod fewer, that asked for `r`.
    pub fn remove(&mut self, r: Requests) {
        self.requests.cpu_milli -= r.cpu_milli;
        self.requests.memory -= r.memory;
        self.pods -= 1;
    }
}

fn quantity(map: Option<&BTreeMap<String, KQuantity>>, key: &str, milli: bool) -> i128 {
    map.and_then(|m| m.get(key))
        .and_then(|q| Quantity::parse(&q.0))
        .map_or(0, |q| if milli { q.milli_value() } else { q.value() })
}

/// `max(sum(containers), max(init containers)) + overhead`, as NodeResourcesFit computes a
/// pod's request (`computePodResourceRequest`, `k8s.io/component-helpers/resource`).
pub fn pod_requests(pod: &Pod) -> Requests {
    let Some(spec) = &pod.spec else {
        return Requests::default();
    };
    let req = |c: &k8s_openapi::api::core::v1::Container| {
        let r = c.resources.as_ref();
        // Limits without requests default requests to the limits (apiserver defaulting), so
        // reading requests is enough.
        Requests {
            cpu_milli: quantity(r.and_then(|r| r.requests.as_ref()), "cpu", true),
            memory: quantity(r.and_then(|r| r.requests.as_ref()), "memory", false),
        }
    };
    let mut sum = Requests::default();
    for c in &spec.containers {
        let r = req(c);
        sum.cpu_milli += r.cpu_milli;
        sum.memory += r.memory;
    }
    for c in spec.init_containers.iter().flatten() {
        let r = req(c);
        sum.cpu_milli = sum.cpu_milli.max(r.cpu_milli);
        sum.memory = sum.memory.max(r.memory);
    }
    if let Some(o) = &spec.overhead {
        sum.cpu_milli += quantity(Some(o), "cpu", true);
        sum.memory += quantity(Some(o), "memory", false);
    }
    sum
}

/// A pod that no longer holds its node's resources (phase Succeeded or Failed), as the
/// scheduler's cache drops it.
pub fn is_terminated(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Add one bound pod's requests to its node's usage (the scheduler cache's `NodeInfo.AddPod`).
/// Unbound and terminated pods hold nothing.
pub fn add_pod_usage(usage: &mut BTreeMap<String, NodeUsage>, pod: &Pod) {
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("");
    if node.is_empty() || is_terminated(pod) {
        return;
    }
    usage
        .entry(node.to_string())
        .or_default()
        .add(pod_requests(pod));
}

/// Each node's usage from a list of pods, by node name.
pub fn node_usage<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> BTreeMap<String, NodeUsage> {
    let mut usage = BTreeMap::new();
    for p in pods {
        add_pod_usage(&mut usage, p);
    }
    usage
}

/// A node's allocatable `key` (`cpu` in milli-units, the others in units).
pub fn allocatable(node: &Node, key: &str, milli: bool) -> i128 {
    quantity(
        node.status.as_ref().and_then(|s| s.allocatable.as_ref()),
        key,
        milli,
    )
}

/// Does one of the pod's tolerations tolerate the taint (`v1.Toleration.ToleratesTaint`,
/// `k8s.io/api/core/v1/toleration.go`)?
pub fn tolerates(pod: &Pod, taint: &Taint) -> bool {
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.as_ref());
    tolerations.into_iter().flatten().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == taint.effect);
        let key_ok = match t.key.as_deref() {
            None | Some("") => t.operator.as_deref() == Some("Exists"),
            Some(k) => k == taint.key,
        };
        let value_ok = match t.operator.as_deref() {
            Some("Exists") => true,
            _ => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        };
        effect_ok && key_ok && value_ok
    })
}

/// A node affinity requirement against a node's labels, with the label selectors' one matcher
/// (`labels.Requirement.Matches`); an unknown operator matches nothing.
fn requirement_matches(req: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let values = req.values.as_deref().unwrap_or(&[]);
    LabelOp::from_node_selector_operator(&req.operator)
        .is_some_and(|op| op.matches(values, labels.get(&req.key).map(String::as_str)))
}

/// One node selector term against a node: its label expressions and its `metadata.name`
/// fields all match; an empty term matches nothing
/// (`k8s.io/component-helpers/scheduling/corev1/nodeaffinity`).
pub fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let name = node.metadata.name.clone().unwrap_or_default();
    let field_labels: BTreeMap<String, String> =
        [("metadata.name".to_string(), name)].into_iter().collect();
    exprs.iter().all(|r| requirement_matches(r, labels))
        && fields.iter().all(|r| requirement_matches(r, &field_labels))
}

/// Both halves of NodeAffinity's Filter: the nodeSelector and the required node affinity
/// (`GetRequiredNodeAffinity(pod).Match(node)`).
pub fn affinity_matches(pod: &Pod, node: &Node) -> bool {
    selector_mismatch(pod, node).is_none() && required_affinity_matches(pod, node)
}

/// The first nodeSelector entry the node's labels miss: `(key, wanted, the node's value)`.
fn selector_mismatch(pod: &Pod, node: &Node) -> Option<(String, String, Option<String>)> {
    let sel = pod.spec.as_ref()?.node_selector.as_ref()?;
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    sel.iter()
        .find(|(k, v)| labels.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone(), labels.get(k).cloned()))
}

fn required_terms(pod: &Pod) -> Option<&[NodeSelectorTerm]> {
    let sel = pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?;
    Some(&sel.node_selector_terms)
}

fn required_affinity_matches(pod: &Pod, node: &Node) -> bool {
    required_terms(pod).is_none_or(|terms| terms.iter().any(|t| term_matches(t, node)))
}

/// A taint as kubectl prints it: `key=value:Effect`, or `key:Effect` without a value.
pub fn taint_text(t: &Taint) -> String {
    match t.value.as_deref() {
        Some(v) if !v.is_empty() => format!("{}={}:{}", t.key, v, t.effect),
        _ => format!("{}:{}", t.key, t.effect),
    }
}

/// Milli-CPU as a quantity: `2`, `1350m`.
pub fn cpu_text(milli: i128) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// Bytes as a quantity, with the largest binary suffix that divides them: `64Mi`, `3912660Ki`.
pub fn memory_text(bytes: i128) -> String {
    if bytes == 0 {
        return "0".into();
    }
    let mut n = bytes;
    let mut k = 0;
    while k < 5 && n % 1024 == 0 {
        n /= 1024;
        k += 1;
    }
    format!("{n}{}", ["", "Ki", "Mi", "Gi", "Ti", "Pi"][k])
}

/// NodeUnschedulable (`plugins/nodeunschedulable`): a cordoned node refuses pods that do
/// not tolerate the `node.kubernetes.io/unschedulable:NoSchedule` taint.
pub fn node_unschedulable(pod: &Pod, node: &Node) -> Verdict {
    let cordoned = node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
    if !cordoned {
        return Verdict::pass(Filter::NodeUnschedulable, "node is schedulable".into());
    }
    let taint = Taint {
        key: TAINT_UNSCHEDULABLE.into(),
        effect: "NoSchedule".into(),
        ..Default::default()
    };
    if tolerates(pod, &taint) {
        Verdict::pass(
            Filter::NodeUnschedulable,
            format!("node is cordoned; the pod tolerates {TAINT_UNSCHEDULABLE}:NoSchedule"),
        )
    } else {
        Verdict::fail(
            Filter::NodeUnschedulable,
            REASON_UNSCHEDULABLE.into(),
            "node is cordoned (spec.unschedulable: true)".into(),
        )
    }
}

/// NodeName (`plugins/nodename`): a pod that names its node fits only there.
pub fn node_name(pod: &Pod, node: &Node) -> Verdict {
    let wanted = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("");
    let name = node.metadata.name.as_deref().unwrap_or("");
    if wanted.is_empty() {
        Verdict::pass(Filter::NodeName, "pod names no node".into())
    } else if wanted == name {
        Verdict::pass(Filter::NodeName, format!("spec.nodeName {wanted}"))
    } else {
        Verdict::fail(
            Filter::NodeName,
            REASON_NODE_NAME.into(),
            format!("spec.nodeName {wanted}, this node is {name}"),
        )
    }
}

/// TaintToleration (`plugins/tainttoleration`): the first NoSchedule or NoExecute taint the
/// pod does not tolerate refuses the node, and names itself in the reason.
pub fn taint_toleration(pod: &Pod, node: &Node) -> Verdict {
    let taints: Vec<&Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .collect();
    if let Some(taint) = taints.iter().find(|t| !tolerates(pod, t)) {
        return Verdict::fail(
            Filter::TaintToleration,
            format!(
                "node(s) had untolerated taint {{{}: {}}}",
                taint.key,
                taint.value.as_deref().unwrap_or("")
            ),
            format!("taint {} not tolerated", taint_text(taint)),
        );
    }
    let detail = if taints.is_empty() {
        "no NoSchedule or NoExecute taints".to_string()
    } else {
        let list: Vec<String> = taints.iter().map(|t| taint_text(t)).collect();
        format!("taint {} tolerated", list.join(", "))
    };
    Verdict::pass(Filter::TaintToleration, detail)
}

fn requirement_text(r: &NodeSelectorRequirement) -> String {
    let values = r.values.as_deref().unwrap_or(&[]);
    if values.is_empty() {
        format!("{} {}", r.key, r.operator)
    } else {
        format!("{} {} [{}]", r.key, r.operator, values.join(", "))
    }
}

/// NodeAffinity (`plugins/nodeaffinity`): the pod's nodeSelector and its required node
/// affinity (`requiredDuringSchedulingIgnoredDuringExecution`) must both match the node.
pub fn node_affinity(pod: &Pod, node: &Node) -> Verdict {
    if let Some((key, want, has)) = selector_mismatch(pod, node) {
        let has = match has {
            Some(v) => format!("node has {key}={v}"),
            None => format!("node has no {key} label"),
        };
        return Verdict::fail(
            Filter::NodeAffinity,
            REASON_NODE_AFFINITY.into(),
            format!("nodeSelector {key}={want}, {has}"),
        );
    }
    if let Some(terms) = required_terms(pod)
        && !terms.iter().any(|t| term_matches(t, node))
    {
        let text: Vec<String> = terms
            .iter()
            .map(|t| {
                let reqs: Vec<String> = t
                    .match_expressions
                    .iter()
                    .flatten()
                    .chain(t.match_fields.iter().flatten())
                    .map(requirement_text)
                    .collect();
                if reqs.is_empty() {
                    "(empty term)".to_string()
                } else {
                    reqs.join(" and ")
                }
            })
            .collect();
        return Verdict::fail(
            Filter::NodeAffinity,
            REASON_NODE_AFFINITY.into(),
            format!(
                "required node affinity {} matches no label of this node",
                text.join(" or ")
            ),
        );
    }
    let has_selector = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.as_ref())
        .is_some_and(|s| !s.is_empty());
    let detail = match (has_selector, required_terms(pod).is_some()) {
        (false, false) => "no nodeSelector or required node affinity",
        (true, false) => "nodeSelector matches",
        (false, true) => "required node affinity matches",
        (true, true) => "nodeSelector and required node affinity match",
    };
    Verdict::pass(Filter::NodeAffinity, detail.into())
}

/// NodeResourcesFit (`plugins/noderesources/fit.go`, `fitsRequest`): the pod count, then cpu
/// and memory the pod requests (a zero request always fits) against allocatable minus what
/// the node's pods request. Several reasons at once; preemption could make room.
pub fn node_resources_fit(node: &Node, usage: NodeUsage, want: Requests) -> Verdict {
    let mut reasons = Vec::new();
    let mut details = Vec::new();
    let pods_alloc = allocatable(node, "pods", false);
    if usage.pods as i128 + 1 > pods_alloc {
        reasons.push(REASON_TOO_MANY_PODS.to_string());
        details.push(format!(
            "pods: {} of {pods_alloc} used, no room",
            usage.pods
        ));
    }
    let cpu_alloc = allocatable(node, "cpu", true);
    let cpu_free = cpu_alloc - usage.requests.cpu_milli;
    let cpu_detail = format!(
        "cpu: requests {}, {} free of {} allocatable",
        cpu_text(want.cpu_milli),
        cpu_text(cpu_free),
        cpu_text(cpu_alloc)
    );
    if want.cpu_milli > 0 && usage.requests.cpu_milli + want.cpu_milli > cpu_alloc {
        reasons.push("Insufficient cpu".to_string());
        details.push(cpu_detail.clone());
    }
    let mem_alloc = allocatable(node, "memory", false);
    let mem_free = mem_alloc - usage.requests.memory;
    let mem_detail = format!(
        "memory: requests {}, {} free of {} allocatable",
        memory_text(want.memory),
        memory_text(mem_free),
        memory_text(mem_alloc)
    );
    if want.memory > 0 && usage.requests.memory + want.memory > mem_alloc {
        reasons.push("Insufficient memory".to_string());
        details.push(mem_detail.clone());
    }
    if reasons.is_empty() {
        let mut parts = Vec::new();
        if want.cpu_milli > 0 {
            parts.push(cpu_detail);
        }
        if want.memory > 0 {
            parts.push(mem_detail);
        }
        parts.push(format!("pods: {} of {pods_alloc} used", usage.pods));
        return Verdict::pass(Filter::NodeResourcesFit, parts.join("; "));
    }
    Verdict {
        filter: Filter::NodeResourcesFit,
        passed: false,
        reasons,
        resolvable: true,
        detail: details.join("; "),
    }
}

/// VolumeBinding's Filter verdict (`plugins/volumebinding`), from the reason the caller's
/// check gave (the check needs claims, volumes and classes, which only the cluster holds).
pub fn volume_binding(refusal: Option<String>, detail: impl Into<String>) -> Verdict {
    match refusal {
        None => Verdict::pass(Filter::VolumeBinding, detail.into()),
        Some(r) => Verdict::fail(Filter::VolumeBinding, r, detail.into()),
    }
}

/// Every node filter this module runs, in the default profile's order, each on its own: the
/// table of what the scheduler saw. VolumeBinding is the caller's.
pub fn run_filters(pod: &Pod, node: &Node, usage: NodeUsage) -> Vec<Verdict> {
    vec![
        node_unschedulable(pod, node),
        node_name(pod, node),
        taint_toleration(pod, node),
        node_affinity(pod, node),
        node_resources_fit(node, usage, pod_requests(pod)),
    ]
}

/// The filter that rejects the node, as `RunFilterPlugins` stops at the first failure.
pub fn first_failure(verdicts: &[Verdict]) -> Option<&Verdict> {
    verdicts.iter().find(|v| !v.passed)
}

/// The filters run the way the scheduler runs them: stop at the first rejection, which is
/// returned; `want` is the pod's [`pod_requests`], computed once per attempt.
pub fn filter_node(pod: &Pod, node: &Node, usage: NodeUsage, want: Requests) -> Option<Verdict> {
    let checks: [&dyn Fn() -> Verdict; 5] = [
        &|| node_unschedulable(pod, node),
        &|| node_name(pod, node),
        &|| taint_toleration(pod, node),
        &|| node_affinity(pod, node),
        &|| node_resources_fit(node, usage, want),
    ];
    checks.iter().map(|c| c()).find(|v| !v.passed)
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

    fn worker() -> Node {
        node(json!({"metadata": {"name": "w", "labels": {"disk": "hdd"}},
            "status": {"allocatable": {"cpu": "1900m", "memory": "3912660Ki", "pods": "110"}}}))
    }

    #[test]
    fn resources_detail_names_request_free_and_allocatable() {
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c",
            "image": "x", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}}]}}),
        );
        let usage = NodeUsage {
            requests: Requests {
                cpu_milli: 550,
                memory: 0,
            },
            pods: 2,
        };
        let v = node_resources_fit(&worker(), usage, pod_requests(&p));
        assert!(!v.passed && v.resolvable);
        assert_eq!(v.reasons, ["Insufficient cpu"]);
        assert_eq!(v.detail, "cpu: requests 2, 1350m free of 1900m allocatable");
        let ok = node_resources_fit(&worker(), NodeUsage::default(), Requests::default());
        assert!(ok.passed, "{ok:?}");
        assert_eq!(ok.detail, "pods: 0 of 110 used");
    }

    #[test]
    fn taints_selectors_cordons_and_node_names() {
        let cp = node(
            json!({"metadata": {"name": "cp"}, "spec": {"unschedulable": true,
            "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "2", "memory": "2Gi", "pods": "110"}}}),
        );
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"nodeSelector": {"disk": "ssd"},
            "nodeName": "w", "containers": [{"name": "c", "image": "x"}]}}),
        );
        let t = taint_toleration(&p, &cp);
        assert_eq!(
            t.reasons,
            ["node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"]
        );
        assert_eq!(
            t.detail,
            "taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated"
        );
        let a = node_affinity(&p, &worker());
        assert_eq!(a.reasons, [REASON_NODE_AFFINITY]);
        assert_eq!(a.detail, "nodeSelector disk=ssd, node has disk=hdd");
        assert_eq!(
            node_affinity(&p, &cp).detail,
            "nodeSelector disk=ssd, node has no disk label"
        );
        assert_eq!(node_unschedulable(&p, &cp).reasons, [REASON_UNSCHEDULABLE]);
        assert!(node_unschedulable(&p, &worker()).passed);
        assert_eq!(node_name(&p, &cp).reasons, [REASON_NODE_NAME]);
        assert!(node_name(&p, &worker()).passed);
        // The scheduler stops at the first failure: the cordon, before the taint.
        let first = filter_node(&p, &cp, NodeUsage::default(), pod_requests(&p)).unwrap();
        assert_eq!(first.filter, Filter::NodeUnschedulable);
        let all = run_filters(&p, &cp, NodeUsage::default());
        assert_eq!(first_failure(&all), Some(&first));
        assert_eq!(all.iter().filter(|v| !v.passed).count(), 4);
    }

    #[test]
    fn reasons_map_back_to_their_plugins() {
        assert_eq!(
            Filter::of_reason("Insufficient cpu"),
            Some(Filter::NodeResourcesFit)
        );
        assert_eq!(
            Filter::of_reason("node(s) had untolerated taint {a: b}"),
            Some(Filter::TaintToleration)
        );
        assert_eq!(
            Filter::of_reason(REASON_VOLUME_BIND_CONFLICT),
            Some(Filter::VolumeBinding)
        );
        assert_eq!(
            Filter::of_reason("node(s) didn't match pod anti-affinity rules"),
            None
        );
        assert_eq!(memory_text(64 * 1024 * 1024), "64Mi");
        assert_eq!(cpu_text(1350), "1350m");
    }
}

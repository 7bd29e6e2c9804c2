//! ResourceQuotas: the kind (validation, the `status` subresource, the `get quota` table) and
//! the quota evaluators that both the ResourceQuota admission plug-in and the quota controller
//! count usage with.
//!
//! Kubernetes keeps these in `pkg/registry/core/resourcequota/strategy.go` (create clears
//! `status`, spec and status are written apart), `pkg/apis/core/validation/validation.go`
//! (`ValidateResourceQuota`), `pkg/printers/internalversion/printers.go`
//! (`printResourceQuota`) and `pkg/quota/v1/evaluator/core/{pods,services,
//! persistent_volume_claims}.go` plus `pkg/quota/v1/generic` (object counts).

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{PodSpec, ResourceQuota};
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource, age_column, age_of,
    col, name_column, name_of,
};
use crate::storage::Store;
use crate::strict::DecodeError;
use kq_kube::quantity::Quantity;
use kq_kube::validation::{FieldError, FieldErrorKind};

/// The resourcequotas resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "resourcequotas",
    singular: "resourcequota",
    kind: "ResourceQuota",
    namespaced: true,
    short_names: &["quota"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "ResourceQuota",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of resourcequotas.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    age_column(),
    col(
        "Request",
        "string",
        "Request represents a minimum amount of cpu/memory that a container may consume.",
        0,
    ),
    col(
        "Limit",
        "string",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        0,
    ),
];

/// The text a malformed quantity is refused with while decoding (Go parses quantities in
/// `UnmarshalJSON`, so it is a 400, not a 422).
pub(crate) const QUANTITY_REGEX_MESSAGE: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Refuse any malformed quantity in the resource lists at `pointers`.
pub(crate) fn check_quantity_maps(value: &Value, pointers: &[&str]) -> Result<(), DecodeError> {
    let bad = |q: &Value| {
        q.as_str().is_some_and(|s| Quantity::parse(s).is_none()) || q.is_boolean() || q.is_object()
    };
    for p in pointers {
        if let Some(m) = value.pointer(p).and_then(Value::as_object)
            && m.values().any(bad)
        {
            return Err(DecodeError::Type(QUANTITY_REGEX_MESSAGE.into()));
        }
    }
    Ok(())
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        check_quantity_maps(value, &["/spec/hard", "/status/hard", "/status/used"])?;
        let (mut v, unknown) = super::typed_decode::<ResourceQuota>(value, "ResourceQuota")?;
        // Quantities are stored canonically (`1000m` reads back as `1`).
        for p in ["/spec/hard", "/status/hard", "/status/used"] {
            if let Some(m) = v.pointer_mut(p).and_then(Value::as_object_mut) {
                for q in m.values_mut() {
                    if let Some(c) = q.as_str().and_then(kq_kube::quantity::canonical) {
                        *q = json!(c);
                    }
                }
            }
        }
        Ok((v, unknown))
    }

    fn prepare_create(
        &self,
        obj: &mut Value,
        _ctx: &super::CreateContext<'_>,
    ) -> crate::Result<()> {
        // The quota controller and the admission plug-in own the status.
        if let Some(o) = obj.as_object_mut() {
            o.remove("status");
        }
        Ok(())
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_list(obj.pointer("/spec/hard"), "spec.hard", &mut errs);
        validate_scopes(obj, &mut errs);
        errs
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let (request, limit) = request_limit_cells(obj);
        vec![
            json!(name_of(obj)),
            json!(age_of(obj, now)),
            json!(request),
            json!(limit),
        ]
    }
}

/// `printResourceQuota`: `name: used/hard` per hard resource, sorted, `limits.*` in LIMIT and
/// the rest in REQUEST.
fn request_limit_cells(obj: &Value) -> (String, String) {
    let hard = list_of(obj.pointer("/status/hard"));
    let used = list_of(obj.pointer("/status/used"));
    let (mut request, mut limit) = (Vec::new(), Vec::new());
    for (name, h) in &hard {
        let u = used.get(name).copied().unwrap_or_default();
        let cell = format!("{name}: {u}/{h}");
        let pieces: Vec<&str> = name.split('.').collect();
        if pieces.len() > 1 && pieces[0] == "limits" {
            limit.push(cell);
        } else {
            request.push(cell);
        }
    }
    (request.join(", "), limit.join(", "))
}

fn validate_list(list: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = list.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in m {
        let field = format!("{path}[{k}]");
        let text = v.as_str().unwrap_or_default();
        for e in resource_name_errors(k) {
            errs.push(FieldError::invalid(&field, k, e));
        }
        if !k.contains('/') && !is_standard_quota_resource(k) {
            errs.push(FieldError::invalid(
                &field,
                k,
                "must be a standard resource for quota",
            ));
        }
        let Some(q) = Quantity::parse(text) else {
            continue;
        };
        if q.0 < 0 {
            errs.push(FieldError::invalid(
                &field,
                text,
                "must be greater than or equal to 0",
            ));
        }
        if is_integer_resource(k) && q.milli_value() % 1000 != 0 {
            errs.push(FieldError {
                kind: FieldErrorKind::Invalid,
                field: field.clone(),
                value: Some(super::limitrange::go_quantity_value(text)),
                detail: "must be an integer".into(),
            });
        }
    }
}

/// `validateResourceName`: a qualified name; one without a domain must be a standard one
/// (checked by the caller for quota).
fn resource_name_errors(name: &str) -> Vec<String> {
    kq_kube::validation::qualified_name(name)
}

const STANDARD_QUOTA_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];

const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_standard_quota_resource(name: &str) -> bool {
    STANDARD_QUOTA_RESOURCES.contains(&name)
        || name.starts_with("hugepages-")
        || name.starts_with("requests.hugepages-")
}

/// `IsIntegerResourceName`: object counts and extended resources.
fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended_resource(name)
}

/// `IsExtendedResourceName`: a domain-qualified name outside `kubernetes.io`, not `requests.`.
fn is_extended_resource(name: &str) -> bool {
    if name.starts_with("requests.") || !name.contains('/') {
        return false;
    }
    let domain = name.split('/').next().unwrap_or_default();
    !(domain == "kubernetes.io" || domain.ends_with(".kubernetes.io"))
}

const SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
];

const POD_COMPUTE: &[&str] = &[
    "cpu",
    "memory",
    "limits.cpu",
    "limits.memory",
    "requests.cpu",
    "requests.memory",
];

/// `validateResourceQuotaScopes`; the scopes print as Go's `%#v` of the slice.
fn validate_scopes(obj: &Value, errs: &mut Vec<FieldError>) {
    let scopes: Vec<&str> = obj
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if scopes.is_empty() {
        return;
    }
    let shown = format!(
        "[]core.ResourceQuotaScope{{{}}}",
        scopes
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let invalid = |detail: &str| FieldError {
        kind: FieldErrorKind::Invalid,
        field: "spec.scopes".into(),
        value: Some(shown.clone()),
        detail: detail.into(),
    };
    let hard: Vec<&String> = obj
        .pointer("/spec/hard")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    for scope in &scopes {
        if !SCOPES.contains(scope) {
            errs.push(invalid("unsupported scope"));
        }
        for k in &hard {
            if is_standard_quota_resource(k) && !scope_valid_for(scope, k) {
                errs.push(invalid("unsupported scope applied to resource"));
            }
        }
    }
    for pair in [
        ["BestEffort", "NotBestEffort"],
        ["Terminating", "NotTerminating"],
    ] {
        if pair.iter().all(|p| scopes.contains(p)) {
            errs.push(invalid("conflicting scopes"));
        }
    }
}

fn scope_valid_for(scope: &str, resource: &str) -> bool {
    match scope {
        "BestEffort" => resource == "pods",
        "Terminating"
        | "NotTerminating"
        | "NotBestEffort"
        | "PriorityClass"
        | "CrossNamespacePodAffinity" => resource == "pods" || POD_COMPUTE.contains(&resource),
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------
// Quantities with Go's `resource.Quantity` arithmetic and printing.

/// A quantity that remembers whether it prints in binary (`Mi`) or decimal (`m`, `k`) form,
/// as Go's `Quantity.Format` does through `Add` and `Sub`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amount {
    /// The value in nano-units.
    pub nanos: i128,
    /// Printed with binary suffixes.
    pub binary: bool,
}

impl Amount {
    /// Parse a quantity string.
    pub fn parse(s: &str) -> Option<Amount> {
        Quantity::parse(s).map(|q| Amount {
            nanos: q.0,
            binary: s.trim().ends_with('i'),
        })
    }

    /// A whole number (an object count).
    pub fn count(n: i128) -> Amount {
        Amount {
            nanos: n * 1_000_000_000,
            binary: false,
        }
    }

    /// `Quantity.Add`: a zero left side takes the right side's format.
    pub fn plus(self, other: Amount) -> Amount {
        Amount {
            nanos: self.nanos + other.nanos,
            binary: if self.nanos == 0 {
                other.binary
            } else {
                self.binary
            },
        }
    }

    /// `Quantity.Sub`.
    pub fn minus(self, other: Amount) -> Amount {
        Amount {
            nanos: self.nanos - other.nanos,
            binary: if self.nanos == 0 {
                other.binary
            } else {
                self.binary
            },
        }
    }
}

impl std::fmt::Display for Amount {
    /// `Quantity.String()`: the canonical form in the quantity's format.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NANO: i128 = 1_000_000_000;
        let v = self.nanos;
        let text = if self.binary && v % NANO == 0 {
            let n = v / NANO;
            if n != 0 && n % 1024 == 0 {
                kq_kube::quantity::canonical(&format!("{}Ki", n / 1024))
            } else {
                Some(n.to_string())
            }
        } else {
            kq_kube::quantity::canonical(&format!("{v}n"))
        };
        f.write_str(&text.unwrap_or_else(|| "0".into()))
    }
}

/// A resource list (`corev1.ResourceList`), sorted by name.
pub type ResourceList = BTreeMap<String, Amount>;

/// Read a stored resource list; malformed entries are skipped.
pub fn list_of(v: Option<&Value>) -> ResourceList {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, q)| Some((k.clone(), Amount::parse(q.as_str()?)?)))
        .collect()
}

/// A resource list as JSON.
pub fn list_json(list: &ResourceList) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, v)| (k.clone(), json!(v.to_string())))
            .collect(),
    )
}

/// `quota.Add`.
pub fn add_lists(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    for (k, v) in b {
        let e = out.entry(k.clone()).or_default();
        *e = e.plus(*v);
    }
    out
}

/// `quota.Mask`: only the named resources.
pub fn mask<'a>(list: &ResourceList, names: impl IntoIterator<Item = &'a String>) -> ResourceList {
    names
        .into_iter()
        .filter_map(|n| list.get(n).map(|v| (n.clone(), *v)))
        .collect()
}

/// `prettyPrint`: `name=qty` sorted and comma-joined.
pub fn pretty(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

// ---------------------------------------------------------------------------------------
// Evaluators.

const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// The object-count resource name of a kind (`count/pods`, `count/deployments.apps`).
pub fn count_name(kind: &ResourceKind) -> String {
    if kind.group.is_empty() {
        format!("count/{}", kind.plural)
    } else {
        format!("count/{}.{}", kind.plural, kind.group)
    }
}

/// The legacy object-count name the generic evaluator also charges (`configmaps`).
fn alias(kind: &ResourceKind) -> Option<&'static str> {
    if !kind.group.is_empty() {
        return None;
    }
    [
        "configmaps",
        "secrets",
        "replicationcontrollers",
        "resourcequotas",
    ]
    .into_iter()
    .find(|p| *p == kind.plural)
}

/// The kinds quota never counts (the admission configuration's ignored resources).
fn ignored(kind: &ResourceKind) -> bool {
    matches!(
        (kind.group, kind.plural),
        ("", "events") | ("events.k8s.io", "events") | ("", "namespaces") | ("", "nodes")
    ) || !kind.namespaced
}

/// Does an evaluator of this kind produce the resource `name` (`MatchingResources`)?
fn produces(kind: &ResourceKind, name: &str) -> bool {
    if name == count_name(kind) {
        return true;
    }
    match (kind.group, kind.plural) {
        ("", "pods") => {
            [
                "pods",
                "cpu",
                "memory",
                "ephemeral-storage",
                "requests.cpu",
                "requests.memory",
                "requests.ephemeral-storage",
                "limits.cpu",
                "limits.memory",
                "limits.ephemeral-storage",
            ]
            .contains(&name)
                || name.starts_with("hugepages-")
                || name.starts_with("requests.hugepages-")
                || (name.starts_with("requests.") && is_extended_resource(&name[9..]))
        }
        ("", "services") => {
            ["services", "services.nodeports", "services.loadbalancers"].contains(&name)
        }
        ("", "persistentvolumeclaims") => {
            name == "persistentvolumeclaims"
                || name == "requests.storage"
                || name
                    .split_once(STORAGE_CLASS_SUFFIX)
                    .is_some_and(|(_, r)| r == "requests.storage" || r == "persistentvolumeclaims")
        }
        _ => alias(kind) == Some(name),
    }
}

/// The resources of `hard` this kind is charged for.
pub fn matching_resources<'a>(kind: &ResourceKind, hard: &'a ResourceList) -> Vec<&'a String> {
    if ignored(kind) {
        return vec![];
    }
    hard.keys().filter(|n| produces(kind, n)).collect()
}

/// One scope requirement: the quota's `scopes` (operator Exists) and `scopeSelector`.
struct ScopeReq {
    scope: String,
    operator: String,
    values: Vec<String>,
}

fn scope_requirements(quota: &Value) -> Vec<ScopeReq> {
    let mut out: Vec<ScopeReq> = quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| ScopeReq {
            scope: s.into(),
            operator: "Exists".into(),
            values: vec![],
        })
        .collect();
    for e in quota
        .pointer("/spec/scopeSelector/matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(ScopeReq {
            scope: super::str_at(e, "/scopeName").into(),
            operator: super::str_at(e, "/operator").into(),
            values: e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
        });
    }
    out
}

fn pod_spec(obj: &Value) -> PodSpec {
    obj.get("spec")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default()
}

/// `podMatchesScopeFunc`.
fn pod_matches_scope(req: &ScopeReq, pod: &Value) -> bool {
    let spec = pod_spec(pod);
    let terminating = spec.active_deadline_seconds.is_some_and(|s| s >= 0);
    let best_effort = super::pod::qos_class(&spec) == "BestEffort";
    match req.scope.as_str() {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => best_effort,
        "NotBestEffort" => !best_effort,
        "PriorityClass" => {
            let pc = spec.priority_class_name.unwrap_or_default();
            match req.operator.as_str() {
                "Exists" => !pc.is_empty(),
                "DoesNotExist" => pc.is_empty(),
                "In" => req.values.contains(&pc),
                "NotIn" => !req.values.contains(&pc),
                _ => false,
            }
        }
        _ => false,
    }
}

/// `Matches`: the quota limits something this kind is charged for, and every scope matches
/// (only pods have scopes; any scope excludes other kinds).
pub fn quota_matches(quota: &Value, kind: &ResourceKind, obj: &Value) -> bool {
    let hard = list_of(quota.pointer("/status/hard"));
    if matching_resources(kind, &hard).is_empty() {
        return false;
    }
    let is_pod = kind.group.is_empty() && kind.plural == "pods";
    scope_requirements(quota)
        .iter()
        .all(|r| is_pod && pod_matches_scope(r, obj))
}

/// `QuotaV1Pod`: a pod that finished, or whose grace period ran out, is not charged for
/// compute resources.
fn pod_counted(pod: &Value, now: Timestamp) -> bool {
    let phase = super::str_at(pod, "/status/phase");
    if phase == "Succeeded" || phase == "Failed" {
        return false;
    }
    let deleted = pod
        .pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_time);
    let grace = pod
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64);
    if let (Some(t), Some(g)) = (deleted, grace)
        && let Ok(end) = t.checked_add(jiff::SignedDuration::from_secs(g))
        && now > end
    {
        return false;
    }
    true
}

/// The resource lists of one container.
fn container_lists(c: &k8s_openapi::api::core::v1::Container) -> (ResourceList, ResourceList) {
    let conv =
        |m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>| {
            m.into_iter()
                .flatten()
                .filter_map(|(k, q)| Some((k.clone(), Amount::parse(&q.0)?)))
                .collect::<ResourceList>()
        };
    let res = c.resources.as_ref();
    (
        conv(res.and_then(|r| r.requests.as_ref())),
        conv(res.and_then(|r| r.limits.as_ref())),
    )
}

/// `resourcehelper.PodRequests`/`PodLimits`: the containers' sum, raised to any init
/// container's larger value, plus the pod overhead.
fn pod_totals(spec: &PodSpec) -> (ResourceList, ResourceList) {
    let (mut req, mut lim) = (ResourceList::new(), ResourceList::new());
    for c in &spec.containers {
        let (r, l) = container_lists(c);
        req = add_lists(&req, &r);
        lim = add_lists(&lim, &l);
    }
    for c in spec.init_containers.iter().flatten() {
        let (r, l) = container_lists(c);
        for (total, one) in [(&mut req, r), (&mut lim, l)] {
            for (k, v) in one {
                let e = total.entry(k).or_default();
                if v.nanos > e.nanos {
                    *e = v;
                }
            }
        }
    }
    if let Some(o) = &spec.overhead {
        let over: ResourceList = o
            .iter()
            .filter_map(|(k, q)| Some((k.clone(), Amount::parse(&q.0)?)))
            .collect();
        req = add_lists(&req, &over);
        lim = add_lists(&lim, &over);
    }
    (req, lim)
}

/// `podComputeUsageHelper`.
fn compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("pods".into(), Amount::count(1));
    for r in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(r) {
            out.insert(r.into(), *q);
            out.insert(format!("requests.{r}"), *q);
        }
        if let Some(q) = limits.get(r) {
            out.insert(format!("limits.{r}"), *q);
        }
    }
    for (k, q) in requests {
        if k.starts_with("hugepages-") {
            out.insert(k.clone(), *q);
            out.insert(format!("requests.{k}"), *q);
        } else if is_extended_resource(k) {
            out.insert(format!("requests.{k}"), *q);
        }
    }
    out
}

/// The pod evaluator's `Usage`.
pub fn pod_usage(pod: &Value, now: Timestamp) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("count/pods".into(), Amount::count(1));
    if !pod_counted(pod, now) {
        return out;
    }
    let (req, lim) = pod_totals(&pod_spec(pod));
    add_lists(&out, &compute_usage(&req, &lim))
}

/// The per-container compute resources a pod must set when a quota limits them
/// (`Constraints`): `must specify cpu for: a,b; memory for: a`.
pub fn pod_constraints(pod: &Value, restricted: &[&String]) -> Option<String> {
    let required: Vec<&str> = restricted
        .iter()
        .map(|s| s.as_str())
        .filter(|s| POD_COMPUTE.contains(s))
        .collect();
    if required.is_empty() {
        return None;
    }
    let spec = pod_spec(pod);
    let mut missing: BTreeMap<&str, std::collections::BTreeSet<String>> = BTreeMap::new();
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let (r, l) = container_lists(c);
        let has = compute_usage(&r, &l);
        for res in &required {
            if !has.contains_key(*res) {
                missing.entry(res).or_default().insert(c.name.clone());
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(res, names)| {
            format!(
                "{res} for: {}",
                names.iter().cloned().collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    Some(format!("must specify {}", parts.join("; ")))
}

/// The service evaluator's `Usage`.
fn service_usage(svc: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("services".into(), Amount::count(1));
    out.insert("count/services".into(), Amount::count(1));
    let ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let n = i128::try_from(ports.len()).unwrap_or(0);
    let (mut node_ports, mut lbs) = (0, 0);
    match super::str_at(svc, "/spec/type") {
        "NodePort" => node_ports = n,
        "LoadBalancer" => {
            node_ports =
                if svc.pointer("/spec/allocateLoadBalancerNodePorts") == Some(&json!(false)) {
                    i128::try_from(
                        ports
                            .iter()
                            .filter(|p| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0)
                            .count(),
                    )
                    .unwrap_or(0)
                } else {
                    n
                };
            lbs = 1;
        }
        _ => {}
    }
    out.insert("services.nodeports".into(), Amount::count(node_ports));
    out.insert("services.loadbalancers".into(), Amount::count(lbs));
    out
}

/// The persistent volume claim evaluator's `Usage`.
fn pvc_usage(pvc: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("persistentvolumeclaims".into(), Amount::count(1));
    out.insert("count/persistentvolumeclaims".into(), Amount::count(1));
    let mut class = super::str_at(pvc, "/spec/storageClassName").to_string();
    if class.is_empty() {
        class = super::str_at(
            pvc,
            "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
        )
        .to_string();
    }
    if !class.is_empty() {
        out.insert(
            format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
            Amount::count(1),
        );
    }
    if let Some(q) = pvc
        .pointer("/spec/resources/requests/storage")
        .and_then(Value::as_str)
        .and_then(Amount::parse)
    {
        out.insert("requests.storage".into(), q);
        if !class.is_empty() {
            out.insert(format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"), q);
        }
    }
    out
}

/// What one object of `kind` is charged.
pub fn usage(kind: &ResourceKind, obj: &Value, now: Timestamp) -> ResourceList {
    match (kind.group, kind.plural) {
        ("", "pods") => pod_usage(obj, now),
        ("", "services") => service_usage(obj),
        ("", "persistentvolumeclaims") => pvc_usage(obj),
        _ => {
            let mut out = ResourceList::new();
            out.insert(count_name(kind), Amount::count(1));
            if let Some(a) = alias(kind) {
                out.insert(a.into(), Amount::count(1));
            }
            out
        }
    }
}

/// `CalculateUsage`: what everything in the quota's namespace uses of its hard resources
/// (zero for each resource an evaluator counts; resources no evaluator knows stay absent).
pub fn calculate_used(store: &Store, quota: &Value, now: Timestamp) -> ResourceList {
    let ns = super::namespace_of(quota);
    let hard = list_of(quota.pointer("/spec/hard"));
    let mut probe = quota.clone();
    probe["status"]["hard"] = list_json(&hard);
    let mut used = ResourceList::new();
    for kind in super::ALL.iter().copied() {
        let names = matching_resources(kind, &hard);
        if names.is_empty() {
            continue;
        }
        let mut total: ResourceList = names
            .iter()
            .map(|n| ((*n).clone(), Amount::default()))
            .collect();
        for obj in store.list_raw(kind, Some(ns)) {
            if !quota_matches(&probe, kind, &obj) {
                continue;
            }
            total = add_lists(
                &total,
                &mask(&usage(kind, &obj, now), names.iter().copied()),
            );
        }
        used.extend(total);
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> ResourceList {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), Amount::parse(v).expect("a quantity")))
            .collect()
    }

    #[test]
    fn amounts_add_and_print_like_go_quantities() {
        let a = Amount::parse("256Mi")
            .unwrap()
            .plus(Amount::parse("256Mi").unwrap());
        assert_eq!(a.to_string(), "512Mi");
        let z = Amount::default().plus(Amount::parse("1Gi").unwrap());
        assert_eq!(z.to_string(), "1Gi");
        let c = Amount::parse("500m")
            .unwrap()
            .plus(Amount::parse("500m").unwrap());
        assert_eq!(c.to_string(), "1");
        assert_eq!(Amount::parse("1500m").unwrap().to_string(), "1500m");
        assert_eq!(Amount::count(0).to_string(), "0");
        assert_eq!(Amount::parse("1000").unwrap().to_string(), "1k");
    }

    #[test]
    fn the_table_splits_requests_from_limits() {
        let q = json!({"status": {
            "hard": {"pods": "2", "requests.cpu": "1", "limits.memory": "1Gi"},
            "used": {"pods": "1", "requests.cpu": "500m"}}});
        let (r, l) = request_limit_cells(&q);
        assert_eq!(r, "pods: 1/2, requests.cpu: 500m/1");
        assert_eq!(l, "limits.memory: 0/1Gi");
    }

    #[test]
    fn pods_are_charged_for_their_containers_and_init_containers() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}}}]}});
        let u = pod_usage(&pod, Timestamp::UNIX_EPOCH);
        assert_eq!(u["pods"].to_string(), "1");
        assert_eq!(u["count/pods"].to_string(), "1");
        assert_eq!(u["requests.cpu"].to_string(), "2");
        assert_eq!(u["requests.memory"].to_string(), "256Mi");
        assert_eq!(u["limits.memory"].to_string(), "256Mi");
        let done = json!({"status": {"phase": "Succeeded"}, "spec": pod["spec"]});
        let u = pod_usage(&done, Timestamp::UNIX_EPOCH);
        assert_eq!(u.keys().collect::<Vec<_>>(), ["count/pods"]);
    }

    #[test]
    fn missing_requests_are_named_per_resource_and_container() {
        let pod = json!({"spec": {"containers": [
            {"name": "b"}, {"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
        let cpu = "requests.cpu".to_string();
        let mem = "requests.memory".to_string();
        let pods = "pods".to_string();
        assert_eq!(
            pod_constraints(&pod, &[&cpu, &mem, &pods]).as_deref(),
            Some("must specify requests.cpu for: b; requests.memory for: a,b")
        );
        assert_eq!(pod_constraints(&pod, &[&pods]), None);
    }

    #[test]
    fn services_count_node_ports_and_load_balancers() {
        let svc = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}});
        let u = service_usage(&svc);
        assert_eq!(u["services.nodeports"].to_string(), "2");
        assert_eq!(u["services.loadbalancers"].to_string(), "1");
        let pvc = json!({"spec": {"storageClassName": "standard", "resources": {"requests": {"storage": "1Gi"}}}});
        let u = pvc_usage(&pvc);
        assert_eq!(
            u["standard.storageclass.storage.k8s.io/requests.storage"].to_string(),
            "1Gi"
        );
    }

    #[test]
    fn scopes_select_pods_by_quality_of_service_and_deadline() {
        let q = json!({"spec": {"scopes": ["BestEffort"]}, "status": {"hard": {"pods": "1"}}});
        let be = json!({"spec": {"containers": [{"name": "a"}]}});
        let burst = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
        assert!(quota_matches(&q, &super::super::pod::KIND, &be));
        assert!(!quota_matches(&q, &super::super::pod::KIND, &burst));
        let t = json!({"spec": {"scopes": ["Terminating"]}, "status": {"hard": {"pods": "1"}}});
        let job = json!({"spec": {"activeDeadlineSeconds": 30, "containers": [{"name": "a"}]}});
        assert!(quota_matches(&t, &super::super::pod::KIND, &job));
        assert!(!quota_matches(&t, &super::super::pod::KIND, &be));
        // A scoped quota never matches other kinds.
        let cm =
            json!({"spec": {"scopes": ["BestEffort"]}, "status": {"hard": {"configmaps": "1"}}});
        assert!(!quota_matches(
            &cm,
            &super::super::configmap::KIND,
            &json!({})
        ));
    }

    #[test]
    fn validation_names_bad_resources_values_and_scopes() {
        let q = json!({"spec": {"hard": {"pods": "1500m", "bogus": "1", "cpu": "-1"},
            "scopes": ["BestEffort", "NotBestEffort"]}});
        let msgs: Vec<String> = Hooks.validate(&q).iter().map(ToString::to_string).collect();
        assert!(msgs.contains(&"spec.hard[bogus]: Invalid value: \"bogus\": must be a standard resource for quota".to_string()), "{msgs:?}");
        assert!(
            msgs.contains(
                &"spec.hard[cpu]: Invalid value: \"-1\": must be greater than or equal to 0"
                    .to_string()
            ),
            "{msgs:?}"
        );
        assert!(msgs.contains(&"spec.hard[pods]: Invalid value: resource.Quantity{i:resource.int64Amount{value:1500, scale:-3}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"1500m\", Format:\"DecimalSI\"}: must be an integer".to_string()), "{msgs:?}");
        assert!(msgs.contains(&"spec.scopes: Invalid value: []core.ResourceQuotaScope{\"BestEffort\", \"NotBestEffort\"}: conflicting scopes".to_string()), "{msgs:?}");
        let _ = list(&[]);
    }
}

//! Pods: defaulting and admission as kube-apiserver 1.33 applies them, validation with the
//! real texts, the pod update rules (`spec: Forbidden: pod updates may not change fields
//! other than ...`), field selectors, and kubectl's `printPod()` for STATUS/READY/RESTARTS.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    Container, Pod, PodSecurityContext, PodSpec, PodStatus, ResourceRequirements,
};
use serde_json::{Value, json};

use super::{
    Column, CreateContext, DeleteStrategy, KindHooks, NameRule, ResourceKind, STANDARD_VERBS,
    Subresource, age_column, col, name_column, typed,
};
use crate::store::Store;
use crate::strict::DecodeError;
use kq_kube::printers;
use kq_kube::quantity::Quantity;
use kq_kube::validation::{self, FieldError};

/// The pods resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "pods",
    singular: "pod",
    kind: "Pod",
    namespaced: true,
    short_names: &["po"],
    categories: &["all"],
    verbs: STANDARD_VERBS,
    subresources: &[
        Subresource {
            name: "attach",
            kind: "PodAttachOptions",
            verbs: &["create", "get"],
        },
        Subresource {
            name: "binding",
            kind: "Binding",
            verbs: &["create"],
        },
        Subresource {
            name: "ephemeralcontainers",
            kind: "Pod",
            verbs: &["get", "patch", "update"],
        },
        Subresource {
            name: "eviction",
            kind: "Eviction",
            verbs: &["create"],
        },
        Subresource {
            name: "exec",
            kind: "PodExecOptions",
            verbs: &["create", "get"],
        },
        Subresource {
            name: "log",
            kind: "Pod",
            verbs: &["get"],
        },
        Subresource {
            name: "portforward",
            kind: "PodPortForwardOptions",
            verbs: &["create", "get"],
        },
        Subresource {
            name: "proxy",
            kind: "PodProxyOptions",
            verbs: &["create", "delete", "get", "patch", "update"],
        },
        Subresource {
            name: "resize",
            kind: "Pod",
            verbs: &["get", "patch", "update"],
        },
        Subresource {
            name: "status",
            kind: "Pod",
            verbs: &["get", "patch", "update"],
        },
    ],
    name_rule: NameRule::Subdomain,
    tracks_generation: true,
    hooks: &PodHooks,
};

/// Server-side behaviour of pods.
pub struct PodHooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
        0,
    ),
    col(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
        0,
    ),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        0,
    ),
    age_column(),
    col(
        "IP",
        "string",
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        1,
    ),
    col(
        "Node",
        "string",
        "NodeName indicates in which node this pod is scheduled.",
        1,
    ),
    col(
        "Nominated Node",
        "string",
        "nominatedNodeName is set only when this pod preempts other pods on the node.",
        1,
    ),
    col(
        "Readiness Gates",
        "string",
        "If specified, all readiness gates will be evaluated for pod readiness.",
        1,
    ),
];

/// Where every pod's service account token is mounted (the ServiceAccount admission
/// plug-in mounts it).
pub use crate::admission::service_account::SERVICE_ACCOUNT_MOUNT;

impl KindHooks for PodHooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        check_quantities(value)?;
        super::typed_decode::<Pod>(value, "Pod")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        let mut pod: Pod = typed(obj);
        default_spec(pod.spec.get_or_insert_with(Default::default));
        *obj = serde_json::to_value(&pod).map_err(|e| crate::Error::Internal(e.to_string()))?;
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        let mut pod: Pod = typed(obj);
        let spec = pod.spec.get_or_insert_with(Default::default);
        let qos = qos_class(spec);
        pod.status = Some(PodStatus {
            phase: Some("Pending".into()),
            qos_class: Some(qos.into()),
            ..Default::default()
        });
        *obj = serde_json::to_value(&pod).map_err(|e| crate::Error::Internal(e.to_string()))?;
        Ok(())
    }

    fn delete_strategy(&self) -> DeleteStrategy {
        DeleteStrategy::Graceful
    }

    fn grace_period(&self, old: &Value, requested: Option<i64>) -> i64 {
        let phase = super::str_at(old, "/status/phase");
        let unscheduled = super::str_at(old, "/spec/nodeName").is_empty();
        if unscheduled || phase == "Succeeded" || phase == "Failed" {
            // The apiserver deletes pods no kubelet ever ran immediately.
            0
        } else {
            requested
                .or_else(|| {
                    old.pointer("/spec/terminationGracePeriodSeconds")
                        .and_then(Value::as_i64)
                })
                .unwrap_or(30)
                .max(0)
        }
    }

    fn after_remove(&self, store: &Store, last: &Value) {
        store
            .logs()
            .remove_pod(super::str_at(last, "/metadata/uid"));
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let pod: Pod = typed(obj);
        let mut errs = Vec::new();
        match &pod.spec {
            Some(spec) => validate_spec(spec, &mut errs),
            None => errs.push(FieldError::required("spec.containers", "")),
        }
        errs
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        // Decoding defaults every write, so a PUT without defaults does not look like a change.
        let mut pod: Pod = typed(new);
        if let Some(spec) = pod.spec.as_mut() {
            default_spec(spec);
        }
        if let Ok(v) = serde_json::to_value(&pod) {
            *new = v;
        }
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        if let Some(e) = forbidden_spec_change(new.get("spec"), old.get("spec")) {
            errs.push(e);
        }
        errs
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        let s = |p: &str| {
            obj.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some(match field {
            "spec.nodeName" => s("/spec/nodeName"),
            "spec.restartPolicy" => s("/spec/restartPolicy"),
            "spec.schedulerName" => s("/spec/schedulerName"),
            "spec.serviceAccountName" => s("/spec/serviceAccountName"),
            "spec.hostNetwork" => obj
                .pointer("/spec/hostNetwork")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string(),
            "status.phase" => s("/status/phase"),
            "status.podIP" => s("/status/podIP"),
            "status.nominatedNodeName" => s("/status/nominatedNodeName"),
            _ => return None,
        })
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let pod: Pod = typed(obj);
        print_pod(&pod, now)
    }
}

/// Quantities are parsed while decoding in Go, so a bad one is a 400, not a 422.
fn check_quantities(value: &Value) -> Result<(), DecodeError> {
    let bad = |q: &Value| {
        q.as_str().is_some_and(|s| Quantity::parse(s).is_none()) || q.is_boolean() || q.is_object()
    };
    for list in ["containers", "initContainers"] {
        let Some(cs) = value
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        for c in cs {
            for section in ["requests", "limits"] {
                if let Some(m) = c
                    .pointer(&format!("/resources/{section}"))
                    .and_then(Value::as_object)
                    && m.values().any(bad)
                {
                    return Err(DecodeError::Type(
                        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".into(),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `SetDefaults_PodSpec` and `SetDefaults_Container` for the fields learners meet.
pub fn default_spec(spec: &mut PodSpec) {
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.scheduler_name
        .get_or_insert_with(|| "default-scheduler".into());
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.security_context
        .get_or_insert_with(PodSecurityContext::default);
    spec.enable_service_links.get_or_insert(true);
    spec.preemption_policy
        .get_or_insert_with(|| "PreemptLowerPriority".into());
    spec.priority.get_or_insert(0);
    let sa = spec
        .service_account_name
        .clone()
        .or_else(|| spec.service_account.clone())
        .unwrap_or_else(|| "default".into());
    spec.service_account_name = Some(sa.clone());
    spec.service_account = Some(sa);
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        default_container(c);
    }
    for v in spec.volumes.iter_mut().flatten() {
        if let Some(cm) = v.config_map.as_mut() {
            cm.default_mode.get_or_insert(420);
        }
        if let Some(s) = v.secret.as_mut() {
            s.default_mode.get_or_insert(420);
        }
        if let Some(h) = v.host_path.as_mut() {
            h.type_.get_or_insert_with(String::new);
        }
        if let Some(p) = v.projected.as_mut() {
            p.default_mode.get_or_insert(420);
        }
    }
}

/// The pull policy Kubernetes picks when none is given.
pub fn default_pull_policy(image: &str) -> &'static str {
    // The tag is after the last ':' that follows the last '/'; a digest alone means no tag.
    let without_digest = image.split('@').next().unwrap_or_default();
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    let tag = last.rsplit_once(':').map(|(_, t)| t);
    let has_digest = image.contains('@');
    match tag {
        Some("latest") => "Always",
        None if !has_digest => "Always",
        _ => "IfNotPresent",
    }
}

fn default_container(c: &mut Container) {
    if c.image_pull_policy.is_none() {
        c.image_pull_policy =
            Some(default_pull_policy(c.image.as_deref().unwrap_or_default()).into());
    }
    c.termination_message_path
        .get_or_insert_with(|| "/dev/termination-log".into());
    c.termination_message_policy
        .get_or_insert_with(|| "File".into());
    let res = c
        .resources
        .get_or_insert_with(ResourceRequirements::default);
    // Requests default to limits.
    if let Some(limits) = res.limits.clone() {
        let req = res.requests.get_or_insert_with(BTreeMap::new);
        for (k, v) in limits {
            req.entry(k).or_insert(v);
        }
    }
    // Stored quantities are canonical (`0.5` reads back as `500m`).
    for map in [res.requests.as_mut(), res.limits.as_mut()]
        .into_iter()
        .flatten()
    {
        for q in map.values_mut() {
            if let Some(c) = kq_kube::quantity::canonical(&q.0) {
                q.0 = c;
            }
        }
    }
    for p in c.ports.iter_mut().flatten() {
        p.protocol.get_or_insert_with(|| "TCP".into());
    }
    for e in c.env.iter_mut().flatten() {
        if let Some(fr) = e.value_from.as_mut().and_then(|vf| vf.field_ref.as_mut()) {
            fr.api_version.get_or_insert_with(|| "v1".into());
        }
    }
    for probe in [
        c.liveness_probe.as_mut(),
        c.readiness_probe.as_mut(),
        c.startup_probe.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        probe.timeout_seconds.get_or_insert(1);
        probe.period_seconds.get_or_insert(10);
        probe.success_threshold.get_or_insert(1);
        probe.failure_threshold.get_or_insert(3);
        if let Some(h) = probe.http_get.as_mut() {
            h.scheme.get_or_insert_with(|| "HTTP".into());
        }
    }
}

/// `qos.GetPodQOS`: BestEffort, Burstable or Guaranteed from cpu/memory requests and limits.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let res = c.resources.clone().unwrap_or_default();
        for name in ["cpu", "memory"] {
            if let Some(q) = res
                .requests
                .as_ref()
                .and_then(|r| r.get(name))
                .and_then(|q| Quantity::parse(&q.0))
                && q.0 != 0
            {
                let e = requests.entry(name).or_insert(Quantity(0));
                e.0 += q.0;
            }
        }
        let mut found = 0;
        for name in ["cpu", "memory"] {
            if let Some(q) = res
                .limits
                .as_ref()
                .and_then(|r| r.get(name))
                .and_then(|q| Quantity::parse(&q.0))
                && q.0 != 0
            {
                found += 1;
                let e = limits.entry(name).or_insert(Quantity(0));
                e.0 += q.0;
            }
        }
        if found != 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.len() == limits.len()
        && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
    {
        return "Guaranteed";
    }
    "Burstable"
}

fn validate_spec(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    let volume_names: Vec<&str> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let f = format!("spec.volumes[{i}].name");
        if v.name.is_empty() {
            errs.push(FieldError::required(&f, ""));
        } else {
            for e in validation::dns1123_label(&v.name) {
                errs.push(FieldError::invalid(&f, &v.name, e));
            }
            if volume_names[..i].contains(&v.name.as_str()) {
                errs.push(FieldError::duplicate(&f, &v.name));
            }
        }
        let sources = serde_json::to_value(v)
            .ok()
            .and_then(|v| {
                v.as_object()
                    .map(|o| o.keys().filter(|k| k.as_str() != "name").count())
            })
            .unwrap_or(0);
        if sources == 0 {
            errs.push(FieldError::required(
                format!("spec.volumes[{i}]"),
                "must specify a volume type",
            ));
        } else if sources > 1 {
            errs.push(FieldError::forbidden(
                format!("spec.volumes[{i}]"),
                "may not specify more than 1 volume type",
            ));
        }
    }
    if spec.containers.is_empty() {
        errs.push(FieldError::required("spec.containers", ""));
    }
    let mut seen: Vec<String> = Vec::new();
    for (list, cs) in [
        (
            "initContainers",
            spec.init_containers.as_deref().unwrap_or_default(),
        ),
        ("containers", &spec.containers[..]),
    ] {
        for (i, c) in cs.iter().enumerate() {
            validate_container(
                &format!("spec.{list}[{i}]"),
                c,
                &volume_names,
                &mut seen,
                errs,
            );
        }
    }
    if let Some(p) = &spec.restart_policy
        && !["Always", "OnFailure", "Never"].contains(&p.as_str())
    {
        errs.push(FieldError::not_supported(
            "spec.restartPolicy",
            p,
            &["Always", "OnFailure", "Never"],
        ));
    }
    if let Some(p) = &spec.dns_policy
        && !["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"].contains(&p.as_str())
    {
        errs.push(FieldError::not_supported(
            "spec.dnsPolicy",
            p,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ));
    }
    for (k, v) in spec.node_selector.iter().flatten() {
        for e in validation::qualified_name(k) {
            errs.push(FieldError::invalid("spec.nodeSelector", k, e));
        }
        for e in validation::label_value(v) {
            errs.push(FieldError::invalid("spec.nodeSelector", v, e));
        }
    }
    for (i, t) in spec.tolerations.iter().flatten().enumerate() {
        if let Some(op) = &t.operator
            && !["Exists", "Equal"].contains(&op.as_str())
        {
            errs.push(FieldError::not_supported(
                format!("spec.tolerations[{i}].operator"),
                op,
                &["Equal", "Exists"],
            ));
        }
        if let Some(e) = &t.effect
            && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&e.as_str())
        {
            errs.push(FieldError::not_supported(
                format!("spec.tolerations[{i}].effect"),
                e,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    if let Some(g) = spec.termination_grace_period_seconds
        && g < 0
    {
        // Accepted for compatibility; the kubelet treats it as 1.
    }
}

fn validate_container(
    path: &str,
    c: &Container,
    volumes: &[&str],
    seen: &mut Vec<String>,
    errs: &mut Vec<FieldError>,
) {
    if c.name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else {
        for e in validation::dns1123_label(&c.name) {
            errs.push(FieldError::invalid(format!("{path}.name"), &c.name, e));
        }
        if seen.contains(&c.name) {
            errs.push(FieldError::duplicate(format!("{path}.name"), &c.name));
        }
        seen.push(c.name.clone());
    }
    match c.image.as_deref() {
        None | Some("") => errs.push(FieldError::required(format!("{path}.image"), "")),
        Some(img) if img.trim() != img => errs.push(FieldError::invalid(
            format!("{path}.image"),
            img,
            "must not have leading or trailing whitespace",
        )),
        _ => {}
    }
    if let Some(p) = &c.image_pull_policy
        && !["Always", "IfNotPresent", "Never"].contains(&p.as_str())
    {
        errs.push(FieldError::not_supported(
            format!("{path}.imagePullPolicy"),
            p,
            &["Always", "IfNotPresent", "Never"],
        ));
    }
    for (i, p) in c.ports.iter().flatten().enumerate() {
        if !(1..=65535).contains(&p.container_port) {
            errs.push(FieldError::invalid_num(
                format!("{path}.ports[{i}].containerPort"),
                p.container_port.into(),
                "must be between 1 and 65535, inclusive",
            ));
        }
        if let Some(proto) = &p.protocol
            && !["SCTP", "TCP", "UDP"].contains(&proto.as_str())
        {
            errs.push(FieldError::not_supported(
                format!("{path}.ports[{i}].protocol"),
                proto,
                &["SCTP", "TCP", "UDP"],
            ));
        }
    }
    for (i, e) in c.env.iter().flatten().enumerate() {
        if e.name.is_empty() {
            errs.push(FieldError::required(format!("{path}.env[{i}].name"), ""));
        } else if e.name.contains('=') || !e.name.bytes().all(|b| (32..127).contains(&b)) {
            errs.push(FieldError::invalid(
                format!("{path}.env[{i}].name"),
                &e.name,
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
    }
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        if m.name.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.volumeMounts[{i}].name"),
                "",
            ));
        } else if !volumes.contains(&m.name.as_str()) {
            errs.push(FieldError::not_found(
                format!("{path}.volumeMounts[{i}].name"),
                &m.name,
            ));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.volumeMounts[{i}].mountPath"),
                "",
            ));
        }
    }
    if let Some(res) = &c.resources {
        for (name, req) in res.requests.iter().flatten() {
            let Some(lim) = res.limits.as_ref().and_then(|l| l.get(name)) else {
                continue;
            };
            if let (Some(rq), Some(lq)) = (Quantity::parse(&req.0), Quantity::parse(&lim.0))
                && rq > lq
            {
                errs.push(FieldError::invalid(
                    format!("{path}.resources.requests[{name}]"),
                    &req.0,
                    format!("must be less than or equal to {name} limit of {}", lim.0),
                ));
            }
        }
    }
}

const UPDATE_RULES: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// The pod update rules: copy the fields that may change from the new spec onto the old one;
/// if anything else differs, the update is forbidden and the message shows a diff.
fn forbidden_spec_change(new: Option<&Value>, old: Option<&Value>) -> Option<FieldError> {
    let (Some(new), Some(old)) = (new, old) else {
        return None;
    };
    let mut munged = new.clone();
    for list in ["containers", "initContainers"] {
        if let (Some(n), Some(o)) = (
            munged.get_mut(list).and_then(Value::as_array_mut),
            old.get(list).and_then(Value::as_array),
        ) && n.len() == o.len()
        {
            for (nc, oc) in n.iter_mut().zip(o) {
                if let Some(img) = oc.get("image") {
                    nc["image"] = img.clone();
                }
            }
        }
    }
    let copy = |m: &mut Value, key: &str| match old.get(key) {
        Some(v) => m[key] = v.clone(),
        None => {
            if let Some(o) = m.as_object_mut() {
                o.remove(key);
            }
        }
    };
    // activeDeadlineSeconds may be set, or lowered, never removed or raised.
    let ads_ok = match (
        new.get("activeDeadlineSeconds").and_then(Value::as_i64),
        old.get("activeDeadlineSeconds").and_then(Value::as_i64),
    ) {
        (Some(n), Some(o)) => n <= o && n > 0,
        (Some(n), None) => n > 0,
        (None, None) => true,
        (None, Some(_)) => false,
    };
    if ads_ok {
        copy(&mut munged, "activeDeadlineSeconds");
    }
    // Tolerations may only be added.
    let old_tols = old
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let new_tols = new
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if old_tols.iter().all(|t| new_tols.contains(t)) {
        copy(&mut munged, "tolerations");
    }
    if old
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|g| g < 0)
        && new
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            == Some(1)
    {
        copy(&mut munged, "terminationGracePeriodSeconds");
    }
    copy(&mut munged, "schedulingGates");
    if &munged == old {
        return None;
    }
    Some(FieldError::forbidden(
        "spec",
        format!("{UPDATE_RULES}\n{}", spec_diff(old, &munged)),
    ))
}

/// A compact diff in the spirit of the `cmp.Diff` output kube-apiserver appends.
fn spec_diff(old: &Value, new: &Value) -> String {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return String::new();
    };
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut lines = vec!["  core.PodSpec{".to_string()];
    let mut identical = 0;
    for k in keys {
        let go = go_field(k);
        match (o.get(k), n.get(k)) {
            (a, b) if a == b => identical += 1,
            (a, b) => {
                if identical > 0 {
                    lines.push(format!("  \t... // {identical} identical fields"));
                    identical = 0;
                }
                if let Some(a) = a {
                    lines.push(format!("- \t{go}: {a},"));
                }
                if let Some(b) = b {
                    lines.push(format!("+ \t{go}: {b},"));
                }
            }
        }
    }
    if identical > 0 {
        lines.push(format!("  \t... // {identical} identical fields"));
    }
    lines.push("  }".to_string());
    lines.join("\n")
}

fn go_field(json_name: &str) -> String {
    let mut c = json_name.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// Port of kubectl's `printPod()` (pkg/printers/internalversion/printers.go): the cells of
/// NAME, READY, STATUS, RESTARTS, AGE, IP, NODE, NOMINATED NODE, READINESS GATES. READY,
/// STATUS, RESTARTS and AGE come from kq-kube's printer, which the engine shares.
pub fn print_pod(pod: &Pod, now: Timestamp) -> Vec<Value> {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let row = printers::print_pod(pod);
    let restarts_cell = row.restarts_text(now);
    let age = printers::age(pod.metadata.creation_timestamp.as_ref().map(|t| t.0), now);
    let ip = status
        .pod_ips
        .as_ref()
        .and_then(|ips| ips.first())
        .map(|p| p.ip.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<none>".into());
    let node = spec
        .node_name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<none>".into());
    let nominated = status
        .nominated_node_name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<none>".into());
    let gates = match spec.readiness_gates.as_deref() {
        Some(g) if !g.is_empty() => {
            let ok = g
                .iter()
                .filter(|gate| {
                    status
                        .conditions
                        .iter()
                        .flatten()
                        .find(|c| c.type_ == gate.condition_type)
                        .is_some_and(|c| c.status == "True")
                })
                .count();
            format!("{ok}/{}", g.len())
        }
        _ => "<none>".into(),
    };
    vec![
        json!(pod.metadata.name.clone().unwrap_or_default()),
        json!(row.ready),
        json!(row.status),
        json!(restarts_cell),
        json!(age),
        json!(ip),
        json!(node),
        json!(nominated),
        json!(gates),
    ]
}

/// The container a log, exec or attach request means (`validateContainer` in the pod
/// registry, which `LogLocation` and `streamLocation` share): a named one must be one of the
/// pod's init, regular or ephemeral containers; without a name only a pod with a single
/// regular container has an answer. Defaults such as `kubectl.kubernetes.io/default-container`
/// are kubectl's, applied before it asks.
pub fn request_container(pod: &Value, requested: Option<&str>) -> crate::Result<String> {
    let name = super::name_of(pod);
    let names = |list: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let containers = names("containers");
    // podutil.VisitContainers' order: init containers, containers, ephemeral containers.
    let all: Vec<String> = names("initContainers")
        .into_iter()
        .chain(containers.iter().cloned())
        .chain(names("ephemeralContainers"))
        .collect();
    match requested.filter(|c| !c.is_empty()) {
        Some(c) if all.iter().any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(crate::Error::BadRequest(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None => match containers.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(crate::Error::BadRequest(format!(
                "a container name must be specified for pod {name}"
            ))),
            _ => Err(crate::Error::BadRequest(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                all.join(" ")
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn now() -> Timestamp {
        "2025-01-01T00:10:00Z".parse().unwrap()
    }

    fn cells(v: Value) -> Vec<String> {
        print_pod(&pod(v), now())
            .into_iter()
            .map(|c| c.as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn pull_policy_defaults() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(default_pull_policy("localhost:5000/app"), "Always");
        assert_eq!(default_pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn crash_loop_row() {
        let c = cells(
            json!({"metadata":{"name":"web","creationTimestamp":"2025-01-01T00:00:00Z"},
            "spec":{"containers":[{"name":"c"}]},
            "status":{"phase":"Running","containerStatuses":[{"name":"c","ready":false,"restartCount":3,"image":"x","imageID":"",
              "state":{"waiting":{"reason":"CrashLoopBackOff"}},
              "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"2025-01-01T00:09:48Z"}}}]}}),
        );
        assert_eq!(
            c[..5],
            ["web", "0/1", "CrashLoopBackOff", "3 (12s ago)", "10m"]
        );
        assert_eq!(c[5..], ["<none>", "<none>", "<none>", "<none>"]);
    }

    #[test]
    fn init_and_terminating_rows() {
        let c = cells(json!({"metadata":{"name":"p"},
            "spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"c"}]},
            "status":{"phase":"Pending","initContainerStatuses":[{"name":"i","ready":false,"restartCount":0,"image":"x","imageID":"",
              "state":{"waiting":{"reason":"PodInitializing"}}}]}}));
        assert_eq!(c[2], "Init:0/1");
        let c = cells(
            json!({"metadata":{"name":"p","deletionTimestamp":"2025-01-01T00:10:30Z"},
            "spec":{"containers":[{"name":"c"}]},"status":{"phase":"Pending"}}),
        );
        assert_eq!(c[2], "Terminating");
        let c = cells(
            json!({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"},{"name":"b"}]},
            "status":{"phase":"Running","conditions":[{"type":"Ready","status":"False"}],"containerStatuses":[
              {"name":"a","ready":false,"restartCount":0,"image":"x","imageID":"","state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
              {"name":"b","ready":true,"restartCount":0,"image":"x","imageID":"","state":{"running":{}}}]}}),
        );
        assert_eq!(c[1..3], ["1/2", "NotReady"]);
    }

    #[test]
    fn qos_classes() {
        let spec = |res: Value| -> PodSpec {
            serde_json::from_value(json!({"containers":[{"name":"c","resources":res}]})).unwrap()
        };
        assert_eq!(qos_class(&spec(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&spec(json!({"requests":{"cpu":"100m"}}))),
            "Burstable"
        );
        assert_eq!(
            qos_class(&spec(
                json!({"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":"1000m","memory":"1Gi"}})
            )),
            "Guaranteed"
        );
    }

    #[test]
    fn update_rules() {
        let old = json!({"containers":[{"name":"c","image":"a"}],"restartPolicy":"Always"});
        let ok = json!({"containers":[{"name":"c","image":"b"}],"restartPolicy":"Always"});
        assert!(forbidden_spec_change(Some(&ok), Some(&old)).is_none());
        let bad = json!({"containers":[{"name":"c","image":"b"}],"restartPolicy":"Never"});
        let e = forbidden_spec_change(Some(&bad), Some(&old)).unwrap();
        assert!(
            e.to_string()
                .starts_with("spec: Forbidden: pod updates may not change fields other than")
        );
        assert!(
            e.to_string().contains("+ \tRestartPolicy: \"Never\","),
            "{e}"
        );
    }
}

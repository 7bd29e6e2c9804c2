//! DaemonSets (apps/v1): scheme defaults, validation, the template generation the daemon
//! controller labels its pods with, update and status strategies, and the kubectl table.
//! Kubernetes keeps the same in `pkg/apis/apps/v1/defaults.go` (`SetDefaults_DaemonSet`),
//! `pkg/apis/apps/v1/conversion.go` (the `deprecated.daemonset.template.generation`
//! annotation), `pkg/apis/apps/validation/validation.go` (`ValidateDaemonSetSpec`),
//! `pkg/registry/apps/daemonset/strategy.go` and `pkg/printers/internalversion/printers.go`
//! (`printDaemonSet`).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy, RollingUpdateDaemonSet,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kq_kube::validation::FieldError;
use serde_json::{Value, json};

use super::podtemplate as pt;
use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, age_of, col, name_column, name_of, typed,
};
use crate::strict::DecodeError;

/// The annotation carrying the template generation (`spec.templateGeneration` internally).
pub const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// The daemonsets resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "apps",
    version: "v1",
    plural: "daemonsets",
    singular: "daemonset",
    kind: "DaemonSet",
    namespaced: true,
    short_names: &["ds"],
    categories: &["all"],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "DaemonSet",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: true,
    hooks: &Hooks,
};

/// Server-side behaviour of daemonsets.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Desired",
        "integer",
        "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
        0,
    ),
    col(
        "Current",
        "integer",
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
        0,
    ),
    col(
        "Ready",
        "integer",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
        0,
    ),
    col(
        "Up-to-date",
        "integer",
        "The total number of nodes that are running updated daemon pod",
        0,
    ),
    col(
        "Available",
        "integer",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
        0,
    ),
    col(
        "Node Selector",
        "string",
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
        0,
    ),
    age_column(),
    col("Containers", "string", pt::CONTAINERS_DESC, 1),
    col("Images", "string", pt::IMAGES_DESC, 1),
    col(
        "Selector",
        "string",
        "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
        1,
    ),
];

/// `SetDefaults_DaemonSet` plus the template's pod-spec defaults.
pub fn default_daemon_set(ds: &mut DaemonSet) {
    let spec = ds.spec.get_or_insert_with(DaemonSetSpec::default);
    let strategy = spec
        .update_strategy
        .get_or_insert_with(DaemonSetUpdateStrategy::default);
    let ty = strategy
        .type_
        .get_or_insert_with(|| "RollingUpdate".into())
        .clone();
    if ty == "RollingUpdate" {
        let ru = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDaemonSet::default);
        ru.max_unavailable.get_or_insert(IntOrString::Int(1));
        ru.max_surge.get_or_insert(IntOrString::Int(0));
    }
    spec.revision_history_limit.get_or_insert(10);
    pt::default_template(&mut spec.template);
}

fn defaulted(obj: &Value) -> crate::Result<Value> {
    let mut ds: DaemonSet = typed(obj);
    default_daemon_set(&mut ds);
    let mut v = serde_json::to_value(&ds).map_err(|e| crate::Error::Internal(e.to_string()))?;
    pt::keep_selector_absent(obj, &mut v);
    Ok(v)
}

fn template_generation(obj: &Value) -> i64 {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(TEMPLATE_GENERATION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn set_template_generation(obj: &mut Value, generation: i64) {
    if !obj["metadata"]
        .get("annotations")
        .is_some_and(Value::is_object)
    {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][TEMPLATE_GENERATION] = json!(generation.to_string());
}

fn validate_daemon_set(obj: &Value) -> Vec<FieldError> {
    let ds: DaemonSet = typed(obj);
    let spec = ds.spec.unwrap_or_default();
    let mut errs = Vec::new();
    let sel = pt::selector_at(obj, "/spec/selector");
    match &sel {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) => {
            pt::validate_selector(s, "spec.selector", &mut errs);
            if pt::selector_is_empty(s) {
                errs.push(pt::empty_selector_error(s, "daemonset"));
            }
        }
    }
    pt::validate_selector_matches_template(
        sel.as_ref(),
        obj,
        "/spec/template",
        "spec.template",
        &mut errs,
    );
    pt::validate_template(obj.pointer("/spec/template"), "spec.template", &mut errs);
    if let Some(p) = obj
        .pointer("/spec/template/spec/restartPolicy")
        .and_then(Value::as_str)
        && p != "Always"
    {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            p,
            &["Always"],
        ));
    }
    if let Some(ads) = obj
        .pointer("/spec/template/spec/activeDeadlineSeconds")
        .and_then(Value::as_i64)
    {
        errs.push(FieldError::invalid_num(
            "spec.template.spec.activeDeadlineSeconds",
            ads,
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    pt::nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        &mut errs,
    );
    if let Some(t) = spec.update_strategy.as_ref().and_then(|s| s.type_.clone())
        && t != "OnDelete"
        && t != "RollingUpdate"
    {
        errs.push(FieldError::not_supported(
            "spec.updateStrategy.type",
            &t,
            &["OnDelete", "RollingUpdate"],
        ));
    }
    pt::nonnegative(
        "spec.revisionHistoryLimit",
        spec.revision_history_limit.map(i64::from),
        &mut errs,
    );
    errs
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        pt::decode_workload::<DaemonSet>(value, "DaemonSet")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        *obj = defaulted(obj)?;
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        pt::empty_status::<DaemonSetStatus>(obj)?;
        let generation = template_generation(obj).max(1);
        set_template_generation(obj, generation);
        Ok(())
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_daemon_set(obj)
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        if let Ok(v) = defaulted(new) {
            *new = v;
        }
        pt::keep_status(new, old);
        // The template generation is the server's: it moves only when the template does.
        let mut generation = template_generation(old);
        if new.pointer("/spec/template") != old.pointer("/spec/template") {
            generation += 1;
        }
        set_template_generation(new, generation);
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_daemon_set(new);
        pt::immutable_selector(new, old, &mut errs);
        errs
    }

    fn prepare_status_update(&self, new: &mut Value, old: &Value) {
        pt::status_update_keeping_spec(new, old, false);
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let ds: DaemonSet = typed(obj);
        let s = ds.status.unwrap_or_default();
        let (names, images) = pt::container_cells(obj, "/spec/template");
        let sel = pt::selector_at(obj, "/spec/selector");
        vec![
            json!(name_of(obj)),
            json!(s.desired_number_scheduled),
            json!(s.current_number_scheduled),
            json!(s.number_ready),
            json!(s.updated_number_scheduled.unwrap_or(0)),
            json!(s.number_available.unwrap_or(0)),
            json!(pt::format_labels(
                obj.pointer("/spec/template/spec/nodeSelector")
            )),
            json!(age_of(obj, now)),
            json!(names),
            json!(images),
            json!(pt::format_selector(sel.as_ref())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Value {
        json!({
            "metadata": {"name": "agent", "namespace": "kube-system", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}},
                    "spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "agent", "image": "busybox:1.36"}]}}}
        })
    }

    #[test]
    fn defaults_generation_and_cells() {
        let mut v = defaulted(&agent()).expect("defaults");
        assert_eq!(
            v["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
        );
        assert_eq!(v["spec"]["revisionHistoryLimit"], 10);
        assert!(validate_daemon_set(&v).is_empty());
        let clock = crate::clock::Clock::new(0.0);
        let store = crate::Store::new(std::sync::Arc::new(clock), String::new(), 10);
        let ctx = CreateContext {
            store: &store,
            now: Timestamp::UNIX_EPOCH,
        };
        Hooks.prepare_create(&mut v, &ctx).expect("create");
        assert_eq!(v["metadata"]["annotations"][TEMPLATE_GENERATION], "1");
        let mut new = v.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:1.37");
        Hooks.prepare_update(&mut new, &v);
        assert_eq!(new["metadata"]["annotations"][TEMPLATE_GENERATION], "2");
        let now: Timestamp = "2026-01-01T00:02:00Z".parse().expect("time");
        let cells = Hooks.cells(&v, now);
        assert_eq!(cells[6], json!("kubernetes.io/os=linux"));
        assert_eq!(cells[7], json!("2m"));
        assert_eq!(cells[10], json!("app=agent"));
    }
}

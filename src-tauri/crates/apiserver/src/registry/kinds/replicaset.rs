//! ReplicaSets (apps/v1): scheme defaults, validation, update and status strategies, and the
//! kubectl table. Kubernetes keeps the same in `pkg/apis/apps/v1/defaults.go`
//! (`SetDefaults_ReplicaSet`), `pkg/apis/apps/validation/validation.go`
//! (`ValidateReplicaSetSpec`), `pkg/registry/apps/replicaset/strategy.go` and
//! `pkg/printers/internalversion/printers.go` (`printReplicaSet`).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec, ReplicaSetStatus};
use kq_kube::validation::FieldError;
use serde_json::{Value, json};

use super::podtemplate as pt;
use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, age_of, col, name_column, name_of, typed,
};
use crate::strict::DecodeError;

/// The replicasets resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "apps",
    version: "v1",
    plural: "replicasets",
    singular: "replicaset",
    kind: "ReplicaSet",
    namespaced: true,
    short_names: &["rs"],
    categories: &["all"],
    verbs: STANDARD_VERBS,
    subresources: &[
        Subresource {
            name: "scale",
            kind: "Scale",
            verbs: &["get", "patch", "update"],
        },
        Subresource {
            name: "status",
            kind: "ReplicaSet",
            verbs: &["get", "patch", "update"],
        },
    ],
    name_rule: NameRule::Subdomain,
    tracks_generation: true,
    hooks: &Hooks,
};

/// Server-side behaviour of replicasets.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Desired",
        "integer",
        "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
        0,
    ),
    col(
        "Current",
        "integer",
        "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
        0,
    ),
    col(
        "Ready",
        "integer",
        "The number of ready replicas for this replica set.",
        0,
    ),
    age_column(),
    col("Containers", "string", pt::CONTAINERS_DESC, 1),
    col("Images", "string", pt::IMAGES_DESC, 1),
    col(
        "Selector",
        "string",
        "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
        1,
    ),
];

fn defaulted(obj: &Value) -> crate::Result<Value> {
    let mut rs: ReplicaSet = typed(obj);
    let spec = rs.spec.get_or_insert_with(ReplicaSetSpec::default);
    spec.replicas.get_or_insert(1);
    if let Some(t) = spec.template.as_mut() {
        pt::default_template(t);
    }
    let mut v = serde_json::to_value(&rs).map_err(|e| crate::Error::Internal(e.to_string()))?;
    pt::keep_selector_absent(obj, &mut v);
    Ok(v)
}

fn validate_replica_set(obj: &Value) -> Vec<FieldError> {
    let rs: ReplicaSet = typed(obj);
    let spec = rs.spec.unwrap_or_default();
    let mut errs = Vec::new();
    pt::nonnegative("spec.replicas", spec.replicas.map(i64::from), &mut errs);
    pt::nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        &mut errs,
    );
    let sel = pt::selector_at(obj, "/spec/selector");
    match &sel {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) => {
            pt::validate_selector(s, "spec.selector", &mut errs);
            if pt::selector_is_empty(s) {
                // The replica set's check reuses the deployment's words.
                errs.push(pt::empty_selector_error(s, "deployment"));
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
    super::deployment::validate_replica_template(obj, &mut errs);
    errs
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        pt::decode_workload::<ReplicaSet>(value, "ReplicaSet")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        *obj = defaulted(obj)?;
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        pt::empty_status::<ReplicaSetStatus>(obj)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_replica_set(obj)
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        if let Ok(v) = defaulted(new) {
            *new = v;
        }
        pt::keep_status(new, old);
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_replica_set(new);
        pt::immutable_selector(new, old, &mut errs);
        errs
    }

    fn prepare_status_update(&self, new: &mut Value, old: &Value) {
        pt::status_update_keeping_spec(new, old, false);
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        // `ReplicaSetToSelectableFields`.
        (field == "status.replicas").then(|| {
            obj.pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string()
        })
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let rs: ReplicaSet = typed(obj);
        let status = rs.status.unwrap_or_default();
        let desired = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let (names, images) = pt::container_cells(obj, "/spec/template");
        let sel = pt::selector_at(obj, "/spec/selector");
        vec![
            json!(name_of(obj)),
            json!(desired),
            json!(status.replicas),
            json!(status.ready_replicas.unwrap_or(0)),
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

    #[test]
    fn defaults_validation_and_cells() {
        let rs = json!({
            "metadata": {"name": "web-7c5ddbdf54", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"selector": {"matchLabels": {"app": "web", "pod-template-hash": "7c5ddbdf54"}},
                "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "7c5ddbdf54"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
            "status": {"replicas": 2, "readyReplicas": 1}
        });
        let v = defaulted(&rs).expect("defaults");
        assert_eq!(v["spec"]["replicas"], 1);
        assert_eq!(
            Hooks.field_value(&rs, "status.replicas").as_deref(),
            Some("2")
        );
        assert_eq!(Hooks.field_value(&rs, "spec.replicas"), None);
        assert!(validate_replica_set(&v).is_empty());
        let now: Timestamp = "2026-01-01T00:00:30Z".parse().expect("time");
        assert_eq!(
            Hooks.cells(&v, now),
            vec![
                json!("web-7c5ddbdf54"),
                json!(1),
                json!(2),
                json!(1),
                json!("30s"),
                json!("nginx"),
                json!("nginx:1.27"),
                json!("app=web,pod-template-hash=7c5ddbdf54")
            ]
        );
    }
}

//! StatefulSets (apps/v1): scheme defaults, validation, update and status strategies, and the
//! kubectl table. Kubernetes keeps the same in `pkg/apis/apps/v1/defaults.go`
//! (`SetDefaults_StatefulSet`), `pkg/apis/apps/validation/validation.go`
//! (`ValidateStatefulSetSpec`, `ValidateStatefulSetUpdate`),
//! `pkg/registry/apps/statefulset/strategy.go` and `pkg/printers/internalversion/printers.go`
//! (`printStatefulSet`).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec, StatefulSetStatus, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::PersistentVolumeClaimStatus;
use kq_kube::validation::{FieldError, FieldErrorKind, quote};
use serde_json::{Value, json};

use super::podtemplate as pt;
use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, age_of, col, name_column, name_of, typed,
};
use crate::strict::DecodeError;

/// The statefulsets resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    singular: "statefulset",
    kind: "StatefulSet",
    namespaced: true,
    short_names: &["sts"],
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
            kind: "StatefulSet",
            verbs: &["get", "patch", "update"],
        },
    ],
    name_rule: NameRule::Subdomain,
    tracks_generation: true,
    hooks: &Hooks,
};

/// Server-side behaviour of statefulsets.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col("Ready", "string", "Number of the pod with ready state", 0),
    age_column(),
    col("Containers", "string", pt::CONTAINERS_DESC, 1),
    col("Images", "string", pt::IMAGES_DESC, 1),
];

/// `SetDefaults_StatefulSet` plus the template's and claim templates' defaults.
pub fn default_stateful_set(sts: &mut StatefulSet) {
    let spec = sts.spec.get_or_insert_with(StatefulSetSpec::default);
    spec.pod_management_policy
        .get_or_insert_with(|| "OrderedReady".into());
    let strategy = spec
        .update_strategy
        .get_or_insert_with(StatefulSetUpdateStrategy::default);
    let ty = strategy
        .type_
        .get_or_insert_with(|| "RollingUpdate".into())
        .clone();
    if ty == "RollingUpdate" {
        strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateStatefulSetStrategy::default)
            .partition
            .get_or_insert(0);
    }
    let retention = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
    retention
        .when_deleted
        .get_or_insert_with(|| "Retain".into());
    retention.when_scaled.get_or_insert_with(|| "Retain".into());
    spec.replicas.get_or_insert(1);
    spec.revision_history_limit.get_or_insert(10);
    pt::default_template(&mut spec.template);
    for claim in spec.volume_claim_templates.iter_mut().flatten() {
        if let Some(s) = claim.spec.as_mut() {
            s.volume_mode.get_or_insert_with(|| "Filesystem".into());
        }
        claim
            .status
            .get_or_insert_with(PersistentVolumeClaimStatus::default)
            .phase
            .get_or_insert_with(|| "Pending".into());
    }
}

fn defaulted(obj: &Value) -> crate::Result<Value> {
    let mut sts: StatefulSet = typed(obj);
    default_stateful_set(&mut sts);
    let mut v = serde_json::to_value(&sts).map_err(|e| crate::Error::Internal(e.to_string()))?;
    pt::keep_selector_absent(obj, &mut v);
    Ok(v)
}

fn validate_stateful_set(obj: &Value) -> Vec<FieldError> {
    let sts: StatefulSet = typed(obj);
    let spec = sts.spec.unwrap_or_default();
    let mut errs = Vec::new();
    if let Some(p) = spec.pod_management_policy.as_deref()
        && p != "OrderedReady"
        && p != "Parallel"
    {
        errs.push(FieldError::not_supported(
            "spec.podManagementPolicy",
            p,
            &["OrderedReady", "Parallel"],
        ));
    }
    if let Some(s) = &spec.update_strategy {
        match s.type_.as_deref().unwrap_or_default() {
            "OnDelete" => {
                if let Some(ru) = &s.rolling_update {
                    errs.push(FieldError {
                        kind: FieldErrorKind::Invalid,
                        field: "spec.updateStrategy.rollingUpdate".into(),
                        value: Some(go_rolling_update(ru)),
                        detail: "only allowed for updateStrategy 'RollingUpdate'".into(),
                    });
                }
            }
            "RollingUpdate" => {
                if let Some(p) = s.rolling_update.as_ref().and_then(|r| r.partition) {
                    pt::nonnegative(
                        "spec.updateStrategy.rollingUpdate.partition",
                        Some(p.into()),
                        &mut errs,
                    );
                }
            }
            "" => errs.push(FieldError::required("spec.updateStrategy", "")),
            other => {
                let ru = match &s.rolling_update {
                    None => "(*apps.RollingUpdateStatefulSetStrategy)(nil)".to_string(),
                    Some(ru) => format!("&{}", go_rolling_update(ru)),
                };
                errs.push(FieldError {
                    kind: FieldErrorKind::Invalid,
                    field: "spec.updateStrategy".into(),
                    value: Some(format!(
                        "apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{ru}}}",
                        quote(other)
                    )),
                    detail: "must be 'RollingUpdate' or 'OnDelete'".into(),
                });
            }
        }
    }
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
                errs.push(pt::empty_selector_error(s, "statefulset"));
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
    // The pods get one volume per claim template, so mounts may name them (the real
    // validation leaves the template's volumes and mounts unchecked for this reason).
    let template = with_claim_volumes(obj);
    pt::validate_template(template.as_ref(), "spec.template", &mut errs);
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
    if obj
        .pointer("/spec/template/spec/activeDeadlineSeconds")
        .is_some_and(|v| !v.is_null())
    {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    errs
}

/// The template with a `persistentVolumeClaim` volume for each claim template it does not
/// already name, as the controller wires the pods.
fn with_claim_volumes(obj: &Value) -> Option<Value> {
    let mut template = obj.pointer("/spec/template")?.clone();
    let claims = obj
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if claims.is_empty() {
        return Some(template);
    }
    if !template
        .pointer("/spec/volumes")
        .is_some_and(Value::is_array)
        && let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.insert("volumes".into(), json!([]));
    }
    if let Some(vols) = template
        .pointer_mut("/spec/volumes")
        .and_then(Value::as_array_mut)
    {
        for c in &claims {
            let name = name_of(c);
            if !vols.iter().any(|v| v["name"] == name) {
                vols.push(json!({"name": name, "persistentVolumeClaim": {"claimName": name}}));
            }
        }
    }
    Some(template)
}

/// Go's `%#v` of the internal `apps.RollingUpdateStatefulSetStrategy` (a pointer field
/// inside it prints as its type and address; the embedded cluster has no address to give).
fn go_rolling_update(ru: &RollingUpdateStatefulSetStrategy) -> String {
    let max_unavailable = if ru.max_unavailable.is_some() {
        "(*intstr.IntOrString)(0xc000000000)"
    } else {
        "(*intstr.IntOrString)(nil)"
    };
    format!(
        "apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:{max_unavailable}}}",
        ru.partition.unwrap_or(0)
    )
}

/// The spec fields a StatefulSet update may change.
const UPDATABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn forbidden_spec_change(new: &Value, old: &Value) -> Option<FieldError> {
    let strip = |v: &Value| {
        let mut s = v.get("spec").cloned().unwrap_or(json!({}));
        if let Some(o) = s.as_object_mut() {
            for k in UPDATABLE {
                o.remove(*k);
            }
        }
        s
    };
    (strip(new) != strip(old)).then(|| {
        FieldError::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        )
    })
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        pt::decode_workload::<StatefulSet>(value, "StatefulSet")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        *obj = defaulted(obj)?;
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        pt::empty_status::<StatefulSetStatus>(obj)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_stateful_set(obj)
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        if let Ok(v) = defaulted(new) {
            *new = v;
        }
        pt::keep_status(new, old);
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_stateful_set(new);
        if let Some(e) = forbidden_spec_change(new, old) {
            errs.push(e);
        }
        errs
    }

    fn prepare_status_update(&self, new: &mut Value, old: &Value) {
        pt::status_update_keeping_spec(new, old, false);
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let sts: StatefulSet = typed(obj);
        let ready = sts
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        let desired = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let (names, images) = pt::container_cells(obj, "/spec/template");
        vec![
            json!(name_of(obj)),
            json!(format!("{ready}/{desired}")),
            json!(age_of(obj, now)),
            json!(names),
            json!(images),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Value {
        json!({
            "metadata": {"name": "db", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
        })
    }

    #[test]
    fn defaults_match_a_real_cluster() {
        let v = defaulted(&db()).expect("defaults");
        assert_eq!(v["spec"]["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            v["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            v["spec"]["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(v["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(v["spec"]["replicas"], 1);
        assert_eq!(
            v["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"],
            "Filesystem"
        );
        assert!(validate_stateful_set(&v).is_empty());
    }

    #[test]
    fn update_strategy_texts() {
        let mut v = db();
        v["spec"]["updateStrategy"] = json!({"type": "Sometimes"});
        let v = defaulted(&v).expect("defaults");
        let errs: Vec<String> = validate_stateful_set(&v)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            vec![
                "spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy{Type:\"Sometimes\", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: must be 'RollingUpdate' or 'OnDelete'"
            ]
        );
    }

    #[test]
    fn only_some_spec_fields_may_change() {
        let old = defaulted(&db()).expect("defaults");
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(3);
        assert!(Hooks.validate_update(&new, &old).is_empty());
        new["spec"]["serviceName"] = json!("other");
        let errs: Vec<String> = Hooks
            .validate_update(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            vec![
                "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
            ]
        );
    }

    #[test]
    fn cells() {
        let mut v = defaulted(&db()).expect("defaults");
        v["status"] = json!({"replicas": 1, "readyReplicas": 1});
        let now: Timestamp = "2026-01-01T00:00:09Z".parse().expect("time");
        assert_eq!(
            Hooks.cells(&v, now),
            vec![
                json!("db"),
                json!("1/1"),
                json!("9s"),
                json!("pg"),
                json!("postgres:16")
            ]
        );
    }
}

//! Deployments (apps/v1): scheme defaults, validation, update and status strategies, and the
//! kubectl table. Kubernetes keeps the same in `pkg/apis/apps/v1/defaults.go`
//! (`SetDefaults_Deployment`), `pkg/apis/apps/validation/validation.go`
//! (`ValidateDeploymentSpec`, `ValidateDeploymentStrategy`), `pkg/registry/apps/deployment/
//! strategy.go` and `pkg/printers/internalversion/printers.go` (`printDeployment`).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStatus, DeploymentStrategy, RollingUpdateDeployment,
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

/// The deployments resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "apps",
    version: "v1",
    plural: "deployments",
    singular: "deployment",
    kind: "Deployment",
    namespaced: true,
    short_names: &["deploy"],
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
            kind: "Deployment",
            verbs: &["get", "patch", "update"],
        },
    ],
    name_rule: NameRule::Subdomain,
    tracks_generation: true,
    hooks: &Hooks,
};

/// Server-side behaviour of deployments.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col("Ready", "string", "Number of the pod with ready state", 0),
    col(
        "Up-to-date",
        "string",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        0,
    ),
    col(
        "Available",
        "string",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        0,
    ),
    age_column(),
    col("Containers", "string", pt::CONTAINERS_DESC, 1),
    col("Images", "string", pt::IMAGES_DESC, 1),
    col(
        "Selector",
        "string",
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
        1,
    ),
];

/// `SetDefaults_Deployment` plus the template's pod-spec defaults.
pub fn default_deployment(d: &mut Deployment) {
    let spec = d.spec.get_or_insert_with(DeploymentSpec::default);
    spec.replicas.get_or_insert(1);
    let strategy = spec
        .strategy
        .get_or_insert_with(DeploymentStrategy::default);
    let ty = strategy
        .type_
        .get_or_insert_with(|| "RollingUpdate".into())
        .clone();
    if ty == "RollingUpdate" {
        let ru = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDeployment::default);
        ru.max_unavailable
            .get_or_insert_with(|| IntOrString::String("25%".into()));
        ru.max_surge
            .get_or_insert_with(|| IntOrString::String("25%".into()));
    }
    spec.revision_history_limit.get_or_insert(10);
    spec.progress_deadline_seconds.get_or_insert(600);
    pt::default_template(&mut spec.template);
}

fn defaulted(obj: &Value) -> crate::Result<Value> {
    let mut d: Deployment = typed(obj);
    default_deployment(&mut d);
    let mut v = serde_json::to_value(&d).map_err(|e| crate::Error::Internal(e.to_string()))?;
    pt::keep_selector_absent(obj, &mut v);
    Ok(v)
}

/// `ValidatePositiveIntOrPercent` and `IsNotMoreThan100Percent` for one rolling-update field;
/// the value as an integer or a percentage (`None` when it is neither).
fn int_or_percent(v: &IntOrString, field: &str, errs: &mut Vec<FieldError>) -> Option<i64> {
    match v {
        IntOrString::Int(i) => {
            pt::nonnegative(field, Some((*i).into()), errs);
            Some((*i).into())
        }
        IntOrString::String(s) => {
            let Some(n) = s
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<i64>().ok())
            else {
                errs.push(FieldError::invalid(
                    field,
                    s,
                    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                ));
                return None;
            };
            if n > 100 {
                errs.push(FieldError::invalid(
                    field,
                    s,
                    "must not be greater than 100%",
                ));
            }
            Some(n)
        }
    }
}

fn validate_strategy(strategy: Option<&DeploymentStrategy>, errs: &mut Vec<FieldError>) {
    let Some(s) = strategy else {
        return;
    };
    match s.type_.as_deref().unwrap_or_default() {
        "Recreate" => {
            if s.rolling_update.is_some() {
                errs.push(FieldError::forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match &s.rolling_update {
            None => errs.push(FieldError::required(
                "spec.strategy.rollingUpdate",
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let unavailable = ru.max_unavailable.as_ref().and_then(|v| {
                    int_or_percent(v, "spec.strategy.rollingUpdate.maxUnavailable", errs)
                });
                let surge = ru
                    .max_surge
                    .as_ref()
                    .and_then(|v| int_or_percent(v, "spec.strategy.rollingUpdate.maxSurge", errs));
                if unavailable == Some(0) && surge == Some(0) {
                    let shown = match &ru.max_unavailable {
                        Some(IntOrString::String(s)) => kq_kube::validation::quote(s),
                        _ => "0".to_string(),
                    };
                    errs.push(FieldError {
                        kind: kq_kube::validation::FieldErrorKind::Invalid,
                        field: "spec.strategy.rollingUpdate.maxUnavailable".into(),
                        value: Some(shown),
                        detail: "may not be 0 when `maxSurge` is 0".into(),
                    });
                }
            }
        },
        other => errs.push(FieldError::not_supported(
            "spec.strategy.type",
            other,
            &["Recreate", "RollingUpdate"],
        )),
    }
}

/// `ValidatePodTemplateSpecForReplicaSet`'s checks after the selector match: the pod rules,
/// restart policy `Always` only, no `activeDeadlineSeconds`. Shared by the replica set.
pub fn validate_replica_template(obj: &Value, errs: &mut Vec<FieldError>) {
    pt::validate_template(obj.pointer("/spec/template"), "spec.template", errs);
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
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
}

fn validate_deployment(obj: &Value) -> Vec<FieldError> {
    let d: Deployment = typed(obj);
    let spec = d.spec.unwrap_or_default();
    let mut errs = Vec::new();
    pt::nonnegative("spec.replicas", spec.replicas.map(i64::from), &mut errs);
    let sel = pt::selector_at(obj, "/spec/selector");
    match &sel {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) => {
            pt::validate_selector(s, "spec.selector", &mut errs);
            if pt::selector_is_empty(s) {
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
    validate_replica_template(obj, &mut errs);
    validate_strategy(spec.strategy.as_ref(), &mut errs);
    pt::nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        &mut errs,
    );
    pt::nonnegative(
        "spec.revisionHistoryLimit",
        spec.revision_history_limit.map(i64::from),
        &mut errs,
    );
    if let Some(pds) = spec.progress_deadline_seconds {
        pt::nonnegative("spec.progressDeadlineSeconds", Some(pds.into()), &mut errs);
        if pds <= spec.min_ready_seconds.unwrap_or(0) {
            errs.push(FieldError::invalid_num(
                "spec.progressDeadlineSeconds",
                pds.into(),
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        pt::decode_workload::<Deployment>(value, "Deployment")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        *obj = defaulted(obj)?;
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        pt::empty_status::<DeploymentStatus>(obj)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_deployment(obj)
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        // Every write is decoded with defaults, so a PUT without them is no spec change.
        if let Ok(v) = defaulted(new) {
            *new = v;
        }
        pt::keep_status(new, old);
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_deployment(new);
        pt::immutable_selector(new, old, &mut errs);
        errs
    }

    fn prepare_status_update(&self, new: &mut Value, old: &Value) {
        pt::status_update_keeping_spec(new, old, true);
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let d: Deployment = typed(obj);
        let status = d.status.unwrap_or_default();
        let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let (names, images) = pt::container_cells(obj, "/spec/template");
        let sel = pt::selector_at(obj, "/spec/selector");
        vec![
            json!(name_of(obj)),
            json!(format!(
                "{}/{}",
                status.ready_replicas.unwrap_or(0),
                desired
            )),
            json!(status.updated_replicas.unwrap_or(0)),
            json!(status.available_replicas.unwrap_or(0)),
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

    fn web() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}
            }
        })
    }

    fn messages(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_match_a_real_cluster() {
        let v = defaulted(&web()).expect("defaults");
        assert_eq!(v["spec"]["replicas"], 1);
        assert_eq!(v["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(v["spec"]["progressDeadlineSeconds"], 600);
        assert_eq!(
            v["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        );
        assert_eq!(v["spec"]["template"]["spec"]["restartPolicy"], "Always");
        assert_eq!(
            v["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        let mut recreate = web();
        recreate["spec"]["strategy"] = json!({"type": "Recreate"});
        let v = defaulted(&recreate).expect("defaults");
        assert_eq!(v["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn validation_texts() {
        let ok = defaulted(&web()).expect("defaults");
        assert!(
            validate_deployment(&ok).is_empty(),
            "{:?}",
            validate_deployment(&ok)
        );

        let mut bad = web();
        bad["spec"]["template"]["metadata"]["labels"] = json!({"app": "api"});
        bad["spec"]["replicas"] = json!(-1);
        bad["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        let bad = defaulted(&bad).expect("defaults");
        assert_eq!(
            messages(&validate_deployment(&bad)),
            vec![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"api\"}: `selector` does not match template `labels`",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ]
        );

        let mut none = web();
        none["spec"]
            .as_object_mut()
            .expect("spec")
            .remove("selector");
        let mut none = defaulted(&none).expect("defaults");
        let clock = crate::clock::Clock::new(0.0);
        let store = crate::Store::new(std::sync::Arc::new(clock), String::new(), 10);
        let ctx = CreateContext {
            store: &store,
            now: Timestamp::UNIX_EPOCH,
        };
        Hooks
            .prepare_create(&mut none, &ctx)
            .expect("the create strategy");
        assert_eq!(
            messages(&validate_deployment(&none)),
            vec![
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
            ]
        );

        let mut changed = ok.clone();
        changed["spec"]["selector"] = json!({"matchLabels": {"app": "web2"}});
        changed["spec"]["template"]["metadata"]["labels"] = json!({"app": "web2"});
        assert_eq!(
            messages(&Hooks.validate_update(&changed, &ok)),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
            ]
        );
    }

    #[test]
    fn status_writes_keep_spec_and_labels_but_not_annotations() {
        let old = defaulted(&web()).expect("defaults");
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(5);
        new["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "1"});
        new["status"] = json!({"replicas": 1});
        Hooks.prepare_status_update(&mut new, &old);
        assert_eq!(new["spec"]["replicas"], 1);
        assert_eq!(
            new["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "1"
        );
        assert_eq!(new["status"]["replicas"], 1);
    }

    #[test]
    fn cells() {
        let mut v = defaulted(&web()).expect("defaults");
        v["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        v["status"] = json!({"readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1});
        let now: Timestamp = "2026-01-01T00:05:00Z".parse().expect("time");
        assert_eq!(
            Hooks.cells(&v, now),
            vec![
                json!("web"),
                json!("1/1"),
                json!(1),
                json!(1),
                json!("5m"),
                json!("nginx"),
                json!("nginx:1.27"),
                json!("app=web")
            ]
        );
    }
}

//! PodDisruptionBudgets (`policy/v1`): the strategy, validation and printer columns of
//! kube-apiserver's `pkg/registry/policy/poddisruptionbudget/strategy.go`,
//! `pkg/apis/policy/validation/validation.go` and the `printPodDisruptionBudget` handler of
//! `pkg/printers/internalversion/printers.go`.
//!
//! A new budget starts with an all-zero status and generation 1; a spec change bumps the
//! generation, which the eviction subresource reads as "not processed yet" until the
//! disruption controller writes the matching `observedGeneration`. The main resource never
//! changes the status and `/status` never changes the spec. `kubectl get pdb` shows
//! `MIN AVAILABLE`, `MAX UNAVAILABLE` (either one set, the other `N/A`) and
//! `ALLOWED DISRUPTIONS`.

use jiff::Timestamp;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kq_kube::validation::{FieldError, FieldErrorKind};
use serde_json::{Value, json};

use super::podtemplate as pt;
use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, age_of, name_column, name_of, typed,
};
use crate::strict::DecodeError;

/// The poddisruptionbudgets resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    singular: "poddisruptionbudget",
    kind: "PodDisruptionBudget",
    namespaced: true,
    short_names: &["pdb"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "PodDisruptionBudget",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: true,
    hooks: &Hooks,
};

/// The policies `spec.unhealthyPodEvictionPolicy` accepts (`supportedUnhealthyPodEvictionPolicies`).
const EVICTION_POLICIES: &[&str] = &["AlwaysAllow", "IfHealthyBudget"];

/// Server-side behaviour of poddisruptionbudgets.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    Column {
        name: "Min Available",
        ty: "string",
        format: "",
        description: "The minimum number of pods that must be available.",
        priority: 0,
    },
    Column {
        name: "Max Unavailable",
        ty: "string",
        format: "",
        description: "The maximum number of pods that may be unavailable.",
        priority: 0,
    },
    Column {
        name: "Allowed Disruptions",
        ty: "integer",
        format: "",
        description: "Calculated number of pods that may be disrupted at this time.",
        priority: 0,
    },
    age_column(),
];

/// `intstr.IntOrString.String()`: the number, or the string as written.
pub fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// The value a PDB field names, scaled against `total` and rounded up as the disruption
/// controller does (`intstr.GetScaledValueFromIntOrPercent(…, true)`); `None` for a string
/// that is not a percentage.
pub fn scaled(v: &IntOrString, total: i64) -> Option<i64> {
    match v {
        IntOrString::Int(i) => Some(i64::from(*i)),
        IntOrString::String(s) => {
            let pct: i64 = s.strip_suffix('%')?.parse().ok()?;
            Some((pct * total + 99) / 100)
        }
    }
}

/// `ValidatePositiveIntOrPercent` and `IsNotMoreThan100Percent` for one budget field.
fn validate_int_or_percent(v: &IntOrString, field: &str, errs: &mut Vec<FieldError>) {
    match v {
        IntOrString::Int(i) => pt::nonnegative(field, Some(i64::from(*i)), errs),
        IntOrString::String(s) => {
            let pct = s
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<i64>().ok());
            match pct {
                None => errs.push(FieldError::invalid(
                    field,
                    s,
                    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                )),
                Some(n) if n > 100 => {
                    errs.push(FieldError::invalid(field, s, "must not be greater than 100%"));
                }
                Some(_) => {}
            }
        }
    }
}

/// Go's `%#v` of the internal spec, as `field.Invalid(spec, …)` prints it: pointers print as
/// heap addresses, which differ on every request on a real server; these are fixed ones of the
/// same shape.
fn go_spec(pdb: &PodDisruptionBudget) -> String {
    let spec = pdb.spec.clone().unwrap_or_default();
    let ptr = |set: bool, ty: &str, addr: &str| {
        if set {
            format!("({ty})({addr})")
        } else {
            format!("({ty})(nil)")
        }
    };
    format!(
        "policy.PodDisruptionBudgetSpec{{MinAvailable:{}, Selector:{}, MaxUnavailable:{}, UnhealthyPodEvictionPolicy:{}}}",
        ptr(
            spec.min_available.is_some(),
            "*intstr.IntOrString",
            "0xc000a3e6a0"
        ),
        ptr(spec.selector.is_some(), "*v1.LabelSelector", "0xc000a3e6c0"),
        ptr(
            spec.max_unavailable.is_some(),
            "*intstr.IntOrString",
            "0xc000a3e6e0"
        ),
        ptr(
            spec.unhealthy_pod_eviction_policy.is_some(),
            "*policy.UnhealthyPodEvictionPolicyType",
            "0xc000a3e700"
        ),
    )
}

/// `ValidatePodDisruptionBudgetSpec`.
fn validate_spec(obj: &Value) -> Vec<FieldError> {
    let pdb: PodDisruptionBudget = typed(obj);
    let spec = pdb.spec.clone().unwrap_or_default();
    let mut errs = Vec::new();
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        errs.push(FieldError {
            kind: FieldErrorKind::Invalid,
            field: "spec".into(),
            value: Some(go_spec(&pdb)),
            detail: "minAvailable and maxUnavailable cannot be both set".into(),
        });
    }
    if let Some(v) = &spec.min_available {
        validate_int_or_percent(v, "spec.minAvailable", &mut errs);
    }
    if let Some(v) = &spec.max_unavailable {
        validate_int_or_percent(v, "spec.maxUnavailable", &mut errs);
    }
    if let Some(sel) = &spec.selector {
        pt::validate_selector(sel, "spec.selector", &mut errs);
    }
    if let Some(p) = &spec.unhealthy_pod_eviction_policy
        && !EVICTION_POLICIES.contains(&p.as_str())
    {
        errs.push(FieldError::not_supported(
            "spec.unhealthyPodEvictionPolicy",
            p,
            EVICTION_POLICIES,
        ));
    }
    errs
}

/// `ValidatePodDisruptionBudgetStatus`: the counts a status writer sends cannot be negative.
fn validate_status(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, field) in [
        ("disruptionsAllowed", "status.disruptionsAllowed"),
        ("currentHealthy", "status.currentHealthy"),
        ("desiredHealthy", "status.desiredHealthy"),
        ("expectedPods", "status.expectedPods"),
    ] {
        let v = obj
            .pointer(&format!("/status/{key}"))
            .and_then(Value::as_i64);
        pt::nonnegative(field, v, &mut errs);
    }
    errs
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<PodDisruptionBudget>(value, "PodDisruptionBudget")
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        // PrepareForCreate: whatever status the client sent is replaced by the zero status.
        let status = serde_json::to_value(PodDisruptionBudgetStatus::default())
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        obj["status"] = status;
        Ok(())
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_spec(obj)
    }

    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        let mut errs = validate_spec(new);
        errs.extend(validate_status(new));
        errs
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let pdb: PodDisruptionBudget = typed(obj);
        let spec = pdb.spec.unwrap_or_default();
        let cell = |v: Option<&IntOrString>| v.map_or_else(|| "N/A".to_string(), int_or_string);
        let allowed = pdb.status.map_or(0, |s| s.disruptions_allowed);
        vec![
            json!(name_of(obj)),
            json!(cell(spec.min_available.as_ref())),
            json!(cell(spec.max_unavailable.as_ref())),
            json!(allowed),
            json!(age_of(obj, now)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdb(spec: Value) -> Value {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
    }

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn both_fields_set_is_refused_with_the_go_rendering_of_the_spec() {
        let errs = validate_spec(&pdb(json!({
            "minAvailable": 1, "maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}
        })));
        assert_eq!(
            texts(&errs),
            [
                "spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)(0xc000a3e6a0), Selector:(*v1.LabelSelector)(0xc000a3e6c0), MaxUnavailable:(*intstr.IntOrString)(0xc000a3e6e0), UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}: minAvailable and maxUnavailable cannot be both set"
            ]
        );
    }

    #[test]
    fn percentages_and_negative_numbers_are_checked() {
        let errs = validate_spec(&pdb(json!({"minAvailable": "150%"})));
        assert_eq!(
            texts(&errs),
            ["spec.minAvailable: Invalid value: \"150%\": must not be greater than 100%"]
        );
        let errs = validate_spec(&pdb(json!({"maxUnavailable": -1})));
        assert_eq!(
            texts(&errs),
            ["spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0"]
        );
        let errs = validate_spec(&pdb(json!({"maxUnavailable": "half"})));
        assert_eq!(errs.len(), 1);
        assert!(texts(&errs)[0].starts_with(
            "spec.maxUnavailable: Invalid value: \"half\": a valid percent string must be"
        ));
        let errs = validate_spec(&pdb(
            json!({"minAvailable": 1, "unhealthyPodEvictionPolicy": "Never"}),
        ));
        assert_eq!(
            texts(&errs),
            [
                "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\""
            ]
        );
    }

    #[test]
    fn cells_show_n_a_for_the_unset_field() {
        let mut obj = pdb(json!({"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}));
        obj["status"] = json!({"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3});
        obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        let now: Timestamp = "2026-01-01T00:00:05Z".parse().expect("time");
        let cells = Hooks.cells(&obj, now);
        assert_eq!(
            cells,
            vec![
                json!("web"),
                json!("2"),
                json!("N/A"),
                json!(1),
                json!("5s")
            ]
        );
    }

    #[test]
    fn percentages_scale_up() {
        assert_eq!(scaled(&IntOrString::String("50%".into()), 3), Some(2));
        assert_eq!(scaled(&IntOrString::String("34%".into()), 3), Some(2));
        assert_eq!(scaled(&IntOrString::Int(2), 9), Some(2));
    }
}

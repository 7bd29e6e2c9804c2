//! What every workload kind shares about its pod template and its label selector: the scheme
//! defaults of a `PodTemplateSpec`, its validation (with the paths `spec.template.…` a learner
//! reads after `kubectl apply`), the selector checks, and the CONTAINERS / IMAGES / SELECTOR
//! table cells.
//!
//! Kubernetes keeps the same in `pkg/apis/core/v1/defaults.go` (`SetDefaults_PodSpec`, which
//! templates get, but not `SetDefaults_Pod`, which only pods get), `pkg/apis/apps/validation`
//! (`ValidatePodTemplateSpecForReplicaSet`), apimachinery's
//! `pkg/apis/meta/v1/validation.ValidateLabelSelector` and `metav1.FormatLabelSelector`, and
//! `pkg/printers/internalversion/printers.go` (`layoutContainerCells`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kq_kube::validation::{self, FieldError, FieldErrorKind, quote};
use serde_json::{Value, json};

/// Scheme defaults of a pod template: those of a pod spec and its containers, without what
/// only pods get (service links, requests copied from limits, priority, service account,
/// which come from `SetDefaults_Pod` and admission).
pub fn default_template(template: &mut PodTemplateSpec) {
    let spec = template.spec.get_or_insert_with(PodSpec::default);
    let before = spec.clone();
    super::pod::default_spec(spec);
    spec.enable_service_links = before.enable_service_links;
    spec.preemption_policy = before.preemption_policy;
    spec.priority = before.priority;
    spec.service_account_name = before.service_account_name.clone();
    spec.service_account = before.service_account.clone();
    if before.service_account.is_none() && before.service_account_name.is_some() {
        // The deprecated field follows the new one (conversion does the same).
        spec.service_account = before.service_account_name.clone();
    }
    let old_containers = before
        .containers
        .iter()
        .chain(before.init_containers.iter().flatten());
    let new_containers = spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten());
    for (new, old) in new_containers.zip(old_containers) {
        let Some(res) = new.resources.as_mut() else {
            continue;
        };
        // Requests are copied from limits for pods only.
        let had = old.resources.as_ref().and_then(|r| r.requests.as_ref());
        match had {
            None => res.requests = None,
            Some(had) => {
                if let Some(req) = res.requests.as_mut() {
                    req.retain(|k, _| had.contains_key(k));
                }
            }
        }
    }
}

/// Default the pod template found at `pointer` inside `obj` (`/spec/template`).
pub fn default_template_at(obj: &mut Value, pointer: &str) -> crate::Result<()> {
    let Some(slot) = obj.pointer_mut(pointer) else {
        return Ok(());
    };
    let mut template: PodTemplateSpec = super::typed(slot);
    default_template(&mut template);
    *slot = serde_json::to_value(&template).map_err(|e| crate::Error::Internal(e.to_string()))?;
    Ok(())
}

/// `ValidatePodTemplateSpec` for the template at `path` (`spec.template`): its metadata's
/// labels and annotations and its pod spec, with the pod's own rules.
pub fn validate_template(template: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(template) = template.filter(|t| t.is_object()) else {
        errs.push(FieldError::required(path, ""));
        return;
    };
    let mut meta_errs = Vec::new();
    if let Some(meta) = template.get("metadata") {
        validation::validate_labels_and_annotations(meta, &mut meta_errs);
    }
    for mut e in meta_errs {
        e.field = format!("{path}.{}", e.field);
        errs.push(e);
    }
    let pod = json!({"metadata": {"name": "template"}, "spec": template.get("spec").cloned().unwrap_or(json!({}))});
    for mut e in super::pod::KIND.hooks.validate(&pod) {
        e.field = format!("{path}.{}", e.field);
        errs.push(e);
    }
}

/// The labels of the template at `pointer`.
pub fn template_labels(obj: &Value, pointer: &str) -> Option<BTreeMap<String, String>> {
    obj.pointer(&format!("{pointer}/metadata/labels"))
        .and_then(|l| serde_json::from_value(l.clone()).ok())
}

/// Go's `%#v` of a `map[string]string` (keys sorted, as fmt prints maps).
pub fn go_map(labels: Option<&BTreeMap<String, String>>) -> String {
    match labels {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
                .collect();
            format!("map[string]string{{{}}}", items.join(", "))
        }
    }
}

/// Go's `%#v` of a `metav1.LabelSelector` value (what `field is immutable` and friends print).
pub fn go_selector(sel: &LabelSelector) -> String {
    let exprs = match &sel.match_expressions {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|r| {
                    let values = match &r.values {
                        None => "[]string(nil)".to_string(),
                        Some(v) => format!(
                            "[]string{{{}}}",
                            v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{values}}}",
                        quote(&r.key),
                        quote(&r.operator)
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_map(sel.match_labels.as_ref())
    )
}

fn invalid_raw(field: impl Into<String>, rendered: String, detail: &str) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.into(),
        value: Some(rendered),
        detail: detail.to_string(),
    }
}

/// `ValidateLabelSelector` (strict: label values in the selector must be valid).
pub fn validate_selector(sel: &LabelSelector, path: &str, errs: &mut Vec<FieldError>) {
    for (i, r) in sel.match_expressions.iter().flatten().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let n = r.values.as_ref().map_or(0, Vec::len);
        match r.operator.as_str() {
            "In" | "NotIn" => {
                if n == 0 {
                    errs.push(FieldError::required(
                        format!("{p}.values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if n > 0 {
                    errs.push(FieldError::forbidden(
                        format!("{p}.values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                format!("{p}.operator"),
                other,
                "not a valid selector operator",
            )),
        }
        for e in validation::qualified_name(&r.key) {
            errs.push(FieldError::invalid(format!("{p}.key"), &r.key, e));
        }
        for (j, v) in r.values.iter().flatten().enumerate() {
            for e in validation::label_value(v) {
                errs.push(FieldError::invalid(format!("{p}.values[{j}]"), v, e));
            }
        }
    }
    for (k, v) in sel.match_labels.iter().flatten() {
        for e in validation::qualified_name(k) {
            errs.push(FieldError::invalid(format!("{path}.matchLabels"), k, e));
        }
        for e in validation::label_value(v) {
            errs.push(FieldError::invalid(format!("{path}.matchLabels"), v, e));
        }
    }
}

/// Is this selector empty (`{}`, which selects everything)?
pub fn selector_is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && sel.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// `LabelSelectorAsSelector(sel).Matches(labels)`: a missing selector matches nothing, an
/// empty one everything; `None` when the selector cannot be turned into one (a bad operator).
pub fn selector_matches(
    sel: Option<&LabelSelector>,
    labels: Option<&BTreeMap<String, String>>,
) -> Option<bool> {
    sel.map_or(Some(false), |sel| {
        kq_kube::selectors::label_selector_matches(sel, labels)
    })
}

/// The check every workload makes: its selector must select the pods its template makes
/// (`spec.template.metadata.labels: Invalid value: map[string]string{…}: `selector` does not
/// match template `labels``). An empty selector is skipped, as `selector.Empty()` is.
pub fn validate_selector_matches_template(
    sel: Option<&LabelSelector>,
    obj: &Value,
    template_pointer: &str,
    template_path: &str,
    errs: &mut Vec<FieldError>,
) {
    if sel.is_some_and(selector_is_empty) {
        return;
    }
    let labels = template_labels(obj, template_pointer);
    if selector_matches(sel, labels.as_ref()) == Some(false) {
        errs.push(invalid_raw(
            format!("{template_path}.metadata.labels"),
            go_map(labels.as_ref()),
            "`selector` does not match template `labels`",
        ));
    }
}

/// `spec.selector: Invalid value: v1.LabelSelector{…}: field is immutable` when an update
/// changes the selector.
pub fn immutable_selector(new: &Value, old: &Value, errs: &mut Vec<FieldError>) {
    let new_sel = new.pointer("/spec/selector");
    let old_sel = old.pointer("/spec/selector");
    if new_sel == old_sel {
        return;
    }
    let rendered = match new_sel {
        None | Some(Value::Null) => "null".to_string(),
        Some(v) => go_selector(&super::typed::<LabelSelector>(v)),
    };
    errs.push(invalid_raw("spec.selector", rendered, "field is immutable"));
}

/// `spec.selector: Invalid value: v1.LabelSelector{…}: empty selector is invalid for <kind>`.
pub fn empty_selector_error(sel: &LabelSelector, what: &str) -> FieldError {
    invalid_raw(
        "spec.selector",
        go_selector(sel),
        &format!("empty selector is invalid for {what}"),
    )
}

/// `spec.<field>: Invalid value: -1: must be greater than or equal to 0`.
pub fn nonnegative(field: &str, value: Option<i64>, errs: &mut Vec<FieldError>) {
    if let Some(v) = value
        && v < 0
    {
        errs.push(FieldError::invalid_num(
            field,
            v,
            "must be greater than or equal to 0",
        ));
    }
}

/// `metav1.FormatLabelSelector`: requirements sorted by key, `<none>` when there are none.
pub fn format_selector(sel: Option<&LabelSelector>) -> String {
    let Some(sel) = sel else {
        return "<none>".into();
    };
    let mut parts: Vec<(String, String)> = Vec::new();
    for (k, v) in sel.match_labels.iter().flatten() {
        parts.push((k.clone(), format!("{k}={v}")));
    }
    for r in sel.match_expressions.iter().flatten() {
        let mut values = r.values.clone().unwrap_or_default();
        values.sort();
        values.dedup();
        let text = match r.operator.as_str() {
            "In" => format!("{} in ({})", r.key, values.join(",")),
            "NotIn" => format!("{} notin ({})", r.key, values.join(",")),
            "Exists" => r.key.clone(),
            "DoesNotExist" => format!("!{}", r.key),
            _ => return "<error>".into(),
        };
        parts.push((r.key.clone(), text));
    }
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    let s: Vec<String> = parts.into_iter().map(|(_, t)| t).collect();
    if s.is_empty() {
        "<none>".into()
    } else {
        s.join(",")
    }
}

/// `layoutContainerCells`: container names and images, comma-separated.
pub fn container_cells(obj: &Value, template_pointer: &str) -> (String, String) {
    let containers = obj
        .pointer(&format!("{template_pointer}/spec/containers"))
        .and_then(Value::as_array);
    let mut names = Vec::new();
    let mut images = Vec::new();
    for c in containers.into_iter().flatten() {
        names.push(c.get("name").and_then(Value::as_str).unwrap_or_default());
        images.push(c.get("image").and_then(Value::as_str).unwrap_or_default());
    }
    (names.join(","), images.join(","))
}

/// `labels.FormatLabels`: `k=v` sorted by key, `<none>` when empty.
pub fn format_labels(labels: Option<&Value>) -> String {
    let Some(m) = labels.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".into();
    };
    let mut items: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    items.sort();
    items.join(",")
}

/// The selector at `/spec/selector` (or another pointer), typed.
pub fn selector_at(obj: &Value, pointer: &str) -> Option<LabelSelector> {
    obj.pointer(pointer)
        .filter(|v| v.is_object())
        .map(super::typed::<LabelSelector>)
}

/// The workload kinds' `/status` strategy: a status write cannot change the spec (nor, for
/// Deployments, the labels), but the rest of its metadata persists, which is how the
/// deployment controller records `deployment.kubernetes.io/revision` (Kubernetes:
/// `deploymentStatusStrategy.PrepareForUpdate` and its siblings).
pub fn status_update_keeping_spec(new: &mut Value, old: &Value, keep_labels: bool) {
    match old.get("spec") {
        Some(s) => new["spec"] = s.clone(),
        None => {
            if let Some(o) = new.as_object_mut() {
                o.remove("spec");
            }
        }
    }
    if keep_labels {
        match old.pointer("/metadata/labels") {
            Some(l) => new["metadata"]["labels"] = l.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove("labels");
                }
            }
        }
    }
}

/// The main resource's update strategy for workloads: `status` stays as stored.
pub fn keep_status(new: &mut Value, old: &Value) {
    match old.get("status") {
        Some(s) => new["status"] = s.clone(),
        None => {
            if let Some(o) = new.as_object_mut() {
                o.remove("status");
            }
        }
    }
}

/// k8s-openapi gives required structs (a workload's `spec.selector`) no `Option`, so a typed
/// round trip turns a missing selector into `{}`; put the absence back, so validation can say
/// `spec.selector: Required value` as kube-apiserver does.
pub fn keep_selector_absent(raw: &Value, out: &mut Value) {
    if raw.pointer("/spec/selector").is_none_or(Value::is_null)
        && let Some(spec) = out.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.remove("selector");
    }
}

/// Decode a workload strictly through its type `K`, keeping an absent `spec.selector` absent
/// (the typed form would turn it into `{}`, and validation must say it is required).
pub fn decode_workload<K: serde::de::DeserializeOwned + serde::Serialize>(
    value: &Value,
    kind: &str,
) -> Result<(Value, Vec<String>), crate::strict::DecodeError> {
    let (mut v, unknown) = super::typed_decode::<K>(value, kind)?;
    keep_selector_absent(value, &mut v);
    Ok((v, unknown))
}

/// A new object starts with its type's empty status `S` (whose required counters print as 0).
pub fn empty_status<S: Default + serde::Serialize>(obj: &mut Value) -> crate::Result<()> {
    obj["status"] =
        serde_json::to_value(S::default()).map_err(|e| crate::Error::Internal(e.to_string()))?;
    Ok(())
}

/// Description of the wide CONTAINERS column.
pub const CONTAINERS_DESC: &str = "Names of each container in the template.";
/// Description of the wide IMAGES column.
pub const IMAGES_DESC: &str = "Images referenced by each container in the template.";

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(v: Value) -> LabelSelector {
        serde_json::from_value(v).expect("a selector")
    }

    #[test]
    fn template_defaults_are_the_pod_spec_ones_without_the_pod_only_ones() {
        let mut t: PodTemplateSpec = serde_json::from_value(json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "resources": {"limits": {"cpu": "1"}}}]}
        }))
        .expect("template");
        default_template(&mut t);
        let v = serde_json::to_value(&t).expect("json");
        assert_eq!(v["spec"]["restartPolicy"], "Always");
        assert_eq!(v["spec"]["dnsPolicy"], "ClusterFirst");
        assert_eq!(v["spec"]["schedulerName"], "default-scheduler");
        assert_eq!(v["spec"]["terminationGracePeriodSeconds"], 30);
        assert_eq!(v["spec"]["securityContext"], json!({}));
        let c = &v["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert!(
            c["resources"].get("requests").is_none(),
            "templates do not get requests from limits: {c}"
        );
        for pod_only in [
            "enableServiceLinks",
            "priority",
            "preemptionPolicy",
            "serviceAccountName",
        ] {
            assert!(
                v["spec"].get(pod_only).is_none(),
                "{pod_only} is a pod default, not a template one"
            );
        }
    }

    #[test]
    fn selectors_print_and_match_like_apimachinery() {
        let s = sel(
            json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}),
        );
        assert_eq!(format_selector(Some(&s)), "app=web,tier in (a,b)");
        assert_eq!(format_selector(None), "<none>");
        assert_eq!(format_selector(Some(&sel(json!({})))), "<none>");
        let labels: BTreeMap<String, String> = [("app", "web"), ("tier", "a")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(selector_matches(Some(&s), Some(&labels)), Some(true));
        assert_eq!(selector_matches(None, Some(&labels)), Some(false));
        assert_eq!(
            go_selector(&sel(json!({"matchLabels": {"app": "web"}}))),
            r#"v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"#
        );
    }

    #[test]
    fn pod_rules_apply_to_templates_under_their_own_path() {
        let template = json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web"}, {"name": "web", "image": "nginx:1.27"}]}});
        let mut errs = Vec::new();
        validate_template(Some(&template), "spec.jobTemplate.spec.template", &mut errs);
        assert_eq!(
            errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "spec.jobTemplate.spec.template.spec.containers[0].image: Required value",
                "spec.jobTemplate.spec.template.spec.containers[1].name: Duplicate value: \"web\"",
            ]
        );
    }

    #[test]
    fn mismatched_template_labels_read_as_kube_apiserver_words_them() {
        let obj = json!({"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "api"}}}}});
        let s = selector_at(&obj, "/spec/selector");
        let mut errs = Vec::new();
        validate_selector_matches_template(
            s.as_ref(),
            &obj,
            "/spec/template",
            "spec.template",
            &mut errs,
        );
        assert_eq!(
            errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"api\"}: `selector` does not match template `labels`"
            ]
        );
    }
}

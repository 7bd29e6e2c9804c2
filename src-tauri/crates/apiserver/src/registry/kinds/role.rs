//! Roles: namespaced sets of RBAC rules (Kubernetes: `pkg/registry/rbac/role/{strategy.go,
//! policybased/storage.go}`, `pkg/apis/rbac/validation/validation.go`, and the default table
//! convertor, since `printers.go` has no handler for roles: `kubectl get role` shows
//! `NAME CREATED AT`).
//!
//! A rule needs verbs, and either resources with API groups or non-resource URLs (never both;
//! never non-resource URLs in a namespaced Role). Names are URL path segments, so
//! `system:controller:foo` is a valid name. Creating or changing a role is refused, with
//! RBAC's escalation text, when the requester does not hold every permission it grants and
//! may not `escalate` ([`crate::auth::rbac::check_role_write`]).

use jiff::Timestamp;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role};
use kq_kube::validation::{FieldError, FieldErrorKind, quote};
use serde_json::{Value, json};

use super::{
    AGE_DESC, Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS,
    name_column, name_of,
};
use crate::strict::DecodeError;

/// The roles resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "roles",
    singular: "role",
    kind: "Role",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::PathSegment,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of roles.
pub struct Hooks;

/// The default table convertor's columns: the name and the creation time as a date.
pub(crate) static CREATED_AT_COLUMNS: &[Column] = &[
    name_column(),
    Column {
        name: "Created At",
        ty: "date",
        format: "",
        description: AGE_DESC,
        priority: 0,
    },
];

/// The default table convertor's cells.
pub(crate) fn created_at_cells(obj: &Value) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        obj.pointer("/metadata/creationTimestamp")
            .cloned()
            .unwrap_or(Value::Null),
    ]
}

/// `ValidatePathSegmentName`: the name rule of every RBAC object.
pub fn path_segment_name(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|c| name.contains(*c))
        .map(|c| format!("may not contain '{c}'"))
        .collect()
}

/// A `[]string` value as Go's `%#v` prints it in a field error.
pub(crate) fn go_string_slice(v: &[String]) -> String {
    format!(
        "[]string{{{}}}",
        v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
    )
}

/// The rules of a Role or ClusterRole as typed values (absent or malformed rules: none).
pub(crate) fn rules_of(obj: &Value) -> Vec<PolicyRule> {
    obj.get("rules")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default()
}

/// `ValidatePolicyRule` for each rule.
pub(crate) fn validate_rules(obj: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, rule) in rules_of(obj).iter().enumerate() {
        let path = format!("rules[{i}]");
        if rule.verbs.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.verbs"),
                "verbs must contain at least one value",
            ));
        }
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        let names = rule.resource_names.as_deref().unwrap_or_default();
        if !urls.is_empty() {
            let invalid = |detail: &str| FieldError {
                kind: FieldErrorKind::Invalid,
                field: format!("{path}.nonResourceURLs"),
                value: Some(go_string_slice(urls)),
                detail: detail.into(),
            };
            if namespaced {
                errs.push(invalid(
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if !groups.is_empty() || !resources.is_empty() || !names.is_empty() {
                errs.push(invalid(
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if groups.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if resources.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.resources"),
                "resource rules must supply at least one resource",
            ));
        }
    }
    errs
}

/// RBAC kinds have no status; an update keeps none.
pub(crate) fn drop_status(obj: &mut Value) {
    if let Some(o) = obj.as_object_mut() {
        o.remove("status");
    }
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Role>(value, "Role")
    }

    fn prepare_create(&self, obj: &mut Value, ctx: &CreateContext<'_>) -> crate::Result<()> {
        crate::auth::rbac::check_role_write(
            ctx.store,
            KIND.plural,
            super::namespace_of(obj),
            name_of(obj),
            &rules_of(obj),
            false,
        )
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_rules(obj, true)
    }

    fn prepare_update(&self, new: &mut Value, _old: &Value) {
        drop_status(new);
    }

    fn allocate_on_update(
        &self,
        new: &mut Value,
        _old: &Value,
        ctx: &CreateContext<'_>,
    ) -> crate::Result<()> {
        self.prepare_create(new, ctx)
    }

    fn columns(&self) -> &'static [Column] {
        CREATED_AT_COLUMNS
    }

    fn cells(&self, obj: &Value, _now: Timestamp) -> Vec<Value> {
        created_at_cells(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_need_verbs_groups_and_resources() {
        let role = json!({"rules": [{"resources": ["pods"]}]});
        let errs: Vec<String> = validate_rules(&role, true)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
            ]
        );
    }

    #[test]
    fn a_namespaced_rule_cannot_name_urls() {
        let role = json!({"rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]});
        assert_eq!(
            validate_rules(&role, true)[0].to_string(),
            r#"rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs"#
        );
        assert!(validate_rules(&role, false).is_empty());
    }

    #[test]
    fn names_are_path_segments() {
        assert!(path_segment_name("system:controller:job-controller").is_empty());
        assert_eq!(path_segment_name(".."), ["may not be '..'"]);
        assert_eq!(
            path_segment_name("a/b%"),
            ["may not contain '/'", "may not contain '%'"]
        );
    }
}

//! RoleBindings: grant a Role or ClusterRole to users, groups and ServiceAccounts within one
//! namespace (Kubernetes: `pkg/registry/rbac/rolebinding/{strategy.go,policybased/
//! storage.go}`, `pkg/apis/rbac/validation/validation.go`, `pkg/apis/rbac/v1/defaults.go`,
//! and `printRoleBinding` in `pkg/printers/internalversion/printers.go`).
//!
//! `roleRef.apiGroup` defaults to `rbac.authorization.k8s.io`, as does a User or Group
//! subject's; a ServiceAccount subject's stays empty. `roleRef` cannot change once created
//! (kube-apiserver prints the Go value of the new reference). `kubectl get rolebinding`
//! shows `NAME ROLE AGE`, and `-o wide` adds the users, groups and `namespace/name`
//! ServiceAccounts. A create is refused with RBAC's escalation text unless the requester may
//! `bind` the role or already holds all it grants.

use jiff::Timestamp;
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef};
use kq_kube::validation::{FieldError, FieldErrorKind, quote};
use serde_json::{Value, json};

use super::role::{drop_status, path_segment_name};
use super::{
    AGE_DESC, Column, CreateContext, KindHooks, NAME_DESC, NameRule, ResourceKind, STANDARD_VERBS,
    age_of, name_of,
};
use crate::strict::DecodeError;

/// The RBAC API group.
const GROUP: &str = "rbac.authorization.k8s.io";

/// The rolebindings resource.
pub static KIND: ResourceKind = ResourceKind {
    group: GROUP,
    version: "v1",
    plural: "rolebindings",
    singular: "rolebinding",
    kind: "RoleBinding",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::PathSegment,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of rolebindings.
pub struct Hooks;

/// The binding table's columns, with the roleRef description of the kind.
pub(crate) const fn binding_columns(role_desc: &'static str, who: &'static str) -> [Column; 6] {
    [
        Column {
            name: "Name",
            ty: "string",
            format: "name",
            description: NAME_DESC,
            priority: 0,
        },
        Column {
            name: "Role",
            ty: "string",
            format: "",
            description: role_desc,
            priority: 0,
        },
        Column {
            name: "Age",
            ty: "string",
            format: "",
            description: AGE_DESC,
            priority: 0,
        },
        Column {
            name: "Users",
            ty: "string",
            format: "",
            description: who,
            priority: 1,
        },
        Column {
            name: "Groups",
            ty: "string",
            format: "",
            description: who,
            priority: 1,
        },
        Column {
            name: "ServiceAccounts",
            ty: "string",
            format: "",
            description: who,
            priority: 1,
        },
    ]
}

static COLUMNS: [Column; 6] = binding_columns(
    "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.",
    "Users in the roleBinding",
);

/// `printRoleBinding`'s cells: name, `Kind/name`, age, then users, groups and
/// ServiceAccounts (`namespace/name`), each joined with `, `.
pub(crate) fn binding_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let role = format!(
        "{}/{}",
        super::str_at(obj, "/roleRef/kind"),
        super::str_at(obj, "/roleRef/name")
    );
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for s in obj
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = super::str_at(s, "/name");
        match super::str_at(s, "/kind") {
            "ServiceAccount" => sas.push(format!("{}/{name}", super::str_at(s, "/namespace"))),
            "User" => users.push(name.to_string()),
            "Group" => groups.push(name.to_string()),
            _ => {}
        }
    }
    vec![
        json!(name_of(obj)),
        json!(role),
        json!(age_of(obj, now)),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ]
}

/// `SetDefaults_RoleRef` / `SetDefaults_Subject`.
pub(crate) fn default_binding(obj: &mut Value) {
    if let Some(r) = obj.get_mut("roleRef").and_then(Value::as_object_mut)
        && r.get("apiGroup")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
    {
        r.insert("apiGroup".into(), json!(GROUP));
    }
    for s in obj
        .get_mut("subjects")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let kind = super::str_at(s, "/kind").to_string();
        let Some(s) = s.as_object_mut() else { continue };
        if s.get("apiGroup")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            match kind.as_str() {
                "User" | "Group" => {
                    s.insert("apiGroup".into(), json!(GROUP));
                }
                "ServiceAccount" => {
                    s.insert("apiGroup".into(), json!(""));
                }
                _ => {}
            }
        }
    }
}

/// The binding's roleRef as a typed value.
pub(crate) fn role_ref_of(obj: &Value) -> RoleRef {
    obj.get("roleRef")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default()
}

/// `ValidateRoleBinding` / `ValidateClusterRoleBinding` past the metadata.
pub(crate) fn validate_binding(obj: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let role_ref = role_ref_of(obj);
    if role_ref.api_group != GROUP {
        errs.push(FieldError::not_supported(
            "roleRef.apiGroup",
            &role_ref.api_group,
            &[GROUP],
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&role_ref.kind.as_str()) {
        errs.push(FieldError::not_supported(
            "roleRef.kind",
            &role_ref.kind,
            kinds,
        ));
    }
    if role_ref.name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        for msg in path_segment_name(&role_ref.name) {
            errs.push(FieldError::invalid("roleRef.name", &role_ref.name, msg));
        }
    }
    for (i, s) in obj
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = format!("subjects[{i}]");
        let name = super::str_at(s, "/name");
        let api_group = super::str_at(s, "/apiGroup");
        if name.is_empty() {
            errs.push(FieldError::required(format!("{path}.name"), ""));
        }
        match super::str_at(s, "/kind") {
            "ServiceAccount" => {
                if !name.is_empty() {
                    for msg in kq_kube::validation::dns1123_subdomain(name) {
                        errs.push(FieldError::invalid(format!("{path}.name"), name, msg));
                    }
                }
                if !api_group.is_empty() {
                    errs.push(FieldError::not_supported(
                        format!("{path}.apiGroup"),
                        api_group,
                        &[""],
                    ));
                }
                if !namespaced && super::str_at(s, "/namespace").is_empty() {
                    errs.push(FieldError::required(format!("{path}.namespace"), ""));
                }
            }
            "User" | "Group" => {
                if api_group != GROUP {
                    errs.push(FieldError::not_supported(
                        format!("{path}.apiGroup"),
                        api_group,
                        &[GROUP],
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                format!("{path}.kind"),
                other,
                &["ServiceAccount", "User", "Group"],
            )),
        }
    }
    errs
}

/// `ValidateRoleBindingUpdate`'s roleRef check: the value prints as the Go struct.
pub(crate) fn validate_role_ref_unchanged(new: &Value, old: &Value) -> Option<FieldError> {
    let (n, o) = (role_ref_of(new), role_ref_of(old));
    (n != o).then(|| FieldError {
        kind: FieldErrorKind::Invalid,
        field: "roleRef".into(),
        value: Some(format!(
            "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
            quote(&n.api_group),
            quote(&n.kind),
            quote(&n.name)
        )),
        detail: "cannot change roleRef".into(),
    })
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<RoleBinding>(value, "RoleBinding")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        default_binding(obj);
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, ctx: &CreateContext<'_>) -> crate::Result<()> {
        crate::auth::rbac::check_binding_write(
            ctx.store,
            KIND.plural,
            super::namespace_of(obj),
            name_of(obj),
            &role_ref_of(obj),
        )
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_binding(obj, true)
    }

    fn prepare_update(&self, new: &mut Value, _old: &Value) {
        default_binding(new);
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

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_binding(new, true);
        errs.extend(validate_role_ref_unchanged(new, old));
        errs
    }

    fn columns(&self) -> &'static [Column] {
        &COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        binding_cells(obj, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_role_ref_get_their_api_group() {
        let mut b = json!({
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "bob"}, {"kind": "ServiceAccount", "name": "sa"}],
        });
        default_binding(&mut b);
        assert_eq!(b["roleRef"]["apiGroup"], GROUP);
        assert_eq!(b["subjects"][0]["apiGroup"], GROUP);
        assert_eq!(b["subjects"][1]["apiGroup"], "");
        assert!(validate_binding(&b, true).is_empty());
    }

    #[test]
    fn a_changed_role_ref_prints_as_go_prints_it() {
        let old = json!({"roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "a"}});
        let new = json!({"roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "view"}});
        assert_eq!(
            validate_role_ref_unchanged(&new, &old).map(|e| e.to_string()),
            Some(r#"roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"view"}: cannot change roleRef"#.into())
        );
    }

    #[test]
    fn unknown_subject_kinds_are_refused() {
        let b = json!({
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Robot", "name": "r2"}],
        });
        assert_eq!(
            validate_binding(&b, true)[0].to_string(),
            r#"subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group""#
        );
    }
}

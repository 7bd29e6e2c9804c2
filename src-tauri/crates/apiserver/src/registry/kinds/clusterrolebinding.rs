//! ClusterRoleBindings: grant a ClusterRole cluster-wide (Kubernetes:
//! `pkg/registry/rbac/clusterrolebinding/{strategy.go,policybased/storage.go}`,
//! `pkg/apis/rbac/validation/validation.go`, `printClusterRoleBinding` in
//! `pkg/printers/internalversion/printers.go`).
//!
//! Like a RoleBinding, except that it may only refer to a ClusterRole and a ServiceAccount
//! subject must name its namespace.

use jiff::Timestamp;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kq_kube::validation::FieldError;
use serde_json::Value;

use super::role::drop_status;
use super::rolebinding::{
    binding_cells, binding_columns, default_binding, role_ref_of, validate_binding,
    validate_role_ref_unchanged,
};
use super::{Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, name_of};
use crate::strict::DecodeError;

/// The clusterrolebindings resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterrolebindings",
    singular: "clusterrolebinding",
    kind: "ClusterRoleBinding",
    namespaced: false,
    short_names: &[],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::PathSegment,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of clusterrolebindings.
pub struct Hooks;

static COLUMNS: [Column; 6] = binding_columns(
    "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.",
    "Users in the clusterRoleBinding",
);

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<ClusterRoleBinding>(value, "ClusterRoleBinding")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        default_binding(obj);
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, ctx: &CreateContext<'_>) -> crate::Result<()> {
        crate::auth::rbac::check_binding_write(
            ctx.store,
            KIND.plural,
            "",
            name_of(obj),
            &role_ref_of(obj),
        )
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_binding(obj, false)
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
        let mut errs = validate_binding(new, false);
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

//! ClusterRoles: cluster-wide sets of RBAC rules, possibly aggregated from other ClusterRoles
//! by label (Kubernetes: `pkg/registry/rbac/clusterrole/{strategy.go,policybased/storage.go}`,
//! `pkg/apis/rbac/validation/validation.go`; the default table convertor gives
//! `NAME CREATED AT`).
//!
//! Rules may name non-resource URLs here. An `aggregationRule` needs at least one selector;
//! the aggregation controller owns `rules` of such a role. Setting an aggregationRule takes
//! cluster-admin power, since it can gather anything.

use jiff::Timestamp;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kq_kube::validation::FieldError;
use serde_json::Value;

use super::role::{CREATED_AT_COLUMNS, created_at_cells, drop_status, rules_of, validate_rules};
use super::{Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, name_of};
use crate::storage::Store;
use crate::strict::DecodeError;

/// The clusterroles resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterroles",
    singular: "clusterrole",
    kind: "ClusterRole",
    namespaced: false,
    short_names: &[],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::PathSegment,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of clusterroles.
pub struct Hooks;

fn has_aggregation_rule(obj: &Value) -> bool {
    obj.get("aggregationRule").is_some_and(|a| !a.is_null())
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<ClusterRole>(value, "ClusterRole")
    }

    fn prepare_create(&self, obj: &mut Value, ctx: &CreateContext<'_>) -> crate::Result<()> {
        crate::auth::rbac::check_role_write(
            ctx.store,
            KIND.plural,
            "",
            name_of(obj),
            &rules_of(obj),
            has_aggregation_rule(obj),
        )
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_rules(obj, false);
        if has_aggregation_rule(obj) {
            let selectors = obj
                .pointer("/aggregationRule/clusterRoleSelectors")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if selectors == 0 {
                errs.push(FieldError::required(
                    "aggregationRule",
                    "at least one clusterRoleSelector required if aggregationRule is non-nil",
                ));
            }
        }
        errs
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

    // The aggregation controller runs in the control plane: kick it so that an aggregate
    // is up to date when the write that changed one of its sources returns.
    fn after_create(&self, store: &Store, _obj: &Value) {
        store.kick_control_plane();
    }

    fn after_update(&self, store: &Store, _obj: &Value) {
        store.kick_control_plane();
    }

    fn after_remove(&self, store: &Store, _last: &Value) {
        store.kick_control_plane();
    }

    fn columns(&self) -> &'static [Column] {
        CREATED_AT_COLUMNS
    }

    fn cells(&self, obj: &Value, _now: Timestamp) -> Vec<Value> {
        created_at_cells(obj)
    }
}

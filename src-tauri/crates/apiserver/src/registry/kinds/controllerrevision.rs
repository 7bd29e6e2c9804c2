//! ControllerRevisions (apps/v1): the snapshots StatefulSets and DaemonSets keep of their
//! templates, with their validation and kubectl table. Kubernetes keeps the same in
//! `pkg/apis/apps/validation/validation.go` (`ValidateControllerRevision`),
//! `pkg/registry/apps/controllerrevision/strategy.go` and
//! `pkg/printers/internalversion/printers.go` (`printControllerRevision`).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use kq_kube::validation::FieldError;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, age_column, age_of, col,
    name_column, name_of, typed,
};
use crate::strict::DecodeError;

/// The controllerrevisions resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "apps",
    version: "v1",
    plural: "controllerrevisions",
    singular: "controllerrevision",
    kind: "ControllerRevision",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of controllerrevisions.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col("Controller", "string", "Controller of the object", 0),
    col(
        "Revision",
        "string",
        "Revision indicates the revision of the state represented by Data.",
        0,
    ),
    age_column(),
];

/// The CONTROLLER cell: `<kind>.<group>/<name>` of the controller reference, lower-cased kind.
fn controller_cell(cr: &ControllerRevision) -> String {
    let Some(r) = cr
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
    else {
        return "<none>".into();
    };
    let group = r.api_version.split_once('/').map_or("", |(g, _)| g);
    let kind = r.kind.to_lowercase();
    if group.is_empty() {
        format!("{kind}/{}", r.name)
    } else {
        format!("{kind}.{group}/{}", r.name)
    }
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<ControllerRevision>(value, "ControllerRevision")
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let cr: ControllerRevision = typed(obj);
        let mut errs = Vec::new();
        super::podtemplate::nonnegative("revision", Some(cr.revision), &mut errs);
        errs
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let cr: ControllerRevision = typed(obj);
        vec![
            json!(name_of(obj)),
            json!(controller_cell(&cr)),
            json!(cr.revision),
            json!(age_of(obj, now)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_name_the_controller_as_kubectl_prints_it() {
        let v = json!({
            "metadata": {"name": "db-5d8f6c9b7", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "u", "controller": true}]},
            "revision": 1
        });
        let now: Timestamp = "2026-01-01T01:00:00Z".parse().expect("time");
        assert_eq!(
            Hooks.cells(&v, now),
            vec![
                json!("db-5d8f6c9b7"),
                json!("statefulset.apps/db"),
                json!(1),
                json!("60m")
            ]
        );
    }
}

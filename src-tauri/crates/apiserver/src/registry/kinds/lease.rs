//! Leases (`coordination.k8s.io/v1`): typed decoding and the `NAME HOLDER AGE` columns of the
//! `printLease` handler (`pkg/printers/internalversion/printers.go`). Each node's kubelet keeps
//! one in `kube-node-lease` (see the controllers' `kubelet/lease.rs`), which
//! `kubectl describe node` reads for its `Lease:` section.

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use serde_json::{Value, json};

use super::{
    Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, age_column, age_of, name_column,
    name_of,
};
use crate::strict::DecodeError;

/// The leases resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    singular: "lease",
    kind: "Lease",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of leases.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    Column {
        name: "Holder",
        ty: "string",
        format: "",
        description: "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
        priority: 0,
    },
    age_column(),
];

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Lease>(value, "Lease")
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let holder = obj
            .pointer("/spec/holderIdentity")
            .and_then(Value::as_str)
            .unwrap_or_default();
        vec![json!(name_of(obj)), json!(holder), json!(age_of(obj, now))]
    }
}

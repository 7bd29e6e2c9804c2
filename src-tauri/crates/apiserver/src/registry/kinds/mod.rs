//! The resource kinds the embedded cluster serves, one table entry and strategy each
//! (Kubernetes: `pkg/registry/core/<kind>/strategy.go` and the kind's `rest.Store` options).
//!
//! A [`ResourceKind`] carries everything discovery, routing and printing need (group,
//! version, plural, short names, categories, verbs, subresources) plus a [`KindHooks`]
//! implementation with the kind's server-side behaviour: strict decoding through its
//! k8s-openapi type, defaulting, validation, update rules, field selectors and its kubectl
//! table columns. Adding apps/v1 Deployments later is one more file here and one more entry
//! in [`ALL`], plus a controller.

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::storage::{Resource, Store};
/// The object-metadata accessors every kind uses (storage's own).
pub use crate::storage::{name_of, namespace_of, str_at};
use crate::strict::DecodeError;
use kq_kube::validation::FieldError;

pub mod clusterrole;
pub mod clusterrolebinding;
pub mod configmap;
pub mod controllerrevision;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod event;
pub mod job;
pub mod lease;
pub mod limitrange;
pub mod namespace;
pub mod node;
pub mod persistentvolume;
pub mod persistentvolumeclaim;
pub mod pod;
pub mod poddisruptionbudget;
pub mod podtemplate;
pub mod replicaset;
pub mod resourcequota;
pub mod reviews;
pub mod role;
pub mod rolebinding;
pub mod secret;
pub mod service;
pub mod serviceaccount;
pub mod statefulset;
pub mod storageclass;

/// Which naming rule `metadata.name` must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most kinds).
    Subdomain,
    /// RFC 1123 label (namespaces).
    Label,
    /// RFC 1035 label (services).
    Dns1035,
    /// A URL path segment (RBAC objects: `system:controller:job-controller`).
    PathSegment,
}

/// The verbs every served resource supports, in discovery's (alphabetical) order.
pub const STANDARD_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// A subresource such as `pods/log`.
#[derive(Debug, Clone, Copy)]
pub struct Subresource {
    /// Name after the slash (`log`).
    pub name: &'static str,
    /// Kind of the response body.
    pub kind: &'static str,
    /// Verbs allowed.
    pub verbs: &'static [&'static str],
}

/// One table column, as in `metav1.TableColumnDefinition`.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header (kubectl upper-cases it).
    pub name: &'static str,
    /// `string`, `integer`, ...
    pub ty: &'static str,
    /// `name` for the name column, else empty.
    pub format: &'static str,
    /// Description.
    pub description: &'static str,
    /// 0 = always shown, 1 = only with `-o wide`.
    pub priority: u8,
}

impl Column {
    /// JSON form for `columnDefinitions`.
    pub fn to_json(&self) -> Value {
        json!({"name": self.name, "type": self.ty, "format": self.format, "description": self.description, "priority": self.priority})
    }
}

/// Describes one served resource.
pub struct ResourceKind {
    /// API group ("" for core).
    pub group: &'static str,
    /// Version (`v1`).
    pub version: &'static str,
    /// Plural resource name (`pods`).
    pub plural: &'static str,
    /// Singular name (`pod`).
    pub singular: &'static str,
    /// Kind (`Pod`).
    pub kind: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names (`po`).
    pub short_names: &'static [&'static str],
    /// Categories (`all`).
    pub categories: &'static [&'static str],
    /// Verbs on the collection and items.
    pub verbs: &'static [&'static str],
    /// Subresources served.
    pub subresources: &'static [Subresource],
    /// Naming rule for `metadata.name`.
    pub name_rule: NameRule,
    /// Does `metadata.generation` track spec changes?
    pub tracks_generation: bool,
    /// Server-side behaviour.
    pub hooks: &'static (dyn KindHooks + Sync),
}

impl std::fmt::Debug for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResourceKind({})", self.api_version_kind())
    }
}

impl Resource for ResourceKind {
    fn group(&self) -> &'static str {
        self.group
    }

    fn plural(&self) -> &'static str {
        self.plural
    }

    fn namespaced(&self) -> bool {
        self.namespaced
    }
}

impl ResourceKind {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn api_version_kind(&self) -> String {
        format!("{}/{}", self.api_version(), self.kind)
    }

    /// Does this kind have a `status` subresource?
    pub fn has_status(&self) -> bool {
        self.has_subresource("status")
    }

    /// Does this kind serve the subresource `name` (`log`, `binding`, ...)?
    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s.name == name)
    }
}

/// Facts the create hooks may consult.
pub struct CreateContext<'a> {
    /// The store (for admission checks such as "does the service account exist").
    pub store: &'a Store,
    /// Cluster time.
    pub now: Timestamp,
}

/// Per-kind server-side behaviour. Defaults suit simple kinds (ConfigMap-like).
pub trait KindHooks {
    /// Strictly decode through the typed struct; return the normalised object and the
    /// unknown field paths.
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError>;

    /// Defaulting and admission on create (after metadata is filled in).
    fn prepare_create(&self, _obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        Ok(())
    }

    /// Validation of a new object (metadata name and labels are checked generically).
    fn validate(&self, _obj: &Value) -> Vec<FieldError> {
        vec![]
    }

    /// Defaulting on update; by default the main resource cannot change `status`.
    fn prepare_update(&self, new: &mut Value, old: &Value) {
        if let Some(s) = old.get("status") {
            new["status"] = s.clone();
        } else if let Some(o) = new.as_object_mut() {
            o.remove("status");
        }
    }

    /// What an update must take from cluster-wide state, after [`KindHooks::prepare_update`]
    /// (a Service turned NodePort gets free node ports); nothing by default.
    fn allocate_on_update(
        &self,
        _new: &mut Value,
        _old: &Value,
        _ctx: &CreateContext<'_>,
    ) -> crate::Result<()> {
        Ok(())
    }

    /// Validation of an update.
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        self.validate(new)
    }

    /// On `/status` writes only `status` changes; everything else comes from the stored object.
    fn prepare_status_update(&self, new: &mut Value, old: &Value) {
        let status = new.get("status").cloned();
        let mut merged = old.clone();
        match status {
            Some(s) => merged["status"] = s,
            None => {
                if let Some(o) = merged.as_object_mut() {
                    o.remove("status");
                }
            }
        }
        if let Some(rv) = new.pointer("/metadata/resourceVersion").cloned() {
            merged["metadata"]["resourceVersion"] = rv;
        }
        *new = merged;
    }

    /// Kind-specific field selector values; `None` means "field label not supported".
    fn field_value(&self, _obj: &Value, _field: &str) -> Option<String> {
        None
    }

    /// Table columns (`kubectl get`).
    fn columns(&self) -> &'static [Column];

    /// Table cells for one object.
    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value>;

    /// Called after a successful create, outside the store lock (e.g. a new namespace gets
    /// its `default` service account).
    fn after_create(&self, _store: &Store, _obj: &Value) {}

    /// Called after a successful update of the main resource, outside the store lock (an
    /// aggregated ClusterRole follows a change to the roles it gathers).
    fn after_update(&self, _store: &Store, _obj: &Value) {}

    /// Scheme defaulting, run on create before the admission chain (as kube-apiserver
    /// defaults a decoded object before admission sees it).
    fn default(&self, _obj: &mut Value) -> crate::Result<()> {
        Ok(())
    }

    /// How a delete of this kind proceeds (Kubernetes: the kind's `rest.Store` delete
    /// strategy, `rest.RESTGracefulDeleteStrategy` and the namespace REST's finalizing delete).
    fn delete_strategy(&self) -> DeleteStrategy {
        DeleteStrategy::Immediate
    }

    /// The grace period a graceful delete of `old` gets, given the client's
    /// `gracePeriodSeconds` (Kubernetes: `CheckGracefulDelete`). Only asked of
    /// [`DeleteStrategy::Graceful`] kinds.
    fn grace_period(&self, _old: &Value, _requested: Option<i64>) -> i64 {
        0
    }

    /// Is an object of this name one the controller manager puts back at once when it is
    /// deleted from a live namespace (the `default` ServiceAccount, `kube-root-ca.crt`)?
    fn recreated_by_controllers(&self, _name: &str) -> bool {
        false
    }

    /// Called once an object is removed for good (a pod's logs go with it).
    fn after_remove(&self, _store: &Store, _last: &Value) {}

    /// What a delete that names no propagation policy does with the object's dependents
    /// (Kubernetes: the strategy's `DefaultGarbageCollectionPolicy`); by default the garbage
    /// collector deletes them in the background.
    fn default_gc_policy(&self) -> GcPolicy {
        GcPolicy::DeleteDependents
    }

    /// The `Warning` every request for this resource answers with, when its API version is
    /// deprecated (kube-apiserver's `deprecation.WarningMessage`, added by the installer to
    /// every verb); none by default.
    fn deprecation_warning(&self) -> Option<&'static str> {
        None
    }
}

/// A kind's default garbage-collection policy (`rest.GarbageCollectionPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcPolicy {
    /// Dependents are deleted by the garbage collector (`rest.DeleteDependents`).
    DeleteDependents,
    /// Dependents are orphaned (`rest.OrphanDependents`: batch/v1 Jobs). `warning` is the
    /// `Warning` header a delete gets when it leaves the policy to this default.
    OrphanDependents {
        /// The warning, if the kind's REST gives one.
        warning: Option<&'static str>,
    },
}

/// How a kind's objects are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteStrategy {
    /// Gone at once, unless finalizers hold it.
    Immediate,
    /// A grace period in which a kubelet stops what runs (pods); [`KindHooks::grace_period`]
    /// says how long.
    Graceful,
    /// Marked `Terminating` while the namespace controller empties it (namespaces); never
    /// removed by the write itself.
    Finalizing,
}

/// Decode through `K` and serialise back, so stored objects are canonical k8s-openapi JSON.
pub fn typed_decode<K: DeserializeOwned + Serialize>(
    value: &Value,
    kind: &str,
) -> Result<(Value, Vec<String>), DecodeError> {
    let (obj, unknown) = crate::strict::decode::<K>(value, kind)?;
    let v = serde_json::to_value(&obj).map_err(|e| DecodeError::Type(format!("json: {e}")))?;
    Ok((v, unknown))
}

/// Deserialize a stored object into its type for printing; stored objects always decode, but
/// printing must never panic, so fall back to the default.
pub fn typed<K: DeserializeOwned + Default>(v: &Value) -> K {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// Every kind the cluster serves, in discovery order.
pub static ALL: &[&ResourceKind] = &[
    &namespace::KIND,
    &node::KIND,
    &pod::KIND,
    &event::KIND,
    &configmap::KIND,
    &secret::KIND,
    &serviceaccount::KIND,
    &service::KIND,
    &endpoints::KIND,
    &limitrange::KIND,
    &persistentvolumeclaim::KIND,
    &persistentvolume::KIND,
    &resourcequota::KIND,
    &deployment::KIND,
    &statefulset::KIND,
    &daemonset::KIND,
    &replicaset::KIND,
    &controllerrevision::KIND,
    &reviews::TOKEN_REVIEWS,
    &reviews::SELF_SUBJECT_REVIEWS,
    &reviews::LOCAL_SUBJECT_ACCESS_REVIEWS,
    &reviews::SELF_SUBJECT_ACCESS_REVIEWS,
    &reviews::SELF_SUBJECT_RULES_REVIEWS,
    &reviews::SUBJECT_ACCESS_REVIEWS,
    &job::KIND,
    &cronjob::KIND,
    &poddisruptionbudget::KIND,
    &clusterrolebinding::KIND,
    &clusterrole::KIND,
    &rolebinding::KIND,
    &role::KIND,
    &storageclass::KIND,
    &lease::KIND,
    &endpointslice::KIND,
];

/// Look a kind up by group, version and plural.
pub fn by_resource(group: &str, version: &str, plural: &str) -> Option<&'static ResourceKind> {
    ALL.iter()
        .copied()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
}

/// Look a kind up by group and Kind name.
pub fn by_kind(group: &str, kind: &str) -> Option<&'static ResourceKind> {
    ALL.iter()
        .copied()
        .find(|k| k.group == group && k.kind == kind)
}

/// Look up the kind of a k8s-openapi type.
pub fn of<K: k8s_openapi::Resource>() -> Option<&'static ResourceKind> {
    by_resource(K::GROUP, K::VERSION, K::URL_PATH_SEGMENT)
}

/// Description of the `Name` column, as the real printers carry it.
pub const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
/// Description of the `Age` column.
pub const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The name column.
pub const fn name_column() -> Column {
    Column {
        name: "Name",
        ty: "string",
        format: "name",
        description: NAME_DESC,
        priority: 0,
    }
}

/// The age column.
pub const fn age_column() -> Column {
    Column {
        name: "Age",
        ty: "string",
        format: "",
        description: AGE_DESC,
        priority: 0,
    }
}

/// A plain column.
pub const fn col(
    name: &'static str,
    ty: &'static str,
    description: &'static str,
    priority: u8,
) -> Column {
    Column {
        name,
        ty,
        format: "",
        description,
        priority,
    }
}

/// AGE cell for an object.
pub fn age_of(obj: &Value, now: Timestamp) -> String {
    match obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_time)
    {
        Some(t) => kq_kube::duration::since(t, now),
        None => "<unknown>".to_string(),
    }
}

//! The generic registry: validated writes, shared by the HTTP API and in-process
//! controllers: create, replace, patch (JSON, merge, strategic, apply; computed by
//! [`crate::patch`]), delete (as each kind's [`kinds::DeleteStrategy`] says: graceful for
//! pods, Terminating for namespaces, finalizers for everything), pod binding, plus typed
//! helpers over the k8s-openapi structs. Kubernetes keeps the same in
//! `k8s.io/apiserver/pkg/registry/generic/registry.Store` and `pkg/registry/rest`; the
//! per-kind strategies are [`kinds`] (`pkg/registry/core/<kind>/strategy.go`).
//!
//! The order of checks follows kube-apiserver, because it decides which error a learner sees
//! first: decode (400) → name (422) → scheme defaulting → admission chain
//! ([`crate::admission`]: namespace 404/403, service account 403) → the kind's create
//! strategy → validation (422) → storage (409).

use std::sync::Arc;

use jiff::SignedDuration;
use k8s_openapi::Resource;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::storage::{HISTORY_BYTES, Store, rv_of};

pub mod kinds;
use crate::clock::{Clock, rfc3339};
use crate::error::{Error, Result};
use crate::kinds::{CreateContext, DeleteStrategy, GcPolicy, NameRule, ResourceKind};
use crate::patch::{PatchKind, compute_patch, json_patch_bounds, managed, parse_apply};
use crate::strict::{DecodeError, unknown_fields_message};
use kq_kube::validation::{self, FieldError};

/// The `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Unknown fields are a 400 (kubectl's default).
    Strict,
    /// Unknown fields are dropped with a `Warning` header (the server default).
    #[default]
    Warn,
    /// Unknown fields are dropped silently.
    Ignore,
}

/// Options of a write.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and answer, but store nothing.
    pub dry_run: bool,
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// `fieldValidation`.
    pub field_validation: FieldValidation,
    /// The client's User-Agent, which names the field manager when `fieldManager` is absent.
    pub user_agent: Option<String>,
    /// Set for server-side apply creates: the operation is recorded as `Apply`.
    pub(crate) apply: bool,
    /// Set for server-side apply updates: the applied configuration the manager now owns.
    pub(crate) applied: Option<Value>,
}

impl WriteOptions {
    /// The field manager: `fieldManager`, else the User-Agent's product (`kubectl.1.33`),
    /// else `unknown`.
    pub fn manager(&self) -> String {
        if let Some(m) = self.field_manager.as_deref().filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        self.user_agent
            .as_deref()
            .and_then(|ua| ua.split('/').next())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string()
    }
}

/// `metav1.Preconditions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// Required UID.
    pub uid: Option<String>,
    /// Required resourceVersion.
    pub resource_version: Option<String>,
}

/// `metav1.DeleteOptions` (the parts that matter here).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    /// Override the grace period (0 = immediately).
    pub grace_period_seconds: Option<i64>,
    /// Preconditions.
    pub preconditions: Option<Preconditions>,
    /// `Foreground`, `Background` or `Orphan`: what happens to the object's dependents.
    pub propagation_policy: Option<String>,
    /// The deprecated boolean form of `Orphan` (`false` is `Background`); it may not be
    /// sent together with `propagationPolicy`.
    pub orphan_dependents: Option<bool>,
    /// `["All"]` for dry runs.
    #[serde(default)]
    pub dry_run: Vec<String>,
}

/// What a delete did.
#[derive(Debug, Clone)]
pub enum DeleteOutcome {
    /// The object still exists, now with a `deletionTimestamp` (graceful deletion, finalizers
    /// or a terminating namespace).
    Terminating(Value),
    /// The object is gone; this is its last state.
    Deleted(Value),
}

/// Result of a create, replace or patch.
#[derive(Debug, Clone)]
pub struct WriteResult {
    /// The stored object.
    pub object: Value,
    /// `Warning` headers to send (unknown fields under `fieldValidation=Warn`).
    pub warnings: Vec<String>,
    /// Whether an apply patch created the object (201 instead of 200).
    pub created: bool,
}

/// The finalizer that makes the garbage collector orphan an object's dependents
/// (`metav1.FinalizerOrphanDependents`).
pub const FINALIZER_ORPHAN: &str = "orphan";
/// The finalizer that keeps an object until the garbage collector has deleted its blocking
/// dependents (`metav1.FinalizerDeleteDependents`).
pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

/// A delete's propagation policy (`metav1.DeletionPropagation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents keep existing, without the owner reference.
    Orphan,
    /// The object goes at once; the garbage collector deletes the dependents afterwards.
    Background,
    /// The object stays (`foregroundDeletion`) until its blocking dependents are gone.
    Foreground,
}

impl Propagation {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Orphan => "Orphan",
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
        }
    }
}

/// The policy a delete asks for, `None` when it leaves it to the object and its kind
/// (apimachinery's `ValidateDeleteOptions` first: both fields at once, or an unknown policy,
/// is a 422 on `DeleteOptions.meta.k8s.io`).
fn requested_propagation(opts: &DeleteOptions) -> Result<Option<Propagation>> {
    let mut causes = Vec::new();
    if let (Some(p), Some(_)) = (&opts.propagation_policy, opts.orphan_dependents) {
        causes.push(FieldError::invalid(
            "propagationPolicy",
            p,
            "orphanDependents and deletionPropagation cannot be both set",
        ));
    }
    let policy = match opts.propagation_policy.as_deref() {
        None => None,
        Some("Orphan") => Some(Propagation::Orphan),
        Some("Background") => Some(Propagation::Background),
        Some("Foreground") => Some(Propagation::Foreground),
        Some(other) => {
            causes.push(FieldError::not_supported(
                "propagationPolicy",
                other,
                &["Foreground", "Background", "Orphan", "nil"],
            ));
            None
        }
    };
    if !causes.is_empty() {
        return Err(Error::Invalid {
            group: "meta.k8s.io".into(),
            kind: "DeleteOptions".into(),
            name: String::new(),
            causes,
        });
    }
    Ok(match opts.orphan_dependents {
        Some(true) => Some(Propagation::Orphan),
        Some(false) => Some(Propagation::Background),
        None => policy,
    })
}

/// The finalizers `obj` should carry once deleted under `policy`, or `None` when they stay
/// as they are (the generic store's `deletionFinalizersForGarbageCollection`): an explicit
/// policy decides; without one an `orphan` or `foregroundDeletion` finalizer already there
/// does; failing that, the kind's default.
fn gc_finalizers(
    kind: &ResourceKind,
    obj: &Value,
    policy: Option<Propagation>,
) -> Option<Vec<String>> {
    let current: Vec<String> = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    let policy = policy.unwrap_or_else(|| {
        let existing = current.iter().find_map(|f| match f.as_str() {
            FINALIZER_ORPHAN => Some(Propagation::Orphan),
            FINALIZER_FOREGROUND => Some(Propagation::Foreground),
            _ => None,
        });
        existing.unwrap_or(match kind.hooks.default_gc_policy() {
            GcPolicy::OrphanDependents { .. } => Propagation::Orphan,
            GcPolicy::DeleteDependents => Propagation::Background,
        })
    });
    let mut wanted: Vec<String> = current
        .iter()
        .filter(|f| *f != FINALIZER_ORPHAN && *f != FINALIZER_FOREGROUND)
        .cloned()
        .collect();
    match policy {
        Propagation::Orphan => wanted.push(FINALIZER_ORPHAN.into()),
        Propagation::Foreground => wanted.push(FINALIZER_FOREGROUND.into()),
        Propagation::Background => {}
    }
    let same =
        wanted.iter().all(|f| current.contains(f)) && current.iter().all(|f| wanted.contains(f));
    (!same).then_some(wanted)
}

/// Namespaces that can never be deleted.
const PROTECTED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

fn as_object(body: &Value, kind: &ResourceKind) -> Result<()> {
    if body.is_object() {
        Ok(())
    } else {
        let summary: String = body.to_string().chars().take(30).collect();
        Err(Error::BadRequest(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }} ({summary})",
            kind.kind,
            json_type(body)
        )))
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The apiVersion/kind in a body must be the endpoint's (or absent).
pub(crate) fn check_gvk(kind: &ResourceKind, body: &Value) -> Result<()> {
    let target_av = kind.api_version();
    let av = body
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(&target_av);
    let k = body
        .get("kind")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(kind.kind);
    if av == target_av && k == kind.kind {
        return Ok(());
    }
    let (group, version) = av.split_once('/').unwrap_or(("", av));
    let internal = if kind.group.is_empty() {
        "core"
    } else {
        kind.group
    };
    let base = match kinds::by_kind(group, k).filter(|other| other.version == version) {
        Some(other) => {
            let other_internal = if other.group.is_empty() {
                "core"
            } else {
                other.group
            };
            format!(
                "converting ({version}.{k}) to ({other_internal}.{}): unknown conversion",
                kind.kind
            )
            .replace(&format!("({other_internal}."), &format!("({internal}."))
        }
        None => format!(
            "no kind \"{k}\" is registered for version \"{av}\" in scheme \"pkg/api/legacyscheme/scheme.go:30\""
        ),
    };
    Err(Error::BadRequest(format!(
        "{k} in version \"{version}\" cannot be handled as a {}: {base}",
        kind.kind
    )))
}

/// A namespace in the body must match the URL's; an empty one takes the URL's.
fn check_namespace(kind: &ResourceKind, url_ns: &str, body: &mut Value) -> Result<()> {
    if !body.get("metadata").is_some_and(Value::is_object) {
        body["metadata"] = json!({});
    }
    let body_ns = kinds::namespace_of(body).to_string();
    if !kind.namespaced {
        if let Some(m) = body["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        return Ok(());
    }
    if body_ns.is_empty() {
        body["metadata"]["namespace"] = json!(url_ns);
        Ok(())
    } else if body_ns == url_ns {
        Ok(())
    } else {
        Err(Error::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ))
    }
}

fn name_errors(rule: NameRule, name: &str) -> Vec<String> {
    match rule {
        NameRule::Subdomain => validation::dns1123_subdomain(name),
        NameRule::Label => validation::dns1123_label(name),
        NameRule::Dns1035 => validation::dns1035_label(name),
        NameRule::PathSegment => kinds::role::path_segment_name(name),
    }
}

fn now_plus(now: jiff::Timestamp, secs: i64) -> jiff::Timestamp {
    now.checked_add(SignedDuration::from_secs(secs))
        .unwrap_or(now)
}

impl Store {
    /// An empty store holding every served kind. `ca_pem` is published in every namespace's
    /// `kube-root-ca.crt` (by the control plane, [`Store::set_control_plane`]).
    pub fn new(clock: Arc<Clock>, ca_pem: String, history_limit: usize) -> Arc<Self> {
        Self::with_history(clock, ca_pem, history_limit, HISTORY_BYTES)
    }

    /// Like [`Store::new`], with the byte budget of the change history across all resources.
    pub fn with_history(
        clock: Arc<Clock>,
        ca_pem: String,
        history_limit: usize,
        history_bytes: usize,
    ) -> Arc<Self> {
        let resources = kinds::ALL
            .iter()
            .map(|k| *k as &dyn crate::storage::Resource);
        Self::with_resources(clock, ca_pem, history_limit, history_bytes, resources)
    }

    /// Decode a request body into the kind's schema. `whole_body` is true for create and update,
    /// whose handlers pass a strict-decoding refusal through `transformDecodeError` (so it is
    /// prefixed `Pod in version "v1" cannot be handled as a Pod: `, as type errors always are);
    /// a patch's strict refusal is the bare `strict decoding error: ...`.
    fn decode_body(
        &self,
        kind: &ResourceKind,
        body: &Value,
        fv: FieldValidation,
        whole_body: bool,
    ) -> Result<(Value, Vec<String>)> {
        let cannot_handle = |msg: &str| {
            format!(
                "{} in version \"{}\" cannot be handled as a {}: {msg}",
                kind.kind, kind.version, kind.kind
            )
        };
        match kind.hooks.decode(body) {
            Err(DecodeError::Type(msg)) => Err(Error::BadRequest(cannot_handle(&msg))),
            Ok((v, unknown)) => {
                if unknown.is_empty() {
                    return Ok((v, vec![]));
                }
                match fv {
                    FieldValidation::Strict => {
                        let msg = unknown_fields_message(&unknown);
                        Err(Error::BadRequest(if whole_body {
                            cannot_handle(&msg)
                        } else {
                            msg
                        }))
                    }
                    FieldValidation::Warn => Ok((
                        v,
                        unknown
                            .iter()
                            .map(|f| format!("unknown field \"{f}\""))
                            .collect(),
                    )),
                    FieldValidation::Ignore => Ok((v, vec![])),
                }
            }
        }
    }

    fn invalid(kind: &ResourceKind, name: &str, causes: Vec<FieldError>) -> Error {
        Error::Invalid {
            group: kind.group.into(),
            kind: kind.kind.into(),
            name: name.into(),
            causes,
        }
    }

    /// Create an object from a request body.
    pub fn create(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<WriteResult> {
        as_object(&body, kind)?;
        check_gvk(kind, &body)?;
        let mut body = body;
        check_namespace(kind, ns, &mut body)?;
        let (mut obj, warnings) = self.decode_body(kind, &body, opts.field_validation, true)?;
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        if kind.namespaced {
            obj["metadata"]["namespace"] = json!(ns);
        }
        // What the client set is what its field manager owns (admission additions are not).
        let owned = managed::field_set(&managed::ownable(&obj, false), kind.kind);
        let mut name = kinds::name_of(&obj).to_string();
        let generate = kinds::str_at(&obj, "/metadata/generateName").to_string();
        // A generated name is given to the object only after the admission chain: its
        // plug-ins mutate, and kube-apiserver names the object once they have run, so their
        // refusals name the `generateName` prefix (`pods "web-7c5ddbdf54-" is forbidden`).
        let generated = name.is_empty() && !generate.is_empty();
        if generated {
            name = format!("{generate}{}", kq_kube::random::name_suffix());
        }
        let mut errs = Vec::new();
        if name.is_empty() {
            errs.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        } else {
            for e in name_errors(kind.name_rule, &name) {
                errs.push(FieldError::invalid("metadata.name", &name, e));
            }
        }
        if !errs.is_empty() {
            return Err(Self::invalid(kind, &name, errs));
        }
        // Scheme defaulting, then the admission chain (namespace lifecycle, service account,
        // default tolerations), then the kind's own create strategy.
        kind.hooks.default(&mut obj)?;
        let attrs = crate::admission::Attributes {
            kind,
            namespace: ns,
            name: if generated { &generate } else { &name },
            subresource: "",
            store: self,
            dry_run: opts.dry_run,
        };
        crate::admission::admit_create(&attrs, &mut obj)?;
        if generated {
            obj["metadata"]["name"] = json!(name);
        }
        let now = self.clock().now();
        {
            let meta = &mut obj["metadata"];
            meta["uid"] = json!(uuid::Uuid::new_v4().to_string());
            meta["creationTimestamp"] = json!(rfc3339(now));
            if let Some(m) = meta.as_object_mut() {
                for k in [
                    "resourceVersion",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "selfLink",
                    "managedFields",
                ] {
                    m.remove(k);
                }
            }
            if kind.tracks_generation {
                meta["generation"] = json!(1);
            } else if let Some(m) = meta.as_object_mut() {
                m.remove("generation");
            }
        }
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.kind);
        kind.hooks
            .prepare_create(&mut obj, &CreateContext { store: self, now })?;
        let operation = if opts.apply { "Apply" } else { "Update" };
        let (manager, api_version, time) = (opts.manager(), kind.api_version(), rfc3339(now));
        managed::record(
            &mut obj,
            &manager,
            operation,
            None,
            owned,
            &api_version,
            &time,
            false,
        );
        let mut errs = Vec::new();
        validation::validate_labels_and_annotations(&obj["metadata"], &mut errs);
        errs.extend(kind.hooks.validate(&obj));
        if !errs.is_empty() {
            return Err(Self::invalid(kind, &name, errs));
        }
        // The validating pass sees the generated name (`pods "web-7c5ddbdf54-x2bq9" is
        // forbidden`), as kube-apiserver's createValidation runs after BeforeCreate.
        let mut warnings = warnings;
        let attrs = crate::admission::Attributes {
            kind,
            namespace: ns,
            name: &name,
            subresource: "",
            store: self,
            dry_run: opts.dry_run,
        };
        crate::admission::validate_create(&attrs, &obj, &mut warnings)?;
        if opts.dry_run {
            if self.get_raw(kind, ns, &name).is_some() {
                return Err(Error::AlreadyExists {
                    group: kind.group.into(),
                    resource: kind.plural.into(),
                    name,
                });
            }
            return Ok(WriteResult {
                object: obj,
                warnings,
                created: true,
            });
        }
        check_storable(&obj)?;
        let stored = self.commit_create(kind, obj)?;
        kind.hooks.after_create(self, &stored);
        Ok(WriteResult {
            object: (*stored).clone(),
            warnings,
            created: true,
        })
    }

    /// Replace an object (PUT). `status` selects the `/status` subresource.
    pub fn replace(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        name: &str,
        body: Value,
        opts: &WriteOptions,
        status: bool,
    ) -> Result<WriteResult> {
        as_object(&body, kind)?;
        check_gvk(kind, &body)?;
        let mut body = body;
        check_namespace(kind, ns, &mut body)?;
        let body_name = kinds::name_of(&body).to_string();
        if body_name != name {
            return Err(Error::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let (obj, warnings) = self.decode_body(kind, &body, opts.field_validation, true)?;
        let old = self
            .get_raw(kind, ns, name)
            .ok_or_else(|| Error::not_found(kind.group, kind.plural, name))?;
        let expected = requested_rv(&obj)?.filter(|rv| *rv != 0);
        let mut res = self.update_from(kind, &old, obj, opts, status, expected)?;
        res.warnings.splice(0..0, warnings);
        Ok(res)
    }

    /// The common tail of every update: keep immutable metadata, apply the kind's update
    /// rules, validate, store.
    fn update_from(
        &self,
        kind: &'static ResourceKind,
        old: &Arc<Value>,
        mut new: Value,
        opts: &WriteOptions,
        status: bool,
        expected: Option<u64>,
    ) -> Result<WriteResult> {
        let name = kinds::name_of(old).to_string();
        let old_rv = rv_of(old);
        if let Some(exp) = expected
            && exp != old_rv
        {
            return Err(Error::modified(kind.group, kind.plural, &name));
        }
        if !new.get("metadata").is_some_and(Value::is_object) {
            new["metadata"] = json!({});
        }
        for k in [
            "uid",
            "creationTimestamp",
            "name",
            "namespace",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old.pointer(&format!("/metadata/{k}")) {
                Some(v) => new["metadata"][k] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(k);
                    }
                }
            }
        }
        if let Some(m) = new["metadata"].as_object_mut() {
            m.remove("selfLink");
            m.remove("managedFields");
        }
        // Fields this write sets (an apply owns exactly its configuration).
        let changed = match &opts.applied {
            Some(applied) => managed::field_set(&managed::ownable(applied, status), kind.kind),
            None => managed::changed_set(
                &managed::ownable(old, status),
                &managed::ownable(&new, status),
                kind.kind,
            ),
        };
        if let Some(mf) = old.pointer("/metadata/managedFields") {
            new["metadata"]["managedFields"] = mf.clone();
        }
        new["apiVersion"] = json!(kind.api_version());
        new["kind"] = json!(kind.kind);
        if status {
            kind.hooks.prepare_status_update(&mut new, old);
        } else {
            kind.hooks.prepare_update(&mut new, old);
            let now = self.clock().now();
            kind.hooks
                .allocate_on_update(&mut new, old, &CreateContext { store: self, now })?;
            if kind.tracks_generation && new.get("spec") != old.get("spec") {
                let g = old
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                new["metadata"]["generation"] = json!(g + 1);
            }
        }
        let attrs = crate::admission::Attributes {
            kind,
            namespace: kinds::namespace_of(old),
            name: &name,
            subresource: if status { "status" } else { "" },
            store: self,
            dry_run: opts.dry_run,
        };
        crate::admission::admit_update(&attrs, &mut new, old)?;
        let mut errs = Vec::new();
        validation::validate_labels_and_annotations(&new["metadata"], &mut errs);
        if !status {
            errs.extend(kind.hooks.validate_update(&new, old));
        }
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            let old_f: Vec<Value> = old
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let added: Vec<String> = new
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|f| !old_f.contains(f))
                .filter_map(|f| f.as_str().map(|s| format!("{s:?}")))
                .collect();
            if !added.is_empty() {
                errs.push(FieldError::forbidden(
                    "metadata.finalizers",
                    format!("no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}", added.join(", ")),
                ));
            }
        }
        if !errs.is_empty() {
            return Err(Self::invalid(kind, &name, errs));
        }
        let mut warnings = Vec::new();
        crate::admission::validate_update(&attrs, &new, old, &mut warnings)?;
        let operation = if opts.applied.is_some() {
            "Apply"
        } else {
            "Update"
        };
        let (manager, api_version) = (opts.manager(), kind.api_version());
        let time = rfc3339(self.clock().now());
        let replace = opts.applied.is_some();
        let sub = status.then_some("status");
        managed::record(
            &mut new,
            &manager,
            operation,
            sub,
            changed,
            &api_version,
            &time,
            replace,
        );
        if opts.dry_run {
            return Ok(WriteResult {
                object: new,
                warnings,
                created: false,
            });
        }
        if let Err(too_large) = check_storable(&new) {
            // kube-apiserver's update and patch handlers retry an object etcd found too large
            // once without managedFields (which can be large), except for server-side apply.
            if opts.applied.is_some() {
                return Err(too_large);
            }
            if let Some(m) = new["metadata"].as_object_mut() {
                m.remove("managedFields");
            }
            check_storable(&new)?;
        }
        let stored = self.commit_update(kind, new, Some(old_rv))?;
        self.try_finish_deletion(kind, &stored);
        if !status {
            kind.hooks.after_update(self, &stored);
        }
        Ok(WriteResult {
            object: (*stored).clone(),
            warnings,
            created: false,
        })
    }

    /// Apply a PATCH body. Retries internally when a concurrent write races it, as the
    /// apiserver's GuaranteedUpdate does, unless the patch itself pins a resourceVersion.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        name: &str,
        patch: &[u8],
        pkind: PatchKind,
        opts: &WriteOptions,
        status: bool,
    ) -> Result<WriteResult> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(old) = self.get_raw(kind, ns, name) else {
                if pkind == PatchKind::Apply && !status {
                    return self.apply_create(kind, ns, name, patch, opts);
                }
                return Err(Error::not_found(kind.group, kind.plural, name));
            };
            let patched = compute_patch(kind, &old, patch, pkind, name)?;
            // Whatever the patch type, the result must stay within the nesting every later
            // step (decode, clone, serialise) can walk; only JSON patches can get here, as the
            // others merge documents serde_json has already bounded.
            if json_patch_bounds::depth(&patched) > json_patch_bounds::MAX_DEPTH {
                return Err(Error::PatchNotApplicable {
                    cause: format!(
                        "the patched object nests deeper than {} levels",
                        json_patch_bounds::MAX_DEPTH
                    ),
                });
            }
            let mut opts = opts.clone();
            if pkind == PatchKind::Apply {
                opts.applied = Some(parse_apply(patch)?);
            }
            let opts = &opts;
            let (mut obj, warnings) =
                self.decode_body(kind, &patched, opts.field_validation, false)?;
            // Patches cannot rename or move objects.
            obj["metadata"]["name"] = json!(name);
            if kind.namespaced {
                obj["metadata"]["namespace"] = json!(ns);
            }
            let pinned = requested_rv(&patched)?.unwrap_or(0);
            let expected = if pinned != 0 && pinned != rv_of(&old) {
                Some(pinned)
            } else {
                None
            };
            match self.update_from(
                kind,
                &old,
                obj,
                opts,
                status,
                expected.or(Some(rv_of(&old))),
            ) {
                Err(Error::Conflict { .. }) if expected.is_none() && attempt < 5 => continue,
                Ok(mut res) => {
                    res.warnings.splice(0..0, warnings);
                    return Ok(res);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn apply_create(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        name: &str,
        patch: &[u8],
        opts: &WriteOptions,
    ) -> Result<WriteResult> {
        let body = parse_apply(patch)?;
        let body_name = kinds::name_of(&body);
        if body_name != name {
            return Err(Error::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let opts = WriteOptions {
            apply: true,
            ..opts.clone()
        };
        self.create(kind, ns, body, &opts)
    }

    /// Delete an object.
    pub fn delete(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome> {
        self.delete_with_warnings(kind, ns, name, opts)
            .map(|(out, _)| out)
    }

    /// Delete an object and say which `Warning` headers the answer carries (a Job deleted
    /// without a propagation policy warns that its pods stay).
    ///
    /// Deletion follows kube-apiserver's generic store (`Store.Delete`): the options are
    /// validated first; a graceful kind (pods) gets its grace period; the garbage-collection
    /// finalizers `orphan` and `foregroundDeletion` are added or removed as the propagation
    /// policy says (`deletionFinalizersForGarbageCollection`); an object left with finalizers
    /// is marked deleting (`deletionTimestamp` now, no grace, generation bumped) and stays
    /// until they are removed, anything else goes at once.
    pub fn delete_with_warnings(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<(DeleteOutcome, Vec<String>)> {
        let policy = requested_propagation(opts)?;
        let mut warnings = Vec::new();
        if policy.is_none()
            && let GcPolicy::OrphanDependents { warning: Some(w) } = kind.hooks.default_gc_policy()
        {
            warnings.push(w.to_string());
        }
        let out = self.delete_object(kind, ns, name, opts, policy)?;
        Ok((out, warnings))
    }

    fn delete_object(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
        policy: Option<Propagation>,
    ) -> Result<DeleteOutcome> {
        let old = self
            .get_raw(kind, ns, name)
            .ok_or_else(|| Error::not_found(kind.group, kind.plural, name))?;
        if let Some(p) = &opts.preconditions {
            let uid = kinds::str_at(&old, "/metadata/uid");
            if let Some(want) = p.uid.as_deref().filter(|u| *u != uid) {
                return Err(Error::Conflict {
                    group: kind.group.into(),
                    resource: kind.plural.into(),
                    name: name.into(),
                    detail: format!(
                        "Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"
                    ),
                });
            }
            let rv = kinds::str_at(&old, "/metadata/resourceVersion");
            if let Some(want) = p.resource_version.as_deref().filter(|r| *r != rv) {
                return Err(Error::Conflict {
                    group: kind.group.into(),
                    resource: kind.plural.into(),
                    name: name.into(),
                    detail: format!(
                        "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {rv}"
                    ),
                });
            }
        }
        let dry_run = opts.dry_run.iter().any(|d| d == "All");
        let now = self.clock().now();

        let strategy = kind.hooks.delete_strategy();
        if strategy == DeleteStrategy::Finalizing {
            if PROTECTED_NAMESPACES.contains(&name) {
                return Err(Error::Forbidden {
                    group: String::new(),
                    resource: "namespaces".into(),
                    name: name.into(),
                    reason: "this namespace may not be deleted".into(),
                });
            }
            if old.pointer("/metadata/deletionTimestamp").is_some() || dry_run {
                return Ok(DeleteOutcome::Terminating((*old).clone()));
            }
            let mut ns_obj = (*old).clone();
            ns_obj["metadata"]["deletionTimestamp"] = json!(rfc3339(now));
            ns_obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            ns_obj["status"]["phase"] = json!("Terminating");
            let stored = self.commit_update(kind, ns_obj, Some(rv_of(&old)))?;
            // The namespace controller empties it, then finalizes it.
            self.kick_control_plane();
            return Ok(DeleteOutcome::Terminating((*stored).clone()));
        }

        // The kind's graceful period (`rest.BeforeDelete`): only pods have one. An object
        // already terminating with time left may only have it shortened, and nothing else
        // about it changes (its finalizers included).
        let mut obj = (*old).clone();
        let terminating = old.pointer("/metadata/deletionTimestamp").is_some();
        let mut graceful = false;
        if strategy == DeleteStrategy::Graceful {
            let grace = kind.hooks.grace_period(&old, opts.grace_period_seconds);
            let pending = old
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .filter(|g| *g > 0 && terminating);
            match pending {
                Some(existing) if grace >= existing => {
                    return Ok(DeleteOutcome::Terminating((*old).clone()));
                }
                _ if grace > 0 && (pending.is_some() || !terminating) => {
                    obj["metadata"]["deletionTimestamp"] = json!(rfc3339(now_plus(now, grace)));
                    obj["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                    graceful = true;
                }
                _ => {}
            }
        }

        // The garbage collector's finalizers, as the propagation policy says.
        if let Some(finalizers) = gc_finalizers(kind, &obj, policy) {
            obj["metadata"]["finalizers"] = json!(finalizers);
        }
        let pending_finalizers = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if !graceful && !pending_finalizers {
            if dry_run {
                return Ok(DeleteOutcome::Deleted((*old).clone()));
            }
            let last = self.remove(kind, ns, name, None)?;
            return Ok(DeleteOutcome::Deleted((*last).clone()));
        }
        if !graceful {
            // `markAsDeleting`: the object waits for its finalizers.
            if !terminating
                && let Some(g) = obj
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .filter(|g| *g > 0)
            {
                obj["metadata"]["generation"] = json!(g + 1);
            }
            let later = obj
                .pointer("/metadata/deletionTimestamp")
                .and_then(Value::as_str)
                .and_then(crate::clock::parse_time)
                .is_none_or(|t| t > now);
            if later {
                obj["metadata"]["deletionTimestamp"] = json!(rfc3339(now));
            }
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        }
        if dry_run || obj == *old {
            return Ok(DeleteOutcome::Terminating(obj));
        }
        let stored = self.commit_update(kind, obj, Some(rv_of(&old)))?;
        if graceful && !self.kubelet_attached() {
            // Until a kubelet exists, the control plane's pod GC finishes terminating pods.
            self.kick_control_plane();
        }
        // Even when the fallback above already removed the pod, the client is told what a real
        // apiserver says: the object now terminating. Its follow-up GET then finds it gone.
        Ok(DeleteOutcome::Terminating((*stored).clone()))
    }

    /// Remove an object for good (and a pod's logs with it).
    fn remove(
        &self,
        kind: &ResourceKind,
        ns: &str,
        name: &str,
        uid: Option<&str>,
    ) -> Result<Arc<Value>> {
        let last = self.commit_delete(kind, ns, name, uid)?;
        kind.hooks.after_remove(self, &last);
        // The controller manager puts these back at once in a live namespace; learners who
        // delete them see them return, as on a real cluster.
        if kind.hooks.recreated_by_controllers(name)
            && self
                .get_raw(&kinds::namespace::KIND, "", ns)
                .is_some_and(|n| n.pointer("/metadata/deletionTimestamp").is_none())
        {
            self.kick_control_plane();
        }
        Ok(last)
    }

    /// An object with a deletionTimestamp, no finalizers and no grace left is removed.
    fn try_finish_deletion(&self, kind: &ResourceKind, obj: &Arc<Value>) {
        if obj.pointer("/metadata/deletionTimestamp").is_none()
            || kind.hooks.delete_strategy() == DeleteStrategy::Finalizing
        {
            return;
        }
        let finalizers = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        let grace = obj
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if !finalizers && grace == 0 {
            let _ = self.remove(
                kind,
                kinds::namespace_of(obj),
                kinds::name_of(obj),
                Some(kinds::str_at(obj, "/metadata/uid")),
            );
        }
    }

    /// The kubelet's last step of a graceful pod deletion: its containers are gone, so the
    /// pod is removed (or, with finalizers left, waits for them with no grace period).
    pub fn finalize_pod_deletion(&self, ns: &str, name: &str, uid: &str) -> Result<()> {
        let kind = &kinds::pod::KIND;
        let Some(pod) = self.get_raw(kind, ns, name) else {
            return Ok(());
        };
        if kinds::str_at(&pod, "/metadata/uid") != uid
            || pod.pointer("/metadata/deletionTimestamp").is_none()
        {
            return Ok(());
        }
        let finalizers = pod
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if finalizers {
            let mut p = (*pod).clone();
            p["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            self.commit_update(kind, p, Some(rv_of(&pod)))?;
        } else {
            self.remove(kind, ns, name, Some(uid))?;
        }
        Ok(())
    }

    /// Remove a Terminating namespace the namespace controller has emptied (the namespace
    /// REST's `/finalize` with no finalizers left).
    pub fn finalize_namespace(&self, ns: &str) -> Result<()> {
        self.remove(&kinds::namespace::KIND, "", ns, None)
            .map(|_| ())
    }

    /// Bind a pod to a node (`pods/binding`), as the scheduler does.
    pub fn bind_pod(&self, ns: &str, name: &str, node: &str) -> Result<()> {
        let kind = &kinds::pod::KIND;
        for _ in 0..5 {
            let pod = self
                .get_raw(kind, ns, name)
                .ok_or_else(|| Error::not_found("", "pods", name))?;
            let current = kinds::str_at(&pod, "/spec/nodeName");
            if !current.is_empty() {
                return Err(Error::Conflict {
                    group: String::new(),
                    resource: "pods".into(),
                    name: name.into(),
                    detail: format!("pod {name} is already assigned to node \"{current}\""),
                });
            }
            if pod.pointer("/metadata/deletionTimestamp").is_some() {
                return Err(Error::Conflict {
                    group: String::new(),
                    resource: "pods".into(),
                    name: name.into(),
                    detail: format!("pod {name} is being deleted, cannot be assigned to a host"),
                });
            }
            let mut p = (*pod).clone();
            p["spec"]["nodeName"] = json!(node);
            let now = rfc3339(self.clock().now());
            let conds = p["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut conds: Vec<Value> = conds
                .into_iter()
                .filter(|c| c["type"] != "PodScheduled")
                .collect();
            conds.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
            p["status"]["conditions"] = json!(conds);
            match self.commit_update(kind, p, Some(rv_of(&pod))) {
                Ok(_) => return Ok(()),
                Err(Error::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::modified("", "pods", name))
    }

    // ----- typed helpers for in-process controllers ---------------------------------------

    /// Get a typed object (`ns` is ignored for cluster-scoped kinds).
    pub fn get<K: Resource + DeserializeOwned>(&self, ns: &str, name: &str) -> Result<K> {
        let kind = kinds::of::<K>().ok_or(Error::PathNotFound)?;
        let v = self
            .get_raw(kind, ns, name)
            .ok_or_else(|| Error::not_found(kind.group, kind.plural, name))?;
        serde_json::from_value((*v).clone()).map_err(|e| Error::Internal(e.to_string()))
    }

    /// List typed objects, optionally in one namespace.
    pub fn list<K: Resource + DeserializeOwned>(&self, ns: Option<&str>) -> Vec<K> {
        let Some(kind) = kinds::of::<K>() else {
            return vec![];
        };
        self.list_raw(kind, ns)
            .iter()
            .filter_map(|v| serde_json::from_value((**v).clone()).ok())
            .collect()
    }

    /// Create a typed object through the same defaulting and validation as the API.
    pub fn create_typed<K: Resource + Serialize + DeserializeOwned>(
        &self,
        ns: &str,
        obj: &K,
    ) -> Result<K> {
        let kind = kinds::of::<K>().ok_or(Error::PathNotFound)?;
        let body = serde_json::to_value(obj).map_err(|e| Error::Internal(e.to_string()))?;
        let res = self.create(kind, ns, body, &WriteOptions::default())?;
        serde_json::from_value(res.object).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Read-modify-write an object's status (`/status` semantics), retrying on conflicts
    /// (`ns` is ignored for cluster-scoped kinds). This is how the scheduler and kubelet report
    /// progress.
    pub fn update_status<K>(&self, ns: &str, name: &str, f: impl FnMut(&mut K)) -> Result<K>
    where
        K: Resource + Serialize + DeserializeOwned,
    {
        self.update_typed(ns, name, true, f)
    }

    /// Read-modify-write an object (main resource rules), retrying on conflicts.
    pub fn update_with<K: Resource + Serialize + DeserializeOwned>(
        &self,
        ns: &str,
        name: &str,
        f: impl FnMut(&mut K),
    ) -> Result<K> {
        self.update_typed(ns, name, false, f)
    }

    fn update_typed<K: Resource + Serialize + DeserializeOwned>(
        &self,
        ns: &str,
        name: &str,
        status: bool,
        mut f: impl FnMut(&mut K),
    ) -> Result<K> {
        let kind = kinds::of::<K>().ok_or(Error::PathNotFound)?;
        for _ in 0..10 {
            let old = self
                .get_raw(kind, ns, name)
                .ok_or_else(|| Error::not_found(kind.group, kind.plural, name))?;
            let mut obj: K = serde_json::from_value((*old).clone())
                .map_err(|e| Error::Internal(e.to_string()))?;
            f(&mut obj);
            let new = serde_json::to_value(&obj).map_err(|e| Error::Internal(e.to_string()))?;
            match self.update_from(
                kind,
                &old,
                new,
                &WriteOptions::default(),
                status,
                Some(rv_of(&old)),
            ) {
                Err(Error::Conflict { .. }) => continue,
                Ok(res) => {
                    return serde_json::from_value(res.object)
                        .map_err(|e| Error::Internal(e.to_string()));
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::modified(kind.group, kind.plural, name))
    }

    /// Delete a typed object with default options.
    pub fn delete_typed<K: Resource>(&self, ns: &str, name: &str) -> Result<DeleteOutcome> {
        let kind = kinds::of::<K>().ok_or(Error::PathNotFound)?;
        self.delete(kind, ns, name, &DeleteOptions::default())
    }
}

/// etcd's default `--max-request-bytes` (etcd `server/embed/config.go`,
/// `DefaultMaxRequestBytes = 1.5 * 1024 * 1024`): the largest write etcd accepts, so the
/// largest object a real cluster can store.
pub(crate) const MAX_OBJECT_BYTES: usize = 1024 * 1024 * 3 / 2;

/// Refuse an object a real cluster could not store. etcd measures the protobuf request; the
/// embedded cluster measures the object's JSON, which is a little larger, so the bound is
/// met a little sooner, never later.
fn check_storable(obj: &Value) -> Result<()> {
    match json_patch_bounds::json_size_within(obj, MAX_OBJECT_BYTES) {
        Some(_) => Ok(()),
        None => Err(Error::ObjectTooLarge),
    }
}

/// The `metadata.resourceVersion` a write asks for: `None` when absent or empty.
///
/// kube-apiserver parses it with Go's `strconv.ParseUint(version, 10, 64)` (apiserver
/// `storage.APIObjectVersioner.ObjectResourceVersion`) and refuses the write when that fails,
/// with the parser's own text. It answers that refusal with a 500 and no reason, an upstream
/// bug (kubernetes/kubernetes#68208 proposed a 4xx); KubeQuest keeps the text and answers 400
/// BadRequest, since the value came from the client. Never an unconditional write.
fn requested_rv(obj: &Value) -> Result<Option<u64>> {
    let rv = match obj.pointer("/metadata/resourceVersion") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s.as_str(),
        // The typed decode has refused other types already; be explicit anyway.
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "strconv.ParseUint: parsing {}: invalid syntax",
                kq_kube::validation::quote(&other.to_string())
            )));
        }
    };
    // Go accepts only ASCII digits here (no sign, no underscores); Rust's parser takes '+'.
    let fail = |why: &str| {
        Error::BadRequest(format!(
            "strconv.ParseUint: parsing {}: {why}",
            kq_kube::validation::quote(rv)
        ))
    };
    if !rv.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail("invalid syntax"));
    }
    rv.parse::<u64>()
        .map(Some)
        .map_err(|_| fail("value out of range"))
}

#[cfg(test)]
mod delete_tests;

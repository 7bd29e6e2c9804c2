//! The editor's Apply and Delete buttons: `kubectl apply -f` and `kubectl delete -f` on the YAML
//! text the learner edited, answering what kubectl would print.
//!
//! The text is checked completely before anything is sent: a YAML syntax error, a document
//! without `apiVersion`, `kind` or `metadata.name`, or an object aimed at another namespace than
//! the mission's becomes a [`YamlDiagnostic`] with a 1-based line and column, and the cluster is
//! not touched (half-applying a file the learner is still typing would be confusing).
//!
//! Apply follows kubectl's **client-side** apply, because that is the command the button shows:
//!
//! - absent objects are created (`pod/web created`), with the
//!   `kubectl.kubernetes.io/last-applied-configuration` annotation kubectl keeps;
//! - present objects get a strategic merge patch (a JSON merge patch for kinds outside the
//!   built-in API groups) of the edited object, plus `null` for fields that the last applied
//!   configuration had and the edit removed. As in kubectl, nothing is sent when the edited
//!   object is already contained in the live one (`pod/web unchanged`); otherwise the
//!   resourceVersion before and after tells `configured` from `unchanged`;
//! - like kubectl (1.27 and later), every create and patch asks the server for strict field
//!   validation (`fieldValidation=Strict`), so a typo such as `imagePullPolicyy` is refused with
//!   the server's `strict decoding error: unknown field "spec.containers[0].imagePullPolicyy"`
//!   instead of being dropped silently;
//! - server errors are printed with kubectl's wording: validation errors as
//!   `The Pod "web" is invalid: spec: Forbidden: …` (kubectl lists the causes instead of the
//!   raw message), everything else as `Error from server (Reason): error when creating
//!   "pod.yaml": …` (or `error when applying patch: …`, `error when deleting …`).
//!
//! The three-way merge is simpler than kubectl's in one respect: list entries (containers,
//! ports) removed from the edit are not removed from the live object. A learner who needs that
//! deletes and re-applies, which is also what the immutable pod fields require.
//!
//! A change the server refuses because a field cannot change in place (a Pod's `command`, a
//! Deployment's `selector`) also comes back as an [`ImmutableChange`]: what cannot change, in
//! plain words, what can, and the server's message. [`reapply_yaml`] is the way out the editor
//! offers (after a confirmation): `kubectl delete -f` (waiting until the object is gone, as
//! kubectl's `--wait` does) then `kubectl apply -f`.
//!
//! Delete does not wait for graceful termination (kubectl's `--wait`): it answers as soon as the
//! API accepted the deletion, and the pipeline shows the pod Terminating and then Removed.

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::params::ValidationDirective;
use kube::core::{ApiResource, GroupVersionKind, Status};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::{Map, Value};

use crate::connect::{ConnectError, classify_kube_error};
use crate::ipc::{ActionResult, ImmutableChange, YamlDiagnostic};
use crate::mission::format::split_yaml_error;
use crate::mission::manifests::documents;

/// The annotation kubectl's client-side apply keeps the applied configuration in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The field manager kubectl's client-side apply writes as.
const CLIENT_SIDE_MANAGER: &str = "kubectl-client-side-apply";

/// Groups whose kinds accept strategic merge patches.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
];

/// Why an object could not be sent, with the text kubectl prints for it (the editor shows it
/// under the button, as the terminal would).
#[derive(Debug, thiserror::Error)]
pub enum KubectlError {
    /// The cluster serves no such kind (a typo in `kind` or `apiVersion`, or a CRD not
    /// installed).
    #[error(
        "error: resource mapping not found for name: \"{name}\" namespace: \"{namespace}\" from \
         \"{file}\": no matches for kind \"{kind}\" in version \"{api_version}\"\nensure CRDs are \
         installed first"
    )]
    NoMapping {
        name: String,
        namespace: String,
        file: String,
        kind: String,
        api_version: String,
    },
    /// A cluster-scoped kind: the editor only applies objects inside the mission's namespace.
    #[error(
        "error: {kind} is not a namespaced kind; the editor only applies objects inside the \
         mission's namespace {namespace}"
    )]
    ClusterScoped { kind: String, namespace: String },
    /// The object cannot be encoded as an API object.
    #[error("error: {0}")]
    Encode(#[source] serde_json::Error),
    /// The request failed: kubectl's text for the client's or the server's error.
    #[error("{0}")]
    Request(String),
}

/// One object of the edited text.
#[derive(Debug, Clone, PartialEq)]
pub struct EditedObject {
    /// The line its document starts on (1-based).
    pub line: u32,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// The object as the learner wrote it.
    pub object: Value,
}

fn diag(line: usize, column: usize, message: impl Into<String>) -> YamlDiagnostic {
    YamlDiagnostic {
        line: u32::try_from(line.max(1)).unwrap_or(u32::MAX),
        column: u32::try_from(column.max(1)).unwrap_or(u32::MAX),
        message: message.into(),
    }
}

/// The line and column of `key:` inside a document (for pointing at `namespace:`).
fn position_of_key(doc: &str, key: &str) -> Option<(usize, usize)> {
    doc.lines().enumerate().find_map(|(i, l)| {
        let indent = l.len() - l.trim_start().len();
        l.trim_start()
            .strip_prefix(key)
            .filter(|r| r.trim_start().starts_with(':'))
            .map(|_| (i + 1, indent + 1))
    })
}

/// Parses multi-document YAML into objects, or every problem found (nothing is sent then).
///
/// `namespace` is the mission's: an object may name it or no namespace at all.
pub fn parse_edited_yaml(
    namespace: &str,
    yaml: &str,
) -> Result<Vec<EditedObject>, Vec<YamlDiagnostic>> {
    let mut objects = Vec::new();
    let mut problems = Vec::new();
    for (start, doc) in documents(yaml) {
        let value: serde_yaml_ng::Value = match serde_yaml_ng::from_str(&doc) {
            Ok(v) => v,
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
                let line = line.min(doc.lines().count().max(1));
                problems.push(diag(start + line - 1, column, split_yaml_error(&e).message));
                continue;
            }
        };
        if value.is_null() {
            continue;
        }
        if !value.is_mapping() {
            problems.push(diag(
                start,
                1,
                "a Kubernetes object must be a mapping (`apiVersion: v1`, `kind: Pod`, …)",
            ));
            continue;
        }
        let text = |v: Option<&serde_yaml_ng::Value>| {
            v.and_then(serde_yaml_ng::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let at_key =
            |key: &str| position_of_key(&doc, key).map_or((start, 1), |(l, c)| (start + l - 1, c));
        let api_version = text(value.get("apiVersion"));
        let kind = text(value.get("kind"));
        let metadata = value.get("metadata");
        let name = text(metadata.and_then(|m| m.get("name")));
        if api_version.is_none() {
            problems.push(diag(
                start,
                1,
                "missing `apiVersion` (for a Pod: `apiVersion: v1`)",
            ));
        }
        if kind.is_none() {
            problems.push(diag(start, 1, "missing `kind` (for example `kind: Pod`)"));
        }
        if name.is_none() {
            let (l, c) = at_key("metadata");
            problems.push(diag(
                l,
                c,
                "missing `metadata.name`: every object needs a name",
            ));
        }
        if let Some(ns) = metadata.and_then(|m| m.get("namespace")) {
            let given = ns.as_str().unwrap_or_default();
            if given != namespace {
                let (l, c) = at_key("namespace");
                problems.push(diag(
                    l,
                    c,
                    format!(
                        "`metadata.namespace` is `{given}`, but this mission runs in \
                         `{namespace}`; remove the line or set it to `{namespace}`"
                    ),
                ));
            }
        }
        let (Some(api_version), Some(kind), Some(name)) = (api_version, kind, name) else {
            continue;
        };
        match serde_json::to_value(&value) {
            Ok(object) => objects.push(EditedObject {
                line: u32::try_from(start).unwrap_or(u32::MAX),
                api_version,
                kind,
                name,
                object,
            }),
            Err(e) => problems.push(diag(
                start,
                1,
                format!("{kind} `{name}` cannot be converted to JSON: {e}"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(objects)
    } else {
        Err(problems)
    }
}

fn gvk_of(api_version: &str, kind: &str) -> GroupVersionKind {
    match api_version.split_once('/') {
        Some((group, version)) => GroupVersionKind::gvk(group, version, kind),
        None => GroupVersionKind::gvk("", api_version, kind),
    }
}

/// `pod` or `deployment.apps`: how kubectl names a kind in its output.
fn printed_kind(ar: &ApiResource) -> String {
    let kind = ar.kind.to_ascii_lowercase();
    if ar.group.is_empty() {
        kind
    } else {
        format!("{kind}.{}", ar.group)
    }
}

/// Resolves an object's kind to its API resource, or kubectl's "resource mapping" error.
pub(crate) async fn resolve(
    client: &kube::Client,
    namespace: &str,
    file: &str,
    obj: &EditedObject,
) -> Result<(ApiResource, ApiCapabilities), KubectlError> {
    let gvk = gvk_of(&obj.api_version, &obj.kind);
    match kube::discovery::pinned_kind(client, &gvk).await {
        Ok(found) => Ok(found),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(no_mapping(namespace, file, obj)),
        Err(kube::Error::Discovery(_)) => Err(no_mapping(namespace, file, obj)),
        Err(e) => Err(KubectlError::Request(client_error(&e))),
    }
}

fn no_mapping(namespace: &str, file: &str, obj: &EditedObject) -> KubectlError {
    KubectlError::NoMapping {
        name: obj.name.clone(),
        namespace: namespace.to_owned(),
        file: file.to_owned(),
        kind: obj.kind.clone(),
        api_version: obj.api_version.clone(),
    }
}

/// A request failure as kubectl prints it, with `context` prefixed to the server's message
/// (kubectl's `AddSourceToErr`).
fn kubectl_error(e: &kube::Error, context: &str) -> String {
    match e {
        kube::Error::Api(status) => status_error(status, context),
        other => client_error(other),
    }
}

fn client_error(e: &kube::Error) -> String {
    match classify_kube_error(e) {
        ConnectError::Unreachable { detail } => {
            format!("Unable to connect to the server: {detail}")
        }
        ConnectError::Unauthorized { detail } => {
            format!("error: You must be logged in to the server ({detail})")
        }
        other => format!("error: {other}"),
    }
}

/// kubectl's `checkErr` for a `metav1.Status`.
fn status_error(status: &Status, context: &str) -> String {
    if status.reason == "Invalid"
        && let Some(details) = &status.details
    {
        let subject = if details.kind.is_empty() && details.name.is_empty() {
            "The request is invalid".to_owned()
        } else {
            format!("The {} \"{}\" is invalid", details.kind, details.name)
        };
        let mut causes: Vec<String> = Vec::new();
        for c in &details.causes {
            let line = format!("{}: {}", c.field, c.message);
            if !causes.contains(&line) {
                causes.push(line);
            }
        }
        return match causes.as_slice() {
            [] => subject,
            [one] => format!("{subject}: {one}"),
            many => {
                let mut out = format!("{subject}: ");
                for c in many {
                    out.push_str("\n* ");
                    out.push_str(c);
                }
                out
            }
        };
    }
    if status.code == 401 || status.reason == "Unauthorized" {
        return format!(
            "error: You must be logged in to the server ({})",
            status.message
        );
    }
    let message = if context.is_empty() {
        status.message.clone()
    } else {
        format!("{context}: {}", status.message)
    };
    if status.reason.is_empty() {
        format!("Error from server: {message}")
    } else {
        format!("Error from server ({}): {message}", status.reason)
    }
}

/// The start of the apiserver's Pod update rule (`ValidatePodUpdate`), followed by the list of
/// what may change and the spec diff.
const POD_UPDATE_RULE: &str = "pod updates may not change fields other than ";

/// The apiserver's text for a field fixed at creation (`ValidateImmutableField`).
const FIELD_IMMUTABLE: &str = "field is immutable";

/// The fields the Pod update rule lists as changeable, as the server names them
/// (`` `spec.tolerations` (only additions to existing tolerations) ``).
fn pod_updatable_fields(message: &str) -> Vec<String> {
    let Some(at) = message.find(POD_UPDATE_RULE) else {
        return Vec::new();
    };
    let list = message[at + POD_UPDATE_RULE.len()..]
        .lines()
        .next()
        .unwrap_or_default();
    list.split(",`")
        .map(|item| {
            let item = item.trim();
            if item.starts_with('`') {
                item.to_owned()
            } else {
                format!("`{item}")
            }
        })
        .filter(|item| item.len() > 1)
        .collect()
}

/// What an `Invalid` answer says cannot change in place, if that is what it says.
fn immutable_change(status: &Status, printed: &str) -> Option<ImmutableChange> {
    if status.reason != "Invalid" {
        return None;
    }
    let details = status.details.as_ref()?;
    let kind = details.kind.clone();
    let name = details.name.clone();
    if let Some(cause) = details
        .causes
        .iter()
        .find(|c| c.message.contains(POD_UPDATE_RULE))
    {
        return Some(ImmutableChange {
            kind: kind.clone(),
            name: name.clone(),
            summary: format!(
                "A {kind} cannot be changed in place except for the few fields below. \
                 Everything else in its spec (the command, env, ports, resources, volumes, \
                 probes, …) is fixed when the {kind} is created, so this edit can only take \
                 effect on a new {kind}: delete `{name}` and apply the file again."
            ),
            fields: vec![cause.field.clone()],
            can_change: pod_updatable_fields(&cause.message),
            server_message: printed.to_owned(),
        });
    }
    let fields: Vec<String> = details
        .causes
        .iter()
        .filter(|c| c.message.contains(FIELD_IMMUTABLE))
        .map(|c| c.field.clone())
        .collect();
    if fields.is_empty() {
        return None;
    }
    let list = fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(ImmutableChange {
        summary: format!(
            "{list} of a {kind} is set when the {kind} is created and cannot change \
             afterwards, so this edit can only take effect on a new {kind}: delete `{name}` \
             and apply the file again."
        ),
        kind,
        name,
        fields,
        can_change: Vec::new(),
        server_message: printed.to_owned(),
    })
}

/// Whether everything `want` sets is already so in `have` (lists compared entry by entry).
fn contained_in(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| contained_in(v, hv))),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| contained_in(a, b))
        }
        // An empty map or list in the edit means "nothing"; the server may omit it.
        (Value::Object(w), Value::Null) => w.is_empty(),
        (Value::Array(w), Value::Null) => w.is_empty(),
        (w, h) => w == h,
    }
}

/// `null` for every map key the previous configuration set and the new one removed.
fn removals(previous: &Value, new: &Value, out: &mut Map<String, Value>) {
    let (Value::Object(p), Value::Object(n)) = (previous, new) else {
        return;
    };
    for (k, pv) in p {
        match n.get(k) {
            None => {
                out.insert(k.clone(), Value::Null);
            }
            Some(nv) if pv.is_object() && nv.is_object() => {
                let mut inner = Map::new();
                removals(pv, nv, &mut inner);
                if !inner.is_empty() {
                    out.insert(k.clone(), Value::Object(inner));
                }
            }
            Some(_) => {}
        }
    }
}

/// Deep-merges `extra` (the removals) into `patch`.
fn merge_into(patch: &mut Value, extra: Map<String, Value>) {
    let Value::Object(p) = patch else {
        return;
    };
    for (k, v) in extra {
        match (p.get_mut(&k), v) {
            (Some(existing @ Value::Object(_)), Value::Object(inner)) => {
                merge_into(existing, inner);
            }
            (None, v) => {
                p.insert(k, v);
            }
            _ => {}
        }
    }
}

/// The object with the last-applied annotation kubectl adds.
pub(crate) fn with_last_applied(object: &Value) -> Value {
    let mut out = object.clone();
    let applied = format!("{}\n", serde_json::to_string(object).unwrap_or_default());
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if !annotations.is_object() {
            *annotations = Value::Object(Map::new());
        }
        if let Some(a) = annotations.as_object_mut() {
            a.insert(LAST_APPLIED.into(), Value::String(applied));
        }
    }
    out
}

fn rv(obj: &DynamicObject) -> Option<String> {
    obj.metadata.resource_version.clone()
}

fn to_dynamic(v: &Value) -> Result<DynamicObject, KubectlError> {
    serde_json::from_value(v.clone()).map_err(KubectlError::Encode)
}

fn api_for(
    client: &kube::Client,
    namespace: &str,
    ar: &ApiResource,
    caps: &ApiCapabilities,
) -> Result<Api<DynamicObject>, KubectlError> {
    match caps.scope {
        Scope::Namespaced => Ok(Api::namespaced_with(client.clone(), namespace, ar)),
        Scope::Cluster => Err(KubectlError::ClusterScoped {
            kind: ar.kind.clone(),
            namespace: namespace.to_owned(),
        }),
    }
}

fn resource_header(ar: &ApiResource, name: &str, namespace: &str) -> String {
    let gv = if ar.group.is_empty() {
        format!("/{}", ar.version)
    } else {
        format!("{}/{}", ar.group, ar.version)
    };
    format!(
        "Resource: \"{gv}, Resource={}\", GroupVersionKind: \"{gv}, Kind={}\"\nName: \"{name}\", \
         Namespace: \"{namespace}\"",
        ar.plural, ar.kind
    )
}

/// One object's failure: kubectl's error text, and what cannot change in place when that is
/// why the server refused.
#[derive(Debug)]
struct ObjectFailure {
    line: String,
    immutable: Option<ImmutableChange>,
}

impl From<KubectlError> for ObjectFailure {
    fn from(e: KubectlError) -> Self {
        ObjectFailure::from(e.to_string())
    }
}

impl From<String> for ObjectFailure {
    fn from(line: String) -> Self {
        ObjectFailure {
            line,
            immutable: None,
        }
    }
}

/// POSTs `body` the way kubectl creates: with `fieldValidation=Strict`, which kube's
/// `PostParams` cannot express.
async fn create_strict(
    client: &kube::Client,
    namespace: &str,
    ar: &ApiResource,
    pp: &PostParams,
    body: &DynamicObject,
) -> Result<DynamicObject, kube::Error> {
    use kube::Resource as _;
    let url = DynamicObject::url_path(ar, Some(namespace));
    let data = serde_json::to_vec(body).map_err(kube::Error::SerdeError)?;
    let mut req = kube::core::Request::new(url)
        .create(pp, data)
        .map_err(kube::Error::BuildRequest)?;
    let uri = req.uri().to_string();
    let sep = if uri.contains('?') { '&' } else { '?' };
    *req.uri_mut() = format!("{uri}{sep}fieldValidation=Strict")
        .parse()
        .map_err(|e| {
            kube::Error::BuildRequest(kube::core::request::Error::BuildRequest(
                std::convert::Into::into(e),
            ))
        })?;
    client.request::<DynamicObject>(req).await
}

async fn apply_one(
    client: &kube::Client,
    namespace: &str,
    file: &str,
    obj: &EditedObject,
) -> Result<String, ObjectFailure> {
    let (ar, caps) = resolve(client, namespace, file, obj).await?;
    let api = api_for(client, namespace, &ar, &caps)?;
    let printed = format!("{}/{}", printed_kind(&ar), obj.name);
    let modified = with_last_applied(&obj.object);
    let current = api.get_opt(&obj.name).await.map_err(|e| {
        kubectl_error(
            &e,
            &format!(
                "error when retrieving current configuration of:\n{}\nfrom server for: \
                 \"{file}\"",
                resource_header(&ar, &obj.name, namespace)
            ),
        )
    })?;
    let Some(current) = current else {
        let pp = PostParams {
            field_manager: Some(CLIENT_SIDE_MANAGER.into()),
            ..PostParams::default()
        };
        create_strict(client, namespace, &ar, &pp, &to_dynamic(&modified)?)
            .await
            .map_err(|e| kubectl_error(&e, &format!("error when creating \"{file}\"")))?;
        return Ok(format!("{printed} created"));
    };
    let live = serde_json::to_value(&current).map_err(|e| format!("error: {e}"))?;
    let previous: Option<Value> = current
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(|s| serde_json::from_str(s).ok());
    let mut gone = Map::new();
    if let Some(prev) = &previous {
        removals(prev, &obj.object, &mut gone);
    }
    if gone.is_empty() && contained_in(&modified, &live) {
        return Ok(format!("{printed} unchanged"));
    }
    let mut patch = modified;
    merge_into(&mut patch, gone);
    let pp = PatchParams {
        field_manager: Some(CLIENT_SIDE_MANAGER.into()),
        field_validation: Some(ValidationDirective::Strict),
        ..PatchParams::default()
    };
    let body = if BUILT_IN_GROUPS.contains(&ar.group.as_str()) {
        Patch::Strategic(&patch)
    } else {
        Patch::Merge(&patch)
    };
    let after = api.patch(&obj.name, &pp, &body).await.map_err(|e| {
        let line = kubectl_error(
            &e,
            &format!(
                "error when applying patch:\n{}\nto:\n{}\nfor: \"{file}\"",
                serde_json::to_string(&patch).unwrap_or_default(),
                resource_header(&ar, &obj.name, namespace)
            ),
        );
        let immutable = match &e {
            kube::Error::Api(status) => immutable_change(status, &line),
            _ => None,
        };
        ObjectFailure { line, immutable }
    })?;
    Ok(if rv(&after) == rv(&current) {
        format!("{printed} unchanged")
    } else {
        format!("{printed} configured")
    })
}

async fn delete_one(
    client: &kube::Client,
    namespace: &str,
    file: &str,
    obj: &EditedObject,
) -> Result<String, ObjectFailure> {
    let (ar, caps) = resolve(client, namespace, file, obj).await?;
    let api = api_for(client, namespace, &ar, &caps)?;
    api.delete(&obj.name, &DeleteParams::background())
        .await
        .map_err(|e| kubectl_error(&e, &format!("error when deleting \"{file}\"")))?;
    Ok(format!("{} \"{}\" deleted", printed_kind(&ar), obj.name))
}

/// How often [`reapply_yaml`] looks whether the deleted object is gone.
const GONE_POLL: Duration = Duration::from_millis(100);

/// Deletes one object, waits until it is gone (as `kubectl delete` waits by default), then
/// applies it again. An object that is already absent is simply applied.
async fn reapply_one(
    client: &kube::Client,
    namespace: &str,
    file: &str,
    obj: &EditedObject,
    wait: Duration,
) -> Result<String, ObjectFailure> {
    let (ar, caps) = resolve(client, namespace, file, obj).await?;
    let api = api_for(client, namespace, &ar, &caps)?;
    let mut lines = Vec::new();
    let before = api
        .get_opt(&obj.name)
        .await
        .map_err(|e| kubectl_error(&e, ""))?;
    if let Some(before) = before {
        match api.delete(&obj.name, &DeleteParams::background()).await {
            Ok(_) => lines.push(format!("{} \"{}\" deleted", printed_kind(&ar), obj.name)),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(kubectl_error(&e, &format!("error when deleting \"{file}\"")).into());
            }
        }
        let old_uid = before.metadata.uid.clone();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let now = api
                .get_opt(&obj.name)
                .await
                .map_err(|e| kubectl_error(&e, ""))?;
            // A new uid means the old object is gone (and something else recreated it).
            if now.is_none_or(|o| o.metadata.uid != old_uid) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                lines.push(format!(
                    "error: timed out waiting for the condition on {}/{}",
                    ar.plural, obj.name
                ));
                return Err(lines.join("\n").into());
            }
            tokio::time::sleep(GONE_POLL).await;
        }
    }
    match apply_one(client, namespace, file, obj).await {
        Ok(line) => {
            lines.push(line);
            Ok(lines.join("\n"))
        }
        Err(mut f) => {
            lines.push(f.line);
            f.line = lines.join("\n");
            Err(f)
        }
    }
}

fn parse_failure(command: String, file: &str, diagnostics: Vec<YamlDiagnostic>) -> ActionResult {
    let output = diagnostics
        .iter()
        .map(|d| format!("error: {file}:{}:{}: {}", d.line, d.column, d.message))
        .collect::<Vec<_>>()
        .join("\n");
    ActionResult {
        ok: false,
        command,
        output,
        diagnostics,
        immutable: None,
    }
}

async fn run_each<'a, F, Fut>(
    command: String,
    file: &str,
    namespace: &str,
    yaml: &str,
    verb: &str,
    mut each: F,
) -> ActionResult
where
    F: FnMut(EditedObject) -> Fut,
    Fut: std::future::Future<Output = Result<String, ObjectFailure>> + 'a,
{
    let objects = match parse_edited_yaml(namespace, yaml) {
        Ok(o) => o,
        Err(diagnostics) => return parse_failure(command, file, diagnostics),
    };
    if objects.is_empty() {
        return ActionResult {
            ok: false,
            command,
            output: format!("error: no objects passed to {verb}"),
            diagnostics: Vec::new(),
            immutable: None,
        };
    }
    // kubectl goes on after a failed object and reports every result, then exits 1.
    let mut lines = Vec::new();
    let mut ok = true;
    let mut immutable = None;
    for obj in objects {
        match each(obj).await {
            Ok(line) => lines.push(line),
            Err(f) => {
                ok = false;
                lines.push(f.line);
                immutable = immutable.or(f.immutable);
            }
        }
    }
    ActionResult {
        ok,
        command,
        output: lines.join("\n"),
        diagnostics: Vec::new(),
        immutable,
    }
}

/// `kubectl apply -n NS -f FILE` with the edited text. See the module docs.
pub async fn apply_yaml(
    client: &kube::Client,
    namespace: &str,
    file_name: &str,
    yaml: &str,
) -> ActionResult {
    let command = format!("kubectl apply -n {namespace} -f {file_name}");
    run_each(
        command,
        file_name,
        namespace,
        yaml,
        "apply",
        |obj| async move { apply_one(client, namespace, file_name, &obj).await },
    )
    .await
}

/// `kubectl delete -n NS -f FILE` with the edited text. See the module docs.
pub async fn delete_yaml(
    client: &kube::Client,
    namespace: &str,
    file_name: &str,
    yaml: &str,
) -> ActionResult {
    let command = format!("kubectl delete -n {namespace} -f {file_name}");
    run_each(
        command,
        file_name,
        namespace,
        yaml,
        "delete",
        |obj| async move { delete_one(client, namespace, file_name, &obj).await },
    )
    .await
}

/// The editor's "Delete and re-apply", offered when a change cannot be made in place:
/// `kubectl delete -f FILE` (waiting up to `wait` for each object to be gone, as kubectl
/// waits) then `kubectl apply -f FILE`, with both outputs.
pub async fn reapply_yaml(
    client: &kube::Client,
    namespace: &str,
    file_name: &str,
    yaml: &str,
    wait: Duration,
) -> ActionResult {
    let command = format!(
        "kubectl delete -n {namespace} -f {file_name} && kubectl apply -n {namespace} -f \
         {file_name}"
    );
    run_each(
        command,
        file_name,
        namespace,
        yaml,
        "apply",
        |obj| async move { reapply_one(client, namespace, file_name, &obj, wait).await },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn syntax_errors_point_at_the_line_and_column_in_the_whole_file() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\napiVersion: v1\n\
                    kind: Pod\nmetadata:\n  name: b\n  labels: {app: [\n";
        let d = parse_edited_yaml("kq-x", yaml).expect_err("an unclosed flow list is invalid");
        assert_eq!(d.len(), 1, "one problem: {d:?}");
        assert!(
            d[0].line >= 10,
            "the error is in the second document: {d:?}"
        );
        assert!(d[0].column >= 1);
    }

    #[test]
    fn missing_fields_and_foreign_namespaces_are_named() {
        let yaml = "kind: Pod\nmetadata:\n  name: a\n  namespace: default\n";
        let d = parse_edited_yaml("kq-x", yaml).expect_err("two problems");
        let text: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(text[0].contains("apiVersion"), "{text:?}");
        assert_eq!(
            (d[1].line, d[1].column),
            (4, 3),
            "points at namespace: {d:?}"
        );
        assert!(text[1].contains("kq-x"), "{text:?}");
        let ok = parse_edited_yaml(
            "kq-x",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: kq-x\n",
        );
        assert_eq!(ok.expect("the mission's own namespace is fine").len(), 1);
    }

    #[test]
    fn containment_ignores_server_defaults_but_not_edits() {
        let live = json!({"spec": {"containers": [{"name": "w", "image": "a", "imagePullPolicy": "IfNotPresent"}]}});
        assert!(contained_in(
            &json!({"spec": {"containers": [{"name": "w", "image": "a"}]}}),
            &live
        ));
        assert!(!contained_in(
            &json!({"spec": {"containers": [{"name": "w", "image": "b"}]}}),
            &live
        ));
    }

    #[test]
    fn removed_keys_become_nulls_in_the_patch() {
        let prev = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}});
        let new = json!({"metadata": {"labels": {"a": "1"}}, "spec": {}});
        let mut out = Map::new();
        removals(&prev, &new, &mut out);
        assert_eq!(
            Value::Object(out),
            json!({"metadata": {"labels": {"b": null}}, "spec": {"x": null}})
        );
    }

    #[test]
    fn invalid_status_prints_like_kubectl() {
        let status: Status = serde_json::from_value(json!({
            "status": "Failure", "code": 422, "reason": "Invalid",
            "message": "Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields",
            "details": {"name": "web", "kind": "Pod", "causes": [
                {"reason": "FieldValueForbidden", "message": "Forbidden: pod updates may not change fields", "field": "spec"}
            ]}
        }))
        .expect("a Status");
        assert_eq!(
            status_error(&status, "ignored"),
            "The Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields"
        );
        let nf: Status = serde_json::from_value(json!({
            "status": "Failure", "code": 404, "reason": "NotFound", "message": "pods \"web\" not found",
            "details": {"name": "web", "kind": "pods"}
        }))
        .expect("a Status");
        assert_eq!(
            status_error(&nf, "error when deleting \"pod.yaml\""),
            "Error from server (NotFound): error when deleting \"pod.yaml\": pods \"web\" not found"
        );
    }
}

//! What the workload controllers share (Kubernetes: `pkg/controller/controller_utils.go`,
//! `pkg/api/v1/pod/util.go` and `pkg/util/hash`): controller references, pods made from a
//! template, which pods count as active, ready and available, the hash suffix of
//! pod-template-hash and ControllerRevision names, and the owner's events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::{Value, json};

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Change, ChangeType, Enqueue};
use crate::recorder::Regarding;
use crate::shared::Shared;
use crate::store::{DeleteOptions, Store, WriteOptions};

/// The owner reference a controller puts on what it creates (`metav1.NewControllerRef`).
pub(crate) fn controller_ref(owner: &Value, kind: &ResourceKind) -> Value {
    json!({
        "apiVersion": kind.api_version(),
        "kind": kind.kind,
        "name": kinds::name_of(owner),
        "uid": kinds::str_at(owner, "/metadata/uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The owner reference marked `controller: true`, if any (`metav1.GetControllerOf`).
pub(crate) fn controller_of(obj: &Value) -> Option<&Value> {
    obj.get("metadata")?
        .get("ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

/// Is `obj` controlled by the object with this uid?
pub(crate) fn controlled_by(obj: &Value, owner_uid: &str) -> bool {
    controller_of(obj).is_some_and(|r| r.get("uid").and_then(Value::as_str) == Some(owner_uid))
}

/// A pod built from `template` (labels, annotations, finalizers and spec copied), owned by
/// `owner`; `generate_name` or `name` names it (`GetPodFromTemplate`).
pub(crate) fn pod_from_template(
    template: &Value,
    owner: &Value,
    kind: &ResourceKind,
    name: PodName<'_>,
) -> Value {
    let mut meta = json!({"ownerReferences": [controller_ref(owner, kind)]});
    for key in ["labels", "annotations", "finalizers"] {
        if let Some(v) = template.pointer(&format!("/metadata/{key}")) {
            meta[key] = v.clone();
        }
    }
    match name {
        PodName::Generate(prefix) => meta["generateName"] = json!(prefix),
        PodName::Exact(n) => meta["name"] = json!(n),
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// How a pod made from a template is named.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PodName<'a> {
    /// `metadata.generateName` (the API server appends five characters).
    Generate(&'a str),
    /// An exact name (a StatefulSet's `<set>-<ordinal>`).
    Exact(&'a str),
}

/// Create `pod` in `ns` as kube-controller-manager does; the error is the API server's.
pub(crate) fn create_pod(store: &Store, ns: &str, pod: Value) -> crate::Result<Value> {
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    Ok(store.create(&kinds::pod::KIND, ns, pod, &opts)?.object)
}

/// Creates `pod` for `owner` (a `kind`) and records on the owner what Kubernetes'
/// `RealPodControl` records (`pkg/controller/controller_utils.go`): `SuccessfulCreate` with
/// `Created pod: <name>`, or `FailedCreate` with `Error creating: <error>` unless the
/// namespace is being terminated.
pub(crate) fn create_pod_recorded(
    sh: &mut Shared,
    now: Timestamp,
    owner: &Value,
    kind: &ResourceKind,
    ns: &str,
    pod: Value,
) -> crate::Result<Value> {
    match create_pod(&sh.store, ns, pod) {
        Ok(created) => {
            let msg = format!("Created pod: {}", kinds::name_of(&created));
            event(sh, now, owner, kind, "Normal", "SuccessfulCreate", &msg);
            Ok(created)
        }
        Err(e) => {
            let text = error_text(&e);
            if !text.contains("because it is being terminated") {
                let msg = format!("Error creating: {text}");
                event(sh, now, owner, kind, "Warning", "FailedCreate", &msg);
            }
            Err(e)
        }
    }
}

/// Deletes the pod `name` of `ns` for `owner` (a `kind`) and records on the owner what
/// Kubernetes' `RealPodControl.DeletePod` records: `SuccessfulDelete` with `Deleted pod: <name>`,
/// or `FailedDelete` with `Error deleting: <error>`. A pod already gone is no failure and
/// records nothing.
pub(crate) fn delete_pod_recorded(
    sh: &mut Shared,
    now: Timestamp,
    owner: &Value,
    kind: &ResourceKind,
    ns: &str,
    name: &str,
    opts: &DeleteOptions,
) -> Result<(), kq_apiserver::Error> {
    match sh.store.delete(&kinds::pod::KIND, ns, name, opts) {
        Ok(_) => {
            let msg = format!("Deleted pod: {name}");
            event(sh, now, owner, kind, "Normal", "SuccessfulDelete", &msg);
            Ok(())
        }
        Err(kq_apiserver::Error::NotFound { .. }) => Ok(()),
        Err(e) => {
            let msg = format!("Error deleting: {e}");
            event(sh, now, owner, kind, "Warning", "FailedDelete", &msg);
            Err(e)
        }
    }
}

/// An error as the API server words it (an API refusal's message), else as it displays.
pub(crate) fn error_text(e: &crate::Error) -> String {
    match e {
        crate::Error::Api(api) => api.to_string(),
        other => other.to_string(),
    }
}

/// Does a `metav1.LabelSelector` (`matchLabels` and `matchExpressions`) select `labels`
/// (`metav1.LabelSelectorAsSelector` then `Matches`)? An empty selector selects everything;
/// an unknown operator selects nothing, as the conversion fails in Kubernetes.
pub(crate) fn selector_matches(selector: &Value, labels: Option<&Value>) -> bool {
    Selector::parse(selector).matches(labels)
}

/// A label selector decoded once, to be matched against many objects' labels (a sync over
/// every pod of a namespace decodes its selector once, not once a pod).
#[derive(Debug, Clone)]
pub(crate) struct Selector(Option<LabelSelector>);

impl Selector {
    /// `selector` as a `LabelSelector`; one that does not decode matches nothing.
    pub(crate) fn parse(selector: &Value) -> Selector {
        Selector(serde_json::from_value::<LabelSelector>(selector.clone()).ok())
    }

    /// Does it select an object with these `metadata.labels`? Labels that are not a map of
    /// strings count as none.
    pub(crate) fn matches(&self, labels: Option<&Value>) -> bool {
        self.matches_map(labels_map(labels).as_ref())
    }

    /// [`Selector::matches`] for labels already read with [`labels_map`].
    pub(crate) fn matches_map(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let Some(selector) = &self.0 else {
            return false;
        };
        kq_kube::selectors::label_selector_matches(selector, labels).unwrap_or(false)
    }
}

/// `metadata.labels` as a map of strings; anything else counts as no labels.
pub(crate) fn labels_map(labels: Option<&Value>) -> Option<BTreeMap<String, String>> {
    labels.and_then(Value::as_object).and_then(|m| {
        m.iter()
            .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect()
    })
}

/// Is `selector` empty (no `matchLabels`, no `matchExpressions`): the select-everything
/// selector workload controllers refuse?
pub(crate) fn selector_is_empty(selector: &Value) -> bool {
    let empty = |k: &str| {
        selector.get(k).is_none_or(|v| {
            v.as_object().is_some_and(|o| o.is_empty())
                || v.as_array().is_some_and(|a| a.is_empty())
                || v.is_null()
        })
    };
    empty("matchLabels") && empty("matchExpressions")
}

/// The `namespace/name` keys of the `kind` objects in `obj`'s namespace whose non-empty
/// selector selects `obj` (who would adopt an orphan: `getPodStatefulSets`,
/// `getDaemonSetsForPod`).
pub(crate) fn selecting(sh: &Shared, kind: &'static ResourceKind, obj: &Value) -> Vec<String> {
    let ns = kinds::namespace_of(obj);
    sh.store
        .list_raw(kind, Some(ns))
        .into_iter()
        .filter(|owner| {
            let sel = owner
                .pointer("/spec/selector")
                .cloned()
                .unwrap_or(json!({}));
            !selector_is_empty(&sel) && selector_matches(&sel, obj.pointer("/metadata/labels"))
        })
        .map(|owner| format!("{ns}/{}", kinds::name_of(&owner)))
        .collect()
}

/// A workload's own object changed: look at it again, or forget its key once it is gone.
pub(crate) fn own_change(change: &Change<'_>, queue: &mut Enqueue<'_>) {
    if change.change == ChangeType::Deleted {
        queue.remove(change.key());
    } else {
        queue.key(change.key());
    }
}

/// Something a `kind` object may own changed (a pod, a ReplicaSet): queue its controller if
/// that is a `kind` object, or, for an orphan, every `kind` object that would adopt it (the
/// informer handlers of `pkg/controller/{deployment,replicaset,statefulset,daemon}`).
pub(crate) fn dependent_change(
    sh: &Shared,
    kind: &'static ResourceKind,
    change: &Change<'_>,
    queue: &mut Enqueue<'_>,
) {
    let obj = change.object;
    match controller_of(obj) {
        Some(r) if kinds::str_at(r, "/kind") == kind.kind => {
            let ns = kinds::namespace_of(obj);
            queue.key(format!("{ns}/{}", kinds::str_at(r, "/name")));
        }
        Some(_) => {}
        None if change.change != ChangeType::Deleted => {
            for key in selecting(sh, kind, obj) {
                queue.key(key);
            }
        }
        None => {}
    }
}

/// Pods of namespace `ns` that `owner_uid` controls, from the informer cache.
pub(crate) fn owned_pods(sh: &Shared, ns: &str, owner_uid: &str) -> Vec<Arc<Value>> {
    let mut pods: Vec<Arc<Value>> = sh
        .pods
        .values()
        .filter(|p| kinds::namespace_of(p) == ns && controlled_by(p, owner_uid))
        .cloned()
        .collect();
    pods.sort_by(|a, b| kinds::name_of(a).cmp(kinds::name_of(b)));
    pods
}

/// Claim `candidates` of kind `obj_kind` for `owner` (`ClaimObject` in
/// `controller_ref_manager.go`): what it controls and still selects is kept, what it controls
/// and no longer selects is released, a selected orphan is adopted (not while either side is
/// being deleted); returns what it controls afterwards. `selects` is the owner's own test (a
/// StatefulSet also wants the pod's name to be one of its own).
pub(crate) fn claim(
    store: &Store,
    owner: &Value,
    owner_kind: &ResourceKind,
    obj_kind: &'static ResourceKind,
    candidates: Vec<Arc<Value>>,
    selects: impl Fn(&Value) -> bool,
) -> Vec<Arc<Value>> {
    let uid = kinds::str_at(owner, "/metadata/uid");
    let owner_deleting = owner.pointer("/metadata/deletionTimestamp").is_some();
    let mut claimed = Vec::new();
    for obj in candidates {
        match controller_of(&obj) {
            Some(r) if kinds::str_at(r, "/uid") == uid => {
                if selects(&obj) {
                    claimed.push(obj);
                } else if !owner_deleting {
                    let refs: Vec<Value> = owner_refs(&obj)
                        .into_iter()
                        .filter(|r| kinds::str_at(r, "/uid") != uid)
                        .collect();
                    let _ = set_owner_refs(store, obj_kind, &obj, refs);
                }
            }
            Some(_) => {}
            None => {
                if owner_deleting || is_terminating(&obj) || !selects(&obj) {
                    continue;
                }
                let mut refs = owner_refs(&obj);
                refs.push(controller_ref(owner, owner_kind));
                if let Some(adopted) = set_owner_refs(store, obj_kind, &obj, refs) {
                    claimed.push(Arc::new(adopted));
                }
            }
        }
    }
    claimed
}

fn owner_refs(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Patch `obj`'s ownerReferences (guarded by its uid, as adoption and release are).
fn set_owner_refs(
    store: &Store,
    kind: &'static ResourceKind,
    obj: &Value,
    refs: Vec<Value>,
) -> Option<Value> {
    let body = json!({"metadata": {
        "ownerReferences": refs,
        "uid": kinds::str_at(obj, "/metadata/uid"),
    }});
    let bytes = serde_json::to_vec(&body).ok()?;
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    store
        .patch(
            kind,
            kinds::namespace_of(obj),
            kinds::name_of(obj),
            &bytes,
            crate::store::PatchKind::Merge,
            &opts,
            false,
        )
        .ok()
        .map(|r| r.object)
}

/// The pod's phase.
pub(crate) fn phase(pod: &Value) -> &str {
    kinds::str_at(pod, "/status/phase")
}

/// Not finished and not being deleted (`controller.IsPodActive`).
pub(crate) fn is_active(pod: &Value) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed")
        && pod.pointer("/metadata/deletionTimestamp").is_none()
}

/// Being deleted.
pub(crate) fn is_terminating(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_some()
}

/// The pod's `Ready` condition, if True.
fn ready_condition(pod: &Value) -> Option<&Value> {
    let conds = pod.get("status")?.get("conditions")?.as_array()?;
    let c = conds
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))?;
    (c.get("status").and_then(Value::as_str) == Some("True")).then_some(c)
}

/// When a True `Ready` condition last changed, if it says.
fn transition_time(condition: &Value) -> Option<Timestamp> {
    condition
        .get("lastTransitionTime")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_time)
}

/// The pod's `Ready` condition, if True: the moment it became so.
pub(crate) fn ready_since(pod: &Value) -> Option<Option<Timestamp>> {
    ready_condition(pod).map(transition_time)
}

/// [`is_available`] for a pod whose [`ready_since`] is already known.
pub(crate) fn available_since(
    ready_since: Option<Option<Timestamp>>,
    min_ready: Duration,
    now: Timestamp,
) -> bool {
    match ready_since {
        None => false,
        Some(_) if min_ready.is_zero() => true,
        Some(Some(since)) => crate::scheduler::add(since, min_ready) <= now,
        Some(None) => false,
    }
}

/// Is the pod Ready (`podutil.IsPodReady`)?
pub(crate) fn is_ready(pod: &Value) -> bool {
    ready_condition(pod).is_some()
}

/// Ready for at least `min_ready` at `now` (`podutil.IsPodAvailable`).
pub(crate) fn is_available(pod: &Value, min_ready: Duration, now: Timestamp) -> bool {
    available_since(ready_since(pod), min_ready, now)
}

/// When a pod that is Ready now becomes available with `min_ready` (for a requeue).
pub(crate) fn available_at(pod: &Value, min_ready: Duration) -> Option<Timestamp> {
    ready_since(pod)?.map(|since| crate::scheduler::add(since, min_ready))
}

/// A stable hash suffix for `value` as Kubernetes renders them: the 32-bit FNV-1a of its
/// JSON printed in decimal, each digit mapped through `rand.SafeEncodeString`'s alphabet
/// (`pod-template-hash`, ControllerRevision names). `collision_count` is folded in as
/// `ComputeHash` does, so a collision gives another name.
pub(crate) fn hash_suffix(value: &Value, collision_count: Option<i64>) -> String {
    const SAFE: &[u8; 10] = b"456789bcdf";
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    feed(value.to_string().as_bytes());
    if let Some(c) = collision_count {
        feed(c.to_string().as_bytes());
    }
    h.to_string()
        .bytes()
        .map(|d| SAFE[usize::from(d - b'0')] as char)
        .collect()
}

/// Record an event on a workload object as kube-controller-manager's `<kind>-controller`
/// does (legacy core/v1 recorder, no host).
pub(crate) fn event(
    sh: &mut Shared,
    now: Timestamp,
    owner: &Value,
    kind: &ResourceKind,
    type_: &str,
    reason: &str,
    message: &str,
) {
    let api_version = match kind.group {
        "apps" => "apps/v1",
        "batch" => "batch/v1",
        _ => "v1",
    };
    let regarding = Regarding::object(owner, kind.kind, api_version);
    let component = format!("{}-controller", kind.singular);
    let Shared {
        recorder, store, ..
    } = sh;
    recorder.legacy_event(
        store, now, &component, "", &regarding, type_, reason, message,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_suffixes_look_like_kubernetes_ones_and_are_stable() {
        let t = json!({"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}});
        let a = hash_suffix(&t, None);
        assert_eq!(a, hash_suffix(&t, None));
        assert!(a.len() >= 9 && a.len() <= 10, "{a}");
        assert!(a.bytes().all(|c| b"456789bcdf".contains(&c)), "{a}");
        assert_ne!(a, hash_suffix(&t, Some(1)));
        let other = json!({"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}});
        assert_ne!(a, hash_suffix(&other, None));
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let pod = json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
        ]}});
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert!(is_ready(&pod));
        assert!(is_available(&pod, Duration::ZERO, t0));
        assert!(!is_available(&pod, Duration::from_secs(10), t0));
        let t10 = crate::scheduler::add(t0, Duration::from_secs(10));
        assert!(is_available(&pod, Duration::from_secs(10), t10));
        assert_eq!(available_at(&pod, Duration::from_secs(10)), Some(t10));
    }
}

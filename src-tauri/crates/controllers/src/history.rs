//! ControllerRevisions: the template history StatefulSets and DaemonSets keep, as Kubernetes
//! does in `pkg/controller/history/controller_history.go` (naming, hashing, creation with
//! collision handling, revision numbers) plus the `getPatch` both controllers use
//! (`pkg/controller/statefulset/stateful_set_utils.go`, `pkg/controller/daemon/update.go`).
//!
//! A revision's `data` is a strategic-merge patch that replaces the owner's pod template:
//! `{"spec":{"template":{…,"$patch":"replace"}}}`; its name is `<owner>-<hash>` where the hash
//! is the rendered 32-bit FNV of that data (and the collision count).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::kinds::{self, ResourceKind};
use crate::store::{DeleteOptions, Store, WriteOptions};
use crate::workload;

/// The ControllerRevision kind.
pub(crate) fn kind() -> &'static ResourceKind {
    &kinds::controllerrevision::KIND
}

fn opts() -> WriteOptions {
    let mut o = WriteOptions::default();
    o.field_manager = Some("kube-controller-manager".into());
    o
}

/// The patch a revision stores: the owner's pod template, replacing the whole template
/// (`getPatch`).
pub(crate) fn template_patch(owner: &Value) -> Value {
    let mut template = owner
        .pointer("/spec/template")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    template["$patch"] = json!("replace");
    json!({"spec": {"template": template}})
}

/// The owner's template as a revision recorded it (the patch without `$patch`).
pub(crate) fn template_of(revision: &Value) -> Value {
    let mut t = revision
        .pointer("/data/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(o) = t.as_object_mut() {
        o.remove("$patch");
    }
    t
}

/// The revision's number.
pub(crate) fn number(revision: &Value) -> i64 {
    revision
        .get("revision")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// `ControllerRevisionName`: the owner's name (cut to 223 characters) and the hash.
pub(crate) fn revision_name(owner: &str, hash: &str) -> String {
    let prefix: String = owner.chars().take(223).collect();
    format!("{prefix}-{hash}")
}

/// `HashControllerRevision`: the data's hash with the collision count folded in.
pub(crate) fn hash(data: &Value, collision_count: i64) -> String {
    workload::hash_suffix(data, (collision_count > 0).then_some(collision_count))
}

/// The revisions `owner_uid` controls in `ns`, oldest revision first (by number, then
/// creation, then name, as `SortControllerRevisions`).
pub(crate) fn owned(store: &Store, ns: &str, owner_uid: &str) -> Vec<Arc<Value>> {
    let mut revs: Vec<Arc<Value>> = store
        .list_raw(kind(), Some(ns))
        .into_iter()
        .filter(|r| workload::controlled_by(r, owner_uid))
        .collect();
    revs.sort_by(|a, b| {
        number(a)
            .cmp(&number(b))
            .then_with(|| {
                kinds::str_at(a, "/metadata/creationTimestamp")
                    .cmp(kinds::str_at(b, "/metadata/creationTimestamp"))
            })
            .then_with(|| kinds::name_of(a).cmp(kinds::name_of(b)))
    });
    revs
}

/// Adopt the orphaned revisions `owner`'s selector selects (`AdoptOrphanRevisions`,
/// `ClaimControllerRevisions`): a set deleted with `--cascade=orphan` and made again finds
/// its history and its pods' revisions again.
pub(crate) fn adopt_orphans(store: &Store, owner: &Value, owner_kind: &ResourceKind) {
    let selector = owner
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if workload::selector_is_empty(&selector) {
        return;
    }
    let orphans: Vec<Arc<Value>> = store
        .list_raw(kind(), Some(kinds::namespace_of(owner)))
        .into_iter()
        .filter(|r| workload::controller_of(r).is_none())
        .collect();
    if orphans.is_empty() {
        return;
    }
    workload::claim(store, owner, owner_kind, kind(), orphans, |r| {
        workload::selector_matches(&selector, r.pointer("/metadata/labels"))
    });
}

/// The next revision number after `revisions` (`nextRevision`).
pub(crate) fn next_number(revisions: &[Arc<Value>]) -> i64 {
    revisions.iter().map(|r| number(r)).max().unwrap_or(0) + 1
}

/// A new revision object for `owner` (`NewControllerRevision`); `labels` and `annotations`
/// as the owner's controller chooses.
pub(crate) fn new_revision(
    owner: &Value,
    owner_kind: &ResourceKind,
    labels: Map<String, Value>,
    annotations: Map<String, Value>,
    data: Value,
    revision: i64,
) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "namespace": kinds::namespace_of(owner),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [workload::controller_ref(owner, owner_kind)],
        },
        "data": data,
        "revision": revision,
    })
}

/// Create `revision` named `<owner>-<hash of hash_of>`; a name taken by an equal revision of
/// the same owner is that revision, any other taken name bumps `collision_count` and tries
/// the next (`CreateControllerRevision`). A StatefulSet hashes the revision's data, a
/// DaemonSet its pod template.
pub(crate) fn create(
    store: &Store,
    owner: &Value,
    mut revision: Value,
    hash_of: &Value,
    collision_count: &mut i64,
) -> crate::Result<Value> {
    let ns = kinds::namespace_of(owner).to_string();
    let owner_uid = kinds::str_at(owner, "/metadata/uid").to_string();
    let data = revision.get("data").cloned().unwrap_or(Value::Null);
    for _ in 0..100 {
        let h = hash(hash_of, *collision_count);
        let name = revision_name(kinds::name_of(owner), &h);
        revision["metadata"]["name"] = json!(name);
        match store.create(kind(), &ns, revision.clone(), &opts()) {
            Ok(res) => return Ok(res.object),
            Err(kq_apiserver::Error::AlreadyExists { .. }) => {
                if let Some(existing) = store.get_raw(kind(), &ns, &name)
                    && workload::controlled_by(&existing, &owner_uid)
                    && existing.get("data") == Some(&data)
                {
                    return Ok((*existing).clone());
                }
                *collision_count += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(crate::Error::Invalid(format!(
        "no free ControllerRevision name for {}",
        kinds::name_of(owner)
    )))
}

/// Give an existing revision a new number (`UpdateControllerRevision`, a roll back).
pub(crate) fn renumber(store: &Store, revision: &Value, to: i64) -> crate::Result<Value> {
    let mut body = revision.clone();
    body["revision"] = json!(to);
    let res = store.replace(
        kind(),
        kinds::namespace_of(revision),
        kinds::name_of(revision),
        body,
        &opts(),
        false,
    )?;
    Ok(res.object)
}

/// Delete a revision (history truncation); one already gone is fine.
pub(crate) fn delete(store: &Store, revision: &Value) -> crate::Result<()> {
    match store.delete(
        kind(),
        kinds::namespace_of(revision),
        kinds::name_of(revision),
        &DeleteOptions::default(),
    ) {
        Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_replaces_the_template_and_round_trips() {
        let owner = json!({"spec": {"template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}});
        let p = template_patch(&owner);
        assert_eq!(p["spec"]["template"]["$patch"], "replace");
        let rev = json!({"data": p, "revision": 3});
        assert_eq!(template_of(&rev), owner["spec"]["template"]);
        assert_eq!(number(&rev), 3);
        let h = hash(&rev["data"], 0);
        assert_ne!(h, hash(&rev["data"], 1));
        assert_eq!(revision_name("web", &h), format!("web-{h}"));
    }
}

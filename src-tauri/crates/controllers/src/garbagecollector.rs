//! The garbage collector: owner references and deletion propagation. Kubernetes keeps the
//! same in `pkg/controller/garbagecollector` (`graph_builder.go` builds the owner→dependents
//! graph from every watchable resource, `garbagecollector.go` runs `attemptToDeleteItem` and
//! `attemptToOrphan`).
//!
//! The graph is kept by uid from the watches, one change at a time (never a re-list per
//! reconcile; only a resync re-reads the store). Keys are `delete/<uid>` and `orphan/<uid>`:
//! - `delete/<uid>` looks at one object. One being deleted with `foregroundDeletion` has its
//!   blocking dependents deleted, and loses the finalizer once none is left. Otherwise its
//!   owner references are classified against the store: a reference to an owner that is
//!   absent (or present with another uid) is dangling, one to an owner deleting its
//!   dependents is waiting, any other is solid. With a solid owner only the dangling and
//!   waiting references are removed; with none the object is deleted — in the foreground when
//!   a waiting owner asks for it and the object has dependents of its own, else as its own
//!   `orphan` / `foregroundDeletion` finalizer says, else in the background.
//! - `orphan/<uid>` removes the owner's uid from its dependents' references, then the owner's
//!   `orphan` finalizer.
//!
//! Kubernetes' collector records events only for an owner reference naming a namespaced
//! owner from another namespace (`OwnerRefInvalidNamespace`); KubeQuest records none.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::informer;
use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{
    DeleteOptions, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, Preconditions, Propagation, Store,
    WriteOptions,
};

/// Every resource that can own or depend on another, as the collector watches them.
const WATCHED: &[&str] = &[
    "pods",
    "configmaps",
    "secrets",
    "services",
    "serviceaccounts",
    "apps/deployments",
    "apps/replicasets",
    "apps/statefulsets",
    "apps/daemonsets",
    "apps/controllerrevisions",
    "batch/jobs",
    "batch/cronjobs",
    "discovery.k8s.io/endpointslices",
];

const DELETE: &str = "delete/";
const ORPHAN: &str = "orphan/";

/// One owner reference as the graph keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnerRef {
    uid: String,
    block: bool,
}

/// One object of the graph (`node` in `graph.go`).
#[derive(Debug, Clone)]
struct Item {
    kind: &'static ResourceKind,
    ns: String,
    name: String,
    owners: Vec<OwnerRef>,
    /// `deletionTimestamp` is set.
    deleting: bool,
    /// It carries `foregroundDeletion`.
    foreground: bool,
    /// It carries `orphan`.
    orphan: bool,
}

impl Item {
    fn of(kind: &'static ResourceKind, obj: &Value) -> Self {
        let finalizers = finalizers_of(obj);
        Item {
            kind,
            ns: kinds::namespace_of(obj).to_string(),
            name: kinds::name_of(obj).to_string(),
            owners: owner_refs(obj)
                .iter()
                .map(|r| OwnerRef {
                    uid: kinds::str_at(r, "/uid").to_string(),
                    block: r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true),
                })
                .collect(),
            deleting: obj.pointer("/metadata/deletionTimestamp").is_some(),
            foreground: finalizers.iter().any(|f| f == FINALIZER_FOREGROUND),
            orphan: finalizers.iter().any(|f| f == FINALIZER_ORPHAN),
        }
    }

    /// Being deleted, waiting for its dependents to go first (`isDeletingDependents`).
    fn deleting_dependents(&self) -> bool {
        self.deleting && self.foreground
    }

    /// Being deleted, waiting for its dependents to be orphaned.
    fn orphaning(&self) -> bool {
        self.deleting && self.orphan
    }
}

fn owner_refs(obj: &Value) -> &[Value] {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn finalizers_of(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

/// How an owner reference stands (`classifyReferences`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// The owner exists with this uid.
    Solid,
    /// The owner is absent, or present with another uid.
    Dangling,
    /// The owner is being deleted in the foreground.
    Waiting,
}

/// The garbage collector controller.
#[derive(Debug, Default)]
pub(crate) struct GarbageCollector {
    /// Every watched object, by uid.
    items: HashMap<String, Item>,
    /// Owner uid → the uids of the objects that reference it (the owner may be unknown).
    dependents: HashMap<String, BTreeSet<String>>,
}

impl GarbageCollector {
    /// `uids` in (namespace, kind, name) order, so that work is queued the same way every run.
    fn ordered<'a>(&self, uids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
        let mut v: Vec<(&str, &str, &str, &String)> = uids
            .into_iter()
            .filter_map(|u| {
                self.items
                    .get(u)
                    .map(|i| (i.ns.as_str(), i.kind.plural, i.name.as_str(), u))
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, _, _, u)| u.clone()).collect()
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.dependents
            .get(uid)
            .map(|d| self.ordered(d))
            .unwrap_or_default()
    }

    /// Take an added or updated object into the graph and queue what its change calls for
    /// (`processGraphChanges` for an add or update).
    fn upsert(&mut self, kind: &'static ResourceKind, obj: &Value, queue: &mut Enqueue<'_>) {
        let uid = kinds::str_at(obj, "/metadata/uid").to_string();
        if uid.is_empty() {
            return;
        }
        let new = Item::of(kind, obj);
        let old = self.items.insert(uid.clone(), new.clone());
        let old_owners = old.as_ref().map(|o| o.owners.clone()).unwrap_or_default();
        let mut verify = false;
        for gone in old_owners
            .iter()
            .filter(|o| !new.owners.iter().any(|n| n.uid == o.uid))
        {
            self.unlink(&gone.uid, &uid);
            self.wake_deleting_owner(&gone.uid, queue);
        }
        for owner in &new.owners {
            match old_owners.iter().find(|o| o.uid == owner.uid) {
                Some(before) => {
                    // A reference that stops blocking may free an owner waiting for it.
                    if before.block && !owner.block {
                        self.wake_deleting_owner(&owner.uid, queue);
                    }
                }
                None => {
                    self.dependents
                        .entry(owner.uid.clone())
                        .or_default()
                        .insert(uid.clone());
                    // An owner the graph does not know, or one already deleting its
                    // dependents, is looked at through this object.
                    verify |= self
                        .items
                        .get(&owner.uid)
                        .is_none_or(Item::deleting_dependents);
                }
            }
        }
        if verify {
            queue.key(format!("{DELETE}{uid}"));
        }
        let was = |f: fn(&Item) -> bool| old.as_ref().is_some_and(f);
        if new.orphaning() && !was(Item::orphaning) {
            queue.key(format!("{ORPHAN}{uid}"));
        }
        if new.deleting_dependents() && !was(Item::deleting_dependents) {
            for dep in self.dependents_of(&uid) {
                queue.key(format!("{DELETE}{dep}"));
            }
            queue.key(format!("{DELETE}{uid}"));
        }
    }

    /// An object is gone: its dependents are looked at again, and so is any owner waiting
    /// for it (`processGraphChanges` for a deletion).
    fn forget(&mut self, uid: &str, queue: &mut Enqueue<'_>) {
        let Some(item) = self.items.remove(uid) else {
            return;
        };
        for owner in &item.owners {
            self.unlink(&owner.uid, uid);
            self.wake_deleting_owner(&owner.uid, queue);
        }
        for dep in self.dependents_of(uid) {
            queue.key(format!("{DELETE}{dep}"));
        }
    }

    fn unlink(&mut self, owner: &str, dependent: &str) {
        if let Some(set) = self.dependents.get_mut(owner) {
            set.remove(dependent);
            if set.is_empty() {
                self.dependents.remove(owner);
            }
        }
    }

    fn wake_deleting_owner(&self, owner: &str, queue: &mut Enqueue<'_>) {
        if self.items.get(owner).is_some_and(Item::deleting_dependents) {
            queue.key(format!("{DELETE}{owner}"));
        }
    }

    /// `attemptToDeleteItem`.
    fn attempt_to_delete(
        &mut self,
        uid: &str,
        store: &Store,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<()> {
        let Some(item) = self.items.get(uid).cloned() else {
            return Ok(());
        };
        let Some(latest) = current(store, &item, uid) else {
            // Its deletion is on the way through the watch.
            return Ok(());
        };
        let latest_item = Item::of(item.kind, &latest);
        if latest_item.deleting && !latest_item.foreground {
            return Ok(());
        }
        if latest_item.deleting_dependents() {
            return self.process_deleting_dependents(uid, &item, store, queue);
        }
        let refs = owner_refs(&latest);
        if refs.is_empty() {
            return Ok(());
        }
        let standings: Vec<(String, Standing)> = refs
            .iter()
            .map(|r| {
                (
                    kinds::str_at(r, "/uid").to_string(),
                    standing(store, &item.ns, r),
                )
            })
            .collect();
        let has = |s: Standing| standings.iter().any(|(_, st)| *st == s);
        if has(Standing::Solid) {
            let drop: Vec<&str> = standings
                .iter()
                .filter(|(_, s)| *s != Standing::Solid)
                .map(|(u, _)| u.as_str())
                .collect();
            if !drop.is_empty() {
                update_meta(store, &item, uid, |meta| remove_owner_refs(meta, &drop))?;
            }
            return Ok(());
        }
        let policy = if has(Standing::Waiting) && self.dependents.contains_key(uid) {
            let cycle = self
                .dependents_of(uid)
                .iter()
                .any(|d| self.items.get(d).is_some_and(Item::deleting_dependents));
            if cycle {
                // A dependent of this object is itself waiting for it: stop blocking the
                // owners first, so that neither waits for the other forever.
                update_meta(store, &item, uid, unblock_owner_refs)?;
            }
            Propagation::Foreground
        } else if latest_item.orphan {
            Propagation::Orphan
        } else if latest_item.foreground {
            Propagation::Foreground
        } else {
            Propagation::Background
        };
        let opts = DeleteOptions {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            propagation_policy: Some(policy.as_str().into()),
            ..DeleteOptions::default()
        };
        match store.delete(item.kind, &item.ns, &item.name, &opts) {
            Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `processDeletingDependentsItem`: the owner loses `foregroundDeletion` once no
    /// dependent blocks it; until then every blocking dependent is deleted.
    fn process_deleting_dependents(
        &self,
        uid: &str,
        item: &Item,
        store: &Store,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<()> {
        let blocking: Vec<String> = self
            .dependents_of(uid)
            .into_iter()
            .filter(|d| {
                self.items
                    .get(d)
                    .is_some_and(|i| i.owners.iter().any(|o| o.uid == uid && o.block))
            })
            .collect();
        if blocking.is_empty() {
            return update_meta(store, item, uid, |meta| {
                remove_finalizer(meta, FINALIZER_FOREGROUND)
            });
        }
        for dep in blocking {
            if !self.items.get(&dep).is_some_and(Item::deleting_dependents) {
                queue.key(format!("{DELETE}{dep}"));
            }
        }
        Ok(())
    }

    /// `attemptToOrphanWorker`: every dependent loses its reference to the owner, then the
    /// owner loses `orphan`.
    fn attempt_to_orphan(&self, uid: &str, store: &Store) -> crate::Result<()> {
        let Some(owner) = self.items.get(uid) else {
            return Ok(());
        };
        let Some(latest) = current(store, owner, uid) else {
            return Ok(());
        };
        if !Item::of(owner.kind, &latest).orphaning() {
            return Ok(());
        }
        for dep in self.dependents_of(uid) {
            if let Some(d) = self.items.get(&dep) {
                update_meta(store, d, &dep, |meta| remove_owner_refs(meta, &[uid]))?;
            }
        }
        update_meta(store, owner, uid, |meta| {
            remove_finalizer(meta, FINALIZER_ORPHAN)
        })
    }

    /// Re-read every watched object (at start, and after a watch fell behind) and queue
    /// everything that may need the collector.
    fn rebuild(&mut self, store: &Store, queue: &mut Enqueue<'_>) {
        self.items.clear();
        self.dependents.clear();
        for kind in WATCHED.iter().filter_map(|r| informer::kind_of(r)) {
            for obj in store.list_raw(kind, None) {
                let uid = kinds::str_at(&obj, "/metadata/uid").to_string();
                let item = Item::of(kind, &obj);
                for o in &item.owners {
                    self.dependents
                        .entry(o.uid.clone())
                        .or_default()
                        .insert(uid.clone());
                }
                self.items.insert(uid, item);
            }
        }
        let all: Vec<String> = self.ordered(self.items.keys());
        for uid in all {
            let Some(item) = self.items.get(&uid) else {
                continue;
            };
            if item.orphaning() {
                queue.key(format!("{ORPHAN}{uid}"));
            }
            if !item.owners.is_empty() || item.deleting_dependents() {
                queue.key(format!("{DELETE}{uid}"));
            }
        }
    }
}

/// The object as stored now, if it is still the one with this uid.
fn current(store: &Store, item: &Item, uid: &str) -> Option<std::sync::Arc<Value>> {
    store
        .get_raw(item.kind, &item.ns, &item.name)
        .filter(|o| kinds::str_at(o, "/metadata/uid") == uid)
}

/// Where an owner reference of an object in `ns` stands (`isDangling` and the foreground
/// check). A kind the API server does not serve cannot be resolved; Kubernetes retries such
/// a reference and never collects through it, so it counts as solid.
fn standing(store: &Store, ns: &str, r: &Value) -> Standing {
    let api_version = kinds::str_at(r, "/apiVersion");
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let Some(kind) = kinds::by_kind(group, kinds::str_at(r, "/kind")) else {
        return Standing::Solid;
    };
    let owner_ns = if kind.namespaced { ns } else { "" };
    match store.get_raw(kind, owner_ns, kinds::str_at(r, "/name")) {
        Some(o) if kinds::str_at(&o, "/metadata/uid") == kinds::str_at(r, "/uid") => {
            let waiting = o.pointer("/metadata/deletionTimestamp").is_some()
                && finalizers_of(&o).iter().any(|f| f == FINALIZER_FOREGROUND);
            if waiting {
                Standing::Waiting
            } else {
                Standing::Solid
            }
        }
        _ => Standing::Dangling,
    }
}

/// Read-modify-write an object's metadata as the collector's patches do; a conflict comes
/// back through the key's back-off, an object already gone is fine. `edit` says whether it
/// changed anything.
fn update_meta(
    store: &Store,
    item: &Item,
    uid: &str,
    edit: impl FnOnce(&mut Value) -> bool,
) -> crate::Result<()> {
    let Some(latest) = current(store, item, uid) else {
        return Ok(());
    };
    let mut obj = (*latest).clone();
    if !edit(&mut obj["metadata"]) {
        return Ok(());
    }
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    match store.replace(item.kind, &item.ns, &item.name, obj, &opts, false) {
        Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn remove_owner_refs(meta: &mut Value, uids: &[&str]) -> bool {
    let Some(refs) = meta
        .get_mut("ownerReferences")
        .and_then(Value::as_array_mut)
    else {
        return false;
    };
    let before = refs.len();
    refs.retain(|r| !uids.contains(&kinds::str_at(r, "/uid")));
    let changed = refs.len() != before;
    if refs.is_empty()
        && let Some(m) = meta.as_object_mut()
    {
        m.remove("ownerReferences");
    }
    changed
}

fn unblock_owner_refs(meta: &mut Value) -> bool {
    let mut changed = false;
    if let Some(refs) = meta
        .get_mut("ownerReferences")
        .and_then(Value::as_array_mut)
    {
        for r in refs {
            if r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true) {
                r["blockOwnerDeletion"] = json!(false);
                changed = true;
            }
        }
    }
    changed
}

fn remove_finalizer(meta: &mut Value, finalizer: &str) -> bool {
    let Some(list) = meta.get_mut("finalizers").and_then(Value::as_array_mut) else {
        return false;
    };
    let before = list.len();
    list.retain(|f| f.as_str() != Some(finalizer));
    list.len() != before
}

impl Controller<Shared> for GarbageCollector {
    fn name(&self) -> &'static str {
        "garbagecollector"
    }

    fn watches(&self) -> &'static [&'static str] {
        WATCHED
    }

    fn on_change(&mut self, change: &Change<'_>, _ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        let Some(kind) = informer::kind_of(change.resource) else {
            return;
        };
        match change.change {
            ChangeType::Deleted => {
                let uid = kinds::str_at(change.object, "/metadata/uid").to_string();
                // Only the object this uid names now is forgotten.
                self.forget(&uid, queue);
            }
            ChangeType::Added | ChangeType::Modified => self.upsert(kind, change.object, queue),
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        _now: Timestamp,
        ctx: &mut Shared,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let store = ctx.store.clone();
        if let Some(uid) = key.strip_prefix(DELETE) {
            self.attempt_to_delete(uid, &store, queue)?;
        } else if let Some(uid) = key.strip_prefix(ORPHAN) {
            self.attempt_to_orphan(uid, &store)?;
        }
        Ok(Action::await_change())
    }

    fn resync(&mut self, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        let store = ctx.store.clone();
        self.rebuild(&store, queue);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::Clock;
    use crate::informer::Informers;
    use crate::reconciler::Runner;
    use crate::recorder::Recorder;
    use crate::shared::Rng;

    const NS: &str = "gc";

    /// The collector alone on a runner, fed by the store's watches.
    struct Harness {
        store: Arc<Store>,
        informers: Informers,
        runner: Runner<Shared>,
        shared: Shared,
    }

    impl Harness {
        fn new() -> Self {
            let store = Store::new(Arc::new(Clock::new(0.0)), String::new(), 1000);
            let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}});
            store
                .create(&kinds::namespace::KIND, "", ns, &WriteOptions::default())
                .expect("namespace");
            let mut runner = Runner::new();
            runner.register(GarbageCollector::default());
            let mut shared = Shared {
                store: store.clone(),
                rng: Rng::new(1),
                recorder: Recorder::default(),
                pods: HashMap::new(),
                nodes: vec![],
            };
            let informers = Informers::start(&store, &runner.watched());
            runner.resync(store.clock().now(), &mut shared);
            Harness {
                store,
                informers,
                runner,
                shared,
            }
        }

        /// Hand every change to the collector and run every key, until nothing moves.
        fn settle(&mut self) {
            let now = self.store.clock().now();
            for _ in 0..1000 {
                let Harness {
                    informers,
                    runner,
                    shared,
                    ..
                } = self;
                let changed = informers.drain(|resource, ev| {
                    informer::observe(runner, resource, ev.kind, &ev.object, now, shared);
                });
                let ran = runner.run_due(now, shared);
                if !changed && ran == 0 {
                    return;
                }
            }
            panic!("the collector never settled");
        }

        /// A ConfigMap owned by `owners` (blocking), with `finalizers`; returns its uid.
        fn cm(&self, name: &str, owners: &[(&str, &str, bool)], finalizers: &[&str]) -> String {
            let refs: Vec<Value> = owners
                .iter()
                .map(|(n, uid, block)| {
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": n, "uid": uid,
                        "blockOwnerDeletion": block})
                })
                .collect();
            let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name}});
            if !refs.is_empty() {
                obj["metadata"]["ownerReferences"] = json!(refs);
            }
            if !finalizers.is_empty() {
                obj["metadata"]["finalizers"] = json!(finalizers);
            }
            let created = self
                .store
                .create(&kinds::configmap::KIND, NS, obj, &WriteOptions::default())
                .expect("configmap");
            kinds::str_at(&created.object, "/metadata/uid").to_string()
        }

        fn get(&self, name: &str) -> Option<Arc<Value>> {
            self.store.get_raw(&kinds::configmap::KIND, NS, name)
        }

        fn delete(&self, name: &str, policy: &str) {
            let opts = DeleteOptions {
                propagation_policy: Some(policy.into()),
                ..DeleteOptions::default()
            };
            self.store
                .delete(&kinds::configmap::KIND, NS, name, &opts)
                .expect("delete accepted");
        }

        fn release(&self, name: &str) {
            let obj = self.get(name).expect("held object");
            let mut obj = (*obj).clone();
            remove_finalizer(&mut obj["metadata"], "example.com/hold");
            self.store
                .replace(
                    &kinds::configmap::KIND,
                    NS,
                    name,
                    obj,
                    &WriteOptions::default(),
                    false,
                )
                .expect("released");
        }
    }

    fn finalizers(obj: &Value) -> Vec<String> {
        finalizers_of(obj)
    }

    #[test]
    fn background_deletion_takes_the_dependents_whose_owners_are_all_gone() {
        let mut h = Harness::new();
        let a = h.cm("a", &[], &[]);
        let other = h.cm("other", &[], &[]);
        h.cm("b", &[("a", &a, true)], &[]);
        h.cm("c", &[("a", &a, false)], &[]);
        h.cm("shared", &[("a", &a, true), ("other", &other, true)], &[]);
        h.settle();
        assert!(
            h.get("b").is_some(),
            "an owned object stays while its owner does"
        );
        h.delete("a", "Background");
        h.settle();
        assert!(h.get("a").is_none());
        assert!(h.get("b").is_none());
        assert!(h.get("c").is_none());
        let shared = h.get("shared").expect("another owner still lives");
        let refs = owner_refs(&shared);
        assert_eq!(refs.len(), 1, "{shared}");
        assert_eq!(refs[0]["name"], "other");
    }

    #[test]
    fn an_object_whose_owner_never_existed_or_has_another_uid_is_collected() {
        let mut h = Harness::new();
        h.cm("real", &[], &[]);
        h.cm("ghost-child", &[("ghost", "no-such-uid", true)], &[]);
        h.cm("stale-child", &[("real", "an-older-uid", true)], &[]);
        h.settle();
        assert!(h.get("ghost-child").is_none());
        assert!(h.get("stale-child").is_none());
        assert!(h.get("real").is_some());
    }

    #[test]
    fn foreground_deletion_goes_leaves_first_and_the_owner_last() {
        let mut h = Harness::new();
        let top = h.cm("top", &[], &[]);
        let mid = h.cm("mid", &[("top", &top, true)], &[]);
        h.cm("leaf", &[("mid", &mid, true)], &["example.com/hold"]);
        h.settle();
        h.delete("top", "Foreground");
        h.settle();
        // The leaf is held by its own finalizer, so everything above it waits.
        let top_now = h.get("top").expect("the owner waits for its dependents");
        assert_eq!(finalizers(&top_now), ["foregroundDeletion"]);
        assert!(top_now["metadata"]["deletionTimestamp"].is_string());
        let mid_now = h.get("mid").expect("the middle waits for the leaf");
        assert_eq!(
            finalizers(&mid_now),
            ["foregroundDeletion"],
            "a dependent with dependents goes in the foreground"
        );
        let leaf = h.get("leaf").expect("held");
        assert!(leaf["metadata"]["deletionTimestamp"].is_string());

        // Watch the order in which they go.
        let mut watch = Informers::start(&h.store, &["configmaps"]);
        h.release("leaf");
        h.settle();
        let mut gone = vec![];
        watch.drain(|_, ev| {
            if ev.kind == crate::store::EventType::Deleted {
                gone.push(kinds::name_of(&ev.object).to_string());
            }
        });
        assert_eq!(gone, ["leaf", "mid", "top"]);
    }

    #[test]
    fn a_dependent_that_does_not_block_does_not_hold_its_owner() {
        let mut h = Harness::new();
        let top = h.cm("top", &[], &[]);
        h.cm("loose", &[("top", &top, false)], &["example.com/hold"]);
        h.settle();
        h.delete("top", "Foreground");
        h.settle();
        assert!(h.get("top").is_none());
        let loose = h.get("loose").expect("held by its own finalizer");
        assert!(loose["metadata"]["deletionTimestamp"].is_string());
    }

    #[test]
    fn orphan_deletion_leaves_the_dependents_without_the_reference() {
        let mut h = Harness::new();
        let top = h.cm("top", &[], &[]);
        let other = h.cm("other", &[], &[]);
        h.cm("kid", &[("top", &top, true)], &[]);
        h.cm("twin", &[("top", &top, true), ("other", &other, true)], &[]);
        h.settle();
        h.delete("top", "Orphan");
        assert!(h.get("top").is_some(), "held by the orphan finalizer");
        h.settle();
        assert!(h.get("top").is_none());
        let kid = h.get("kid").expect("orphaned, not deleted");
        assert!(kid.pointer("/metadata/ownerReferences").is_none(), "{kid}");
        let twin = h.get("twin").expect("kept");
        assert_eq!(owner_refs(&twin).len(), 1);
        assert_eq!(owner_refs(&twin)[0]["name"], "other");
    }

    #[test]
    fn a_dependent_keeps_its_own_orphan_finalizer_when_collected() {
        let mut h = Harness::new();
        let top = h.cm("top", &[], &[]);
        let mid = h.cm("mid", &[("top", &top, true)], &["orphan"]);
        h.cm("leaf", &[("mid", &mid, true)], &[]);
        h.settle();
        h.delete("top", "Background");
        h.settle();
        assert!(h.get("top").is_none());
        assert!(
            h.get("mid").is_none(),
            "collected, orphaning its own dependents"
        );
        let leaf = h.get("leaf").expect("orphaned by mid's policy");
        assert!(leaf.pointer("/metadata/ownerReferences").is_none());
    }

    #[test]
    fn a_restart_finds_work_left_over_in_the_store() {
        let store;
        {
            let mut h = Harness::new();
            let top = h.cm("top", &[], &[]);
            h.cm("kid", &[("top", &top, true)], &[]);
            h.settle();
            store = h.store.clone();
        }
        // Deleted while no collector ran.
        let opts = DeleteOptions {
            propagation_policy: Some("Background".into()),
            ..DeleteOptions::default()
        };
        store
            .delete(&kinds::configmap::KIND, NS, "top", &opts)
            .expect("deleted");
        let mut runner = Runner::new();
        runner.register(GarbageCollector::default());
        let mut shared = Shared {
            store: store.clone(),
            rng: Rng::new(1),
            recorder: Recorder::default(),
            pods: HashMap::new(),
            nodes: vec![],
        };
        let informers = Informers::start(&store, &runner.watched());
        runner.resync(store.clock().now(), &mut shared);
        let mut h = Harness {
            store,
            informers,
            runner,
            shared,
        };
        h.settle();
        assert!(h.get("kid").is_none());
    }
}

//! The ReplicaSet controller: keeps `spec.replicas` pods matching a ReplicaSet's selector
//! alive, as Kubernetes does in `pkg/controller/replicaset/replica_set.go` (sync, manage
//! replicas, slow-start creates, deletion ranking), `replica_set_utils.go` (status and the
//! ReplicaFailure condition) and `pkg/controller/controller_utils.go` (`ActivePodsWithRanks`,
//! pod creation events) plus `controller_ref_manager.go` (adoption and release).
//!
//! Kubernetes guards against creating twice before its informer sees its own pods with
//! `ControllerExpectations`; here the runner drains every watch before each reconcile, so the
//! pod cache already holds whatever the previous reconcile created or deleted and no
//! expectations are needed.
//!
//! Kubernetes syncs a ReplicaSet on every change of one of its pods and counts all of its
//! pods each time. Here the counts of each ReplicaSet's pods are kept up to date as the pods
//! change ([`Tally`]), so a sync that releases and adopts nothing reads only what changed; the
//! status it reports is the same, and debug builds recount every pod to check it.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{DeleteOptions, PatchKind, WriteOptions};
use crate::workload::{self, PodName};

/// The most pods one sync creates or deletes (`BurstReplicas`).
const BURST_REPLICAS: usize = 500;

/// The replicaset controller.
#[derive(Debug, Default)]
pub(crate) struct ReplicaSetController {
    /// The active pods of the pod cache (neither finished nor being deleted), grouped by
    /// namespace and controlling owner's uid (`None`: orphans), each group by name then uid:
    /// a sync reads its own pods and the orphans it may adopt, not every pod.
    pods: PodIndex,
}

/// A pod group: (namespace, controller's uid).
type Group = (String, Option<String>);
/// A pod within its group: (name, uid).
type Member = (String, String);

/// The pod cache's active pods as a sync reads them.
#[derive(Debug, Default)]
struct PodIndex {
    groups: HashMap<Group, GroupPods>,
    /// Where each indexed pod (by uid) is.
    at: HashMap<String, (Group, Member)>,
}

/// The active pods one owner controls (or the orphans of a namespace), with what its
/// ReplicaSet's sync counts of them.
#[derive(Debug, Default)]
struct GroupPods {
    pods: BTreeMap<Member, KnownPod>,
    /// How many of the pods are on each node (`spec.nodeName`; unscheduled pods are not
    /// counted): the deletion ranking's related pods on a node.
    on_node: HashMap<String, i64>,
    tally: Tally,
}

/// What a sync reads of one pod, worked out when the pod changes.
#[derive(Debug)]
struct KnownPod {
    pod: Arc<Value>,
    /// `metadata.labels` ([`workload::labels_map`]).
    labels: Option<BTreeMap<String, String>>,
    /// [`workload::ready_since`].
    ready_since: Option<Option<Timestamp>>,
    /// `spec.nodeName` ("" while unscheduled).
    node: String,
    /// What the last sync that read this pod worked out, and for which selector and template
    /// labels ([`Reading`]): a pod that has not changed is not matched again.
    memo: RefCell<Option<(Arc<str>, Reading)>>,
    /// What its group's [`Tally`] counted of the pod (`None` while the tally has no basis).
    counted: Option<Reading>,
    /// What the deletion ranking compares of the pod, read the first time a sync ranks it.
    delete_facts: OnceCell<DeleteFacts>,
}

/// What a sync works out about one pod for its ReplicaSet.
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// The ReplicaSet's selector selects the pod.
    matches: bool,
    /// The pod carries every label of the ReplicaSet's pod template (`fullyLabeledReplicas`).
    fully_labeled: bool,
}

impl KnownPod {
    /// The pod read against a selector and template labels that `fingerprint` stands for.
    fn read(
        &self,
        fingerprint: &Arc<str>,
        selector: &workload::Selector,
        template_labels: Option<&serde_json::Map<String, Value>>,
    ) -> Reading {
        if let Some((seen, reading)) = &*self.memo.borrow()
            && **seen == **fingerprint
        {
            return *reading;
        }
        let reading = Reading {
            matches: selector.matches_map(self.labels.as_ref()),
            fully_labeled: fully_labeled(template_labels, self.labels.as_ref()),
        };
        *self.memo.borrow_mut() = Some((fingerprint.clone(), reading));
        reading
    }

    fn delete_facts(&self) -> &DeleteFacts {
        self.delete_facts.get_or_init(|| DeleteFacts::of(&self.pod))
    }
}

/// Does a pod with `labels` carry every one of `template` (none: it does)?
fn fully_labeled(
    template: Option<&serde_json::Map<String, Value>>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    template.is_none_or(|t| {
        t.iter().all(|(k, v)| {
            labels
                .and_then(|l| l.get(k))
                .is_some_and(|have| v.as_str() == Some(have.as_str()))
        })
    })
}

/// What the status counts of one claimed pod.
#[derive(Debug, Clone, Copy)]
struct PodFacts {
    /// [`workload::ready_since`].
    ready_since: Option<Option<Timestamp>>,
    fully_labeled: bool,
}

/// A group's pods counted for the selector and template labels its ReplicaSet last synced
/// with, kept up to date as the pods come, change and go.
#[derive(Debug, Default)]
struct Tally {
    /// What the pods are read against; `None` until a sync of the group's ReplicaSet.
    basis: Option<Basis>,
    counts: Counts,
}

/// A ReplicaSet's selector and template labels, as [`Tally`] reads pods against them.
#[derive(Debug)]
struct Basis {
    fingerprint: Arc<str>,
    selector: workload::Selector,
    template_labels: Option<serde_json::Map<String, Value>>,
}

impl Basis {
    fn read(&self, pod: &KnownPod) -> Reading {
        pod.read(
            &self.fingerprint,
            &self.selector,
            self.template_labels.as_ref(),
        )
    }
}

/// What a ReplicaSet's status counts of a group of pods.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Counts {
    /// Pods the selector selects (`replicas`).
    matching: usize,
    /// Pods it does not select (a sync releases them).
    not_matching: usize,
    /// Selected pods with every template label (`fullyLabeledReplicas`).
    fully_labeled: usize,
    /// Selected Ready pods (`readyReplicas`).
    ready: usize,
    /// Selected Ready pods by the moment they became Ready (`None`: their condition does
    /// not say), for `availableReplicas` with `minReadySeconds`.
    ready_since: BTreeMap<Option<Timestamp>, usize>,
}

impl Counts {
    /// Count one pod in.
    fn add(&mut self, reading: Reading, ready_since: Option<Option<Timestamp>>) {
        if !reading.matches {
            self.not_matching += 1;
            return;
        }
        self.matching += 1;
        self.fully_labeled += usize::from(reading.fully_labeled);
        if let Some(since) = ready_since {
            self.ready += 1;
            *self.ready_since.entry(since).or_default() += 1;
        }
    }

    /// Count out a pod counted in with the same reading and readiness.
    fn remove(&mut self, reading: Reading, ready_since: Option<Option<Timestamp>>) {
        if !reading.matches {
            self.not_matching -= 1;
            return;
        }
        self.matching -= 1;
        self.fully_labeled -= usize::from(reading.fully_labeled);
        if let Some(since) = ready_since {
            self.ready -= 1;
            if let Some(n) = self.ready_since.get_mut(&since) {
                *n -= 1;
                if *n == 0 {
                    self.ready_since.remove(&since);
                }
            }
        }
    }

    /// How many selected pods are available at `now` ([`workload::available_since`]), and
    /// the first moment after `now` at which a Ready one that is not yet becomes available.
    fn availability(&self, min_ready: Duration, now: Timestamp) -> (usize, Option<Timestamp>) {
        if min_ready.is_zero() {
            return (self.ready, None);
        }
        // The latest Ready pods are the ones still waiting out minReadySeconds.
        let mut waiting = 0;
        let mut next = None;
        for (since, n) in self.ready_since.iter().rev() {
            let Some(since) = since else { break };
            let at = crate::scheduler::add(*since, min_ready);
            if at <= now {
                break;
            }
            waiting += n;
            next = Some(at);
        }
        // Ready without a transition time: never available while minReadySeconds is set.
        let undated = self.ready_since.get(&None).copied().unwrap_or(0);
        (self.ready - waiting - undated, next)
    }
}

impl PodIndex {
    /// Follow a pod change (the cache already holds `pod`, or no longer holds it).
    fn track(&mut self, uid: &str, pod: Option<&Arc<Value>>) {
        if let Some((group, member)) = self.at.remove(uid)
            && let Some(g) = self.groups.get_mut(&group)
        {
            if let Some(gone) = g.pods.remove(&member) {
                g.forget(&gone);
            }
            if g.pods.is_empty() {
                self.groups.remove(&group);
            }
        }
        let Some(pod) = pod.filter(|p| workload::is_active(p)) else {
            return;
        };
        let group = (
            kinds::namespace_of(pod).to_string(),
            workload::controller_of(pod).map(|r| kinds::str_at(r, "/uid").to_string()),
        );
        let member = (kinds::name_of(pod).to_string(), uid.to_string());
        let mut known = KnownPod {
            pod: pod.clone(),
            labels: workload::labels_map(pod.get("metadata").and_then(|m| m.get("labels"))),
            ready_since: workload::ready_since(pod),
            node: kinds::str_at(pod, "/spec/nodeName").to_string(),
            memo: RefCell::new(None),
            counted: None,
            delete_facts: OnceCell::new(),
        };
        let g = self.groups.entry(group.clone()).or_default();
        g.count(&mut known);
        g.pods.insert(member.clone(), known);
        self.at.insert(uid.to_string(), (group, member));
    }

    /// Count the pods of `group` for the selector and template labels `fingerprint` stands
    /// for from now on: every pod is read again when they differ from the last sync's.
    fn settle(&mut self, group: &Group, fingerprint: &Arc<str>, basis: impl FnOnce() -> Basis) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        if g.tally
            .basis
            .as_ref()
            .is_some_and(|b| *b.fingerprint == **fingerprint)
        {
            return;
        }
        let basis = basis();
        let mut counts = Counts::default();
        for known in g.pods.values_mut() {
            let reading = basis.read(known);
            known.counted = Some(reading);
            counts.add(reading, known.ready_since);
        }
        g.tally = Tally {
            basis: Some(basis),
            counts,
        };
    }

    /// The active pods of `ns` that `uid` controls (`true`) or that have no controller
    /// (`false`), by name.
    fn candidates(&self, ns: &str, uid: &str) -> Vec<(&KnownPod, bool)> {
        let group = |owner: Option<String>| self.groups.get(&(ns.to_string(), owner));
        let mut pods: Vec<(&Member, (&KnownPod, bool))> = group(Some(uid.to_string()))
            .into_iter()
            .flat_map(|g| &g.pods)
            .map(|(m, k)| (m, (k, true)))
            .collect();
        if let Some(orphans) = group(None) {
            pods.extend(orphans.pods.iter().map(|(m, k)| (m, (k, false))));
            pods.sort_by(|a, b| a.0.cmp(b.0));
        }
        pods.into_iter().map(|(_, k)| k).collect()
    }
}

impl GroupPods {
    /// A pod joins the group: its node, and its reading if the group is counted.
    fn count(&mut self, known: &mut KnownPod) {
        if !known.node.is_empty() {
            *self.on_node.entry(known.node.clone()).or_default() += 1;
        }
        self.tally_in(known);
    }

    /// Count `known` into the tally, if it has a basis.
    fn tally_in(&mut self, known: &mut KnownPod) {
        if let Some(basis) = &self.tally.basis {
            let reading = basis.read(known);
            known.counted = Some(reading);
            self.tally.counts.add(reading, known.ready_since);
        }
    }

    /// A pod leaves the group: take back what [`GroupPods::count`] added.
    fn forget(&mut self, gone: &KnownPod) {
        if !gone.node.is_empty()
            && let Some(n) = self.on_node.get_mut(&gone.node)
        {
            *n -= 1;
            if *n == 0 {
                self.on_node.remove(&gone.node);
            }
        }
        if let Some(reading) = gone.counted {
            self.tally.counts.remove(reading, gone.ready_since);
        }
    }

    /// The counts read afresh from every pod (what the tally must equal).
    #[cfg(any(debug_assertions, test))]
    fn recount(
        &self,
        selector: &workload::Selector,
        template_labels: Option<&serde_json::Map<String, Value>>,
    ) -> Counts {
        let mut counts = Counts::default();
        for known in self.pods.values() {
            let labels = workload::labels_map(known.pod.pointer("/metadata/labels"));
            let reading = Reading {
                matches: selector.matches_map(labels.as_ref()),
                fully_labeled: fully_labeled(template_labels, labels.as_ref()),
            };
            counts.add(reading, workload::ready_since(&known.pod));
        }
        counts
    }
}

/// The pods a sync claimed.
enum Claimed<'a> {
    /// Every pod of the ReplicaSet's group: all selected, none released or adopted.
    Group(Option<&'a GroupPods>),
    /// Listed one by one, by name (a sync that released or adopted pods).
    Listed(Vec<Arc<Value>>),
}

impl Claimed<'_> {
    fn len(&self) -> usize {
        match self {
            Claimed::Group(g) => g.map_or(0, |g| g.pods.len()),
            Claimed::Listed(pods) => pods.len(),
        }
    }

    /// The pods with what the deletion ranking compares of each, by name.
    fn rankable(&self) -> Vec<(Cow<'_, DeleteFacts>, &Arc<Value>)> {
        match self {
            Claimed::Group(g) => g
                .iter()
                .flat_map(|g| g.pods.values())
                .map(|k| (Cow::Borrowed(k.delete_facts()), &k.pod))
                .collect(),
            Claimed::Listed(pods) => pods
                .iter()
                .map(|p| (Cow::Owned(DeleteFacts::of(p)), p))
                .collect(),
        }
    }
}

fn rs_kind() -> &'static ResourceKind {
    &kinds::replicaset::KIND
}

fn i64_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

impl Controller<Shared> for ReplicaSetController {
    fn name(&self) -> &'static str {
        "replicaset"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/replicasets", "pods"]
    }

    fn on_change(&mut self, change: &Change<'_>, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        if change.resource == "pods" {
            let uid = kinds::str_at(change.object, "/metadata/uid");
            // The informer cache's copy of a live pod; a deleted one leaves the index.
            let pod = (change.change != ChangeType::Deleted).then(|| {
                ctx.pods
                    .get(uid)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(change.object.clone()))
            });
            self.pods.track(uid, pod.as_ref());
            workload::dependent_change(ctx, rs_kind(), change, queue);
        } else {
            workload::own_change(change, queue);
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let Some(rs) = ctx.store.get_raw(rs_kind(), ns, name) else {
            return Ok(Action::await_change());
        };
        sync(ctx, &mut self.pods, &rs, now)
    }
}

/// One sync of one ReplicaSet (`syncReplicaSet`).
fn sync(
    sh: &mut Shared,
    index: &mut PodIndex,
    rs: &Arc<Value>,
    now: Timestamp,
) -> crate::Result<Action> {
    let ns = kinds::namespace_of(rs).to_string();
    let uid = kinds::str_at(rs, "/metadata/uid").to_string();
    let selector = rs.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    let deleting = rs.pointer("/metadata/deletionTimestamp").is_some();
    // A ReplicaSet selecting everything would fight every other controller; Kubernetes refuses
    // the selector at validation, so nothing is managed here either.
    let usable = !workload::selector_is_empty(&selector);
    let parsed = workload::Selector::parse(&selector);
    let template_labels = rs
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    // The selector and the template labels a pod was read against: serialised once a sync.
    let fingerprint: Arc<str> = format!(
        "{selector}\u{1}{}",
        template_labels
            .map(|t| Value::Object(t.clone()))
            .unwrap_or(Value::Null)
    )
    .into();
    let own: Group = (ns.clone(), Some(uid.clone()));
    index.settle(&own, &fingerprint, || Basis {
        fingerprint: fingerprint.clone(),
        selector: parsed.clone(),
        template_labels: template_labels.cloned(),
    });
    let index = &*index;
    #[cfg(debug_assertions)]
    debug_assert_eq!(
        index
            .candidates(&ns, &uid)
            .iter()
            .map(|(k, _)| kinds::str_at(&k.pod, "/metadata/uid"))
            .collect::<Vec<_>>(),
        {
            let mut in_ns: Vec<&Arc<Value>> = sh
                .pods
                .values()
                .filter(|p| kinds::namespace_of(p) == ns && workload::is_active(p))
                .filter(|p| {
                    workload::controller_of(p).is_none_or(|r| kinds::str_at(r, "/uid") == uid)
                })
                .collect();
            in_ns.sort_by(|a, b| {
                (kinds::name_of(a), kinds::str_at(a, "/metadata/uid"))
                    .cmp(&(kinds::name_of(b), kinds::str_at(b, "/metadata/uid")))
            });
            in_ns
                .iter()
                .map(|p| kinds::str_at(p, "/metadata/uid"))
                .collect::<Vec<_>>()
        },
        "the ReplicaSet controller's pod index"
    );
    let min_ready = Duration::from_secs(
        i64_at(rs, "/spec/minReadySeconds")
            .unwrap_or(0)
            .max(0)
            .unsigned_abs(),
    );

    // Claim: keep owned pods that still match, release those that do not, adopt orphans.
    // Pods another controller owns are never looked at, so only this one's and the orphans
    // are read, in name order.
    let group = index.groups.get(&own);
    let releases = group.is_some_and(|g| g.tally.counts.not_matching > 0);
    let adopts = !deleting
        && index.groups.get(&(ns.clone(), None)).is_some_and(|o| {
            o.pods
                .values()
                .any(|k| k.read(&fingerprint, &parsed, template_labels).matches)
        });
    let (claimed, counted, next_available) = if usable && !releases && !adopts {
        // Nothing to release or adopt: the claimed pods are the group's, already counted.
        let counts = group.map(|g| &g.tally.counts);
        let (available, next) = counts.map_or((0, None), |c| c.availability(min_ready, now));
        let counted = Replicas {
            replicas: counts.map_or(0, |c| c.matching),
            fully_labeled: counts.map_or(0, |c| c.fully_labeled),
            ready: counts.map_or(0, |c| c.ready),
            available,
        };
        #[cfg(debug_assertions)]
        if let Some(g) = group {
            debug_assert_eq!(
                g.tally.counts,
                g.recount(&parsed, template_labels),
                "the ReplicaSet controller's counts of {ns}/{}",
                kinds::name_of(rs)
            );
            let pods: Vec<Arc<Value>> = g.pods.values().map(|k| k.pod.clone()).collect();
            debug_assert_eq!(
                (available, next),
                (
                    pods.iter()
                        .filter(|p| workload::is_available(p, min_ready, now))
                        .count(),
                    next_available_of(&pods, min_ready, now)
                ),
                "the ReplicaSet controller's available pods of {ns}/{}",
                kinds::name_of(rs)
            );
        }
        (Claimed::Group(group), counted, next)
    } else {
        let mut claimed: Vec<Arc<Value>> = Vec::new();
        let mut facts: Vec<PodFacts> = Vec::new();
        for (known, owned) in index.candidates(&ns, &uid) {
            let pod = &known.pod;
            let reading = known.read(&fingerprint, &parsed, template_labels);
            let matches = usable && reading.matches;
            if owned {
                if matches {
                    claimed.push(pod.clone());
                    facts.push(PodFacts {
                        ready_since: known.ready_since,
                        fully_labeled: reading.fully_labeled,
                    });
                } else {
                    release(sh, pod, &uid);
                }
            } else if matches
                && !deleting
                && let Some(adopted) = adopt(sh, rs, pod)
            {
                facts.push(PodFacts {
                    ready_since: workload::ready_since(&adopted),
                    fully_labeled: reading.fully_labeled,
                });
                claimed.push(Arc::new(adopted));
            }
        }
        let counted = Replicas::of(&facts, min_ready, now);
        let next = next_available_of(&claimed, min_ready, now);
        (Claimed::Listed(claimed), counted, next)
    };

    let mut failure: Option<(&str, String)> = None;
    if !deleting && usable {
        failure = manage_replicas(sh, index, rs, &claimed, now);
        // What was created or deleted shows in the cache on the next drain; count what is
        // known now for the status, as Kubernetes does with its filtered pods.
    }

    // A failed create or delete is retried after the key's back-off, as the sync's error is.
    let failed = failure.is_some();
    let status = status_of(rs, counted, failure, now);
    if rs.get("status") != Some(&status) {
        let mut body = (**rs).clone();
        body["status"] = status;
        let mut opts = WriteOptions::default();
        opts.field_manager = Some("kube-controller-manager".into());
        sh.store
            .replace(rs_kind(), &ns, kinds::name_of(rs), body, &opts, true)?;
    }

    if failed {
        return Ok(Action::backoff());
    }
    // A ready pod becomes available after minReadySeconds: look again then.
    if let Some(t) = next_available {
        let d = Duration::try_from(t.duration_since(now)).unwrap_or_default();
        return Ok(Action::requeue(d));
    }
    Ok(Action::await_change())
}

/// The first moment after `now` at which one of `pods` that is Ready but not yet available
/// becomes available (none without `minReadySeconds`).
fn next_available_of(
    pods: &[Arc<Value>],
    min_ready: Duration,
    now: Timestamp,
) -> Option<Timestamp> {
    if min_ready.is_zero() {
        return None;
    }
    pods.iter()
        .filter(|p| !workload::is_available(p, min_ready, now))
        .filter_map(|p| workload::available_at(p, min_ready))
        .filter(|t| *t > now)
        .min()
}

/// Patch the pod so `rs` controls it (`ClaimPods`' adopt).
fn adopt(sh: &mut Shared, rs: &Value, pod: &Value) -> Option<Value> {
    let mut refs: Vec<Value> = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    refs.push(workload::controller_ref(rs, rs_kind()));
    patch_owner_refs(sh, pod, refs)
}

/// Patch the pod so `uid` no longer owns it (`ClaimPods`' release).
fn release(sh: &mut Shared, pod: &Value, uid: &str) {
    let refs: Vec<Value> = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| kinds::str_at(r, "/uid") != uid)
        .cloned()
        .collect();
    patch_owner_refs(sh, pod, refs);
}

fn patch_owner_refs(sh: &mut Shared, pod: &Value, refs: Vec<Value>) -> Option<Value> {
    let body = json!({"metadata": {
        // No reference left: the field goes (`omitempty`), not an empty list.
        "ownerReferences": if refs.is_empty() { Value::Null } else { json!(refs) },
        "uid": kinds::str_at(pod, "/metadata/uid"),
    }});
    let bytes = serde_json::to_vec(&body).ok()?;
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    sh.store
        .patch(
            &kinds::pod::KIND,
            kinds::namespace_of(pod),
            kinds::name_of(pod),
            &bytes,
            PatchKind::Merge,
            &opts,
            false,
        )
        .ok()
        .map(|r| r.object)
}

/// Create or delete pods to reach `spec.replicas` (`manageReplicas`); returns the
/// ReplicaFailure reason and message when a create or delete failed.
fn manage_replicas(
    sh: &mut Shared,
    index: &PodIndex,
    rs: &Value,
    claimed: &Claimed<'_>,
    now: Timestamp,
) -> Option<(&'static str, String)> {
    let ns = kinds::namespace_of(rs).to_string();
    let want = i64_at(rs, "/spec/replicas").unwrap_or(1).max(0) as usize;
    let have = claimed.len();
    if have < want {
        let count = (want - have).min(BURST_REPLICAS);
        let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let prefix = format!("{}-", kinds::name_of(rs));
        let mut batch = 1usize;
        let mut remaining = count;
        // Slow start: batches of 1, 2, 4, ... ; a failing batch stops the rest.
        while remaining > 0 {
            let size = batch.min(remaining);
            let mut failed = None;
            for _ in 0..size {
                let pod = workload::pod_from_template(
                    &template,
                    rs,
                    rs_kind(),
                    PodName::Generate(&prefix),
                );
                match workload::create_pod(&sh.store, &ns, pod) {
                    Ok(created) => {
                        let msg = format!("Created pod: {}", kinds::name_of(&created));
                        workload::event(sh, now, rs, rs_kind(), "Normal", "SuccessfulCreate", &msg);
                    }
                    Err(e) => {
                        let text = match &e {
                            crate::Error::Api(api) => api.to_string(),
                            other => other.to_string(),
                        };
                        if !text.contains("because it is being terminated") {
                            let msg = format!("Error creating: {text}");
                            workload::event(
                                sh,
                                now,
                                rs,
                                rs_kind(),
                                "Warning",
                                "FailedCreate",
                                &msg,
                            );
                        }
                        failed = Some(text);
                    }
                }
            }
            if let Some(text) = failed {
                return Some(("FailedCreate", text));
            }
            remaining -= size;
            batch *= 2;
        }
        return None;
    }
    if have > want {
        let count = (have - want).min(BURST_REPLICAS);
        let on_node = related_on_node(sh, index, rs);
        let victims = pods_to_delete(claimed.rankable(), &on_node, count);
        let mut failure = None;
        for pod in victims {
            let name = kinds::name_of(&pod).to_string();
            match sh
                .store
                .delete(&kinds::pod::KIND, &ns, &name, &DeleteOptions::default())
            {
                Ok(_) => {
                    let msg = format!("Deleted pod: {name}");
                    workload::event(sh, now, rs, rs_kind(), "Normal", "SuccessfulDelete", &msg);
                }
                Err(kq_apiserver::Error::NotFound { .. }) => {}
                Err(e) => {
                    let msg = format!("Error deleting: {e}");
                    workload::event(sh, now, rs, rs_kind(), "Warning", "FailedDelete", &msg);
                    failure = Some(("FailedDelete", e.to_string()));
                }
            }
        }
        return failure;
    }
    None
}

/// How many pods of every ReplicaSet with the same controlling owner as `rs` (its
/// Deployment's other ReplicaSets), or of `rs` alone, are on each node
/// (`getIndirectlyRelatedPods`, as the deletion ranking counts them).
fn related_on_node(sh: &Shared, index: &PodIndex, rs: &Value) -> HashMap<String, i64> {
    let ns = kinds::namespace_of(rs);
    let mut owners: Vec<String> = vec![kinds::str_at(rs, "/metadata/uid").to_string()];
    if let Some(owner) = workload::controller_of(rs) {
        let owner_uid = kinds::str_at(owner, "/uid");
        for other in sh.store.list_raw(rs_kind(), Some(ns)) {
            if workload::controlled_by(&other, owner_uid) {
                owners.push(kinds::str_at(&other, "/metadata/uid").to_string());
            }
        }
    }
    owners.sort();
    owners.dedup();
    let mut on_node: HashMap<String, i64> = HashMap::new();
    for g in owners
        .into_iter()
        .filter_map(|uid| index.groups.get(&(ns.to_string(), Some(uid))))
    {
        for (node, n) in &g.on_node {
            *on_node.entry(node.clone()).or_default() += n;
        }
    }
    on_node
}

/// The `count` pods to delete first (`getPodsToDelete` with `ActivePodsWithRanks`), given by
/// name: each pod's rank is how many related pods share its node (`on_node`).
fn pods_to_delete(
    pods: Vec<(Cow<'_, DeleteFacts>, &Arc<Value>)>,
    on_node: &HashMap<String, i64>,
    count: usize,
) -> Vec<Arc<Value>> {
    let mut ranked: Vec<(DeleteKey<'_>, &Arc<Value>)> = pods
        .iter()
        .map(|(facts, p)| {
            let rank = if facts.node.is_empty() {
                0
            } else {
                on_node.get(&facts.node).copied().unwrap_or(0)
            };
            (DeleteKey { facts, rank }, *p)
        })
        .collect();
    let order = |a: &(DeleteKey<'_>, &Arc<Value>), b: &(DeleteKey<'_>, &Arc<Value>)| {
        delete_first(&a.0, &b.0)
    };
    // Only the first `count` are wanted: set them apart, then order them.
    if count == 0 {
        return Vec::new();
    }
    if count < ranked.len() {
        ranked.select_nth_unstable_by(count - 1, order);
        ranked.truncate(count);
    }
    ranked.sort_by(order);
    ranked.into_iter().map(|(_, p)| p.clone()).collect()
}

/// What `ActivePodsWithRanks.Less` compares of one pod but its rank.
#[derive(Debug, Clone)]
struct DeleteFacts {
    node: String,
    phase_rank: u8,
    ready: bool,
    cost: i32,
    ready_time: Option<Timestamp>,
    restarts: i64,
    created: Option<Timestamp>,
    /// `metadata.name`, then `metadata.uid`: pods the other keys do not tell apart are taken
    /// in name order.
    name: String,
    uid: String,
}

impl DeleteFacts {
    fn of(p: &Value) -> DeleteFacts {
        DeleteFacts {
            node: kinds::str_at(p, "/spec/nodeName").to_string(),
            phase_rank: match workload::phase(p) {
                "Pending" | "" => 0,
                "Unknown" => 1,
                "Running" => 2,
                _ => 3,
            },
            ready: workload::is_ready(p),
            cost: kinds::str_at(
                p,
                "/metadata/annotations/controller.kubernetes.io~1pod-deletion-cost",
            )
            .parse::<i32>()
            .unwrap_or(0),
            ready_time: p
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| kinds::str_at(c, "/type") == "Ready")
                .and_then(|c| crate::clock::parse_time(kinds::str_at(c, "/lastTransitionTime"))),
            restarts: p
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                .max()
                .unwrap_or(0),
            created: crate::clock::parse_time(kinds::str_at(p, "/metadata/creationTimestamp")),
            name: kinds::name_of(p).to_string(),
            uid: kinds::str_at(p, "/metadata/uid").to_string(),
        }
    }
}

/// What `ActivePodsWithRanks.Less` compares of one pod.
struct DeleteKey<'a> {
    facts: &'a DeleteFacts,
    /// Related pods on the same node.
    rank: i64,
}

/// `ActivePodsWithRanks.Less`: `Less` means "delete before".
fn delete_first(a: &DeleteKey<'_>, b: &DeleteKey<'_>) -> Ordering {
    let (fa, fb) = (a.facts, b.facts);
    let (a_assigned, b_assigned) = (!fa.node.is_empty(), !fb.node.is_empty());
    // 1. Unassigned before assigned.
    a_assigned
        .cmp(&b_assigned)
        // 2. Pending before Unknown before Running.
        .then(fa.phase_rank.cmp(&fb.phase_rank))
        // 3. Not ready before ready.
        .then(fa.ready.cmp(&fb.ready))
        // 4. Lower deletion cost first.
        .then(fa.cost.cmp(&fb.cost))
        // 5. More related pods on the same node first.
        .then(b.rank.cmp(&a.rank))
        // 6. Ready more recently first (both ready).
        .then_with(|| {
            if fa.ready && fb.ready {
                fb.ready_time.cmp(&fa.ready_time)
            } else {
                Ordering::Equal
            }
        })
        // 7. More restarts first.
        .then(fb.restarts.cmp(&fa.restarts))
        // 8. Newer first.
        .then(fb.created.cmp(&fa.created))
        .then_with(|| fa.name.cmp(&fb.name))
        .then_with(|| fa.uid.cmp(&fb.uid))
}

/// What a ReplicaSet's status counts of its claimed pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Replicas {
    replicas: usize,
    fully_labeled: usize,
    ready: usize,
    available: usize,
}

impl Replicas {
    /// Counted one claimed pod at a time.
    fn of(facts: &[PodFacts], min_ready: Duration, now: Timestamp) -> Replicas {
        Replicas {
            replicas: facts.len(),
            fully_labeled: facts.iter().filter(|f| f.fully_labeled).count(),
            ready: facts.iter().filter(|f| f.ready_since.is_some()).count(),
            available: facts
                .iter()
                .filter(|f| workload::available_since(f.ready_since, min_ready, now))
                .count(),
        }
    }
}

/// The status a sync reports (`calculateStatus`).
#[cfg(test)]
fn calculate_status(
    rs: &Value,
    claimed: &[Arc<Value>],
    failure: Option<(&str, String)>,
    min_ready: Duration,
    now: Timestamp,
) -> Value {
    let template = rs
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    let facts: Vec<PodFacts> = claimed
        .iter()
        .map(|p| PodFacts {
            ready_since: workload::ready_since(p),
            fully_labeled: fully_labeled(
                template,
                workload::labels_map(p.pointer("/metadata/labels")).as_ref(),
            ),
        })
        .collect();
    status_of(rs, Replicas::of(&facts, min_ready, now), failure, now)
}

/// The status a sync reports (`calculateStatus`), given what it counts of the claimed pods.
fn status_of(
    rs: &Value,
    counted: Replicas,
    failure: Option<(&str, String)>,
    now: Timestamp,
) -> Value {
    let mut conditions: Vec<Value> = rs
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let existing = conditions
        .iter()
        .position(|c| kinds::str_at(c, "/type") == "ReplicaFailure");
    match (failure, existing) {
        (Some((reason, message)), at) => {
            let same = at.is_some_and(|i| {
                kinds::str_at(&conditions[i], "/status") == "True"
                    && kinds::str_at(&conditions[i], "/reason") == reason
            });
            if !same {
                if let Some(i) = at {
                    conditions.remove(i);
                }
                conditions.push(json!({
                    "type": "ReplicaFailure",
                    "status": "True",
                    "lastTransitionTime": crate::clock::rfc3339(now),
                    "reason": reason,
                    "message": message,
                }));
            }
        }
        (None, Some(i)) => {
            conditions.remove(i);
        }
        (None, None) => {}
    }
    let mut status = json!({
        "replicas": counted.replicas,
        "fullyLabeledReplicas": counted.fully_labeled,
        "readyReplicas": counted.ready,
        "availableReplicas": counted.available,
        "observedGeneration": i64_at(rs, "/metadata/generation").unwrap_or(1),
    });
    // Zero counts are omitted on the wire (`omitempty`), except replicas.
    for k in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] {
        if status[k] == json!(0)
            && let Some(o) = status.as_object_mut()
        {
            o.remove(k);
        }
    }
    if !conditions.is_empty() {
        status["conditions"] = json!(conditions);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, node: &str, phase: &str, ready: bool, created: &str) -> Arc<Value> {
        let mut p = json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node},
            "status": {"phase": phase},
        });
        if ready {
            p["status"]["conditions"] = json!([{"type": "Ready", "status": "True",
                "lastTransitionTime": created}]);
        }
        Arc::new(p)
    }

    /// The first `count` of `pods` to delete, ranked against `related`.
    fn ranked(pods: &[Arc<Value>], related: &[Arc<Value>], count: usize) -> Vec<Arc<Value>> {
        let mut on_node: HashMap<String, i64> = HashMap::new();
        for p in related {
            let node = kinds::str_at(p, "/spec/nodeName");
            if !node.is_empty() {
                *on_node.entry(node.to_string()).or_default() += 1;
            }
        }
        let claimed = Claimed::Listed(pods.to_vec());
        pods_to_delete(claimed.rankable(), &on_node, count)
    }

    #[test]
    fn deletion_prefers_unscheduled_then_pending_then_not_ready_then_newer() {
        let t0 = "2026-01-01T00:00:00Z";
        let t1 = "2026-01-01T00:01:00Z";
        let pods = vec![
            pod("running-old", "n1", "Running", true, t0),
            pod("running-new", "n1", "Running", true, t1),
            pod("unscheduled", "", "Pending", false, t0),
            pod("pending", "n1", "Pending", false, t0),
            pod("not-ready", "n1", "Running", false, t0),
        ];
        let order: Vec<String> = ranked(&pods, &pods, 5)
            .iter()
            .map(|p| kinds::name_of(p).to_string())
            .collect();
        assert_eq!(
            order,
            [
                "unscheduled",
                "pending",
                "not-ready",
                "running-new",
                "running-old"
            ],
            "ActivePodsWithRanks order"
        );
    }

    #[test]
    fn deletion_prefers_pods_doubled_up_on_a_node() {
        let t0 = "2026-01-01T00:00:00Z";
        let pods = vec![
            pod("alone", "n2", "Running", true, t0),
            pod("crowded", "n1", "Running", true, t0),
        ];
        let related = vec![
            pods[0].clone(),
            pods[1].clone(),
            pod("sibling", "n1", "Running", true, t0),
        ];
        let first = ranked(&pods, &related, 1);
        assert_eq!(kinds::name_of(&first[0]), "crowded");
    }

    #[test]
    fn status_counts_and_replica_failure_condition() {
        let rs = json!({"metadata": {"generation": 2},
            "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "web"}}}}});
        let now: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let mut a = (*pod("a", "n1", "Running", true, "2026-01-01T00:00:00Z")).clone();
        a["metadata"]["labels"] = json!({"app": "web"});
        let b = pod("b", "n1", "Pending", false, "2026-01-01T00:00:00Z");
        let claimed = vec![Arc::new(a), b];
        let s = calculate_status(
            &rs,
            &claimed,
            Some(("FailedCreate", "quota".into())),
            Duration::ZERO,
            now,
        );
        assert_eq!(s["replicas"], 2);
        assert_eq!(s["fullyLabeledReplicas"], 1);
        assert_eq!(s["readyReplicas"], 1);
        assert_eq!(s["availableReplicas"], 1);
        assert_eq!(s["observedGeneration"], 2);
        assert_eq!(s["conditions"][0]["reason"], "FailedCreate");
        let mut rs2 = rs.clone();
        rs2["status"] = s;
        let cleared = calculate_status(&rs2, &claimed, None, Duration::ZERO, now);
        assert!(
            cleared.get("conditions").is_none(),
            "a clean sync removes ReplicaFailure"
        );
        let not_yet = calculate_status(&rs, &claimed, None, Duration::from_secs(30), now);
        assert!(
            not_yet.get("availableReplicas").is_none(),
            "minReadySeconds not reached"
        );
    }

    /// A pod of namespace `ns` for the index: `owner` controls it, it is Ready since
    /// `ready_at` when given.
    fn indexed(
        name: &str,
        owner: Option<&str>,
        labels: Value,
        node: &str,
        ready_at: Option<&str>,
    ) -> Arc<Value> {
        let mut p = json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
                "labels": labels},
            "spec": {"nodeName": node},
            "status": {"phase": "Running"},
        });
        if let Some(owner) = owner {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
                "kind": "ReplicaSet", "name": owner, "uid": owner, "controller": true}]);
        }
        if let Some(t) = ready_at {
            p["status"]["conditions"] =
                json!([{"type": "Ready", "status": "True", "lastTransitionTime": t}]);
        }
        Arc::new(p)
    }

    fn track(index: &mut PodIndex, pod: &Arc<Value>) {
        index.track(kinds::str_at(pod, "/metadata/uid"), Some(pod));
    }

    /// Settle `owner`'s group on a selector and template labels, then check its tally and
    /// node counts against a recount; returns the counts.
    fn settled(index: &mut PodIndex, owner: &str, selector: &Value, template: &Value) -> Counts {
        let group: Group = ("ns".into(), Some(owner.into()));
        let fingerprint: Arc<str> = format!("{selector}\u{1}{template}").into();
        let parsed = workload::Selector::parse(selector);
        index.settle(&group, &fingerprint, || Basis {
            fingerprint: fingerprint.clone(),
            selector: parsed.clone(),
            template_labels: template.as_object().cloned(),
        });
        let Some(g) = index.groups.get(&group) else {
            return Counts::default();
        };
        assert_eq!(g.tally.counts, g.recount(&parsed, template.as_object()));
        let mut on_node: HashMap<String, i64> = HashMap::new();
        for k in g.pods.values() {
            let node = kinds::str_at(&k.pod, "/spec/nodeName");
            if !node.is_empty() {
                *on_node.entry(node.to_string()).or_default() += 1;
            }
        }
        assert_eq!(g.on_node, on_node, "pods per node");
        g.tally.counts.clone()
    }

    #[test]
    fn tally_follows_pod_changes_as_a_recount_would() {
        let t0 = "2026-01-01T00:00:00Z";
        let t1 = "2026-01-01T00:00:05Z";
        let web = json!({"app": "web"});
        let full = json!({"app": "web", "tier": "front"});
        let selector = json!({"matchLabels": {"app": "web"}});
        let mut index = PodIndex::default();
        // Counted at the first sync.
        track(
            &mut index,
            &indexed("a", Some("rs"), full.clone(), "n1", Some(t0)),
        );
        track(&mut index, &indexed("b", Some("rs"), web.clone(), "", None));
        track(&mut index, &indexed("o", None, web.clone(), "n1", Some(t0)));
        let c = settled(&mut index, "rs", &selector, &full);
        assert_eq!(
            (c.matching, c.not_matching, c.fully_labeled, c.ready),
            (2, 0, 1, 1)
        );
        // Counted as it comes: scheduled and Ready later, another pod joining.
        track(
            &mut index,
            &indexed("b", Some("rs"), web.clone(), "n2", Some(t1)),
        );
        track(
            &mut index,
            &indexed("c", Some("rs"), full.clone(), "n1", None),
        );
        let c = settled(&mut index, "rs", &selector, &full);
        assert_eq!(
            (c.matching, c.not_matching, c.fully_labeled, c.ready),
            (3, 0, 2, 2)
        );
        // Relabelled out of the selector: counted as one to release.
        track(
            &mut index,
            &indexed("c", Some("rs"), json!({"app": "db"}), "n1", None),
        );
        let c = settled(&mut index, "rs", &selector, &full);
        assert_eq!(
            (c.matching, c.not_matching, c.fully_labeled, c.ready),
            (2, 1, 1, 2)
        );
        // Not Ready any more, then being deleted, then released to the orphans.
        track(
            &mut index,
            &indexed("a", Some("rs"), full.clone(), "n1", None),
        );
        let mut terminating = (*indexed("b", Some("rs"), web.clone(), "n2", Some(t1))).clone();
        terminating["metadata"]["deletionTimestamp"] = json!(t1);
        track(&mut index, &Arc::new(terminating));
        track(
            &mut index,
            &indexed("c", None, json!({"app": "db"}), "n1", None),
        );
        let c = settled(&mut index, "rs", &selector, &full);
        assert_eq!(
            (c.matching, c.not_matching, c.fully_labeled, c.ready),
            (1, 0, 1, 0)
        );
        assert!(c.ready_since.is_empty());
        // Another template: every pod read again.
        let c = settled(
            &mut index,
            "rs",
            &selector,
            &json!({"app": "web", "tier": "back"}),
        );
        assert_eq!((c.matching, c.fully_labeled), (1, 0));
        // Gone from the cache: the group goes with its last pod.
        index.track("uid-a", None);
        assert!(!index.groups.contains_key(&("ns".into(), Some("rs".into()))));
        assert_eq!(
            settled(&mut index, "rs", &selector, &full),
            Counts::default()
        );
        assert_eq!(
            index.groups[&("ns".into(), None)].pods.len(),
            2,
            "the orphans"
        );
    }

    #[test]
    fn availability_counts_min_ready_seconds_from_the_ready_times() {
        let t = |s: i64| {
            Timestamp::from_second(1_767_225_600 + s)
                .unwrap()
                .to_string()
        };
        let web = json!({"app": "web"});
        let mut index = PodIndex::default();
        let readiness = [Some(t(0)), Some(t(5)), Some(t(5)), Some(t(10)), None];
        for (i, ready) in readiness.iter().enumerate() {
            let name = format!("p{i}");
            track(
                &mut index,
                &indexed(&name, Some("rs"), web.clone(), "n1", ready.as_deref()),
            );
        }
        // Ready, but the condition has no time.
        let mut undated = (*indexed("u", Some("rs"), web.clone(), "n1", Some(&t(0)))).clone();
        undated["status"]["conditions"][0]
            .as_object_mut()
            .unwrap()
            .remove("lastTransitionTime");
        track(&mut index, &Arc::new(undated));
        let c = settled(&mut index, "rs", &json!({"matchLabels": web}), &web);
        assert_eq!(c.ready, 5);
        let pods: Vec<Arc<Value>> = index.groups[&("ns".into(), Some("rs".into()))]
            .pods
            .values()
            .map(|k| k.pod.clone())
            .collect();
        for (min_ready, now) in [(0, 0), (10, 0), (10, 12), (10, 15), (10, 20), (10, 21)] {
            let min_ready = Duration::from_secs(min_ready);
            let now: Timestamp = t(now).parse().unwrap();
            let direct = (
                pods.iter()
                    .filter(|p| workload::is_available(p, min_ready, now))
                    .count(),
                next_available_of(&pods, min_ready, now),
            );
            assert_eq!(
                c.availability(min_ready, now),
                direct,
                "{min_ready:?} at {now}"
            );
        }
        let at12: Timestamp = t(12).parse().unwrap();
        let at15: Timestamp = t(15).parse().unwrap();
        assert_eq!(
            c.availability(Duration::from_secs(10), at12),
            (1, Some(at15))
        );
    }

    #[test]
    fn the_first_pods_to_delete_are_the_full_ranking_s_first() {
        let phases = ["Pending", "Running", "Unknown"];
        let nodes = ["", "n1", "n2", "n3"];
        let pods: Vec<Arc<Value>> = (0..40)
            .map(|i: usize| {
                let created = format!("2026-01-01T00:00:{:02}Z", (i * 7) % 13);
                let mut p = (*pod(
                    &format!("p{:02}", (i * 17) % 40),
                    nodes[i % 4],
                    phases[i % 3],
                    !i.is_multiple_of(5),
                    &created,
                ))
                .clone();
                p["metadata"]["uid"] = json!(format!("u{i}"));
                Arc::new(p)
            })
            .collect();
        let names = |ps: Vec<Arc<Value>>| -> Vec<String> {
            ps.iter().map(|p| kinds::name_of(p).to_string()).collect()
        };
        let all = names(ranked(&pods, &pods, pods.len()));
        for count in 0..=pods.len() {
            assert_eq!(names(ranked(&pods, &pods, count)), all[..count], "{count}");
        }
    }
}

//! The ReplicaSet controller's view of the pod cache: the active pods grouped by namespace and
//! controlling owner, each group with the status counts its ReplicaSet's last sync read
//! ([`Tally`]), kept up to date as pods come, change and go, and how many of them are on each
//! node for the deletion ranking.

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use super::DeleteFacts;
use crate::kinds;
use crate::workload;

/// A pod group: (namespace, controller's uid).
pub(super) type Group = (String, Option<String>);
/// A pod within its group: (name, uid).
pub(super) type Member = (String, String);

/// The pod cache's active pods as a sync reads them.
#[derive(Debug, Default)]
pub(super) struct PodIndex {
    pub(super) groups: HashMap<Group, GroupPods>,
    /// Where each indexed pod (by uid) is.
    pub(super) at: HashMap<String, (Group, Member)>,
}

/// The active pods one owner controls (or the orphans of a namespace), with what its
/// ReplicaSet's sync counts of them.
#[derive(Debug, Default)]
pub(super) struct GroupPods {
    pub(super) pods: BTreeMap<Member, KnownPod>,
    /// How many of the pods are on each node (`spec.nodeName`; unscheduled pods are not
    /// counted): the deletion ranking's related pods on a node.
    pub(super) on_node: HashMap<String, i64>,
    pub(super) tally: Tally,
}

/// What a sync reads of one pod, worked out when the pod changes.
#[derive(Debug)]
pub(super) struct KnownPod {
    pub(super) pod: Arc<Value>,
    /// `metadata.labels` ([`workload::labels_map`]).
    pub(super) labels: Option<BTreeMap<String, String>>,
    /// [`workload::ready_since`].
    pub(super) ready_since: Option<Option<Timestamp>>,
    /// `spec.nodeName` ("" while unscheduled).
    pub(super) node: String,
    /// What the last sync that read this pod worked out, and for which selector and template
    /// labels ([`Reading`]): a pod that has not changed is not matched again.
    pub(super) memo: RefCell<Option<(Arc<str>, Reading)>>,
    /// What its group's [`Tally`] counted of the pod (`None` while the tally has no basis).
    pub(super) counted: Option<Reading>,
    /// What the deletion ranking compares of the pod, read the first time a sync ranks it.
    pub(super) delete_facts: OnceCell<DeleteFacts>,
}

/// What a sync works out about one pod for its ReplicaSet.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reading {
    /// The ReplicaSet's selector selects the pod.
    pub(super) matches: bool,
    /// The pod carries every label of the ReplicaSet's pod template (`fullyLabeledReplicas`).
    pub(super) fully_labeled: bool,
}

impl KnownPod {
    /// The pod read against a selector and template labels that `fingerprint` stands for.
    pub(super) fn read(
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

    pub(super) fn delete_facts(&self) -> &DeleteFacts {
        self.delete_facts.get_or_init(|| DeleteFacts::of(&self.pod))
    }
}

/// Does a pod with `labels` carry every one of `template` (none: it does)?
pub(super) fn fully_labeled(
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
pub(super) struct PodFacts {
    /// [`workload::ready_since`].
    pub(super) ready_since: Option<Option<Timestamp>>,
    pub(super) fully_labeled: bool,
}

/// A group's pods counted for the selector and template labels its ReplicaSet last synced
/// with, kept up to date as the pods come, change and go.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// What the pods are read against; `None` until a sync of the group's ReplicaSet.
    pub(super) basis: Option<Basis>,
    pub(super) counts: Counts,
}

/// A ReplicaSet's selector and template labels, as [`Tally`] reads pods against them.
#[derive(Debug)]
pub(super) struct Basis {
    pub(super) fingerprint: Arc<str>,
    pub(super) selector: workload::Selector,
    pub(super) template_labels: Option<serde_json::Map<String, Value>>,
}

impl Basis {
    pub(super) fn read(&self, pod: &KnownPod) -> Reading {
        pod.read(
            &self.fingerprint,
            &self.selector,
            self.template_labels.as_ref(),
        )
    }
}

/// What a ReplicaSet's status counts of a group of pods.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Counts {
    /// Pods the selector selects (`replicas`).
    pub(super) matching: usize,
    /// Pods it does not select (a sync releases them).
    pub(super) not_matching: usize,
    /// Selected pods with every template label (`fullyLabeledReplicas`).
    pub(super) fully_labeled: usize,
    /// Selected Ready pods (`readyReplicas`).
    pub(super) ready: usize,
    /// Selected Ready pods by the moment they became Ready (`None`: their condition does
    /// not say), for `availableReplicas` with `minReadySeconds`.
    pub(super) ready_since: BTreeMap<Option<Timestamp>, usize>,
}

impl Counts {
    /// Count one pod in.
    pub(super) fn add(&mut self, reading: Reading, ready_since: Option<Option<Timestamp>>) {
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
    pub(super) fn remove(&mut self, reading: Reading, ready_since: Option<Option<Timestamp>>) {
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
    pub(super) fn availability(
        &self,
        min_ready: Duration,
        now: Timestamp,
    ) -> (usize, Option<Timestamp>) {
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
    pub(super) fn track(&mut self, uid: &str, pod: Option<&Arc<Value>>) {
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
    pub(super) fn settle(
        &mut self,
        group: &Group,
        fingerprint: &Arc<str>,
        basis: impl FnOnce() -> Basis,
    ) {
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
    pub(super) fn candidates(&self, ns: &str, uid: &str) -> Vec<(&KnownPod, bool)> {
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
    pub(super) fn count(&mut self, known: &mut KnownPod) {
        if !known.node.is_empty() {
            *self.on_node.entry(known.node.clone()).or_default() += 1;
        }
        self.tally_in(known);
    }

    /// Count `known` into the tally, if it has a basis.
    pub(super) fn tally_in(&mut self, known: &mut KnownPod) {
        if let Some(basis) = &self.tally.basis {
            let reading = basis.read(known);
            known.counted = Some(reading);
            self.tally.counts.add(reading, known.ready_since);
        }
    }

    /// A pod leaves the group: take back what [`GroupPods::count`] added.
    pub(super) fn forget(&mut self, gone: &KnownPod) {
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
    pub(super) fn recount(
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::next_available_of;
    use super::*;

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
}

//! Events the way the real recorders write them.
//!
//! The kubelet uses the legacy core/v1 recorder: `source {component, host}`, first and last
//! timestamps, identical events aggregated by bumping `count` and `lastTimestamp` (kubectl
//! shows `(x4 over 2m)`), and a spam filter of 25 per identical event refilled at one per five
//! minutes (client-go `events_cache.go`). Similar events (same source, object, type and reason,
//! differing only in message) are combined once ten different messages come within ten
//! minutes of each other: from then on one event `(combined from similar events): <latest
//! message>` carries them, its count growing like an identical event's. The scheduler uses the events.k8s.io recorder:
//! `eventTime`, no first/last timestamps, `reportingComponent`/`reportingInstance`, an
//! `action`, and repeats recorded in `series {count, lastObservedTime}` while they keep coming
//! within six minutes (client-go `tools/events`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::clock::{rfc3339, rfc3339_micro};
use crate::kinds;
use crate::store::{Store, WriteOptions};

/// The node the kubelet events come from.
pub(crate) const SCHEDULER_INSTANCE_HOST: &str = "kubequest-control-plane";

const SPAM_BURST: f64 = 25.0;
const SPAM_REFILL: Duration = Duration::from_secs(300);
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// Different messages of similar events that combine them (client-go
/// `defaultAggregateMaxEvents`).
const AGGREGATE_MAX_EVENTS: usize = 10;
/// Silence after which similar events start a fresh group (client-go
/// `defaultAggregateIntervalInSeconds`).
const AGGREGATE_INTERVAL: Duration = Duration::from_secs(600);
/// The message of a combined event starts with this.
const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// What an event is about.
#[derive(Debug, Clone)]
pub(crate) struct Regarding {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub api_version: &'static str,
    pub resource_version: String,
    pub field_path: Option<String>,
}

impl Regarding {
    /// An object of `kind` (`apiVersion` as `api_version`), read from its metadata.
    pub(crate) fn object(obj: &Value, kind: &'static str, api_version: &'static str) -> Regarding {
        Regarding {
            kind,
            namespace: kinds::namespace_of(obj).to_string(),
            name: kinds::name_of(obj).to_string(),
            uid: kinds::str_at(obj, "/metadata/uid").to_string(),
            api_version,
            resource_version: kinds::str_at(obj, "/metadata/resourceVersion").to_string(),
            field_path: None,
        }
    }

    /// A pod, or one of its containers.
    pub(crate) fn pod(pod: &Value, field_path: Option<String>) -> Regarding {
        Regarding {
            field_path,
            ..Regarding::object(pod, "Pod", "v1")
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "apiVersion": self.api_version,
            "resourceVersion": self.resource_version,
        });
        if !self.namespace.is_empty() {
            v["namespace"] = json!(self.namespace);
        }
        if let Some(fp) = &self.field_path {
            v["fieldPath"] = json!(fp);
        }
        v
    }

    /// The object alone, without the container (`fieldPath`): similar events are grouped per
    /// object.
    fn object_key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.kind, self.namespace, self.name, self.uid, self.api_version
        )
    }

    fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.kind,
            self.namespace,
            self.name,
            self.uid,
            self.field_path.as_deref().unwrap_or("")
        )
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Timestamp,
}

/// The different messages seen for one group of similar events.
#[derive(Debug)]
struct AggregateRecord {
    /// Messages seen, in order; never more than `AGGREGATE_MAX_EVENTS - 1` are kept.
    messages: Vec<String>,
    last: Timestamp,
}

#[derive(Debug)]
struct SeriesEntry {
    name: String,
    namespace: String,
    last_observed: Timestamp,
    count: i64,
    written: i64,
}

fn write_series(store: &Arc<Store>, ns: &str, name: &str, count: i64, at: Timestamp) -> bool {
    store
        .update_with::<k8s_openapi::api::core::v1::Event>(ns, name, |e| {
            e.series = Some(k8s_openapi::api::core::v1::EventSeries {
                count: Some(i32::try_from(count).unwrap_or(i32::MAX)),
                last_observed_time: Some(
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(at),
                ),
            });
        })
        .is_ok()
}

/// How often the events.k8s.io recorder writes cached series counts.
pub(crate) const SERIES_REFRESH: Duration = Duration::from_secs(30 * 60);

/// Writes events into the store.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// Aggregation key → (namespace, event name) of the stored event.
    legacy: HashMap<String, (String, String)>,
    spam: HashMap<String, Bucket>,
    /// Similar-event key → messages seen recently.
    aggregate: HashMap<String, AggregateRecord>,
    series: HashMap<String, SeriesEntry>,
    /// No series was last observed before this moment (it may be earlier than the oldest
    /// one's, never later): until a series can have gone quiet, looking for quiet ones is
    /// skipped.
    series_since: Option<Timestamp>,
    /// Every key of the maps above by the uid of the object it is about, so forgetting a
    /// pod reads that pod's keys, not every key of every pod.
    keys_of: HashMap<String, HashSet<String>>,
    last_nanos: i128,
}

fn secs(d: jiff::SignedDuration) -> f64 {
    d.as_secs_f64()
}

impl Recorder {
    fn name_for(&mut self, object: &str, now: Timestamp) -> String {
        let mut nanos = now.as_nanosecond();
        if nanos <= self.last_nanos {
            nanos = self.last_nanos + 1;
        }
        self.last_nanos = nanos;
        format!("{object}.{nanos:x}")
    }

    fn allow(&mut self, key: &str, now: Timestamp) -> bool {
        let b = self.spam.entry(key.to_string()).or_insert(Bucket {
            tokens: SPAM_BURST,
            last: now,
        });
        let refill = secs(now.duration_since(b.last)).max(0.0) / SPAM_REFILL.as_secs_f64();
        b.tokens = (b.tokens + refill).min(SPAM_BURST);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// A kubelet event (legacy recorder) from `host`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn kubelet(
        &mut self,
        store: &Arc<Store>,
        now: Timestamp,
        host: &str,
        regarding: &Regarding,
        type_: &str,
        reason: &str,
        message: &str,
    ) {
        self.legacy_event(
            store, now, "kubelet", host, regarding, type_, reason, message,
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn legacy_event(
        &mut self,
        store: &Arc<Store>,
        now: Timestamp,
        component: &str,
        host: &str,
        regarding: &Regarding,
        type_: &str,
        reason: &str,
        message: &str,
    ) {
        // Similar events: same source, object (any container), type and reason.
        let similar = format!(
            "{component}\u{1}{host}\u{1}{}\u{1}{type_}\u{1}{reason}",
            regarding.object_key()
        );
        let combined = self.aggregate_combines(&similar, message, now);
        let (key, message, reporting) = if combined {
            // The combined event is its own entry, found again by the similar-event key; it
            // names no reporting controller or instance (client-go builds it without them).
            (
                format!("combined\u{1}{similar}"),
                format!("{COMBINED_PREFIX}{message}"),
                ("", ""),
            )
        } else {
            (
                format!(
                    "{component}\u{1}{host}\u{1}{}\u{1}{type_}\u{1}{reason}\u{1}{message}",
                    regarding.key()
                ),
                message.to_string(),
                (component, host),
            )
        };
        self.note(&regarding.uid, [&similar, &key]);
        if !self.allow(&key, now) {
            return;
        }
        let ts = rfc3339(now);
        if let Some((ns, name)) = self.legacy.get(&key).cloned() {
            let bumped = store.update_with::<k8s_openapi::api::core::v1::Event>(&ns, &name, |e| {
                e.count = Some(e.count.unwrap_or(1) + 1);
                e.last_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now));
                e.message = Some(message.clone());
            });
            if bumped.is_ok() {
                return;
            }
            self.legacy.remove(&key);
        }
        let ns = if regarding.namespace.is_empty() {
            "default".to_string()
        } else {
            regarding.namespace.clone()
        };
        let name = self.name_for(&regarding.name, now);
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": regarding.to_json(),
            "reason": reason,
            "message": message,
            "source": {"component": component, "host": host},
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
            "type": type_,
            "eventTime": null,
            "reportingComponent": reporting.0,
            "reportingInstance": reporting.1,
        });
        if store
            .create(&kinds::event::KIND, &ns, event, &WriteOptions::default())
            .is_ok()
        {
            self.legacy.insert(key, (ns, name));
        }
    }

    /// Notes `message` among the similar events of `similar` and says whether it goes into
    /// the combined event (client-go `EventAggregator`): a group starts afresh after ten
    /// minutes without a similar event, and the tenth different message within it, and every
    /// new message after, is combined. Messages already seen keep their own events.
    fn aggregate_combines(&mut self, similar: &str, message: &str, now: Timestamp) -> bool {
        let record = self
            .aggregate
            .entry(similar.to_string())
            .or_insert(AggregateRecord {
                messages: Vec::new(),
                last: now,
            });
        if secs(now.duration_since(record.last)) > AGGREGATE_INTERVAL.as_secs_f64() {
            record.messages.clear();
        }
        record.last = now;
        if record.messages.iter().any(|m| m == message) {
            return false;
        }
        if record.messages.len() + 1 < AGGREGATE_MAX_EVENTS {
            record.messages.push(message.to_string());
            return false;
        }
        true
    }

    /// A scheduler event (events.k8s.io recorder).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn scheduler(
        &mut self,
        store: &Arc<Store>,
        now: Timestamp,
        regarding: &Regarding,
        type_: &str,
        reason: &str,
        action: &str,
        message: &str,
    ) {
        // The isomorphic key leaves the note (message) out, as client-go does. The first repeat
        // is written at once with `series.count = 2`; later ones only bump the recorder's cache,
        // which reaches the apiserver on the 30-minute refresh or when the series ends
        // ([`Recorder::flush_series`]).
        let key = format!("{}\u{1}{action}\u{1}{reason}", regarding.key());
        self.note(&regarding.uid, [&key]);
        if let Some(entry) = self.series.get_mut(&key) {
            entry.last_observed = now;
            entry.count += 1;
            if entry.count == 2 {
                let (ns, name) = (entry.namespace.clone(), entry.name.clone());
                if write_series(store, &ns, &name, 2, now) {
                    entry.written = 2;
                    return;
                }
                self.series.remove(&key);
            } else {
                return;
            }
        }
        let instance = format!("default-scheduler-{SCHEDULER_INSTANCE_HOST}");
        let ns = regarding.namespace.clone();
        let name = self.name_for(&regarding.name, now);
        let mut message = message.to_string();
        if message.len() > 1024 {
            let mut cut = 1024;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": regarding.to_json(),
            "reason": reason,
            "message": message,
            "source": {},
            "firstTimestamp": null,
            "lastTimestamp": null,
            "type": type_,
            "eventTime": rfc3339_micro(now),
            "action": action,
            "reportingComponent": "default-scheduler",
            "reportingInstance": instance,
        });
        if store
            .create(&kinds::event::KIND, &ns, event, &WriteOptions::default())
            .is_ok()
        {
            self.series_since = Some(self.series_since.map_or(now, |t| t.min(now)));
            self.series.insert(
                key,
                SeriesEntry {
                    name,
                    namespace: ns,
                    last_observed: now,
                    count: 1,
                    written: 1,
                },
            );
        }
    }

    /// The recorder's periodic work: write series counts that changed (every
    /// [`SERIES_REFRESH`]) and finish series that saw nothing for six minutes.
    pub(crate) fn flush_series(&mut self, store: &Arc<Store>, now: Timestamp, refresh: bool) {
        let quiet =
            |last: Timestamp| now.duration_since(last).as_secs_f64() >= SERIES_WINDOW.as_secs_f64();
        // Between refreshes only series six minutes quiet are written and finished: none is
        // while the earliest moment any was last observed is within the window.
        if !refresh && self.series_since.is_none_or(|t| !quiet(t)) {
            return;
        }
        let mut done = Vec::new();
        let mut since: Option<Timestamp> = None;
        for (key, e) in &mut self.series {
            let idle = quiet(e.last_observed);
            if (refresh || idle)
                && e.count > 1
                && e.written != e.count
                && write_series(store, &e.namespace, &e.name, e.count, e.last_observed)
            {
                e.written = e.count;
            }
            if idle {
                done.push(key.clone());
            } else {
                since = Some(since.map_or(e.last_observed, |t| t.min(e.last_observed)));
            }
        }
        for k in done {
            self.series.remove(&k);
        }
        self.series_since = since;
    }

    /// Forget aggregation state for a pod that is gone (its events stay until they age out).
    pub(crate) fn forget(&mut self, uid: &str) {
        for key in self.keys_of.remove(uid).into_iter().flatten() {
            self.legacy.remove(&key);
            self.spam.remove(&key);
            self.aggregate.remove(&key);
            self.series.remove(&key);
        }
    }

    /// Remember that `keys` are about the object `uid`.
    fn note<const N: usize>(&mut self, uid: &str, keys: [&String; N]) {
        let known = self.keys_of.entry(uid.to_string()).or_default();
        for key in keys {
            if !known.contains(key) {
                known.insert(key.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    fn store() -> Arc<Store> {
        let store = Store::new(Arc::new(Clock::new(0.0)), String::new(), 100);
        store
            .create(
                &kinds::namespace::KIND,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
                &WriteOptions::default(),
            )
            .expect("namespace");
        store
    }

    fn rs() -> Regarding {
        Regarding::object(
            &json!({"metadata": {"name": "web-5d8f", "namespace": "shop", "uid": "u-rs",
                "resourceVersion": "7"}}),
            "ReplicaSet",
            "apps/v1",
        )
    }

    fn refused(pod: &str) -> String {
        format!(
            "Error creating: pods \"{pod}\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
        )
    }

    /// One refusal per `i` in `ids`, each for the pod `<prefix><i>`, at `start + 10 i` seconds.
    fn refuse_each(
        rec: &mut Recorder,
        store: &Arc<Store>,
        start: i64,
        prefix: &str,
        ids: std::ops::Range<i64>,
    ) {
        for i in ids {
            failed_create(
                rec,
                store,
                t(start + i * 10),
                &refused(&format!("{prefix}{i}")),
            );
        }
    }

    fn failed_create(rec: &mut Recorder, store: &Arc<Store>, at: Timestamp, message: &str) {
        rec.legacy_event(
            store,
            at,
            "replicaset-controller",
            "",
            &rs(),
            "Warning",
            "FailedCreate",
            message,
        );
    }

    /// (message, count, reportingComponent) of the events in `shop`, oldest first.
    fn events(store: &Arc<Store>) -> Vec<(String, i64, String)> {
        let mut list = store.list_raw(&kinds::event::KIND, Some("shop"));
        list.sort_by(|a, b| {
            kinds::str_at(a, "/firstTimestamp")
                .cmp(kinds::str_at(b, "/firstTimestamp"))
                .then(kinds::name_of(a).cmp(kinds::name_of(b)))
        });
        list.iter()
            .map(|e| {
                (
                    kinds::str_at(e, "/message").to_string(),
                    e["count"].as_i64().unwrap_or(0),
                    kinds::str_at(e, "/reportingComponent").to_string(),
                )
            })
            .collect()
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).expect("timestamp")
    }

    #[test]
    fn forgetting_a_pod_starts_its_repeats_afresh_and_leaves_other_pods_counting() {
        let store = store();
        let mut rec = Recorder::default();
        let pod = |name: &str, uid: &str| {
            Regarding::pod(
                &json!({"metadata": {"name": name, "namespace": "shop", "uid": uid}}),
                Some("spec.containers{app}".to_string()),
            )
        };
        let (a, b) = (pod("web-a", "u-a"), pod("web-b", "u-b"));
        let back_off = |rec: &mut Recorder, p: &Regarding, at: i64| {
            rec.kubelet(
                &store,
                t(at),
                "node-1",
                p,
                "Warning",
                "BackOff",
                "Back-off restarting failed container app in pod",
            );
        };
        back_off(&mut rec, &a, 0);
        back_off(&mut rec, &b, 0);
        rec.forget("u-a");
        back_off(&mut rec, &a, 20);
        back_off(&mut rec, &b, 20);
        let counts: Vec<i64> = events(&store).iter().map(|e| e.1).collect();
        // web-a: two events of count 1 (its repeat is a new event); web-b: one event of 2.
        assert_eq!(counts.iter().sum::<i64>(), 4, "{counts:?}");
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(rec.keys_of.contains_key("u-a") && rec.keys_of.contains_key("u-b"));
        rec.forget("u-a");
        rec.forget("u-b");
        assert!(rec.keys_of.is_empty() && rec.legacy.is_empty() && rec.spam.is_empty());
    }

    #[test]
    fn nine_different_messages_are_nine_events() {
        let store = store();
        let mut rec = Recorder::default();
        refuse_each(&mut rec, &store, 0, "web-5d8f-a", 0..9);
        let ev = events(&store);
        assert_eq!(ev.len(), 9, "{ev:?}");
        assert!(ev.iter().all(|(m, c, r)| {
            m.starts_with("Error creating: pods \"web-5d8f-a")
                && *c == 1
                && r == "replicaset-controller"
        }));
    }

    #[test]
    fn the_tenth_different_message_is_combined_and_the_combined_count_grows() {
        let store = store();
        let mut rec = Recorder::default();
        refuse_each(&mut rec, &store, 0, "web-5d8f-a", 0..10);
        let ev = events(&store);
        assert_eq!(ev.len(), 10, "{ev:?}");
        assert_eq!(
            ev[9],
            (
                format!("(combined from similar events): {}", refused("web-5d8f-a9")),
                1,
                String::new()
            )
        );
        // More different messages: still ten events, the combined one counts them and shows
        // the latest message.
        refuse_each(&mut rec, &store, 0, "web-5d8f-b", 10..14);
        let ev = events(&store);
        assert_eq!(ev.len(), 10, "{ev:?}");
        assert_eq!(
            (ev[9].0.as_str(), ev[9].1),
            (
                format!(
                    "(combined from similar events): {}",
                    refused("web-5d8f-b13")
                )
                .as_str(),
                5
            )
        );
        let combined = store
            .list_raw(&kinds::event::KIND, Some("shop"))
            .into_iter()
            .find(|e| kinds::str_at(e, "/message").starts_with("(combined"))
            .expect("combined event");
        assert_eq!(kinds::str_at(&combined, "/firstTimestamp"), rfc3339(t(90)));
        assert_eq!(kinds::str_at(&combined, "/lastTimestamp"), rfc3339(t(130)));
        assert_eq!(
            kinds::str_at(&combined, "/source/component"),
            "replicaset-controller"
        );
        // A message seen before the group filled up still counts on its own event.
        failed_create(&mut rec, &store, t(140), &refused("web-5d8f-a3"));
        let ev = events(&store);
        assert_eq!(ev.len(), 10, "{ev:?}");
        assert_eq!((ev[3].0.clone(), ev[3].1), (refused("web-5d8f-a3"), 2));
        assert_eq!(ev[9].1, 5);
    }

    #[test]
    fn ten_minutes_without_a_similar_event_start_a_fresh_group() {
        let store = store();
        let mut rec = Recorder::default();
        refuse_each(&mut rec, &store, 0, "web-5d8f-a", 0..9);
        // Just under ten minutes after the last one: still the same group, so combined.
        failed_create(&mut rec, &store, t(80 + 600), &refused("web-5d8f-c0"));
        let ev = events(&store);
        assert_eq!(ev.len(), 10, "{ev:?}");
        assert!(
            ev[9].0.starts_with("(combined from similar events): "),
            "{ev:?}"
        );
        // More than ten minutes of silence: new messages get their own events again.
        refuse_each(&mut rec, &store, 80 + 600 + 601, "web-5d8f-d", 0..9);
        let ev = events(&store);
        assert_eq!(ev.len(), 19, "{ev:?}");
        assert!(
            ev[10..]
                .iter()
                .all(|(m, c, _)| !m.starts_with("(combined") && *c == 1)
        );
        // The tenth of the new group goes to the combined event that is already there.
        failed_create(
            &mut rec,
            &store,
            t(80 + 600 + 601 + 90),
            &refused("web-5d8f-d9"),
        );
        let ev = events(&store);
        assert_eq!(ev.len(), 19, "{ev:?}");
        assert_eq!(
            (ev[9].0.clone(), ev[9].1),
            (
                format!("(combined from similar events): {}", refused("web-5d8f-d9")),
                2
            )
        );
    }

    #[test]
    fn identical_events_count_up_however_many_there_are() {
        let store = store();
        let mut rec = Recorder::default();
        for i in 0..15 {
            failed_create(&mut rec, &store, t(i * 30), &refused("web-5d8f-a0"));
        }
        let ev = events(&store);
        assert_eq!(
            ev,
            vec![(
                refused("web-5d8f-a0"),
                15,
                "replicaset-controller".to_string()
            )]
        );
    }

    #[test]
    fn other_reasons_objects_and_containers_group_apart() {
        let store = store();
        let mut rec = Recorder::default();
        let pod = json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u-pod"}});
        for i in 0..9 {
            failed_create(&mut rec, &store, t(i), &refused(&format!("web-5d8f-a{i}")));
            rec.kubelet(
                &store,
                t(i),
                "node-1",
                &Regarding::pod(&pod, Some("spec.containers{web}".into())),
                "Warning",
                "Failed",
                &format!("Error: message {i}"),
            );
        }
        assert_eq!(events(&store).len(), 18);
        // The same pod's other container is the same object: its tenth message combines.
        rec.kubelet(
            &store,
            t(10),
            "node-1",
            &Regarding::pod(&pod, Some("spec.containers{sidecar}".into())),
            "Warning",
            "Failed",
            "Error: sidecar",
        );
        // A Normal event of the ReplicaSet is not similar to its warnings.
        rec.legacy_event(
            &store,
            t(10),
            "replicaset-controller",
            "",
            &rs(),
            "Normal",
            "SuccessfulCreate",
            "Created pod: web-5d8f-zz",
        );
        let ev = events(&store);
        assert_eq!(ev.len(), 20, "{ev:?}");
        assert!(
            ev.iter()
                .any(|(m, _, _)| m == "(combined from similar events): Error: sidecar")
        );
        assert!(ev.iter().any(|(m, _, _)| m == "Created pod: web-5d8f-zz"));
    }

    #[test]
    fn a_series_is_written_and_finished_once_six_minutes_quiet_and_not_before() {
        let store = store();
        let mut rec = Recorder::default();
        let pod = |name: &str| {
            Regarding::pod(
                &json!({"metadata": {"name": name, "namespace": "shop", "uid": name}}),
                None,
            )
        };
        let failed = |rec: &mut Recorder, p: &Regarding, at: i64| {
            rec.scheduler(
                &store,
                t(at),
                p,
                "Warning",
                "FailedScheduling",
                "Scheduling",
                "0/1 nodes are available: 1 Too many pods.",
            );
        };
        let series = |store: &Arc<Store>| -> Vec<i64> {
            let mut counts: Vec<i64> = store
                .list_raw(&kinds::event::KIND, Some("shop"))
                .iter()
                .filter_map(|e| e.pointer("/series/count").and_then(Value::as_i64))
                .collect();
            counts.sort();
            counts
        };
        let (a, b) = (pod("web-a"), pod("web-b"));
        // web-a: four attempts, the last at 30 s; web-b: three, the last at 200 s.
        for at in [0, 10, 20, 30] {
            failed(&mut rec, &a, at);
        }
        for at in [5, 100, 200] {
            failed(&mut rec, &b, at);
        }
        assert_eq!(
            series(&store),
            [2, 2],
            "the first repeat is written at once"
        );
        assert_eq!(rec.series_since, Some(t(0)), "no later than the oldest");
        // Not six minutes after either's last attempt: nothing is written or finished.
        rec.flush_series(&store, t(389), false);
        assert_eq!(series(&store), [2, 2]);
        assert_eq!(rec.series.len(), 2);
        assert_eq!(
            rec.series_since,
            Some(t(30)),
            "a look settles on the oldest"
        );
        // web-a went quiet at 390 s: its count is written and its series finished.
        rec.flush_series(&store, t(390), false);
        assert_eq!(series(&store), [2, 4]);
        assert_eq!(rec.series.len(), 1);
        assert_eq!(rec.series_since, Some(t(200)));
        rec.flush_series(&store, t(559), false);
        assert_eq!(rec.series.len(), 1);
        rec.flush_series(&store, t(560), false);
        assert_eq!(series(&store), [3, 4]);
        assert!(rec.series.is_empty());
        assert_eq!(rec.series_since, None);
        // A refresh writes what changed even while a series goes on.
        failed(&mut rec, &a, 600);
        failed(&mut rec, &a, 610);
        failed(&mut rec, &a, 620);
        rec.flush_series(&store, t(621), false);
        assert_eq!(series(&store), [2, 3, 4]);
        rec.flush_series(&store, t(621), true);
        assert_eq!(series(&store), [3, 3, 4]);
        assert_eq!(rec.series.len(), 1);
    }
}

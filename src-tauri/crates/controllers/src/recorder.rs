//! Events the way the real recorders write them.
//!
//! The kubelet uses the legacy core/v1 recorder: `source {component, host}`, first and last
//! timestamps, identical events aggregated by bumping `count` and `lastTimestamp` (kubectl
//! shows `(x4 over 2m)`), and a spam filter of 25 per identical event refilled at one per five
//! minutes (client-go `events_cache.go`). The scheduler uses the events.k8s.io recorder:
//! `eventTime`, no first/last timestamps, `reportingComponent`/`reportingInstance`, an
//! `action`, and repeats recorded in `series {count, lastObservedTime}` while they keep coming
//! within six minutes (client-go `tools/events`).

use std::collections::HashMap;
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
    series: HashMap<String, SeriesEntry>,
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
        let key = format!(
            "{component}\u{1}{host}\u{1}{}\u{1}{type_}\u{1}{reason}\u{1}{message}",
            regarding.key()
        );
        if !self.allow(&key, now) {
            return;
        }
        let ts = rfc3339(now);
        if let Some((ns, name)) = self.legacy.get(&key).cloned() {
            let bumped = store.update_with::<k8s_openapi::api::core::v1::Event>(&ns, &name, |e| {
                e.count = Some(e.count.unwrap_or(1) + 1);
                e.last_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now));
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
            "reportingComponent": component,
            "reportingInstance": host,
        });
        if store
            .create(&kinds::event::KIND, &ns, event, &WriteOptions::default())
            .is_ok()
        {
            self.legacy.insert(key, (ns, name));
        }
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
        let mut done = Vec::new();
        for (key, e) in &mut self.series {
            let idle =
                now.duration_since(e.last_observed).as_secs_f64() >= SERIES_WINDOW.as_secs_f64();
            if (refresh || idle)
                && e.count > 1
                && e.written != e.count
                && write_series(store, &e.namespace, &e.name, e.count, e.last_observed)
            {
                e.written = e.count;
            }
            if idle {
                done.push(key.clone());
            }
        }
        for k in done {
            self.series.remove(&k);
        }
    }

    /// Forget aggregation state for a pod that is gone (its events stay until they age out).
    pub(crate) fn forget(&mut self, uid: &str) {
        self.legacy.retain(|k, _| !k.contains(uid));
        self.spam.retain(|k, _| !k.contains(uid));
        self.series.retain(|k, _| !k.contains(uid));
    }
}

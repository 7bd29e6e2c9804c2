//! Reading core/v1 Events the way `kubectl describe` does.
//!
//! Kubelet events (legacy recorder) carry `count`, `firstTimestamp` and `lastTimestamp`;
//! scheduler events (events.k8s.io recorder) carry `eventTime` and, for repeats, `series`.
//! [`PodEvent`] flattens both into one shape, following kubectl's `printEvent` precedence:
//! `series` first, then `lastTimestamp`, then `firstTimestamp`, then `eventTime`.
//!
//! Events are matched to a pod by namespace, name **and uid**: a pod deleted and recreated with
//! the same name gets a new uid, and the old pod's `BackOff` events must not haunt the new one.
//!
//! [`event_rows`] is the events table in `kubectl describe`'s order. Describe sorts with
//! kubectl's `SortableEvents`, whose only key is the core/v1 `lastTimestamp` (not `eventTime`
//! or `series`): an event without one, such as the scheduler's `Scheduled` (events.k8s.io
//! recorder), counts as the zero time and comes first. Ties keep the order the events were
//! given in (the server's order), as Go's sort does for lists this short.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};

use serde::Serialize;
use ts_rs::TS;

/// One event about a pod, flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEvent {
    /// `Normal` or `Warning`.
    pub type_: String,
    pub reason: String,
    pub message: String,
    /// How many times it happened (`x4`).
    pub count: u32,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// The container from `involvedObject.fieldPath` (`spec.containers{web}`), if any.
    pub container: Option<String>,
    /// Whether `fieldPath` named an init container.
    pub init_container: bool,
}

/// The container named by a field path like `spec.containers{web}` or
/// `spec.initContainers{setup}`.
fn container_of(field_path: &str) -> Option<(String, bool)> {
    for (prefix, init) in [("spec.containers{", false), ("spec.initContainers{", true)] {
        if let Some(rest) = field_path.strip_prefix(prefix) {
            return rest.strip_suffix('}').map(|n| (n.to_owned(), init));
        }
    }
    None
}

impl PodEvent {
    /// Flattens a core/v1 Event.
    pub fn from_event(e: &Event) -> PodEvent {
        let series = e.series.as_ref();
        let count = series
            .and_then(|s| s.count)
            .or(e.count)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1)
            .max(1);
        let last_seen = series
            .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
            .or(e.last_timestamp.as_ref().map(|t| t.0))
            .or(e.first_timestamp.as_ref().map(|t| t.0))
            .or(e.event_time.as_ref().map(|t| t.0));
        let first_seen = e
            .first_timestamp
            .as_ref()
            .map(|t| t.0)
            .or(e.event_time.as_ref().map(|t| t.0))
            .or(last_seen);
        let (container, init_container) = e
            .involved_object
            .field_path
            .as_deref()
            .and_then(container_of)
            .map_or((None, false), |(c, init)| (Some(c), init));
        PodEvent {
            type_: e.type_.clone().unwrap_or_else(|| "Normal".into()),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count,
            first_seen,
            last_seen,
            container,
            init_container,
        }
    }
}

/// Whether `e` is about `pod` (same namespace and name, and the same uid when both have one).
pub fn is_about(e: &Event, pod: &Pod) -> bool {
    let o = &e.involved_object;
    if o.kind.as_deref().is_some_and(|k| k != "Pod") {
        return false;
    }
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let ev_ns = o
        .namespace
        .as_deref()
        .or(e.metadata.namespace.as_deref())
        .unwrap_or_default();
    if ev_ns != ns || o.name.as_deref() != pod.metadata.name.as_deref() {
        return false;
    }
    match (o.uid.as_deref(), pod.metadata.uid.as_deref()) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => a == b,
        _ => true,
    }
}

/// The events about `pod`, oldest first (by last seen, then first seen).
pub fn events_for(pod: &Pod, events: &[Event]) -> Vec<PodEvent> {
    let mut out: Vec<PodEvent> = events
        .iter()
        .filter(|e| is_about(e, pod))
        .map(PodEvent::from_event)
        .collect();
    out.sort_by_key(|e| (e.last_seen, e.first_seen));
    out
}

/// One row of the events timeline, as `kubectl describe`'s Events table shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EventRow {
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    /// How many times it happened; the UI shows `(x4 over 2m)` when it is above 1.
    pub count: u32,
    /// RFC 3339; the first and the latest occurrence.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// RFC 3339; the event's own core/v1 `lastTimestamp`, absent for events.k8s.io events (the
    /// scheduler's). `kubectl describe` sorts by this alone, missing ones first.
    pub last_timestamp: Option<String>,
    /// The FROM column: `kubelet`, `default-scheduler`.
    pub from: String,
    /// What it is about: `pod/web`.
    pub object: String,
    /// The container, for container events.
    pub container: Option<String>,
}

/// The events table as `kubectl describe` prints it, from `events` in the server's order:
/// sorted (stably) by `lastTimestamp` alone, events without one first.
pub fn event_rows(events: &[Event]) -> Vec<EventRow> {
    let mut rows: Vec<(Option<Timestamp>, EventRow)> = events
        .iter()
        .map(|e| {
            let flat = PodEvent::from_event(e);
            let from = e
                .source
                .as_ref()
                .and_then(|s| s.component.clone())
                .filter(|c| !c.is_empty())
                .or_else(|| e.reporting_component.clone().filter(|c| !c.is_empty()))
                .unwrap_or_default();
            let o = &e.involved_object;
            let object = format!(
                "{}/{}",
                o.kind.as_deref().unwrap_or("pod").to_ascii_lowercase(),
                o.name.as_deref().unwrap_or_default()
            );
            let sort_key = e.last_timestamp.as_ref().map(|t| t.0);
            let row = EventRow {
                type_: flat.type_,
                reason: flat.reason,
                message: flat.message,
                count: flat.count,
                first_seen: flat.first_seen.map(|t| t.to_string()),
                last_seen: flat.last_seen.map(|t| t.to_string()),
                last_timestamp: sort_key.map(|t| t.to_string()),
                from,
                object,
                container: flat.container,
            };
            (sort_key, row)
        })
        .collect();
    // `sort_by_key` is stable: equal times keep the server's order (Pulling before Pulled).
    rows.sort_by_key(|(key, _)| *key);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Query helpers over one pod's events.
#[derive(Debug, Clone, Copy)]
pub struct EventLog<'a> {
    pub events: &'a [PodEvent],
}

impl<'a> EventLog<'a> {
    /// The latest event matching `pred`.
    pub fn latest(&self, pred: impl Fn(&PodEvent) -> bool) -> Option<&'a PodEvent> {
        self.events.iter().rev().find(|e| pred(e))
    }

    /// The latest event for `container` with one of `reasons`.
    pub fn latest_for(&self, container: &str, reasons: &[&str]) -> Option<&'a PodEvent> {
        self.latest(|e| {
            e.container.as_deref() == Some(container) && reasons.contains(&e.reason.as_str())
        })
    }

    /// The latest pod-level event (no container) with one of `reasons`.
    pub fn latest_pod_level(&self, reasons: &[&str]) -> Option<&'a PodEvent> {
        self.latest(|e| e.container.is_none() && reasons.contains(&e.reason.as_str()))
    }
}

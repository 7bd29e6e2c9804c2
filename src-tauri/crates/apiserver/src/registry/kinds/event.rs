//! Events (core/v1): the field selectors `kubectl describe` and `kubectl events --for` use, and
//! kubectl's `printEvent()` columns (LAST SEEN falls back from lastTimestamp to firstTimestamp
//! to eventTime; a series overrides count and last seen).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use serde_json::{Value, json};

use super::{Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, col, typed};
use crate::strict::DecodeError;

/// The events resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    short_names: &["ev"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &EventHooks,
};

/// Server-side behaviour of events.
pub struct EventHooks;

static COLUMNS: &[Column] = &[
    col(
        "Last Seen",
        "string",
        "The time at which the most recent occurrence of this event was recorded.",
        0,
    ),
    col(
        "Type",
        "string",
        "Type of this event (Normal, Warning), new types could be added in the future",
        0,
    ),
    col(
        "Reason",
        "string",
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        0,
    ),
    col(
        "Object",
        "string",
        "The object that this event is about.",
        0,
    ),
    col(
        "Subobject",
        "string",
        "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
        1,
    ),
    col(
        "Source",
        "string",
        "The component reporting this event. Should be a short machine understandable string.",
        1,
    ),
    col(
        "Message",
        "string",
        "A human-readable description of the status of this operation.",
        0,
    ),
    col(
        "First Seen",
        "string",
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
        1,
    ),
    col(
        "Count",
        "string",
        "The number of times this event has occurred.",
        1,
    ),
    super::Column {
        name: "Name",
        ty: "string",
        format: "name",
        description: super::NAME_DESC,
        priority: 1,
    },
];

impl KindHooks for EventHooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Event>(value, "Event")
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        let s = |p: &str| super::str_at(obj, p).to_string();
        Some(match field {
            "involvedObject.kind" => s("/involvedObject/kind"),
            "involvedObject.namespace" => s("/involvedObject/namespace"),
            "involvedObject.name" => s("/involvedObject/name"),
            "involvedObject.uid" => s("/involvedObject/uid"),
            "involvedObject.apiVersion" => s("/involvedObject/apiVersion"),
            "involvedObject.resourceVersion" => s("/involvedObject/resourceVersion"),
            "involvedObject.fieldPath" => s("/involvedObject/fieldPath"),
            "reason" => s("/reason"),
            "reportingComponent" => s("/reportingComponent"),
            "source" => s("/source/component"),
            "type" => s("/type"),
            _ => return None,
        })
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let ev: Event = typed(obj);
        let since = |t: Option<Timestamp>| {
            t.map_or_else(
                || "<unknown>".to_string(),
                |t| kq_kube::duration::since(t, now),
            )
        };
        let first = match &ev.first_timestamp {
            Some(t) => since(Some(t.0)),
            None => since(ev.event_time.as_ref().map(|t| t.0)),
        };
        let mut last = match &ev.last_timestamp {
            Some(t) => since(Some(t.0)),
            None => first.clone(),
        };
        let mut count = ev.count.unwrap_or(0);
        if let Some(series) = &ev.series {
            last = since(series.last_observed_time.as_ref().map(|t| t.0));
            count = series.count.unwrap_or(0);
        } else if count == 0 {
            count = 1;
        }
        let obj_ref = &ev.involved_object;
        let kind = obj_ref.kind.clone().unwrap_or_default().to_lowercase();
        let target = match obj_ref.name.as_deref().filter(|n| !n.is_empty()) {
            Some(n) => format!("{kind}/{n}"),
            None => kind,
        };
        let source = ev.source.clone().unwrap_or_default();
        let component = source
            .component
            .filter(|s| !s.is_empty())
            .or(ev.reporting_component.clone())
            .unwrap_or_default();
        let host = source
            .host
            .filter(|s| !s.is_empty())
            .or(ev.reporting_instance.clone())
            .unwrap_or_default();
        let source = if host.is_empty() {
            component
        } else {
            format!("{component}, {host}")
        };
        vec![
            json!(last),
            json!(ev.type_.unwrap_or_default()),
            json!(ev.reason.unwrap_or_default()),
            json!(target),
            json!(obj_ref.field_path.clone().unwrap_or_default()),
            json!(source),
            json!(ev.message.unwrap_or_default().trim()),
            json!(first),
            json!(count),
            json!(ev.metadata.name.unwrap_or_default()),
        ]
    }
}

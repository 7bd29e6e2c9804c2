//! The namespace objects the graph shows beside the workloads: what pods use (ConfigMaps,
//! Secrets, claims, ServiceAccounts), what limits them (ResourceQuotas, LimitRanges) and the
//! CronJobs that start Jobs.
//!
//! They come through the `kube` client's watchers like the pods. A kind the learner's
//! credentials cannot read (`403`) is *unknown*, not empty: the graph then leaves it out instead
//! of calling every reference to it missing, and the session goes on. Until a kind's first list
//! arrives it is unknown too, so a ConfigMap is never shown missing just because its list is
//! still on its way.
//!
//! Secrets are kept as their metadata and the **names** of their keys; the values are dropped
//! as soon as the watch delivers them.

use std::collections::BTreeMap;

use futures::{Stream, StreamExt, future};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, PersistentVolumeClaim, ResourceQuota, Secret, ServiceAccount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};

use crate::connect::{ConnectError, classify_watcher_error};
use crate::pipeline::{TrackerInput, WatchInput};

/// The kinds kept here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    ConfigMap,
    Secret,
    PersistentVolumeClaim,
    ServiceAccount,
    ResourceQuota,
    LimitRange,
    CronJob,
}

/// A Secret without its values: its metadata, its type and the names of its keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretKeys {
    pub metadata: ObjectMeta,
    /// `Opaque`, `kubernetes.io/dockerconfigjson`, …
    pub type_: Option<String>,
    /// The names under `data`, sorted.
    pub keys: Vec<String>,
}

impl SecretKeys {
    /// Keeps what the graph may show of a Secret and drops the values.
    pub fn from_secret(s: Secret) -> SecretKeys {
        let mut keys: Vec<String> = s.data.unwrap_or_default().into_keys().collect();
        keys.extend(s.string_data.unwrap_or_default().into_keys());
        keys.sort();
        keys.dedup();
        SecretKeys {
            metadata: s.metadata,
            type_: s.type_,
            keys,
        }
    }
}

/// One object of a kept kind.
// Moved once from the watch into the store; boxing the common kinds would cost an allocation
// per watch event for nothing (the one much larger kind, CronJob, is boxed).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum NsObject {
    ConfigMap(ConfigMap),
    Secret(SecretKeys),
    PersistentVolumeClaim(PersistentVolumeClaim),
    ServiceAccount(ServiceAccount),
    ResourceQuota(ResourceQuota),
    LimitRange(LimitRange),
    CronJob(Box<CronJob>),
}

impl NsObject {
    /// Its kind.
    pub fn kind(&self) -> ObjectKind {
        match self {
            NsObject::ConfigMap(_) => ObjectKind::ConfigMap,
            NsObject::Secret(_) => ObjectKind::Secret,
            NsObject::PersistentVolumeClaim(_) => ObjectKind::PersistentVolumeClaim,
            NsObject::ServiceAccount(_) => ObjectKind::ServiceAccount,
            NsObject::ResourceQuota(_) => ObjectKind::ResourceQuota,
            NsObject::LimitRange(_) => ObjectKind::LimitRange,
            NsObject::CronJob(_) => ObjectKind::CronJob,
        }
    }

    /// Its metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            NsObject::ConfigMap(o) => &o.metadata,
            NsObject::Secret(o) => &o.metadata,
            NsObject::PersistentVolumeClaim(o) => &o.metadata,
            NsObject::ServiceAccount(o) => &o.metadata,
            NsObject::ResourceQuota(o) => &o.metadata,
            NsObject::LimitRange(o) => &o.metadata,
            NsObject::CronJob(o) => &o.metadata,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }
}

/// One change to the kept objects.
#[derive(Debug, Clone)]
pub enum ObjectInput {
    Applied(NsObject),
    Deleted(NsObject),
    /// Every object of one kind (after a watch (re)start).
    Listed(ObjectKind, Vec<NsObject>),
    /// The kind cannot be read with these credentials: forget it.
    Unreadable(ObjectKind),
}

/// Whether a referenced object exists, as far as the watches know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a, T> {
    Found(&'a T),
    /// The kind is known and has no object by that name.
    Missing,
    /// The kind is not readable (or its list has not arrived yet).
    Unknown,
}

/// The kept objects of one namespace, by kind then name; a kind absent from the map is
/// unknown.
#[derive(Debug, Clone, Default)]
pub struct NamespaceObjects {
    kinds: BTreeMap<ObjectKind, BTreeMap<String, NsObject>>,
}

impl NamespaceObjects {
    /// Apply one change.
    pub fn apply(&mut self, input: ObjectInput) {
        match input {
            ObjectInput::Applied(o) => {
                // A change before the first list: the kind is readable, the rest comes later.
                self.kinds
                    .entry(o.kind())
                    .or_default()
                    .insert(o.name().to_owned(), o);
            }
            ObjectInput::Deleted(o) => {
                if let Some(m) = self.kinds.get_mut(&o.kind()) {
                    m.remove(o.name());
                }
            }
            ObjectInput::Listed(kind, list) => {
                let map = list
                    .into_iter()
                    .filter(|o| o.kind() == kind)
                    .map(|o| (o.name().to_owned(), o))
                    .collect();
                self.kinds.insert(kind, map);
            }
            ObjectInput::Unreadable(kind) => {
                self.kinds.remove(&kind);
            }
        }
    }

    /// Whether the kind's objects are known.
    pub fn known(&self, kind: ObjectKind) -> bool {
        self.kinds.contains_key(&kind)
    }

    /// The objects of one kind by name, if the kind is known.
    pub fn of(&self, kind: ObjectKind) -> Option<impl Iterator<Item = &NsObject>> {
        self.kinds.get(&kind).map(|m| m.values())
    }

    /// Looks one object up.
    pub fn lookup(&self, kind: ObjectKind, name: &str) -> Lookup<'_, NsObject> {
        match self.kinds.get(&kind) {
            None => Lookup::Unknown,
            Some(m) => m.get(name).map_or(Lookup::Missing, Lookup::Found),
        }
    }
}

/// One kind's watcher stream as tracker inputs: a `401`/`403` ends it with
/// [`ObjectInput::Unreadable`], any other failure is skipped (the watcher retries with
/// kube-runtime's back-off, and the pod watch reports connection problems to the session).
pub fn object_inputs<K, S>(
    kind: ObjectKind,
    wrap: fn(K) -> NsObject,
    stream: S,
) -> impl Stream<Item = WatchInput>
where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    stream
        .scan(
            (None::<Vec<NsObject>>, false),
            move |(buffer, done), item| {
                if *done {
                    return future::ready(None);
                }
                let out = match item {
                    Ok(watcher::Event::Init) => {
                        *buffer = Some(Vec::new());
                        None
                    }
                    Ok(watcher::Event::InitApply(o)) => {
                        buffer.get_or_insert_with(Vec::new).push(wrap(o));
                        None
                    }
                    Ok(watcher::Event::InitDone) => {
                        Some(ObjectInput::Listed(kind, buffer.take().unwrap_or_default()))
                    }
                    Ok(watcher::Event::Apply(o)) => Some(ObjectInput::Applied(wrap(o))),
                    Ok(watcher::Event::Delete(o)) => Some(ObjectInput::Deleted(wrap(o))),
                    Err(e) => match classify_watcher_error(&e) {
                        ConnectError::Forbidden { .. } | ConnectError::Unauthorized { .. } => {
                            *done = true;
                            Some(ObjectInput::Unreadable(kind))
                        }
                        _ => None,
                    },
                };
                future::ready(Some(
                    out.map(|i| WatchInput::Input(TrackerInput::Objects(i))),
                ))
            },
        )
        .filter_map(future::ready)
}

/// Watches one kind of `namespace` (see [`object_inputs`]).
fn watch_kind<K>(
    api: kube::Api<K>,
    kind: ObjectKind,
    wrap: fn(K) -> NsObject,
) -> impl Stream<Item = WatchInput> + Send + 'static
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
{
    object_inputs(
        kind,
        wrap,
        watcher(api, watcher::Config::default()).default_backoff(),
    )
}

/// Watches the ConfigMaps, Secrets, claims, ServiceAccounts, quotas, limit ranges and CronJobs
/// of `namespace` through `client`.
pub fn watch_objects(
    client: kube::Client,
    namespace: &str,
) -> impl Stream<Item = WatchInput> + Send + 'static {
    let api = |c: &kube::Client| c.clone();
    futures::stream::select_all([
        watch_kind(
            kube::Api::<ConfigMap>::namespaced(api(&client), namespace),
            ObjectKind::ConfigMap,
            NsObject::ConfigMap,
        )
        .boxed(),
        watch_kind(
            kube::Api::<Secret>::namespaced(api(&client), namespace),
            ObjectKind::Secret,
            |s| NsObject::Secret(SecretKeys::from_secret(s)),
        )
        .boxed(),
        watch_kind(
            kube::Api::<PersistentVolumeClaim>::namespaced(api(&client), namespace),
            ObjectKind::PersistentVolumeClaim,
            NsObject::PersistentVolumeClaim,
        )
        .boxed(),
        watch_kind(
            kube::Api::<ServiceAccount>::namespaced(api(&client), namespace),
            ObjectKind::ServiceAccount,
            NsObject::ServiceAccount,
        )
        .boxed(),
        watch_kind(
            kube::Api::<ResourceQuota>::namespaced(api(&client), namespace),
            ObjectKind::ResourceQuota,
            NsObject::ResourceQuota,
        )
        .boxed(),
        watch_kind(
            kube::Api::<LimitRange>::namespaced(api(&client), namespace),
            ObjectKind::LimitRange,
            NsObject::LimitRange,
        )
        .boxed(),
        watch_kind(
            kube::Api::<CronJob>::namespaced(client, namespace),
            ObjectKind::CronJob,
            |c| NsObject::CronJob(Box::new(c)),
        )
        .boxed(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str) -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name}})).expect("valid")
    }

    fn forbidden() -> watcher::Error {
        watcher::Error::InitialListFailed(kube::Error::Api(
            serde_json::from_value(json!({
                "status": "Failure",
                "message": "configmaps is forbidden: User \"learner\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"kq-x\"",
                "reason": "Forbidden",
                "code": 403
            }))
            .expect("a Status"),
        ))
    }

    fn inputs(items: Vec<Result<watcher::Event<ConfigMap>, watcher::Error>>) -> Vec<ObjectInput> {
        let stream = object_inputs(
            ObjectKind::ConfigMap,
            NsObject::ConfigMap,
            futures::stream::iter(items),
        );
        futures::executor::block_on(stream.collect::<Vec<_>>())
            .into_iter()
            .map(|w| match w {
                WatchInput::Input(TrackerInput::Objects(i)) => i,
                other => panic!("only object inputs: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_list_then_changes_are_known_and_a_refused_kind_becomes_unknown_and_ends_its_watch() {
        let got = inputs(vec![
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(cm("a"))),
            Ok(watcher::Event::InitDone),
            Ok(watcher::Event::Apply(cm("b"))),
            Err(forbidden()),
            // Never read: the watch ended.
            Ok(watcher::Event::Apply(cm("c"))),
        ]);
        let mut objects = NamespaceObjects::default();
        let mut states = Vec::new();
        for i in got {
            objects.apply(i);
            states.push((
                objects.known(ObjectKind::ConfigMap),
                matches!(objects.lookup(ObjectKind::ConfigMap, "b"), Lookup::Found(_)),
            ));
        }
        assert_eq!(states, [(true, false), (true, true), (false, false)]);
        assert!(matches!(
            objects.lookup(ObjectKind::ConfigMap, "a"),
            Lookup::Unknown
        ));
    }

    #[test]
    fn a_secret_keeps_its_key_names_and_drops_its_values() {
        let s: Secret = serde_json::from_value(json!({
            "metadata": {"name": "db"},
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"user": "admin"}
        }))
        .expect("valid");
        let k = SecretKeys::from_secret(s);
        assert_eq!(k.keys, ["password", "user"]);
        assert!(!format!("{k:?}").contains("aHVudGVyMg"));
    }
}

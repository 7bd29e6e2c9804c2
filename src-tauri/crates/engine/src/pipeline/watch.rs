//! The thin adapter from `kube::runtime::watcher` streams to [`TrackerInput`]s.
//!
//! [`watch_namespace`] watches the pods and the events of one namespace (the mission's
//! `kq-<id>`) with kube-runtime's watcher and its default back-off, and
//! [`merge_watch_streams`] turns the two watcher streams into one stream of tracker inputs:
//!
//! - pod `Init … InitApply … InitDone` (a list after a (re)start) is buffered into one
//!   [`TrackerInput::PodsListed`], so pods deleted while the watch was down disappear;
//! - pod `Apply`/`Delete` become `PodApplied`/`PodDeleted`;
//! - events are applied as they come (a relist only re-applies them, which is harmless);
//! - watcher errors become [`WatchInput::Failed`] with a [`ConnectError`] the UI can show while
//!   the watcher retries on its own.
//!
//! `merge_watch_streams` takes any streams, so it is tested with fed streams; no cluster needed.
//!
//! [`watch_workloads`] adds the namespace's Deployments, ReplicaSets, StatefulSets, DaemonSets
//! and Jobs (each its own watcher, merged), which own the pods the rail shows; a workload list
//! after a (re)start becomes one [`TrackerInput::WorkloadsListed`] per kind, like the pods'.

use futures::{Stream, StreamExt, future};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::runtime::watcher::{self, watcher};

use super::TrackerInput;
use super::workload::{WorkloadKind, WorkloadObject};
use crate::connect::{ConnectError, classify_watcher_error};

/// One item of the merged stream.
// Items are moved once from the stream into the tracker; boxing every pod would cost an
// allocation per watch event for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum WatchInput {
    /// Feed this to [`super::PipelineTracker::apply`].
    Input(TrackerInput),
    /// A watch failed; kube-runtime retries with back-off, the UI shows the error meanwhile.
    Failed {
        /// `pods`, `events`, or a workload's plural (`deployments`).
        stream: &'static str,
        error: ConnectError,
    },
}

fn pod_inputs<S>(pods: S) -> impl Stream<Item = WatchInput>
where
    S: Stream<Item = Result<watcher::Event<Pod>, watcher::Error>>,
{
    pods.scan(None::<Vec<Pod>>, |buffer, item| {
        let out = match item {
            Ok(watcher::Event::Init) => {
                *buffer = Some(Vec::new());
                None
            }
            Ok(watcher::Event::InitApply(pod)) => {
                buffer.get_or_insert_with(Vec::new).push(pod);
                None
            }
            Ok(watcher::Event::InitDone) => Some(WatchInput::Input(TrackerInput::PodsListed(
                buffer.take().unwrap_or_default(),
            ))),
            Ok(watcher::Event::Apply(pod)) => {
                Some(WatchInput::Input(TrackerInput::PodApplied(pod)))
            }
            Ok(watcher::Event::Delete(pod)) => {
                Some(WatchInput::Input(TrackerInput::PodDeleted(pod)))
            }
            Err(e) => Some(WatchInput::Failed {
                stream: "pods",
                error: classify_watcher_error(&e),
            }),
        };
        future::ready(Some(out))
    })
    .filter_map(future::ready)
}

fn event_inputs<S>(events: S) -> impl Stream<Item = WatchInput>
where
    S: Stream<Item = Result<watcher::Event<Event>, watcher::Error>>,
{
    events.filter_map(|item| {
        future::ready(match item {
            Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => {
                Some(WatchInput::Input(TrackerInput::EventApplied(e)))
            }
            Ok(watcher::Event::Delete(e)) => Some(WatchInput::Input(TrackerInput::EventDeleted(e))),
            Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
            Err(e) => Some(WatchInput::Failed {
                stream: "events",
                error: classify_watcher_error(&e),
            }),
        })
    })
}

/// Merges a pod watcher stream and an event watcher stream into tracker inputs.
pub fn merge_watch_streams<P, E>(pods: P, events: E) -> impl Stream<Item = WatchInput>
where
    P: Stream<Item = Result<watcher::Event<Pod>, watcher::Error>>,
    E: Stream<Item = Result<watcher::Event<Event>, watcher::Error>>,
{
    futures::stream::select(pod_inputs(pods), event_inputs(events))
}

/// Watches the pods and events of `namespace` through `client`.
pub fn watch_namespace(
    client: kube::Client,
    namespace: &str,
) -> impl Stream<Item = WatchInput> + Send + 'static {
    use kube::runtime::WatchStreamExt;
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), namespace);
    let events: kube::Api<Event> = kube::Api::namespaced(client, namespace);
    let pods = watcher(pods, watcher::Config::default()).default_backoff();
    let events = watcher(events, watcher::Config::default()).default_backoff();
    merge_watch_streams(pods, events)
}

/// Turns one kind's watcher stream into tracker inputs: a list after a (re)start becomes one
/// `listed` input, each later change one `applied` or `deleted`. An expired watch (`410 Gone`)
/// is skipped: the watcher re-lists by itself. Any other failure is reported on
/// `stream_name`.
pub(crate) fn tracker_inputs<K, S>(
    stream_name: &'static str,
    applied: impl Fn(K) -> TrackerInput,
    deleted: impl Fn(K) -> TrackerInput,
    listed: impl Fn(Vec<K>) -> TrackerInput,
    stream: S,
) -> impl Stream<Item = WatchInput>
where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    stream
        .scan(None::<Vec<K>>, move |buffer, item| {
            let out = match item {
                Ok(watcher::Event::Init) => {
                    *buffer = Some(Vec::new());
                    None
                }
                Ok(watcher::Event::InitApply(o)) => {
                    buffer.get_or_insert_with(Vec::new).push(o);
                    None
                }
                Ok(watcher::Event::InitDone) => {
                    Some(WatchInput::Input(listed(buffer.take().unwrap_or_default())))
                }
                Ok(watcher::Event::Apply(o)) => Some(WatchInput::Input(applied(o))),
                Ok(watcher::Event::Delete(o)) => Some(WatchInput::Input(deleted(o))),
                Err(watcher::Error::WatchError(s)) if s.code == 410 => None,
                Err(e) => Some(WatchInput::Failed {
                    stream: stream_name,
                    error: classify_watcher_error(&e),
                }),
            };
            future::ready(Some(out))
        })
        .filter_map(future::ready)
}

/// Turns one workload kind's watcher stream into tracker inputs (a list after a (re)start
/// becomes one [`TrackerInput::WorkloadsListed`]).
pub fn workload_inputs<K, S>(
    kind: WorkloadKind,
    stream_name: &'static str,
    wrap: fn(K) -> WorkloadObject,
    stream: S,
) -> impl Stream<Item = WatchInput>
where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    tracker_inputs(
        stream_name,
        move |o| TrackerInput::WorkloadApplied(wrap(o)),
        move |o| TrackerInput::WorkloadDeleted(wrap(o)),
        move |list: Vec<K>| {
            TrackerInput::WorkloadsListed(kind, list.into_iter().map(wrap).collect())
        },
        stream,
    )
}

/// Watches the workloads of `namespace` (Deployments, ReplicaSets, StatefulSets, DaemonSets,
/// Jobs) through `client`, without kube-runtime's back-off: the caller decides how to wait
/// after a failure, as for the pods.
pub fn watch_workloads(
    client: kube::Client,
    namespace: &str,
) -> impl Stream<Item = WatchInput> + Send + 'static {
    let config = watcher::Config::default;
    let deployments = workload_inputs(
        WorkloadKind::Deployment,
        "deployments",
        WorkloadObject::Deployment,
        watcher(
            kube::Api::<Deployment>::namespaced(client.clone(), namespace),
            config(),
        ),
    );
    let replica_sets = workload_inputs(
        WorkloadKind::ReplicaSet,
        "replicasets",
        WorkloadObject::ReplicaSet,
        watcher(
            kube::Api::<ReplicaSet>::namespaced(client.clone(), namespace),
            config(),
        ),
    );
    let stateful_sets = workload_inputs(
        WorkloadKind::StatefulSet,
        "statefulsets",
        WorkloadObject::StatefulSet,
        watcher(
            kube::Api::<StatefulSet>::namespaced(client.clone(), namespace),
            config(),
        ),
    );
    let daemon_sets = workload_inputs(
        WorkloadKind::DaemonSet,
        "daemonsets",
        WorkloadObject::DaemonSet,
        watcher(
            kube::Api::<DaemonSet>::namespaced(client.clone(), namespace),
            config(),
        ),
    );
    let jobs = workload_inputs(
        WorkloadKind::Job,
        "jobs",
        WorkloadObject::Job,
        watcher(kube::Api::<Job>::namespaced(client, namespace), config()),
    );
    futures::stream::select_all([
        deployments.boxed(),
        replica_sets.boxed(),
        stateful_sets.boxed(),
        daemon_sets.boxed(),
        jobs.boxed(),
    ])
}

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

use futures::{Stream, StreamExt, future};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::runtime::watcher::{self, watcher};

use super::TrackerInput;
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
        /// `pods` or `events`.
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

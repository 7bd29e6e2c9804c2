//! The mission namespace's Services and EndpointSlices, as the session watches them for the
//! `service-endpoints` objective (and anything else that asks which pods a Service routes to).
//!
//! Both come through the `kube` client's watchers, so the objective reads the same thing on
//! the embedded cluster and on a real one: the EndpointSlices the EndpointSlice controller
//! writes, never the engine's own idea of which pods should be behind a Service. A list after
//! a (re)start replaces what was known, as for pods.

use std::collections::BTreeMap;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher::{self, watcher};

use super::TrackerInput;
use super::watch::WatchInput;

/// One change to the namespace's Services or EndpointSlices.
#[derive(Debug, Clone)]
pub enum ServiceInput {
    /// A Service was created or changed.
    ServiceApplied(Service),
    /// A Service is gone.
    ServiceDeleted(Service),
    /// Every Service (after a watch (re)start).
    ServicesListed(Vec<Service>),
    /// An EndpointSlice was created or changed.
    SliceApplied(EndpointSlice),
    /// An EndpointSlice is gone.
    SliceDeleted(EndpointSlice),
    /// Every EndpointSlice (after a watch (re)start).
    SlicesListed(Vec<EndpointSlice>),
}

/// The last known Services and EndpointSlices of one namespace, by name.
#[derive(Debug, Default, Clone)]
pub struct ServiceObjects {
    services: BTreeMap<String, Service>,
    slices: BTreeMap<String, EndpointSlice>,
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

impl ServiceObjects {
    /// Apply one change.
    pub fn apply(&mut self, input: ServiceInput) {
        match input {
            ServiceInput::ServiceApplied(s) => {
                self.services.insert(name_of(&s.metadata), s);
            }
            ServiceInput::ServiceDeleted(s) => {
                self.services.remove(&name_of(&s.metadata));
            }
            ServiceInput::ServicesListed(list) => {
                self.services = list
                    .into_iter()
                    .map(|s| (name_of(&s.metadata), s))
                    .collect();
            }
            ServiceInput::SliceApplied(s) => {
                self.slices.insert(name_of(&s.metadata), s);
            }
            ServiceInput::SliceDeleted(s) => {
                self.slices.remove(&name_of(&s.metadata));
            }
            ServiceInput::SlicesListed(list) => {
                self.slices = list
                    .into_iter()
                    .map(|s| (name_of(&s.metadata), s))
                    .collect();
            }
        }
    }

    /// The Service named `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.get(name)
    }

    /// The EndpointSlices, by name, without copying them.
    pub fn slices_iter(&self) -> impl Iterator<Item = &EndpointSlice> {
        self.slices.values()
    }

    /// The Services, by name.
    pub fn services(&self) -> Vec<Service> {
        self.services.values().cloned().collect()
    }

    /// The EndpointSlices, by name.
    pub fn slices(&self) -> Vec<EndpointSlice> {
        self.slices.values().cloned().collect()
    }
}

/// One kind's watcher stream as the services tracker's inputs.
fn inputs<K, S>(
    stream_name: &'static str,
    applied: fn(K) -> ServiceInput,
    deleted: fn(K) -> ServiceInput,
    listed: fn(Vec<K>) -> ServiceInput,
    stream: S,
) -> impl Stream<Item = WatchInput>
where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    super::watch::tracker_inputs(
        stream_name,
        move |o| TrackerInput::Services(applied(o)),
        move |o| TrackerInput::Services(deleted(o)),
        move |list| TrackerInput::Services(listed(list)),
        stream,
    )
}

/// Watches the Services and EndpointSlices of `namespace` through `client`, without
/// kube-runtime's back-off (the session decides how to wait, as for the pods).
pub fn watch_services(
    client: kube::Client,
    namespace: &str,
) -> impl Stream<Item = WatchInput> + Send + 'static {
    let services = inputs(
        "services",
        ServiceInput::ServiceApplied,
        ServiceInput::ServiceDeleted,
        ServiceInput::ServicesListed,
        watcher(
            kube::Api::<Service>::namespaced(client.clone(), namespace),
            watcher::Config::default(),
        ),
    );
    let slices = inputs(
        "endpointslices",
        ServiceInput::SliceApplied,
        ServiceInput::SliceDeleted,
        ServiceInput::SlicesListed,
        watcher(
            kube::Api::<EndpointSlice>::namespaced(client, namespace),
            watcher::Config::default(),
        ),
    );
    futures::stream::select(services.boxed(), slices.boxed())
}

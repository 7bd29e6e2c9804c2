//! The watches that feed a runner: one subscription per resource its controllers watch, as
//! client-go's shared informer factory starts one informer per resource however many
//! controllers listen to it.
//!
//! A resource is named as controllers name it in [`crate::Controller::watches`]: its plural
//! for the core group (`pods`), `group/plural` otherwise (`apps/deployments`).

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Change, ChangeType, Runner};
use crate::store::{EventType, Store, WatchEvent, WatchStart};

/// The served kind a resource name (`pods`, `apps/deployments`) stands for.
pub(crate) fn kind_of(resource: &str) -> Option<&'static ResourceKind> {
    let (group, plural) = resource.split_once('/').unwrap_or(("", resource));
    kinds::ALL
        .iter()
        .copied()
        .find(|k| k.group == group && k.plural == plural)
}

/// A store watch event's type as the runtime knows it.
fn change_type(kind: EventType) -> ChangeType {
    match kind {
        EventType::Added => ChangeType::Added,
        EventType::Deleted => ChangeType::Deleted,
        _ => ChangeType::Modified,
    }
}

/// One watch per resource, from the store's current resourceVersion on.
pub(crate) struct Informers {
    watches: Vec<(&'static str, broadcast::Receiver<WatchEvent>)>,
    /// Whether a watch fell behind since the last [`Informers::take_lagged`].
    lagged: bool,
}

impl Informers {
    /// Watch each of `resources` (in this order) from now on.
    ///
    /// # Panics
    /// If a resource is not served: controllers only watch kinds the API server has.
    pub(crate) fn start(store: &Store, resources: &[&'static str]) -> Self {
        let rv = store.resource_version();
        let watches = resources
            .iter()
            .map(|&resource| {
                let sub = kind_of(resource)
                    .and_then(|kind| store.subscribe(kind, WatchStart::After(rv)).ok());
                let Some(sub) = sub else {
                    panic!("a controller watches {resource}, which the API server does not serve")
                };
                (resource, sub.rx)
            })
            .collect();
        Informers {
            watches,
            lagged: false,
        }
    }

    /// Hand every event waiting on each watch, resource by resource, to `each`; returns
    /// whether there was any.
    pub(crate) fn drain(&mut self, mut each: impl FnMut(&'static str, WatchEvent)) -> bool {
        let mut any = false;
        for (resource, rx) in &mut self.watches {
            loop {
                match rx.try_recv() {
                    Ok(ev) => {
                        any = true;
                        each(resource, ev);
                    }
                    Err(broadcast::error::TryRecvError::Lagged(_)) => self.lagged = true,
                    Err(_) => break,
                }
            }
        }
        any
    }

    /// Whether a watch fell behind (events were lost, so everything must be looked at again);
    /// asking clears it.
    pub(crate) fn take_lagged(&mut self) -> bool {
        std::mem::take(&mut self.lagged)
    }

    /// Wait until some watch has an event (or fell behind); returns false once a watch is
    /// closed (the store shut down). The event is taken, so a driver that drains its runner's
    /// informers synchronously waits on a second set of its own.
    pub(crate) async fn changed(&mut self) -> bool {
        if self.watches.is_empty() {
            return std::future::pending().await;
        }
        let waits = self.watches.iter_mut().map(|(_, rx)| Box::pin(rx.recv()));
        let (result, _, _) = futures::future::select_all(waits).await;
        !matches!(result, Err(broadcast::error::RecvError::Closed))
    }
}

/// Hand a watch event of type `kind` on `resource` to `runner` as a change.
pub(crate) fn observe<C>(
    runner: &mut Runner<C>,
    resource: &'static str,
    kind: EventType,
    object: &Value,
    now: Timestamp,
    ctx: &mut C,
) {
    let change = Change {
        resource,
        change: change_type(kind),
        object,
    };
    runner.observe(&change, now, ctx);
}

//! The the garbage collector: owner references and deletion propagation (`pkg/controller/garbagecollector`).
//! Scaffolding: filled in by the workloads work.

use jiff::Timestamp;

use crate::reconciler::{Action, Controller, Enqueue};
use crate::shared::Shared;

/// The garbagecollector controller.
#[derive(Debug, Default)]
pub(crate) struct GarbageCollector;

impl Controller<Shared> for GarbageCollector {
    fn name(&self) -> &'static str {
        "garbagecollector"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["pods"]
    }

    fn reconcile(
        &mut self,
        _key: &str,
        _now: Timestamp,
        _ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        Ok(Action::await_change())
    }
}

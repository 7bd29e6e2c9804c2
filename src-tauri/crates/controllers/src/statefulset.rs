//! The StatefulSet → ordinal Pods (`pkg/controller/statefulset`).
//! Scaffolding: filled in by the workloads work.

use jiff::Timestamp;

use crate::reconciler::{Action, Controller, Enqueue};
use crate::shared::Shared;

/// The statefulset controller.
#[derive(Debug, Default)]
pub(crate) struct StatefulSetController;

impl Controller<Shared> for StatefulSetController {
    fn name(&self) -> &'static str {
        "statefulset"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/statefulsets", "pods"]
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

//! The ReplicaSet → Pods (`pkg/controller/replicaset`).
//! Scaffolding: filled in by the workloads work.

use jiff::Timestamp;

use crate::reconciler::{Action, Controller, Enqueue};
use crate::shared::Shared;

/// The replicaset controller.
#[derive(Debug, Default)]
pub(crate) struct ReplicaSetController;

impl Controller<Shared> for ReplicaSetController {
    fn name(&self) -> &'static str {
        "replicaset"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/replicasets", "pods"]
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

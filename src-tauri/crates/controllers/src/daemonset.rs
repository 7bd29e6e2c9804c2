//! The DaemonSet → one Pod per eligible node (`pkg/controller/daemon`).
//! Scaffolding: filled in by the workloads work.

use jiff::Timestamp;

use crate::reconciler::{Action, Controller, Enqueue};
use crate::shared::Shared;

/// The daemonset controller.
#[derive(Debug, Default)]
pub(crate) struct DaemonSetController;

impl Controller<Shared> for DaemonSetController {
    fn name(&self) -> &'static str {
        "daemonset"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/daemonsets", "pods", "nodes"]
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

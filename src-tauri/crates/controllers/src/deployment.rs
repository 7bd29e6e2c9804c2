//! The Deployment → ReplicaSet rollouts (`pkg/controller/deployment`).
//! Scaffolding: filled in by the workloads work.

use jiff::Timestamp;

use crate::reconciler::{Action, Controller, Enqueue};
use crate::shared::Shared;

/// The deployment controller.
#[derive(Debug, Default)]
pub(crate) struct DeploymentController;

impl Controller<Shared> for DeploymentController {
    fn name(&self) -> &'static str {
        "deployment"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/deployments", "apps/replicasets", "pods"]
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

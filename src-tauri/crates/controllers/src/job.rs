//! The Job → Pods to completion (`pkg/controller/job`).
//! Scaffolding: filled in by the workloads work.

use jiff::Timestamp;

use crate::reconciler::{Action, Controller, Enqueue};
use crate::shared::Shared;

/// The job controller.
#[derive(Debug, Default)]
pub(crate) struct JobController;

impl Controller<Shared> for JobController {
    fn name(&self) -> &'static str {
        "job"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["batch/jobs", "pods"]
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

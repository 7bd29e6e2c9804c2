//! The CronJob → Jobs on the virtual clock (`pkg/controller/cronjob`).
//! Scaffolding: filled in by the workloads work.

use jiff::Timestamp;

use crate::reconciler::{Action, Controller, Enqueue};
use crate::shared::Shared;

/// The cronjob controller.
#[derive(Debug, Default)]
pub(crate) struct CronJobController;

impl Controller<Shared> for CronJobController {
    fn name(&self) -> &'static str {
        "cronjob"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["batch/cronjobs", "batch/jobs"]
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

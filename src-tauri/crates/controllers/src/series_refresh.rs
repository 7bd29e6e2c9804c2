//! The events.k8s.io recorder's periodic refresh as a controller on the node side's runner:
//! cached series counts reach the API server every 30 minutes (client-go `tools/events`,
//! `eventBroadcasterImpl.refreshExistingEventSeries`).

use jiff::Timestamp;

use crate::recorder::SERIES_REFRESH;
use crate::shared::Shared;
use crate::{Action, Controller, Enqueue};

/// The events.k8s.io recorder's periodic refresh (client-go `tools/events`'
/// `refreshExistingEventSeries`) as a controller with one key, requeued every
/// [`SERIES_REFRESH`].
#[derive(Debug)]
pub(crate) struct SeriesRefresh;

impl SeriesRefresh {
    pub(crate) const NAME: &str = "event-series-refresh";
    pub(crate) const KEY: &str = "series";
}

impl Controller<Shared> for SeriesRefresh {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn watches(&self) -> &'static [&'static str] {
        &[]
    }

    fn reconcile(
        &mut self,
        _: &str,
        now: Timestamp,
        sh: &mut Shared,
        _: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        sh.recorder.flush_series(&sh.store, now, true);
        Ok(Action::requeue(SERIES_REFRESH))
    }
}

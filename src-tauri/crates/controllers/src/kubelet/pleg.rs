//! The pod lifecycle event generator: a relist about a second after a container started or
//! exited notices it, marks a running container without a readiness probe ready, writes the
//! status and wakes the pod worker. Kubernetes keeps it in `pkg/kubelet/pleg/generic.go`.

use std::time::Duration;

use super::Wake;
use super::add;
use super::{Ctx, Kubelet};

impl Kubelet {
    pub(super) fn relist(&mut self, uid: &str, cx: &mut Ctx<'_>) {
        let Some(mut w) = self.workers.remove(uid) else {
            return;
        };
        if !w.relist_pending {
            self.workers.insert(uid.to_string(), w);
            return;
        }
        w.relist_pending = false;
        // A running container without a readiness probe is ready once the relist sees it.
        for c in &mut w.ctrs {
            let probed = c.spec.readiness_probe.is_some() || c.init;
            if !probed
                && let Some(run) = c.run_mut()
                && run.stopping.is_none()
            {
                run.ready = true;
            }
        }
        self.write_status(&mut w, cx);
        let all_stopped = w.ctrs.iter().all(|c| !c.is_running());
        if w.deleting {
            if all_stopped {
                cx.wakes.push((
                    add(cx.now, Duration::from_millis(100)),
                    Wake::Finalize(uid.to_string()),
                ));
            }
            self.workers.insert(uid.to_string(), w);
            return;
        }
        w.sync_at = None;
        self.workers.insert(uid.to_string(), w);
        // A container died: the pod worker syncs at once (restart or back-off).
        self.sync(uid, cx);
    }
}

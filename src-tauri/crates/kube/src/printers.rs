//! kubectl's table printers, ported from kubernetes `pkg/printers/internalversion/printers.go`
//! (`printPod`, Kubernetes 1.29+ with sidecar support): the READY, STATUS, RESTARTS and AGE
//! cells of `kubectl get pods`.
//!
//! One printer for both sides: the embedded API server builds its Table rows with it, and the
//! engine shows the same STATUS next to the learner's terminal.
//!
//! The STATUS column is what learners compare the app against, so the port keeps Go's quirks:
//!
//! - the reason starts as the phase, or `status.reason` if set; a `PodScheduled` condition with
//!   reason `SchedulingGated` overrides it;
//! - init containers are scanned in order and the first unfinished one decides (`Init:<reason>`,
//!   `Init:ExitCode:N`, `Init:Signal:N` or `Init:i/n`); restartable (sidecar) init containers that
//!   have started count as finished and towards READY;
//! - then app containers are scanned **from last to first**, so the first container in spec order
//!   with a waiting or terminated reason wins; a crash-looping pod therefore shows
//!   `CrashLoopBackOff` even though its phase is `Running`;
//! - `Completed` with a container still running becomes `Running` (or `NotReady` without a Ready
//!   condition);
//! - a `deletionTimestamp` on a pod that is not Succeeded/Failed shows `Terminating`, or `Unknown`
//!   when the node is lost.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};

use crate::duration;

/// The `READY`, `STATUS` and `RESTARTS` cells of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRow {
    /// `READY`, e.g. `0/1`.
    pub ready: String,
    /// `STATUS`, e.g. `CrashLoopBackOff`, `Init:0/1`, `Terminating`.
    pub status: String,
    /// The number in `RESTARTS` (Go's `int` sum of the containers' `restartCount`).
    pub restarts: i64,
    /// When the latest restart happened (`lastState.terminated.finishedAt`), if any.
    pub last_restart: Option<Timestamp>,
}

impl PodRow {
    /// The `RESTARTS` cell: `3 (12s ago)` when a restart time is known, else the bare number.
    pub fn restarts_text(&self, now: Timestamp) -> String {
        match self.last_restart {
            Some(t) if self.restarts != 0 => {
                format!("{} ({} ago)", self.restarts, duration::since(t, now))
            }
            _ => self.restarts.to_string(),
        }
    }
}

fn is_restartable_init(c: Option<&Container>) -> bool {
    c.and_then(|c| c.restart_policy.as_deref()) == Some("Always")
}

fn last_termination(cs: &ContainerStatus) -> Option<Timestamp> {
    cs.last_state
        .as_ref()?
        .terminated
        .as_ref()?
        .finished_at
        .as_ref()
        .map(|t| t.0)
}

fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

fn condition_true(pod: &Pod, kind: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == kind))
        .is_some_and(|c| c.status == "True")
}

/// The `AGE` cell: `translateTimestampSince`, `<unknown>` without a creation timestamp.
pub fn age(created: Option<Timestamp>, now: Timestamp) -> String {
    created.map_or_else(|| "<unknown>".to_string(), |t| duration::since(t, now))
}

/// Computes the `kubectl get pods` cells exactly as `printPod` does.
pub fn print_pod(pod: &Pod) -> PodRow {
    let spec_containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let spec_inits = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_default();

    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let mut total = spec_containers.len();
    let mut ready = 0usize;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_init_restart: Option<Timestamp> = None;

    let mut reason = phase.clone();
    if let Some(r) = status
        .and_then(|s| s.reason.as_deref())
        .filter(|r| !r.is_empty())
    {
        reason = r.to_owned();
    }
    if let Some(conds) = status.and_then(|s| s.conditions.as_ref()) {
        for c in conds {
            if c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated") {
                reason = "SchedulingGated".into();
            }
        }
    }
    total += spec_inits
        .iter()
        .filter(|c| is_restartable_init(Some(c)))
        .count();

    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let mut initializing = false;
    for (i, cs) in init_statuses.iter().enumerate() {
        let count = i64::from(cs.restart_count);
        restarts += count;
        last_restart = later(last_restart, last_termination(cs));
        let spec = spec_inits.iter().find(|c| c.name == cs.name);
        if is_restartable_init(spec) {
            restartable_init_restarts += count;
            last_restartable_init_restart =
                later(last_restartable_init_restart, last_termination(cs));
        }
        let state = cs.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state.and_then(|s| s.waiting.as_ref());
        if terminated.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if is_restartable_init(spec) && cs.started == Some(true) {
            if cs.ready {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => match t.signal.filter(|s| *s != 0) {
                    Some(sig) => format!("Init:Signal:{sig}"),
                    None => format!("Init:ExitCode:{}", t.exit_code),
                },
            };
        } else if let Some(r) = waiting
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{}", spec_inits.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        let statuses = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        for cs in statuses.iter().rev() {
            restarts += i64::from(cs.restart_count);
            last_restart = later(last_restart, last_termination(cs));
            let state = cs.state.as_ref();
            let waiting = state.and_then(|s| s.waiting.as_ref());
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if let Some(r) = waiting
                .and_then(|w| w.reason.as_deref())
                .filter(|r| !r.is_empty())
            {
                reason = r.to_owned();
            } else if let Some(t) = terminated {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_owned(),
                    None => match t.signal.filter(|s| *s != 0) {
                        Some(sig) => format!("Signal:{sig}"),
                        None => format!("ExitCode:{}", t.exit_code),
                    },
                };
            } else if cs.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        if status.and_then(|s| s.reason.as_deref()) == Some("NodeLost") {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }

    PodRow {
        ready: format!("{ready}/{total}"),
        status: reason,
        restarts,
        last_restart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn now() -> Timestamp {
        "2025-01-01T00:10:00Z".parse().unwrap()
    }

    #[test]
    fn crash_loop_row() {
        let p = pod(
            json!({"metadata":{"name":"web","creationTimestamp":"2025-01-01T00:00:00Z"},
            "spec":{"containers":[{"name":"c"}]},
            "status":{"phase":"Running","containerStatuses":[{"name":"c","ready":false,"restartCount":3,"image":"x","imageID":"",
              "state":{"waiting":{"reason":"CrashLoopBackOff"}},
              "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"2025-01-01T00:09:48Z"}}}]}}),
        );
        let row = print_pod(&p);
        assert_eq!(
            (row.ready.as_str(), row.status.as_str(), row.restarts),
            ("0/1", "CrashLoopBackOff", 3)
        );
        assert_eq!(row.restarts_text(now()), "3 (12s ago)");
        let created = p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        assert_eq!(age(created, now()), "10m");
        assert_eq!(age(None, now()), "<unknown>");
    }

    #[test]
    fn sidecars_count_towards_ready_and_init_progress() {
        let row = print_pod(&pod(json!({"metadata":{"name":"p"},
            "spec":{"initContainers":[{"name":"side","restartPolicy":"Always"},{"name":"i"}],"containers":[{"name":"c"}]},
            "status":{"phase":"Pending","initContainerStatuses":[
              {"name":"side","ready":true,"started":true,"restartCount":0,"image":"x","imageID":"","state":{"running":{}}},
              {"name":"i","ready":false,"restartCount":0,"image":"x","imageID":"","state":{"waiting":{"reason":"PodInitializing"}}}]}})));
        assert_eq!(
            (row.ready.as_str(), row.status.as_str()),
            ("1/2", "Init:1/2")
        );
    }
}

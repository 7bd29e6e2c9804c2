//! A Job's failed-pod back-off, as Kubernetes keeps it in `pkg/controller/job/backoff_utils.go`:
//! a replacement waits `10 s × 2^(failures since the last success − 1)`, at most ten minutes,
//! from the moment the last failed pod finished.

use super::*;

/// The first replacement delay after a failed pod (`DefaultJobPodFailureBackOff`).
pub(super) const DEFAULT_BACKOFF: Duration = Duration::from_secs(10);
/// The longest replacement delay (`MaxJobPodFailureBackOff`).
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The failed-pod back-off of one Job (`backoffRecord`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct BackoffRecord {
    failures_after_last_success: u32,
    last_failure: Option<Timestamp>,
}

impl BackoffRecord {
    /// The record after these newly finished pods (`newBackoffRecord`).
    pub(super) fn next(&self, succeeded: &[&Arc<Value>], failed: &[&Arc<Value>]) -> BackoffRecord {
        let mut failed_times: Vec<Timestamp> = failed.iter().map(|p| finished_time(p)).collect();
        failed_times.sort();
        if succeeded.is_empty() {
            let Some(last) = failed_times.last() else {
                return self.clone();
            };
            return BackoffRecord {
                failures_after_last_success: self.failures_after_last_success
                    + failed_times.len() as u32,
                last_failure: Some(*last),
            };
        }
        let last_success = succeeded.iter().map(|p| finished_time(p)).max();
        let mut rec = BackoffRecord::default();
        for t in failed_times.iter().rev() {
            if last_success.is_some_and(|s| *t <= s) {
                break;
            }
            if rec.last_failure.is_none() {
                rec.last_failure = Some(*t);
            }
            rec.failures_after_last_success += 1;
        }
        rec
    }

    /// How long a replacement pod must still wait at `now` (`getRemainingTime`).
    pub(super) fn remaining(&self, now: Timestamp) -> Duration {
        let Some(last) = self.last_failure else {
            return Duration::ZERO;
        };
        if self.failures_after_last_success == 0 {
            return Duration::ZERO;
        }
        let mut backoff = DEFAULT_BACKOFF;
        for _ in 1..self.failures_after_last_success {
            backoff *= 2;
            if backoff >= MAX_BACKOFF {
                backoff = MAX_BACKOFF;
                break;
            }
        }
        let elapsed = since(last, now);
        backoff.saturating_sub(elapsed)
    }
}

/// When a pod finished (`getFinishedTime`): its containers' latest finish, else when it
/// stopped being Ready, else its deletion, else its creation.
pub(super) fn finished_time(pod: &Value) -> Timestamp {
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    if let Some(cs) = statuses.filter(|cs| !cs.is_empty()) {
        let times: Option<Vec<Timestamp>> = cs
            .iter()
            .map(|c| time_at(c, "/state/terminated/finishedAt"))
            .collect();
        if let Some(t) = times.and_then(|t| t.into_iter().max()) {
            return t;
        }
    }
    let ready_false = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter().find(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("False")
            })
        })
        .and_then(|c| time_at(c, "/lastTransitionTime"));
    if let Some(t) = ready_false {
        return t;
    }
    if let Some(t) = time_at(pod, "/metadata/deletionTimestamp") {
        let grace = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        return t
            .checked_sub(jiff::SignedDuration::from_secs(grace))
            .unwrap_or(t);
    }
    time_at(pod, "/metadata/creationTimestamp").unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn failed_at(t: &str) -> Arc<Value> {
        Arc::new(json!({"status": {"phase": "Failed", "containerStatuses": [
            {"name": "c", "state": {"terminated": {"exitCode": 1, "finishedAt": t}}}]}}))
    }

    #[test]
    fn failed_pods_are_replaced_after_10s_doubling_up_to_ten_minutes() {
        let t0 = ts("2026-01-01T00:00:00Z");
        let p1 = failed_at("2026-01-01T00:00:00Z");
        let r1 = BackoffRecord::default().next(&[], &[&p1]);
        assert_eq!(r1.remaining(t0), Duration::from_secs(10));
        assert_eq!(
            r1.remaining(add(t0, Duration::from_secs(4))),
            Duration::from_secs(6)
        );
        assert_eq!(
            r1.remaining(add(t0, Duration::from_secs(10))),
            Duration::ZERO
        );
        let r2 = r1.next(&[], &[&p1]);
        assert_eq!(r2.remaining(t0), Duration::from_secs(20));
        let r3 = r2.next(&[], &[&p1]);
        assert_eq!(r3.remaining(t0), Duration::from_secs(40));
        let mut r = r3;
        for _ in 0..10 {
            r = r.next(&[], &[&p1]);
        }
        assert_eq!(r.remaining(t0), MAX_BACKOFF);
        let ok = Arc::new(
            json!({"status": {"phase": "Succeeded", "containerStatuses": [
            {"name": "c", "state": {"terminated": {"exitCode": 0, "finishedAt": "2026-01-01T00:01:00Z"}}}]}}),
        );
        assert_eq!(r.next(&[&ok], &[]).remaining(t0), Duration::ZERO);
    }
}

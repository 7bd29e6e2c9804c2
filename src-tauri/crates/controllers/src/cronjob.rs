//! The CronJob controller: creates a CronJob's Jobs on its schedule, on the cluster's virtual
//! clock (Kubernetes keeps the same logic in `pkg/controller/cronjob/cronjob_controllerv2.go`
//! and `utils.go`; schedules parse as robfig/cron does, in `kq_kube::cron`).
//!
//! One sync of a CronJob: finished Jobs leave `status.active` (`SawCompletedJob`) and move
//! `lastSuccessfulTime`; Jobs gone missing are dropped (`MissingJob`); then, unless the
//! CronJob is suspended or being deleted, the most recent due schedule time not yet handled
//! gets its Job `<cronjob>-<scheduledTime.Unix()/60>` (labels and annotations from the job
//! template, the `batch.kubernetes.io/cronjob-scheduled-timestamp` annotation, a controller
//! reference) as `concurrencyPolicy` allows (`Forbid` skips with `JobAlreadyActive`,
//! `Replace` deletes the running ones first), or a `MissSchedule` warning when it is later
//! than `startingDeadlineSeconds`. Finished Jobs beyond the history limits are deleted oldest
//! first with Background propagation. The key comes back 100 ms after the next schedule time.

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kq_kube::cron::Schedule;
use serde_json::{Value, json};

use crate::job::finished_condition;
use crate::kinds;
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::scheduler::add;
use crate::shared::Shared;
use crate::store::{DeleteOptions, WriteOptions};
use crate::workload;

/// The scheduled-time annotation on a CronJob's Jobs.
pub(crate) const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// How long after a schedule time the CronJob is looked at again (`nextScheduleDelta`).
const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);
/// More missed schedule times than this is a `TooManyMissedTimes` warning.
const MANY_MISSED: usize = 100;

/// The cronjob controller (kube-controller-manager's `cronjob`).
#[derive(Debug, Default)]
pub(crate) struct CronJobController {
    _private: (),
}

/// Schedule times between the last one handled and `now` (`mostRecentScheduleTime`).
struct Due {
    /// The latest schedule time not after `now`, if any passed.
    most_recent: Option<Timestamp>,
    /// How many passed.
    missed: usize,
    /// The last time already handled (creation or last schedule time).
    earliest: Timestamp,
}

fn due(
    sched: &Schedule,
    tz: &TimeZone,
    earliest: Timestamp,
    starting_deadline: Option<i64>,
    now: Timestamp,
) -> Due {
    let mut from = earliest;
    if let Some(sds) = starting_deadline {
        let limit = now
            .checked_sub(jiff::SignedDuration::from_secs(sds))
            .unwrap_or(now);
        if limit > from {
            from = limit;
        }
    }
    let mut most_recent = None;
    let mut missed = 0usize;
    let mut t = sched.next(from, tz);
    while let Some(at) = t.filter(|at| *at <= now) {
        most_recent = Some(at);
        missed += 1;
        if missed > 100_000 {
            break;
        }
        t = sched.next(at, tz);
    }
    Due {
        most_recent,
        missed,
        earliest: from,
    }
}

/// `Mon, 02 Jan 2006 15:04:05 -0700` in UTC (Go's RFC1123Z).
fn rfc1123z(t: Timestamp) -> String {
    t.to_zoned(TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

/// RFC 3339 in the CronJob's zone, as Go's `time.RFC3339` prints it.
fn rfc3339_in(t: Timestamp, tz: &TimeZone) -> String {
    let z = t.to_zoned(tz.clone());
    let offset = z.offset().seconds();
    if offset == 0 {
        return z.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn job_ref(job: &Value) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: Some(kinds::name_of(job).to_string()),
        namespace: Some(kinds::namespace_of(job).to_string()),
        uid: Some(kinds::str_at(job, "/metadata/uid").to_string()),
        resource_version: Some(kinds::str_at(job, "/metadata/resourceVersion").to_string()),
        ..ObjectReference::default()
    }
}

/// Delete a Job with Background propagation, as the controller's job control does.
fn delete_job(ctx: &mut Shared, cj: &Value, job: &Value, now: Timestamp) -> bool {
    let opts = DeleteOptions {
        propagation_policy: Some("Background".into()),
        ..DeleteOptions::default()
    };
    let name = kinds::name_of(job);
    match ctx
        .store
        .delete(&kinds::job::KIND, kinds::namespace_of(job), name, &opts)
    {
        Ok(_) => {
            let msg = format!("Deleted job {name}");
            workload::event(
                ctx,
                now,
                cj,
                &kinds::cronjob::KIND,
                "Normal",
                "SuccessfulDelete",
                &msg,
            );
            true
        }
        Err(e) => {
            let msg = format!("Deleted job: {e}");
            workload::event(
                ctx,
                now,
                cj,
                &kinds::cronjob::KIND,
                "Warning",
                "FailedDelete",
                &msg,
            );
            false
        }
    }
}

fn start_time(job: &Value) -> Option<Timestamp> {
    job.pointer("/status/startTime")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_time)
}

impl Controller<Shared> for CronJobController {
    fn name(&self) -> &'static str {
        "cronjob"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["batch/cronjobs", "batch/jobs"]
    }

    fn on_change(&mut self, change: &Change<'_>, _ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        if change.resource == "batch/cronjobs" {
            queue.key(change.key());
            return;
        }
        if let Some(owner) = workload::controller_of(change.object)
            && owner.get("kind").and_then(Value::as_str) == Some("CronJob")
        {
            let name = owner.get("name").and_then(Value::as_str).unwrap_or("");
            queue.key(format!("{}/{name}", kinds::namespace_of(change.object)));
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let Some(raw) = ctx.store.get_raw(&kinds::cronjob::KIND, ns, name) else {
            return Ok(Action::await_change());
        };
        let Ok(cj) = serde_json::from_value::<CronJob>((*raw).clone()) else {
            return Ok(Action::await_change());
        };
        let uid = kinds::str_at(&raw, "/metadata/uid").to_string();
        let mut jobs: Vec<std::sync::Arc<Value>> = ctx
            .store
            .list_raw(&kinds::job::KIND, Some(ns))
            .into_iter()
            .filter(|j| workload::controlled_by(j, &uid))
            .collect();
        jobs.sort_by(|a, b| kinds::name_of(a).cmp(kinds::name_of(b)));
        let old_status = cj.status.clone().unwrap_or_default();
        let mut status = old_status.clone();

        let (requeue, sync_err) = sync(ctx, &raw, &cj, &jobs, &mut status, now);
        cleanup(ctx, &raw, &cj, &jobs, &mut status, now);

        if status != old_status {
            let result = ctx.store.update_status::<CronJob>(ns, name, |c| {
                if c.metadata.uid.as_deref() == Some(uid.as_str()) {
                    c.status = Some(status.clone());
                }
            });
            match result {
                Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(e) = sync_err {
            return Err(e);
        }
        Ok(match requeue {
            Some(d) => Action::requeue(d),
            None => Action::await_change(),
        })
    }
}

/// Bring `status` up to date and start the Job due now (`syncCronJob`); returns when to
/// look again.
fn sync(
    ctx: &mut Shared,
    raw: &Value,
    cj: &CronJob,
    jobs: &[std::sync::Arc<Value>],
    status: &mut CronJobStatus,
    now: Timestamp,
) -> (Option<Duration>, Option<crate::Error>) {
    let kind = &kinds::cronjob::KIND;
    let spec = cj.spec.clone().unwrap_or_default();
    let in_active = |status: &CronJobStatus, uid: &str| {
        status
            .active
            .iter()
            .flatten()
            .any(|r| r.uid.as_deref() == Some(uid))
    };
    for j in jobs {
        let juid = kinds::str_at(j, "/metadata/uid");
        let finished = finished_condition(j);
        let found = in_active(status, juid);
        if !found && finished.is_none() {
            let msg = format!(
                "Saw a job that the controller did not create or forgot: {}",
                kinds::name_of(j)
            );
            workload::event(ctx, now, raw, kind, "Warning", "UnexpectedJob", &msg);
        } else if let (true, Some((cond, _))) = (found, &finished) {
            if let Some(a) = status.active.as_mut() {
                a.retain(|r| r.uid.as_deref() != Some(juid));
            }
            let msg = format!("Saw completed job: {}, status: {cond}", kinds::name_of(j));
            workload::event(ctx, now, raw, kind, "Normal", "SawCompletedJob", &msg);
        }
        if let Some(("Complete", _)) = finished.as_ref().map(|(c, t)| (c.as_str(), t)) {
            let done = j
                .pointer("/status/completionTime")
                .and_then(Value::as_str)
                .and_then(crate::clock::parse_time);
            if let Some(done) = done
                && status
                    .last_successful_time
                    .as_ref()
                    .is_none_or(|t| done > t.0)
            {
                status.last_successful_time = Some(Time(done));
            }
        }
    }
    // Active references whose Job is gone.
    let gone: Vec<ObjectReference> = status
        .active
        .iter()
        .flatten()
        .filter(|r| {
            !jobs
                .iter()
                .any(|j| Some(kinds::str_at(j, "/metadata/uid")) == r.uid.as_deref())
        })
        .cloned()
        .collect();
    for r in gone {
        let name = r.name.clone().unwrap_or_default();
        if ctx
            .store
            .get_raw(&kinds::job::KIND, kinds::namespace_of(raw), &name)
            .is_some_and(|j| Some(kinds::str_at(&j, "/metadata/uid")) == r.uid.as_deref())
        {
            continue;
        }
        let msg = format!("Active job went missing: {name}");
        workload::event(ctx, now, raw, kind, "Normal", "MissingJob", &msg);
        if let Some(a) = status.active.as_mut() {
            a.retain(|x| x.uid != r.uid);
        }
    }
    if status.active.as_ref().is_some_and(Vec::is_empty) {
        status.active = None;
    }

    if cj.metadata.deletion_timestamp.is_some() {
        return (None, None);
    }
    let tz = match spec.time_zone.as_deref() {
        None => TimeZone::UTC,
        Some(name) => match TimeZone::get(name) {
            Ok(z) => z,
            Err(_) => {
                let msg = format!("invalid timeZone: {name:?}: unknown time zone {name}");
                workload::event(ctx, now, raw, kind, "Warning", "UnknownTimeZone", &msg);
                return (None, None);
            }
        },
    };
    if spec.suspend == Some(true) {
        return (None, None);
    }
    if spec.schedule.contains("TZ") {
        let msg = format!(
            "CRON_TZ or TZ used in schedule {:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
            spec.schedule
        );
        workload::event(ctx, now, raw, kind, "Warning", "UnsupportedSchedule", &msg);
    }
    let sched = match Schedule::parse(&spec.schedule) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("unparseable schedule: {:?} : {e}", spec.schedule);
            workload::event(ctx, now, raw, kind, "Warning", "UnparseableSchedule", &msg);
            return (None, None);
        }
    };
    let created = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let earliest = status.last_schedule_time.as_ref().map_or(created, |t| t.0);
    let next_in = |status: &CronJobStatus| -> Option<Duration> {
        let earliest = status.last_schedule_time.as_ref().map_or(created, |t| t.0);
        let d = due(&sched, &tz, earliest, None, now);
        let base = d.most_recent.unwrap_or(d.earliest);
        let next = sched.next(base.max(earliest), &tz)?;
        let at = add(next, NEXT_SCHEDULE_DELTA);
        Some(Duration::try_from(at.duration_since(now)).unwrap_or_default())
    };
    let d = due(&sched, &tz, earliest, spec.starting_deadline_seconds, now);
    let Some(scheduled) = d.most_recent else {
        return (next_in(status), None);
    };
    if d.missed > MANY_MISSED {
        workload::event(
            ctx,
            now,
            raw,
            kind,
            "Warning",
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
        );
    }
    if let Some(sds) = spec.starting_deadline_seconds
        && add(scheduled, Duration::from_secs(sds.max(0) as u64)) < now
    {
        let msg = format!(
            "Missed scheduled time to start a job: {}",
            rfc1123z(scheduled)
        );
        workload::event(ctx, now, raw, kind, "Warning", "MissSchedule", &msg);
        return (next_in(status), None);
    }
    let job_name = format!("{}-{}", kinds::name_of(raw), scheduled.as_second() / 60);
    let already = status
        .active
        .iter()
        .flatten()
        .any(|r| r.name.as_deref() == Some(job_name.as_str()))
        || status.last_schedule_time.as_ref().map(|t| t.0) == Some(scheduled);
    if already {
        return (next_in(status), None);
    }
    let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
    let active_count = status.active.as_ref().map_or(0, Vec::len);
    if policy == "Forbid" && active_count > 0 {
        workload::event(
            ctx,
            now,
            raw,
            kind,
            "Normal",
            "JobAlreadyActive",
            "Not starting job because prior execution is running and concurrency policy is Forbid",
        );
        return (next_in(status), None);
    }
    if policy == "Replace" {
        for r in status.active.clone().unwrap_or_default() {
            let name = r.name.clone().unwrap_or_default();
            let Some(j) = ctx
                .store
                .get_raw(&kinds::job::KIND, kinds::namespace_of(raw), &name)
            else {
                continue;
            };
            if !delete_job(ctx, raw, &j, now) {
                return (
                    None,
                    Some(crate::Error::Invalid(format!(
                        "could not replace job {}/{name}",
                        kinds::namespace_of(raw)
                    ))),
                );
            }
            if let Some(a) = status.active.as_mut() {
                a.retain(|x| x.uid != r.uid);
            }
        }
        if status.active.as_ref().is_some_and(Vec::is_empty) {
            status.active = None;
        }
    }

    let body = job_from_template(raw, &job_name, scheduled, &tz);
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    let ns = kinds::namespace_of(raw).to_string();
    let created_job = match ctx.store.create(&kinds::job::KIND, &ns, body, &opts) {
        Ok(res) => res.object,
        Err(kq_apiserver::Error::AlreadyExists { .. }) => {
            let Some(j) = ctx.store.get_raw(&kinds::job::KIND, &ns, &job_name) else {
                return (None, None);
            };
            if !workload::controlled_by(&j, kinds::str_at(raw, "/metadata/uid"))
                || status
                    .active
                    .iter()
                    .flatten()
                    .any(|r| r.uid.as_deref() == Some(kinds::str_at(&j, "/metadata/uid")))
            {
                return (None, None);
            }
            (*j).clone()
        }
        Err(e) => {
            let msg = format!("Error creating job: {e}");
            workload::event(ctx, now, raw, kind, "Warning", "FailedCreate", &msg);
            return (None, Some(e.into()));
        }
    };
    if kinds::str_at(&created_job, "/metadata/creationTimestamp").is_empty() {
        return (None, None);
    }
    let msg = format!("Created job {}", kinds::name_of(&created_job));
    workload::event(ctx, now, raw, kind, "Normal", "SuccessfulCreate", &msg);
    status
        .active
        .get_or_insert_with(Vec::new)
        .push(job_ref(&created_job));
    status.last_schedule_time = Some(Time(scheduled));
    (next_in(status), None)
}

/// The Job for `scheduled` (`getJobFromTemplate2`).
fn job_from_template(raw: &Value, name: &str, scheduled: Timestamp, tz: &TimeZone) -> Value {
    let template = raw
        .pointer("/spec/jobTemplate")
        .cloned()
        .unwrap_or_default();
    let mut labels = template
        .pointer("/metadata/labels")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    let mut annotations = template
        .pointer("/metadata/annotations")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    annotations[SCHEDULED_TIMESTAMP] = json!(rfc3339_in(scheduled, tz));
    if labels.as_object().is_some_and(serde_json::Map::is_empty) {
        labels = Value::Null;
    }
    let mut meta = json!({
        "name": name,
        "annotations": annotations,
        "ownerReferences": [workload::controller_ref(raw, &kinds::cronjob::KIND)],
    });
    if !labels.is_null() {
        meta["labels"] = labels;
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Delete finished Jobs beyond the history limits, oldest first (`cleanupFinishedJobs`).
fn cleanup(
    ctx: &mut Shared,
    raw: &Value,
    cj: &CronJob,
    jobs: &[std::sync::Arc<Value>],
    status: &mut CronJobStatus,
    now: Timestamp,
) {
    let spec = cj.spec.clone().unwrap_or_default();
    let limits = [
        ("Complete", spec.successful_jobs_history_limit.unwrap_or(3)),
        ("Failed", spec.failed_jobs_history_limit.unwrap_or(1)),
    ];
    for (cond, limit) in limits {
        let mut done: Vec<&std::sync::Arc<Value>> = jobs
            .iter()
            .filter(|j| finished_condition(j).is_some_and(|(c, _)| c == cond))
            .collect();
        let extra = done.len().saturating_sub(limit.max(0) as usize);
        if extra == 0 {
            continue;
        }
        // By start time (unstarted last), then name.
        done.sort_by(|a, b| {
            let (sa, sb) = (start_time(a), start_time(b));
            match (sa, sb) {
                (Some(x), Some(y)) if x != y => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                _ => kinds::name_of(a).cmp(kinds::name_of(b)),
            }
        });
        for j in done.into_iter().take(extra) {
            if delete_job(ctx, raw, j, now)
                && let Some(a) = status.active.as_mut()
            {
                let juid = kinds::str_at(j, "/metadata/uid");
                a.retain(|r| r.uid.as_deref() != Some(juid));
            }
        }
    }
    if status.active.as_ref().is_some_and(Vec::is_empty) {
        status.active = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn due_times_count_the_missed_schedules() {
        let s = Schedule::parse("*/1 * * * *").unwrap();
        let d = due(
            &s,
            &TimeZone::UTC,
            ts("2026-01-01T10:00:30Z"),
            None,
            ts("2026-01-01T10:03:10Z"),
        );
        assert_eq!(d.most_recent, Some(ts("2026-01-01T10:03:00Z")));
        assert_eq!(d.missed, 3);
        let d = due(
            &s,
            &TimeZone::UTC,
            ts("2026-01-01T10:00:30Z"),
            Some(30),
            ts("2026-01-01T10:03:10Z"),
        );
        assert_eq!(d.missed, 1, "only the starting deadline's window counts");
        let d = due(
            &s,
            &TimeZone::UTC,
            ts("2026-01-01T10:00:30Z"),
            None,
            ts("2026-01-01T10:00:59Z"),
        );
        assert_eq!(d.most_recent, None);
    }

    #[test]
    fn times_print_as_go_does() {
        assert_eq!(
            rfc1123z(ts("2026-01-02T15:04:05Z")),
            "Fri, 02 Jan 2026 15:04:05 +0000"
        );
        assert_eq!(
            rfc3339_in(ts("2026-01-02T15:04:00Z"), &TimeZone::UTC),
            "2026-01-02T15:04:00Z"
        );
        let paris = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(
            rfc3339_in(ts("2026-01-02T15:04:00Z"), &paris),
            "2026-01-02T16:04:00+01:00"
        );
    }
}

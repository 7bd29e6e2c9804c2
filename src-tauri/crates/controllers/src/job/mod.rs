//! The Job controller: runs a Job's pods to completion (Kubernetes keeps the same logic in
//! `pkg/controller/job/job_controller.go`, with the failed-pod back-off in `backoff_utils.go`,
//! Indexed Jobs in `indexed_job_utils.go` and the pod failure policy in
//! `pod_failure_policy.go`; the clean-up of finished Jobs is
//! `pkg/controller/ttlafterfinished/ttlafterfinished_controller.go`, done here too).
//!
//! One sync of a Job, as a 1.33 kube-controller-manager does it:
//! - pods are counted through the `batch.kubernetes.io/job-tracking` finalizer: a finished
//!   pod still carrying it is written into `status.uncountedTerminatedPods`, its finalizer is
//!   removed, and only then is it moved into `succeeded` / `failed`;
//! - a failed pod is replaced after the back-off `10 s × 2^(failures since the last
//!   success − 1)`, capped at ten minutes, counted from the moment it finished, on the
//!   cluster's virtual clock;
//! - the Job fails when `failed > backoffLimit` (or, with `restartPolicy: OnFailure`, when its
//!   running pods restarted `backoffLimit` times), when `activeDeadlineSeconds` passed (the key
//!   is requeued to fire on time), or when a pod failure policy rule says `FailJob`; it then
//!   gets the interim `FailureTarget` condition, its active pods are deleted, and `Failed`
//!   follows once no pod is terminating. Success gets `SuccessCriteriaMet`, then `Complete`;
//! - a finished Job with `ttlSecondsAfterFinished` is deleted (Background propagation) that
//!   long after its final condition.
//!
//! The back-off is in [`backoff`], Indexed Jobs' indexes in [`indexed`] and the pod failure
//! policy in [`failure_policy`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{
    Job, JobCondition, JobStatus, PodFailurePolicy, UncountedTerminatedPods,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use crate::kinds;
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::scheduler::add;
use crate::shared::Shared;
use crate::store::{DeleteOptions, PatchKind, Preconditions, WriteOptions};
use crate::workload::{self, PodName};

mod backoff;
mod failure_policy;
mod indexed;

use backoff::BackoffRecord;
use failure_policy::match_failure_policy;
use indexed::{completion_index, format_indexes, indexed_template, parse_indexes};

/// The finalizer that keeps a Job's pod until the Job counted it.
pub(crate) const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The annotation (and label) holding an Indexed Job pod's completion index.
pub(crate) const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// Keys of orphaned pods to release (`~` never starts a namespace name).
const ORPHAN_PREFIX: &str = "~orphan/";
/// The first retry after a failed API request (`DefaultJobApiBackOff`).
const API_BACKOFF: Duration = Duration::from_secs(1);
/// The longest retry delay after failed API requests (`MaxJobApiBackOff`).
const MAX_API_BACKOFF: Duration = Duration::from_secs(60);
/// Pods created or deleted in one sync at most (`MaxPodCreateDeletePerSync`).
const MAX_PER_SYNC: usize = 500;

/// `now − t`, zero when `t` is later.
fn since(t: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(t)).unwrap_or_default()
}

fn time_at(v: &Value, pointer: &str) -> Option<Timestamp> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_time)
}

fn has_finalizer(pod: &Value) -> bool {
    pod.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|x| x.as_str() == Some(TRACKING_FINALIZER)))
}

fn uid_of(v: &Value) -> &str {
    kinds::str_at(v, "/metadata/uid")
}

/// Terminating: being deleted and not finished (`CountTerminatingPods`). A pod the kubelet
/// already stopped (grace period down to 0, only finalizers left) no longer counts.
fn is_terminating(pod: &Value) -> bool {
    workload::is_terminating(pod)
        && !matches!(workload::phase(pod), "Succeeded" | "Failed")
        && pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            != Some(0)
}

/// The Job's settings, with the API defaults applied where a field is unset.
#[derive(Debug, Clone)]
struct Settings {
    parallelism: i32,
    completions: Option<i32>,
    backoff_limit: i32,
    indexed: bool,
    suspended: bool,
    active_deadline: Option<i64>,
    on_failure: bool,
    only_replace_failed: bool,
    failure_policy: Option<PodFailurePolicy>,
    ttl: Option<i32>,
}

impl Settings {
    fn of(job: &Job) -> Settings {
        let spec = job.spec.clone().unwrap_or_default();
        let (parallelism, completions) = match (spec.parallelism, spec.completions) {
            (None, None) => (1, Some(1)),
            (p, c) => (p.unwrap_or(1), c),
        };
        let restart = spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_default();
        let replacement = spec.pod_replacement_policy.clone().unwrap_or_else(|| {
            if spec.pod_failure_policy.is_some() {
                "Failed".into()
            } else {
                "TerminatingOrFailed".into()
            }
        });
        Settings {
            parallelism: parallelism.max(0),
            completions,
            backoff_limit: spec.backoff_limit.unwrap_or(6),
            indexed: spec.completion_mode.as_deref() == Some("Indexed") && completions.is_some(),
            suspended: spec.suspend == Some(true),
            active_deadline: spec.active_deadline_seconds,
            on_failure: restart == "OnFailure",
            only_replace_failed: replacement == "Failed",
            failure_policy: spec.pod_failure_policy,
            ttl: spec.ttl_seconds_after_finished,
        }
    }
}

/// Failed for the Job's accounting (`isPodFailed`): phase Failed, or (unless only failed
/// pods are replaced) deleted before succeeding.
fn is_failed(pod: &Value, s: &Settings) -> bool {
    if workload::phase(pod) == "Failed" {
        return true;
    }
    if s.only_replace_failed {
        return false;
    }
    workload::is_terminating(pod) && workload::phase(pod) != "Succeeded"
}

fn condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_ && c.status == "True")
}

fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Set a condition's status (`ensureJobConditionStatus`): a new False one is not added.
fn ensure_condition(
    list: &mut Vec<JobCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    if let Some(c) = list.iter_mut().find(|c| c.type_ == type_) {
        if c.status != status
            || c.reason.as_deref() != Some(reason)
            || c.message.as_deref() != Some(message)
        {
            *c = new_condition(type_, status, reason, message, now);
            return true;
        }
        return false;
    }
    if status != "False" {
        list.push(new_condition(type_, status, reason, message, now));
        return true;
    }
    false
}

/// A Job's final condition: Complete or Failed, True.
pub(crate) fn finished_condition(job: &Value) -> Option<(String, Timestamp)> {
    job.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| {
            matches!(
                c.get("type").and_then(Value::as_str),
                Some("Complete" | "Failed")
            ) && c.get("status").and_then(Value::as_str) == Some("True")
        })
        .map(|c| {
            (
                kinds::str_at(c, "/type").to_string(),
                time_at(c, "/lastTransitionTime").unwrap_or(Timestamp::UNIX_EPOCH),
            )
        })
}

/// The job controller (kube-controller-manager's `job`), with the TTL-after-finished clean-up.
#[derive(Debug, Default)]
pub(crate) struct JobController {
    /// Failed-pod back-off per Job key (kept in memory, as the real controller does).
    backoff: HashMap<String, BackoffRecord>,
    /// Consecutive failed syncs per Job key, for the API back-off (1 s doubling up to 60 s,
    /// `DefaultJobApiBackOff` / `MaxJobApiBackOff`).
    api_failures: HashMap<String, u32>,
}

impl Controller<Shared> for JobController {
    fn name(&self) -> &'static str {
        "job"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["batch/jobs", "pods"]
    }

    fn on_change(&mut self, change: &Change<'_>, _ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        if change.resource == "pods" {
            let Some(owner) = workload::controller_of(change.object) else {
                // An orphan still holding the finalizer (its Job deleted with
                // `--cascade=orphan`) is released on its own key.
                if change.change != ChangeType::Deleted && has_finalizer(change.object) {
                    queue.key(format!("{ORPHAN_PREFIX}{}", change.key()));
                }
                return;
            };
            if owner.get("kind").and_then(Value::as_str) != Some("Job")
                || owner.get("apiVersion").and_then(Value::as_str) != Some("batch/v1")
            {
                return;
            }
            let name = owner.get("name").and_then(Value::as_str).unwrap_or("");
            queue.key(format!("{}/{name}", kinds::namespace_of(change.object)));
            return;
        }
        if change.change == ChangeType::Deleted {
            self.backoff.remove(&change.key());
            self.api_failures.remove(&change.key());
        }
        queue.key(change.key());
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        if let Some(pod_key) = key.strip_prefix(ORPHAN_PREFIX) {
            let (ns, name) = pod_key.split_once('/').unwrap_or(("", pod_key));
            if let Some(pod) = ctx.store.get_raw(&kinds::pod::KIND, ns, name)
                && workload::controller_of(&pod).is_none()
                && has_finalizer(&pod)
            {
                remove_finalizer(ctx, &pod)?;
            }
            return Ok(Action::await_change());
        }
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let Some(raw) = ctx.store.get_raw(&kinds::job::KIND, ns, name) else {
            self.backoff.remove(key);
            release_orphans(ctx, ns, name, None);
            return Ok(Action::await_change());
        };
        let Ok(job) = serde_json::from_value::<Job>((*raw).clone()) else {
            return Ok(Action::await_change());
        };
        let uid = uid_of(&raw).to_string();
        release_orphans(ctx, ns, name, Some(&uid));
        let pods = workload::owned_pods(ctx, ns, &uid);
        let s = Settings::of(&job);

        if job.metadata.deletion_timestamp.is_some() {
            for p in pods.iter().filter(|p| has_finalizer(p)) {
                remove_finalizer(ctx, p)?;
            }
            return Ok(Action::await_change());
        }
        if let Some((_, finished_at)) = finished_condition(&raw) {
            for p in pods.iter().filter(|p| has_finalizer(p)) {
                remove_finalizer(ctx, p)?;
            }
            return self.expire(ctx, &raw, &s, finished_at, now);
        }
        self.sync(key, ctx, &raw, job, &s, pods, now)
    }
}

/// Pods that name a Job `name` in `ns` as their controller but whose Job is gone (or is
/// another one now) lose the tracking finalizer, so they can go.
fn release_orphans(ctx: &Shared, ns: &str, name: &str, current_uid: Option<&str>) {
    let orphans: Vec<Arc<Value>> = ctx
        .pods
        .values()
        .filter(|p| kinds::namespace_of(p) == ns && has_finalizer(p))
        .filter(|p| {
            workload::controller_of(p).is_some_and(|r| {
                r.get("kind").and_then(Value::as_str) == Some("Job")
                    && r.get("name").and_then(Value::as_str) == Some(name)
                    && r.get("uid").and_then(Value::as_str) != current_uid
            })
        })
        .cloned()
        .collect();
    for p in orphans {
        let _ = remove_finalizer(ctx, &p);
    }
}

/// Remove the tracking finalizer from a pod (a strategic-merge patch, as the controller
/// sends); a pod already gone counts as done.
fn remove_finalizer(ctx: &Shared, pod: &Value) -> crate::Result<()> {
    let mut opts = WriteOptions::default();
    opts.field_manager = Some("kube-controller-manager".into());
    let send = |patch: Value, kind: PatchKind| {
        ctx.store.patch(
            &kinds::pod::KIND,
            kinds::namespace_of(pod),
            kinds::name_of(pod),
            patch.to_string().as_bytes(),
            kind,
            &opts,
            false,
        )
    };
    // When it is the only finalizer the field goes away altogether, as a Go apiserver drops
    // an empty `finalizers` list; the test op keeps a finalizer added meanwhile.
    let only_ours = pod.pointer("/metadata/finalizers") == Some(&json!([TRACKING_FINALIZER]));
    if only_ours
        && send(
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": [TRACKING_FINALIZER]},
                {"op": "remove", "path": "/metadata/finalizers"}
            ]),
            PatchKind::Json,
        )
        .is_ok()
    {
        return Ok(());
    }
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}});
    match send(patch, PatchKind::Strategic) {
        Ok(_) => Ok(()),
        Err(kq_apiserver::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// What one sync found and decided, before the status is written.
struct SyncState {
    status: JobStatus,
    active: i32,
    ready: i32,
    terminating: i32,
    succeeded: i32,
    failed: i32,
    succeeded_indexes: BTreeSet<i32>,
    /// Interim or final condition to reach (FailureTarget, SuccessCriteriaMet, …).
    finished: Option<JobCondition>,
    requeue: Option<Duration>,
    /// A pod create failed in this sync.
    create_failed: bool,
}

impl SyncState {
    fn requeue_in(&mut self, d: Duration) {
        self.requeue = Some(self.requeue.map_or(d, |r| r.min(d)));
    }
}

impl JobController {
    /// A finished Job: nothing runs; with `ttlSecondsAfterFinished` it is deleted that long
    /// after it finished (the TTL-after-finished controller).
    fn expire(
        &mut self,
        ctx: &mut Shared,
        raw: &Value,
        s: &Settings,
        finished_at: Timestamp,
        now: Timestamp,
    ) -> crate::Result<Action> {
        let Some(ttl) = s.ttl else {
            return Ok(Action::await_change());
        };
        let expires = add(finished_at, Duration::from_secs(ttl.max(0) as u64));
        if now < expires {
            return Ok(Action::requeue(since(now, expires)));
        }
        let opts = DeleteOptions {
            propagation_policy: Some("Background".into()),
            preconditions: Some(Preconditions {
                uid: Some(uid_of(raw).to_string()),
                resource_version: None,
            }),
            ..DeleteOptions::default()
        };
        match ctx.store.delete(
            &kinds::job::KIND,
            kinds::namespace_of(raw),
            kinds::name_of(raw),
            &opts,
        ) {
            Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => Ok(Action::await_change()),
            Err(e) => Err(e.into()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sync(
        &mut self,
        key: &str,
        ctx: &mut Shared,
        raw: &Value,
        job: Job,
        s: &Settings,
        pods: Vec<Arc<Value>>,
        now: Timestamp,
    ) -> crate::Result<Action> {
        let old_status = job.status.clone().unwrap_or_default();
        let mut status = old_status.clone();
        let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let unc_succ: HashSet<String> = uncounted.succeeded.iter().flatten().cloned().collect();
        let unc_fail: HashSet<String> = uncounted.failed.iter().flatten().cloned().collect();

        let active_pods: Vec<&Arc<Value>> =
            pods.iter().filter(|p| workload::is_active(p)).collect();
        let terminating = pods.iter().filter(|p| is_terminating(p)).count() as i32;
        let ready = active_pods.iter().filter(|p| workload::is_ready(p)).count() as i32;
        let fresh = |p: &&Arc<Value>| {
            has_finalizer(p) && !unc_succ.contains(uid_of(p)) && !unc_fail.contains(uid_of(p))
        };
        let new_succeeded: Vec<&Arc<Value>> = pods
            .iter()
            .filter(fresh)
            .filter(|p| workload::phase(p) == "Succeeded")
            .filter(|p| !s.indexed || completion_index(p).is_some_and(|i| Some(i) < s.completions))
            .collect();
        let new_failed: Vec<&Arc<Value>> = pods
            .iter()
            .filter(fresh)
            .filter(|p| is_failed(p, s))
            .collect();
        let counted_failed = new_failed
            .iter()
            .filter(|p| {
                s.failure_policy
                    .as_ref()
                    .is_none_or(|fp| match_failure_policy(fp, p).1)
            })
            .count() as i32;
        let succeeded =
            status.succeeded.unwrap_or(0) + new_succeeded.len() as i32 + unc_succ.len() as i32;
        let failed = status.failed.unwrap_or(0) + counted_failed + unc_fail.len() as i32;

        if status.start_time.is_none() && !s.suspended {
            status.start_time = Some(Time(now));
        }
        let record = self
            .backoff
            .get(key)
            .cloned()
            .unwrap_or_default()
            .next(&new_succeeded, &new_failed);

        let mut st = SyncState {
            status,
            active: active_pods.len() as i32,
            ready,
            terminating,
            succeeded,
            failed,
            succeeded_indexes: BTreeSet::new(),
            finished: None,
            requeue: None,
            create_failed: false,
        };

        // What finishes the Job, failure first.
        if let Some(c) = condition(&st.status, "SuccessCriteriaMet") {
            st.finished = Some(c.clone());
        } else if let Some(c) = condition(&st.status, "FailureTarget") {
            st.finished = Some(new_condition(
                "Failed",
                "True",
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or(""),
                now,
            ));
        } else if let Some(fp) = &s.failure_policy {
            let msg = pods
                .iter()
                .filter(|p| is_failed(p, s))
                .find_map(|p| match_failure_policy(fp, p).0);
            if let Some(msg) = msg {
                st.finished = Some(new_condition(
                    "FailureTarget",
                    "True",
                    "PodFailurePolicy",
                    &msg,
                    now,
                ));
            }
        }
        if st.finished.is_none() {
            if st.failed > s.backoff_limit || past_backoff_on_failure(s, &pods) {
                st.finished = Some(new_condition(
                    "FailureTarget",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    now,
                ));
            } else if let (Some(ads), Some(start), false) = (
                s.active_deadline,
                st.status.start_time.as_ref(),
                s.suspended,
            ) {
                let deadline = add(start.0, Duration::from_secs(ads.max(0) as u64));
                if now >= deadline {
                    st.finished = Some(new_condition(
                        "FailureTarget",
                        "True",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                        now,
                    ));
                } else {
                    st.requeue_in(since(now, deadline));
                }
            }
        }
        if s.indexed {
            let completions = s.completions.unwrap_or(0);
            let mut set = parse_indexes(
                st.status.completed_indexes.as_deref().unwrap_or(""),
                completions,
            );
            for p in pods.iter().filter(|p| workload::phase(p) == "Succeeded") {
                if let Some(i) = completion_index(p).filter(|i| *i < completions) {
                    set.insert(i);
                }
            }
            st.succeeded = set.len() as i32;
            st.succeeded_indexes = set;
        }

        if st.finished.is_some() {
            let (deleted, deleted_ready) = delete_pods(ctx, raw, &active_pods, now, false);
            if deleted != active_pods.len() {
                st.finished = None;
            }
            st.active -= deleted as i32;
            st.terminating += deleted as i32;
            st.ready -= deleted_ready as i32;
        } else {
            self.manage(ctx, raw, s, &mut st, &pods, &active_pods, &record, now);
            if st.create_failed {
                let n = self.api_failures.entry(key.to_string()).or_insert(0);
                *n += 1;
                let delay = API_BACKOFF
                    .saturating_mul(1 << (*n - 1).min(6))
                    .min(MAX_API_BACKOFF);
                st.requeue_in(delay);
            } else {
                self.api_failures.remove(key);
            }
            let complete = match s.completions {
                None => st.succeeded > 0 && st.active == 0,
                Some(c) => st.succeeded >= c && st.active == 0,
            };
            if complete {
                st.finished = Some(new_condition(
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    now,
                ));
            } else {
                let conds = st.status.conditions.get_or_insert_with(Vec::new);
                // Suspended, or resumed after a suspension: the condition and its event.
                let (status, reason, message, event) = if s.suspended {
                    ("True", "JobSuspended", "Job suspended", "Suspended")
                } else {
                    ("False", "JobResumed", "Job resumed", "Resumed")
                };
                if ensure_condition(conds, "Suspended", status, reason, message, now) {
                    workload::event(ctx, now, raw, &kinds::job::KIND, "Normal", event, message);
                    if !s.suspended {
                        st.status.start_time = Some(Time(now));
                    }
                }
                if conds.is_empty() {
                    st.status.conditions = None;
                }
            }
        }
        st.status.active = Some(st.active).filter(|a| *a != 0);
        st.status.ready = Some(st.ready);
        st.status.terminating = Some(st.terminating);
        self.track(key, ctx, raw, s, st, &pods, record, &old_status, now)
    }

    /// Create or delete pods towards the wanted number of active ones (`manageJob`).
    #[allow(clippy::too_many_arguments)]
    fn manage(
        &mut self,
        ctx: &mut Shared,
        raw: &Value,
        s: &Settings,
        st: &mut SyncState,
        pods: &[Arc<Value>],
        active_pods: &[&Arc<Value>],
        record: &BackoffRecord,
        now: Timestamp,
    ) {
        if s.suspended {
            let (deleted, deleted_ready) = delete_pods(ctx, raw, active_pods, now, true);
            st.active -= deleted as i32;
            st.terminating += deleted as i32;
            st.ready -= deleted_ready as i32;
            return;
        }
        let active = active_pods.len() as i32;
        let want = match s.completions {
            None if st.succeeded > 0 => active,
            None => s.parallelism,
            Some(c) => (c - st.succeeded).clamp(0, s.parallelism),
        };
        let mut extra: Vec<&Arc<Value>> = Vec::new();
        if s.indexed {
            // Pods of an index already done, out of range, or a second one of an index.
            let mut seen = HashSet::new();
            for p in active_pods {
                match completion_index(p) {
                    Some(i)
                        if Some(i) < s.completions
                            && !st.succeeded_indexes.contains(&i)
                            && seen.insert(i) => {}
                    _ => extra.push(p),
                }
            }
        }
        let rm_at_least = (active - want).max(0) as usize;
        if extra.len() < rm_at_least {
            let mut left: Vec<&Arc<Value>> = active_pods
                .iter()
                .copied()
                .filter(|p| !extra.iter().any(|e| uid_of(e) == uid_of(p)))
                .collect();
            left.sort_by_key(|p| removal_rank(p));
            let n = rm_at_least - extra.len();
            extra.extend(left.into_iter().take(n));
        }
        extra.truncate(MAX_PER_SYNC);
        if !extra.is_empty() {
            let (deleted, deleted_ready) = delete_pods(ctx, raw, &extra, now, true);
            st.active -= deleted as i32;
            st.terminating += deleted as i32;
            st.ready -= deleted_ready as i32;
            return;
        }
        let terminating = if s.only_replace_failed {
            st.terminating
        } else {
            0
        };
        let mut diff = want - terminating - active;
        if diff <= 0 {
            return;
        }
        let remaining = record.remaining(now);
        if !remaining.is_zero() {
            st.requeue_in(remaining);
            return;
        }
        diff = diff.min(MAX_PER_SYNC as i32);
        let mut indexes: Vec<i32> = Vec::new();
        if s.indexed {
            let busy: HashSet<i32> = active_pods
                .iter()
                .filter_map(|p| completion_index(p))
                .collect();
            indexes = (0..s.completions.unwrap_or(0))
                .filter(|i| !st.succeeded_indexes.contains(i) && !busy.contains(i))
                .take(diff as usize)
                .collect();
            diff = indexes.len() as i32;
        }
        let _ = pods;
        let job_name = kinds::name_of(raw).to_string();
        let ns = kinds::namespace_of(raw).to_string();
        let mut template = raw
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        add_finalizer(&mut template);
        // Slow start: batches of 1, 2, 4, … ; a failing batch stops the rest.
        let mut batch = 1;
        let mut left = diff;
        let mut next_index = indexes.into_iter();
        while left > 0 {
            let size = batch.min(left);
            let mut failed_any = false;
            for _ in 0..size {
                let index = if s.indexed { next_index.next() } else { None };
                let (pod, prefix) = match index {
                    Some(i) => (
                        indexed_template(&template, &job_name, i),
                        format!("{job_name}-{i}-"),
                    ),
                    None => (template.clone(), format!("{job_name}-")),
                };
                let body = workload::pod_from_template(
                    &pod,
                    raw,
                    &kinds::job::KIND,
                    PodName::Generate(&prefix),
                );
                match workload::create_pod_recorded(ctx, now, raw, &kinds::job::KIND, &ns, body) {
                    Ok(_) => st.active += 1,
                    Err(_) => failed_any = true,
                }
            }
            if failed_any {
                // The key comes back after the controller's API back-off (see `sync`).
                st.create_failed = true;
                break;
            }
            left -= size;
            batch *= 2;
        }
    }

    /// Count finished pods through `uncountedTerminatedPods`, remove their finalizers, set
    /// the interim and final conditions and write the status
    /// (`trackJobStatusAndRemoveFinalizers`).
    #[allow(clippy::too_many_arguments)]
    fn track(
        &mut self,
        key: &str,
        ctx: &mut Shared,
        raw: &Value,
        s: &Settings,
        mut st: SyncState,
        pods: &[Arc<Value>],
        record: BackoffRecord,
        old_status: &JobStatus,
        now: Timestamp,
    ) -> crate::Result<Action> {
        let mut unc = st
            .status
            .uncounted_terminated_pods
            .clone()
            .unwrap_or_default();
        let mut unc_succ: Vec<String> = unc.succeeded.take().unwrap_or_default();
        let mut unc_fail: Vec<String> = unc.failed.take().unwrap_or_default();
        let with_finalizer: HashSet<String> = pods
            .iter()
            .filter(|p| has_finalizer(p))
            .map(|p| uid_of(p).to_string())
            .collect();
        clean_uncounted(
            &mut st.status,
            &mut unc_succ,
            &mut unc_fail,
            &with_finalizer,
        );

        let job_failing = st
            .finished
            .as_ref()
            .is_some_and(|c| c.type_ != "SuccessCriteriaMet");
        let mut to_release: Vec<&Arc<Value>> = Vec::new();
        for p in pods.iter().filter(|p| has_finalizer(p)) {
            let uid = uid_of(p).to_string();
            let failed = is_failed(p, s);
            let can_remove = st.finished.is_some() || workload::phase(p) == "Succeeded" || failed;
            if !can_remove || unc_succ.contains(&uid) || unc_fail.contains(&uid) {
                continue;
            }
            to_release.push(p);
            if workload::phase(p) == "Succeeded" {
                if !s.indexed {
                    unc_succ.push(uid);
                }
            } else if failed || job_failing {
                let counts = s
                    .failure_policy
                    .as_ref()
                    .is_none_or(|fp| match_failure_policy(fp, p).1);
                let in_range =
                    !s.indexed || completion_index(p).is_some_and(|i| Some(i) < s.completions);
                if counts && in_range {
                    unc_fail.push(uid);
                }
            }
        }
        if s.indexed {
            st.status.succeeded = Some(st.succeeded_indexes.len() as i32).filter(|n| *n != 0);
            let text = format_indexes(&st.succeeded_indexes);
            st.status.completed_indexes = Some(text).filter(|t| !t.is_empty());
        }
        let mut final_cond: Option<JobCondition> = None;
        if let Some(c) = st.finished.take() {
            let conds = st.status.conditions.get_or_insert_with(Vec::new);
            let reason = c.reason.clone().unwrap_or_default();
            let message = c.message.clone().unwrap_or_default();
            match c.type_.as_str() {
                "FailureTarget" => {
                    conds.push(c);
                    final_cond = Some(new_condition("Failed", "True", &reason, &message, now));
                }
                "SuccessCriteriaMet" => {
                    if !conds.iter().any(|x| x.type_ == "SuccessCriteriaMet") {
                        conds.push(c);
                    }
                    final_cond = Some(new_condition("Complete", "True", &reason, &message, now));
                }
                _ => final_cond = Some(c),
            }
        }
        set_uncounted(&mut st.status, &unc_succ, &unc_fail);
        self.write_status(ctx, raw, &st.status, old_status)?;
        self.backoff.insert(key.to_string(), record);

        let mut still_held = with_finalizer;
        for p in to_release {
            remove_finalizer(ctx, p)?;
            still_held.remove(uid_of(p));
        }
        clean_uncounted(&mut st.status, &mut unc_succ, &mut unc_fail, &still_held);
        set_uncounted(&mut st.status, &unc_succ, &unc_fail);

        let mut finished = false;
        if let Some(fc) = &final_cond
            && unc_succ.is_empty()
            && unc_fail.is_empty()
            && st.terminating == 0
        {
            let conds = st.status.conditions.get_or_insert_with(Vec::new);
            ensure_condition(
                conds,
                &fc.type_,
                "True",
                fc.reason.as_deref().unwrap_or(""),
                fc.message.as_deref().unwrap_or(""),
                now,
            );
            if fc.type_ == "Complete" {
                st.status.completion_time = Some(Time(now));
            }
            finished = true;
        }
        let before = self.current_status(ctx, raw);
        self.write_status(ctx, raw, &st.status, &before)?;
        if finished && let Some(fc) = final_cond {
            if fc.type_ == "Complete" {
                if s.completions
                    .is_some_and(|c| st.status.succeeded.unwrap_or(0) > c)
                {
                    workload::event(
                        ctx,
                        now,
                        raw,
                        &kinds::job::KIND,
                        "Warning",
                        "TooManySucceededPods",
                        "Too many succeeded pods running after completion count reached",
                    );
                }
                workload::event(
                    ctx,
                    now,
                    raw,
                    &kinds::job::KIND,
                    "Normal",
                    "Completed",
                    "Job completed",
                );
            } else {
                workload::event(
                    ctx,
                    now,
                    raw,
                    &kinds::job::KIND,
                    "Warning",
                    fc.reason.as_deref().unwrap_or(""),
                    fc.message.as_deref().unwrap_or(""),
                );
            }
            if let Some(ttl) = s.ttl {
                return Ok(Action::requeue(Duration::from_secs(ttl.max(0) as u64)));
            }
            return Ok(Action::await_change());
        }
        Ok(match st.requeue {
            Some(d) => Action::requeue(d),
            None => Action::await_change(),
        })
    }

    fn current_status(&self, ctx: &Shared, raw: &Value) -> JobStatus {
        ctx.store
            .get_raw(
                &kinds::job::KIND,
                kinds::namespace_of(raw),
                kinds::name_of(raw),
            )
            .and_then(|j| j.get("status").cloned())
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// Write the status through `/status` when it changed.
    fn write_status(
        &self,
        ctx: &Shared,
        raw: &Value,
        status: &JobStatus,
        old: &JobStatus,
    ) -> crate::Result<()> {
        if status == old {
            return Ok(());
        }
        let uid = uid_of(raw).to_string();
        let result =
            ctx.store
                .update_status::<Job>(kinds::namespace_of(raw), kinds::name_of(raw), |j| {
                    if j.metadata.uid.as_deref() == Some(uid.as_str()) {
                        j.status = Some(status.clone());
                    }
                });
        match result {
            Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Move uncounted pods whose finalizer is gone into the counters
/// (`cleanUncountedPodsWithoutFinalizers`).
fn clean_uncounted(
    status: &mut JobStatus,
    succ: &mut Vec<String>,
    fail: &mut Vec<String>,
    with_finalizer: &HashSet<String>,
) {
    let before = succ.len();
    succ.retain(|u| with_finalizer.contains(u));
    let moved = (before - succ.len()) as i32;
    if moved > 0 {
        status.succeeded = Some(status.succeeded.unwrap_or(0) + moved);
    }
    let before = fail.len();
    fail.retain(|u| with_finalizer.contains(u));
    let moved = (before - fail.len()) as i32;
    if moved > 0 {
        status.failed = Some(status.failed.unwrap_or(0) + moved);
    }
}

fn set_uncounted(status: &mut JobStatus, succ: &[String], fail: &[String]) {
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods {
        succeeded: Some(succ.to_vec()).filter(|v| !v.is_empty()),
        failed: Some(fail.to_vec()).filter(|v| !v.is_empty()),
    });
}

/// Restarts of the running and pending pods reached the backoff limit
/// (`pastBackoffLimitOnFailure`, `restartPolicy: OnFailure` only).
fn past_backoff_on_failure(s: &Settings, pods: &[Arc<Value>]) -> bool {
    if !s.on_failure {
        return false;
    }
    let restarts: i64 = pods
        .iter()
        .filter(|p| matches!(workload::phase(p), "Running" | "Pending"))
        .flat_map(|p| {
            ["/status/initContainerStatuses", "/status/containerStatuses"]
                .into_iter()
                .filter_map(|ptr| p.pointer(ptr).and_then(Value::as_array).cloned())
                .flatten()
                .collect::<Vec<_>>()
        })
        .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
        .sum();
    if s.backoff_limit == 0 {
        return restarts > 0;
    }
    restarts >= i64::from(s.backoff_limit)
}

/// Which active pods go first when there are too many (`controller.ActivePods`):
/// unscheduled, pending, not ready, then the newest.
fn removal_rank(p: &Value) -> (bool, u8, bool, std::cmp::Reverse<String>) {
    let scheduled = !kinds::str_at(p, "/spec/nodeName").is_empty();
    let phase = match workload::phase(p) {
        "Pending" => 0,
        "Running" => 2,
        _ => 1,
    };
    (
        scheduled,
        phase,
        workload::is_ready(p),
        std::cmp::Reverse(kinds::str_at(p, "/metadata/creationTimestamp").to_string()),
    )
}

/// Delete pods with the `SuccessfulDelete` event; `release` first removes the tracking
/// finalizer (`deleteJobPods`), otherwise it is left for the counting
/// (`deleteActivePods`). Returns (deleted, of which ready).
fn delete_pods(
    ctx: &mut Shared,
    job: &Value,
    pods: &[&Arc<Value>],
    now: Timestamp,
    release: bool,
) -> (usize, usize) {
    let (mut deleted, mut ready) = (0, 0);
    for p in pods {
        if release && has_finalizer(p) && remove_finalizer(ctx, p).is_err() {
            continue;
        }
        let opts = DeleteOptions {
            preconditions: Some(Preconditions {
                uid: Some(uid_of(p).to_string()),
                resource_version: None,
            }),
            ..DeleteOptions::default()
        };
        let (ns, name) = (kinds::namespace_of(p), kinds::name_of(p));
        if workload::delete_pod_recorded(ctx, now, job, &kinds::job::KIND, ns, name, &opts).is_err()
        {
            continue;
        }
        deleted += 1;
        if workload::is_ready(p) {
            ready += 1;
        }
    }
    (deleted, ready)
}

/// The template with the tracking finalizer (`appendJobCompletionFinalizerIfNotFound`).
fn add_finalizer(template: &mut Value) {
    if !template.get("metadata").is_some_and(Value::is_object) {
        template["metadata"] = json!({});
    }
    let meta = &mut template["metadata"];
    if !meta.get("finalizers").is_some_and(Value::is_array) {
        meta["finalizers"] = json!([]);
    }
    if let Some(list) = meta["finalizers"].as_array_mut()
        && !list.iter().any(|f| f.as_str() == Some(TRACKING_FINALIZER))
    {
        list.push(json!(TRACKING_FINALIZER));
    }
}

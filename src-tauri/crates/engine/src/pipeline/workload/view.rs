//! The per-workload view the mission screen shows: a workload's own *apply* stage (stuck or
//! failed when the object itself is what is broken), the diagnosis that goes with it, the READY
//! cell and one-line summary `kubectl get` would print, and its pods, new revision first. The
//! ownership it reads (which pods belong to which workload, which ReplicaSet is new) comes from
//! the parent module.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};
use serde::Serialize;
use ts_rs::TS;

use super::{PodOwner, RevisionRole, WorkloadKind, WorkloadObject, Workloads, controller_ref};
use crate::diagnose::{Diagnosis, StuckPod, Termination, WorkloadSymptom, diagnose_workload};
use crate::pipeline::{EventFact, FieldFact, PodEvent, PodPipeline, Stage, StageKind, StageState};

/// One workload as the mission screen shows it: its own *apply* stage, the diagnosis when the
/// object itself is stuck, its rollout position and its pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadView {
    pub kind: WorkloadKind,
    pub name: String,
    pub uid: String,
    /// A Deployment's `deployment.kubernetes.io/revision`.
    pub revision: Option<u64>,
    /// A Deployment's new ReplicaSet, while there is one.
    pub new_replica_set: Option<String>,
    /// `kubectl get`'s READY cell (`2/3`); a Job's COMPLETIONS (`0/1`).
    pub ready: String,
    /// One line: `2/3 ready, 1 up-to-date, 1 available`, `rolling out revision 2: 1 new pod,
    /// 2 old`, `0/1 completions, 2 failed`.
    pub summary: String,
    /// The object's own stage: done once the API server accepted it, stuck or failed when the
    /// workload itself is the broken thing.
    pub applied: Stage,
    pub diagnosis: Option<Diagnosis>,
    /// Its pods, new revision first, then by name.
    pub pods: Vec<String>,
}

impl WorkloadView {
    /// A copy with every "time ago" text blanked, so two views built at different moments
    /// compare equal when nothing but the clock moved.
    pub fn without_ages(&self) -> WorkloadView {
        let mut v = self.clone();
        if let Some(e) = &mut v.applied.evidence.event {
            e.age.clear();
        }
        v
    }

    /// One line for `kq` and test snapshots.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{}/{} {}  {}  applied {}",
            self.kind.resource(),
            self.name,
            self.ready,
            self.summary,
            self.applied.state.as_str()
        );
        if let Some(r) = &self.applied.reason {
            out.push_str(&format!(" {r}"));
        }
        if let Some(d) = &self.diagnosis {
            out.push_str(&format!(
                "\n  diagnosis: {} -> {}",
                d.reason,
                d.commands.first().map(String::as_str).unwrap_or("-")
            ));
        }
        out
    }
}

/// The events about one workload object, flattened, oldest first.
pub(crate) fn events_about(events: &[Event], kind: &str, name: &str, uid: &str) -> Vec<PodEvent> {
    let mut out: Vec<PodEvent> = events
        .iter()
        .filter(|e| {
            let o = &e.involved_object;
            o.kind.as_deref() == Some(kind)
                && o.name.as_deref() == Some(name)
                && o.uid
                    .as_deref()
                    .is_none_or(|u| u.is_empty() || uid.is_empty() || u == uid)
        })
        .map(PodEvent::from_event)
        .collect();
    out.sort_by_key(|e| (e.last_seen, e.first_seen));
    out
}

fn latest<'a>(events: &'a [PodEvent], reason: &str) -> Option<&'a PodEvent> {
    events.iter().rev().find(|e| e.reason == reason)
}

/// A refused pod creation still in force: a `FailedCreate` event at least as recent as the last
/// `SuccessfulCreate`, while the object has fewer live pods than it wants.
fn refusal(events: &[PodEvent], live: usize, desired: Option<i32>) -> Option<&PodEvent> {
    let failed = latest(events, "FailedCreate")?;
    let created = latest(events, "SuccessfulCreate");
    let newer = created.is_none_or(|c| failed.last_seen >= c.last_seen);
    let missing = desired.is_none_or(|d| usize::try_from(d).unwrap_or(0) > live);
    (newer && missing).then_some(failed)
}

struct Problem<'a> {
    state: StageState,
    reason: String,
    message: Option<String>,
    field: Option<FieldFact>,
    event: Option<&'a PodEvent>,
    symptom_kind: WorkloadKind,
    symptom_name: String,
    limit: Option<i64>,
}

fn condition_problem<'a>(
    o: &WorkloadObject,
    type_: &str,
    status: &str,
    reasons: Option<&[&str]>,
) -> Option<Problem<'a>> {
    let conds = o.conditions();
    let c = conds.iter().find(|c| {
        c.type_ == type_
            && c.status == status
            && reasons.is_none_or(|r| c.reason.is_some_and(|x| r.contains(&x)))
    })?;
    let reason = c.reason.unwrap_or(c.type_).to_owned();
    Some(Problem {
        state: StageState::Stuck,
        field: Some(FieldFact {
            path: format!("status.conditions[{}].reason", c.index),
            value: reason.clone(),
        }),
        reason,
        message: c.message.map(str::to_owned),
        event: None,
        symptom_kind: o.kind(),
        symptom_name: o.name().to_owned(),
        limit: None,
    })
}

/// The reason a pod's pipeline is stuck with, for a diagnosis sentence (`ImagePullBackOff`).
fn stuck_reason(p: &PodPipeline) -> Option<(StageKind, String)> {
    let s = p.stuck_stage()?;
    Some((s.kind, s.reason.clone().unwrap_or_else(|| p.status.clone())))
}

/// How a failed pod's first terminated container ended (`Error (exit code 1)`).
fn pod_end(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.terminated.as_ref())
        .map(|t| Termination::from_state(t).describe())
}

/// Builds the view of one top-level workload from the namespace's state.
pub fn build_workload_view(
    workloads: &Workloads,
    object: &WorkloadObject,
    pods: &[Pod],
    pipelines: &[&PodPipeline],
    events: &[Event],
    now: Timestamp,
) -> WorkloadView {
    let kind = object.kind();
    let name = object.name().to_owned();
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    let mut owned: Vec<(&Pod, Option<PodOwner>)> = workloads
        .pods_of(kind, &name, pods)
        .into_iter()
        .map(|p| (p, workloads.owner_of(p)))
        .collect();
    owned.sort_by_key(|(p, o)| {
        (
            o.as_ref().and_then(|o| o.role) != Some(RevisionRole::New),
            p.metadata.name.clone(),
        )
    });
    let live = owned
        .iter()
        .filter(|(p, _)| p.metadata.deletion_timestamp.is_none())
        .count();
    let pipeline_of = |pod: &Pod| {
        pipelines
            .iter()
            .find(|pl| Some(&pl.uid) == pod.metadata.uid.as_ref() && !pl.uid.is_empty())
            .or_else(|| {
                pipelines
                    .iter()
                    .find(|pl| Some(&pl.pod) == pod.metadata.name.as_ref())
            })
            .copied()
    };
    let own_events = events_about(events, kind.as_str(), &name, object.uid());
    let new_rs = match kind {
        WorkloadKind::Deployment => workloads.new_replica_set(&name),
        _ => None,
    };
    let new_rs_name = new_rs.and_then(|rs| rs.metadata.name.clone());

    // What is wrong with the object itself, most telling first.
    let mut rs_events: Vec<PodEvent> = Vec::new();
    let mut problem: Option<Problem<'_>> = match object {
        WorkloadObject::Deployment(d) => {
            let deadline = d
                .spec
                .as_ref()
                .and_then(|s| s.progress_deadline_seconds)
                .map(i64::from);
            let mut problem = condition_problem(
                object,
                "Progressing",
                "False",
                Some(&["ProgressDeadlineExceeded"]),
            )
            .map(|p| Problem {
                limit: deadline,
                ..p
            })
            .or_else(|| condition_problem(object, "ReplicaFailure", "True", None))
            .or_else(|| {
                condition_problem(
                    object,
                    "Progressing",
                    "False",
                    Some(&["ReplicaSetCreateError"]),
                )
            });
            // The refusal itself is on the ReplicaSet (its condition and its events); a
            // Deployment copies only the condition.
            let mut sets = workloads.replica_sets_of(&name);
            sets.sort_by_key(|rs| rs.metadata.name != new_rs_name);
            for rs in sets {
                let rs_name = rs.metadata.name.clone().unwrap_or_default();
                let evs = events_about(
                    events,
                    "ReplicaSet",
                    &rs_name,
                    rs.metadata.uid.as_deref().unwrap_or_default(),
                );
                let rs_obj = WorkloadObject::ReplicaSet(rs.clone());
                let rs_live = workloads
                    .pods_of(WorkloadKind::Deployment, &name, pods)
                    .iter()
                    .filter(|p| {
                        controller_ref(&p.metadata).is_some_and(|r| r.name == rs_name)
                            && p.metadata.deletion_timestamp.is_none()
                    })
                    .count();
                let refused = refusal(&evs, rs_live, rs_obj.desired()).is_some()
                    || condition_problem(&rs_obj, "ReplicaFailure", "True", None).is_some();
                if refused {
                    let (message, event_reason) = match latest(&evs, "FailedCreate") {
                        Some(e) => (Some(e.message.clone()), e.reason.clone()),
                        None => (None, "FailedCreate".to_owned()),
                    };
                    let base = problem.take();
                    let keep_deadline = base
                        .as_ref()
                        .is_some_and(|p| p.reason == "ProgressDeadlineExceeded");
                    problem = Some(match base {
                        Some(p) if keep_deadline => p,
                        Some(p) => Problem {
                            message: message.or(p.message),
                            symptom_kind: WorkloadKind::ReplicaSet,
                            symptom_name: rs_name.clone(),
                            ..p
                        },
                        None => Problem {
                            state: StageState::Stuck,
                            reason: event_reason,
                            message,
                            field: None,
                            event: None,
                            symptom_kind: WorkloadKind::ReplicaSet,
                            symptom_name: rs_name.clone(),
                            limit: None,
                        },
                    });
                    rs_events = evs;
                    break;
                }
            }
            problem
        }
        WorkloadObject::Job(j) => {
            let spec = j.spec.as_ref();
            condition_problem(object, "Failed", "True", None)
                .or_else(|| condition_problem(object, "FailureTarget", "True", None))
                .map(|p| {
                    let limit = match p.reason.as_str() {
                        "DeadlineExceeded" => spec.and_then(|s| s.active_deadline_seconds),
                        "BackoffLimitExceeded" => {
                            Some(i64::from(spec.and_then(|s| s.backoff_limit).unwrap_or(6)))
                        }
                        _ => None,
                    };
                    Problem {
                        state: StageState::Failed,
                        limit,
                        ..p
                    }
                })
        }
        _ => condition_problem(object, "ReplicaFailure", "True", None),
    };
    if problem.is_none()
        && kind != WorkloadKind::Deployment
        && let Some(e) = refusal(&own_events, live, object.desired())
    {
        problem = Some(Problem {
            state: StageState::Stuck,
            reason: e.reason.clone(),
            message: Some(e.message.clone()),
            field: None,
            event: Some(e),
            symptom_kind: kind,
            symptom_name: name.clone(),
            limit: None,
        });
    }

    let mut applied = Stage {
        id: "applied".into(),
        kind: StageKind::Applied,
        label: StageKind::Applied.label().into(),
        container: None,
        state: StageState::Done,
        reason: None,
        message: None,
        evidence: Default::default(),
    };
    if let Some(t) = &object.meta().creation_timestamp {
        applied.evidence.fields.push(FieldFact {
            path: "metadata.creationTimestamp".into(),
            value: t.0.to_string(),
        });
    }
    let mut diagnosis = None;
    if let Some(p) = problem {
        applied.evidence.fields.clear();
        applied.state = p.state;
        applied.reason = Some(p.reason.clone());
        applied.message = p.message.clone().filter(|m| !m.is_empty());
        applied.evidence.fields.extend(p.field);
        let event = p
            .event
            .or_else(|| latest(&rs_events, "FailedCreate"))
            .or_else(|| latest(&own_events, &p.reason))
            .or_else(|| own_events.iter().rev().find(|e| e.type_ == "Warning"));
        applied.evidence.event = event.map(|e| EventFact::from_event(e, now));
        // The pod that keeps it stuck: a stuck new pod of a rollout, a Job's last failed pod.
        let stuck: Option<(String, StageKind, String)> = match kind {
            WorkloadKind::Job => owned
                .iter()
                .filter(|(p, _)| {
                    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
                })
                .max_by_key(|(p, _)| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
                .and_then(|(p, _)| {
                    let end = pod_end(p)
                        .or_else(|| pipeline_of(p).and_then(stuck_reason).map(|(_, r)| r))?;
                    Some((
                        p.metadata.name.clone().unwrap_or_default(),
                        StageKind::Running,
                        end,
                    ))
                }),
            _ => owned
                .iter()
                .filter(|(_, o)| {
                    new_rs_name.is_none()
                        || o.as_ref().and_then(|o| o.role) == Some(RevisionRole::New)
                })
                .find_map(|(p, _)| {
                    let (stage, reason) = pipeline_of(p).and_then(stuck_reason)?;
                    Some((p.metadata.name.clone().unwrap_or_default(), stage, reason))
                }),
        };
        let owner = (p.symptom_kind != kind).then_some((kind.as_str(), name.as_str()));
        let symptom = WorkloadSymptom {
            namespace: &namespace,
            kind: p.symptom_kind.as_str(),
            name: &p.symptom_name,
            owner,
            reason: &p.reason,
            message: applied.message.as_deref(),
            limit: p.limit,
            replica_set: new_rs_name.as_deref(),
            stuck_pod: stuck.as_ref().map(|(pod, stage, reason)| StuckPod {
                pod,
                stage: *stage,
                reason,
            }),
        };
        diagnosis = Some(diagnose_workload(&symptom));
    }

    let (ready, summary) = summary(object, &owned, new_rs_name.as_deref());
    WorkloadView {
        kind,
        name,
        uid: object.uid().to_owned(),
        revision: object.revision(),
        new_replica_set: new_rs_name,
        ready,
        summary,
        applied,
        diagnosis,
        pods: owned
            .iter()
            .filter_map(|(p, _)| p.metadata.name.clone())
            .collect(),
    }
}

/// The READY cell and the one-line summary.
fn summary(
    object: &WorkloadObject,
    owned: &[(&Pod, Option<PodOwner>)],
    new_rs: Option<&str>,
) -> (String, String) {
    match object {
        WorkloadObject::Deployment(d) => {
            let s = d.status.clone().unwrap_or_default();
            let want = object.desired().unwrap_or(1);
            let ready = format!("{}/{want}", s.ready_replicas.unwrap_or(0));
            let new = owned
                .iter()
                .filter(|(_, o)| o.as_ref().and_then(|o| o.role) == Some(RevisionRole::New))
                .count();
            let old = owned.len() - new;
            let mut line = format!(
                "{ready} ready, {} up-to-date, {} available",
                s.updated_replicas.unwrap_or(0),
                s.available_replicas.unwrap_or(0)
            );
            if new_rs.is_some() && old > 0 {
                let revision = object
                    .revision()
                    .map(|r| format!(" revision {r}"))
                    .unwrap_or_default();
                line.push_str(&format!(
                    "; rolling out{revision}: {new} new pod{}, {old} old",
                    if new == 1 { "" } else { "s" }
                ));
            }
            (ready, line)
        }
        WorkloadObject::Job(j) => {
            let s = j.status.clone().unwrap_or_default();
            let completions = j
                .spec
                .as_ref()
                .and_then(|s| s.completions)
                .map_or_else(|| "1".to_owned(), |c| c.to_string());
            let ready = format!("{}/{completions}", s.succeeded.unwrap_or(0));
            let line = format!(
                "{ready} completions, {} active, {} failed",
                s.active.unwrap_or(0),
                s.failed.unwrap_or(0)
            );
            (ready, line)
        }
        WorkloadObject::ReplicaSet(rs) => {
            let s = rs.status.clone().unwrap_or_default();
            let ready = format!(
                "{}/{}",
                s.ready_replicas.unwrap_or(0),
                object.desired().unwrap_or(1)
            );
            (ready.clone(), format!("{ready} ready"))
        }
        WorkloadObject::StatefulSet(sts) => {
            let s = sts.status.clone().unwrap_or_default();
            let ready = format!(
                "{}/{}",
                s.ready_replicas.unwrap_or(0),
                object.desired().unwrap_or(1)
            );
            (
                ready.clone(),
                format!("{ready} ready, {} updated", s.updated_replicas.unwrap_or(0)),
            )
        }
        WorkloadObject::DaemonSet(ds) => {
            let s = ds.status.clone().unwrap_or_default();
            let ready = format!("{}/{}", s.number_ready, s.desired_number_scheduled);
            (
                ready.clone(),
                format!(
                    "{ready} ready, {} up-to-date, {} available",
                    s.updated_number_scheduled.unwrap_or(0),
                    s.number_available.unwrap_or(0)
                ),
            )
        }
    }
}

/// The views of every top-level workload: each Deployment, StatefulSet, DaemonSet and Job, and
/// each ReplicaSet no Deployment controls. A Deployment's ReplicaSets are part of its view.
pub fn workload_views(
    workloads: &Workloads,
    pods: &[Pod],
    pipelines: &[&PodPipeline],
    events: &[Event],
    now: Timestamp,
) -> Vec<WorkloadView> {
    let mut out = Vec::new();
    for kind in WorkloadKind::ALL {
        for o in workloads.iter().filter(|o| o.kind() == kind) {
            if kind == WorkloadKind::ReplicaSet
                && controller_ref(o.meta()).is_some_and(|r| r.kind == "Deployment")
            {
                continue;
            }
            out.push(build_workload_view(
                workloads, o, pods, pipelines, events, now,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{NS, deployment, pod, replica_set, rollout};
    use super::*;
    use k8s_openapi::api::batch::v1::Job;
    use serde_json::json;

    fn now() -> Timestamp {
        "2025-03-01T10:10:00Z".parse().expect("valid")
    }

    #[test]
    fn a_rollout_in_progress_shows_new_pods_first_and_its_position() {
        let (w, pods) = rollout(json!([
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
             "message": "ReplicaSet \"web-5d8f9c7b4d\" is progressing."}
        ]));
        let views = workload_views(&w, &pods, &[], &[], now());
        assert_eq!(
            views.len(),
            1,
            "the ReplicaSets are part of their Deployment's view"
        );
        let v = &views[0];
        assert_eq!(
            v.applied.state,
            StageState::Done,
            "nothing is wrong with the object yet"
        );
        assert_eq!(v.new_replica_set.as_deref(), Some("web-5d8f9c7b4d"));
        assert_eq!(
            v.pods[0], "web-5d8f9c7b4d-xxxxx",
            "the new revision's pod first"
        );
        assert_eq!(v.ready, "3/3");
        assert_eq!(
            v.summary,
            "3/3 ready, 1 up-to-date, 3 available; rolling out revision 2: 1 new pod, 3 old"
        );
        assert_eq!(v.diagnosis, None);
    }

    #[test]
    fn a_stuck_rollout_is_stuck_at_apply_with_the_new_pods_own_reason() {
        let (w, pods) = rollout(json!([
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"web-5d8f9c7b4d\" has timed out progressing."}
        ]));
        let events: Vec<Event> = Vec::new();
        let pipelines: Vec<PodPipeline> = pods
            .iter()
            .map(|p| crate::pipeline::build_pipeline(p, &events, now()))
            .collect();
        let refs: Vec<&PodPipeline> = pipelines.iter().collect();
        let v = &workload_views(&w, &pods, &refs, &events, now())[0];
        assert_eq!(v.applied.state, StageState::Stuck);
        assert_eq!(
            v.applied.reason.as_deref(),
            Some("ProgressDeadlineExceeded")
        );
        assert_eq!(
            v.applied.evidence.fields[0],
            FieldFact {
                path: "status.conditions[1].reason".into(),
                value: "ProgressDeadlineExceeded".into()
            }
        );
        let d = v.diagnosis.as_ref().expect("diagnosed");
        assert_eq!(d.stage, StageKind::Applied);
        assert!(
            d.explanation.contains(
                "its pod `web-5d8f9c7b4d-xxxxx` is stuck at the pull stage with ImagePullBackOff"
            ),
            "the stuck new pod and its own reason: {}",
            d.explanation
        );
        assert_eq!(
            d.commands[0],
            "kubectl rollout status deployment/web -n kq-rollout"
        );
        assert!(
            v.render_text()
                .contains("applied stuck ProgressDeadlineExceeded")
        );
    }

    fn event(kind: &str, name: &str, uid: &str, reason: &str, message: &str, at: &str) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{name}.{reason}"), "namespace": NS},
            "involvedObject": {"kind": kind, "name": name, "namespace": NS, "uid": uid},
            "type": if reason.starts_with("Failed") { "Warning" } else { "Normal" },
            "reason": reason, "message": message, "count": 3,
            "firstTimestamp": at, "lastTimestamp": at,
            "source": {"component": "replicaset-controller"}
        }))
        .expect("an Event")
    }

    #[test]
    fn a_refused_pod_creation_is_stuck_at_apply_with_the_replica_sets_event() {
        let mut w = Workloads::new();
        w.apply(deployment("nginx:1.27", 1, json!([
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetCreated"},
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
             "message": "pods \"web-7c5ddbdf54-k2x8p\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2"}
        ])));
        w.apply(replica_set("7c5ddbdf54", "nginx:1.27", 1, 3));
        let msg = "Error creating: pods \"web-7c5ddbdf54-k2x8p\" is forbidden: exceeded quota: \
                   pods, requested: pods=1, used: pods=2, limited: pods=2";
        let events = vec![
            event(
                "ReplicaSet",
                "web-7c5ddbdf54",
                "rs-7c5ddbdf54",
                "SuccessfulCreate",
                "Created pod: web-7c5ddbdf54-aaaaa",
                "2025-03-01T10:00:01Z",
            ),
            event(
                "ReplicaSet",
                "web-7c5ddbdf54",
                "rs-7c5ddbdf54",
                "FailedCreate",
                msg,
                "2025-03-01T10:09:30Z",
            ),
        ];
        let pods = vec![pod(
            "web-7c5ddbdf54-aaaaa",
            "7c5ddbdf54",
            "nginx:1.27",
            None,
        )];
        let v = &workload_views(&w, &pods, &[], &events, now())[0];
        assert_eq!(v.applied.state, StageState::Stuck);
        assert_eq!(v.applied.reason.as_deref(), Some("FailedCreate"));
        assert_eq!(v.applied.message.as_deref(), Some(msg), "the event's words");
        let e = v
            .applied
            .evidence
            .event
            .as_ref()
            .expect("the ReplicaSet's event");
        assert_eq!(
            (e.reason.as_str(), e.count, e.age.as_str()),
            ("FailedCreate", 3, "30s")
        );
        let d = v.diagnosis.as_ref().expect("diagnosed");
        assert!(
            d.explanation
                .starts_with("The ReplicaSet `web-7c5ddbdf54` of the Deployment `web`"),
            "{}",
            d.explanation
        );
        assert!(d.commands.iter().any(|c| c.contains("resourcequota")));
    }

    #[test]
    fn a_failed_job_names_its_limit_and_its_last_failed_pod() {
        let mut w = Workloads::new();
        let job: Job = serde_json::from_value(json!({
            "metadata": {"name": "report", "namespace": NS, "uid": "j-1"},
            "spec": {
                "backoffLimit": 2,
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j-1"}},
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "report", "image": "busybox:1.36"}]}}
            },
            "status": {"failed": 3, "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}
            ]}
        }))
        .unwrap();
        w.apply(WorkloadObject::Job(job));
        let failed: Pod = serde_json::from_value(json!({
            "metadata": {
                "name": "report-7tq2z", "namespace": NS, "uid": "p-1",
                "creationTimestamp": "2025-03-01T10:05:00Z",
                "labels": {"batch.kubernetes.io/controller-uid": "j-1", "job-name": "report"},
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report",
                                     "uid": "j-1", "controller": true}]
            },
            "spec": {"restartPolicy": "Never", "containers": [{"name": "report", "image": "busybox:1.36"}]},
            "status": {"phase": "Failed", "containerStatuses": [{
                "name": "report", "image": "busybox:1.36", "imageID": "sha256:2", "ready": false,
                "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}
            }]}
        }))
        .unwrap();
        let v = &workload_views(&w, &[failed], &[], &[], now())[0];
        assert_eq!(
            v.applied.state,
            StageState::Failed,
            "a Job that gave up does not retry"
        );
        assert_eq!(v.applied.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert_eq!(v.ready, "0/1");
        assert_eq!(v.summary, "0/1 completions, 0 active, 3 failed");
        let d = v.diagnosis.as_ref().expect("diagnosed");
        assert!(
            d.explanation.contains("after 2 failed attempts")
                && d.explanation
                    .contains("`report-7tq2z`, ended with Error (exit code 1)"),
            "{}",
            d.explanation
        );
    }
}

//! Why a workload (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job) is stuck, when the
//! workload object itself is the broken thing rather than one of its pods: a rollout past its
//! progress deadline, a controller whose pod creations the API server refuses, a Job that gave
//! up. These show at the *apply* stage of the workload's rail.
//!
//! Kubernetes keeps the facts in the workload's status and events: the Deployment's
//! `Progressing` condition (`pkg/controller/deployment/progress.go`, reason
//! `ProgressDeadlineExceeded`), the `ReplicaFailure` condition and the `FailedCreate` event of the
//! controllers (`pkg/controller/replicaset/replica_set_utils.go`,
//! `pkg/controller/controller_utils.go`), and the Job's `Failed` condition
//! (`pkg/controller/job/job_controller.go`, reasons `BackoffLimitExceeded` and
//! `DeadlineExceeded`). As for pods, this module only chooses which words apply; the words are in
//! `lessons/diagnoses.yaml`.

use super::texts::{DiagnosisTexts, render};
use super::{Diagnosis, section_of};
use crate::stage::{ReasonKind, StageKind};

/// The pod that keeps a workload from progressing, as its own pipeline shows it.
#[derive(Debug, Clone, Copy)]
pub struct StuckPod<'a> {
    pub pod: &'a str,
    /// The stage the pod is stuck at.
    pub stage: StageKind,
    /// The pod's own reason there (`ImagePullBackOff`, `Error (exit code 1)`).
    pub reason: &'a str,
}

/// The facts found about one workload problem.
#[derive(Debug, Clone, Default)]
pub struct WorkloadSymptom<'a> {
    pub namespace: &'a str,
    /// `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet` or `Job`.
    pub kind: &'a str,
    pub name: &'a str,
    /// The workload that owns this one (a Deployment for its ReplicaSet), as (kind, name).
    pub owner: Option<(&'a str, &'a str)>,
    /// The condition's or event's reason, as Kubernetes wrote it.
    pub reason: &'a str,
    /// The condition's or event's message.
    pub message: Option<&'a str>,
    /// The limit that ran out: `progressDeadlineSeconds`, `backoffLimit` or
    /// `activeDeadlineSeconds`.
    pub limit: Option<i64>,
    /// For a stuck rollout: the new ReplicaSet.
    pub replica_set: Option<&'a str>,
    /// The pod whose own problem keeps the workload stuck (a stuck rollout's new pod, a Job's
    /// last failed pod).
    pub stuck_pod: Option<StuckPod<'a>>,
}

/// Explains one workload problem, in the words of [`DiagnosisTexts::current`].
pub fn diagnose_workload(s: &WorkloadSymptom<'_>) -> Diagnosis {
    let t = DiagnosisTexts::current();
    let kind = ReasonKind::from_workload_reason(s.reason);
    let section = section_of(kind);
    let resource = s.kind.to_ascii_lowercase();
    let describe = format!("kubectl describe {resource} {} -n {}", s.name, s.namespace);
    let who = match s.owner {
        Some((owner_kind, owner)) => render(
            t.text("workload-common", "who-owned"),
            &[
                ("kind", s.kind),
                ("name", s.name),
                ("owner_kind", owner_kind),
                ("owner", owner),
            ],
        ),
        None => render(
            t.text("workload-common", "who-workload"),
            &[("kind", s.kind), ("name", s.name)],
        ),
    };
    let quoted = s
        .message
        .filter(|m| !m.is_empty())
        .map(|m| render(t.text("common", "quoted"), &[("message", m)]))
        .unwrap_or_default();
    let base: [(&str, &str); 9] = [
        ("who", &who),
        ("kind", s.kind),
        ("name", s.name),
        ("namespace", s.namespace),
        ("resource", &resource),
        ("reason", s.reason),
        ("describe", &describe),
        ("quoted", &quoted),
        ("message", s.message.unwrap_or_default()),
    ];
    let fill = |key: &str, extra: &[(&str, &str)]| {
        let vars: Vec<(&str, &str)> = extra.iter().chain(&base).copied().collect();
        render(t.text(section, key), &vars)
    };
    let commands = |key: &str| -> Vec<String> {
        t.list(section, key)
            .iter()
            .map(|c| render(c, &base))
            .collect()
    };
    let limit = s.limit.map(|l| l.to_string()).unwrap_or_default();
    let (title, explanation, commands) = match kind {
        ReasonKind::ProgressDeadlineExceeded => {
            let deadline = if limit.is_empty() { "600" } else { &limit };
            let stuck = match (s.replica_set, s.stuck_pod) {
                (Some(rs), Some(p)) => fill(
                    "stuck-pod",
                    &[
                        ("replica_set", rs),
                        ("pod", p.pod),
                        ("stage", p.stage.lesson_name()),
                        ("pod_reason", p.reason),
                    ],
                ),
                (Some(rs), None) => fill("stuck-replica-set", &[("replica_set", rs)]),
                _ => String::new(),
            };
            (
                fill("title", &[]),
                fill("explanation", &[("deadline", deadline), ("stuck", &stuck)]),
                commands("commands"),
            )
        }
        ReasonKind::FailedCreate => {
            let cause = super::security::refusal_cause(s.message.unwrap_or_default());
            let mut cmds = commands("commands");
            if let Some(key) = cause.commands {
                cmds.extend(commands(key));
            }
            let vars: Vec<(&str, &str)> =
                cause.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (
                fill("title", &[]),
                fill("explanation", &[("cause", &fill(cause.key, &vars))]),
                cmds,
            )
        }
        ReasonKind::BackoffLimitExceeded => {
            let pod_detail = s
                .stuck_pod
                .map(|p| fill("pod-detail", &[("pod", p.pod), ("pod_reason", p.reason)]))
                .unwrap_or_default();
            // The API server defaults backoffLimit to 6.
            let backoff = if limit.is_empty() { "6" } else { &limit };
            (
                fill("title", &[]),
                fill(
                    "explanation",
                    &[("limit", backoff), ("pod_detail", &pod_detail)],
                ),
                commands("commands"),
            )
        }
        ReasonKind::JobDeadlineExceeded => (
            fill("title", &[]),
            fill("explanation", &[("deadline", &limit)]),
            commands("commands"),
        ),
        // Any other reason a workload reports: shown as Kubernetes gave it.
        _ => {
            let t_other = |key: &str, extra: &[(&str, &str)]| {
                let vars: Vec<(&str, &str)> = extra.iter().chain(&base).copied().collect();
                render(t.text("Other", key), &vars)
            };
            let detail = s
                .message
                .map(|m| t_other("message-detail", &[("message", m)]))
                .unwrap_or_default();
            (
                t_other("title", &[("pod", s.name)]),
                t_other("explanation", &[("detail", &detail)]),
                vec![describe.clone()],
            )
        }
    };
    Diagnosis {
        kind,
        reason: s.reason.to_owned(),
        stage: StageKind::Applied,
        container: None,
        title,
        explanation,
        commands,
        last_termination: None,
        fit_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuck_rollout() -> WorkloadSymptom<'static> {
        WorkloadSymptom {
            namespace: "kq-stuck-rollout",
            kind: "Deployment",
            name: "web",
            reason: "ProgressDeadlineExceeded",
            message: Some("ReplicaSet \"web-5d8f9c7b4d\" has timed out progressing."),
            limit: Some(600),
            replica_set: Some("web-5d8f9c7b4d"),
            stuck_pod: Some(StuckPod {
                pod: "web-5d8f9c7b4d-x2b9k",
                stage: StageKind::ImagePulled,
                reason: "ImagePullBackOff",
            }),
            ..WorkloadSymptom::default()
        }
    }

    #[test]
    fn a_stuck_rollout_names_the_new_replica_set_its_pod_and_the_rollout_commands() {
        let d = diagnose_workload(&stuck_rollout());
        assert_eq!(d.kind, ReasonKind::ProgressDeadlineExceeded);
        assert_eq!(d.stage, StageKind::Applied, "the workload itself is stuck");
        assert_eq!(d.title, "The rollout of `web` is stuck");
        for needle in [
            "600 seconds",
            "`Progressing` condition to False",
            "(`ReplicaSet \"web-5d8f9c7b4d\" has timed out progressing.`)",
            "new ReplicaSet `web-5d8f9c7b4d`",
            "pod `web-5d8f9c7b4d-x2b9k` is stuck at the pull stage with ImagePullBackOff",
            "does not roll back by itself",
        ] {
            assert!(
                d.explanation.contains(needle),
                "{needle}: {}",
                d.explanation
            );
        }
        assert_eq!(
            d.commands,
            [
                "kubectl rollout status deployment/web -n kq-stuck-rollout",
                "kubectl rollout undo deployment/web -n kq-stuck-rollout",
                "kubectl describe deployment web -n kq-stuck-rollout",
            ]
        );
    }

    #[test]
    fn a_refused_pod_is_explained_by_the_api_servers_answer() {
        let quota = "pods \"web-7c5ddbdf54-x2b9k\" is forbidden: exceeded quota: compute, \
                     requested: cpu=500m, used: cpu=1, limited: cpu=1";
        let msg = format!("Error creating: {quota}");
        let s = WorkloadSymptom {
            namespace: "kq-quota",
            kind: "ReplicaSet",
            name: "web-7c5ddbdf54",
            owner: Some(("Deployment", "web")),
            reason: "FailedCreate",
            message: Some(&msg),
            ..WorkloadSymptom::default()
        };
        let d = diagnose_workload(&s);
        assert_eq!(d.kind, ReasonKind::FailedCreate);
        assert!(
            d.explanation.starts_with(
                "The ReplicaSet `web-7c5ddbdf54` of the Deployment `web` asked the API server"
            ),
            "{}",
            d.explanation
        );
        assert!(d.explanation.contains(quota), "the refusal word for word");
        assert!(d.explanation.contains("ResourceQuota"), "{}", d.explanation);
        assert_eq!(
            d.commands,
            [
                "kubectl describe replicaset web-7c5ddbdf54 -n kq-quota",
                "kubectl get events -n kq-quota --field-selector reason=FailedCreate",
                "kubectl describe resourcequota -n kq-quota",
            ]
        );

        let admission = "Error creating: pods \"web-7c5ddbdf54-\" is forbidden: error looking \
                         up service account kq-quota/foo: serviceaccount \"foo\" not found";
        let d = diagnose_workload(&WorkloadSymptom {
            message: Some(admission),
            ..s
        });
        assert!(d.explanation.contains("admission"), "{}", d.explanation);
        assert!(
            !d.commands.iter().any(|c| c.contains("resourcequota")),
            "no quota command for an admission refusal: {:?}",
            d.commands
        );
        assert_eq!(
            d.commands.last().map(String::as_str),
            Some("kubectl get serviceaccounts -n kq-quota"),
            "the missing ServiceAccount's refusal shows the namespace's ServiceAccounts"
        );
    }

    #[test]
    fn job_failures_say_which_limit_ran_out() {
        let s = WorkloadSymptom {
            namespace: "kq-jobs",
            kind: "Job",
            name: "report",
            reason: "BackoffLimitExceeded",
            message: Some("Job has reached the specified backoff limit"),
            limit: Some(2),
            stuck_pod: Some(StuckPod {
                pod: "report-7tq2z",
                stage: StageKind::Running,
                reason: "Error (exit code 1)",
            }),
            ..WorkloadSymptom::default()
        };
        let d = diagnose_workload(&s);
        assert_eq!(d.kind, ReasonKind::BackoffLimitExceeded);
        assert!(
            d.explanation.contains("after 2 failed attempts")
                && d.explanation
                    .contains("last failed pod, `report-7tq2z`, ended with Error (exit code 1)"),
            "{}",
            d.explanation
        );
        assert_eq!(d.commands[1], "kubectl logs job/report -n kq-jobs");

        let d = diagnose_workload(&WorkloadSymptom {
            reason: "DeadlineExceeded",
            message: Some("Job was active longer than specified deadline"),
            limit: Some(30),
            stuck_pod: None,
            ..s
        });
        assert_eq!(d.kind, ReasonKind::JobDeadlineExceeded);
        assert_eq!(
            d.reason, "DeadlineExceeded",
            "the reason as Kubernetes wrote it"
        );
        assert!(d.explanation.contains("30 seconds"), "{}", d.explanation);
    }
}

//! When a diagnosis may explain itself.
//!
//! The mission screen always shows what Kubernetes itself says about a stuck pod: the stuck
//! stage, the status, the reason and the evidence (the status message, the latest event). The
//! diagnosis's explanation and its commands say more than that (the cause, the next step), so
//! they stay hidden until the learner has done the investigating command the diagnosis stands
//! for, or has asked for a hint. Until then the screen says what to run ("Investigate: run
//! `kubectl describe pod web -n kq-…`") without giving the cause away.
//!
//! Which investigations unlock which reason ([`unlocked_by`]; any one of them is enough, the
//! first is the one suggested):
//!
//! | Reason | Unlocked by |
//! |---|---|
//! | `CrashLoopBackOff` | the previous container's logs, or `kubectl describe pod` |
//! | `Error`, `Completed`, `OOMKilled`, `RunContainerError`, `StartError` | `kubectl describe pod`, the previous or current logs |
//! | image pulls (`ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`, `ErrImageNeverPull`, `ImageInspectError`, `RegistryUnavailable`) | the pod's events (`kubectl describe pod`, `kubectl get events`) |
//! | `Unschedulable`, `SchedulingGated` | the pod's events |
//! | configuration, mounts, sandboxes, probes, a failed pod, anything else | the pod's events |
//! | a workload's problem (a stuck rollout, `FailedCreate`, a Job that gave up) | the workload's events (`kubectl describe <kind> <name>`) |
//!
//! The same rule serves the desktop app (through [`crate::ipc::SessionUpdate::Unlocks`]) and
//! `kq play`.

use serde::Serialize;
use ts_rs::TS;

use super::{Diagnosis, ReasonKind};
use crate::mission::reactions::{Investigated, InvestigationKind};

/// The investigations that unlock a reason's explanation, the suggested one first.
pub fn unlocked_by(kind: ReasonKind) -> &'static [InvestigationKind] {
    use InvestigationKind as I;
    use ReasonKind as R;
    match kind {
        R::CrashLoopBackOff => &[I::PreviousLogs, I::DescribePod],
        R::Error | R::Completed | R::OomKilled | R::RunContainerError | R::StartError => {
            &[I::DescribePod, I::PreviousLogs, I::Logs]
        }
        R::ErrImagePull
        | R::ImagePullBackOff
        | R::InvalidImageName
        | R::ErrImageNeverPull
        | R::ImageInspectError
        | R::RegistryUnavailable
        | R::Unschedulable
        | R::SchedulingGated
        | R::CreateContainerConfigError
        | R::CreateContainerError
        | R::FailedMount
        | R::FailedCreatePodSandBox
        | R::LivenessProbeFailed
        | R::ReadinessProbeFailed
        | R::StartupProbeFailed
        | R::PodFailed
        | R::Other
        | R::ProgressDeadlineExceeded
        | R::FailedCreate
        | R::BackoffLimitExceeded
        | R::JobDeadlineExceeded => &[I::Events, I::DescribePod],
    }
}

/// What a diagnosis is about: a pod, or a workload (`deployment`, `job`, … as kubectl spells
/// the resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Pod(&'a str),
    Workload { resource: &'a str, name: &'a str },
}

/// Whether one diagnosis may show its explanation, and what to run to unlock it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosisGate {
    /// The pod (or workload) the diagnosis is about.
    pub object: String,
    /// The raw reason of the diagnosis (`CrashLoopBackOff`).
    pub reason: String,
    /// The explanation and the commands may be shown.
    pub unlocked: bool,
    /// The command that would unlock it (`kubectl logs greeter -n kq-… --previous`).
    pub investigate: String,
}

/// The gate of `diagnosis` about `subject` in `namespace`, for a learner who did `done` and
/// revealed `hints` hints (one hint is enough: the learner asked for help).
pub fn gate(
    namespace: &str,
    subject: Subject<'_>,
    diagnosis: &Diagnosis,
    done: &Investigated,
    hints: u32,
) -> DiagnosisGate {
    let (object, investigate, unlocked) = match subject {
        Subject::Pod(pod) => {
            let ways = unlocked_by(diagnosis.kind);
            let mut investigate = ways[0].command(pod, namespace);
            // A pod with several containers needs `-c` for its logs.
            if let (Some(c), InvestigationKind::PreviousLogs | InvestigationKind::Logs) =
                (&diagnosis.container, ways[0])
                && diagnosis
                    .commands
                    .iter()
                    .any(|cmd| cmd.contains(&format!(" -c {c}")))
            {
                investigate = investigate.replace(
                    &format!("-n {namespace}"),
                    &format!("-n {namespace} -c {c}"),
                );
            }
            let unlocked = ways.iter().any(|k| done.has(*k, Some(pod)));
            (pod.to_owned(), investigate, unlocked)
        }
        Subject::Workload { resource, name } => (
            name.to_owned(),
            format!("kubectl describe {resource} {name} -n {namespace}"),
            done.has(InvestigationKind::Events, Some(name)),
        ),
    };
    DiagnosisGate {
        object,
        reason: diagnosis.reason.clone(),
        unlocked: unlocked || hints > 0,
        investigate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Symptom, Termination, diagnose};
    use kq_kube::audit::AuditEntry;

    const NS: &str = "kq-crash-loop-backoff";

    fn entry(command: &str, resource: &str, sub: Option<&str>, query: &str) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at_ms: 0,
            user: "kubernetes-admin".into(),
            user_agent: "kubectl/v1.32.4".into(),
            command: Some(command.into()),
            session: None,
            verb: if sub.is_some() { "get" } else { "list" }.into(),
            group: String::new(),
            resource: resource.into(),
            subresource: sub.map(Into::into),
            namespace: Some(NS.into()),
            name: sub.map(|_| "greeter".into()),
            path: String::new(),
            query: query.into(),
            code: 200,
            dry_run: false,
        }
    }

    fn crash_loop() -> Diagnosis {
        diagnose(&Symptom {
            namespace: NS,
            pod: "greeter",
            container: Some("greeter"),
            reason: "CrashLoopBackOff",
            image: Some("busybox:1.36"),
            last_termination: Some(Termination {
                reason: "Error".into(),
                exit_code: 1,
                signal: None,
                message: None,
            }),
            ..Symptom::default()
        })
    }

    #[test]
    fn a_crash_loop_unlocks_with_the_previous_logs_not_with_the_pod_list() {
        let d = crash_loop();
        let mut done = Investigated::default();
        let g = gate(NS, Subject::Pod("greeter"), &d, &done, 0);
        assert!(!g.unlocked, "nothing investigated, no hint: hidden");
        assert_eq!(
            g.investigate,
            "kubectl logs greeter -n kq-crash-loop-backoff --previous"
        );
        done.record(&entry("kubectl get", "pods", None, ""), NS);
        assert!(!gate(NS, Subject::Pod("greeter"), &d, &done, 0).unlocked);
        done.record(
            &entry("kubectl logs", "pods", Some("log"), "previous=true"),
            NS,
        );
        assert!(gate(NS, Subject::Pod("greeter"), &d, &done, 0).unlocked);
    }

    #[test]
    fn a_hint_unlocks_it_too() {
        let d = crash_loop();
        let g = gate(NS, Subject::Pod("greeter"), &d, &Investigated::default(), 1);
        assert!(g.unlocked, "the learner asked for help");
    }

    #[test]
    fn a_pull_failure_unlocks_with_the_events() {
        let d = diagnose(&Symptom {
            namespace: NS,
            pod: "web",
            container: Some("web"),
            reason: "ImagePullBackOff",
            image: Some("nginx:nope"),
            ..Symptom::default()
        });
        let mut done = Investigated::default();
        let g = gate(NS, Subject::Pod("web"), &d, &done, 0);
        assert_eq!(
            g.investigate,
            "kubectl describe pod web -n kq-crash-loop-backoff"
        );
        // `kubectl get events` (the whole namespace) shows them.
        done.record(&entry("kubectl get", "events", None, ""), NS);
        assert!(gate(NS, Subject::Pod("web"), &d, &done, 0).unlocked);
    }
}

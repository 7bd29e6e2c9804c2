//! Why a pod is stuck, in words a beginner understands.
//!
//! The kubelet and the scheduler report problems as short reason strings (`ImagePullBackOff`,
//! `CreateContainerConfigError`, `Unschedulable`, …). This module is the taxonomy that maps each
//! reason to:
//!
//! - the pipeline stage it blocks ([`stage_of`]): a pull failure blocks *Image pulled*, a crash
//!   blocks *Running*, a failed readiness probe blocks *Ready*;
//! - a plain-language explanation that names the concrete cause where the status carries it (the
//!   exit code of the last crash, the scheduler's per-node reasons, the missing ConfigMap);
//! - the `kubectl` commands that would have revealed it, so the app teaches the real tool rather
//!   than replacing it.
//!
//! It is pure: the pipeline reducer ([`crate::pipeline`]) feeds it the facts it found. The
//! reasons and the stage each blocks are the shared vocabulary in [`crate::stage`]. The words
//! themselves (titles, explanations, commands) are content, in `lessons/diagnoses.yaml`, read
//! and checked by [`texts`]: this module only decides which of them applies.

use serde::Serialize;
use ts_rs::TS;

use crate::stage::StageKind;
pub mod security;
pub mod texts;
pub mod unlock;
pub mod workload;

pub use crate::stage::{ReasonKind, stage_of};
pub use texts::{BUNDLED_YAML, DIAGNOSES_FILE, DiagnosisTexts, TextsIssue, TextsProblem, render};
pub use unlock::{DiagnosisGate, Subject, gate, unlocked_by};
pub use workload::{StuckPod, WorkloadSymptom, diagnose_workload};

/// How a container's previous (or current) run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Termination {
    /// `Error`, `OOMKilled`, `Completed`, `StartError`, or empty.
    pub reason: String,
    pub exit_code: i32,
    pub signal: Option<i32>,
    /// The runtime's message (e.g. `exec: "nonexistent": executable file not found in $PATH`).
    pub message: Option<String>,
}

impl Termination {
    /// Reads a terminated state.
    pub fn from_state(t: &k8s_openapi::api::core::v1::ContainerStateTerminated) -> Termination {
        Termination {
            reason: t.reason.clone().unwrap_or_default(),
            exit_code: t.exit_code,
            signal: t.signal.filter(|s| *s != 0),
            message: t.message.clone().filter(|m| !m.is_empty()),
        }
    }

    /// `Error (exit code 1)`, `OOMKilled (exit code 137)`.
    pub fn describe(&self) -> String {
        let reason = if self.reason.is_empty() {
            "Terminated"
        } else {
            &self.reason
        };
        match self.signal {
            Some(sig) => format!("{reason} (signal {sig})"),
            None => format!("{reason} (exit code {})", self.exit_code),
        }
    }
}

/// One entry of the scheduler's per-node reasons: `1 Insufficient cpu`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FitReason {
    /// How many nodes gave this reason; `None` for PreFilter messages that carry no count.
    pub count: Option<u32>,
    pub reason: String,
}

/// The scheduler's `FitError` message, parsed.
///
/// Format (kubernetes `pkg/scheduler/framework/types.go`, `FitError.Error`):
/// `0/<N> nodes are available: <count reason>, <count reason>. preemption: <PostFilterMsg>.`
/// The preemption part ends with its own period, hence the real text's `..`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FitError {
    /// `N` in `0/N nodes are available`.
    pub nodes: u32,
    pub reasons: Vec<FitReason>,
    /// What preemption concluded, without the `preemption: ` prefix.
    pub preemption: Option<String>,
}

/// Parses a FitError message; `None` when the text is not one.
pub fn parse_fit_error(message: &str) -> Option<FitError> {
    let rest = message.trim().strip_prefix("0/")?;
    let (nodes, rest) = rest.split_once(' ')?;
    let nodes: u32 = nodes.parse().ok()?;
    let rest = rest.strip_prefix("nodes are available")?;
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
    // The reason list ends at the first ". " that starts the preemption message, or at the
    // final period.
    let (list, preemption) = match rest.find(". preemption: ") {
        Some(i) => {
            let p = &rest[i + ". preemption: ".len()..];
            let p = p.strip_suffix('.').unwrap_or(p);
            (&rest[..i], Some(p.to_owned()))
        }
        None => (rest.strip_suffix('.').unwrap_or(rest), None),
    };
    let mut reasons = Vec::new();
    for item in split_fit_list(list) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (count, reason) = match item.split_once(' ') {
            Some((n, r)) if n.chars().all(|c| c.is_ascii_digit()) => (n.parse().ok(), r),
            _ => (None, item),
        };
        reasons.push(FitReason {
            count,
            reason: reason.to_owned(),
        });
    }
    Some(FitError {
        nodes,
        reasons,
        preemption,
    })
}

/// Splits `1 Insufficient cpu, 2 node(s) had untolerated taint {a: b}` at the commas that start
/// a new counted item, so commas inside a reason (taint values) survive.
fn split_fit_list(list: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = list.as_bytes();
    let mut i = 0;
    while let Some(off) = list[i..].find(", ") {
        let at = i + off;
        let next = &list[at + 2..];
        let digits = next.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && bytes.get(at + 2 + digits) == Some(&b' ') {
            out.push(&list[start..at]);
            start = at + 2;
        }
        i = at + 2;
    }
    out.push(&list[start..]);
    out
}

/// The facts the pipeline found about one problem.
#[derive(Debug, Clone, Default)]
pub struct Symptom<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    /// The container the problem is about; `None` for pod-level problems (scheduling).
    pub container: Option<&'a str>,
    /// Whether the pod has more than one container (then commands need `-c`).
    pub multi_container: bool,
    /// Whether the container is an init container.
    pub init: bool,
    /// The raw reason (`ImagePullBackOff`, `Unschedulable`, `LivenessProbeFailed`, …).
    pub reason: &'a str,
    /// The status or condition message that goes with the reason.
    pub message: Option<&'a str>,
    /// The previous run's end, for crash loops.
    pub last_termination: Option<Termination>,
    /// The image the container spec asks for.
    pub image: Option<&'a str>,
    /// `restartPolicy` of the pod.
    pub restart_policy: Option<&'a str>,
    /// The message of the latest related event (probe failures, mount errors, Killing).
    pub event_message: Option<&'a str>,
    /// Whether the kubelet killed the previous run for failing its liveness probe.
    pub killed_by_liveness: bool,
    /// The latest event of a PersistentVolumeClaim the pod uses (`ProvisioningFailed`,
    /// `FailedBinding`), for a pod the scheduler holds back for its claims.
    pub claim_event: Option<&'a str>,
}

/// A diagnosed problem, as the UI shows it under the stuck stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    pub kind: ReasonKind,
    /// The raw reason, exactly as Kubernetes reports it.
    pub reason: String,
    /// The stage this problem blocks.
    pub stage: StageKind,
    pub container: Option<String>,
    /// One line: what is wrong.
    pub title: String,
    /// A few sentences for a beginner: what happened and why.
    pub explanation: String,
    /// The `kubectl` commands that would reveal this, most useful first.
    pub commands: Vec<String>,
    /// For crash loops: how the previous run ended.
    pub last_termination: Option<Termination>,
    /// For scheduling failures: the scheduler's reasons.
    pub fit_error: Option<FitError>,
}

fn describe_cmd(s: &Symptom<'_>) -> String {
    format!("kubectl describe pod {} -n {}", s.pod, s.namespace)
}

fn logs_cmd(s: &Symptom<'_>, previous: bool) -> String {
    let mut cmd = format!("kubectl logs {} -n {}", s.pod, s.namespace);
    if let Some(c) = s.container.filter(|_| s.multi_container || s.init) {
        cmd.push_str(&format!(" -c {c}"));
    }
    if previous {
        cmd.push_str(" --previous");
    }
    cmd
}

fn image_cmd(s: &Symptom<'_>) -> String {
    let list = if s.init {
        "initContainers"
    } else {
        "containers"
    };
    format!(
        "kubectl get pod {} -n {} -o jsonpath='{{.spec.{list}[*].image}}'",
        s.pod, s.namespace
    )
}

/// What a pull error message says went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PullCause {
    NotFound,
    Unauthorized,
    Unreachable,
    Unknown,
}

/// The image a kubelet text quotes (`Back-off pulling image "nginx:1.27": …`,
/// `Failed to pull image "nginx:1.27": …`), if any.
fn quoted_image(text: &str) -> Option<&str> {
    let rest = &text[text.find("image \"")? + "image \"".len()..];
    rest.split('"').next().filter(|i| !i.is_empty())
}

/// The texts that are evidence about the spec's image: a text quoting another image (the one
/// before the learner's edit) says nothing about this one.
fn evidence_about_image<'a>(s: &Symptom<'a>) -> Vec<&'a str> {
    let spec = s.image.map(kq_kube::reference::normalize);
    [s.message, s.event_message]
        .into_iter()
        .flatten()
        .filter(|text| match (quoted_image(text), &spec) {
            (Some(quoted), Some(spec)) => kq_kube::reference::normalize(quoted) == *spec,
            _ => true,
        })
        .collect()
}

/// The image the evidence is about when it is not the spec's (a fix not tried yet).
fn other_image<'a>(s: &Symptom<'a>) -> Option<&'a str> {
    let spec = kq_kube::reference::normalize(s.image?);
    [s.message, s.event_message]
        .into_iter()
        .flatten()
        .filter_map(quoted_image)
        .find(|quoted| kq_kube::reference::normalize(quoted) != spec)
}

/// Reads the runtime's pull error (the waiting message from 1.32 on, or the `Failed to pull
/// image` event before that). Only texts about the spec's image count: a claim about an image
/// needs the cluster's word about that image.
fn pull_cause(s: &Symptom<'_>) -> PullCause {
    let text = evidence_about_image(s).join(" ").to_ascii_lowercase();
    if [
        "unauthorized",
        "authorization failed",
        "access denied",
        "401",
        "403 forbidden",
        "authentication required",
    ]
    .iter()
    .any(|k| text.contains(k))
    {
        PullCause::Unauthorized
    } else if text.contains("not found") || text.contains("manifest unknown") {
        PullCause::NotFound
    } else if [
        "no such host",
        "i/o timeout",
        "connection refused",
        "dial tcp",
    ]
    .iter()
    .any(|k| text.contains(k))
    {
        PullCause::Unreachable
    } else {
        PullCause::Unknown
    }
}

fn fit_reason_sentence(t: &DiagnosisTexts, r: &FitReason) -> String {
    const S: &str = "Unschedulable";
    let reason = r.reason.as_str();
    let what = if let Some(res) = reason.strip_prefix("Insufficient ") {
        render(t.text(S, "fit-insufficient"), &[("resource", res)])
    } else if reason.contains("untolerated taint") {
        render(t.text(S, "fit-taint"), &[("reason", reason)])
    } else if reason.contains("didn't match Pod's node affinity/selector") {
        t.text(S, "fit-affinity").to_owned()
    } else if reason.contains("Too many pods") {
        t.text(S, "fit-too-many-pods").to_owned()
    } else if reason.contains("were unschedulable") {
        t.text(S, "fit-cordoned").to_owned()
    } else {
        reason.to_owned()
    };
    match r.count {
        Some(1) => render(t.text(S, "fit-one-node"), &[("what", &what)]),
        Some(n) => render(
            t.text(S, "fit-nodes"),
            &[("count", &n.to_string()), ("what", &what)],
        ),
        None => what,
    }
}

/// The section of `lessons/diagnoses.yaml` that holds a reason's words (sibling reasons that
/// are explained together share one).
pub(crate) fn section_of(kind: ReasonKind) -> &'static str {
    use ReasonKind as R;
    match kind {
        R::ErrImagePull | R::ImagePullBackOff => "ErrImagePull",
        R::InvalidImageName => "InvalidImageName",
        R::ErrImageNeverPull => "ErrImageNeverPull",
        R::ImageInspectError | R::RegistryUnavailable => "ImageInspectError",
        R::CrashLoopBackOff => "CrashLoopBackOff",
        R::CreateContainerConfigError => "CreateContainerConfigError",
        R::CreateContainerError => "CreateContainerError",
        R::RunContainerError | R::StartError => "RunContainerError",
        R::OomKilled => "OomKilled",
        R::Error | R::Completed => "Error",
        R::Unschedulable => "Unschedulable",
        R::SchedulingGated => "SchedulingGated",
        R::FailedMount => "FailedMount",
        R::FailedCreatePodSandBox => "FailedCreatePodSandBox",
        R::LivenessProbeFailed => "LivenessProbeFailed",
        R::ReadinessProbeFailed => "ReadinessProbeFailed",
        R::StartupProbeFailed => "StartupProbeFailed",
        R::PodFailed => "PodFailed",
        R::Other => "Other",
        R::ProgressDeadlineExceeded => "ProgressDeadlineExceeded",
        R::FailedCreate => "FailedCreate",
        R::BackoffLimitExceeded => "BackoffLimitExceeded",
        R::JobDeadlineExceeded => "JobDeadlineExceeded",
    }
}

/// Explains one problem, in the words of [`DiagnosisTexts::current`]. This function chooses
/// which text applies; what each says is in `lessons/diagnoses.yaml`.
pub fn diagnose(s: &Symptom<'_>) -> Diagnosis {
    let t = DiagnosisTexts::current();
    let kind = ReasonKind::from_reason(s.reason);
    if let Some(d) = security::diagnose_pod(s, kind) {
        return d;
    }
    let section = section_of(kind);
    let container = s.container.map(str::to_owned);
    let who = match (s.container, s.init) {
        (Some(c), true) => render(t.text("common", "who-init-container"), &[("container", c)]),
        (Some(c), false) => render(t.text("common", "who-container"), &[("container", c)]),
        (None, _) => render(t.text("common", "who-pod"), &[("pod", s.pod)]),
    };
    let image = s.image.unwrap_or(t.text("common", "its-image"));
    let name = s.container.unwrap_or(s.pod);
    let quoted = |m: Option<&str>| {
        m.map(|m| render(t.text("common", "quoted"), &[("message", m)]))
            .unwrap_or_default()
    };
    let (describe, logs, previous_logs, images) = (
        describe_cmd(s),
        logs_cmd(s, false),
        logs_cmd(s, true),
        image_cmd(s),
    );
    // Facts every text of the section may name; `extra` adds the ones a text chooses.
    let base: [(&str, &str); 11] = [
        ("who", &who),
        ("name", name),
        ("image", image),
        ("pod", s.pod),
        ("namespace", s.namespace),
        ("reason", s.reason),
        ("container", s.container.unwrap_or_default()),
        ("describe", &describe),
        ("logs", &logs),
        ("previous_logs", &previous_logs),
        ("images", &images),
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
    let mut fit_error = None;
    let (title, explanation, commands): (String, String, Vec<String>) = match kind {
        ReasonKind::ErrImagePull | ReasonKind::ImagePullBackOff => {
            let backoff = if kind == ReasonKind::ImagePullBackOff {
                t.text(section, "backoff-waiting")
            } else {
                t.text(section, "backoff-retrying")
            };
            let cause = t.text(
                section,
                match pull_cause(s) {
                    PullCause::NotFound => "cause-not-found",
                    PullCause::Unauthorized => "cause-unauthorized",
                    PullCause::Unreachable => "cause-unreachable",
                    // No registry answer about this image yet: say what is known, claim nothing.
                    PullCause::Unknown => "cause-unknown",
                },
            );
            let mut cmds = commands("commands");
            if pull_cause(s) == PullCause::Unauthorized {
                cmds.extend(commands("commands-unauthorized"));
            }
            match other_image(s) {
                // The failure on record is about the image before the learner's edit.
                Some(old) if pull_cause(s) == PullCause::Unknown => (
                    fill("title-other-image", &[]),
                    fill(
                        "explanation-other-image",
                        &[("old", old), ("backoff", backoff)],
                    ),
                    cmds,
                ),
                _ => (
                    fill("title", &[]),
                    fill("explanation", &[("cause", cause), ("backoff", backoff)]),
                    cmds,
                ),
            }
        }
        ReasonKind::CrashLoopBackOff => {
            let last = s.last_termination.as_ref();
            let cause = match last.map(|t| ReasonKind::from_reason(&t.reason)) {
                _ if s.killed_by_liveness => {
                    fill("cause-liveness", &[("event", &quoted(s.event_message))])
                }
                Some(ReasonKind::OomKilled) => fill("cause-oom", &[]),
                Some(ReasonKind::Completed) => fill(
                    "cause-completed",
                    &[("restart_policy", s.restart_policy.unwrap_or("Always"))],
                ),
                Some(ReasonKind::StartError) => {
                    let detail = last
                        .and_then(|t| t.message.as_deref())
                        .map(|m| fill("start-error-detail", &[("message", m)]))
                        .unwrap_or_default();
                    fill("cause-start-error", &[("detail", &detail)])
                }
                _ => match last {
                    Some(t) => fill("cause-exit", &[("termination", &t.describe())]),
                    None => String::new(),
                },
            };
            (
                fill("title", &[]),
                fill("explanation", &[("cause", &cause)]),
                commands("commands"),
            )
        }
        ReasonKind::Error | ReasonKind::Completed => {
            let exit = s
                .last_termination
                .as_ref()
                .map(|e| fill("exit-detail", &[("termination", &e.describe())]))
                .unwrap_or_default();
            let restarts = match s.restart_policy {
                Some("Never") => "restarts-never",
                Some("OnFailure") if kind == ReasonKind::Completed => "restarts-on-failure",
                _ => "restarts-always",
            };
            (
                fill("title", &[]),
                fill(
                    "explanation",
                    &[("exit", &exit), ("restarts", t.text(section, restarts))],
                ),
                commands("commands"),
            )
        }
        ReasonKind::CreateContainerConfigError | ReasonKind::CreateContainerError => (
            fill("title", &[]),
            fill("explanation", &[("quoted", &quoted(s.message))]),
            commands("commands"),
        ),
        ReasonKind::RunContainerError | ReasonKind::StartError => {
            let message = s.message.or(s
                .last_termination
                .as_ref()
                .and_then(|t| t.message.as_deref()));
            (
                fill("title", &[]),
                fill("explanation", &[("quoted", &quoted(message))]),
                commands("commands"),
            )
        }
        ReasonKind::Unschedulable => {
            let parsed = s.message.and_then(parse_fit_error);
            let detail = match &parsed {
                Some(f) if !f.reasons.is_empty() => {
                    let reasons = f
                        .reasons
                        .iter()
                        .map(|r| fit_reason_sentence(t, r))
                        .collect::<Vec<_>>()
                        .join("; ");
                    let key = if f.nodes == 1 {
                        "checked-one-node"
                    } else {
                        "checked-nodes"
                    };
                    fill(
                        key,
                        &[("nodes", &f.nodes.to_string()), ("reasons", &reasons)],
                    )
                }
                _ => s
                    .message
                    .map(|m| fill("says", &[("message", m)]))
                    .unwrap_or_default(),
            };
            let preempt = if parsed
                .as_ref()
                .and_then(|f| f.preemption.as_ref())
                .is_some()
            {
                t.text(section, "preemption")
            } else {
                ""
            };
            fit_error = parsed;
            (
                fill("title", &[]),
                fill("explanation", &[("detail", &detail), ("preempt", preempt)]),
                commands("commands"),
            )
        }
        ReasonKind::FailedMount
        | ReasonKind::FailedCreatePodSandBox
        | ReasonKind::LivenessProbeFailed
        | ReasonKind::ReadinessProbeFailed
        | ReasonKind::StartupProbeFailed => (
            fill("title", &[]),
            fill("explanation", &[("quoted", &quoted(s.event_message))]),
            commands("commands"),
        ),
        // Workload problems are diagnosed by [`workload::diagnose_workload`]; a pod that names
        // one of their reasons is explained like any unknown reason.
        ReasonKind::PodFailed
        | ReasonKind::Other
        | ReasonKind::ProgressDeadlineExceeded
        | ReasonKind::FailedCreate
        | ReasonKind::BackoffLimitExceeded
        | ReasonKind::JobDeadlineExceeded => {
            let section = if matches!(kind, ReasonKind::PodFailed) {
                section
            } else {
                "Other"
            };
            let fill = |key: &str, extra: &[(&str, &str)]| {
                let vars: Vec<(&str, &str)> = extra.iter().chain(&base).copied().collect();
                render(t.text(section, key), &vars)
            };
            let detail = s
                .message
                .map(|m| fill("message-detail", &[("message", m)]))
                .unwrap_or_default();
            (
                fill("title", &[]),
                fill("explanation", &[("detail", &detail)]),
                t.list(section, "commands")
                    .iter()
                    .map(|c| render(c, &base))
                    .collect(),
            )
        }
        ReasonKind::InvalidImageName
        | ReasonKind::ErrImageNeverPull
        | ReasonKind::ImageInspectError
        | ReasonKind::RegistryUnavailable
        | ReasonKind::OomKilled
        | ReasonKind::SchedulingGated => (
            fill("title", &[]),
            fill("explanation", &[]),
            commands("commands"),
        ),
    };
    Diagnosis {
        kind,
        reason: s.reason.to_owned(),
        stage: if s.init && kind != ReasonKind::Unschedulable {
            StageKind::Init
        } else {
            stage_of(kind)
        },
        container,
        title,
        explanation,
        commands,
        last_termination: s.last_termination.clone(),
        fit_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_error_with_the_trailing_double_period() {
        let msg = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are \
                   available: 1 No preemption victims found for incoming pod..";
        let f = parse_fit_error(msg).expect("the scheduler's real text must parse");
        assert_eq!(f.nodes, 1);
        assert_eq!(
            f.reasons,
            vec![FitReason {
                count: Some(1),
                reason: "Insufficient cpu".into()
            }]
        );
        assert_eq!(
            f.preemption.as_deref(),
            Some("0/1 nodes are available: 1 No preemption victims found for incoming pod.")
        );
    }

    #[test]
    fn fit_error_with_several_reasons_keeps_commas_inside_taints() {
        let msg = "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated \
                   taint {dedicated: gpu, zone: a}. preemption: 0/3 nodes are available: 3 \
                   Preemption is not helpful for scheduling..";
        let f = parse_fit_error(msg).unwrap();
        assert_eq!(f.nodes, 3);
        let reasons: Vec<_> = f
            .reasons
            .iter()
            .map(|r| (r.count, r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (Some(1), "Insufficient memory"),
                (
                    Some(2),
                    "node(s) had untolerated taint {dedicated: gpu, zone: a}"
                )
            ]
        );
    }

    #[test]
    fn prefilter_messages_have_no_count() {
        let f = parse_fit_error(
            "0/1 nodes are available: persistentvolumeclaim \"data\" not found. preemption: \
             0/1 nodes are available: 1 Preemption is not helpful for scheduling..",
        )
        .unwrap();
        assert_eq!(f.reasons[0].count, None);
        assert_eq!(
            f.reasons[0].reason,
            "persistentvolumeclaim \"data\" not found"
        );
        assert_eq!(
            parse_fit_error("pod has unbound immediate PersistentVolumeClaims"),
            None
        );
    }

    fn symptom<'a>(reason: &'a str) -> Symptom<'a> {
        Symptom {
            namespace: "kq-crash-loop-backoff",
            pod: "greeter",
            container: Some("greeter"),
            reason,
            image: Some("busybox:1.36"),
            ..Symptom::default()
        }
    }

    #[test]
    fn crash_loop_names_the_last_exit_and_the_previous_logs() {
        let mut s = symptom("CrashLoopBackOff");
        s.last_termination = Some(Termination {
            reason: "Error".into(),
            exit_code: 1,
            signal: None,
            message: None,
        });
        let d = diagnose(&s);
        assert_eq!(d.stage, StageKind::Running);
        assert!(
            d.explanation.contains("Error (exit code 1)"),
            "{}",
            d.explanation
        );
        assert_eq!(
            d.commands[0], "kubectl logs greeter -n kq-crash-loop-backoff --previous",
            "a single-container pod needs no -c"
        );
        s.multi_container = true;
        assert_eq!(
            diagnose(&s).commands[0],
            "kubectl logs greeter -n kq-crash-loop-backoff -c greeter --previous"
        );
    }

    #[test]
    fn crash_loop_explains_oom_and_exit_zero_differently() {
        let mut s = symptom("CrashLoopBackOff");
        s.last_termination = Some(Termination {
            reason: "OOMKilled".into(),
            exit_code: 137,
            signal: None,
            message: None,
        });
        assert!(diagnose(&s).explanation.contains("memory"));
        s.last_termination = Some(Termination {
            reason: "Completed".into(),
            exit_code: 0,
            signal: None,
            message: None,
        });
        assert!(diagnose(&s).explanation.contains("restartPolicy: Always"));
    }

    #[test]
    fn pull_errors_are_explained_by_their_cause() {
        let mut s = symptom("ErrImagePull");
        s.image = Some("registry.kq.local/team/app:v1");
        s.message = Some(
            "failed to pull and unpack image \"registry.kq.local/team/app:v1\": failed to \
             authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized",
        );
        let d = diagnose(&s);
        assert!(
            d.explanation.contains("imagePullSecrets"),
            "{}",
            d.explanation
        );
        assert_eq!(d.commands.len(), 3, "the pull secrets command is offered");
        // The evidence below is about nginx:nope, so the spec must ask for it.
        s.image = Some("nginx:nope");
        s.message = Some("Back-off pulling image \"nginx:nope\"");
        s.event_message = Some(
            "Failed to pull image \"nginx:nope\": rpc error: code = NotFound desc = … not found",
        );
        assert!(
            diagnose(&s).explanation.contains("does not exist"),
            "≤1.31 messages use the event"
        );
    }

    /// The learner changed the image to `nginx:latest`; the status and the event still carry
    /// the failure for the old image. Nothing the cluster said is about `nginx:latest`, so the
    /// diagnosis must not claim it does not exist.
    #[test]
    fn a_pull_diagnosis_claims_nothing_about_an_image_the_cluster_has_not_reported_on() {
        let mut s = symptom("ImagePullBackOff");
        s.image = Some("nginx:latest");
        s.message = Some(
            "Back-off pulling image \"nginx:nonexistent\": ErrImagePull: failed to pull and \
             unpack image \"docker.io/library/nginx:nonexistent\": not found",
        );
        s.event_message = Some(
            "Failed to pull image \"nginx:nonexistent\": rpc error: code = NotFound desc = not found",
        );
        let d = diagnose(&s);
        let text = format!("{} {}", d.title, d.explanation);
        assert!(
            !text.contains("does not exist")
                && !text.contains("cannot pull the image `nginx:latest`"),
            "no claim about nginx:latest without evidence about it: {text}"
        );
        assert!(
            d.explanation.contains("nginx:nonexistent"),
            "says which image the failure on record is about: {text}"
        );

        // No registry answer at all: only what is known.
        let mut bare = symptom("ErrImagePull");
        bare.image = Some("nginx:latest");
        let d = diagnose(&bare);
        assert!(
            !d.explanation.contains("does not exist"),
            "without a registry answer there is no claim that the image does not exist: {}",
            d.explanation
        );

        // With the registry's answer about this very image, the claim is made.
        bare.message = Some(
            "Back-off pulling image \"nginx:latest\": ErrImagePull: rpc error: code = NotFound \
             desc = failed to pull and unpack image \"docker.io/library/nginx:latest\": not found",
        );
        assert!(
            diagnose(&bare).explanation.contains("does not exist"),
            "evidence about nginx:latest supports the claim"
        );
    }

    #[test]
    fn unschedulable_lists_the_scheduler_reasons_in_plain_words() {
        let s = Symptom {
            namespace: "kq-pending-insufficient-cpu",
            pod: "report-worker",
            reason: "Unschedulable",
            message: Some(
                "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are \
                 available: 1 No preemption victims found for incoming pod..",
            ),
            ..Symptom::default()
        };
        let d = diagnose(&s);
        assert_eq!(d.stage, StageKind::Scheduled);
        assert!(
            d.explanation.contains("1 node: not enough free cpu"),
            "{}",
            d.explanation
        );
        assert_eq!(d.fit_error.as_ref().map(|f| f.nodes), Some(1));
        assert_eq!(
            d.commands[0],
            "kubectl describe pod report-worker -n kq-pending-insufficient-cpu"
        );
    }
}

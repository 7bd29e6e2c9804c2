//! The pipeline's stage vocabulary, shared by the pipeline reducer and the diagnosis: the stages
//! a pod passes on its way to Ready (apply → schedule → (init) → pull → create → run → ready) and
//! the reasons Kubernetes gives for stopping at one of them, each mapped to the stage it blocks.
//!
//! Kubernetes has no single home for this: the reasons are constants spread over the kubelet
//! (`pkg/kubelet/images/types.go`, `pkg/kubelet/container/sync_result.go`), the scheduler
//! (`Unschedulable`, `SchedulingGated` conditions) and the probes; the stages are how `kubectl
//! describe` and this app read a pod's status. Both [`crate::pipeline`] and [`crate::diagnose`]
//! speak this vocabulary, so it lives below both of them.

use serde::Serialize;
use ts_rs::TS;

/// A stage of the pipeline, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum StageKind {
    /// The API server accepted the pod.
    Applied,
    /// The scheduler bound it to a node.
    Scheduled,
    /// An init container ran to completion (one stage per init container).
    Init,
    /// The node has the container images.
    ImagePulled,
    /// The runtime created the containers.
    ContainerCreated,
    /// The containers' processes are running.
    Running,
    /// The pod passes its readiness checks.
    Ready,
}

impl StageKind {
    /// The name lessons use in `stage:` and `expected_symptoms` (`schedule`, `pull`, …).
    pub fn lesson_name(self) -> &'static str {
        match self {
            StageKind::Applied => "apply",
            StageKind::Scheduled => "schedule",
            StageKind::Init => "init",
            StageKind::ImagePulled => "pull",
            StageKind::ContainerCreated => "create",
            StageKind::Running => "run",
            StageKind::Ready => "ready",
        }
    }

    /// Parses a lesson stage name.
    pub fn from_lesson_name(name: &str) -> Option<StageKind> {
        [
            StageKind::Applied,
            StageKind::Scheduled,
            StageKind::Init,
            StageKind::ImagePulled,
            StageKind::ContainerCreated,
            StageKind::Running,
            StageKind::Ready,
        ]
        .into_iter()
        .find(|k| k.lesson_name() == name)
    }

    pub(crate) fn id(self) -> &'static str {
        match self {
            StageKind::Applied => "applied",
            StageKind::Scheduled => "scheduled",
            StageKind::Init => "init",
            StageKind::ImagePulled => "pulled",
            StageKind::ContainerCreated => "created",
            StageKind::Running => "running",
            StageKind::Ready => "ready",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            StageKind::Applied => "Applied",
            StageKind::Scheduled => "Scheduled",
            StageKind::Init => "Init",
            StageKind::ImagePulled => "Image pulled",
            StageKind::ContainerCreated => "Container created",
            StageKind::Running => "Running",
            StageKind::Ready => "Ready",
        }
    }
}

/// Every problem KubeQuest recognises. Unknown reasons become [`ReasonKind::Other`] and are still
/// shown verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonKind {
    /// The last pull attempt failed (the tag or repository does not exist, the registry refused).
    ErrImagePull,
    /// Pulls keep failing; the kubelet is waiting before the next attempt.
    ImagePullBackOff,
    /// The image reference cannot even be parsed.
    InvalidImageName,
    /// `imagePullPolicy: Never` and the image is not on the node.
    ErrImageNeverPull,
    /// The runtime could not inspect the image.
    ImageInspectError,
    /// The registry could not be reached.
    RegistryUnavailable,
    /// The container keeps exiting; the kubelet waits longer before each restart.
    CrashLoopBackOff,
    /// The container spec references configuration that does not exist (ConfigMap, Secret, key).
    CreateContainerConfigError,
    /// The runtime refused to create the container.
    CreateContainerError,
    /// The runtime created the container but could not start it (older runtimes).
    RunContainerError,
    /// The process could not be started (binary not found, not executable): containerd's
    /// `StartError`, exit code 128.
    StartError,
    /// The kernel killed the container for using more memory than its limit (exit code 137).
    OomKilled,
    /// The main process exited with a non-zero code.
    Error,
    /// The main process exited with code 0.
    Completed,
    /// No node fits the pod; the scheduler says why per node.
    Unschedulable,
    /// The pod carries scheduling gates, so the scheduler does not consider it yet.
    SchedulingGated,
    /// A volume could not be mounted (missing ConfigMap, Secret or PVC).
    FailedMount,
    /// The pod sandbox (network namespace) could not be created.
    FailedCreatePodSandBox,
    /// The liveness probe fails; the kubelet restarts the container.
    LivenessProbeFailed,
    /// The readiness probe fails; the pod gets no traffic and is not Ready.
    ReadinessProbeFailed,
    /// The startup probe has not passed yet.
    StartupProbeFailed,
    /// The pod was evicted or failed as a whole (`status.reason`).
    PodFailed,
    /// A Deployment's rollout made no progress for `progressDeadlineSeconds`: its
    /// `Progressing` condition is False with this reason.
    ProgressDeadlineExceeded,
    /// A controller (ReplicaSet, Job, StatefulSet, DaemonSet) could not create a pod: the API
    /// server refused it (quota, admission), so there is no pod to follow.
    FailedCreate,
    /// A Job's pods failed more often than its `backoffLimit` allows: the Job failed.
    BackoffLimitExceeded,
    /// A Job ran longer than its `activeDeadlineSeconds`: the Job failed (the Job's condition
    /// reason is `DeadlineExceeded`, the same word a pod uses for its own deadline).
    JobDeadlineExceeded,
    /// Anything else, shown with its raw reason.
    Other,
}

/// Image-pull reasons from kubernetes `pkg/kubelet/images/types.go`.
const IMAGE_REASONS: &[(&str, ReasonKind)] = &[
    ("ErrImagePull", ReasonKind::ErrImagePull),
    ("ImagePullBackOff", ReasonKind::ImagePullBackOff),
    ("InvalidImageName", ReasonKind::InvalidImageName),
    ("ErrImageNeverPull", ReasonKind::ErrImageNeverPull),
    ("ImageInspectError", ReasonKind::ImageInspectError),
    ("RegistryUnavailable", ReasonKind::RegistryUnavailable),
    ("SignatureValidationFailed", ReasonKind::ErrImagePull),
];

impl ReasonKind {
    /// Classifies a reason string from a container state, a condition or an event.
    pub fn from_reason(reason: &str) -> ReasonKind {
        if let Some((_, k)) = IMAGE_REASONS.iter().find(|(r, _)| *r == reason) {
            return *k;
        }
        match reason {
            "CrashLoopBackOff" => ReasonKind::CrashLoopBackOff,
            "CreateContainerConfigError" => ReasonKind::CreateContainerConfigError,
            "CreateContainerError" | "PreCreateHookError" => ReasonKind::CreateContainerError,
            "RunContainerError" | "PostStartHookError" | "ContainerCannotRun" => {
                ReasonKind::RunContainerError
            }
            "StartError" => ReasonKind::StartError,
            "OOMKilled" => ReasonKind::OomKilled,
            "Error" => ReasonKind::Error,
            "Completed" => ReasonKind::Completed,
            "Unschedulable" | "FailedScheduling" => ReasonKind::Unschedulable,
            "SchedulingGated" => ReasonKind::SchedulingGated,
            "FailedMount" | "FailedAttachVolume" => ReasonKind::FailedMount,
            "FailedCreatePodSandBox" => ReasonKind::FailedCreatePodSandBox,
            "LivenessProbeFailed" => ReasonKind::LivenessProbeFailed,
            "ReadinessProbeFailed" => ReasonKind::ReadinessProbeFailed,
            "StartupProbeFailed" => ReasonKind::StartupProbeFailed,
            "Evicted" | "DeadlineExceeded" | "NodeLost" | "Shutdown" | "Terminated" => {
                ReasonKind::PodFailed
            }
            "ProgressDeadlineExceeded" => ReasonKind::ProgressDeadlineExceeded,
            "FailedCreate" | "ReplicaSetCreateError" => ReasonKind::FailedCreate,
            "BackoffLimitExceeded" => ReasonKind::BackoffLimitExceeded,
            r if r.starts_with("ExitCode:") || r.starts_with("Signal:") => ReasonKind::Error,
            _ => ReasonKind::Other,
        }
    }

    /// Classifies the reason of a workload's own condition or event: the same words as
    /// [`ReasonKind::from_reason`], except that a Job's `DeadlineExceeded` is the Job's
    /// deadline, not a pod's.
    pub fn from_workload_reason(reason: &str) -> ReasonKind {
        match reason {
            "DeadlineExceeded" => ReasonKind::JobDeadlineExceeded,
            r => ReasonKind::from_reason(r),
        }
    }

    /// Whether this is one of the image-pull reasons (the *Image pulled* stage).
    pub fn is_image_problem(self) -> bool {
        stage_of(self) == StageKind::ImagePulled
    }
}

/// The pipeline stage a problem blocks.
pub fn stage_of(kind: ReasonKind) -> StageKind {
    use ReasonKind as R;
    match kind {
        R::ErrImagePull
        | R::ImagePullBackOff
        | R::InvalidImageName
        | R::ErrImageNeverPull
        | R::ImageInspectError
        | R::RegistryUnavailable => StageKind::ImagePulled,
        R::CreateContainerConfigError
        | R::CreateContainerError
        | R::FailedMount
        | R::FailedCreatePodSandBox
        | R::Other => StageKind::ContainerCreated,
        R::CrashLoopBackOff
        | R::RunContainerError
        | R::StartError
        | R::OomKilled
        | R::Error
        | R::Completed
        | R::LivenessProbeFailed
        | R::StartupProbeFailed
        | R::PodFailed => StageKind::Running,
        R::Unschedulable | R::SchedulingGated => StageKind::Scheduled,
        R::ReadinessProbeFailed => StageKind::Ready,
        R::ProgressDeadlineExceeded
        | R::FailedCreate
        | R::BackoffLimitExceeded
        | R::JobDeadlineExceeded => StageKind::Applied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_maps_to_the_stage_it_blocks() {
        let table = [
            ("ErrImagePull", StageKind::ImagePulled),
            ("ImagePullBackOff", StageKind::ImagePulled),
            ("InvalidImageName", StageKind::ImagePulled),
            ("ErrImageNeverPull", StageKind::ImagePulled),
            ("CreateContainerConfigError", StageKind::ContainerCreated),
            ("CreateContainerError", StageKind::ContainerCreated),
            ("FailedMount", StageKind::ContainerCreated),
            ("RunContainerError", StageKind::Running),
            ("StartError", StageKind::Running),
            ("CrashLoopBackOff", StageKind::Running),
            ("OOMKilled", StageKind::Running),
            ("LivenessProbeFailed", StageKind::Running),
            ("Unschedulable", StageKind::Scheduled),
            ("ReadinessProbeFailed", StageKind::Ready),
            ("ExitCode:3", StageKind::Running),
            ("ProgressDeadlineExceeded", StageKind::Applied),
            ("FailedCreate", StageKind::Applied),
            ("BackoffLimitExceeded", StageKind::Applied),
        ];
        for (reason, stage) in table {
            assert_eq!(stage_of(ReasonKind::from_reason(reason)), stage, "{reason}");
        }
        assert_eq!(
            ReasonKind::from_workload_reason("DeadlineExceeded"),
            ReasonKind::JobDeadlineExceeded,
            "a Job's deadline is the Job's problem"
        );
        assert_eq!(
            ReasonKind::from_reason("DeadlineExceeded"),
            ReasonKind::PodFailed,
            "a pod's own deadline stays the pod's"
        );
    }
}

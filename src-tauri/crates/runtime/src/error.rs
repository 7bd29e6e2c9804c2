//! Why the container runtime refuses an image or a container. Each variant's text is what a
//! real node reports: the kubelet's `InvalidImageName` and `CreateContainerConfigError`
//! messages (`pkg/kubelet/kuberuntime`, `kubelet_pods.go`), containerd's pull errors and
//! runc's `StartError` (`opencontainers/runc`, `libcontainer`).

use kq_kube::reference::InvalidReference;
use kq_registry::{CatalogError, PullError};

/// The runtime's errors; `to_string()` is the message the kubelet shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// A teacher's or mission's registry file that cannot be used.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// An image reference the kubelet refuses before pulling (`InvalidImageName`).
    #[error(transparent)]
    InvalidImageName(#[from] InvalidReference),
    /// containerd could not pull the image; the text is its CRI message.
    #[error("{}", .0.cri_message())]
    Pull(PullError),
    /// A ConfigMap the container's environment needs does not exist.
    #[error("configmap \"{name}\" not found")]
    ConfigMapNotFound {
        /// The ConfigMap's name.
        name: String,
    },
    /// A Secret the container's environment needs does not exist.
    #[error("secret \"{name}\" not found")]
    SecretNotFound {
        /// The Secret's name.
        name: String,
    },
    /// A `configMapKeyRef` names a key the ConfigMap lacks.
    #[error("couldn't find key {key} in ConfigMap {ns}/{name}")]
    ConfigMapKeyNotFound {
        /// The pod's namespace.
        ns: String,
        /// The ConfigMap's name.
        name: String,
        /// The missing key.
        key: String,
    },
    /// A `secretKeyRef` names a key the Secret lacks.
    #[error("couldn't find key {key} in Secret {ns}/{name}")]
    SecretKeyNotFound {
        /// The pod's namespace.
        ns: String,
        /// The Secret's name.
        name: String,
        /// The missing key.
        key: String,
    },
    /// runc: the program is not an executable of the image (exit code 128).
    #[error(
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"{0}\": executable file not found in $PATH: unknown"
    )]
    ExecutableNotFound(String),
    /// containerd: `kubectl exec` of a program the image does not have (exit code 126).
    #[error(
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{0}\": executable file not found in $PATH: unknown"
    )]
    ExecNotFound(String),
    /// The kubelet: `runAsNonRoot` with `runAsUser: 0` (`verifyRunAsNonRoot`).
    #[error(
        "container's runAsUser breaks non-root policy (pod: \"{pod}\", container: {container})"
    )]
    RunAsUserBreaksNonRoot {
        /// The pod as the kubelet names it, `name_namespace(uid)`.
        pod: String,
        /// The container's name.
        container: String,
    },
    /// The kubelet: `runAsNonRoot` and an image without a non-root `USER`.
    #[error(
        "container has runAsNonRoot and image will run as root (pod: \"{pod}\", container: {container})"
    )]
    ImageRunsAsRoot {
        /// The pod as the kubelet names it, `name_namespace(uid)`.
        pod: String,
        /// The container's name.
        container: String,
    },
    /// The kubelet: `runAsNonRoot` and an image whose `USER` is a name it cannot check.
    #[error(
        "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root (pod: \"{pod}\", container: {container})"
    )]
    NonNumericImageUser {
        /// The image's `USER`.
        user: String,
        /// The pod as the kubelet names it, `name_namespace(uid)`.
        pod: String,
        /// The container's name.
        container: String,
    },
    /// runc: neither the pod nor the image gives a command.
    #[error(
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: no command specified: unknown"
    )]
    NoCommand,
}

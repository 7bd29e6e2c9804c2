//! Cluster errors the UI can branch on.

use serde::Serialize;
use ts_rs::TS;

/// The server minor versions KubeQuest accepts: 1.27 (the oldest kubectl the embedded API is
/// measured against) and newer. Newer servers are accepted because the pod status fields the
/// pipeline reads only ever grow.
pub const SUPPORTED_MINORS: std::ops::RangeFrom<u32> = 27..;

/// Why a cluster cannot be used. Every message says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// No kubeconfig could be read, or one of them is not valid.
    #[error(
        "cannot read the kubeconfig ({path}): {detail}. Check that the file exists and is a \
         valid kubeconfig, or point KUBECONFIG at the right file."
    )]
    KubeconfigUnreadable { path: String, detail: String },
    /// The chosen context is not in the kubeconfig.
    #[error(
        "the kubeconfig has no context named `{context}`. Pick one of the listed contexts \
         (`kubectl config get-contexts` shows them)."
    )]
    UnknownContext { context: String },
    /// The server did not answer (connection refused, DNS, timeout, proxy errors, 502–504).
    #[error(
        "cannot reach the cluster: {detail}. Check that the cluster is running (kind: `docker \
         ps`; minikube: `minikube status`) and that the context's server address is right. \
         KubeQuest keeps retrying."
    )]
    Unreachable { detail: String },
    /// The server's certificate was rejected (or the TLS setup failed).
    #[error(
        "the cluster's TLS certificate was not accepted: {detail}. The kubeconfig's \
         certificate-authority may be out of date; regenerate the kubeconfig for this cluster \
         (for kind: `kind export kubeconfig`)."
    )]
    TlsRejected { detail: String },
    /// The server does not accept the credentials (401), or they could not be obtained.
    #[error(
        "the cluster rejected the credentials: {detail}. Log in again or refresh the \
         kubeconfig's user entry (`kubectl get pods` should work in a terminal first)."
    )]
    Unauthorized { detail: String },
    /// The user may not do something a mission needs (403).
    #[error(
        "the cluster forbids `{verb}` on `{resource}`{}: {detail}. Missions need to create, \
         watch and delete pods in their own namespace; ask the cluster's admin for those \
         rights or use a local cluster.",
        namespace.as_deref().map(|n| format!(" in namespace `{n}`")).unwrap_or_default()
    )]
    Forbidden {
        verb: String,
        resource: String,
        namespace: Option<String>,
        detail: String,
    },
    /// The server is too old for KubeQuest.
    #[error(
        "the cluster runs Kubernetes {server}, but KubeQuest needs 1.{minimum} or newer. \
         Upgrade the cluster or create a newer local one (for example `kind create cluster`)."
    )]
    VersionSkew { server: String, minimum: u32 },
    /// The context is not on this machine and was not allowed.
    #[error(
        "`{context}` ({server}) is not a local cluster, and missions create and break pods. \
         Allow this context explicitly in the cluster picker if it is a practice cluster, or \
         choose a local one."
    )]
    NotLocalRefused { context: String, server: String },
    /// Anything else from the server or the client.
    #[error("the cluster request failed: {detail}")]
    Other { detail: String },
}

/// The error kinds, for `{kind, message}` payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectErrorKind {
    KubeconfigUnreadable,
    UnknownContext,
    Unreachable,
    TlsRejected,
    Unauthorized,
    Forbidden,
    VersionSkew,
    NotLocalRefused,
    Other,
}

/// What the UI receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConnectFailure {
    pub kind: ConnectErrorKind,
    pub message: String,
}

impl ConnectError {
    /// The kind the UI branches on.
    pub fn kind(&self) -> ConnectErrorKind {
        match self {
            ConnectError::KubeconfigUnreadable { .. } => ConnectErrorKind::KubeconfigUnreadable,
            ConnectError::UnknownContext { .. } => ConnectErrorKind::UnknownContext,
            ConnectError::Unreachable { .. } => ConnectErrorKind::Unreachable,
            ConnectError::TlsRejected { .. } => ConnectErrorKind::TlsRejected,
            ConnectError::Unauthorized { .. } => ConnectErrorKind::Unauthorized,
            ConnectError::Forbidden { .. } => ConnectErrorKind::Forbidden,
            ConnectError::VersionSkew { .. } => ConnectErrorKind::VersionSkew,
            ConnectError::NotLocalRefused { .. } => ConnectErrorKind::NotLocalRefused,
            ConnectError::Other { .. } => ConnectErrorKind::Other,
        }
    }

    /// `{kind, message}` for the UI.
    pub fn to_failure(&self) -> ConnectFailure {
        ConnectFailure {
            kind: self.kind(),
            message: self.to_string(),
        }
    }

    /// Whether retrying later can help (the reconnect loop keeps going for these).
    pub fn is_transient(&self) -> bool {
        matches!(self, ConnectError::Unreachable { .. })
    }
}

/// Reads `User "x" cannot list resource "pods" in API group "" in the namespace "kq-a"`.
fn parse_forbidden(message: &str) -> (Option<String>, Option<String>, Option<String>) {
    let verb = message
        .split_once(" cannot ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .map(str::to_owned);
    let quoted_after = |marker: &str| {
        message
            .split_once(marker)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(v, _)| v.to_owned())
    };
    (
        verb,
        quoted_after("resource \""),
        quoted_after("in the namespace \""),
    )
}

fn from_status(status: &kube::core::Status) -> ConnectError {
    let detail = if status.message.is_empty() {
        format!("HTTP {} {}", status.code, status.reason)
    } else {
        status.message.clone()
    };
    match status.code {
        401 => ConnectError::Unauthorized { detail },
        403 => {
            let (verb, resource, namespace) = parse_forbidden(&status.message);
            let kind = status
                .details
                .as_ref()
                .map(|d| d.kind.clone())
                .filter(|k| !k.is_empty());
            ConnectError::Forbidden {
                verb: verb.unwrap_or_else(|| "access".into()),
                resource: resource.or(kind).unwrap_or_else(|| "this resource".into()),
                namespace,
                detail,
            }
        }
        502..=504 => ConnectError::Unreachable { detail },
        _ => ConnectError::Other { detail },
    }
}

/// The whole `source()` chain as one line, for matching transport causes.
fn chain_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

/// Phrases of a connection that was dropped or never made, whatever the TLS layer under it said:
/// a cluster that stops mid-watch closes its sockets without TLS's close_notify, which rustls
/// reports as an unexpected EOF, and one that stops while a new connection is still shaking hands
/// ends it with `tls handshake eof` (tokio-rustls). Both are outages to retry, not a rejected
/// certificate: a certificate the client refuses is reported with the certificate's fault.
const CONNECTION_DROPPED: &[&str] = &[
    "close_notify",
    "unexpected eof",
    "handshake eof",
    "connection reset",
    "connection refused",
    "connection closed",
    "broken pipe",
];

fn transport(detail: String) -> ConnectError {
    let lower = detail.to_ascii_lowercase();
    if CONNECTION_DROPPED.iter().any(|p| lower.contains(p)) {
        return ConnectError::Unreachable { detail };
    }
    if lower.contains("certificate")
        || lower.contains("invalidcertificate")
        || lower.contains("tls")
    {
        ConnectError::TlsRejected { detail }
    } else {
        ConnectError::Unreachable { detail }
    }
}

/// Maps a `kube::Error` onto the UI's error kinds.
pub fn classify_kube_error(e: &kube::Error) -> ConnectError {
    match e {
        kube::Error::Api(status) => from_status(status),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            transport(chain_text(e))
        }
        kube::Error::RustlsTls(_) | kube::Error::TlsRequired => ConnectError::TlsRejected {
            detail: chain_text(e),
        },
        kube::Error::Auth(_) => ConnectError::Unauthorized {
            detail: chain_text(e),
        },
        kube::Error::InferConfig(_) | kube::Error::InferKubeconfig(_) => {
            ConnectError::KubeconfigUnreadable {
                path: "kubeconfig".into(),
                detail: chain_text(e),
            }
        }
        _ => ConnectError::Other {
            detail: chain_text(e),
        },
    }
}

/// Maps a kube-runtime watcher error onto the UI's error kinds.
pub fn classify_watcher_error(e: &kube::runtime::watcher::Error) -> ConnectError {
    use kube::runtime::watcher::Error as W;
    match e {
        W::InitialListFailed(k) | W::WatchStartFailed(k) | W::WatchFailed(k) => {
            classify_kube_error(k)
        }
        W::WatchError(status) => from_status(status),
        W::NoResourceVersion => ConnectError::Other {
            detail: "the server's list carried no resourceVersion, so it cannot be watched".into(),
        },
    }
}

/// Checks `/version` (`major: "1"`, `minor: "32"` or `"32+"`) against [`SUPPORTED_MINORS`].
pub fn check_server_version(major: &str, minor: &str) -> Result<(), ConnectError> {
    let digits = |s: &str| s.trim_end_matches('+').parse::<u32>().ok();
    let server = format!("{major}.{minor}");
    match (digits(major), digits(minor)) {
        (Some(1), Some(m)) if SUPPORTED_MINORS.contains(&m) => Ok(()),
        (Some(1), Some(_)) | (Some(0), _) => Err(ConnectError::VersionSkew {
            server,
            minimum: SUPPORTED_MINORS.start,
        }),
        (Some(_), Some(_)) => Ok(()),
        _ => Err(ConnectError::Other {
            detail: format!("the server reported an unreadable version `{server}`"),
        }),
    }
}

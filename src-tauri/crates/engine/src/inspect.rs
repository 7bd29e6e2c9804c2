//! "Look inside the container": running one command in a mission's pod through the API server's
//! `exec` subresource, as `kubectl exec -n NS POD -c C -- ARGV…` does.
//!
//! The app uses the same `kube` client (its `ws` feature: the WebSocket channel protocol) on the
//! embedded cluster and on a real one, so what the learner sees here is what the cluster's
//! kubelet answers, never a simulation of its own.
//!
//! - Only stdout and stderr are attached: no stdin and no terminal, so a command that waits for
//!   input sees end of file, and output carries no terminal line endings.
//! - Each stream is kept up to [`ExecLimits::output_cap`] bytes; the rest is still read (a
//!   process blocked on a full pipe would never exit) but dropped, and the result says so.
//! - The whole exec, from the upgrade to the exit status, is bounded by
//!   [`ExecLimits::timeout`]: at the deadline the connection is closed and the result carries
//!   what was printed until then with [`ExitStatus::TimedOut`].
//! - The exit status comes from the error channel's `metav1.Status`: `Success` is exit code 0,
//!   a `NonZeroExitCode` failure carries the code in its `ExitCode` cause, and anything else (a
//!   missing binary, a container that stopped) is the server's message as it is.
//! - The app only reaches into what it created: the namespace must carry
//!   `app.kubernetes.io/managed-by=kubequest`, checked before anything runs.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use ts_rs::TS;

use crate::connect::{ConnectError, classify_kube_error};
use crate::session::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// Bounds on one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecLimits {
    /// Bytes kept of stdout, and separately of stderr.
    pub output_cap: usize,
    /// From the request to the exit status.
    pub timeout: Duration,
}

impl Default for ExecLimits {
    /// 64 KiB per stream (a screenful of `env` or a config file many times over) and 10 s (an
    /// investigation command answers at once; a `sleep` or a `tail -f` should not hold the
    /// panel).
    fn default() -> Self {
        ExecLimits {
            output_cap: 64 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

/// How the command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ExitStatus {
    /// The process exited with this code (0 is success).
    Code { code: i32 },
    /// The command did not run or its end was an error: the server's message as it is (e.g.
    /// `Internal error occurred: error executing command in container: … executable file not
    /// found in $PATH: unknown`).
    Failed { message: String },
    /// The deadline passed first; the exec was closed.
    TimedOut { seconds: u64 },
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOutput {
    /// stdout as text (invalid UTF-8 is replaced, never interpreted).
    pub stdout: String,
    pub stderr: String,
    /// More was printed on stdout than the cap kept.
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub exit: ExitStatus,
}

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// No command was given.
    #[error("there is no command to run: type one, e.g. `ls /etc/config`")]
    NoCommand,
    /// The namespace is missing or was not created by KubeQuest.
    #[error(
        "namespace `{namespace}` was not created by KubeQuest, so KubeQuest does not run commands in its pods"
    )]
    NotOurs { namespace: String },
    /// The API server refused the exec; its message as it is (`pods "web" not found`,
    /// `container not found ("app")`, …).
    #[error("{message}")]
    Refused { message: String },
    /// The cluster could not be reached, or refused us as a client.
    #[error(transparent)]
    Cluster(#[from] ConnectError),
}

/// Runs `argv` in `container` (the pod's default container if `None`) of `pod` in `namespace`,
/// bounded by `limits` (see the module docs).
pub async fn run_in_container(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    argv: Vec<String>,
    limits: ExecLimits,
) -> Result<ContainerOutput, InspectError> {
    if argv.is_empty() || argv[0].is_empty() {
        return Err(InspectError::NoCommand);
    }
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let timed_out = || ContainerOutput {
        stdout: String::new(),
        stderr: String::new(),
        stdout_truncated: false,
        stderr_truncated: false,
        exit: ExitStatus::TimedOut {
            seconds: limits.timeout.as_secs(),
        },
    };

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let owned = match tokio::time::timeout_at(deadline, namespaces.get_opt(namespace)).await {
        Err(_) => return Ok(timed_out()),
        Ok(got) => got.map_err(|e| refusal(&e))?,
    };
    let ours = owned
        .as_ref()
        .and_then(|n| n.metadata.labels.as_ref())
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY_VALUE);
    if !ours {
        return Err(InspectError::NotOurs {
            namespace: namespace.to_owned(),
        });
    }

    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut params = AttachParams::default()
        .stdin(false)
        .stdout(true)
        .stderr(true)
        .tty(false);
    if let Some(c) = container.filter(|c| !c.is_empty()) {
        params = params.container(c);
    }
    let mut process = match tokio::time::timeout_at(deadline, pods.exec(pod, argv, &params)).await {
        Err(_) => return Ok(timed_out()),
        Ok(started) => started.map_err(|e| refusal(&e))?,
    };

    let stdout = process.stdout();
    let stderr = process.stderr();
    let status = process.take_status();
    let mut out = Capture::new(limits.output_cap);
    let mut err = Capture::new(limits.output_cap);
    let collected = tokio::time::timeout_at(deadline, async {
        tokio::join!(out.drain(stdout), err.drain(stderr));
        match status {
            Some(s) => s.await,
            None => None,
        }
    })
    .await;
    let exit = match collected {
        Ok(status) => exit_of(status),
        Err(_) => {
            // Closing the connection ends the session on the server (the kubelet kills nothing
            // on a real cluster: the process lives on, as after a Ctrl-C'd `kubectl exec`).
            process.abort();
            ExitStatus::TimedOut {
                seconds: limits.timeout.as_secs(),
            }
        }
    };
    Ok(ContainerOutput {
        stdout: String::from_utf8_lossy(&out.kept).into_owned(),
        stderr: String::from_utf8_lossy(&err.kept).into_owned(),
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
        exit,
    })
}

/// One stream's output, up to a cap.
struct Capture {
    kept: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Capture {
    fn new(cap: usize) -> Self {
        Capture {
            kept: Vec::new(),
            cap,
            truncated: false,
        }
    }

    /// Reads to end of stream, keeping the first `cap` bytes. A read error ends the stream: the
    /// exit status tells how the command ended.
    async fn drain(&mut self, stream: Option<impl AsyncRead + Unpin>) {
        let Some(mut stream) = stream else { return };
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let room = self.cap.saturating_sub(self.kept.len());
                    if n > room {
                        self.truncated = true;
                    }
                    self.kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
    }
}

/// The exit status from the error channel's `metav1.Status` (the kubelet's
/// `remotecommand` `ServeExec`).
fn exit_of(status: Option<Status>) -> ExitStatus {
    let Some(status) = status else {
        return ExitStatus::Failed {
            message: "the connection closed before the container reported an exit status".into(),
        };
    };
    if status.status.as_deref() == Some("Success") {
        return ExitStatus::Code { code: 0 };
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|causes| {
                causes
                    .iter()
                    .find(|c| c.reason.as_deref() == Some("ExitCode"))
                    .and_then(|c| c.message.as_deref())
                    .and_then(|m| m.trim().parse::<i32>().ok())
            });
        if let Some(code) = code {
            return ExitStatus::Code { code };
        }
    }
    let message = match (status.message, status.reason) {
        (Some(m), _) if !m.is_empty() => m,
        (_, Some(r)) => format!("the command failed ({r})"),
        _ => "the command failed without a message".into(),
    };
    ExitStatus::Failed { message }
}

/// A refusal the learner can act on (the pod or container is not there or not running: the
/// server's own message), or the cluster's failure.
fn refusal(e: &kube::Error) -> InspectError {
    match e {
        kube::Error::Api(status)
            if status.code != 401 && status.code != 403 && !(502..=504).contains(&status.code) =>
        {
            InspectError::Refused {
                message: if status.message.is_empty() {
                    format!("HTTP {} {}", status.code, status.reason)
                } else {
                    status.message.clone()
                },
            }
        }
        _ => InspectError::Cluster(classify_kube_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(v: serde_json::Value) -> Option<Status> {
        Some(serde_json::from_value(v).expect("a Status"))
    }

    #[test]
    fn exit_codes_come_from_the_status_channel() {
        assert_eq!(
            exit_of(status(
                serde_json::json!({"metadata": {}, "status": "Success"})
            )),
            ExitStatus::Code { code: 0 }
        );
        let failure = serde_json::json!({
            "metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: error executing command [false], exit code 1",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "1"}]},
        });
        assert_eq!(exit_of(status(failure)), ExitStatus::Code { code: 1 });
        let internal = serde_json::json!({
            "metadata": {}, "status": "Failure",
            "message": "Internal error occurred: boom", "reason": "InternalError", "code": 500,
        });
        assert_eq!(
            exit_of(status(internal)),
            ExitStatus::Failed {
                message: "Internal error occurred: boom".into()
            }
        );
        assert!(matches!(exit_of(None), ExitStatus::Failed { .. }));
    }

    #[tokio::test]
    async fn capture_keeps_the_cap_and_reads_on() {
        let mut c = Capture::new(4);
        c.drain(Some(&b"hello world"[..])).await;
        assert_eq!(c.kept, b"hell");
        assert!(c.truncated);
        let mut c = Capture::new(64);
        c.drain(Some(&b"hi\n"[..])).await;
        assert_eq!((c.kept.as_slice(), c.truncated), (&b"hi\n"[..], false));
    }
}

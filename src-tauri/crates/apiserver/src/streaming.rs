//! The seam between the API server's streaming endpoints and the node that runs containers:
//! what kube-apiserver reaches through the kubelet's streaming server
//! (`pkg/kubelet/cri/streaming`) for `exec`, `attach` and `portforward`, and what the service
//! and pod `proxy` paths dial.
//!
//! The API server owns the wire (SPDY/3.1, the WebSocket channel protocols, the port-forward
//! tunnel; `http/stream/`); the node side (kq-controllers' kubelet) implements
//! [`ContainerStreams`] and never sees a frame. Byte streams cross the seam as channels of
//! chunks, so neither side can block the other: a full channel is back-pressure, a dropped
//! sender is end of stream.

use std::future::Future;
use std::pin::Pin;

use tokio::io::DuplexStream;
use tokio::sync::mpsc;

/// What `exec` or `attach` asks for (the query of `PodExecOptions` / `PodAttachOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamRequest {
    pub namespace: String,
    pub pod: String,
    /// `container=`; `None` picks the pod's default container as the kubelet does.
    pub container: Option<String>,
    /// The command for `exec`; empty for `attach`.
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// A terminal size from the resize stream (`{"Width":W,"Height":H}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TerminalSize {
    pub width: u16,
    pub height: u16,
}

/// The streams of one exec or attach session, as the node side sees them.
///
/// `stdin` yields the client's input chunks and ends (`None`) at the client's EOF; `resize`
/// yields terminal sizes while the client sends them. The node writes to `stdout` and
/// `stderr`; each is `None` when the client did not ask for it (`stderr` is always `None`
/// with a TTY: the terminal carries both).
#[derive(Debug)]
pub struct StreamIo {
    pub stdin: Option<mpsc::Receiver<Vec<u8>>>,
    pub resize: Option<mpsc::Receiver<TerminalSize>>,
    pub stdout: Option<mpsc::Sender<Vec<u8>>>,
    pub stderr: Option<mpsc::Sender<Vec<u8>>>,
}

/// How an exec or attach session ended; the API server turns it into the error stream's
/// `metav1.Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamExit {
    /// The process exited 0 (or the attach ended).
    Success,
    /// The process exited with this non-zero code (`NonZeroExitCode`).
    ExitCode(u8),
    /// The runtime could not run it; the text follows `error executing command in
    /// container: ` in the `InternalError` status.
    Failed(String),
}

/// A running exec or attach session.
pub type StreamTask = Pin<Box<dyn Future<Output = StreamExit> + Send>>;

/// Why a stream could not start, answered before the upgrade as a `metav1.Status`.
pub type StreamResult<T> = Result<T, crate::Error>;

/// The node side of `exec`, `attach`, `portforward` and `proxy`.
pub trait ContainerStreams: Send + Sync + std::fmt::Debug {
    /// Checks that the request can run (pod, container, state), before the API server
    /// upgrades the connection: the error is what the client reads as `Error from server`.
    fn check(&self, req: &StreamRequest, attach: bool) -> StreamResult<()>;

    /// Runs `req.command` in the container (`exec`) and ends when the process does.
    fn exec(&self, req: StreamRequest, io: StreamIo) -> StreamTask;

    /// Connects `io` to the container's main process (`attach`).
    fn attach(&self, req: StreamRequest, io: StreamIo) -> StreamTask;

    /// A connection to `port` inside the pod's network namespace (`portforward`, pod proxy),
    /// or why it failed (the cause after `error forwarding port P to pod …: `).
    fn dial(&self, namespace: &str, pod: &str, port: u16) -> Result<DuplexStream, String>;
}

//! One SPDY/3.1 session after the upgrade: the kubelet's streaming server for exec, attach
//! (`remotecommand/httpstream.go`) and port-forward (`portforward/httpstream.go`), over any
//! byte transport (a raw TLS connection, or the WebSocket tunnel's binary messages).
//!
//! The transport is two channels: inbound chunks of the byte stream, and outbound frames, each
//! one buffer so that it leaves as one write or one WebSocket message. Only this task touches
//! the header compressors; workers (the process's output pumps, port-forward copies) send
//! DATA frames straight to the outbound channel, after the SYN_REPLY this task queued first.
//! The server never sends first (kubectl may lose bytes pushed right behind the 101), never
//! sends SETTINGS or WINDOW_UPDATE (kubectl keeps no flow control), and echoes PINGs.
//!
//! Every wait is bounded: the client has [`STREAM_CREATION_TIMEOUT`] to open its streams, and
//! after the session's work is done it has [`CLOSE_GRACE`] to hang up before the server does.
//! When the session ends its workers are aborted, which drops the node's process future.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::spdy::{self, Decoder, Encoder, Frame, MAX_DATA};
use super::{ExecSpec, PortForwardSpec, exit_status};
use crate::streaming::{StreamIo, TerminalSize};

/// The kubelet's default stream creation timeout (`streaming.DefaultConfig`): the client has
/// 30 s to open every stream of an exec or attach.
pub const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a finished session stays open for the client to close it.
pub const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// What the session serves.
pub enum Work {
    Exec(ExecSpec),
    PortForward(PortForwardSpec),
}

/// Streams the client reset: nothing more is written to them.
type Resets = Arc<Mutex<HashSet<u32>>>;

/// Where the client's DATA on a stream goes.
enum Sink {
    Bytes(mpsc::Sender<Vec<u8>>),
    Resize(mpsc::Sender<TerminalSize>, Vec<u8>),
}

/// The streams of an exec or attach as they arrive.
#[derive(Default)]
struct ExecStreams {
    error: Option<u32>,
    stdin: Option<(u32, mpsc::Receiver<Vec<u8>>)>,
    stdout: Option<u32>,
    stderr: Option<u32>,
    resize: Option<(u32, mpsc::Receiver<TerminalSize>)>,
    seen: usize,
}

/// A port-forward request's streams, paired by `requestid`.
#[derive(Default)]
struct Pair {
    port: u16,
    error: Option<u32>,
    data: Option<(u32, mpsc::Receiver<Vec<u8>>)>,
}

/// Runs a session until the client goes away, or [`CLOSE_GRACE`] after its work ended.
pub async fn run(mut inbound: mpsc::Receiver<Vec<u8>>, out: mpsc::Sender<Vec<u8>>, work: Work) {
    let mut decoder = Decoder::default();
    let mut encoder = Encoder::default();
    let mut sinks: HashMap<u32, Sink> = HashMap::new();
    let resets: Resets = Arc::default();
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let (done_tx, mut done_rx) = mpsc::channel::<()>(4);
    let mut exec = ExecStreams::default();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut started = false;
    // Until the streams are all there, the creation timeout; after the work, the grace.
    let mut deadline = Some(Instant::now() + STREAM_CREATION_TIMEOUT);
    if matches!(work, Work::PortForward(_)) {
        deadline = None;
    }

    'session: loop {
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let chunk = tokio::select! {
            chunk = inbound.recv() => chunk,
            _ = done_rx.recv() => {
                if let Work::Exec(_) = work {
                    deadline = Some(Instant::now() + CLOSE_GRACE);
                }
                continue;
            }
            _ = sleep => break,
        };
        let Some(chunk) = chunk else { break };
        decoder.feed(&chunk);
        loop {
            let frame = match decoder.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "SPDY protocol error; closing the session");
                    break 'session;
                }
            };
            match frame {
                Frame::SynStream {
                    stream, headers, ..
                } => {
                    if out.send(encoder.syn_reply(stream)).await.is_err() {
                        break 'session;
                    }
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    match &work {
                        Work::Exec(spec) => {
                            exec_stream(&mut exec, &mut sinks, stream, &header("streamtype"));
                            if !started && exec.seen >= spec.expected_streams() {
                                started = true;
                                deadline = None;
                                let streams = std::mem::take(&mut exec);
                                workers.push(tokio::spawn(exec_worker(
                                    spec.clone(),
                                    streams,
                                    out.clone(),
                                    resets.clone(),
                                    done_tx.clone(),
                                )));
                            }
                        }
                        Work::PortForward(spec) => {
                            let kind = header("streamtype");
                            let port = header("port");
                            let request = header("requestid");
                            let Ok(port) = port.parse::<u16>() else {
                                // The kubelet refuses the stream: `"port" header is
                                // required` or an unparsable port.
                                let _ = out.send(spdy::rst_stream(stream, 1)).await;
                                continue;
                            };
                            if port == 0 || !matches!(kind.as_str(), "error" | "data") {
                                let _ = out.send(spdy::rst_stream(stream, 1)).await;
                                continue;
                            }
                            let pair = pairs.entry(request.clone()).or_default();
                            pair.port = port;
                            if kind == "error" {
                                pair.error = Some(stream);
                            } else {
                                let (tx, rx) = mpsc::channel(16);
                                sinks.insert(stream, Sink::Bytes(tx));
                                pair.data = Some((stream, rx));
                            }
                            if pair.error.is_some()
                                && pair.data.is_some()
                                && let Some(pair) = pairs.remove(&request)
                            {
                                workers.push(tokio::spawn(forward_worker(
                                    spec.clone(),
                                    pair,
                                    out.clone(),
                                    resets.clone(),
                                )));
                            }
                        }
                    }
                }
                Frame::Data { stream, fin, data } => {
                    let keep = match sinks.get_mut(&stream) {
                        Some(Sink::Bytes(tx)) => data.is_empty() || tx.send(data).await.is_ok(),
                        Some(Sink::Resize(tx, buf)) => {
                            buf.extend_from_slice(&data);
                            for size in take_sizes(buf) {
                                let _ = tx.try_send(size);
                            }
                            true
                        }
                        None => true,
                    };
                    if fin || !keep {
                        // Dropping the sender is end of input for the process or target.
                        sinks.remove(&stream);
                    }
                }
                Frame::RstStream { stream, .. } => {
                    sinks.remove(&stream);
                    if let Ok(mut r) = resets.lock() {
                        r.insert(stream);
                    }
                }
                Frame::Ping(id) => {
                    if out.send(spdy::ping(id)).await.is_err() {
                        break 'session;
                    }
                }
                Frame::GoAway { .. } => break 'session,
                Frame::Ignored(_) => {}
            }
        }
    }
    for w in workers {
        w.abort();
    }
}

/// Records one exec/attach stream by its `streamtype`.
fn exec_stream(exec: &mut ExecStreams, sinks: &mut HashMap<u32, Sink>, id: u32, kind: &str) {
    exec.seen += 1;
    match kind {
        "error" => exec.error = Some(id),
        "stdin" => {
            let (tx, rx) = mpsc::channel(16);
            sinks.insert(id, Sink::Bytes(tx));
            exec.stdin = Some((id, rx));
        }
        "stdout" => exec.stdout = Some(id),
        "stderr" => exec.stderr = Some(id),
        "resize" => {
            let (tx, rx) = mpsc::channel(16);
            sinks.insert(id, Sink::Resize(tx, Vec::new()));
            exec.resize = Some((id, rx));
        }
        // The kubelet rejects unknown stream types; the client never sends one.
        _ => exec.seen -= 1,
    }
}

/// The complete `{"Width":W,"Height":H}` objects in `buf` (newline-separated JSON, as
/// client-go's resize stream encodes them); a partial object stays for the next DATA.
pub(crate) fn take_sizes(buf: &mut Vec<u8>) -> Vec<TerminalSize> {
    #[derive(serde::Deserialize)]
    struct Size {
        #[serde(rename = "Width", default)]
        width: u16,
        #[serde(rename = "Height", default)]
        height: u16,
    }
    let mut sizes = Vec::new();
    while let Some(end) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=end).collect();
        if let Ok(s) = serde_json::from_slice::<Size>(&line) {
            sizes.push(TerminalSize {
                width: s.width,
                height: s.height,
            });
        }
    }
    sizes
}

/// Copies a process's output to DATA frames on one stream, at most 32 KiB each.
async fn pump(
    mut rx: mpsc::Receiver<Vec<u8>>,
    id: u32,
    out: mpsc::Sender<Vec<u8>>,
    resets: Resets,
) {
    while let Some(chunk) = rx.recv().await {
        if is_reset(&resets, id) {
            continue;
        }
        for part in chunk.chunks(MAX_DATA) {
            if out.send(spdy::data(id, false, part)).await.is_err() {
                return;
            }
        }
    }
}

fn is_reset(resets: &Resets, id: u32) -> bool {
    resets.lock().map(|r| r.contains(&id)).unwrap_or(false)
}

/// Runs the process once every stream is there, then ends the streams the way kubectl
/// waits for: stdout and stderr FIN, then the status on the error stream with FIN.
async fn exec_worker(
    spec: ExecSpec,
    streams: ExecStreams,
    out: mpsc::Sender<Vec<u8>>,
    resets: Resets,
    done: mpsc::Sender<()>,
) {
    let mut pumps = Vec::new();
    let mut output = |id: Option<u32>| {
        id.map(|id| {
            let (tx, rx) = mpsc::channel(16);
            pumps.push(tokio::spawn(pump(rx, id, out.clone(), resets.clone())));
            tx
        })
    };
    let stdout = output(streams.stdout);
    let stderr = if spec.req.tty {
        None
    } else {
        output(streams.stderr)
    };
    let io = StreamIo {
        stdin: streams.stdin.map(|(_, rx)| rx),
        resize: streams.resize.map(|(_, rx)| rx),
        stdout,
        stderr,
    };
    let exit = spec.run(io).await;
    // The process's senders are gone with its future; a node that kept one cannot hold
    // the session open past the grace.
    for p in pumps {
        let _ = tokio::time::timeout(CLOSE_GRACE, p).await;
    }
    for id in [streams.stdout, streams.stderr].into_iter().flatten() {
        if !is_reset(&resets, id) {
            let _ = out.send(spdy::data(id, true, &[])).await;
        }
    }
    if let Some(id) = streams.error {
        let status = exit_status(&spec, &exit);
        let _ = out.send(spdy::data(id, true, &status)).await;
    }
    let _ = done.send(()).await;
}

/// One forwarded connection: dial the pod's port, then copy both ways until the target is
/// done; a failed dial is reported on the error stream, as the kubelet does.
async fn forward_worker(
    spec: PortForwardSpec,
    pair: Pair,
    out: mpsc::Sender<Vec<u8>>,
    resets: Resets,
) {
    let (Some(error_id), Some((data_id, mut from_client))) = (pair.error, pair.data) else {
        return;
    };
    let target = match spec.streams.dial(&spec.namespace, &spec.pod, pair.port) {
        Ok(t) => t,
        Err(cause) => {
            let text = format!(
                "error forwarding port {} to pod {}, uid {}: {cause}",
                pair.port, spec.pod, spec.uid
            );
            let _ = out.send(spdy::data(error_id, true, text.as_bytes())).await;
            let _ = out.send(spdy::data(data_id, true, &[])).await;
            return;
        }
    };
    let (mut rd, mut wr) = tokio::io::split(target);
    let upstream = tokio::spawn(async move {
        while let Some(chunk) = from_client.recv().await {
            if wr.write_all(&chunk).await.is_err() {
                return;
            }
        }
        // The client's FIN: half-close towards the target.
        let _ = wr.shutdown().await;
    });
    let mut buf = vec![0u8; MAX_DATA];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if is_reset(&resets, data_id) {
                    break;
                }
                if out
                    .send(spdy::data(data_id, false, &buf[..n]))
                    .await
                    .is_err()
                {
                    upstream.abort();
                    return;
                }
            }
        }
    }
    upstream.abort();
    if !is_reset(&resets, data_id) {
        let _ = out.send(spdy::data(data_id, true, &[])).await;
    }
    // kubectl holds its local socket until the error stream ends.
    let _ = out.send(spdy::data(error_id, true, &[])).await;
}

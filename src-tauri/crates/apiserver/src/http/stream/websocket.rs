//! The WebSocket transports: the channel protocol of exec and attach
//! (`v5.channel.k8s.io`, `v4.channel.k8s.io`; STREAMS.md §4.1) and the port-forward tunnel
//! (`SPDY/3.1+portforward.k8s.io`, §2.4), on hyper's upgraded connection with
//! tokio-tungstenite.
//!
//! Channel protocol: every binary message is a channel byte and a payload — 0 stdin, 1
//! stdout, 2 stderr, 3 error (the `metav1.Status`), 4 resize; v5 adds `[255, ch]`, the
//! client's half-close of channel `ch` (kubectl sends `[255, 0]` at the end of its input).
//! The session ends with the status on channel 3 and a Close frame with code 1000, which
//! kubectl reads as end of every stream; any other ending makes it report an error reading
//! the error stream.
//!
//! kubectl pings every 5 s and gives up on a connection that has not answered for 61 s
//! (16 s in 1.29), counting only pongs: a reader keeps polling the socket for the whole
//! session, and tungstenite answers each ping as it reads it.
//!
//! kubectl registers its streams concurrently with reading after the 101, so output that
//! arrives at once could land on a stream not yet registered and be dropped (1.32+ then
//! logs `Unknown stream id 1, discarding message`); the first message, the empty one
//! included, waits [`START_DELAY`] after the upgrade (the real apiserver's round
//! trip to the kubelet gives the same room).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use super::session::{self, CLOSE_GRACE, take_sizes};
use super::{Body, ExecSpec, PortForwardSpec, exit_status, text_response};
use crate::error::Error;
use crate::streaming::StreamIo;

/// The wait before the first non-empty message of a channel session (see the module doc).
pub const START_DELAY: Duration = Duration::from_millis(50);

/// The largest payload per output message (kubectl's own stdin messages are at most 32 KiB).
const MAX_MESSAGE: usize = 32 * 1024;

/// The token sub-protocol browsers use to authenticate (never echoed, never negotiated:
/// apiserver `pkg/authentication/request/websocket/protocol.go`).
const BEARER_PROTOCOL_PREFIX: &str = "base64url.bearer.authorization.k8s.io.";

/// The sub-protocols the client offers, in order, without the bearer-token one.
pub(crate) fn offered_protocols(req: &Request<Incoming>) -> Vec<String> {
    super::header_list(req, "sec-websocket-protocol")
        .into_iter()
        .filter(|p| !p.starts_with(BEARER_PROTOCOL_PREFIX))
        .collect()
}

/// `Sec-WebSocket-Accept` for the client's key.
pub(crate) fn accept_key(req: &Request<Incoming>) -> Result<String, Error> {
    let key = req
        .headers()
        .get("sec-websocket-key")
        .ok_or_else(|| Error::BadRequest("missing Sec-WebSocket-Key header".into()))?;
    Ok(derive_accept_key(key.as_bytes()))
}

pub(crate) fn response_101(accept: &str, protocol: &str) -> Response<Body> {
    let body: Body = http_body_util::BodyExt::boxed(http_body_util::Empty::new());
    Response::builder()
        .status(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", accept)
        .header("Sec-WebSocket-Protocol", protocol)
        .body(body)
        .unwrap_or_else(|_| text_response(500, "upgrade failed"))
}

fn binary(channel: u8, payload: &[u8]) -> Message {
    let mut m = Vec::with_capacity(1 + payload.len());
    m.push(channel);
    m.extend_from_slice(payload);
    Message::Binary(m.into())
}

/// How channel messages are framed: binary (`v5`, `v4`), or text with the channel as an
/// ASCII digit and the payload in standard base64 (`v4.base64.channel.k8s.io`; apimachinery
/// `wsstream/conn.go`), for clients that cannot send binary messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Binary,
    Base64,
}

impl Codec {
    fn message(self, channel: u8, payload: &[u8]) -> Message {
        use base64::Engine as _;
        match self {
            Codec::Binary => binary(channel, payload),
            Codec::Base64 => {
                let mut text = String::with_capacity(1 + payload.len() * 4 / 3 + 4);
                text.push(char::from(b'0' + channel));
                text.push_str(&base64::engine::general_purpose::STANDARD.encode(payload));
                Message::Text(text.into())
            }
        }
    }

    /// The channel and payload of a client message; `None` for anything else.
    fn decode(self, msg: &Message) -> Option<(u8, Vec<u8>)> {
        use base64::Engine as _;
        match (self, msg) {
            (Codec::Binary, Message::Binary(b)) if !b.is_empty() => Some((b[0], b[1..].to_vec())),
            (Codec::Base64, Message::Text(t)) if !t.is_empty() => {
                let bytes = t.as_bytes();
                let channel = bytes[0].checked_sub(b'0')?;
                let payload = base64::engine::general_purpose::STANDARD
                    .decode(&bytes[1..])
                    .ok()?;
                Some((channel, payload))
            }
            _ => None,
        }
    }
}

fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

/// An exec or attach over the channel protocol; `v5` adds the half-close message.
pub(crate) async fn serve_channels<IO>(io: IO, spec: ExecSpec, v5: bool, codec: Codec)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ready = Instant::now() + START_DELAY;
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let closing = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || closing {
                return;
            }
        }
    });
    // The apiserver's first message: empty, on the lowest channel it writes. It waits too:
    // kubectl logs an error for any message on a stream it has not registered yet.
    tokio::time::sleep_until(ready).await;
    let first = if spec.req.stdout {
        1
    } else if spec.req.stderr {
        2
    } else {
        3
    };
    let _ = out_tx.send(codec.message(first, &[])).await;

    let (stdin_tx, stdin_rx) = if spec.req.stdin {
        let (tx, rx) = mpsc::channel::<Vec<u8>>(16);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let mut stdin_tx = stdin_tx;
    let (resize_tx, resize_rx) = if spec.req.tty {
        let (tx, rx) = mpsc::channel(16);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let worker = tokio::spawn({
        let out = out_tx.clone();
        async move {
            let mut pumps = Vec::new();
            let mut output = |wanted: bool, channel: u8| {
                wanted.then(|| {
                    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
                    let out = out.clone();
                    pumps.push(tokio::spawn(async move {
                        while let Some(chunk) = rx.recv().await {
                            tokio::time::sleep_until(ready).await;
                            for part in chunk.chunks(MAX_MESSAGE) {
                                if out.send(codec.message(channel, part)).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }));
                    tx
                })
            };
            let stdout = output(spec.req.stdout, 1);
            let stderr = output(spec.req.stderr && !spec.req.tty, 2);
            let io = StreamIo {
                stdin: stdin_rx,
                resize: resize_rx,
                stdout,
                stderr,
            };
            let exit = spec.run(io).await;
            for p in pumps {
                let _ = tokio::time::timeout(CLOSE_GRACE, p).await;
            }
            tokio::time::sleep_until(ready).await;
            let _ = out.send(codec.message(3, &exit_status(&spec, &exit))).await;
            let _ = out.send(normal_close()).await;
            let _ = done_tx.send(()).await;
        }
    });
    drop(out_tx);

    let mut resize_buf = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = done_rx.recv(), if deadline.is_none() => {
                // Waiting for the client's Close echo, within the grace.
                deadline = Some(Instant::now() + CLOSE_GRACE);
                continue;
            }
            _ = sleep => break,
        };
        let Some(Ok(msg)) = msg else { break };
        if matches!(msg, Message::Close(_)) {
            break;
        }
        let Some((channel, payload)) = codec.decode(&msg) else {
            continue;
        };
        match channel {
            0 => {
                if let Some(tx) = &stdin_tx
                    && !payload.is_empty()
                    && tx.send(payload).await.is_err()
                {
                    stdin_tx = None;
                }
            }
            4 => {
                if let Some(tx) = &resize_tx {
                    resize_buf.extend_from_slice(&payload);
                    // kubectl sends one object per message, not always with a newline.
                    if !resize_buf.ends_with(b"\n") {
                        resize_buf.push(b'\n');
                    }
                    for size in take_sizes(&mut resize_buf) {
                        let _ = tx.try_send(size);
                    }
                }
            }
            255 if v5 && payload == [0] => stdin_tx = None,
            // The apiserver closes a connection whose close message is malformed.
            255 if v5 && payload.len() != 1 => break,
            _ => {}
        }
    }
    worker.abort();
    let _ = tokio::time::timeout(CLOSE_GRACE, writer).await;
}

/// A session refused after the 101: the status on the error channel, then close 1000, and
/// the client's echo awaited within the grace.
pub(crate) async fn refuse<IO>(io: IO, status: &[u8])
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    tokio::time::sleep(START_DELAY).await;
    if ws.send(binary(3, status)).await.is_err() || ws.send(normal_close()).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(m)) = ws.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Port-forward over the kubelet's own WebSocket protocol (kube-rs; kubectl never uses it):
/// `?ports=80,8080`, port `i` on channels `2i` (data) and `2i+1` (error), each opened by the
/// server with the port number as two little-endian bytes (kubelet
/// `cri/streaming/portforward/websocket.go`). One connection per port; the session ends
/// with close 1000 once every target is done.
pub(crate) async fn serve_port_forward<IO>(io: IO, spec: PortForwardSpec, ports: Vec<u16>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let closing = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || closing {
                return;
            }
        }
    });
    let mut to_targets: Vec<Option<mpsc::Sender<Vec<u8>>>> = Vec::new();
    let mut copies = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let (data_ch, err_ch) = ((2 * i) as u8, (2 * i + 1) as u8);
        let _ = out_tx.send(binary(data_ch, &port.to_le_bytes())).await;
        let _ = out_tx.send(binary(err_ch, &port.to_le_bytes())).await;
        match spec.streams.dial(&spec.namespace, &spec.pod, *port) {
            Ok(target) => {
                let (mut rd, mut wr) = tokio::io::split(target);
                let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
                to_targets.push(Some(tx));
                tokio::spawn(async move {
                    while let Some(chunk) = rx.recv().await {
                        if wr.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                    let _ = wr.shutdown().await;
                });
                let out = out_tx.clone();
                copies.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; MAX_MESSAGE];
                    while let Ok(n) = rd.read(&mut buf).await {
                        if n == 0 || out.send(binary(data_ch, &buf[..n])).await.is_err() {
                            break;
                        }
                    }
                }));
            }
            Err(cause) => {
                to_targets.push(None);
                let text = format!(
                    "error forwarding port {port} to pod {}, uid {}: {cause}",
                    spec.pod, spec.uid
                );
                let _ = out_tx.send(binary(err_ch, text.as_bytes())).await;
            }
        }
    }
    let all_done = {
        let out = out_tx.clone();
        async move {
            for c in copies {
                let _ = c.await;
            }
            let _ = out.send(normal_close()).await;
        }
    };
    drop(out_tx);
    let reader = async {
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Binary(b) if b.len() > 1 => {
                    let ch = usize::from(b[0]);
                    if ch % 2 == 0
                        && let Some(Some(tx)) = to_targets.get(ch / 2)
                        && tx.send(b[1..].to_vec()).await.is_err()
                    {
                        to_targets[ch / 2] = None;
                    }
                }
                Message::Close(_) => return,
                _ => {}
            }
        }
    };
    tokio::select! {
        _ = reader => {}
        _ = all_done => {
            // Wait briefly for the client's echo of the close.
            let _ = tokio::time::timeout(CLOSE_GRACE, async {
                while let Some(Ok(m)) = stream.next().await {
                    if matches!(m, Message::Close(_)) { break; }
                }
            }).await;
        }
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, writer).await;
}

/// Port-forward over the WebSocket tunnel: inbound binary messages are a SPDY byte stream
/// (their boundaries mean nothing), and each outgoing SPDY frame is one binary message.
pub(crate) async fn tunnel<IO>(io: IO, spec: PortForwardSpec)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    let (mut sink, mut stream) = ws.split();
    let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(16);
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(64);
    let writer = tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                return;
            }
        }
        let _ = sink.send(normal_close()).await;
    });
    let spdy = tokio::spawn(session::run(
        in_rx,
        out_tx,
        session::Work::PortForward(spec),
    ));
    let reader = async {
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Binary(b) if in_tx.send(b.to_vec()).await.is_err() => return,
                Message::Binary(_) => {}
                // The tunnel carries binary only; a text message ends it.
                Message::Text(_) | Message::Close(_) => return,
                _ => {}
            }
        }
    };
    tokio::select! {
        _ = reader => {}
        _ = spdy => {}
    }
    drop(in_tx);
    let _ = tokio::time::timeout(CLOSE_GRACE, writer).await;
}

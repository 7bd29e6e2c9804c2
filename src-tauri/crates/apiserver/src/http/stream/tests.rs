//! Sessions end to end against an in-test node: a SPDY exec, a WebSocket v5 exec and
//! port-forward frames, driven the way kubectl drives them.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::spdy::tests::ClientFramer;
use super::spdy::{self, Frame};
use super::*;
use crate::streaming::{StreamResult, StreamTask};

/// A node whose "processes" are tiny scripts: `cat` echoes stdin, `echo` prints its
/// arguments, `exit N` exits N after writing to both streams, `fail` cannot start. Port 80
/// echoes what it is sent; every other port refuses.
#[derive(Debug)]
struct FakeNode;

impl ContainerStreams for FakeNode {
    fn check(&self, req: &StreamRequest, _attach: bool) -> StreamResult<()> {
        if req.pod == "missing" {
            return Err(Error::not_found("", "pods", &req.pod));
        }
        Ok(())
    }

    fn exec(&self, req: StreamRequest, mut io: StreamIo) -> StreamTask {
        Box::pin(async move {
            let out = io.stdout.take();
            let err = io.stderr.take();
            match req.command.first().map(String::as_str) {
                Some("cat") => {
                    if let (Some(mut stdin), Some(out)) = (io.stdin.take(), out) {
                        while let Some(chunk) = stdin.recv().await {
                            let _ = out.send(chunk).await;
                        }
                    }
                    StreamExit::Success
                }
                Some("echo") => {
                    if let Some(out) = out {
                        let _ = out
                            .send(format!("{}\n", req.command[1..].join(" ")).into_bytes())
                            .await;
                    }
                    StreamExit::Success
                }
                Some("exit") => {
                    if let Some(out) = out {
                        let _ = out.send(b"o\n".to_vec()).await;
                    }
                    if let Some(err) = err {
                        let _ = err.send(b"e\n".to_vec()).await;
                    }
                    StreamExit::ExitCode(
                        req.command.get(1).and_then(|n| n.parse().ok()).unwrap_or(1),
                    )
                }
                Some("big") => {
                    if let Some(out) = out {
                        let _ = out.send(vec![b'x'; 200_000]).await;
                    }
                    StreamExit::Success
                }
                _ => StreamExit::Failed("boom".into()),
            }
        })
    }

    fn attach(&self, req: StreamRequest, io: StreamIo) -> StreamTask {
        let mut req = req;
        req.command = vec!["cat".into()];
        self.exec(req, io)
    }

    fn dial(&self, _namespace: &str, _pod: &str, port: u16) -> Result<DuplexStream, String> {
        if port != 80 {
            return Err(format!(
                "dial tcp 10.244.0.5:{port}: connect: connection refused"
            ));
        }
        let (near, mut far) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                match far.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if far.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(near)
    }
}

fn exec_spec(command: &[&str], stdin: bool, stderr: bool) -> ExecSpec {
    ExecSpec {
        req: StreamRequest {
            namespace: "default".into(),
            pod: "p".into(),
            container: Some("c".into()),
            command: command.iter().map(|s| s.to_string()).collect(),
            stdin,
            stdout: true,
            stderr,
            tty: false,
        },
        attach: false,
        streams: Arc::new(FakeNode),
    }
}

/// A SPDY client on a byte pipe: sends frames, collects the server's frames per stream.
struct SpdyClient {
    io: DuplexStream,
    framer: ClientFramer,
}

impl SpdyClient {
    async fn send(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.expect("write");
    }

    /// The next frame from the server, within 5 s.
    async fn frame(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self
                .framer
                .inflate
                .next_frame()
                .expect("server frames are valid")
            {
                return Some(f);
            }
            let n = tokio::time::timeout(Duration::from_secs(5), self.io.read(&mut buf))
                .await
                .expect("the server answers within 5 s")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.framer.inflate.feed(&buf[..n]);
        }
    }
}

fn spdy_pair(work: session::Work) -> SpdyClient {
    let (client, server) = tokio::io::duplex(1 << 20);
    tokio::spawn(serve_spdy(server, work));
    SpdyClient {
        io: client,
        framer: ClientFramer::new(),
    }
}

/// What a finished exec sent, per stream, and whether each stream was FINed.
#[derive(Default, Debug)]
struct Collected {
    data: std::collections::HashMap<u32, Vec<u8>>,
    fin: std::collections::HashSet<u32>,
    replies: Vec<u32>,
}

async fn collect_until_fin(c: &mut SpdyClient, until: u32) -> Collected {
    let mut got = Collected::default();
    while !got.fin.contains(&until) {
        match c.frame().await {
            Some(Frame::Data { stream, fin, data }) => {
                got.data.entry(stream).or_default().extend_from_slice(&data);
                if fin {
                    got.fin.insert(stream);
                }
            }
            Some(Frame::Ignored(2)) => got.replies.push(0),
            Some(_) => {}
            None => break,
        }
    }
    got
}

#[tokio::test]
async fn a_spdy_exec_replies_to_each_stream_and_ends_with_output_fins_then_the_exit_status() {
    let mut c = spdy_pair(session::Work::Exec(exec_spec(&["exit", "7"], false, true)));
    for (id, kind) in [(1, "error"), (3, "stdout"), (5, "stderr")] {
        let f = c.framer.syn_stream(id, &[("streamtype", kind)]);
        c.send(&f).await;
    }
    c.send(&spdy::ping(9)).await;
    let got = collect_until_fin(&mut c, 1).await;
    assert_eq!(got.replies.len(), 3, "one SYN_REPLY per stream");
    assert_eq!(got.data.get(&3).map(Vec::as_slice), Some(&b"o\n"[..]));
    assert_eq!(got.data.get(&5).map(Vec::as_slice), Some(&b"e\n"[..]));
    assert!(
        got.fin.contains(&3) && got.fin.contains(&5),
        "stdout and stderr end first"
    );
    let status: Value = serde_json::from_slice(&got.data[&1]).expect("status JSON");
    assert_eq!(
        status,
        json!({"metadata":{},"status":"Failure",
            "message":"command terminated with non-zero exit code: error executing command [exit 7], exit code 7",
            "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}})
    );
}

#[tokio::test]
async fn spdy_stdin_fin_is_end_of_input_and_big_output_is_not_held_by_a_window() {
    let mut c = spdy_pair(session::Work::Exec(exec_spec(&["cat"], true, true)));
    for (id, kind) in [(1, "error"), (3, "stdin"), (5, "stdout"), (7, "stderr")] {
        let f = c.framer.syn_stream(id, &[("streamtype", kind)]);
        c.send(&f).await;
    }
    c.send(&spdy::data(3, false, b"a\n")).await;
    c.send(&spdy::data(3, true, b"b\n")).await;
    let got = collect_until_fin(&mut c, 1).await;
    assert_eq!(got.data.get(&5).map(Vec::as_slice), Some(&b"a\nb\n"[..]));
    assert_eq!(
        got.data[&1],
        br#"{"metadata":{},"status":"Success"}"#.to_vec()
    );

    let mut c = spdy_pair(session::Work::Exec(exec_spec(&["big"], false, false)));
    for (id, kind) in [(1, "error"), (3, "stdout")] {
        let f = c.framer.syn_stream(id, &[("streamtype", kind)]);
        c.send(&f).await;
    }
    let got = collect_until_fin(&mut c, 1).await;
    assert_eq!(
        got.data[&3].len(),
        200_000,
        "more than SPDY's 64 KiB initial window"
    );
}

#[tokio::test]
async fn a_failed_exec_is_an_internal_error_status() {
    let mut c = spdy_pair(session::Work::Exec(exec_spec(&["nope"], false, false)));
    for (id, kind) in [(1, "error"), (3, "stdout")] {
        let f = c.framer.syn_stream(id, &[("streamtype", kind)]);
        c.send(&f).await;
    }
    let got = collect_until_fin(&mut c, 1).await;
    let status: Value = serde_json::from_slice(&got.data[&1]).expect("status JSON");
    assert_eq!(
        status,
        json!({"metadata":{},"status":"Failure",
            "message":"Internal error occurred: error executing command in container: boom",
            "reason":"InternalError",
            "details":{"causes":[{"message":"error executing command in container: boom"}]},"code":500})
    );
}

fn pf_spec() -> PortForwardSpec {
    PortForwardSpec {
        namespace: "default".into(),
        pod: "web".into(),
        uid: "1234-abcd".into(),
        streams: Arc::new(FakeNode),
    }
}

#[tokio::test]
async fn port_forward_pairs_streams_by_request_id_and_reports_a_refused_port_on_the_error_stream() {
    let mut c = spdy_pair(session::Work::PortForward(pf_spec()));
    let f = c.framer.syn_stream(
        1,
        &[("streamtype", "error"), ("port", "80"), ("requestid", "0")],
    );
    c.send(&f).await;
    let f = c.framer.syn_stream(
        3,
        &[("streamtype", "data"), ("port", "80"), ("requestid", "0")],
    );
    c.send(&f).await;
    c.send(&spdy::data(3, true, b"GET / HTTP/1.0\r\n\r\n"))
        .await;
    let got = collect_until_fin(&mut c, 1).await;
    assert_eq!(
        got.data.get(&3).map(Vec::as_slice),
        Some(&b"GET / HTTP/1.0\r\n\r\n"[..])
    );
    assert!(got.fin.contains(&3), "data ends when the target is done");
    assert!(got.data.get(&1).is_none_or(Vec::is_empty), "no error");

    let f = c.framer.syn_stream(
        5,
        &[("streamtype", "error"), ("port", "81"), ("requestid", "1")],
    );
    c.send(&f).await;
    let f = c.framer.syn_stream(
        7,
        &[("streamtype", "data"), ("port", "81"), ("requestid", "1")],
    );
    c.send(&f).await;
    let got = collect_until_fin(&mut c, 5).await;
    assert_eq!(
        String::from_utf8_lossy(&got.data[&5]),
        "error forwarding port 81 to pod web, uid 1234-abcd: dial tcp 10.244.0.5:81: connect: connection refused"
    );
}

#[test]
fn repeated_command_parameters_are_all_kept_in_order() {
    let q = parse_query_all(Some(
        "command=sh&command=-c&command=echo+hi%21&container=c&stdout=true",
    ));
    assert_eq!(q["command"], vec!["sh", "-c", "echo hi!"]);
    assert_eq!(
        match_path("/api/v1/namespaces/default/pods/p/exec"),
        Some(("default".into(), "p".into(), "exec"))
    );
    assert_eq!(match_path("/api/v1/namespaces/default/pods/p/log"), None);
}

/// The client side of the channel protocol over a pipe, unmasked framing handled by
/// tungstenite as a client.
async fn ws_pair(spec: ExecSpec, v5: bool) -> WebSocketStream<DuplexStream> {
    let (client, server) = tokio::io::duplex(1 << 20);
    tokio::spawn(websocket::serve_channels(
        server,
        spec,
        v5,
        websocket::Codec::Binary,
    ));
    WebSocketStream::from_raw_socket(client, Role::Client, None).await
}

#[tokio::test]
async fn a_websocket_v5_exec_half_closes_stdin_and_ends_with_status_and_close_1000() {
    let mut ws = ws_pair(exec_spec(&["cat"], true, true), true).await;
    ws.send(Message::Binary(vec![0, b'h', b'i', b'\n'].into()))
        .await
        .expect("send");
    ws.send(Message::Binary(vec![255, 0].into()))
        .await
        .expect("send");
    let mut stdout = Vec::new();
    let mut status = None;
    let mut close = None;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        match msg {
            Ok(Message::Binary(b)) if b.first() == Some(&1) => stdout.extend_from_slice(&b[1..]),
            Ok(Message::Binary(b)) if b.first() == Some(&3) => status = Some(b[1..].to_vec()),
            Ok(Message::Close(f)) => {
                close = f.map(|f| u16::from(f.code));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(stdout, b"hi\n");
    assert_eq!(
        status.as_deref(),
        Some(&br#"{"metadata":{},"status":"Success"}"#[..])
    );
    assert_eq!(
        close,
        Some(1000),
        "kubectl reads only close 1000 as the end of every stream"
    );
}

#[tokio::test]
async fn websocket_pings_are_answered_while_the_process_runs() {
    let mut ws = ws_pair(exec_spec(&["cat"], true, false), true).await;
    ws.send(Message::Ping(b"k".to_vec().into()))
        .await
        .expect("ping");
    let mut pong = false;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
        if let Message::Pong(p) = msg {
            pong = p.as_ref() == b"k";
            break;
        }
    }
    assert!(pong, "a pong for the ping, without any other traffic");
}

#[tokio::test]
async fn resize_messages_become_terminal_sizes() {
    let mut buf = br#"{"Width":80,"Height":24}"#.to_vec();
    buf.push(b'\n');
    buf.extend_from_slice(br#"{"Width":100,"#);
    let sizes = session::take_sizes(&mut buf);
    assert_eq!(
        sizes,
        vec![crate::streaming::TerminalSize {
            width: 80,
            height: 24
        }]
    );
    assert_eq!(
        buf,
        br#"{"Width":100,"#.to_vec(),
        "a partial object waits for the rest"
    );
}

#[tokio::test]
async fn kubelet_style_websocket_port_forward_opens_each_channel_with_its_port() {
    let (client, server) = tokio::io::duplex(1 << 20);
    tokio::spawn(websocket::serve_port_forward(
        server,
        pf_spec(),
        vec![80, 81],
    ));
    let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    let mut got: Vec<Vec<u8>> = Vec::new();
    for _ in 0..5 {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => got.push(b.to_vec()),
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
    assert_eq!(
        got[0],
        vec![0, 80, 0],
        "data channel of port 80, little-endian port"
    );
    assert_eq!(got[1], vec![1, 80, 0]);
    assert_eq!(got[2], vec![2, 81, 0]);
    assert_eq!(got[3], vec![3, 81, 0]);
    assert_eq!(
        String::from_utf8_lossy(&got[4][1..]),
        "error forwarding port 81 to pod web, uid 1234-abcd: dial tcp 10.244.0.5:81: connect: connection refused"
    );
    assert_eq!(got[4][0], 3, "on port 81's error channel");
    ws.send(Message::Binary(vec![0, b'p', b'i', b'n', b'g'].into()))
        .await
        .expect("send");
    let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    assert!(
        matches!(&echoed, Ok(Some(Ok(Message::Binary(b)))) if b.as_ref() == b"\0ping"),
        "the echo target answers on port 80's data channel: {echoed:?}"
    );
}

#[tokio::test]
async fn the_base64_channel_protocol_carries_text_messages_both_ways() {
    let (client, server) = tokio::io::duplex(1 << 20);
    tokio::spawn(websocket::serve_channels(
        server,
        exec_spec(&["cat"], true, false),
        false,
        websocket::Codec::Base64,
    ));
    let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    // "0" + base64("hi\n"); v4 has no half-close, so the test reads the echo and hangs up.
    ws.send(Message::Text("0aGkK".into())).await.expect("send");
    let mut texts = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        if let Message::Text(t) = msg {
            let t = t.to_string();
            let done = t == "1aGkK";
            texts.push(t);
            if done {
                break;
            }
        }
    }
    assert_eq!(
        texts,
        vec!["1".to_string(), "1aGkK".to_string()],
        "the empty first message, then the echo"
    );
}

#[tokio::test]
async fn a_server_shutdown_ends_upgraded_sessions() {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
    struct Guard(Option<tokio::sync::oneshot::Sender<()>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }
    let guard = Guard(Some(dropped_tx));
    spawn_session(Some(Shutdown(stop_rx)), async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    stop_tx.send(true).expect("the session listens");
    tokio::time::timeout(Duration::from_secs(2), dropped_rx)
        .await
        .expect("the session ends at shutdown")
        .expect("its future is dropped");
}

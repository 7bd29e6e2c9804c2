//! The streaming subresources of a pod: `exec`, `attach` and `portforward` (STREAMS.md
//! §1–§4), the wire kube-apiserver and the kubelet speak together to kubectl.
//!
//! A request is checked before anything is upgraded, so every refusal is an ordinary HTTP
//! answer: a SPDY client prints a `metav1.Status` as `Error from server (…)`, and any
//! non-101 answer to a WebSocket attempt makes kubectl 1.30+ retry over SPDY. The checks
//! are the API server's (`pkg/registry/core/pod/strategy.go` `streamLocation`: the pod, its
//! container, its node) and then the node's ([`ContainerStreams::check`]).
//!
//! After the checks the connection is upgraded to one of:
//! * SPDY/3.1 (`Upgrade: SPDY/3.1`, every kubectl): [`session`] over the raw connection;
//! * WebSocket `v5.channel.k8s.io` / `v4.channel.k8s.io` (exec and attach from kubectl
//!   1.30+, kube-rs), or `v4.base64.channel.k8s.io` (text messages): [`websocket`];
//! * WebSocket `v4.channel.k8s.io` on `portforward?ports=…` (kube-rs): the kubelet's own
//!   port-forward protocol, [`websocket::serve_port_forward`];
//! * WebSocket `SPDY/3.1+portforward.k8s.io` (port-forward from kubectl 1.31+): the same SPDY
//!   [`session`] carried in binary WebSocket messages ([`websocket::tunnel`]).
//!
//! [`crate::ServerLimits::websocket_streams`] off answers every WebSocket upgrade with 400,
//! which makes kubectl fall back to SPDY (how tests reach the SPDY path on 1.30+).

pub mod session;
pub mod spdy;
pub mod websocket;

use std::collections::HashMap;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{ApiState, Body, error_response, percent_decode, text_response};
use crate::error::Error;
use crate::kinds;
use crate::streaming::{ContainerStreams, StreamExit, StreamIo, StreamRequest};

/// The SPDY sub-protocols of exec and attach the kubelet knows, best first
/// (apimachinery `pkg/util/remotecommand/constants.go`); v5 is only spoken over WebSocket.
const SPDY_EXEC_PROTOCOLS: &[&str] = &[
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
];

/// Port-forward's one SPDY sub-protocol (kubelet `portforward.ProtocolV1Name`).
const PORT_FORWARD_PROTOCOL: &str = "portforward.k8s.io";

/// The WebSocket sub-protocols served for exec and attach.
const WS_EXEC_PROTOCOLS: &[&str] = &[
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
];

/// The port-forward tunnel's WebSocket sub-protocol (`WebsocketsSPDYTunnelingPrefix` +
/// `portforward.k8s.io`).
const WS_TUNNEL_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";

/// `(namespace, pod, subresource)` when the path is a pod's exec, attach or portforward.
pub(crate) fn match_path(path: &str) -> Option<(String, String, &'static str)> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [ns, "pods", name, sub] = parts.as_slice() else {
        return None;
    };
    let sub = match *sub {
        "exec" => "exec",
        "attach" => "attach",
        "portforward" => "portforward",
        _ => return None,
    };
    Some((percent_decode(ns), percent_decode(name), sub))
}

/// Every value of every query key, in order (`command` repeats; the server's own query
/// parser keeps only the first value of a key).
pub(crate) fn parse_query_all(q: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.entry(percent_decode(k))
            .or_default()
            .push(percent_decode(v));
    }
    m
}

/// Go's `strconv.ParseBool`, which the query-parameter conversion uses.
fn parse_bool(q: &HashMap<String, Vec<String>>, key: &str) -> Result<bool, Error> {
    match q.get(key).and_then(|v| v.first()).map(String::as_str) {
        None => Ok(false),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False" | "") => Ok(false),
        Some(other) => Err(Error::BadRequest(format!(
            "strconv.ParseBool: parsing \"{other}\": invalid syntax"
        ))),
    }
}

/// An exec or attach, checked and ready to run.
#[derive(Clone)]
pub struct ExecSpec {
    pub req: StreamRequest,
    pub attach: bool,
    pub streams: Arc<dyn ContainerStreams>,
}

impl ExecSpec {
    /// The streams a SPDY client opens: error, then stdin, stdout, stderr (not with a TTY)
    /// and resize (TTY only) as asked (client-go `v2.go`/`v3.go` `createStreams`).
    pub fn expected_streams(&self) -> usize {
        let r = &self.req;
        1 + usize::from(r.stdin)
            + usize::from(r.stdout)
            + usize::from(r.stderr && !r.tty)
            + usize::from(r.tty)
    }

    /// Runs the process (exec) or connects to the main one (attach).
    pub async fn run(&self, io: StreamIo) -> StreamExit {
        if self.attach {
            self.streams.attach(self.req.clone(), io).await
        } else {
            self.streams.exec(self.req.clone(), io).await
        }
    }
}

/// A port-forward, checked and ready to dial.
#[derive(Clone)]
pub struct PortForwardSpec {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub streams: Arc<dyn ContainerStreams>,
}

/// The error stream's `metav1.Status` for how the session ended (kubelet
/// `remotecommand/exec.go` `ServeExec`, `attach.go` `ServeAttach`).
pub fn exit_status(spec: &ExecSpec, exit: &StreamExit) -> Vec<u8> {
    let v: Value = match exit {
        StreamExit::Success => json!({"metadata": {}, "status": "Success"}),
        // An attach reports only success or an internal error.
        StreamExit::ExitCode(_) if spec.attach => json!({"metadata": {}, "status": "Success"}),
        StreamExit::ExitCode(n) => json!({
            "metadata": {},
            "status": "Failure",
            // The runtime's exit error (containerd: `error executing command %v, exit code
            // %d`, the command printed as a Go slice).
            "message": format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {n}",
                spec.req.command.join(" ")
            ),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": n.to_string()}]},
        }),
        StreamExit::Failed(text) => {
            let cause = format!("error executing command in container: {text}");
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("Internal error occurred: {cause}"),
                "reason": "InternalError",
                "details": {"causes": [{"message": cause}]},
                "code": 500,
            })
        }
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

/// The server's shutdown signal, carried in a request's extensions: an upgraded session runs
/// on its own task, past the connection task that the server closes at shutdown.
#[derive(Clone)]
pub(crate) struct Shutdown(pub tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once the server shuts down (never, if the server is gone without saying so:
    /// the session then ends with its client).
    async fn wait(mut self) {
        loop {
            if *self.0.borrow() {
                return;
            }
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Runs an upgraded session on its own task until it ends or the server shuts down.
fn spawn_session<F>(stop: Option<Shutdown>, session: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        match stop {
            Some(stop) => {
                tokio::select! {
                    _ = session => {}
                    _ = stop.wait() => {}
                }
            }
            None => session.await,
        }
    });
}

/// A header's values split on commas and trimmed, across repeated header lines.
fn header_list(req: &Request<Incoming>, name: &str) -> Vec<String> {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn header_has_token(req: &Request<Incoming>, name: &str, token: &str) -> bool {
    header_list(req, name)
        .iter()
        .any(|v| v.eq_ignore_ascii_case(token))
}

/// What the client asked to upgrade to.
enum Transport {
    Spdy,
    WebSocket,
}

/// Answers an exec, attach or portforward request: a refusal, or 101 and the session.
pub(crate) async fn handle(
    state: Arc<ApiState>,
    req: Request<Incoming>,
    ns: String,
    name: String,
    sub: &'static str,
) -> Response<Body> {
    match prepare(&state, req, ns, name, sub) {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    }
}

fn prepare(
    state: &Arc<ApiState>,
    mut req: Request<Incoming>,
    ns: String,
    name: String,
    sub: &'static str,
) -> Result<Response<Body>, Error> {
    if req.method() != Method::GET && req.method() != Method::POST {
        return Err(Error::MethodNotAllowed);
    }
    let transport = if header_has_token(&req, "upgrade", "websocket") {
        Some(Transport::WebSocket)
    } else if header_has_token(&req, "upgrade", "spdy/3.1") {
        Some(Transport::Spdy)
    } else {
        None
    };
    // kube-apiserver finds the pod, its container and its node first; a request without an
    // upgrade then stops at its upgrade-aware proxy (`UpgradeRequired`) as a BadRequest status.
    let upgrade_required = || Error::BadRequest("Upgrade request required".into());
    if matches!(transport, Some(Transport::WebSocket)) && !state.limits.websocket_streams {
        return Ok(text_response(
            400,
            "WebSocket streaming is switched off on this server\n",
        ));
    }
    let query = parse_query_all(req.uri().query());
    let stop = req.extensions().get::<Shutdown>().cloned();
    let pods = kinds::by_resource("", "v1", "pods").ok_or(Error::PathNotFound)?;
    let pod = state
        .store
        .get_raw(pods, &ns, &name)
        .ok_or_else(|| Error::not_found("", "pods", &name))?;
    // No kubelet answers (a cluster started without its node side): kube-apiserver's failed
    // dial to the node, after its own checks.
    let no_kubelet = || Error::Internal(format!("no kubelet is serving pod {name}"));

    if sub == "portforward" {
        if kinds::str_at(&pod, "/spec/nodeName").is_empty() {
            return Err(Error::BadRequest(format!(
                "pod {name} does not have a host assigned"
            )));
        }
        let transport = transport.ok_or_else(upgrade_required)?;
        let streams = state.streams.clone().ok_or_else(no_kubelet)?;
        let spec = PortForwardSpec {
            namespace: ns,
            pod: name,
            uid: kinds::str_at(&pod, "/metadata/uid").to_string(),
            streams,
        };
        return match transport {
            Transport::Spdy => {
                let protocols = header_list(&req, "x-stream-protocol-version");
                let chosen = match negotiate(&protocols, &[PORT_FORWARD_PROTOCOL]) {
                    Ok(c) => c,
                    Err(refusal) => return Ok(*refusal),
                };
                let upgrade = hyper::upgrade::on(&mut req);
                spawn_session(stop.clone(), async move {
                    if let Ok(io) = upgrade.await {
                        serve_spdy(TokioIo::new(io), session::Work::PortForward(spec)).await;
                    }
                });
                Ok(spdy_101(chosen))
            }
            Transport::WebSocket => {
                let offered = websocket::offered_protocols(&req);
                if !offered.iter().any(|p| p == WS_TUNNEL_PROTOCOL) {
                    // The kubelet's own WebSocket port-forward (kube-rs): ports in the query.
                    if offered.iter().any(|p| p == "v4.channel.k8s.io") {
                        let mut ports = Vec::new();
                        for p in query
                            .get("ports")
                            .into_iter()
                            .flatten()
                            .flat_map(|v| v.split(','))
                        {
                            match p.trim().parse::<u16>() {
                                Ok(n) if n > 0 => ports.push(n),
                                _ => {
                                    return Ok(text_response(
                                        400,
                                        format!("unable to parse \"{p}\" as a port\n"),
                                    ));
                                }
                            }
                        }
                        if ports.is_empty() {
                            return Ok(text_response(
                                400,
                                "query parameter \"port\" is required\n",
                            ));
                        }
                        let key = websocket::accept_key(&req)?;
                        let upgrade = hyper::upgrade::on(&mut req);
                        spawn_session(stop.clone(), async move {
                            if let Ok(io) = upgrade.await {
                                websocket::serve_port_forward(TokioIo::new(io), spec, ports).await;
                            }
                        });
                        return Ok(websocket::response_101(&key, "v4.channel.k8s.io"));
                    }
                    return Ok(ws_refusal(&offered));
                }
                let key = websocket::accept_key(&req)?;
                let upgrade = hyper::upgrade::on(&mut req);
                spawn_session(stop.clone(), async move {
                    if let Ok(io) = upgrade.await {
                        websocket::tunnel(TokioIo::new(io), spec).await;
                    }
                });
                Ok(websocket::response_101(&key, WS_TUNNEL_PROTOCOL))
            }
        };
    }

    let attach = sub == "attach";
    let stdin = parse_bool(&query, "stdin")?;
    let stdout = parse_bool(&query, "stdout")?;
    let mut stderr = parse_bool(&query, "stderr")?;
    let tty = parse_bool(&query, "tty")?;
    let command = if attach {
        Vec::new()
    } else {
        query.get("command").cloned().unwrap_or_default()
    };
    let container = kinds::pod::request_container(
        &pod,
        query
            .get("container")
            .and_then(|v| v.first())
            .map(String::as_str),
    )?;
    if kinds::str_at(&pod, "/spec/nodeName").is_empty() {
        return Err(Error::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let transport = transport.ok_or_else(upgrade_required)?;
    let streams = state.streams.clone().ok_or_else(no_kubelet)?;
    if !stdin && !stdout && !stderr {
        // The kubelet's own refusal (`remotecommand.NewOptions`), plain text.
        return Ok(text_response(
            400,
            "you must specify at least 1 of stdin, stdout, stderr\n",
        ));
    }
    if tty && stderr {
        // A terminal carries both output streams (`NewOptions`: "stderr is ignored").
        stderr = false;
    }
    let stream_req = StreamRequest {
        namespace: ns,
        pod: name,
        container: Some(container),
        command,
        stdin,
        stdout,
        stderr,
        tty,
    };
    // The kubelet's own refusal is plain text: a SPDY client prints it after `unable to
    // upgrade connection: `; the 1.30+ apiserver's WebSocket translator has already sent
    // its 101 and reports it as an InternalError status on the error channel.
    let mut kubelet_refusal = None;
    match streams.check(&stream_req, attach) {
        Ok(()) => {}
        Err(Error::KubeletUpgrade(text)) => match transport {
            Transport::Spdy => return Ok(text_response(500, text)),
            Transport::WebSocket => kubelet_refusal = Some(text),
        },
        Err(e) => return Err(e),
    }
    let spec = ExecSpec {
        req: stream_req,
        attach,
        streams,
    };
    match transport {
        Transport::Spdy => {
            let protocols = header_list(&req, "x-stream-protocol-version");
            let chosen = match negotiate(&protocols, SPDY_EXEC_PROTOCOLS) {
                Ok(c) => c,
                Err(refusal) => return Ok(*refusal),
            };
            let upgrade = hyper::upgrade::on(&mut req);
            spawn_session(stop.clone(), async move {
                if let Ok(io) = upgrade.await {
                    serve_spdy(TokioIo::new(io), session::Work::Exec(spec)).await;
                }
            });
            Ok(spdy_101(chosen))
        }
        Transport::WebSocket => {
            let offered = websocket::offered_protocols(&req);
            let Some(chosen) = offered
                .iter()
                .find(|p| WS_EXEC_PROTOCOLS.contains(&p.as_str()))
                .cloned()
            else {
                return Ok(ws_refusal(&offered));
            };
            let key = websocket::accept_key(&req)?;
            let upgrade = hyper::upgrade::on(&mut req);
            let v5 = chosen == "v5.channel.k8s.io";
            let codec = if chosen == "v4.base64.channel.k8s.io" {
                websocket::Codec::Base64
            } else {
                websocket::Codec::Binary
            };
            spawn_session(stop.clone(), async move {
                let Ok(io) = upgrade.await else { return };
                match kubelet_refusal {
                    None => websocket::serve_channels(TokioIo::new(io), spec, v5, codec).await,
                    Some(text) => {
                        let cause = format!("unable to upgrade connection: {text}");
                        let status = json!({
                            "metadata": {},
                            "status": "Failure",
                            "message": format!("Internal error occurred: {cause}"),
                            "reason": "InternalError",
                            "details": {"causes": [{"message": cause}]},
                            "code": 500,
                        });
                        let bytes = serde_json::to_vec(&status).unwrap_or_default();
                        websocket::refuse(TokioIo::new(io), &bytes).await;
                    }
                }
            });
            Ok(websocket::response_101(&key, &chosen))
        }
    }
}

/// apimachinery `httpstream.Handshake`: the first protocol the client lists that the server
/// supports; a refusal is Go's `http.Error` (plain text), which kubectl prints after
/// `unable to upgrade connection: `.
fn negotiate(
    client: &[String],
    server: &[&'static str],
) -> Result<&'static str, Box<Response<Body>>> {
    if client.is_empty() {
        return Err(Box::new(text_response(
            400,
            "unable to upgrade: X-Stream-Protocol-Version is required\n",
        )));
    }
    if let Some(p) = client
        .iter()
        .find_map(|c| server.iter().find(|s| **s == c.as_str()).copied())
    {
        return Ok(p);
    }
    let mut resp = text_response(
        403,
        format!(
            "unable to upgrade: unable to negotiate protocol: client supports [{}], server accepts [{}]\n",
            client.join(" "),
            server.join(" ")
        ),
    );
    for p in server {
        resp.headers_mut().append(
            "X-Accepted-Stream-Protocol-Versions",
            hyper::header::HeaderValue::from_static(p),
        );
    }
    Err(Box::new(resp))
}

fn spdy_101(protocol: &str) -> Response<Body> {
    let body: Body = http_body_util::BodyExt::boxed(http_body_util::Empty::new());
    Response::builder()
        .status(101)
        .header("Connection", "Upgrade")
        .header("Upgrade", "SPDY/3.1")
        .header("X-Stream-Protocol-Version", protocol)
        .body(body)
        .unwrap_or_else(|_| text_response(500, "upgrade failed"))
}

/// A WebSocket upgrade whose sub-protocols the server does not speak: 403, as the older
/// stacks (x/net/websocket) answer; kubectl then retries over SPDY.
fn ws_refusal(offered: &[String]) -> Response<Body> {
    text_response(
        403,
        format!("unable to upgrade: no supported sub-protocol among {offered:?}\n"),
    )
}

/// A SPDY session over the upgraded connection: one reader feeding the session, one writer
/// sending each frame with one write.
async fn serve_spdy<IO>(io: IO, work: session::Work)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(16);
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(64);
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if in_tx.send(buf[..n].to_vec()).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            if wr.write_all(&frame).await.is_err() || wr.flush().await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    session::run(in_rx, out_tx, work).await;
    reader.abort();
    // The writer ends once every frame queued by the session and its workers is out.
    let _ = tokio::time::timeout(session::CLOSE_GRACE, writer).await;
}

#[cfg(test)]
mod tests;

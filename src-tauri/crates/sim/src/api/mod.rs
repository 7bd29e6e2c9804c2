//! The HTTPS API server: TLS termination, bearer-token authentication, body limits, routing
//! and the response helpers every handler shares.
//!
//! It is hyper (HTTP/1.1 with keep-alive and chunked streaming for watches and log follows)
//! over tokio-rustls on 127.0.0.1. Every failure leaves as a `metav1.Status` with the code,
//! reason and message a real kube-apiserver uses; a panic in a handler (a bug) becomes a 500
//! Status instead of a dropped connection, and cannot corrupt the store (writes are atomic).

use std::collections::HashMap;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::Error;
use crate::store::Store;

mod discovery;
mod handlers;
mod route;
mod table;
mod watch_stream;

/// Response body type: full or streamed.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// The apiserver's request body limit (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What `/version` reports: a plausible 1.33 patch release, indistinguishable from a real one.
pub const VERSION: &str = "v1.33.4";

/// Shared state of the server.
pub(crate) struct ApiState {
    pub store: Arc<Store>,
    pub token: String,
    pub bookmark_interval: Duration,
    pub server_address: String,
}

/// A request, read fully, with its query decoded.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub accept: String,
    pub content_type: String,
    pub user_agent: String,
    pub body: Bytes,
}

impl Req {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }

    pub fn q_bool(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1" | "True" | "TRUE"))
    }
}

/// Serve until `shutdown` turns true; then every open connection is closed.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<ApiState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let state = state.clone();
                let mut stop = shutdown.clone();
                conns.spawn(async move {
                    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        _ => return,
                    };
                    let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = stop.changed() => {}
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        // The first value wins, as with Go's url.Values.Get.
        m.entry(percent_decode(k))
            .or_insert_with(|| percent_decode(v));
    }
    m
}

/// Paths anyone may read, as with the `system:public-info-viewer` role.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/version" | "/healthz" | "/livez" | "/readyz" | "/version/"
    )
}

fn authorized(state: &ApiState, req: &Request<Incoming>) -> bool {
    let Some(h) = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(tok) = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
    else {
        return false;
    };
    // Constant-time comparison: the token is the only credential.
    let (a, b) = (tok.trim().as_bytes(), state.token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(
    state: Arc<ApiState>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    if !is_public(&path) && !authorized(&state, &req) {
        return Ok(error_response(&Error::Unauthorized));
    }
    let header = |name: hyper::header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let accept = header(hyper::header::ACCEPT);
    let content_type = header(CONTENT_TYPE);
    let user_agent = header(hyper::header::USER_AGENT);
    let method = req.method().clone();
    let query = parse_query(req.uri().query());
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Ok(error_response(&Error::RequestEntityTooLarge(
                    MAX_BODY_BYTES,
                )));
            }
            return Ok(error_response(&Error::BadRequest(format!(
                "error reading request body: {e}"
            ))));
        }
    };
    let r = Req {
        method,
        path: percent_decode(&path),
        query,
        accept,
        content_type,
        user_agent,
        body,
    };
    let result = AssertUnwindSafe(route::dispatch(&state, r))
        .catch_unwind()
        .await;
    Ok(match result {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => error_response(&e),
        Err(_) => error_response(&Error::Internal(
            "the request could not be completed".into(),
        )),
    })
}

fn base(code: u16, content_type: &str) -> hyper::http::response::Builder {
    Response::builder()
        .status(code)
        .header(CONTENT_TYPE, content_type)
        .header("Cache-Control", "no-cache, private")
        .header("Audit-Id", uuid::Uuid::new_v4().to_string())
}

/// A complete JSON response.
/// A response whose JSON body is already serialised.
pub(crate) fn bytes_response(code: u16, content_type: &str, body: Vec<u8>) -> Response<Body> {
    base(code, content_type)
        .body(Full::new(Bytes::from(body)).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

pub(crate) fn json_response(
    code: u16,
    content_type: &str,
    v: &Value,
    warnings: &[String],
) -> Response<Body> {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    let mut b = base(code, content_type);
    for w in warnings {
        let quoted = crate::validation::quote(w);
        if let Ok(h) = HeaderValue::from_str(&format!("299 - {quoted}")) {
            b = b.header("Warning", h);
        }
    }
    b.body(Full::new(Bytes::from(body)).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// Plain text (logs, health).
pub(crate) fn text_response(code: u16, text: impl Into<Bytes>) -> Response<Body> {
    base(code, "text/plain")
        .body(Full::new(text.into()).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// A streamed response fed by a channel (watches, `logs -f`).
pub(crate) fn stream_response(
    content_type: &str,
    rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(hyper::body::Frame::data(b)), rx))
    });
    // No length is known, so hyper frames the body with chunked transfer encoding.
    base(200, content_type)
        .body(BodyExt::boxed(http_body_util::StreamBody::new(stream)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// The `metav1.Status` for an error.
pub(crate) fn error_response(e: &Error) -> Response<Body> {
    json_response(e.code(), "application/json", &e.to_status(), &[])
}

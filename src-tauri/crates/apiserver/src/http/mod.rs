//! The HTTPS API server: TLS termination, bearer-token authentication, body limits, routing
//! and the response helpers every handler shares (Kubernetes: `k8s.io/apiserver/pkg/server`
//! and `pkg/endpoints`). Every request runs in a debug-level `request` tracing span.
//!
//! It is hyper (HTTP/1.1 with keep-alive and chunked streaming for watches and log follows)
//! over tokio-rustls on 127.0.0.1 (or the address a teacher serves a class on). No client can hold it hostage: a connection must finish its
//! handshake and headers in time and keep accepting what it is sent, the number of
//! connections is capped, and a failing `accept` backs off instead of spinning (see
//! [`ServerLimits`]). Every failure leaves as a `metav1.Status` with the code,
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use crate::error::Error;
use crate::store::Store;

mod discovery;
mod ephemeral;
mod eviction;
mod handlers;
pub mod join;
mod openapi;
pub mod proto;
mod proxy;
mod route;
mod scale;
pub mod stream;
mod table;
pub mod watch_stream;

/// The stored object a subresource (scale, ephemeralcontainers) reads and rewrites, or the
/// kind's NotFound.
pub(crate) fn current(
    state: &ApiState,
    kind: &crate::kinds::ResourceKind,
    ns: &str,
    name: &str,
) -> crate::Result<serde_json::Value> {
    state
        .store
        .get_raw(kind, ns, name)
        .map(|o| (*o).clone())
        .ok_or_else(|| crate::Error::not_found(kind.group, kind.plural, name))
}

/// Response body type: full or streamed.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// The apiserver's request body limit (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What `/version` reports: a plausible 1.33 patch release, indistinguishable from a real one.
pub const VERSION: &str = "v1.33.4";

/// Shared state of the server.
pub struct ApiState {
    /// The objects served.
    pub store: Arc<Store>,
    /// The learner's bearer token (kubeadm's `kubernetes-admin`).
    pub token: String,
    /// The key ServiceAccount tokens are signed with, made with the cluster.
    pub token_signer: Arc<crate::auth::authn::TokenSigner>,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
    /// `HOST:PORT` clients reach the server at (`127.0.0.1:PORT` unless a class is served on
    /// another address), as discovery's `serverAddressByClientCIDRs` reports it.
    pub server_address: String,
    /// Connection timeouts, the connection cap and the watch buffers.
    pub limits: ServerLimits,
    /// What every watch has waiting for its client.
    pub watch_stats: Arc<watch_stream::WatchStats>,
    /// The node side of exec, attach, port-forward and proxy; `None` when no kubelet runs.
    pub streams: Option<Arc<dyn crate::streaming::ContainerStreams>>,
    /// Every answered request, one entry each (see [`audit_entry`]).
    pub audit: kq_kube::audit::AuditLog,
    /// The class's join codes while a teacher serves a class ([`join`]).
    pub join: Arc<join::JoinCodes>,
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
    /// Who the request runs as (after impersonation).
    pub user: crate::auth::UserInfo,
}

impl Req {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }

    pub fn q_bool(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1" | "True" | "TRUE"))
    }
}

/// How the server treats its connections and watches. The defaults are kube-apiserver's own
/// numbers (sources at each constant); tests shorten them so they need not wait 32 s.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// A client must finish its TLS handshake, and then each request's headers, within this.
    pub header_read_timeout: Duration,
    /// A connection whose pending write makes no progress for this long is closed.
    pub write_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// How long a watch whose outgoing buffer is full may block before it is closed.
    pub watch_dispatch_budget: Duration,
    /// Events a watch may have waiting for its client before the budget above applies.
    pub watch_channel_events: usize,
    /// Whether exec, attach and port-forward accept WebSocket upgrades. Off, every WebSocket
    /// attempt gets 400 and kubectl 1.30+ falls back to SPDY, as against an API server that
    /// predates the WebSocket protocols (tests use it to reach the SPDY path).
    pub websocket_streams: bool,
}

/// kube-apiserver's `ReadHeaderTimeout` (k8s.io/apiserver `pkg/server/secure_serving.go`:
/// "just shy of requestTimeoutUpperBound"). Go also bounds the TLS handshake by it
/// (`Server.tlsHandshakeTimeout` is the smallest positive read/header/write timeout).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(32);

/// kube-apiserver sets no `WriteTimeout` (watches stream for up to an hour), so a stalled
/// write is bounded by the apiserver's default request timeout instead (`--request-timeout`,
/// 60 s, k8s.io/apiserver `pkg/server/config.go` `RequestTimeout`): a client that accepts no
/// bytes for that long is gone.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// kube-apiserver's default in-flight limits, `--max-requests-inflight` 400 plus
/// `--max-mutating-requests-inflight` 200 (k8s.io/apiserver `pkg/server/options/
/// server_run_options.go`), taken as the number of connections served at once; it also
/// stays below the common 1024 open-file limit of a desktop session.
pub const MAX_CONNECTIONS: usize = 600;

/// Go's `http.Server` `MaxHeaderBytes` as kube-apiserver sets it (`1 << 20`,
/// `secure_serving.go`); larger headers get 431.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// The watch cache's dispatch budget (`maxBudget`, k8s.io/apiserver
/// `pkg/storage/cacher/time_budget.go`): a watcher whose buffer stays full this long is
/// terminated ("Forcing watcher close due to unresponsiveness", `cache_watcher.go`).
pub const WATCH_DISPATCH_BUDGET: Duration = Duration::from_millis(100);

/// The largest watch channel the watch cache gives a watch without an index
/// (`maxWatchChanSizeWithoutIndex`, k8s.io/apiserver `pkg/storage/cacher/watch_cache.go`).
pub const WATCH_CHANNEL_EVENTS: usize = 100;

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            watch_dispatch_budget: WATCH_DISPATCH_BUDGET,
            watch_channel_events: WATCH_CHANNEL_EVENTS,
            websocket_streams: true,
        }
    }
}

/// The wait after a failed `accept` (out of file descriptors, out of memory): Go's
/// `net/http` `Server.Serve` waits 5 ms after the first failure, doubling up to 1 s, and
/// starts over after a success. Without it the loop retries at once and spins a core while
/// the failure lasts.
#[derive(Debug, Default, Clone)]
pub(crate) struct AcceptBackoff {
    /// The last wait; `None` after a successful accept.
    last: Option<Duration>,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    /// The wait before the next attempt, after one more failure.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let wait = match self.last {
            None => Self::FIRST,
            Some(d) => (d * 2).min(Self::MAX),
        };
        self.last = Some(wait);
        wait
    }

    /// An accept succeeded.
    pub(crate) fn reset(&mut self) {
        self.last = None;
    }
}

/// Serve until `shutdown` turns true; then every open connection is closed.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<ApiState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let limits = state.limits.clone();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut conns = JoinSet::new();
    let mut backoff = AcceptBackoff::default();
    // A connection slot is taken before accepting, so at the cap new clients wait in the
    // kernel's backlog instead of costing a file descriptor each.
    let mut slot: Option<OwnedSemaphorePermit> = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            permit = slots.clone().acquire_owned(), if slot.is_none() => match permit {
                Ok(p) => slot = Some(p),
                Err(_) => break,
            },
            accepted = listener.accept(), if slot.is_some() => {
                let (tcp, peer) = match accepted {
                    Ok((tcp, peer)) => {
                        backoff.reset();
                        (tcp, peer)
                    }
                    Err(e) => {
                        let wait = backoff.next_wait();
                        tracing::warn!(error = %e, ?wait, "accept failed; retrying after a pause");
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => continue,
                            _ = shutdown.changed() => break,
                        }
                    }
                };
                let _ = tcp.set_nodelay(true);
                conns.spawn(serve_connection(
                    tcp,
                    peer,
                    acceptor.clone(),
                    state.clone(),
                    shutdown.clone(),
                    slot.take(),
                ));
            }
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// One client connection: TLS, then HTTP/1.1 with keep-alive, under the server's timeouts.
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<ApiState>,
    mut stop: watch::Receiver<bool>,
    // Held for the connection's life: dropping it frees the slot.
    _slot: Option<OwnedSemaphorePermit>,
) {
    let limits = state.limits.clone();
    let tls = match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        _ => return,
    };
    let mut io = tokio_io_timeout::TimeoutStream::new(tls);
    io.set_write_timeout(Some(limits.write_timeout));
    // An upgraded exec/attach/port-forward outlives this connection task; it hears the
    // server's shutdown through the request.
    let sessions_stop = stream::Shutdown(stop.clone());
    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(sessions_stop.clone());
        req.extensions_mut().insert(join::PeerAddr(peer));
        handle(state.clone(), req)
    });
    // hyper starts the header timer whenever the connection waits for a request, so it
    // closes a half-sent request and an idle keep-alive connection alike; clients
    // (client-go, kube-rs) reconnect on their next request.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEADER_BYTES)
        // The read buffer must hold the largest header; Go reads `MaxHeaderBytes` plus
        // 4096 bytes of slack (`Server.initialReadLimitSize`).
        .max_buf_size(MAX_HEADER_BYTES + 4096)
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(Box::pin(io)), svc)
        // exec, attach and port-forward take the connection over after a 101.
        .with_upgrades();
    tokio::select! {
        _ = conn => {}
        _ = stop.changed() => {}
    }
}

pub(crate) use kq_kube::query::percent_decode;

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

/// Who sent `req` (k8s.io/apiserver `filters/authentication.go` then `impersonation.go`):
/// `Ok(None)` for a request without credentials (kube-apiserver's anonymous authenticator then
/// makes it `system:anonymous`, and RBAC decides as for anyone); `Err` with the answer for a
/// bad token (401) or a refused impersonation (403).
fn authenticate(
    state: &ApiState,
    req: &Request<Incoming>,
) -> Result<Option<crate::auth::UserInfo>, Error> {
    use crate::auth::{authn, impersonation};
    let header = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(token) = header.and_then(authn::bearer) else {
        return Ok(None);
    };
    let user = authn::authenticate_token(&state.store, &state.token_signer, &state.token, token)
        .map_err(|why| {
            tracing::debug!(%why, "bearer token refused");
            Error::Unauthorized
        })?;
    Ok(Some(
        impersonation::impersonate(&state.store, &user, req.headers())?.unwrap_or(user),
    ))
}

/// The authorization filter (k8s.io/apiserver `filters/authorization.go`): what the request
/// asks (`requestinfo`) decided for `user`, and the Forbidden answer when it is not allowed.
fn authorize_request(
    state: &ApiState,
    user: &crate::auth::UserInfo,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
) -> Result<(), Error> {
    use crate::auth::{authorize, forbidden, requestinfo, reviews::reason_of};
    let attrs = requestinfo::attributes(method.as_str(), path, query);
    let decision = authorize(&state.store, user, &attrs);
    if decision.allowed() {
        Ok(())
    } else {
        Err(forbidden(user, &attrs, reason_of(&decision)))
    }
}

/// What the audit entry of a request needs from its head, read before the request is consumed.
struct AuditHead {
    method: Method,
    path: String,
    query: String,
    user_agent: String,
    command: Option<String>,
    session: Option<String>,
}

/// The audit entry of an answered request: the verb, resource, subresource, namespace and name
/// as the authorizer resolved them (kube-apiserver's RequestInfo), who asked (`user`, after
/// impersonation; empty when the credentials were refused) and the answer's code, at `at_ms` on
/// the cluster's clock.
fn audit_entry(head: AuditHead, user: String, code: u16, at_ms: i64) -> kq_kube::audit::AuditEntry {
    let query = parse_query(Some(&head.query));
    let path = percent_decode(&head.path);
    let attrs = crate::auth::requestinfo::attributes(head.method.as_str(), &path, &query);
    let some = |s: String| (!s.is_empty()).then_some(s);
    kq_kube::audit::AuditEntry {
        seq: 0,
        at_ms,
        user,
        user_agent: head.user_agent,
        command: head.command,
        session: head.session,
        verb: attrs.verb,
        group: attrs.api_group,
        resource: attrs.resource,
        subresource: some(attrs.subresource),
        namespace: some(attrs.namespace),
        name: some(attrs.name),
        path: if attrs.resource_request {
            String::new()
        } else {
            attrs.path
        },
        dry_run: query.get("dryRun").is_some_and(|v| !v.is_empty()),
        query: head.query,
        code,
    }
}

/// One request, inside a `request` span (method, path, user agent; then status code and
/// latency to the response head, which for watches and log follows is when streaming starts).
/// The span and its closing event are at debug level, so the server is quiet unless
/// `RUST_LOG` asks (e.g. `RUST_LOG=kq_apiserver=debug`) where the app installs a subscriber.
/// Each answered request is recorded once in the audit log, when its response head is ready
/// (a watch, a log follow or an exec is recorded as it starts streaming).
async fn handle(
    state: Arc<ApiState>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let user_agent = header("user-agent").unwrap_or_default();
    let head = AuditHead {
        method: req.method().clone(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or_default().to_string(),
        user_agent: user_agent.clone(),
        command: header("kubectl-command"),
        session: header("kubectl-session"),
    };
    let span = tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        user_agent = %user_agent,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let mut answered = Answered::default();
    let response = respond(state.clone(), req, &mut answered)
        .instrument(span.clone())
        .await;
    if let Ok(r) = &response {
        let status = r.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("status", status);
        span.record("latency_ms", latency_ms);
        tracing::debug!(parent: &span, status, latency_ms, "request answered");
        let at_ms = state.store.clock().now().as_millisecond();
        let mut entry = audit_entry(head, answered.user, status, at_ms);
        if entry.verb == "create" && entry.name.is_none() {
            entry.name = answered.created;
        }
        state.audit.record(entry);
    }
    response
}

/// What the audit entry learns while a request is answered.
#[derive(Default)]
struct Answered {
    /// The user the request runs as, once the credentials are accepted.
    user: String,
    /// The name a create asks for (it is in the body, not the path), as kube-apiserver's
    /// audit `objectRef.name` holds it.
    created: Option<String>,
}

/// Answers `req`, noting in `who` what the audit entry needs.
async fn respond(
    state: Arc<ApiState>,
    req: Request<Incoming>,
    who: &mut Answered,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    // A learner joining a class has no token yet: the join code is the credential.
    if path == join::PATH && state.join.enabled() {
        return Ok(join::handle(&state.join, req).await);
    }
    let query = parse_query(req.uri().query());
    let user = match authenticate(&state, &req) {
        Ok(Some(user)) => user,
        // kubeadm leaves anonymous requests on: without credentials a request is
        // `system:anonymous`, which the default bindings let read only the public-info paths
        // (`/version`, `/healthz`, `/livez`, `/readyz`); anything else is RBAC's 403.
        Ok(None) => crate::auth::UserInfo {
            name: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
            ..Default::default()
        },
        Err(e) => return Ok(error_response(&e)),
    };
    who.user.clone_from(&user.name);
    if let Err(e) = authorize_request(&state, &user, req.method(), &percent_decode(&path), &query) {
        return Ok(error_response(&e));
    }
    // The streaming subresources need the request itself (its upgrade), not a read body.
    if let Some((ns, name, sub)) = stream::match_path(&path) {
        return Ok(stream::handle(state, req, ns, name, sub).await);
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
    if method == Method::POST && content_type.contains("json") {
        who.created = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
            v.pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    }
    let r = Req {
        method,
        path: percent_decode(&path),
        query,
        accept,
        content_type,
        user_agent,
        body,
        user: user.clone(),
    };
    // Writes deep in the registry (RBAC's escalation check) see who asked.
    let result = AssertUnwindSafe(crate::auth::acting_as_async(
        user,
        route::dispatch(&state, r),
    ))
    .catch_unwind()
    .await;
    Ok(match result {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => error_response(&e),
        Err(_) => {
            tracing::error!("a request handler panicked; answered 500");
            error_response(&Error::Internal(
                "the request could not be completed".into(),
            ))
        }
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
        let quoted = kq_kube::validation::quote(w);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_accept_backs_off_like_go_net_http_and_starts_over_after_a_success() {
        let mut b = AcceptBackoff::default();
        let waits: Vec<u64> = (0..10).map(|_| b.next_wait().as_millis() as u64).collect();
        assert_eq!(
            waits,
            [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000],
            "after each failed accept the server must wait 5 ms, doubling up to 1 s, \
             instead of retrying at once and spinning a core"
        );
        b.reset();
        assert_eq!(
            b.next_wait(),
            Duration::from_millis(5),
            "a successful accept must reset the back-off"
        );
    }
}

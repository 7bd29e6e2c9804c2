//! The API server's proxy subresources: `/api/v1/namespaces/NS/services/{[scheme:]name[:port]}
//! /proxy[/path]` and `/api/v1/namespaces/NS/pods/{[scheme:]name[:port]}/proxy[/path]`, which
//! `kubectl proxy` and `kubectl get --raw` reach (STREAMS.md §5.5).
//!
//! As kube-apiserver does (`pkg/registry/core/service/storage` and `pod/rest` `ResourceLocation`,
//! `apimachinery/pkg/util/proxy/upgradeaware.go`):
//! - a GET or HEAD of `…/proxy` without the trailing slash is redirected (301) to `…/proxy/`;
//! - a Service's port is chosen by name or number (an unknown number: 503 `no service port N
//!   found for service "S"`), then a ready endpoint with that port from the Service's
//!   EndpointSlices; none: 503 `no endpoints available for service "S"`;
//! - a pod's port defaults to 80; a pod without an IP is refused;
//! - the method, remaining path, query and body go to the endpoint over the node's network
//!   ([`ContainerStreams::dial`](crate::streaming::ContainerStreams::dial)); a refused
//!   connection is 503 `error trying to reach service: dial tcp IP:PORT: connect: connection
//!   refused`; the endpoint's status, headers and body come back as they are.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper::body::Bytes;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ApiState, Body, Req, json_response};
use crate::error::{Error, Result};

/// How long the proxy waits for an endpoint's whole answer.
const PROXY_TIMEOUT: Duration = Duration::from_secs(30);

/// What the proxy path names.
pub(crate) enum ProxyTarget<'a> {
    Service(&'a str),
    Pod(&'a str),
}

fn unavailable(message: String) -> hyper::Response<Body> {
    json_response(
        503,
        "application/json",
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": "ServiceUnavailable",
            "code": 503
        }),
        &[],
    )
}

/// `[scheme:]name[:port]` (apimachinery `SplitSchemeNamePort`).
fn split_scheme_name_port(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.split(':').collect();
    match parts.as_slice() {
        [name] => Some(("", *name, "")),
        [name, port] => Some(("", *name, *port)),
        [scheme, name, port] => Some((*scheme, *name, *port)),
        _ => None,
    }
    .filter(|(_, n, _)| !n.is_empty())
}

/// Serves a proxy request; `rest` is what follows `/proxy` in the raw path (`""`, `"/"`,
/// `"/a/b"`).
pub(crate) async fn serve(
    state: &ApiState,
    req: &Req,
    ns: &str,
    target: ProxyTarget<'_>,
    rest: &str,
) -> Result<hyper::Response<Body>> {
    if rest.is_empty() && matches!(req.method, Method::GET | Method::HEAD) {
        let mut location = format!("{}/", req.path);
        if !req.query.is_empty() {
            location.push('?');
            location.push_str(&query_string(req));
        }
        let body = format!("<a href=\"{location}\">Moved Permanently</a>.\n\n");
        return Ok(hyper::Response::builder()
            .status(301)
            .header("Location", location)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(Full::new(Bytes::from(body)).boxed())
            .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()).boxed())));
    }
    let (pod, ip, port) = match target {
        ProxyTarget::Service(id) => {
            let (_, name, port) = split_scheme_name_port(id)
                .ok_or_else(|| Error::BadRequest(format!("invalid service request {id:?}")))?;
            let svc: Service = state.store.get(ns, name)?;
            let ports = svc
                .spec
                .as_ref()
                .and_then(|s| s.ports.clone())
                .unwrap_or_default();
            // A number names the Service port with that number; otherwise it is a port name.
            let port_name = match port.parse::<i32>() {
                Ok(n) => match ports.iter().find(|p| p.port == n) {
                    Some(p) => p.name.clone().unwrap_or_default(),
                    None => {
                        return Ok(unavailable(format!(
                            "no service port {n} found for service \"{name}\""
                        )));
                    }
                },
                Err(_) => port.to_string(),
            };
            match ready_endpoint(state, ns, name, &port_name) {
                Some(ep) => ep,
                None => {
                    return Ok(unavailable(format!(
                        "no endpoints available for service \"{name}\""
                    )));
                }
            }
        }
        ProxyTarget::Pod(id) => {
            let (_, name, port) = split_scheme_name_port(id)
                .ok_or_else(|| Error::BadRequest(format!("invalid pod request {id:?}")))?;
            let pod: Pod = state.store.get(ns, name)?;
            let ip = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.clone())
                .filter(|i| !i.is_empty())
                .ok_or_else(|| {
                    Error::BadRequest(format!("address not allowed for pod {name:?}"))
                })?;
            let port = if port.is_empty() {
                80
            } else {
                match port.parse::<u16>() {
                    Ok(p) => p,
                    Err(_) => named_container_port(&pod, port).ok_or_else(|| {
                        Error::BadRequest(format!("no such container port {port:?}"))
                    })?,
                }
            };
            (name.to_string(), ip, port)
        }
    };
    let Some(streams) = state.streams.as_ref() else {
        return Ok(unavailable(format!(
            "error trying to reach service: dial tcp {ip}:{port}: connect: no route to host"
        )));
    };
    let mut conn = match streams.dial(ns, &pod, port) {
        Ok(c) => c,
        Err(_) => {
            return Ok(unavailable(format!(
                "error trying to reach service: dial tcp {ip}:{port}: connect: connection refused"
            )));
        }
    };
    let mut path = rest.to_string();
    if path.is_empty() {
        path.push('/');
    }
    if !req.query.is_empty() {
        path.push('?');
        path.push_str(&query_string(req));
    }
    let mut request = format!(
        "{} {path} HTTP/1.1\r\nHost: {ip}:{port}\r\nUser-Agent: {}\r\nConnection: close\r\n",
        req.method, req.user_agent
    );
    if !req.body.is_empty() {
        request.push_str(&format!(
            "Content-Type: {}\r\nContent-Length: {}\r\n",
            req.content_type,
            req.body.len()
        ));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(&req.body);
    let exchange = async {
        conn.write_all(&bytes).await?;
        let mut got = Vec::new();
        conn.read_to_end(&mut got).await?;
        Ok::<_, std::io::Error>(got)
    };
    let reply = match tokio::time::timeout(PROXY_TIMEOUT, exchange).await {
        Ok(Ok(r)) => r,
        _ => {
            return Ok(unavailable(format!(
                "error trying to reach service: dial tcp {ip}:{port}: i/o timeout"
            )));
        }
    };
    Ok(relay(&reply))
}

/// The endpoint's HTTP answer, relayed.
fn relay(reply: &[u8]) -> hyper::Response<Body> {
    let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") else {
        return unavailable("error trying to reach service: EOF".into());
    };
    let head = String::from_utf8_lossy(&reply[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or(502);
    let mut b = hyper::Response::builder().status(status);
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let k = k.trim();
            // Hop-by-hop headers stay on the hop they came from.
            if matches!(
                k.to_ascii_lowercase().as_str(),
                "connection" | "keep-alive" | "transfer-encoding" | "content-length"
            ) {
                continue;
            }
            b = b.header(k, v.trim());
        }
    }
    b.body(Full::new(Bytes::copy_from_slice(&reply[end + 4..])).boxed())
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()).boxed()))
}

fn query_string(req: &Req) -> String {
    let mut pairs: Vec<(&String, &String)> = req.query.iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn named_container_port(pod: &Pod, name: &str) -> Option<u16> {
    pod.spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.ports.clone().unwrap_or_default())
        .find(|p| p.name.as_deref() == Some(name))
        .and_then(|p| u16::try_from(p.container_port).ok())
}

/// A ready endpoint `(pod, ip, port)` of Service `ns/name` for the port named `port_name`.
fn ready_endpoint(
    state: &ApiState,
    ns: &str,
    name: &str,
    port_name: &str,
) -> Option<(String, String, u16)> {
    for slice in state.store.list::<EndpointSlice>(Some(ns)) {
        let owned = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/service-name"))
            .is_some_and(|n| n == name);
        if !owned {
            continue;
        }
        let Some(port) = slice.ports.as_ref().and_then(|ps| {
            ps.iter()
                .find(|p| p.name.clone().unwrap_or_default() == port_name)
                .and_then(|p| p.port)
        }) else {
            continue;
        };
        for ep in &slice.endpoints {
            if !ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true) {
                continue;
            }
            let pod = ep
                .target_ref
                .as_ref()
                .filter(|r| r.kind.as_deref() == Some("Pod"))
                .and_then(|r| r.name.clone());
            if let (Some(pod), Some(ip), Ok(port)) =
                (pod, ep.addresses.first(), u16::try_from(port))
            {
                return Some((pod, ip.clone(), port));
            }
        }
    }
    None
}

//! The `service-http` objective's requests: an HTTP request through a Service, made the way
//! a learner would check it from outside the cluster, through the API server's Service proxy
//! (`/api/v1/namespaces/NS/services/NAME[:PORT]/proxy/PATH`, what `kubectl get --raw` and
//! `kubectl proxy` use). It goes through kube-proxy's choice of a ready endpoint on the
//! embedded cluster and kube-apiserver's on a real one, so the objective means the same on
//! both.
//!
//! A session probes its `service-http` objectives every [`PROBE_EVERY`] and keeps the last
//! answer of each in [`HttpResults`]; evaluation reads them (see
//! [`crate::mission::evaluate_all_http`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;

/// How often a session asks each Service again.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);
/// How long one request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a request through the Service proxy came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpOutcome {
    /// The endpoint answered with this status.
    Status(u16),
    /// The API server could not reach an endpoint: its message (`no endpoints available for
    /// service "web"`, `error trying to reach service: …`).
    Unavailable(String),
    /// The request failed otherwise (the Service does not exist, the API server is away).
    Failed(String),
}

/// The last outcome of each probe, by [`probe_key`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResults(BTreeMap<String, HttpOutcome>);

impl HttpResults {
    pub fn get(&self, key: &str) -> Option<&HttpOutcome> {
        self.0.get(key)
    }
    pub fn set(&mut self, key: String, outcome: HttpOutcome) {
        self.0.insert(key, outcome);
    }
}

/// Results shared between a session's probe task and its evaluation.
pub type SharedHttpResults = Arc<Mutex<HttpResults>>;

/// The key of one probe.
pub fn probe_key(service: &str, port: Option<&str>, path: &str) -> String {
    format!("{service}:{}{}", port.unwrap_or(""), normalize_path(path))
}

fn normalize_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// What the API server's proxy would refuse with before reaching any endpoint, read from the
/// Service and its EndpointSlices (`ResourceLocation`): no Service, no such port, no ready
/// endpoint. The request itself is not sent then: the kube client retries a 503 answer for
/// minutes (its default retry policy), which would hide the reason from the learner.
async fn refusal(
    client: &kube::Client,
    namespace: &str,
    service: &str,
    port: Option<&str>,
) -> Option<HttpOutcome> {
    use k8s_openapi::api::core::v1::Service;
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    let services: kube::Api<Service> = kube::Api::namespaced(client.clone(), namespace);
    let svc = match services.get_opt(service).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Some(HttpOutcome::Failed(format!(
                "there is no Service named {service}"
            )));
        }
        Err(e) => return Some(HttpOutcome::Failed(e.to_string())),
    };
    let ports = svc.spec.and_then(|s| s.ports).unwrap_or_default();
    let port_name = match port.map(|p| (p, p.parse::<i32>())) {
        Some((_, Ok(n))) => match ports.iter().find(|p| p.port == n) {
            Some(p) => p.name.clone().unwrap_or_default(),
            None => {
                return Some(HttpOutcome::Unavailable(format!(
                    "no service port {n} found for service \"{service}\""
                )));
            }
        },
        Some((name, Err(_))) => name.to_string(),
        None => String::new(),
    };
    let slices: kube::Api<EndpointSlice> = kube::Api::namespaced(client.clone(), namespace);
    let lp =
        kube::api::ListParams::default().labels(&format!("kubernetes.io/service-name={service}"));
    let list = match slices.list(&lp).await {
        Ok(l) => l,
        Err(e) => return Some(HttpOutcome::Failed(e.to_string())),
    };
    let ready = list.items.iter().any(|slice| {
        let has_port = slice.ports.as_ref().is_some_and(|ps| {
            ps.iter()
                .any(|p| p.name.clone().unwrap_or_default() == port_name && p.port.is_some())
        });
        has_port
            && slice
                .endpoints
                .iter()
                .any(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
    });
    if ready {
        None
    } else {
        Some(HttpOutcome::Unavailable(format!(
            "no endpoints available for service \"{service}\""
        )))
    }
}

/// One request through the Service proxy.
pub async fn probe(
    client: &kube::Client,
    namespace: &str,
    service: &str,
    port: Option<&str>,
    path: &str,
) -> HttpOutcome {
    if let Some(refused) = refusal(client, namespace, service, port).await {
        return refused;
    }
    let id = match port {
        Some(p) => format!("{service}:{p}"),
        None => service.to_string(),
    };
    let uri = format!(
        "/api/v1/namespaces/{namespace}/services/{id}/proxy{}",
        normalize_path(path)
    );
    let req = match hyper::http::Request::builder()
        .method("GET")
        .uri(uri)
        .body(kube::client::Body::from(Vec::new()))
    {
        Ok(r) => r,
        Err(e) => return HttpOutcome::Failed(e.to_string()),
    };
    let answer = async {
        let resp = client.send(req).await.map_err(|e| e.to_string())?;
        let code = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        Ok::<_, String>((code, body))
    };
    let (code, body) = match tokio::time::timeout(PROBE_TIMEOUT, answer).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return HttpOutcome::Failed(e),
        // An endpoint that refuses makes the API server answer 503, which the kube client
        // keeps retrying: the wait ends here.
        Err(_) => {
            return HttpOutcome::Unavailable(format!(
                "error trying to reach service \"{service}\": its endpoint does not answer"
            ));
        }
    };
    // The API server's own refusals come as a Status object; an endpoint's answer does not.
    let status: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let message = status
        .as_ref()
        .filter(|s| s["kind"] == "Status")
        .and_then(|s| s["message"].as_str())
        .map(str::to_string);
    match (code, message) {
        (503, Some(m)) => HttpOutcome::Unavailable(m),
        (404, Some(m)) if m.starts_with("services ") => HttpOutcome::Failed(m),
        (code, _) => HttpOutcome::Status(code),
    }
}

/// Whether an outcome meets the objective, and why (or why not).
pub fn judge(
    service: &str,
    path: &str,
    want: u16,
    outcome: Option<&HttpOutcome>,
) -> (bool, String) {
    let path = normalize_path(path);
    match outcome {
        None => (false, format!("no answer from {service} yet")),
        Some(HttpOutcome::Status(code)) if *code == want => {
            (true, format!("GET {path} through {service} got {code}"))
        }
        Some(HttpOutcome::Status(code)) => (
            false,
            format!("GET {path} through {service} got {code}, not {want}"),
        ),
        Some(HttpOutcome::Unavailable(m)) | Some(HttpOutcome::Failed(m)) => (false, m.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging() {
        assert_eq!(
            judge("web", "/", 200, Some(&HttpOutcome::Status(404))),
            (false, "GET / through web got 404, not 200".to_string())
        );
        assert_eq!(
            judge(
                "web",
                "",
                200,
                Some(&HttpOutcome::Unavailable(
                    "no endpoints available for service \"web\"".into()
                ))
            ),
            (
                false,
                "no endpoints available for service \"web\"".to_string()
            )
        );
        assert!(judge("web", "/", 200, Some(&HttpOutcome::Status(200))).0);
        assert_eq!(
            probe_key("web", Some("80"), "index.html"),
            "web:80/index.html"
        );
    }
}

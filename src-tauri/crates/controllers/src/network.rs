//! The simulated network of the embedded cluster: cluster DNS (CoreDNS's `kubernetes`
//! plugin), Services forwarding to ready endpoints (kube-proxy), and connections into a pod's
//! network namespace (the CRI's port-forward).
//!
//! [`ClusterNet`] implements kq-shell's [`Network`] for every container of the node, reading
//! the API objects as the real components do, from the store: Services, EndpointSlices
//! (`discovery.k8s.io/v1`, label `kubernetes.io/service-name`, as kube-proxy watches them),
//! Pods and Nodes. What listens inside a pod comes from the runtime's [`Listeners`]: a
//! container's server is there from its start until it stops.
//!
//! Where a connection goes, and what the client sees:
//! - a Service cluster IP on one of its ports: one ready endpoint, taken in turn (round robin,
//!   deterministic), at its target port; no ready endpoint: kube-proxy's REJECT rule, so
//!   `Connection refused` at once. A port the Service does not have matches no rule: the
//!   packet goes nowhere and the connect times out (iptables mode).
//! - a node IP: a `NodePort` Service's node port; any other port is refused by the node.
//! - a pod IP: the container listening there, or a reset (`Connection refused`) when nothing
//!   listens on that port (a wrong `targetPort`, a server that has not started or crashed).
//! - any other address: nobody answers; the client's or the kernel's timeout ends the wait.
//!
//! Cluster DNS answers `<svc>.<ns>.svc.cluster.local` (the cluster IP; for a headless Service
//! the ready pods' IPs, NXDOMAIN while none is ready), `<a-b-c-d>.<ns>.pod.cluster.local`,
//! and NXDOMAIN for everything else (the embedded cluster has no upstream resolver). The DNS server is the `kube-dns` Service
//! (10.96.0.10): when it exists without a ready CoreDNS pod, queries time out as they do on a
//! cluster whose CoreDNS is down. Until kube-system carries that Service the address answers.
//!
//! Until a Service has EndpointSlices (the EndpointSlice controller writes them a moment after
//! the Service or a pod changes), the endpoints are read the way that controller computes
//! them: the Ready pods its selector selects, with the target port resolved by number or by
//! container port name.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Node, Pod, Service, ServicePort};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kq_runtime::serve::Listeners;
use kq_shell::net::{Connect, Lookup, Network};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use crate::manager::Controllers;
use crate::store::Store;

/// The cluster DNS domain.
const CLUSTER_DOMAIN: &str = "cluster.local";
/// The address of the `kube-dns` Service, which every ClusterFirst pod's resolv.conf names.
pub const DNS_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
/// The label that ties an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The embedded cluster's network.
#[derive(Debug)]
pub struct ClusterNet {
    store: Arc<Store>,
    listeners: Arc<Listeners>,
    /// The next endpoint index per `namespace/service:port` (round robin).
    turns: Mutex<HashMap<String, usize>>,
}

impl ClusterNet {
    pub fn new(store: Arc<Store>, listeners: Arc<Listeners>) -> Arc<ClusterNet> {
        Arc::new(ClusterNet {
            store,
            listeners,
            turns: Mutex::new(HashMap::new()),
        })
    }

    fn services(&self) -> Vec<Service> {
        self.store.list::<Service>(None)
    }

    /// The Service whose cluster IP is `ip`.
    fn service_at(&self, ip: Ipv4Addr) -> Option<Service> {
        let s = ip.to_string();
        self.services().into_iter().find(|svc| {
            svc.spec.as_ref().is_some_and(|sp| {
                sp.cluster_ip.as_deref() == Some(s.as_str())
                    || sp.cluster_ips.as_ref().is_some_and(|ips| ips.contains(&s))
            })
        })
    }

    /// Ready endpoints `(pod IP, port)` of `svc` for its port `sp`.
    pub fn ready_endpoints(&self, svc: &Service, sp: &ServicePort) -> Vec<(Ipv4Addr, u16)> {
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        let name = svc.metadata.name.clone().unwrap_or_default();
        let slices: Vec<EndpointSlice> = self
            .store
            .list::<EndpointSlice>(Some(&ns))
            .into_iter()
            .filter(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(SERVICE_NAME_LABEL))
                    .is_some_and(|n| *n == name)
            })
            .collect();
        if !slices.is_empty() {
            let want = sp.name.clone().unwrap_or_default();
            let mut out = Vec::new();
            for slice in &slices {
                let Some(port) = slice.ports.as_ref().and_then(|ps| {
                    ps.iter()
                        .find(|p| p.name.clone().unwrap_or_default() == want)
                        .and_then(|p| p.port)
                }) else {
                    continue;
                };
                for ep in &slice.endpoints {
                    // kube-proxy: a nil `ready` counts as ready.
                    let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                    if !ready {
                        continue;
                    }
                    if let Some(ip) = ep.addresses.first().and_then(|a| a.parse().ok())
                        && let Ok(port) = u16::try_from(port)
                    {
                        out.push((ip, port));
                    }
                }
            }
            return out;
        }
        self.selected_endpoints(svc, sp)
    }

    /// The endpoints the EndpointSlice controller would write: Ready selected pods.
    fn selected_endpoints(&self, svc: &Service, sp: &ServicePort) -> Vec<(Ipv4Addr, u16)> {
        let Some(selector) = svc.spec.as_ref().and_then(|s| s.selector.clone()) else {
            return Vec::new();
        };
        if selector.is_empty() {
            return Vec::new();
        }
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        let mut out = Vec::new();
        for pod in self.store.list::<Pod>(Some(&ns)) {
            if pod.metadata.deletion_timestamp.is_some() || !selects(&selector, &pod) {
                continue;
            }
            let status = pod.status.clone().unwrap_or_default();
            let ready = status
                .conditions
                .as_ref()
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
                .is_some_and(|c| c.status == "True");
            let Some(ip) = status.pod_ip.as_deref().and_then(|i| i.parse().ok()) else {
                continue;
            };
            if !ready {
                continue;
            }
            if let Some(port) = target_port(sp, &pod) {
                out.push((ip, port));
            }
        }
        out
    }

    /// One ready endpoint of `svc:sp`, taking them in turn; `None`: there is none.
    fn pick(&self, svc: &Service, sp: &ServicePort) -> Option<(Ipv4Addr, u16)> {
        let eps = self.ready_endpoints(svc, sp);
        if eps.is_empty() {
            return None;
        }
        let key = format!(
            "{}/{}:{}",
            svc.metadata.namespace.clone().unwrap_or_default(),
            svc.metadata.name.clone().unwrap_or_default(),
            sp.port
        );
        let mut turns = match self.turns.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let turn = turns.entry(key).or_insert(0);
        let ep = eps[*turn % eps.len()];
        *turn = turn.wrapping_add(1);
        Some(ep)
    }

    /// Through a Service's port: an endpoint, or kube-proxy's reject.
    fn via_service(&self, svc: &Service, sp: &ServicePort) -> Connect {
        match self.pick(svc, sp) {
            Some((ip, port)) => self.to_pod(ip, port),
            None => Connect::Refused,
        }
    }

    /// Straight to a pod's address.
    fn to_pod(&self, ip: Ipv4Addr, port: u16) -> Connect {
        match self.listeners.connect(ip, port) {
            Some(r) => Connect::Open(r),
            None if self.pod_with_ip(ip).is_some() => Connect::Refused,
            None => Connect::TimedOut,
        }
    }

    fn pod_with_ip(&self, ip: Ipv4Addr) -> Option<Pod> {
        let s = ip.to_string();
        self.store.list::<Pod>(None).into_iter().find(|p| {
            p.status
                .as_ref()
                .and_then(|st| st.pod_ip.as_deref())
                .is_some_and(|i| i == s)
                && !matches!(
                    p.status.as_ref().and_then(|st| st.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
        })
    }

    fn is_node_ip(&self, ip: Ipv4Addr) -> bool {
        let s = ip.to_string();
        self.store.list::<Node>(None).iter().any(|n| {
            n.status
                .as_ref()
                .and_then(|st| st.addresses.as_ref())
                .is_some_and(|a| a.iter().any(|a| a.address == s))
        })
    }

    /// Whether the cluster DNS server at `server` answers.
    fn dns_up(&self, server: Ipv4Addr) -> bool {
        match self.service_at(server) {
            Some(svc) => {
                let ports = svc
                    .spec
                    .as_ref()
                    .and_then(|s| s.ports.clone())
                    .unwrap_or_default();
                match ports.iter().find(|p| p.port == 53) {
                    Some(sp) => !self.ready_endpoints(&svc, sp).is_empty(),
                    None => false,
                }
            }
            // No kube-dns Service yet: the embedded cluster's DNS answers at its address.
            None => server == DNS_SERVICE_IP,
        }
    }

    /// The A records of `fqdn`.
    fn resolve(&self, fqdn: &str) -> Lookup {
        let name = fqdn.trim_end_matches('.').to_ascii_lowercase();
        let Some(local) = name.strip_suffix(&format!(".{CLUSTER_DOMAIN}")) else {
            return Lookup::NxDomain;
        };
        let labels: Vec<&str> = local.split('.').collect();
        match labels.as_slice() {
            [svc, ns, "svc"] => {
                let Ok(s) = self.store.get::<Service>(ns, svc) else {
                    return Lookup::NxDomain;
                };
                let spec = s.spec.clone().unwrap_or_default();
                match spec.cluster_ip.as_deref() {
                    Some("None") => {
                        let mut ips: Vec<Ipv4Addr> = Vec::new();
                        for sp in spec.ports.clone().unwrap_or_default() {
                            for (ip, _) in self.ready_endpoints(&s, &sp) {
                                if !ips.contains(&ip) {
                                    ips.push(ip);
                                }
                            }
                        }
                        // CoreDNS has no record for a headless Service without a ready
                        // endpoint: the name does not exist until a pod is ready.
                        if ips.is_empty() {
                            Lookup::NxDomain
                        } else {
                            Lookup::Found(ips)
                        }
                    }
                    Some(ip) => match ip.parse() {
                        Ok(ip) => Lookup::Found(vec![ip]),
                        Err(_) => Lookup::NoRecords,
                    },
                    None => Lookup::NoRecords,
                }
            }
            [dashed, _ns, "pod"] => match dashed.replace('-', ".").parse::<Ipv4Addr>() {
                Ok(ip) => Lookup::Found(vec![ip]),
                Err(_) => Lookup::NxDomain,
            },
            _ => Lookup::NxDomain,
        }
    }
}

/// Whether a Service's map selector selects `pod`.
fn selects(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A Service port's target port on `pod`: a number, or a container port's name (the
/// Service's port when unset).
fn target_port(sp: &ServicePort, pod: &Pod) -> Option<u16> {
    match &sp.target_port {
        None => u16::try_from(sp.port).ok(),
        Some(IntOrString::Int(n)) => u16::try_from(*n).ok(),
        Some(IntOrString::String(name)) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.clone().unwrap_or_default())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

impl Network for ClusterNet {
    fn lookup(&self, server: Ipv4Addr, fqdn: &str) -> Lookup {
        if !self.dns_up(server) {
            return Lookup::NoServer;
        }
        self.resolve(fqdn)
    }

    fn connect(&self, ip: Ipv4Addr, port: u16) -> Connect {
        if let Some(svc) = self.service_at(ip) {
            let ports = svc
                .spec
                .as_ref()
                .and_then(|s| s.ports.clone())
                .unwrap_or_default();
            return match ports.iter().find(|p| {
                p.port == i32::from(port) && p.protocol.as_deref().unwrap_or("TCP") == "TCP"
            }) {
                Some(sp) => self.via_service(&svc, sp),
                None => Connect::TimedOut,
            };
        }
        if self.is_node_ip(ip) {
            for svc in self.services() {
                let spec = svc.spec.clone().unwrap_or_default();
                if !matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer")) {
                    continue;
                }
                if let Some(sp) = spec
                    .ports
                    .unwrap_or_default()
                    .iter()
                    .find(|p| p.node_port == Some(i32::from(port)))
                {
                    return self.via_service(&svc, sp);
                }
            }
            return Connect::Refused;
        }
        self.to_pod(ip, port)
    }
}

/// A connection to `port` of pod `namespace/pod` (the CRI's port-forward), or the cause of
/// the failure in containerd's words.
pub(crate) fn dial(
    c: &Controllers,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<DuplexStream, String> {
    let net = c.network();
    let p = net
        .store
        .get::<Pod>(namespace, pod)
        .map_err(|e| e.to_string())?;
    let uid = p.metadata.uid.clone().unwrap_or_default();
    let ip: Option<Ipv4Addr> = p
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .and_then(|i| i.parse().ok());
    let server = ip.and_then(|ip| net.listeners.connect(ip, port));
    let Some(server) = server else {
        // containerd's portForward (sandbox_portforward_linux.go): both loopback addresses
        // inside the sandbox's network namespace refuse.
        return Err(format!(
            "failed to connect to localhost:{port} inside namespace \"{}\", IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused ",
            sandbox_id(&uid)
        ));
    };
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return Err("no runtime to carry the connection".into());
    };
    let (client, mut side) = tokio::io::duplex(64 * 1024);
    let store = net.store.clone();
    handle.spawn(async move {
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = match side.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            // Answer every complete request (an HTTP head with its body, or a line); keep the
            // rest for the next read.
            while let Some((len, close)) = complete_request(&buf) {
                let req: Vec<u8> = buf.drain(..len).collect();
                let now = store.clock().now().as_second();
                let reply = server.respond(&req, now);
                if side.write_all(&reply).await.is_err() {
                    return;
                }
                if close {
                    let _ = side.shutdown().await;
                    return;
                }
            }
            if buf.len() > 1024 * 1024 {
                break;
            }
        }
        let _ = side.shutdown().await;
    });
    Ok(client)
}

/// The length of the first complete request in `buf` and whether it asks to close: an HTTP
/// request (head up to the blank line, plus `Content-Length` bytes of body) or a text line.
fn complete_request(buf: &[u8]) -> Option<(usize, bool)> {
    let looks_http = buf
        .split(|b| *b == b' ')
        .next()
        .is_some_and(|m| !m.is_empty() && m.iter().all(u8::is_ascii_uppercase))
        && buf.windows(5).any(|w| w == b"HTTP/");
    if looks_http {
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let mut body = 0usize;
        let mut close = head.lines().next().is_some_and(|l| l.ends_with("http/1.0"));
        for l in head.lines().skip(1) {
            if let Some((k, v)) = l.split_once(':') {
                match k.trim() {
                    "content-length" => body = v.trim().parse().unwrap_or(0),
                    "connection" => close = v.trim() == "close",
                    _ => {}
                }
            }
        }
        let total = end + 4 + body;
        return (buf.len() >= total).then_some((total, close));
    }
    buf.iter().position(|b| *b == b'\n').map(|i| (i + 1, false))
}

/// A stable 64-hex sandbox id for a pod (containerd names the network namespace after it).
fn sandbox_id(uid: &str) -> String {
    let mut out = String::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0..4u8 {
        for b in uid.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_cut_where_they_end() {
        let two = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nConnection: close\r\n\r\n";
        assert_eq!(complete_request(two), Some((27, false)));
        assert_eq!(complete_request(&two[27..]), Some((38, true)));
        assert_eq!(complete_request(b"GET / HTTP/1.1\r\nHost"), None);
        assert_eq!(complete_request(b"PING\r\nPI"), Some((6, false)));
        assert_eq!(sandbox_id("u").len(), 64);
    }
}

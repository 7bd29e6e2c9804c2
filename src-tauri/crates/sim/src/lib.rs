//! KubeQuest's embedded cluster: a Kubernetes-API-compatible simulated cluster that real
//! `kubectl` and the `kube` crate use over HTTPS on 127.0.0.1 (or, when a teacher serves a
//! class, on the address they choose: [`ClusterConfig::listen`]).
//!
//! Start one with [`Cluster::start`]; the returned [`RunningCluster`] tells clients where it
//! is ([`RunningCluster::url`], [`RunningCluster::kubeconfig_path`]) and gives in-process
//! callers (the desktop shell's image checks, tests) direct access to the [`store::Store`].
//!
//! This crate is the facade: it generates the CA and token, writes the kubeconfig, and wires the
//! components together, each a crate of its own where Kubernetes keeps the same concept:
//!
//! - `kq_apiserver` (kube-apiserver): storage, the generic registry with each kind's strategy,
//!   admission, patch, and the HTTPS layer. Its [`store`], [`kinds`] and [`clock`] (the one
//!   virtual clock with a speed factor) keep their paths here.
//! - `kq_controllers` (kube-controller-manager, kube-scheduler, the kubelet): every controller
//!   on one reconciler runtime driven by the virtual clock.
//! - `kq_runtime` (the container runtime), `kq_shell` (what busybox-style containers run) and
//!   [`registry`] (the offline image catalog).
//! - `kq_kube`: Kubernetes knowledge without an async runtime, shared with the engine
//!   ([`duration`] is re-exported for callers).
//!
//! With a paused clock (`speed: 0.0`) time moves only by [`RunningCluster::advance`], so tests
//! replay back-off sequences deterministically.
//!
//! Starting it in-process, as the desktop app does:
//!
//! ```no_run
//! # async fn demo() -> kq_sim::Result<()> {
//! let cluster = kq_sim::Cluster::start(kq_sim::ClusterConfig {
//!     kubeconfig_path: Some("/home/learner/.kubequest/kubeconfig".into()),
//!     ..Default::default()
//! })
//! .await?;
//! // Show the learner how to point kubectl at it.
//! if let Some(path) = cluster.kubeconfig_path() {
//!     println!("export KUBECONFIG={}", path.display());
//! }
//! // In-process controllers and tests work on the store directly.
//! let pods: Vec<k8s_openapi::api::core::v1::Pod> = cluster.store().list(Some("default"));
//! assert!(pods.is_empty());
//! cluster.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use kq_controllers as controllers;
mod class_nodes;
mod error;
mod kubeconfig;
mod system;
mod tls;

use kq_apiserver::http as api;
use kq_kube::random;

// The few paths callers (the desktop shell, `kq`, the tests) use; everything else stays in
// the component crates (kq-apiserver, kq-controllers, kq-runtime, kq-registry, kq-kube).
pub use class_nodes::{LEARNERS_PER_NODE, class_nodes, numbered_nodes};
use clock::Clock;
pub use controllers::Controllers;
pub use error::{Error, Result};
pub use kinds::node::NodeTemplate;
/// The exec/attach/port-forward seam between the API server and the node side.
pub use kq_apiserver::streaming;
pub use kq_apiserver::{MAX_BODY_BYTES, ServerLimits, VERSION};
pub use kq_apiserver::{clock, kinds, store};
pub use kq_kube::duration;
pub use kq_registry as registry;
pub use kq_runtime::Runtime;
pub use store::Store;
pub use system::DNS_CLUSTER_IP;

/// How to start the embedded cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The address to listen on (default `127.0.0.1`). Anything but loopback is for a teacher
    /// serving a class to learners on their network, and only when the teacher asks for it.
    /// The serving certificate names this address besides `127.0.0.1` and `localhost`; for
    /// `0.0.0.0` (or `::`) it names every non-loopback address of the machine, and the URL and
    /// kubeconfig use the machine's first non-loopback IPv4 address (the one learners most
    /// likely reach), or `127.0.0.1` when it has none.
    pub listen: std::net::IpAddr,
    /// Port on [`ClusterConfig::listen`]; `None` picks a free one.
    pub port: Option<u16>,
    /// Virtual clock speed (1.0 = real time; 0 = paused, moved only by
    /// [`RunningCluster::advance`]).
    pub speed: f64,
    /// Where to write the kubeconfig (mode 0600); `None` writes none.
    pub kubeconfig_path: Option<PathBuf>,
    /// The nodes to register (default: one `node-1`, 2 CPU, ~4 GiB).
    pub nodes: Vec<NodeTemplate>,
    /// Changes kept per resource for watch replay.
    pub history_limit: usize,
    /// Bytes (as JSON) of change history kept across all resources for watch replay; the
    /// oldest changes go first, as when etcd compacts. A watch from before them gets 410.
    pub history_bytes: usize,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
    /// Connection timeouts, the connection cap and the watch buffers (defaults:
    /// kube-apiserver's).
    pub server: ServerLimits,
    /// Run the scheduler and kubelet (default). Tests that play the node's part themselves,
    /// through [`Store::update_status`], turn them off.
    pub controllers: bool,
    /// Extra image catalog files (teachers' and missions' `registry.yaml`), as
    /// `(source name, YAML text)`.
    pub registry_yaml: Vec<(String, String)>,
    /// Create kube-system's control plane on the first node (default): the static pods of
    /// etcd, kube-apiserver, kube-controller-manager and kube-scheduler, CoreDNS behind
    /// `kube-dns` and kube-proxy. Tests that count every pod or event of the cluster turn it
    /// off.
    pub kube_system: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            listen: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port: None,
            speed: 1.0,
            kubeconfig_path: None,
            nodes: vec![NodeTemplate::default()],
            history_limit: 2000,
            history_bytes: store::HISTORY_BYTES,
            bookmark_interval: Duration::from_secs(60),
            server: ServerLimits::default(),
            controllers: true,
            registry_yaml: Vec::new(),
            kube_system: true,
        }
    }
}

/// Entry point for starting the embedded cluster.
#[derive(Debug)]
pub struct Cluster;

impl Cluster {
    /// Generate certificates and a token, bootstrap the default objects, bind the port, write
    /// the kubeconfig and start serving. Must be called inside a Tokio runtime.
    pub async fn start(config: ClusterConfig) -> Result<RunningCluster> {
        let machine = if config.listen.is_unspecified() {
            local_addresses()
        } else {
            Vec::new()
        };
        let pki = tls::generate(&certificate_addresses(config.listen, &machine))?;
        let token = random::token();
        let clock = Arc::new(Clock::new(config.speed));
        let store = Store::with_history(
            clock.clone(),
            pki.ca_pem.clone(),
            config.history_limit,
            config.history_bytes,
        );
        // The namespace, service account and root CA controllers see every namespace,
        // the bootstrap ones included.
        let control_plane = kq_controllers::ControlPlane::attach(&store);
        bootstrap(&store, &config)?;

        let addr = std::net::SocketAddr::new(config.listen, config.port.unwrap_or(0));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener.local_addr()?;
        let server_address =
            std::net::SocketAddr::new(advertised(config.listen, &machine), local.port())
                .to_string();
        let url = format!("https://{server_address}");
        let kubeconfig = kubeconfig::render(&url, &pki.ca_pem, &token);
        if let Some(path) = &config.kubeconfig_path {
            kubeconfig::write(path, &kubeconfig)?;
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(control_plane.run(stop_rx.clone()));
        let runtime = Arc::new(Runtime::new());
        for (source, yaml) in &config.registry_yaml {
            runtime
                .add_catalog_yaml(yaml, source)
                .map_err(|e| Error::Catalog(e.to_string()))?;
        }
        let controllers = if config.controllers {
            let c = Controllers::start(store.clone(), runtime.clone());
            tokio::spawn(c.clone().run(stop_rx.clone()));
            Some(c)
        } else {
            None
        };
        if config.kube_system && !config.nodes.is_empty() {
            system::start_addons(&store)?;
        }
        let watch_stats = Arc::new(api::watch_stream::WatchStats::default());
        let audit = kq_kube::audit::AuditLog::default();
        let join = Arc::new(api::join::JoinCodes::default());
        let state = Arc::new(api::ApiState {
            store: store.clone(),
            token: token.clone(),
            token_signer: Default::default(),
            bookmark_interval: config.bookmark_interval,
            server_address,
            limits: config.server.clone(),
            watch_stats: watch_stats.clone(),
            streams: controllers
                .as_ref()
                .map(|c| kq_controllers::streams(c.clone())),
            audit: audit.clone(),
            join: join.clone(),
        });
        let server = tokio::spawn(api::serve(
            listener,
            pki.server_config.clone(),
            state,
            stop_rx,
        ));
        tracing::info!(%url, "embedded cluster serving");
        Ok(RunningCluster {
            url,
            port: local.port(),
            token,
            ca_pem: pki.ca_pem,
            kubeconfig,
            kubeconfig_path: config.kubeconfig_path,
            store,
            runtime,
            controllers,
            stop: stop_tx,
            server: Some(server),
            watch_stats,
            audit,
            join,
        })
    }
}

/// The machine's non-loopback addresses (link-local ones left out), IPv4 first.
fn local_addresses() -> Vec<std::net::IpAddr> {
    let mut found: Vec<std::net::IpAddr> = match if_addrs::get_if_addrs() {
        Ok(ifaces) => ifaces
            .into_iter()
            .map(|i| i.ip())
            .filter(|ip| !ip.is_loopback())
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the machine's addresses");
            Vec::new()
        }
    };
    found.sort_by_key(|ip| ip.is_ipv6());
    found.dedup();
    found
}

/// The addresses the serving certificate names besides `127.0.0.1` and `localhost`.
fn certificate_addresses(
    listen: std::net::IpAddr,
    machine: &[std::net::IpAddr],
) -> Vec<std::net::IpAddr> {
    if listen.is_unspecified() {
        machine.to_vec()
    } else {
        vec![listen]
    }
}

/// The address the URL and the kubeconfig name: the listen address, or for `0.0.0.0` the
/// machine's first non-loopback IPv4 address (else its first address, else `127.0.0.1`).
fn advertised(listen: std::net::IpAddr, machine: &[std::net::IpAddr]) -> std::net::IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    machine
        .iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| machine.first())
        .copied()
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

/// Creates whichever of the API server's default ClusterRoles and ClusterRoleBindings are
/// missing, as kube-apiserver's RBAC bootstrap hook does when it starts; objects that exist are
/// left as they are. An administrator who deletes `cluster-admin` locks themselves out of a
/// real cluster until its API server restarts; tests that delete at random use this to start
/// each case from a usable cluster.
pub fn restore_default_rbac(store: &Store) -> Result<()> {
    kq_apiserver::auth::bootstrap::create_defaults(store)?;
    Ok(())
}

fn bootstrap(store: &Arc<Store>, config: &ClusterConfig) -> Result<()> {
    let opts = store::WriteOptions::default();
    kq_apiserver::auth::bootstrap::create_defaults(store)?;
    for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        store.create(
            &kinds::namespace::KIND,
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            &opts,
        )?;
    }
    let now = store.clock().now();
    for node in &config.nodes {
        store.create(&kinds::node::KIND, "", node.to_value(now), &opts)?;
    }
    store.create(
        &kinds::service::KIND,
        "default",
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}
        }),
        &opts,
    )?;
    // kube-apiserver's own address behind the `kubernetes` Service (its endpoint reconciler).
    if let Some(node) = config.nodes.first() {
        let (endpoints, slice) = kinds::endpoints::apiserver_endpoints(&node.internal_ip, 6443);
        store.create(&kinds::endpoints::KIND, "default", endpoints, &opts)?;
        store.create(&kinds::endpointslice::KIND, "default", slice, &opts)?;
    }
    if config.kube_system
        && let Some(node) = config.nodes.first()
    {
        system::bootstrap(store, &node.name, &node.internal_ip)?;
    }
    Ok(())
}

/// A serving embedded cluster. Dropping it stops the server too.
#[derive(Debug)]
pub struct RunningCluster {
    url: String,
    port: u16,
    token: String,
    ca_pem: String,
    kubeconfig: String,
    kubeconfig_path: Option<PathBuf>,
    store: Arc<Store>,
    runtime: Arc<Runtime>,
    controllers: Option<Arc<Controllers>>,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
    watch_stats: Arc<api::watch_stream::WatchStats>,
    audit: kq_kube::audit::AuditLog,
    join: Arc<api::join::JoinCodes>,
}

/// One learner's join code, as the class server's join endpoint answers it.
pub use kq_apiserver::http::join::JoinEntry;

impl RunningCluster {
    /// `https://HOST:PORT`: `https://127.0.0.1:PORT` unless [`ClusterConfig::listen`] says
    /// otherwise.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port served.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bearer token clients must send.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The CA certificate (PEM) that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where the kubeconfig was written, if anywhere.
    pub fn kubeconfig_path(&self) -> Option<&Path> {
        self.kubeconfig_path.as_deref()
    }

    /// The kubeconfig YAML (context `kubequest`), for clients built in-process.
    pub fn kubeconfig_yaml(&self) -> &str {
        &self.kubeconfig
    }

    /// Direct access to the cluster state for in-process controllers and tests.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The cluster clock.
    pub fn clock(&self) -> &Arc<Clock> {
        self.store.clock()
    }

    /// The API server's audit log: one entry per answered request, bounded (a clone shares it).
    pub fn audit(&self) -> kq_kube::audit::AuditLog {
        self.audit.clone()
    }

    /// Append output to a container's current log (what a kubelet will do); resolves the pod
    /// by name.
    pub fn write_log(&self, namespace: &str, pod: &str, container: &str, text: &str) -> Result<()> {
        let p = self
            .store
            .get_raw(&kinds::pod::KIND, namespace, pod)
            .ok_or_else(|| kq_apiserver::Error::not_found("", "pods", pod))?;
        let uid = kinds::str_at(&p, "/metadata/uid").to_string();
        self.store
            .logs()
            .append(&uid, container, text, self.store.clock().now());
        Ok(())
    }

    /// Move cluster time forward. With a paused clock every timer on the way fires at its own
    /// virtual moment, so the outcome is the same on any machine.
    pub fn advance(&self, by: Duration) {
        match &self.controllers {
            Some(c) => c.advance(by),
            None => self.store.clock().advance(by),
        }
    }

    /// Change the simulation speed from now on (the learner's setting; 1.0 = real time).
    pub fn set_speed(&self, speed: f64) {
        self.store.clock().set_speed(speed);
        if let Some(c) = &self.controllers {
            c.wake();
        }
    }

    /// Let the scheduler and kubelet act on every change made so far (they also do this on
    /// their own, a moment later).
    pub fn settle(&self) {
        if let Some(c) = &self.controllers {
            c.tick();
        }
    }

    /// The node side of exec, attach, port-forward and proxy: what the API server's streaming
    /// endpoints call (`None` without controllers). Tests drive it without a wire.
    pub fn streams(&self) -> Option<Arc<dyn kq_apiserver::streaming::ContainerStreams>> {
        self.controllers
            .as_ref()
            .map(|c| kq_controllers::streams(c.clone()))
    }

    /// The container runtime (its image catalog takes teachers' additions).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Test hook: every open watch gets an in-stream `410 Expired` and closes.
    pub fn expire_watches(&self) {
        self.store.expire_watches();
    }

    /// Bytes every open watch has rendered for its client and not yet handed to the
    /// connection: what clients that stop reading can make the server hold.
    pub fn watch_buffered_bytes(&self) -> usize {
        self.watch_stats.buffered_bytes()
    }

    /// Watches terminated so far because their client stopped reading.
    pub fn watches_terminated(&self) -> u64 {
        self.watch_stats.terminated()
    }

    /// Test hook: every open watch is closed cleanly.
    pub fn close_watches(&self) {
        self.store.close_watches();
    }

    /// Serve a class: `POST /kubequest/v1/join` answers each learner's kubeconfig for their
    /// code until the code expires or [`RunningCluster::clear_join_codes`] (see
    /// `kq_apiserver::http::join`). Replaces any earlier codes.
    pub fn set_join_codes(&self, codes: Vec<JoinEntry>) {
        self.join.set(codes);
    }

    /// No join code is accepted any more (the class is over).
    pub fn clear_join_codes(&self) {
        self.join.clear();
    }

    /// Stop serving and wait for the server to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }
}

impl Drop for RunningCluster {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_chosen_address_is_the_url_and_the_certificates_only_extra_name() {
        let machine = [ip("192.168.1.20"), ip("10.0.0.7")];
        assert_eq!(advertised(ip("127.0.0.1"), &machine), ip("127.0.0.1"));
        assert_eq!(advertised(ip("10.0.0.7"), &machine), ip("10.0.0.7"));
        assert_eq!(
            certificate_addresses(ip("10.0.0.7"), &machine),
            [ip("10.0.0.7")]
        );
    }

    #[test]
    fn on_every_address_the_kubeconfig_names_the_first_ipv4_one() {
        let machine = [ip("fd00::5"), ip("192.168.1.20"), ip("10.0.0.7")];
        assert_eq!(advertised(ip("0.0.0.0"), &machine), ip("192.168.1.20"));
        assert_eq!(advertised(ip("::"), &machine), ip("192.168.1.20"));
        assert_eq!(advertised(ip("0.0.0.0"), &[ip("fd00::5")]), ip("fd00::5"));
        assert_eq!(
            advertised(ip("0.0.0.0"), &[]),
            ip("127.0.0.1"),
            "a machine without a network still serves itself"
        );
        assert_eq!(certificate_addresses(ip("0.0.0.0"), &machine), machine);
    }

    #[test]
    fn the_machines_addresses_leave_out_loopback() {
        let found = local_addresses();
        assert!(found.iter().all(|a| !a.is_loopback()), "{found:?}");
        let first_v6 = found.iter().position(IpAddr::is_ipv6);
        if let Some(i) = first_v6 {
            assert!(
                found[i..].iter().all(IpAddr::is_ipv6),
                "IPv4 first: {found:?}"
            );
        }
    }
}

//! kq-runtime: the container runtime of the embedded node (Kubernetes' CRI, which containerd
//! and runc implement on a real node): images from the offline registry catalog, and what a
//! container does once started, as data. It reads no API objects: the kubelet hands it the
//! ConfigMaps, Secrets and cluster CA a pod refers to through [`PodObjects`].
//!
//! A container's program comes from its image's behaviour and its spec: servers (nginx, httpd,
//! redis) print their real start-up lines and serve their ports until stopped; databases
//! refuse to start without their required environment; shells (busybox, alpine, and any image
//! whose `command` runs `sh -c`) are interpreted by [`kq_shell`]; a memory hog uses what
//! its arguments ask for, so a low limit gets it OOMKilled. A binary the image does not have
//! fails to start with runc's real message (StartError, exit code 128).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Secret};
use serde_json::Value;

use kq_registry::{self as registry, Behaviour, Catalog, RegistryCredential, ResolvedImage};
use kq_shell::{self as shell, ShellEnv};

mod api_client;
mod error;
mod pod_config;
mod program;
mod security;
pub mod serve;

pub use api_client::ApiClient;
pub use error::RuntimeError;
pub use kq_shell::fs::Fs;
use program::{Behaving, Scripted};
pub use security::{credentials, verify_run_as_non_root};

/// An image on the node (or being pulled), as container statuses report it.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    /// Normalised reference (`docker.io/library/nginx:1.25`).
    pub image: String,
    /// `docker.io/library/nginx@sha256:…`.
    pub image_id: String,
    pub size: u64,
    /// The reference as the pod spec wrote it.
    pub requested: String,
    resolved: Arc<ResolvedImage>,
}

impl ImageInfo {
    /// The same image as asked for by another spelling (`nginx:1.25` vs `docker.io/…`).
    pub fn for_request(&self, requested: &str) -> ImageInfo {
        ImageInfo {
            requested: requested.to_string(),
            ..self.clone()
        }
    }
}

/// The ConfigMaps, Secrets and cluster CA certificate a pod refers to, as the kubelet hands
/// them to the runtime: the runtime never reads the API server itself. Kubernetes' kubelet
/// keeps the same seam in `pkg/kubelet/configmap` and `pkg/kubelet/secret`
/// (`Manager.GetConfigMap` / `GetSecret`).
pub trait PodObjects {
    /// The ConfigMap `ns/name`, or `None` when it does not exist.
    fn config_map(&self, ns: &str, name: &str) -> Option<ConfigMap>;
    /// The Secret `ns/name`, or `None` when it does not exist.
    fn secret(&self, ns: &str, name: &str) -> Option<Secret>;
    /// The cluster CA (PEM) a service account token volume mounts as `ca.crt`.
    fn root_ca_pem(&self) -> String;
}

/// One step of a running process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Bytes written to stdout (text or binary, e.g. `tar cf -`).
    Stdout(Vec<u8>),
    /// Bytes written to stderr. Both streams land in the container log.
    Stderr(Vec<u8>),
    /// Idle for this long; `Duration::MAX` means forever.
    Sleep(Duration),
    /// Blocked reading stdin until [`Program::feed_stdin`] or [`Program::close_stdin`].
    WaitInput,
    /// The process ended.
    Exit(i32),
}

/// A running container's process.
pub trait Program: Send + std::fmt::Debug {
    fn next_step(&mut self) -> Step;
    /// Resident memory the process grows to.
    fn memory_bytes(&self) -> u64;
    /// Whether SIGTERM stops it (servers) or it must be killed (a shell as PID 1).
    fn handles_sigterm(&self) -> bool;
    /// HTTP status for `GET path` on `port`, or `None` when nothing listens.
    fn http(&self, port: i32, path: &str) -> Option<u16>;
    fn listens(&self, port: i32) -> bool;
    /// Run a command inside the container (exec probes): exit code and output.
    fn exec(&mut self, argv: &[String]) -> (i32, String);
    /// Bytes arriving on the process's stdin. Programs that do not read stdin ignore them.
    fn feed_stdin(&mut self, _bytes: &[u8]) {}
    /// End-of-file on stdin.
    fn close_stdin(&mut self) {}
    /// The process's terminal was resized (`kubectl exec -t` reports the size at start).
    fn resize(&mut self, _columns: u16, _rows: u16) {}
    /// Ctrl-C on the process's terminal. `true` when the process survives it (an
    /// interactive shell abandons the command line and prompts again); `false` when the
    /// signal ends it (exit code 130) or it has no terminal.
    fn interrupt(&mut self) -> bool {
        false
    }
}

/// What the runtime set up for one container when it created it, kept by the kubelet for
/// as long as the container exists: the image, the resolved environment, the container's
/// filesystem (shared by the main process and every exec) and its stdin/tty settings.
/// `kubectl exec` runs [`Runtime::exec`] in it.
#[derive(Debug, Clone)]
pub struct ContainerSandbox {
    image: Arc<ResolvedImage>,
    container: Container,
    env: Vec<(String, String)>,
    shell_env: ShellEnv,
    now: jiff::Timestamp,
    pod_ip: String,
}

impl ContainerSandbox {
    /// The container's filesystem.
    pub fn fs(&self) -> shell::fs::Fs {
        self.shell_env.fs.clone()
    }

    /// Executables the image has.
    pub fn has_binary(&self, name: &str) -> bool {
        self.image.binaries.contains(name)
    }

    /// Sets the network handle processes started from now on use.
    pub fn set_network(&mut self, net: shell::net::NetHandle) {
        self.shell_env.net = net;
    }
}

/// The runtime: the registry catalog plus container behaviour.
#[derive(Debug)]
pub struct Runtime {
    catalog: RwLock<Catalog>,
    /// The node's network, handed to every container's processes (set by the node).
    network: RwLock<Option<Arc<dyn shell::net::Network>>>,
    /// Who listens on which pod IP and port ([`serve`]).
    listeners: Arc<serve::Listeners>,
    /// How containers call the API server with their pod's credentials (set by the node).
    api: RwLock<Option<Arc<dyn ApiClient>>>,
}

const MIB: u64 = 1024 * 1024;

/// Images a node has before any pull besides the pause image: a kind node image ships the
/// control plane's (kubeadm v1.33.4), which kq-sim runs in kube-system.
pub const PRELOADED_IMAGES: &[&str] = &[
    "registry.k8s.io/etcd:3.5.21-0",
    "registry.k8s.io/kube-apiserver:v1.33.4",
    "registry.k8s.io/kube-controller-manager:v1.33.4",
    "registry.k8s.io/kube-scheduler:v1.33.4",
    "registry.k8s.io/kube-proxy:v1.33.4",
    "registry.k8s.io/coredns/coredns:v1.12.0",
];

impl Runtime {
    /// A runtime with the built-in catalog.
    pub fn new() -> Self {
        Runtime {
            catalog: RwLock::new(Catalog::builtin()),
            network: RwLock::new(None),
            listeners: Arc::new(serve::Listeners::default()),
            api: RwLock::new(None),
        }
    }

    /// Let containers started from now on call the API server with their pod's credentials.
    pub fn set_api_client(&self, api: Arc<dyn ApiClient>) {
        let mut g = match self.api.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Some(api);
    }

    /// Connect containers started from now on to the node's network.
    pub fn set_network(&self, net: Arc<dyn shell::net::Network>) {
        let mut g = match self.network.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Some(net);
    }

    /// The servers listening in this node's containers.
    pub fn listeners(&self) -> Arc<serve::Listeners> {
        self.listeners.clone()
    }

    /// A pod's handle on the node's network (none before [`Self::set_network`]).
    fn pod_net(&self, pod_ip: &str) -> shell::net::NetHandle {
        let g = match self.network.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match g.as_ref() {
            Some(n) => shell::net::PodNet::handle(n.clone(), pod_ip),
            None => shell::net::NetHandle::default(),
        }
    }

    /// Add a teacher's or mission's registry file.
    pub fn add_catalog_yaml(&self, yaml: &str, source: &str) -> Result<(), RuntimeError> {
        let mut g = match self.catalog.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.add_yaml(yaml, source).map_err(RuntimeError::from)
    }

    fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        match self.catalog.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The normalised reference, or the kubelet's InvalidImageName message.
    pub fn normalize(&self, image: &str) -> Result<String, RuntimeError> {
        registry::ImageRef::parse(image)
            .map(|r| r.normalized())
            .map_err(RuntimeError::from)
    }

    /// Resolve an image for a pull: the image, or containerd's error text.
    pub fn resolve(
        &self,
        image: &str,
        creds: &[RegistryCredential],
    ) -> Result<ImageInfo, RuntimeError> {
        let resolved = self
            .catalog()
            .resolve(image, creds)
            .map_err(RuntimeError::Pull)?;
        Ok(ImageInfo {
            image: resolved.image.clone(),
            image_id: resolved.image_id.clone(),
            size: resolved.size_bytes,
            requested: image.to_string(),
            resolved: Arc::new(resolved),
        })
    }

    /// The pause image every node has.
    pub fn pause_image(&self) -> Option<ImageInfo> {
        self.resolve("registry.k8s.io/pause:3.10", &[]).ok()
    }

    pub fn pull_time(&self, size: u64) -> Duration {
        registry::pull_duration(size)
    }

    /// Start a container: its program, or runc's start error. Shorthand for [`Self::sandbox`]
    /// then [`Self::start`] when the caller does not need the sandbox.
    pub fn launch(
        &self,
        image: &ImageInfo,
        c: &Container,
        env: Vec<(String, String)>,
        files: BTreeMap<String, String>,
        now: jiff::Timestamp,
        pod_ip: &str,
    ) -> Result<Box<dyn Program>, RuntimeError> {
        self.start(&self.sandbox(image, c, env, files, now, pod_ip))
    }

    /// Create a container: its filesystem (the image's files plus `files`, the mounted
    /// volumes' keys) and environment. Nothing runs yet.
    pub fn sandbox(
        &self,
        image: &ImageInfo,
        c: &Container,
        env: Vec<(String, String)>,
        files: BTreeMap<String, String>,
        now: jiff::Timestamp,
        pod_ip: &str,
    ) -> ContainerSandbox {
        let fs = shell::fs::Fs::from_files(&files);
        // ConfigMap, Secret and projected volumes (the mounts that bring files) are
        // read-only, as are mounts marked `readOnly`.
        for m in c.volume_mounts.iter().flatten() {
            let root = m.mount_path.trim_end_matches('/');
            let pre = format!("{root}/");
            if m.read_only == Some(true) || files.keys().any(|k| k == root || k.starts_with(&pre)) {
                fs.mount_read_only(root);
            }
        }
        let shell_env = ShellEnv {
            vars: env.iter().cloned().collect(),
            files: BTreeMap::new(),
            fs,
            binaries: image.resolved.binaries.clone(),
            now_unix: now.as_second(),
            net: self.pod_net(pod_ip),
            user: None,
        };
        ContainerSandbox {
            image: image.resolved.clone(),
            container: c.clone(),
            env,
            shell_env,
            now,
            pod_ip: pod_ip.to_string(),
        }
    }

    /// Start a container's main process in its sandbox, or runc's start error. Its stdin is
    /// open when the container spec says `stdin: true` (for `kubectl attach`), and it runs
    /// on a terminal when it says `tty: true`.
    pub fn start(&self, sb: &ContainerSandbox) -> Result<Box<dyn Program>, RuntimeError> {
        let r = &sb.image;
        let c = &sb.container;
        let overridden = c.command.is_some() || c.args.is_some();
        let argv: Vec<String> = match (&c.command, &c.args) {
            (Some(cmd), Some(args)) => cmd.iter().chain(args).cloned().collect(),
            (Some(cmd), None) => cmd.clone(),
            (None, Some(args)) => r.entrypoint.iter().chain(args).cloned().collect(),
            (None, None) => r.entrypoint.iter().chain(&r.cmd).cloned().collect(),
        };
        let shell_env = sb.shell_env.clone();
        let not_found = |bin: &str| RuntimeError::ExecutableNotFound(bin.to_string());
        let Some(first) = argv.first() else {
            return Err(RuntimeError::NoCommand);
        };
        let program_name = first.rsplit('/').next().unwrap_or(first).to_string();
        let image_default =
            !overridden || (c.command.is_none() && matches!(r.behaviour, Behaviour::Memory { .. }));
        let behaviour_owns = image_default
            || (!is_shell_word(&program_name)
                && r.entrypoint
                    .first()
                    .is_some_and(|e| e.ends_with(&program_name)))
            || r.cmd
                .first()
                .is_some_and(|e| e.rsplit('/').next() == Some(program_name.as_str()));
        if behaviour_owns && let Behaviour::PodLister { memory_mib } = r.behaviour {
            let api = match self.api.read() {
                Ok(g) => g.clone(),
                Err(p) => p.into_inner().clone(),
            };
            return Ok(Box::new(api_client::PodLister::new(
                api, shell_env, sb.now, memory_mib,
            )));
        }
        if behaviour_owns && !matches!(r.behaviour, Behaviour::Shell { .. }) {
            let program = Box::new(Behaving::new(
                (**r).clone(),
                &argv,
                &sb.env,
                shell_env,
                sb.now,
                &sb.pod_ip,
            ));
            return Ok(serve::serving(program, r, &sb.pod_ip, &self.listeners));
        }
        if !r.binaries.contains(&program_name) && !r.binaries.contains(first.as_str()) {
            return Err(not_found(first));
        }
        let opts = shell::SpawnOptions {
            stdin: c.stdin == Some(true),
            tty: c.tty == Some(true),
        };
        match shell::spawn_with(&argv, shell_env.clone(), opts) {
            Ok(process) => Ok(Box::new(Scripted {
                process,
                env: shell_env,
            })),
            Err(shell::ExecError::NotFound(bin)) => Err(not_found(&bin)),
        }
    }

    /// `kubectl exec`: start `argv` in a running container's sandbox, sharing its
    /// filesystem; `tty` (`-t`) puts it on a terminal. Stdin is open: when the request has
    /// no stdin (no `-i`) the caller closes it at once ([`Program::close_stdin`]), so that
    /// a read sees end-of-file as it does on `/dev/null`.
    /// A program the image does not have fails with containerd's exec error
    /// ([`RuntimeError::ExecNotFound`]), which the kubelet reports with exit code 126.
    pub fn exec(
        &self,
        sb: &ContainerSandbox,
        argv: &[String],
        tty: bool,
    ) -> Result<Box<dyn Program>, RuntimeError> {
        let opts = shell::SpawnOptions { stdin: true, tty };
        match shell::spawn_with(argv, sb.shell_env.clone(), opts) {
            Ok(process) => Ok(Box::new(Scripted {
                process,
                env: sb.shell_env.clone(),
            })),
            Err(shell::ExecError::NotFound(bin)) => Err(RuntimeError::ExecNotFound(bin)),
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

fn is_shell_word(name: &str) -> bool {
    matches!(name, "sh" | "bash" | "ash" | "dash")
}

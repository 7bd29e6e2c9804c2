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
    /// Output (stdout and stderr both land in the container log).
    Out(String),
    /// Idle for this long.
    Sleep(Duration),
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
}

/// The runtime: the registry catalog plus container behaviour.
#[derive(Debug)]
pub struct Runtime {
    catalog: RwLock<Catalog>,
}

const MIB: u64 = 1024 * 1024;

impl Runtime {
    /// A runtime with the built-in catalog.
    pub fn new() -> Self {
        Runtime {
            catalog: RwLock::new(Catalog::builtin()),
        }
    }

    /// Add a teacher's or mission's registry file.
    pub fn add_catalog_yaml(&self, yaml: &str, source: &str) -> Result<(), String> {
        let mut g = match self.catalog.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.add_yaml(yaml, source).map_err(|e| e.to_string())
    }

    fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        match self.catalog.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The normalised reference, or the kubelet's InvalidImageName message.
    pub fn normalize(&self, image: &str) -> Result<String, String> {
        registry::ImageRef::parse(image)
            .map(|r| r.normalized())
            .map_err(|e| e.to_string())
    }

    /// Resolve an image for a pull: the image, or containerd's error text.
    pub fn resolve(&self, image: &str, creds: &[RegistryCredential]) -> Result<ImageInfo, String> {
        let resolved = self
            .catalog()
            .resolve(image, creds)
            .map_err(|e| e.cri_message())?;
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

    /// Credentials from the pod's imagePullSecrets.
    pub fn pull_credentials(
        &self,
        objects: &dyn PodObjects,
        ns: &str,
        pod: &Value,
    ) -> Vec<RegistryCredential> {
        let mut out = Vec::new();
        for s in pod["spec"]["imagePullSecrets"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(name) = s["name"].as_str() else {
                continue;
            };
            let Some(secret) = objects.secret(ns, name) else {
                continue;
            };
            let data = secret.data.unwrap_or_default();
            if let Some(bytes) = data
                .get(".dockerconfigjson")
                .or_else(|| data.get(".dockercfg"))
                && let Ok(creds) = registry::credentials_from_dockerconfigjson(&bytes.0)
            {
                out.extend(creds);
            }
        }
        out
    }

    /// A ConfigMap or Secret volume that cannot be mounted, as the FailedMount message.
    pub fn missing_volume(
        &self,
        objects: &dyn PodObjects,
        ns: &str,
        pod: &Value,
    ) -> Option<String> {
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            let vol = v["name"].as_str().unwrap_or_default();
            if let Some(cm) = v.get("configMap") {
                let name = cm["name"].as_str().unwrap_or_default();
                if cm["optional"] != true && objects.config_map(ns, name).is_none() {
                    return Some(format!(
                        "MountVolume.SetUp failed for volume \"{vol}\" : configmap \"{name}\" not found"
                    ));
                }
            }
            if let Some(s) = v.get("secret") {
                let name = s["secretName"].as_str().unwrap_or_default();
                if s["optional"] != true && objects.secret(ns, name).is_none() {
                    return Some(format!(
                        "MountVolume.SetUp failed for volume \"{vol}\" : secret \"{name}\" not found"
                    ));
                }
            }
        }
        None
    }

    /// The container's environment, or the CreateContainerConfigError message.
    pub fn container_env(
        &self,
        objects: &dyn PodObjects,
        ns: &str,
        pod: &Value,
        c: &Container,
        image: &ImageInfo,
    ) -> Result<Vec<(String, String)>, String> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
        for (k, v) in &image.resolved.env {
            env.insert(k.clone(), v.clone());
        }
        env.insert("HOSTNAME".into(), name_of(pod).to_string());
        env.insert("KUBERNETES_SERVICE_HOST".into(), "10.96.0.1".into());
        env.insert("KUBERNETES_SERVICE_PORT".into(), "443".into());
        env.insert("KUBERNETES_SERVICE_PORT_HTTPS".into(), "443".into());
        env.insert("KUBERNETES_PORT".into(), "tcp://10.96.0.1:443".into());
        env.insert("HOME".into(), "/root".into());
        for from in c.env_from.iter().flatten() {
            let prefix = from.prefix.clone().unwrap_or_default();
            if let Some(r) = &from.config_map_ref {
                match objects.config_map(ns, &r.name) {
                    Some(cm) => {
                        for (k, v) in cm.data.unwrap_or_default() {
                            env.insert(format!("{prefix}{k}"), v);
                        }
                    }
                    None if r.optional == Some(true) => {}
                    None => return Err(format!("configmap \"{}\" not found", r.name)),
                }
            }
            if let Some(r) = &from.secret_ref {
                match objects.secret(ns, &r.name) {
                    Some(s) => {
                        for (k, v) in s.data.unwrap_or_default() {
                            env.insert(
                                format!("{prefix}{k}"),
                                String::from_utf8_lossy(&v.0).into_owned(),
                            );
                        }
                    }
                    None if r.optional == Some(true) => {}
                    None => return Err(format!("secret \"{}\" not found", r.name)),
                }
            }
        }
        for e in c.env.iter().flatten() {
            let value = if let Some(v) = &e.value {
                expand_dependent(v, &env)
            } else if let Some(src) = &e.value_from {
                if let Some(r) = &src.config_map_key_ref {
                    match objects.config_map(ns, &r.name) {
                        Some(cm) => match cm.data.unwrap_or_default().get(&r.key) {
                            Some(v) => v.clone(),
                            None if r.optional == Some(true) => continue,
                            None => {
                                return Err(format!(
                                    "couldn't find key {} in ConfigMap {ns}/{}",
                                    r.key, r.name
                                ));
                            }
                        },
                        None if r.optional == Some(true) => continue,
                        None => return Err(format!("configmap \"{}\" not found", r.name)),
                    }
                } else if let Some(r) = &src.secret_key_ref {
                    match objects.secret(ns, &r.name) {
                        Some(s) => match s.data.unwrap_or_default().get(&r.key) {
                            Some(v) => String::from_utf8_lossy(&v.0).into_owned(),
                            None if r.optional == Some(true) => continue,
                            None => {
                                return Err(format!(
                                    "couldn't find key {} in Secret {ns}/{}",
                                    r.key, r.name
                                ));
                            }
                        },
                        None if r.optional == Some(true) => continue,
                        None => return Err(format!("secret \"{}\" not found", r.name)),
                    }
                } else if let Some(f) = &src.field_ref {
                    field_value(pod, &f.field_path)
                } else {
                    String::new()
                }
            } else {
                String::new()
            };
            env.insert(e.name.clone(), value);
        }
        Ok(env.into_iter().collect())
    }

    /// Files the container sees from ConfigMap and Secret volumes.
    pub fn mounted_files(
        &self,
        objects: &dyn PodObjects,
        ns: &str,
        pod: &Value,
        c: &Container,
    ) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        files.insert("/etc/hostname".to_string(), format!("{}\n", name_of(pod)));
        let volumes = pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for m in c.volume_mounts.iter().flatten() {
            let Some(v) = volumes.iter().find(|v| v["name"] == m.name.as_str()) else {
                continue;
            };
            let base = m.mount_path.trim_end_matches('/');
            let mut entries: Vec<(String, String)> = Vec::new();
            if let Some(cm) = v.get("configMap") {
                if let Some(obj) = objects.config_map(ns, cm["name"].as_str().unwrap_or_default()) {
                    entries.extend(obj.data.unwrap_or_default());
                }
                apply_items(&mut entries, &cm["items"]);
            } else if let Some(s) = v.get("secret") {
                if let Some(obj) = objects.secret(ns, s["secretName"].as_str().unwrap_or_default())
                {
                    entries.extend(
                        obj.data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned())),
                    );
                }
                apply_items(&mut entries, &s["items"]);
            } else if v.get("projected").is_some() && base.ends_with("serviceaccount") {
                entries.push(("namespace".into(), ns.to_string()));
                entries.push(("ca.crt".into(), objects.root_ca_pem()));
                entries.push((
                    "token".into(),
                    "eyJhbGciOiJSUzI1NiJ9.kubequest.embedded".into(),
                ));
            }
            match &m.sub_path {
                Some(sub) if !sub.is_empty() => {
                    if let Some((_, content)) = entries.iter().find(|(k, _)| k == sub) {
                        files.insert(base.to_string(), content.clone());
                    }
                }
                _ => {
                    for (k, content) in entries {
                        files.insert(format!("{base}/{k}"), content);
                    }
                }
            }
        }
        files
    }

    /// Start a container: its program, or runc's start error.
    pub fn launch(
        &self,
        image: &ImageInfo,
        c: &Container,
        env: Vec<(String, String)>,
        files: BTreeMap<String, String>,
        now: jiff::Timestamp,
        pod_ip: &str,
    ) -> Result<Box<dyn Program>, String> {
        let r = &image.resolved;
        let overridden = c.command.is_some() || c.args.is_some();
        let argv: Vec<String> = match (&c.command, &c.args) {
            (Some(cmd), Some(args)) => cmd.iter().chain(args).cloned().collect(),
            (Some(cmd), None) => cmd.clone(),
            (None, Some(args)) => r.entrypoint.iter().chain(args).cloned().collect(),
            (None, None) => r.entrypoint.iter().chain(&r.cmd).cloned().collect(),
        };
        let shell_env = ShellEnv {
            vars: env.iter().cloned().collect(),
            files,
            binaries: r.binaries.clone(),
            now_unix: now.as_second(),
        };
        let not_found = |bin: &str| {
            format!(
                "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"{bin}\": executable file not found in $PATH: unknown"
            )
        };
        let Some(first) = argv.first() else {
            return Err("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: no command specified: unknown".into());
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
        if behaviour_owns && !matches!(r.behaviour, Behaviour::Shell { .. }) {
            return Ok(Box::new(Behaving::new(
                (**r).clone(),
                &argv,
                &env,
                shell_env,
                now,
                pod_ip,
            )));
        }
        if !r.binaries.contains(&program_name) && !r.binaries.contains(first.as_str()) {
            return Err(not_found(first));
        }
        match shell::spawn(&argv, shell_env.clone()) {
            Ok(process) => Ok(Box::new(Scripted {
                process,
                env: shell_env,
            })),
            Err(shell::ExecError::NotFound(bin)) => Err(not_found(&bin)),
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

/// `metadata.name` of the pod (as the API server's `kinds::name_of`).
fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The string at a JSON pointer, or `""` (as the API server's `kinds::str_at`).
fn str_at<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn is_shell_word(name: &str) -> bool {
    matches!(name, "sh" | "bash" | "ash" | "dash")
}

fn apply_items(entries: &mut Vec<(String, String)>, items: &Value) {
    let Some(items) = items.as_array() else {
        return;
    };
    let mut out = Vec::new();
    for it in items {
        let (Some(key), Some(path)) = (it["key"].as_str(), it["path"].as_str()) else {
            continue;
        };
        if let Some((_, v)) = entries.iter().find(|(k, _)| k == key) {
            out.push((path.to_string(), v.clone()));
        }
    }
    *entries = out;
}

/// `$(VAR)` references to earlier variables, as the kubelet expands them.
fn expand_dependent(v: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) => {
                let name = &after[..end];
                match env.get(name) {
                    Some(val) => out.push_str(val),
                    None => {
                        out.push_str("$(");
                        out.push_str(name);
                        out.push(')');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn field_value(pod: &Value, path: &str) -> String {
    let ptr = match path {
        "metadata.name" => "/metadata/name",
        "metadata.namespace" => "/metadata/namespace",
        "metadata.uid" => "/metadata/uid",
        "spec.nodeName" => "/spec/nodeName",
        "spec.serviceAccountName" => "/spec/serviceAccountName",
        "status.podIP" => "/status/podIP",
        "status.hostIP" => "/status/hostIP",
        _ => return String::new(),
    };
    str_at(pod, ptr).to_string()
}

/// A process run by the shell interpreter (busybox and friends).
#[derive(Debug)]
struct Scripted {
    process: shell::Process,
    env: ShellEnv,
}

impl Program for Scripted {
    fn next_step(&mut self) -> Step {
        match self.process.next_step() {
            shell::Step::Stdout(s) | shell::Step::Stderr(s) => Step::Out(s),
            shell::Step::Sleep(d) => Step::Sleep(d),
            shell::Step::Exit(c) => Step::Exit(c),
        }
    }
    fn memory_bytes(&self) -> u64 {
        MIB
    }
    fn handles_sigterm(&self) -> bool {
        false
    }
    fn http(&self, _port: i32, _path: &str) -> Option<u16> {
        None
    }
    fn listens(&self, _port: i32) -> bool {
        false
    }
    fn exec(&mut self, argv: &[String]) -> (i32, String) {
        exec_in(&self.env, argv)
    }
}

/// Run a command to completion in a container's environment (exec probes).
fn exec_in(env: &ShellEnv, argv: &[String]) -> (i32, String) {
    match shell::spawn(argv, env.clone()) {
        Err(shell::ExecError::NotFound(bin)) => (
            126,
            format!(
                "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{bin}\": executable file not found in $PATH: unknown"
            ),
        ),
        Ok(mut p) => {
            let mut out = String::new();
            for _ in 0..10_000 {
                match p.next_step() {
                    shell::Step::Stdout(s) | shell::Step::Stderr(s) => out.push_str(&s),
                    shell::Step::Sleep(_) => {}
                    shell::Step::Exit(c) => return (c, out),
                }
            }
            (1, out)
        }
    }
}

/// A process whose behaviour comes from its image (servers, databases, interpreters, pause,
/// memory hogs).
#[derive(Debug)]
struct Behaving {
    image: ResolvedImage,
    pending: std::collections::VecDeque<Step>,
    memory: u64,
    serves: bool,
    env: ShellEnv,
}

impl Behaving {
    fn new(
        image: ResolvedImage,
        argv: &[String],
        env: &[(String, String)],
        shell_env: ShellEnv,
        now: jiff::Timestamp,
        pod_ip: &str,
    ) -> Self {
        let mut pending = std::collections::VecDeque::new();
        let mut memory = u64::from(image.behaviour.memory_mib()) * MIB;
        let mut serves = false;
        let fill = |line: &str| format!("{}\n", fill_placeholders(line, now, pod_ip));
        match &image.behaviour {
            Behaviour::Server { logs, .. } => {
                pending.extend(logs.iter().map(|l| Step::Out(fill(l))));
                serves = true;
                pending.push_back(Step::Sleep(Duration::MAX));
            }
            Behaviour::Database {
                logs,
                missing_env_logs,
                ..
            } => {
                if image.behaviour.env_satisfied(env) {
                    pending.extend(logs.iter().map(|l| Step::Out(fill(l))));
                    serves = true;
                    pending.push_back(Step::Sleep(Duration::MAX));
                } else {
                    pending.extend(missing_env_logs.iter().map(|l| Step::Out(fill(l))));
                    pending.push_back(Step::Exit(1));
                }
            }
            Behaviour::Interpreter { logs, .. } => {
                if argv.len() <= 1 {
                    pending.push_back(Step::Exit(0));
                } else {
                    pending.extend(logs.iter().map(|l| Step::Out(fill(l))));
                    pending.push_back(Step::Sleep(Duration::MAX));
                }
            }
            Behaviour::Memory { .. } => {
                if let Some(bytes) = image.behaviour.requested_memory_bytes(argv) {
                    memory = memory.saturating_add(bytes);
                }
                pending.push_back(Step::Out(
                    "stress: info: [1] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd\n".into(),
                ));
                pending.push_back(Step::Sleep(Duration::MAX));
            }
            Behaviour::Pause { .. } | Behaviour::Shell { .. } => {
                pending.push_back(Step::Sleep(Duration::MAX));
            }
        }
        Behaving {
            image,
            pending,
            memory,
            serves,
            env: shell_env,
        }
    }

    fn ports(&self) -> Vec<i32> {
        match &self.image.behaviour {
            Behaviour::Server { ports, .. } | Behaviour::Database { ports, .. } => {
                ports.iter().map(|p| i32::from(*p)).collect()
            }
            _ => Vec::new(),
        }
    }

    fn http_paths(&self) -> &[String] {
        match &self.image.behaviour {
            Behaviour::Server { http, .. } => http,
            _ => &[],
        }
    }
}

/// Fill the catalog's log placeholders with the start time and the pod's address.
fn fill_placeholders(line: &str, now: jiff::Timestamp, pod_ip: &str) -> String {
    if !line.contains('{') {
        return line.to_string();
    }
    let z = now.to_zoned(jiff::tz::TimeZone::UTC);
    let fmt = |f: &str| z.strftime(f).to_string();
    line.replace("{time:nginx}", &fmt("%Y/%m/%d %H:%M:%S"))
        .replace("{time:redis}", &fmt("%d %b %Y %H:%M:%S.%3f"))
        .replace("{time:mysqld}", &fmt("%Y-%m-%dT%H:%M:%S.%6fZ"))
        .replace("{time:mysql}", &fmt("%Y-%m-%d %H:%M:%S+00:00"))
        .replace("{time:postgres}", &fmt("%Y-%m-%d %H:%M:%S.%3f UTC"))
        .replace("{time:httpd}", &fmt("%a %b %d %H:%M:%S.%6f %Y"))
        .replace("{pod_ip}", pod_ip)
}

impl Program for Behaving {
    fn next_step(&mut self) -> Step {
        self.pending
            .pop_front()
            .unwrap_or(Step::Sleep(Duration::MAX))
    }
    fn memory_bytes(&self) -> u64 {
        self.memory
    }
    fn handles_sigterm(&self) -> bool {
        !matches!(self.image.behaviour, Behaviour::Memory { .. })
    }
    fn http(&self, port: i32, path: &str) -> Option<u16> {
        if !self.serves {
            return None;
        }
        if !self.ports().contains(&port) {
            return None;
        }
        let http = self.http_paths();
        if http.is_empty() {
            // A port that speaks something else: the connection is reset, which a probe reports
            // as a failure; 400 stands in for it.
            return Some(400);
        }
        Some(if http.iter().any(|p| p == path) {
            200
        } else {
            404
        })
    }
    fn listens(&self, port: i32) -> bool {
        self.serves && self.ports().contains(&port)
    }
    fn exec(&mut self, argv: &[String]) -> (i32, String) {
        exec_in(&self.env, argv)
    }
}

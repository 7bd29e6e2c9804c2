//! Helpers for tests that run the embedded cluster: start it on a background runtime (so
//! plain `#[test]` functions can drive real `kubectl` processes), find every kubectl on the
//! machine, and run them with an isolated HOME and KUBECONFIG, one scenario per version at once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kq_sim::{Cluster, ClusterConfig, NodeTemplate, RunningCluster};

use crate::check::Step;

/// An embedded cluster serving from a private Tokio runtime, with a scratch directory that
/// holds its kubeconfig and the HOME directories of the kubectl processes.
pub struct TestCluster {
    cluster: Option<RunningCluster>,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

impl TestCluster {
    /// Start a cluster with the default configuration.
    pub fn start() -> Self {
        Self::start_with(ClusterConfig::default())
    }

    /// A cluster whose clock is paused: time moves only with `RunningCluster::advance`, so the
    /// scheduler's and kubelet's timers fire at the same virtual moments on every run.
    pub fn paused() -> Self {
        Self::start_with(ClusterConfig {
            speed: 0.0,
            ..ClusterConfig::default()
        })
    }

    /// Create an object (Pod, ConfigMap, Secret, Node, StorageClass, …) straight in the store, as a client
    /// would, then let the scheduler and kubelet react.
    pub fn create(&self, ns: &str, obj: serde_json::Value) {
        // `storage.k8s.io/v1` names its group; `v1` is the core group.
        let group = obj["apiVersion"]
            .as_str()
            .and_then(|v| v.split_once('/'))
            .map_or("", |(g, _)| g);
        let kind = obj["kind"]
            .as_str()
            .and_then(|k| kq_sim::kinds::by_kind(group, k))
            .unwrap_or_else(|| panic!("a served kind: {} {}", obj["apiVersion"], obj["kind"]));
        self.cluster()
            .store()
            .create(kind, ns, obj, &kq_sim::store::WriteOptions::default())
            .expect("the object is accepted");
        self.cluster().settle();
    }

    /// Start a cluster; the kubeconfig is always written into the scratch directory.
    pub fn start_with(mut config: ClusterConfig) -> Self {
        let dir = tempfile::tempdir().expect("a scratch directory for the test cluster");
        config.kubeconfig_path = Some(dir.path().join("kubeconfig"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime for the embedded cluster");
        let cluster = runtime
            .block_on(Cluster::start(config))
            .expect("the embedded cluster starts");
        TestCluster {
            cluster: Some(cluster),
            runtime,
            dir,
        }
    }

    /// The running cluster.
    pub fn cluster(&self) -> &RunningCluster {
        self.cluster
            .as_ref()
            .expect("cluster is running until drop")
    }

    /// The kubeconfig file.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// The scratch directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Run a future on the cluster's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// A kubectl bound to this cluster with its own HOME (kubectl caches discovery there).
    pub fn kubectl(&self, label: &str, path: &Path) -> Kubectl {
        let home = self.dir.path().join(format!("home-{label}"));
        std::fs::create_dir_all(&home).expect("a HOME for kubectl");
        Kubectl {
            label: label.to_string(),
            path: path.to_path_buf(),
            home,
            kubeconfig: self.kubeconfig(),
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            self.runtime.block_on(c.shutdown());
        }
    }
}

/// A `kube` client for a running cluster, built from the kubeconfig it wrote (so the CA,
/// server URL and token are exercised as the desktop app uses them).
pub async fn kube_client(cluster: &RunningCluster) -> kube::Client {
    let config = kube_config(cluster).await;
    kube::Client::try_from(config).expect("a kube client for the embedded cluster")
}

/// The `kube` configuration for a running cluster (tests tweak it, e.g. drop the token).
pub async fn kube_config(cluster: &RunningCluster) -> kube::Config {
    let kc = kube::config::Kubeconfig::from_yaml(cluster.kubeconfig_yaml())
        .expect("the written kubeconfig parses");
    kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .expect("the written kubeconfig is usable")
}

/// Every kubectl on this machine: the versioned Google Cloud SDK binaries and `kubectl` on
/// PATH (unless it is one of them). Panics with install instructions when there is none, so
/// the compatibility tests can never pass by silently testing nothing.
pub fn kubectl_binaries() -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/usr/lib/google-cloud-sdk/bin") {
        let mut v: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("kubectl.1."))
            })
            .collect();
        v.sort();
        for p in v {
            let label = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .trim_start_matches("kubectl.")
                .to_string();
            found.push((label, p));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("kubectl");
            if p.is_file() {
                let canon = std::fs::canonicalize(&p).unwrap_or(p.clone());
                let dup = found
                    .iter()
                    .any(|(_, f)| std::fs::canonicalize(f).ok().as_ref() == Some(&canon));
                if !dup {
                    found.push(("path".to_string(), p));
                }
                break;
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no kubectl found (neither /usr/lib/google-cloud-sdk/bin/kubectl.1.* nor kubectl on PATH); \
         install Debian's `kubernetes-client` package (apt-get install kubernetes-client) so the \
         kubectl compatibility tests can run"
    );
    found
}

/// Run `scenario` on every installed kubectl at once; see [`on_kubectls`].
pub fn on_every_kubectl(
    tc: &TestCluster,
    prefix: &str,
    scenario: impl Fn(&Kubectl, &str) -> Step + Sync,
) {
    on_kubectls(tc, &kubectl_binaries(), prefix, scenario);
}

/// Run `scenario` once per kubectl in `versions`, each on its own thread against the same
/// cluster, print how long they took, and fail the test listing every version that failed.
/// Each run gets a kubectl with its own HOME and a namespace name of its own,
/// `<prefix>-<version with dots as dashes>` (for example `wl-1-30`), so the versions never
/// see each other's objects. A failure reads `kubectl <version>: <error>`; a scenario that
/// panics counts as a failure (its panic message is printed above the report).
pub fn on_kubectls(
    tc: &TestCluster,
    versions: &[(String, PathBuf)],
    prefix: &str,
    scenario: impl Fn(&Kubectl, &str) -> Step + Sync,
) {
    let started = Instant::now();
    let scenario = &scenario;
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = versions
            .iter()
            .map(|(label, path)| {
                let k = tc.kubectl(label, path);
                let ns = format!("{prefix}-{}", label.replace('.', "-"));
                s.spawn(move || scenario(&k, &ns).map_err(|e| format!("kubectl {label}: {e}")))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some("a kubectl scenario panicked".to_string()),
            })
            .collect()
    });
    eprintln!(
        "{} kubectl versions checked in {:?}",
        versions.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} kubectl versions failed:\n\n{}",
        failures.len(),
        versions.len(),
        failures.join("\n\n")
    );
}

/// Move the paused clock one virtual second at a time until `done` holds, and return how
/// many seconds that took; panics after `limit` seconds.
pub fn advance_until(tc: &TestCluster, limit: u64, mut done: impl FnMut() -> bool) -> u64 {
    for s in 0..=limit {
        if done() {
            return s;
        }
        tc.cluster().advance(Duration::from_secs(1));
    }
    panic!("not reached within {limit} s of virtual time");
}

/// One kubectl binary pointed at a test cluster.
#[derive(Debug, Clone)]
pub struct Kubectl {
    /// `1.27`, ..., or `path`.
    pub label: String,
    /// The binary.
    pub path: PathBuf,
    home: PathBuf,
    kubeconfig: PathBuf,
}

/// What a kubectl run printed.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line, for messages.
    pub cmd: String,
    /// Exit code (-1 when killed).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Exit code 0?
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout\n{}--- stderr\n{}",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }
}

impl Kubectl {
    /// The same kubectl with another kubeconfig (a class learner's or teacher's), keeping its
    /// own HOME.
    pub fn with_kubeconfig(&self, kubeconfig: &Path) -> Kubectl {
        Kubectl {
            kubeconfig: kubeconfig.to_path_buf(),
            ..self.clone()
        }
    }

    /// A command with the isolated environment, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.path);
        c.args(args)
            .env_clear()
            .env("HOME", &self.home)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C")
            .stdin(Stdio::null());
        c
    }

    /// Run to completion (killed after `limit`), capturing output.
    pub fn run_with(&self, args: &[&str], envs: &[(&str, &str)], limit: Duration) -> Run {
        let mut c = self.command(args);
        for (k, v) in envs {
            c.env(k, v);
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let cmd = format!("kubectl.{} {}", self.label, args.join(" "));
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd}: {e}"));
        let out = wait_with_limit(child, limit);
        Run {
            cmd,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run with a 60 s limit.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[], Duration::from_secs(60))
    }
}

/// Wait for a child, killing it after `limit` so a hung kubectl cannot hang the suite.
pub fn wait_with_limit(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    // Drain pipes on threads so a chatty child never blocks on a full pipe.
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let t1 = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(s) = so.as_mut() {
            let _ = std::io::Read::read_to_end(s, &mut b);
        }
        b
    });
    let t2 = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(s) = se.as_mut() {
            let _ = std::io::Read::read_to_end(s, &mut b);
        }
        b
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                match child.wait() {
                    Ok(s) => break s,
                    Err(e) => panic!("cannot reap a killed kubectl: {e}"),
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("cannot wait for kubectl: {e}"),
        }
    };
    Output {
        status,
        stdout: t1.join().unwrap_or_default(),
        stderr: t2.join().unwrap_or_default(),
    }
}

/// Three nodes as kind or kubeadm make them: a `control-plane` node with its role label and
/// `NoSchedule` taint, and two workers labelled `disk=hdd` and `disk=ssd` (for nodeSelector
/// cases).
pub fn three_kind_nodes() -> Vec<NodeTemplate> {
    let node = |name: &str, ip: &str, cidr: &str, disk: Option<&str>| {
        let mut n = NodeTemplate {
            name: name.into(),
            internal_ip: ip.into(),
            pod_cidr: cidr.into(),
            ..NodeTemplate::default()
        };
        if let Some(d) = disk {
            n.labels.insert("disk".into(), d.into());
        }
        n
    };
    let mut cp = node("control-plane", "192.168.49.2", "10.244.0.0/24", None);
    cp.taints = vec![k8s_openapi::api::core::v1::Taint {
        key: "node-role.kubernetes.io/control-plane".into(),
        effect: "NoSchedule".into(),
        ..Default::default()
    }];
    cp.labels.insert(
        "node-role.kubernetes.io/control-plane".into(),
        String::new(),
    );
    vec![
        cp,
        node("worker-1", "192.168.49.3", "10.244.1.0/24", Some("hdd")),
        node("worker-2", "192.168.49.4", "10.244.2.0/24", Some("ssd")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runner must report a failing version: a scenario that always fails fails the test.
    #[test]
    #[should_panic(expected = "kubectl versions failed")]
    fn a_failing_scenario_fails_the_run() {
        let tc = TestCluster::start_with(ClusterConfig {
            controllers: false,
            ..ClusterConfig::default()
        });
        on_every_kubectl(&tc, "fail", |_, ns| Err(format!("always fails in {ns}")));
    }

    /// Each version gets its own HOME and a namespace named after it.
    #[test]
    fn each_version_gets_its_own_namespace() {
        let tc = TestCluster::start_with(ClusterConfig {
            controllers: false,
            ..ClusterConfig::default()
        });
        let seen = std::sync::Mutex::new(Vec::new());
        on_every_kubectl(&tc, "ns", |k, ns| {
            let want = format!("ns-{}", k.label.replace('.', "-"));
            seen.lock().map_err(|e| e.to_string())?.push(ns.to_string());
            if ns == want {
                Ok(())
            } else {
                Err(format!("namespace {ns}, expected {want}"))
            }
        });
        let seen = seen.into_inner().unwrap_or_default();
        assert_eq!(seen.len(), kubectl_binaries().len(), "{seen:?}");
    }
}

//! Whole-cluster figures: how soon a started cluster answers, and what real `kubectl` pays
//! for talking to it compared with its own start-up floor.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use kq_sim::{Cluster, ClusterConfig};

use super::{Figure, Op, Sizes, kube_client, median, ms, progress, scratch};

/// `cluster.start_to_first_request_ms`: [`Cluster::start`] (certificates, token, bootstrap
/// objects, bind, kubeconfig written) until a client built from that kubeconfig gets its first
/// authenticated `GET /version` back.
pub async fn start_to_first_request(sizes: &Sizes) -> Result<Figure, String> {
    let (mut totals, mut starts) = (Vec::new(), Vec::new());
    for i in 0..sizes.reps {
        let dir = scratch()?;
        let t0 = Instant::now();
        let cluster = Cluster::start(ClusterConfig {
            kubeconfig_path: Some(dir.path().join("kubeconfig")),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("the embedded cluster does not start: {e}"))?;
        let started = t0.elapsed();
        let client = kube_client(&cluster).await?;
        let info = client
            .apiserver_version()
            .await
            .map_err(|e| format!("GET /version failed on a fresh cluster: {e}"))?;
        let total = t0.elapsed();
        if i == 0 {
            progress(format!(
                "cluster answers /version with {}",
                info.git_version
            ));
        }
        cluster.shutdown().await;
        starts.push(ms(started));
        totals.push(ms(total));
    }
    let value = median(&totals);
    let start = median(&starts);
    Ok(Figure::new(
        "cluster.start_to_first_request_ms",
        value,
        "ms",
        format!(
            "Cluster::start {start:.1} ms + client from kubeconfig and first GET /version \
             {:.1} ms (medians of {} starts)",
            value - start,
            sizes.reps
        ),
    ))
}

/// The kubectl the figures use: `kubectl` on PATH, else the newest Google Cloud SDK one.
pub fn find_kubectl() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PATH")
        && let Some(p) = std::env::split_paths(&path)
            .map(|d| d.join("kubectl"))
            .find(|p| p.is_file())
    {
        return Ok(p);
    }
    let newest = std::fs::read_dir("/usr/lib/google-cloud-sdk/bin")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let minor = name.strip_prefix("kubectl.1.")?.parse::<u32>().ok()?;
            Some((minor, e.path()))
        })
        .max_by_key(|(minor, _)| *minor);
    newest.map(|(_, p)| p).ok_or_else(|| {
        "no kubectl found (neither kubectl on PATH nor /usr/lib/google-cloud-sdk/bin/kubectl.1.*); \
         install Debian's kubernetes-client package"
            .to_string()
    })
}

/// One kubectl run with an isolated HOME (its discovery cache) and the cluster's kubeconfig;
/// returns the wall time in ms and stdout. Blocking: call it off the cluster's runtime.
fn run_kubectl(
    kubectl: &Path,
    home: &Path,
    kubeconfig: &Path,
    args: &[&str],
) -> Result<(f64, String), String> {
    let t0 = Instant::now();
    let out = Command::new(kubectl)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("KUBECONFIG", kubeconfig)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", kubectl.display()))?;
    let took = ms(t0.elapsed());
    if !out.status.success() {
        return Err(format!(
            "`kubectl {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// Pods in the cluster `kubectl get pods -A` lists: about one mission's worth.
const KUBECTL_PODS: usize = 10;

/// `kubectl.get_pods_ratio`: `kubectl get pods -A` against the embedded cluster over
/// `kubectl version --client`, which starts the same binary and contacts nothing. Runs
/// alternate so drift on the machine hits both sides alike; one warm-up run of each (kubectl
/// caches discovery in HOME) is not counted.
pub async fn kubectl_ratio(sizes: &Sizes) -> Result<Figure, String> {
    let kubectl = find_kubectl()?;
    let dir = scratch()?;
    let kubeconfig = dir.path().join("kubeconfig");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).map_err(|e| format!("cannot create a HOME: {e}"))?;
    let cluster = Cluster::start(ClusterConfig {
        kubeconfig_path: Some(kubeconfig.clone()),
        // `get pods -A` lists the seeded pods only.
        kube_system: false,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("the embedded cluster does not start: {e}"))?;
    super::pods::seed(cluster.store(), 1, KUBECTL_PODS)?;

    let reps = sizes.reps;
    let kc = kubectl.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let (_, version) = run_kubectl(&kc, &home, &kubeconfig, &["version", "--client"])?;
        let (_, listed) = run_kubectl(&kc, &home, &kubeconfig, &["get", "pods", "-A"])?;
        let rows = listed.lines().count().saturating_sub(1);
        if rows != KUBECTL_PODS {
            return Err(format!(
                "kubectl get pods -A listed {rows} pods, expected {KUBECTL_PODS}:\n{listed}"
            ));
        }
        let (mut get, mut floor) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            floor.push(run_kubectl(&kc, &home, &kubeconfig, &["version", "--client"])?.0);
            get.push(run_kubectl(&kc, &home, &kubeconfig, &["get", "pods", "-A"])?.0);
        }
        let version = version
            .lines()
            .find_map(|l| l.strip_prefix("Client Version: "))
            .unwrap_or("unknown version")
            .to_string();
        Ok((median(&get), median(&floor), version))
    })
    .await
    .map_err(|e| format!("the kubectl runs panicked: {e}"))?;
    cluster.shutdown().await;
    let (get, floor, version) = result?;
    Ok(Figure::new(
        "kubectl.get_pods_ratio",
        get / floor,
        "x",
        format!(
            "`get pods -A` ({KUBECTL_PODS} pods) {get:.1} ms / `version --client` {floor:.1} ms \
             (medians of {reps} each; kubectl {version} at {})",
            kubectl.display()
        ),
    )
    .target(Op::AtMost, 1.2))
}

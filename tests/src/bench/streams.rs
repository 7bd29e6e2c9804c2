//! Streaming figures: what stepping into a container costs next to an ordinary API call, on a
//! running cluster with the kubelet and the pod network.
//!
//! * `streams.exec_roundtrip_ratio`: one `exec -- echo hi` through the `kube` crate's
//!   WebSocket client (upgrade, the v5 channel protocol, the process, the status and close),
//!   median over the run, divided by the median plain `GET` of a pod in the same run.
//! * `streams.port_forward_throughput_ratio`: bytes per second of nginx's page fetched through
//!   a fresh port-forward (the kubelet's WebSocket protocol, as kube-rs speaks it) divided by
//!   the bytes per second of plain pod `GET`s in the same run.
//! * `streams.port_forward_sustained_ratio`: the same page fetched many times over one
//!   forwarded connection (HTTP/1.1 keep-alive, requests pipelined, the last one closing), so
//!   the tunnel's own throughput shows rather than the cost of opening it, against the same
//!   GETs.
//!
//! Both sides of each ratio are printed in `detail`. No targets are stated yet: the figures
//! are recorded so a regression shows.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kq_sim::{Cluster, ClusterConfig};
use kube::api::{Api, AttachParams, PostParams};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Figure, Sizes, kube_client, median, ms, progress, scratch};

/// The figures this group produces, for `--only`.
pub const FIGURES: &[&str] = &[
    "streams.exec_roundtrip_ratio",
    "streams.port_forward_throughput_ratio",
    "streams.port_forward_sustained_ratio",
];

/// How long a bench pod may take to become ready.
const READY_LIMIT: Duration = Duration::from_secs(60);

fn pod(name: &str, image: &str, command: Option<&[&str]>) -> Result<Pod, String> {
    let mut c = json!({"name": "c", "image": image});
    if let Some(cmd) = command {
        c["command"] = json!(cmd);
    }
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [c]},
    }))
    .map_err(|e| format!("bench pod {name}: {e}"))
}

async fn wait_ready(pods: &Api<Pod>, name: &str) -> Result<(), String> {
    let deadline = Instant::now() + READY_LIMIT;
    loop {
        let p = pods
            .get(name)
            .await
            .map_err(|e| format!("GET pod {name}: {e}"))?;
        let ready = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("pod {name} not ready after {READY_LIMIT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a cluster with a busybox and an nginx pod, then measures both ratios.
pub async fn figures(sizes: &Sizes) -> Result<Vec<Figure>, String> {
    let dir = scratch()?;
    let cluster = Cluster::start(ClusterConfig {
        kubeconfig_path: Some(dir.path().join("kubeconfig")),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("the embedded cluster does not start: {e}"))?;
    let client = kube_client(&cluster).await?;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pp = PostParams::default();
    pods.create(&pp, &pod("bb", "busybox", Some(&["sleep", "3600"]))?)
        .await
        .map_err(|e| format!("create bb: {e}"))?;
    pods.create(&pp, &pod("web", "nginx:1.27", None)?)
        .await
        .map_err(|e| format!("create web: {e}"))?;
    wait_ready(&pods, "bb").await?;
    wait_ready(&pods, "web").await?;
    let n = if sizes.quick { 5 } else { 50 };

    progress(format!("{n} plain pod GETs"));
    let (mut gets, mut get_bytes) = (Vec::new(), 0usize);
    for _ in 0..n {
        let t = Instant::now();
        let p = pods.get("bb").await.map_err(|e| format!("GET bb: {e}"))?;
        gets.push(ms(t.elapsed()));
        get_bytes += serde_json::to_vec(&p).map(|b| b.len()).unwrap_or(0);
    }
    let get_ms = median(&gets);
    let get_total_s: f64 = gets.iter().sum::<f64>() / 1000.0;

    progress(format!("{n} exec round trips"));
    let mut execs = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let ap = AttachParams::default().stdout(true).stderr(false);
        let mut proc = pods
            .exec("bb", ["echo", "hi"], &ap)
            .await
            .map_err(|e| format!("exec: {e}"))?;
        let mut out = String::new();
        if let Some(mut stdout) = proc.stdout() {
            stdout
                .read_to_string(&mut out)
                .await
                .map_err(|e| format!("exec stdout: {e}"))?;
        }
        proc.join().await.map_err(|e| format!("exec end: {e}"))?;
        if out != "hi\n" {
            return Err(format!("exec printed {out:?}, not \"hi\\n\""));
        }
        execs.push(ms(t.elapsed()));
    }
    let exec_ms = median(&execs);

    progress(format!("{n} port-forwarded page fetches"));
    let (mut pf_bytes, t_pf) = (0usize, Instant::now());
    for _ in 0..n {
        let mut pf = pods
            .portforward("web", &[80])
            .await
            .map_err(|e| format!("port-forward: {e}"))?;
        let mut s = pf
            .take_stream(80)
            .ok_or("port-forward gave no stream for port 80")?;
        s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await
            .map_err(|e| format!("port-forward write: {e}"))?;
        let mut page = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut page))
            .await
            .map_err(|_| "port-forward read timed out".to_string())?
            .map_err(|e| format!("port-forward read: {e}"))?;
        if !page.starts_with(b"HTTP/1.1 200") {
            return Err(format!(
                "nginx answered {:?}",
                String::from_utf8_lossy(&page[..page.len().min(80)])
            ));
        }
        pf_bytes += page.len();
        drop(s);
        pf.abort();
    }
    let pf_s = t_pf.elapsed().as_secs_f64();

    let fetches = n * 40;
    progress(format!(
        "{fetches} page fetches over one forwarded connection"
    ));
    let t_keep = Instant::now();
    let mut pf = pods
        .portforward("web", &[80])
        .await
        .map_err(|e| format!("port-forward: {e}"))?;
    let mut s = pf
        .take_stream(80)
        .ok_or("port-forward gave no stream for port 80")?;
    let mut requests = Vec::new();
    for i in 0..fetches {
        let close = if i + 1 == fetches {
            "Connection: close\r\n"
        } else {
            ""
        };
        requests.extend_from_slice(
            format!("GET / HTTP/1.1\r\nHost: localhost\r\n{close}\r\n").as_bytes(),
        );
    }
    s.write_all(&requests)
        .await
        .map_err(|e| format!("port-forward write: {e}"))?;
    let mut answers = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut answers))
        .await
        .map_err(|_| "pipelined port-forward read timed out".to_string())?
        .map_err(|e| format!("port-forward read: {e}"))?;
    let keep_s = t_keep.elapsed().as_secs_f64();
    let pages = answers
        .windows(b"HTTP/1.1 200 OK".len())
        .filter(|w| *w == b"HTTP/1.1 200 OK")
        .count();
    if pages != fetches {
        return Err(format!(
            "one forwarded connection answered {pages} of {fetches} pipelined requests"
        ));
    }
    drop(s);
    pf.abort();
    cluster.shutdown().await;

    let get_rate = get_bytes as f64 / get_total_s.max(1e-9);
    let pf_rate = pf_bytes as f64 / pf_s.max(1e-9);
    let keep_rate = answers.len() as f64 / keep_s.max(1e-9);
    Ok(vec![
        Figure::new(
            "streams.exec_roundtrip_ratio",
            exec_ms / get_ms.max(1e-9),
            "x",
            format!(
                "median exec `echo hi` (kube ws client, v5) {exec_ms:.2} ms / median pod GET {get_ms:.2} ms; {n} each"
            ),
        ),
        Figure::new(
            "streams.port_forward_throughput_ratio",
            pf_rate / get_rate.max(1e-9),
            "x",
            format!(
                "port-forward {:.1} KB/s ({pf_bytes} B of nginx pages in {pf_s:.2} s, one forward per fetch) / pod GET {:.1} KB/s ({get_bytes} B in {get_total_s:.2} s); {n} each",
                pf_rate / 1024.0,
                get_rate / 1024.0
            ),
        ),
        Figure::new(
            "streams.port_forward_sustained_ratio",
            keep_rate / get_rate.max(1e-9),
            "x",
            format!(
                "port-forward {:.1} KB/s ({} B, {fetches} pipelined fetches over one connection in {keep_s:.2} s) / pod GET {:.1} KB/s ({get_bytes} B in {get_total_s:.2} s)",
                keep_rate / 1024.0,
                answers.len(),
                get_rate / 1024.0
            ),
        ),
    ])
}

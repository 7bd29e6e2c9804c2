//! The engine's reaction time: from a change written in the cluster to the pipeline change the
//! UI receives.
//!
//! One pod in one namespace, watched exactly as a mission session watches it (the kube-runtime
//! watcher over pods and events feeding a `PipelineTracker`). Each round writes one status
//! change (the container flips between ErrImagePull and ImagePullBackOff) and waits for the
//! pipeline change it causes before writing the next, so no change queues behind another. The
//! latency is measured from just before the write to the moment the tracker emitted the
//! change; the tracker's own share (its `apply`) is reported beside it.

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateWaiting, ContainerStatus, Pod, PodStatus,
};
use kq_engine::pipeline::{PipelineTracker, WatchInput, watch_namespace};
use kq_sim::{Cluster, ClusterConfig};
use tokio::sync::mpsc;

use super::{Figure, Op, Sizes, kube_client, median, ms, percentile, progress, scratch};

/// The figures this group prints.
pub const FIGURES: &[&str] = &[
    "engine.pipeline_change_p50_ms",
    "engine.pipeline_change_p99_ms",
];

const NS: &str = "bench-engine";

fn waiting(reason: &str) -> PodStatus {
    PodStatus {
        phase: Some("Pending".into()),
        container_statuses: Some(vec![ContainerStatus {
            name: "web".into(),
            image: "nginx:nonexistent".into(),
            image_id: String::new(),
            ready: false,
            restart_count: 0,
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.into()),
                    message: Some(format!("{reason} for the benchmark")),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

async fn next(
    rx: &mut mpsc::UnboundedReceiver<(Instant, Duration)>,
) -> Result<(Instant, Duration), String> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .map_err(|_| "no pipeline change within 10 s of a cluster change".to_string())?
        .ok_or_else(|| "the session's watcher stopped".to_string())
}

/// `engine.pipeline_change_p50_ms` and `engine.pipeline_change_p99_ms`.
pub async fn pipeline_latency(sizes: &Sizes) -> Result<Vec<Figure>, String> {
    let dir = scratch()?;
    let cluster = Cluster::start(ClusterConfig {
        kubeconfig_path: Some(dir.path().join("kubeconfig")),
        // The benchmark plays the node, so every change is its own.
        controllers: false,
        ..ClusterConfig::default()
    })
    .await
    .map_err(|e| format!("the embedded cluster did not start: {e}"))?;
    let store = cluster.store().clone();
    store
        .create_typed(
            "",
            &serde_json::from_value::<k8s_openapi::api::core::v1::Namespace>(
                serde_json::json!({"metadata": {"name": NS}}),
            )
            .map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("cannot create the namespace: {e}"))?;
    store
        .create_typed(NS, &super::pods::pod("web", "web"))
        .map_err(|e| format!("cannot create the pod: {e}"))?;

    let client = kube_client(&cluster).await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Duration)>();
    let clock = cluster.clock().clone();
    let watcher = tokio::spawn(async move {
        let mut tracker = PipelineTracker::new();
        let mut inputs = Box::pin(watch_namespace(client, NS));
        while let Some(item) = inputs.next().await {
            let WatchInput::Input(input) = item else {
                continue;
            };
            let started = Instant::now();
            let changes = tracker.apply(input, clock.now());
            let apply = started.elapsed();
            if !changes.is_empty() && tx.send((Instant::now(), apply)).is_err() {
                return;
            }
        }
    });
    // The initial list.
    next(&mut rx).await?;

    let rounds = sizes.changes.clamp(20, 500);
    progress(format!("engine: {rounds} cluster changes, one at a time"));
    let (mut latencies, mut applies) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let reason = if i % 2 == 0 {
            "ErrImagePull"
        } else {
            "ImagePullBackOff"
        };
        let before = Instant::now();
        store
            .update_status::<Pod>(NS, "web", |p| p.status = Some(waiting(reason)))
            .map_err(|e| format!("cannot write the pod status: {e}"))?;
        // Events about the pod can yield extra changes; drain until the pipeline has moved.
        let (at, apply) = next(&mut rx).await?;
        latencies.push(ms(at.duration_since(before)));
        applies.push(ms(apply));
        while let Ok(extra) = rx.try_recv() {
            applies.push(ms(extra.1));
        }
    }
    watcher.abort();
    cluster.shutdown().await;
    let detail = |p: f64| {
        format!(
            "{rounds} status writes, each awaited: write → API watch → kube-runtime watcher → PipelineTracker; tracker.apply p{p} {:.3} ms",
            percentile(&applies, p)
        )
    };
    Ok(vec![
        Figure::new(
            "engine.pipeline_change_p50_ms",
            median(&latencies),
            "ms",
            detail(50.0),
        ),
        Figure::new(
            "engine.pipeline_change_p99_ms",
            percentile(&latencies, 99.0),
            "ms",
            detail(99.0),
        )
        .target(Op::AtMost, 5.0),
    ])
}

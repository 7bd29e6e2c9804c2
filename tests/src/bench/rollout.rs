//! The rollout figures: how long the embedded cluster takes, in wall time on a paused virtual
//! clock, to roll a 100-replica Deployment out to a new image (every pod of the new
//! ReplicaSet scheduled, pulled, started and Ready, every old pod terminated, the Deployment
//! at NewReplicaSetAvailable), and how much memory each replica costs once it runs.
//!
//! The clock is paused and moved a virtual second at a time, so the figure is the cost of the
//! controllers, the scheduler, the kubelets and the store doing the work, not of waiting for
//! simulated pull or start times. Memory is the process's resident set growth from before the
//! Deployment exists to after its first rollout, divided by the replicas: what the pods, their
//! ReplicaSet, events and watch history take (freed memory the allocator reuses can hide some).

use std::time::Instant;

use kq_sim::store::{PatchKind, WriteOptions};
use kq_sim::{Cluster, ClusterConfig, RunningCluster, kinds};
use serde_json::{Value, json};

use super::{Figure, Op, Sizes, median, ms, progress, rss_bytes, scratch};

/// The figures this group produces, for `--only`.
pub const FIGURES: &[&str] = &[
    "rollout.new_image_100_replicas_ms",
    "rollout.kb_per_replica",
];

fn replicas(sizes: &Sizes) -> i64 {
    if sizes.quick { 10 } else { 100 }
}

fn deployment(replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]},
            },
        },
    })
}

/// Is the Deployment rolled out to its current template with every replica available?
fn rolled_out(cluster: &RunningCluster, replicas: i64) -> bool {
    let Some(d) = cluster
        .store()
        .get_raw(&kinds::deployment::KIND, "default", "web")
    else {
        return false;
    };
    let n = |p: &str| d.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let complete = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["reason"] == "NewReplicaSetAvailable");
    n("/status/updatedReplicas") == replicas
        && n("/status/replicas") == replicas
        && n("/status/availableReplicas") == replicas
        && n("/status/observedGeneration") == n("/metadata/generation")
        && complete
}

/// Move virtual time a second at a time until the rollout is done; returns the virtual
/// seconds it took.
fn advance_until_rolled_out(cluster: &RunningCluster, replicas: i64) -> Result<u64, String> {
    for s in 0..=3600 {
        if rolled_out(cluster, replicas) {
            return Ok(s);
        }
        cluster.advance(std::time::Duration::from_secs(1));
    }
    Err(format!(
        "a {replicas}-replica Deployment did not roll out within an hour of virtual time"
    ))
}

/// One run: start a paused cluster, roll out the first template (measuring memory), then
/// time the rollout to a new image. Returns (wall ms, virtual s, bytes grown).
fn one_run(cluster: &RunningCluster, replicas: i64) -> Result<(f64, u64, u64), String> {
    let store = cluster.store();
    let before = rss_bytes()?;
    store
        .create(
            &kinds::deployment::KIND,
            "default",
            deployment(replicas),
            &WriteOptions::default(),
        )
        .map_err(|e| format!("the bench Deployment is refused: {e}"))?;
    advance_until_rolled_out(cluster, replicas)?;
    let grown = rss_bytes()?.saturating_sub(before);
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "image": "nginx:1.27"}
    ]}}}});
    let body = serde_json::to_vec(&patch).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    store
        .patch(
            &kinds::deployment::KIND,
            "default",
            "web",
            &body,
            PatchKind::Merge,
            &WriteOptions::default(),
            false,
        )
        .map_err(|e| format!("the image change is refused: {e}"))?;
    let virtual_s = advance_until_rolled_out(cluster, replicas)?;
    Ok((ms(t0.elapsed()), virtual_s, grown))
}

/// `rollout.new_image_100_replicas_ms` and `rollout.kb_per_replica`.
pub async fn figures(sizes: &Sizes) -> Result<Vec<Figure>, String> {
    let n = replicas(sizes);
    let reps = if sizes.quick { 1 } else { 3 };
    let (mut walls, mut virtuals, mut per_replica) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let dir = scratch()?;
        let cluster = Cluster::start(ClusterConfig {
            speed: 0.0,
            kubeconfig_path: Some(dir.path().join("kubeconfig")),
            // The node's 110 pods and the memory measured are the Deployment's alone: no
            // control-plane pods starting on the first advance.
            kube_system: false,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("the embedded cluster does not start: {e}"))?;
        let run = tokio::task::block_in_place(|| one_run(&cluster, n));
        cluster.shutdown().await;
        let (wall, virtual_s, grown) = run?;
        progress(format!(
            "{n}-replica rollout to a new image: {wall:.0} ms wall, {virtual_s} s virtual"
        ));
        walls.push(wall);
        virtuals.push(virtual_s as f64);
        per_replica.push(grown as f64 / n as f64 / 1024.0);
    }
    let wall = median(&walls);
    let kb = median(&per_replica);
    Ok(vec![
        Figure::new(
            "rollout.new_image_100_replicas_ms",
            wall,
            "ms",
            format!(
                "{n} replicas, nginx:1.26 → nginx:1.27 with the default 25%/25% RollingUpdate \
                 on a paused clock advanced 1 s at a time: {:.0} s of virtual time each \
                 (median of {reps} runs)",
                median(&virtuals)
            ),
        )
        .target(Op::AtMost, 30_000.0),
        Figure::new(
            "rollout.kb_per_replica",
            kb,
            "KB",
            format!(
                "resident set growth over the first rollout of {n} running replicas \
                 ({:.1} MB in all; median of {reps} runs)",
                kb * n as f64 / 1024.0
            ),
        )
        .target(Op::AtMost, 512.0),
    ])
}

//! The rollout figures: how long the embedded cluster takes, in wall time on a paused virtual
//! clock, to roll a 100-replica and a 1,000-replica Deployment out to a new image (every pod
//! of the new ReplicaSet scheduled, pulled, started and Ready, every old pod terminated, the
//! Deployment at NewReplicaSetAvailable), how much memory each replica costs once it runs,
//! and how the wall time grows from the small Deployment to the large one.
//!
//! The clock is paused and moved a virtual second at a time, so the figure is the cost of the
//! controllers, the scheduler, the kubelets and the store doing the work, not of waiting for
//! simulated pull or start times. Memory is the process's resident set growth from before the
//! Deployment exists to after its first rollout, divided by the replicas: what the pods, their
//! ReplicaSet, events, watch history and the controllers' caches take. In a full run the group
//! has a kq-bench process of its own, and the largest growth of the runs is reported: pages an
//! earlier run freed can only hide growth, so the largest is an upper bound, one-time costs of
//! the process's first cluster included.

use std::time::Instant;

use kq_sim::store::{PatchKind, WriteOptions};
use kq_sim::{Cluster, ClusterConfig, RunningCluster, kinds};
use serde_json::{Value, json};

use super::{Figure, Op, Sizes, median, ms, progress, rss_bytes, scratch};

/// The figures this group produces, for `--only`.
pub const FIGURES: &[&str] = &[
    "rollout.new_image_100_replicas_ms",
    "rollout.new_image_1000_replicas_ms",
    "rollout.kb_per_replica",
    "rollout.kb_per_replica_1000",
    "rollout.growth_1000_vs_100",
];

/// Replicas per node at both sizes, so the large run is the small one ten times over rather
/// than the same node packed ten times as full (a node holds 110 pods; the rollout's 25%
/// surge needs room beyond the replicas, which the kubelets' terminations make).
const REPLICAS_PER_NODE: i64 = 100;

/// The small and the large Deployment: 100 and 1,000 replicas (10 and 100 in quick runs).
fn replica_sizes(sizes: &Sizes) -> (i64, i64) {
    if sizes.quick { (10, 100) } else { (100, 1000) }
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

/// One size's runs: the median wall and virtual time, and the largest memory growth.
struct Measured {
    replicas: i64,
    nodes: usize,
    reps: usize,
    wall_ms: f64,
    virtual_s: f64,
    kb_per_replica: f64,
}

/// `reps` runs of a `replicas`-replica rollout, each on a fresh paused cluster with one
/// node per [`REPLICAS_PER_NODE`] replicas.
async fn measure(replicas: i64, reps: usize) -> Result<Measured, String> {
    let node_count = (replicas as usize).div_ceil(REPLICAS_PER_NODE as usize);
    let (mut walls, mut virtuals, mut per_replica) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let dir = scratch()?;
        let cluster = Cluster::start(ClusterConfig {
            speed: 0.0,
            kubeconfig_path: Some(dir.path().join("kubeconfig")),
            nodes: kq_sim::numbered_nodes(node_count, "bench-node"),
            // The nodes' pods and the memory measured are the Deployment's alone: no
            // control-plane pods starting on the first advance.
            kube_system: false,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("the embedded cluster does not start: {e}"))?;
        let run = tokio::task::block_in_place(|| one_run(&cluster, replicas));
        cluster.shutdown().await;
        let (wall, virtual_s, grown) = run?;
        progress(format!(
            "{replicas}-replica rollout to a new image on {node_count} node(s): \
             {wall:.0} ms wall, {virtual_s} s virtual"
        ));
        walls.push(wall);
        virtuals.push(virtual_s as f64);
        per_replica.push(grown as f64 / replicas as f64 / 1024.0);
    }
    Ok(Measured {
        replicas,
        nodes: node_count,
        reps,
        wall_ms: median(&walls),
        virtual_s: median(&virtuals),
        // Pages an earlier run freed can only hide growth, never add to it: the largest is
        // the least hidden.
        kb_per_replica: per_replica.iter().copied().fold(0.0, f64::max),
    })
}

fn wall_detail(m: &Measured) -> String {
    format!(
        "{} replicas on {} node(s), nginx:1.26 → nginx:1.27 with the default 25%/25% \
         RollingUpdate on a paused clock advanced 1 s at a time: {:.0} s of virtual time each \
         (median of {} run(s))",
        m.replicas, m.nodes, m.virtual_s, m.reps
    )
}

fn memory_detail(m: &Measured) -> String {
    format!(
        "resident set growth over the first rollout of {} running replicas on {} node(s) \
         ({:.1} MB in all; the largest of {} run(s), an upper bound)",
        m.replicas,
        m.nodes,
        m.kb_per_replica * m.replicas as f64 / 1024.0,
        m.reps
    )
}

/// The wall time and memory of a rollout at 100 and at 1,000 replicas (10 and 100 in quick
/// runs), and how the wall time grows between them.
pub async fn figures(sizes: &Sizes) -> Result<Vec<Figure>, String> {
    let (small_n, large_n) = replica_sizes(sizes);
    // The large run takes ten times the small one's work; three of each in a full run stay
    // within the group's time.
    let reps = if sizes.quick { 1 } else { 3 };
    let small = measure(small_n, reps).await?;
    let large = measure(large_n, reps).await?;
    let growth = if small.wall_ms > 0.0 {
        large.wall_ms / small.wall_ms
    } else {
        0.0
    };
    let ratio = large_n / small_n;
    Ok(vec![
        Figure::new(
            "rollout.new_image_100_replicas_ms",
            small.wall_ms,
            "ms",
            wall_detail(&small),
        )
        .target(Op::AtMost, 30_000.0),
        Figure::new(
            "rollout.new_image_1000_replicas_ms",
            large.wall_ms,
            "ms",
            wall_detail(&large),
        ),
        Figure::new(
            "rollout.kb_per_replica",
            small.kb_per_replica,
            "KB",
            memory_detail(&small),
        )
        .target(Op::AtMost, 512.0),
        Figure::new(
            "rollout.kb_per_replica_1000",
            large.kb_per_replica,
            "KB",
            memory_detail(&large),
        )
        .target(Op::AtMost, 512.0),
        Figure::new(
            "rollout.growth_1000_vs_100",
            growth,
            "x",
            format!(
                "wall time of the {large_n}-replica rollout ({:.0} ms) over the \
                 {small_n}-replica one ({:.0} ms), both at {REPLICAS_PER_NODE} replicas per \
                 node and measured in this run: {ratio}x the replicas, so linear growth is \
                 {ratio}x; the target allows {ratio}x with 20% for noise",
                large.wall_ms, small.wall_ms
            ),
        )
        .target(Op::AtMost, ratio as f64 * 1.2),
    ])
}

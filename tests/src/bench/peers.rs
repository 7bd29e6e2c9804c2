//! Reference rows: the published start time and memory of the local clusters a learner would
//! otherwise install, printed in the same table as KubeQuest's own figures so a reader can set
//! them side by side. Nothing here is measured on this machine (none of them runs without
//! Docker or a system service, and the benchmark runs offline); each row names its source, its
//! version and the machine it was measured on, and the KubeQuest figure it compares with.

use super::Figure;

/// The figures this group produces, for `--only`.
pub const FIGURES: &[&str] = &[
    "peer.kind_create_cluster_s",
    "peer.kwok_first_request_s",
    "peer.k3s_server_ram_mb",
];

/// The reference rows; the same in quick and full runs.
pub fn figures() -> Vec<Figure> {
    vec![
        Figure::new(
            "peer.kind_create_cluster_s",
            17.1,
            "s",
            "published, not measured here: `kind create cluster` (one node, in Docker) took \
             17.1 s with kind v0.14.0 and 12.5 s with v0.12.0 on an Ubuntu 22.04 machine \
             (github.com/kubernetes-sigs/kind/issues/2893); compare \
             cluster.start_to_first_request_ms"
                .into(),
        ),
        Figure::new(
            "peer.kwok_first_request_s",
            5.0,
            "s",
            "published, not measured here: KWOK's all-in-one image \
             (registry.k8s.io/kwok/cluster:v1.26.0, in Docker) answered its first \
             `kubectl get service` about 5 s after `docker run` on an Intel i7 \
             (github.com/kubernetes-sigs/kwok/issues/335); compare \
             cluster.start_to_first_request_ms"
                .into(),
        ),
        Figure::new(
            "peer.k3s_server_ram_mb",
            1596.0,
            "MB",
            "published, not measured here: minimum RAM of a K3s v1.26.5 server with a workload \
             (Kine/SQLite; 1606 MB with embedded etcd) on an Intel 8375C \
             (docs.k3s.io/reference/resource-profiling); compare desktop.idle_rss_mb (the \
             whole app, its cluster inside) and class.rss_mb_30_learners"
                .into(),
        ),
    ]
}

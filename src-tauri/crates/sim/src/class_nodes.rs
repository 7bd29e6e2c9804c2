//! The class server's nodes: a class served from KubeQuest's embedded cluster gets enough
//! default-sized nodes for its learners' pods (`kq classroom serve` and the desktop app's
//! Classroom both start it with [`class_nodes`]).

use crate::NodeTemplate;

/// Learners per node of the class server: each learner has at most a few pods running at
/// once, and a node of the default size (2 CPU, ~4 GiB) carries four learners' pods.
pub const LEARNERS_PER_NODE: usize = 4;

/// The class server's nodes: `node-1` and `class-node-2`, `class-node-3`, … of the default
/// size, so that each carries at most [`LEARNERS_PER_NODE`] learners. The sizes stay the
/// default so the missions about scheduling show the same symptoms as on a learner's own
/// embedded cluster.
pub fn class_nodes(learners: usize) -> Vec<NodeTemplate> {
    numbered_nodes(learners.div_ceil(LEARNERS_PER_NODE), "class-node")
}

/// `count` nodes (at least one) of the default size: `node-1`, then `<prefix>-2`,
/// `<prefix>-3`, …, each with its own address and pod range.
pub fn numbered_nodes(count: usize, prefix: &str) -> Vec<NodeTemplate> {
    (1..=count.max(1))
        .map(|k| {
            if k == 1 {
                NodeTemplate::default()
            } else {
                NodeTemplate {
                    name: format!("{prefix}-{k}"),
                    internal_ip: format!("192.168.49.{}", k + 1),
                    pod_cidr: format!("10.244.{}.0/24", k - 1),
                    ..NodeTemplate::default()
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_gets_one_default_sized_node_per_four_learners() {
        let names =
            |n: usize| -> Vec<String> { class_nodes(n).into_iter().map(|t| t.name).collect() };
        assert_eq!(names(1), ["node-1"]);
        assert_eq!(names(4), ["node-1"]);
        assert_eq!(names(5), ["node-1", "class-node-2"]);
        assert_eq!(names(30).len(), 8);
        let nodes = class_nodes(30);
        let mut ips: Vec<&str> = nodes.iter().map(|n| n.internal_ip.as_str()).collect();
        ips.dedup();
        assert_eq!(ips.len(), 8, "each node its own address");
        let default = NodeTemplate::default();
        assert!(
            nodes
                .iter()
                .all(|n| n.cpu == default.cpu && n.memory == default.memory && n.taints.is_empty()),
            "the pending-cpu mission's pod must fit on no class node"
        );
    }
}

//! The engine's "what the scheduler saw" table against the embedded scheduler: on a three-node
//! cluster (a tainted control plane and two workers), pods the scheduler refuses, the Node and
//! Pod objects read through a kube client as the app reads them, and the table's per-node
//! verdicts checked against the FailedScheduling event the scheduler emitted.

use k8s_openapi::api::core::v1::{Event, Pod};
use kq_engine::graph::scheduling::{UNKNOWN_FILTER, read_nodes_and_pods, scheduling_view};
use kq_engine::graph::{SchedulingSource, SchedulingView};
use kq_sim::ClusterConfig;
use kq_tests::cluster::{TestCluster, kube_client, kube_config};
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

fn three_nodes() -> TestCluster {
    TestCluster::start_with(ClusterConfig {
        speed: 0.0,
        nodes: kq_tests::cluster::three_kind_nodes(),
        kube_system: false,
        ..ClusterConfig::default()
    })
}

fn pod(name: &str, spec: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}});
    for (k, v) in spec.as_object().expect("a spec object") {
        p["spec"][k] = v.clone();
    }
    p
}

/// The FailedScheduling message the scheduler emitted for `name`, read as the app reads it.
async fn failed_scheduling(client: &kube::Client, name: &str) -> String {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default()).await.expect("events");
    list.items
        .into_iter()
        .find(|e| {
            e.reason.as_deref() == Some("FailedScheduling")
                && e.involved_object.name.as_deref() == Some(name)
        })
        .and_then(|e| e.message)
        .unwrap_or_else(|| panic!("a FailedScheduling event for {name}"))
}

/// `N <reason>` from the FitError's per-node reasons, 0 when absent.
fn count_in(message: &str, reason: &str) -> usize {
    let reasons = message
        .split_once("nodes are available: ")
        .and_then(|(_, r)| r.split_once(". preemption: "))
        .map(|(r, _)| r)
        .expect("a FitError");
    reasons
        .split(", ")
        .filter_map(|part| part.split_once(' '))
        .filter(|(_, r)| *r == reason)
        .map(|(n, _)| n.parse::<usize>().expect("a count"))
        .sum()
}

/// Nodes whose first failing filter (the one kube-scheduler reports) is `filter`.
fn first_failing(view: &SchedulingView, filter: &str) -> usize {
    view.nodes
        .iter()
        .filter(|n| {
            n.filters
                .iter()
                .find(|f| !f.passed)
                .map(|f| f.filter.as_str())
                == Some(filter)
        })
        .count()
}

fn verdict<'a>(
    view: &'a SchedulingView,
    node: &str,
    filter: &str,
) -> &'a kq_engine::graph::FilterVerdict {
    view.nodes
        .iter()
        .find(|n| n.node == node)
        .and_then(|n| n.filters.iter().find(|f| f.filter == filter))
        .unwrap_or_else(|| panic!("a {filter} verdict on {node}: {view:#?}"))
}

/// The table and the scheduler agree: the message is carried, nothing was left to reconcile
/// (no `Unknown` row, no verdict the message does not mention), and no node fits.
fn agrees(view: &SchedulingView, message: &str, without: &SchedulingView) {
    assert_eq!(view.message.as_deref(), Some(message));
    assert_eq!(view.nodes, without.nodes, "the FitError changed nothing");
    assert!(view.nodes.iter().all(|n| !n.fits), "{view:#?}");
    for n in &view.nodes {
        assert!(
            n.filters.iter().all(|f| f.filter != UNKNOWN_FILTER
                && !f.detail.contains("not in the scheduler's message")),
            "{n:#?}"
        );
    }
}

#[test]
fn the_table_agrees_with_the_embedded_schedulers_fit_error() {
    let tc = three_nodes();
    // Something already placed on worker-1, so the usage the table sums matters.
    tc.create(
        "default",
        pod(
            "filler",
            json!({"nodeName": "worker-1", "containers": [{"name": "app", "image": "nginx:1.27",
                "resources": {"requests": {"cpu": "500m"}}}]}),
        ),
    );
    tc.create(
        "default",
        pod(
            "big",
            json!({"containers": [{"name": "app", "image": "nginx:1.27",
                "resources": {"requests": {"cpu": "3"}}}]}),
        ),
    );
    tc.create(
        "default",
        pod("picky", json!({"nodeSelector": {"disk": "nvme"}})),
    );

    tc.block_on(async {
        let client = kube_client(tc.cluster()).await;
        let (nodes, pods) = read_nodes_and_pods(&client)
            .await
            .expect("the admin may list nodes and pods");
        assert_eq!(nodes.len(), 3);
        let pods_api: Api<Pod> = Api::namespaced(client.clone(), "default");

        // Too much cpu everywhere; the control plane refuses by its taint first.
        let big = pods_api.get("big").await.expect("the pod");
        let message = failed_scheduling(&client, "big").await;
        let view = scheduling_view(
            &big,
            &nodes,
            &pods,
            Some(&message),
            SchedulingSource::Filters,
        );
        let without = scheduling_view(&big, &nodes, &pods, None, SchedulingSource::Filters);
        agrees(&view, &message, &without);
        assert_eq!(
            first_failing(&view, "NodeResourcesFit"),
            count_in(&message, "Insufficient cpu"),
            "{message}\n{view:#?}"
        );
        assert_eq!(count_in(&message, "Insufficient cpu"), 2, "{message}");
        let taint = verdict(&view, "control-plane", "TaintToleration");
        assert!(!taint.passed);
        assert_eq!(
            taint.detail,
            "taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated"
        );
        assert_eq!(
            first_failing(&view, "TaintToleration"),
            count_in(
                &message,
                "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
            )
        );
        // The filler's request shows on worker-1's row.
        assert_eq!(
            verdict(&view, "worker-1", "NodeResourcesFit").detail,
            "cpu: requests 3, 1500m free of 2 allocatable"
        );
        assert_eq!(
            verdict(&view, "worker-2", "NodeResourcesFit").detail,
            "cpu: requests 3, 2 free of 2 allocatable"
        );

        // A nodeSelector no node matches.
        let picky = pods_api.get("picky").await.expect("the pod");
        let message = failed_scheduling(&client, "picky").await;
        let view = scheduling_view(
            &picky,
            &nodes,
            &pods,
            Some(&message),
            SchedulingSource::Filters,
        );
        let without = scheduling_view(&picky, &nodes, &pods, None, SchedulingSource::Filters);
        agrees(&view, &message, &without);
        assert_eq!(
            first_failing(&view, "NodeAffinity"),
            count_in(
                &message,
                "node(s) didn't match Pod's node affinity/selector"
            ),
            "{message}"
        );
        assert_eq!(
            verdict(&view, "worker-1", "NodeAffinity").detail,
            "nodeSelector disk=nvme, node has disk=hdd"
        );

        // The same event read as a real cluster's: the verdicts stand, the message with them.
        let real = scheduling_view(
            &picky,
            &nodes,
            &pods,
            Some(&message),
            SchedulingSource::FitError,
        );
        assert_eq!(real.source, SchedulingSource::FitError);
        assert_eq!(real.nodes, view.nodes);
    });
}

#[test]
fn without_the_right_to_list_nodes_there_is_no_table() {
    let tc = three_nodes();
    tc.block_on(async {
        // Without credentials the request is `system:anonymous`, which RBAC refuses.
        let mut cfg = kube_config(tc.cluster()).await;
        cfg.auth_info.token = None;
        let anonymous = kube::Client::try_from(cfg).expect("a client");
        assert!(read_nodes_and_pods(&anonymous).await.is_none());
    });
}

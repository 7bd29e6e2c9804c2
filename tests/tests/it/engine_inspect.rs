//! The app's "Run in container": `kq_engine::inspect::run_in_container` through the `kube`
//! crate's WebSocket exec against the embedded cluster, as the mission screen calls it.
//!
//! The cluster's clock is paused, so a pod starts at fixed virtual moments and a `sleep` never
//! ends on its own: the timeout case is decided by the engine's real-time bound alone.

use std::time::Duration;

use kq_engine::inspect::{ContainerOutput, ExecLimits, ExitStatus, InspectError, run_in_container};
use kq_tests::cluster::{TestCluster, kube_client};
use serde_json::{Value, json};

const NS: &str = "kq-inspect";

fn pod(name: &str, command: &[&str]) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": command}],
                 "restartPolicy": "Never", "terminationGracePeriodSeconds": 5}})
}

/// A paused cluster with the mission-like namespace (labelled as KubeQuest's), a running
/// busybox `web` and a `done` pod whose container has exited.
fn cluster() -> TestCluster {
    let tc = TestCluster::paused();
    tc.create(
        "",
        json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NS, "labels": {"app.kubernetes.io/managed-by": "kubequest"}}}),
    );
    tc.create(
        "",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
    );
    tc.create(NS, pod("web", &["sleep", "3600"]));
    tc.create(NS, pod("done", &["true"]));
    let mut other = pod("web", &["sleep", "3600"]);
    other["metadata"]["namespace"] = json!("other");
    tc.create("other", other);
    tc.cluster().advance(Duration::from_secs(30));
    tc
}

fn run(
    tc: &TestCluster,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    argv: &[&str],
    limits: ExecLimits,
) -> Result<ContainerOutput, InspectError> {
    tc.block_on(async {
        let client = kube_client(tc.cluster()).await;
        let argv = argv.iter().map(|s| (*s).to_owned()).collect();
        // The engine bounds itself; this outer bound only turns a hang into a failure.
        tokio::time::timeout(
            Duration::from_secs(30),
            run_in_container(&client, namespace, pod, container, argv, limits),
        )
        .await
        .expect("run_in_container ends within its own bound")
    })
}

fn ok(r: Result<ContainerOutput, InspectError>) -> ContainerOutput {
    r.unwrap_or_else(|e| panic!("the exec runs: {e}"))
}

#[test]
fn commands_run_in_the_mission_pod_with_output_exit_codes_and_bounds() {
    let tc = cluster();
    let limits = ExecLimits::default();

    // The pod's hostname file, as `kubectl exec -n kq-inspect web -- cat /etc/hostname`.
    let out = ok(run(&tc, NS, "web", None, &["cat", "/etc/hostname"], limits));
    assert_eq!(out.stdout, "web\n");
    assert_eq!(out.stderr, "");
    assert_eq!(out.exit, ExitStatus::Code { code: 0 });
    assert!(!out.stdout_truncated && !out.stderr_truncated);

    // Naming the container gives the same.
    let out = ok(run(
        &tc,
        NS,
        "web",
        Some("c"),
        &["cat", "/etc/hostname"],
        limits,
    ));
    assert_eq!(
        (out.stdout.as_str(), &out.exit),
        ("web\n", &ExitStatus::Code { code: 0 })
    );

    // A failing command: its stderr kept apart from stdout, and its exit code.
    let out = ok(run(&tc, NS, "web", None, &["ls", "/etc/config"], limits));
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "ls: /etc/config: No such file or directory\n");
    assert_eq!(out.exit, ExitStatus::Code { code: 1 });
    let out = ok(run(
        &tc,
        NS,
        "web",
        None,
        &["sh", "-c", "echo out; echo err >&2; exit 7"],
        limits,
    ));
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("out\n", "err\n")
    );
    assert_eq!(out.exit, ExitStatus::Code { code: 7 });

    // A binary the image lacks: the runtime's message, as the server sends it.
    let out = ok(run(&tc, NS, "web", None, &["bash"], limits));
    let ExitStatus::Failed { message } = &out.exit else {
        panic!("a failed exec, got {:?}", out.exit);
    };
    // containerd names each exec by a fresh 64-hex-digit id.
    let rest = message
        .strip_prefix(
            "Internal error occurred: error executing command in container: failed to exec in \
             container: failed to start exec \"",
        )
        .unwrap_or_else(|| panic!("the exec failure's text: {message}"));
    let (id, tail) = rest.split_at(64.min(rest.len()));
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{message}");
    assert_eq!(
        tail,
        "\": OCI runtime exec failed: exec failed: unable to start container process: exec: \
         \"bash\": executable file not found in $PATH: unknown"
    );
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));

    // Output past the cap is cut and says so.
    let small = ExecLimits {
        output_cap: 16,
        ..limits
    };
    let out = ok(run(&tc, NS, "web", None, &["sh", "-c", "seq 1 100"], small));
    assert_eq!(out.stdout, "1\n2\n3\n4\n5\n6\n7\n8\n");
    assert!(out.stdout_truncated);
    assert_eq!(out.exit, ExitStatus::Code { code: 0 });

    // A command that does not end is closed at the deadline (the paused clock never ends the
    // sleep), with what it printed until then.
    let quick = ExecLimits {
        timeout: Duration::from_secs(1),
        ..limits
    };
    let started = std::time::Instant::now();
    let out = ok(run(
        &tc,
        NS,
        "web",
        None,
        &["sh", "-c", "echo before; sleep 60"],
        quick,
    ));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.exit, ExitStatus::TimedOut { seconds: 1 });
    assert_eq!(out.stdout, "before\n");
}

#[test]
fn refusals_carry_the_servers_message() {
    let tc = cluster();
    let limits = ExecLimits::default();

    // A pod that does not exist: the API server's 404.
    match run(&tc, NS, "nope", None, &["cat", "/etc/hostname"], limits) {
        Err(InspectError::Refused { message }) => assert_eq!(message, "pods \"nope\" not found"),
        other => panic!("a refusal, got {other:?}"),
    }

    // A container that is not in the pod: kube-apiserver's streamLocation check.
    match run(
        &tc,
        NS,
        "web",
        Some("app"),
        &["cat", "/etc/hostname"],
        limits,
    ) {
        Err(InspectError::Refused { message }) => {
            assert_eq!(message, "container app is not valid for pod web");
        }
        other => panic!("a refusal, got {other:?}"),
    }

    // A container that has exited: the kubelet's refusal, which a WebSocket exec receives on
    // the error channel after the upgrade.
    let out = ok(run(
        &tc,
        NS,
        "done",
        None,
        &["cat", "/etc/hostname"],
        limits,
    ));
    assert_eq!(
        out.exit,
        ExitStatus::Failed {
            message: "Internal error occurred: unable to upgrade connection: container not \
                      found (\"c\")"
                .into()
        }
    );

    // A namespace KubeQuest did not create is never reached, even if the pod is there.
    match run(&tc, "other", "web", None, &["cat", "/etc/hostname"], limits) {
        Err(InspectError::NotOurs { namespace }) => assert_eq!(namespace, "other"),
        other => panic!("refused as not ours, got {other:?}"),
    }

    // No command at all.
    assert!(matches!(
        run(&tc, NS, "web", None, &[], limits),
        Err(InspectError::NoCommand)
    ));
}

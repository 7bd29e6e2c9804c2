//! kube-system as a learner first sees it, and `kubectl debug`, on every kubectl on this machine.
//!
//! - `get pods -A` lists the control plane (the four static mirror pods, two CoreDNS replicas
//!   and kube-proxy) Running 1/1 with no restarts; `logs` of etcd and CoreDNS print their real
//!   start-up lines; `get svc kube-dns` shows 10.96.0.10 with its three ports.
//! - `kubectl debug POD --image=busybox -- CMD` (no `-i`): kubectl names the container
//!   (`Defaulting debug container name to debugger-xxxxx.`), PATCHes the `ephemeralcontainers`
//!   subresource, and the kubelet runs the container to its end (`Completed`) without touching
//!   the pod's readiness. A second debug sends the `$setElementOrder/ephemeralContainers`
//!   patch, with `--target`, and stays Running; `describe pod` lists both under
//!   `Ephemeral Containers:`.
//! - `debug --copy-to` creates a copy with the debug container added (a protobuf Pod create
//!   from kubectl 1.32 on).
//!
//! One cluster serves every version concurrently, each in its own namespace.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use kq_sim::ClusterConfig;
use kq_tests::check::{Step, has, has_row, ok, retry_until, rows};
use kq_tests::cluster::{Kubectl, Run, TestCluster, on_every_kubectl, wait_with_limit};

/// Retry a read until `check` passes (bounded: 60 s of real time).
fn eventually(k: &Kubectl, args: &[&str], check: impl Fn(&Run) -> Step) -> Step {
    let (limit, pause) = (Duration::from_secs(60), Duration::from_millis(300));
    retry_until(k, args, limit, pause, check)
}

/// kubectl's minor version (`1.33` → 33); `path` (the distribution's kubectl) counts as new.
fn minor(label: &str) -> u32 {
    label
        .strip_prefix("1.")
        .and_then(|m| m.parse().ok())
        .unwrap_or(99)
}

/// `get pods -A`: every control-plane pod Running 1/1, exactly the rows of a kind cluster.
fn control_plane_pods(k: &Kubectl) -> Step {
    let found = eventually(k, &["get", "pods", "-A"], |r| {
        ok(r)?;
        let first = r.stdout.lines().next().unwrap_or_default();
        let header: Vec<&str> = first.split_whitespace().collect();
        if header != ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"] {
            return Err(format!("header of {r}"));
        }
        for name in [
            "etcd-node-1",
            "kube-apiserver-node-1",
            "kube-controller-manager-node-1",
            "kube-scheduler-node-1",
        ] {
            has_row(r, &["kube-system", name, "1/1", "Running", "0"], name)?;
        }
        let system: Vec<Vec<String>> = rows(r)
            .into_iter()
            .filter(|c| c.first().is_some_and(|ns| ns == "kube-system"))
            .collect();
        let running = |prefix: &str| {
            system
                .iter()
                .filter(|c| {
                    c.len() >= 5
                        && c[1].starts_with(prefix)
                        && c[2] == "1/1"
                        && c[3] == "Running"
                        && c[4] == "0"
                })
                .count()
        };
        if running("coredns-") != 2 || running("kube-proxy-") != 1 || system.len() != 7 {
            return Err(format!(
                "expected 2 coredns and 1 kube-proxy pods Running 1/1 among 7: {r}"
            ));
        }
        Ok(())
    });
    // What the workloads and events say, to tell a failed create from a slow start.
    found.map_err(|e| {
        let more = k.run(&["get", "deploy,rs,ds,events", "-n", "kube-system"]);
        format!("{e}\n{more}")
    })
}

fn system_logs_and_dns(k: &Kubectl) -> Step {
    let r = k.run(&["logs", "-n", "kube-system", "etcd-node-1"]);
    ok(&r)?;
    has(
        &r,
        r#""msg":"serving client traffic securely","traffic":"grpc+http","address":"192.168.49.2:2379"}"#,
        "etcd serves on the node IP",
    )?;
    has(&r, r#""etcd-version":"3.5.21""#, "etcd's version")?;
    let r = k.run(&["logs", "-n", "kube-system", "deploy/coredns"]);
    ok(&r)?;
    let want = ".:53\n[INFO] plugin/reload: Running configuration SHA512 = ";
    has(&r, want, "CoreDNS's server block")?;
    has(
        &r,
        "CoreDNS-1.12.0\nlinux/amd64, go1.23.3, 51e11f1\n",
        "CoreDNS's version lines",
    )?;
    let r = k.run(&["logs", "-n", "kube-system", "kube-apiserver-node-1"]);
    ok(&r)?;
    // klog's header: severity, MMDD, time with microseconds, the thread id right-aligned.
    let line = r
        .stdout
        .lines()
        .find(|l| l.ends_with("server.go:147] Version: v1.33.4"))
        .ok_or_else(|| format!("kube-apiserver's version line: {r}"))?;
    let bytes = line.as_bytes();
    if !(line.starts_with('I') && bytes.len() > 29 && &line[21..29] == "       1") {
        return Err(format!("a klog header: {line:?}"));
    }
    let r = k.run(&["get", "svc", "-n", "kube-system", "kube-dns"]);
    ok(&r)?;
    has_row(
        &r,
        &[
            "kube-dns",
            "ClusterIP",
            "10.96.0.10",
            "<none>",
            "53/UDP,53/TCP,9153/TCP",
        ],
        "the kube-dns Service",
    )
}

/// The container name kubectl chose, from its `Defaulting debug container name to X.` line.
fn debug_name(run: &Run) -> Result<String, String> {
    let prefix = "Defaulting debug container name to ";
    run.stderr
        .lines()
        .chain(run.stdout.lines())
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.strip_suffix('.'))
        .filter(|n| n.starts_with("debugger-") && n.len() == "debugger-".len() + 5)
        .map(str::to_string)
        .ok_or_else(|| format!("kubectl's default-name message: {run}"))
}

fn debug_ephemeral(k: &Kubectl, ns: &str, label: &str) -> Step {
    ok(&k.run(&["create", "namespace", ns]))?;
    ok(&k.run(&["run", "web", "-n", ns, "--image=nginx:1.27"]))?;
    eventually(k, &["get", "pod", "web", "-n", ns], |r| {
        has_row(r, &["web", "1/1", "Running", "0"], "web runs")
    })?;
    let r = k.run(&[
        "debug",
        "web",
        "-n",
        ns,
        "--image=busybox",
        "--",
        "sleep",
        "1",
    ]);
    ok(&r)?;
    let first = debug_name(&r)?;
    let status = |i: usize, path: &str| {
        format!("jsonpath={{.status.ephemeralContainerStatuses[{i}]{path}}}")
    };
    let done = status(0, ".state.terminated.reason");
    eventually(k, &["get", "pod", "web", "-n", ns, "-o", &done], |r| {
        if r.stdout.trim() == "Completed" {
            Ok(())
        } else {
            Err(format!("{first} to complete: {r}"))
        }
    })?;
    // The debug container is no container of the pod's: READY stays 1/1.
    has_row(
        &k.run(&["get", "pod", "web", "-n", ns]),
        &["web", "1/1", "Running", "0"],
        "web after the debug container ended",
    )?;
    // A second debug: the patch now carries $setElementOrder/ephemeralContainers.
    let r = k.run(&[
        "debug",
        "web",
        "-n",
        ns,
        "--image=busybox",
        "--target=web",
        "--",
        "sleep",
        "3600",
    ]);
    ok(&r)?;
    let second = debug_name(&r)?;
    let running = status(1, ".state.running.startedAt");
    eventually(k, &["get", "pod", "web", "-n", ns, "-o", &running], |r| {
        if r.stdout.trim().is_empty() {
            Err(format!("{second} to run: {r}"))
        } else {
            Ok(())
        }
    })?;
    let r = k.run(&[
        "get",
        "pod",
        "web",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.ephemeralContainers[*].name} {.spec.ephemeralContainers[1].targetContainerName}",
    ]);
    if r.stdout.trim() != format!("{first} {second} web") {
        return Err(format!("both ephemeral containers in the spec: {r}"));
    }
    let r = k.run(&["describe", "pod", "web", "-n", ns]);
    ok(&r)?;
    has(&r, "Ephemeral Containers:", "describe's section")?;
    has(
        &r,
        &format!("  {second}:"),
        "describe names the running one",
    )?;
    has(
        &r,
        &format!("Created container: {second}"),
        "the kubelet's Created event",
    )?;
    if minor(label) >= 32 {
        let r = k.run(&[
            "debug",
            "web",
            "-n",
            ns,
            "--copy-to=web-copy",
            "--share-processes=true",
            "--image=busybox",
            "--",
            "sleep",
            "3600",
        ]);
        ok(&r)?;
        debug_name(&r)?;
        eventually(k, &["get", "pod", "web-copy", "-n", ns], |r| {
            has_row(r, &["web-copy", "2/2", "Running", "0"], "the copy runs")
        })?;
        // The protobuf body kept what the copy inherits (tolerations, the projected
        // service-account volume) and the shared process namespace asked for (kubectl sets
        // it only when --share-processes is given).
        let same =
            "jsonpath={.spec.tolerations} {.spec.volumes} {.spec.containers[0].volumeMounts}";
        let original = k.run(&["get", "pod", "web", "-n", ns, "-o", same]);
        let copy = k.run(&["get", "pod", "web-copy", "-n", ns, "-o", same]);
        if original.stdout != copy.stdout || !original.stdout.contains("serviceAccountToken") {
            return Err(format!("the copy keeps the pod's spec: {original}\n{copy}"));
        }
        let r = k.run(&[
            "get",
            "pod",
            "web-copy",
            "-n",
            ns,
            "-o",
            "jsonpath={.spec.shareProcessNamespace}",
        ]);
        if r.stdout.trim() != "true" {
            return Err(format!("--share-processes=true reached the copy: {r}"));
        }
    }
    Ok(())
}

/// `kubectl debug -it` through a real terminal (script(1)): kubectl waits for the ephemeral
/// container to run, attaches to its shell, and what is typed is echoed and run there.
fn debug_interactive(k: &Kubectl, ns: &str) -> Step {
    let env = |name: &str| {
        k.command(&[])
            .get_envs()
            .find(|(key, _)| *key == name)
            .and_then(|(_, v)| v)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let line = format!(
        "{} debug -it -n {ns} web --image=busybox --target=web -- sh",
        k.path.display()
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("HOME", env("HOME"))
        .env("KUBECONFIG", env("KUBECONFIG"))
        .env("PATH", env("PATH"))
        .env("LANG", "C")
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("script: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        std::thread::spawn(move || {
            // Typed once the container runs and the attach is up, as a person would.
            std::thread::sleep(Duration::from_secs(4));
            let _ = stdin.write_all(b"echo x\r");
            std::thread::sleep(Duration::from_millis(500));
            let _ = stdin.write_all(b"exit\r");
            std::thread::sleep(Duration::from_secs(5));
        });
    }
    let out = wait_with_limit(child, Duration::from_secs(40));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for want in [
        "Defaulting debug container name to debugger-",
        "If you don't see a command prompt, try pressing enter.",
        "echo x\r\n",
        "\r\nx\r\n",
    ] {
        if !text.contains(want) {
            return Err(format!(
                "debug -it: expected {want:?} in the terminal; exit {:?}, output {text:?}, stderr {:?}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(())
}

#[test]
fn kube_system_runs_and_kubectl_debug_adds_ephemeral_containers() {
    let tc = TestCluster::start_with(ClusterConfig {
        speed: 10.0,
        ..ClusterConfig::default()
    });
    on_every_kubectl(&tc, "dbg", |k, ns| {
        control_plane_pods(k)?;
        system_logs_and_dns(k)?;
        debug_ephemeral(k, ns, &k.label)?;
        debug_interactive(k, ns)
    });
}

/// The switch for tests that count every pod: without kube-system the namespace is empty.
#[test]
fn kube_system_can_be_left_out() {
    let tc = TestCluster::start_with(ClusterConfig {
        kube_system: false,
        ..ClusterConfig::default()
    });
    let pods: Vec<k8s_openapi::api::core::v1::Pod> = tc.cluster().store().list(Some("kube-system"));
    assert!(pods.is_empty());
    let with = TestCluster::start();
    let pods: Vec<k8s_openapi::api::core::v1::Pod> =
        with.cluster().store().list(Some("kube-system"));
    assert_eq!(pods.len(), 4, "the static pods exist from the start");
}

/// The subresource's refusals as a client sees them: kube-apiserver's 422 `Invalid` Status
/// with the field path and the real texts.
#[test]
fn ephemeral_containers_cannot_be_removed_changed_or_given_ports() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, Patch, PatchParams, PostParams};
    use serde_json::json;

    let tc = TestCluster::start_with(ClusterConfig {
        kube_system: false,
        ..ClusterConfig::default()
    });
    tc.create(
        "default",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
               "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}),
    );
    let message = |e: kube::Error| match e {
        kube::Error::Api(s) => format!("{} {}", s.code, s.message),
        other => format!("not a Status: {other}"),
    };
    tc.block_on(async {
        let client = kq_tests::cluster::kube_client(tc.cluster()).await;
        let pods: Api<Pod> = Api::namespaced(client, "default");
        let add = |c: serde_json::Value| Patch::Strategic(json!({"spec": {"ephemeralContainers": [c]}}));
        let pod = pods
            .patch_subresource(
                "ephemeralcontainers",
                "web",
                &PatchParams::default(),
                &add(json!({"name": "debugger-a", "image": "busybox", "tty": true, "stdin": true})),
            )
            .await
            .expect("a debug container is added");
        let spec = pod.spec.clone().unwrap_or_default();
        let added = spec.ephemeral_containers.unwrap_or_default();
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].image_pull_policy.as_deref(), Some("Always"));
        assert_eq!(added[0].termination_message_policy.as_deref(), Some("File"));

        // A PUT carries the resourceVersion it read: the kubelet's status writes make a stale
        // one a 409, so read again until the write meets the validation.
        let mut last = String::new();
        for _ in 0..20 {
            let mut removed = pods.get("web").await.expect("the pod");
            if let Some(s) = removed.spec.as_mut() {
                s.ephemeral_containers = Some(Vec::new());
            }
            let e = pods
                .replace_subresource("ephemeralcontainers", "web", &PostParams::default(), &removed)
                .await
                .expect_err("an ephemeral container cannot be removed");
            last = message(e);
            if !last.starts_with("409 ") {
                break;
            }
        }
        let e = last;
        assert_eq!(
            e,
            "422 Pod \"web\" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger-a\" may not be removed"
        );

        let changed = json!({"spec": {"ephemeralContainers": [{"name": "debugger-a", "image": "alpine"}]}});
        let e = pods
            .patch_subresource(
                "ephemeralcontainers",
                "web",
                &PatchParams::default(),
                &Patch::Strategic(changed),
            )
            .await
            .expect_err("an ephemeral container cannot be changed");
        assert_eq!(
            message(e),
            "422 Pod \"web\" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger-a\" may not be changed"
        );

        let e = pods
            .patch_subresource(
                "ephemeralcontainers",
                "web",
                &PatchParams::default(),
                &add(json!({"name": "debugger-b", "image": "busybox", "ports": [{"containerPort": 80}]})),
            )
            .await
            .expect_err("an ephemeral container has no ports");
        assert_eq!(
            message(e),
            "422 Pod \"web\" is invalid: spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container"
        );
    });
}

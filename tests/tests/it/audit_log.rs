//! The embedded API server's audit log, filled by real kubectl on every installed version:
//! each answered request is one entry with kubectl's `Kubectl-Command` and `Kubectl-Session`
//! headers, the verb and resource as kube-apiserver resolves them, the query and the code; the
//! engine turns a namespace's entries into the learner's commands, one per kubectl run.

use k8s_openapi::api::core::v1::Pod;
use kq_engine::activity::{CommandGroup, learner_commands};
use kq_kube::audit::AuditEntry;
use kq_tests::check::Step;
use kq_tests::cluster::{TestCluster, advance_until, kubectl_binaries, on_every_kubectl};
use serde_json::json;

fn namespace_of(label: &str) -> String {
    format!("audit-{}", label.replace('.', "-"))
}

/// A pod whose container prints a line and exits, so it has a previous run to read.
fn crashing_pod() -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "busybox:1.36",
            "command": ["sh", "-c", "echo 'web: cannot start'; exit 1"]}]}})
}

fn restarted(tc: &TestCluster, ns: &str) -> bool {
    tc.cluster()
        .store()
        .get::<Pod>(ns, "web")
        .ok()
        .and_then(|p| p.status)
        .and_then(|s| s.container_statuses)
        .is_some_and(|c| c.iter().any(|c| c.restart_count >= 1))
}

/// The entries of `ns` recorded since `after` for one kubectl command.
fn entries_of(tc: &TestCluster, ns: &str, after: u64, command: &str) -> Vec<AuditEntry> {
    tc.cluster()
        .audit()
        .since(after)
        .entries
        .into_iter()
        .filter(|e| e.namespace.as_deref() == Some(ns) && e.command.as_deref() == Some(command))
        .collect()
}

fn expect(cond: bool, what: &str, entries: &[AuditEntry]) -> Step {
    if cond {
        Ok(())
    } else {
        Err(format!("{what}; recorded: {entries:#?}"))
    }
}

fn scenario(tc: &TestCluster, k: &kq_tests::cluster::Kubectl, ns: &str) -> Step {
    let log = tc.cluster().audit();
    let start = log.last_seq();

    let run = k.run(&["get", "pods", "-n", ns]);
    kq_tests::check::ok(&run)?;
    let got = entries_of(tc, ns, start, "kubectl get");
    let list = got
        .iter()
        .find(|e| e.verb == "list" && e.resource == "pods");
    expect(
        list.is_some_and(|e| {
            e.code == 200
                && e.user == "kubernetes-admin"
                && e.user_agent.starts_with("kubectl")
                && e.session.as_deref().is_some_and(|s| !s.is_empty())
                && e.name.is_none()
                && e.group.is_empty()
        }),
        "`kubectl get pods` is a list of pods by kubernetes-admin, answered 200, with its session",
        &got,
    )?;

    let run = k.run(&["logs", "web", "--previous", "-n", ns]);
    kq_tests::check::has(&run, "web: cannot start", "the previous run's log")?;
    let got = entries_of(tc, ns, start, "kubectl logs");
    expect(
        got.iter().any(|e| {
            e.verb == "get"
                && e.resource == "pods"
                && e.subresource.as_deref() == Some("log")
                && e.name.as_deref() == Some("web")
                && e.query_param("previous").as_deref() == Some("true")
                && e.code == 200
        }),
        "`kubectl logs web --previous` is a get of pods/log with previous=true, answered 200",
        &got,
    )?;

    let run = k.run(&["set", "image", "pod/web", "web=busybox:1.37", "-n", ns]);
    kq_tests::check::ok(&run)?;
    let got = entries_of(tc, ns, start, "kubectl set image");
    expect(
        got.iter().any(|e| {
            e.verb == "patch" && e.name.as_deref() == Some("web") && e.code == 200 && e.is_write()
        }),
        "`kubectl set image` is a patch of pods/web, answered 200",
        &got,
    )?;

    let run = k.run(&[
        "set",
        "image",
        "pod/web",
        "web=busybox:1.36",
        "-n",
        ns,
        "--dry-run=server",
    ]);
    kq_tests::check::ok(&run)?;
    let got = entries_of(tc, ns, start, "kubectl set image");
    expect(
        got.iter()
            .any(|e| e.verb == "patch" && e.dry_run && !e.is_write()),
        "a server dry run is recorded as one, and changed nothing",
        &got,
    )?;

    let run = k.run(&["describe", "pod", "web", "-n", ns]);
    kq_tests::check::ok(&run)?;
    let got = entries_of(tc, ns, start, "kubectl describe");
    let sessions: std::collections::BTreeSet<_> =
        got.iter().filter_map(|e| e.session.clone()).collect();
    expect(
        got.iter()
            .any(|e| e.verb == "get" && e.name.as_deref() == Some("web"))
            && got
                .iter()
                .any(|e| e.verb == "list" && e.resource == "events" && e.code == 200)
            && sessions.len() == 1,
        "`kubectl describe pod web` is a get of the pod and a list of events, in one session",
        &got,
    )?;

    // A watch is recorded once, when it starts streaming, however long it then runs.
    let from = log.last_seq();
    let run = k.run(&["get", "pods", "-n", ns, "-w", "--request-timeout=2s"]);
    let got = entries_of(tc, ns, from, "kubectl get");
    let watches = got.iter().filter(|e| e.verb == "watch").count();
    expect(
        watches == 1 && got.iter().any(|e| e.verb == "list" && e.code == 200),
        &format!("`kubectl get pods -w` is one list and one watch ({run})"),
        &got,
    )?;

    let run = k.run(&["get", "pods", "-n", ns, "--as", "jane"]);
    kq_tests::check::fails_with(&run, "forbidden", "jane may not list pods")?;
    let got = entries_of(tc, ns, start, "kubectl get");
    expect(
        got.iter()
            .any(|e| e.user == "jane" && e.verb == "list" && e.code == 403),
        "an impersonated request names the impersonated user and its 403",
        &got,
    )?;

    // The engine's reading: one command per run, in order, grouped around the change.
    let mine: Vec<AuditEntry> = log
        .since(start)
        .entries
        .into_iter()
        .filter(|e| e.user != "jane")
        .collect();
    let commands = learner_commands(&mine, ns);
    let seen: Vec<(&str, CommandGroup, bool)> = commands
        .iter()
        .map(|c| (c.text.as_str(), c.group, c.ok))
        .collect();
    let want = [
        ("kubectl get pods", CommandGroup::Looked, true),
        ("kubectl logs web --previous", CommandGroup::Looked, true),
        ("kubectl set image pod/web", CommandGroup::Changed, true),
        ("kubectl set image pod/web", CommandGroup::Verified, true),
        ("kubectl describe pod web", CommandGroup::Verified, true),
        ("kubectl get pods -w", CommandGroup::Verified, true),
    ];
    if seen != want {
        return Err(format!(
            "the learner's commands: {seen:#?}, expected {want:#?}"
        ));
    }
    Ok(())
}

#[test]
fn kubectl_requests_are_recorded_with_their_command_verb_subresource_query_and_code() {
    let tc = TestCluster::paused();
    let namespaces: Vec<String> = kubectl_binaries()
        .iter()
        .map(|(label, _)| namespace_of(label))
        .collect();
    for ns in &namespaces {
        tc.create(
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        );
        tc.create(ns, crashing_pod());
    }
    advance_until(&tc, 120, || namespaces.iter().all(|ns| restarted(&tc, ns)));
    on_every_kubectl(&tc, "audit", |k, ns| scenario(&tc, k, ns));

    // Requests nobody answered with a resource are recorded too, under their path.
    let log = tc.cluster().audit();
    let all = log.since(0);
    assert!(
        all.entries
            .iter()
            .any(|e| e.resource.is_empty() && e.path.starts_with("/api") && e.code == 200),
        "discovery requests are recorded with their path"
    );
    assert_eq!(all.dropped, 0, "nothing was evicted from a fresh log");
    let (held, bytes) = log.size();
    assert!(held > 0 && bytes <= log.max_bytes());
}

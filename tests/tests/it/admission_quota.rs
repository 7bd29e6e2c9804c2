//! ResourceQuota and LimitRange through every kubectl on this machine: `create quota` and the
//! `get quota` cells the quota controller fills in, `describe quota` and `describe namespace`,
//! the ResourceQuota admission texts (`must specify`, `exceeded quota` with several resources),
//! replenishment when pods are deleted, a Deployment whose ReplicaSet runs into the quota (its
//! `FailedCreate` event names the generated pod), and LimitRanger's defaults (resources and the
//! `kubernetes.io/limit-ranger` annotation in `get pod -o yaml`), its min/max refusals and the
//! `describe limits` table, and quotas scoped to BestEffort / NotBestEffort pods. A ReplicaSet
//! that keeps running into the quota for minutes shows nine refusals and one `(combined from
//! similar events)` line in `describe rs`, as the event recorder combines similar events.
//!
//! One paused cluster is shared (the controllers act on every change, at one virtual moment);
//! each kubectl version works in namespaces of its own, concurrently.

use std::time::Duration;

use kq_tests::check::{
    Step, equals, expect, fails_with, has, has_line, has_row, has_words, header, ok, retry_until,
};
use kq_tests::cluster::{Kubectl, TestCluster, advance_until, kubectl_binaries, on_every_kubectl};

fn write_file(tc: &TestCluster, name: &str, text: &str) -> String {
    let path = tc.dir().join(name);
    std::fs::write(&path, text).expect("a manifest in the scratch directory");
    path.to_string_lossy().into_owned()
}

fn pod_manifest(name: &str, resources: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: {name}\n    image: nginx:1.27\n    resources:\n{resources}"
    )
}

const SMALL: &str = "      requests:\n        cpu: 400m\n        memory: 256Mi\n";

/// Poll `get quota` until the controller (or admission) shows `cells`.
fn quota_shows(k: &Kubectl, ns: &str, cells: &str) -> Step {
    retry_until(
        k,
        &["-n", ns, "get", "quota", "q"],
        Duration::from_secs(20),
        Duration::from_millis(100),
        |r| has_line(r, cells, "get quota cells"),
    )
}

fn quota_scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = vec!["-n", ns];
        a.extend_from_slice(args);
        k.run(&a)
    };
    ok(&k.run(&["create", "namespace", ns]))?;
    let r = run(&[
        "create",
        "quota",
        "q",
        "--hard=pods=2,requests.cpu=1,requests.memory=1Gi",
    ]);
    equals(&r, "resourcequota/q created", "kubectl's own create quota")?;
    quota_shows(
        k,
        ns,
        "pods: 0/2, requests.cpu: 0/1, requests.memory: 0/1Gi",
    )?;
    let r = run(&["get", "quota"]);
    header(&r, &["NAME", "AGE", "REQUEST", "LIMIT"], "quota table")?;

    // A pod that sets no requests cannot be counted against a cpu/memory quota.
    let r = run(&["run", "bare", "--image=nginx:1.27"]);
    fails_with(
        &r,
        "Error from server (Forbidden): pods \"bare\" is forbidden: failed quota: q: must specify requests.cpu for: bare; requests.memory for: bare",
        "must specify, per resource",
    )?;

    for p in ["p1", "p2"] {
        let f = write_file(tc, &format!("{ns}-{p}.yaml"), &pod_manifest(p, SMALL));
        equals(
            &run(&["create", "-f", &f]),
            &format!("pod/{p} created"),
            "fits",
        )?;
    }
    // Admission records the charge itself: no wait for the controller.
    let r = run(&["get", "quota", "q"]);
    has_line(
        &r,
        "pods: 2/2, requests.cpu: 800m/1, requests.memory: 512Mi/1Gi",
        "used after two pods",
    )?;
    let f = write_file(tc, &format!("{ns}-p3.yaml"), &pod_manifest("p3", SMALL));
    let r = run(&["create", "-f", &f]);
    fails_with(
        &r,
        &format!(
            "Error from server (Forbidden): error when creating \"{f}\": pods \"p3\" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=400m, used: pods=2,requests.cpu=800m, limited: pods=2,requests.cpu=1"
        ),
        "exceeded quota lists only what is over, sorted",
    )?;

    let r = run(&["describe", "quota", "q"]);
    has_words(
        &r,
        &format!(
            "Name: q Namespace: {ns} Resource Used Hard -------- ---- ---- pods 2 2 requests.cpu 800m 1 requests.memory 512Mi 1Gi"
        ),
        "describe quota",
    )?;
    let r = run(&["describe", "namespace", ns]);
    has_words(&r, "Resource Quotas", "describe namespace lists quotas")?;
    has_words(&r, "Name: q", "describe namespace names the quota")?;
    has_words(
        &r,
        "pods 2 2 requests.cpu 800m 1 requests.memory 512Mi 1Gi",
        "describe namespace quota rows",
    )?;
    has(&r, "No LimitRange resource.", "no limit range here")?;

    // Deleting pods gives their share back (the quota controller's replenishment).
    ok(&run(&[
        "delete",
        "pod",
        "p1",
        "p2",
        "--grace-period=0",
        "--force",
    ]))?;
    quota_shows(
        k,
        ns,
        "pods: 0/2, requests.cpu: 0/1, requests.memory: 0/1Gi",
    )?;

    // A Deployment of three: the ReplicaSet's third create is refused, and says so.
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        resources:\n          requests:\n            cpu: 100m\n            memory: 64Mi\n";
    let f = write_file(tc, &format!("{ns}-web.yaml"), deploy);
    ok(&run(&["create", "-f", &f]))?;
    let tail =
        "\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2";
    retry_until(
        k,
        &["-n", ns, "describe", "rs", "-l", "app=web"],
        Duration::from_secs(20),
        Duration::from_millis(200),
        |r| {
            let line = r
                .stdout
                .lines()
                .find(|l| l.contains("FailedCreate") && l.contains("Error creating: "))
                .ok_or_else(|| format!("a FailedCreate event: {r}"))?;
            let msg = line
                .split("Error creating: ")
                .nth(1)
                .ok_or_else(|| format!("the event message: {r}"))?;
            let name = msg
                .strip_prefix("pods \"")
                .and_then(|m| m.strip_suffix(tail))
                .ok_or_else(|| format!("the admission error, whole: {msg:?}"))?;
            // The validating pass names the generated pod, not the `web-<hash>-` prefix.
            let parts: Vec<&str> = name.split('-').collect();
            expect(
                parts.len() == 3 && parts[0] == "web" && parts[2].len() == 5,
                || format!("a generated pod name in {msg:?}"),
            )?;
            has_words(r, "Warning FailedCreate", "a warning event")
        },
    )?;
    let r = run(&["get", "pods", "-l", "app=web", "-o", "name"]);
    expect(r.stdout.lines().count() == 2, || {
        format!("two pods fit the quota: {r}")
    })?;
    // One pod deleted: its share comes back and the ReplicaSet's replacement is admitted.
    let first = r.stdout.lines().next().unwrap_or_default().to_string();
    ok(&run(&["delete", &first, "--grace-period=0", "--force"]))?;
    retry_until(
        k,
        &["-n", ns, "get", "pods", "-l", "app=web", "-o", "name"],
        Duration::from_secs(20),
        Duration::from_millis(200),
        |r| {
            expect(
                r.stdout.lines().count() == 2 && !r.stdout.contains(&first),
                || format!("a replacement for {first}: {r}"),
            )
        },
    )?;
    quota_shows(
        k,
        ns,
        "pods: 2/2, requests.cpu: 200m/1, requests.memory: 128Mi/1Gi",
    )
}

fn limits_scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = vec!["-n", ns];
        a.extend_from_slice(args);
        k.run(&a)
    };
    ok(&k.run(&["create", "namespace", ns]))?;
    let lr = "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: lr\nspec:\n  limits:\n  - type: Container\n    default:\n      cpu: 500m\n      memory: 256Mi\n    defaultRequest:\n      cpu: 100m\n      memory: 128Mi\n    max:\n      cpu: \"1\"\n    min:\n      cpu: 50m\n";
    let f = write_file(tc, &format!("{ns}-lr.yaml"), lr);
    equals(
        &run(&["create", "-f", &f]),
        "limitrange/lr created",
        "create",
    )?;
    let r = run(&["get", "limits"]);
    header(&r, &["NAME", "CREATED AT"], "the generic table")?;
    let row: Vec<&str> = r
        .stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    expect(
        row.len() == 2 && row[0] == "lr" && row[1].ends_with('Z') && row[1].contains('T'),
        || format!("CREATED AT is the RFC 3339 timestamp: {r}"),
    )?;

    equals(
        &run(&["run", "web", "--image=nginx:1.27"]),
        "pod/web created",
        "defaults make the pod fit",
    )?;
    let r = run(&["get", "pod", "web", "-o", "yaml"]);
    has_words(
        &r,
        "kubernetes.io/limit-ranger: 'LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web'",
        "the annotation says what was set",
    )?;
    has_words(
        &r,
        "resources: limits: cpu: 500m memory: 256Mi requests: cpu: 100m memory: 128Mi",
        "the defaults in the pod",
    )?;

    let big = pod_manifest("big", "      limits:\n        cpu: \"2\"\n");
    let f = write_file(tc, &format!("{ns}-big.yaml"), &big);
    fails_with(
        &run(&["create", "-f", &f]),
        &format!(
            "Error from server (Forbidden): error when creating \"{f}\": pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"
        ),
        "over the max",
    )?;
    let tiny = pod_manifest("tiny", "      requests:\n        cpu: 10m\n");
    let f = write_file(tc, &format!("{ns}-tiny.yaml"), &tiny);
    fails_with(
        &run(&["create", "-f", &f]),
        &format!(
            "Error from server (Forbidden): error when creating \"{f}\": pods \"tiny\" is forbidden: minimum cpu usage per Container is 50m, but request is 10m"
        ),
        "under the min",
    )?;

    let bad = "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: bad\nspec:\n  limits:\n  - type: Container\n    max:\n      cpu: \"1\"\n    default:\n      cpu: \"2\"\n";
    let f = write_file(tc, &format!("{ns}-bad.yaml"), bad);
    let r = run(&["create", "-f", &f]);
    // The quantity prints as Go's raw struct, as kube-apiserver's field errors show it.
    for cause in [
        "spec.limits[0].defaultRequest[cpu]: Invalid value: resource.Quantity{i:resource.int64Amount{value:2, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"2\", Format:\"DecimalSI\"}: default request value 2 is greater than max value 1",
        "spec.limits[0].default[cpu]: Invalid value: resource.Quantity{i:resource.int64Amount{value:1, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"1\", Format:\"DecimalSI\"}: default value 2 is greater than max value 1",
    ] {
        fails_with(&r, cause, "a default above the max")?;
    }
    has(&r, "The LimitRange \"bad\" is invalid", "a 422")?;

    let r = run(&["describe", "limits", "lr"]);
    has_words(
        &r,
        "Type Resource Min Max Default Request Default Limit Max Limit/Request Ratio",
        "describe limits header",
    )?;
    has_line(&r, "Container cpu 50m 1 100m 500m -", "cpu row")?;
    has_line(&r, "Container memory - - 128Mi 256Mi -", "memory row")?;
    let r = run(&["describe", "namespace", ns]);
    has(&r, "No resource quota.", "no quota here")?;
    has_words(&r, "Resource Limits", "the namespace's limit ranges")?;
    has_line(
        &r,
        "Container cpu 50m 1 100m 500m -",
        "namespace limits row",
    )?;

    // A scoped quota counts only the pods its scope selects: the defaulted pod is not
    // BestEffort, so it is charged to NotBestEffort and the next one is over.
    equals(
        &run(&[
            "create",
            "quota",
            "nbe",
            "--hard=pods=1",
            "--scopes=NotBestEffort",
        ]),
        "resourcequota/nbe created",
        "create quota with a scope",
    )?;
    equals(
        &run(&[
            "create",
            "quota",
            "be",
            "--hard=pods=5",
            "--scopes=BestEffort",
        ]),
        "resourcequota/be created",
        "create quota with the other scope",
    )?;
    retry_until(
        k,
        &["-n", ns, "get", "quota"],
        Duration::from_secs(20),
        Duration::from_millis(100),
        |r| {
            has_row(r, &["be"], "the BestEffort quota")?;
            has_line(r, "pods: 0/5", "nothing BestEffort runs")?;
            has_line(
                r,
                "pods: 1/1",
                "the defaulted pod is charged to NotBestEffort",
            )
        },
    )?;
    let r = run(&["describe", "quota", "nbe"]);
    has_words(
        &r,
        "Scopes: NotBestEffort * Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service. Resource Used Hard -------- ---- ---- pods 1 1",
        "describe quota with its scope",
    )?;
    fails_with(
        &run(&["run", "web2", "--image=nginx:1.27"]),
        "Error from server (Forbidden): pods \"web2\" is forbidden: exceeded quota: nbe, requested: pods=1, used: pods=1, limited: pods=1",
        "the scoped quota is full",
    )
}

#[test]
fn quotas_and_limit_ranges_on_every_kubectl() {
    let tc = TestCluster::paused();
    on_every_kubectl(&tc, "aq", |k, ns| {
        quota_scenario(&tc, k, ns)?;
        limits_scenario(&tc, k, &format!("{ns}-lr"))
    });
}

/// The ReplicaSet's refusals name a new pod each time, so after ten of them within ten minutes
/// the recorder puts the rest into one combined event: `describe rs` lists nine refusals and
/// one `(combined from similar events): …` line whose count grows.
#[test]
fn refusals_that_go_on_are_combined_in_describe() {
    let tc = TestCluster::paused();
    let (label, path) = kubectl_binaries().pop().expect("a kubectl");
    let k = tc.kubectl(&label, &path);
    let ns = "aqc";
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = vec!["-n", ns];
        a.extend_from_slice(args);
        k.run(&a)
    };
    let step = (|| -> Step {
        ok(&k.run(&["create", "namespace", ns]))?;
        ok(&run(&["create", "quota", "q", "--hard=pods=1"]))?;
        ok(&run(&[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=3",
        ]))?;
        let combined = |min: i64| {
            tc.cluster()
                .store()
                .list_raw(&kq_sim::kinds::event::KIND, Some(ns))
                .iter()
                .any(|e| {
                    e["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("(combined from similar events): "))
                        && e["count"].as_i64().unwrap_or(0) >= min
                })
        };
        let secs = advance_until(&tc, 900, || combined(1));
        // A few more virtual minutes of refusals all count on the combined event.
        advance_until(&tc, 900, || combined(3));
        let r = run(&["describe", "rs", "-l", "app=web"]);
        let refusals: Vec<&str> = r
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("Warning  FailedCreate"))
            .collect();
        expect(refusals.len() == 10, || {
            format!("nine refusals and one combined line after {secs} s: {r}")
        })?;
        let tail =
            "\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1";
        let last = refusals.last().copied().unwrap_or_default();
        let msg = last
            .split("(combined from similar events): Error creating: pods \"web-")
            .nth(1)
            .ok_or_else(|| format!("the combined line last: {r}"))?;
        expect(msg.ends_with(tail), || {
            format!("the latest refusal, whole: {last:?}")
        })?;
        expect(
            last.contains("Warning  FailedCreate") && last.contains("(x"),
            || format!("a warning counted several times: {last:?}"),
        )?;
        expect(
            refusals[..9]
                .iter()
                .all(|l| l.contains("Error creating: pods \"web-") && l.ends_with(tail)),
            || format!("nine separate refusals first: {r}"),
        )
    })();
    if let Err(e) = step {
        panic!("kubectl {label}: {e}");
    }
}

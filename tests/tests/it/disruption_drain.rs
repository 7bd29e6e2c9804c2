//! PodDisruptionBudgets, the eviction subresource, `kubectl drain` and node Leases
//! (WORKLOADS.md §7).
//!
//! On a paused clock: the disruption controller's status for an integer and a percentage
//! `minAvailable` over a Deployment's pods, its condition, and an eviction the budget allows
//! (the pod's DisruptionTarget condition and its record in `disruptedPods`).
//!
//! With real kubectl of every installed version, on a cluster at 20× speed where each
//! version has two nodes of its own (a drain empties a whole node, so versions must not
//! share one): `create pdb`, `get pdb`, `describe pdb`, a raw eviction's 429 body, a drain
//! that a budget blocks (the retry line and the `--timeout` ending, the node left
//! `SchedulingDisabled`), the same drain finishing once the Deployment is scaled up (pods
//! rescheduled on the other node), the refusals for DaemonSet, unmanaged and emptyDir pods and
//! the drain that overrides them, `uncordon`, the node's Lease in `describe node` and
//! `get leases -n kube-node-lease`.

use std::path::Path;
use std::time::Duration;

use kq_sim::ClusterConfig;
use kq_sim::kinds;
use kq_sim::kinds::node::NodeTemplate;
use kq_sim::store::WriteOptions;
use kq_tests::check::{Step, expect, has, has_row, header, ok, retry_until};
use kq_tests::cluster::{Kubectl, Run, TestCluster, advance_until, kubectl_binaries, on_kubectls};
use serde_json::{Value, json};

const NS: &str = "default";

fn deployment(name: &str, replicas: i64, pool: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "nginx", "image": "nginx:1.27"}]});
    if let Some(pool) = pool {
        spec["nodeSelector"] = json!({"kq.test/pool": pool});
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    })
}

fn pdb_status(tc: &TestCluster, name: &str) -> Value {
    tc.cluster()
        .store()
        .get_raw(&kinds::poddisruptionbudget::KIND, NS, name)
        .map(|v| v["status"].clone())
        .unwrap_or(Value::Null)
}

fn ready_pods(tc: &TestCluster, app: &str) -> Vec<Value> {
    tc.cluster()
        .store()
        .list_raw(&kinds::pod::KIND, Some(NS))
        .iter()
        .filter(|p| p.pointer("/metadata/labels/app").and_then(Value::as_str) == Some(app))
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .filter(|p| {
            p.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
        })
        .map(|p| (**p).clone())
        .collect()
}

fn condition(status: &Value) -> (String, String) {
    let c = status
        .pointer("/conditions/0")
        .cloned()
        .unwrap_or(Value::Null);
    (
        c["status"].as_str().unwrap_or_default().to_string(),
        c["reason"].as_str().unwrap_or_default().to_string(),
    )
}

/// The disruption controller's status over a Deployment's pods, and the eviction
/// subresource's acceptance, on the paused clock.
#[test]
fn budget_status_and_eviction_on_the_paused_clock() {
    let tc = TestCluster::paused();
    let store = tc.cluster().store().clone();
    let opts = WriteOptions::default();
    store
        .create(
            &kinds::deployment::KIND,
            NS,
            deployment("web", 2, None),
            &opts,
        )
        .expect("deployment");
    advance_until(&tc, 120, || ready_pods(&tc, "web").len() == 2);
    store
        .create(
            &kinds::poddisruptionbudget::KIND,
            NS,
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                   "metadata": {"name": "web"},
                   "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}),
            &opts,
        )
        .expect("budget");
    tc.cluster().advance(Duration::from_secs(1));
    let s = pdb_status(&tc, "web");
    assert_eq!(
        (
            &s["expectedPods"],
            &s["desiredHealthy"],
            &s["currentHealthy"],
            &s["disruptionsAllowed"],
            &s["observedGeneration"]
        ),
        (&json!(2), &json!(2), &json!(2), &json!(0), &json!(1)),
        "{s}"
    );
    assert_eq!(
        condition(&s),
        ("False".into(), "InsufficientPods".into()),
        "{s}"
    );

    // (The eviction subresource's 429 answers are checked through kubectl below: kube's
    // client retries a 429 on its own, so it cannot show one here.)
    let pods = ready_pods(&tc, "web");
    let victim = pods[0]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let client = tc.block_on(kq_tests::cluster::kube_client(tc.cluster()));
    let evict = |name: &str| eviction(&tc, &client, name, name);
    // A name that is not the pod's is refused before anything else.
    let (code, body, _) = eviction(&tc, &client, &victim, "other");
    assert_eq!(
        (code, body["message"].as_str().unwrap_or_default()),
        (400, "name in URL does not match name in Eviction object")
    );

    // A percentage counts against the Deployment's scale and rounds up: 50% of 2 is 1.
    store
        .update_with::<k8s_openapi::api::policy::v1::PodDisruptionBudget>(NS, "web", |p| {
            if let Some(spec) = p.spec.as_mut() {
                spec.min_available = Some(
                    k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("50%".into()),
                );
            }
        })
        .expect("budget edited");
    tc.cluster().advance(Duration::from_secs(1));
    let s = pdb_status(&tc, "web");
    assert_eq!(
        (
            &s["expectedPods"],
            &s["desiredHealthy"],
            &s["disruptionsAllowed"],
            &s["observedGeneration"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(2)),
        "{s}"
    );
    assert_eq!(
        condition(&s),
        ("True".into(), "SufficientPods".into()),
        "{s}"
    );

    // Now the eviction goes through: the pod is marked and terminating, the budget spent.
    let before = store.resource_version();
    let (code, body, _) = evict(&victim);
    assert_eq!((code, &body["status"]), (201, &json!("Success")), "{body}");
    let pod = store
        .get_raw(&kinds::pod::KIND, NS, &victim)
        .expect("the pod is terminating, not gone");
    assert!(
        pod.pointer("/metadata/deletionTimestamp").is_some(),
        "{pod}"
    );
    let cond = pod["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "DisruptionTarget"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (&cond["status"], &cond["reason"], &cond["message"]),
        (
            &json!("True"),
            &json!("EvictionByEvictionAPI"),
            &json!("Eviction API: evicting")
        ),
        "{pod}"
    );
    // The eviction's own write to the budget spends it and records the pod. (The controller
    // may already have re-synced since, dropping the now terminating pod from the record as
    // the real one does, so the write is read from the watch history, not the live object.)
    let written = store
        .events_after(&kinds::poddisruptionbudget::KIND, before)
        .expect("budget history")
        .into_iter()
        .map(|e| e.object["status"].clone())
        .find(|s| s["disruptedPods"].get(&victim).is_some())
        .expect("the eviction recorded the pod in the budget's disruptedPods");
    assert_eq!(written["disruptionsAllowed"], json!(0), "{written}");
    let s = pdb_status(&tc, "web");
    assert_eq!(s["disruptionsAllowed"], json!(0), "{s}");
    // The replacement comes up, the evicted pod goes, and the budget allows one again.
    advance_until(&tc, 120, || {
        let s = pdb_status(&tc, "web");
        s["disruptionsAllowed"] == json!(1) && s["currentHealthy"] == json!(2)
    });
}

/// POST an Eviction named `name` to pod `pod`'s eviction subresource: the HTTP code, the
/// body and the `Retry-After` header.
fn eviction(
    tc: &TestCluster,
    client: &kube::Client,
    pod: &str,
    name: &str,
) -> (u16, Value, Option<String>) {
    let body = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                      "metadata": {"name": name, "namespace": NS}});
    let req = hyper::Request::post(format!("/api/v1/namespaces/{NS}/pods/{pod}/eviction"))
        .header("content-type", "application/json")
        .body(kube::client::Body::from(
            serde_json::to_vec(&body).expect("json"),
        ))
        .expect("request");
    tc.block_on(async {
        let resp = client.send(req).await.expect("the server answers");
        let code = resp.status().as_u16();
        let retry = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .expect("body")
            .to_bytes();
        (
            code,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            retry,
        )
    })
}

/// A budget selecting nothing says so in an event, and the lease of every node is renewed.
#[test]
fn no_pods_event_and_node_lease_renewal() {
    let tc = TestCluster::paused();
    let store = tc.cluster().store().clone();
    store
        .create(
            &kinds::poddisruptionbudget::KIND,
            NS,
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                   "metadata": {"name": "empty"},
                   "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "none"}}}}),
            &WriteOptions::default(),
        )
        .expect("budget");
    tc.cluster().advance(Duration::from_secs(1));
    let events: Vec<(String, String, String)> = store
        .list_raw(&kinds::event::KIND, Some(NS))
        .iter()
        .filter(|e| e["involvedObject"]["kind"] == "PodDisruptionBudget")
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_string(),
                e["message"].as_str().unwrap_or_default().to_string(),
                e["source"]["component"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [(
            "NoPods".to_string(),
            "No matching pods found".to_string(),
            "controllermanager".to_string()
        )]
    );
    let renew = || {
        store
            .get_raw(&kinds::lease::KIND, "kube-node-lease", "node-1")
            .map(|l| l["spec"].clone())
            .unwrap_or(Value::Null)
    };
    let first = renew();
    assert_eq!(
        (
            &first["holderIdentity"],
            &first["leaseDurationSeconds"],
            first.get("acquireTime")
        ),
        (&json!("node-1"), &json!(40), None),
        "{first}"
    );
    tc.cluster().advance(Duration::from_secs(11));
    let second = renew();
    assert_ne!(
        first["renewTime"], second["renewTime"],
        "renewed within 10.4 s"
    );
}

/// Each version's two nodes: `<ns>-a` and `<ns>-b`, in pool `<ns>`.
fn nodes_for(prefix: &str, versions: &[(String, std::path::PathBuf)]) -> Vec<NodeTemplate> {
    let mut nodes = vec![NodeTemplate::default()];
    for (i, (label, _)) in versions.iter().enumerate() {
        let ns = format!("{prefix}-{}", label.replace('.', "-"));
        for (j, side) in ["a", "b"].iter().enumerate() {
            let n = 2 * i + j + 1;
            nodes.push(NodeTemplate {
                name: format!("{ns}-{side}"),
                labels: [("kq.test/pool".to_string(), ns.clone())]
                    .into_iter()
                    .collect(),
                internal_ip: format!("192.168.49.{}", 3 + n),
                pod_cidr: format!("10.244.{n}.0/24"),
                ..NodeTemplate::default()
            });
        }
    }
    nodes
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).expect("json")).expect("manifest written");
    p.to_string_lossy().into_owned()
}

/// Some line of the output (stdout or stderr) has exactly these words.
fn line_words(run: &Run, words: &[&str], why: &str) -> Step {
    let found = run
        .stdout
        .lines()
        .chain(run.stderr.lines())
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == words);
    expect(found, || {
        format!("{why}: expected a line {words:?} in {run}")
    })
}

fn pod_names(k: &Kubectl, ns: &str, app: &str) -> Vec<String> {
    let r = k.run(&[
        "get",
        "pods",
        "-n",
        ns,
        "-l",
        &format!("app={app}"),
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    r.stdout.split_whitespace().map(str::to_string).collect()
}

fn drain_scenario(k: &Kubectl, ns: &str, dir: &Path) -> Step {
    let (a, b) = (format!("{ns}-a"), format!("{ns}-b"));
    ok(&k.run(&["create", "namespace", ns]))?;
    // Both web pods on node a: b is cordoned while they are placed.
    let r = k.run(&["cordon", &b]);
    has(&r, &format!("node/{b} cordoned"), "cordon")?;
    let mut web = deployment("web", 2, Some(ns));
    web["metadata"]["namespace"] = json!(ns);
    ok(&k.run(&["apply", "-f", &write(dir, &format!("{ns}-web.json"), &web)]))?;
    ok(&k.run_with(
        &[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            ns,
            "--timeout=60s",
        ],
        &[],
        Duration::from_secs(70),
    ))?;
    has(
        &k.run(&["uncordon", &b]),
        &format!("node/{b} uncordoned"),
        "uncordon",
    )?;

    let r = k.run(&[
        "create",
        "pdb",
        "web",
        "--selector=app=web",
        "--min-available=2",
        "-n",
        ns,
    ]);
    has(&r, "poddisruptionbudget.policy/web created", "create pdb")?;
    retry_until(
        k,
        &["get", "pdb", "-n", ns],
        Duration::from_secs(20),
        Duration::from_millis(200),
        |r| {
            header(
                r,
                &[
                    "NAME",
                    "MIN AVAILABLE",
                    "MAX UNAVAILABLE",
                    "ALLOWED DISRUPTIONS",
                    "AGE",
                ],
                "get pdb",
            )?;
            has_row(
                r,
                &["web", "2", "N/A", "0"],
                "two healthy pods and two wanted: nothing to spare",
            )
        },
    )?;
    let r = k.run(&["describe", "pdb", "web", "-n", ns]);
    line_words(&r, &["Min", "available:", "2"], "describe pdb")?;
    line_words(&r, &["Selector:", "app=web"], "describe pdb")?;
    line_words(&r, &["Allowed", "disruptions:", "0"], "describe pdb")?;
    line_words(&r, &["Current:", "2"], "describe pdb")?;
    line_words(&r, &["Desired:", "2"], "describe pdb")?;
    line_words(&r, &["Total:", "2"], "describe pdb")?;

    // A raw eviction: the 429 status with the budget's cause.
    let pods = pod_names(k, ns, "web");
    expect(pods.len() == 2, || format!("two web pods, got {pods:?}"))?;
    let ev = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": pods[0], "namespace": ns}});
    let file = write(dir, &format!("{ns}-eviction.json"), &ev);
    let path = format!("/api/v1/namespaces/{ns}/pods/{}/eviction", pods[0]);
    let r = k.run(&["create", "--raw", &path, "-f", &file, "-v=8"]);
    has(
        &r,
        "Error from server (TooManyRequests): Cannot evict pod as it would violate the pod's disruption budget.",
        "raw eviction refused",
    )?;
    has(&r, "\"reason\":\"TooManyRequests\"", "the 429 body")?;
    has(&r, "\"reason\":\"DisruptionBudget\"", "the budget's cause")?;
    has(
        &r,
        "\"message\":\"The disruption budget web needs 2 healthy pods and has 2 currently\"",
        "the budget's cause",
    )?;

    // A drain the budget blocks: it retries every 5 s until its timeout.
    let r = k.run(&["drain", &a, "--ignore-daemonsets", "--timeout=2s"]);
    expect(!r.ok(), || format!("a blocked drain fails: {r}"))?;
    has(&r, &format!("node/{a} cordoned"), "drain cordons first")?;
    has(&r, &format!("evicting pod {ns}/web-"), "drain evicts")?;
    has(
        &r,
        &format!(
            "\" -n \"{ns}\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget."
        ),
        "the retry line",
    )?;
    has(
        &r,
        "error when evicting pods/\"web-",
        "the retry line names the pod",
    )?;
    has(&r, "global timeout reached: 2s", "the --timeout ending")?;
    let r = k.run(&["get", "node", &a]);
    has_row(
        &r,
        &[&a, "Ready,SchedulingDisabled"],
        "the node stays cordoned",
    )?;

    // One more replica (on b, as a is cordoned) gives the budget room: the drain finishes and
    // the evicted pods come back on b.
    ok(&k.run(&["scale", "deployment/web", "--replicas=3", "-n", ns]))?;
    retry_until(
        k,
        &["get", "pdb", "web", "-n", ns],
        Duration::from_secs(30),
        Duration::from_millis(200),
        |r| has_row(r, &["web", "2", "N/A", "1"], "three healthy, two wanted"),
    )?;
    let r = k.run_with(
        &["drain", &a, "--ignore-daemonsets", "--timeout=60s"],
        &[],
        Duration::from_secs(90),
    );
    ok(&r)?;
    has(&r, "pod/web-", "evicted pods are reported")?;
    has(&r, " evicted", "evicted pods are reported")?;
    has(&r, &format!("node/{a} drained"), "drain finishes")?;
    retry_until(
        k,
        &[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
        ],
        Duration::from_secs(30),
        Duration::from_millis(200),
        |r| {
            let nodes: Vec<&str> = r.stdout.split_whitespace().collect();
            expect(nodes.len() == 3 && nodes.iter().all(|n| *n == b), || {
                format!("every web pod rescheduled on {b}: {r}")
            })
        },
    )?;
    has(
        &k.run(&["uncordon", &a]),
        &format!("node/{a} uncordoned"),
        "uncordon",
    )?;

    // DaemonSet, unmanaged and emptyDir pods: refused without the flags, evicted with them.
    let lonely = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "lonely", "namespace": ns},
        "spec": {"nodeName": a, "containers": [{"name": "nginx", "image": "nginx:1.27"}]}});
    ok(&k.run(&[
        "apply",
        "-f",
        &write(dir, &format!("{ns}-lonely.json"), &lonely),
    ]))?;
    let mut cache = deployment("cache", 1, None);
    cache["metadata"]["namespace"] = json!(ns);
    cache["spec"]["template"]["spec"]["nodeSelector"] = json!({"kubernetes.io/hostname": a});
    cache["spec"]["template"]["spec"]["volumes"] = json!([{"name": "scratch", "emptyDir": {}}]);
    ok(&k.run(&[
        "apply",
        "-f",
        &write(dir, &format!("{ns}-cache.json"), &cache),
    ]))?;
    ok(&k.run_with(
        &[
            "rollout",
            "status",
            "deployment/cache",
            "-n",
            ns,
            "--timeout=60s",
        ],
        &[],
        Duration::from_secs(70),
    ))?;
    let r = k.run(&["drain", &a]);
    expect(!r.ok(), || format!("drain refuses: {r}"))?;
    has(
        &r,
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/kube-proxy-",
        "the DaemonSet refusal",
    )?;
    has(
        &r,
        // The wording is kubectl's own: "cannot delete Pods declare no controller" up to 1.29,
        // "cannot delete cannot delete Pods that declare …" in 1.30, said once from 1.31.
        &format!("declare no controller (use --force to override): {ns}/lonely"),
        "the unmanaged refusal",
    )?;
    has(
        &r,
        &format!(
            "cannot delete Pods with local storage (use --delete-emptydir-data to override): {ns}/cache-"
        ),
        "the emptyDir refusal",
    )?;
    has(
        &r,
        &format!("error: unable to drain node \"{a}\" due to error:"),
        "the ending",
    )?;
    let r = k.run_with(
        &[
            "drain",
            &a,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--force",
            "--timeout=60s",
        ],
        &[],
        Duration::from_secs(90),
    );
    ok(&r)?;
    has(
        &r,
        // Groups come in Go's map order: either may follow "Warning: ".
        &format!("deleting Pods that declare no controller: {ns}/lonely"),
        "warning",
    )?;
    has(
        &r,
        "ignoring DaemonSet-managed Pods: kube-system/kube-proxy-",
        "warning",
    )?;
    has(&r, "Warning: ", "the warnings line")?;
    has(&r, &format!("evicting pod {ns}/lonely"), "evicting")?;
    has(&r, "pod/lonely evicted", "evicted")?;
    has(&r, &format!("evicting pod {ns}/cache-"), "evicting")?;
    has(&r, &format!("node/{a} drained"), "drained")?;
    has(
        &k.run(&["uncordon", &a]),
        &format!("node/{a} uncordoned"),
        "uncordon",
    )?;
    has(
        &k.run(&["uncordon", &a]),
        &format!("node/{a} already uncordoned"),
        "uncordon twice",
    )?;

    // The node's Lease.
    let r = k.run(&["describe", "node", &a]);
    line_words(&r, &["Lease:"], "describe node has a Lease section")?;
    line_words(&r, &["HolderIdentity:", &a], "lease holder")?;
    line_words(
        &r,
        &["AcquireTime:", "<unset>"],
        "the kubelet sets no acquire time",
    )?;
    has(&r, "  RenewTime:", "renew time")?;
    let r = k.run(&["get", "leases", "-n", "kube-node-lease"]);
    header(&r, &["NAME", "HOLDER", "AGE"], "get leases")?;
    has_row(&r, &[&a, &a], "a lease per node")?;
    Ok(())
}

/// The whole flow on every installed kubectl, each on nodes of its own.
#[test]
fn drain_with_budgets_on_every_kubectl() {
    let versions = kubectl_binaries();
    let tc = TestCluster::start_with(ClusterConfig {
        speed: 20.0,
        nodes: nodes_for("dd", &versions),
        ..ClusterConfig::default()
    });
    let dir = tempfile::tempdir().expect("scratch");
    let dir = dir.path();
    on_kubectls(&tc, &versions, "dd", |k, ns| drain_scenario(k, ns, dir));
}

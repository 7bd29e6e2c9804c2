//! Garbage collection and deletion propagation (WORKLOADS.md §2): golden sequences on a paused
//! virtual clock for each policy on a real Deployment → ReplicaSet → Pod chain (background:
//! the owner goes at once and its dependents after it; foreground: the owner stays listed with
//! `deletionTimestamp` and `foregroundDeletion` until pods, then the ReplicaSet, then itself
//! are gone; orphan: the owner goes, its dependents stay without the reference), a Job deleted
//! with no policy (its pods stay, with the server's warning), and real kubectl of every
//! installed version driving `delete` with each `--cascade`.

use std::time::{Duration, Instant};

use kq_sim::kinds::{self, ResourceKind};
use kq_sim::store::{DeleteOptions, EventType, WatchStart, WriteOptions};
use kq_tests::check::{Step, has, ok};
use kq_tests::cluster::{Kubectl, TestCluster, advance_until, on_every_kubectl};
use serde_json::{Value, json};

const NS: &str = "default";

fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
            },
        },
    })
}

fn list(tc: &TestCluster, kind: &ResourceKind) -> Vec<Value> {
    tc.cluster()
        .store()
        .list_raw(kind, Some(NS))
        .iter()
        .map(|v| (**v).clone())
        .collect()
}

fn get(tc: &TestCluster, kind: &ResourceKind, name: &str) -> Option<Value> {
    tc.cluster()
        .store()
        .get_raw(kind, NS, name)
        .map(|v| (*v).clone())
}

fn name(v: &Value) -> String {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn finalizers(v: &Value) -> Vec<String> {
    v.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

fn terminating(v: &Value) -> bool {
    v.pointer("/metadata/deletionTimestamp").is_some()
}

/// A Deployment `web` with `replicas` ready pods; returns the ReplicaSet's name.
fn rolled_out_web(tc: &TestCluster, replicas: i64) -> String {
    tc.cluster()
        .store()
        .create(
            &kinds::deployment::KIND,
            NS,
            deployment("web", replicas),
            &WriteOptions::default(),
        )
        .expect("the Deployment is accepted");
    tc.cluster().settle();
    advance_until(tc, 120, || {
        get(tc, &kinds::deployment::KIND, "web")
            .and_then(|d| d.pointer("/status/readyReplicas").and_then(Value::as_i64))
            == Some(replicas)
    });
    let rs = list(tc, &kinds::replicaset::KIND);
    assert_eq!(rs.len(), 1, "one ReplicaSet");
    assert_eq!(list(tc, &kinds::pod::KIND).len(), replicas as usize);
    name(&rs[0])
}

fn delete(tc: &TestCluster, kind: &'static ResourceKind, obj: &str, policy: Option<&str>) {
    let opts = DeleteOptions {
        propagation_policy: policy.map(str::to_string),
        ..DeleteOptions::default()
    };
    tc.cluster()
        .store()
        .delete(kind, NS, obj, &opts)
        .expect("the delete is accepted");
    tc.cluster().settle();
}

/// Records the order in which objects of some kinds are removed for good.
struct Removals {
    subs: Vec<tokio::sync::broadcast::Receiver<kq_sim::store::WatchEvent>>,
}

impl Removals {
    fn watch(tc: &TestCluster, kinds: &[&'static ResourceKind]) -> Self {
        let store = tc.cluster().store();
        let rv = store.resource_version();
        let subs = kinds
            .iter()
            .map(|k| {
                store
                    .subscribe(*k, WatchStart::After(rv))
                    .expect("watch")
                    .rx
            })
            .collect();
        Removals { subs }
    }

    /// `kind/name` of every removal so far, in resourceVersion order.
    fn so_far(&mut self) -> Vec<String> {
        let mut seen: Vec<(u64, String)> = vec![];
        for rx in &mut self.subs {
            while let Ok(ev) = rx.try_recv() {
                if ev.kind == EventType::Deleted {
                    let kind = ev.object["kind"].as_str().unwrap_or_default().to_string();
                    seen.push((ev.rv, format!("{kind}/{}", name(&ev.object))));
                }
            }
        }
        seen.sort();
        seen.into_iter().map(|(_, s)| s).collect()
    }
}

#[test]
fn background_removes_the_deployment_at_once_and_the_collector_takes_the_rest() {
    let tc = TestCluster::paused();
    let rs = rolled_out_web(&tc, 2);
    let mut removals = Removals::watch(&tc, &[&kinds::deployment::KIND, &kinds::replicaset::KIND]);
    delete(&tc, &kinds::deployment::KIND, "web", Some("Background"));
    assert!(get(&tc, &kinds::deployment::KIND, "web").is_none());
    assert!(
        get(&tc, &kinds::replicaset::KIND, &rs).is_none(),
        "the ReplicaSet goes in the same moment"
    );
    assert_eq!(
        removals.so_far(),
        ["Deployment/web".to_string(), format!("ReplicaSet/{rs}")]
    );
    let pods = list(&tc, &kinds::pod::KIND);
    assert_eq!(pods.len(), 2, "pods are Terminating, not gone yet");
    assert!(pods.iter().all(terminating));
    let secs = advance_until(&tc, 60, || list(&tc, &kinds::pod::KIND).is_empty());
    assert!(secs <= 31, "pods go within their grace period: {secs} s");
}

#[test]
fn with_no_policy_a_deployment_deletes_in_the_background_too() {
    let tc = TestCluster::paused();
    let rs = rolled_out_web(&tc, 1);
    delete(&tc, &kinds::deployment::KIND, "web", None);
    assert!(get(&tc, &kinds::deployment::KIND, "web").is_none());
    assert!(get(&tc, &kinds::replicaset::KIND, &rs).is_none());
    advance_until(&tc, 60, || list(&tc, &kinds::pod::KIND).is_empty());
}

#[test]
fn foreground_keeps_the_deployment_listed_until_pods_then_the_replica_set_are_gone() {
    let tc = TestCluster::paused();
    let rs = rolled_out_web(&tc, 2);
    let mut removals = Removals::watch(
        &tc,
        &[
            &kinds::deployment::KIND,
            &kinds::replicaset::KIND,
            &kinds::pod::KIND,
        ],
    );
    delete(&tc, &kinds::deployment::KIND, "web", Some("Foreground"));

    let d = get(&tc, &kinds::deployment::KIND, "web").expect("still listed");
    assert!(terminating(&d));
    assert_eq!(finalizers(&d), ["foregroundDeletion"]);
    assert_eq!(d["metadata"]["deletionGracePeriodSeconds"], json!(0));
    let r = get(&tc, &kinds::replicaset::KIND, &rs).expect("still listed");
    assert!(terminating(&r));
    assert_eq!(
        finalizers(&r),
        ["foregroundDeletion"],
        "a dependent that has dependents of its own is deleted in the foreground"
    );
    let pods = list(&tc, &kinds::pod::KIND);
    assert_eq!(
        pods.len(),
        2,
        "no replacement pods while the ReplicaSet is deleting"
    );
    assert!(pods.iter().all(terminating));
    assert!(removals.so_far().is_empty());

    advance_until(&tc, 60, || {
        get(&tc, &kinds::deployment::KIND, "web").is_none()
    });
    let order = removals.so_far();
    assert_eq!(order.len(), 4, "{order:?}");
    assert!(
        order[..2].iter().all(|s| s.starts_with("Pod/")),
        "{order:?}"
    );
    assert_eq!(order[2], format!("ReplicaSet/{rs}"));
    assert_eq!(order[3], "Deployment/web");
}

#[test]
fn orphan_removes_the_deployment_and_leaves_its_replica_set_and_pods_running() {
    let tc = TestCluster::paused();
    let rs = rolled_out_web(&tc, 2);
    let pods_before: Vec<String> = list(&tc, &kinds::pod::KIND).iter().map(name).collect();
    delete(&tc, &kinds::deployment::KIND, "web", Some("Orphan"));
    assert!(get(&tc, &kinds::deployment::KIND, "web").is_none());
    let r = get(&tc, &kinds::replicaset::KIND, &rs).expect("the ReplicaSet stays");
    assert!(!terminating(&r));
    assert!(
        r.pointer("/metadata/ownerReferences").is_none(),
        "no reference to the deleted Deployment: {r}"
    );
    tc.cluster().advance(Duration::from_secs(30));
    let pods = list(&tc, &kinds::pod::KIND);
    let mut names: Vec<String> = pods.iter().map(name).collect();
    names.sort();
    let mut before = pods_before.clone();
    before.sort();
    assert_eq!(names, before, "the same pods keep running");
    for p in &pods {
        assert!(!terminating(p));
        assert_eq!(p["metadata"]["ownerReferences"][0]["name"], json!(rs));
    }
}

fn sleeping_job(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": name, "image": "busybox:1.36", "command": ["sleep", "3600"]}],
        }}},
    })
}

#[test]
fn a_job_deleted_without_a_policy_orphans_its_pod_and_warns() {
    let tc = TestCluster::paused();
    let store = tc.cluster().store();
    store
        .create(
            &kinds::job::KIND,
            NS,
            sleeping_job("batch"),
            &WriteOptions::default(),
        )
        .expect("the Job is accepted");
    tc.cluster().settle();
    advance_until(&tc, 60, || list(&tc, &kinds::pod::KIND).len() == 1);
    let pod = name(&list(&tc, &kinds::pod::KIND)[0]);

    let (_, warnings) = store
        .delete_with_warnings(&kinds::job::KIND, NS, "batch", &DeleteOptions::default())
        .expect("accepted");
    assert_eq!(
        warnings,
        [
            "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"
        ]
    );
    tc.cluster().settle();
    advance_until(&tc, 10, || get(&tc, &kinds::job::KIND, "batch").is_none());
    tc.cluster().advance(Duration::from_secs(30));
    let p = get(&tc, &kinds::pod::KIND, &pod).expect("the pod stays");
    assert!(!terminating(&p));
    assert!(
        p.pointer("/metadata/ownerReferences").is_none(),
        "orphaned: {p}"
    );
}

#[test]
fn deleting_a_cronjob_takes_its_jobs_and_their_pods_even_though_jobs_orphan_by_default() {
    let tc = TestCluster::paused();
    let cj = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
    "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "tick", "image": "busybox:1.36", "command": ["sleep", "3600"]}],
    }}}}}});
    tc.cluster()
        .store()
        .create(&kinds::cronjob::KIND, NS, cj, &WriteOptions::default())
        .expect("the CronJob is accepted");
    tc.cluster().settle();
    advance_until(&tc, 130, || {
        list(&tc, &kinds::pod::KIND)
            .iter()
            .any(|p| p.pointer("/status/phase").and_then(Value::as_str) == Some("Running"))
    });
    let jobs = list(&tc, &kinds::job::KIND);
    assert_eq!(jobs.len(), 1);
    let job = name(&jobs[0]);
    assert!(job.starts_with("tick-"), "{job}");

    let mut removals = Removals::watch(&tc, &[&kinds::cronjob::KIND, &kinds::job::KIND]);
    delete(&tc, &kinds::cronjob::KIND, "tick", Some("Background"));
    assert!(get(&tc, &kinds::cronjob::KIND, "tick").is_none());
    assert!(
        get(&tc, &kinds::job::KIND, &job).is_none(),
        "the collector deletes the Job in the background, not with the Job's orphan default"
    );
    assert_eq!(
        removals.so_far(),
        ["CronJob/tick".to_string(), format!("Job/{job}")]
    );
    assert!(list(&tc, &kinds::pod::KIND).iter().all(terminating));
    advance_until(&tc, 60, || list(&tc, &kinds::pod::KIND).is_empty());
}

#[test]
fn a_statefulset_deleted_in_the_foreground_outlives_its_pods_and_revisions() {
    let tc = TestCluster::paused();
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"serviceName": "db", "replicas": 2,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}});
    tc.cluster()
        .store()
        .create(&kinds::statefulset::KIND, NS, sts, &WriteOptions::default())
        .expect("the StatefulSet is accepted");
    tc.cluster().settle();
    advance_until(&tc, 120, || {
        get(&tc, &kinds::statefulset::KIND, "db")
            .and_then(|d| d.pointer("/status/readyReplicas").and_then(Value::as_i64))
            == Some(2)
    });
    let revisions: Vec<String> = list(&tc, &kinds::controllerrevision::KIND)
        .iter()
        .map(name)
        .collect();
    assert_eq!(revisions.len(), 1, "{revisions:?}");

    let mut removals = Removals::watch(
        &tc,
        &[
            &kinds::statefulset::KIND,
            &kinds::controllerrevision::KIND,
            &kinds::pod::KIND,
        ],
    );
    delete(&tc, &kinds::statefulset::KIND, "db", Some("Foreground"));
    let s = get(&tc, &kinds::statefulset::KIND, "db").expect("still listed");
    assert_eq!(finalizers(&s), ["foregroundDeletion"]);
    advance_until(&tc, 60, || {
        get(&tc, &kinds::statefulset::KIND, "db").is_none()
    });
    let order = removals.so_far();
    let mut pods_gone: Vec<&String> = order.iter().filter(|s| s.starts_with("Pod/")).collect();
    pods_gone.sort();
    assert_eq!(pods_gone, ["Pod/db-0", "Pod/db-1"], "{order:?}");
    assert!(
        order.contains(&format!("ControllerRevision/{}", revisions[0])),
        "{order:?}"
    );
    assert!(
        list(&tc, &kinds::controllerrevision::KIND).is_empty(),
        "no revision outlives the set"
    );
    assert_eq!(order.last().map(String::as_str), Some("StatefulSet/db"));
}

// ----- real kubectl ----------------------------------------------------------------------

/// Poll `args` until its stdout satisfies `cond` (20 s of wall time at most).
fn eventually(k: &Kubectl, args: &[&str], why: &str, cond: impl Fn(&str) -> bool) -> Step {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run = k.run(args);
        if run.ok() && cond(&run.stdout) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{why}: never held; last {run}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn lines(out: &str) -> usize {
    out.lines().filter(|l| !l.trim().is_empty()).count()
}

/// Create from a manifest file (`create -f` sends JSON with every kubectl version).
fn create_from(k: &Kubectl, dir: &std::path::Path, ns: &str, name: &str, obj: &Value) -> Step {
    let file = dir.join(format!("{ns}-{name}.json"));
    std::fs::write(&file, obj.to_string()).map_err(|e| format!("write {file:?}: {e}"))?;
    let path = file.to_string_lossy().to_string();
    ok(&k.run(&["create", "-f", &path, "-n", ns]))
}

fn create_web(k: &Kubectl, dir: &std::path::Path, ns: &str, app: &str) -> Step {
    create_from(k, dir, ns, app, &deployment(app, 2))?;
    let sel = format!("app={app}");
    eventually(
        k,
        &["get", "pods", "-n", ns, "-l", &sel, "--no-headers"],
        &format!("{app}'s two pods exist"),
        |out| lines(out) == 2,
    )
}

fn scenario(k: &Kubectl, dir: &std::path::Path, ns: &str) -> Step {
    ok(&k.run(&["create", "namespace", ns]))?;

    // Background (kubectl's default): gone at once, the rest follows.
    create_web(k, dir, ns, "web")?;
    let run = k.run(&["delete", "deploy/web", "-n", ns]);
    ok(&run)?;
    if run.stdout.trim() != "deployment.apps \"web\" deleted" {
        return Err(format!("delete prints one line: {run}"));
    }
    eventually(
        k,
        &["get", "rs,pods", "-n", ns, "-l", "app=web", "--no-headers"],
        "the ReplicaSet and pods follow",
        |out| lines(out) == 0,
    )?;

    // Foreground: kubectl waits for the Deployment, which waits for everything below it.
    create_web(k, dir, ns, "fg")?;
    let run = k.run(&[
        "delete",
        "deployment",
        "fg",
        "--cascade=foreground",
        "-n",
        ns,
    ]);
    ok(&run)?;
    has(&run, "deployment.apps \"fg\" deleted", "foreground delete")?;
    let left = k.run(&["get", "rs,pods", "-n", ns, "-l", "app=fg", "--no-headers"]);
    ok(&left)?;
    if lines(&left.stdout) != 0 {
        return Err(format!(
            "once a foreground delete returns, nothing below is left: {left}"
        ));
    }

    // Orphan: the Deployment goes, the ReplicaSet and its pods stay, unowned.
    create_web(k, dir, ns, "orph")?;
    let run = k.run(&["delete", "deployment", "orph", "--cascade=orphan", "-n", ns]);
    ok(&run)?;
    has(&run, "deployment.apps \"orph\" deleted", "orphan delete")?;
    let rs = k.run(&[
        "get",
        "rs",
        "-n",
        ns,
        "-l",
        "app=orph",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} owners={.metadata.ownerReferences}{\"\\n\"}{end}",
    ]);
    ok(&rs)?;
    let rows: Vec<&str> = rs.stdout.lines().collect();
    if rows.len() != 1 || !rows[0].starts_with("orph-") || !rows[0].ends_with("owners=") {
        return Err(format!("one unowned ReplicaSet stays: {rs}"));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pods = k.run(&["get", "pods", "-n", ns, "-l", "app=orph", "--no-headers"]);
    ok(&pods)?;
    if lines(&pods.stdout) != 2 || pods.stdout.contains("Terminating") {
        return Err(format!("the orphaned pods keep running: {pods}"));
    }

    // The deprecated boolean spelling still orphans, with kubectl's warning.
    create_web(k, dir, ns, "old")?;
    let run = k.run(&["delete", "deployment", "old", "--cascade=false", "-n", ns]);
    ok(&run)?;
    has(
        &run,
        "warning: --cascade=false is deprecated (boolean value) and can be replaced with --cascade=orphan.",
        "boolean cascade",
    )?;
    eventually(
        k,
        &["get", "rs", "-n", ns, "-l", "app=old", "--no-headers"],
        "--cascade=false orphans the ReplicaSet",
        |out| lines(out) == 1,
    )?;

    let run = k.run(&[
        "delete",
        "deployment",
        "old-rs",
        "--cascade=bogus",
        "-n",
        ns,
    ]);
    if run.ok() {
        return Err(format!("a bad --cascade fails: {run}"));
    }
    has(
        &run,
        "error: invalid cascade value (bogus). Must be \"background\", \"foreground\", or \"orphan\"",
        "bad cascade",
    )?;

    // A Job deleted through the raw API with no policy: the server's default orphans its pod
    // and says so in a warning kubectl prints.
    create_from(k, dir, ns, "batch", &sleeping_job("batch"))?;
    eventually(
        k,
        &[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            "job-name=batch",
            "--no-headers",
        ],
        "the Job's pod exists",
        |out| lines(out) == 1,
    )?;
    let path = format!("/apis/batch/v1/namespaces/{ns}/jobs/batch");
    let run = k.run(&["delete", "--raw", &path]);
    ok(&run)?;
    has(
        &run,
        "Warning: child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning",
        "the Job delete's warning",
    )?;
    eventually(
        k,
        &["get", "jobs", "-n", ns, "--no-headers"],
        "the Job goes once its pod is orphaned",
        |out| lines(out) == 0,
    )?;
    let pods = k.run(&[
        "get",
        "pods",
        "-n",
        ns,
        "-l",
        "job-name=batch",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} owners={.metadata.ownerReferences}{\"\\n\"}{end}",
    ]);
    ok(&pods)?;
    let rows: Vec<&str> = pods.stdout.lines().collect();
    if rows.len() != 1 || !rows[0].ends_with("owners=") {
        return Err(format!("the Job's pod stays, unowned: {pods}"));
    }

    // kubectl itself always sends Background: a Job's pods go with it.
    create_from(k, dir, ns, "gone", &sleeping_job("gone"))?;
    eventually(
        k,
        &[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            "job-name=gone",
            "--no-headers",
        ],
        "the second Job's pod exists",
        |out| lines(out) == 1,
    )?;
    let run = k.run(&["delete", "job", "gone", "-n", ns]);
    ok(&run)?;
    has(&run, "job.batch \"gone\" deleted", "job delete")?;
    if run.stderr.contains("preserved") {
        return Err(format!(
            "kubectl's Background delete gets no warning: {run}"
        ));
    }
    eventually(
        k,
        &[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            "job-name=gone",
            "--no-headers",
        ],
        "the Job's pod goes with it",
        |out| lines(out) == 0,
    )
}

#[test]
fn every_kubectl_version_deletes_with_each_cascade() {
    let tc = TestCluster::start_with(kq_sim::ClusterConfig {
        speed: 20.0,
        ..kq_sim::ClusterConfig::default()
    });
    on_every_kubectl(&tc, "gc", |k, ns| scenario(k, tc.dir(), ns));
}

// ----- the DELETE request itself -----------------------------------------------------------

/// Status code, `Warning` headers and JSON body of one raw request.
async fn request(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Vec<String>, Value) {
    use http_body_util::BodyExt;
    let req = hyper::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(kube::client::Body::from(body.as_bytes().to_vec()))
        .expect("a request");
    let res = client.send(req).await.expect("the server answers");
    let code = res.status().as_u16();
    let warnings = res
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let bytes = res.into_body().collect().await.expect("a body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (code, warnings, json)
}

#[test]
fn delete_requests_carry_the_policy_the_warning_and_the_real_refusals() {
    // The API server alone: what the DELETE answers, not what the collector does next.
    let tc = TestCluster::start_with(kq_sim::ClusterConfig {
        controllers: false,
        ..kq_sim::ClusterConfig::default()
    });
    let store = tc.cluster().store();
    for job in ["quiet", "loud"] {
        store
            .create(
                &kinds::job::KIND,
                NS,
                sleeping_job(job),
                &WriteOptions::default(),
            )
            .expect("job");
    }
    let held = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]}});
    store
        .create(&kinds::configmap::KIND, NS, held, &WriteOptions::default())
        .expect("configmap");
    let jobs = format!("/apis/batch/v1/namespaces/{NS}/jobs");
    let cms = format!("/api/v1/namespaces/{NS}/configmaps");
    tc.block_on(async {
        let client = kq_tests::cluster::kube_client(tc.cluster()).await;

        let (code, warnings, body) = request(&client, "DELETE", &format!("{jobs}/loud"), "").await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            warnings,
            ["299 - \"child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning\""]
        );
        assert_eq!(body["kind"], "Job", "the Job, still there: {body}");
        assert_eq!(body["metadata"]["finalizers"], json!(["orphan"]));
        assert!(body["metadata"]["deletionTimestamp"].is_string());

        let (code, warnings, body) = request(
            &client,
            "DELETE",
            &format!("{jobs}/quiet?propagationPolicy=Background"),
            "",
        )
        .await;
        assert_eq!(code, 200, "{body}");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["status"], "Success");
        assert_eq!(body["details"]["group"], "batch");

        let (code, _, body) = request(
            &client,
            "DELETE",
            &format!("{cms}/held"),
            r#"{"propagationPolicy":"bogus"}"#,
        )
        .await;
        assert_eq!(code, 422, "{body}");
        assert_eq!(body["reason"], "Invalid");
        assert_eq!(
            body["message"],
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"bogus\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
        );
        let (code, _, body) = request(
            &client,
            "DELETE",
            &format!("{cms}/held"),
            r#"{"propagationPolicy":"Orphan","orphanDependents":true}"#,
        )
        .await;
        assert_eq!(code, 422, "{body}");
        assert_eq!(
            body["message"],
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"Orphan\": orphanDependents and deletionPropagation cannot be both set"
        );

        // The deprecated boolean asking for dependents to go, on an object that stays: 202.
        let (code, _, body) = request(
            &client,
            "DELETE",
            &format!("{cms}/held"),
            r#"{"orphanDependents":false}"#,
        )
        .await;
        assert_eq!(code, 202, "{body}");
        assert_eq!(body["metadata"]["finalizers"], json!(["example.com/hold"]));
        // Foreground through the body: the finalizer joins the one already there.
        let (code, _, body) = request(
            &client,
            "DELETE",
            &format!("{cms}/held"),
            r#"{"propagationPolicy":"Foreground"}"#,
        )
        .await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            body["metadata"]["finalizers"],
            json!(["example.com/hold", "foregroundDeletion"])
        );
    });
}

#[test]
fn a_hundred_replica_deployment_deleted_in_the_foreground_leaves_nothing_behind() {
    let tc = TestCluster::paused();
    let started = Instant::now();
    rolled_out_web(&tc, 100);
    let rolled = started.elapsed();
    let t = Instant::now();
    delete(&tc, &kinds::deployment::KIND, "web", Some("Foreground"));
    let secs = advance_until(&tc, 120, || {
        get(&tc, &kinds::deployment::KIND, "web").is_none()
    });
    let collected = t.elapsed();
    eprintln!(
        "100 replicas: rolled out in {rolled:?} wall; foreground delete done after {secs} virtual s in {collected:?} wall"
    );
    assert!(list(&tc, &kinds::pod::KIND).is_empty());
    assert!(list(&tc, &kinds::replicaset::KIND).is_empty());
}

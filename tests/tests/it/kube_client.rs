//! The `kube` crate against the embedded cluster: typed CRUD, every patch type, logs, raw
//! watch semantics, and a kube-runtime watcher that survives an in-stream 410 (re-list) and
//! a server-closed stream (re-watch), as the desktop app's pipeline watcher must.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount};
use kq_sim::{Cluster, ClusterConfig, RunningCluster};
use kq_tests::cluster::kube_client;
use kube::api::{
    Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

/// The API server alone: these tests write pod statuses and bindings themselves, so the
/// embedded scheduler and kubelet stay off and every resourceVersion is the test's own.
fn api_only() -> ClusterConfig {
    ClusterConfig {
        controllers: false,
        ..ClusterConfig::default()
    }
}

async fn start(config: ClusterConfig) -> (RunningCluster, kube::Client) {
    let cluster = Cluster::start(config).await.expect("cluster starts");
    let client = kube_client(&cluster).await;
    (cluster, client)
}

async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
    )
    .await
    .expect("namespace created");
}

fn pod(name: &str, image: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": image}]}
    }))
    .unwrap()
}

fn api_err(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error Status, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_crud_with_server_defaults_and_real_errors() {
    let (cluster, client) = start(api_only()).await;
    let info = client.apiserver_version().await.expect("/version");
    assert_eq!(
        info.git_version, "v1.33.4",
        "the server looks like a real 1.33 release"
    );

    namespace(&client, "crud").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "crud");
    let created = pods
        .create(&PostParams::default(), &pod("web", "nginx"))
        .await
        .expect("create");
    let spec = created.spec.as_ref().expect("spec");
    assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
    assert_eq!(
        spec.containers[0].image_pull_policy.as_deref(),
        Some("Always"),
        "untagged image → Always"
    );
    assert_eq!(spec.service_account_name.as_deref(), Some("default"));
    let status = created.status.as_ref().expect("status");
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
    assert!(
        status.conditions.is_none(),
        "no scheduler yet, so no conditions"
    );
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());

    let sized: Pod = serde_json::from_value(json!({"metadata": {"name": "sized"}, "spec": {"containers": [
        {"name": "c", "image": "nginx:1.25", "resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"}}}]}}))
    .unwrap();
    let sized = pods
        .create(&PostParams::default(), &sized)
        .await
        .expect("create with limits");
    let res = sized.spec.unwrap().containers[0].resources.clone().unwrap();
    assert_eq!(
        res.requests.unwrap()["cpu"].0,
        "500m",
        "requests default to limits, canonicalised"
    );
    assert_eq!(res.limits.unwrap()["memory"].0, "1Gi");
    assert_eq!(
        sized.status.unwrap().qos_class.as_deref(),
        Some("Guaranteed")
    );
    pods.delete("sized", &DeleteParams::default())
        .await
        .unwrap();

    let list = pods.list(&ListParams::default()).await.expect("list");
    assert!(
        list.metadata.resource_version.is_some(),
        "lists must carry a resourceVersion"
    );
    assert_eq!(list.items.len(), 1);
    assert!(pods.get_opt("nope").await.expect("get_opt").is_none());

    let dup = api_err(
        pods.create(&PostParams::default(), &pod("web", "nginx"))
            .await
            .unwrap_err(),
    );
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(dup.message, "pods \"web\" already exists");

    let mut stale = created.clone();
    stale.metadata.resource_version = Some("1".into());
    let conflict = api_err(
        pods.replace("web", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(
        conflict.message.contains("the object has been modified"),
        "{}",
        conflict.message
    );

    let invalid = api_err(
        pods.create(&PostParams::default(), &pod("web2", ""))
            .await
            .unwrap_err(),
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        invalid.message,
        "Pod \"web2\" is invalid: spec.containers[0].image: Required value"
    );

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "crud");
    let names: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(
        names,
        ["kube-root-ca.crt"],
        "every namespace gets the root CA bundle"
    );
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "crud");
    assert!(
        sas.get_opt("default").await.unwrap().is_some(),
        "every namespace gets a default service account"
    );

    let before = sas.get("default").await.unwrap().metadata.uid;
    sas.delete("default", &DeleteParams::default())
        .await
        .expect("delete default SA");
    let after = sas
        .get("default")
        .await
        .expect("the controller recreates the default service account")
        .metadata
        .uid;
    assert_ne!(
        before, after,
        "a new default service account, as the controller manager makes"
    );

    let secrets: Api<Secret> = Api::namespaced(client.clone(), "crud");
    let s = secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "creds"}, "stringData": {"user": "ada"}}),
            )
            .unwrap(),
        )
        .await
        .expect("secret");
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
    assert_eq!(
        s.data.unwrap()["user"].0,
        b"ada",
        "stringData folds into data"
    );

    let svcs: Api<Service> = Api::namespaced(client.clone(), "crud");
    let svc = svcs
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})).unwrap(),
        )
        .await
        .expect("service");
    let spec = svc.spec.unwrap();
    assert!(
        spec.cluster_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.96.")),
        "a ClusterIP is allocated"
    );
    assert_eq!(
        spec.ports.unwrap()[0].target_port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(80))
    );

    // An unscheduled pod is removed at once; the object comes back.
    let deleted = pods
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(deleted.is_left(), "pod deletes return the object");
    assert!(pods.get_opt("web").await.unwrap().is_none());
    let gone = api_err(
        pods.delete("web", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (gone.code, gone.message.as_str()),
        (404, "pods \"web\" not found")
    );
    cluster
        .store()
        .check_consistency()
        .expect("consistent store");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_patch_type() {
    let (cluster, client) = start(api_only()).await;
    namespace(&client, "patch").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "patch");
    let two: Pod = serde_json::from_value(json!({
        "metadata": {"name": "two"},
        "spec": {"containers": [{"name": "a", "image": "nginx:1.24", "ports": [{"containerPort": 80}]}, {"name": "b", "image": "busybox:1.36"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &two).await.unwrap();

    // Strategic merge: containers merge by name; untouched fields survive.
    let p = pods
        .patch(
            "two",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"spec": {"containers": [{"name": "a", "image": "nginx:1.25"}]}}),
            ),
        )
        .await
        .expect("strategic");
    let cs = p.spec.unwrap().containers;
    assert_eq!(
        (cs[0].image.as_deref(), cs[1].image.as_deref()),
        (Some("nginx:1.25"), Some("busybox:1.36"))
    );
    assert_eq!(
        cs[0].ports.as_ref().unwrap()[0].container_port,
        80,
        "strategic merge keeps the other fields"
    );

    // Merge patch (RFC 7386).
    let p = pods
        .patch(
            "two",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}})),
        )
        .await
        .expect("merge");
    assert_eq!(p.metadata.labels.unwrap()["tier"], "web");

    // JSON patch (RFC 6902), and a failing test op.
    let ops: json_patch::Patch = serde_json::from_value(
        json!([{"op": "add", "path": "/metadata/annotations", "value": {"note": "hi"}}]),
    )
    .unwrap();
    let p = pods
        .patch("two", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .expect("json patch");
    assert_eq!(p.metadata.annotations.unwrap()["note"], "hi");
    let bad: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/metadata/name", "value": "other"}]))
            .unwrap();
    let e = api_err(
        pods.patch("two", &PatchParams::default(), &Patch::Json::<()>(bad))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422, "a failed JSON patch is unprocessable: {e:?}");

    // Server-side apply: creates (201 upstream), then updates.
    let ssa = PatchParams::apply("kq-tests").force();
    let applied = pods
        .patch("ssa", &ssa, &Patch::Apply(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ssa"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})))
        .await
        .expect("apply creates");
    assert_eq!(applied.status.unwrap().phase.as_deref(), Some("Pending"));
    let applied = pods
        .patch("ssa", &ssa, &Patch::Apply(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ssa", "labels": {"v": "2"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]}})))
        .await
        .expect("apply updates");
    assert_eq!(
        applied.spec.unwrap().containers[0].image.as_deref(),
        Some("nginx:1.26")
    );

    // Status goes through /status only.
    let p = pods
        .patch_status(
            "two",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running"}})),
        )
        .await
        .expect("status patch");
    assert_eq!(p.status.unwrap().phase.as_deref(), Some("Running"));
    let p = pods
        .patch(
            "two",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Failed"}})),
        )
        .await
        .expect("main-resource patch");
    assert_eq!(
        p.status.unwrap().phase.as_deref(),
        Some("Running"),
        "the main resource cannot change status"
    );

    // Pod update rules.
    let e = api_err(
        pods.patch(
            "two",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"restartPolicy": "Never"}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert!(
        e.message.starts_with(
            "Pod \"two\" is invalid: spec: Forbidden: pod updates may not change fields other than"
        ),
        "{}",
        e.message
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_through_the_api() {
    let (cluster, client) = start(api_only()).await;
    namespace(&client, "logs").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "logs");
    let mut p = pod("app", "busybox:1.36");
    p.spec.as_mut().unwrap().node_name = Some("node-1".into());
    pods.create(&PostParams::default(), &p).await.unwrap();
    pods.patch_status(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running", "containerStatuses": [{"name": "c", "image": "busybox:1.36", "imageID": "", "ready": true, "restartCount": 0,
            "containerID": "containerd://abc", "state": {"running": {"startedAt": "2025-01-01T00:00:00Z"}}}]}})),
    )
    .await
    .unwrap();
    cluster
        .write_log("logs", "app", "c", "one\ntwo\nthree\n")
        .unwrap();
    let text = pods
        .logs(
            "app",
            &LogParams {
                tail_lines: Some(2),
                ..Default::default()
            },
        )
        .await
        .expect("logs");
    assert_eq!(text, "two\nthree\n");
    let e = api_err(
        pods.logs(
            "app",
            &LogParams {
                previous: true,
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 400);
    assert_eq!(
        e.message,
        "previous terminated container \"c\" in pod \"app\" not found"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_watch_semantics() {
    let config = ClusterConfig {
        bookmark_interval: Duration::from_millis(200),
        ..api_only()
    };
    let (cluster, client) = start(config).await;
    namespace(&client, "w").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "w");
    let rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    pods.create(&PostParams::default(), &pod("a", "nginx:1.25"))
        .await
        .unwrap();
    pods.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "other"}}})),
    )
    .await
    .unwrap();
    pods.create(&PostParams::default(), &pod("b", "nginx:1.25"))
        .await
        .unwrap();

    // Replay from a resourceVersion: every change after it, in order.
    let wp = WatchParams::default().timeout(5);
    let mut s = pods.watch(&wp, &rv).await.unwrap().boxed();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), s.try_next())
            .await
            .expect("events arrive")
            .unwrap()
        {
            Some(WatchEvent::Added(p)) => seen.push(format!("ADDED {}", p.metadata.name.unwrap())),
            Some(WatchEvent::Modified(p)) => {
                seen.push(format!("MODIFIED {}", p.metadata.name.unwrap()))
            }
            Some(WatchEvent::Bookmark(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["ADDED a", "MODIFIED a", "ADDED b"]);
    // Bookmarks carry kind and apiVersion (kube-rs requires both to parse them).
    let bm = loop {
        match tokio::time::timeout(Duration::from_secs(5), s.try_next())
            .await
            .expect("a bookmark")
            .unwrap()
        {
            Some(WatchEvent::Bookmark(b)) => break b,
            Some(_) => continue,
            None => panic!("stream ended before a bookmark"),
        }
    };
    assert!(!bm.metadata.resource_version.is_empty());
    drop(s);

    // A label selector turns "leaves the selection" into DELETED.
    let sel = WatchParams::default().labels("app=b").timeout(5);
    let rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut s = pods.watch(&sel, &rv).await.unwrap().boxed();
    pods.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "gone"}}})),
    )
    .await
    .unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), s.try_next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ev, Some(WatchEvent::Deleted(_))), "got {ev:?}");
    drop(s);

    // Too old: an in-stream ERROR 410, never an HTTP 410.
    cluster.expire_watches();
    let mut s = pods
        .watch(&wp, &rv)
        .await
        .expect("the watch request itself succeeds")
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), s.try_next())
        .await
        .unwrap()
        .unwrap()
    {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected ERROR 410, got {other:?}"),
    }

    // timeoutSeconds ends the stream.
    let short = WatchParams::default().timeout(1);
    let rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut s = pods.watch(&short, &rv).await.unwrap().boxed();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = s.try_next().await {}
    })
    .await;
    assert!(
        end.is_ok(),
        "the server closes the stream after timeoutSeconds"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_watcher_survives_expiry_and_closed_streams() {
    let (cluster, client) = start(api_only()).await;
    namespace(&client, "rt").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "rt");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stream = watcher(pods.clone(), watcher::Config::default()).default_backoff();
    let task = tokio::spawn(async move {
        let mut stream = stream.boxed();
        while let Some(ev) = stream.next().await {
            let line = match ev {
                Ok(watcher::Event::Init) => "INIT".to_string(),
                Ok(watcher::Event::InitApply(p)) => {
                    format!("INITAPPLY {}", p.metadata.name.unwrap_or_default())
                }
                Ok(watcher::Event::InitDone) => "INITDONE".to_string(),
                Ok(watcher::Event::Apply(p)) => {
                    format!("APPLY {}", p.metadata.name.unwrap_or_default())
                }
                Ok(watcher::Event::Delete(p)) => {
                    format!("DELETE {}", p.metadata.name.unwrap_or_default())
                }
                Err(e) => format!("ERR {e}"),
            };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    async fn expect(
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
        want: &str,
        log: &mut Vec<String>,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let line = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("watcher never produced {want:?}; saw {log:?}"))
                .expect("watcher alive");
            log.push(line.clone());
            if line == want {
                return;
            }
        }
    }
    let mut log = Vec::new();
    expect(&mut rx, "INITDONE", &mut log).await;
    pods.create(&PostParams::default(), &pod("a", "nginx:1.25"))
        .await
        .unwrap();
    expect(&mut rx, "APPLY a", &mut log).await;

    // In-stream 410: the watcher re-lists (a fresh Init … InitDone with pod a) and goes on.
    cluster.expire_watches();
    expect(&mut rx, "INIT", &mut log).await;
    expect(&mut rx, "INITAPPLY a", &mut log).await;
    expect(&mut rx, "INITDONE", &mut log).await;
    pods.create(&PostParams::default(), &pod("b", "nginx:1.25"))
        .await
        .unwrap();
    expect(&mut rx, "APPLY b", &mut log).await;

    // Server-closed stream: the watcher re-watches from its last version without a re-list.
    cluster.close_watches();
    tokio::time::sleep(Duration::from_millis(300)).await;
    pods.create(&PostParams::default(), &pod("c", "nginx:1.25"))
        .await
        .unwrap();
    expect(&mut rx, "APPLY c", &mut log).await;
    pods.delete("c", &DeleteParams::default()).await.unwrap();
    expect(&mut rx, "DELETE c", &mut log).await;
    let relists_after_close = log
        .iter()
        .rev()
        .take_while(|l| *l != "APPLY b")
        .filter(|l| *l == "INIT")
        .count();
    assert_eq!(
        relists_after_close, 0,
        "a closed stream resumes without re-listing: {log:?}"
    );
    task.abort();
    cluster.shutdown().await;
}

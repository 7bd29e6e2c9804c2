//! Raw HTTP against the embedded cluster: authentication, discovery negotiation, the OpenAPI
//! index, tables, and the exact `metav1.Status` a real kube-apiserver returns for each kind of
//! bad request (kubectl prints these messages to learners verbatim).

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::http::Request;
use kq_sim::{Cluster, ClusterConfig, RunningCluster};
use kq_tests::cluster::{kube_client, kube_config};
use serde_json::{Value, json};

struct Resp {
    code: u16,
    content_type: String,
    warnings: Vec<String>,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Assert a `metav1.Status` failure with this code, reason and message.
    fn status(&self, code: u16, reason: &str, message: &str) -> Value {
        let s = self.json();
        assert_eq!(self.code, code, "HTTP code of {s}");
        assert_eq!(s["kind"], "Status", "{s}");
        assert_eq!(s["status"], "Failure", "{s}");
        assert_eq!(s["code"], code, "{s}");
        assert_eq!(s["reason"], reason, "{s}");
        assert_eq!(s["message"], message, "{s}");
        s
    }
}

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(kube::client::Body::from(body)).expect("request");
    let res = client.send(req).await.expect("the server answers");
    let code = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let warnings = res
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let body = res
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Resp {
        code,
        content_type,
        warnings,
        body,
    }
}

async fn json_post(client: &kube::Client, path: &str, body: Value) -> Resp {
    send(
        client,
        "POST",
        path,
        &[("content-type", "application/json")],
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

/// The API server alone: these tests play the scheduler's part themselves (bindings, status
/// writes), so the embedded scheduler and kubelet stay off.
async fn start() -> (RunningCluster, kube::Client) {
    let cluster = Cluster::start(ClusterConfig {
        controllers: false,
        ..ClusterConfig::default()
    })
    .await
    .expect("cluster starts");
    let client = kube_client(&cluster).await;
    (cluster, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_a_request_is_anonymous_and_a_wrong_token_is_unauthorized() {
    let (cluster, _) = start().await;
    let mut cfg = kube_config(&cluster).await;
    cfg.auth_info.token = None;
    let anonymous = kube::Client::try_from(cfg.clone()).unwrap();
    let r = send(&anonymous, "GET", "/version", &[], vec![]).await;
    assert_eq!(r.code, 200, "/version is public, as on real clusters");
    let r = send(
        &anonymous,
        "GET",
        "/api/v1/namespaces/default/pods",
        &[],
        vec![],
    )
    .await;
    // Without credentials the request is `system:anonymous` (kubeadm keeps anonymous auth
    // on), and RBAC refuses it with the usual text.
    r.status(
        403,
        "Forbidden",
        "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
    );
    send(&anonymous, "GET", "/", &[], vec![]).await.status(
        403,
        "Forbidden",
        "forbidden: User \"system:anonymous\" cannot get path \"/\"",
    );
    let r = send(&anonymous, "GET", "/healthz", &[], vec![]).await;
    assert_eq!((r.code, r.body.as_slice()), (200, b"ok".as_slice()));
    cfg.auth_info.token = Some("wrong".to_string().into());
    let wrong = kube::Client::try_from(cfg).unwrap();
    send(&wrong, "GET", "/api", &[], vec![])
        .await
        .status(401, "Unauthorized", "Unauthorized");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_follows_the_accept_header() {
    let (cluster, client) = start().await;
    let v2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    for (accept, version) in [(v2beta1, "v2beta1"), (v2, "v2")] {
        let r = send(&client, "GET", "/api", &[("accept", accept)], vec![]).await;
        assert_eq!(
            r.content_type,
            format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"),
            "kubectl 1.27 breaks if it gets v2 when it asked for v2beta1"
        );
        let b = r.json();
        assert_eq!(b["apiVersion"], format!("apidiscovery.k8s.io/{version}"));
        let pods = b["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .cloned()
            .expect("pods in aggregated discovery");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert_eq!(pods["scope"], "Namespaced");
        assert!(
            pods["subresources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["subresource"] == "log")
        );
        let r = send(&client, "GET", "/apis", &[("accept", accept)], vec![]).await;
        assert_eq!(r.json()["kind"], "APIGroupDiscoveryList");
    }
    let r = send(
        &client,
        "GET",
        "/api",
        &[("accept", "application/json, */*")],
        vec![],
    )
    .await;
    let b = r.json();
    assert_eq!(b["kind"], "APIVersions");
    assert_eq!(b["versions"], json!(["v1"]));
    let r = send(&client, "GET", "/apis", &[], vec![]).await;
    assert_eq!(
        r.json()["kind"],
        "APIGroupList",
        "/apis must exist even when empty"
    );
    let r = send(&client, "GET", "/api/v1", &[], vec![]).await;
    let names: Vec<String> = r.json()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    for want in [
        "pods",
        "pods/log",
        "pods/status",
        "pods/exec",
        "pods/eviction",
        "events",
        "namespaces",
        "nodes",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} in /api/v1: {names:?}"
        );
    }

    let r = send(
        &client,
        "GET",
        "/openapi/v2",
        &[(
            "accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )],
        vec![],
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        r.content_type, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
        "never echo the @ form: Go's mime parser rejects it"
    );
    assert!(r.body.is_empty(), "an empty document means: schema unknown");
    // The v3 index lists a document per served group version, each behind a hash kubectl
    // caches by.
    let v3 = send(&client, "GET", "/openapi/v3", &[], vec![]).await;
    assert_eq!(v3.code, 200);
    let paths = v3.json()["paths"].clone();
    for gv in [
        "api/v1",
        "apis/apps/v1",
        "apis/rbac.authorization.k8s.io/v1",
    ] {
        let url = paths[gv]["serverRelativeURL"].as_str().unwrap_or_default();
        assert!(
            url.starts_with(&format!("/openapi/v3/{gv}?hash=")),
            "{gv}: {paths}"
        );
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_real_status() {
    let (cluster, client) = start().await;
    let pods = "/api/v1/namespaces/default/pods";
    let good = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});

    send(&client, "GET", "/api/v1/widgets", &[], vec![])
        .await
        .status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    send(&client, "GET", &format!("{pods}/nope"), &[], vec![])
        .await
        .status(404, "NotFound", "pods \"nope\" not found");
    send(&client, "POST", &format!("{pods}/nope"), &[], vec![])
        .await
        .status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        );
    send(&client, "POST", pods, &[("content-type", "text/plain")], b"hi".to_vec()).await.status(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    );
    json_post(&client, pods, good.clone()).await;
    send(&client, "PATCH", &format!("{pods}/ok"), &[("content-type", "text/plain")], b"{}".to_vec())
        .await
        .status(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json",
        );
    let huge = vec![b' '; kq_sim::MAX_BODY_BYTES + 1];
    send(
        &client,
        "POST",
        pods,
        &[("content-type", "application/json")],
        huge,
    )
    .await
    .status(
        413,
        "RequestEntityTooLarge",
        "Request entity too large: limit is 3145728",
    );
    send(&client, "POST", pods, &[("content-type", "application/json")], b"{\"kind\":".to_vec())
        .await
        .status(
            400,
            "BadRequest",
            "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: unexpected end of JSON input ({\"kind\":)",
        );
    let mut other_ns = good.clone();
    other_ns["metadata"]["namespace"] = json!("kube-system");
    json_post(&client, pods, other_ns).await.status(
        400,
        "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request",
    );
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}});
    json_post(&client, pods, svc).await.status(
        400,
        "BadRequest",
        "Service in version \"v1\" cannot be handled as a Pod: converting (v1.Service) to (core.Pod): unknown conversion",
    );
    let widget = json!({"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "w"}});
    json_post(&client, pods, widget).await.status(
        400,
        "BadRequest",
        "Widget in version \"v1\" cannot be handled as a Pod: no kind \"Widget\" is registered for version \"v1\" in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
    );
    let mut bad_name = good.clone();
    bad_name["metadata"]["name"] = json!("Bad_Name");
    let s = json_post(&client, pods, bad_name).await.status(
        422,
        "Invalid",
        "Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
    assert_eq!(s["details"]["causes"][0]["field"], "metadata.name");
    assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueInvalid");
    assert_eq!(s["details"]["kind"], "Pod");
    let no_image = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"},
        "spec": {"containers": [{"name": "c", "image": ""}, {"name": "c", "image": "x"}]}});
    let s = json_post(&client, pods, no_image).await.status(
        422,
        "Invalid",
        "Pod \"bad\" is invalid: [spec.containers[0].image: Required value, spec.containers[1].name: Duplicate value: \"c\"]",
    );
    assert_eq!(s["details"]["causes"][0]["message"], "Required value");
    let typo = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "typo"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "imagee": "x"}]}});
    json_post(
        &client,
        &format!("{pods}?fieldValidation=Strict"),
        typo.clone(),
    )
    .await
    .status(
        400,
        "BadRequest",
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].imagee\"",
    );
    let r = json_post(&client, pods, typo).await;
    assert_eq!(
        r.code, 201,
        "without fieldValidation the server warns and drops the field"
    );
    assert_eq!(
        r.warnings,
        ["299 - \"unknown field \\\"spec.containers[0].imagee\\\"\""]
    );
    json_post(&client, "/api/v1/namespaces/nope/pods", good.clone())
        .await
        .status(404, "NotFound", "namespaces \"nope\" not found");
    send(
        &client,
        "GET",
        &format!("{pods}?fieldSelector=spec.foo%3Dbar"),
        &[],
        vec![],
    )
    .await
    .status(400, "BadRequest", "field label not supported: spec.foo");
    send(
        &client,
        "GET",
        &format!("{pods}?fieldSelector=nonsense"),
        &[],
        vec![],
    )
    .await
    .status(
        400,
        "BadRequest",
        "invalid selector: 'nonsense'; can't understand 'nonsense'",
    );
    send(
        &client,
        "GET",
        &format!("{pods}?labelSelector=a%20in%20b"),
        &[],
        vec![],
    )
    .await
    .status(
        400,
        "BadRequest",
        "unable to parse requirement: found 'b' expected: '('",
    );
    let r = send(
        &client,
        "PUT",
        &format!("{pods}/ok"),
        &[("content-type", "application/json")],
        serde_json::to_vec(
            &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other"}}),
        )
        .unwrap(),
    )
    .await;
    r.status(
        400,
        "BadRequest",
        "the name of the object (other) does not match the name on the URL (ok)",
    );
    let r = send(
        &client,
        "POST",
        &format!("{pods}/ok/exec?command=sh"),
        &[],
        vec![],
    )
    .await;
    r.status(400, "BadRequest", "pod ok does not have a host assigned");
    // A pod on a node, asked without an upgrade: kube-apiserver's upgrade-aware proxy refuses
    // with a status, after the pod and container checks.
    let bound = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bound"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx"}]}});
    send(
        &client,
        "POST",
        pods,
        &[("content-type", "application/json")],
        serde_json::to_vec(&bound).unwrap(),
    )
    .await;
    send(
        &client,
        "GET",
        &format!("{pods}/bound/exec?command=ls&stdout=true"),
        &[],
        vec![],
    )
    .await
    .status(400, "BadRequest", "Upgrade request required");
    send(
        &client,
        "GET",
        &format!("{pods}/bound/exec?command=ls&stdout=true&container=x"),
        &[],
        vec![],
    )
    .await
    .status(400, "BadRequest", "container x is not valid for pod bound");
    send(
        &client,
        "DELETE",
        "/api/v1/namespaces/kube-system",
        &[],
        vec![],
    )
    .await
    .status(
        403,
        "Forbidden",
        "namespaces \"kube-system\" is forbidden: this namespace may not be deleted",
    );
    json_post(
        &client,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "doomed"}}),
    )
    .await;
    send(&client, "DELETE", "/api/v1/namespaces/doomed", &[], vec![]).await;
    json_post(&client, "/api/v1/namespaces/doomed/configmaps", json!({"metadata": {"name": "late"}}))
        .await
        .status(
            403,
            "Forbidden",
            "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated",
        );
    let mut sa_missing = good.clone();
    sa_missing["metadata"]["name"] = json!("sa");
    sa_missing["spec"]["serviceAccountName"] = json!("robot");
    json_post(&client, pods, sa_missing).await.status(
        403,
        "Forbidden",
        "pods \"sa\" is forbidden: error looking up service account default/robot: serviceaccount \"robot\" not found",
    );
    let r = send(&client, "GET", &format!("{pods}/ok"), &[], vec![]).await;
    let stale = {
        let mut p = r.json();
        p["metadata"]["resourceVersion"] = json!("1");
        p
    };
    send(&client, "PUT", &format!("{pods}/ok"), &[("content-type", "application/json")], serde_json::to_vec(&stale).unwrap())
        .await
        .status(
            409,
            "Conflict",
            "Operation cannot be fulfilled on pods \"ok\": the object has been modified; please apply your changes to the latest version and try again",
        );
    cluster
        .store()
        .check_consistency()
        .expect("nothing corrupted the store");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_as_kubectl_requests_them() {
    let (cluster, client) = start().await;
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    json_post(
        &client,
        "/api/v1/namespaces/default/pods",
        json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}),
    )
    .await;
    let r = send(
        &client,
        "GET",
        "/api/v1/namespaces/default/pods?limit=500",
        &[("accept", table)],
        vec![],
    )
    .await;
    assert_eq!(
        r.content_type,
        "application/json;as=Table;v=v1;g=meta.k8s.io"
    );
    let t = r.json();
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        cols,
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    assert_eq!(
        t["rows"][0]["cells"].as_array().unwrap()[..4],
        json!(["web", "0/1", "Pending", "0"]).as_array().unwrap()[..]
    );
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert!(
        t["metadata"]["resourceVersion"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let r = send(
        &client,
        "GET",
        "/api/v1/namespaces/default/pods?includeObject=Object",
        &[("accept", table)],
        vec![],
    )
    .await;
    assert_eq!(
        r.json()["rows"][0]["object"]["kind"],
        "Pod",
        "--sort-by needs whole objects"
    );
    let r = send(
        &client,
        "GET",
        "/api/v1/namespaces/default/pods/web",
        &[("accept", table)],
        vec![],
    )
    .await;
    assert_eq!(r.json()["rows"].as_array().unwrap().len(), 1);

    for (path, cols) in [
        (
            "/api/v1/nodes",
            vec![
                "Name",
                "Status",
                "Roles",
                "Age",
                "Version",
                "Internal-IP",
                "External-IP",
                "OS-Image",
                "Kernel-Version",
                "Container-Runtime",
            ],
        ),
        ("/api/v1/namespaces", vec!["Name", "Status", "Age"]),
        (
            "/api/v1/namespaces/default/events",
            vec![
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name",
            ],
        ),
        (
            "/api/v1/namespaces/default/configmaps",
            vec!["Name", "Data", "Age"],
        ),
        (
            "/api/v1/namespaces/default/secrets",
            vec!["Name", "Type", "Data", "Age"],
        ),
        (
            "/api/v1/namespaces/default/serviceaccounts",
            vec!["Name", "Secrets", "Age"],
        ),
        (
            "/api/v1/namespaces/default/services",
            vec![
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
                "Selector",
            ],
        ),
    ] {
        let r = send(&client, "GET", path, &[("accept", table)], vec![]).await;
        let t = r.json();
        let got: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(got, cols, "columns of {path}");
    }

    // A table watch: one JSON object per line, one-row tables, columns on the first event.
    let client2 = client.clone();
    let watch = tokio::spawn(async move {
        send(
            &client2,
            "GET",
            "/api/v1/namespaces/default/pods?watch=true&resourceVersion=0&timeoutSeconds=1",
            &[("accept", table)],
            vec![],
        )
        .await
    });
    let r = tokio::time::timeout(Duration::from_secs(10), watch)
        .await
        .expect("watch ends at timeoutSeconds")
        .unwrap();
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.ends_with('\n'),
        "every watch event ends with a newline"
    );
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["kind"], "Table");
    assert_eq!(first["object"]["rows"][0]["cells"][0], "web");
    assert!(
        !first["object"]["columnDefinitions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_over_http() {
    let (cluster, client) = start().await;
    let pods = "/api/v1/namespaces/default/pods";
    let apply = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"ssa"},"spec":{"containers":[{"name":"c","image":"nginx:1.25"}]}}"#;
    let r = send(
        &client,
        "PATCH",
        &format!("{pods}/ssa?fieldManager=kubectl&fieldValidation=Strict&force=false"),
        &[("content-type", "application/apply-patch+yaml")],
        apply.to_vec(),
    )
    .await;
    assert_eq!(r.code, 201, "server-side apply answers 201 when it creates");
    let r = send(
        &client,
        "PATCH",
        &format!("{pods}/ssa?fieldManager=kubectl&fieldValidation=Strict&force=false"),
        &[("content-type", "application/apply-patch+yaml")],
        apply.to_vec(),
    )
    .await;
    assert_eq!(r.code, 200, "and 200 when it updates");
    let managers: Vec<String> = r.json()["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["manager"].as_str().unwrap(),
                e["operation"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(managers, ["kubectl/Apply"], "the field manager is recorded");

    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n";
    let r = send(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &[("content-type", "application/yaml")],
        yaml.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.code, 201, "YAML bodies are accepted");
    let r = send(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps?dryRun=All",
        &[("content-type", "application/json")],
        br#"{"metadata":{"name":"dry"}}"#.to_vec(),
    )
    .await;
    assert_eq!(r.code, 201);
    let r = send(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps/dry",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.code, 404, "a dry run stores nothing");

    for name in ["a", "b"] {
        json_post(
            &client,
            pods,
            json!({"metadata": {"name": name, "labels": {"batch": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
        )
        .await;
    }
    let r = send(
        &client,
        "DELETE",
        &format!("{pods}?labelSelector=batch%3Dx"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        r.json()["items"].as_array().unwrap().len(),
        2,
        "deletecollection honours the selector"
    );
    let r = send(&client, "GET", pods, &[], vec![]).await;
    let left = r.json()["items"].as_array().map_or(0, Vec::len);
    assert_eq!(left, 1, "only the applied pod is left");

    // Binding sets the node and the PodScheduled condition, once.
    let binding = br#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"ssa"},"target":{"kind":"Node","name":"node-1"}}"#;
    let r = send(
        &client,
        "POST",
        &format!("{pods}/ssa/binding"),
        &[("content-type", "application/json")],
        binding.to_vec(),
    )
    .await;
    assert_eq!(r.code, 201);
    let r = send(&client, "GET", &format!("{pods}/ssa"), &[], vec![]).await;
    let p = r.json();
    assert_eq!(p["spec"]["nodeName"], "node-1");
    assert_eq!(p["status"]["conditions"][0]["type"], "PodScheduled");
    let r = send(
        &client,
        "POST",
        &format!("{pods}/ssa/binding"),
        &[("content-type", "application/json")],
        binding.to_vec(),
    )
    .await;
    r.status(409, "Conflict", "Operation cannot be fulfilled on pods \"ssa\": pod ssa is already assigned to node \"node-1\"");

    // A bound pod is deleted gracefully: 200 with deletionTimestamp, then gone.
    let r = send(
        &client,
        "DELETE",
        &format!("{pods}/ssa"),
        &[("content-type", "application/json")],
        br#"{"propagationPolicy":"Background"}"#.to_vec(),
    )
    .await;
    assert_eq!(r.code, 200);
    let p = r.json();
    assert!(p["metadata"]["deletionTimestamp"].is_string(), "{p}");
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
    let r = send(&client, "GET", &format!("{pods}/ssa"), &[], vec![]).await;
    assert_eq!(
        r.code, 404,
        "with no container running the pod goes at once"
    );
    cluster.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Hostile and broken clients: the server must survive any of them.

/// The API server alone with these connection and watch limits.
async fn start_limited(config: ClusterConfig) -> (RunningCluster, kube::Client) {
    let cluster = Cluster::start(ClusterConfig {
        controllers: false,
        ..config
    })
    .await
    .expect("cluster starts");
    let client = kube_client(&cluster).await;
    (cluster, client)
}

type RawTls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A raw TLS connection trusting the cluster's CA, for the clients `kube::Client` cannot
/// play: one that never finishes its headers, one that never reads.
async fn raw_tls(port: u16, ca_pem: String) -> std::io::Result<RawTls> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(cert.expect("the cluster CA is PEM"))
            .expect("the cluster CA is a certificate");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("127.0.0.1").expect("an IP server name");
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
}

/// Read until the server closes the connection (EOF, or a reset / missing close_notify).
async fn until_closed(mut s: impl tokio::io::AsyncRead + Unpin) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_clients_are_disconnected_after_the_header_timeout() {
    use tokio::io::AsyncWriteExt;
    let timeout = Duration::from_millis(800);
    let (cluster, _) = start_limited(ClusterConfig {
        server: kq_sim::ServerLimits {
            header_read_timeout: timeout,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert_eq!(
        kq_sim::ServerLimits::default().header_read_timeout,
        Duration::from_secs(32),
        "the default header timeout is kube-apiserver's ReadHeaderTimeout"
    );

    // Headers started and never finished.
    let mut tls = raw_tls(cluster.port(), cluster.ca_pem().into())
        .await
        .expect("TLS handshake");
    tls.write_all(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("partial headers sent");
    let t = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), until_closed(tls))
        .await
        .expect("a request whose headers never end must be closed, not held open forever");
    let waited = t.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(100) && waited < Duration::from_secs(5),
        "the half-sent request must be closed after the header timeout ({timeout:?}), \
         was closed after {waited:?}"
    );

    // A TCP connection that never starts its TLS handshake.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", cluster.port()))
        .await
        .expect("connect");
    tokio::time::timeout(Duration::from_secs(10), until_closed(tcp))
        .await
        .expect("a client that never finishes its TLS handshake must be closed");

    // The server still answers everyone else.
    let client = kube_client(&cluster).await;
    let r = send(&client, "GET", "/api/v1/namespaces", &[], vec![]).await;
    assert_eq!(r.code, 200, "the server keeps serving well-behaved clients");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_client_waits_until_a_connection_closes() {
    let (cluster, _) = start_limited(ClusterConfig {
        server: kq_sim::ServerLimits {
            max_connections: 2,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert_eq!(
        kq_sim::ServerLimits::default().max_connections,
        600,
        "the default cap is kube-apiserver's 400 + 200 in-flight requests"
    );
    let (port, ca) = (cluster.port(), cluster.ca_pem().to_string());
    let first = raw_tls(port, ca.clone()).await.expect("first connection");
    let _second = raw_tls(port, ca.clone()).await.expect("second connection");
    let mut third = tokio::spawn(raw_tls(port, ca));
    assert!(
        tokio::time::timeout(Duration::from_millis(700), &mut third)
            .await
            .is_err(),
        "with the cap of 2 connections reached, a third client must not be served"
    );
    drop(first);
    let third = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("once a connection closes, the waiting client must be served")
        .expect("the client task runs");
    assert!(
        third.is_ok(),
        "the waiting client's TLS handshake completes once a slot is free: {third:?}"
    );
}

/// A ConfigMap holding `size` bytes of data.
fn big_config_map(name: &str, size: usize) -> k8s_openapi::api::core::v1::ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"blob": "x".repeat(size)},
    }))
    .expect("a ConfigMap")
}

fn rv_of(cm: &k8s_openapi::api::core::v1::ConfigMap) -> u64 {
    cm.metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("a numeric resourceVersion")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_never_reads_is_dropped_while_a_reading_watcher_gets_every_event() {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    use tokio::io::AsyncWriteExt;
    const SIZE: usize = 500 * 1024;
    const UPDATES: u64 = 80;
    const CHANNEL: usize = 10;
    let (cluster, client) = start_limited(ClusterConfig {
        server: kq_sim::ServerLimits {
            watch_channel_events: CHANNEL,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let store = cluster.store().clone();
    let created = store
        .create_typed("default", &big_config_map("big", SIZE))
        .expect("the ConfigMap is created");
    let from = rv_of(&created);

    // The watcher that never reads: it sends its request and then nothing, ever.
    let mut silent = raw_tls(cluster.port(), cluster.ca_pem().into())
        .await
        .expect("TLS handshake");
    let request = format!(
        "GET /api/v1/namespaces/default/configmaps?watch=true&resourceVersion={from} HTTP/1.1\r\n\
         Host: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
        cluster.token()
    );
    silent
        .write_all(request.as_bytes())
        .await
        .expect("watch request sent");

    // The watcher that reads, reporting each event's resourceVersion.
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, "default");
    let stream = api
        .watch(&kube::api::WatchParams::default(), &from.to_string())
        .await
        .expect("the reading watch opens");
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(kube::api::WatchEvent::Modified(cm)) => {
                    let _ = seen_tx.send(Ok(rv_of(&cm)));
                }
                other => {
                    let _ = seen_tx.send(Err(format!("{other:?}")
                        .chars()
                        .take(300)
                        .collect::<String>()));
                    return;
                }
            }
        }
        let _ = seen_tx.send(Err("the reading watch ended".to_string()));
    });

    // Each update waits until the reader has it, so only the silent watcher falls behind.
    let mut peak = 0;
    for i in 0..UPDATES {
        let written = store
            .update_with::<ConfigMap>("default", "big", |cm| {
                cm.metadata
                    .labels
                    .get_or_insert_default()
                    .insert("revision".into(), i.to_string());
            })
            .expect("update");
        let want = rv_of(&written);
        let got = tokio::time::timeout(Duration::from_secs(20), seen.recv())
            .await
            .expect("the reading watcher must get every event while another one stalls")
            .expect("the reader runs");
        assert_eq!(
            got,
            Ok(want),
            "the reading watcher must get every event, in order (update {i})"
        );
        peak = peak.max(cluster.watch_buffered_bytes());
    }
    let event_bytes = SIZE + 4096;
    assert!(
        peak <= 2 * (CHANNEL + 1) * event_bytes,
        "what the server buffers for watchers must stay bounded by their channels \
         ({CHANNEL} events each), however far a watcher falls behind: peak {peak} bytes"
    );
    assert!(
        cluster.watches_terminated() >= 1,
        "a watcher that never reads must be terminated, as the watch cache does"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while cluster.watch_buffered_bytes() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        cluster.watch_buffered_bytes(),
        0,
        "a terminated watcher's buffered events must be freed"
    );
    reader.abort();
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_history_is_bounded_in_bytes_and_an_evicted_version_gets_410_gone() {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    const BUDGET: usize = 4 * 1024 * 1024;
    const SIZE: usize = 256 * 1024;
    let (cluster, client) = start_limited(ClusterConfig {
        history_bytes: BUDGET,
        ..Default::default()
    })
    .await;
    assert_eq!(
        ClusterConfig::default().history_limit,
        2000,
        "this test relies on the count limit being far above what the byte budget keeps"
    );
    let store = cluster.store().clone();
    let first = store
        .create_typed("default", &big_config_map("big", SIZE))
        .expect("create");
    let mut last = first.clone();
    for i in 0..40 {
        last = store
            .update_with::<ConfigMap>("default", "big", |cm| {
                cm.metadata
                    .labels
                    .get_or_insert_default()
                    .insert("revision".into(), i.to_string());
            })
            .expect("update");
    }
    let kept = store.history_bytes();
    assert!(
        kept <= BUDGET,
        "40 changes of a 256 KiB ConfigMap must not keep more history than the {BUDGET}-byte \
         budget: {kept} bytes kept"
    );
    assert!(
        kept >= BUDGET / 2,
        "the history keeps as much as fits, not less: {kept} bytes kept"
    );

    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, "default");
    let stream = api
        .watch(
            &kube::api::WatchParams::default(),
            &rv_of(&first).to_string(),
        )
        .await
        .expect("the watch opens");
    let mut stream = std::pin::pin!(stream);
    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Some(Ok(kube::api::WatchEvent::Error(e)))) => {
            assert_eq!(e.code, 410, "an evicted version gets 410 Gone: {e:?}");
            assert_eq!(e.reason, "Expired", "{e:?}");
            assert!(
                e.message.starts_with("too old resource version: "),
                "the message is the watch cache's: {e:?}"
            );
        }
        other => panic!(
            "a watch from a version evicted from history must get 410 Gone, got {:?}",
            other.map(|o| o.map(|r| r.map(|_| "an event")))
        ),
    }

    // Recent history is still there.
    let stream = api
        .watch(
            &kube::api::WatchParams::default(),
            &(rv_of(&last) - 1).to_string(),
        )
        .await
        .expect("the watch opens");
    let mut stream = std::pin::pin!(stream);
    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Some(Ok(kube::api::WatchEvent::Modified(cm)))) => assert_eq!(
            rv_of(&cm),
            rv_of(&last),
            "a watch from a kept version replays what followed it"
        ),
        other => panic!(
            "a watch from a recent version must replay the last change, got {:?}",
            other.map(|o| o.map(|r| r.map(|_| "another event")))
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_from_a_future_resource_version_is_answered_as_kube_apiserver_does() {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    let (cluster, client) = start().await;
    let now = cluster.store().resource_version();

    // With initial events, the watch cache waits 3 s for the version, then fails in-stream.
    let ahead = now + 1000;
    let t = std::time::Instant::now();
    let r = send(
        &client,
        "GET",
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true\
             &allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion={ahead}"
        ),
        &[],
        vec![],
    )
    .await;
    let waited = t.elapsed();
    assert_eq!(r.code, 200, "the failure comes inside the watch stream");
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_secs(10),
        "the server waits blockTimeout (3 s) for the version before failing, waited {waited:?}"
    );
    let ev = r.json();
    assert_eq!(ev["type"], "ERROR", "{ev}");
    let s = &ev["object"];
    assert_eq!(s["code"], 504, "{s}");
    assert_eq!(s["reason"], "Timeout", "{s}");
    let current = cluster.store().resource_version();
    assert_eq!(
        s["message"],
        format!("Timeout: Too large resource version: {ahead}, current: {current}"),
        "{s}"
    );
    assert_eq!(
        s["details"]["causes"][0]["reason"], "ResourceVersionTooLarge",
        "client-go recognises the error by this cause: {s}"
    );
    assert_eq!(s["details"]["retryAfterSeconds"], 1, "{s}");

    // A plain watch waits for events past the version (the watch cache does not block it).
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, "default");
    let stream = api
        .watch(
            &kube::api::WatchParams::default().timeout(20),
            &(current + 2).to_string(),
        )
        .await
        .expect("the watch opens");
    let mut stream = std::pin::pin!(stream);
    for i in 0..3 {
        cluster
            .store()
            .create_typed("default", &big_config_map(&format!("cm-{i}"), 10))
            .expect("create");
    }
    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Some(Ok(kube::api::WatchEvent::Added(cm)))) => assert_eq!(
            rv_of(&cm),
            current + 3,
            "the first event is the first change after the requested version"
        ),
        other => panic!(
            "a watch from a future version must deliver changes once the server passes it, got {:?}",
            other.map(|o| o.map(|r| r.map(|_| "another event")))
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_stops_accepting_bytes_is_closed_after_the_write_timeout() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use tokio::io::AsyncWriteExt;
    let write_timeout = Duration::from_secs(1);
    let (cluster, _) = start_limited(ClusterConfig {
        server: kq_sim::ServerLimits {
            write_timeout,
            watch_channel_events: 10,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert_eq!(
        kq_sim::ServerLimits::default().write_timeout,
        Duration::from_secs(60),
        "the default write timeout is kube-apiserver's default request timeout"
    );
    let store = cluster.store().clone();
    let created = store
        .create_typed("default", &big_config_map("big", 500 * 1024))
        .expect("create");
    let mut silent = raw_tls(cluster.port(), cluster.ca_pem().into())
        .await
        .expect("TLS handshake");
    let request = format!(
        "GET /api/v1/namespaces/default/configmaps?watch=true&resourceVersion={} HTTP/1.1\r\n\
         Host: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
        rv_of(&created),
        cluster.token()
    );
    silent.write_all(request.as_bytes()).await.expect("sent");
    // Far more than the socket buffers hold, so the server's writes stall.
    for i in 0..80 {
        store
            .update_with::<ConfigMap>("default", "big", |cm| {
                cm.metadata
                    .labels
                    .get_or_insert_default()
                    .insert("revision".into(), i.to_string());
            })
            .expect("update");
    }
    tokio::time::sleep(write_timeout * 3).await;
    // Had the server kept the connection, reading now would finish the response and then wait
    // on the open keep-alive connection; a closed one ends.
    tokio::time::timeout(Duration::from_secs(20), until_closed(silent))
        .await
        .expect("a connection whose writes stall past the write timeout must be closed");
}

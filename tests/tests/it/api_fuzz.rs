//! Property test: arbitrary requests (methods, paths, queries, content types, bodies) never
//! make the embedded cluster answer 5xx or panic, every error is a well-formed `metav1.Status`,
//! and the store stays consistent afterwards.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::http::Request;
use kq_tests::cluster::{TestCluster, kube_client};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "generateName",
    "labels",
    "annotations",
    "finalizers",
    "resourceVersion",
    "uid",
    "deletionTimestamp",
    "spec",
    "status",
    "containers",
    "initContainers",
    "image",
    "ports",
    "containerPort",
    "env",
    "resources",
    "requests",
    "limits",
    "cpu",
    "memory",
    "restartPolicy",
    "nodeName",
    "volumes",
    "volumeMounts",
    "phase",
    "data",
    "stringData",
    "type",
    "selector",
    "clusterIP",
    "target",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$deleteFromPrimitiveList/finalizers",
    "op",
    "path",
    "value",
    "from",
    "propagationPolicy",
    "gracePeriodSeconds",
    "preconditions",
    "rules",
    "verbs",
    "apiGroups",
    "resourceNames",
    "nonResourceURLs",
    "roleRef",
    "subjects",
    "aggregationRule",
    "hard",
    "scopes",
    "scopeSelector",
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
    "accessModes",
    "storageClassName",
    "volumeName",
    "capacity",
    "claimRef",
    "persistentVolumeReclaimPolicy",
    "provisioner",
    "volumeBindingMode",
    "minAvailable",
    "maxUnavailable",
    "deleteOptions",
    "resourceAttributes",
    "nonResourceAttributes",
    "user",
    "groups",
    "audiences",
    "expirationSeconds",
    "boundObjectRef",
    "token",
    "holderIdentity",
    "securityContext",
    "runAsNonRoot",
    "privileged",
    "x",
];

const STRINGS: &[&str] = &[
    "",
    "v1",
    "Pod",
    "Service",
    "ConfigMap",
    "Namespace",
    "Widget",
    "apps/v1",
    "web",
    "Bad_Name",
    "default",
    "kube-system",
    "fuzz",
    "nginx:1.25",
    "Always",
    "Never",
    "Sometimes",
    "100m",
    "1Gi",
    "abc",
    "node-1",
    "replace",
    "delete",
    "merge",
    "add",
    "remove",
    "test",
    "/metadata/labels",
    "/spec/containers/0/image",
    "-1",
    "ünïcode",
    "a,b=c",
    "\u{0}",
    "*",
    "get",
    "list",
    "rbac.authorization.k8s.io",
    "ClusterRole",
    "Role",
    "view",
    "ReadWriteOnce",
    "standard",
    "50%",
    "system:serviceaccount:fuzz:default",
    "restricted",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e9f64..1e9).prop_map(|f| json!(f)),
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
        "[a-z0-9.-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// A plausible pod with one random field overwritten, to get past the first decode checks.
fn arb_pod_like() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(KEYS),
        arb_json(),
        prop::sample::select(&["metadata", "spec", "root"][..]),
    )
        .prop_map(|(k, v, at)| {
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fz"},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}});
            match at {
                "root" => pod[k] = v,
                other => pod[other][k] = v,
            }
            pod
        })
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        4 => arb_pod_like().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
            let mut framed = b"k8s\0".to_vec();
            framed.append(&mut b);
            framed
        }),
        1 => Just(Vec::new()),
    ]
}

fn arb_path() -> impl Strategy<Value = String> {
    let ns = prop::sample::select(&["default", "fuzz", "fuzz", "nope", "kube-system"][..]);
    let plural = prop::sample::select(
        &[
            "pods",
            "pods",
            "pods",
            "configmaps",
            "secrets",
            "services",
            "serviceaccounts",
            "events",
        ][..],
    );
    let name = prop::sample::select(
        &[
            "fz",
            "fz",
            "web",
            "kubernetes",
            "default",
            "kube-root-ca.crt",
            "Bad_Name",
            "nope",
        ][..],
    );
    let sub = prop::sample::select(
        &[
            "status", "log", "binding", "exec", "eviction", "resize", "x",
        ][..],
    );
    let cluster = prop::sample::select(
        &[
            "/api/v1/nodes",
            "/api/v1/nodes/node-1",
            "/api/v1/nodes/node-1/status",
            "/api/v1/namespaces",
            "/api/v1/namespaces/fuzz",
            "/api/v1/namespaces/fuzz/status",
            "/api/v1/namespaces/fuzz/finalize",
            "/api/v1/pods",
            "/api/v1/events",
            "/api",
            "/apis",
            "/api/v1",
            "/apis/apps/v1",
            "/version",
            "/openapi/v2",
            "/openapi/v3",
            "/",
            "/healthz",
        ][..],
    );
    let odd = prop::sample::select(
        &[
            "namespaces",
            "default",
            "fuzz",
            "pods",
            "watch",
            "x",
            "..",
            "%2F",
            "%zz",
            "%",
            "Bad_Name",
            "log",
        ][..],
    );
    // The group-version resources of authorization, admission policy, storage and
    // disruption: namespaced ones under a namespace, cluster-scoped ones bare.
    let grouped = prop::sample::select(
        &[
            ("rbac.authorization.k8s.io", "roles", true),
            ("rbac.authorization.k8s.io", "rolebindings", true),
            ("rbac.authorization.k8s.io", "clusterroles", false),
            ("rbac.authorization.k8s.io", "clusterrolebindings", false),
            ("authorization.k8s.io", "selfsubjectaccessreviews", false),
            ("authorization.k8s.io", "selfsubjectrulesreviews", false),
            ("authorization.k8s.io", "subjectaccessreviews", false),
            ("authorization.k8s.io", "localsubjectaccessreviews", true),
            ("authentication.k8s.io", "selfsubjectreviews", false),
            ("authentication.k8s.io", "tokenreviews", false),
            ("storage.k8s.io", "storageclasses", false),
            ("policy", "poddisruptionbudgets", true),
            ("coordination.k8s.io", "leases", true),
        ][..],
    );
    let grouped = (grouped, ns.clone(), name.clone(), any::<bool>()).prop_map(
        |((g, p, namespaced), n, x, item)| {
            let base = if namespaced {
                format!("/apis/{g}/v1/namespaces/{n}/{p}")
            } else {
                format!("/apis/{g}/v1/{p}")
            };
            if item { format!("{base}/{x}") } else { base }
        },
    );
    let core_more =
        prop::sample::select(&["resourcequotas", "limitranges", "persistentvolumeclaims"][..]);
    let core_more =
        (ns.clone(), core_more, name.clone(), any::<bool>()).prop_map(|(n, p, x, item)| {
            let base = format!("/api/v1/namespaces/{n}/{p}");
            if item { format!("{base}/{x}") } else { base }
        });
    let special = prop::sample::select(
        &[
            "/api/v1/namespaces/fuzz/serviceaccounts/default/token",
            "/api/v1/namespaces/fuzz/serviceaccounts/nope/token",
            "/api/v1/persistentvolumes",
            "/api/v1/persistentvolumes/pv-1",
            "/apis/rbac.authorization.k8s.io/v1",
            "/apis/policy/v1",
            "/openapi/v3/api/v1",
            "/openapi/v3/apis/apps/v1?hash=0",
            "/openapi/v3/apis/rbac.authorization.k8s.io/v1",
            "/openapi/v3/apis/nope/v9",
        ][..],
    );
    let shape = prop_oneof![
        grouped,
        core_more,
        special.prop_map(str::to_string),
        (ns.clone(), plural.clone()).prop_map(|(n, p)| format!("/api/v1/namespaces/{n}/{p}")),
        (ns.clone(), plural.clone(), name.clone())
            .prop_map(|(n, p, x)| format!("/api/v1/namespaces/{n}/{p}/{x}")),
        (ns, name, sub).prop_map(|(n, x, s)| format!("/api/v1/namespaces/{n}/pods/{x}/{s}")),
        cluster.prop_map(str::to_string),
        prop::collection::vec(odd, 0..5).prop_map(|segs| format!("/api/v1/{}", segs.join("/"))),
    ];
    let query = prop::sample::select(
        &[
            "",
            "",
            "",
            "?watch=true&timeoutSeconds=1",
            "?watch=1&resourceVersion=1&timeoutSeconds=1",
            "?labelSelector=a%20in%20(",
            "?labelSelector=app%3Dweb",
            "?fieldSelector=x",
            "?fieldSelector=status.phase!%3DRunning",
            "?fieldValidation=Strict",
            "?fieldValidation=Bogus",
            "?dryRun=All",
            "?resourceVersion=abc",
            "?tailLines=-3&previous=true",
            "?gracePeriodSeconds=zz",
            "?gracePeriodSeconds=0",
            "?includeObject=Object",
            "?container=nope",
            "?limitBytes=1&timestamps=true",
        ][..],
    );
    (shape, query).prop_map(|(p, q)| format!("{p}{q}"))
}

fn arb_request() -> impl Strategy<Value = (String, String, String, String, Vec<u8>)> {
    let method = prop::sample::select(
        &[
            "GET", "GET", "POST", "POST", "PUT", "PATCH", "PATCH", "DELETE", "HEAD", "OPTIONS",
        ][..],
    );
    let ct = prop::sample::select(
        &[
            "application/json",
            "application/json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/json-patch+json",
            "application/apply-patch+yaml",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
            "text/plain",
            "",
        ][..],
    );
    let accept = prop::sample::select(
        &[
            "",
            "application/json",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
            "application/vnd.kubernetes.protobuf,application/json",
        ][..],
    );
    let anything = (method, arb_path(), ct, accept, arb_body())
        .prop_map(|(m, p, c, a, b)| (m.to_string(), p, c.to_string(), a.to_string(), b));
    // Writes aimed at objects that exist, so bodies reach decoding, defaulting, validation,
    // the update rules and the patch engines rather than stopping at a 404 or 405.
    let target = prop::sample::select(
        &[
            ("POST", "/api/v1/namespaces/fuzz/pods", "application/json"),
            (
                "POST",
                "/api/v1/namespaces/fuzz/configmaps",
                "application/json",
            ),
            ("PUT", "/api/v1/namespaces/fuzz/pods/fz", "application/json"),
            (
                "PUT",
                "/api/v1/namespaces/fuzz/pods/fz/status",
                "application/json",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/fuzz/pods/fz",
                "application/strategic-merge-patch+json",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/fuzz/pods/fz",
                "application/merge-patch+json",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/fuzz/pods/fz",
                "application/json-patch+json",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/fuzz/pods/fz?fieldManager=fuzz&force=true",
                "application/apply-patch+yaml",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/fuzz/pods/fz/status",
                "application/merge-patch+json",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/fuzz/configmaps/fz",
                "application/strategic-merge-patch+json",
            ),
            (
                "POST",
                "/api/v1/namespaces/fuzz/pods/fz/binding",
                "application/json",
            ),
            (
                "POST",
                "/api/v1/namespaces/fuzz/pods/fz/eviction",
                "application/json",
            ),
            (
                "DELETE",
                "/api/v1/namespaces/fuzz/pods/fz",
                "application/json",
            ),
            (
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                "application/json",
            ),
            (
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                "application/json",
            ),
            (
                "POST",
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                "application/json",
            ),
            (
                "POST",
                "/apis/rbac.authorization.k8s.io/v1/namespaces/fuzz/roles",
                "application/json",
            ),
            (
                "POST",
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                "application/json",
            ),
            (
                "POST",
                "/api/v1/namespaces/fuzz/resourcequotas",
                "application/json",
            ),
            (
                "POST",
                "/api/v1/namespaces/fuzz/limitranges",
                "application/json",
            ),
            (
                "POST",
                "/api/v1/namespaces/fuzz/persistentvolumeclaims",
                "application/json",
            ),
            (
                "POST",
                "/api/v1/namespaces/fuzz/serviceaccounts/default/token",
                "application/json",
            ),
            (
                "POST",
                "/apis/policy/v1/namespaces/fuzz/poddisruptionbudgets",
                "application/json",
            ),
        ][..],
    );
    let aimed = (
        target,
        prop::sample::select(&["", "?fieldValidation=Strict", "?dryRun=All"][..]),
        arb_body(),
    )
        .prop_map(|((m, p, c), q, b)| {
            let sep = if p.contains('?') {
                q.replacen('?', "&", 1)
            } else {
                q.to_string()
            };
            (
                m.to_string(),
                format!("{p}{sep}"),
                c.to_string(),
                String::new(),
                b,
            )
        });
    prop_oneof![anything, aimed]
}

struct Answer {
    code: u16,
    body: Option<Vec<u8>>,
}

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    ct: &str,
    accept: &str,
    body: Vec<u8>,
) -> Answer {
    let mut b = Request::builder().method(method).uri(path);
    if !ct.is_empty() {
        b = b.header("content-type", ct);
    }
    if !accept.is_empty() {
        b = b.header("accept", accept);
    }
    let Ok(req) = b.body(kube::client::Body::from(body)) else {
        // Not a valid HTTP request at all (a URI the client refuses): nothing reaches the server.
        return Answer {
            code: 0,
            body: None,
        };
    };
    let res = tokio::time::timeout(Duration::from_secs(10), client.send(req))
        .await
        .expect("the server answers within 10 s")
        .expect("the server answers");
    let code = res.status().as_u16();
    // Streams (watches) may stay open; their status line is what matters.
    let body = tokio::time::timeout(Duration::from_secs(3), res.into_body().collect())
        .await
        .ok()
        .and_then(Result::ok)
        .map(|c| c.to_bytes().to_vec());
    Answer { code, body }
}

/// Keep a namespace, a bound pod and a config map named `fz` around, so generated writes
/// keep reaching defaulting, validation and the update rules instead of stopping at 404; and
/// the default ClusterRoles and bindings, which a generated `DELETE .../clusterroles` removes
/// (the learner's admin is then refused everything, as on a real cluster).
fn fixtures(store: &kq_sim::Store) {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    // Generated names never match a default ClusterRole or binding, so only a collection
    // delete removes them, and it removes these two with the rest.
    if store.get::<ClusterRole>("", "cluster-admin").is_err()
        || store
            .get::<ClusterRoleBinding>("", "kubeadm:cluster-admins")
            .is_err()
    {
        kq_sim::restore_default_rbac(store).expect("the default RBAC objects can be created");
    }
    if store.get::<Namespace>("", "fuzz").is_err() {
        let _ = store.create_typed::<Namespace>(
            "",
            &serde_json::from_value(json!({"metadata": {"name": "fuzz"}})).unwrap(),
        );
    }
    if store.get::<Pod>("fuzz", "fz").is_err() {
        let pod = json!({"metadata": {"name": "fz", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx:1.25"}]}});
        let _ = store.create_typed::<Pod>("fuzz", &serde_json::from_value(pod).unwrap());
    }
    if store.get::<ConfigMap>("fuzz", "fz").is_err() {
        let cm = json!({"metadata": {"name": "fz"}, "data": {"k": "v"}});
        let _ = store.create_typed::<ConfigMap>("fuzz", &serde_json::from_value(cm).unwrap());
    }
}

#[test]
fn arbitrary_requests_never_break_the_server() {
    let tc = TestCluster::start();
    let client = tc.block_on(kube_client(tc.cluster()));
    fixtures(tc.cluster().store());
    let mut runner = TestRunner::new(Config {
        cases: 1000,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&arb_request(), |(method, path, ct, accept, body)| {
        let ans = tc.block_on(send(&client, &method, &path, &ct, &accept, body));
        if ans.code == 0 {
            return Ok(());
        }
        prop_assert!(
            ans.code < 500,
            "{method} {path} ({ct}) answered {}: {:?}",
            ans.code,
            ans.body.as_deref().map(String::from_utf8_lossy)
        );
        if ans.code >= 400 && method != "HEAD" {
            let body = ans.body.clone().unwrap_or_default();
            let s: Value = serde_json::from_slice(&body).map_err(|e| {
                TestCaseError::fail(format!(
                    "{method} {path}: error body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                ))
            })?;
            prop_assert_eq!(&s["kind"], "Status", "{} {}: {}", method, path, s);
            prop_assert_eq!(&s["status"], "Failure", "{} {}: {}", method, path, s);
            prop_assert_eq!(
                s["code"].as_u64(),
                Some(u64::from(ans.code)),
                "{} {}: {}",
                method,
                path,
                s
            );
            prop_assert!(
                s["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{} {}: {}",
                method,
                path,
                s
            );
        }
        let store = tc.cluster().store();
        store
            .check_consistency()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        fixtures(store);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The cluster still serves normal traffic afterwards.
    tc.block_on(async {
        let r = send(&client, "GET", "/api/v1/namespaces/default", "", "", vec![]).await;
        assert_eq!(
            r.code,
            200,
            "the server still works after the fuzzing: {:?}",
            r.body.as_deref().map(String::from_utf8_lossy)
        );
    });
}

// ----- hostile writes from the issue "Trust": each is refused with the real Status and the
// ----- server keeps serving afterwards.

const JSON_PATCH: &str = "application/json-patch+json";

/// Start a cluster with the `fuzz` namespace, the pod `fz` (labels `app: web`) and the
/// config map `fz`, and a client for it.
fn cluster_with_fixtures() -> (TestCluster, kube::Client) {
    let tc = TestCluster::start();
    let client = tc.block_on(kube_client(tc.cluster()));
    fixtures(tc.cluster().store());
    (tc, client)
}

/// The `metav1.Status` of a refused request, checked to be a well-formed failure of `code`.
fn refusal(ans: &Answer, code: u16, what: &str) -> Value {
    let body = ans.body.clone().unwrap_or_default();
    let status: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{what}: the refusal must be a JSON Status ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    let shown: String = status.to_string().chars().take(400).collect();
    assert_eq!(
        ans.code, code,
        "{what}: must be refused with HTTP {code}, got {}: {shown}",
        ans.code
    );
    assert_eq!(status["kind"], "Status", "{what}: {status}");
    assert_eq!(status["status"], "Failure", "{what}: {status}");
    assert_eq!(status["code"], code, "{what}: {status}");
    status
}

/// The server still answers an ordinary read, and the pod `fz` is as the fixtures made it.
fn assert_still_serving(tc: &TestCluster, client: &kube::Client, what: &str) -> Value {
    let r = tc.block_on(send(
        client,
        "GET",
        "/api/v1/namespaces/fuzz/pods/fz",
        "",
        "",
        vec![],
    ));
    assert_eq!(
        r.code, 200,
        "after {what}, the embedded cluster must keep serving reads"
    );
    let pod: Value = serde_json::from_slice(&r.body.unwrap_or_default()).unwrap_or_default();
    assert_eq!(
        pod["metadata"]["labels"]["app"], "web",
        "a refused {what} must change nothing: {pod}"
    );
    pod
}

#[test]
fn json_patch_that_breaks_the_patch_engine_rollback_is_refused_with_422_and_the_app_survives() {
    let (tc, client) = cluster_with_fixtures();
    // Give the pod the label the patch moves, so the move succeeds and the test op's failure
    // makes the patch engine roll the move back (the rollback that used to panic).
    let add_label = br#"{"metadata":{"labels":{"a":"x"}}}"#.to_vec();
    let r = tc.block_on(send(
        &client,
        "PATCH",
        "/api/v1/namespaces/fuzz/pods/fz",
        "application/merge-patch+json",
        "",
        add_label,
    ));
    assert_eq!(r.code, 200, "the label is added");
    let patch = r#"[{"op":"move","from":"/metadata/labels/a","path":"/metadata/labels"},{"op":"test","path":"/x","value":1}]"#;
    // The patch from the issue, verbatim (the issue counts it as 126 bytes; it is 105).
    let ans = tc.block_on(send(
        &client,
        "PATCH",
        "/api/v1/namespaces/fuzz/pods/fz",
        JSON_PATCH,
        "",
        patch.as_bytes().to_vec(),
    ));
    let status = refusal(&ans, 422, "a JSON patch whose test fails");
    assert_eq!(
        status["reason"], "Invalid",
        "kube-apiserver answers a failed JSON patch as Invalid: {status}"
    );
    assert_eq!(
        status["message"], "the server rejected our request due to an error in our request",
        "kube-apiserver's text for a JSON patch it cannot apply: {status}"
    );
    assert_eq!(status["details"], json!({}), "{status}");
    let pod = assert_still_serving(&tc, &client, "the 126-byte JSON patch");
    assert_eq!(
        pod["metadata"]["labels"]["a"], "x",
        "a failed JSON patch applies none of its operations: {pod}"
    );
}

/// `n` operations that nest the object one level deeper every three operations.
fn nesting_moves(n: usize) -> Vec<u8> {
    let mut ops = vec![json!({"op": "add", "path": "/n", "value": {}})];
    let cycle = [
        json!({"op": "add", "path": "/t", "value": {}}),
        json!({"op": "move", "from": "/n", "path": "/t/n"}),
        json!({"op": "move", "from": "/t", "path": "/n"}),
    ];
    while ops.len() < n {
        ops.push(cycle[(ops.len() - 1) % 3].clone());
    }
    serde_json::to_vec(&ops).unwrap_or_default()
}

#[test]
fn json_patch_with_20000_nested_moves_is_refused_with_413_before_anything_is_applied() {
    let (tc, client) = cluster_with_fixtures();
    let ans = tc.block_on(send(
        &client,
        "PATCH",
        "/api/v1/namespaces/fuzz/pods/fz",
        JSON_PATCH,
        "",
        nesting_moves(20_000),
    ));
    let status = refusal(&ans, 413, "a JSON patch of 20,000 operations");
    assert_eq!(status["reason"], "RequestEntityTooLarge", "{status}");
    assert_eq!(
        status["message"],
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 20000",
        "kube-apiserver's operation limit and text (handlers/patch.go): {status}"
    );
    assert_still_serving(&tc, &client, "a 20,000-operation JSON patch");
}

#[test]
fn json_patch_nesting_the_object_within_the_operation_limit_is_refused_with_422() {
    let (tc, client) = cluster_with_fixtures();
    // 9,999 operations: under the count limit, yet they nest the pod 3,333 levels deep,
    // enough to overflow a thread's stack when the result is copied or dropped.
    let ans = tc.block_on(send(
        &client,
        "PATCH",
        "/api/v1/namespaces/fuzz/pods/fz",
        JSON_PATCH,
        "",
        nesting_moves(9_999),
    ));
    let status = refusal(
        &ans,
        422,
        "a JSON patch nesting the object 3,333 levels deep",
    );
    assert_eq!(status["reason"], "Invalid", "{status}");
    assert_still_serving(&tc, &client, "a deeply nesting JSON patch");
}

#[test]
fn json_patch_copy_chain_is_refused_with_422_without_exhausting_memory() {
    let (tc, client) = cluster_with_fixtures();
    // Each copy doubles /a: 30 copies would need about 15 GB.
    let mut ops = vec![json!({"op": "add", "path": "/a", "value": ["0123456789"]})];
    ops.extend((0..30).map(|_| json!({"op": "copy", "from": "/a", "path": "/a/-"})));
    let body = serde_json::to_vec(&ops).unwrap_or_default();
    assert!(body.len() < 1300, "a patch of about 1.2 KB: {}", body.len());
    let started = std::time::Instant::now();
    let ans = tc.block_on(send(
        &client,
        "PATCH",
        "/api/v1/namespaces/fuzz/pods/fz",
        JSON_PATCH,
        "",
        body,
    ));
    let status = refusal(&ans, 422, "a chain of JSON patch copies");
    assert_eq!(
        status["message"], "the server rejected our request due to an error in our request",
        "{status}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the copy budget (3 MiB, kube-apiserver's JSONPatchMaxCopyBytes) stops the chain early, took {:?}",
        started.elapsed()
    );
    assert_still_serving(&tc, &client, "a JSON patch copy chain");
}

fn config_map_with(name: &str, bytes: usize) -> Vec<u8> {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
        "data": {"blob": "x".repeat(bytes)}});
    serde_json::to_vec(&cm).unwrap_or_default()
}

#[test]
fn an_object_over_etcds_1_5_mib_limit_is_refused_with_413_and_nothing_is_stored() {
    let (tc, client) = cluster_with_fixtures();
    let what = "a ConfigMap over etcd's 1.5 MiB request limit";
    let ans = tc.block_on(send(
        &client,
        "POST",
        "/api/v1/namespaces/fuzz/configmaps",
        "application/json",
        "",
        config_map_with("big", 1_600_000),
    ));
    let status = refusal(&ans, 413, what);
    assert_eq!(
        status["message"], "etcdserver: request is too large",
        "etcd's own text, as kube-apiserver passes it on: {status}"
    );
    assert_eq!(status["reason"], "RequestEntityTooLarge", "{status}");
    let r = tc.block_on(send(
        &client,
        "GET",
        "/api/v1/namespaces/fuzz/configmaps/big",
        "",
        "",
        vec![],
    ));
    assert_eq!(r.code, 404, "{what} is not stored");

    // Just under the limit is fine: the bound is etcd's, not tighter.
    let ans = tc.block_on(send(
        &client,
        "POST",
        "/api/v1/namespaces/fuzz/configmaps",
        "application/json",
        "",
        config_map_with("large", 1_500_000),
    ));
    assert_eq!(ans.code, 201, "a 1.5 MB ConfigMap fits in etcd's 1.5 MiB");

    // A patch whose result is too big is refused after applying, and nothing changes.
    let grow = json!({"data": {"more": "y".repeat(200_000)}});
    let ans = tc.block_on(send(
        &client,
        "PATCH",
        "/api/v1/namespaces/fuzz/configmaps/large",
        "application/merge-patch+json",
        "",
        serde_json::to_vec(&grow).unwrap_or_default(),
    ));
    let status = refusal(&ans, 413, "a patch growing a ConfigMap past 1.5 MiB");
    assert_eq!(
        status["message"], "etcdserver: request is too large",
        "{status}"
    );
    let r = tc.block_on(send(
        &client,
        "GET",
        "/api/v1/namespaces/fuzz/configmaps/large",
        "",
        "",
        vec![],
    ));
    let cm: Value = serde_json::from_slice(&r.body.unwrap_or_default()).unwrap_or_default();
    assert!(
        cm["data"].get("more").is_none(),
        "the refused patch left the stored ConfigMap as it was"
    );
    assert_still_serving(&tc, &client, "an over-size write");
}

#[test]
fn put_with_an_unparseable_resource_version_is_refused_not_written_unconditionally() {
    let (tc, client) = cluster_with_fixtures();
    for (rv, why) in [
        ("garbage", "invalid syntax"),
        ("-1", "invalid syntax"),
        ("+5", "invalid syntax"),
        ("99999999999999999999", "value out of range"),
    ] {
        let pod = assert_still_serving(&tc, &client, "reading the pod");
        let mut edited = pod.clone();
        edited["metadata"]["labels"]["app"] = json!("changed");
        edited["metadata"]["resourceVersion"] = json!(rv);
        let ans = tc.block_on(send(
            &client,
            "PUT",
            "/api/v1/namespaces/fuzz/pods/fz",
            "application/json",
            "",
            serde_json::to_vec(&edited).unwrap_or_default(),
        ));
        let what = format!("a PUT with resourceVersion {rv:?}");
        let status = refusal(&ans, 400, &what);
        assert_eq!(
            status["message"],
            format!("strconv.ParseUint: parsing \"{rv}\": {why}"),
            "kube-apiserver's parser text for {what}: {status}"
        );
        // assert_still_serving checks the label is still "web": nothing was written.
        assert_still_serving(&tc, &client, &what);
    }
}

#[test]
fn the_release_build_unwinds_so_a_handler_panic_cannot_end_the_app() {
    // The API server runs inside the desktop app: with panic = "abort", a bug in one request
    // handler would end the whole app before the server's catch_unwind could answer 500.
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("the workspace Cargo.toml");
    let release = text
        .split("\n[")
        .find(|section| section.starts_with("profile.release]"))
        .expect("a [profile.release] section");
    let aborts = release.lines().any(|l| {
        let l = l.split('#').next().unwrap_or_default().replace(' ', "");
        l == "panic=\"abort\""
    });
    assert!(
        !aborts,
        "the release profile must not set panic = \"abort\":\n{release}"
    );
}

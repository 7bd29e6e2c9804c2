//! kubectl explain and field validation against the embedded cluster's OpenAPI v2/v3, driven
//! by every kubectl on this machine: `explain` of core, apps, RBAC and storage kinds (kind,
//! version, description and field lines with upstream's descriptions, `--recursive`,
//! `--api-version`), unknown fields under `--validate=strict|warn|false`, and `apply` merging a
//! Deployment's containers by name.
//!
//! kubectl 1.27/1.28 fetch `/openapi/v2` before every explain and validating write; all
//! versions read `/openapi/v3`, each kubectl with its own `--cache-dir` so no version reads
//! another's cached documents. One cluster is shared; each version works in its own namespace,
//! concurrently, as in `kubectl_compat.rs`.

use http_body_util::BodyExt;
use hyper::http::Request;
use kq_tests::check::{Step, equals, expect, fails_with, has, has_line, has_words, lacks, ok};
use kq_tests::cluster::{Kubectl, TestCluster, kube_client, on_every_kubectl};
use serde_json::Value;

fn write_file(tc: &TestCluster, name: &str, text: &str) -> String {
    let path = tc.dir().join(name);
    std::fs::write(&path, text).expect("a manifest in the scratch directory");
    path.to_string_lossy().into_owned()
}

/// Runs kubectl with this version's own OpenAPI cache directory.
fn cached<'a>(
    tc: &'a TestCluster,
    k: &'a Kubectl,
) -> impl Fn(&[&str]) -> kq_tests::cluster::Run + 'a {
    let cache = tc.dir().join(format!("cache-{}", k.label));
    move |args: &[&str]| {
        let cache = cache.to_string_lossy();
        let mut a: Vec<&str> = vec!["--cache-dir", &cache];
        a.extend_from_slice(args);
        k.run(&a)
    }
}

fn explain_scenario(tc: &TestCluster, k: &Kubectl) -> Step {
    let run = cached(tc, k);

    let r = run(&["explain", "pods"]);
    ok(&r)?;
    let lines: Vec<&str> = r.stdout.lines().collect();
    expect(
        lines.get(..2) == Some(&["KIND:       Pod", "VERSION:    v1"][..]),
        || format!("explain opens with KIND and VERSION (no GROUP for core): {r}"),
    )?;
    has_line(&r, "DESCRIPTION:", "explain pods has a description")?;
    has_words(
        &r,
        "Pod is a collection of containers that can run on a host. This resource is \
         created by clients and scheduled onto hosts.",
        "the Pod description is upstream's",
    )?;
    has_line(&r, "FIELDS:", "explain pods lists fields")?;
    for field in [
        "apiVersion <string>",
        "kind <string>",
        "metadata <ObjectMeta>",
        "spec <PodSpec>",
        "status <PodStatus>",
    ] {
        has_line(&r, field, "a Pod field with its type")?;
    }
    lacks(
        &r,
        "-required-",
        "no Pod field is required, metadata included",
    )?;
    has_words(
        &r,
        "spec <PodSpec> Specification of the desired behavior of the pod. More info: \
         https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status",
        "a field's description follows its line",
    )?;

    let r = run(&["explain", "pods.spec.containers"]);
    ok(&r)?;
    has_line(
        &r,
        "FIELD: containers <[]Container>",
        "the field's own line",
    )?;
    has_words(
        &r,
        "List of containers belonging to the pod. Containers cannot currently be added or \
         removed. There must be at least one container in a Pod. Cannot be updated. \
         A single application container that you want to run within a pod.",
        "the field's description, then its type's",
    )?;
    has_line(
        &r,
        "name <string> -required-",
        "a container's name is required",
    )?;
    has_words(
        &r,
        "image <string> Container image name. More info: \
         https://kubernetes.io/docs/concepts/containers/images",
        "image with its description",
    )?;

    let r = run(&["explain", "deployments", "--recursive"]);
    ok(&r)?;
    expect(
        r.stdout.lines().take(3).eq([
            "GROUP:      apps",
            "KIND:       Deployment",
            "VERSION:    v1",
        ]),
        || format!("a non-core kind names its group first: {r}"),
    )?;
    has_words(
        &r,
        "Deployment enables declarative updates for Pods and ReplicaSets.",
        "the Deployment description",
    )?;
    for line in [
        "\n  spec\t<DeploymentSpec>\n",
        "\n    replicas\t<integer>\n",
        "\n    selector\t<LabelSelector> -required-\n",
        "\n      rollingUpdate\t<RollingUpdateDeployment>\n",
        "\n        maxSurge\t<IntOrString>\n",
        "\n    template\t<PodTemplateSpec> -required-\n",
        "\n        containers\t<[]Container> -required-\n",
        "\n          image\t<string>\n",
        "\n    ownerReferences\t<[]OwnerReference>\n",
    ] {
        expect(r.stdout.contains(line), || {
            format!(
                "--recursive indents nested fields two spaces a level, without descriptions; expected {line:?} in {r}"
            )
        })?;
    }

    let r = run(&["explain", "--api-version=apps/v1", "deployments.spec"]);
    ok(&r)?;
    has_line(&r, "FIELD: spec <DeploymentSpec>", "the spec field")?;
    has_words(
        &r,
        "Specification of the desired behavior of the Deployment. DeploymentSpec is the \
         specification of the desired behavior of the Deployment.",
        "the field's description, then its type's",
    )?;
    for field in [
        "minReadySeconds <integer>",
        "progressDeadlineSeconds <integer>",
        "selector <LabelSelector> -required-",
        "strategy <DeploymentStrategy>",
        "template <PodTemplateSpec> -required-",
    ] {
        has_line(&r, field, "a DeploymentSpec field")?;
    }

    let r = run(&["explain", "roles"]);
    ok(&r)?;
    expect(
        r.stdout.lines().take(3).eq([
            "GROUP:      rbac.authorization.k8s.io",
            "KIND:       Role",
            "VERSION:    v1",
        ]),
        || format!("Role's group and kind: {r}"),
    )?;
    has_words(
        &r,
        "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a \
         unit by a RoleBinding.",
        "the Role description",
    )?;
    has_words(
        &r,
        "rules <[]PolicyRule> Rules holds all the PolicyRules for this Role",
        "rules with its description",
    )?;

    let r = run(&["explain", "pvc.spec"]);
    ok(&r)?;
    has_line(
        &r,
        "KIND: PersistentVolumeClaim",
        "the short name resolves through discovery",
    )?;
    has_line(
        &r,
        "FIELD: spec <PersistentVolumeClaimSpec>",
        "the spec field",
    )?;
    for field in [
        "accessModes <[]string>",
        "resources <VolumeResourceRequirements>",
        "storageClassName <string>",
        "volumeName <string>",
    ] {
        has_line(&r, field, "a claim spec field")?;
    }

    let r = run(&["explain", "resourcequota"]);
    ok(&r)?;
    has_line(&r, "KIND: ResourceQuota", "the kind")?;
    has_words(
        &r,
        "ResourceQuota sets aggregate quota restrictions enforced per namespace",
        "the ResourceQuota description",
    )?;
    has_line(&r, "spec <ResourceQuotaSpec>", "the spec field")?;

    // A kind the server does not serve is refused the way kubectl refuses it.
    let r = run(&["explain", "widgets"]);
    fails_with(
        &r,
        "the server doesn't have a resource type \"widgets\"",
        "explain of an unknown resource",
    )
}

const BAD_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  foo: 1
  containers:
  - name: app
    image: busybox:1.36
";

fn validation_scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let run = cached(tc, k);
    ok(&run(&["create", "namespace", ns]))?;
    let file = write_file(tc, &format!("typo-{ns}.yaml"), BAD_POD);

    let r = run(&["-n", ns, "apply", "-f", &file, "--validate=warn"]);
    ok(&r)?;
    expect(
        r.stderr
            .lines()
            .any(|l| l == "Warning: unknown field \"spec.foo\""),
        || format!("--validate=warn prints the server's warning: {r}"),
    )?;
    has(&r, "pod/typo created", "--validate=warn still creates")?;

    // The object exists now, so the default (strict) apply is a patch: kube-apiserver's patch
    // handler answers the bare strict decoding error, which kubectl wraps.
    let r = run(&["-n", ns, "apply", "-f", &file]);
    fails_with(
        &r,
        &format!(
            "for: \"{file}\": error when patching \"{file}\": strict decoding error: unknown field \"spec.foo\""
        ),
        "a strict apply of an unknown field is refused",
    )?;
    has(
        &r,
        "Error from server (BadRequest): error when applying patch:",
        "the refusal is the server's",
    )?;

    // kubectl waits until the pod is gone: an apply while it is still terminating would be a
    // patch (`configured`, with the "currently being deleted" warning), as on any cluster.
    ok(&run(&["-n", ns, "delete", "pod", "typo"]))?;
    let r = run(&["-n", ns, "apply", "-f", &file, "--validate=false"]);
    ok(&r)?;
    lacks(
        &r,
        "unknown field",
        "--validate=false drops the field silently",
    )?;
    has(&r, "pod/typo created", "--validate=false creates")?;
    equals(
        &run(&["-n", ns, "get", "pod", "typo", "-o", "jsonpath={.spec.foo}"]),
        "",
        "the unknown field was dropped",
    )
}

const WEB_V1: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.27
      - name: sidecar
        image: busybox:1.36
        command: [sleep, '3600']
";

const WEB_V2: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.28
      - name: cache
        image: redis:7
";

fn apply_merge_scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let run = cached(tc, k);
    ok(&run(&["create", "namespace", ns]))?;
    let v1 = write_file(tc, &format!("web1-{ns}.yaml"), WEB_V1);
    let v2 = write_file(tc, &format!("web2-{ns}.yaml"), WEB_V2);
    equals(
        &run(&["-n", ns, "apply", "-f", &v1]),
        "deployment.apps/web created",
        "first apply",
    )?;
    // A change made outside the manifest: a strategic three-way merge keeps it, a merge that
    // replaced the containers list would lose it.
    ok(&run(&[
        "-n",
        ns,
        "set",
        "env",
        "deployment/web",
        "-c",
        "app",
        "MODE=blue",
    ]))?;
    equals(
        &run(&["-n", ns, "apply", "-f", &v2]),
        "deployment.apps/web configured",
        "second apply",
    )?;
    let get = |path: &str| {
        run(&[
            "-n",
            ns,
            "get",
            "deployment",
            "web",
            "-o",
            &format!("jsonpath={path}"),
        ])
    };
    equals(
        &get("{.spec.template.spec.containers[*].name}"),
        "app cache",
        "containers merged by name: sidecar removed (it was applied before), cache added",
    )?;
    equals(
        &get("{.spec.template.spec.containers[*].image}"),
        "nginx:1.28 redis:7",
        "the applied images",
    )?;
    equals(
        &get("{.spec.template.spec.containers[0].env[0].value}"),
        "blue",
        "a field apply never managed survives the merge",
    )
}

#[test]
fn explain_validation_and_apply_on_every_kubectl() {
    let tc = TestCluster::start();
    on_every_kubectl(&tc, "oa", |k, ns| {
        explain_scenario(&tc, k)?;
        validation_scenario(&tc, k, ns)?;
        apply_merge_scenario(&tc, k, &format!("{ns}-apply"))
    });
}

/// kube-apiserver's create handler prefixes a decode error with the kind and version
/// (apiserver `pkg/endpoints/handlers/create.go` `transformDecodeError`), so a strict create
/// reads `Pod in version "v1" cannot be handled as a Pod: strict decoding error: ...`.
#[test]
fn strict_create_names_the_kind_like_kube_apiserver() {
    let tc = TestCluster::start();
    on_every_kubectl(&tc, "oa-strict", |k, ns| {
        let run = cached(&tc, k);
        ok(&run(&["create", "namespace", ns]))?;
        let file = write_file(&tc, &format!("typo-{ns}.yaml"), BAD_POD);
        let r = run(&["-n", ns, "apply", "-f", &file]);
        fails_with(
            &r,
            &format!(
                "Error from server (BadRequest): error when creating \"{file}\": Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.foo\""
            ),
            "a strict create of an unknown field is refused",
        )
    });
}

/// One raw GET through the cluster's own kubeconfig (no redirect following, every header
/// visible): status, headers and body.
async fn get(
    client: &kube::Client,
    path: &str,
    accept: &str,
) -> (u16, hyper::http::HeaderMap, Vec<u8>) {
    let req = Request::builder()
        .uri(path)
        .header("Accept", accept)
        .body(kube::client::Body::empty())
        .expect("a request");
    let res = client.send(req).await.expect("the server answers");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("a body").to_bytes().to_vec();
    (parts.status.as_u16(), parts.headers, body)
}

fn header_of<'a>(headers: &'a hyper::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The caching contract kubectl's disk cache relies on (kube-openapi `handler3`): the index
/// links each document by its hash, the hash is the ETag, a matching hash is immutable for a
/// year and a stale one is redirected to the current URL.
#[test]
fn documents_are_hashed_cached_and_redirected_like_kube_openapi() {
    let tc = TestCluster::start();
    tc.block_on(async {
        let client = kube_client(tc.cluster()).await;
        let (code, headers, body) = get(&client, "/openapi/v3", "application/json").await;
        assert_eq!(code, 200, "the index is served");
        let index: Value = serde_json::from_slice(&body).expect("the index is JSON");
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .expect("apps/v1 is listed with its URL")
            .to_string();
        for gv in ["api/v1", "apis/rbac.authorization.k8s.io/v1", "apis/storage.k8s.io/v1"] {
            assert!(index["paths"][gv].is_object(), "{gv} is in the index: {index}");
        }
        assert!(header_of(&headers, "etag").starts_with('"'), "the index has an ETag");
        let hash = url
            .strip_prefix("/openapi/v3/apis/apps/v1?hash=")
            .expect("the URL carries the hash")
            .to_string();
        assert!(
            hash.len() == 128 && hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
            "upper-case hex SHA-512: {hash}"
        );

        let (code, headers, body) = get(&client, &url, "application/json").await;
        assert_eq!(code, 200);
        assert_eq!(header_of(&headers, "etag"), format!("\"{hash}\""));
        assert_eq!(header_of(&headers, "cache-control"), "public, immutable");
        assert!(header_of(&headers, "expires").ends_with(" UTC"), "{headers:?}");
        let doc: Value = serde_json::from_slice(&body).expect("the document is JSON");
        assert_eq!(
            doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
            serde_json::json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );

        let (code, headers, _) =
            get(&client, "/openapi/v3/apis/apps/v1?hash=0123", "application/json").await;
        assert_eq!(code, 301, "a stale hash is redirected");
        assert_eq!(header_of(&headers, "location"), url);

        let (code, headers, _) = get(&client, "/openapi/v3/apis/apps/v1", "application/json").await;
        assert_eq!(code, 200, "no hash, no redirect");
        assert_eq!(header_of(&headers, "cache-control"), "no-cache, private");

        let (code, _, _) = get(
            &client,
            "/openapi/v3/apis/apps/v1",
            "application/com.github.proto-openapi.spec.v3.v1.0+protobuf",
        )
        .await;
        assert_eq!(code, 406, "only JSON is served");
        let (code, _, _) = get(&client, "/openapi/v3/apis/widgets.example.com/v1", "application/json").await;
        assert_eq!(code, 404, "an unserved group-version");

        let (code, headers, body) = get(
            &client,
            "/openapi/v2",
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
        )
        .await;
        assert_eq!((code, body.len()), (200, 0), "kubectl 1.27/1.28 get an empty v2 document");
        assert_eq!(
            header_of(&headers, "content-type"),
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        );
        let (code, _, body) = get(&client, "/openapi/v2", "application/json").await;
        assert_eq!(code, 200);
        let v2: Value = serde_json::from_slice(&body).expect("Swagger 2.0 JSON");
        assert_eq!(v2["swagger"], "2.0");
        assert_eq!(
            v2["definitions"]["io.k8s.api.core.v1.Pod"]["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.PodSpec"
        );
    });
}

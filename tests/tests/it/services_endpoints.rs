//! EndpointSlices and Endpoints behind Services (WORKLOADS.md §3), on a paused virtual
//! clock: what the two controllers write as a pod goes not ready → ready → terminating →
//! gone, a named targetPort found on one pod and missing on another, a selector matching
//! nothing (the placeholder slice), a headless Service; then what every installed kubectl
//! shows for `get ep`, `get endpointslice`, `describe endpoints|endpointslice` and
//! `describe svc` (the ≤1.30 / ≥1.31 split of `Endpoints:`, and 1.31 listing not-ready slice
//! endpoints), the 1.33 deprecation warning on stderr, the `kubernetes` Service's own
//! endpoints, and the Service allocation errors (create and update to NodePort).

use std::time::Duration;

use kq_sim::kinds;
use kq_sim::store::{DeleteOptions, WriteOptions};
use kq_tests::cluster::{Kubectl, Run, TestCluster, advance_until, kubectl_binaries};
use serde_json::{Value, json};

const NS: &str = "default";
const WARNING: &str =
    "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice";

fn service(name: &str, selector: Value, target_port: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"tier": "front"}},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": target_port}]}})
}

fn pod(name: &str, app: &str, container: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [container]}})
}

fn nginx() -> Value {
    json!({"name": "web", "image": "nginx:1.27"})
}

fn create(tc: &TestCluster, kind: &'static kinds::ResourceKind, obj: Value) {
    tc.cluster()
        .store()
        .create(kind, NS, obj, &WriteOptions::default())
        .expect("the object is accepted");
    tc.cluster().settle();
}

fn slices(tc: &TestCluster, svc: &str) -> Vec<Value> {
    let mut v: Vec<Value> = tc
        .cluster()
        .store()
        .list_raw(&kinds::endpointslice::KIND, Some(NS))
        .iter()
        .filter(|s| {
            s.pointer("/metadata/labels/kubernetes.io~1service-name")
                .and_then(Value::as_str)
                == Some(svc)
        })
        .map(|s| (**s).clone())
        .collect();
    v.sort_by_key(|s| s.get("ports").map(Value::to_string));
    v
}

fn endpoints(tc: &TestCluster, svc: &str) -> Option<Value> {
    tc.cluster()
        .store()
        .get_raw(&kinds::endpoints::KIND, NS, svc)
        .map(|v| (*v).clone())
}

fn pod_ip(tc: &TestCluster, name: &str) -> String {
    tc.cluster()
        .store()
        .get_raw(&kinds::pod::KIND, NS, name)
        .and_then(|p| {
            p.pointer("/status/podIP")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn conditions(slice: &Value) -> Vec<Value> {
    slice
        .get("endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| e["conditions"].clone())
        .collect()
}

#[test]
fn slices_and_endpoints_follow_a_pod_from_not_ready_to_ready_to_terminating_to_gone() {
    let tc = TestCluster::paused();
    create(
        &tc,
        &kinds::service::KIND,
        service("web", json!({"app": "web"}), json!(80)),
    );
    // Placeholder while nothing matches: one slice, no ports, no endpoints; Endpoints without
    // subsets.
    let s = slices(&tc, "web");
    assert_eq!(s.len(), 1, "{s:#?}");
    assert_eq!(s[0]["ports"], json!([]));
    assert_eq!(s[0]["endpoints"], json!([]));
    assert_eq!(s[0]["addressType"], "IPv4");
    let svc = tc
        .cluster()
        .store()
        .get_raw(&kinds::service::KIND, NS, "web")
        .expect("the Service");
    let name = s[0]["metadata"]["name"].as_str().unwrap_or_default();
    assert!(
        name.starts_with("web-") && name.len() == 9,
        "generateName web-: {name}"
    );
    assert_eq!(
        s[0]["metadata"]["labels"],
        json!({"tier": "front", "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"})
    );
    assert_eq!(
        s[0]["metadata"]["ownerReferences"],
        json!([{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": svc["metadata"]["uid"],
            "controller": true, "blockOwnerDeletion": true}])
    );
    assert!(
        s[0]["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
            .is_string()
    );
    let ep = endpoints(&tc, "web").expect("Endpoints named as the Service");
    assert_eq!(ep.get("subsets"), None, "{ep:#?}");
    assert_eq!(ep["metadata"]["labels"], json!({"tier": "front"}));

    // A pod whose readiness probe only starts after 10 s: running, not ready.
    let mut c = nginx();
    c["readinessProbe"] = json!({"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 10, "periodSeconds": 5});
    create(&tc, &kinds::pod::KIND, pod("web-1", "web", c));
    advance_until(&tc, 30, || !pod_ip(&tc, "web-1").is_empty());
    let ip = pod_ip(&tc, "web-1");
    let s = slices(&tc, "web");
    assert_eq!(s.len(), 1, "the placeholder is reused: {s:#?}");
    assert_eq!(
        s[0]["ports"],
        json!([{"name": "", "port": 80, "protocol": "TCP"}])
    );
    assert_eq!(s[0]["endpoints"][0]["addresses"], json!([ip]));
    assert_eq!(s[0]["endpoints"][0]["nodeName"], "node-1");
    assert_eq!(s[0]["endpoints"][0]["targetRef"]["kind"], "Pod");
    assert_eq!(s[0]["endpoints"][0]["targetRef"]["name"], "web-1");
    assert_eq!(
        conditions(&s[0]),
        vec![json!({"ready": false, "serving": false, "terminating": false})]
    );
    let ep = endpoints(&tc, "web").expect("Endpoints");
    assert_eq!(ep["subsets"][0]["notReadyAddresses"][0]["ip"], json!(ip));
    assert_eq!(ep["subsets"][0].get("addresses"), None);
    assert_eq!(
        ep["subsets"][0]["ports"],
        json!([{"port": 80, "protocol": "TCP"}])
    );

    // The probe passes: ready.
    advance_until(&tc, 30, || {
        conditions(&slices(&tc, "web")[0])
            == vec![json!({"ready": true, "serving": true, "terminating": false})]
    });
    let ep = endpoints(&tc, "web").expect("Endpoints");
    assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], json!(ip));
    assert_eq!(
        ep["subsets"][0]["addresses"][0]["targetRef"]["name"],
        "web-1"
    );
    assert_eq!(ep["subsets"][0].get("notReadyAddresses"), None);

    // Deleted: terminating in the slice (no longer ready), gone from Endpoints.
    tc.cluster()
        .store()
        .delete(&kinds::pod::KIND, NS, "web-1", &DeleteOptions::default())
        .expect("the delete is accepted");
    tc.cluster().settle();
    let c = conditions(&slices(&tc, "web")[0]);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["ready"], false, "{c:?}");
    assert_eq!(c[0]["terminating"], true, "{c:?}");
    assert_eq!(
        endpoints(&tc, "web").and_then(|e| e.get("subsets").cloned()),
        None
    );

    // Gone: back to the placeholder.
    advance_until(&tc, 60, || {
        tc.cluster()
            .store()
            .get_raw(&kinds::pod::KIND, NS, "web-1")
            .is_none()
    });
    let s = slices(&tc, "web");
    assert_eq!(s.len(), 1);
    assert_eq!(
        (&s[0]["ports"], &s[0]["endpoints"]),
        (&json!([]), &json!([]))
    );

    // The Service goes: its slices (garbage collector) and Endpoints (controller) with it.
    tc.cluster()
        .store()
        .delete(&kinds::service::KIND, NS, "web", &DeleteOptions::default())
        .expect("the delete is accepted");
    tc.cluster().settle();
    advance_until(&tc, 10, || {
        slices(&tc, "web").is_empty() && endpoints(&tc, "web").is_none()
    });
}

#[test]
fn a_named_target_port_resolves_per_pod_and_a_pod_without_it_loses_the_port() {
    let tc = TestCluster::paused();
    create(
        &tc,
        &kinds::service::KIND,
        service("api", json!({"app": "api"}), json!("http")),
    );
    let mut with = nginx();
    with["ports"] = json!([{"name": "http", "containerPort": 80}]);
    create(&tc, &kinds::pod::KIND, pod("api-a", "api", with));
    create(&tc, &kinds::pod::KIND, pod("api-b", "api", nginx()));
    advance_until(&tc, 60, || {
        slices(&tc, "api")
            .iter()
            .flat_map(conditions)
            .filter(|c| c["ready"] == true)
            .count()
            == 2
    });
    let (a, b) = (pod_ip(&tc, "api-a"), pod_ip(&tc, "api-b"));
    let s = slices(&tc, "api");
    assert_eq!(s.len(), 2, "one slice per resolved port set: {s:#?}");
    let by_ports: Vec<(Value, Value)> = s
        .iter()
        .map(|s| {
            (
                s["ports"].clone(),
                s["endpoints"][0]["addresses"][0].clone(),
            )
        })
        .collect();
    assert!(
        by_ports.contains(&(
            json!([{"name": "", "port": 80, "protocol": "TCP"}]),
            json!(a)
        )),
        "{by_ports:?}"
    );
    assert!(by_ports.contains(&(json!([]), json!(b))), "{by_ports:?}");
    // Endpoints list only the pod the port resolves on.
    let ep = endpoints(&tc, "api").expect("Endpoints");
    assert_eq!(
        ep["subsets"],
        json!([{"addresses": [{"ip": a, "nodeName": "node-1", "targetRef": ep["subsets"][0]["addresses"][0]["targetRef"]}],
            "ports": [{"port": 80, "protocol": "TCP"}]}])
    );
    assert_eq!(
        ep["subsets"][0]["addresses"][0]["targetRef"]["name"],
        "api-a"
    );

    // Nothing changes, nothing is written: the controllers' own writes come back as no-ops.
    let versions = |tc: &TestCluster| {
        let mut v: Vec<String> = slices(tc, "api")
            .iter()
            .chain(endpoints(tc, "api").iter())
            .map(|o| {
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    };
    let before = versions(&tc);
    tc.cluster().advance(Duration::from_secs(60));
    assert_eq!(versions(&tc), before);
}

#[test]
fn headless_services_and_services_without_selector() {
    let tc = TestCluster::paused();
    let mut headless = service("db", json!({"app": "db"}), json!(5432));
    headless["spec"]["clusterIP"] = json!("None");
    create(&tc, &kinds::service::KIND, headless);
    create(&tc, &kinds::pod::KIND, pod("db-0", "db", nginx()));
    advance_until(&tc, 60, || {
        slices(&tc, "db")
            .first()
            .is_some_and(|s| conditions(s).first().is_some_and(|c| c["ready"] == true))
    });
    let s = slices(&tc, "db");
    assert_eq!(
        s[0]["metadata"]["labels"]["service.kubernetes.io/headless"],
        ""
    );
    assert_eq!(
        endpoints(&tc, "db").expect("Endpoints")["metadata"]["labels"]["service.kubernetes.io/headless"],
        ""
    );
    // No selector: nobody manages its endpoints (the user writes them).
    create(
        &tc,
        &kinds::service::KIND,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
            "spec": {"ports": [{"port": 80}]}}),
    );
    tc.cluster().advance(Duration::from_secs(5));
    assert!(slices(&tc, "ext").is_empty());
    assert!(endpoints(&tc, "ext").is_none());
}

/// kubectl's client minor version (`1.27` → 27); `path` asks the binary.
fn minor(k: &Kubectl) -> u32 {
    if let Some(m) = k.label.strip_prefix("1.").and_then(|m| m.parse().ok()) {
        return m;
    }
    let r = k.run(&["version", "--client", "-o", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_default();
    v.pointer("/clientVersion/minor")
        .and_then(Value::as_str)
        .and_then(|m| m.trim_end_matches('+').parse().ok())
        .unwrap_or_else(|| panic!("no client version in {r}"))
}

/// The cells of the stdout row whose first cell is `name` (columns split at two spaces, so an
/// empty cell shows as a missing one).
fn row(run: &Run, name: &str) -> Vec<String> {
    run.stdout
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first().map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in {run}"))
}

/// The `Endpoints:` lines of `describe svc`, trimmed.
fn endpoints_lines(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Endpoints:"))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn kubectl_get_ep_get_endpointslice_and_describe_svc_on_every_version() {
    let tc = TestCluster::paused();
    create(
        &tc,
        &kinds::service::KIND,
        service("web", json!({"app": "web"}), json!(80)),
    );
    create(
        &tc,
        &kinds::service::KIND,
        service("slow", json!({"app": "slow"}), json!(80)),
    );
    create(
        &tc,
        &kinds::service::KIND,
        service("nobody", json!({"app": "nobody"}), json!(80)),
    );
    create(
        &tc,
        &kinds::service::KIND,
        service("named", json!({"app": "named"}), json!("http")),
    );
    create(
        &tc,
        &kinds::service::KIND,
        service("wrong", json!({"app": "named"}), json!(8080)),
    );
    for i in 0..4 {
        create(
            &tc,
            &kinds::pod::KIND,
            pod(&format!("web-{i}"), "web", nginx()),
        );
    }
    let mut never = nginx();
    never["readinessProbe"] = json!({"tcpSocket": {"port": 8080}, "periodSeconds": 5});
    create(&tc, &kinds::pod::KIND, pod("slow-0", "slow", never));
    create(&tc, &kinds::pod::KIND, pod("named-0", "named", nginx()));
    let ready = |name: &str| {
        tc.cluster()
            .store()
            .get_raw(&kinds::pod::KIND, NS, name)
            .and_then(|p| {
                p.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .cloned()
            })
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    };
    advance_until(&tc, 60, || {
        (0..4).all(|i| ready(&format!("web-{i}")))
            && ready("named-0")
            && !pod_ip(&tc, "slow-0").is_empty()
    });
    tc.cluster().advance(Duration::from_secs(2));
    let mut web_ips: Vec<String> = (0..4).map(|i| pod_ip(&tc, &format!("web-{i}"))).collect();
    web_ips.sort_by_key(|ip| ip.parse::<std::net::IpAddr>().ok());
    let web_ep = format!(
        "{}:80,{}:80,{}:80 + 1 more...",
        web_ips[0], web_ips[1], web_ips[2]
    );
    let slow_ip = pod_ip(&tc, "slow-0");
    let named_ip = pod_ip(&tc, "named-0");

    let mut failures = Vec::new();
    for (label, path) in kubectl_binaries() {
        let k = tc.kubectl(&label, &path);
        let m = minor(&k);
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("kubectl {label}: {what}"));
            }
        };

        let r = k.run(&["get", "ep"]);
        check(r.ok(), format!("get ep succeeds: {r}"));
        let header: Vec<&str> = r
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        check(
            header == ["NAME", "ENDPOINTS", "AGE"],
            format!("get ep header: {r}"),
        );
        check(
            row(&r, "web")[1] == web_ep,
            format!("web shows three ready ip:port and the rest: {r}"),
        );
        check(
            row(&r, "kubernetes")[1] == "192.168.49.2:6443",
            format!("the API server's own address behind `kubernetes`: {r}"),
        );
        check(
            row(&r, "nobody")[1] == "<none>",
            format!("no subsets is <none>: {r}"),
        );
        check(
            row(&r, "slow").len() == 2,
            format!("only not-ready addresses leave ENDPOINTS blank: {r}"),
        );
        check(
            row(&r, "named")[1] == "<none>",
            format!("an unresolved named port gives no subset: {r}"),
        );
        check(
            row(&r, "wrong")[1] == format!("{named_ip}:8080"),
            format!("a wrong numeric port shows as is: {r}"),
        );
        check(
            r.stderr.matches(WARNING).count() == 1,
            format!("the deprecation warning, once, on stderr: {r}"),
        );

        let r = k.run(&["get", "endpointslice"]);
        check(r.ok(), format!("get endpointslice succeeds: {r}"));
        let header: Vec<&str> = r
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        check(
            header == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
            format!("slice header: {r}"),
        );
        check(
            !r.stderr.contains("deprecated"),
            format!("slices carry no warning: {r}"),
        );
        let rows: Vec<Vec<String>> = r
            .stdout
            .lines()
            .skip(1)
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        let find = |prefix: &str| {
            rows.iter()
                .filter(|c| c[0].starts_with(prefix))
                .cloned()
                .collect::<Vec<_>>()
        };
        check(
            find("kubernetes").first().map(|c| c[..4].to_vec())
                == Some(vec![
                    "kubernetes".into(),
                    "IPv4".into(),
                    "6443".into(),
                    "192.168.49.2".into(),
                ]),
            format!("the API server's slice: {r}"),
        );
        let nobody = find("nobody-");
        check(
            nobody.len() == 1 && nobody[0][1..4] == ["IPv4", "<unset>", "<unset>"],
            format!("the placeholder prints <unset> twice: {r}"),
        );
        let slow = find("slow-");
        check(
            slow.len() == 1 && slow[0][1..4] == ["IPv4".to_string(), "80".into(), slow_ip.clone()],
            format!("not-ready addresses are listed in slices: {r}"),
        );
        let web = find("web-");
        check(
            web.len() == 1
                && web[0][3] == format!("{},{},{} + 1 more...", web_ips[0], web_ips[1], web_ips[2]),
            format!("three addresses then the count: {r}"),
        );

        // kubectl's own describers read the objects: each field where a learner looks.
        let lines = |r: &Run| -> Vec<String> {
            r.stdout
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        };
        let r = k.run(&["describe", "endpoints", "slow"]);
        let got = lines(&r);
        for want in [
            "Addresses: <none>".to_string(),
            format!("NotReadyAddresses: {slow_ip}"),
            "<unset> 80 TCP".to_string(),
        ] {
            check(
                got.contains(&want),
                format!("describe endpoints shows {want:?}: {r}"),
            );
        }
        check(
            r.stderr.matches(WARNING).count() == 1,
            format!("describe endpoints warns once: {r}"),
        );
        let r = k.run(&[
            "describe",
            "endpointslice",
            "-l",
            "kubernetes.io/service-name=slow",
        ]);
        let got = lines(&r);
        for want in [
            "AddressType: IPv4".to_string(),
            format!("- Addresses: {slow_ip}"),
            "Ready: false".to_string(),
            "TargetRef: Pod/slow-0".to_string(),
            "NodeName: node-1".to_string(),
            "kubernetes.io/service-name=slow".to_string(),
        ] {
            check(
                got.contains(&want),
                format!("describe endpointslice shows {want:?}: {r}"),
            );
        }
        for (svc, old, new) in [
            ("web", web_ep.clone(), web_ep.clone()),
            ("nobody", "<none>".to_string(), String::new()),
            // kubectl 1.31 lists a slice's endpoints whatever their `ready` condition (the
            // filter on ready came with 1.32), so its not-ready pod shows there alone.
            (
                "slow",
                String::new(),
                if m == 31 {
                    format!("{slow_ip}:80")
                } else {
                    String::new()
                },
            ),
            ("named", "<none>".to_string(), named_ip.clone()),
            (
                "wrong",
                format!("{named_ip}:8080"),
                format!("{named_ip}:8080"),
            ),
        ] {
            let r = k.run(&["describe", "svc", svc]);
            check(r.ok(), format!("describe svc {svc}: {r}"));
            let want = if m <= 30 { old } else { new };
            check(
                endpoints_lines(&r) == vec![want.clone()],
                format!("describe svc {svc} shows Endpoints: {want:?}: {r}"),
            );
            let warned = r.stderr.matches(WARNING).count();
            check(
                warned == usize::from(m <= 30),
                format!("describe svc {svc} warns only where it reads Endpoints (≤1.30): {r}"),
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn service_allocation_refuses_taken_and_out_of_range_addresses_with_the_real_texts() {
    let tc = TestCluster::paused();
    let (label, path) = kubectl_binaries().remove(0);
    let k = tc.kubectl(&label, &path);
    let write = |name: &str, text: &str| {
        let p = tc.dir().join(name);
        std::fs::write(&p, text).expect("a manifest");
        p.to_string_lossy().into_owned()
    };
    let np = |name: &str, port: u32| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  type: NodePort\n  selector:\n    app: web\n  ports:\n  - port: 80\n    nodePort: {port}\n"
        )
    };
    let r = k.run(&["apply", "-f", &write("a.yaml", &np("a", 30080))]);
    assert!(r.ok(), "{r}");
    let r = k.run(&["apply", "-f", &write("b.yaml", &np("b", 30080))]);
    assert!(!r.ok(), "{r}");
    assert_eq!(
        r.stderr.trim(),
        "The Service \"b\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated",
        "{r}"
    );
    let r = k.run(&["apply", "-f", &write("c.yaml", &np("c", 20000))]);
    assert_eq!(
        r.stderr.trim(),
        "The Service \"c\" is invalid: spec.ports[0].nodePort: Invalid value: 20000: provided port is not in the valid range. The range of valid ports is 30000-32767",
        "{r}"
    );
    let ip = "apiVersion: v1\nkind: Service\nmetadata:\n  name: d\nspec:\n  clusterIP: 10.96.0.1\n  ports:\n  - port: 80\n";
    let r = k.run(&["apply", "-f", &write("d.yaml", ip)]);
    assert_eq!(
        r.stderr.trim(),
        "The Service \"d\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.0.1\"}: failed to allocate IP 10.96.0.1: provided IP is already allocated",
        "{r}"
    );
    // A ClusterIP Service patched to NodePort gets a free node port; asking for a taken one
    // is refused as on create.
    let r = k.run(&["create", "service", "clusterip", "e", "--tcp=80:80"]);
    assert!(r.ok(), "{r}");
    let r = k.run(&["patch", "svc", "e", "-p", r#"{"spec":{"type":"NodePort"}}"#]);
    assert_eq!(r.stdout.trim(), "service/e patched", "{r}");
    let e = tc
        .cluster()
        .store()
        .get_raw(&kinds::service::KIND, NS, "e")
        .expect("the Service");
    let np = e.pointer("/spec/ports/0/nodePort").and_then(Value::as_i64);
    assert!(
        np.is_some_and(|p| (30000..=32767).contains(&p) && p != 30080),
        "{e}"
    );
    let r = k.run(&[
        "patch",
        "svc",
        "e",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/ports/0/nodePort","value":30080}]"#,
    ]);
    assert_eq!(
        r.stderr.trim(),
        "The Service \"e\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated",
        "{r}"
    );
    // Back to ClusterIP by a patch that keeps the node port: refused until it goes.
    let r = k.run(&[
        "patch",
        "svc",
        "e",
        "-p",
        r#"{"spec":{"type":"ClusterIP"}}"#,
    ]);
    assert_eq!(
        r.stderr.trim(),
        "The Service \"e\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
        "{r}"
    );
    // Many Services: every ClusterIP and node port distinct.
    for i in 0..40 {
        let r = k.run(&[
            "create",
            "service",
            "nodeport",
            &format!("s{i}"),
            "--tcp=80:80",
        ]);
        assert!(r.ok(), "{r}");
    }
    let all = tc.cluster().store().list_raw(&kinds::service::KIND, None);
    let mut ips: Vec<&str> = all
        .iter()
        .filter_map(|s| s.pointer("/spec/clusterIP").and_then(Value::as_str))
        .collect();
    let mut ports: Vec<i64> = all
        .iter()
        .flat_map(|s| {
            s.pointer("/spec/ports")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
        .collect();
    let (n_ips, n_ports) = (ips.len(), ports.len());
    ips.sort_unstable();
    ips.dedup();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(
        (ips.len(), ports.len()),
        (n_ips, n_ports),
        "no two Services share an address"
    );
    assert!(ports.iter().all(|p| (30000..=32767).contains(p)));
}

#[test]
fn fixing_a_selector_or_relabelling_a_pod_moves_it_in_and_out_of_the_endpoints() {
    let tc = TestCluster::paused();
    create(
        &tc,
        &kinds::service::KIND,
        service("web", json!({"app": "wbe"}), json!(80)),
    );
    create(&tc, &kinds::pod::KIND, pod("web-1", "web", nginx()));
    advance_until(&tc, 60, || !pod_ip(&tc, "web-1").is_empty());
    tc.cluster().advance(Duration::from_secs(5));
    let ip = pod_ip(&tc, "web-1");
    let s = slices(&tc, "web");
    assert_eq!(
        (s.len(), &s[0]["endpoints"]),
        (1, &json!([])),
        "a typo selects nothing"
    );
    assert_eq!(
        endpoints(&tc, "web").and_then(|e| e.get("subsets").cloned()),
        None
    );

    let patch = |kind: &'static kinds::ResourceKind, name: &str, body: Value| {
        tc.cluster()
            .store()
            .patch(
                kind,
                NS,
                name,
                body.to_string().as_bytes(),
                kq_sim::store::PatchKind::Merge,
                &WriteOptions::default(),
                false,
            )
            .expect("the patch is accepted");
        tc.cluster().settle();
    };
    // The selector fixed: the ready pod is behind the Service at once.
    patch(
        &kinds::service::KIND,
        "web",
        json!({"spec": {"selector": {"app": "web"}}}),
    );
    let s = slices(&tc, "web");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["endpoints"][0]["addresses"], json!([ip]));
    assert_eq!(conditions(&s[0])[0]["ready"], true);
    let ep = endpoints(&tc, "web").expect("Endpoints");
    assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], json!(ip));

    // The pod relabelled away: out of both.
    patch(
        &kinds::pod::KIND,
        "web-1",
        json!({"metadata": {"labels": {"app": "debug"}}}),
    );
    let s = slices(&tc, "web");
    assert_eq!((s.len(), &s[0]["endpoints"]), (1, &json!([])));
    assert_eq!(
        endpoints(&tc, "web").and_then(|e| e.get("subsets").cloned()),
        None
    );
}

#[test]
fn a_pod_on_a_node_that_is_gone_is_left_out_with_a_warning_on_the_service() {
    let tc = TestCluster::paused();
    create(
        &tc,
        &kinds::service::KIND,
        service("web", json!({"app": "web"}), json!(80)),
    );
    create(&tc, &kinds::pod::KIND, pod("web-1", "web", nginx()));
    advance_until(&tc, 60, || {
        slices(&tc, "web")
            .first()
            .is_some_and(|s| conditions(s).first().is_some_and(|c| c["ready"] == true))
    });
    tc.cluster()
        .store()
        .delete(&kinds::node::KIND, "", "node-1", &DeleteOptions::default())
        .expect("the node is deleted");
    tc.cluster().settle();
    // The controller does not follow nodes: its next sync (here a label on the Service)
    // finds the pod's node gone.
    tc.cluster()
        .store()
        .patch(
            &kinds::service::KIND,
            NS,
            "web",
            br#"{"metadata":{"labels":{"touched":"yes"}}}"#,
            kq_sim::store::PatchKind::Merge,
            &WriteOptions::default(),
            false,
        )
        .expect("the patch is accepted");
    tc.cluster().settle();
    let s = slices(&tc, "web");
    assert_eq!(s[0]["endpoints"], json!([]), "{s:#?}");
    let events: Vec<(String, String, String)> = tc
        .cluster()
        .store()
        .list_raw(&kinds::event::KIND, Some(NS))
        .iter()
        .filter(|e| {
            e.pointer("/involvedObject/name").and_then(Value::as_str) == Some("web")
                && e.pointer("/involvedObject/kind").and_then(Value::as_str) == Some("Service")
        })
        .map(|e| {
            let f = |p: &str| {
                e.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            (f("/type"), f("/reason"), f("/message"))
        })
        .collect();
    assert!(
        events.contains(&(
            "Warning".into(),
            "FailedToUpdateEndpointSlices".into(),
            "Error updating Endpoint Slices for Service default/web: skipping Pod web-1 for Service default/web: Node node-1 Not Found".into()
        )),
        "{events:#?}"
    );
    let source = tc
        .cluster()
        .store()
        .list_raw(&kinds::event::KIND, Some(NS))
        .iter()
        .find(|e| {
            e.pointer("/reason").and_then(Value::as_str) == Some("FailedToUpdateEndpointSlices")
        })
        .and_then(|e| {
            e.pointer("/source/component")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    assert_eq!(source.as_deref(), Some("endpoint-slice-controller"));
}

#[test]
fn publish_not_ready_addresses_lists_a_pod_before_it_is_ready() {
    let tc = TestCluster::paused();
    let mut svc = service("peers", json!({"app": "peers"}), json!(80));
    svc["spec"]["clusterIP"] = json!("None");
    svc["spec"]["publishNotReadyAddresses"] = json!(true);
    create(&tc, &kinds::service::KIND, svc);
    let mut never = nginx();
    never["readinessProbe"] = json!({"tcpSocket": {"port": 8080}, "periodSeconds": 5});
    create(&tc, &kinds::pod::KIND, pod("peers-0", "peers", never));
    advance_until(&tc, 60, || !pod_ip(&tc, "peers-0").is_empty());
    tc.cluster().advance(Duration::from_secs(10));
    let ip = pod_ip(&tc, "peers-0");
    let s = slices(&tc, "peers");
    assert_eq!(
        conditions(&s[0]),
        vec![json!({"ready": true, "serving": false, "terminating": false})],
        "published: ready for DNS though the pod is not"
    );
    let ep = endpoints(&tc, "peers").expect("Endpoints");
    assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], json!(ip));
    assert_eq!(ep["subsets"][0].get("notReadyAddresses"), None);
}

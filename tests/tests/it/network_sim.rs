//! The simulated network, seen the way a learner sees it: busybox pods whose command runs
//! `wget`, `nslookup` and `nc` against Services, and whose output `kubectl logs` shows (so
//! these checks do not depend on `kubectl exec`). Each case is a mistake a real cluster shows
//! in the same words: a Service whose selector matches nothing or whose pod is not ready
//! refuses, a wrong targetPort refuses, an unknown name is a bad address, an address nobody
//! has times out after `-T`. Also: nginx's real page and 404, redis answering PING, cluster
//! DNS through the pod's resolv.conf, the CRI port-forward dial (HTTP keep-alive, redis lines,
//! containerd's refusal text), and the API server's proxy paths through `kubectl get --raw`.
//!
//! The clock is paused: the kubelet's timers, image pulls and the applets' waits happen at the
//! same virtual moments on every run.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use kq_tests::cluster::{Kubectl, TestCluster, kubectl_binaries};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn server_pod(
    name: &str,
    image: &str,
    app: &str,
    probe: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut c = json!({"name": "c", "image": image});
    if let Some(p) = probe {
        c["readinessProbe"] = p;
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [c]}
    })
}

fn service(name: &str, app: &str, port: u16, target: u16) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": app}, "ports": [{"port": port, "targetPort": target}]}
    })
}

fn client(name: &str, script: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", script]}]
        }
    })
}

fn kubectl(tc: &TestCluster) -> Kubectl {
    let (label, path) = kubectl_binaries()
        .into_iter()
        .next()
        .expect("a kubectl on this machine");
    tc.kubectl(&label, &path)
}

fn logs(k: &Kubectl, pod: &str) -> String {
    let r = k.run(&["logs", pod]);
    assert!(r.ok(), "kubectl logs {pod}: {r}");
    r.stdout
}

fn cluster_ip(tc: &TestCluster, name: &str) -> String {
    let svc: k8s_openapi::api::core::v1::Service = tc
        .cluster()
        .store()
        .get("default", name)
        .expect("the Service exists");
    svc.spec.and_then(|s| s.cluster_ip).expect("a cluster IP")
}

/// Servers first (pulled, started, ready), then the clients that reach them.
fn cluster_with_servers() -> TestCluster {
    let tc = TestCluster::paused();
    tc.create("default", server_pod("web-1", "nginx:1.25", "web", None));
    let never_ready = json!({"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 5});
    tc.create(
        "default",
        server_pod("slow-1", "nginx:1.25", "slow", Some(never_ready)),
    );
    tc.create("default", server_pod("cache-1", "redis:7.4", "cache", None));
    tc.create("default", service("web", "web", 80, 80));
    tc.create("default", service("nothing", "nothing", 80, 80));
    tc.create("default", service("slow", "slow", 80, 80));
    tc.create("default", service("wrongport", "web", 80, 8080));
    tc.create("default", service("cache", "cache", 6379, 6379));
    for _ in 0..60 {
        tc.cluster().advance(secs(1));
    }
    tc
}

/// Whether the cluster DNS (the `kube-dns` Service) has a ready CoreDNS endpoint.
fn dns_ready(tc: &TestCluster) -> bool {
    let slices: Vec<k8s_openapi::api::discovery::v1::EndpointSlice> =
        tc.cluster().store().list(Some("kube-system"));
    slices.iter().any(|s| {
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/service-name"))
            .is_some_and(|n| n == "kube-dns")
            && s.endpoints
                .iter()
                .any(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
    })
}

#[test]
fn wget_to_cluster_ips_shows_what_a_cluster_shows() {
    let tc = cluster_with_servers();
    let k = kubectl(&tc);
    let web = cluster_ip(&tc, "web");
    let nothing = cluster_ip(&tc, "nothing");
    let slow = cluster_ip(&tc, "slow");
    let wrong = cluster_ip(&tc, "wrongport");
    tc.create(
        "default",
        client(
            "get",
            &format!("wget -qO- {web}; echo rc=$?; wget -q -O - http://{web}/nope; echo rc=$?"),
        ),
    );
    tc.create(
        "default",
        client(
            "save",
            &format!("cd /tmp && wget {web} && head -4 index.html"),
        ),
    );
    tc.create(
        "default",
        client(
            "broken",
            &format!(
                "wget -qO- {nothing}; echo rc=$?; wget -qO- {slow}; echo rc=$?; wget -qO- {wrong}; echo rc=$?; wget -qO- {web}:8080; echo rc=$?"
            ),
        ),
    );
    tc.create(
        "default",
        client("lost", "wget -T 3 -qO- 10.96.250.250; echo rc=$?"),
    );
    // The applets' waits follow the cluster clock: the 8080 connect and the lost address
    // end with their timeouts (3 s here, the kernel's 127 s for a port the Service lacks).
    for _ in 0..150 {
        tc.cluster().advance(secs(1));
    }
    let get = logs(&k, "get");
    assert!(
        get.starts_with("<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>"),
        "{get}"
    );
    assert!(
        get.contains("<p><em>Thank you for using nginx.</em></p>\n</body>\n</html>\nrc=0\n"),
        "{get}"
    );
    assert!(
        get.ends_with("wget: server returned error: HTTP/1.1 404 Not Found\nrc=1\n"),
        "{get}"
    );
    assert_eq!(
        logs(&k, "save"),
        format!(
            "Connecting to {web} ({web}:80)\nsaving to 'index.html'\n\
             index.html           100% |********************************|   615  0:00:00 ETA\n\
             'index.html' saved\n<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n"
        )
    );
    assert_eq!(
        logs(&k, "broken"),
        format!(
            "wget: can't connect to remote host ({nothing}): Connection refused\nrc=1\n\
             wget: can't connect to remote host ({slow}): Connection refused\nrc=1\n\
             wget: can't connect to remote host ({wrong}): Connection refused\nrc=1\n\
             wget: can't connect to remote host ({web}): Connection timed out\nrc=1\n"
        )
    );
    assert_eq!(logs(&k, "lost"), "wget: download timed out\nrc=1\n");
}

#[test]
fn names_through_cluster_dns_and_redis_over_nc() {
    let tc = cluster_with_servers();
    let k = kubectl(&tc);
    let web = cluster_ip(&tc, "web");
    let cache = cluster_ip(&tc, "cache");
    let resolv = "search default.svc.cluster.local svc.cluster.local cluster.local\n\
                  nameserver 10.96.0.10\noptions ndots:5\n";
    let dns_script =
        "cat /etc/resolv.conf; nslookup web.default.svc.cluster.local; nslookup nosuch; echo rc=$?";
    let names_script = "wget -qO- web >/dev/null; echo rc=$?; wget -q nosuch; echo rc=$?";
    if !dns_ready(&tc) {
        // kube-dns without a ready CoreDNS: queries go unanswered, names do not resolve
        // (after the resolver's 10 s).
        tc.create("default", client("dns-down", dns_script));
        tc.create("default", client("names-down", names_script));
        for _ in 0..40 {
            tc.cluster().advance(secs(1));
        }
        assert_eq!(
            logs(&k, "dns-down"),
            format!(
                "{resolv};; connection timed out; no servers could be reached\n\n\
                 ;; connection timed out; no servers could be reached\n\nrc=1\n"
            )
        );
        assert_eq!(
            logs(&k, "names-down"),
            "wget: bad address 'web'\nrc=1\nwget: bad address 'nosuch'\nrc=1\n"
        );
        // A ready endpoint behind kube-dns (the slice kube-proxy reads), as a running
        // CoreDNS gives it.
        let slice = json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kube-dns-test", "namespace": "kube-system",
                         "labels": {"kubernetes.io/service-name": "kube-dns"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.250"], "conditions": {"ready": true}}],
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]
        });
        let kind = kq_sim::kinds::by_kind("discovery.k8s.io", "EndpointSlice")
            .expect("EndpointSlice is served");
        tc.cluster()
            .store()
            .create(
                kind,
                "kube-system",
                slice,
                &kq_sim::store::WriteOptions::default(),
            )
            .expect("the slice is accepted");
    }
    assert!(dns_ready(&tc), "kube-dns has a ready endpoint");
    tc.create(
        "default",
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web-headless"},
            "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]}
        }),
    );
    let web_pod: k8s_openapi::api::core::v1::Pod =
        tc.cluster().store().get("default", "web-1").expect("web-1");
    let pod_ip = web_pod
        .status
        .and_then(|s| s.pod_ip)
        .expect("web-1 has an IP");
    let dashed = pod_ip.replace('.', "-");
    tc.create("default", client("dns", dns_script));
    tc.create("default", client("names", names_script));
    tc.create(
        "default",
        client(
            "more",
            &format!(
                "nslookup web-headless.default.svc.cluster.local | tail -4; \
                 wget -qO- {dashed}.default.pod.cluster.local | head -1; \
                 wget -qO- web.default | head -1"
            ),
        ),
    );
    tc.create(
        "default",
        client(
            "redis",
            &format!(
                "echo PING | nc -w 1 cache 6379; nc -zv {cache} 6379; nc -zv -w 2 {web} 6379; echo rc=$?"
            ),
        ),
    );
    for _ in 0..40 {
        tc.cluster().advance(secs(1));
    }
    assert_eq!(
        logs(&k, "dns"),
        format!(
            "{resolv}Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n\
             Name:\tweb.default.svc.cluster.local\nAddress: {web}\n\n\n\
             Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n\
             ** server can't find nosuch: NXDOMAIN\n\n** server can't find nosuch: NXDOMAIN\n\nrc=0\n"
        )
    );
    assert_eq!(
        logs(&k, "names"),
        "rc=0\nwget: bad address 'nosuch'\nrc=1\n"
    );
    assert_eq!(
        logs(&k, "more"),
        format!(
            "Name:\tweb-headless.default.svc.cluster.local\nAddress: {pod_ip}\n\n\n\
             <!DOCTYPE html>\n<!DOCTYPE html>\n"
        )
    );
    assert_eq!(
        logs(&k, "redis"),
        format!(
            "+PONG\r\n{cache} ({cache}:6379) open\n\
             nc: {web} ({web}:6379): Connection timed out\nrc=1\n"
        )
    );
}

#[test]
fn port_forward_dial_speaks_the_container_protocol() {
    let tc = cluster_with_servers();
    let streams = tc.cluster().streams().expect("controllers run");
    tc.block_on(async {
        let mut conn = streams.dial("default", "web-1", 80).expect("nginx listens on 80");
        conn.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\nGET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut got = Vec::new();
        tokio::time::timeout(secs(5), conn.read_to_end(&mut got))
            .await
            .expect("the server closes after Connection: close")
            .expect("read");
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nServer: nginx/1.25.5\r\n"), "{text}");
        assert!(text.contains("Connection: keep-alive\r\n"), "{text}");
        assert!(text.contains(
            "HTTP/1.1 404 Not Found\r\nServer: nginx/1.25.5\r\n"
        ), "{text}");
        assert!(text.ends_with(
            "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.25.5</center>\r\n</body>\r\n</html>\r\n"
        ), "{text}");

        let mut redis = streams.dial("default", "cache-1", 6379).expect("redis listens");
        redis.write_all(b"PING\r\n").await.expect("write");
        let mut buf = [0u8; 7];
        tokio::time::timeout(secs(5), redis.read_exact(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        assert_eq!(&buf, b"+PONG\r\n");

        let Err(err) = streams.dial("default", "web-1", 8080) else {
            panic!("nothing listens on 8080")
        };
        assert!(
            err.starts_with("failed to connect to localhost:8080 inside namespace \""),
            "{err}"
        );
        assert!(
            err.ends_with("\", IPv4: dial tcp4 127.0.0.1:8080: connect: connection refused IPv6 dial tcp6 [::1]:8080: connect: connection refused "),
            "{err}"
        );
    });
}

#[test]
fn proxy_paths_through_every_kubectl() {
    let tc = cluster_with_servers();
    let base = "/api/v1/namespaces/default";
    for (label, path) in kubectl_binaries() {
        let k = tc.kubectl(&label, &path);
        // The trailing slash is added by a 301 that kubectl follows.
        for url in [
            format!("{base}/services/web/proxy/"),
            format!("{base}/services/web:80/proxy"),
            format!("{base}/services/http:web:80/proxy/index.html"),
            format!("{base}/pods/web-1/proxy/"),
            format!("{base}/pods/web-1:80/proxy/"),
        ] {
            let r = k.run(&["get", "--raw", &url]);
            assert!(r.ok(), "{label} {url}: {r}");
            assert!(
                r.stdout.starts_with(
                    "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>"
                ),
                "{label} {url}: {r}"
            );
        }
        let r = k.run(&["get", "--raw", &format!("{base}/services/nothing/proxy/")]);
        assert!(!r.ok(), "{label}: {r}");
        assert_eq!(
            r.stderr,
            "Error from server (ServiceUnavailable): no endpoints available for service \"nothing\"\n",
            "{label}"
        );
        let r = k.run(&["get", "--raw", &format!("{base}/services/slow:80/proxy/")]);
        assert_eq!(
            r.stderr,
            "Error from server (ServiceUnavailable): no endpoints available for service \"slow\"\n",
            "{label}"
        );
        let r = k.run(&["get", "--raw", &format!("{base}/services/web:81/proxy/")]);
        assert_eq!(
            r.stderr,
            "Error from server (ServiceUnavailable): no service port 81 found for service \"web\"\n",
            "{label}"
        );
        let r = k.run(&["get", "--raw", &format!("{base}/services/web/proxy/nope")]);
        assert!(!r.ok(), "{label}: {r}");
        assert_eq!(
            r.stderr,
            "Error from server (NotFound): the server could not find the requested resource\n",
            "{label}"
        );
    }
    // Without a client that follows redirects, the 301 itself.
    tc.block_on(async {
        let client = kq_tests::cluster::kube_client(tc.cluster()).await;
        let req = hyper::http::Request::builder()
            .method("GET")
            .uri(format!("{base}/services/web/proxy"))
            .body(kube::client::Body::from(Vec::new()))
            .expect("a request");
        let resp = client.send(req).await.expect("an answer");
        assert_eq!(resp.status().as_u16(), 301);
        assert_eq!(
            resp.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("/api/v1/namespaces/default/services/web/proxy/")
        );
    });
}

const HTTP_MISSION: &str = "---
format: 1
id: service-typo
title: The Service that selects nobody
order: 1
stage: ready
difficulty: beginner
objectives:
  - id: http
    title: \"`web` serves the page\"
    check: { kind: service-http, service: web, port: 80, path: /, status: 200 }
hints:
  - Look at the Service's endpoints.
  - Compare its selector with the pod's labels.
  - Fix the selector.
---

# The Service that selects nobody

`web` answers nothing.
";

fn web_service(app: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: {app}\n  \
         ports:\n    - port: 80\n      targetPort: 80\n"
    )
}

const WEB_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    app: web\nspec:\n  \
                       containers:\n    - name: nginx\n      image: nginx:1.27\n";

/// The `service-http` objective in a whole session: a GET through the Service proxy with the
/// app's kube client, not met while the selector matches nobody (the API server's own words),
/// met once the learner's fixed Service is applied.
#[test]
fn a_session_checks_http_through_the_service_and_solves_after_the_selector_fix() {
    use kq_engine::ipc::SessionUpdate;
    use kq_engine::mission::ObjectiveStatus;
    use kq_engine::session::apply_yaml;
    use kq_tests::session::{first_objective, start_session};

    let s = start_session(
        "01-service-typo",
        &[
            ("mission.md", HTTP_MISSION.to_owned()),
            (
                "manifests/web.yaml",
                format!("{}---\n{WEB_POD}", web_service("wbe")),
            ),
            ("solution/web.yaml", web_service("web")),
            (
                "debrief.md",
                "# Debrief\n\n## What happened\n\nThe selector had a typo.\n".to_owned(),
            ),
        ],
    );
    let (tc, rx, client, ns, rt) = (&s.tc, &s.rx, &s.client, &s.ns, &s.rt);
    let objective = first_objective;
    let wait_for = |what: &str, pred: &dyn Fn(&SessionUpdate) -> bool| -> SessionUpdate {
        let deadline = std::time::Instant::now() + Duration::from_secs(40);
        let mut seen = Vec::new();
        loop {
            while let Ok(u) = rx.try_recv() {
                if pred(&u) {
                    return u;
                }
                if let Some(o) = objective(&u) {
                    seen.push(o);
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no update with {what}; objectives seen: {seen:?}"
            );
            tc.cluster().advance(secs(1));
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let u = wait_for("the no-endpoints reason", &|u| {
        objective(u).is_some_and(|(_, r)| r.contains("no endpoints"))
    });
    assert_eq!(
        objective(&u),
        Some((
            ObjectiveStatus::NotMet,
            "no endpoints available for service \"web\"".to_string()
        ))
    );
    let r = rt.block_on(apply_yaml(client, ns, "web.yaml", &web_service("web")));
    assert!(r.ok, "{r:?}");
    let u = wait_for("the page", &|u| {
        objective(u).is_some_and(|(s, _)| s == ObjectiveStatus::Met)
    });
    assert_eq!(
        objective(&u),
        Some((
            ObjectiveStatus::Met,
            "GET / through web got 200".to_string()
        ))
    );
    assert_eq!(s.outcome(), kq_engine::session::SessionOutcome::Solved);
}

/// A NodePort on the node's address, `wget -S` and `--spider`, and curl in the nginx image.
#[test]
fn node_ports_server_headers_and_curl() {
    let tc = cluster_with_servers();
    let k = kubectl(&tc);
    tc.create(
        "default",
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web-np"},
            "spec": {"type": "NodePort", "selector": {"app": "web"},
                     "ports": [{"port": 80, "targetPort": 80, "nodePort": 30080}]}
        }),
    );
    let node: k8s_openapi::api::core::v1::Node = tc
        .cluster()
        .store()
        .list::<k8s_openapi::api::core::v1::Node>(None)
        .into_iter()
        .next()
        .expect("a node");
    let node_ip = node
        .status
        .and_then(|s| s.addresses)
        .and_then(|a| a.into_iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address)
        .expect("the node's InternalIP");
    let web = cluster_ip(&tc, "web");
    tc.create(
        "default",
        client(
            "np",
            &format!(
                "wget -qO- {node_ip}:30080 | head -4; wget -qO- {node_ip}:30081; echo rc=$?; \
                 wget -S --spider {web}/; echo rc=$?"
            ),
        ),
    );
    tc.create(
        "default",
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "curler"},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "c", "image": "nginx:1.25",
                "command": ["sh", "-c", format!(
                    "curl -s {web} | head -4; curl -sI {web}/nope | head -1; \
                     curl -sS {web}:8080; echo rc=$?; curl -s nosuch.invalid; echo rc=$?"
                )]
            }]}
        }),
    );
    // The 8080 connect waits for the kernel's 127 s.
    for _ in 0..140 {
        tc.cluster().advance(secs(1));
    }
    let np = logs(&k, "np");
    let head4 = "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n";
    assert!(
        np.starts_with(&format!(
            "{head4}wget: can't connect to remote host ({node_ip}): Connection refused\nrc=1\n\
             Connecting to {web} ({web}:80)\n  HTTP/1.1 200 OK\n  Server: nginx/1.25.5\n  Date: "
        )),
        "{np}"
    );
    assert!(
        np.ends_with(
            "  Content-Type: text/html\n  Content-Length: 615\n  \
             Last-Modified: Tue, 16 Apr 2024 14:29:59 GMT\n  Connection: close\n  \
             ETag: \"661e8b67-267\"\n  Accept-Ranges: bytes\n  \nremote file exists\nrc=0\n"
        ),
        "{np}"
    );
    let curl = logs(&k, "curler");
    assert!(curl.starts_with(head4), "{curl}");
    assert!(curl.contains("HTTP/1.1 404 Not Found\r\n"), "{curl}");
    assert!(
        curl.ends_with(&format!(
            "curl: (28) Failed to connect to {web} port 8080 after 127000 ms: Couldn't connect to server\nrc=28\nrc=6\n"
        )),
        "{curl}"
    );
}

/// One raw HTTP/1.1 request to `127.0.0.1:port`, answered in full (the server closes).
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("kubectl proxy listens");
    s.set_read_timeout(Some(secs(20))).expect("a read timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `kubectl proxy` on every kubectl: the page through a Service and a pod, the 301 to the
/// trailing slash, the API server's 503 Status for a Service with no ready endpoint.
#[test]
fn kubectl_proxy_reaches_services_and_pods() {
    use std::io::BufRead;
    let tc = cluster_with_servers();
    for (label, path) in kubectl_binaries() {
        let k = tc.kubectl(&label, &path);
        let mut child = k
            .command(&["proxy", "--port=0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("kubectl proxy starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the serving line");
        let port: u16 = line
            .trim()
            .strip_prefix("Starting to serve on 127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{label}: {line:?}"));
        let base = "/api/v1/namespaces/default";
        let page = http_get(port, &format!("{base}/services/web/proxy/"));
        let moved = http_get(port, &format!("{base}/pods/web-1/proxy"));
        let none = http_get(port, &format!("{base}/services/nothing:80/proxy/"));
        let _ = child.kill();
        let _ = child.wait();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{label}: {page}");
        assert!(
            page.contains("\r\nServer: nginx/1.25.5\r\n"),
            "{label}: {page}"
        );
        assert!(
            page.contains(
                "\r\n\r\n<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>"
            ),
            "{label}: {page}"
        );
        assert!(
            moved.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
            "{label}: {moved}"
        );
        assert!(
            moved.contains(&format!("\r\nLocation: {base}/pods/web-1/proxy/\r\n")),
            "{label}: {moved}"
        );
        assert!(
            none.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{label}: {none}"
        );
        let body: serde_json::Value = none
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok())
            .unwrap_or_else(|| panic!("{label}: a Status body in {none}"));
        assert_eq!(
            body,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "no endpoints available for service \"nothing\"",
                   "reason": "ServiceUnavailable", "code": 503}),
            "{label}"
        );
    }
}

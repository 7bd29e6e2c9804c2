//! The class server's wire: the embedded cluster on an address the teacher chose (its
//! certificate names it, the kubeconfig points at it) and the join endpoint a learner's app
//! sends a code to, without a token (`POST /kubequest/v1/join`). Loopback addresses only: CI
//! never listens on a network.

use http_body_util::BodyExt;
use hyper::http::Request;
use kq_sim::{Cluster, ClusterConfig, JoinEntry, RunningCluster};
use kq_tests::cluster::kube_config;
use serde_json::{Value, json};

struct Resp {
    code: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn send(client: &kube::Client, method: &str, path: &str, body: &str) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(kube::client::Body::from(body.as_bytes().to_vec()))
        .expect("request");
    let res = client.send(req).await.expect("the server answers");
    let code = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "the answer is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Resp {
        code,
        retry_after,
        body,
    }
}

fn join_body(code: &str) -> String {
    json!({ "code": code }).to_string()
}

/// A client that sends no token, as a learner's app does before it has joined, and that shows
/// a 429 instead of waiting out its Retry-After.
async fn anonymous(cluster: &RunningCluster) -> kube::Client {
    let mut cfg = kube_config(cluster).await;
    cfg.auth_info.token = None;
    cfg.default_retry = false;
    kube::Client::try_from(cfg).expect("a client")
}

fn assert_status(r: &Resp, code: u16, reason: &str, message: &str) {
    assert_eq!(r.code, code, "{}", r.body);
    assert_eq!(r.body["kind"], "Status", "{}", r.body);
    assert_eq!(r.body["status"], "Failure", "{}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
    assert_eq!(r.body["reason"], reason, "{}", r.body);
    assert_eq!(r.body["message"], message, "{}", r.body);
}

const BAD: &str = "join code not recognised or expired; ask your teacher for your code";

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_served_on_a_chosen_address_is_reached_and_verified_there() {
    // All of 127.0.0.0/8 is loopback on Linux: a second address stands for the teacher's LAN
    // address without leaving the machine.
    let listen: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let cluster = Cluster::start(ClusterConfig {
        listen,
        controllers: false,
        kube_system: false,
        ..ClusterConfig::default()
    })
    .await
    .expect("the cluster starts on 127.0.0.2");
    let url = format!("https://127.0.0.2:{}", cluster.port());
    assert_eq!(cluster.url(), url);
    assert!(
        cluster
            .kubeconfig_yaml()
            .contains(&format!("server: {url}\n")),
        "{}",
        cluster.kubeconfig_yaml()
    );
    // The kube client checks the certificate against the CA and the address it dialled: it
    // must name 127.0.0.2.
    let client = kube::Client::try_from(kube_config(&cluster).await).unwrap();
    let version = client
        .apiserver_version()
        .await
        .expect("TLS is verified for the chosen address");
    assert_eq!(version.git_version, kq_sim::VERSION);
    // Discovery tells clients the same address.
    let api = send(&client, "GET", "/api", "").await;
    assert_eq!(
        api.body["serverAddressByClientCIDRs"][0]["serverAddress"],
        format!("127.0.0.2:{}", cluster.port())
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_code_fetches_the_learners_kubeconfig_without_a_token_and_nothing_else() {
    let cluster = Cluster::start(ClusterConfig {
        controllers: false,
        kube_system: false,
        ..ClusterConfig::default()
    })
    .await
    .expect("cluster starts");
    let anon = anonymous(&cluster).await;

    // No class served: the path is like any other, RBAC's 403 for an anonymous request.
    let r = send(&anon, "POST", "/kubequest/v1/join", &join_body("ABCD-EFGH")).await;
    assert_status(
        &r,
        403,
        "Forbidden",
        "forbidden: User \"system:anonymous\" cannot post path \"/kubequest/v1/join\"",
    );

    let ends = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(8);
    cluster.set_join_codes(vec![
        JoinEntry {
            code: "ABCD-EFGH".into(),
            learner: "ada".into(),
            kubeconfig: "apiVersion: v1\nkind: Config\n# ada\n".into(),
            expires_at: ends,
        },
        JoinEntry {
            code: "7K2M-9QRS".into(),
            learner: "grace".into(),
            kubeconfig: "apiVersion: v1\nkind: Config\n# grace\n".into(),
            expires_at: jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1),
        },
    ]);

    let r = send(&anon, "POST", "/kubequest/v1/join", &join_body("abcdefgh")).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"learner": "ada", "kubeconfig": "apiVersion: v1\nkind: Config\n# ada\n"})
    );

    // The class's end has passed for grace's code.
    let r = send(&anon, "POST", "/kubequest/v1/join", &join_body("7K2M-9QRS")).await;
    assert_status(&r, 403, "Forbidden", BAD);
    let r = send(&anon, "GET", "/kubequest/v1/join", "").await;
    assert_status(
        &r,
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    );

    // The endpoint opens nothing else: every other path still needs a token.
    let r = send(&anon, "GET", "/api/v1/namespaces/default/configmaps", "").await;
    assert_status(
        &r,
        403,
        "Forbidden",
        "configmaps is forbidden: User \"system:anonymous\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"",
    );
    let r = send(
        &anon,
        "POST",
        "/kubequest/v1/join/x",
        &join_body("ABCD-EFGH"),
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_ne!(
        r.body["message"], BAD,
        "only the exact path is the join endpoint"
    );

    // Ten bad codes a minute are allowed from one address (grace's expired one counted);
    // after them even the right code waits.
    for i in 0..9 {
        let r = send(
            &anon,
            "POST",
            "/kubequest/v1/join",
            &join_body(&format!("ZZZZ-ZZZ{i}")),
        )
        .await;
        assert_status(&r, 403, "Forbidden", BAD);
    }
    let r = send(&anon, "POST", "/kubequest/v1/join", &join_body("ABCD-EFGH")).await;
    assert_eq!(r.code, 429, "{}", r.body);
    assert_eq!(r.body["reason"], "TooManyRequests", "{}", r.body);
    let wait: u64 = r
        .retry_after
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(r.body["details"]["retryAfterSeconds"], wait);

    // When the class is over, no code is accepted (a fresh cluster: this address is limited).
    cluster.shutdown().await;
    let cluster = Cluster::start(ClusterConfig {
        controllers: false,
        kube_system: false,
        ..ClusterConfig::default()
    })
    .await
    .expect("cluster starts");
    let anon = anonymous(&cluster).await;
    cluster.set_join_codes(vec![JoinEntry {
        code: "ABCD-EFGH".into(),
        learner: "ada".into(),
        kubeconfig: "k".into(),
        expires_at: ends,
    }]);
    let r = send(&anon, "POST", "/kubequest/v1/join", &join_body("ABCD-EFGH")).await;
    assert_eq!(r.code, 200, "{}", r.body);
    cluster.clear_join_codes();
    let r = send(&anon, "POST", "/kubequest/v1/join", &join_body("ABCD-EFGH")).await;
    assert_status(&r, 403, "Forbidden", BAD);
    cluster.shutdown().await;
}

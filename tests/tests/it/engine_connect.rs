//! Choosing a cluster without a cluster: kubeconfig merging, the local/remote table, the
//! refusal of remote contexts, the mapping of `kube::Error`s and the reconnect schedule.

use std::ffi::OsString;
use std::path::Path;

use crate::engine_fixtures::at;
use jiff::SignedDuration;
use kq_engine::connect::{
    ConnectError, ConnectErrorKind, ConnectPolicy, Locality, ReconnectPolicy, ReconnectState,
    check_server_version, classify, classify_kube_error, list_contexts, load_kubeconfig,
    record_consent,
};
use kube::config::Kubeconfig;

#[test]
fn the_locality_table() {
    let local = |server: &str| classify(Some(server)).is_local();
    // Only the server address decides: these are the addresses of clusters on this machine.
    let table: &[(&str, bool)] = &[
        ("https://127.0.0.1:41234", true),
        ("https://127.0.1.1:6443", true),
        ("https://localhost:6443", true),
        ("https://kind.localhost:6443", true),
        ("https://[::1]:6443", true),
        ("https://0.0.0.0:6443", true),
        ("https://host.docker.internal:6443", true),
        ("https://host.minikube.internal:8443", true),
        ("https://kubernetes.docker.internal:6443", true),
        ("https://k8s.example.com:443", false),
        ("https://10.0.0.5:6443", false),
        ("https://34.76.1.2", false),
        ("https://localhost.example.com", false),
        // A desktop VM on its own network address is not provably this machine: the learner
        // allows it once by name rather than KubeQuest guessing from a name.
        ("https://192.168.49.2:8443", false),
    ];
    for (server, want) in table {
        assert_eq!(
            local(server),
            *want,
            "{server} must be classified {} by its address",
            if *want { "local" } else { "remote" }
        );
    }
    assert_eq!(
        classify(Some("https://127.0.0.1:6443")),
        Locality::Local {
            why: "server host 127.0.0.1".into()
        }
    );
    assert_eq!(
        classify(None),
        Locality::Remote,
        "a context whose server is unknown cannot be shown to be local, so it is remote"
    );
}

/// A context's name is chosen by whoever wrote the kubeconfig: `kind-prod` may point at
/// production. Names must never make a remote server local.
#[test]
fn a_kind_named_context_on_a_remote_server_is_remote() {
    let config = Kubeconfig::from_yaml(
        "apiVersion: v1
kind: Config
current-context: kind-prod
clusters:
- name: kind-prod
  cluster: {server: 'https://k8s.prod.example.com:6443'}
- name: minikube
  cluster: {server: 'https://10.20.0.4:8443'}
- name: my-cluster
  cluster: {server: 'https://127.0.0.1:40123'}
contexts:
- name: kind-prod
  context: {cluster: kind-prod, user: u}
- name: minikube
  context: {cluster: minikube, user: u}
- name: k3d-shared
  context: {cluster: kind-prod, user: u}
- name: my-cluster
  context: {cluster: my-cluster, user: u}
users:
- name: u
  user: {token: t}
",
    )
    .expect("kubeconfig parses");
    let contexts = list_contexts(&config);
    let locality = |name: &str| {
        contexts
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.locality.clone())
            .unwrap_or_else(|| panic!("context {name} is listed"))
    };
    for name in ["kind-prod", "minikube", "k3d-shared"] {
        assert_eq!(
            locality(name),
            Locality::Remote,
            "{name} points at a server that is not on this machine, so it must be remote \
             whatever its name says"
        );
    }
    assert_eq!(
        locality("my-cluster"),
        Locality::Local {
            why: "server host 127.0.0.1".into()
        },
        "a context with any name whose server is 127.0.0.1 is local"
    );
}

const KIND: &str = "apiVersion: v1
kind: Config
current-context: kind-kind
clusters:
- name: kind-kind
  cluster: {server: 'https://127.0.0.1:40001'}
contexts:
- name: kind-kind
  context: {cluster: kind-kind, user: kind-kind}
- name: shared
  context: {cluster: from-kind-file, user: kind-kind}
users:
- name: kind-kind
  user: {token: abc}
";

const WORK: &str = "apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod
  cluster: {server: 'https://k8s.example.com'}
- name: from-kind-file
  cluster: {server: 'https://shadowed.example.com'}
contexts:
- name: prod
  context: {cluster: prod, user: me, namespace: shop}
- name: shared
  context: {cluster: prod, user: me}
users:
- name: me
  user: {token: xyz}
";

fn env_of(paths: &[&Path]) -> OsString {
    std::env::join_paths(paths).expect("paths without separators")
}

#[test]
fn kubeconfig_files_merge_first_one_wins_and_missing_ones_are_skipped() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let kind = tmp.path().join("kind.yaml");
    let work = tmp.path().join("work.yaml");
    std::fs::write(&kind, KIND).expect("write");
    std::fs::write(&work, WORK).expect("write");
    let missing = tmp.path().join("gone.yaml");
    let env = env_of(&[&missing, &kind, &work]);
    let loaded = load_kubeconfig(Some(&env), None).expect("loads");
    assert_eq!(
        loaded.files,
        [kind.clone(), work.clone()],
        "the missing file is skipped like kubectl does"
    );
    let ctxs = list_contexts(&loaded.config);
    let summary: Vec<_> = ctxs
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.current,
                c.server.as_deref().unwrap_or(""),
                c.locality.is_local(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("kind-kind", true, "https://127.0.0.1:40001", true),
            ("shared", false, "https://shadowed.example.com", false),
            ("prod", false, "https://k8s.example.com", false),
        ],
        "current-context and same-named entries come from the first file"
    );
    assert_eq!(ctxs[2].namespace.as_deref(), Some("shop"));
}

#[test]
fn the_home_kubeconfig_is_the_default() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(tmp.path().join(".kube")).expect("mkdir");
    std::fs::write(tmp.path().join(".kube/config"), KIND).expect("write");
    let loaded = load_kubeconfig(None, Some(tmp.path())).expect("loads");
    assert_eq!(loaded.config.current_context.as_deref(), Some("kind-kind"));
}

#[test]
fn an_unreadable_kubeconfig_is_named_and_says_what_to_do() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "clusters: [ {name: x").expect("write");
    let err = load_kubeconfig(Some(&env_of(&[&bad])), None).expect_err("must fail");
    assert_eq!(err.kind(), ConnectErrorKind::KubeconfigUnreadable);
    let msg = err.to_string();
    assert!(
        msg.contains("bad.yaml") && msg.contains("point KUBECONFIG at the right file"),
        "{msg}"
    );
    let none = load_kubeconfig(None, Some(tmp.path())).expect_err("no file at all");
    assert!(
        none.to_string().contains("no kubeconfig file found"),
        "{none}"
    );
}

#[test]
fn remote_contexts_are_refused_unless_allowed_by_name() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let work = tmp.path().join("work.yaml");
    std::fs::write(&work, WORK).expect("write");
    let loaded = load_kubeconfig(Some(&env_of(&[&work])), None).expect("loads");
    let prod = list_contexts(&loaded.config)
        .into_iter()
        .find(|c| c.name == "prod")
        .expect("prod");
    let mut policy = ConnectPolicy::default();
    let err = policy
        .check(&prod)
        .expect_err("remote is refused by default");
    assert_eq!(err.kind(), ConnectErrorKind::NotLocalRefused);
    assert!(
        err.to_string().contains("Allow this context explicitly"),
        "{err}"
    );
    policy.allowed_remote.insert("shared".into());
    assert!(
        policy.check(&prod).is_err(),
        "allowing another context does not allow this one"
    );
    policy.allowed_remote.insert("prod".into());
    assert!(policy.check(&prod).is_ok());
}

fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
    kube::Error::Api(Box::new(kube::core::Status {
        status: Some(kube::core::response::StatusSummary::Failure),
        code,
        message: message.into(),
        metadata: None,
        reason: reason.into(),
        details: None,
    }))
}

#[test]
fn kube_errors_map_to_kinds_the_ui_can_branch_on() {
    let forbidden = classify_kube_error(&api_error(
        403,
        "Forbidden",
        "pods is forbidden: User \"jane\" cannot watch resource \"pods\" in API group \"\" in the namespace \"kq-image-pull-backoff\"",
    ));
    assert_eq!(
        forbidden,
        ConnectError::Forbidden {
            verb: "watch".into(),
            resource: "pods".into(),
            namespace: Some("kq-image-pull-backoff".into()),
            detail: "pods is forbidden: User \"jane\" cannot watch resource \"pods\" in API group \"\" in the namespace \"kq-image-pull-backoff\"".into(),
        }
    );
    assert!(
        forbidden.to_string().starts_with(
            "the cluster forbids `watch` on `pods` in namespace `kq-image-pull-backoff`"
        )
    );
    assert_eq!(
        classify_kube_error(&api_error(401, "Unauthorized", "Unauthorized")).kind(),
        ConnectErrorKind::Unauthorized
    );
    assert_eq!(
        classify_kube_error(&api_error(503, "ServiceUnavailable", "")).kind(),
        ConnectErrorKind::Unreachable
    );
    assert_eq!(
        classify_kube_error(&api_error(404, "NotFound", "pods \"x\" not found")).kind(),
        ConnectErrorKind::Other
    );

    let refused = kube::Error::Service(Box::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "tcp connect error: Connection refused (os error 111)",
    )));
    let e = classify_kube_error(&refused);
    assert_eq!(e.kind(), ConnectErrorKind::Unreachable);
    assert!(e.is_transient(), "unreachable clusters are retried");
    let tls = kube::Error::Service(Box::new(std::io::Error::other(
        "invalid peer certificate: UnknownIssuer",
    )));
    assert_eq!(
        classify_kube_error(&tls).kind(),
        ConnectErrorKind::TlsRejected
    );
    // A cluster that stops mid-watch drops its TLS connections without close_notify: that is an
    // outage (retried, "Reconnecting…"), not a certificate the learner must regenerate.
    let dropped = kube::Error::Service(Box::new(std::io::Error::other(
        "client error (SendRequest): connection error: peer closed connection without sending \
         TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
    )));
    let e = classify_kube_error(&dropped);
    assert_eq!(e.kind(), ConnectErrorKind::Unreachable, "{e}");
    assert!(e.is_transient(), "a dropped connection is retried");
    let failure = e.to_failure();
    assert_eq!(
        serde_json::to_value(&failure).expect("json")["kind"],
        "unreachable"
    );
    // A cluster that stops while a new connection is mid-handshake ends it with an EOF: the same
    // outage, seen a moment earlier, so the session reconnects instead of giving up.
    let cut_short = kube::Error::Service(Box::new(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "client error (Connect): tls handshake eof",
    )));
    let e = classify_kube_error(&cut_short);
    assert_eq!(e.kind(), ConnectErrorKind::Unreachable, "{e}");
    assert!(e.is_transient(), "a handshake cut short is retried");
}

#[test]
fn version_skew_is_checked_against_the_oldest_supported_minor() {
    assert!(check_server_version("1", "32").is_ok());
    assert!(
        check_server_version("1", "33+").is_ok(),
        "provider suffixes are accepted"
    );
    assert!(
        check_server_version("1", "40").is_ok(),
        "newer servers are accepted"
    );
    let old = check_server_version("1", "24").expect_err("too old");
    assert_eq!(
        old,
        ConnectError::VersionSkew {
            server: "1.24".into(),
            minimum: 27
        }
    );
    assert!(old.to_string().contains("needs 1.27 or newer"), "{old}");
    assert_eq!(
        check_server_version("", "x").expect_err("garbage").kind(),
        ConnectErrorKind::Other
    );
}

#[test]
fn the_reconnect_schedule_backs_off_resets_and_gives_up() {
    let policy = ReconnectPolicy {
        jitter_fraction_percent: 0,
        ..ReconnectPolicy::default()
    };
    let mut state = ReconnectState::default();
    let delays: Vec<i64> = (0..8)
        .map(|_| {
            let next = policy
                .on_failure(&mut state, at(0), 0.0)
                .expect("never gives up by default");
            next.duration_since(at(0)).as_millis() as i64
        })
        .collect();
    assert_eq!(
        delays,
        [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000],
        "800 ms doubling, capped at 30 s"
    );

    // Up for less than reset_after: the schedule continues.
    policy.on_connected(&mut state, at(100));
    let next = policy.on_failure(&mut state, at(150), 0.0).expect("retry");
    assert_eq!(next.duration_since(at(150)), SignedDuration::from_secs(30));
    // Up for two minutes: back to the first step.
    policy.on_connected(&mut state, at(200));
    let next = policy.on_failure(&mut state, at(320), 0.0).expect("retry");
    assert_eq!(
        next.duration_since(at(320)),
        SignedDuration::from_millis(800)
    );

    let jittery = ReconnectPolicy::default();
    let mut s = ReconnectState::default();
    let next = jittery.on_failure(&mut s, at(0), 0.5).expect("retry");
    assert_eq!(
        next.duration_since(at(0)),
        SignedDuration::from_millis(880),
        "20% × 0.5 of 800 ms"
    );

    let limited = ReconnectPolicy {
        max_attempts: Some(2),
        ..policy
    };
    let mut s = ReconnectState::default();
    assert!(limited.on_failure(&mut s, at(0), 0.0).is_some());
    assert!(limited.on_failure(&mut s, at(1), 0.0).is_some());
    assert!(
        limited.on_failure(&mut s, at(2), 0.0).is_none(),
        "a remote cluster is given up on"
    );
}

/// Consent is recorded for one named context that exists and is remote; nothing else grows the
/// allow-list.
#[test]
fn consent_is_recorded_for_one_existing_remote_context_only() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let kind = tmp.path().join("kind.yaml");
    let work = tmp.path().join("work.yaml");
    std::fs::write(&kind, KIND).expect("write");
    std::fs::write(&work, WORK).expect("write");
    let loaded = load_kubeconfig(Some(&env_of(&[&kind, &work])), None).expect("loads");
    let contexts = list_contexts(&loaded.config);
    let allowed = record_consent(&[], &contexts, "prod").expect("prod is a remote context");
    assert_eq!(allowed, ["prod"], "confirming prod allows exactly prod");
    let again = record_consent(&allowed, &contexts, "prod").expect("again");
    assert_eq!(again, ["prod"], "confirming twice records the context once");
    let local = record_consent(&allowed, &contexts, "kind-kind").expect("local");
    assert_eq!(
        local,
        ["prod"],
        "a local context needs no consent, so none is recorded"
    );
    let err = record_consent(&allowed, &contexts, "not-in-kubeconfig")
        .expect_err("an unknown context cannot be allowed");
    assert_eq!(
        err.kind(),
        ConnectErrorKind::UnknownContext,
        "consent for a context that is not in the kubeconfig is refused, so a typo cannot \
         pre-allow a cluster added later"
    );
}

//! Real kubectl against the embedded cluster, for every kubectl on this machine (1.27–1.33
//! from the Google Cloud SDK, plus `kubectl` on PATH).
//!
//! One cluster is shared; each kubectl version works in its own namespace with its own HOME
//! (kubectl caches discovery there), and the versions run concurrently. The assertions check
//! what a learner reads: column headers, STATUS values and the error lines kubectl prints.
//! Until the kubelet exists, the test writes container statuses and logs through the sim's
//! Rust API where a kubelet would.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateWaiting, ContainerStatus, Event,
    ObjectReference, Pod, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kq_tests::check::{Step, has, has_row, header, ok};
use kq_tests::cluster::{Kubectl, TestCluster, on_every_kubectl};

/// Lines of a long-running kubectl (`get -w`, `logs -f`) as they arrive.
struct Streaming {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Streaming {
    fn start(k: &Kubectl, args: &[&str]) -> Self {
        let mut child = k
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl starts");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Streaming {
            child,
            lines: rx,
            seen: vec![],
        }
    }

    /// Wait until a line contains `text`.
    fn wait_for(&mut self, text: &str, why: &str) -> Step {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.seen.iter().any(|l| l.contains(text)) {
                return Ok(());
            }
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(l);
            }
        }
        Err(format!(
            "{why}: no line with {text:?} within 20s; saw {:?}",
            self.seen
        ))
    }

    /// Wait for the process to end on its own.
    fn wait_exit(&mut self, why: &str) -> Step {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("{why}: kubectl still running after 20s"))
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn running_status(name: &str, image: &str) -> PodStatus {
    PodStatus {
        phase: Some("Running".into()),
        container_statuses: Some(vec![ContainerStatus {
            name: name.into(),
            image: image.into(),
            image_id: String::new(),
            ready: true,
            restart_count: 0,
            started: Some(true),
            container_id: Some(
                "containerd://4b1f0c2d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
                    .into(),
            ),
            state: Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(Time(jiff::Timestamp::now())),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

fn write_file(tc: &TestCluster, name: &str, text: &str) -> String {
    let p = tc.dir().join(name);
    std::fs::write(&p, text).expect("test manifest written");
    p.to_string_lossy().into_owned()
}

/// Everything one kubectl version is checked for, in namespace `ns`.
fn scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let store = tc.cluster().store();
    let n = ["-n", ns];
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = n.to_vec();
        a.extend_from_slice(args);
        k.run(&a)
    };

    let r = k.run(&["version"]);
    ok(&r)?;
    has(&r, "Server Version:", "kubectl version asks the server")?;
    has(
        &r,
        "v1.33.4",
        "the server reports a real-looking 1.33 release",
    )?;

    ok(&k.run(&["create", "namespace", ns]))?;
    let r = k.run(&["get", "ns", ns]);
    header(&r, &["NAME", "STATUS", "AGE"], "namespace table")?;
    has_row(&r, &[ns, "Active"], "new namespaces are Active")?;
    let r = run(&["get", "serviceaccounts"]);
    header(&r, &["NAME", "SECRETS", "AGE"], "service account table")?;
    has_row(
        &r,
        &["default", "0"],
        "every namespace gets a default service account",
    )?;
    let r = run(&["get", "configmaps"]);
    header(&r, &["NAME", "DATA", "AGE"], "config map table")?;
    has_row(
        &r,
        &["kube-root-ca.crt", "1"],
        "every namespace gets the root CA config map",
    )?;

    // run, get in every output a learner uses
    let r = run(&["run", "web", "--image=nginx:1.25"]);
    has(&r, "pod/web created", "kubectl run")?;
    let r = run(&["get", "pods"]);
    header(
        &r,
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "pod table",
    )?;
    has_row(
        &r,
        &["web", "0/1", "Pending", "0"],
        "with no scheduler running, the pod stays Pending",
    )?;
    let r = run(&["get", "pods", "-o", "wide"]);
    header(
        &r,
        &[
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
        ],
        "wide pod table",
    )?;
    has_row(&r, &["web", "0/1", "Pending", "0"], "wide row")?;
    let r = run(&["get", "pod", "web", "-o", "yaml"]);
    has(
        &r,
        "imagePullPolicy: IfNotPresent",
        "pull policy defaulted for a tagged image",
    )?;
    has(&r, "qosClass: BestEffort", "QoS class computed")?;
    has(&r, "phase: Pending", "status.phase")?;
    has(&r, "tolerationSeconds: 300", "default tolerations")?;
    let r = run(&[
        "get",
        "pod",
        "web",
        "-o",
        "jsonpath={.spec.schedulerName}/{.spec.restartPolicy}",
    ]);
    if r.stdout.trim() != "default-scheduler/Always" {
        return Err(format!("jsonpath output: {r}"));
    }
    let r = k.run(&["get", "nodes"]);
    header(
        &r,
        &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        "node table",
    )?;
    has_row(&r, &["node-1", "Ready", "<none>"], "the default node")?;
    let r = run(&["get", "all"]);
    has(&r, "pod/web", "get all lists pods")?;
    let r = k.run(&["get", "all", "-n", "default"]);
    has(&r, "service/kubernetes", "get all lists services")?;
    let r = k.run(&["get", "svc", "-n", "default"]);
    header(
        &r,
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
        "service table",
    )?;
    has_row(
        &r,
        &["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"],
        "the kubernetes service",
    )?;
    let r = run(&["get", "pod", "nope"]);
    has(
        &r,
        "Error from server (NotFound): pods \"nope\" not found",
        "missing pod",
    )?;

    // events: printed, filtered for describe and `kubectl events --for`
    let pod: Pod = store.get(ns, "web").map_err(|e| e.to_string())?;
    let now = Time(jiff::Timestamp::now());
    store
        .create_typed(
            ns,
            &Event {
                metadata: ObjectMeta {
                    name: Some("web.1234567890abcdef".into()),
                    ..Default::default()
                },
                involved_object: ObjectReference {
                    kind: Some("Pod".into()),
                    api_version: Some("v1".into()),
                    name: Some("web".into()),
                    namespace: Some(ns.into()),
                    uid: pod.metadata.uid.clone(),
                    ..Default::default()
                },
                reason: Some("Pulling".into()),
                message: Some("Pulling image \"nginx:1.25\"".into()),
                type_: Some("Normal".into()),
                count: Some(1),
                first_timestamp: Some(now.clone()),
                last_timestamp: Some(now),
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
    let r = run(&["get", "events"]);
    header(
        &r,
        &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "event table",
    )?;
    has(&r, "pod/web", "event object column")?;
    has(&r, "Pulling image \"nginx:1.25\"", "event message")?;
    let r = run(&["events", "--for", "pod/web"]);
    ok(&r)?;
    has(&r, "Pulling", "kubectl events --for")?;
    let r = run(&["describe", "pod", "web"]);
    has(&r, "Status:           Pending", "describe pod status")?;
    has(&r, "QoS Class:", "describe QoS")?;
    has(
        &r,
        "Pulling image \"nginx:1.25\"",
        "describe shows the pod's events",
    )?;
    let r = k.run(&["describe", "node", "node-1"]);
    has(&r, "Kubelet Version:", "describe node system info")?;
    has(&r, "v1.33.4", "kubelet version")?;
    has(&r, "Non-terminated Pods:", "describe node pods section")?;

    // Typed-client creates: kubectl 1.32 and later send these bodies as protobuf.
    has(
        &run(&["create", "configmap", "cfg", "--from-literal=a=b"]),
        "configmap/cfg created",
        "create configmap",
    )?;
    has_row(
        &run(&["get", "cm", "cfg"]),
        &["cfg", "1"],
        "config map DATA count",
    )?;
    has(
        &run(&[
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=pw=hunter2",
        ]),
        "secret/creds created",
        "create secret",
    )?;
    let r = run(&["get", "secrets"]);
    header(&r, &["NAME", "TYPE", "DATA", "AGE"], "secret table")?;
    has_row(&r, &["creds", "Opaque", "1"], "secret row")?;
    has(
        &run(&["create", "serviceaccount", "robot"]),
        "serviceaccount/robot created",
        "create serviceaccount",
    )?;
    has(
        &run(&["create", "service", "clusterip", "web", "--tcp=80:8080"]),
        "service/web created",
        "create service",
    )?;
    let r = run(&["get", "svc", "-o", "wide"]);
    header(
        &r,
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR",
        ],
        "wide service table",
    )?;
    has_row(&r, &["web", "ClusterIP"], "service row")?;
    has(&r, "app=web", "service selector column")?;
    has(
        &run(&["get", "all"]),
        "service/web",
        "get all lists services",
    )?;

    // apply (client-side create, then update), server-side apply, create
    let manifest = |image: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: {ns}\n  labels: {{app: a}}\nspec:\n  containers:\n  - name: c\n    image: {image}\n    resources: {{requests: {{cpu: 100m}}}}\n"
        )
    };
    let f = write_file(tc, &format!("app-{ns}.yaml"), &manifest("nginx:1.24"));
    has(
        &k.run(&["apply", "-f", &f]),
        "pod/app created",
        "apply creates",
    )?;
    let f = write_file(tc, &format!("app-{ns}.yaml"), &manifest("nginx:1.25"));
    has(
        &k.run(&["apply", "-f", &f]),
        "pod/app configured",
        "apply updates",
    )?;
    let f = write_file(tc, &format!("app-{ns}.yaml"), &manifest("nginx:1.26"));
    has(
        &k.run(&["apply", "--server-side", "-f", &f]),
        "pod/app serverside-applied",
        "server-side apply",
    )?;
    let r = run(&[
        "get",
        "pod",
        "app",
        "-o",
        "jsonpath={.spec.containers[0].image}",
    ]);
    if r.stdout.trim() != "nginx:1.26" {
        return Err(format!("server-side apply changed the image: {r}"));
    }
    let f2 = write_file(
        tc,
        &format!("made-{ns}.yaml"),
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: made\n  namespace: {ns}\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n"
        ),
    );
    has(&k.run(&["create", "-f", &f2]), "pod/made created", "create")?;
    has(
        &k.run(&["create", "-f", &f2]),
        "Error from server (AlreadyExists): error when creating",
        "second create",
    )?;
    let bad = write_file(
        tc,
        &format!("bad-{ns}.yaml"),
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n  namespace: {ns}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    imagee: typo\n"
        ),
    );
    has(
        &k.run(&["apply", "-f", &bad]),
        "strict decoding error: unknown field \"spec.containers[0].imagee\"",
        "unknown fields are rejected",
    )?;

    // set image, edit (scripted EDITOR), label, annotate
    has(
        &run(&["set", "image", "pod/app", "c=nginx:1.27"]),
        "pod/app image updated",
        "set image",
    )?;
    let editor = tc.dir().join(format!("edit-{ns}.sh"));
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/image: nginx:1.27/image: nginx:1.28/' \"$1\"\n",
    )
    .expect("editor script");
    let forbidden = tc.dir().join(format!("edit-bad-{ns}.sh"));
    std::fs::write(
        &forbidden,
        "#!/bin/sh\nsed -i 's/restartPolicy: Always/restartPolicy: Never/' \"$1\"\n",
    )
    .expect("editor script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for p in [&editor, &forbidden] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
                .expect("chmod editor");
        }
    }
    let r = k.run_with(
        &["-n", ns, "edit", "pod/app"],
        &[
            ("EDITOR", &editor.to_string_lossy()),
            ("KUBE_EDITOR", &editor.to_string_lossy()),
        ],
        Duration::from_secs(60),
    );
    has(&r, "pod/app edited", "kubectl edit")?;
    let r = run(&[
        "get",
        "pod",
        "app",
        "-o",
        "jsonpath={.spec.containers[0].image}",
    ]);
    if r.stdout.trim() != "nginx:1.28" {
        return Err(format!("edit changed the image: {r}"));
    }
    let r = k.run_with(
        &["-n", ns, "edit", "pod/app"],
        &[
            ("EDITOR", &forbidden.to_string_lossy()),
            ("KUBE_EDITOR", &forbidden.to_string_lossy()),
        ],
        Duration::from_secs(60),
    );
    // kubectl edit reports `pods "app" is invalid` and keeps the server's message, as a
    // comment, in the copy of the edit it saves.
    has(
        &r,
        "error: pods \"app\" is invalid",
        "editing an immutable pod field is refused",
    )?;
    let copy = r
        .stderr
        .split('"')
        .find(|p| p.contains("-edit-") && p.ends_with(".yaml"))
        .ok_or_else(|| format!("kubectl edit saved no copy: {r}"))?;
    let saved = std::fs::read_to_string(copy).unwrap_or_default();
    let _ = std::fs::remove_file(copy);
    if !saved.contains("spec: Forbidden: pod updates may not change fields other than") {
        return Err(format!(
            "the saved edit should carry the Forbidden message, got:\n{saved}"
        ));
    }
    has(
        &run(&["label", "pod", "app", "tier=web"]),
        "pod/app labeled",
        "label",
    )?;
    for (ty, patch) in [
        ("strategic", r#"{"metadata":{"labels":{"p1":"s"}}}"#),
        ("merge", r#"{"metadata":{"labels":{"p2":"m"}}}"#),
        (
            "json",
            r#"[{"op":"add","path":"/metadata/labels/p3","value":"j"}]"#,
        ),
    ] {
        has(
            &run(&["patch", "pod", "app", "--type", ty, "-p", patch]),
            "pod/app patched",
            "kubectl patch",
        )?;
    }
    has_row(
        &run(&["get", "pods", "-l", "p1=s,p2=m,p3=j"]),
        &["app"],
        "all three patches applied",
    )?;
    has_row(
        &run(&["get", "pods", "-l", "tier=web"]),
        &["app"],
        "label selector",
    )?;
    // kubectl 1.27 says "annotate", later versions "annotated".
    has(
        &run(&["annotate", "pod", "app", "note=hello"]),
        "pod/app annotate",
        "annotate",
    )?;
    has(
        &run(&["get", "pods", "-l", "tier in (a b"]),
        "Error from server (BadRequest)",
        "a broken label selector",
    )?;

    // logs: a pod bound to the node, with statuses written where a kubelet would
    let logger = write_file(
        tc,
        &format!("logger-{ns}.yaml"),
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: logger\n  namespace: {ns}\nspec:\n  nodeName: node-1\n  containers:\n  - name: c\n    image: busybox:1.36\n"
        ),
    );
    ok(&k.run(&["apply", "-f", &logger]))?;
    store
        .update_status::<Pod>(ns, "logger", |p| {
            p.status = Some(running_status("c", "busybox:1.36"))
        })
        .map_err(|e| e.to_string())?;
    tc.cluster()
        .write_log(ns, "logger", "c", "hello from c\n")
        .map_err(|e| e.to_string())?;
    let r = run(&["logs", "logger"]);
    if r.stdout != "hello from c\n" {
        return Err(format!("kubectl logs: {r}"));
    }
    has(
        &run(&["logs", "logger", "-p"]),
        "Error from server (BadRequest): previous terminated container \"c\" in pod \"logger\" not found",
        "logs -p without a previous attempt",
    )?;
    let mut follow = Streaming::start(k, &["-n", ns, "logs", "-f", "logger"]);
    follow.wait_for("hello from c", "logs -f prints what is there")?;
    tc.cluster()
        .write_log(ns, "logger", "c", "second line\n")
        .map_err(|e| e.to_string())?;
    follow.wait_for("second line", "logs -f streams new output")?;
    let uid = store
        .get::<Pod>(ns, "logger")
        .map_err(|e| e.to_string())?
        .metadata
        .uid
        .unwrap_or_default();
    store.logs().finish(&uid, "c");
    follow.wait_exit("logs -f ends when the container exits")?;
    drop(follow);

    ok(&k.run(&[
        "-n",
        ns,
        "run",
        "pull",
        "--image=nginx:nonexistent",
        "--overrides",
        r#"{"spec":{"nodeName":"node-1"}}"#,
    ]))?;
    store
        .update_status::<Pod>(ns, "pull", |p| {
            let mut st = running_status("pull", "nginx:nonexistent");
            st.phase = Some("Pending".into());
            if let Some(cs) = st.container_statuses.as_mut().and_then(|v| v.first_mut()) {
                cs.ready = false;
                cs.started = Some(false);
                cs.container_id = None;
                cs.state = Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("ImagePullBackOff".into()),
                        message: Some("Back-off pulling image \"nginx:nonexistent\"".into()),
                    }),
                    ..Default::default()
                });
            }
            p.status = Some(st);
        })
        .map_err(|e| e.to_string())?;
    has_row(
        &run(&["get", "pod", "pull"]),
        &["pull", "0/1", "ImagePullBackOff", "0"],
        "STATUS from the waiting reason",
    )?;
    has(
        &run(&["logs", "pull"]),
        "Error from server (BadRequest): container \"pull\" in pod \"pull\" is waiting to start: trying and failing to pull image",
        "logs of a container that cannot pull",
    )?;

    // get -w sees later changes
    let mut w = Streaming::start(k, &["-n", ns, "get", "pods", "-w"]);
    w.wait_for("STATUS", "watch prints the header")?;
    ok(&run(&["run", "watched", "--image=nginx:1.25"]))?;
    w.wait_for("watched", "watch shows the new pod")?;
    drop(w);

    // delete: immediate for an unscheduled pod, graceful (Terminating, then gone) for a bound one
    has(
        &run(&["delete", "pod", "web"]),
        "pod \"web\" deleted",
        "delete",
    )?;
    let started = Instant::now();
    let r = k.run_with(
        &["-n", ns, "delete", "pod", "logger"],
        &[],
        Duration::from_secs(60),
    );
    has(
        &r,
        "pod \"logger\" deleted",
        "graceful delete waits for the pod to go",
    )?;
    if started.elapsed() > Duration::from_secs(20) {
        return Err(format!("graceful delete took {:?}", started.elapsed()));
    }
    has(
        &run(&["get", "pod", "logger"]),
        "pods \"logger\" not found",
        "the deleted pod is gone",
    )?;

    let r = k.run_with(&["delete", "namespace", ns], &[], Duration::from_secs(60));
    has(
        &r,
        &format!("namespace \"{ns}\" deleted"),
        "namespace deletion",
    )?;
    has(
        &k.run(&["get", "ns", ns]),
        &format!("namespaces \"{ns}\" not found"),
        "namespace gone",
    )?;
    Ok(())
}

#[test]
fn every_kubectl_version_drives_the_embedded_cluster() {
    // The API server alone: statuses are written by the test (see the played node below), so
    // every kubectl prints the same thing; tests/sim_lifecycle.rs covers the real kubelet.
    let tc = TestCluster::start_with(kq_sim::ClusterConfig {
        controllers: false,
        ..kq_sim::ClusterConfig::default()
    });
    on_every_kubectl(&tc, "kc", |k, ns| scenario(&tc, k, ns));
    tc.cluster()
        .store()
        .check_consistency()
        .expect("store consistent after the kubectl runs");
}

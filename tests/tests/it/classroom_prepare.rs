//! A class prepared on the embedded cluster standing in for a real one (`kq classroom
//! prepare`): two learners get their own namespaces and kubeconfigs, each learner's token works
//! in their own namespace only (403 next door and on the class's Secrets), learners report
//! progress into their own ConfigMap only, the teacher reads every namespace but no Secret, the
//! live class view shows a learner's pod stuck where their pipeline shows it, and `clean`
//! leaves exactly the cluster that was there before (a second clean does nothing; a
//! `kq-classroom` namespace somebody else made is refused).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kq_engine::classroom::{self, ClassError, ClassPlan, Roster};
use kq_engine::mission::Catalog;
use kq_engine::progress::Progress;
use kq_tests::check::{Step, equals, expect, fails_with, has, ok};
use kq_tests::classroom::{client_from, prepare_with};
use kq_tests::cluster::{Kubectl, TestCluster, kube_client, kubectl_binaries, on_kubectls};
use kq_tests::workspace_root;
use kube::api::{Api, ListParams, PostParams};
use kube::{Resource, ResourceExt};

fn catalog() -> Catalog {
    let c = Catalog::load(&[workspace_root().join("lessons")]);
    assert!(
        c.problems.is_empty(),
        "the shipped lessons load: {:?}",
        c.problems
    );
    c
}

/// Every object's name; terminating ones count as still there (clean is done when they are
/// gone).
async fn names<K>(api: Api<K>) -> BTreeSet<String>
where
    K: Resource + Clone + k8s_openapi::serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default())
        .await
        .expect("the admin lists")
        .into_iter()
        .map(|o| o.name_any())
        .collect()
}

/// The cluster-wide objects a class adds: namespaces, cluster roles and their bindings.
async fn snapshot(admin: &kube::Client) -> [BTreeSet<String>; 3] {
    [
        names(Api::<Namespace>::all(admin.clone())).await,
        names(Api::<ClusterRole>::all(admin.clone())).await,
        names(Api::<ClusterRoleBinding>::all(admin.clone())).await,
    ]
}

fn code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API refusal, got {other}"),
    }
}

#[test]
fn a_prepared_class_keeps_learners_apart_and_clean_leaves_nothing_behind() {
    let tc = TestCluster::start();
    let cluster = tc.cluster();
    let admin = tc.block_on(kube_client(cluster));
    let before = tc.block_on(snapshot(&admin));
    let catalog = catalog();
    let roster = Roster::parse("names.txt", "# two learners\nA\nb\n").expect("a valid roster");
    let plan = ClassPlan::new("class", roster, &catalog, 8.0, true, Timestamp::now())
        .expect("a plan over the shipped lessons");
    let out = tc.dir().join("class");
    let mut steps: Vec<String> = Vec::new();
    let prepared = prepare_with(&tc, &plan, &out, &mut |s| steps.push(s.to_owned()))
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let total = 2 * plan.missions.len();
    assert!(
        steps.contains(&format!("creating namespaces {total}/{total}…")),
        "prepare reports how far it is: {steps:?}"
    );
    let files: Vec<(&str, &Path)> = prepared
        .kubeconfigs
        .iter()
        .map(|(w, p)| (w.as_str(), p.as_path()))
        .collect();
    assert_eq!(
        files.iter().map(|(w, _)| *w).collect::<Vec<_>>(),
        ["a", "b", "teacher"]
    );
    for (_, p) in &files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p).expect("written").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} holds a token: owner only", p.display());
    }
    assert!(prepared.sheet.exists() && out.join("join-sheet.html").exists());
    assert_eq!(prepared.join_codes.len(), 2);

    // Prepare again: the same cluster, fresh tokens (both sets work until the class ends).
    let first_a = std::fs::read_to_string(out.join("a.kubeconfig")).expect("a's file");
    let after_first = tc.block_on(snapshot(&admin));
    prepare_with(&tc, &plan, &out, &mut |_| {}).unwrap_or_else(|e| panic!("a second prepare: {e}"));
    assert_eq!(
        tc.block_on(snapshot(&admin)),
        after_first,
        "prepare is idempotent"
    );
    assert_ne!(
        std::fs::read_to_string(out.join("a.kubeconfig")).expect("a's file"),
        first_a,
        "a second prepare writes a fresh token"
    );

    let a = tc.block_on(client_from(&out.join("a.kubeconfig")));
    let teacher = tc.block_on(client_from(&out.join("teacher.kubeconfig")));
    let mission = catalog.get("crash-loop-backoff").expect("mission 1");
    let mut pod: Pod =
        serde_json::from_value(mission.manifests[0].object.clone()).expect("the lesson's pod");
    pod.metadata.namespace = None;
    tc.block_on(async {
        let own: Api<Pod> = Api::namespaced(a.clone(), "kq-a-crash-loop-backoff");
        own.create(&PostParams::default(), &pod)
            .await
            .expect("a learner creates pods in their own mission namespace");
        let privileged: Pod = serde_json::from_value(serde_json::json!({
            "metadata": { "name": "root-of-the-node" },
            "spec": { "containers": [{
                "name": "shell", "image": "busybox:1.36",
                "securityContext": { "privileged": true },
            }] },
        }))
        .expect("a pod");
        match own.create(&PostParams::default(), &privileged).await {
            Err(kube::Error::Api(s)) => assert!(
                s.code == 403 && s.message.contains("violates PodSecurity \"baseline:latest\": privileged"),
                "a learner's namespace enforces baseline Pod Security: {s:?}"
            ),
            other => panic!("a privileged pod must be refused in a learner's namespace: {other:?}"),
        }
        let next_door: Api<Pod> = Api::namespaced(a.clone(), "kq-b-crash-loop-backoff");
        assert_eq!(
            code(next_door.list(&ListParams::default()).await.unwrap_err()),
            403,
            "a learner cannot see another learner's namespace"
        );
        let secrets: Api<Secret> = Api::namespaced(a.clone(), classroom::CLASS_NAMESPACE);
        assert_eq!(
            code(secrets.list(&ListParams::default()).await.unwrap_err()),
            403,
            "a learner cannot read the class's Secrets"
        );

        let mut progress = Progress::default();
        progress.set_learner_name("Ada").expect("a name");
        progress.start("crash-loop-backoff", Timestamp::now());
        progress.hints_revealed("crash-loop-backoff", 2);
        let export = progress.export_named(Timestamp::now()).expect("an export");
        let since = Timestamp::now() - jiff::SignedDuration::from_secs(125);
        classroom::report_progress(&a, "a", &export, Some("crash-loop-backoff"), Some(since), Timestamp::now())
            .await
            .expect("a learner reports into their own progress ConfigMap");
        let theirs = classroom::report_progress(&a, "b", &export, None, None, Timestamp::now())
            .await
            .expect_err("a learner cannot write another learner's progress");
        assert!(
            matches!(&theirs, ClassError::Cluster { source, .. } if source.to_string().contains("forbids")),
            "{theirs}"
        );

        let all_pods: Api<Pod> = Api::all(teacher.clone());
        all_pods
            .list(&ListParams::default())
            .await
            .expect("the teacher lists pods in every namespace");
        let class_secrets: Api<Secret> = Api::all(teacher.clone());
        assert_eq!(
            code(class_secrets.list(&ListParams::default()).await.unwrap_err()),
            403,
            "the teacher never reads Secrets"
        );
        let progress_cms: Api<ConfigMap> = Api::namespaced(teacher.clone(), classroom::CLASS_NAMESPACE);
        let cm = progress_cms.get("progress-a").await.expect("the teacher reads reports");
        assert_eq!(
            cm.data.unwrap_or_default().get("current").map(String::as_str),
            Some("crash-loop-backoff")
        );
    });

    // The live view: a's pod crash-loops in their namespace, as their own pipeline shows it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let view = loop {
        let view = tc
            .block_on(classroom::read_class(&teacher, &catalog, Timestamp::now()))
            .unwrap_or_else(|e| panic!("the teacher reads the class: {e}"));
        let row = &view.learners[0];
        if row.reason.as_deref() == Some("CrashLoopBackOff") || Instant::now() > deadline {
            break view;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(view.class, "class");
    assert!(view.problems.is_empty(), "{:?}", view.problems);
    let a_row = &view.learners[0];
    assert_eq!(a_row.learner, "a");
    assert_eq!(a_row.mission.as_deref(), Some("crash-loop-backoff"));
    assert_eq!(
        (a_row.stage.as_deref(), a_row.reason.as_deref()),
        (Some("run"), Some("CrashLoopBackOff")),
        "the teacher sees where a's pod is stuck: {a_row:?}"
    );
    assert_eq!(a_row.hints, 2);
    assert!(
        a_row
            .seconds_on_mission
            .is_some_and(|s| (125..200).contains(&s)),
        "time on the mission counts from when they started it: {a_row:?}"
    );
    let b_row = &view.learners[1];
    assert_eq!(
        (b_row.learner.as_str(), b_row.mission.as_deref()),
        ("b", None)
    );
    let summary = view
        .missions
        .iter()
        .find(|m| m.mission == "crash-loop-backoff")
        .expect("a summary per mission");
    assert_eq!((summary.started, summary.solved, summary.hints), (1, 0, 2));
    let table = classroom::render_table(&view, Duration::from_secs(60));
    assert!(
        table.lines().nth(1).is_some_and(|l| l.starts_with("a ")
            && l.contains("CrashLoopBackOff")
            && l.ends_with(" (stuck)")),
        "{table}"
    );

    // Clean: exactly what was there before.
    let report = tc
        .block_on(classroom::clean(&admin, Some("class")))
        .unwrap_or_else(|e| panic!("clean: {e}"));
    assert!(
        report
            .removed
            .contains(&"namespace/kq-a-crash-loop-backoff".to_owned()),
        "{report:?}"
    );
    assert!(
        report
            .removed
            .contains(&"clusterrolebinding/kubequest:teacher".to_owned()),
        "{report:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = tc.block_on(snapshot(&admin));
        if now == before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "clean leaves the cluster as it was; still different: namespaces +{:?}, cluster roles +{:?}, bindings +{:?}",
            now[0].difference(&before[0]).collect::<Vec<_>>(),
            now[1].difference(&before[1]).collect::<Vec<_>>(),
            now[2].difference(&before[2]).collect::<Vec<_>>(),
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let again = tc
        .block_on(classroom::clean(&admin, Some("class")))
        .unwrap_or_else(|e| panic!("a second clean: {e}"));
    assert!(
        again.removed.is_empty(),
        "a second clean does nothing: {again:?}"
    );

    // A kq-classroom namespace somebody else made: neither prepare nor clean touches it.
    tc.block_on(async {
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": { "name": classroom::CLASS_NAMESPACE }
        }))
        .expect("a namespace");
        Api::<Namespace>::all(admin.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("someone makes kq-classroom");
    });
    let with_theirs = tc.block_on(snapshot(&admin));
    let refused = tc
        .block_on(classroom::clean(&admin, None))
        .expect_err("clean refuses a kq-classroom it did not make");
    assert!(matches!(refused, ClassError::NotOurs { .. }), "{refused}");
    let refused = prepare_with(&tc, &plan, &out, &mut |_| {}).expect_err("prepare refuses it too");
    assert!(
        refused
            .to_string()
            .starts_with("the namespace kq-classroom already exists and KubeQuest did not make it"),
        "{refused}"
    );
    assert_eq!(
        tc.block_on(snapshot(&admin)),
        with_theirs,
        "nothing was created or deleted"
    );
}

/// Waits for a running `kubectl port-forward` to say it is forwarding (it dials the pod's
/// `portforward` subresource before it listens), then stops it.
fn port_forward_starts(k: &Kubectl, kubeconfig: &Path, args: &[&str]) -> Step {
    use std::io::{BufRead, BufReader};
    let mut c = k.command(args);
    c.env("KUBECONFIG", kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("port-forward: {e}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    for pipe in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let result = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.starts_with("Forwarding from") => break Ok(()),
            Ok(line) => seen.push(line),
            Err(_) if Instant::now() > deadline => {
                break Err(format!("port-forward never started forwarding: {seen:?}"));
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    break Err(format!("port-forward exited {status}: {seen:?}"));
                }
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// What a learner does with kubectl in a mission, with their own kubeconfig, in their
/// namespace `ns`; `other` is another learner's namespace.
fn learner_kubectl(k: &Kubectl, kubeconfig: &Path, learner: &str, ns: &str, other: &str) -> Step {
    let kc = kubeconfig.to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        k.run_with(
            args,
            &[("KUBECONFIG", kc.as_str())],
            Duration::from_secs(90),
        )
    };
    let inn = |args: &[&str]| {
        let mut a = vec!["-n", ns];
        a.extend_from_slice(args);
        run(&a)
    };
    ok(&inn(&["create", "deployment", "web", "--image=nginx:1.27"]))?;
    ok(&inn(&[
        "rollout",
        "status",
        "deployment/web",
        "--timeout=60s",
    ]))?;
    has(
        &inn(&["get", "pods"]),
        "Running",
        "the learner lists their pods",
    )?;
    has(
        &inn(&["describe", "pod", "-l", "app=web"]),
        "Events:",
        "describe lists events",
    )?;
    ok(&inn(&["logs", "deployment/web"]))?;
    equals(
        &inn(&["exec", "deployment/web", "--", "echo", "hi"]),
        "hi",
        "exec runs in their pod",
    )?;
    port_forward_starts(
        k,
        kubeconfig,
        &["-n", ns, "port-forward", "deployment/web", ":80"],
    )?;
    ok(&inn(&["create", "serviceaccount", "bot"]))?;
    let token = inn(&["create", "token", "bot"]);
    ok(&token)?;
    expect(!token.stdout.trim().is_empty(), || {
        format!("create token prints a token: {token}")
    })?;
    equals(
        &inn(&["rollout", "restart", "deployment/web"]),
        "deployment.apps/web restarted",
        "rollout restart",
    )?;
    ok(&inn(&[
        "set",
        "image",
        "deployment/web",
        "nginx=nginx:1.27",
    ]))?;
    equals(
        &inn(&["scale", "deployment/web", "--replicas=2"]),
        "deployment.apps/web scaled",
        "scale",
    )?;
    ok(&inn(&[
        "create",
        "role",
        "pod-reader",
        "--verb=get,list,watch",
        "--resource=pods",
    ]))?;
    let sa = format!("--serviceaccount={ns}:bot");
    ok(&inn(&[
        "create",
        "rolebinding",
        "bot-reads-pods",
        "--role=pod-reader",
        &sa,
    ]))?;
    let solution = kq_tests::workspace_root()
        .join("lessons/25-forbidden-service-account/solution/access.yaml");
    ok(&inn(&["apply", "-f", &solution.to_string_lossy()]))?;
    fails_with(
        &inn(&[
            "create",
            "role",
            "forge",
            "--verb=update",
            "--resource=pods/status",
        ]),
        "is attempting to grant RBAC permissions not currently held",
        "a learner cannot grant what they do not hold (a forged pod status)",
    )?;
    equals(
        &inn(&["auth", "can-i", "create", "pods/exec"]),
        "yes",
        "can-i in their namespace",
    )?;
    let user = format!("system:serviceaccount:kq-classroom:learner-{learner}");
    fails_with(
        &run(&["-n", other, "get", "pods"]),
        &format!(
            "Error from server (Forbidden): pods is forbidden: User \"{user}\" cannot list resource \"pods\" in API group \"\" in the namespace \"{other}\""
        ),
        "another learner's namespace is closed",
    )?;
    let r = run(&["auth", "can-i", "get", "pods", "-n", other]);
    expect(r.stdout.trim() == "no", || {
        format!("can-i next door says no: {r}")
    })?;
    fails_with(
        &run(&["-n", "kq-classroom", "get", "secrets"]),
        "cannot list resource \"secrets\"",
        "the class's Secrets are closed",
    )?;
    has(
        &run(&["get", "nodes"]),
        "node-1",
        "learners read the nodes missions schedule on",
    )
}

#[test]
fn learners_debug_their_missions_with_kubectl_and_the_teacher_only_reads() {
    let versions = kubectl_binaries();
    let tc = TestCluster::start();
    let catalog = catalog();
    let learner_of = |label: &str| format!("k{}", label.replace('.', "-"));
    let mut roster: Vec<String> = versions.iter().map(|(l, _)| learner_of(l)).collect();
    roster.push("other".into());
    let roster = Roster::parse("names.txt", &roster.join("\n")).expect("a roster");
    let plan =
        ClassPlan::new("kubectl", roster, &catalog, 8.0, true, Timestamp::now()).expect("a plan");
    let out = tc.dir().join("class");
    prepare_with(&tc, &plan, &out, &mut |_| {}).unwrap_or_else(|e| panic!("prepare: {e}"));
    let other = classroom::learner_namespace("other", "crash-loop-backoff");
    on_kubectls(&tc, &versions, "unused", |k, _| {
        let learner = learner_of(&k.label);
        let ns = classroom::learner_namespace(&learner, "crash-loop-backoff");
        learner_kubectl(
            k,
            &out.join(format!("{learner}.kubeconfig")),
            &learner,
            &ns,
            &other,
        )
    });

    let (label, path) = versions.last().expect("a kubectl");
    let k = tc.kubectl(&format!("teacher-{label}"), path);
    let teacher = out.join("teacher.kubeconfig");
    let tk = teacher.to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        k.run_with(
            args,
            &[("KUBECONFIG", tk.as_str())],
            Duration::from_secs(60),
        )
    };
    let ns = classroom::learner_namespace(&learner_of(label), "crash-loop-backoff");
    let steps = || -> Step {
        has(
            &run(&["get", "pods", "-A"]),
            &ns,
            "the teacher sees every learner's pods",
        )?;
        ok(&run(&["-n", &ns, "logs", "deployment/web"]))?;
        has(
            &run(&["-n", &ns, "describe", "pod", "-l", "app=web"]),
            "Events:",
            "the teacher describes",
        )?;
        fails_with(
            &run(&["get", "secrets", "-A"]),
            "Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:kq-classroom:teacher\" cannot list resource \"secrets\" in API group \"\" at the cluster scope",
            "the teacher never reads Secrets",
        )?;
        fails_with(
            &run(&["-n", &ns, "delete", "deployment", "web"]),
            "cannot delete resource \"deployments\"",
            "the teacher's view only reads",
        )
    };
    if let Err(e) = steps() {
        panic!("teacher with kubectl {label}: {e}");
    }
}

#[test]
fn a_learner_joins_with_the_code_on_their_card() {
    let tc = TestCluster::start();
    let cluster = tc.cluster();
    let catalog = catalog();
    let roster = Roster::parse("names.txt", "ada\nbob\n").expect("a roster");
    let plan =
        ClassPlan::new("join", roster, &catalog, 8.0, true, Timestamp::now()).expect("a plan");
    let out = tc.dir().join("class");
    let prepared =
        prepare_with(&tc, &plan, &out, &mut |_| {}).unwrap_or_else(|e| panic!("prepare: {e}"));
    let entries = prepared
        .join_codes
        .iter()
        .map(|(learner, code)| kq_sim::JoinEntry {
            code: code.clone(),
            learner: learner.clone(),
            kubeconfig: std::fs::read_to_string(out.join(format!("{learner}.kubeconfig")))
                .expect("written"),
            expires_at: plan.ends_at,
        })
        .collect();
    cluster.set_join_codes(entries);
    let (_, ada_code) = &prepared.join_codes[0];
    // Typed as a learner might: lower case, no dash, the address without a scheme.
    let typed = ada_code.replace('-', "").to_lowercase();
    let address = cluster.url().trim_start_matches("https://").to_owned();
    let (learner, kubeconfig) = tc
        .block_on(classroom::join_with_code(&address, &typed))
        .unwrap_or_else(|e| panic!("ada joins: {e}"));
    assert_eq!(learner, "ada");
    assert_eq!(
        kubeconfig,
        std::fs::read_to_string(out.join("ada.kubeconfig")).expect("written"),
        "the join answers ada's own kubeconfig"
    );
    let path = tc.dir().join("joined.kubeconfig");
    std::fs::write(&path, &kubeconfig).expect("kept");
    let ada = tc.block_on(client_from(&path));
    tc.block_on(async {
        Api::<Pod>::namespaced(ada, "kq-ada-crash-loop-backoff")
            .list(&ListParams::default())
            .await
            .expect("the joined kubeconfig works in ada's namespace");
    });

    let wrong = tc
        .block_on(classroom::join_with_code(cluster.url(), "ZZZZ-ZZZZ"))
        .expect_err("a code nobody was given");
    assert!(matches!(wrong, ClassError::JoinRefused { .. }), "{wrong}");
    assert!(
        wrong.to_string().contains("not recognised or has expired"),
        "{wrong}"
    );
    let mut last = wrong;
    for _ in 0..12 {
        last = tc
            .block_on(classroom::join_with_code(cluster.url(), "ZZZZ-ZZZY"))
            .expect_err("bad codes");
    }
    assert!(
        matches!(last, ClassError::TooManyAttempts { .. }),
        "more than ten bad codes a minute are held off: {last}"
    );
    assert!(
        last.to_string()
            .ends_with("too many attempts, wait a minute and try again"),
        "{last}"
    );
}

#[test]
fn preparing_again_without_a_learner_removes_them_and_their_token_stops_working() {
    let tc = TestCluster::start();
    let cluster = tc.cluster();
    let admin = tc.block_on(kube_client(cluster));
    let catalog = catalog();
    let out = tc.dir().join("class");
    let prepare = |names: &str| {
        let roster = Roster::parse("names.txt", names).expect("a roster");
        let plan =
            ClassPlan::new("class", roster, &catalog, 8.0, true, Timestamp::now()).expect("a plan");
        prepare_with(&tc, &plan, &out, &mut |_| {}).unwrap_or_else(|e| panic!("prepare: {e}"));
    };
    prepare("ada\nbob\n");
    let bob = tc.block_on(client_from(&out.join("bob.kubeconfig")));
    let bobs_pods = || {
        tc.block_on(async {
            Api::<Pod>::namespaced(bob.clone(), "kq-bob-crash-loop-backoff")
                .list(&ListParams::default())
                .await
        })
    };
    bobs_pods().expect("bob works in his namespace");
    prepare("ada\n");
    let err = bobs_pods().expect_err("bob is no longer in the class");
    assert_eq!(
        code(err),
        401,
        "his account is gone, and with it every token it had"
    );
    tc.block_on(async {
        let namespaces = names(Api::<Namespace>::all(admin.clone())).await;
        let pending: Vec<_> = namespaces
            .iter()
            .filter(|n| n.starts_with("kq-bob-"))
            .collect();
        // The namespace controller may finish one between the list and the get: gone is the
        // end of being deleted, so a 404 here is as good as a deletion timestamp.
        for n in &pending {
            match Api::<Namespace>::all(admin.clone()).get(n).await {
                Ok(ns) => assert!(
                    ns.metadata.deletion_timestamp.is_some(),
                    "{n}: bob's namespaces are being deleted"
                ),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => panic!("reading {n}: {e}"),
            }
        }
        assert!(
            namespaces.contains("kq-ada-crash-loop-backoff"),
            "ada keeps hers"
        );
        let cms = names(Api::<ConfigMap>::namespaced(
            admin.clone(),
            classroom::CLASS_NAMESPACE,
        ))
        .await;
        assert!(
            cms.contains("progress-ada") && !cms.contains("progress-bob"),
            "{cms:?}"
        );
        let class = Api::<ConfigMap>::namespaced(admin.clone(), classroom::CLASS_NAMESPACE)
            .get("class")
            .await
            .expect("the class ConfigMap");
        assert_eq!(
            class
                .data
                .unwrap_or_default()
                .get("learners")
                .map(String::as_str),
            Some("ada")
        );
        let binding = Api::<ClusterRoleBinding>::all(admin.clone())
            .get("kubequest:learners")
            .await
            .expect("the learners' binding");
        let subjects: Vec<String> = binding
            .subjects
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(subjects, ["learner-ada"]);
    });
}

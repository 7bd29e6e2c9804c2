//! The security objectives in a whole mission session on the embedded cluster, through the
//! app's `kube` client as on a real cluster: `service-account-can` asks the API server a
//! SubjectAccessReview for the mission's ServiceAccount, reports the refusal while no
//! RoleBinding grants the permission, and solves once the learner's RoleBinding is applied.

use kq_engine::ipc::SessionUpdate;
use kq_engine::mission::ObjectiveStatus;
use kq_engine::session::apply_yaml;
use kq_tests::session::{first_objective, seen_or_wait_for, start_session, wait_for};

const MISSION: &str = "---
format: 1
id: forbidden-reporter
title: The reporter that may not look
order: 1
stage: run
difficulty: beginner
objectives:
  - id: can-list
    title: \"`reporter` may list pods\"
    check: { kind: service-account-can, service_account: reporter, verb: list, resource: pods }
hints:
  - Read the app's log.
  - Ask kubectl auth can-i as the ServiceAccount.
  - Bind the pod-reader Role to the ServiceAccount.
---

# The reporter that may not look

The reporter prints nothing useful.
";

const RBAC: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: reporter\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: pod-reader\nrules:\n  \
- apiGroups: [\"\"]\n    resources: [\"pods\"]\n    verbs: [\"get\", \"list\", \"watch\"]\n";

fn binding(namespace: &str) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: read-pods\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: pod-reader\n\
         subjects:\n  - kind: ServiceAccount\n    name: reporter\n    namespace: {namespace}\n"
    )
}

#[test]
fn service_account_can_is_refused_until_a_role_binding_grants_the_permission() {
    let s = start_session(
        "01-forbidden-reporter",
        &[
            ("mission.md", MISSION.to_owned()),
            ("manifests/rbac.yaml", RBAC.to_owned()),
            ("solution/binding.yaml", binding("kq-forbidden-reporter")),
            (
                "debrief.md",
                "# Debrief\n\n## What happened\n\nNo RoleBinding granted the Role.\n".to_owned(),
            ),
        ],
    );
    let (tc, rx, client, ns, session_rt) = (&s.tc, &s.rx, &s.client, &s.ns, &s.rt);
    let mut all = Vec::new();

    let u = wait_for(tc, rx, &mut all, 0, "the API server's refusal", |u| {
        first_objective(u).is_some_and(|(_, r)| r.contains("may not"))
    });
    assert_eq!(
        first_objective(&u),
        Some((
            ObjectiveStatus::NotMet,
            "the ServiceAccount reporter may not list pods: no Role or ClusterRole bound to it \
             allows that"
                .to_string()
        ))
    );

    let r = session_rt.block_on(apply_yaml(client, ns, "binding.yaml", &binding(ns)));
    assert!(r.ok, "{r:?}");
    let u = wait_for(tc, rx, &mut all, 0, "the permission granted", |u| {
        first_objective(u).is_some_and(|(s, _)| s == ObjectiveStatus::Met)
    });
    assert_eq!(
        first_objective(&u),
        Some((
            ObjectiveStatus::Met,
            format!(
                "the ServiceAccount reporter may list pods (RBAC: allowed by RoleBinding \
                 \"read-pods/{ns}\" of Role \"pod-reader\" to ServiceAccount \"reporter/{ns}\")"
            )
        ))
    );
    wait_for(tc, rx, &mut all, 0, "the solve", |u| {
        matches!(u, SessionUpdate::Solved { .. })
    });
    assert_eq!(s.outcome(), kq_engine::session::SessionOutcome::Solved);
}

/// The app's refused API call as client-go's reflector logs it, printed by a busybox shell so
/// the log travels the kubelet's real log path; the engine reads it back through the `kube`
/// client (`kubectl logs`' request) and explains it.
#[test]
fn a_forbidden_line_in_a_containers_log_is_read_back_and_explained() {
    use kq_engine::pipeline::security_facts::forbidden_in_logs;
    use kq_tests::cluster::{TestCluster, kube_client};
    use serde_json::json;

    const NS: &str = "kq-forbidden-log";
    let line = format!(
        "E0101 00:00:03.000000       1 reflector.go:147] failed to list *v1.Pod: pods is \
         forbidden: User \\\"system:serviceaccount:{NS}:reporter\\\" cannot list resource \
         \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"{NS}\\\""
    );
    let tc = TestCluster::paused();
    tc.create(
        "",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    );
    tc.create(
        NS,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reporter", "namespace": NS},
            "spec": {"containers": [{"name": "reporter", "image": "busybox:1.36",
                "command": ["sh", "-c", format!("echo starting; echo \"{line}\"; sleep 3600")]}]}}),
    );
    tc.cluster().advance(std::time::Duration::from_secs(30));
    let d = tc.block_on(async {
        let client = kube_client(tc.cluster()).await;
        forbidden_in_logs(&client, NS, "reporter", "reporter", false, false).await
    });
    let d = d.expect("the log's Forbidden line is found");
    assert_eq!(d.title, "The app is not allowed to list pods");
    assert!(
        d.explanation.contains(&format!(
            "calls the Kubernetes API as system:serviceaccount:{NS}:reporter"
        )),
        "{}",
        d.explanation
    );
    assert_eq!(
        d.commands[1],
        format!("kubectl auth can-i list pods -n {NS} --as=system:serviceaccount:{NS}:reporter")
    );
}

/// A pod whose claim cannot bind, on the embedded cluster's scheduler: the pipeline holds it
/// at *schedule* and explains it as a claim problem, with the claim commands.
#[test]
fn a_pod_pending_on_an_unbound_claim_is_diagnosed_at_the_schedule_stage() {
    use k8s_openapi::api::core::v1::{Event, Pod};
    use kq_engine::pipeline::{StageKind, build_pipeline};
    use kq_tests::cluster::{TestCluster, kube_client};
    use serde_json::json;

    const NS: &str = "kq-pending-claim";
    let tc = TestCluster::paused();
    tc.create(
        "",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    );
    tc.create(
        NS,
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": NS},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                     "resources": {"requests": {"storage": "1Gi"}}}}),
    );
    tc.create(
        NS,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db", "namespace": NS},
            "spec": {"containers": [{"name": "db", "image": "busybox:1.36",
                                     "command": ["sleep", "3600"],
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                     "volumes": [{"name": "data",
                                  "persistentVolumeClaim": {"claimName": "data"}}]}}),
    );
    tc.cluster().advance(std::time::Duration::from_secs(10));
    let (pod, events, now) = tc.block_on(async {
        let client = kube_client(tc.cluster()).await;
        let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), NS);
        let events: kube::Api<Event> = kube::Api::namespaced(client, NS);
        let pod = pods.get("db").await.expect("the pod");
        let events = events
            .list(&kube::api::ListParams::default())
            .await
            .expect("the events")
            .items;
        (pod, events, tc.cluster().clock().now())
    });
    let p = build_pipeline(&pod, &events, now);
    let d = p.diagnosis.clone().expect("the Pending pod is diagnosed");
    assert_eq!(d.stage, StageKind::Scheduled, "{}", p.render_text());
    assert_eq!(d.title, "The pod waits for its PersistentVolumeClaim");
    assert!(
        d.explanation
            .contains("(`pod has unbound immediate PersistentVolumeClaims`)"),
        "{}",
        d.explanation
    );
    assert_eq!(d.commands[1], format!("kubectl get pvc -n {NS}"));
}

const QUOTA_MISSION: &str = "---
format: 1
id: quota-full
title: The third replica that never came
order: 1
stage: schedule
difficulty: beginner
objectives:
  - id: within-quota
    title: \"`web` runs within the `compute` quota\"
    check: { kind: quota-respected, quota: compute, workload: deploy/web }
hints:
  - Count the Deployment's pods.
  - Read the ReplicaSet's events.
  - Ask for what the quota allows.
---

# The third replica that never came

`web` wants three pods and has two.
";

const QUOTA: &str = "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: compute\nspec:\n  \
hard:\n    requests.cpu: \"1\"\n";

fn quota_deploy(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  \
         selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        \
         app: web\n    spec:\n      containers:\n        - name: web\n          image: busybox:1.36\n          \
         command: [\"sleep\", \"3600\"]\n          resources:\n            requests:\n              cpu: 500m\n"
    )
}

/// ResourceQuota admission refuses the third pod: the ReplicaSet's card explains the refusal
/// with the quota's amounts, `quota-respected` waits for the Deployment, and a Deployment sized
/// to the quota solves it.
#[test]
fn quota_respected_waits_for_the_workload_and_the_refusal_is_explained_on_the_replica_set() {
    let s = start_session(
        "01-quota-full",
        &[
            ("mission.md", QUOTA_MISSION.to_owned()),
            (
                "manifests/web.yaml",
                format!("{QUOTA}---\n{}", quota_deploy(3)),
            ),
            ("solution/web.yaml", quota_deploy(2)),
            (
                "debrief.md",
                "# Debrief\n\n## What happened\n\nThe quota had room for two.\n".to_owned(),
            ),
        ],
    );
    let (tc, rx, client, ns, session_rt) = (&s.tc, &s.rx, &s.client, &s.ns, &s.rt);
    let mut all = Vec::new();

    let u = wait_for(tc, rx, &mut all, 2, "the refused pod explained", |u| {
        matches!(u, SessionUpdate::Workloads { workloads } if workloads.iter().any(|w| {
            w.diagnosis.as_ref().is_some_and(|d| d.explanation.contains("The ResourceQuota"))
        }))
    });
    let SessionUpdate::Workloads { workloads } = &u else {
        unreachable!("matched above")
    };
    let d = workloads
        .iter()
        .find_map(|w| w.diagnosis.as_ref())
        .expect("a diagnosis");
    assert!(
        d.explanation.contains(
            "The ResourceQuota `compute` is used up: this pod would add requests.cpu=500m to the \
             requests.cpu=1 already in use, over the limit of requests.cpu=1."
        ),
        "{}",
        d.explanation
    );
    assert_eq!(
        d.commands.last().map(String::as_str),
        Some(format!("kubectl describe resourcequota -n {ns}").as_str())
    );
    let u = wait_for(
        tc,
        rx,
        &mut all,
        2,
        "two pods running, the third refused",
        |u| first_objective(u).is_some_and(|(_, r)| r.contains("2/3 ready")),
    );
    assert_eq!(
        first_objective(&u),
        Some((
            ObjectiveStatus::NotMet,
            "compute holds (requests.cpu 1/1) and web is not available \
             (MinimumReplicasUnavailable; 2/3 ready)"
                .to_string()
        ))
    );

    let r = session_rt.block_on(apply_yaml(client, ns, "web.yaml", &quota_deploy(2)));
    assert!(r.ok, "{r:?}");
    let u = wait_for(
        tc,
        rx,
        &mut all,
        10,
        "the Deployment within the quota",
        |u| first_objective(u).is_some_and(|(s, _)| s == ObjectiveStatus::Met),
    );
    assert_eq!(
        first_objective(&u),
        Some((
            ObjectiveStatus::Met,
            "compute holds (requests.cpu 1/1) and web is available with 2 ready replicas"
                .to_string()
        ))
    );
}

const CLAIM_MISSION: &str = "---
format: 1
id: claim-class
title: The claim that asks for a class nobody has
order: 1
stage: schedule
difficulty: beginner
objectives:
  - id: bound
    title: \"`data` is Bound and `db` runs\"
    check: { kind: claim-bound, claim: data, pod: db }
hints:
  - Describe the claim.
  - List the StorageClasses.
  - Provide the class the claim asks for.
---

# The claim that asks for a class nobody has

`db` never starts.
";

const CLAIM_AND_POD: &str = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n\
spec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: fast\n  resources:\n    requests:\n      \
storage: 1Gi\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: db\nspec:\n  containers:\n    - \
name: db\n      image: busybox:1.36\n      command: [sleep, \"3600\"]\n      volumeMounts:\n        \
- name: data\n          mountPath: /data\n  volumes:\n    - name: data\n      \
persistentVolumeClaim:\n        claimName: data\n";

/// A claim naming a StorageClass the cluster lacks: the pod's rail quotes the claim's own
/// `ProvisioningFailed` event, `claim-bound` says the claim is Pending, and once the class
/// exists (kind's local-path provisioner, WaitForFirstConsumer) the claim binds and the pod
/// runs.
#[test]
fn claim_bound_waits_for_the_claim_and_the_pod_explains_the_missing_class() {
    use kq_engine::pipeline::PipelineChange;
    use serde_json::json;

    let s = start_session(
        "01-claim-class",
        &[
            ("mission.md", CLAIM_MISSION.to_owned()),
            ("manifests/db.yaml", CLAIM_AND_POD.to_owned()),
            ("solution/db.yaml", CLAIM_AND_POD.to_owned()),
            (
                "debrief.md",
                "# Debrief\n\n## What happened\n\nThe class did not exist.\n".to_owned(),
            ),
        ],
    );
    let (tc, rx) = (&s.tc, &s.rx);
    let mut all = Vec::new();

    let pipeline_diagnosis = |u: &SessionUpdate| match u {
        SessionUpdate::Pipeline {
            change:
                PipelineChange::Upserted { pipeline } | PipelineChange::Recreated { pipeline, .. },
        } => pipeline.diagnosis.clone(),
        _ => None,
    };
    let u = wait_for(tc, rx, &mut all, 5, "the claim's event on the pod", |u| {
        pipeline_diagnosis(u).is_some_and(|d| {
            d.explanation.contains("ProvisioningFailed") || d.explanation.contains("own events")
        })
    });
    let d = pipeline_diagnosis(&u).expect("a diagnosis");
    assert_eq!(d.title, "The pod waits for its PersistentVolumeClaim");
    assert!(
        d.explanation.contains(
            "The claim's own events say: `storageclass.storage.k8s.io \"fast\" not found`. It \
             asks for the StorageClass `fast`, which the cluster does not have."
        ),
        "{}",
        d.explanation
    );
    let u = seen_or_wait_for(tc, rx, &mut all, 5, "the claim reported Pending", |u| {
        first_objective(u).is_some_and(|(_, r)| r.contains("Pending"))
    });
    assert_eq!(
        first_objective(&u),
        Some((
            ObjectiveStatus::NotMet,
            "data is Pending, not Bound".to_string()
        ))
    );

    // The fix a cluster admin would make: the class the claim asks for.
    tc.create(
        "",
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "fast"}, "provisioner": "rancher.io/local-path",
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}),
    );
    let u = wait_for(tc, rx, &mut all, 5, "the claim bound and db running", |u| {
        first_objective(u).is_some_and(|(s, _)| s == ObjectiveStatus::Met)
    });
    let (_, reason) = first_objective(&u).expect("objectives");
    assert!(
        reason.starts_with("data is Bound to pvc-") && reason.ends_with(" and db is Running"),
        "{reason}"
    );
}

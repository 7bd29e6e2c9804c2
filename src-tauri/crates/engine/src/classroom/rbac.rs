//! Every object a class is made of, as the JSON prepare applies: one function per object.
//!
//! The learner's rights follow what the missions and kubectl's debugging commands ask the API
//! server (the verbs measured in `../shared/kube-api/WORKLOADS.md` §5 and kubectl's source):
//!
//! - `kubectl get/describe/logs/exec/attach/port-forward/cp/debug`, `rollout restart|undo`,
//!   `set image`, `scale`, `delete`, `apply`: every verb on the namespaced kinds missions use,
//!   and on the subresources `pods/log`, `pods/exec`, `pods/attach`, `pods/portforward`,
//!   `pods/eviction`, `pods/ephemeralcontainers`, `*/scale`, `services/proxy` (the app's
//!   `service-http` probe goes through the Service proxy); what controllers and the kubelet
//!   write (events, endpoints, EndpointSlices, pod status) is read-only, so no learner can forge
//!   the state a mission's objectives judge;
//! - `kubectl describe pod` lists events (core and `events.k8s.io`);
//! - `kubectl create token`: `create` on `serviceaccounts/token`;
//! - `kubectl create role|rolebinding` (mission 25): Kubernetes lets a user grant only rules
//!   they hold themselves, so the learner role holds every verb on the kinds a mission's Role
//!   names, but `roles`/`rolebindings` themselves without `escalate` and `bind`: a learner
//!   cannot lift that check;
//! - `kubectl auth can-i` (SelfSubjectAccessReview, cluster-wide) and the session's
//!   LocalSubjectAccessReview in the namespace.
//!
//! All of this is the ClusterRole `kubequest:learner`, granted per namespace by a RoleBinding,
//! so it applies in the learner's own mission namespaces only; Secrets and ConfigMaps of other
//! namespaces stay out of reach. The cluster-wide part (`kubequest:learner-cluster`) only reads
//! what the missions read outside a namespace (nodes for scheduling, storage classes and
//! volumes for claims, runtime and priority classes). The teacher reads, never writes, and never
//! reads Secrets.

use serde_json::{Value, json};

use super::{
    CLASS_CONFIGMAP, CLASS_NAMESPACE, LEARNER_LABEL, TEACHER_ACCOUNT, class_labels,
    learner_account, progress_configmap,
};
use crate::session::MISSION_LABEL;

/// The namespaced ClusterRole bound in every mission namespace.
pub const LEARNER_ROLE: &str = "kubequest:learner";
/// The cluster-wide ClusterRole (and ClusterRoleBinding) for learners.
pub const LEARNER_CLUSTER_ROLE: &str = "kubequest:learner-cluster";
/// The ClusterRoleBinding of [`LEARNER_CLUSTER_ROLE`] to every learner.
pub const LEARNERS_BINDING: &str = "kubequest:learners";
/// The teacher's ClusterRole and ClusterRoleBinding.
pub const TEACHER_ROLE: &str = "kubequest:teacher";
/// The RoleBinding in each mission namespace.
pub const LEARNER_BINDING: &str = "kubequest-learner";

const RBAC: &str = "rbac.authorization.k8s.io/v1";
/// Every verb but `escalate`, `bind` and `impersonate`.
const WRITE: [&str; 8] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
const READ: [&str; 3] = ["get", "list", "watch"];

fn labels(class: &str, extra: &[(&str, &str)]) -> Value {
    let mut l = class_labels(class);
    for (k, v) in extra {
        l.insert((*k).to_owned(), json!(v));
    }
    Value::Object(l)
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({ "apiGroups": groups, "resources": resources, "verbs": verbs })
}

/// The class namespace `kq-classroom`.
pub fn class_namespace(class: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": CLASS_NAMESPACE, "labels": labels(class, &[]) },
    })
}

/// The Pod Security label every learner namespace enforces unless its mission sets its own.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// A learner's mission namespace, with the mission's own namespace labels. Unless the mission
/// sets a Pod Security level itself, the namespace enforces `baseline`: on a shared real
/// cluster a privileged or hostPath pod would give a learner the node, and with it every other
/// learner's Secrets. No mission needs more than baseline allows.
pub fn mission_namespace(
    class: &str,
    learner: &str,
    mission: &str,
    namespace_labels: &std::collections::BTreeMap<String, String>,
) -> Value {
    let mut l = labels(class, &[(LEARNER_LABEL, learner), (MISSION_LABEL, mission)]);
    l[ENFORCE_LABEL] = json!("baseline");
    for (k, v) in namespace_labels {
        l[k] = json!(v);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": super::learner_namespace(learner, mission), "labels": l },
    })
}

/// The RoleBinding giving the learner [`LEARNER_ROLE`] in one mission namespace.
pub fn mission_binding(class: &str, learner: &str, mission: &str) -> Value {
    json!({
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {
            "name": LEARNER_BINDING,
            "namespace": super::learner_namespace(learner, mission),
            "labels": labels(class, &[(LEARNER_LABEL, learner), (MISSION_LABEL, mission)]),
        },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": LEARNER_ROLE },
        "subjects": [learner_subject(learner)],
    })
}

fn learner_subject(learner: &str) -> Value {
    json!({ "kind": "ServiceAccount", "name": learner_account(learner), "namespace": CLASS_NAMESPACE })
}

/// The learner's ServiceAccount in `kq-classroom`.
pub fn learner_service_account(class: &str, learner: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": learner_account(learner),
            "namespace": CLASS_NAMESPACE,
            "labels": labels(class, &[(LEARNER_LABEL, learner)]),
        },
        // The account's token is requested by prepare; no pod ever runs as it.
        "automountServiceAccountToken": false,
    })
}

/// The teacher's ServiceAccount in `kq-classroom`.
pub fn teacher_service_account(class: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": { "name": TEACHER_ACCOUNT, "namespace": CLASS_NAMESPACE, "labels": labels(class, &[]) },
        "automountServiceAccountToken": false,
    })
}

/// The learner's Role in `kq-classroom`: read the `class` ConfigMap and their own progress,
/// update only their own progress. (`create` cannot be limited to names, so it is not given:
/// prepare makes the ConfigMap.)
pub fn learner_class_role(class: &str, learner: &str) -> Value {
    let progress = progress_configmap(learner);
    json!({
        "apiVersion": RBAC,
        "kind": "Role",
        "metadata": {
            "name": learner_account(learner),
            "namespace": CLASS_NAMESPACE,
            "labels": labels(class, &[(LEARNER_LABEL, learner)]),
        },
        "rules": [
            { "apiGroups": [""], "resources": ["configmaps"], "resourceNames": [CLASS_CONFIGMAP, progress], "verbs": ["get"] },
            { "apiGroups": [""], "resources": ["configmaps"], "resourceNames": [progress], "verbs": ["update", "patch"] },
        ],
    })
}

/// The RoleBinding of [`learner_class_role`] to the learner's account.
pub fn learner_class_binding(class: &str, learner: &str) -> Value {
    json!({
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {
            "name": learner_account(learner),
            "namespace": CLASS_NAMESPACE,
            "labels": labels(class, &[(LEARNER_LABEL, learner)]),
        },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": learner_account(learner) },
        "subjects": [learner_subject(learner)],
    })
}

/// The learner's empty progress ConfigMap (prepare owns only its labels: reports fill it).
pub fn progress_config_map(class: &str, learner: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": progress_configmap(learner),
            "namespace": CLASS_NAMESPACE,
            "labels": labels(class, &[(LEARNER_LABEL, learner)]),
        },
    })
}

/// The `class` ConfigMap: name, end time, learners and missions (newline lists).
pub fn class_config_map(
    class: &str,
    ends_at: &str,
    learners: &[String],
    missions: &[String],
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": CLASS_CONFIGMAP, "namespace": CLASS_NAMESPACE, "labels": labels(class, &[]) },
        "data": {
            "class": class,
            "endsAt": ends_at,
            "learners": learners.join("\n"),
            "missions": missions.join("\n"),
        },
    })
}

/// `kubequest:learner`: everything a mission needs, bound per namespace.
pub fn learner_role(class: &str) -> Value {
    json!({
        "apiVersion": RBAC,
        "kind": "ClusterRole",
        "metadata": { "name": LEARNER_ROLE, "labels": labels(class, &[]) },
        "rules": [
            rule(&[""], &[
                "pods", "pods/log", "pods/exec", "pods/attach", "pods/portforward",
                "pods/eviction", "pods/ephemeralcontainers", "pods/proxy", "services",
                "services/proxy", "configmaps", "secrets", "serviceaccounts",
                "serviceaccounts/token", "persistentvolumeclaims", "resourcequotas",
                "limitranges", "replicationcontrollers", "replicationcontrollers/scale",
            ], &WRITE),
            // What controllers and the kubelet write: readable, never forged (a forged pod
            // status or endpoint would pass a mission's objectives).
            rule(&[""], &["events", "endpoints", "pods/status"], &READ),
            rule(&[""], &["namespaces"], &["get"]),
            rule(&["apps"], &[
                "deployments", "deployments/scale", "replicasets",
                "replicasets/scale", "statefulsets", "statefulsets/scale", "daemonsets",
                "controllerrevisions",
            ], &WRITE),
            rule(&["batch"], &["jobs", "cronjobs"], &WRITE),
            rule(&["policy"], &["poddisruptionbudgets"], &WRITE),
            rule(&["autoscaling"], &["horizontalpodautoscalers"], &WRITE),
            rule(&["networking.k8s.io"], &["networkpolicies", "ingresses"], &WRITE),
            rule(&["discovery.k8s.io"], &["endpointslices"], &READ),
            rule(&["events.k8s.io"], &["events"], &READ),
            rule(&["rbac.authorization.k8s.io"], &["roles", "rolebindings"], &WRITE),
            rule(&["authorization.k8s.io"], &["localsubjectaccessreviews"], &["create"]),
        ],
    })
}

/// `kubequest:learner-cluster`: what missions read outside a namespace, and "can I?".
pub fn learner_cluster_role(class: &str) -> Value {
    json!({
        "apiVersion": RBAC,
        "kind": "ClusterRole",
        "metadata": { "name": LEARNER_CLUSTER_ROLE, "labels": labels(class, &[]) },
        "rules": [
            rule(&[""], &["nodes", "persistentvolumes"], &READ),
            rule(&["storage.k8s.io"], &["storageclasses"], &READ),
            rule(&["node.k8s.io"], &["runtimeclasses"], &READ),
            rule(&["scheduling.k8s.io"], &["priorityclasses"], &READ),
            rule(&["authentication.k8s.io"], &["selfsubjectreviews"], &["create"]),
            rule(&["authorization.k8s.io"], &["selfsubjectaccessreviews", "selfsubjectrulesreviews"], &["create"]),
        ],
    })
}

/// `kubequest:learners`: every learner's account to [`learner_cluster_role`].
pub fn learners_binding(class: &str, learners: &[String]) -> Value {
    let subjects: Vec<Value> = learners.iter().map(|l| learner_subject(l)).collect();
    json!({
        "apiVersion": RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": { "name": LEARNERS_BINDING, "labels": labels(class, &[]) },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": LEARNER_CLUSTER_ROLE },
        "subjects": subjects,
    })
}

/// `kubequest:teacher`: read what the class view and a teacher's kubectl look at; no Secrets.
pub fn teacher_role(class: &str) -> Value {
    json!({
        "apiVersion": RBAC,
        "kind": "ClusterRole",
        "metadata": { "name": TEACHER_ROLE, "labels": labels(class, &[]) },
        "rules": [
            rule(&[""], &[
                "namespaces", "nodes", "pods", "pods/log", "events", "services", "endpoints",
                "configmaps", "persistentvolumeclaims", "resourcequotas", "serviceaccounts",
                "persistentvolumes",
            ], &READ),
            rule(&["events.k8s.io"], &["events"], &READ),
            rule(&["discovery.k8s.io"], &["endpointslices"], &READ),
            rule(&["apps"], &["deployments", "replicasets", "statefulsets", "daemonsets"], &READ),
            rule(&["batch"], &["jobs", "cronjobs"], &READ),
            rule(&["policy"], &["poddisruptionbudgets"], &READ),
            rule(&["storage.k8s.io"], &["storageclasses"], &READ),
            rule(&["authentication.k8s.io"], &["selfsubjectreviews"], &["create"]),
            rule(&["authorization.k8s.io"], &["selfsubjectaccessreviews", "selfsubjectrulesreviews"], &["create"]),
        ],
    })
}

/// `kubequest:teacher` bound to the teacher's account.
pub fn teacher_binding(class: &str) -> Value {
    json!({
        "apiVersion": RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": { "name": TEACHER_ROLE, "labels": labels(class, &[]) },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": TEACHER_ROLE },
        "subjects": [{ "kind": "ServiceAccount", "name": TEACHER_ACCOUNT, "namespace": CLASS_NAMESPACE }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(role: &Value, group: &str, resource: &str, verb: &str) -> bool {
        role["rules"].as_array().unwrap().iter().any(|r| {
            r["apiGroups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == group)
                && r["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == resource)
                && r["verbs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v == verb || v == "*")
        })
    }

    #[test]
    fn learner_namespaces_enforce_baseline_unless_the_mission_says_otherwise() {
        let plain = mission_namespace("c", "ada", "crash-loop-backoff", &Default::default());
        assert_eq!(plain["metadata"]["name"], "kq-ada-crash-loop-backoff");
        assert_eq!(plain["metadata"]["labels"][ENFORCE_LABEL], "baseline");
        assert_eq!(plain["metadata"]["labels"]["kubequest.dev/learner"], "ada");
        assert_eq!(
            plain["metadata"]["labels"]["kubequest.dev/mission"],
            "crash-loop-backoff"
        );
        assert_eq!(plain["metadata"]["labels"]["kubequest.dev/classroom"], "c");
        assert_eq!(
            plain["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "kubequest"
        );
        let own = [(ENFORCE_LABEL.to_owned(), "restricted".to_owned())]
            .into_iter()
            .collect();
        let strict = mission_namespace("c", "ada", "restricted-pod-security", &own);
        assert_eq!(strict["metadata"]["labels"][ENFORCE_LABEL], "restricted");
    }

    #[test]
    fn the_teacher_reads_the_class_but_never_secrets_and_never_writes() {
        let t = teacher_role("c");
        assert!(grants(&t, "", "pods", "list") && grants(&t, "", "configmaps", "list"));
        assert!(
            !grants(&t, "", "secrets", "get"),
            "no Secrets for the teacher"
        );
        for r in t["rules"].as_array().unwrap() {
            for v in r["verbs"].as_array().unwrap() {
                assert!(["get", "list", "watch", "create"].contains(&v.as_str().unwrap()));
                if v == "create" {
                    assert!(
                        r["resources"][0].as_str().unwrap().starts_with("self"),
                        "only self reviews are created"
                    );
                }
            }
        }
    }

    #[test]
    fn a_learner_holds_what_a_mission_role_grants_but_cannot_escalate() {
        let l = learner_role("c");
        // Mission 25's Role grants get/list/watch on pods: the learner must hold them to
        // create it.
        for v in ["get", "list", "watch"] {
            assert!(grants(&l, "", "pods", v));
        }
        assert!(grants(&l, "", "serviceaccounts/token", "create"));
        assert!(grants(&l, "", "pods/exec", "create"));
        assert!(grants(
            &l,
            "rbac.authorization.k8s.io",
            "rolebindings",
            "create"
        ));
        assert!(!grants(
            &l,
            "rbac.authorization.k8s.io",
            "roles",
            "escalate"
        ));
        assert!(!grants(&l, "rbac.authorization.k8s.io", "roles", "bind"));
        assert!(
            !grants(&l, "", "namespaces", "delete"),
            "the namespace is the teacher's"
        );
    }
}

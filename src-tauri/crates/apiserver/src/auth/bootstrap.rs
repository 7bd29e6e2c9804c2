//! The RBAC objects a kubeadm-built 1.33 cluster starts with (Kubernetes:
//! `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/{policy,controller_policy}.go`, the
//! API server's `rbac/bootstrap-roles` post-start hook, and kubeadm's
//! `phases/bootstraptoken/clusterinfo`, `phases/kubeconfig` and `phases/addons`).
//!
//! The API server's own defaults carry the `kubernetes.io/bootstrapping: rbac-defaults` label
//! and the `rbac.authorization.kubernetes.io/autoupdate: "true"` annotation; kubeadm's
//! objects carry neither. `admin`, `edit` and `view` are created with an aggregationRule
//! and no rules: the ClusterRole aggregation controller fills them from the
//! `system:aggregate-to-*` roles (and any role a learner labels to join them).
//!
//! Feature-gated roles are included as a 1.33 cluster has them with its default gates
//! (`MultiCIDRServiceAllocator` on; DRA, ClusterTrustBundle and PodCertificateRequest off).

use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::{Value, json};

use crate::registry::WriteOptions;
use crate::registry::kinds;
use crate::storage::Store;

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READ_WRITE: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
const READ_UPDATE: &[&str] = &["get", "list", "watch", "update", "patch"];

const CORE: &str = "";
const APPS: &str = "apps";
const AUTHN: &str = "authentication.k8s.io";
const AUTHZ: &str = "authorization.k8s.io";
const AUTOSCALING: &str = "autoscaling";
const BATCH: &str = "batch";
const CERTS: &str = "certificates.k8s.io";
const COORDINATION: &str = "coordination.k8s.io";
const DISCOVERY: &str = "discovery.k8s.io";
const EXTENSIONS: &str = "extensions";
const POLICY: &str = "policy";
const RBAC: &str = "rbac.authorization.k8s.io";
const STORAGE: &str = "storage.k8s.io";
const NETWORKING: &str = "networking.k8s.io";
const EVENTS: &str = "events.k8s.io";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A resource rule.
fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: strings(verbs),
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        ..Default::default()
    }
}

/// A resource rule limited to some names.
fn named(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
    PolicyRule {
        resource_names: Some(strings(names)),
        ..rule(verbs, groups, resources)
    }
}

/// A non-resource URL rule.
fn urls(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: strings(verbs),
        non_resource_urls: Some(strings(urls)),
        ..Default::default()
    }
}

/// `eventsRule()`: what every controller needs to record events.
fn events() -> PolicyRule {
    rule(&["create", "update", "patch"], &[CORE, EVENTS], &["events"])
}

/// One default ClusterRole.
struct RoleSpec {
    name: String,
    labels: Vec<(&'static str, &'static str)>,
    aggregate_from: Option<&'static str>,
    rules: Vec<PolicyRule>,
}

fn role(name: &str, rules: Vec<PolicyRule>) -> RoleSpec {
    RoleSpec {
        name: name.into(),
        labels: Vec::new(),
        aggregate_from: None,
        rules,
    }
}

fn aggregated(name: &str, into: Option<&'static str>, from: &'static str) -> RoleSpec {
    RoleSpec {
        name: name.into(),
        labels: into.map(|l| vec![(l, "true")]).unwrap_or_default(),
        aggregate_from: Some(from),
        rules: Vec::new(),
    }
}

const TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
const TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
const TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

fn node_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["create"], &[AUTHN], &["tokenreviews"]),
        rule(
            &["create"],
            &[AUTHZ],
            &["subjectaccessreviews", "localsubjectaccessreviews"],
        ),
        rule(READ, &[CORE], &["services"]),
        rule(&["create", "get", "list", "watch"], &[CORE], &["nodes"]),
        rule(&["update", "patch"], &[CORE], &["nodes/status"]),
        rule(&["update", "patch"], &[CORE], &["nodes"]),
        rule(&["create", "update", "patch"], &[CORE], &["events"]),
        rule(READ, &[CORE], &["pods"]),
        rule(&["create", "delete"], &[CORE], &["pods"]),
        rule(&["update", "patch"], &[CORE], &["pods/status"]),
        rule(&["create"], &[CORE], &["pods/eviction"]),
        rule(READ, &[CORE], &["secrets", "configmaps"]),
        rule(
            &["get"],
            &[CORE],
            &["persistentvolumeclaims", "persistentvolumes"],
        ),
        rule(&["get"], &[CORE], &["endpoints"]),
        rule(
            &["create", "get", "list", "watch"],
            &[CERTS],
            &["certificatesigningrequests"],
        ),
        rule(
            &["get", "create", "update", "patch", "delete"],
            &[COORDINATION],
            &["leases"],
        ),
        rule(&["get"], &[STORAGE], &["volumeattachments"]),
        rule(&["create"], &[CORE], &["serviceaccounts/token"]),
        rule(
            &["get", "update", "patch"],
            &[CORE],
            &["persistentvolumeclaims/status"],
        ),
        rule(&["get", "watch", "list"], &[STORAGE], &["csidrivers"]),
        rule(
            &["get", "create", "update", "patch", "delete"],
            &[STORAGE],
            &["csinodes"],
        ),
        rule(
            &["get", "list", "watch"],
            &["node.k8s.io"],
            &["runtimeclasses"],
        ),
    ]
}

/// The API server's default ClusterRoles (`clusterRoles()`).
fn cluster_roles() -> Vec<RoleSpec> {
    let mut roles = vec![
        role(
            "cluster-admin",
            vec![rule(&["*"], &["*"], &["*"]), urls(&["*"], &["*"])],
        ),
        role(
            "system:discovery",
            vec![urls(
                &["get"],
                &[
                    "/livez",
                    "/readyz",
                    "/healthz",
                    "/version",
                    "/version/",
                    "/openapi",
                    "/openapi/*",
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                ],
            )],
        ),
        role(
            "system:monitoring",
            vec![urls(
                &["get"],
                &[
                    "/metrics",
                    "/metrics/slis",
                    "/livez",
                    "/readyz",
                    "/healthz",
                    "/livez/*",
                    "/readyz/*",
                    "/healthz/*",
                ],
            )],
        ),
        role(
            "system:basic-user",
            vec![
                rule(
                    &["create"],
                    &[AUTHZ],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
                rule(&["create"], &[AUTHN], &["selfsubjectreviews"]),
            ],
        ),
        role(
            "system:public-info-viewer",
            vec![urls(
                &["get"],
                &["/livez", "/readyz", "/healthz", "/version", "/version/"],
            )],
        ),
        aggregated("admin", None, TO_ADMIN),
        aggregated("edit", Some(TO_ADMIN), TO_EDIT),
        aggregated("view", Some(TO_EDIT), TO_VIEW),
        RoleSpec {
            labels: vec![(TO_ADMIN, "true")],
            ..role(
                "system:aggregate-to-admin",
                vec![
                    rule(&["create"], &[AUTHZ], &["localsubjectaccessreviews"]),
                    rule(READ_WRITE, &[RBAC], &["roles", "rolebindings"]),
                ],
            )
        },
        RoleSpec {
            labels: vec![(TO_EDIT, "true")],
            ..role(
                "system:aggregate-to-edit",
                vec![
                    rule(
                        READ,
                        &[CORE],
                        &[
                            "pods/attach",
                            "pods/proxy",
                            "pods/exec",
                            "pods/portforward",
                            "secrets",
                            "services/proxy",
                        ],
                    ),
                    rule(&["impersonate"], &[CORE], &["serviceaccounts"]),
                    rule(
                        WRITE,
                        &[CORE],
                        &[
                            "pods",
                            "pods/attach",
                            "pods/proxy",
                            "pods/exec",
                            "pods/portforward",
                        ],
                    ),
                    rule(&["create"], &[CORE], &["pods/eviction"]),
                    rule(
                        WRITE,
                        &[CORE],
                        &[
                            "replicationcontrollers",
                            "replicationcontrollers/scale",
                            "serviceaccounts",
                            "services",
                            "services/proxy",
                            "persistentvolumeclaims",
                            "configmaps",
                            "secrets",
                            "events",
                        ],
                    ),
                    rule(&["create"], &[CORE], &["serviceaccounts/token"]),
                    rule(
                        WRITE,
                        &[APPS],
                        &[
                            "statefulsets",
                            "statefulsets/scale",
                            "daemonsets",
                            "deployments",
                            "deployments/scale",
                            "deployments/rollback",
                            "replicasets",
                            "replicasets/scale",
                        ],
                    ),
                    rule(WRITE, &[AUTOSCALING], &["horizontalpodautoscalers"]),
                    rule(WRITE, &[BATCH], &["jobs", "cronjobs"]),
                    rule(
                        WRITE,
                        &[EXTENSIONS],
                        &[
                            "daemonsets",
                            "deployments",
                            "deployments/scale",
                            "deployments/rollback",
                            "ingresses",
                            "replicasets",
                            "replicasets/scale",
                            "replicationcontrollers/scale",
                            "networkpolicies",
                        ],
                    ),
                    rule(WRITE, &[POLICY], &["poddisruptionbudgets"]),
                    rule(WRITE, &[NETWORKING], &["networkpolicies", "ingresses"]),
                ],
            )
        },
        RoleSpec {
            labels: vec![(TO_VIEW, "true")],
            ..role(
                "system:aggregate-to-view",
                vec![
                    rule(
                        READ,
                        &[CORE],
                        &[
                            "pods",
                            "replicationcontrollers",
                            "replicationcontrollers/scale",
                            "serviceaccounts",
                            "services",
                            "services/status",
                            "endpoints",
                            "persistentvolumeclaims",
                            "persistentvolumeclaims/status",
                            "configmaps",
                        ],
                    ),
                    rule(
                        READ,
                        &[CORE],
                        &[
                            "limitranges",
                            "resourcequotas",
                            "bindings",
                            "events",
                            "pods/status",
                            "resourcequotas/status",
                            "namespaces/status",
                            "replicationcontrollers/status",
                            "pods/log",
                        ],
                    ),
                    rule(READ, &[CORE], &["namespaces"]),
                    rule(READ, &[DISCOVERY], &["endpointslices"]),
                    rule(
                        READ,
                        &[APPS],
                        &[
                            "controllerrevisions",
                            "statefulsets",
                            "statefulsets/status",
                            "statefulsets/scale",
                            "daemonsets",
                            "daemonsets/status",
                            "deployments",
                            "deployments/status",
                            "deployments/scale",
                            "replicasets",
                            "replicasets/status",
                            "replicasets/scale",
                        ],
                    ),
                    rule(
                        READ,
                        &[AUTOSCALING],
                        &[
                            "horizontalpodautoscalers",
                            "horizontalpodautoscalers/status",
                        ],
                    ),
                    rule(
                        READ,
                        &[BATCH],
                        &["jobs", "cronjobs", "cronjobs/status", "jobs/status"],
                    ),
                    rule(
                        READ,
                        &[EXTENSIONS],
                        &[
                            "daemonsets",
                            "daemonsets/status",
                            "deployments",
                            "deployments/scale",
                            "deployments/status",
                            "ingresses",
                            "ingresses/status",
                            "replicasets",
                            "replicasets/scale",
                            "replicasets/status",
                            "replicationcontrollers/scale",
                            "networkpolicies",
                        ],
                    ),
                    rule(
                        READ,
                        &[POLICY],
                        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
                    ),
                    rule(
                        READ,
                        &[NETWORKING],
                        &["networkpolicies", "ingresses", "ingresses/status"],
                    ),
                ],
            )
        },
        role(
            "system:heapster",
            vec![
                rule(READ, &[CORE], &["events", "pods", "nodes", "namespaces"]),
                rule(READ, &[EXTENSIONS], &["deployments"]),
            ],
        ),
        role("system:node", node_rules()),
        role(
            "system:node-problem-detector",
            vec![
                rule(&["get"], &[CORE], &["nodes"]),
                rule(&["patch"], &[CORE], &["nodes/status"]),
                events(),
            ],
        ),
        role(
            "system:kubelet-api-admin",
            vec![
                rule(&["get", "list", "watch"], &[CORE], &["nodes"]),
                rule(&["proxy"], &[CORE], &["nodes"]),
                rule(
                    &["*"],
                    &[CORE],
                    &["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"],
                ),
            ],
        ),
        role(
            "system:node-bootstrapper",
            vec![rule(
                &["create", "get", "list", "watch"],
                &[CERTS],
                &["certificatesigningrequests"],
            )],
        ),
        role(
            "system:auth-delegator",
            vec![
                rule(&["create"], &[AUTHN], &["tokenreviews"]),
                rule(&["create"], &[AUTHZ], &["subjectaccessreviews"]),
            ],
        ),
        role(
            "system:kube-aggregator",
            vec![rule(READ, &[CORE], &["services", "endpoints"])],
        ),
        role(
            "system:kube-controller-manager",
            vec![
                events(),
                rule(&["create"], &[COORDINATION], &["leases"]),
                named(
                    &["get", "update"],
                    &[COORDINATION],
                    &["leases"],
                    &["kube-controller-manager"],
                ),
                rule(&["create"], &[CORE], &["secrets", "serviceaccounts"]),
                rule(&["delete"], &[CORE], &["secrets"]),
                rule(
                    &["get"],
                    &[CORE],
                    &["namespaces", "secrets", "serviceaccounts", "configmaps"],
                ),
                rule(&["update"], &[CORE], &["secrets", "serviceaccounts"]),
                rule(&["create"], &[AUTHN], &["tokenreviews"]),
                rule(&["create"], &[AUTHZ], &["subjectaccessreviews"]),
                rule(&["list", "watch"], &["*"], &["*"]),
                rule(&["create"], &[CORE], &["serviceaccounts/token"]),
            ],
        ),
        role(
            "system:kube-dns",
            vec![rule(
                &["list", "watch"],
                &[CORE],
                &["endpoints", "services"],
            )],
        ),
        role(
            "system:persistent-volume-provisioner",
            vec![
                rule(
                    &["get", "list", "watch", "create", "delete"],
                    &[CORE],
                    &["persistentvolumes"],
                ),
                rule(
                    &["get", "list", "watch", "update"],
                    &[CORE],
                    &["persistentvolumeclaims"],
                ),
                rule(READ, &[STORAGE], &["storageclasses"]),
                rule(&["watch"], &[CORE], &["events"]),
                events(),
            ],
        ),
        role(
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            vec![rule(
                &["create"],
                &[CERTS],
                &["certificatesigningrequests/nodeclient"],
            )],
        ),
        role(
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            vec![rule(
                &["create"],
                &[CERTS],
                &["certificatesigningrequests/selfnodeclient"],
            )],
        ),
        role(
            "system:volume-scheduler",
            vec![
                rule(READ_UPDATE, &[CORE], &["persistentvolumes"]),
                rule(READ, &[STORAGE], &["storageclasses"]),
                rule(READ_UPDATE, &[CORE], &["persistentvolumeclaims"]),
            ],
        ),
        role(
            "system:certificates.k8s.io:legacy-unknown-approver",
            vec![named(
                &["approve"],
                &[CERTS],
                &["signers"],
                &["kubernetes.io/legacy-unknown"],
            )],
        ),
        role(
            "system:certificates.k8s.io:kubelet-serving-approver",
            vec![named(
                &["approve"],
                &[CERTS],
                &["signers"],
                &["kubernetes.io/kubelet-serving"],
            )],
        ),
        role(
            "system:certificates.k8s.io:kube-apiserver-client-approver",
            vec![named(
                &["approve"],
                &[CERTS],
                &["signers"],
                &["kubernetes.io/kube-apiserver-client"],
            )],
        ),
        role(
            "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
            vec![named(
                &["approve"],
                &[CERTS],
                &["signers"],
                &["kubernetes.io/kube-apiserver-client-kubelet"],
            )],
        ),
        role(
            "system:service-account-issuer-discovery",
            vec![urls(
                &["get"],
                &[
                    "/.well-known/openid-configuration",
                    "/.well-known/openid-configuration/",
                    "/openid/v1/jwks",
                    "/openid/v1/jwks/",
                ],
            )],
        ),
        role(
            "system:node-proxier",
            vec![
                rule(&["list", "watch"], &[CORE], &["services", "endpoints"]),
                rule(&["get", "list", "watch"], &[CORE], &["nodes"]),
                events(),
                rule(&["list", "watch"], &[NETWORKING], &["servicecidrs"]),
                rule(&["list", "watch"], &[DISCOVERY], &["endpointslices"]),
            ],
        ),
        role(
            "system:kube-scheduler",
            vec![
                events(),
                rule(&["create"], &[COORDINATION], &["leases"]),
                named(
                    &["get", "update"],
                    &[COORDINATION],
                    &["leases"],
                    &["kube-scheduler"],
                ),
                rule(READ, &[CORE], &["nodes"]),
                rule(&["get", "list", "watch", "delete"], &[CORE], &["pods"]),
                rule(&["create"], &[CORE], &["pods/binding", "bindings"]),
                rule(&["patch", "update"], &[CORE], &["pods/status"]),
                rule(READ, &[CORE], &["services", "replicationcontrollers"]),
                rule(READ, &[APPS, EXTENSIONS], &["replicasets"]),
                rule(READ, &[APPS], &["statefulsets"]),
                rule(READ, &[POLICY], &["poddisruptionbudgets"]),
                rule(
                    READ,
                    &[CORE],
                    &["persistentvolumeclaims", "persistentvolumes"],
                ),
                rule(&["create"], &[AUTHN], &["tokenreviews"]),
                rule(&["create"], &[AUTHZ], &["subjectaccessreviews"]),
                rule(READ, &[STORAGE], &["csinodes"]),
                rule(READ, &[CORE], &["namespaces"]),
                rule(READ, &[STORAGE], &["csidrivers"]),
                rule(READ, &[STORAGE], &["csistoragecapacities"]),
            ],
        ),
    ];
    roles.extend(controller_roles());
    roles
}

/// `buildControllerRoles()`: one role per kube-controller-manager controller, each bound to
/// the controller's ServiceAccount in kube-system.
fn controller_roles() -> Vec<RoleSpec> {
    let c = |name: &str, rules: Vec<PolicyRule>| role(&format!("system:controller:{name}"), rules);
    vec![
        c(
            "attachdetach-controller",
            vec![
                rule(
                    &["list", "watch"],
                    &[CORE],
                    &["persistentvolumes", "persistentvolumeclaims"],
                ),
                rule(&["get", "list", "watch"], &[CORE], &["nodes"]),
                rule(&["patch", "update"], &[CORE], &["nodes/status"]),
                rule(&["list", "watch"], &[CORE], &["pods"]),
                events(),
                rule(
                    &["get", "create", "delete", "list", "watch"],
                    &[STORAGE],
                    &["volumeattachments"],
                ),
                rule(&["get", "watch", "list"], &[STORAGE], &["csidrivers"]),
                rule(&["get", "watch", "list"], &[STORAGE], &["csinodes"]),
            ],
        ),
        c(
            "clusterrole-aggregation-controller",
            vec![rule(
                &["escalate", "get", "list", "watch", "update", "patch"],
                &[RBAC],
                &["clusterroles"],
            )],
        ),
        c(
            "cronjob-controller",
            vec![
                rule(&["get", "list", "watch", "update"], &[BATCH], &["cronjobs"]),
                rule(
                    &[
                        "get", "list", "watch", "create", "update", "delete", "patch",
                    ],
                    &[BATCH],
                    &["jobs"],
                ),
                rule(&["update"], &[BATCH], &["cronjobs/status"]),
                rule(&["update"], &[BATCH], &["cronjobs/finalizers"]),
                rule(&["list", "watch", "delete"], &[CORE], &["pods"]),
                events(),
            ],
        ),
        c(
            "daemon-set-controller",
            vec![
                rule(READ, &[EXTENSIONS, APPS], &["daemonsets"]),
                rule(&["update"], &[EXTENSIONS, APPS], &["daemonsets/status"]),
                rule(&["update"], &[EXTENSIONS, APPS], &["daemonsets/finalizers"]),
                rule(&["list", "watch"], &[CORE], &["nodes"]),
                rule(
                    &["list", "watch", "create", "delete", "patch"],
                    &[CORE],
                    &["pods"],
                ),
                rule(&["create"], &[CORE], &["pods/binding"]),
                rule(
                    &[
                        "get", "list", "watch", "create", "delete", "update", "patch",
                    ],
                    &[APPS],
                    &["controllerrevisions"],
                ),
                events(),
            ],
        ),
        c(
            "deployment-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update"],
                    &[EXTENSIONS, APPS],
                    &["deployments"],
                ),
                rule(&["update"], &[EXTENSIONS, APPS], &["deployments/status"]),
                rule(
                    &["update"],
                    &[EXTENSIONS, APPS],
                    &["deployments/finalizers"],
                ),
                rule(
                    &[
                        "get", "list", "watch", "create", "update", "patch", "delete",
                    ],
                    &[APPS, EXTENSIONS],
                    &["replicasets"],
                ),
                rule(&["get", "list", "watch", "update"], &[CORE], &["pods"]),
                events(),
            ],
        ),
        c(
            "disruption-controller",
            vec![
                rule(READ, &[EXTENSIONS, APPS], &["deployments"]),
                rule(READ, &[APPS, EXTENSIONS], &["replicasets"]),
                rule(READ, &[CORE], &["replicationcontrollers"]),
                rule(READ, &[POLICY], &["poddisruptionbudgets"]),
                rule(READ, &[APPS], &["statefulsets"]),
                rule(&["update"], &[POLICY], &["poddisruptionbudgets/status"]),
                rule(&["patch", "update"], &[CORE], &["pods/status"]),
                rule(&["get"], &["*"], &["*/scale"]),
                events(),
            ],
        ),
        c(
            "endpoint-controller",
            vec![
                rule(READ, &[CORE], &["services", "pods"]),
                rule(
                    &["get", "list", "watch", "create", "update", "delete"],
                    &[CORE],
                    &["endpoints"],
                ),
                rule(&["create"], &[CORE], &["endpoints/restricted"]),
                events(),
            ],
        ),
        c(
            "endpointslice-controller",
            vec![
                rule(READ, &[CORE], &["services", "pods", "nodes"]),
                rule(&["update"], &[CORE], &["services/finalizers"]),
                rule(
                    &["get", "list", "watch", "create", "update", "delete"],
                    &[DISCOVERY],
                    &["endpointslices"],
                ),
                rule(&["create"], &[DISCOVERY], &["endpointslices/restricted"]),
                events(),
            ],
        ),
        c(
            "endpointslicemirroring-controller",
            vec![
                rule(READ, &[CORE], &["services", "endpoints"]),
                rule(&["update"], &[CORE], &["services/finalizers"]),
                rule(&["update"], &[CORE], &["endpoints/finalizers"]),
                rule(
                    &["get", "list", "watch", "create", "update", "delete"],
                    &[DISCOVERY],
                    &["endpointslices"],
                ),
                rule(&["create"], &[DISCOVERY], &["endpointslices/restricted"]),
                events(),
            ],
        ),
        c(
            "expand-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update", "patch"],
                    &[CORE],
                    &["persistentvolumes"],
                ),
                rule(
                    &["update", "patch"],
                    &[CORE],
                    &["persistentvolumeclaims/status"],
                ),
                rule(READ, &[CORE], &["persistentvolumeclaims"]),
                events(),
            ],
        ),
        c(
            "ephemeral-volume-controller",
            vec![
                rule(READ, &[CORE], &["pods"]),
                rule(&["update"], &[CORE], &["pods/finalizers"]),
                rule(
                    &["get", "list", "watch", "create"],
                    &[CORE],
                    &["persistentvolumeclaims"],
                ),
                events(),
            ],
        ),
        c(
            "generic-garbage-collector",
            vec![
                rule(
                    &["get", "list", "watch", "patch", "update", "delete"],
                    &["*"],
                    &["*"],
                ),
                events(),
            ],
        ),
        c(
            "horizontal-pod-autoscaler",
            vec![
                rule(READ, &[AUTOSCALING], &["horizontalpodautoscalers"]),
                rule(
                    &["update"],
                    &[AUTOSCALING],
                    &["horizontalpodautoscalers/status"],
                ),
                rule(&["get", "update"], &["*"], &["*/scale"]),
                rule(&["list", "watch"], &[CORE], &["pods"]),
                rule(&["list", "watch"], &["metrics.k8s.io"], &["pods"]),
                rule(READ, &["custom.metrics.k8s.io"], &["*"]),
                rule(READ, &["external.metrics.k8s.io"], &["*"]),
                events(),
            ],
        ),
        c(
            "job-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update", "patch"],
                    &[BATCH],
                    &["jobs"],
                ),
                rule(&["update"], &[BATCH], &["jobs/status"]),
                rule(&["update"], &[BATCH], &["jobs/finalizers"]),
                rule(
                    &["list", "watch", "create", "delete", "patch"],
                    &[CORE],
                    &["pods"],
                ),
                events(),
            ],
        ),
        c(
            "namespace-controller",
            vec![
                rule(
                    &["get", "list", "watch", "delete"],
                    &[CORE],
                    &["namespaces"],
                ),
                rule(
                    &["update"],
                    &[CORE],
                    &["namespaces/finalize", "namespaces/status"],
                ),
                rule(
                    &["get", "list", "watch", "delete", "deletecollection"],
                    &["*"],
                    &["*"],
                ),
            ],
        ),
        c(
            "node-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update", "delete", "patch"],
                    &[CORE],
                    &["nodes"],
                ),
                rule(&["patch", "update"], &[CORE], &["nodes/status"]),
                rule(&["patch", "update"], &[CORE], &["pods/status"]),
                rule(&["list", "watch", "get", "delete"], &[CORE], &["pods"]),
                rule(READ, &[COORDINATION], &["leases"]),
                events(),
            ],
        ),
        c(
            "persistent-volume-binder",
            vec![
                rule(
                    &["get", "list", "watch", "update", "create", "delete"],
                    &[CORE],
                    &["persistentvolumes"],
                ),
                rule(&["update"], &[CORE], &["persistentvolumes/status"]),
                rule(
                    &["get", "list", "watch", "update"],
                    &[CORE],
                    &["persistentvolumeclaims"],
                ),
                rule(&["update"], &[CORE], &["persistentvolumeclaims/status"]),
                rule(
                    &["list", "watch", "get", "create", "delete"],
                    &[CORE],
                    &["pods"],
                ),
                rule(READ, &[STORAGE], &["storageclasses"]),
                rule(&["list", "watch"], &[CORE], &["nodes"]),
                events(),
                rule(&["watch"], &[CORE], &["events"]),
            ],
        ),
        c(
            "pod-garbage-collector",
            vec![
                rule(&["list", "watch", "delete"], &[CORE], &["pods"]),
                rule(READ, &[CORE], &["nodes"]),
                rule(&["patch"], &[CORE], &["pods/status"]),
            ],
        ),
        c(
            "replicaset-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update"],
                    &[APPS, EXTENSIONS],
                    &["replicasets"],
                ),
                rule(&["update"], &[APPS, EXTENSIONS], &["replicasets/status"]),
                rule(
                    &["update"],
                    &[APPS, EXTENSIONS],
                    &["replicasets/finalizers"],
                ),
                rule(
                    &["list", "watch", "patch", "create", "delete"],
                    &[CORE],
                    &["pods"],
                ),
                events(),
            ],
        ),
        c(
            "replication-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update"],
                    &[CORE],
                    &["replicationcontrollers"],
                ),
                rule(&["update"], &[CORE], &["replicationcontrollers/status"]),
                rule(&["update"], &[CORE], &["replicationcontrollers/finalizers"]),
                rule(
                    &["list", "watch", "patch", "create", "delete"],
                    &[CORE],
                    &["pods"],
                ),
                events(),
            ],
        ),
        c(
            "resourcequota-controller",
            vec![
                rule(&["list", "watch"], &["*"], &["*"]),
                rule(&["update"], &[CORE], &["resourcequotas/status"]),
                events(),
            ],
        ),
        c(
            "route-controller",
            vec![
                rule(&["list", "watch"], &[CORE], &["nodes"]),
                rule(&["patch"], &[CORE], &["nodes/status"]),
                events(),
            ],
        ),
        c(
            "service-account-controller",
            vec![rule(&["create"], &[CORE], &["serviceaccounts"]), events()],
        ),
        c(
            "service-controller",
            vec![
                rule(READ, &[CORE], &["services"]),
                rule(&["patch", "update"], &[CORE], &["services/status"]),
                rule(&["list", "watch"], &[CORE], &["nodes"]),
                events(),
            ],
        ),
        c(
            "service-cidrs-controller",
            vec![
                rule(
                    &["get", "list", "watch", "patch", "update"],
                    &[NETWORKING],
                    &["servicecidrs"],
                ),
                rule(
                    &["patch", "update"],
                    &[NETWORKING],
                    &["servicecidrs/finalizers"],
                ),
                rule(
                    &["patch", "update"],
                    &[NETWORKING],
                    &["servicecidrs/status"],
                ),
                rule(READ, &[NETWORKING], &["ipaddresses"]),
                events(),
            ],
        ),
        c(
            "statefulset-controller",
            vec![
                rule(&["list", "watch"], &[CORE], &["pods"]),
                rule(READ, &[APPS], &["statefulsets"]),
                rule(&["update"], &[APPS], &["statefulsets/status"]),
                rule(&["update"], &[APPS], &["statefulsets/finalizers"]),
                rule(
                    &["get", "create", "delete", "update", "patch"],
                    &[CORE],
                    &["pods"],
                ),
                rule(
                    &[
                        "get", "create", "delete", "update", "patch", "list", "watch",
                    ],
                    &[APPS],
                    &["controllerrevisions"],
                ),
                rule(
                    &["get", "create", "list", "watch"],
                    &[CORE],
                    &["persistentvolumeclaims"],
                ),
                rule(&["update", "delete"], &[CORE], &["persistentvolumeclaims"]),
                rule(&["update"], &[CORE], &["pods/finalizers"]),
                events(),
            ],
        ),
        c(
            "ttl-controller",
            vec![
                rule(&["update", "patch", "list", "watch"], &[CORE], &["nodes"]),
                events(),
            ],
        ),
        c(
            "certificate-controller",
            vec![
                rule(
                    &["get", "list", "watch", "delete"],
                    &[CERTS],
                    &["certificatesigningrequests"],
                ),
                rule(
                    &["update"],
                    &[CERTS],
                    &[
                        "certificatesigningrequests/status",
                        "certificatesigningrequests/approval",
                    ],
                ),
                named(
                    &["approve"],
                    &[CERTS],
                    &["signers"],
                    &["kubernetes.io/kube-apiserver-client-kubelet"],
                ),
                named(
                    &["sign"],
                    &[CERTS],
                    &["signers"],
                    &[
                        "kubernetes.io/legacy-unknown",
                        "kubernetes.io/kube-apiserver-client",
                        "kubernetes.io/kube-apiserver-client-kubelet",
                        "kubernetes.io/kubelet-serving",
                    ],
                ),
                rule(&["create"], &[AUTHZ], &["subjectaccessreviews"]),
                events(),
            ],
        ),
        c(
            "pvc-protection-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update"],
                    &[CORE],
                    &["persistentvolumeclaims"],
                ),
                rule(&["update"], &[CORE], &["persistentvolumeclaims/status"]),
                rule(&["list", "watch", "get"], &[CORE], &["pods"]),
                events(),
            ],
        ),
        c(
            "pv-protection-controller",
            vec![
                rule(
                    &["get", "list", "watch", "update"],
                    &[CORE],
                    &["persistentvolumes"],
                ),
                events(),
            ],
        ),
        c(
            "ttl-after-finished-controller",
            vec![
                rule(&["get", "list", "watch", "delete"], &[BATCH], &["jobs"]),
                events(),
            ],
        ),
        c(
            "root-ca-cert-publisher",
            vec![
                rule(&["create", "update"], &[CORE], &["configmaps"]),
                events(),
            ],
        ),
    ]
}

/// A subject of a default binding.
enum Who {
    Group(&'static str),
    User(&'static str),
    ServiceAccount(&'static str, String),
}

fn subject(w: &Who) -> Value {
    match w {
        Who::Group(g) => json!({"apiGroup": RBAC, "kind": "Group", "name": g}),
        Who::User(u) => json!({"apiGroup": RBAC, "kind": "User", "name": u}),
        Who::ServiceAccount(ns, n) => {
            json!({"kind": "ServiceAccount", "name": n, "namespace": ns})
        }
    }
}

/// The API server's default ClusterRoleBindings (`clusterRoleBindings()`), each named after
/// its ClusterRole.
fn cluster_role_bindings() -> Vec<(String, Vec<Who>)> {
    use Who::*;
    let mut out: Vec<(String, Vec<Who>)> = vec![
        ("cluster-admin".into(), vec![Group("system:masters")]),
        ("system:monitoring".into(), vec![Group("system:monitoring")]),
        (
            "system:discovery".into(),
            vec![Group("system:authenticated")],
        ),
        (
            "system:basic-user".into(),
            vec![Group("system:authenticated")],
        ),
        (
            "system:public-info-viewer".into(),
            vec![
                Group("system:authenticated"),
                Group("system:unauthenticated"),
            ],
        ),
        (
            "system:node-proxier".into(),
            vec![User("system:kube-proxy")],
        ),
        (
            "system:kube-controller-manager".into(),
            vec![User("system:kube-controller-manager")],
        ),
        (
            "system:kube-dns".into(),
            vec![ServiceAccount("kube-system", "kube-dns".into())],
        ),
        (
            "system:kube-scheduler".into(),
            vec![User("system:kube-scheduler")],
        ),
        (
            "system:volume-scheduler".into(),
            vec![User("system:kube-scheduler")],
        ),
        // Kept without subjects since the Node authorizer took over (bootstrappolicy).
        ("system:node".into(), vec![]),
        (
            "system:service-account-issuer-discovery".into(),
            vec![Group("system:serviceaccounts")],
        ),
    ];
    for r in controller_roles() {
        if let Some(sa) = r.name.strip_prefix("system:controller:") {
            out.push((
                r.name.clone(),
                vec![ServiceAccount("kube-system", sa.to_string())],
            ));
        }
    }
    out
}

fn rules_json(rules: &[PolicyRule]) -> Value {
    serde_json::to_value(rules).unwrap_or_else(|_| json!([]))
}

fn default_meta(name: &str, extra_labels: &[(&str, &str)]) -> Value {
    let mut labels = serde_json::Map::new();
    labels.insert("kubernetes.io/bootstrapping".into(), json!("rbac-defaults"));
    for (k, v) in extra_labels {
        labels.insert((*k).into(), json!(v));
    }
    json!({
        "name": name,
        "labels": labels,
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

fn cluster_role_binding(meta: Value, role: &str, subjects: &[Who]) -> Value {
    let mut b = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
    });
    if !subjects.is_empty() {
        b["subjects"] = subjects.iter().map(subject).collect();
    }
    b
}

/// Every default ClusterRole and ClusterRoleBinding as JSON, API server defaults first, then
/// kubeadm's.
pub fn default_objects() -> (Vec<Value>, Vec<Value>) {
    let mut roles: Vec<Value> = cluster_roles()
        .into_iter()
        .map(|r| {
            let mut v = json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": default_meta(&r.name, &r.labels),
            });
            match r.aggregate_from {
                Some(label) => {
                    v["aggregationRule"] =
                        json!({"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]});
                }
                None => v["rules"] = rules_json(&r.rules),
            }
            v
        })
        .collect();
    let mut bindings: Vec<Value> = cluster_role_bindings()
        .into_iter()
        .map(|(name, subjects)| cluster_role_binding(default_meta(&name, &[]), &name, &subjects))
        .collect();
    // kubeadm (`phases/kubeconfig`, `phases/bootstraptoken`, `phases/addons/{proxy,dns}`).
    roles.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "kubeadm:get-nodes"},
        "rules": rules_json(&[rule(&["get"], &[CORE], &["nodes"])]),
    }));
    roles.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:coredns"},
        "rules": rules_json(&[
            rule(&["list", "watch"], &[CORE], &["endpoints", "services", "pods", "namespaces"]),
            rule(&["list", "watch"], &[DISCOVERY], &["endpointslices"]),
        ]),
    }));
    let kubeadm = |name: &str, role: &str, subjects: &[Who]| {
        cluster_role_binding(json!({"name": name}), role, subjects)
    };
    bindings.extend([
        kubeadm(
            "kubeadm:cluster-admins",
            "cluster-admin",
            &[Who::Group("kubeadm:cluster-admins")],
        ),
        kubeadm(
            "kubeadm:get-nodes",
            "kubeadm:get-nodes",
            &[Who::Group(
                "system:bootstrappers:kubeadm:default-node-token",
            )],
        ),
        kubeadm(
            "kubeadm:kubelet-bootstrap",
            "system:node-bootstrapper",
            &[Who::Group(
                "system:bootstrappers:kubeadm:default-node-token",
            )],
        ),
        kubeadm(
            "kubeadm:node-autoapprove-bootstrap",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            &[Who::Group(
                "system:bootstrappers:kubeadm:default-node-token",
            )],
        ),
        kubeadm(
            "kubeadm:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            &[Who::Group("system:nodes")],
        ),
        kubeadm(
            "kubeadm:node-proxier",
            "system:node-proxier",
            &[Who::ServiceAccount("kube-system", "kube-proxy".into())],
        ),
        kubeadm(
            "system:coredns",
            "system:coredns",
            &[Who::ServiceAccount("kube-system", "coredns".into())],
        ),
    ]);
    (roles, bindings)
}

/// Create the default ClusterRoles and ClusterRoleBindings (before anything else asks the
/// authorizer). An object already there is left alone.
pub fn create_defaults(store: &Store) -> crate::Result<()> {
    let opts = WriteOptions::default();
    let (roles, bindings) = default_objects();
    for r in roles {
        match store.create(&kinds::clusterrole::KIND, "", r, &opts) {
            Ok(_) | Err(crate::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    for b in bindings {
        match store.create(&kinds::clusterrolebinding::KIND, "", b, &opts) {
            Ok(_) | Err(crate::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Decision, RequestAttributes, UserInfo, authorize};

    fn store() -> std::sync::Arc<Store> {
        let clock = std::sync::Arc::new(crate::clock::Clock::new(1.0));
        Store::new(clock, String::new(), 1000)
    }

    #[test]
    fn the_learner_is_allowed_through_kubeadms_binding() {
        let s = store();
        create_defaults(&s).expect("defaults");
        let attrs = RequestAttributes {
            verb: "delete".into(),
            resource_request: true,
            api_group: "apps".into(),
            resource: "deployments".into(),
            namespace: "default".into(),
            name: "web".into(),
            ..Default::default()
        };
        assert_eq!(
            authorize(&s, &UserInfo::cluster_admin(), &attrs),
            Decision::Allow(
                r#"RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins""#
                    .into()
            )
        );
    }

    #[test]
    fn system_masters_is_allowed_without_any_rbac_object_and_kubeadms_admin_is_not() {
        // An empty store: every ClusterRole and binding deleted.
        let s = store();
        let attrs = RequestAttributes {
            verb: "get".into(),
            resource_request: true,
            resource: "namespaces".into(),
            name: "default".into(),
            ..Default::default()
        };
        let root = UserInfo {
            name: "root".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            ..Default::default()
        };
        assert_eq!(authorize(&s, &root, &attrs), Decision::Allow(String::new()));
        // kubeadm's admin (1.29+) holds its rights through a binding, so it is locked out.
        assert!(!authorize(&s, &UserInfo::cluster_admin(), &attrs).allowed());
    }

    #[test]
    fn an_authenticated_user_may_only_discover_and_review_themselves() {
        let s = store();
        create_defaults(&s).expect("defaults");
        let bob = UserInfo {
            name: "bob".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        };
        let list_pods = RequestAttributes {
            verb: "list".into(),
            resource_request: true,
            resource: "pods".into(),
            namespace: "default".into(),
            ..Default::default()
        };
        assert_eq!(
            authorize(&s, &bob, &list_pods),
            Decision::NoOpinion(String::new())
        );
        let review = RequestAttributes {
            verb: "create".into(),
            resource_request: true,
            api_group: "authorization.k8s.io".into(),
            resource: "selfsubjectaccessreviews".into(),
            ..Default::default()
        };
        assert!(authorize(&s, &bob, &review).allowed());
        let api = RequestAttributes {
            verb: "get".into(),
            path: "/apis/apps/v1".into(),
            ..Default::default()
        };
        assert!(authorize(&s, &bob, &api).allowed());
    }
}

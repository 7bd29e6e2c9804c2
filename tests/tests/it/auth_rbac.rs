//! RBAC: roles, bindings, aggregation, default ClusterRoles and the authorizer's Forbidden texts through real kubectl.
//!
//! One cluster is shared; each kubectl version works in its own namespace (and names its
//! cluster-scoped objects after it), and the versions run concurrently. kubectl's own
//! `create role|rolebinding|clusterrole|clusterrolebinding` (protobuf bodies from 1.32 on),
//! the tables `get` prints, `describe clusterrole view`, a learner's `aggregate-to-view` role
//! showing up in `view` and `admin`, the immutable roleRef, the Forbidden text of a denial (with
//! RBAC's reason for a binding to a missing Role) and the escalation refusal, the last two
//! as a ServiceAccount through `--as`. A second test runs the `kubequest/pod-lister` image on the
//! paused clock: it logs the API server's refusal every 10 s until a RoleBinding lets it list
//! pods, then the pod names.

use std::time::Duration;

use kq_tests::check::{Step, equals, expect, fails_with, has, has_row, header, ok};
use kq_tests::cluster::{Kubectl, TestCluster, advance_until, kubectl_binaries, on_every_kubectl};

fn write_file(tc: &TestCluster, name: &str, text: &str) -> String {
    let path = tc.dir().join(name);
    std::fs::write(&path, text).expect("a manifest in the scratch directory");
    path.to_string_lossy().into_owned()
}

fn scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = vec!["-n", ns];
        a.extend_from_slice(args);
        k.run(&a)
    };
    ok(&k.run(&["create", "namespace", ns]))?;

    // A Role and a RoleBinding to a ServiceAccount.
    equals(
        &run(&[
            "create",
            "role",
            "pod-reader",
            "--verb=get,list",
            "--resource=pods",
        ]),
        "role.rbac.authorization.k8s.io/pod-reader created",
        "create role answers",
    )?;
    let sa = format!("--serviceaccount={ns}:default");
    equals(
        &run(&["create", "rolebinding", "rb", "--role=pod-reader", &sa]),
        "rolebinding.rbac.authorization.k8s.io/rb created",
        "create rolebinding answers",
    )?;
    let r = run(&["get", "role"]);
    header(&r, &["NAME", "CREATED AT"], "roles print the default table")?;
    has_row(&r, &["pod-reader"], "the role is listed")?;
    let r = run(&["get", "rolebinding", "rb"]);
    header(&r, &["NAME", "ROLE", "AGE"], "rolebinding table")?;
    has_row(&r, &["rb", "Role/pod-reader"], "ROLE is Kind/name")?;
    let r = run(&["get", "rolebinding", "rb", "-o", "wide"]);
    header(
        &r,
        &["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
        "rolebinding wide table",
    )?;
    has(
        &r,
        &format!("{ns}/default"),
        "service accounts as namespace/name",
    )?;
    let r = run(&["get", "role,rolebinding"]);
    has_row(
        &r,
        &["role.rbac.authorization.k8s.io/pod-reader"],
        "get role,rolebinding lists the role",
    )?;
    has_row(
        &r,
        &[
            "rolebinding.rbac.authorization.k8s.io/rb",
            "Role/pod-reader",
        ],
        "get role,rolebinding lists the binding",
    )?;

    // roleRef cannot change.
    fails_with(
        &run(&[
            "patch",
            "rolebinding",
            "rb",
            "--type=merge",
            "-p",
            r#"{"roleRef":{"kind":"ClusterRole","name":"view"}}"#,
        ]),
        r#"The RoleBinding "rb" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"view"}: cannot change roleRef"#,
        "roleRef is immutable",
    )?;

    // A ClusterRole and a ClusterRoleBinding.
    let reader = format!("{ns}-reader");
    equals(
        &k.run(&[
            "create",
            "clusterrole",
            &reader,
            "--verb=get",
            "--resource=pods",
        ]),
        &format!("clusterrole.rbac.authorization.k8s.io/{reader} created"),
        "create clusterrole answers",
    )?;
    let crb = format!("{ns}-crb");
    let (bob, role_arg) = (
        format!("--user={ns}-bob"),
        format!("--clusterrole={reader}"),
    );
    equals(
        &k.run(&[
            "create",
            "clusterrolebinding",
            &crb,
            &role_arg,
            &bob,
            "--group=devs",
        ]),
        &format!("clusterrolebinding.rbac.authorization.k8s.io/{crb} created"),
        "create clusterrolebinding answers",
    )?;
    let r = k.run(&["get", "clusterrolebinding", &crb, "-o", "wide"]);
    header(
        &r,
        &["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
        "clusterrolebinding wide table",
    )?;
    let want_role = format!("ClusterRole/{reader}");
    has_row(&r, &[crb.as_str(), want_role.as_str()], "ROLE cell")?;
    has(&r, &format!("{ns}-bob"), "USERS cell")?;
    let r = k.run(&["get", "clusterrole", "view", "cluster-admin"]);
    header(&r, &["NAME", "CREATED AT"], "clusterrole table")?;
    has_row(&r, &["cluster-admin"], "cluster-admin is a default role")?;

    // The default view role, aggregated from system:aggregate-to-view.
    let r = k.run(&["describe", "clusterrole", "view"]);
    has(
        &r,
        "rbac.authorization.k8s.io/aggregate-to-edit=true",
        "view's label",
    )?;
    has(
        &r,
        "rbac.authorization.kubernetes.io/autoupdate: true",
        "view's annotation",
    )?;
    has_row(
        &r,
        &["pods", "[]", "[]", "[get", "list", "watch]"],
        "view reads pods",
    )?;
    has_row(
        &r,
        &["deployments.apps", "[]", "[]", "[get", "list", "watch]"],
        "view reads deployments",
    )?;
    expect(!r.stdout.contains("\n  secrets "), || {
        format!("view does not read secrets: {r}")
    })?;

    // A learner's role joins view (and, through view's own label, edit and admin).
    let group = format!("{ns}.example.com");
    let manifest = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {ns}-widgets\n  labels:\n    rbac.authorization.k8s.io/aggregate-to-view: \"true\"\nrules:\n- apiGroups: [\"{group}\"]\n  resources: [\"widgets\"]\n  verbs: [\"get\", \"list\", \"watch\"]\n"
    );
    let file = write_file(tc, &format!("{ns}-widgets.yaml"), &manifest);
    ok(&k.run(&["apply", "-f", &file]))?;
    let widgets = format!("widgets.{group}");
    for role in ["view", "admin"] {
        let r = k.run(&["describe", "clusterrole", role]);
        has_row(
            &r,
            &[widgets.as_str(), "[]", "[]", "[get", "list", "watch]"],
            &format!("the aggregated rule in {role}"),
        )?;
    }

    // Denials as a ServiceAccount (impersonated).
    let nobody = format!("--as=system:serviceaccount:{ns}:nobody");
    fails_with(
        &run(&["get", "pods", &nobody]),
        &format!(
            r#"Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:{ns}:nobody" cannot list resource "pods" in API group "" in the namespace "{ns}""#
        ),
        "a denial names the user, verb, resource and namespace",
    )?;
    let carol = format!("{ns}-carol");
    ok(&run(&[
        "create",
        "rolebinding",
        "dangling",
        "--role=missing",
        &format!("--user={carol}"),
    ]))?;
    fails_with(
        &run(&["get", "configmap", "x", &format!("--as={carol}")]),
        &format!(
            r#"configmaps "x" is forbidden: User "{carol}" cannot get resource "configmaps" in API group "" in the namespace "{ns}": RBAC: role.rbac.authorization.k8s.io "missing" not found"#
        ),
        "RBAC's resolution error follows the denial",
    )?;

    // Escalation: allowed to create roles, but not to grant what one does not hold.
    ok(&run(&[
        "create",
        "role",
        "role-writer",
        "--verb=create",
        "--resource=roles",
    ]))?;
    ok(&run(&[
        "create",
        "rolebinding",
        "writer",
        "--role=role-writer",
        &format!("--serviceaccount={ns}:writer"),
    ]))?;
    let r = run(&[
        "create",
        "role",
        "big",
        "--verb=delete",
        "--resource=secrets",
        &format!("--as=system:serviceaccount:{ns}:writer"),
    ]);
    fails_with(
        &r,
        &format!(
            r#"roles.rbac.authorization.k8s.io "big" is forbidden: user "system:serviceaccount:{ns}:writer" (groups=["system:serviceaccounts" "system:serviceaccounts:{ns}" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{{APIGroups:[""], Resources:["secrets"], Verbs:["delete"]}}"#
        ),
        "the escalation refusal lists the missing rule",
    )?;
    // What the writer holds it may grant.
    ok(&run(&[
        "create",
        "role",
        "small",
        "--verb=create",
        "--resource=roles",
        &format!("--as=system:serviceaccount:{ns}:writer"),
    ]))
}

#[test]
fn roles_bindings_aggregation_and_denials_on_every_kubectl() {
    let tc = TestCluster::start();
    on_every_kubectl(&tc, "rbac", |k, ns| scenario(&tc, k, ns));
}

#[test]
fn the_pod_lister_is_refused_until_a_rolebinding_lets_it_list_pods() {
    let tc = TestCluster::paused();
    let Some((label, path)) = kubectl_binaries().pop() else {
        panic!("a kubectl on this machine");
    };
    let k = tc.kubectl(&label, &path);
    tc.create(
        "default",
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "lister"},
            "spec": {"containers": [{"name": "lister", "image": "kubequest/pod-lister:1.0"}]},
        }),
    );
    let logs = || k.run(&["logs", "lister"]).stdout;
    let refusal = r#"error listing pods in namespace "default": pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default""#;
    advance_until(&tc, 120, || logs().contains(refusal));
    // Every 10 s, the same refusal again.
    let before = logs().matches(refusal).count();
    tc.cluster().advance(Duration::from_secs(10));
    tc.cluster().settle();
    let after = logs().matches(refusal).count();
    assert_eq!(after, before + 1, "one listing per 10 s: {}", logs());

    ok(&k.run(&[
        "create",
        "role",
        "pod-reader",
        "--verb=list",
        "--resource=pods",
    ]))
    .expect("a role");
    ok(&k.run(&[
        "create",
        "rolebinding",
        "lister",
        "--role=pod-reader",
        "--serviceaccount=default:default",
    ]))
    .expect("a binding");
    let allowed = r#"1 pods in namespace "default": lister"#;
    let waited = advance_until(&tc, 20, || logs().contains(allowed));
    assert!(waited <= 10, "the next listing is allowed: {}", logs());
    let line = logs()
        .lines()
        .find(|l| l.contains(allowed))
        .unwrap_or_default()
        .to_string();
    // Go's log prefix: `2006/01/02 15:04:05 `.
    let stamp = line.split(' ').take(2).collect::<Vec<_>>();
    assert!(
        stamp.len() == 2 && stamp[0].len() == 10 && stamp[0].matches('/').count() == 2,
        "a Go log timestamp: {line}"
    );
}

//! Authentication, impersonation, TokenRequest and the review APIs, driven by every kubectl
//! on this machine: `auth whoami` for the learner (kubeadm's admin), for `--as=jane
//! --as-group=devs` and for a ServiceAccount token from `create token`; `auth can-i` and its
//! `--list` table; `create token`'s validation and NotFound texts; a wrong token's
//! `Unauthorized`; and the denials a user without bindings meets (`auth can-i ... --as=jane`
//! is `no`, `get pods` as jane or as the ServiceAccount is Forbidden).
//!
//! One cluster is shared; each kubectl version works in its own namespace, concurrently.

use kq_tests::check::{Step, equals, expect, fails_with, has_words, header, ok};
use kq_tests::cluster::{Kubectl, TestCluster, on_every_kubectl};

/// kubectl 1.27 asks for SelfSubjectReview at v1beta1, then v1alpha1 only; a 1.33 server
/// serves v1 alone (both older versions are off by default), so 1.27's whoami cannot work.
fn whoami_needs_v1(k: &Kubectl) -> bool {
    k.label == "1.27"
}

fn scenario(k: &Kubectl, ns: &str) -> Step {
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = vec!["-n", ns];
        a.extend_from_slice(args);
        k.run(&a)
    };
    ok(&k.run(&["create", "namespace", ns]))?;
    ok(&run(&["create", "serviceaccount", "bot"]))?;

    // Who the learner is.
    let r = run(&["auth", "whoami"]);
    if whoami_needs_v1(k) {
        fails_with(
            &r,
            "the selfsubjectreviews API is not enabled in the cluster",
            "kubectl 1.27 finds no v1beta1/v1alpha1 SelfSubjectReview on a 1.33 server",
        )?;
    } else {
        header(&r, &["ATTRIBUTE", "VALUE"], "whoami table")?;
        has_words(
            &r,
            "Username kubernetes-admin",
            "the learner is kubeadm's admin",
        )?;
        has_words(
            &r,
            "Groups [kubeadm:cluster-admins system:authenticated]",
            "in kubeadm's admin group",
        )?;
        let r = run(&["auth", "whoami", "--as=jane", "--as-group=devs"]);
        has_words(&r, "Username jane", "--as names the user")?;
        has_words(
            &r,
            "Groups [devs system:authenticated]",
            "--as-group names the groups, system:authenticated is added",
        )?;
    }

    // A ServiceAccount token authenticates as the ServiceAccount.
    let r = run(&["create", "token", "bot"]);
    ok(&r)?;
    let token = r.stdout.trim().to_string();
    expect(token.split('.').count() == 3, || {
        format!("create token prints only a JWT: {r}")
    })?;
    let uid = run(&["get", "sa", "bot", "-o", "jsonpath={.metadata.uid}"]);
    ok(&uid)?;
    let tok = format!("--token={token}");
    if !whoami_needs_v1(k) {
        let r = run(&[&tok, "auth", "whoami"]);
        has_words(
            &r,
            &format!("Username system:serviceaccount:{ns}:bot"),
            "the token is the ServiceAccount",
        )?;
        has_words(&r, &format!("UID {}", uid.stdout.trim()), "with its uid")?;
        has_words(
            &r,
            &format!(
                "Groups [system:serviceaccounts system:serviceaccounts:{ns} system:authenticated]"
            ),
            "and the ServiceAccount groups",
        )?;
        has_words(
            &r,
            "Extra: authentication.kubernetes.io/credential-id [JTI=",
            "and the token's credential id",
        )?;
    }

    // can-i for the admin.
    equals(
        &run(&["auth", "can-i", "create", "pods"]),
        "yes",
        "the admin may create pods",
    )?;
    let r = run(&["auth", "can-i", "--list"]);
    header(
        &r,
        &["Resources", "Non-Resource URLs", "Resource Names", "Verbs"],
        "can-i --list table",
    )?;

    // create token's refusals.
    let r = run(&["create", "token", "bot", "--duration=1m"]);
    fails_with(
        &r,
        "error: failed to create token: TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
        "TokenRequest validation",
    )?;
    let r = run(&["create", "token", "nope"]);
    fails_with(
        &r,
        "error: failed to create token: serviceaccounts \"nope\" not found",
        "a missing ServiceAccount",
    )?;

    // A wrong token is refused before anything else.
    let r = run(&["--token=wrong", "get", "pods"]);
    fails_with(
        &r,
        "error: You must be logged in to the server (Unauthorized)",
        "a wrong token",
    )?;

    // Denials: jane and the ServiceAccount hold no bindings.
    let r = run(&["auth", "can-i", "get", "pods", "--as=jane"]);
    expect(r.code == 1 && r.stdout.trim() == "no", || {
        format!("jane may not get pods (no, exit 1): {r}")
    })?;
    let r = run(&["get", "pods", "--as=jane"]);
    fails_with(
        &r,
        &format!(
            "Error from server (Forbidden): pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"{ns}\""
        ),
        "jane is forbidden",
    )?;
    let r = run(&[&tok, "get", "pods"]);
    fails_with(
        &r,
        &format!(
            "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:{ns}:bot\" cannot list resource \"pods\" in API group \"\" in the namespace \"{ns}\""
        ),
        "the ServiceAccount is forbidden",
    )?;
    let sa = format!("--as=system:serviceaccount:{ns}:bot");
    let r = run(&["auth", "can-i", "create", "pods", &sa]);
    expect(r.code == 1 && r.stdout.trim() == "no", || {
        format!("the impersonated ServiceAccount may not create pods: {r}")
    })?;
    if !whoami_needs_v1(k) {
        let r = run(&["auth", "whoami", &sa]);
        has_words(
            &r,
            &format!(
                "Groups [system:serviceaccounts system:serviceaccounts:{ns} system:authenticated]"
            ),
            "an impersonated ServiceAccount has the ServiceAccount groups",
        )?;
    }
    Ok(())
}

#[test]
fn identity_tokens_and_reviews_on_every_kubectl() {
    let tc = TestCluster::start();
    on_every_kubectl(&tc, "authn", scenario);
}

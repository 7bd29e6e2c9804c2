//! The RBAC authorizer and its rule resolver (Kubernetes: `plugin/pkg/auth/authorizer/rbac/
//! rbac.go`, `pkg/registry/rbac/validation/rule.go`, `pkg/apis/rbac/v1/evaluation_helpers.go`
//! and `k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go`).
//!
//! A request is allowed when any rule reachable from a binding that names the user (a
//! ClusterRoleBinding anywhere, a RoleBinding in the request's namespace) matches it. RBAC
//! never denies: with no matching rule it has no opinion, and the reason it gives is empty
//! unless resolving a binding failed (a RoleBinding to a Role that does not exist), which a
//! learner then reads after the Forbidden text as `RBAC: role.rbac.authorization.k8s.io
//! "pod-reader" not found`.
//!
//! The same resolver answers "what may this user do here" (`kubectl auth can-i --list`) and
//! the escalation check of role and binding writes: a user may only grant what they hold,
//! unless they may `escalate` (roles) or `bind` (bindings).

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use kq_kube::validation::quote;
use serde::de::DeserializeOwned;

use super::{Decision, RequestAttributes, UserInfo};
use crate::registry::kinds;
use crate::storage::Store;

/// The RBAC API group.
pub const GROUP: &str = "rbac.authorization.k8s.io";

/// Where a rule came from, for the allow reason.
struct Source<'a> {
    /// `ClusterRoleBinding` or `RoleBinding`.
    binding_kind: &'static str,
    /// The binding's name (`name/ns` for RoleBindings, as the reason prints it).
    binding: String,
    role_ref: &'a RoleRef,
    subject: &'a Subject,
    /// The binding's namespace (the default namespace of a ServiceAccount subject).
    namespace: &'a str,
}

impl Source<'_> {
    /// `ClusterRoleBinding "x" of ClusterRole "y" to Group "g"`.
    fn describe(&self) -> String {
        format!(
            "{} {} of {} {} to {}",
            self.binding_kind,
            quote(&self.binding),
            self.role_ref.kind,
            quote(&self.role_ref.name),
            describe_subject(self.subject, self.namespace)
        )
    }
}

fn describe_subject(s: &Subject, binding_ns: &str) -> String {
    if s.kind == "ServiceAccount" {
        let ns = s
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(binding_ns);
        format!("{} {}", s.kind, quote(&format!("{}/{ns}", s.name)))
    } else {
        format!("{} {}", s.kind, quote(&s.name))
    }
}

fn typed<K: DeserializeOwned>(v: &serde_json::Value) -> Option<K> {
    serde_json::from_value(v.clone()).ok()
}

/// The rules a binding's roleRef points at, or the error an informer-backed lookup gives
/// (`role.rbac.authorization.k8s.io "x" not found`: listers name the singular resource).
pub fn role_ref_rules(
    store: &Store,
    role_ref: &RoleRef,
    binding_ns: &str,
) -> Result<Vec<PolicyRule>, String> {
    match role_ref.kind.as_str() {
        "Role" => store
            .get_raw(&kinds::role::KIND, binding_ns, &role_ref.name)
            .and_then(|v| typed::<Role>(&v))
            .map(|r| r.rules.unwrap_or_default())
            .ok_or_else(|| format!("role.{GROUP} {} not found", quote(&role_ref.name))),
        "ClusterRole" => store
            .get_raw(&kinds::clusterrole::KIND, "", &role_ref.name)
            .and_then(|v| typed::<ClusterRole>(&v))
            .map(|r| r.rules.unwrap_or_default())
            .ok_or_else(|| format!("clusterrole.{GROUP} {} not found", quote(&role_ref.name))),
        other => Err(format!("unsupported role reference kind: {}", quote(other))),
    }
}

/// Does `subject` name `user`? A ServiceAccount subject without a namespace means one in the
/// binding's namespace.
fn applies_to(user: &UserInfo, subject: &Subject, binding_ns: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            let ns = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_ns);
            !ns.is_empty() && user.name == format!("system:serviceaccount:{ns}:{}", subject.name)
        }
        _ => false,
    }
}

/// What a visitor hears: a rule and its source, or a resolution error.
enum Visit<'a> {
    Rule(&'a PolicyRule, &'a Source<'a>),
    Error(String),
}

/// Every rule that applies to `user` in `namespace` (cluster-wide bindings first), and every
/// error met resolving them, until `visit` returns false (`VisitRulesFor`).
fn visit_rules_for(
    store: &Store,
    user: &UserInfo,
    namespace: &str,
    mut visit: impl FnMut(Visit<'_>) -> bool,
) {
    for raw in store.list_raw(&kinds::clusterrolebinding::KIND, None) {
        let Some(b) = typed::<ClusterRoleBinding>(&raw) else {
            continue;
        };
        let subjects = b.subjects.as_deref().unwrap_or_default();
        let Some(subject) = subjects.iter().find(|s| applies_to(user, s, "")) else {
            continue;
        };
        let rules = match role_ref_rules(store, &b.role_ref, "") {
            Ok(r) => r,
            Err(e) => {
                if !visit(Visit::Error(e)) {
                    return;
                }
                continue;
            }
        };
        let source = Source {
            binding_kind: "ClusterRoleBinding",
            binding: b.metadata.name.clone().unwrap_or_default(),
            role_ref: &b.role_ref,
            subject,
            namespace: "",
        };
        for rule in &rules {
            if !visit(Visit::Rule(rule, &source)) {
                return;
            }
        }
    }
    if namespace.is_empty() {
        return;
    }
    for raw in store.list_raw(&kinds::rolebinding::KIND, Some(namespace)) {
        let Some(b) = typed::<RoleBinding>(&raw) else {
            continue;
        };
        let subjects = b.subjects.as_deref().unwrap_or_default();
        let Some(subject) = subjects.iter().find(|s| applies_to(user, s, namespace)) else {
            continue;
        };
        let rules = match role_ref_rules(store, &b.role_ref, namespace) {
            Ok(r) => r,
            Err(e) => {
                if !visit(Visit::Error(e)) {
                    return;
                }
                continue;
            }
        };
        let source = Source {
            binding_kind: "RoleBinding",
            binding: format!(
                "{}/{namespace}",
                b.metadata.name.as_deref().unwrap_or_default()
            ),
            role_ref: &b.role_ref,
            subject,
            namespace,
        };
        for rule in &rules {
            if !visit(Visit::Rule(rule, &source)) {
                return;
            }
        }
    }
}

/// Go's aggregate error text: one error bare, several as `[a, b]`.
pub fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The RBAC authorizer's answer: allowed with `RBAC: allowed by <source>`, else no opinion
/// with an empty reason, or `RBAC: <errors>` when some binding could not be resolved.
pub fn authorize(store: &Store, user: &UserInfo, attrs: &RequestAttributes) -> Decision {
    let mut allowed = None;
    let mut errors = Vec::new();
    visit_rules_for(store, user, &attrs.namespace, |v| match v {
        Visit::Rule(rule, source) => {
            if rule_allows(attrs, rule) {
                allowed = Some(format!("RBAC: allowed by {}", source.describe()));
                false
            } else {
                true
            }
        }
        Visit::Error(e) => {
            errors.push(e);
            true
        }
    });
    match allowed {
        Some(reason) => Decision::Allow(reason),
        None if errors.is_empty() => Decision::NoOpinion(String::new()),
        None => Decision::NoOpinion(format!("RBAC: {}", aggregate(&errors))),
    }
}

/// All rules that apply to `user` in `namespace`, and the resolution errors (`RulesFor`).
pub fn rules_for(
    store: &Store,
    user: &UserInfo,
    namespace: &str,
) -> (Vec<PolicyRule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    visit_rules_for(store, user, namespace, |v| {
        match v {
            Visit::Rule(rule, _) => rules.push(rule.clone()),
            Visit::Error(e) => errors.push(e),
        }
        true
    });
    (rules, errors)
}

fn list(v: &Option<Vec<String>>) -> &[String] {
    v.as_deref().unwrap_or_default()
}

fn has(set: &[String], s: &str) -> bool {
    set.iter().any(|x| x == s)
}

/// Does `rule` allow the request (`RuleAllows`)? `*` matches any verb, group or resource;
/// `*/log` matches the `log` subresource of anything; a non-resource URL ending in `*`
/// matches every path it prefixes.
pub fn rule_allows(attrs: &RequestAttributes, rule: &PolicyRule) -> bool {
    let verb_ok = rule.verbs.iter().any(|v| v == "*" || *v == attrs.verb);
    if !verb_ok {
        return false;
    }
    if !attrs.resource_request {
        return list(&rule.non_resource_urls)
            .iter()
            .any(|u| non_resource_url_covers(u, &attrs.path));
    }
    let groups = list(&rule.api_groups);
    if !(has(groups, "*") || has(groups, &attrs.api_group)) {
        return false;
    }
    let combined = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let resource_ok = list(&rule.resources).iter().any(|r| {
        r == "*"
            || *r == combined
            || (!attrs.subresource.is_empty()
                && r.len() == attrs.subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(attrs.subresource.as_str()))
    });
    if !resource_ok {
        return false;
    }
    let names = list(&rule.resource_names);
    names.is_empty() || has(names, &attrs.name)
}

fn non_resource_url_covers(owner: &str, path: &str) -> bool {
    owner == "*"
        || owner == path
        || (owner.ends_with('*') && path.starts_with(owner.trim_end_matches('*')))
}

// ----- escalation ----------------------------------------------------------------------------

/// One rule per (group, resource, verb, name) or (url, verb), as `BreakdownRule` splits them.
fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    let one = |s: &String| Some(vec![s.clone()]);
    for group in list(&rule.api_groups) {
        for resource in list(&rule.resources) {
            for verb in &rule.verbs {
                let names = list(&rule.resource_names);
                if names.is_empty() {
                    out.push(PolicyRule {
                        api_groups: one(group),
                        resources: one(resource),
                        verbs: vec![verb.clone()],
                        ..Default::default()
                    });
                }
                for name in names {
                    out.push(PolicyRule {
                        api_groups: one(group),
                        resources: one(resource),
                        resource_names: one(name),
                        verbs: vec![verb.clone()],
                        ..Default::default()
                    });
                }
            }
        }
    }
    for url in list(&rule.non_resource_urls) {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: one(url),
                verbs: vec![verb.clone()],
                ..Default::default()
            });
        }
    }
    out
}

fn resources_cover(owner: &[String], wanted: &[String]) -> bool {
    if has(owner, "*") {
        return true;
    }
    wanted.iter().all(|path| {
        has(owner, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

/// Does `owner` cover the single rule `sub` (`ruleCovers`)?
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let all = |set: &[String], wanted: &[String]| wanted.iter().all(|w| has(set, w));
    let verbs = has(&owner.verbs, "*") || all(&owner.verbs, &sub.verbs);
    let groups =
        has(list(&owner.api_groups), "*") || all(list(&owner.api_groups), list(&sub.api_groups));
    let resources = resources_cover(list(&owner.resources), list(&sub.resources));
    let urls = list(&sub.non_resource_urls).iter().all(|p| {
        list(&owner.non_resource_urls)
            .iter()
            .any(|o| o == p || (o.ends_with('*') && p.starts_with(o.trim_end_matches('*'))))
    });
    let owner_names = list(&owner.resource_names);
    let names = owner_names.is_empty()
        || (!list(&sub.resource_names).is_empty() && all(owner_names, list(&sub.resource_names)));
    verbs && groups && resources && names && urls
}

/// The broken-down rules of `wanted` that no rule of `owner` covers (`Covers`).
pub fn uncovered(owner: &[PolicyRule], wanted: &[PolicyRule]) -> Vec<PolicyRule> {
    wanted
        .iter()
        .flat_map(breakdown)
        .filter(|sub| !owner.iter().any(|o| rule_covers(o, sub)))
        .collect()
}

/// Merge single-group, single-resource rules that differ only in verbs (`CompactRules`).
fn compact(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for rule in rules {
        let is_simple = list(&rule.resource_names).len() <= 1
            && list(&rule.non_resource_urls).is_empty()
            && list(&rule.api_groups).len() == 1
            && list(&rule.resources).len() == 1;
        if !is_simple {
            out.push(rule);
            continue;
        }
        match simple.iter_mut().find(|s| {
            s.api_groups == rule.api_groups
                && s.resources == rule.resources
                && list(&s.resource_names) == list(&rule.resource_names)
        }) {
            Some(existing) => existing.verbs.extend(rule.verbs),
            None => simple.push(rule),
        }
    }
    out.extend(simple);
    out
}

fn go_strings(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" ")
    )
}

/// A rule as `CompactString` prints it: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`.
pub fn compact_string(r: &PolicyRule) -> String {
    let mut parts = Vec::new();
    for (label, v) in [
        ("APIGroups", list(&r.api_groups)),
        ("Resources", list(&r.resources)),
        ("NonResourceURLs", list(&r.non_resource_urls)),
        ("ResourceNames", list(&r.resource_names)),
        ("Verbs", r.verbs.as_slice()),
    ] {
        if !v.is_empty() {
            parts.push(format!("{label}:{}", go_strings(v)));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

/// Does `user` hold every permission in `rules` within `namespace`? If not, the text
/// `ConfirmNoEscalation` refuses with (missing rules compacted, sorted, one per line).
pub fn confirm_no_escalation(
    store: &Store,
    user: &UserInfo,
    namespace: &str,
    rules: &[PolicyRule],
) -> Result<(), String> {
    let (owner, errors) = rules_for(store, user, namespace);
    let missing = uncovered(&owner, rules);
    if missing.is_empty() {
        return Ok(());
    }
    let mut lines: Vec<String> = compact(missing).iter().map(compact_string).collect();
    lines.sort();
    lines.dedup();
    let groups = go_strings(&user.groups);
    let mut msg = format!(
        "user {} (groups={groups}) is attempting to grant RBAC permissions not currently held:\n{}",
        quote(&user.name),
        lines.join("\n")
    );
    if !errors.is_empty() {
        // `%v` of a []error slice: the errors space-separated in brackets.
        msg.push_str(&format!("; resolution errors: [{}]", errors.join(" ")));
    }
    Err(msg)
}

/// Is the user in `system:masters`, which the API server trusts with anything?
fn escalation_allowed(user: &UserInfo) -> bool {
    user.groups.iter().any(|g| g == "system:masters")
}

fn allowed(
    store: &Store,
    user: &UserInfo,
    verb: &str,
    resource: &str,
    ns: &str,
    name: &str,
) -> bool {
    let attrs = RequestAttributes {
        verb: verb.into(),
        resource_request: true,
        api_group: GROUP.into(),
        api_version: "v1".into(),
        resource: resource.into(),
        namespace: ns.into(),
        name: name.into(),
        ..Default::default()
    };
    super::authorize(store, user, &attrs).allowed()
}

/// The escalation check on a write of a Role (`namespace` set) or ClusterRole: allowed for
/// `system:masters`, for a user who may `escalate` it, or when the user already holds every
/// rule; else Forbidden with `ConfirmNoEscalation`'s text. Writes made by the cluster itself
/// (no requester) are not checked.
pub fn check_role_write(
    store: &Store,
    plural: &str,
    namespace: &str,
    name: &str,
    rules: &[PolicyRule],
    aggregation_rule: bool,
) -> crate::Result<()> {
    let Some(user) = super::requester() else {
        return Ok(());
    };
    if escalation_allowed(&user) || allowed(store, &user, "escalate", plural, namespace, name) {
        return Ok(());
    }
    let forbidden = |reason: String| crate::Error::Forbidden {
        group: GROUP.into(),
        resource: plural.into(),
        name: name.into(),
        reason,
    };
    confirm_no_escalation(store, &user, namespace, rules).map_err(forbidden)?;
    // An aggregationRule can gather any rule, so it takes every permission there is.
    if aggregation_rule {
        let full = [
            PolicyRule {
                verbs: vec!["*".into()],
                api_groups: Some(vec!["*".into()]),
                resources: Some(vec!["*".into()]),
                ..Default::default()
            },
            PolicyRule {
                verbs: vec!["*".into()],
                non_resource_urls: Some(vec!["*".into()]),
                ..Default::default()
            },
        ];
        confirm_no_escalation(store, &user, namespace, &full).map_err(|_| {
            forbidden("must have cluster-admin privileges to use the aggregationRule".into())
        })?;
    }
    Ok(())
}

/// The escalation check on a write of a RoleBinding (`namespace` set) or
/// ClusterRoleBinding: allowed for `system:masters`, for a user who may `bind` the role it
/// refers to, or when the user holds every rule of that role.
pub fn check_binding_write(
    store: &Store,
    plural: &str,
    namespace: &str,
    name: &str,
    role_ref: &RoleRef,
) -> crate::Result<()> {
    let Some(user) = super::requester() else {
        return Ok(());
    };
    let role_resource = if role_ref.kind == "Role" {
        "roles"
    } else {
        "clusterroles"
    };
    if escalation_allowed(&user)
        || (role_ref.api_group == GROUP
            && allowed(
                store,
                &user,
                "bind",
                role_resource,
                namespace,
                &role_ref.name,
            ))
    {
        return Ok(());
    }
    let forbidden = |reason: String| crate::Error::Forbidden {
        group: GROUP.into(),
        resource: plural.into(),
        name: name.into(),
        reason,
    };
    // The registry resolves the role through its own storage, whose not-found names the
    // plural resource.
    let rules = match role_ref.kind.as_str() {
        "Role" => store
            .get_raw(&kinds::role::KIND, namespace, &role_ref.name)
            .and_then(|v| typed::<Role>(&v))
            .map(|r| r.rules.unwrap_or_default())
            .ok_or_else(|| format!("roles.{GROUP} {} not found", quote(&role_ref.name))),
        "ClusterRole" => store
            .get_raw(&kinds::clusterrole::KIND, "", &role_ref.name)
            .and_then(|v| typed::<ClusterRole>(&v))
            .map(|r| r.rules.unwrap_or_default())
            .ok_or_else(|| format!("clusterroles.{GROUP} {} not found", quote(&role_ref.name))),
        other => Err(format!("unsupported role reference kind: {}", quote(other))),
    }
    .map_err(forbidden)?;
    confirm_no_escalation(store, &user, namespace, &rules).map_err(forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        PolicyRule {
            verbs: v(verbs),
            api_groups: Some(v(groups)),
            resources: Some(v(resources)),
            resource_names: (!names.is_empty()).then(|| v(names)),
            non_resource_urls: None,
        }
    }

    fn req(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> RequestAttributes {
        RequestAttributes {
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: "dev".into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn stars_match_every_verb_group_and_resource() {
        let r = rule(&["*"], &["*"], &["*"], &[]);
        assert!(rule_allows(
            &req("delete", "apps", "deployments", "", "x"),
            &r
        ));
        assert!(rule_allows(&req("get", "", "pods", "log", "x"), &r));
    }

    #[test]
    fn a_rule_matches_only_its_verbs_group_and_resource() {
        let r = rule(&["get", "list"], &[""], &["pods"], &[]);
        assert!(rule_allows(&req("list", "", "pods", "", ""), &r));
        assert!(!rule_allows(&req("delete", "", "pods", "", "x"), &r));
        assert!(!rule_allows(&req("get", "apps", "pods", "", "x"), &r));
        assert!(!rule_allows(&req("get", "", "services", "", "x"), &r));
        // The main resource does not reach its subresources.
        assert!(!rule_allows(&req("get", "", "pods", "log", "x"), &r));
    }

    #[test]
    fn subresources_match_by_name_or_star_prefix() {
        let r = rule(&["get"], &[""], &["pods/log"], &[]);
        assert!(rule_allows(&req("get", "", "pods", "log", "x"), &r));
        assert!(!rule_allows(&req("get", "", "pods", "exec", "x"), &r));
        let r = rule(&["get"], &[""], &["*/log"], &[]);
        assert!(rule_allows(&req("get", "", "pods", "log", "x"), &r));
        assert!(!rule_allows(&req("get", "", "pods", "", "x"), &r));
    }

    #[test]
    fn resource_names_limit_a_rule() {
        let r = rule(&["get"], &[""], &["configmaps"], &["app"]);
        assert!(rule_allows(&req("get", "", "configmaps", "", "app"), &r));
        assert!(!rule_allows(&req("get", "", "configmaps", "", "other"), &r));
        assert!(!rule_allows(&req("list", "", "configmaps", "", ""), &r));
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_star_suffix() {
        let r = PolicyRule {
            verbs: vec!["get".into()],
            non_resource_urls: Some(vec!["/healthz".into(), "/api/*".into()]),
            ..Default::default()
        };
        let path = |p: &str| RequestAttributes {
            verb: "get".into(),
            path: p.into(),
            ..Default::default()
        };
        assert!(rule_allows(&path("/healthz"), &r));
        assert!(rule_allows(&path("/api/v1"), &r));
        assert!(!rule_allows(&path("/healthz/etcd"), &r));
        assert!(!rule_allows(&path("/apis"), &r));
    }

    #[test]
    fn compact_strings_read_like_go() {
        let r = rule(&["get", "list"], &[""], &["pods"], &[]);
        assert_eq!(
            compact_string(&r),
            r#"{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}"#
        );
    }

    #[test]
    fn uncovered_rules_are_broken_down_and_compacted() {
        let owner = vec![rule(&["get"], &[""], &["pods"], &[])];
        let wanted = vec![rule(&["get", "list", "delete"], &[""], &["pods"], &[])];
        let missing = compact(uncovered(&owner, &wanted));
        assert_eq!(missing.len(), 1);
        assert_eq!(
            compact_string(&missing[0]),
            r#"{APIGroups:[""], Resources:["pods"], Verbs:["list" "delete"]}"#
        );
        let star = vec![rule(&["*"], &["*"], &["*"], &[])];
        assert!(uncovered(&star, &wanted).is_empty());
        let sub = vec![rule(&["get"], &[""], &["*/log"], &[])];
        assert!(uncovered(&sub, &[rule(&["get"], &[""], &["pods/log"], &[])]).is_empty());
    }

    #[test]
    fn subjects_describe_like_the_allow_reason() {
        let sa = Subject {
            kind: "ServiceAccount".into(),
            name: "lister".into(),
            ..Default::default()
        };
        assert_eq!(
            describe_subject(&sa, "dev"),
            r#"ServiceAccount "lister/dev""#
        );
        let user = UserInfo {
            name: "system:serviceaccount:dev:lister".into(),
            ..Default::default()
        };
        assert!(applies_to(&user, &sa, "dev"));
        assert!(!applies_to(&user, &sa, "prod"));
        let g = Subject {
            kind: "Group".into(),
            name: "system:authenticated".into(),
            ..Default::default()
        };
        assert_eq!(describe_subject(&g, ""), r#"Group "system:authenticated""#);
    }

    #[test]
    fn one_error_aggregates_bare_and_several_in_brackets() {
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into()]), "[a, b]");
    }
}

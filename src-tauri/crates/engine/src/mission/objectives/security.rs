//! Objectives about permissions, quotas, claims and Pod Security: outcomes a learner reaches
//! by fixing a Role or RoleBinding, a pod template's resources or security context, or a
//! claim, while the cluster's rule (the quota, the enforced level) stays in force.
//!
//! | kind | fields | passes when |
//! |---|---|---|
//! | `service-account-can` | `service_account`, `verb`, `resource` | the API server answers a `SubjectAccessReview` for `system:serviceaccount:<ns>:<sa>` with allowed, as `kubectl auth can-i <verb> <resource> --as=system:serviceaccount:<ns>:<sa>` would (`resource` as kubectl writes it: `pods`, `pods/log`, `deployments.apps`) |
//! | `quota-respected` | `quota`, `workload` | the ResourceQuota exists, is not being deleted, its controller has counted it and no `status.used` is over `status.hard`, and the workload runs (a Deployment available, a Job complete, a StatefulSet, DaemonSet or ReplicaSet with every replica ready) |
//! | `claim-bound` | `claim`, `pod?` | the PersistentVolumeClaim is `Bound`, and the pod using it (the named one, or every live pod that mounts it, at least one) is Running |
//! | `pod-security-enforced` | `level`, `workload` | the namespace's `pod-security.kubernetes.io/enforce` label is `level` or stricter (privileged < baseline < restricted), and the workload runs as for `quota-respected` |
//!
//! Bypasses fail on purpose: deleting the quota, lowering the namespace's level or deleting
//! the claim leaves the objective unmet, as does deleting the workload. The permission is asked
//! of the cluster's own authorizer (RBAC on both the embedded and a real cluster), never
//! inferred from the Role objects, so a binding to the wrong subject or namespace does not
//! count. Pod Security levels and labels follow `staging/src/k8s.io/pod-security-admission/api/
//! constants.go`; verbs are those `kubectl auth can-i` knows (`pkg/cmd/auth/cani.go`).

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kq_kube::quantity::Quantity;
use serde::{Deserialize, Serialize};

use super::{
    Check, ObjectiveStatus, Snapshot, WorkloadRef, evaluate_workload_check, live_named, live_pod,
    live_workload, met, not_met,
};
use crate::pipeline::claims::pod_claims;
use crate::pipeline::security_facts::{AccessAnswer, AccessQuestion, FactsWanted, SecurityFacts};
use crate::pipeline::workload::{WorkloadKind, WorkloadObject, Workloads};

type Outcome = Result<(ObjectiveStatus, String), (ObjectiveStatus, String)>;

/// The namespace label that sets the enforced level.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// A Pod Security Standards level, from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    Privileged,
    Baseline,
    Restricted,
}

impl PodSecurityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurityLevel::Privileged => "privileged",
            PodSecurityLevel::Baseline => "baseline",
            PodSecurityLevel::Restricted => "restricted",
        }
    }

    fn parse(label: &str) -> Option<PodSecurityLevel> {
        [
            PodSecurityLevel::Privileged,
            PodSecurityLevel::Baseline,
            PodSecurityLevel::Restricted,
        ]
        .into_iter()
        .find(|l| l.as_str() == label)
    }
}

/// The verbs `kubectl auth can-i` accepts without a warning.
const KNOWN_VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "use",
    "bind",
    "impersonate",
    "escalate",
    "approve",
    "sign",
    "*",
];

/// A `verb:` kubectl knows; anything else is refused when the lesson loads.
pub(super) fn known_verb<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let verb = String::deserialize(d)?;
    if KNOWN_VERBS.contains(&verb.as_str()) {
        Ok(verb)
    } else {
        Err(serde::de::Error::custom(format!(
            "`{verb}` is not a verb Kubernetes authorizes: use one of {}",
            KNOWN_VERBS.join(", ")
        )))
    }
}

/// A `resource:` as kubectl writes it (`pods`, `pods/log`, `deployments.apps`).
pub(super) fn resource_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let resource = String::deserialize(d)?;
    let (res, sub) = resource.split_once('/').unwrap_or((&resource, ""));
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    };
    if (res == "*" || ok_part(res)) && (sub.is_empty() || ok_part(sub)) && !sub.contains('/') {
        Ok(resource)
    } else {
        Err(serde::de::Error::custom(format!(
            "`{resource}` is not a resource as kubectl names one: write the lowercase plural, \
             with its API group and subresource if any (`pods`, `pods/log`, `deployments.apps`)"
        )))
    }
}

/// What the mission's objectives need read besides the watch.
pub fn facts_wanted<'a>(checks: impl IntoIterator<Item = &'a Check>) -> FactsWanted {
    let mut w = FactsWanted::default();
    for c in checks {
        match c {
            Check::ServiceAccountCan { .. } => {
                if let Some(q) = question(c)
                    && !w.access.contains(&q)
                {
                    w.access.push(q);
                }
            }
            Check::QuotaRespected { .. } => w.quotas = true,
            Check::ClaimBound { .. } => w.claims = true,
            Check::PodSecurityEnforced { .. } => w.namespace = true,
            Check::NodeDrained { node } if !w.nodes.contains(node) => {
                w.nodes.push(node.clone());
            }
            Check::BudgetProtects { .. } => w.budgets = true,
            _ => {}
        }
    }
    w
}

/// Whether a check reads facts no watch reports (so a session looks again on every tick).
pub fn reads_facts(check: &Check) -> bool {
    matches!(
        check,
        Check::ServiceAccountCan { .. }
            | Check::QuotaRespected { .. }
            | Check::ClaimBound { .. }
            | Check::PodSecurityEnforced { .. }
            | Check::NodeDrained { .. }
            | Check::BudgetProtects { .. }
    )
}

fn question(check: &Check) -> Option<AccessQuestion> {
    match check {
        Check::ServiceAccountCan {
            service_account,
            verb,
            resource,
        } => Some(AccessQuestion {
            service_account: service_account.clone(),
            verb: verb.clone(),
            resource: resource.clone(),
        }),
        _ => None,
    }
}

/// Evaluates one of this module's checks.
pub(super) fn evaluate(
    check: &Check,
    snap: &Snapshot<'_>,
    workloads: &Workloads,
    facts: &SecurityFacts,
) -> Outcome {
    match check {
        Check::ServiceAccountCan {
            service_account,
            verb,
            resource,
        } => {
            let asked = format!("{verb} {resource}");
            let q = question(check).ok_or_else(|| not_met("not a permission check".into()))?;
            Ok(match facts.access.get(&q) {
                None => not_met(format!(
                    "waiting for the API server's answer: may {service_account} {asked}?"
                )),
                Some(AccessAnswer::Allowed { reason }) => met(format!(
                    "the ServiceAccount {service_account} may {asked}{}",
                    paren(reason)
                )),
                Some(AccessAnswer::Denied { reason }) => not_met(format!(
                    "the ServiceAccount {service_account} may not {asked}: no Role or ClusterRole \
                     bound to it allows that{}",
                    paren(reason)
                )),
                Some(AccessAnswer::Failed { error }) => not_met(format!(
                    "could not ask the API server whether {service_account} may {asked}: {error}"
                )),
            })
        }
        Check::QuotaRespected { quota, workload } => {
            let quotas = facts
                .quotas
                .as_deref()
                .ok_or_else(|| not_met("the namespace's ResourceQuotas are not read yet".into()))?;
            let q = live_named(quotas, quota)?;
            let status = q.status.clone().unwrap_or_default();
            let hard = status.hard.unwrap_or_default();
            let used = status.used.unwrap_or_default();
            if hard.is_empty() {
                return Ok(not_met(format!(
                    "the ResourceQuota {quota} has not been counted by its controller yet"
                )));
            }
            let mut shown = Vec::new();
            for (resource, limit) in &hard {
                let in_use = used.get(resource).map(|u| u.0.as_str()).unwrap_or("0");
                let (Some(u), Some(h)) = (Quantity::parse(in_use), Quantity::parse(&limit.0))
                else {
                    continue;
                };
                if u > h {
                    return Ok(not_met(format!(
                        "the ResourceQuota {quota} is exceeded: {resource} uses {in_use} of {}",
                        limit.0
                    )));
                }
                shown.push(format!("{resource} {in_use}/{}", limit.0));
            }
            let runs = workload_runs(workload, snap, workloads)?;
            Ok((
                runs.0,
                format!("{quota} holds ({}) and {}", shown.join(", "), runs.1),
            ))
        }
        Check::ClaimBound { claim, pod } => {
            let claims = facts.claims.as_deref().ok_or_else(|| {
                not_met("the namespace's PersistentVolumeClaims are not read yet".into())
            })?;
            let c = live_claim(claims, claim)?;
            let phase = c
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .unwrap_or("Pending");
            if phase != "Bound" {
                return Ok(not_met(format!("{claim} is {phase}, not Bound")));
            }
            let volume = c
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.as_deref())
                .filter(|v| !v.is_empty());
            let bound = match volume {
                Some(v) => format!("{claim} is Bound to {v}"),
                None => format!("{claim} is Bound"),
            };
            let users: Vec<&Pod> = match pod {
                Some(name) => {
                    let p = live_pod(snap, name)?;
                    if !pod_claims(p).contains(&claim.as_str()) {
                        return Ok(not_met(format!("{bound}, but {name} does not mount it")));
                    }
                    vec![p]
                }
                None => snap
                    .pods
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .filter(|p| pod_claims(p).contains(&claim.as_str()))
                    .collect(),
            };
            if users.is_empty() {
                return Ok(not_met(format!("{bound}, but no pod uses it yet")));
            }
            for p in &users {
                let name = p.metadata.name.as_deref().unwrap_or_default();
                let phase = p
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("Pending");
                if phase != "Running" {
                    return Ok(not_met(format!("{bound}, but {name} is {phase}")));
                }
            }
            let names: Vec<&str> = users
                .iter()
                .filter_map(|p| p.metadata.name.as_deref())
                .collect();
            Ok(met(format!("{bound} and {} is Running", names.join(", "))))
        }
        Check::PodSecurityEnforced { level, workload } => {
            let ns = facts
                .namespace
                .as_ref()
                .ok_or_else(|| not_met("the namespace is not read yet".into()))?
                .as_ref()
                .ok_or_else(|| not_met("the mission's namespace does not exist".into()))?;
            let label = ns
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(ENFORCE_LABEL))
                .map(String::as_str);
            let enforced = match label {
                // No label: Pod Security enforces its default, privileged (kubeadm and kind
                // configure no other).
                None if *level == PodSecurityLevel::Privileged => PodSecurityLevel::Privileged,
                None => {
                    return Ok(not_met(format!(
                        "the namespace enforces no Pod Security level (no {ENFORCE_LABEL} \
                         label), not {}",
                        level.as_str()
                    )));
                }
                Some(l) => PodSecurityLevel::parse(l).ok_or_else(|| {
                    not_met(format!(
                        "the namespace's {ENFORCE_LABEL} label is `{l}`, not a level"
                    ))
                })?,
            };
            if enforced < *level {
                return Ok(not_met(format!(
                    "the namespace enforces {}, not {} (lowering the level is not a fix)",
                    enforced.as_str(),
                    level.as_str()
                )));
            }
            let runs = workload_runs(workload, snap, workloads)?;
            Ok((
                runs.0,
                format!(
                    "the namespace enforces {} and {}",
                    enforced.as_str(),
                    runs.1
                ),
            ))
        }
        _ => Ok(not_met("not a security check".into())),
    }
}

fn paren(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

fn live_claim<'a>(
    claims: &'a [PersistentVolumeClaim],
    name: &str,
) -> Result<&'a PersistentVolumeClaim, (ObjectiveStatus, String)> {
    let c = claims
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| {
            not_met(format!(
                "there is no PersistentVolumeClaim named {name} (deleting it is not a fix)"
            ))
        })?;
    if c.metadata.deletion_timestamp.is_some() {
        return Err(not_met(format!("{name} is being deleted")));
    }
    Ok(c)
}

/// Whether the workload does its job: a Deployment available, a Job complete, the other kinds
/// with every replica ready.
fn workload_runs(workload: &WorkloadRef, snap: &Snapshot<'_>, workloads: &Workloads) -> Outcome {
    let name = workload.name.clone();
    match workload.kind {
        WorkloadKind::Deployment => evaluate_workload_check(
            &Check::DeploymentAvailable {
                deployment: name,
                replicas: None,
            },
            snap,
            workloads,
        ),
        WorkloadKind::Job => {
            evaluate_workload_check(&Check::JobSucceeded { job: name }, snap, workloads)
        }
        kind => {
            let o = live_workload(workloads, kind, &name)?;
            let (ready, want) = match o {
                WorkloadObject::StatefulSet(s) => (
                    s.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
                    s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                ),
                WorkloadObject::ReplicaSet(r) => (
                    r.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
                    r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                ),
                WorkloadObject::DaemonSet(d) => {
                    let s = d.status.clone().unwrap_or_default();
                    (s.number_ready, s.desired_number_scheduled)
                }
                WorkloadObject::Deployment(_) | WorkloadObject::Job(_) => (0, 1),
            };
            if want > 0 && ready >= want {
                Ok(met(format!("{workload} has {ready}/{want} ready")))
            } else {
                Ok(not_met(format!("{workload} has {ready}/{want} ready")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::Objective;
    use crate::mission::format::parse_front_matter;
    use crate::mission::objectives::evaluate_session;
    use crate::pipeline::service_http::HttpResults;
    use crate::pipeline::services::ServiceObjects;
    use k8s_openapi::api::core::v1::{Namespace, ResourceQuota};
    use serde_json::json;

    fn front(objectives: &str) -> String {
        format!(
            "format: 1\nid: x\ntitle: X\norder: 1\nstage: create\ndifficulty: beginner\n\
             objectives:\n{objectives}hints: [a, b, c]\n"
        )
    }

    fn parse(objectives: &str) -> Vec<Objective> {
        let f = parse_front_matter(&front(objectives));
        assert_eq!(f.problems, vec![], "valid objectives");
        f.objectives.expect("typed")
    }

    #[test]
    fn the_four_objectives_parse_from_front_matter() {
        let o = parse(
            "  - id: a\n    title: A\n    check: { kind: service-account-can, service_account: reporter, verb: list, resource: pods }\n\
             \x20 - id: b\n    title: B\n    check: { kind: quota-respected, quota: compute, workload: deploy/web }\n\
             \x20 - id: c\n    title: C\n    check: { kind: claim-bound, claim: data, pod: db }\n\
             \x20 - id: d\n    title: D\n    check: { kind: pod-security-enforced, level: restricted, workload: deployment/web }\n",
        );
        assert_eq!(o[0].check.subject(), ("ServiceAccount", "reporter"));
        assert_eq!(o[1].check.subject(), ("ResourceQuota", "compute"));
        assert_eq!(o[2].check.subject(), ("PersistentVolumeClaim", "data"));
        assert_eq!(o[3].check.subject(), ("Deployment", "web"));
        let wanted = facts_wanted(o.iter().map(|o| &o.check));
        assert!(wanted.quotas && wanted.claims && wanted.namespace);
        assert_eq!(wanted.access.len(), 1);
        assert_eq!(wanted.access[0].resource, "pods");
    }

    #[test]
    fn bad_security_objectives_are_refused_at_their_line_with_the_reason() {
        let f = parse_front_matter(&front(
            "  - id: verb\n    title: V\n    check: { kind: service-account-can, service_account: r, verb: read, resource: pods }\n\
             \x20 - id: res\n    title: R\n    check: { kind: service-account-can, service_account: r, verb: get, resource: Pods }\n\
             \x20 - id: level\n    title: L\n    check: { kind: pod-security-enforced, level: strict, workload: deploy/web }\n\
             \x20 - id: wl\n    title: W\n    check: { kind: quota-respected, quota: q, workload: web }\n",
        ));
        let seen: Vec<(usize, &str)> = f
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(seen.len(), 4, "{seen:#?}");
        assert_eq!(seen[0].0, 10, "at the first check's line: {seen:#?}");
        assert!(
            seen[0]
                .1
                .contains("`read` is not a verb Kubernetes authorizes"),
            "{seen:#?}"
        );
        assert!(
            seen[1]
                .1
                .contains("`Pods` is not a resource as kubectl names one"),
            "{seen:#?}"
        );
        assert!(seen[2].1.contains("strict"), "{seen:#?}");
        assert!(seen[3].1.contains("names no workload kind"), "{seen:#?}");
    }

    fn snapshot_eval(
        o: &[Objective],
        pods: &[Pod],
        w: &Workloads,
        facts: &SecurityFacts,
    ) -> Vec<(ObjectiveStatus, String)> {
        let now = "2026-01-01T00:05:00Z".parse().expect("timestamp");
        let snap = Snapshot {
            pods,
            events: &[],
            now,
        };
        evaluate_session(
            o,
            &snap,
            w,
            &ServiceObjects::default(),
            &HttpResults::default(),
            facts,
        )
        .into_iter()
        .map(|r| (r.status, r.reason))
        .collect()
    }

    fn web(ready: i32, available: &str) -> Workloads {
        let mut w = Workloads::new();
        w.apply(WorkloadObject::Deployment(
            serde_json::from_value(json!({
                "metadata": {"name": "web", "namespace": "kq-sec", "uid": "d", "generation": 1},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
                "status": {"observedGeneration": 1, "replicas": ready, "readyReplicas": ready,
                           "availableReplicas": ready, "updatedReplicas": ready,
                           "conditions": [{"type": "Available", "status": available,
                                           "reason": if available == "True" {"MinimumReplicasAvailable"} else {"MinimumReplicasUnavailable"}}]}
            }))
            .expect("deployment fixture"),
        ));
        w
    }

    fn quota(used_cpu: &str) -> ResourceQuota {
        serde_json::from_value(json!({
            "metadata": {"name": "compute", "namespace": "kq-sec"},
            "spec": {"hard": {"requests.cpu": "1", "pods": "4"}},
            "status": {"hard": {"requests.cpu": "1", "pods": "4"},
                       "used": {"requests.cpu": used_cpu, "pods": "2"}}
        }))
        .expect("quota fixture")
    }

    #[test]
    fn quota_respected_needs_the_quota_within_its_limits_and_the_workload_available() {
        let o = parse(
            "  - id: q\n    title: Q\n    check: { kind: quota-respected, quota: compute, workload: deploy/web }\n",
        );
        let mut facts = SecurityFacts::default();
        assert_eq!(
            snapshot_eval(&o, &[], &web(2, "True"), &facts)[0].1,
            "the namespace's ResourceQuotas are not read yet"
        );
        facts.quotas = Some(vec![]);
        assert_eq!(
            snapshot_eval(&o, &[], &web(2, "True"), &facts)[0].1,
            "there is no ResourceQuota named compute (deleting it is not a fix)"
        );
        facts.quotas = Some(vec![quota("1500m")]);
        assert_eq!(
            snapshot_eval(&o, &[], &web(2, "True"), &facts)[0].1,
            "the ResourceQuota compute is exceeded: requests.cpu uses 1500m of 1"
        );
        facts.quotas = Some(vec![quota("500m")]);
        let (status, reason) = snapshot_eval(&o, &[], &web(0, "False"), &facts).remove(0);
        assert_eq!(status, ObjectiveStatus::NotMet);
        assert_eq!(
            reason,
            "compute holds (pods 2/4, requests.cpu 500m/1) and web is not available \
             (MinimumReplicasUnavailable; 0/2 ready)"
        );
        let (status, reason) = snapshot_eval(&o, &[], &web(2, "True"), &facts).remove(0);
        assert_eq!(status, ObjectiveStatus::Met, "{reason}");
        assert_eq!(
            reason,
            "compute holds (pods 2/4, requests.cpu 500m/1) and web is available with 2 ready \
             replicas"
        );
    }

    fn claim(phase: &str) -> PersistentVolumeClaim {
        serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "kq-sec"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                     "resources": {"requests": {"storage": "1Gi"}},
                     "volumeName": if phase == "Bound" {"pvc-3f1c"} else {""}},
            "status": {"phase": phase}
        }))
        .expect("claim fixture")
    }

    fn db(phase: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "db", "namespace": "kq-sec", "uid": "p"},
            "spec": {"containers": [{"name": "db", "image": "postgres:16"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]},
            "status": {"phase": phase}
        }))
        .expect("pod fixture")
    }

    #[test]
    fn claim_bound_needs_the_claim_bound_and_its_pod_running() {
        let named = parse(
            "  - id: c\n    title: C\n    check: { kind: claim-bound, claim: data, pod: db }\n",
        );
        let any = parse("  - id: c\n    title: C\n    check: { kind: claim-bound, claim: data }\n");
        let w = Workloads::new();
        let mut facts = SecurityFacts {
            claims: Some(vec![claim("Pending")]),
            ..SecurityFacts::default()
        };
        assert_eq!(
            snapshot_eval(&named, &[db("Pending")], &w, &facts)[0].1,
            "data is Pending, not Bound"
        );
        facts.claims = Some(vec![claim("Bound")]);
        assert_eq!(
            snapshot_eval(&named, &[db("Pending")], &w, &facts)[0].1,
            "data is Bound to pvc-3f1c, but db is Pending"
        );
        assert_eq!(
            snapshot_eval(&any, &[], &w, &facts)[0].1,
            "data is Bound to pvc-3f1c, but no pod uses it yet"
        );
        assert_eq!(
            snapshot_eval(&named, &[], &w, &facts)[0].1,
            "there is no pod named db (deleting it is not a fix)"
        );
        let ok = snapshot_eval(&any, &[db("Running")], &w, &facts).remove(0);
        assert_eq!(
            ok,
            (
                ObjectiveStatus::Met,
                "data is Bound to pvc-3f1c and db is Running".into()
            )
        );
        facts.claims = Some(vec![]);
        assert_eq!(
            snapshot_eval(&any, &[db("Running")], &w, &facts)[0].1,
            "there is no PersistentVolumeClaim named data (deleting it is not a fix)"
        );
    }

    fn namespace(enforce: Option<&str>) -> Namespace {
        let labels = match enforce {
            Some(l) => json!({"kubernetes.io/metadata.name": "kq-sec", ENFORCE_LABEL: l}),
            None => json!({"kubernetes.io/metadata.name": "kq-sec"}),
        };
        serde_json::from_value(json!({"metadata": {"name": "kq-sec", "labels": labels}}))
            .expect("namespace fixture")
    }

    #[test]
    fn pod_security_enforced_refuses_a_lowered_level_and_needs_the_workload_running() {
        let o = parse(
            "  - id: p\n    title: P\n    check: { kind: pod-security-enforced, level: restricted, workload: deploy/web }\n",
        );
        let mut facts = SecurityFacts {
            namespace: Some(Some(namespace(Some("baseline")))),
            ..SecurityFacts::default()
        };
        assert_eq!(
            snapshot_eval(&o, &[], &web(2, "True"), &facts)[0].1,
            "the namespace enforces baseline, not restricted (lowering the level is not a fix)"
        );
        facts.namespace = Some(Some(namespace(None)));
        assert_eq!(
            snapshot_eval(&o, &[], &web(2, "True"), &facts)[0].1,
            "the namespace enforces no Pod Security level (no \
             pod-security.kubernetes.io/enforce label), not restricted"
        );
        let privileged = parse(
            "  - id: p\n    title: P\n    check: { kind: pod-security-enforced, level: privileged, workload: deploy/web }\n",
        );
        assert_eq!(
            snapshot_eval(&privileged, &[], &web(2, "True"), &facts)[0].0,
            ObjectiveStatus::Met,
            "no label enforces privileged, Pod Security's default"
        );
        facts.namespace = Some(Some(namespace(Some("restricted"))));
        assert_eq!(
            snapshot_eval(&o, &[], &web(0, "False"), &facts)[0],
            (
                ObjectiveStatus::NotMet,
                "the namespace enforces restricted and web is not available \
                 (MinimumReplicasUnavailable; 0/2 ready)"
                    .into()
            )
        );
        assert_eq!(
            snapshot_eval(&o, &[], &web(2, "True"), &facts)[0],
            (
                ObjectiveStatus::Met,
                "the namespace enforces restricted and web is available with 2 ready replicas"
                    .into()
            )
        );
    }

    #[test]
    fn service_account_can_reads_the_api_servers_answer() {
        let o = parse(
            "  - id: a\n    title: A\n    check: { kind: service-account-can, service_account: reporter, verb: list, resource: pods }\n",
        );
        let w = Workloads::new();
        let q = facts_wanted(o.iter().map(|o| &o.check)).access.remove(0);
        let mut facts = SecurityFacts::default();
        assert_eq!(
            snapshot_eval(&o, &[], &w, &facts)[0].1,
            "waiting for the API server's answer: may reporter list pods?"
        );
        facts.access.insert(
            q.clone(),
            AccessAnswer::Denied {
                reason: String::new(),
            },
        );
        assert_eq!(
            snapshot_eval(&o, &[], &w, &facts)[0],
            (
                ObjectiveStatus::NotMet,
                "the ServiceAccount reporter may not list pods: no Role or ClusterRole bound to \
                 it allows that"
                    .into()
            )
        );
        facts.access.insert(
            q,
            AccessAnswer::Allowed {
                reason: "RBAC: allowed by RoleBinding \"read-pods/kq-sec\" of Role \"pod-reader\" \
                         to ServiceAccount \"reporter/kq-sec\""
                    .into(),
            },
        );
        assert_eq!(
            snapshot_eval(&o, &[], &w, &facts)[0],
            (
                ObjectiveStatus::Met,
                "the ServiceAccount reporter may list pods (RBAC: allowed by RoleBinding \
                 \"read-pods/kq-sec\" of Role \"pod-reader\" to ServiceAccount \
                 \"reporter/kq-sec\")"
                    .into()
            )
        );
    }
}

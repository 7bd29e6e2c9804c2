//! Refusals for reasons of security and storage, read from what the API server, the scheduler
//! and the kubelet say: a controller whose pods admission refuses (ResourceQuota, LimitRanger,
//! Pod Security, a missing ServiceAccount), a container refused for `runAsNonRoot`, a pod held
//! Pending by its PersistentVolumeClaims, a claim the kubelet cannot mount, and an app whose
//! API calls RBAC refuses (the Forbidden line in its log).
//!
//! The texts parsed here come from Kubernetes' source, so their shapes are stable:
//!
//! - ResourceQuota admission (`staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/
//!   controller.go`): `exceeded quota: %s, requested: %s, used: %s, limited: %s`,
//!   `failed quota: %s: must specify …`, `status unknown for quota: %s, resources: %s`;
//! - LimitRanger (`plugin/pkg/admission/limitranger/admission.go`): `maximum %s usage per %s is
//!   %s, but limit is %s` and its siblings;
//! - Pod Security admission (`staging/src/k8s.io/pod-security-admission/admission/
//!   admission.go`): `violates PodSecurity %q: %s`;
//! - ServiceAccount admission (`plugin/pkg/admission/serviceaccount/admission.go`): `error
//!   looking up service account %s/%s: %v`;
//! - the kubelet's `verifyRunAsNonRoot` (`pkg/kubelet/kuberuntime/security_context_others.go`):
//!   `container has runAsNonRoot and image will run as root …`;
//! - the scheduler's VolumeBinding plugin (`pkg/scheduler/framework/plugins/volumebinding/
//!   volume_binding.go`): `pod has unbound immediate PersistentVolumeClaims`,
//!   `persistentvolumeclaim %q not found`, …;
//! - RBAC denials (`staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/
//!   errors.go`): `User %q cannot %s resource %q in API group %q in the namespace %q`.
//!
//! As everywhere in [`super`], this module chooses which words apply; the words are in
//! `lessons/diagnoses.yaml` (sections `FailedCreate`, `RunAsNonRoot`, `PendingClaim`,
//! `ClaimMount`, `ForbiddenInLogs`).

use super::texts::{DiagnosisTexts, render};
use super::{Diagnosis, Symptom, parse_fit_error};
use crate::stage::{ReasonKind, StageKind};

/// Why admission refused a controller's pod, read from its `FailedCreate` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal<'a> {
    /// A ResourceQuota is used up.
    QuotaExceeded {
        quota: &'a str,
        requested: &'a str,
        used: &'a str,
        limited: &'a str,
    },
    /// A ResourceQuota on compute resources needs requests or limits the template lacks.
    QuotaMustSpecify { quota: &'a str, missing: &'a str },
    /// Another quota refusal (the quota's usage is not known yet).
    Quota,
    /// A LimitRange bound is broken; `rule` is the LimitRanger's sentence.
    LimitRange { rule: &'a str },
    /// The namespace's enforced Pod Security level refuses the pod.
    PodSecurity {
        policy: &'a str,
        violations: &'a str,
    },
    /// The template's ServiceAccount does not exist.
    ServiceAccount { name: &'a str },
    /// Some other admission refusal.
    Forbidden,
    /// Not a refusal KubeQuest recognises.
    Other,
}

/// The text after `marker`, if the message holds it.
fn after<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    message.find(marker).map(|i| &message[i + marker.len()..])
}

/// Drops what an aggregated error (`[e1, e2]`) or a final period adds after the text.
fn trim_tail(text: &str) -> &str {
    text.trim_end_matches([']', '.']).trim_end()
}

/// Reads a refused pod creation's message (`Error creating: pods "web-…" is forbidden: …`).
pub fn read_refusal(message: &str) -> Refusal<'_> {
    if let Some(rest) = after(message, "exceeded quota: ") {
        let parts = rest.split_once(", requested: ").and_then(|(quota, r)| {
            let (requested, r) = r.split_once(", used: ")?;
            let (used, limited) = r.split_once(", limited: ")?;
            Some((quota, requested, used, trim_tail(limited)))
        });
        return match parts {
            Some((quota, requested, used, limited)) => Refusal::QuotaExceeded {
                quota,
                requested,
                used,
                limited,
            },
            None => Refusal::Quota,
        };
    }
    if let Some(rest) = after(message, "failed quota: ")
        && let Some((quota, missing)) = rest.split_once(": must specify ")
    {
        return Refusal::QuotaMustSpecify {
            quota,
            missing: trim_tail(missing),
        };
    }
    if message.contains("status unknown for quota: ") {
        return Refusal::Quota;
    }
    if let Some(rest) = after(message, "violates PodSecurity \"")
        && let Some((policy, violations)) = rest.split_once("\": ")
    {
        return Refusal::PodSecurity {
            policy,
            violations: trim_tail(violations),
        };
    }
    if let Some(rest) = after(message, "error looking up service account ")
        && let Some((_, name_rest)) = rest.split_once('/')
    {
        let name = name_rest.split(':').next().unwrap_or_default();
        if !name.is_empty() {
            return Refusal::ServiceAccount { name };
        }
    }
    for start in ["minimum ", "maximum "] {
        if let Some(i) = message.find(start)
            && message[i..].contains(" usage per ")
        {
            return Refusal::LimitRange {
                rule: trim_tail(&message[i..]),
            };
        }
    }
    if let Some(i) = message.find(" max limit to request ratio per ") {
        let start = message[..i].rfind(": ").map_or(0, |j| j + 2);
        return Refusal::LimitRange {
            rule: trim_tail(&message[start..]),
        };
    }
    if message.contains("forbidden") {
        Refusal::Forbidden
    } else {
        Refusal::Other
    }
}

/// The `FailedCreate` text that explains a refusal: its key in the section, the facts it names
/// and the key of the extra commands that show the rule.
pub(crate) struct RefusalCause {
    pub key: &'static str,
    pub vars: Vec<(&'static str, String)>,
    pub commands: Option<&'static str>,
}

/// Chooses the `FailedCreate` cause text for a refusal message.
pub(crate) fn refusal_cause(message: &str) -> RefusalCause {
    let cause = |key, vars: &[(&'static str, &str)], commands| RefusalCause {
        key,
        vars: vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        commands,
    };
    match read_refusal(message) {
        Refusal::QuotaExceeded {
            quota,
            requested,
            used,
            limited,
        } => cause(
            "cause-quota-exceeded",
            &[
                ("quota", quota),
                ("requested", requested),
                ("used", used),
                ("limited", limited),
            ],
            Some("commands-quota"),
        ),
        Refusal::QuotaMustSpecify { quota, missing } => cause(
            "cause-quota-must-specify",
            &[("quota", quota), ("missing", missing)],
            Some("commands-quota"),
        ),
        Refusal::Quota => cause("cause-quota", &[], Some("commands-quota")),
        Refusal::LimitRange { rule } => cause(
            "cause-limit-range",
            &[("rule", rule)],
            Some("commands-limit-range"),
        ),
        Refusal::PodSecurity { policy, violations } => cause(
            "cause-pod-security",
            &[("policy", policy), ("violations", violations)],
            Some("commands-pod-security"),
        ),
        Refusal::ServiceAccount { name } => cause(
            "cause-service-account",
            &[("service_account", name)],
            Some("commands-service-account"),
        ),
        Refusal::Forbidden => cause("cause-forbidden", &[], None),
        Refusal::Other => cause("cause-other", &[], None),
    }
}

/// Whether a kubelet message is the `runAsNonRoot` refusal (`container has runAsNonRoot and
/// image will run as root`, `… image has non-numeric user …`, `container's runAsUser breaks
/// non-root policy`).
fn is_non_root_refusal(message: &str) -> bool {
    message.contains("has runAsNonRoot and image") || message.contains("breaks non-root policy")
}

/// What the scheduler says about a pod's claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimBlock<'a> {
    Unbound,
    NotFound(&'a str),
    Deleting(&'a str),
    LostVolume(&'a str),
    NoVolume(&'a str),
}

/// The first `"…"` in `text`.
fn first_quoted(text: &str) -> Option<&str> {
    let rest = &text[text.find('"')? + 1..];
    rest.split('"').next()
}

fn claim_block(reason: &str) -> Option<ClaimBlock<'_>> {
    if reason.contains("unbound immediate PersistentVolumeClaims") {
        return Some(ClaimBlock::Unbound);
    }
    if let Some(rest) = reason.strip_prefix("persistentvolumeclaim ") {
        let claim = first_quoted(rest)?;
        return Some(if rest.ends_with("not found") {
            ClaimBlock::NotFound(claim)
        } else if rest.ends_with("is being deleted") {
            ClaimBlock::Deleting(claim)
        } else if rest.contains("bound to non-existent persistentvolume") {
            ClaimBlock::LostVolume(claim)
        } else {
            return None;
        });
    }
    (reason.contains("didn't find available persistent volumes to bind")
        || reason.contains("bound to non-existent pv"))
    .then_some(ClaimBlock::NoVolume(reason))
}

/// The scheduler's claim problem in a FitError message (or a bare PreFilter message).
fn scheduler_claim_block(message: &str) -> Option<ClaimBlock<'_>> {
    let parsed = parse_fit_error(message);
    if parsed.is_none() {
        return claim_block(message.trim_end_matches('.'));
    }
    // The parsed reasons are owned; find the same text in the message to borrow it.
    let rest = message.split(". preemption: ").next().unwrap_or(message);
    let list = rest.split_once(": ").map_or(rest, |(_, l)| l);
    list.split(", ")
        .map(|item| item.trim_end_matches('.'))
        .map(|item| match item.split_once(' ') {
            Some((n, r)) if n.bytes().all(|b| b.is_ascii_digit()) => r,
            _ => item,
        })
        .find_map(claim_block)
}

/// A pod-level problem this module explains better than the reason's own section, or `None`.
pub(crate) fn diagnose_pod(s: &Symptom<'_>, kind: ReasonKind) -> Option<Diagnosis> {
    let t = DiagnosisTexts::current();
    match kind {
        ReasonKind::CreateContainerConfigError if s.message.is_some_and(is_non_root_refusal) => {
            Some(non_root(t, s, kind))
        }
        ReasonKind::Unschedulable => {
            let block = s.message.and_then(scheduler_claim_block)?;
            Some(pending_claim(t, s, kind, block))
        }
        ReasonKind::FailedMount
            if s.event_message.is_some_and(|m| {
                m.contains("error processing PVC") || m.contains("PVC is not bound")
            }) =>
        {
            Some(claim_mount(t, s, kind))
        }
        _ => None,
    }
}

/// The facts every pod-level text here may name.
fn pod_vars<'a>(t: &'a DiagnosisTexts, s: &'a Symptom<'a>) -> Vec<(&'static str, String)> {
    let who = match (s.container, s.init) {
        (Some(c), true) => render(t.text("common", "who-init-container"), &[("container", c)]),
        (Some(c), false) => render(t.text("common", "who-container"), &[("container", c)]),
        (None, _) => render(t.text("common", "who-pod"), &[("pod", s.pod)]),
    };
    let mut logs = format!("kubectl logs {} -n {}", s.pod, s.namespace);
    if let Some(c) = s.container.filter(|_| s.multi_container || s.init) {
        logs.push_str(&format!(" -c {c}"));
    }
    vec![
        ("who", who),
        ("pod", s.pod.to_owned()),
        ("namespace", s.namespace.to_owned()),
        ("container", s.container.unwrap_or_default().to_owned()),
        (
            "describe",
            format!("kubectl describe pod {} -n {}", s.pod, s.namespace),
        ),
        ("logs", logs),
    ]
}

/// Renders `section.key` with the owned facts plus `extra`.
fn fill(
    t: &DiagnosisTexts,
    section: &str,
    key: &str,
    vars: &[(&'static str, String)],
    extra: &[(&str, &str)],
) -> String {
    let all: Vec<(&str, &str)> = extra
        .iter()
        .copied()
        .chain(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .collect();
    render(t.text(section, key), &all)
}

fn commands(t: &DiagnosisTexts, section: &str, vars: &[(&'static str, String)]) -> Vec<String> {
    let all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    t.list(section, "commands")
        .iter()
        .map(|c| render(c, &all))
        .collect()
}

fn quoted(t: &DiagnosisTexts, message: Option<&str>) -> String {
    message
        .filter(|m| !m.is_empty())
        .map(|m| render(t.text("common", "quoted"), &[("message", m)]))
        .unwrap_or_default()
}

fn diagnosis(
    s: &Symptom<'_>,
    kind: ReasonKind,
    stage: StageKind,
    (title, explanation, commands): (String, String, Vec<String>),
) -> Diagnosis {
    Diagnosis {
        kind,
        reason: s.reason.to_owned(),
        stage,
        container: s.container.map(str::to_owned),
        title,
        explanation,
        commands,
        last_termination: None,
        fit_error: None,
    }
}

fn non_root(t: &DiagnosisTexts, s: &Symptom<'_>, kind: ReasonKind) -> Diagnosis {
    const S: &str = "RunAsNonRoot";
    let vars = pod_vars(t, s);
    let q = quoted(t, s.message);
    let stage = if s.init {
        StageKind::Init
    } else {
        StageKind::ContainerCreated
    };
    diagnosis(
        s,
        kind,
        stage,
        (
            fill(t, S, "title", &vars, &[]),
            fill(t, S, "explanation", &vars, &[("quoted", &q)]),
            commands(t, S, &vars),
        ),
    )
}

/// The class a `ProvisioningFailed` event says does not exist (`storageclass.storage.k8s.io
/// "fast" not found`).
fn missing_class(message: &str) -> Option<&str> {
    let rest = after(message, "storageclass.storage.k8s.io \"")?;
    let (class, tail) = rest.split_once('"')?;
    tail.trim_start().starts_with("not found").then_some(class)
}

fn pending_claim(
    t: &DiagnosisTexts,
    s: &Symptom<'_>,
    kind: ReasonKind,
    block: ClaimBlock<'_>,
) -> Diagnosis {
    const S: &str = "PendingClaim";
    let vars = pod_vars(t, s);
    let (key, claim, message) = match block {
        ClaimBlock::Unbound => ("claim-unbound", "", ""),
        ClaimBlock::NotFound(c) => ("claim-not-found", c, ""),
        ClaimBlock::Deleting(c) => ("claim-deleting", c, ""),
        ClaimBlock::LostVolume(c) => ("claim-lost-volume", c, ""),
        ClaimBlock::NoVolume(m) => ("claim-no-volume", "", m),
    };
    let detail = fill(t, S, key, &vars, &[("claim", claim), ("message", message)]);
    let claim_event = s
        .claim_event
        .filter(|m| !m.is_empty())
        .map(|m| match missing_class(m) {
            Some(class) => fill(
                t,
                S,
                "claim-class-missing",
                &vars,
                &[("message", m), ("class", class)],
            ),
            None if m.contains("no storage class is set") => {
                fill(t, S, "claim-no-class", &vars, &[("message", m)])
            }
            None => fill(t, S, "claim-event-detail", &vars, &[("message", m)]),
        })
        .unwrap_or_default();
    let mut d = diagnosis(
        s,
        kind,
        StageKind::Scheduled,
        (
            fill(t, S, "title", &vars, &[]),
            fill(
                t,
                S,
                "explanation",
                &vars,
                &[("detail", &detail), ("claim_event", &claim_event)],
            ),
            commands(t, S, &vars),
        ),
    );
    d.fit_error = s.message.and_then(parse_fit_error);
    d
}

fn claim_mount(t: &DiagnosisTexts, s: &Symptom<'_>, kind: ReasonKind) -> Diagnosis {
    const S: &str = "ClaimMount";
    let vars = pod_vars(t, s);
    let q = quoted(t, s.event_message);
    diagnosis(
        s,
        kind,
        StageKind::ContainerCreated,
        (
            fill(t, S, "title", &vars, &[]),
            fill(t, S, "explanation", &vars, &[("quoted", &q)]),
            commands(t, S, &vars),
        ),
    )
}

/// A request the API server refused, as its Forbidden message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenRequest<'a> {
    /// `system:serviceaccount:dev:reader`.
    pub user: &'a str,
    pub verb: &'a str,
    pub resource: &'a str,
    /// `""` for the core group.
    pub group: &'a str,
    /// The namespace, or `None` for a cluster-scoped request.
    pub namespace: Option<&'a str>,
}

impl ForbiddenRequest<'_> {
    /// The ServiceAccount's name when the user is one (`system:serviceaccount:<ns>:<name>`).
    pub fn service_account(&self) -> Option<(&str, &str)> {
        self.user
            .strip_prefix("system:serviceaccount:")?
            .split_once(':')
    }
}

/// Reads `User "<u>" cannot <verb> resource "<r>" in API group "<g>" in the namespace "<ns>"`
/// (or `… at the cluster scope`) anywhere in a line.
pub fn read_forbidden(line: &str) -> Option<ForbiddenRequest<'_>> {
    let rest = after(line, "User \"")?;
    let (user, rest) = rest.split_once("\" cannot ")?;
    let (verb, rest) = rest.split_once(" resource \"")?;
    let (resource, rest) = rest.split_once("\" in API group \"")?;
    let (group, rest) = rest.split_once('"')?;
    let namespace = match after(rest, " in the namespace \"") {
        Some(ns) => Some(ns.split('"').next()?),
        None if rest.starts_with(" at the cluster scope") => None,
        None => return None,
    };
    (!verb.contains(' ')).then_some(ForbiddenRequest {
        user,
        verb,
        resource,
        group,
        namespace,
    })
}

/// Explains the last Forbidden line in a container's log (the app's own API calls refused by
/// RBAC), or `None` when the log holds none.
pub fn diagnose_forbidden_log(s: &Symptom<'_>, log: &str) -> Option<Diagnosis> {
    const S: &str = "ForbiddenInLogs";
    let t = DiagnosisTexts::current();
    let (line, req) = log
        .lines()
        .rev()
        .find_map(|l| read_forbidden(l).map(|r| (l.trim(), r)))?;
    let vars = pod_vars(t, s);
    let sa = req.service_account().map_or("default", |(_, name)| name);
    let group_detail = if req.group.is_empty() {
        fill(t, S, "group-core", &vars, &[])
    } else {
        fill(t, S, "group-named", &vars, &[("group", req.group)])
    };
    let scope = match req.namespace {
        Some(ns) => fill(t, S, "scope-namespace", &vars, &[("scope_namespace", ns)]),
        None => fill(t, S, "scope-cluster", &vars, &[]),
    };
    let facts = [
        ("user", req.user),
        ("verb", req.verb),
        ("resource", req.resource),
        ("service_account", sa),
        ("line", line),
        ("group_detail", group_detail.as_str()),
        ("scope", scope.as_str()),
    ];
    let mut cmd_vars = vars.clone();
    cmd_vars.extend(facts.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Some(diagnosis(
        s,
        ReasonKind::Other,
        StageKind::Running,
        (
            fill(t, S, "title", &vars, &facts),
            fill(t, S, "explanation", &vars, &facts),
            commands(t, S, &cmd_vars),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::diagnose;
    use crate::diagnose::workload::{WorkloadSymptom, diagnose_workload};
    use crate::pipeline::build_pipeline;
    use k8s_openapi::api::core::v1::{Event, Pod};
    use serde_json::json;

    fn refused(message: &str) -> Diagnosis {
        diagnose_workload(&WorkloadSymptom {
            namespace: "kq-sec",
            kind: "ReplicaSet",
            name: "web-7c5ddbdf54",
            owner: Some(("Deployment", "web")),
            reason: "FailedCreate",
            message: Some(message),
            ..WorkloadSymptom::default()
        })
    }

    fn has(d: &Diagnosis, needles: &[&str]) {
        for n in needles {
            assert!(d.explanation.contains(n), "{n:?} in {}", d.explanation);
        }
    }

    #[test]
    fn an_exhausted_quota_names_the_quota_and_the_three_amounts() {
        let msg = "Error creating: pods \"web-7c5ddbdf54-x2b9k\" is forbidden: exceeded quota: \
                   compute, requested: requests.cpu=500m, used: requests.cpu=1, limited: \
                   requests.cpu=1";
        let d = refused(msg);
        assert_eq!(d.kind, ReasonKind::FailedCreate);
        has(
            &d,
            &[
                msg,
                "The ResourceQuota `compute` is used up: this pod would add requests.cpu=500m \
                 to the requests.cpu=1 already in use, over the limit of requests.cpu=1.",
            ],
        );
        assert_eq!(
            d.commands.last().map(String::as_str),
            Some("kubectl describe resourcequota -n kq-sec")
        );
    }

    #[test]
    fn a_quota_that_needs_limits_names_what_the_template_lacks() {
        let msg = "Error creating: pods \"web-7c5ddbdf54-x2b9k\" is forbidden: failed quota: \
                   compute: must specify limits.cpu for: web; limits.memory for: web";
        assert_eq!(
            read_refusal(msg),
            Refusal::QuotaMustSpecify {
                quota: "compute",
                missing: "limits.cpu for: web; limits.memory for: web"
            }
        );
        has(
            &refused(msg),
            &[
                "The ResourceQuota `compute` limits compute resources",
                "does not set \
               limits.cpu for: web; limits.memory for: web.",
            ],
        );
    }

    #[test]
    fn pod_security_names_the_enforced_level_and_each_violation() {
        let violations = "allowPrivilegeEscalation != false (container \"nginx\" must set \
            securityContext.allowPrivilegeEscalation=false), unrestricted capabilities \
            (container \"nginx\" must set securityContext.capabilities.drop=[\"ALL\"]), \
            runAsNonRoot != true (pod or container \"nginx\" must set \
            securityContext.runAsNonRoot=true), seccompProfile (pod or container \"nginx\" must \
            set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";
        let msg = format!(
            "Error creating: pods \"web-7c5ddbdf54-x2b9k\" is forbidden: violates PodSecurity \
             \"restricted:latest\": {violations}"
        );
        let d = refused(&msg);
        has(
            &d,
            &[
                "enforces the Pod Security level `restricted:latest`",
                &format!("the pod template breaks it: {violations}."),
                "only warns when the ReplicaSet itself is created",
            ],
        );
        assert_eq!(
            d.commands.last().map(String::as_str),
            Some("kubectl get namespace kq-sec --show-labels")
        );
    }

    #[test]
    fn a_limit_range_refusal_quotes_the_limit_rangers_rule() {
        let msg = "Error creating: pods \"web-7c5ddbdf54-x2b9k\" is forbidden: maximum cpu usage \
                   per Container is 500m, but limit is 1";
        let d = refused(msg);
        has(
            &d,
            &["the template breaks it: maximum cpu usage per Container is 500m, but limit is 1."],
        );
        assert_eq!(
            d.commands.last().map(String::as_str),
            Some("kubectl describe limitrange -n kq-sec")
        );
    }

    #[test]
    fn a_missing_service_account_is_named() {
        let msg = "Error creating: pods \"web-7c5ddbdf54-\" is forbidden: error looking up \
                   service account kq-sec/reporter: serviceaccount \"reporter\" not found";
        assert_eq!(
            read_refusal(msg),
            Refusal::ServiceAccount { name: "reporter" }
        );
        has(
            &refused(msg),
            &["runs as the ServiceAccount `reporter` (`serviceAccountName`), which does not exist"],
        );
        assert_eq!(
            read_refusal("Error creating: the server was busy"),
            Refusal::Other
        );
    }

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).expect("pod fixture")
    }

    fn now() -> jiff::Timestamp {
        "2026-01-01T00:01:00Z".parse().expect("timestamp")
    }

    /// As the kubelet reports it (`pkg/kubelet/kuberuntime/kuberuntime_container.go` puts the
    /// verifyRunAsNonRoot error in the waiting state of a CreateContainerConfigError).
    #[test]
    fn run_as_non_root_with_a_root_image_is_explained_at_the_create_stage() {
        let p = pod(json!({
            "metadata": {"name": "web", "namespace": "kq-nonroot", "uid": "u1",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "kq-node", "securityContext": {"runAsNonRoot": true},
                     "containers": [{"name": "web", "image": "nginx:1.27"}]},
            "status": {"phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{"name": "web", "image": "nginx:1.27", "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": "CreateContainerConfigError",
                        "message": "container has runAsNonRoot and image will run as root (pod: \"web_kq-nonroot(u1)\", container: web)"}}}]}
        }));
        let pipe = build_pipeline(&p, &[], now());
        let d = pipe.diagnosis.expect("a stuck pod is diagnosed");
        assert_eq!(d.kind, ReasonKind::CreateContainerConfigError);
        assert_eq!(d.stage, StageKind::ContainerCreated);
        assert_eq!(
            d.title,
            "The container must not run as root, and its image would"
        );
        has(
            &d,
            &[
                "The container `web` is not created",
                "`runAsNonRoot: true`",
                "(`container has runAsNonRoot and image will run as root (pod: \
                 \"web_kq-nonroot(u1)\", container: web)`)",
                "Set `runAsUser` to a non-zero id",
            ],
        );
        assert_eq!(
            d.commands,
            [
                "kubectl describe pod web -n kq-nonroot",
                "kubectl get pod web -n kq-nonroot -o jsonpath='{.spec.securityContext} \
                 {.spec.containers[*].securityContext}'",
            ]
        );
        // A missing ConfigMap keeps its own explanation.
        let s = Symptom {
            namespace: "kq-nonroot",
            pod: "web",
            container: Some("web"),
            reason: "CreateContainerConfigError",
            message: Some("configmap \"app\" not found"),
            ..Symptom::default()
        };
        assert!(diagnose(&s).explanation.contains("ConfigMap or Secret"));
    }

    fn pending_on_claims(message: &str) -> Pod {
        pod(json!({
            "metadata": {"name": "db", "namespace": "kq-pvc", "uid": "u2",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "db", "image": "postgres:16"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]},
            "status": {"phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "False",
                    "reason": "Unschedulable", "message": message}]}
        }))
    }

    #[test]
    fn a_pod_pending_on_an_unbound_claim_quotes_the_claims_own_event() {
        let msg = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. \
                   preemption: 0/1 nodes are available: 1 Preemption is not helpful for \
                   scheduling.";
        let claim_event: Event = serde_json::from_value(json!({
            "metadata": {"name": "data.17", "namespace": "kq-pvc"},
            "involvedObject": {"kind": "PersistentVolumeClaim", "namespace": "kq-pvc",
                               "name": "data", "apiVersion": "v1"},
            "type": "Warning", "reason": "ProvisioningFailed",
            "message": "storageclass.storage.k8s.io \"fast\" not found",
            "source": {"component": "persistentvolume-controller"},
            "count": 3, "lastTimestamp": "2026-01-01T00:00:30Z"
        }))
        .expect("event fixture");
        let pipe = build_pipeline(&pending_on_claims(msg), &[claim_event], now());
        let d = pipe.diagnosis.expect("diagnosed");
        assert_eq!(d.kind, ReasonKind::Unschedulable);
        assert_eq!(d.stage, StageKind::Scheduled);
        assert_eq!(d.title, "The pod waits for its PersistentVolumeClaim");
        has(
            &d,
            &[
                "(`pod has unbound immediate PersistentVolumeClaims`)",
                "The claim's own events say: `storageclass.storage.k8s.io \"fast\" not found`. \
                 It asks for the StorageClass `fast`, which the cluster does not have.",
                "delete the claim and create it again",
            ],
        );
        assert_eq!(
            d.commands,
            [
                "kubectl describe pod db -n kq-pvc",
                "kubectl get pvc -n kq-pvc",
                "kubectl describe pvc -n kq-pvc",
                "kubectl get storageclass",
            ]
        );
        assert!(
            d.fit_error.is_some(),
            "the scheduler's message stays parsed"
        );

        let no_class: Event = serde_json::from_value(json!({
            "metadata": {"name": "data.18", "namespace": "kq-pvc"},
            "involvedObject": {"kind": "PersistentVolumeClaim", "namespace": "kq-pvc",
                               "name": "data"},
            "type": "Normal", "reason": "FailedBinding",
            "message": "no persistent volumes available for this claim and no storage class is set",
            "count": 5, "lastTimestamp": "2026-01-01T00:00:40Z"
        }))
        .expect("event fixture");
        let d = build_pipeline(&pending_on_claims(msg), &[no_class], now())
            .diagnosis
            .expect("diagnosed");
        has(
            &d,
            &[
                "It names no StorageClass, the cluster has no default class to fill in, and no \
               PersistentVolume matches it.",
            ],
        );
    }

    #[test]
    fn a_pod_naming_a_missing_claim_says_which() {
        let msg = "0/1 nodes are available: persistentvolumeclaim \"data\" not found. \
                   preemption: 0/1 nodes are available: 1 Preemption is not helpful for \
                   scheduling.";
        let d = build_pipeline(&pending_on_claims(msg), &[], now())
            .diagnosis
            .expect("diagnosed");
        has(
            &d,
            &["Its `volumes` name the claim `data`, which does not exist in the namespace."],
        );
        assert!(
            !d.explanation.contains("own events"),
            "no claim event, no quote"
        );
        // Other scheduling failures keep the scheduler's own section.
        let cpu = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are \
                   available: 1 No preemption victims found for incoming pod..";
        let d = build_pipeline(&pending_on_claims(cpu), &[], now())
            .diagnosis
            .expect("diagnosed");
        assert_eq!(d.title, "No node can run this pod");
    }

    #[test]
    fn a_mount_failure_on_an_unbound_claim_is_about_the_claim() {
        let s = Symptom {
            namespace: "kq-pvc",
            pod: "db",
            reason: "FailedMount",
            event_message: Some(
                "Unable to attach or mount volumes: unmounted volumes=[data], unattached \
                 volumes=[data], failed to process volumes=[data]: error processing PVC \
                 kq-pvc/data: PVC is not bound",
            ),
            ..Symptom::default()
        };
        let d = diagnose(&s);
        assert_eq!(d.kind, ReasonKind::FailedMount);
        assert_eq!(d.title, "The pod's claim cannot be mounted");
        has(
            &d,
            &["error processing PVC kq-pvc/data: PVC is not bound`)"],
        );
    }

    #[test]
    fn a_forbidden_line_in_the_log_names_the_service_account_and_the_missing_permission() {
        let log = "starting reporter\n\
                   E0101 00:00:03 reflector.go:147] failed to list *v1.Pod: pods is forbidden: \
                   User \"system:serviceaccount:kq-rbac:reporter\" cannot list resource \"pods\" \
                   in API group \"\" in the namespace \"kq-rbac\"\n";
        let s = Symptom {
            namespace: "kq-rbac",
            pod: "reporter-5f7d8",
            container: Some("reporter"),
            reason: "Forbidden",
            ..Symptom::default()
        };
        let d = diagnose_forbidden_log(&s, log).expect("the log holds a Forbidden line");
        assert_eq!(d.title, "The app is not allowed to list pods");
        assert_eq!(d.stage, StageKind::Running);
        has(
            &d,
            &[
                "calls the Kubernetes API as system:serviceaccount:kq-rbac:reporter",
                "the permission to list `pods` in the namespace `kq-rbac`.",
            ],
        );
        assert_eq!(
            d.commands,
            [
                "kubectl logs reporter-5f7d8 -n kq-rbac",
                "kubectl auth can-i list pods -n kq-rbac \
                 --as=system:serviceaccount:kq-rbac:reporter",
                "kubectl get rolebindings,roles -n kq-rbac -o wide",
            ]
        );
        let cluster = read_forbidden(
            "nodes is forbidden: User \"system:serviceaccount:kq-rbac:reporter\" cannot list \
             resource \"nodes\" in API group \"\" at the cluster scope",
        )
        .expect("cluster scope");
        assert_eq!(cluster.namespace, None);
        assert_eq!(
            read_forbidden(
                "deployments.apps is forbidden: User \"alice\" cannot get resource \
                 \"deployments\" in API group \"apps\" in the namespace \"dev\""
            )
            .map(|r| (r.group, r.service_account().is_none())),
            Some(("apps", true))
        );
        assert!(diagnose_forbidden_log(&s, "all good\n").is_none());
    }
}

//! The `PodSecurity` admission plug-in: a namespace's `pod-security.kubernetes.io/*` labels
//! choose a Pod Security Standards level per mode, and pods are refused (`enforce`) or
//! created with a `Warning:` (`warn`) when they miss it (Kubernetes:
//! `staging/src/k8s.io/pod-security-admission/admission/admission.go`, `api/helpers.go`, and the
//! in-tree wrapper `plugin/pkg/admission/security/podsecurity/admission.go`).
//!
//! * Namespaces: bad label values are refused as Invalid on create, and on update when they
//!   changed; tightening `enforce` answers with warnings naming the existing pods that would
//!   now be refused, grouped by identical reasons.
//! * Pods: `enforce` refuses with `violates PodSecurity "<level>:<version>": ...`; otherwise
//!   `warn` adds `would violate PodSecurity ...`. Updates are re-checked only when something
//!   the checks read can change on a running pod (images, seccomp annotations, containers
//!   added), as `isSignificantPodUpdate` decides.
//! * Pod templates (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
//!   ReplicationController, PodTemplate) only ever warn: the controller's pods are the ones
//!   refused, which a learner finds in the owner's `FailedCreate` events.
//!
//! The cluster's defaults are kubeadm's: every mode `privileged:latest`, no exemptions, and
//! `kube-system` is not special unless labelled. Audit annotations are not kept, since the
//! embedded cluster writes no audit log.

mod checks;

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use kq_kube::validation::FieldError;
use serde_json::Value;

use super::{Attributes, Plugin};
use crate::error::{Error, Result};
use crate::kinds::{self, typed};

pub use checks::{LATEST_MINOR, Level};

const ENFORCE_LEVEL: &str = "pod-security.kubernetes.io/enforce";
const ENFORCE_VERSION: &str = "pod-security.kubernetes.io/enforce-version";
const AUDIT_LEVEL: &str = "pod-security.kubernetes.io/audit";
const AUDIT_VERSION: &str = "pod-security.kubernetes.io/audit-version";
const WARN_LEVEL: &str = "pod-security.kubernetes.io/warn";
const WARN_VERSION: &str = "pod-security.kubernetes.io/warn-version";

/// A level at a policy version (`restricted:latest`, `baseline:v1.25`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    /// The level.
    pub level: Level,
    /// The minor of `v1.x`, or `None` for `latest`.
    pub minor: Option<u32>,
}

impl LevelVersion {
    const PRIVILEGED_LATEST: LevelVersion = LevelVersion {
        level: Level::Privileged,
        minor: None,
    };

    fn evaluate(
        &self,
        meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
        spec: &k8s_openapi::api::core::v1::PodSpec,
    ) -> Vec<checks::Violation> {
        checks::evaluate(self.level, self.minor.unwrap_or(LATEST_MINOR), meta, spec)
    }
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minor {
            None => write!(f, "{}:latest", self.level.as_str()),
            Some(m) => write!(f, "{}:v1.{m}", self.level.as_str()),
        }
    }
}

/// What a namespace's labels ask for in each mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Violations are refused.
    pub enforce: LevelVersion,
    /// Violations would be recorded in the audit log.
    pub audit: LevelVersion,
    /// Violations are returned as warnings.
    pub warn: LevelVersion,
}

/// `ParseLevel`: an unknown level counts as `restricted` (fail closed) and is an error.
fn parse_level(s: &str) -> (Level, Option<&'static str>) {
    match s {
        "privileged" => (Level::Privileged, None),
        "baseline" => (Level::Baseline, None),
        "restricted" => (Level::Restricted, None),
        _ => (
            Level::Restricted,
            Some("must be one of privileged, baseline, restricted"),
        ),
    }
}

/// `ParseVersion`: `latest` or `v1.<minor>` without leading zeros; anything else counts as
/// `latest` and is an error.
fn parse_version(s: &str) -> (Option<u32>, Option<&'static str>) {
    const BAD: &str = "must be \"latest\" or \"v1.x\"";
    if s == "latest" {
        return (None, None);
    }
    let Some(minor) = s.strip_prefix("v1.") else {
        return (None, Some(BAD));
    };
    let well_formed = minor == "0"
        || (!minor.is_empty()
            && !minor.starts_with('0')
            && minor.bytes().all(|b| b.is_ascii_digit()));
    match minor.parse::<u32>() {
        Ok(m) if well_formed => (Some(m), None),
        _ => (None, Some(BAD)),
    }
}

/// `PolicyToEvaluate` with kubeadm's defaults (`privileged:latest` everywhere): the policy and
/// the label errors, in label order (enforce, audit, warn; level before version).
pub fn policy_to_evaluate(labels: &BTreeMap<String, String>) -> (Policy, Vec<FieldError>) {
    let mut p = Policy {
        enforce: LevelVersion::PRIVILEGED_LATEST,
        audit: LevelVersion::PRIVILEGED_LATEST,
        warn: LevelVersion::PRIVILEGED_LATEST,
    };
    let mut errs = Vec::new();
    let mut read = |lv: &mut LevelVersion, level_key: &str, version_key: &str| {
        if let Some(v) = labels.get(level_key) {
            let (level, err) = parse_level(v);
            lv.level = level;
            if let Some(e) = err {
                errs.push(FieldError::invalid(
                    format!("metadata.labels[{level_key}]"),
                    v,
                    e,
                ));
            }
        }
        if let Some(v) = labels.get(version_key) {
            let (minor, err) = parse_version(v);
            lv.minor = minor;
            if let Some(e) = err {
                errs.push(FieldError::invalid(
                    format!("metadata.labels[{version_key}]"),
                    v,
                    e,
                ));
            }
        }
    };
    read(&mut p.enforce, ENFORCE_LEVEL, ENFORCE_VERSION);
    read(&mut p.audit, AUDIT_LEVEL, AUDIT_VERSION);
    read(&mut p.warn, WARN_LEVEL, WARN_VERSION);
    // An explicit enforce level stricter than warn also warns, so a pod template (which is
    // only ever warned about) tells the learner its pods will be refused.
    let enforce_set = labels.get(ENFORCE_LEVEL).is_some_and(|v| !v.is_empty());
    if !labels.contains_key(WARN_LEVEL) && enforce_set && p.enforce.level > p.warn.level {
        p.warn.level = p.enforce.level;
        if !labels.contains_key(WARN_VERSION)
            && labels.get(ENFORCE_VERSION).is_some_and(|v| !v.is_empty())
        {
            p.warn.minor = p.enforce.minor;
        }
    }
    (p, errs)
}

fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

/// `reason (detail), ...` (`ForbiddenDetail`).
fn forbidden_detail(v: &[checks::Violation]) -> String {
    v.iter()
        .map(|x| {
            if x.detail.is_empty() {
                x.reason.clone()
            } else {
                format!("{} ({})", x.reason, x.detail)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `reason, ...` (`ForbiddenReason`), what the namespace warnings list per pod.
fn forbidden_reason(v: &[checks::Violation]) -> String {
    v.iter()
        .map(|x| x.reason.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pod template of a pod controller, by its resource; `None` for other resources.
fn template_pointer(group: &str, plural: &str) -> Option<&'static str> {
    match (group, plural) {
        ("", "podtemplates") => Some("/template"),
        ("", "replicationcontrollers")
        | ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
        | ("batch", "jobs") => Some("/spec/template"),
        ("batch", "cronjobs") => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// The `PodSecurity` plug-in.
pub struct PodSecurity;

impl PodSecurity {
    /// The policy of the request's namespace; `None` when it does not exist (the
    /// NamespaceLifecycle plug-in has refused such a request already).
    fn namespace_policy(a: &Attributes<'_>) -> Option<(Policy, bool)> {
        let ns = a.store.get_raw(&kinds::namespace::KIND, "", a.namespace)?;
        let (policy, errs) = policy_to_evaluate(&labels_of(&ns));
        Some((policy, errs.is_empty()))
    }

    fn validate_namespace(
        a: &Attributes<'_>,
        new: &Value,
        old: Option<&Value>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        if !a.subresource.is_empty() {
            return Ok(());
        }
        let (new_policy, new_errs) = policy_to_evaluate(&labels_of(new));
        let invalid = |errs: Vec<FieldError>| Error::Invalid {
            group: String::new(),
            kind: "Namespace".into(),
            name: a.name.to_string(),
            causes: errs,
        };
        let Some(old) = old else {
            return if new_errs.is_empty() {
                Ok(())
            } else {
                Err(invalid(new_errs))
            };
        };
        let (old_policy, old_errs) = policy_to_evaluate(&labels_of(old));
        // Labels that were already wrong do not block unrelated edits of the namespace.
        if !new_errs.is_empty() && new_errs != old_errs {
            return Err(invalid(new_errs));
        }
        let (new_e, old_e) = (new_policy.enforce, old_policy.enforce);
        if new_e == old_e
            || new_e.level == Level::Privileged
            || (new_e.minor == old_e.minor && new_e.level <= old_e.level)
        {
            return Ok(());
        }
        warnings.extend(existing_pod_warnings(a, new_e));
        Ok(())
    }

    fn validate_pod(
        a: &Attributes<'_>,
        obj: &Value,
        old: Option<&Value>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        // Writes of status, bindings and the like cannot change what the checks read.
        if !a.subresource.is_empty() {
            return Ok(());
        }
        let Some((policy, valid)) = Self::namespace_policy(a) else {
            return Ok(());
        };
        if valid
            && policy.enforce.level == Level::Privileged
            && policy.warn.level == Level::Privileged
            && policy.audit.level == Level::Privileged
        {
            return Ok(());
        }
        let pod: Pod = typed(obj);
        if let Some(old) = old
            && !significant_pod_update(&pod, &typed(old))
        {
            return Ok(());
        }
        let meta = &pod.metadata;
        let spec = pod.spec.unwrap_or_default();
        let enforced = policy.enforce.evaluate(meta, &spec);
        if !enforced.is_empty() {
            return Err(Error::Forbidden {
                group: a.kind.group.into(),
                resource: a.kind.plural.into(),
                name: a.name.to_string(),
                reason: format!(
                    "violates PodSecurity \"{}\": {}",
                    policy.enforce,
                    forbidden_detail(&enforced)
                ),
            });
        }
        let warned = policy.warn.evaluate(meta, &spec);
        if !warned.is_empty() {
            warnings.push(format!(
                "would violate PodSecurity \"{}\": {}",
                policy.warn,
                forbidden_detail(&warned)
            ));
        }
        Ok(())
    }

    fn validate_controller(
        a: &Attributes<'_>,
        pointer: &str,
        obj: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        if !a.subresource.is_empty() {
            return Ok(());
        }
        let Some((policy, valid)) = Self::namespace_policy(a) else {
            return Ok(());
        };
        if valid
            && policy.warn.level == Level::Privileged
            && policy.audit.level == Level::Privileged
        {
            return Ok(());
        }
        let Some(template) = obj.pointer(pointer) else {
            return Ok(());
        };
        let t: PodTemplateSpec = typed(template);
        let meta = t.metadata.unwrap_or_default();
        let spec = t.spec.unwrap_or_default();
        let warned = policy.warn.evaluate(&meta, &spec);
        if !warned.is_empty() {
            warnings.push(format!(
                "would violate PodSecurity \"{}\": {}",
                policy.warn,
                forbidden_detail(&warned)
            ));
        }
        Ok(())
    }

    fn validate(
        a: &Attributes<'_>,
        obj: &Value,
        old: Option<&Value>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        if a.is("", "namespaces") {
            return Self::validate_namespace(a, obj, old, warnings);
        }
        if a.is("", "pods") {
            return Self::validate_pod(a, obj, old, warnings);
        }
        match template_pointer(a.kind.group, a.kind.plural) {
            Some(p) => Self::validate_controller(a, p, obj, warnings),
            None => Ok(()),
        }
    }
}

impl Plugin for PodSecurity {
    fn name(&self) -> &'static str {
        "PodSecurity"
    }

    fn validate_create(
        &self,
        a: &Attributes<'_>,
        obj: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        Self::validate(a, obj, None, warnings)
    }

    fn validate_update(
        &self,
        a: &Attributes<'_>,
        new: &Value,
        old: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        Self::validate(a, new, Some(old), warnings)
    }
}

/// The check of a write to a pod's `ephemeralcontainers` subresource (`kubectl debug`), which
/// kube-apiserver admits like any pod update: a new ephemeral container is significant, so
/// the whole pod is evaluated. Returns the warnings.
pub(crate) fn validate_ephemeral_update(
    store: &crate::store::Store,
    ns: &str,
    name: &str,
    new: &Value,
    old: &Value,
) -> Result<Vec<String>> {
    let attrs = Attributes {
        kind: &kinds::pod::KIND,
        namespace: ns,
        name,
        subresource: "",
        store,
        dry_run: false,
    };
    let mut warnings = Vec::new();
    PodSecurity::validate_pod(&attrs, new, Some(old), &mut warnings)?;
    Ok(warnings)
}

/// The warnings for tightening a namespace's enforce level (`EvaluatePodsInNamespace`): a
/// header, then one line per distinct set of reasons, named by its lexically first pod and
/// how many others share it, in sorted order.
fn existing_pod_warnings(a: &Attributes<'_>, enforce: LevelVersion) -> Vec<String> {
    let ns = a.name;
    // Reasons → (first pod name, count), in first-seen order.
    let mut groups: Vec<(String, String, usize)> = Vec::new();
    for raw in a.store.list_raw(&kinds::pod::KIND, Some(ns)) {
        let pod: Pod = typed(&raw);
        let spec = pod.spec.clone().unwrap_or_default();
        let v = enforce.evaluate(&pod.metadata, &spec);
        if v.is_empty() {
            continue;
        }
        let reason = forbidden_reason(&v);
        let name = pod.metadata.name.unwrap_or_default();
        match groups.iter_mut().find(|g| g.0 == reason) {
            Some(g) => {
                if name < g.1 {
                    g.1 = name;
                }
                g.2 += 1;
            }
            None => groups.push((reason, name, 1)),
        }
    }
    if groups.is_empty() {
        return Vec::new();
    }
    let mut lines: Vec<String> = groups
        .into_iter()
        .map(|(reason, name, count)| match count {
            1 => format!("{name}: {reason}"),
            2 => format!("{name} (and 1 other pod): {reason}"),
            n => format!("{name} (and {} other pods): {reason}", n - 1),
        })
        .collect();
    lines.sort();
    let mut out = vec![format!(
        "existing pods in namespace \"{ns}\" violate the new PodSecurity enforce level \"{enforce}\""
    )];
    out.extend(lines);
    out
}

/// `isSignificantPodUpdate`: only fields a running pod can change and the checks read —
/// images (which select a different user), seccomp annotations and ephemeral containers.
fn significant_pod_update(new: &Pod, old: &Pod) -> bool {
    const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const SECCOMP_CONTAINER: &str = "container.seccomp.security.alpha.kubernetes.io/";
    let ann = |p: &Pod, k: &str| {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(k).cloned())
            .unwrap_or_default()
    };
    if ann(new, SECCOMP_POD) != ann(old, SECCOMP_POD) {
        return true;
    }
    let (Some(ns), Some(os)) = (new.spec.as_ref(), old.spec.as_ref()) else {
        return new.spec.is_some() != old.spec.is_some();
    };
    let container_changed = |name: &str, image: &Option<String>, old_image: &Option<String>| {
        let key = format!("{SECCOMP_CONTAINER}{name}");
        image != old_image || ann(new, &key) != ann(old, &key)
    };
    let inits = (
        ns.init_containers.as_deref().unwrap_or_default(),
        os.init_containers.as_deref().unwrap_or_default(),
    );
    if ns.containers.len() != os.containers.len() || inits.0.len() != inits.1.len() {
        return true;
    }
    let pairs = ns
        .containers
        .iter()
        .zip(&os.containers)
        .chain(inits.0.iter().zip(inits.1));
    for (c, o) in pairs {
        if container_changed(&c.name, &c.image, &o.image) {
            return true;
        }
    }
    let old_eph = os.ephemeral_containers.as_deref().unwrap_or_default();
    for c in ns.ephemeral_containers.iter().flatten() {
        match old_eph.iter().find(|o| o.name == c.name) {
            None => return true,
            Some(o) if container_changed(&c.name, &c.image, &o.image) => return true,
            Some(_) => {}
        }
    }
    false
}

#[cfg(test)]
mod tests;

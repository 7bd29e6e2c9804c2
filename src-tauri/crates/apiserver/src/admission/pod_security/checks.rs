//! The Pod Security Standards' checks, each with the reason and detail texts the
//! `PodSecurity` plug-in prints (Kubernetes: `staging/src/k8s.io/pod-security-admission/policy/
//! check_*.go`, `registry.go`, `visitor.go`, `helpers.go`).
//!
//! A level is evaluated as its checks in a fixed order: the baseline checks sorted by ID, then
//! (for `restricted`) the restricted ones sorted by ID. A restricted check that replaces a
//! baseline twin (capabilities, seccomp, volumes) drops the twin at the versions where it
//! applies, so a learner sees one line per concern. Each check applies from the policy
//! version where it was introduced, so `restricted:v1.21` does not ask for `drop: ["ALL"]`.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ContainerPort, PodSpec, SecurityContext};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The newest policy version this server knows (`latest` is evaluated as this minor).
pub const LATEST_MINOR: u32 = 33;

/// A Pod Security Standards level, least to most restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No checks.
    Privileged,
    /// Known privilege escalations are refused.
    Baseline,
    /// Hardening best practice on top of baseline.
    Restricted,
}

impl Level {
    /// The label value (`baseline`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// One failed check: `reason (detail)` in the admission message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The short reason, e.g. `runAsNonRoot != true`.
    pub reason: String,
    /// What to change, e.g. `pod or container "nginx" must set securityContext.runAsNonRoot=true`.
    pub detail: String,
}

type CheckFn = fn(&ObjectMeta, &PodSpec) -> Option<Violation>;

/// One implementation of a check, used from `min_minor` until the next one.
struct Versioned {
    min_minor: u32,
    check: CheckFn,
    /// Baseline checks this one replaces at the restricted level.
    overrides: &'static [&'static str],
}

struct Check {
    id: &'static str,
    level: Level,
    /// Oldest first.
    versions: &'static [Versioned],
}

const fn v(min_minor: u32, check: CheckFn) -> Versioned {
    Versioned {
        min_minor,
        check,
        overrides: &[],
    }
}

/// Every check, baseline then restricted, each group sorted by ID (byte order, as Go sorts).
static CHECKS: &[Check] = &[
    Check {
        id: "appArmorProfile",
        level: Level::Baseline,
        versions: &[v(0, app_armor_profile)],
    },
    Check {
        id: "capabilities_baseline",
        level: Level::Baseline,
        versions: &[v(0, capabilities_baseline)],
    },
    Check {
        id: "hostNamespaces",
        level: Level::Baseline,
        versions: &[v(0, host_namespaces)],
    },
    Check {
        id: "hostPathVolumes",
        level: Level::Baseline,
        versions: &[v(0, host_path_volumes)],
    },
    Check {
        id: "hostPorts",
        level: Level::Baseline,
        versions: &[v(0, host_ports)],
    },
    Check {
        id: "privileged",
        level: Level::Baseline,
        versions: &[v(0, privileged)],
    },
    Check {
        id: "procMount",
        level: Level::Baseline,
        versions: &[v(0, proc_mount)],
    },
    Check {
        id: "seLinuxOptions",
        level: Level::Baseline,
        versions: &[v(0, se_linux_options)],
    },
    Check {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        versions: &[v(0, seccomp_baseline_annotations), v(19, seccomp_baseline)],
    },
    Check {
        id: "sysctls",
        level: Level::Baseline,
        versions: &[v(0, sysctls)],
    },
    Check {
        id: "windowsHostProcess",
        level: Level::Baseline,
        versions: &[v(0, windows_host_process)],
    },
    Check {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        versions: &[
            v(8, allow_privilege_escalation),
            v(25, allow_privilege_escalation_linux),
        ],
    },
    Check {
        id: "capabilities_restricted",
        level: Level::Restricted,
        versions: &[
            Versioned {
                min_minor: 22,
                check: capabilities_restricted,
                overrides: &["capabilities_baseline"],
            },
            Versioned {
                min_minor: 25,
                check: capabilities_restricted_linux,
                overrides: &["capabilities_baseline"],
            },
        ],
    },
    Check {
        id: "restrictedVolumes",
        level: Level::Restricted,
        versions: &[Versioned {
            min_minor: 0,
            check: restricted_volumes,
            overrides: &["hostPathVolumes"],
        }],
    },
    Check {
        id: "runAsNonRoot",
        level: Level::Restricted,
        versions: &[v(0, run_as_non_root)],
    },
    Check {
        id: "runAsUser",
        level: Level::Restricted,
        versions: &[v(23, run_as_user)],
    },
    Check {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        versions: &[
            Versioned {
                min_minor: 19,
                check: seccomp_restricted,
                overrides: &["seccompProfile_baseline"],
            },
            Versioned {
                min_minor: 25,
                check: seccomp_restricted_linux,
                overrides: &["seccompProfile_baseline"],
            },
        ],
    },
];

/// The implementation of `check` in force at policy version `1.minor`, if any.
fn at(check: &Check, minor: u32) -> Option<&Versioned> {
    check.versions.iter().rev().find(|v| v.min_minor <= minor)
}

/// Evaluate a pod (or a pod template's metadata and spec) against `level` at version
/// `1.minor` (`latest` is [`LATEST_MINOR`]); the failures in message order.
pub fn evaluate(level: Level, minor: u32, meta: &ObjectMeta, spec: &PodSpec) -> Vec<Violation> {
    if level == Level::Privileged {
        return Vec::new();
    }
    let minor = minor.min(LATEST_MINOR);
    let overridden: BTreeSet<&str> = if level == Level::Restricted {
        CHECKS
            .iter()
            .filter(|c| c.level == Level::Restricted)
            .filter_map(|c| at(c, minor))
            .flat_map(|v| v.overrides.iter().copied())
            .collect()
    } else {
        BTreeSet::new()
    };
    CHECKS
        .iter()
        .filter(|c| c.level <= level && !overridden.contains(c.id))
        .filter_map(|c| at(c, minor))
        .filter_map(|v| (v.check)(meta, spec))
        .collect()
}

/// What the checks read of a container, ephemeral containers included.
struct Ctr<'a> {
    name: &'a str,
    sc: Option<&'a SecurityContext>,
    ports: &'a [ContainerPort],
}

/// Init containers, then containers, then ephemeral containers (`visitContainers`).
fn containers(spec: &PodSpec) -> Vec<Ctr<'_>> {
    let mut out = Vec::new();
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        out.push(Ctr {
            name: &c.name,
            sc: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
        });
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        out.push(Ctr {
            name: &c.name,
            sc: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
        });
    }
    out
}

/// `"a", "b"` (`joinQuote`).
pub fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let inner: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("\"{}\"", inner.join("\", \""))
}

fn plural<'a>(singular: &'a str, plural: &'a str, n: usize) -> &'a str {
    if n == 1 { singular } else { plural }
}

/// `container "a"` / `containers "a", "b"`.
fn named_containers(names: &[&str]) -> String {
    format!(
        "{} {}",
        plural("container", "containers", names.len()),
        join_quote(names)
    )
}

fn fail(reason: impl Into<String>, detail: impl Into<String>) -> Option<Violation> {
    Some(Violation {
        reason: reason.into(),
        detail: detail.into(),
    })
}

/// Go's `%q` for the strings these checks quote (annotation values).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_windows(spec: &PodSpec) -> bool {
    spec.os.as_ref().is_some_and(|os| os.name == "windows")
}

fn annotations(meta: &ObjectMeta) -> impl Iterator<Item = (&String, &String)> {
    meta.annotations.iter().flatten()
}

// ---- baseline ----

const APPARMOR_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn app_armor_profile(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let allowed_type = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    let mut setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    if let Some(p) = spec
        .security_context
        .as_ref()
        .and_then(|s| s.app_armor_profile.as_ref())
        && !allowed_type(&p.type_)
    {
        setters.push("pod".to_string());
        bad_values.insert(p.type_.clone());
    }
    let mut bad = Vec::new();
    for c in containers(spec) {
        if let Some(p) = c.sc.and_then(|s| s.app_armor_profile.as_ref())
            && !allowed_type(&p.type_)
        {
            bad.push(c.name);
            bad_values.insert(p.type_.clone());
        }
    }
    if !bad.is_empty() {
        setters.push(named_containers(&bad));
    }
    let mut values: Vec<String> = bad_values.into_iter().collect();
    let mut forbidden: Vec<String> = annotations(meta)
        .filter(|(k, v)| {
            k.starts_with(APPARMOR_PREFIX)
                && !(v.is_empty() || *v == "runtime/default" || v.starts_with("localhost/"))
        })
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    if !forbidden.is_empty() {
        forbidden.sort();
        setters.push(plural("annotation", "annotations", forbidden.len()).to_string());
        values.extend(forbidden);
    }
    if setters.is_empty() {
        return None;
    }
    fail(
        plural(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        ),
        format!(
            "{} must not set AppArmor profile type to {}",
            setters.join(" and "),
            join_quote(&values)
        ),
    )
}

const CAPABILITIES_ALLOWED: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut caps = BTreeSet::new();
    for c in containers(spec) {
        let Some(add) =
            c.sc.and_then(|s| s.capabilities.as_ref())
                .and_then(|k| k.add.as_ref())
        else {
            continue;
        };
        let mut valid = true;
        for cap in add {
            if !CAPABILITIES_ALLOWED.contains(&cap.as_str()) {
                valid = false;
                caps.insert(cap.as_str());
            }
        }
        if !valid {
            bad.push(c.name);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let caps: Vec<&str> = caps.into_iter().collect();
    fail(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            named_containers(&bad),
            join_quote(&caps)
        ),
    )
}

fn host_namespaces(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    // Sorted, as Go's string set lists them.
    let mut found = Vec::new();
    if spec.host_ipc == Some(true) {
        found.push("hostIPC");
    }
    if spec.host_network == Some(true) {
        found.push("hostNetwork");
    }
    if spec.host_pid == Some(true) {
        found.push("hostPID");
    }
    if found.is_empty() {
        return None;
    }
    fail("host namespaces", found.join(", "))
}

fn host_path_volumes(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let names: Vec<&str> = spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.host_path.is_some())
        .map(|v| v.name.as_str())
        .collect();
    if names.is_empty() {
        return None;
    }
    fail(
        "hostPath volumes",
        format!(
            "{} {}",
            plural("volume", "volumes", names.len()),
            join_quote(&names)
        ),
    )
}

fn host_ports(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad = Vec::new();
    // A set of strings: "10000" sorts before "8080", as in Go.
    let mut ports = BTreeSet::new();
    for c in containers(spec) {
        let mut valid = true;
        for p in c.ports {
            if let Some(hp) = p.host_port.filter(|hp| *hp != 0) {
                valid = false;
                ports.insert(hp.to_string());
            }
        }
        if !valid {
            bad.push(c.name);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let ports: Vec<String> = ports.into_iter().collect();
    fail(
        "hostPort",
        format!(
            "{} {} {} {}",
            named_containers(&bad),
            plural("uses", "use", bad.len()),
            plural("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
    )
}

fn privileged(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let bad: Vec<&str> = containers(spec)
        .into_iter()
        .filter(|c| c.sc.and_then(|s| s.privileged) == Some(true))
        .map(|c| c.name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    fail(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            named_containers(&bad)
        ),
    )
}

fn proc_mount(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for c in containers(spec) {
        if let Some(pm) = c.sc.and_then(|s| s.proc_mount.as_deref())
            && pm != "Default"
        {
            bad.push(c.name);
            types.insert(pm);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let types: Vec<&str> = types.into_iter().collect();
    fail(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            named_containers(&bad),
            join_quote(&types)
        ),
    )
}

fn se_linux_options(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    const ALLOWED_TYPES: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |o: &k8s_openapi::api::core::v1::SELinuxOptions| {
        let mut ok = true;
        let t = o.type_.clone().unwrap_or_default();
        if !ALLOWED_TYPES.contains(&t.as_str()) {
            ok = false;
            bad_types.insert(t);
        }
        if o.user.as_deref().is_some_and(|u| !u.is_empty()) {
            ok = false;
            set_user = true;
        }
        if o.role.as_deref().is_some_and(|r| !r.is_empty()) {
            ok = false;
            set_role = true;
        }
        ok
    };
    let mut setters = Vec::new();
    if let Some(o) = spec
        .security_context
        .as_ref()
        .and_then(|s| s.se_linux_options.as_ref())
        && !valid(o)
    {
        setters.push("pod".to_string());
    }
    let mut bad = Vec::new();
    for c in containers(spec) {
        if let Some(o) = c.sc.and_then(|s| s.se_linux_options.as_ref())
            && !valid(o)
        {
            bad.push(c.name);
        }
    }
    if !bad.is_empty() {
        setters.push(named_containers(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    if !bad_types.is_empty() {
        let types: Vec<String> = bad_types.into_iter().collect();
        data.push(format!(
            "{} {}",
            plural("type", "types", types.len()),
            join_quote(&types)
        ));
    }
    if set_user {
        data.push("user may not be set".to_string());
    }
    if set_role {
        data.push("role may not be set".to_string());
    }
    fail(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters.join(" and "),
            data.join("; ")
        ),
    )
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// Policy versions before 1.19 read the seccomp annotations the field replaced.
fn seccomp_baseline_annotations(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let ann = meta.annotations.as_ref();
    let mut forbidden = BTreeSet::new();
    if let Some(v) = ann.and_then(|a| a.get(SECCOMP_POD_ANNOTATION))
        && !valid(v)
    {
        forbidden.insert(format!("{SECCOMP_POD_ANNOTATION}={}", go_quote(v)));
    }
    for c in containers(spec) {
        let key = format!("{SECCOMP_CONTAINER_PREFIX}{}", c.name);
        if let Some(v) = ann.and_then(|a| a.get(&key))
            && !valid(v)
        {
            forbidden.insert(format!("{key}={}", go_quote(v)));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    let list: Vec<String> = forbidden.into_iter().collect();
    fail(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            plural("annotation", "annotations", list.len()),
            list.join(", ")
        ),
    )
}

fn valid_seccomp(t: &str) -> bool {
    t == "RuntimeDefault" || t == "Localhost"
}

/// The seccomp check; `required` (restricted) also asks every container to be covered.
fn seccomp(spec: &PodSpec, required: bool) -> Option<Violation> {
    let mut setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    let mut pod_set = false;
    if let Some(p) = spec
        .security_context
        .as_ref()
        .and_then(|s| s.seccomp_profile.as_ref())
    {
        if valid_seccomp(&p.type_) {
            pod_set = true;
        } else {
            setters.push("pod".to_string());
            bad_values.insert(p.type_.clone());
        }
    }
    let (mut explicit, mut implicit) = (Vec::new(), Vec::new());
    for c in containers(spec) {
        match c.sc.and_then(|s| s.seccomp_profile.as_ref()) {
            Some(p) if !valid_seccomp(&p.type_) => {
                explicit.push(c.name);
                bad_values.insert(p.type_.clone());
            }
            Some(_) => {}
            None if !pod_set => implicit.push(c.name),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(named_containers(&explicit));
    }
    if !setters.is_empty() {
        let values: Vec<String> = bad_values.into_iter().collect();
        return fail(
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters.join(" and "),
                join_quote(&values)
            ),
        );
    }
    if required && !implicit.is_empty() {
        return fail(
            "seccompProfile",
            format!(
                "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                named_containers(&implicit)
            ),
        );
    }
    None
}

fn seccomp_baseline(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    seccomp(spec, false)
}

const SYSCTLS_ALLOWED: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];

fn sysctls(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let bad: Vec<&str> = spec
        .security_context
        .as_ref()
        .and_then(|s| s.sysctls.as_ref())
        .into_iter()
        .flatten()
        .map(|s| s.name.as_str())
        .filter(|n| !SYSCTLS_ALLOWED.contains(n))
        .collect();
    if bad.is_empty() {
        return None;
    }
    fail("forbidden sysctls", bad.join(", "))
}

fn windows_host_process(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let bad: Vec<&str> = containers(spec)
        .into_iter()
        .filter(|c| {
            c.sc.and_then(|s| s.windows_options.as_ref())
                .and_then(|w| w.host_process)
                == Some(true)
        })
        .map(|c| c.name)
        .collect();
    let pod = spec
        .security_context
        .as_ref()
        .and_then(|s| s.windows_options.as_ref())
        .and_then(|w| w.host_process)
        == Some(true);
    let mut setters = Vec::new();
    if pod {
        setters.push("pod".to_string());
    }
    if !bad.is_empty() {
        setters.push(named_containers(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    fail(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters.join(" and ")
        ),
    )
}

// ---- restricted ----

fn allow_privilege_escalation(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let bad: Vec<&str> = containers(spec)
        .into_iter()
        .filter(|c| c.sc.and_then(|s| s.allow_privilege_escalation) != Some(false))
        .map(|c| c.name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    fail(
        "allowPrivilegeEscalation != false",
        format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            named_containers(&bad)
        ),
    )
}

/// From 1.25 a Windows pod (`spec.os.name: windows`) cannot set the Linux-only field, so it
/// is not asked to.
fn allow_privilege_escalation_linux(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    allow_privilege_escalation(meta, spec)
}

fn capabilities_restricted(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let (mut missing_drop, mut adding) = (Vec::new(), Vec::new());
    let mut caps = BTreeSet::new();
    for c in containers(spec) {
        let Some(k) = c.sc.and_then(|s| s.capabilities.as_ref()) else {
            missing_drop.push(c.name);
            continue;
        };
        if !k.drop.iter().flatten().any(|d| d == "ALL") {
            missing_drop.push(c.name);
        }
        let mut added = false;
        for cap in k.add.iter().flatten() {
            if cap != "NET_BIND_SERVICE" {
                added = true;
                caps.insert(cap.as_str());
            }
        }
        if added {
            adding.push(c.name);
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            named_containers(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        let caps: Vec<&str> = caps.into_iter().collect();
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            named_containers(&adding),
            join_quote(&caps)
        ));
    }
    if details.is_empty() {
        return None;
    }
    fail("unrestricted capabilities", details.join("; "))
}

fn capabilities_restricted_linux(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    capabilities_restricted(meta, spec)
}

fn restricted_volumes(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut names = Vec::new();
    let mut types = BTreeSet::new();
    for v in spec.volumes.iter().flatten() {
        if v.config_map.is_some()
            || v.csi.is_some()
            || v.downward_api.is_some()
            || v.empty_dir.is_some()
            || v.ephemeral.is_some()
            || v.persistent_volume_claim.is_some()
            || v.projected.is_some()
            || v.secret.is_some()
        {
            continue;
        }
        names.push(v.name.as_str());
        let t = [
            (v.host_path.is_some(), "hostPath"),
            (v.gce_persistent_disk.is_some(), "gcePersistentDisk"),
            (v.aws_elastic_block_store.is_some(), "awsElasticBlockStore"),
            (v.git_repo.is_some(), "gitRepo"),
            (v.nfs.is_some(), "nfs"),
            (v.iscsi.is_some(), "iscsi"),
            (v.glusterfs.is_some(), "glusterfs"),
            (v.rbd.is_some(), "rbd"),
            (v.flex_volume.is_some(), "flexVolume"),
            (v.cinder.is_some(), "cinder"),
            (v.cephfs.is_some(), "cephfs"),
            (v.flocker.is_some(), "flocker"),
            (v.fc.is_some(), "fc"),
            (v.azure_file.is_some(), "azureFile"),
            (v.vsphere_volume.is_some(), "vsphereVolume"),
            (v.quobyte.is_some(), "quobyte"),
            (v.azure_disk.is_some(), "azureDisk"),
            (v.photon_persistent_disk.is_some(), "photonPersistentDisk"),
            (v.portworx_volume.is_some(), "portworxVolume"),
            (v.scale_io.is_some(), "scaleIO"),
            (v.storageos.is_some(), "storageos"),
        ]
        .into_iter()
        .find(|(set, _)| *set)
        .map_or("unknown", |(_, name)| name);
        types.insert(t);
    }
    if names.is_empty() {
        return None;
    }
    let types: Vec<&str> = types.into_iter().collect();
    fail(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            plural("volume", "volumes", names.len()),
            join_quote(&names),
            plural("uses", "use", names.len()),
            plural(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&types)
        ),
    )
}

fn run_as_non_root(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut setters = Vec::new();
    let mut pod_non_root = false;
    match spec
        .security_context
        .as_ref()
        .and_then(|s| s.run_as_non_root)
    {
        Some(false) => setters.push("pod".to_string()),
        Some(true) => pod_non_root = true,
        None => {}
    }
    let (mut explicit, mut implicit) = (Vec::new(), Vec::new());
    for c in containers(spec) {
        match c.sc.and_then(|s| s.run_as_non_root) {
            Some(false) => explicit.push(c.name),
            Some(true) => {}
            None if !pod_non_root => implicit.push(c.name),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(named_containers(&explicit));
    }
    if !setters.is_empty() {
        return fail(
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters.join(" and ")
            ),
        );
    }
    if !implicit.is_empty() {
        return fail(
            "runAsNonRoot != true",
            format!(
                "pod or {} must set securityContext.runAsNonRoot=true",
                named_containers(&implicit)
            ),
        );
    }
    None
}

fn run_as_user(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    let mut setters = Vec::new();
    if spec.security_context.as_ref().and_then(|s| s.run_as_user) == Some(0) {
        setters.push("pod".to_string());
    }
    let bad: Vec<&str> = containers(spec)
        .into_iter()
        .filter(|c| c.sc.and_then(|s| s.run_as_user) == Some(0))
        .map(|c| c.name)
        .collect();
    if !bad.is_empty() {
        setters.push(named_containers(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    fail(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", setters.join(" and ")),
    )
}

fn seccomp_restricted(_: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    seccomp(spec, true)
}

fn seccomp_restricted_linux(meta: &ObjectMeta, spec: &PodSpec) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    seccomp_restricted(meta, spec)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn spec(v: Value) -> PodSpec {
        serde_json::from_value(v).expect("a valid pod spec")
    }

    fn details(level: Level, minor: u32, meta: &ObjectMeta, v: Value) -> Vec<String> {
        evaluate(level, minor, meta, &spec(v))
            .into_iter()
            .map(|x| format!("{} ({})", x.reason, x.detail))
            .collect()
    }

    fn latest(level: Level, v: Value) -> Vec<String> {
        details(level, LATEST_MINOR, &ObjectMeta::default(), v)
    }

    #[test]
    fn a_plain_nginx_fails_four_restricted_checks_in_order() {
        let got = latest(
            Level::Restricted,
            json!({"containers": [{"name": "nginx", "image": "nginx"}]}),
        );
        assert_eq!(
            got,
            [
                "allowPrivilegeEscalation != false (container \"nginx\" must set securityContext.allowPrivilegeEscalation=false)",
                "unrestricted capabilities (container \"nginx\" must set securityContext.capabilities.drop=[\"ALL\"])",
                "runAsNonRoot != true (pod or container \"nginx\" must set securityContext.runAsNonRoot=true)",
                "seccompProfile (pod or container \"nginx\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
            ]
        );
        assert!(
            latest(
                Level::Baseline,
                json!({"containers": [{"name": "nginx", "image": "nginx"}]})
            )
            .is_empty(),
            "a plain pod meets baseline"
        );
    }

    #[test]
    fn a_compliant_pod_passes_restricted() {
        let got = latest(
            Level::Restricted,
            json!({
                "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "app", "image": "x", "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}],
                "volumes": [{"name": "d", "emptyDir": {}}]
            }),
        );
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn baseline_texts_pluralise_and_quote() {
        let got = latest(
            Level::Baseline,
            json!({
                "hostNetwork": true, "hostPID": true,
                "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
                "containers": [
                    {"name": "a", "securityContext": {"privileged": true, "capabilities": {"add": ["SYS_ADMIN", "CHOWN"]},
                        "procMount": "Unmasked", "seLinuxOptions": {"type": "spc_t", "user": "u"}},
                     "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 10000}]},
                    {"name": "b", "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN"]}}}
                ],
                "volumes": [{"name": "h1", "hostPath": {"path": "/"}}, {"name": "h2", "hostPath": {"path": "/etc"}}]
            }),
        );
        assert_eq!(
            got,
            [
                "non-default capabilities (containers \"a\", \"b\" must not include \"NET_ADMIN\", \"SYS_ADMIN\" in securityContext.capabilities.add)",
                "host namespaces (hostNetwork, hostPID)",
                "hostPath volumes (volumes \"h1\", \"h2\")",
                "hostPort (container \"a\" uses hostPorts 10000, 8080)",
                "privileged (containers \"a\", \"b\" must not set securityContext.privileged=true)",
                "procMount (container \"a\" must not set securityContext.procMount to \"Unmasked\")",
                "seLinuxOptions (container \"a\" set forbidden securityContext.seLinuxOptions: type \"spc_t\"; user may not be set)",
                "forbidden sysctls (kernel.msgmax)",
            ]
        );
    }

    #[test]
    fn restricted_twins_replace_baseline_checks() {
        let got = latest(
            Level::Restricted,
            json!({
                "securityContext": {"runAsNonRoot": false, "runAsUser": 0, "seccompProfile": {"type": "Unconfined"}},
                "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"], "add": ["SYS_TIME"]}, "runAsNonRoot": false}}],
                "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "n", "nfs": {"server": "s", "path": "/"}}]
            }),
        );
        assert_eq!(
            got,
            [
                "unrestricted capabilities (container \"c\" must not include \"SYS_TIME\" in securityContext.capabilities.add)",
                "restricted volume types (volumes \"h\", \"n\" use restricted volume types \"hostPath\", \"nfs\")",
                "runAsNonRoot != true (pod and container \"c\" must not set securityContext.runAsNonRoot=false)",
                "runAsUser=0 (pod must not set runAsUser=0)",
                "seccompProfile (pod must not set securityContext.seccompProfile.type to \"Unconfined\")",
            ]
        );
    }

    #[test]
    fn older_policy_versions_apply_the_checks_of_their_time() {
        let nginx = json!({"containers": [{"name": "nginx", "securityContext": {"runAsUser": 0}}]});
        let v21 = details(Level::Restricted, 21, &ObjectMeta::default(), nginx.clone());
        assert!(
            !v21.iter()
                .any(|d| d.starts_with("unrestricted capabilities")),
            "drop ALL is asked from 1.22: {v21:?}"
        );
        assert!(
            !v21.iter().any(|d| d.starts_with("runAsUser=0")),
            "runAsUser=0 is refused from 1.23: {v21:?}"
        );
        let v18 = details(Level::Restricted, 18, &ObjectMeta::default(), nginx);
        assert!(
            !v18.iter().any(|d| d.starts_with("seccompProfile")),
            "{v18:?}"
        );
        let meta = ObjectMeta {
            annotations: Some(
                [(
                    "seccomp.security.alpha.kubernetes.io/pod".to_string(),
                    "unconfined".to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        };
        let v18 = details(
            Level::Baseline,
            18,
            &meta,
            json!({"containers": [{"name": "c"}]}),
        );
        assert_eq!(
            v18,
            [
                "seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")"
            ]
        );
    }

    #[test]
    fn apparmor_and_host_process_name_their_setters() {
        let meta = ObjectMeta {
            annotations: Some(
                [(
                    "container.apparmor.security.beta.kubernetes.io/c".to_string(),
                    "unconfined".to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        };
        let got = details(
            Level::Baseline,
            LATEST_MINOR,
            &meta,
            json!({
                "securityContext": {"appArmorProfile": {"type": "Unconfined"}, "windowsOptions": {"hostProcess": true}},
                "containers": [{"name": "c"}]
            }),
        );
        assert_eq!(
            got,
            [
                "forbidden AppArmor profiles (pod and annotation must not set AppArmor profile type to \"Unconfined\", \"container.apparmor.security.beta.kubernetes.io/c=\"unconfined\"\")",
                "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)",
            ]
        );
    }

    #[test]
    fn init_and_ephemeral_containers_are_checked_too() {
        let got = latest(
            Level::Baseline,
            json!({
                "initContainers": [{"name": "init", "securityContext": {"privileged": true}}],
                "containers": [{"name": "app"}],
                "ephemeralContainers": [{"name": "debug", "securityContext": {"privileged": true}}]
            }),
        );
        assert_eq!(
            got,
            [
                "privileged (containers \"init\", \"debug\" must not set securityContext.privileged=true)"
            ]
        );
    }
}

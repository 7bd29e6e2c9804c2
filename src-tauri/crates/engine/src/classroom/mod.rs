//! The classroom: one cluster (the teacher's embedded class server, or a real one) shared by a
//! whole class, each learner in namespaces of their own, and a live view of who is stuck where.
//!
//! # What a class is on the cluster
//!
//! A teacher [`prepare`]s a class from a [`Roster`] (`names.txt`) and the catalog's missions
//! ([`ClassPlan`]). Everything lives under names KubeQuest chooses and carries
//! `app.kubernetes.io/managed-by=kubequest` and [`CLASS_LABEL`]`=<class>`:
//!
//! - the namespace [`CLASS_NAMESPACE`] (`kq-classroom`) with a ServiceAccount per learner
//!   (`learner-<name>`) and one for the teacher (`teacher`), the `class` ConfigMap (name, end
//!   time, learners, missions in curriculum order) and a `progress-<name>` ConfigMap per learner,
//!   which that learner alone may read and update ([`report_progress`]);
//! - one namespace per learner and mission, [`learner_namespace`] (`kq-<learner>-<mission>`),
//!   where a RoleBinding gives the learner's ServiceAccount the ClusterRole `kubequest:learner`:
//!   everything the missions and kubectl's debugging commands need, in that namespace only;
//! - cluster-wide: `kubequest:learner-cluster` (read nodes, storage classes, volumes; ask "can
//!   I?") bound to every learner, and `kubequest:teacher` (read everything a class view shows,
//!   never Secrets) bound to the teacher ([`rbac`] has every object).
//!
//! Each ServiceAccount gets a token from the TokenRequest API that expires when the class ends,
//! written into `DIR/<learner>.kubeconfig` (mode 0600) with a context extension naming the
//! [`Seat`]; kubectl ignores it, KubeQuest reads it to know it plays in a class. Join codes
//! ([`join`]) let a learner's app fetch that kubeconfig from the embedded class server instead.
//!
//! Prepare is a server-side apply (field manager `kubequest`, forced) of every object, so running
//! it again gives the same cluster and fresh tokens; what an earlier run made for learners or
//! missions no longer in the plan is removed. [`clean`] deletes exactly what carries the labels,
//! and refuses a `kq-classroom` namespace somebody else made.
//!
//! # The live view
//!
//! Learners report their progress into their ConfigMap ([`report_progress`]); the teacher's
//! [`read_class`] reads those and, for each learner on a mission, that namespace's pods the way
//! the learner's session judges them (`session::read::read_namespace`), and renders a table
//! ([`render_table`]) or the class report's CSV and Markdown ([`export_csv`],
//! [`export_markdown`]).

pub mod clean;
pub mod join;
pub mod plan;
pub mod prepare;
pub mod rbac;
pub mod report;
pub mod roster;
pub mod seat;
pub mod server;
pub mod view;

pub use clean::{CleanReport, clean};
pub use join::{format_join_code, join_with_code, new_join_code, normalise_join_code};
pub use plan::ClassPlan;
pub use prepare::{Prepared, prepare, render_kubeconfig, write_kubeconfig};
pub use report::report_progress;
pub use roster::{Roster, RosterProblem};
pub use seat::Seat;
pub use view::{
    ClassLearnerRow, ClassMissionSummary, ClassView, export_csv, export_markdown, read_class,
    render_table,
};

use crate::connect::{ConnectError, classify_kube_error};

/// The namespace holding the class's accounts, its `class` ConfigMap and learners' progress.
pub const CLASS_NAMESPACE: &str = "kq-classroom";
/// The label naming the class an object was made for.
pub const CLASS_LABEL: &str = "kubequest.dev/classroom";
/// The label naming the learner a namespace or account belongs to.
pub const LEARNER_LABEL: &str = "kubequest.dev/learner";
/// The name of the kubeconfig context extension that carries a [`Seat`].
pub const SEAT_EXTENSION: &str = "kubequest.dev/classroom";
/// The class name when the teacher gives none.
pub const DEFAULT_CLASS: &str = "class";
/// The ConfigMap in [`CLASS_NAMESPACE`] describing the class.
pub const CLASS_CONFIGMAP: &str = "class";
/// The teacher's ServiceAccount in [`CLASS_NAMESPACE`].
pub const TEACHER_ACCOUNT: &str = "teacher";
/// The longest learner name: `kq-<learner>-<mission>` must stay a namespace name (63).
pub const MAX_LEARNER_CHARS: usize = 20;
/// Kubernetes' limit on a namespace name (a DNS-1123 label).
pub const MAX_NAMESPACE_CHARS: usize = 63;

/// The namespace a learner plays a mission in: `kq-<learner>-<mission id>`.
pub fn learner_namespace(learner: &str, mission_id: &str) -> String {
    format!("kq-{learner}-{mission_id}")
}

/// The learner's ServiceAccount (and Role, RoleBinding) in [`CLASS_NAMESPACE`].
pub fn learner_account(learner: &str) -> String {
    format!("learner-{learner}")
}

/// The learner's progress ConfigMap in [`CLASS_NAMESPACE`].
pub fn progress_configmap(learner: &str) -> String {
    format!("progress-{learner}")
}

/// Why a class could not be prepared, cleaned, read, reported to or joined. Every message says
/// what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    /// The roster has bad or repeated names (every one is listed, each on its own line).
    #[error("{}", problems.iter().map(|p| format!("{file}:{}: {}", p.line, p.message)).collect::<Vec<_>>().join("\n"))]
    Roster {
        file: String,
        problems: Vec<RosterProblem>,
    },
    /// The roster names nobody.
    #[error(
        "{file}: no learners: write one learner name per line (lines starting with # are ignored)"
    )]
    EmptyRoster { file: String },
    /// The class name cannot be used in Kubernetes names and labels.
    #[error(
        "\"{class}\" is not a valid class name: use at most 40 lower-case letters, digits and \
         '-', starting and ending with a letter or digit (for example monday-group)"
    )]
    BadClassName { class: String },
    /// The class length is not usable for tokens.
    #[error(
        "a class of {hours} hours cannot be prepared: give --hours between 0.25 (15 minutes; \
         Kubernetes' tokens last at least 10) and 168 (one week)"
    )]
    BadHours { hours: String },
    /// A learner's name makes one of their namespace names too long.
    #[error(
        "learner \"{learner}\": the namespace {namespace} for mission {mission} would be {len} \
         characters, more than the 63 Kubernetes allows: shorten the name to at most {fits} \
         characters in the roster"
    )]
    NamespaceTooLong {
        learner: String,
        mission: String,
        namespace: String,
        len: usize,
        fits: usize,
    },
    /// Two learners' namespaces (or one and a mission's own `kq-<id>`) would have one name.
    #[error(
        "learner \"{learner}\": the namespace {namespace} for mission {mission} is also {other}: \
         give the learner another name in the roster"
    )]
    NamespaceClash {
        learner: String,
        mission: String,
        namespace: String,
        other: String,
    },
    /// No mission is left for the class.
    #[error(
        "no mission can be played in this class: {detail}. Check the lessons folder (`kq \
         lessons check`)"
    )]
    NoMissions { detail: String },
    /// A namespace (or another object) KubeQuest would use already exists and is not its own.
    #[error(
        "the {kind} {name} already exists and KubeQuest did not make it (it has no \
         `app.kubernetes.io/managed-by=kubequest` label), so KubeQuest leaves it alone and \
         changed nothing. Remove it yourself if it is no longer needed, or use another cluster"
    )]
    NotOurs { kind: String, name: String },
    /// Another class is already prepared on this cluster (one class per cluster: the class
    /// namespace and the cluster-wide roles have fixed names).
    #[error(
        "the class \"{existing}\" is already prepared on this cluster; a cluster holds one class \
         at a time. Remove it first (`kq classroom clean --class {existing}`), or prepare \
         \"{existing}\" again"
    )]
    OtherClass { existing: String },
    /// There is no class on the cluster (no `class` ConfigMap in `kq-classroom`).
    #[error(
        "there is no class on this cluster ({detail}): the teacher prepares one with `kq \
         classroom prepare` or `kq classroom serve`"
    )]
    NoClass { detail: String },
    /// A cluster request failed.
    #[error("{doing}: {source}")]
    Cluster {
        doing: String,
        #[source]
        source: ConnectError,
    },
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A join code that is not eight Crockford base32 characters.
    #[error(
        "\"{code}\" is not a join code: a code is 8 letters and digits like ABCD-EFGH, as \
         printed on your join card"
    )]
    BadJoinCode { code: String },
    /// The class server address cannot be used.
    #[error(
        "\"{server}\" is not a class server address: type it as on your join card, for example \
         192.168.1.20:6443 or https://192.168.1.20:6443"
    )]
    BadServer { server: String },
    /// The class server did not accept the code (403).
    #[error(
        "the class server at {server} says the code was not recognised or has expired: check \
         it against your join card, or ask your teacher for your code"
    )]
    JoinRefused { server: String },
    /// Nothing answered at the address.
    #[error(
        "no class server at {server} ({detail}): check the address on your join card and that \
         your teacher's class is running and on the same network"
    )]
    NoServer { server: String, detail: String },
    /// Too many bad codes from this machine (429).
    #[error("the class server at {server} refused: too many attempts, wait a minute and try again")]
    TooManyAttempts { server: String },
    /// The class server answered something a class server does not.
    #[error(
        "the class server at {server} gave an answer KubeQuest cannot use ({detail}); ask your \
         teacher for your kubeconfig file instead"
    )]
    JoinFailed { server: String, detail: String },
}

/// Labels every object of `class` carries.
pub(crate) fn class_labels(class: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut labels = serde_json::Map::new();
    labels.insert(
        crate::session::MANAGED_BY_LABEL.into(),
        crate::session::MANAGED_BY_VALUE.into(),
    );
    labels.insert(CLASS_LABEL.into(), class.into());
    labels
}

/// The label selector for every object of `class` (of any class, when `None`).
pub(crate) fn class_selector(class: Option<&str>) -> String {
    let mut s = format!(
        "{}={}",
        crate::session::MANAGED_BY_LABEL,
        crate::session::MANAGED_BY_VALUE
    );
    match class {
        Some(c) => s.push_str(&format!(",{CLASS_LABEL}={c}")),
        None => s.push_str(&format!(",{CLASS_LABEL}")),
    }
    s
}

/// A cluster error while `doing` something.
pub(crate) fn cluster_error(doing: impl Into<String>, e: &kube::Error) -> ClassError {
    ClassError::Cluster {
        doing: doing.into(),
        source: classify_kube_error(e),
    }
}

/// Whether `name` is a DNS-1123 label of at most `max` characters.
pub(crate) fn is_dns_label(name: &str, max: usize) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_namespace_names_learner_and_mission() {
        assert_eq!(
            learner_namespace("ada", "crash-loop-backoff"),
            "kq-ada-crash-loop-backoff"
        );
    }

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("ada-2", 20));
        for bad in ["", "-ada", "ada-", "Ada", "ada lovelace", "a_b", "ä"] {
            assert!(!is_dns_label(bad, 20), "{bad:?} is not a DNS label");
        }
        assert!(!is_dns_label(&"a".repeat(21), 20), "longer than the limit");
    }
}

//! What a class will hold: its name, when it ends, the roster and the missions.
//!
//! Every mission of the catalog is in, in curriculum order, except:
//!
//! - missions that drain a node (an objective of kind `node-drained`, mission 13
//!   `drain-blocked-by-pdb`): the nodes are the whole class's, and one learner's drain would
//!   evict everybody's pods;
//! - on a real cluster, missions that declare cluster-scoped objects (extra nodes): KubeQuest
//!   never creates anything cluster-wide on someone's cluster for a mission. The embedded class
//!   server creates them itself, as the teacher, before learners join.
//!
//! Each left-out mission is listed with why, for the teacher to read.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::{ClassError, MAX_NAMESPACE_CHARS, Roster, is_dns_label, learner_namespace};
use crate::mission::{Catalog, Check, Mission};

/// The longest class name (it goes into label values and kubeconfig context names).
pub const MAX_CLASS_CHARS: usize = 40;
/// The shortest class: TokenRequest refuses tokens shorter than 10 minutes.
pub const MIN_HOURS: f64 = 0.25;
/// The longest class: a week. Tokens live as long as the class, and a class token that never
/// dies would be a credential nobody remembers to revoke.
pub const MAX_HOURS: f64 = 168.0;

/// A class, ready to be prepared.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPlan {
    /// The class name (a DNS label).
    pub class: String,
    /// When the class was planned (its start).
    pub starts_at: Timestamp,
    /// When the class ends: its tokens and join codes stop working then.
    pub ends_at: Timestamp,
    pub roster: Roster,
    /// Mission ids in the class, in curriculum order.
    pub missions: Vec<String>,
    /// Missions of the catalog left out, each with why.
    pub left_out: Vec<(String, String)>,
    /// Each class mission's own namespace labels (Pod Security levels), by mission id:
    /// prepare sets them, since a learner may not change their namespaces.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// Why a mission cannot be in a class, if it cannot.
fn left_out_because(m: &Mission, embedded: bool) -> Option<String> {
    if m.objectives
        .iter()
        .any(|o| matches!(o.check, Check::NodeDrained { .. }))
    {
        return Some(
            "it drains a node, and the nodes are shared by the whole class: one learner's \
             drain would evict everybody's pods"
                .into(),
        );
    }
    if !embedded && m.declares_cluster_scoped() {
        let objects: Vec<String> = m
            .cluster_scoped
            .iter()
            .map(|o| format!("{} {}", o.kind, o.name))
            .collect();
        return Some(format!(
            "it needs cluster-wide objects ({}) that KubeQuest creates only on its own class \
             server (`kq classroom serve`), never on someone's cluster",
            objects.join(", ")
        ));
    }
    None
}

impl ClassPlan {
    /// Plans class `class` for `roster` over `catalog`, lasting `hours` from `now`. `embedded`
    /// is whether the class runs on KubeQuest's own class server (see the module docs).
    pub fn new(
        class: &str,
        roster: Roster,
        catalog: &Catalog,
        hours: f64,
        embedded: bool,
        now: Timestamp,
    ) -> Result<ClassPlan, ClassError> {
        if !is_dns_label(class, MAX_CLASS_CHARS) {
            return Err(ClassError::BadClassName {
                class: class.to_owned(),
            });
        }
        if !hours.is_finite() || !(MIN_HOURS..=MAX_HOURS).contains(&hours) {
            return Err(ClassError::BadHours {
                hours: hours.to_string(),
            });
        }
        let mut missions = Vec::new();
        let mut left_out = Vec::new();
        let mut namespace_labels = BTreeMap::new();
        for m in &catalog.missions {
            match left_out_because(m, embedded) {
                Some(why) => left_out.push((m.summary.id.clone(), why)),
                None => {
                    missions.push(m.summary.id.clone());
                    namespace_labels.insert(m.summary.id.clone(), m.namespace_labels.clone());
                }
            }
        }
        if missions.is_empty() {
            let detail = if catalog.missions.is_empty() {
                "the catalog has no missions".to_owned()
            } else {
                format!("all {} missions were left out", catalog.missions.len())
            };
            return Err(ClassError::NoMissions { detail });
        }
        let longest = missions
            .iter()
            .max_by_key(|m| m.len())
            .cloned()
            .unwrap_or_default();
        for learner in &roster.learners {
            let namespace = learner_namespace(learner, &longest);
            if namespace.len() > MAX_NAMESPACE_CHARS {
                return Err(ClassError::NamespaceTooLong {
                    learner: learner.clone(),
                    mission: longest.clone(),
                    len: namespace.len(),
                    fits: MAX_NAMESPACE_CHARS.saturating_sub(namespace.len() - learner.len()),
                    namespace,
                });
            }
        }
        // `kq-a-b` + `c` and `kq-a` + `b-c` are one name; so is a learner's namespace and a
        // mission's own `kq-<id>` (the teacher's solo play on the same cluster).
        let mut taken: BTreeMap<String, String> = catalog
            .missions
            .iter()
            .map(|m| {
                (
                    m.namespace(),
                    format!(
                        "the namespace of mission {} played on its own",
                        m.summary.id
                    ),
                )
            })
            .collect();
        for learner in &roster.learners {
            for mission in &missions {
                let namespace = learner_namespace(learner, mission);
                if let Some(other) = taken.get(&namespace) {
                    return Err(ClassError::NamespaceClash {
                        learner: learner.clone(),
                        mission: mission.clone(),
                        namespace,
                        other: other.clone(),
                    });
                }
                taken.insert(
                    namespace,
                    format!("learner \"{learner}\"'s namespace for mission {mission}"),
                );
            }
        }
        // Whole milliseconds: the end time is written as RFC 3339 and read back.
        let millis = (hours * 3_600_000.0).round() as i64;
        let ends_at = now
            .checked_add(SignedDuration::from_millis(millis))
            .map_err(|_| ClassError::BadHours {
                hours: hours.to_string(),
            })?;
        Ok(ClassPlan {
            class: class.to_owned(),
            starts_at: now,
            ends_at,
            roster,
            missions,
            left_out,
            namespace_labels,
        })
    }

    /// The class's length in whole seconds (the tokens' `expirationSeconds`).
    pub fn length_seconds(&self) -> i64 {
        self.ends_at.duration_since(self.starts_at).as_secs().max(0)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn lessons() -> Catalog {
        let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../lessons");
        let c = Catalog::load(&[root]);
        assert!(
            c.problems.is_empty(),
            "the shipped lessons load: {:?}",
            c.problems
        );
        c
    }

    fn roster(names: &[&str]) -> Roster {
        Roster {
            learners: names.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    fn now() -> Timestamp {
        "2026-03-02T08:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_class_leaves_out_the_drain_mission_and_keeps_curriculum_order() {
        let catalog = lessons();
        let plan = ClassPlan::new("class", roster(&["ada"]), &catalog, 8.0, true, now()).unwrap();
        assert!(!plan.missions.iter().any(|m| m == "drain-blocked-by-pdb"));
        assert_eq!(
            plan.left_out
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>(),
            ["drain-blocked-by-pdb"],
            "on the class server only the drain mission is left out"
        );
        let all: Vec<String> = catalog
            .missions
            .iter()
            .map(|m| m.summary.id.clone())
            .filter(|id| id != "drain-blocked-by-pdb")
            .collect();
        assert_eq!(plan.missions, all);
        assert_eq!(plan.ends_at.to_string(), "2026-03-02T16:00:00Z");
    }

    #[test]
    fn a_real_cluster_class_leaves_out_missions_with_cluster_wide_objects() {
        let catalog = lessons();
        let plan = ClassPlan::new("class", roster(&["ada"]), &catalog, 8.0, false, now()).unwrap();
        let with_nodes: Vec<&str> = catalog
            .missions
            .iter()
            .filter(|m| m.declares_cluster_scoped())
            .map(|m| m.summary.id.as_str())
            .collect();
        assert!(
            !with_nodes.is_empty(),
            "the curriculum has missions with extra nodes"
        );
        for id in &with_nodes {
            assert!(!plan.missions.iter().any(|m| m == id), "{id} is left out");
            let (_, why) = plan.left_out.iter().find(|(m, _)| m == id).unwrap();
            if *id != "drain-blocked-by-pdb" {
                assert!(why.contains("Node "), "the reason names the object: {why}");
            }
        }
        assert!(plan.missions.iter().any(|m| m == "crash-loop-backoff"));
    }

    #[test]
    fn a_name_too_long_for_the_longest_namespace_is_refused_naming_the_learner() {
        let catalog = lessons();
        // 25 (longest mission id) + 4 ("kq-", "-") + 20 = 49: the roster limit keeps every
        // namespace short enough; a class of longer ids is what the check guards.
        let long = "a".repeat(40);
        let e = ClassPlan::new("class", roster(&["ada", &long]), &catalog, 8.0, true, now())
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("learner \"{long}\": the namespace kq-{long}-")),
            "{text}"
        );
        assert!(
            text.contains(
                "more than the 63 Kubernetes allows: shorten the name to at most 34 characters"
            ),
            "{text}"
        );
    }

    #[test]
    fn two_learners_whose_namespaces_would_share_a_name_are_refused() {
        let catalog = fake_catalog(&["loop-backoff", "crash-loop-backoff"]);
        let solo =
            ClassPlan::new("class", roster(&["crash"]), &catalog, 8.0, true, now()).unwrap_err();
        assert_eq!(
            solo.to_string(),
            "learner \"crash\": the namespace kq-crash-loop-backoff for mission loop-backoff is \
             also the namespace of mission crash-loop-backoff played on its own: give the \
             learner another name in the roster"
        );
        let pair = ClassPlan::new(
            "class",
            roster(&["a-b", "a"]),
            &fake_catalog(&["c", "b-c"]),
            8.0,
            true,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            pair.to_string(),
            "learner \"a\": the namespace kq-a-b-c for mission b-c is also learner \"a-b\"'s \
             namespace for mission c: give the learner another name in the roster"
        );
    }

    /// A catalog of the shipped crash-loop lesson under other ids.
    fn fake_catalog(ids: &[&str]) -> Catalog {
        let base = lessons()
            .missions
            .into_iter()
            .find(|m| m.summary.id == "crash-loop-backoff")
            .unwrap();
        Catalog {
            missions: ids
                .iter()
                .map(|id| {
                    let mut m = base.clone();
                    m.summary.id = (*id).to_owned();
                    m
                })
                .collect(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn class_name_and_hours_are_checked() {
        let catalog = lessons();
        let e =
            ClassPlan::new("Class A", roster(&["ada"]), &catalog, 8.0, true, now()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("\"Class A\" is not a valid class name"),
            "{e}"
        );
        for hours in [0.0, 0.1, 200.0, f64::NAN] {
            let e = ClassPlan::new("class", roster(&["ada"]), &catalog, hours, true, now())
                .unwrap_err();
            assert!(matches!(e, ClassError::BadHours { .. }), "{hours}: {e}");
        }
    }
}

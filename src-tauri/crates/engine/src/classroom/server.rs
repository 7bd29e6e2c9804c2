//! What KubeQuest's own class server holds besides what [`super::prepare`] makes: the
//! cluster-wide objects the class's missions declare (extra nodes), created by the teacher
//! before learners join, a lesson's node copied once per learner so every learner's fixed pod
//! finds room ([`node_copies`]). `kq classroom serve` and the desktop app's Classroom both
//! call [`create_cluster_objects`].

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;

use super::{CLASS_LABEL, ClassError};
use crate::connect::classify_kube_error;
use crate::mission::Mission;

/// A CPU quantity in millicores (`3`, `0.5`, `50m`); `None` for anything else.
fn cpu_millis(q: &str) -> Option<u64> {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        return m.parse().ok();
    }
    let cores: f64 = q.parse().ok()?;
    (cores.is_finite() && cores >= 0.0).then(|| (cores * 1000.0).round() as u64)
}

/// The CPU a class of `learners` places on one copy of `node` (an object with
/// `metadata.labels`) with `mission`'s reference fix: one learner's pods and pod templates
/// whose node selector the node's labels satisfy, plus every learner's DaemonSet pod (a
/// DaemonSet puts one on each copy), their containers' requests added up.
fn cpu_placed(mission: &Mission, node: &serde_json::Value, learners: usize) -> u64 {
    let labels = node
        .pointer("/metadata/labels")
        .and_then(serde_json::Value::as_object);
    let matches = |spec: &serde_json::Value| {
        spec.get("nodeSelector")
            .and_then(serde_json::Value::as_object)
            .is_some_and(|sel| {
                !sel.is_empty()
                    && sel
                        .iter()
                        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            })
    };
    let requests = |spec: &serde_json::Value| -> u64 {
        spec.get("containers")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.pointer("/resources/requests/cpu"))
            .filter_map(|q| match q {
                serde_json::Value::String(s) => cpu_millis(s),
                serde_json::Value::Number(n) => n.as_f64().map(|c| (c * 1000.0) as u64),
                _ => None,
            })
            .sum()
    };
    mission
        .solution
        .iter()
        .filter_map(|m| {
            let spec = if m.kind == "Pod" {
                m.object.get("spec")
            } else {
                m.object.pointer("/spec/template/spec")
            }?;
            let times = if m.kind == "DaemonSet" {
                learners.max(1) as u64
            } else {
                1
            };
            matches(spec).then(|| requests(spec) * times)
        })
        .sum()
}

/// `batch-1` → `batch-2`, `batch-3`, …; `gpu` → `gpu-2`, `gpu-3`, ….
fn copy_name(name: &str, k: usize) -> String {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() < name.len() && stem.ends_with('-') {
        format!("{stem}{k}")
    } else {
        format!("{name}-{k}")
    }
}

/// Headroom left on a learner's copy of a mission node beyond what the reference fix places
/// there, for the learner's own experiments.
const NODE_HEADROOM_MILLIS: u64 = 1000;

/// The class server's copies of a node a mission declares: one per learner (the first keeps
/// the lesson's name, which the hints use; the others count on from it), each with the
/// lesson's labels and taints, so every learner's fixed pod finds room at once. A copy
/// without taints holds what the class's fixes place on it ([`cpu_placed`]: one learner's
/// pods, everyone's DaemonSet pods) plus [`NODE_HEADROOM_MILLIS`],
/// never more than the lesson declares: a roomy untainted node would take any learner's pod,
/// and the pending-cpu mission's 6-CPU pod would run there at once, solved by nobody.
fn node_copies(
    mission: &Mission,
    node: &serde_json::Value,
    learners: usize,
) -> Vec<serde_json::Value> {
    let name = node
        .pointer("/metadata/name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let tainted = node
        .pointer("/spec/taints")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|t| !t.is_empty());
    let declared = node
        .pointer("/metadata/annotations/kubequest.dev~1cpu")
        .and_then(serde_json::Value::as_str)
        .and_then(cpu_millis);
    let placed = cpu_placed(mission, node, learners);
    let cpu = match declared {
        Some(d) if !tainted && placed > 0 => Some(d.min(placed + NODE_HEADROOM_MILLIS)),
        _ => None,
    };
    (1..=learners.max(1))
        .map(|k| {
            let mut copy = node.clone();
            if k > 1 {
                copy["metadata"]["name"] = serde_json::json!(copy_name(name, k));
            }
            if let Some(c) = cpu {
                copy["metadata"]["annotations"]["kubequest.dev/cpu"] =
                    serde_json::json!(format!("{c}m"));
            }
            copy
        })
        .collect()
}

/// Creates the cluster-wide objects the class's missions declare (extra nodes, see
/// [`node_copies`]) through `admin`, the teacher's, labelled KubeQuest's and the class's as a
/// session labels them: learners' starts only check that they exist. Tells `say` each one.
pub async fn create_cluster_objects(
    admin: &kube::Client,
    class: &str,
    missions: &[&Mission],
    learners: usize,
    say: &mut (dyn FnMut(&str) + Send),
) -> Result<(), ClassError> {
    for mission in missions {
        for m in mission.manifests.iter().filter(|m| m.is_cluster_scoped()) {
            let (group, version) = m
                .api_version
                .split_once('/')
                .unwrap_or(("", &m.api_version));
            let gvk = GroupVersionKind::gvk(group, version, &m.kind);
            let (resource, _) = kube::discovery::pinned_kind(admin, &gvk)
                .await
                .map_err(|e| {
                    super::cluster_error(format!("finding {} on the class server", m.kind), &e)
                })?;
            let api: Api<DynamicObject> = Api::all_with(admin.clone(), &resource);
            let bodies = if m.kind == "Node" {
                node_copies(mission, &m.object, learners)
            } else {
                vec![m.object.clone()]
            };
            let count = bodies.len();
            for mut body in bodies {
                body["metadata"]["labels"][crate::session::MANAGED_BY_LABEL] =
                    serde_json::json!(crate::session::MANAGED_BY_VALUE);
                body["metadata"]["labels"][CLASS_LABEL] = serde_json::json!(class);
                let name = body["metadata"]["name"]
                    .as_str()
                    .unwrap_or(&m.name)
                    .to_owned();
                api.patch(
                    &name,
                    &PatchParams::apply(crate::session::FIELD_MANAGER).force(),
                    &Patch::Apply(&body),
                )
                .await
                .map_err(|e| ClassError::Cluster {
                    doing: format!(
                        "{}:{}: creating {} {name} for {} on the class server",
                        m.file.display(),
                        m.line,
                        m.kind,
                        mission.summary.id
                    ),
                    source: classify_kube_error(&e),
                })?;
            }
            let copies = if count > 1 {
                format!(" and {} copies of it, one per learner", count - 1)
            } else {
                String::new()
            };
            say(&format!(
                "created {} {}{copies} for {}",
                m.kind.to_ascii_lowercase(),
                m.name,
                mission.summary.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::mission::Catalog;

    #[test]
    fn copies_of_mission_nodes_are_numbered_on_from_the_lessons_name() {
        assert_eq!(copy_name("batch-1", 2), "batch-2");
        assert_eq!(copy_name("fast-1", 12), "fast-12");
        assert_eq!(copy_name("gpu", 2), "gpu-2");
        assert_eq!(copy_name("node7", 2), "node7-2");
        assert_eq!(cpu_millis("3"), Some(3000));
        assert_eq!(cpu_millis("50m"), Some(50));
        assert_eq!(cpu_millis("0.5"), Some(500));
        assert_eq!(cpu_millis("lots"), None);
    }

    #[test]
    fn every_learner_gets_a_copy_of_a_lessons_node_and_untainted_ones_cannot_take_the_pending_cpu_pod()
     {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../lessons");
        let catalog = Catalog::load(&[root]);
        let worker = catalog.get("pending-insufficient-cpu").expect("mission 03");
        let worker_cpu: u64 = worker
            .manifests
            .iter()
            .filter_map(|m| {
                m.object
                    .pointer("/spec/containers/0/resources/requests/cpu")
            })
            .filter_map(|q| q.as_str().and_then(cpu_millis))
            .sum();
        assert!(worker_cpu > 2000, "the worker fits no default node");
        for id in ["node-selector-mismatch", "untolerated-taint"] {
            let m = catalog.get(id).expect("the mission");
            let node = m
                .manifests
                .iter()
                .find(|x| x.kind == "Node")
                .expect("a declared node");
            let copies = node_copies(m, &node.object, 30);
            let names: Vec<&str> = copies
                .iter()
                .map(|c| c["metadata"]["name"].as_str().unwrap())
                .collect();
            assert_eq!(names.len(), 30, "{names:?}");
            assert_eq!(names[0], node.name, "the hints name the lesson's node");
            for c in &copies {
                assert_eq!(c["metadata"]["labels"], node.object["metadata"]["labels"]);
                assert_eq!(c["spec"], node.object["spec"]);
                let cpu = c["metadata"]["annotations"]["kubequest.dev/cpu"]
                    .as_str()
                    .and_then(cpu_millis)
                    .unwrap();
                let tainted = c["spec"]["taints"]
                    .as_array()
                    .is_some_and(|t| !t.is_empty());
                let fix = cpu_placed(m, c, 30);
                assert!(
                    fix > 0 && cpu >= fix,
                    "{id}: room for the fix ({fix}m on {cpu}m)"
                );
                assert!(
                    tainted || cpu < worker_cpu,
                    "{id}: an untainted copy of {cpu}m would take the pending-cpu pod"
                );
            }
        }
    }
}

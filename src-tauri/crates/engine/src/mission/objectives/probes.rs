//! The `container-probe` check: a container is still watched by the probe a mission is about.
//!
//! | kind | fields | passes when |
//! |---|---|---|
//! | `container-probe` | `pod`, `probe` (`liveness`, `readiness`, `startup`), `container?` | the pod exists, is not being deleted, and the named container (or every container) has that probe in its spec |
//!
//! A probe that asks the wrong thing and no probe at all both stop a health-check mission's
//! symptom: a pod with no liveness probe is never restarted, one with no readiness probe is
//! Ready as soon as it starts. Only the first is a fix, so a lesson about a probe keeps it
//! with this check. It looks at presence only: what the probe asks is the learner's to get
//! right, and the pod's readiness and restarts already judge that. The reason when it is not
//! met names the container and the missing probe, never what the probe should ask.

use k8s_openapi::api::core::v1::{Container, Probe};
use serde::{Deserialize, Serialize};

use super::{Check, ObjectiveStatus, Snapshot, containers, live_pod, met, not_met};

type Outcome = Result<(ObjectiveStatus, String), (ObjectiveStatus, String)>;

/// Which of a container's probes (`livenessProbe`, `readinessProbe`, `startupProbe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl ProbeKind {
    const ALL: [ProbeKind; 3] = [
        ProbeKind::Liveness,
        ProbeKind::Readiness,
        ProbeKind::Startup,
    ];

    /// As a lesson writes it: `liveness`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Startup => "startup",
        }
    }

    /// The container's probe of this kind, if its spec has one.
    fn of(self, c: &Container) -> Option<&Probe> {
        match self {
            ProbeKind::Liveness => c.liveness_probe.as_ref(),
            ProbeKind::Readiness => c.readiness_probe.as_ref(),
            ProbeKind::Startup => c.startup_probe.as_ref(),
        }
    }
}

impl std::fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProbeKind {
    /// Refuses anything but the three kinds, saying which field of the pod spec each one is,
    /// so `livenessProbe` or `liveliness` is caught when the lesson loads.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ProbeKind, D::Error> {
        let text = String::deserialize(d)?;
        ProbeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a probe: use `liveness`, `readiness` or `startup` (the \
                     container's `livenessProbe`, `readinessProbe` or `startupProbe`)"
                ))
            })
    }
}

/// Evaluates `container-probe`.
pub(super) fn evaluate(check: &Check, snap: &Snapshot<'_>) -> Outcome {
    let Check::ContainerProbe {
        pod,
        probe,
        container,
    } = check
    else {
        return Ok(not_met("not a probe check".into()));
    };
    let p = live_pod(snap, pod)?;
    let cs = containers(p, pod, container.as_deref())?;
    if cs.is_empty() {
        return Ok(not_met(format!("{pod} has no containers")));
    }
    if let Some(c) = cs.iter().find(|c| probe.of(c).is_none()) {
        return Ok(not_met(format!("{pod}/{} has no {probe} probe", c.name)));
    }
    let names: Vec<&str> = cs.iter().map(|c| c.name.as_str()).collect();
    Ok(met(format!(
        "{pod}/{} {} a {probe} probe",
        names.join(", "),
        if names.len() == 1 { "has" } else { "each have" }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::format::parse_front_matter;
    use jiff::Timestamp;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    /// `storefront` with a `web` container (with the given probes) and a `sidecar` with none.
    fn storefront(web_probes: serde_json::Value, deleting: bool) -> Pod {
        let mut web = json!({"name": "web", "image": "nginx:1.27"});
        for (k, v) in web_probes.as_object().expect("probes are an object") {
            web[k] = v.clone();
        }
        let mut meta = json!({"name": "storefront"});
        if deleting {
            meta["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        }
        serde_json::from_value(json!({
            "metadata": meta,
            "spec": {"containers": [web, {"name": "sidecar", "image": "busybox:1.36"}]}
        }))
        .expect("a valid pod")
    }

    fn liveness() -> serde_json::Value {
        json!({"livenessProbe": {"httpGet": {"path": "/", "port": "http"}}})
    }

    fn eval(check: &str, pods: &[Pod]) -> (ObjectiveStatus, String) {
        let check: Check = serde_yaml_ng::from_str(check).expect("a valid check");
        let snap = Snapshot {
            pods,
            events: &[],
            now: Timestamp::UNIX_EPOCH,
        };
        evaluate(&check, &snap).unwrap_or_else(|e| e)
    }

    const WEB_LIVENESS: &str = "{ kind: container-probe, pod: storefront, container: web, \
                                probe: liveness }";

    #[test]
    fn passes_while_the_container_keeps_its_probe() {
        assert_eq!(
            eval(WEB_LIVENESS, &[storefront(liveness(), false)]),
            (
                ObjectiveStatus::Met,
                "storefront/web has a liveness probe".to_string()
            )
        );
        assert_eq!(
            Check::ContainerProbe {
                pod: "storefront".into(),
                probe: ProbeKind::Liveness,
                container: Some("web".into()),
            }
            .subject(),
            ("Pod", "storefront"),
            "the pod is the object the check is about"
        );
    }

    #[test]
    fn a_removed_probe_is_no_fix_and_the_reason_names_it_without_the_fix() {
        let (status, reason) = eval(WEB_LIVENESS, &[storefront(json!({}), false)]);
        assert_eq!(
            (status, reason.as_str()),
            (
                ObjectiveStatus::NotMet,
                "storefront/web has no liveness probe"
            )
        );
        let readiness_only = storefront(
            json!({"readinessProbe": {"httpGet": {"path": "/", "port": 80}}}),
            false,
        );
        assert_eq!(
            eval(WEB_LIVENESS, &[readiness_only]).1,
            "storefront/web has no liveness probe",
            "another kind of probe is not the one asked for"
        );
        let every = "{ kind: container-probe, pod: storefront, probe: liveness }";
        assert_eq!(
            eval(every, &[storefront(liveness(), false)]),
            (
                ObjectiveStatus::NotMet,
                "storefront/sidecar has no liveness probe".to_string()
            ),
            "without `container`, every container must have the probe"
        );
    }

    #[test]
    fn a_missing_container_or_pod_does_not_pass() {
        let other = "{ kind: container-probe, pod: storefront, container: app, \
                     probe: readiness }";
        assert_eq!(
            eval(other, &[storefront(liveness(), false)]),
            (
                ObjectiveStatus::NotMet,
                "storefront has no container named app".to_string()
            )
        );
        assert_eq!(
            eval(WEB_LIVENESS, &[]),
            (
                ObjectiveStatus::NotMet,
                "there is no pod named storefront (deleting it is not a fix)".to_string()
            )
        );
        assert_eq!(
            eval(WEB_LIVENESS, &[storefront(liveness(), true)]),
            (
                ObjectiveStatus::NotMet,
                "storefront is being deleted".to_string()
            )
        );
    }

    #[test]
    fn a_bad_probe_value_is_refused_at_its_line_and_says_why() {
        let front = "format: 1\nid: x\ntitle: X\norder: 1\nstage: run\ndifficulty: beginner\n\
                     objectives:\n\
                     \x20 - id: ok\n    title: Fine\n    check: { kind: container-probe, pod: web, probe: startup }\n\
                     \x20 - id: typo\n    title: Typo\n    check: { kind: container-probe, pod: web, probe: livenessProbe }\n\
                     \x20 - id: none\n    title: None\n    check: { kind: container-probe, pod: web }\n\
                     hints: [a, b, c]\n";
        let f = parse_front_matter(front);
        let seen: Vec<(usize, Option<&str>, &str)> = f
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_deref(), p.message.as_str()))
            .collect();
        assert_eq!(
            seen.len(),
            2,
            "both bad objectives, and only they: {seen:#?}"
        );
        assert_eq!(seen[0].0, 13, "at the line of its `check:`");
        assert_eq!(seen[0].1, Some("objectives[1].check"));
        assert!(
            seen[0].2.contains("`livenessProbe` is not a probe")
                && seen[0].2.contains("`liveness`, `readiness` or `startup`"),
            "{}",
            seen[0].2
        );
        assert_eq!(seen[1].0, 16);
        assert!(seen[1].2.contains("missing field `probe`"), "{}", seen[1].2);
    }
}

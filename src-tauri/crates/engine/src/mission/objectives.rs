//! Objectives: typed checks on the *outcome* in the mission namespace.
//!
//! Checks look at a [`Snapshot`] (the namespace's pods and events and the current time), never
//! at how the learner got there: editing the manifest in the app, `kubectl set image` and
//! deleting and re-applying a fixed pod all pass the same way. Bypasses fail on purpose:
//!
//! - every check names its pod, so deleting the pod (or replacing it with a pod of another
//!   name) leaves "there is no pod named …";
//! - a pod that is being deleted does not count;
//! - `container-image` can pin the image repository, so replacing the app with an unrelated
//!   image under the same pod name does not pass either.
//!
//! The checks (`kind:` in the lesson):
//!
//! | kind | fields | passes when |
//! |---|---|---|
//! | `pod-exists` | `pod` | the pod exists and is not being deleted |
//! | `pod-scheduled` | `pod` | the pod is bound to a node |
//! | `pod-ready` | `pod` | the pod exists, is not terminating, phase Running, condition Ready True |
//! | `no-restarts-for` | `pod`, `seconds` | the pod is ready, and has been Ready and every container running without a restart for `seconds` (a restart resets `state.running.startedAt`, so the newest start time bounds the window) |
//! | `image-resolvable` | `pod`, `container?` | no container (or the named one) waits on an image reason, and each has an `imageID` for the image its spec names |
//! | `container-image` | `pod`, `container?`, `not?`, `repository?` | the spec's image is not `not` and (if given) comes from `repository` |
//! | `pod-phase` | `pod`, `phase` | `status.phase` equals `phase` (e.g. `Succeeded` for a batch pod) |

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Container, Event, Pod};
use kq_kube::reference;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::format::Objective;
use crate::pipeline::print_pod;
use crate::stage::ReasonKind;

/// A typed objective check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Check {
    PodExists {
        pod: String,
    },
    PodScheduled {
        pod: String,
    },
    PodReady {
        pod: String,
    },
    NoRestartsFor {
        pod: String,
        seconds: u64,
    },
    ImageResolvable {
        pod: String,
        #[serde(default)]
        container: Option<String>,
    },
    ContainerImage {
        pod: String,
        #[serde(default)]
        container: Option<String>,
        #[serde(default)]
        not: Option<String>,
        #[serde(default)]
        repository: Option<String>,
    },
    PodPhase {
        pod: String,
        phase: String,
    },
}

impl Check {
    /// The pod the check is about.
    pub fn pod(&self) -> &str {
        match self {
            Check::PodExists { pod }
            | Check::PodScheduled { pod }
            | Check::PodReady { pod }
            | Check::NoRestartsFor { pod, .. }
            | Check::ImageResolvable { pod, .. }
            | Check::ContainerImage { pod, .. }
            | Check::PodPhase { pod, .. } => pod,
        }
    }
}

/// The state objectives are evaluated against: the mission namespace at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    pub pods: &'a [Pod],
    pub events: &'a [Event],
    pub now: Timestamp,
}

/// Where one objective stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectiveStatus {
    Met,
    NotMet,
    /// On its way: a timed check is counting (it passes if nothing changes).
    Waiting,
}

/// One objective's result, as the UI ticks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ObjectiveResult {
    pub id: String,
    pub title: String,
    pub status: ObjectiveStatus,
    /// A short reason: `web is Running and Ready`, `there is no pod named web`.
    pub reason: String,
}

fn met(reason: String) -> (ObjectiveStatus, String) {
    (ObjectiveStatus::Met, reason)
}
fn not_met(reason: String) -> (ObjectiveStatus, String) {
    (ObjectiveStatus::NotMet, reason)
}

fn find_pod<'a>(snap: &Snapshot<'a>, name: &str) -> Result<&'a Pod, (ObjectiveStatus, String)> {
    snap.pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| {
            not_met(format!(
                "there is no pod named {name} (deleting it is not a fix)"
            ))
        })
}

fn live_pod<'a>(snap: &Snapshot<'a>, name: &str) -> Result<&'a Pod, (ObjectiveStatus, String)> {
    let pod = find_pod(snap, name)?;
    if pod.metadata.deletion_timestamp.is_some() {
        return Err(not_met(format!("{name} is being deleted")));
    }
    Ok(pod)
}

fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
}

fn ready(pod: &Pod, name: &str) -> Result<(), (ObjectiveStatus, String)> {
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    let row = print_pod(pod);
    if phase != "Running" {
        return Err(not_met(format!(
            "{name} is {} ({} ready)",
            row.status, row.ready
        )));
    }
    if condition(pod, "Ready").is_none_or(|c| c.status != "True") {
        return Err(not_met(format!(
            "{name} is {} but not Ready ({} ready)",
            row.status, row.ready
        )));
    }
    Ok(())
}

fn containers<'a>(
    pod: &'a Pod,
    name: &str,
    only: Option<&str>,
) -> Result<Vec<&'a Container>, (ObjectiveStatus, String)> {
    let all = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().collect())
        .unwrap_or_default();
    match only {
        None => Ok(all),
        Some(c) => all
            .into_iter()
            .find(|x| x.name == c)
            .map(|x| vec![x])
            .ok_or_else(|| not_met(format!("{name} has no container named {c}"))),
    }
}

/// `docker.io/library/nginx` for `nginx:1.25`.
fn repository(image: &str) -> String {
    let full = reference::normalize(image);
    let without_digest = full.split('@').next().unwrap_or(&full);
    let slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[slash..].rfind(':') {
        Some(i) => without_digest[..slash + i].to_owned(),
        None => without_digest.to_owned(),
    }
}

fn evaluate_check(check: &Check, snap: &Snapshot<'_>) -> (ObjectiveStatus, String) {
    let result = (|| -> Result<(ObjectiveStatus, String), (ObjectiveStatus, String)> {
        match check {
            Check::PodExists { pod } => {
                live_pod(snap, pod)?;
                Ok(met(format!("{pod} exists")))
            }
            Check::PodScheduled { pod } => {
                let p = live_pod(snap, pod)?;
                let node = p
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .filter(|n| !n.is_empty());
                match node {
                    Some(n) => Ok(met(format!("{pod} is scheduled on {n}"))),
                    None if condition(p, "PodScheduled").is_some_and(|c| c.status == "True") => {
                        Ok(met(format!("{pod} is scheduled")))
                    }
                    None => Ok(not_met(format!("{pod} is not scheduled on any node yet"))),
                }
            }
            Check::PodReady { pod } => {
                let p = live_pod(snap, pod)?;
                ready(p, pod)?;
                Ok(met(format!("{pod} is Running and Ready")))
            }
            Check::NoRestartsFor { pod, seconds } => {
                let p = live_pod(snap, pod)?;
                ready(p, pod)?;
                let ready_since = condition(p, "Ready")
                    .and_then(|c| c.last_transition_time.as_ref())
                    .map(|t| t.0);
                let statuses = p
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_deref())
                    .unwrap_or_default();
                let mut newest_start = ready_since;
                for cs in statuses {
                    match cs.state.as_ref().and_then(|s| s.running.as_ref()) {
                        Some(r) => {
                            let started = r.started_at.as_ref().map(|t| t.0);
                            newest_start = match (newest_start, started) {
                                (Some(a), Some(b)) => Some(a.max(b)),
                                (a, b) => a.or(b),
                            };
                        }
                        None => {
                            return Ok(not_met(format!(
                                "{pod}: container {} is not running",
                                cs.name
                            )));
                        }
                    }
                }
                let Some(since) = newest_start else {
                    return Ok(not_met(format!("{pod} reports no start time yet")));
                };
                let elapsed = snap.now.duration_since(since);
                let need = SignedDuration::from_secs(i64::try_from(*seconds).unwrap_or(i64::MAX));
                let secs = elapsed.as_secs().max(0);
                if elapsed >= need {
                    Ok(met(format!(
                        "{pod} has been Ready with no restart for {secs}s"
                    )))
                } else {
                    Ok((
                        ObjectiveStatus::Waiting,
                        format!("{pod} has been Ready for {secs}s of {seconds}s"),
                    ))
                }
            }
            Check::ImageResolvable { pod, container } => {
                let p = live_pod(snap, pod)?;
                let statuses = p
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_deref())
                    .unwrap_or_default();
                for c in containers(p, pod, container.as_deref())? {
                    let image = c.image.as_deref().unwrap_or_default();
                    let Some(cs) = statuses.iter().find(|s| s.name == c.name) else {
                        return Ok(not_met(format!("{pod}: {} has no status yet", c.name)));
                    };
                    if let Some(r) = cs
                        .state
                        .as_ref()
                        .and_then(|s| s.waiting.as_ref())
                        .and_then(|w| w.reason.as_deref())
                        && ReasonKind::from_reason(r).is_image_problem()
                    {
                        return Ok(not_met(format!(
                            "{pod}: {} cannot pull {image} ({r})",
                            c.name
                        )));
                    }
                    if cs.image_id.is_empty()
                        || reference::normalize(&cs.image) != reference::normalize(image)
                    {
                        return Ok(not_met(format!("{pod}: {image} has not been pulled yet",)));
                    }
                }
                Ok(met(format!("{pod}'s image is pulled")))
            }
            Check::ContainerImage {
                pod,
                container,
                not,
                repository: repo,
            } => {
                let p = live_pod(snap, pod)?;
                let cs = containers(p, pod, container.as_deref())?;
                let Some(c) = cs.first() else {
                    return Ok(not_met(format!("{pod} has no containers")));
                };
                let image = c.image.as_deref().unwrap_or_default();
                if let Some(bad) = not
                    && reference::normalize(image) == reference::normalize(bad)
                {
                    return Ok(not_met(format!("{pod}/{} still uses {image}", c.name)));
                }
                if let Some(want) = repo
                    && repository(image) != repository(want)
                {
                    return Ok(not_met(format!(
                        "{pod}/{} uses {image}, not an image from {want}",
                        c.name
                    )));
                }
                Ok(met(format!("{pod}/{} uses {image}", c.name)))
            }
            Check::PodPhase { pod, phase } => {
                let p = find_pod(snap, pod)?;
                let actual = p
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("Pending");
                if actual == phase {
                    Ok(met(format!("{pod} is {phase}")))
                } else {
                    Ok(not_met(format!("{pod} is {actual}, not {phase}")))
                }
            }
        }
    })();
    result.unwrap_or_else(|e| e)
}

/// Evaluates every objective against the snapshot, in order.
pub fn evaluate(objectives: &[Objective], snap: &Snapshot<'_>) -> Vec<ObjectiveResult> {
    objectives
        .iter()
        .map(|o| {
            let (status, reason) = evaluate_check(&o.check, snap);
            ObjectiveResult {
                id: o.id.clone(),
                title: o.title.clone(),
                status,
                reason,
            }
        })
        .collect()
}

/// Whether the mission is solved: every objective met.
pub fn all_met(results: &[ObjectiveResult]) -> bool {
    !results.is_empty() && results.iter().all(|r| r.status == ObjectiveStatus::Met)
}

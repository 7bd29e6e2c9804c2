//! The workload checks (`deployment-available`, `rollout-complete`, `job-succeeded`,
//! `workload-images-pulled`): they follow the workload through its pods, not a pod name.

use super::*;

/// The workload named, unless it is missing or being deleted.
pub(super) fn live_workload<'a>(
    workloads: &'a Workloads,
    kind: WorkloadKind,
    name: &str,
) -> Result<&'a WorkloadObject, (ObjectiveStatus, String)> {
    let o = workloads.get(kind, name).ok_or_else(|| {
        not_met(format!(
            "there is no {} named {name} (deleting it is not a fix)",
            kind.resource()
        ))
    })?;
    if o.meta().deletion_timestamp.is_some() {
        return Err(not_met(format!(
            "{} {name} is being deleted",
            kind.resource()
        )));
    }
    Ok(o)
}

/// A workload condition's status and reason.
fn workload_condition<'a>(
    o: &'a WorkloadObject,
    type_: &str,
) -> Option<(&'a str, Option<&'a str>)> {
    macro_rules! find {
        ($status:expr) => {
            $status
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
                .map(|c| (c.status.as_str(), c.reason.as_deref()))
        };
    }
    match o {
        WorkloadObject::Deployment(d) => find!(d.status.as_ref()),
        WorkloadObject::Job(j) => find!(j.status.as_ref()),
        WorkloadObject::ReplicaSet(r) => find!(r.status.as_ref()),
        WorkloadObject::StatefulSet(s) => find!(s.status.as_ref()),
        WorkloadObject::DaemonSet(s) => find!(s.status.as_ref()),
    }
}

pub(super) fn evaluate_workload_check(
    check: &Check,
    snap: &Snapshot<'_>,
    workloads: &Workloads,
) -> Result<(ObjectiveStatus, String), (ObjectiveStatus, String)> {
    match check {
        Check::DeploymentAvailable {
            deployment,
            replicas,
        } => {
            let o = live_workload(workloads, WorkloadKind::Deployment, deployment)?;
            let WorkloadObject::Deployment(d) = o else {
                return Ok(not_met(format!("{deployment} is not a Deployment")));
            };
            let want = replicas.map(i64::from).unwrap_or_else(|| {
                i64::from(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1))
            });
            let status = d.status.clone().unwrap_or_default();
            let ready = i64::from(status.ready_replicas.unwrap_or(0));
            let available = i64::from(status.available_replicas.unwrap_or(0));
            match workload_condition(o, "Available") {
                Some(("True", _)) => {}
                Some((_, reason)) => {
                    return Ok(not_met(format!(
                        "{deployment} is not available ({}; {ready}/{want} ready)",
                        reason.unwrap_or("no reason given")
                    )));
                }
                None => {
                    return Ok(not_met(format!(
                        "{deployment} reports no availability yet ({ready}/{want} ready)"
                    )));
                }
            }
            if ready < want || available < want {
                return Ok(not_met(format!(
                    "{deployment} has {ready} ready and {available} available of the {want} \
                     replicas wanted"
                )));
            }
            Ok(met(format!(
                "{deployment} is available with {ready} ready replicas"
            )))
        }
        Check::RolloutComplete {
            deployment,
            revision,
        } => {
            let o = live_workload(workloads, WorkloadKind::Deployment, deployment)?;
            let WorkloadObject::Deployment(d) = o else {
                return Ok(not_met(format!("{deployment} is not a Deployment")));
            };
            let status = d.status.clone().unwrap_or_default();
            let generation = d.metadata.generation.unwrap_or(0);
            if status.observed_generation.unwrap_or(0) < generation {
                return Ok(not_met(format!(
                    "the change to {deployment} has not been picked up by its controller yet"
                )));
            }
            if let Some(("False", Some("ProgressDeadlineExceeded"))) =
                workload_condition(o, "Progressing")
            {
                return Ok(not_met(format!(
                    "{deployment}'s rollout exceeded its progress deadline"
                )));
            }
            let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let updated = status.updated_replicas.unwrap_or(0);
            let total = status.replicas.unwrap_or(0);
            let available = status.available_replicas.unwrap_or(0);
            if updated < want {
                return Ok(not_met(format!(
                    "{deployment}: {updated} of {want} replicas run the new template"
                )));
            }
            if total > updated {
                return Ok(not_met(format!(
                    "{deployment}: {} old replicas are still terminating",
                    total - updated
                )));
            }
            if available < updated {
                return Ok(not_met(format!(
                    "{deployment}: {available} of {updated} updated replicas are available"
                )));
            }
            let at = o
                .meta()
                .annotations
                .as_ref()
                .and_then(|a| a.get(crate::pipeline::workload::REVISION_ANNOTATION))
                .and_then(|r| r.parse::<u64>().ok());
            if let Some(want_rev) = revision {
                match at {
                    Some(r) if r >= *want_rev => {}
                    Some(r) => {
                        return Ok(not_met(format!(
                            "{deployment} is at revision {r}, not yet at {want_rev}"
                        )));
                    }
                    None => {
                        return Ok(not_met(format!("{deployment} reports no revision yet")));
                    }
                }
            }
            Ok(met(match at {
                Some(r) => format!("{deployment} rolled out revision {r}"),
                None => format!("{deployment} rolled out"),
            }))
        }
        Check::JobSucceeded { job } => {
            let o = live_workload(workloads, WorkloadKind::Job, job)?;
            let WorkloadObject::Job(j) = o else {
                return Ok(not_met(format!("{job} is not a Job")));
            };
            if let Some(("True", _)) = workload_condition(o, "Complete") {
                return Ok(met(format!("{job} completed")));
            }
            for failed in ["Failed", "FailureTarget"] {
                if let Some(("True", reason)) = workload_condition(o, failed) {
                    return Ok(not_met(format!(
                        "{job} failed ({})",
                        reason.unwrap_or("no reason given")
                    )));
                }
            }
            let status = j.status.clone().unwrap_or_default();
            let completions = j.spec.as_ref().and_then(|s| s.completions).unwrap_or(1);
            Ok(not_met(format!(
                "{job} has not completed yet ({}/{completions} succeeded)",
                status.succeeded.unwrap_or(0)
            )))
        }
        Check::WorkloadImagesPulled {
            workload,
            container,
            repository: repo,
        } => {
            live_workload(workloads, workload.kind, &workload.name)?;
            let pods = workloads.live_pods_of(workload.kind, &workload.name, snap.pods);
            if pods.is_empty() {
                return Ok(not_met(format!("{workload} has no pods yet")));
            }
            if workload.kind == WorkloadKind::Deployment {
                let Some(new) = workloads.new_replica_set(&workload.name) else {
                    return Ok(not_met(format!(
                        "{workload}'s current template has no ReplicaSet yet"
                    )));
                };
                let has_new = pods.iter().any(|p| {
                    workloads
                        .owner_of(p)
                        .is_some_and(|ow| ow.role == Some(RevisionRole::New))
                        && controller_ref(&p.metadata)
                            .is_some_and(|r| Some(&r.name) == new.metadata.name.as_ref())
                });
                if !has_new {
                    return Ok(not_met(format!(
                        "{workload}'s current template has no pods yet"
                    )));
                }
            }
            for p in &pods {
                let name = p.metadata.name.as_deref().unwrap_or_default();
                if let Some(want) = repo {
                    for c in containers(p, name, container.as_deref())? {
                        let image = c.image.as_deref().unwrap_or_default();
                        if repository(image) != repository(want) {
                            return Ok(not_met(format!(
                                "{name}/{} uses {image}, not an image from {want}",
                                c.name
                            )));
                        }
                    }
                }
                image_pulled(p, name, container.as_deref())?;
            }
            Ok(met(format!(
                "every pod of {workload} has pulled its image ({} pod{})",
                pods.len(),
                if pods.len() == 1 { "" } else { "s" }
            )))
        }
        _ => Ok(not_met("not a workload check".into())),
    }
}

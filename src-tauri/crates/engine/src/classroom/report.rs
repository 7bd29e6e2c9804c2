//! A learner's report to the class: their progress export and the mission they are on,
//! written into their `progress-<learner>` ConfigMap in `kq-classroom` (the only object there
//! their account may change).
//!
//! The write is a server-side apply with its own field manager, `kubequest-progress`, so the
//! teacher re-running prepare (field manager `kubequest`, which owns only the labels) never
//! wipes what learners reported. Progress is always kept on the learner's machine first; a
//! failed report is returned for the caller to log, and the next one carries everything again.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::{CLASS_NAMESPACE, ClassError, cluster_error, progress_configmap};
use crate::progress::ProgressExport;

/// The field manager of learners' reports.
pub const PROGRESS_FIELD_MANAGER: &str = "kubequest-progress";
/// The key holding the [`ProgressExport`] JSON.
pub const PROGRESS_KEY: &str = "progress.json";
/// The key holding the mission the learner is on (empty when none).
pub const CURRENT_KEY: &str = "current";
/// The key holding when they started it (RFC 3339, empty when none).
pub const CURRENT_SINCE_KEY: &str = "currentSince";
/// The key holding when this report was written (RFC 3339).
pub const UPDATED_AT_KEY: &str = "updatedAt";

/// The ConfigMap body of a report.
pub fn progress_body(
    learner: &str,
    export: &ProgressExport,
    current: Option<&str>,
    since: Option<Timestamp>,
    now: Timestamp,
) -> Result<serde_json::Value, ClassError> {
    let progress = serde_json::to_string(export).map_err(|e| ClassError::Cluster {
        doing: "writing the progress report".into(),
        source: crate::connect::ConnectError::Other {
            detail: e.to_string(),
        },
    })?;
    Ok(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": progress_configmap(learner), "namespace": CLASS_NAMESPACE },
        "data": {
            PROGRESS_KEY: progress,
            CURRENT_KEY: current.unwrap_or_default(),
            CURRENT_SINCE_KEY: if current.is_some() { since.map(|s| s.to_string()).unwrap_or_default() } else { String::new() },
            UPDATED_AT_KEY: now.to_string(),
        }
    }))
}

/// Writes `progress-<learner>`: the export, the mission the learner is on (`current`) and since
/// when. Failures are returned, never panics; callers log them and carry on.
pub async fn report_progress(
    client: &kube::Client,
    learner: &str,
    export: &ProgressExport,
    current: Option<&str>,
    since: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), ClassError> {
    let body = progress_body(learner, export, current, since, now)?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), CLASS_NAMESPACE);
    api.patch(
        &progress_configmap(learner),
        &PatchParams::apply(PROGRESS_FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|e| cluster_error(format!("reporting progress to the class as {learner}"), &e))?;
    Ok(())
}

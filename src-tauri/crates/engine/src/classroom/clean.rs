//! Removing a class: exactly what prepare made, found by its labels
//! (`app.kubernetes.io/managed-by=kubequest` and `kubequest.dev/classroom`), nothing else.
//!
//! A `kq-classroom` namespace without KubeQuest's label is somebody else's: clean refuses it
//! before deleting anything. The cluster-wide bindings and roles go first (the learners' rights
//! end at once), then the learners' namespaces and `kq-classroom` (which takes the accounts,
//! and so every token, with it). Namespace deletion is accepted at once and finished by the
//! cluster in the background; objects already being deleted are not counted again, so a second
//! clean reports nothing.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt};

use super::prepare::delete;
use super::{CLASS_NAMESPACE, ClassError, class_selector, cluster_error};
use crate::session::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// What clean removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanReport {
    /// `kind/name` of each object whose deletion was asked, in the order asked.
    pub removed: Vec<String>,
}

async fn remove_all<K>(
    api: &Api<K>,
    kind: &str,
    selector: &str,
    skip: Option<&str>,
    report: &mut CleanReport,
) -> Result<(), ClassError>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let listed = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| cluster_error(format!("listing the class's {kind}s"), &e))?;
    for o in listed {
        let name = o.name_any();
        if o.meta().deletion_timestamp.is_some() || Some(name.as_str()) == skip {
            continue;
        }
        delete(api, kind, &name).await?;
        report
            .removed
            .push(format!("{}/{name}", kind.to_ascii_lowercase()));
    }
    Ok(())
}

/// Deletes what prepare made for `class` (for any class when `None`).
pub async fn clean(client: &kube::Client, class: Option<&str>) -> Result<CleanReport, ClassError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let class_ns = namespaces
        .get_opt(CLASS_NAMESPACE)
        .await
        .map_err(|e| cluster_error(format!("reading namespace {CLASS_NAMESPACE}"), &e))?;
    if let Some(ns) = &class_ns
        && ns.labels().get(MANAGED_BY_LABEL).map(String::as_str) != Some(MANAGED_BY_VALUE)
    {
        return Err(ClassError::NotOurs {
            kind: "namespace".into(),
            name: CLASS_NAMESPACE.into(),
        });
    }
    let selector = class_selector(class);
    let mut report = CleanReport::default();
    remove_all(
        &Api::<ClusterRoleBinding>::all(client.clone()),
        "ClusterRoleBinding",
        &selector,
        None,
        &mut report,
    )
    .await?;
    remove_all(
        &Api::<ClusterRole>::all(client.clone()),
        "ClusterRole",
        &selector,
        None,
        &mut report,
    )
    .await?;
    remove_all(
        &namespaces,
        "Namespace",
        &selector,
        Some(CLASS_NAMESPACE),
        &mut report,
    )
    .await?;
    // The class namespace last: its `class` ConfigMap is how a teacher sees a class is there.
    if let Some(ns) = class_ns
        && ns.metadata.deletion_timestamp.is_none()
        && class.is_none_or(|c| ns.labels().get(super::CLASS_LABEL).map(String::as_str) == Some(c))
    {
        delete(&namespaces, "Namespace", CLASS_NAMESPACE).await?;
        report.removed.push(format!("namespace/{CLASS_NAMESPACE}"));
    }
    Ok(report)
}

//! ServiceAccount admission: a pod's service account must exist, and its token, the cluster's
//! CA and the namespace are projected into every container (Kubernetes:
//! `plugin/pkg/admission/serviceaccount`).

use k8s_openapi::api::core::v1::{
    ConfigMapProjection, DownwardAPIProjection, DownwardAPIVolumeFile, KeyToPath,
    ObjectFieldSelector, Pod, PodSpec, ProjectedVolumeSource, ServiceAccountTokenProjection,
    Volume, VolumeMount, VolumeProjection,
};
use serde_json::Value;

use super::{Attributes, Plugin};
use crate::error::{Error, Result};
use crate::kinds::{self, typed};

/// Where every pod's service account token is mounted.
pub const SERVICE_ACCOUNT_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The ServiceAccount plug-in.
pub struct ServiceAccount;

impl Plugin for ServiceAccount {
    fn name(&self) -> &'static str {
        "ServiceAccount"
    }

    fn admit_create(&self, a: &Attributes<'_>, obj: &mut Value) -> Result<()> {
        if !a.is("", "pods") {
            return Ok(());
        }
        let mut pod: Pod = typed(obj);
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let spec = pod.spec.get_or_insert_with(Default::default);
        // The account must exist, and its token is projected in.
        let sa = spec
            .service_account_name
            .clone()
            .unwrap_or_else(|| "default".into());
        if a.store
            .get_raw(&kinds::serviceaccount::KIND, &ns, &sa)
            .is_none()
        {
            return Err(Error::Forbidden {
                group: String::new(),
                resource: "pods".into(),
                name: a.name.to_string(),
                reason: format!(
                    "error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found"
                ),
            });
        }
        if spec.automount_service_account_token != Some(false) {
            add_service_account_volume(spec);
            *obj = serde_json::to_value(&pod).map_err(|e| Error::Internal(e.to_string()))?;
        }
        Ok(())
    }
}

fn add_service_account_volume(spec: &mut PodSpec) {
    let vols = spec.volumes.get_or_insert_with(Vec::new);
    if vols.iter().any(|v| v.name.starts_with("kube-api-access-")) {
        return;
    }
    let name = format!("kube-api-access-{}", kq_kube::random::name_suffix());
    vols.push(Volume {
        name: name.clone(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(420),
            sources: Some(vec![
                VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        expiration_seconds: Some(3607),
                        path: "token".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "kube-root-ca.crt".into(),
                        items: Some(vec![KeyToPath {
                            key: "ca.crt".into(),
                            path: "ca.crt".into(),
                            mode: None,
                        }]),
                        optional: None,
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    downward_api: Some(DownwardAPIProjection {
                        items: Some(vec![DownwardAPIVolumeFile {
                            path: "namespace".into(),
                            field_ref: Some(ObjectFieldSelector {
                                api_version: Some("v1".into()),
                                field_path: "metadata.namespace".into(),
                            }),
                            ..Default::default()
                        }]),
                    }),
                    ..Default::default()
                },
            ]),
        }),
        ..Default::default()
    });
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        let mounts = c.volume_mounts.get_or_insert_with(Vec::new);
        if !mounts.iter().any(|m| m.mount_path == SERVICE_ACCOUNT_MOUNT) {
            mounts.push(VolumeMount {
                name: name.clone(),
                read_only: Some(true),
                mount_path: SERVICE_ACCOUNT_MOUNT.into(),
                ..Default::default()
            });
        }
    }
}

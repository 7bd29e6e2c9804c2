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
        let Some(account) = a.store.get_raw(&kinds::serviceaccount::KIND, &ns, &sa) else {
            return Err(Error::Forbidden {
                group: String::new(),
                resource: "pods".into(),
                name: a.name.to_string(),
                reason: format!(
                    "error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found"
                ),
            });
        };
        let account: k8s_openapi::api::core::v1::ServiceAccount = typed(&account);
        // A pod that names no pull secrets gets its account's (`Admit` in the plug-in), so a
        // registry login attached to the ServiceAccount reaches every new pod that uses it.
        let mut changed = false;
        if spec.image_pull_secrets.as_ref().is_none_or(Vec::is_empty) {
            let from_account: Vec<_> = account
                .image_pull_secrets
                .iter()
                .flatten()
                .map(|r| k8s_openapi::api::core::v1::LocalObjectReference {
                    name: r.name.clone(),
                })
                .collect();
            if !from_account.is_empty() {
                spec.image_pull_secrets = Some(from_account);
                changed = true;
            }
        }
        // The pod's own setting wins; without one, the account's; without either, mount.
        let automount = spec
            .automount_service_account_token
            .or(account.automount_service_account_token)
            .unwrap_or(true);
        if automount {
            add_service_account_volume(spec);
            changed = true;
        }
        if changed {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::storage::Store;
    use crate::store::WriteOptions;

    /// A store with the ServiceAccount `builder` in `ci`, as given.
    fn store_with(account: Value) -> Arc<Store> {
        let store = Store::new(Arc::new(crate::Clock::new(0.0)), String::new(), 100);
        let opts = WriteOptions::default();
        store
            .create(
                &kinds::namespace::KIND,
                "",
                json!({"metadata": {"name": "ci"}}),
                &opts,
            )
            .expect("the namespace is stored");
        store
            .create(&kinds::serviceaccount::KIND, "ci", account, &opts)
            .expect("the account is stored");
        store
    }

    fn admit(store: &Store, pod: Value) -> Pod {
        let attrs = Attributes {
            kind: &kinds::pod::KIND,
            namespace: "ci",
            name: "job",
            subresource: "",
            store,
            dry_run: false,
        };
        let mut obj = pod;
        ServiceAccount
            .admit_create(&attrs, &mut obj)
            .expect("admitted");
        typed(&obj)
    }

    fn pod(extra_spec: Value) -> Value {
        let mut spec = json!({"serviceAccountName": "builder",
            "containers": [{"name": "c", "image": "registry.example/app:1"}]});
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra_spec.as_object()) {
            s.extend(e.clone());
        }
        json!({"metadata": {"name": "job", "namespace": "ci"}, "spec": spec})
    }

    fn pull_secrets(p: &Pod) -> Vec<String> {
        let spec = p.spec.as_ref().expect("spec");
        spec.image_pull_secrets
            .iter()
            .flatten()
            .map(|r| r.name.clone())
            .collect()
    }

    #[test]
    fn a_pod_without_pull_secrets_gets_its_accounts_and_keeps_its_own_otherwise() {
        let store = store_with(json!({"metadata": {"name": "builder", "namespace": "ci"},
            "imagePullSecrets": [{"name": "registry-login"}]}));
        assert_eq!(
            pull_secrets(&admit(&store, pod(json!({})))),
            ["registry-login"]
        );
        let own = pod(json!({"imagePullSecrets": [{"name": "mine"}]}));
        assert_eq!(pull_secrets(&admit(&store, own)), ["mine"]);
    }

    #[test]
    fn the_token_is_mounted_unless_the_pod_or_else_its_account_says_no() {
        let mounted = |p: &Pod| {
            p.spec.as_ref().expect("spec").containers[0]
                .volume_mounts
                .iter()
                .flatten()
                .any(|m| m.mount_path == SERVICE_ACCOUNT_MOUNT)
        };
        let quiet = store_with(json!({"metadata": {"name": "builder", "namespace": "ci"},
            "automountServiceAccountToken": false}));
        assert!(!mounted(&admit(&quiet, pod(json!({})))));
        let asks = pod(json!({"automountServiceAccountToken": true}));
        assert!(mounted(&admit(&quiet, asks)));
        let open = store_with(json!({"metadata": {"name": "builder", "namespace": "ci"}}));
        assert!(mounted(&admit(&open, pod(json!({})))));
        let declines = pod(json!({"automountServiceAccountToken": false}));
        assert!(!mounted(&admit(&open, declines)));
    }
}

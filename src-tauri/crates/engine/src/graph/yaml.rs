//! A graph node's object as YAML, as `kubectl get <kind> <name> -o yaml` prints it.
//!
//! [`object_yaml`] reads the object through the session's client (the dynamic API, so every
//! field the server sends is kept, whatever its type); [`render_yaml`] is the pure part: it drops
//! `metadata.managedFields` (kubectl hides them by default) and sorts the keys as kubectl does.
//!
//! Secrets never show their values in the app: every `data` and `stringData` value is replaced
//! by a placeholder, and so is the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation, which holds the whole Secret as it was applied. The key names stay, as
//! `kubectl describe secret` shows them.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, PersistentVolumeClaim, Pod, ResourceQuota, Secret, Service,
    ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

use super::GraphKind;
use crate::connect::{ConnectError, classify_kube_error};

/// What a Secret's values (and its last-applied annotation) are shown as.
pub const HIDDEN_VALUE: &str = "<hidden: KubeQuest never shows secret values>";

/// The annotation `kubectl apply` keeps the applied object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Why the YAML could not be read.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The API server answered with a refusal the learner can read: the object is gone
    /// (`deployments.apps "web" not found`) or the credentials may not read it.
    #[error("{message}")]
    Refused { message: String },
    /// The cluster could not be reached, or refused us as a client.
    #[error(transparent)]
    Cluster(#[from] ConnectError),
    /// The object could not be turned into YAML (should not happen).
    #[error("cannot render the object as YAML: {0}")]
    Render(String),
}

/// The group, version, kind and plural of a graph kind.
fn api_resource(kind: GraphKind) -> ApiResource {
    match kind {
        GraphKind::Service => ApiResource::erase::<Service>(&()),
        GraphKind::EndpointSlice => ApiResource::erase::<EndpointSlice>(&()),
        GraphKind::Deployment => ApiResource::erase::<Deployment>(&()),
        GraphKind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        GraphKind::DaemonSet => ApiResource::erase::<DaemonSet>(&()),
        GraphKind::CronJob => ApiResource::erase::<CronJob>(&()),
        GraphKind::Job => ApiResource::erase::<Job>(&()),
        GraphKind::ReplicaSet => ApiResource::erase::<ReplicaSet>(&()),
        GraphKind::Pod => ApiResource::erase::<Pod>(&()),
        GraphKind::ConfigMap => ApiResource::erase::<ConfigMap>(&()),
        GraphKind::Secret => ApiResource::erase::<Secret>(&()),
        GraphKind::PersistentVolumeClaim => ApiResource::erase::<PersistentVolumeClaim>(&()),
        GraphKind::ServiceAccount => ApiResource::erase::<ServiceAccount>(&()),
        GraphKind::ResourceQuota => ApiResource::erase::<ResourceQuota>(&()),
        GraphKind::LimitRange => ApiResource::erase::<LimitRange>(&()),
    }
}

/// Reads `kind`/`name` in `namespace` and renders it as `kubectl get -o yaml` would.
pub async fn object_yaml(
    client: &kube::Client,
    namespace: &str,
    kind: GraphKind,
    name: &str,
) -> Result<String, YamlError> {
    let resource = api_resource(kind);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let object = api.get(name).await.map_err(|e| refusal(&e))?;
    let mut value = serde_json::to_value(&object).map_err(|e| YamlError::Render(e.to_string()))?;
    // A GET names its kind, but a dynamic object keeps whatever the server sent: fill them in.
    if let Some(map) = value.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::String(resource.api_version.clone()));
        map.entry("kind")
            .or_insert_with(|| Value::String(resource.kind.clone()));
    }
    Ok(render_yaml(value, kind))
}

/// The object as YAML: keys sorted, `metadata.managedFields` dropped, a Secret's values hidden.
pub fn render_yaml(mut value: Value, kind: GraphKind) -> String {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if kind == GraphKind::Secret {
        hide_secret_values(&mut value);
    }
    value.sort_all_objects();
    serde_yaml_ng::to_string(&value).unwrap_or_else(|e| format!("# cannot render as YAML: {e}\n"))
}

/// Replaces every value of `data` and `stringData`, and the last-applied annotation (it holds
/// the values too), with [`HIDDEN_VALUE`]. Secret values must never reach the window.
fn hide_secret_values(value: &mut Value) {
    for field in ["data", "stringData"] {
        if let Some(map) = value.get_mut(field).and_then(Value::as_object_mut) {
            for v in map.values_mut() {
                *v = Value::String(HIDDEN_VALUE.to_owned());
            }
        }
    }
    if let Some(annotations) = value
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
        && let Some(v) = annotations.get_mut(LAST_APPLIED)
    {
        *v = Value::String(HIDDEN_VALUE.to_owned());
    }
}

/// The server's own words for a refusal (not found, forbidden), else the cluster's failure.
fn refusal(e: &kube::Error) -> YamlError {
    match e {
        kube::Error::Api(status) if status.code != 401 && !(502..=504).contains(&status.code) => {
            YamlError::Refused {
                message: if status.message.is_empty() {
                    format!("HTTP {} {}", status.code, status.reason)
                } else {
                    status.message.clone()
                },
            }
        }
        _ => YamlError::Cluster(classify_kube_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn managed_fields_are_dropped_and_keys_sorted_as_kubectl_prints_them() {
        let yaml = render_yaml(
            json!({
                "status": {"replicas": 1},
                "spec": {"replicas": 1},
                "metadata": {
                    "name": "web",
                    "namespace": "kq-web",
                    "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
                },
                "kind": "Deployment",
                "apiVersion": "apps/v1",
            }),
            GraphKind::Deployment,
        );
        assert!(!yaml.contains("managedFields"), "{yaml}");
        assert!(!yaml.contains("manager"), "{yaml}");
        assert!(
            yaml.starts_with("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"),
            "{yaml}"
        );
        let spec = yaml.find("spec:").expect("spec");
        let status = yaml.find("status:").expect("status");
        assert!(spec < status, "{yaml}");
    }

    #[test]
    fn secret_values_never_show() {
        let yaml = render_yaml(
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {
                    "name": "db",
                    "annotations": {
                        LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                        "team": "web",
                    },
                    "managedFields": [{"manager": "kubectl"}],
                },
                "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="},
                "stringData": {"token": "s3cr3t"},
            }),
            GraphKind::Secret,
        );
        for value in ["aHVudGVyMg==", "YWRtaW4=", "s3cr3t", "hunter2"] {
            assert!(!yaml.contains(value), "{value} shows in {yaml}");
        }
        assert!(
            yaml.contains(&format!("password: '{HIDDEN_VALUE}'")),
            "{yaml}"
        );
        assert!(yaml.contains("user: "), "{yaml}");
        assert!(yaml.contains("token: "), "{yaml}");
        assert!(yaml.contains("team: web"), "{yaml}");
        assert!(!yaml.contains("managedFields"), "{yaml}");
    }

    #[test]
    fn only_secrets_are_hidden() {
        let yaml = render_yaml(
            json!({"kind": "ConfigMap", "data": {"mode": "debug"}}),
            GraphKind::ConfigMap,
        );
        assert!(yaml.contains("mode: debug"), "{yaml}");
    }
}

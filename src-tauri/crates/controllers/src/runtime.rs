//! The node's container runtime as the kubelet uses it: kq-runtime (Kubernetes' CRI), plus
//! [`StoreObjects`], the kubelet's side of [`PodObjects`]: the ConfigMaps, Secrets and
//! cluster CA the runtime needs, read from the API server's store by the kubelet (as
//! `pkg/kubelet/configmap` and `pkg/kubelet/secret` do) and never by the runtime itself.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

pub use kq_runtime::{ImageInfo, PodObjects, Program, Runtime, RuntimeError, Step};

use crate::store::Store;

/// The kubelet's view of the API server's ConfigMaps and Secrets, handed to the runtime.
pub(crate) struct StoreObjects<'a>(pub &'a Store);

impl PodObjects for StoreObjects<'_> {
    fn config_map(&self, ns: &str, name: &str) -> Option<ConfigMap> {
        self.0.get::<ConfigMap>(ns, name).ok()
    }
    fn secret(&self, ns: &str, name: &str) -> Option<Secret> {
        self.0.get::<Secret>(ns, name).ok()
    }
    fn root_ca_pem(&self) -> String {
        self.0.ca_pem().to_string()
    }
}

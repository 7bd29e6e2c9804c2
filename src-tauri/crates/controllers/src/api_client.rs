//! The node's side of [`kq_runtime::ApiClient`]: a container's call to the API server made
//! with the ServiceAccount token its pod mounts. The token stands for the pod's
//! ServiceAccount (`system:serviceaccount:<ns>:<sa>`, groups `system:serviceaccounts`,
//! `system:serviceaccounts:<ns>`, `system:authenticated`), so the call is authorized by RBAC
//! as that user and refused with the API server's own Forbidden text (Kubernetes: apiserver
//! `pkg/authentication/serviceaccount/util.go`, `endpoints/filters/authorization.go`).

use std::sync::{Arc, Weak};

use kq_apiserver::auth::{self, RequestAttributes, UserInfo};

use crate::kinds;
use crate::store::Store;

/// Calls into the embedded API server's store, as a pod's ServiceAccount.
#[derive(Debug)]
pub(crate) struct StoreApiClient {
    store: Weak<Store>,
}

impl StoreApiClient {
    pub(crate) fn new(store: &Arc<Store>) -> Self {
        StoreApiClient {
            store: Arc::downgrade(store),
        }
    }
}

/// The identity a pod's mounted token authenticates as.
fn service_account_user(store: &Store, ns: &str, pod: &str) -> UserInfo {
    let sa = store
        .get_raw(&kinds::pod::KIND, ns, pod)
        .and_then(|p| {
            p.pointer("/spec/serviceAccountName")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into());
    let uid = store
        .get_raw(&kinds::serviceaccount::KIND, ns, &sa)
        .and_then(|s| {
            s.pointer("/metadata/uid")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    UserInfo {
        name: format!("system:serviceaccount:{ns}:{sa}"),
        uid,
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".into(),
        ],
        extra: Default::default(),
    }
}

impl kq_runtime::ApiClient for StoreApiClient {
    fn list_pods(&self, namespace: &str, pod: &str) -> Result<Vec<String>, String> {
        let Some(store) = self.store.upgrade() else {
            return Err(format!(
                "Get \"https://10.96.0.1:443/api/v1/namespaces/{namespace}/pods\": dial tcp 10.96.0.1:443: connect: connection refused"
            ));
        };
        let user = service_account_user(&store, namespace, pod);
        let attrs = RequestAttributes {
            verb: "list".into(),
            resource_request: true,
            api_version: "v1".into(),
            resource: "pods".into(),
            namespace: namespace.into(),
            ..Default::default()
        };
        match auth::authorize(&store, &user, &attrs) {
            auth::Decision::Allow(_) => Ok(store
                .list_raw(&kinds::pod::KIND, Some(namespace))
                .iter()
                .map(|p| kinds::name_of(p).to_string())
                .collect()),
            auth::Decision::Deny(reason) | auth::Decision::NoOpinion(reason) => {
                Err(auth::forbidden(&user, &attrs, &reason).to_string())
            }
        }
    }
}

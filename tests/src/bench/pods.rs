//! Realistic pods, and seeding many of them straight into the store.
//!
//! Seeding goes through [`kq_sim::Store::create_typed`] in-process rather than over HTTPS:
//! it runs the same defaulting and validation as the API, and thousands of pods are in place
//! in about a second, so the figures time the serving, not the setup.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kq_sim::Store;
use serde_json::json;

/// The namespace that holds seeded pods number `i` of `count` namespaces.
pub fn namespace(i: usize) -> String {
    format!("bench-{i:02}")
}

/// A pod shaped like a typical web deployment's replica: labels from a controller, one
/// container with ports, env, resources and probes, and a second sidecar.
pub fn pod(name: &str, app: &str) -> Pod {
    let value = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/name": app,
                "app.kubernetes.io/part-of": "kq-bench",
                "pod-template-hash": "7d9c5b8f4d",
                "tier": "web"
            },
            "annotations": {"kubectl.kubernetes.io/default-container": "web"}
        },
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.25",
                    "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                    "env": [
                        {"name": "APP_MODE", "value": "production"},
                        {"name": "LOG_LEVEL", "value": "info"}
                    ],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "256Mi"}
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": 80},
                        "periodSeconds": 5
                    },
                    "livenessProbe": {
                        "httpGet": {"path": "/healthz", "port": 80},
                        "initialDelaySeconds": 10,
                        "periodSeconds": 10
                    }
                },
                {
                    "name": "log-shipper",
                    "image": "busybox:1.36",
                    "command": ["sh", "-c", "tail -F /var/log/app.log"],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30
        }
    });
    serde_json::from_value(value).expect("the bench pod template is a valid Pod")
}

/// Create `namespaces` namespaces and `total` pods spread evenly over them; returns the
/// (namespace, name) of every pod.
pub fn seed(
    store: &Arc<Store>,
    namespaces: usize,
    total: usize,
) -> Result<Vec<(String, String)>, String> {
    for i in 0..namespaces {
        let ns: Namespace = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace(i)}
        }))
        .map_err(|e| e.to_string())?;
        store
            .create_typed("", &ns)
            .map_err(|e| format!("cannot create namespace {}: {e}", namespace(i)))?;
    }
    let mut made = Vec::with_capacity(total);
    for i in 0..total {
        let ns = namespace(i % namespaces);
        let name = format!("web-{i:05}");
        store
            .create_typed(&ns, &pod(&name, &format!("app-{}", i % 25)))
            .map_err(|e| format!("cannot create pod {ns}/{name}: {e}"))?;
        made.push((ns, name));
    }
    Ok(made)
}

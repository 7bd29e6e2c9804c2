//! The kube-system namespace as a kubeadm-built cluster (kind, v1.33.4) shows it: the control
//! plane's static pods, CoreDNS behind the `kube-dns` Service and kube-proxy on every node.
//!
//! A real control plane runs as static pods: the kubelet reads manifests from
//! `/etc/kubernetes/manifests` and posts a *mirror pod* for each, named `<component>-<node>`,
//! owned by its Node and annotated `kubernetes.io/config.mirror` / `config.source: file`.
//! Here the mirror pods are created already bound to the first node, so the embedded kubelet
//! starts them like any other pod (image, container start, readiness) and their images print
//! the components' start-up lines. CoreDNS and kube-proxy are ordinary workloads (a
//! Deployment with 2 replicas, a DaemonSet) that kubeadm's addon phase creates; the workload
//! controllers, the scheduler and the kubelet bring them up as they would a learner's.
//!
//! Requests are kubeadm's (`cmd/kubeadm/app/phases/controlplane/manifests.go`, the CoreDNS
//! addon manifest), so `describe node` adds them up as on a kind node: 850m CPU and 240Mi of
//! memory requested before the learner creates anything.
//!
//! The objects are built from [`SystemConfig`]'s node name and IP; nothing here reads the
//! clock except the `config.seen` annotation.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::kinds;
use crate::store::{self, Store};

/// The Kubernetes version the control-plane images are tagged with (the server's version).
const K8S_TAG: &str = "v1.33.4";
/// The etcd image kubeadm v1.33 deploys (`DefaultEtcdVersion`).
const ETCD_IMAGE: &str = "registry.k8s.io/etcd:3.5.21-0";
/// The CoreDNS image kubeadm v1.33 deploys.
const COREDNS_IMAGE: &str = "registry.k8s.io/coredns/coredns:v1.12.0";
/// kube-dns's ClusterIP: the tenth address of the service CIDR, as kubeadm picks it.
pub const DNS_CLUSTER_IP: &str = "10.96.0.10";

/// kubeadm's default Corefile (the `coredns` ConfigMap).
const COREFILE: &str = ".:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
";

/// Create kube-system's static pods on the node called `node` (its InternalIP `node_ip`), the
/// addons' service accounts and ConfigMaps, and the `kube-dns` Service.
pub(crate) fn bootstrap(store: &Arc<Store>, node: &str, node_ip: &str) -> crate::Result<()> {
    let opts = store::WriteOptions::default();
    let node_uid = store
        .get_raw(&kinds::node::KIND, "", node)
        .map(|n| kinds::str_at(&n, "/metadata/uid").to_string())
        .unwrap_or_default();
    let seen = crate::clock::rfc3339(store.clock().now());
    for pod in static_pods(node, node_ip, &node_uid, &seen) {
        store.create(&kinds::pod::KIND, "kube-system", pod, &opts)?;
    }
    for sa in ["coredns", "kube-proxy"] {
        store.create(
            &kinds::serviceaccount::KIND,
            "kube-system",
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": sa, "namespace": "kube-system"}}),
            &opts,
        )?;
    }
    store.create(
        &kinds::configmap::KIND,
        "kube-system",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "coredns", "namespace": "kube-system"},
               "data": {"Corefile": COREFILE}}),
        &opts,
    )?;
    store.create(
        &kinds::configmap::KIND,
        "kube-system",
        kube_proxy_config(),
        &opts,
    )?;
    store.create(
        &kinds::service::KIND,
        "kube-system",
        kube_dns_service(),
        &opts,
    )?;
    store.create(
        &kinds::storageclass::KIND,
        "",
        standard_storage_class(),
        &opts,
    )?;
    Ok(())
}

/// kind's `standard` StorageClass, the cluster's default: claims are provisioned by the
/// local-path provisioner once a pod that uses them is scheduled.
fn standard_storage_class() -> Value {
    json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "standard",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}
        },
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer"
    })
}

/// Create kubeadm's addon workloads (CoreDNS, kube-proxy). Called once the controllers watch,
/// as kubeadm applies its addons once the control plane is up: the workload controllers pick
/// them up from their watch like any learner's Deployment.
pub(crate) fn start_addons(store: &Arc<Store>) -> crate::Result<()> {
    let opts = store::WriteOptions::default();
    store.create(
        &kinds::deployment::KIND,
        "kube-system",
        coredns_deployment(),
        &opts,
    )?;
    store.create(
        &kinds::daemonset::KIND,
        "kube-system",
        kube_proxy_daemonset(),
        &opts,
    )?;
    Ok(())
}

/// A hostPath volume and its mount, as kubeadm lists them in the manifests.
fn host_path(name: &str, path: &str, type_: &str, read_only: bool) -> (Value, Value) {
    let mut mount = json!({"mountPath": path, "name": name});
    if read_only {
        mount["readOnly"] = json!(true);
    }
    (
        json!({"hostPath": {"path": path, "type": type_}, "name": name}),
        mount,
    )
}

/// One static pod's manifest: the component, its image and command, the kubeadm annotation
/// naming its endpoint (empty for none), its hostPath volumes with their mounts, its CPU
/// request.
type Component = (
    &'static str,
    String,
    Vec<String>,
    &'static str,
    Vec<(Value, Value)>,
    &'static str,
);

/// The four mirror pods of the control plane.
fn static_pods(node: &str, ip: &str, node_uid: &str, seen: &str) -> Vec<Value> {
    let pki = |name: &str| host_path(name, "/etc/kubernetes/pki", "DirectoryOrCreate", true);
    let ca_certs = host_path("ca-certs", "/etc/ssl/certs", "DirectoryOrCreate", true);
    let components: [Component; 4] = [
        (
            "etcd",
            ETCD_IMAGE.to_string(),
            vec![
                "etcd".into(),
                format!("--advertise-client-urls=https://{ip}:2379"),
                "--cert-file=/etc/kubernetes/pki/etcd/server.crt".into(),
                "--client-cert-auth=true".into(),
                "--data-dir=/var/lib/etcd".into(),
                "--experimental-initial-corrupt-check=true".into(),
                "--experimental-watch-progress-notify-interval=5s".into(),
                format!("--initial-advertise-peer-urls=https://{ip}:2380"),
                format!("--initial-cluster={node}=https://{ip}:2380"),
                "--key-file=/etc/kubernetes/pki/etcd/server.key".into(),
                format!("--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379"),
                "--listen-metrics-urls=http://127.0.0.1:2381".into(),
                format!("--listen-peer-urls=https://{ip}:2380"),
                format!("--name={node}"),
                "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt".into(),
                "--peer-client-cert-auth=true".into(),
                "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key".into(),
                "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt".into(),
                "--snapshot-count=10000".into(),
                "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt".into(),
            ],
            "kubeadm.kubernetes.io/etcd.advertise-client-urls",
            vec![
                host_path(
                    "etcd-certs",
                    "/etc/kubernetes/pki/etcd",
                    "DirectoryOrCreate",
                    false,
                ),
                host_path("etcd-data", "/var/lib/etcd", "DirectoryOrCreate", false),
            ],
            "100m",
        ),
        (
            "kube-apiserver",
            format!("registry.k8s.io/kube-apiserver:{K8S_TAG}"),
            vec![
                "kube-apiserver".into(),
                format!("--advertise-address={ip}"),
                "--allow-privileged=true".into(),
                "--authorization-mode=Node,RBAC".into(),
                "--client-ca-file=/etc/kubernetes/pki/ca.crt".into(),
                "--enable-admission-plugins=NodeRestriction".into(),
                "--enable-bootstrap-token-auth=true".into(),
                "--etcd-servers=https://127.0.0.1:2379".into(),
                "--secure-port=6443".into(),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                "--service-cluster-ip-range=10.96.0.0/16".into(),
                "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt".into(),
                "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key".into(),
            ],
            "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint",
            vec![ca_certs.clone(), pki("k8s-certs")],
            "250m",
        ),
        (
            "kube-controller-manager",
            format!("registry.k8s.io/kube-controller-manager:{K8S_TAG}"),
            vec![
                "kube-controller-manager".into(),
                "--allocate-node-cidrs=true".into(),
                "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
                "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
                "--bind-address=127.0.0.1".into(),
                "--cluster-cidr=10.244.0.0/16".into(),
                "--cluster-name=kubequest".into(),
                "--controllers=*,bootstrapsigner,tokencleaner".into(),
                "--kubeconfig=/etc/kubernetes/controller-manager.conf".into(),
                "--leader-elect=true".into(),
                "--service-cluster-ip-range=10.96.0.0/16".into(),
                "--use-service-account-credentials=true".into(),
            ],
            "",
            vec![
                ca_certs.clone(),
                pki("k8s-certs"),
                host_path(
                    "kubeconfig",
                    "/etc/kubernetes/controller-manager.conf",
                    "FileOrCreate",
                    true,
                ),
            ],
            "200m",
        ),
        (
            "kube-scheduler",
            format!("registry.k8s.io/kube-scheduler:{K8S_TAG}"),
            vec![
                "kube-scheduler".into(),
                "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf".into(),
                "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf".into(),
                "--bind-address=127.0.0.1".into(),
                "--kubeconfig=/etc/kubernetes/scheduler.conf".into(),
                "--leader-elect=true".into(),
            ],
            "",
            vec![host_path(
                "kubeconfig",
                "/etc/kubernetes/scheduler.conf",
                "FileOrCreate",
                true,
            )],
            "100m",
        ),
    ];
    components
        .into_iter()
        .map(|(component, image, command, endpoint_key, vols, cpu)| {
            // The kubelet names a static pod's hash after the manifest; any stable 32 hex
            // digits look the same to a learner.
            let hash = kq_kube::random::hex(32);
            let mut annotations = json!({
                "kubernetes.io/config.hash": hash,
                "kubernetes.io/config.mirror": hash,
                "kubernetes.io/config.seen": seen,
                "kubernetes.io/config.source": "file",
            });
            match component {
                "etcd" => annotations[endpoint_key] = json!(format!("https://{ip}:2379")),
                "kube-apiserver" => annotations[endpoint_key] = json!(format!("{ip}:6443")),
                _ => {}
            }
            let mut requests = json!({"cpu": cpu});
            if component == "etcd" {
                requests["memory"] = json!("100Mi");
            }
            let (volumes, mounts): (Vec<Value>, Vec<Value>) = vols.into_iter().unzip();
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": format!("{component}-{node}"),
                    "namespace": "kube-system",
                    "labels": {"component": component, "tier": "control-plane"},
                    "annotations": annotations,
                    "ownerReferences": [{
                        "apiVersion": "v1", "kind": "Node", "name": node,
                        "uid": node_uid, "controller": true
                    }]
                },
                "spec": {
                    "containers": [{
                        "name": component,
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": command,
                        "resources": {"requests": requests},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": mounts
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "enableServiceLinks": true,
                    "hostNetwork": true,
                    "nodeName": node,
                    "preemptionPolicy": "PreemptLowerPriority",
                    "priority": 2000001000,
                    "priorityClassName": "system-node-critical",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 30,
                    "tolerations": [{"effect": "NoExecute", "operator": "Exists"}],
                    "volumes": volumes
                }
            })
        })
        .collect()
}

fn kube_dns_service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {
                "k8s-app": "kube-dns",
                "kubernetes.io/cluster-service": "true",
                "kubernetes.io/name": "CoreDNS"
            },
            "annotations": {
                "prometheus.io/port": "9153",
                "prometheus.io/scrape": "true"
            }
        },
        "spec": {
            "clusterIP": DNS_CLUSTER_IP,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}
            ],
            "selector": {"k8s-app": "kube-dns"},
            "type": "ClusterIP"
        }
    })
}

fn coredns_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "coredns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns"}
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {
                    "containers": [{
                        "name": "coredns",
                        "image": COREDNS_IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "args": ["-conf", "/etc/coredns/Corefile"],
                        "ports": [
                            {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                            {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                            {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                            {"containerPort": 8080, "name": "liveness-probe", "protocol": "TCP"},
                            {"containerPort": 8181, "name": "readiness-probe", "protocol": "TCP"}
                        ],
                        "resources": {
                            "limits": {"memory": "170Mi"},
                            "requests": {"cpu": "100m", "memory": "70Mi"}
                        },
                        "livenessProbe": {
                            "httpGet": {"path": "/health", "port": "liveness-probe", "scheme": "HTTP"},
                            "initialDelaySeconds": 60,
                            "timeoutSeconds": 5,
                            "successThreshold": 1,
                            "failureThreshold": 5
                        },
                        "readinessProbe": {
                            "httpGet": {"path": "/ready", "port": "readiness-probe", "scheme": "HTTP"}
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                            "readOnlyRootFilesystem": true
                        },
                        "volumeMounts": [
                            {"mountPath": "/etc/coredns", "name": "config-volume", "readOnly": true}
                        ]
                    }],
                    "dnsPolicy": "Default",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "coredns",
                    "tolerations": [
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}
                    ],
                    "volumes": [{
                        "name": "config-volume",
                        "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}
                    }]
                }
            }
        }
    })
}

fn kube_proxy_config() -> Value {
    let config = "apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
clusterCIDR: 10.244.0.0/16
conntrack:
  maxPerCore: 0
iptables:
  masqueradeAll: false
  minSyncPeriod: 1s
  syncPeriod: 0s
kind: KubeProxyConfiguration
metricsBindAddress: 0.0.0.0:10249
mode: iptables
";
    let kubeconfig = "apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://kubequest-control-plane:6443
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
";
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "kube-proxy",
            "namespace": "kube-system",
            "labels": {"app": "kube-proxy"}
        },
        "data": {"config.conf": config, "kubeconfig.conf": kubeconfig}
    })
}

fn kube_proxy_daemonset() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "kube-proxy",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-proxy"}
        },
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-proxy"}},
                "spec": {
                    "containers": [{
                        "name": "kube-proxy",
                        "image": format!("registry.k8s.io/kube-proxy:{K8S_TAG}"),
                        "imagePullPolicy": "IfNotPresent",
                        "command": [
                            "/usr/local/bin/kube-proxy",
                            "--config=/var/lib/kube-proxy/config.conf",
                            "--hostname-override=$(NODE_NAME)"
                        ],
                        "env": [{
                            "name": "NODE_NAME",
                            "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}
                        }],
                        "securityContext": {"privileged": true},
                        "volumeMounts": [
                            {"mountPath": "/var/lib/kube-proxy", "name": "kube-proxy"},
                            {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                            {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": true}
                        ]
                    }],
                    "hostNetwork": true,
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "kube-proxy",
                    "tolerations": [{"operator": "Exists"}],
                    "volumes": [
                        {"name": "kube-proxy", "configMap": {"name": "kube-proxy"}},
                        {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                        {"name": "lib-modules", "hostPath": {"path": "/lib/modules", "type": ""}}
                    ]
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every image kube-system runs is on the node before any pull, as on a kind node, so
    /// the control plane starts with "already present on machine" and no pull delay.
    #[test]
    fn system_images_are_preloaded() {
        let pods = static_pods("node-1", "192.168.49.2", "uid", "now");
        let mut images: Vec<String> = pods
            .iter()
            .map(|p| {
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        images.push(
            coredns_deployment()["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
        images.push(
            kube_proxy_daemonset()["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
        for image in images {
            assert!(
                kq_runtime::PRELOADED_IMAGES.contains(&image.as_str()),
                "{image} is not preloaded"
            );
        }
    }
}

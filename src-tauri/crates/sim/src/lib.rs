//! KubeQuest's embedded cluster: a Kubernetes-API-compatible simulated cluster that real
//! `kubectl` and the `kube` crate talk to over HTTPS on 127.0.0.1.

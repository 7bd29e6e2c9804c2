//! What the kubelet works out for a container before the runtime starts it: the environment
//! (`pkg/kubelet/kubelet_pods.go`, `makeEnvironmentVariables`, with `$(VAR)` expansion and
//! the downward API's `fieldRef`), the files of ConfigMap, Secret and service-account
//! volumes (the volume manager's `SetUp`), and logins from image pull secrets (the
//! credential keyring). It reads API objects only through [`PodObjects`], which the kubelet
//! implements.

use super::*;

impl Runtime {
    /// Credentials from the pod's imagePullSecrets.
    pub fn pull_credentials(
        &self,
        objects: &dyn PodObjects,
        ns: &str,
        pod: &Value,
    ) -> Vec<RegistryCredential> {
        let mut out = Vec::new();
        for s in pod["spec"]["imagePullSecrets"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(name) = s["name"].as_str() else {
                continue;
            };
            let Some(secret) = objects.secret(ns, name) else {
                continue;
            };
            let data = secret.data.unwrap_or_default();
            if let Some(bytes) = data
                .get(".dockerconfigjson")
                .or_else(|| data.get(".dockercfg"))
                && let Ok(creds) = registry::credentials_from_dockerconfigjson(&bytes.0)
            {
                out.extend(creds);
            }
        }
        out
    }

    /// A ConfigMap or Secret volume that cannot be mounted, as the FailedMount message.
    pub fn missing_volume(
        &self,
        objects: &dyn PodObjects,
        ns: &str,
        pod: &Value,
    ) -> Option<String> {
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            let vol = v["name"].as_str().unwrap_or_default();
            if let Some(cm) = v.get("configMap") {
                let name = cm["name"].as_str().unwrap_or_default();
                if cm["optional"] != true && objects.config_map(ns, name).is_none() {
                    return Some(format!(
                        "MountVolume.SetUp failed for volume \"{vol}\" : configmap \"{name}\" not found"
                    ));
                }
            }
            if let Some(s) = v.get("secret") {
                let name = s["secretName"].as_str().unwrap_or_default();
                if s["optional"] != true && objects.secret(ns, name).is_none() {
                    return Some(format!(
                        "MountVolume.SetUp failed for volume \"{vol}\" : secret \"{name}\" not found"
                    ));
                }
            }
        }
        None
    }

    /// The container's environment, or the CreateContainerConfigError message.
    pub fn container_env(
        &self,
        objects: &dyn PodObjects,
        ns: &str,
        pod: &Value,
        c: &Container,
        image: &ImageInfo,
    ) -> Result<Vec<(String, String)>, RuntimeError> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
        for (k, v) in &image.resolved.env {
            env.insert(k.clone(), v.clone());
        }
        env.insert("HOSTNAME".into(), name_of(pod).to_string());
        env.insert("KUBERNETES_SERVICE_HOST".into(), "10.96.0.1".into());
        env.insert("KUBERNETES_SERVICE_PORT".into(), "443".into());
        env.insert("KUBERNETES_SERVICE_PORT_HTTPS".into(), "443".into());
        env.insert("KUBERNETES_PORT".into(), "tcp://10.96.0.1:443".into());
        env.insert("HOME".into(), "/root".into());
        for from in c.env_from.iter().flatten() {
            let prefix = from.prefix.clone().unwrap_or_default();
            if let Some(r) = &from.config_map_ref {
                match objects.config_map(ns, &r.name) {
                    Some(cm) => {
                        for (k, v) in cm.data.unwrap_or_default() {
                            env.insert(format!("{prefix}{k}"), v);
                        }
                    }
                    None if r.optional == Some(true) => {}
                    None => {
                        return Err(RuntimeError::ConfigMapNotFound {
                            name: r.name.clone(),
                        });
                    }
                }
            }
            if let Some(r) = &from.secret_ref {
                match objects.secret(ns, &r.name) {
                    Some(s) => {
                        for (k, v) in s.data.unwrap_or_default() {
                            env.insert(
                                format!("{prefix}{k}"),
                                String::from_utf8_lossy(&v.0).into_owned(),
                            );
                        }
                    }
                    None if r.optional == Some(true) => {}
                    None => {
                        return Err(RuntimeError::SecretNotFound {
                            name: r.name.clone(),
                        });
                    }
                }
            }
        }
        for e in c.env.iter().flatten() {
            let value = if let Some(v) = &e.value {
                expand_dependent(v, &env)
            } else if let Some(src) = &e.value_from {
                if let Some(r) = &src.config_map_key_ref {
                    match objects.config_map(ns, &r.name) {
                        Some(cm) => match cm.data.unwrap_or_default().get(&r.key) {
                            Some(v) => v.clone(),
                            None if r.optional == Some(true) => continue,
                            None => {
                                return Err(RuntimeError::ConfigMapKeyNotFound {
                                    ns: ns.to_string(),
                                    name: r.name.clone(),
                                    key: r.key.clone(),
                                });
                            }
                        },
                        None if r.optional == Some(true) => continue,
                        None => {
                            return Err(RuntimeError::ConfigMapNotFound {
                                name: r.name.clone(),
                            });
                        }
                    }
                } else if let Some(r) = &src.secret_key_ref {
                    match objects.secret(ns, &r.name) {
                        Some(s) => match s.data.unwrap_or_default().get(&r.key) {
                            Some(v) => String::from_utf8_lossy(&v.0).into_owned(),
                            None if r.optional == Some(true) => continue,
                            None => {
                                return Err(RuntimeError::SecretKeyNotFound {
                                    ns: ns.to_string(),
                                    name: r.name.clone(),
                                    key: r.key.clone(),
                                });
                            }
                        },
                        None if r.optional == Some(true) => continue,
                        None => {
                            return Err(RuntimeError::SecretNotFound {
                                name: r.name.clone(),
                            });
                        }
                    }
                } else if let Some(f) = &src.field_ref {
                    field_value(pod, &f.field_path)
                } else {
                    String::new()
                }
            } else {
                String::new()
            };
            env.insert(e.name.clone(), value);
        }
        Ok(env.into_iter().collect())
    }

    /// Files the container sees from ConfigMap and Secret volumes.
    pub fn mounted_files(
        &self,
        objects: &dyn PodObjects,
        ns: &str,
        pod: &Value,
        c: &Container,
    ) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        files.insert("/etc/hostname".to_string(), format!("{}\n", name_of(pod)));
        // The kubelet's resolv.conf for dnsPolicy ClusterFirst (the default): cluster DNS
        // first, the pod's namespace first in the search list (pkg/kubelet/network/dns).
        let policy = pod["spec"]["dnsPolicy"].as_str().unwrap_or("ClusterFirst");
        if matches!(policy, "ClusterFirst" | "ClusterFirstWithHostNet") {
            files.insert(
                "/etc/resolv.conf".to_string(),
                format!(
                    "search {ns}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
                ),
            );
        }
        let volumes = pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for m in c.volume_mounts.iter().flatten() {
            let Some(v) = volumes.iter().find(|v| v["name"] == m.name.as_str()) else {
                continue;
            };
            let base = m.mount_path.trim_end_matches('/');
            let mut entries: Vec<(String, String)> = Vec::new();
            if let Some(cm) = v.get("configMap") {
                if let Some(obj) = objects.config_map(ns, cm["name"].as_str().unwrap_or_default()) {
                    entries.extend(obj.data.unwrap_or_default());
                }
                apply_items(&mut entries, &cm["items"]);
            } else if let Some(s) = v.get("secret") {
                if let Some(obj) = objects.secret(ns, s["secretName"].as_str().unwrap_or_default())
                {
                    entries.extend(
                        obj.data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned())),
                    );
                }
                apply_items(&mut entries, &s["items"]);
            } else if v.get("projected").is_some() && base.ends_with("serviceaccount") {
                entries.push(("namespace".into(), ns.to_string()));
                entries.push(("ca.crt".into(), objects.root_ca_pem()));
                entries.push((
                    "token".into(),
                    "eyJhbGciOiJSUzI1NiJ9.kubequest.embedded".into(),
                ));
            }
            match &m.sub_path {
                Some(sub) if !sub.is_empty() => {
                    if let Some((_, content)) = entries.iter().find(|(k, _)| k == sub) {
                        files.insert(base.to_string(), content.clone());
                    }
                }
                _ => {
                    for (k, content) in entries {
                        files.insert(format!("{base}/{k}"), content);
                    }
                }
            }
        }
        files
    }
}

/// `metadata.name` of the pod (as the API server's `kinds::name_of`).
fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The string at a JSON pointer, or `""` (as the API server's `kinds::str_at`).
fn str_at<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn apply_items(entries: &mut Vec<(String, String)>, items: &Value) {
    let Some(items) = items.as_array() else {
        return;
    };
    let mut out = Vec::new();
    for it in items {
        let (Some(key), Some(path)) = (it["key"].as_str(), it["path"].as_str()) else {
            continue;
        };
        if let Some((_, v)) = entries.iter().find(|(k, _)| k == key) {
            out.push((path.to_string(), v.clone()));
        }
    }
    *entries = out;
}

/// `$(VAR)` references to earlier variables, as the kubelet expands them.
fn expand_dependent(v: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) => {
                let name = &after[..end];
                match env.get(name) {
                    Some(val) => out.push_str(val),
                    None => {
                        out.push_str("$(");
                        out.push_str(name);
                        out.push(')');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn field_value(pod: &Value, path: &str) -> String {
    let ptr = match path {
        "metadata.name" => "/metadata/name",
        "metadata.namespace" => "/metadata/namespace",
        "metadata.uid" => "/metadata/uid",
        "spec.nodeName" => "/spec/nodeName",
        "spec.serviceAccountName" => "/spec/serviceAccountName",
        "status.podIP" => "/status/podIP",
        "status.hostIP" => "/status/hostIP",
        _ => return String::new(),
    };
    str_at(pod, ptr).to_string()
}

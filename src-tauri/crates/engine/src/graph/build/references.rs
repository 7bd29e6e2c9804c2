//! What pods name: the ConfigMaps, Secrets, claims and ServiceAccounts of their specs (volumes,
//! projected sources, env, envFrom, image pull secrets), found or missing, with a missing key
//! as a broken edge.

use super::*;

/// One object a pod (or a template) names.
struct Reference {
    kind: ObjectKind,
    name: String,
    relation: Relation,
    /// The key it reads, for `configMapKeyRef`, `secretKeyRef` and volume `items`.
    keys: Vec<String>,
    optional: bool,
}

/// The volume the ServiceAccount admission plug-in adds to every pod (`kube-api-access-<5>`:
/// the account's token, `kube-root-ca.crt` and the namespace): the same in every pod, so it is
/// left out of the picture.
fn is_api_access_volume(v: &k8s_openapi::api::core::v1::Volume) -> bool {
    v.name.starts_with("kube-api-access-")
        && v.projected.as_ref().is_some_and(|p| {
            p.sources
                .iter()
                .flatten()
                .any(|s| s.service_account_token.is_some())
        })
}

/// Everything a pod spec names, in spec order.
fn spec_references(spec: &PodSpec) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut push = |kind, name: &str, relation, keys: Vec<String>, optional: Option<bool>| {
        if !name.is_empty() {
            out.push(Reference {
                kind,
                name: name.to_owned(),
                relation,
                keys,
                optional: optional == Some(true),
            });
        }
    };
    for v in spec.volumes.iter().flatten() {
        if let Some(c) = &v.config_map {
            let keys = c.items.iter().flatten().map(|i| i.key.clone()).collect();
            push(
                ObjectKind::ConfigMap,
                &c.name,
                Relation::Mounts,
                keys,
                c.optional,
            );
        }
        if let Some(s) = &v.secret {
            let keys = s.items.iter().flatten().map(|i| i.key.clone()).collect();
            push(
                ObjectKind::Secret,
                s.secret_name.as_deref().unwrap_or_default(),
                Relation::Mounts,
                keys,
                s.optional,
            );
        }
        if let Some(c) = &v.persistent_volume_claim {
            push(
                ObjectKind::PersistentVolumeClaim,
                &c.claim_name,
                Relation::Mounts,
                Vec::new(),
                None,
            );
        }
        if let Some(p) = &v.projected
            && !is_api_access_volume(v)
        {
            for s in p.sources.iter().flatten() {
                if let Some(c) = &s.config_map {
                    let keys = c.items.iter().flatten().map(|i| i.key.clone()).collect();
                    push(
                        ObjectKind::ConfigMap,
                        &c.name,
                        Relation::Mounts,
                        keys,
                        c.optional,
                    );
                }
                if let Some(c) = &s.secret {
                    let keys = c.items.iter().flatten().map(|i| i.key.clone()).collect();
                    push(
                        ObjectKind::Secret,
                        &c.name,
                        Relation::Mounts,
                        keys,
                        c.optional,
                    );
                }
            }
        }
    }
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter());
    for c in containers {
        for e in c.env.iter().flatten() {
            let Some(from) = &e.value_from else { continue };
            if let Some(r) = &from.config_map_key_ref {
                push(
                    ObjectKind::ConfigMap,
                    &r.name,
                    Relation::Env,
                    vec![r.key.clone()],
                    r.optional,
                );
            }
            if let Some(r) = &from.secret_key_ref {
                push(
                    ObjectKind::Secret,
                    &r.name,
                    Relation::Env,
                    vec![r.key.clone()],
                    r.optional,
                );
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(r) = &e.config_map_ref {
                push(
                    ObjectKind::ConfigMap,
                    &r.name,
                    Relation::Env,
                    Vec::new(),
                    r.optional,
                );
            }
            if let Some(r) = &e.secret_ref {
                push(
                    ObjectKind::Secret,
                    &r.name,
                    Relation::Env,
                    Vec::new(),
                    r.optional,
                );
            }
        }
    }
    for s in spec.image_pull_secrets.iter().flatten() {
        push(
            ObjectKind::Secret,
            &s.name,
            Relation::PullSecret,
            Vec::new(),
            None,
        );
    }
    #[allow(deprecated)]
    let account = spec
        .service_account_name
        .as_deref()
        .or(spec.service_account.as_deref())
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    push(
        ObjectKind::ServiceAccount,
        account,
        Relation::RunsAs,
        Vec::new(),
        None,
    );
    out
}

fn config_map_keys(cm: &ConfigMap) -> BTreeSet<&str> {
    cm.data
        .iter()
        .flat_map(|d| d.keys())
        .chain(cm.binary_data.iter().flat_map(|d| d.keys()))
        .map(String::as_str)
        .collect()
}

fn keys_summary(keys: &[&str]) -> String {
    match keys.len() {
        0 => "no keys".into(),
        1 => format!("1 key: {}", keys[0]),
        n => format!("{n} keys: {}", keys.join(", ")),
    }
}

fn claim_summary(c: &PersistentVolumeClaim) -> String {
    let phase = c
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    let capacity = c
        .status
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|m| m.get("storage"))
        .map(|q| q.0.clone())
        .or_else(|| {
            c.spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|m| m.get("storage"))
                .map(|q| q.0.clone())
        });
    match capacity {
        Some(cap) => format!("{phase} {cap}"),
        None => phase,
    }
}

/// The ConfigMaps, Secrets, claims and ServiceAccounts pods name, present or missing.
pub(super) fn references(b: &mut Builder<'_>) {
    let ns = b.ns();
    let src = b.src;
    // Who names what: each pod, and each workload that has no pod yet (its template).
    let mut users: Vec<(String, Vec<Reference>)> = Vec::new();
    for pod in src.pods {
        if let Some(spec) = &pod.spec {
            users.push((
                node_id(GraphKind::Pod, name_of(&pod.metadata)),
                spec_references(spec),
            ));
        }
    }
    for view in src.views.iter().filter(|v| v.pods.is_empty()) {
        let kind = workload_graph_kind(view.kind);
        let template = src
            .workloads
            .get(view.kind, &view.name)
            .and_then(template_of)
            .and_then(|t| t.spec.as_ref());
        if let Some(spec) = template {
            users.push((node_id(kind, &view.name), spec_references(spec)));
        }
    }
    for (user, refs) in users {
        for r in refs {
            let kind = object_graph_kind(r.kind);
            let lookup = src.objects.lookup(r.kind, &r.name);
            let why = match lookup {
                Lookup::Unknown => continue,
                Lookup::Missing if r.optional => continue,
                Lookup::Missing => {
                    let node = b.node(kind, &r.name, None, Health::Missing);
                    node.summary = "not found".into();
                    let text = format!("{} \"{}\" not found", resource(kind), r.name);
                    node.evidence = vec![text.clone()];
                    node.commands = vec![command(
                        "whether it exists",
                        format!("kubectl get {} {} -n {ns}", resource(kind), r.name),
                    )];
                    Some(text)
                }
                Lookup::Found(o) => {
                    let present: BTreeSet<String> = match o {
                        NsObject::ConfigMap(cm) => {
                            config_map_keys(cm).into_iter().map(str::to_owned).collect()
                        }
                        NsObject::Secret(s) => s.keys.iter().cloned().collect(),
                        _ => BTreeSet::new(),
                    };
                    found_node(b, o);
                    r.keys
                        .iter()
                        .find(|k| !present.contains(k.as_str()) && !r.optional)
                        .map(|k| format!("key \"{k}\" not in {} \"{}\"", resource(kind), r.name))
                }
            };
            b.edge(user.clone(), node_id(kind, &r.name), r.relation, why);
        }
    }
}

/// The node of an existing referenced object.
fn found_node(b: &mut Builder<'_>, o: &NsObject) {
    let ns = b.ns();
    let kind = object_graph_kind(o.kind());
    let name = o.name().to_owned();
    let meta = o.meta();
    let mut health = if meta.deletion_timestamp.is_some() {
        Health::Terminating
    } else {
        Health::Ok
    };
    let (summary, commands, mut evidence) = match o {
        NsObject::ConfigMap(cm) => {
            let keys: Vec<&str> = config_map_keys(cm).into_iter().collect();
            (
                keys_summary(&keys),
                vec![command(
                    "its keys and values",
                    format!("kubectl get configmap {name} -n {ns} -o yaml"),
                )],
                Vec::new(),
            )
        }
        NsObject::Secret(SecretKeys { type_, keys, .. }) => {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            (
                format!(
                    "{}, {}",
                    type_.as_deref().unwrap_or("Opaque"),
                    keys_summary(&keys)
                ),
                vec![command(
                    "its keys and their sizes (not the values)",
                    format!("kubectl describe secret {name} -n {ns}"),
                )],
                Vec::new(),
            )
        }
        NsObject::PersistentVolumeClaim(c) => {
            let phase = c.status.as_ref().and_then(|s| s.phase.as_deref());
            let mut evidence = Vec::new();
            match phase {
                Some("Bound") => {}
                Some("Lost") => {
                    health = Health::Broken;
                    evidence.push("status.phase: Lost".to_owned());
                }
                _ => {
                    // Pending: broken when the volume controller says why it cannot bind.
                    let events = b.events_about("PersistentVolumeClaim", meta);
                    let warning = events.iter().rev().find(|e| e.type_ == "Warning");
                    if let Some(e) = warning {
                        health = Health::Broken;
                        evidence.push(format!("status.phase: {}", phase.unwrap_or("Pending")));
                        evidence.push(format!("{} {}: {}", e.type_, e.reason, e.message));
                    } else if health == Health::Ok {
                        health = Health::Progressing;
                    }
                }
            }
            (
                claim_summary(c),
                vec![command(
                    "its phase, volume and events",
                    format!("kubectl describe pvc {name} -n {ns}"),
                )],
                evidence,
            )
        }
        NsObject::ServiceAccount(sa) => (
            match sa.automount_service_account_token {
                Some(false) => "automountServiceAccountToken: false".into(),
                _ => String::new(),
            },
            vec![command(
                "the account",
                format!("kubectl get serviceaccount {name} -n {ns} -o yaml"),
            )],
            Vec::new(),
        ),
        _ => (String::new(), Vec::new(), Vec::new()),
    };
    if health != Health::Broken {
        evidence.clear();
    }
    let conditions = match o {
        NsObject::PersistentVolumeClaim(c) => {
            graph_conditions!(c.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }
        _ => Vec::new(),
    };
    let node = b.node(kind, &name, meta.uid.as_deref(), health);
    node.summary = summary;
    node.commands = commands;
    node.evidence = evidence;
    node.conditions = conditions;
}

//! Strategic merge patch (`application/strategic-merge-patch+json`), as kubectl `apply`,
//! `edit`, `set image` and `patch` send it.
//!
//! Lists are merged by their patch merge keys (containers by `name`, ports by
//! `containerPort`, ...) taken from a small table of the Kubernetes types' `patchMergeKey`
//! tags; lists without one are replaced. The directives `$patch: replace|delete|merge`,
//! `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are
//! honoured. The table is keyed by type name, so new kinds (Deployments' pod templates)
//! only add rows.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListStrategy {
    /// Merge elements whose merge key matches.
    Keyed(&'static str),
    /// A set of scalars: union.
    PrimitiveSet,
}

/// Type of a field, from the parent type; "" for untyped (plain recursive merge).
pub(crate) fn field_type(parent: &str, field: &str) -> &'static str {
    match (parent, field) {
        (_, "metadata") => "ObjectMeta",
        ("Pod", "spec") | ("PodTemplateSpec", "spec") => "PodSpec",
        ("Pod", "status") => "PodStatus",
        ("Deployment" | "ReplicaSet" | "Job" | "StatefulSet" | "DaemonSet", "spec") => {
            "WorkloadSpec"
        }
        ("WorkloadSpec", "template") => "PodTemplateSpec",
        (
            "Deployment" | "ReplicaSet" | "Job" | "StatefulSet" | "DaemonSet" | "CronJob",
            "status",
        ) => "WorkloadStatus",
        ("CronJob", "spec") => "CronJobSpec",
        ("CronJobSpec", "jobTemplate") => "JobTemplateSpec",
        ("JobTemplateSpec", "spec") => "WorkloadSpec",
        ("PodSpec", "containers" | "initContainers" | "ephemeralContainers") => "Container",
        ("Service", "spec") => "ServiceSpec",
        ("Node", "spec") => "NodeSpec",
        ("Node", "status") => "NodeStatus",
        _ => "",
    }
}

pub(crate) fn list_strategy(parent: &str, field: &str) -> Option<ListStrategy> {
    use ListStrategy::*;
    Some(match (parent, field) {
        ("ObjectMeta", "finalizers") => PrimitiveSet,
        ("ObjectMeta", "ownerReferences") => Keyed("uid"),
        ("PodSpec", "containers" | "initContainers" | "ephemeralContainers") => Keyed("name"),
        ("PodSpec", "volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims") => {
            Keyed("name")
        }
        ("PodSpec", "hostAliases") => Keyed("ip"),
        ("PodSpec", "topologySpreadConstraints") => Keyed("topologyKey"),
        ("Container", "ports") => Keyed("containerPort"),
        ("Container", "env") => Keyed("name"),
        ("Container", "volumeMounts") => Keyed("mountPath"),
        ("Container", "volumeDevices") => Keyed("devicePath"),
        ("Container", "resizePolicy") => Keyed("resourceName"),
        ("PodStatus", "conditions") => Keyed("type"),
        // Deployment, ReplicaSet, StatefulSet, DaemonSet and Job status conditions.
        ("WorkloadStatus", "conditions") => Keyed("type"),
        ("PodStatus", "podIPs" | "hostIPs") => Keyed("ip"),
        ("ServiceSpec", "ports") => Keyed("port"),
        ("NodeSpec", "podCIDRs") => PrimitiveSet,
        ("NodeStatus", "conditions" | "addresses") => Keyed("type"),
        ("ServiceAccount", "secrets" | "imagePullSecrets") => Keyed("name"),
        _ => return None,
    })
}

/// Apply a strategic merge patch to `original` (of Kubernetes kind `kind`).
pub fn apply(original: &Value, patch: &Value, kind: &str) -> Result<Value> {
    let Some(p) = patch.as_object() else {
        return Err(Error::BadRequest(
            "unable to find api field in struct for the patch: the patch must be a JSON object"
                .into(),
        ));
    };
    let mut out = original.clone();
    let Some(o) = out.as_object_mut() else {
        return Ok(clean(patch));
    };
    if merge_map(o, p, kind)? == Outcome::Delete {
        return Ok(Value::Object(Map::new()));
    }
    Ok(out)
}

#[derive(PartialEq, Eq)]
enum Outcome {
    Keep,
    Delete,
}

fn is_directive(k: &str) -> bool {
    k.starts_with('$')
}

/// Strip directives from a value being inserted wholesale.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !is_directive(k))
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        // Delete directives have nothing to delete in a new list, and a lone
        // `{"$patch": "replace"}` marker is not an element.
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|e| match e.get("$patch").and_then(Value::as_str) {
                    Some("delete") => false,
                    Some(_) => e.as_object().is_some_and(|m| m.len() > 1),
                    None => true,
                })
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn merge_map(
    orig: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    ty: &str,
) -> Result<Outcome> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *orig = match clean(&Value::Object(patch.clone())) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            return Ok(Outcome::Keep);
        }
        Some("delete") => return Ok(Outcome::Delete),
        Some("merge") | None => {}
        Some(other) => {
            return Err(Error::BadRequest(format!("Unknown patch type: {other}")));
        }
    }
    let mut orders: Vec<(&str, &Vec<Value>)> = Vec::new();
    for (k, v) in patch {
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            if let Some(list) = v.as_array() {
                orders.push((field, list));
            }
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(cur)), Some(del)) = (orig.get_mut(field), v.as_array()) {
                cur.retain(|x| !del.contains(x));
            }
            continue;
        }
        if is_directive(k) {
            continue;
        }
        if v.is_null() {
            orig.remove(k);
            continue;
        }
        let child_ty = field_type(ty, k);
        match (orig.get_mut(k), v) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                if merge_map(o, p, child_ty)? == Outcome::Delete {
                    orig.remove(k);
                }
            }
            (_, Value::Object(p)) if p.get("$patch").and_then(Value::as_str) == Some("delete") => {
                orig.remove(k);
            }
            (Some(Value::Array(o)), Value::Array(p)) => match list_strategy(ty, k) {
                Some(strategy) => merge_list(o, p, strategy, child_ty)?,
                None => {
                    orig.insert(k.clone(), clean(v));
                }
            },
            _ => {
                orig.insert(k.clone(), clean(v));
            }
        }
    }
    if let Some(keep) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        orig.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (field, order) in orders {
        if let (Some(Value::Array(list)), Some(strategy)) =
            (orig.get_mut(field), list_strategy(ty, field))
        {
            reorder(list, order, strategy);
        }
    }
    Ok(Outcome::Keep)
}

fn key_of(v: &Value, strategy: ListStrategy) -> Option<&Value> {
    match strategy {
        ListStrategy::Keyed(k) => v.get(k),
        ListStrategy::PrimitiveSet => Some(v),
    }
}

fn merge_list(
    orig: &mut Vec<Value>,
    patch: &[Value],
    strategy: ListStrategy,
    elem_ty: &str,
) -> Result<()> {
    if patch.iter().any(|e| {
        e.get("$patch").and_then(Value::as_str) == Some("replace")
            && e.as_object().is_some_and(|m| m.len() == 1)
    }) {
        *orig = patch
            .iter()
            .filter(|e| !(e.get("$patch").is_some() && e.as_object().is_some_and(|m| m.len() == 1)))
            .map(clean)
            .collect();
        return Ok(());
    }
    for p in patch {
        match strategy {
            ListStrategy::PrimitiveSet => {
                if !orig.contains(p) {
                    orig.push(p.clone());
                }
            }
            ListStrategy::Keyed(_) => {
                let Some(pk) = key_of(p, strategy).cloned() else {
                    orig.push(clean(p));
                    continue;
                };
                let pos = orig.iter().position(|o| key_of(o, strategy) == Some(&pk));
                if p.get("$patch").and_then(Value::as_str) == Some("delete") {
                    orig.retain(|o| key_of(o, strategy) != Some(&pk));
                    continue;
                }
                match (pos, p.as_object()) {
                    (Some(i), Some(pm)) => {
                        if let Some(Value::Object(om)) = orig.get_mut(i)
                            && merge_map(om, pm, elem_ty)? == Outcome::Delete
                        {
                            orig.remove(i);
                        }
                    }
                    _ => orig.push(clean(p)),
                }
            }
        }
    }
    Ok(())
}

fn reorder(list: &mut Vec<Value>, order: &[Value], strategy: ListStrategy) {
    let mut rest = std::mem::take(list);
    for o in order {
        let want = key_of(o, strategy);
        if let Some(i) = rest
            .iter()
            .position(|e| key_of(e, strategy) == want && want.is_some())
        {
            list.push(rest.remove(i));
        }
    }
    list.append(&mut rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_image_patch_merges_by_name() {
        let orig = json!({"spec":{"containers":[{"name":"a","image":"x:1","ports":[{"containerPort":80}]},{"name":"b","image":"y:1"}]}});
        let patch = json!({"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],"containers":[{"image":"x:2","name":"a"}]}});
        let out = apply(&orig, &patch, "Pod").unwrap();
        assert_eq!(out["spec"]["containers"][0]["image"], "x:2");
        assert_eq!(
            out["spec"]["containers"][0]["ports"][0]["containerPort"], 80,
            "untouched fields stay"
        );
        assert_eq!(out["spec"]["containers"][1]["image"], "y:1");
    }

    #[test]
    fn workload_templates_and_conditions_merge_by_key() {
        let cj = json!({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[
            {"name":"a","image":"x:1","env":[{"name":"A","value":"1"}]},{"name":"b","image":"y:1"}]}}}}}});
        let patch = json!({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[
            {"name":"a","env":[{"name":"B","value":"2"}]}]}}}}}});
        let out = apply(&cj, &patch, "CronJob").unwrap();
        let cs = &out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"];
        assert_eq!(cs[1]["image"], "y:1", "other containers stay");
        assert_eq!(
            cs[0]["env"],
            json!([{"name":"A","value":"1"},{"name":"B","value":"2"}]),
            "env merges by name inside a cron job's template"
        );
        let d = json!({"status":{"conditions":[{"type":"Available","status":"True"},{"type":"Progressing","status":"True"}]}});
        let patch = json!({"status":{"conditions":[{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded"}]}});
        let out = apply(&d, &patch, "Deployment").unwrap();
        assert_eq!(out["status"]["conditions"][0]["type"], "Available");
        assert_eq!(
            out["status"]["conditions"][1]["reason"],
            "ProgressDeadlineExceeded"
        );
    }

    #[test]
    fn directives() {
        let orig = json!({"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"},{"name":"Y","value":"2"}]}]},
                          "metadata":{"finalizers":["a"],"labels":{"k":"v","z":"1"}}});
        let patch = json!({"spec":{"containers":[{"name":"a","env":[{"name":"X","$patch":"delete"}]}]},
                           "metadata":{"finalizers":["b"],"labels":{"z":null}}});
        let out = apply(&orig, &patch, "Pod").unwrap();
        assert_eq!(
            out["spec"]["containers"][0]["env"],
            json!([{"name":"Y","value":"2"}])
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(out["metadata"]["labels"], json!({"k":"v"}));

        let patch = json!({"spec":{"containers":[{"name":"n","image":"i"},{"$patch":"replace"}]}});
        let out = apply(&orig, &patch, "Pod").unwrap();
        assert_eq!(out["spec"]["containers"], json!([{"name":"n","image":"i"}]));

        let patch = json!({"metadata":{"labels":{"$patch":"replace","only":"this"}}});
        let out = apply(&orig, &patch, "Pod").unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"only":"this"}));

        let patch =
            json!({"spec":{"$retainKeys":["containers"],"containers":[{"name":"a","image":"q"}]}});
        let orig2 = json!({"spec":{"containers":[{"name":"a"}],"restartPolicy":"Always"}});
        let out = apply(&orig2, &patch, "Pod").unwrap();
        assert!(out["spec"].get("restartPolicy").is_none());

        let patch = json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}});
        let out = apply(&orig, &patch, "Pod").unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!([]));
    }

    #[test]
    fn unkeyed_lists_are_replaced() {
        let orig = json!({"spec":{"tolerations":[{"key":"a"}]}});
        let out = apply(&orig, &json!({"spec":{"tolerations":[{"key":"b"}]}}), "Pod").unwrap();
        assert_eq!(out["spec"]["tolerations"], json!([{"key":"b"}]));
    }
}

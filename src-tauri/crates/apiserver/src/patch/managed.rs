//! `metadata.managedFields`: which field manager (`kubectl-client-side-apply`, `kubectl-edit`,
//! a server-side apply `fieldManager`, ...) set which fields, in the `FieldsV1` format.
//!
//! This is the simple form of server-side apply bookkeeping: a create or update records the
//! fields it set or changed for its manager (operation `Update`), an apply records exactly the
//! fields of the applied configuration (operation `Apply`). Conflicts between managers are not
//! enforced. kubectl hides the field by default (`--show-managed-fields` shows it).

use serde_json::{Map, Value, json};

use super::strategic::{ListStrategy, field_type, list_strategy};

/// Map-typed fields: their entries are owned individually, and the map itself gets `.`.
fn is_map_field(name: &str) -> bool {
    matches!(
        name,
        "labels"
            | "annotations"
            | "data"
            | "binaryData"
            | "stringData"
            | "selector"
            | "nodeSelector"
            | "requests"
            | "limits"
    )
}

/// System metadata no manager owns.
fn is_system(parent_ty: &str, key: &str) -> bool {
    parent_ty == "ObjectMeta"
        && matches!(
            key,
            "uid"
                | "resourceVersion"
                | "creationTimestamp"
                | "generation"
                | "managedFields"
                | "name"
                | "namespace"
                | "selfLink"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
        )
}

fn element_key(v: &Value, strategy: ListStrategy) -> Option<String> {
    match strategy {
        ListStrategy::Keyed(k) => v.get(k).map(|kv| format!("k:{}", json!({ k: kv }))),
        ListStrategy::PrimitiveSet => Some(format!("v:{v}")),
    }
}

/// The FieldsV1 set of every field present in `v` (of type `ty`).
pub(crate) fn field_set(v: &Value, ty: &str) -> Value {
    let mut out = Map::new();
    let Some(obj) = v.as_object() else {
        return Value::Object(out);
    };
    for (k, child) in obj {
        if is_system(ty, k) {
            continue;
        }
        out.insert(format!("f:{k}"), child_set(child, ty, k));
    }
    Value::Object(out)
}

fn child_set(child: &Value, ty: &str, k: &str) -> Value {
    let child_ty = field_type(ty, k);
    match child {
        Value::Object(_) => {
            let mut s = field_set(child, child_ty);
            if is_map_field(k)
                && let Some(m) = s.as_object_mut()
            {
                m.insert(".".into(), json!({}));
            }
            s
        }
        Value::Array(items) => match list_strategy(ty, k) {
            Some(strategy) => {
                let mut m = Map::new();
                for item in items {
                    if let Some(key) = element_key(item, strategy) {
                        let mut e = if item.is_object() {
                            field_set(item, child_ty)
                        } else {
                            json!({})
                        };
                        if item.is_object()
                            && let Some(em) = e.as_object_mut()
                        {
                            em.insert(".".into(), json!({}));
                        }
                        m.insert(key, e);
                    }
                }
                Value::Object(m)
            }
            None => json!({}),
        },
        _ => json!({}),
    }
}

/// The FieldsV1 set of fields that are new or different in `new` compared with `old`.
pub(crate) fn changed_set(old: &Value, new: &Value, ty: &str) -> Value {
    let mut out = Map::new();
    let Some(n) = new.as_object() else {
        return Value::Object(out);
    };
    let o = old.as_object();
    for (k, nv) in n {
        if is_system(ty, k) {
            continue;
        }
        let ov = o.and_then(|o| o.get(k));
        if ov == Some(nv) {
            continue;
        }
        let child_ty = field_type(ty, k);
        let entry = match (ov, nv) {
            (Some(ov @ Value::Object(_)), Value::Object(_)) => {
                let mut s = changed_set(ov, nv, child_ty);
                if is_map_field(k)
                    && let Some(m) = s.as_object_mut()
                {
                    m.insert(".".into(), json!({}));
                }
                s
            }
            _ => child_set(nv, ty, k),
        };
        out.insert(format!("f:{k}"), entry);
    }
    Value::Object(out)
}

fn union(into: &mut Value, from: &Value) {
    let (Some(a), Some(b)) = (into.as_object_mut(), from.as_object()) else {
        return;
    };
    for (k, v) in b {
        match a.get_mut(k) {
            Some(existing) => union(existing, v),
            None => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

fn is_empty(v: &Value) -> bool {
    v.as_object().is_none_or(Map::is_empty)
}

/// The part of an object a write through the main resource (`status: false`) or the
/// `/status` subresource (`status: true`) can own.
pub(crate) fn ownable(obj: &Value, status: bool) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        if status {
            m.retain(|k, _| k == "status");
        } else {
            m.remove("status");
        }
    }
    o
}

/// Record `fields` for `manager` in `obj.metadata.managedFields`. `replace` (apply) swaps the
/// manager's set; otherwise the new fields are added to it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    obj: &mut Value,
    manager: &str,
    operation: &str,
    subresource: Option<&str>,
    fields: Value,
    api_version: &str,
    time: &str,
    replace: bool,
) {
    if is_empty(&fields) && !replace {
        return;
    }
    let mut entries: Vec<Value> = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let same = |e: &Value| {
        e["manager"] == manager
            && e["operation"] == operation
            && e.get("subresource").and_then(Value::as_str) == subresource
    };
    match entries.iter_mut().find(|e| same(e)) {
        Some(e) => {
            if replace {
                e["fieldsV1"] = fields;
            } else {
                union(&mut e["fieldsV1"], &fields);
            }
            e["time"] = json!(time);
            e["apiVersion"] = json!(api_version);
        }
        None => {
            let mut e = json!({
                "manager": manager,
                "operation": operation,
                "apiVersion": api_version,
                "time": time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fields,
            });
            if let Some(s) = subresource {
                e["subresource"] = json!(s);
            }
            entries.push(e);
        }
    }
    obj["metadata"]["managedFields"] = Value::Array(entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_lists_and_maps() {
        let pod = json!({"metadata": {"name": "x", "labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let s = field_set(&pod, "Pod");
        assert_eq!(
            s,
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                   "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
        );
        let new = json!({"metadata": {"name": "x", "labels": {"app": "a", "tier": "t"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        assert_eq!(
            changed_set(&pod, &new, "Pod"),
            json!({"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}})
        );
    }
}

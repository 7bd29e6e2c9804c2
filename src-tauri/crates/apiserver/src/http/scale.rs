//! The `scale` subresource of Deployments, ReplicaSets and StatefulSets: an `autoscaling/v1`
//! `Scale` view of the object (`spec.replicas`, `status.replicas`, `status.selector` as a
//! selector string), read with GET and written with PUT or PATCH, which is what `kubectl
//! scale` and the HPA use. Kubernetes keeps the same in `pkg/registry/apps/deployment/
//! storage/storage.go` (`ScaleREST`, `scaleFromDeployment`, `scaleUpdatedObjectInfo`) and its
//! replica set and stateful set twins, and `pkg/apis/autoscaling/validation` (`ValidateScale`).

use serde_json::{Value, json};

use super::{ApiState, Body, Req, current, json_response};
use crate::error::{Error, Result};
use crate::kinds::{self, ResourceKind, podtemplate};
use crate::store::{PatchKind, WriteOptions};
use kq_kube::validation::FieldError;

/// The `Scale` of a stored object.
pub(crate) fn scale_of(obj: &Value) -> Value {
    let sel = podtemplate::selector_at(obj, "/spec/selector");
    // `labels.Selector.String()`: like the printer's, but empty rather than `<none>`.
    let selector = match podtemplate::format_selector(sel.as_ref()) {
        s if s == "<none>" => String::new(),
        s => s,
    };
    let meta = &obj["metadata"];
    let mut m = json!({
        "name": meta["name"],
        "namespace": meta["namespace"],
        "uid": meta["uid"],
        "resourceVersion": meta["resourceVersion"],
        "creationTimestamp": meta["creationTimestamp"],
    });
    if let Some(o) = m.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": m,
        "spec": {"replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    })
}

/// `GET …/scale`.
pub(crate) fn get(
    state: &ApiState,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
) -> Result<hyper::Response<Body>> {
    let obj = current(state, kind, ns, name)?;
    Ok(json_response(200, "application/json", &scale_of(&obj), &[]))
}

/// Write a new Scale through the owning object's update (its strategy, validation and
/// generation bump apply, as `scaleUpdatedObjectInfo` does).
fn write(
    state: &ApiState,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    scale: &Value,
    opts: &WriteOptions,
) -> Result<hyper::Response<Body>> {
    if let Some(n) = scale.pointer("/metadata/name").and_then(Value::as_str)
        && !n.is_empty()
        && n != name
    {
        return Err(Error::BadRequest(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().ok_or_else(|| {
            Error::BadRequest(format!(
                "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal {v} into Go struct field ScaleSpec.spec.replicas of type int32"
            ))
        })?,
    };
    if replicas < 0 {
        return Err(Error::Invalid {
            group: "autoscaling".into(),
            kind: "Scale".into(),
            name: name.into(),
            causes: vec![FieldError::invalid_num(
                "spec.replicas",
                replicas,
                "must be greater than or equal to 0",
            )],
        });
    }
    let mut obj = current(state, kind, ns, name)?;
    obj["spec"]["replicas"] = json!(replicas);
    // The Scale's resourceVersion, when given, is a precondition on the object.
    if let Some(rv) = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        obj["metadata"]["resourceVersion"] = json!(rv);
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    let res = state.store.replace(kind, ns, name, obj, opts, false)?;
    Ok(json_response(
        200,
        "application/json",
        &scale_of(&res.object),
        &res.warnings,
    ))
}

/// `PUT …/scale`.
pub(crate) fn replace(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    opts: &WriteOptions,
) -> Result<hyper::Response<Body>> {
    let body: Value = serde_json::from_slice(&req.body).map_err(|e| {
        Error::BadRequest(format!(
            "the object provided is unrecognized (must be of type Scale): {e}"
        ))
    })?;
    if !body.is_object() {
        return Err(Error::BadRequest(
            "the object provided is unrecognized (must be of type Scale): couldn't get version/kind; json parse error: expected an object".into(),
        ));
    }
    write(state, kind, ns, name, &body, opts)
}

/// `PATCH …/scale` (JSON, merge or strategic merge; a Scale has no lists to merge by key).
pub(crate) fn patch(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    pkind: PatchKind,
    opts: &WriteOptions,
) -> Result<hyper::Response<Body>> {
    if pkind == PatchKind::Apply {
        return Err(Error::UnsupportedMediaType(
            "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json".into(),
        ));
    }
    let obj = current(state, kind, ns, name)?;
    let scale = scale_of(&obj);
    let patched =
        crate::patch::compute_patch(&kinds::deployment::KIND, &scale, &req.body, pkind, name)?;
    write(state, kind, ns, name, &patched, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_seen_as_a_scale() {
        let d = json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "42", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"replicas": 2}
        });
        assert_eq!(
            scale_of(&d),
            json!({
                "kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "42", "creationTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {"replicas": 3},
                "status": {"replicas": 2, "selector": "app=web"}
            })
        );
    }
}

//! The pods' `ephemeralcontainers` subresource, which `kubectl debug` writes: GET returns the
//! Pod, PUT takes a Pod and PATCH a patch of the Pod (strategic merge merges
//! `spec.ephemeralContainers` by `name`; `$setElementOrder/…` directives are ordering hints
//! and change nothing). Only `spec.ephemeralContainers` is taken from what the client sends:
//! every other field of the stored pod stays as it is, as kube-apiserver's
//! `EphemeralContainersREST` with its strategy's `PrepareForUpdate` does
//! (`pkg/registry/core/pod/storage/storage.go`, `pkg/registry/core/pod/strategy.go`).
//!
//! Validation follows `ValidatePodEphemeralContainersUpdate` and `validateEphemeralContainers`
//! (`pkg/apis/core/validation/validation.go`): existing ephemeral containers may be neither
//! changed nor removed; a new one needs a unique name and an image, may not set the fields
//! kept from ephemeral containers (ports, probes, lifecycle, resources, resize and restart
//! policies: "cannot be set for an Ephemeral Container") and may only target a container of
//! the pod. Errors come back as the Pod's 422 `Invalid` Status, e.g.
//! `Pod "web" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers
//! "debugger-x" may not be changed`.

use serde_json::{Value, json};

use super::{ApiState, Body, Req, current, json_response};
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::kinds::{self, ResourceKind};
use crate::patch::{self, PatchKind, managed};
use crate::store::WriteOptions;
use kq_kube::validation::{self, FieldError};

/// Container fields an ephemeral container may not set (their JSON names), in the order of
/// `EphemeralContainerCommon`.
const FORBIDDEN_FIELDS: &[&str] = &[
    "ports",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
];

/// The subresource's name, recorded with the write in `managedFields`.
const SUBRESOURCE: &str = "ephemeralcontainers";

/// `GET …/ephemeralcontainers`: the Pod.
pub(crate) fn get(
    state: &ApiState,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
) -> Result<hyper::Response<Body>> {
    let pod = current(state, kind, ns, name)?;
    Ok(json_response(200, "application/json", &pod, &[]))
}

/// `PUT …/ephemeralcontainers` with a Pod (`body`, already decoded from JSON or protobuf).
pub(crate) fn replace(
    state: &ApiState,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    body: Value,
    opts: &WriteOptions,
) -> Result<hyper::Response<Body>> {
    let body_name = kinds::name_of(&body);
    if body_name != name {
        return Err(Error::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let expected = body
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|rv| !rv.is_empty())
        .map(|rv| {
            rv.parse::<u64>()
                .map_err(|_| Error::BadRequest(format!("invalid resource version: {rv}")))
        })
        .transpose()?;
    let pod = write(state, kind, ns, name, &body, expected, opts)?;
    Ok(json_response(200, "application/json", &pod, &[]))
}

/// `PATCH …/ephemeralcontainers`: the patch applies to the Pod. A conflicting write between
/// the read and the store is retried, as the API server's `GuaranteedUpdate` does.
#[allow(clippy::too_many_arguments)]
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
    let mut last = None;
    for _ in 0..5 {
        let old = current(state, kind, ns, name)?;
        let patched = patch::compute_patch(kind, &old, &req.body, pkind, name)?;
        match write(state, kind, ns, name, &patched, None, opts) {
            Ok(pod) => return Ok(json_response(200, "application/json", &pod, &[])),
            Err(e @ Error::Conflict { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::modified("", "pods", name)))
}

/// Store `new`'s ephemeral containers into the current pod. `expected` is the client's
/// resourceVersion precondition; without one the pod read here is the base.
fn write(
    state: &ApiState,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    new: &Value,
    expected: Option<u64>,
    opts: &WriteOptions,
) -> Result<Value> {
    let old = current(state, kind, ns, name)?;
    let old_rv = kinds::str_at(&old, "/metadata/resourceVersion")
        .parse::<u64>()
        .unwrap_or(0);
    if expected.is_some_and(|rv| rv != old_rv) {
        return Err(Error::modified("", "pods", name));
    }
    let mut list: Vec<Value> = match new.pointer("/spec/ephemeralContainers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal {} into Go struct field PodSpec.spec.ephemeralContainers of type []v1.EphemeralContainer",
                go_json_type(other)
            )));
        }
    };
    for c in &mut list {
        default_container(c);
    }
    let errs = validate(&old, &list);
    if !errs.is_empty() {
        return Err(Error::Invalid {
            group: String::new(),
            kind: "Pod".into(),
            name: name.into(),
            causes: errs,
        });
    }
    let mut next = old.clone();
    if list.is_empty() {
        if let Some(spec) = next["spec"].as_object_mut() {
            spec.remove("ephemeralContainers");
        }
    } else {
        next["spec"]["ephemeralContainers"] = Value::Array(list);
    }
    // PodSecurity admits a new debug container like any pod update.
    crate::admission::pod_security::validate_ephemeral_update(&state.store, ns, name, &next, &old)?;
    if next == old {
        // Nothing new: the API server answers with the stored pod and writes nothing.
        return Ok(old);
    }
    let changed = managed::changed_set(
        &managed::ownable(&old, false),
        &managed::ownable(&next, false),
        kind.kind,
    );
    let time = rfc3339(state.store.clock().now());
    managed::record(
        &mut next,
        &opts.manager(),
        "Update",
        Some(SUBRESOURCE),
        changed,
        &kind.api_version(),
        &time,
        false,
    );
    if opts.dry_run {
        return Ok(next);
    }
    let stored = state.store.commit_update(kind, next, Some(old_rv))?;
    Ok((*stored).clone())
}

/// Go's name for a JSON value's type in `json: cannot unmarshal` errors.
fn go_json_type(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        _ => "array",
    }
}

/// The defaults the API server fills into an ephemeral container (`SetDefaults_EphemeralContainer`
/// shares the container's: termination message path and policy, pull policy).
fn default_container(c: &mut Value) {
    let Some(o) = c.as_object_mut() else { return };
    o.entry("terminationMessagePath")
        .or_insert_with(|| json!("/dev/termination-log"));
    o.entry("terminationMessagePolicy")
        .or_insert_with(|| json!("File"));
    if !o.contains_key("imagePullPolicy") {
        let image = o.get("image").and_then(Value::as_str).unwrap_or_default();
        o.insert("imagePullPolicy".into(), json!(pull_policy(image)));
    }
}

/// `Always` for `:latest` or an untagged image without digest, else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// Whether a field holds something (Go's non-zero value): `resources: {}` is allowed, as
/// kubectl debug always sends it.
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(o) => o.values().any(is_set),
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => !s.is_empty(),
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
    }
}

/// `ValidatePodEphemeralContainersUpdate` for the pod `old` receiving `list`.
fn validate(old: &Value, list: &[Value]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let path = "spec.ephemeralContainers";
    let old_list: Vec<Value> = old
        .pointer("/spec/ephemeralContainers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for prev in &old_list {
        let prev_name = kinds::str_at(prev, "/name");
        match list.iter().find(|c| kinds::str_at(c, "/name") == prev_name) {
            None => errs.push(FieldError::forbidden(
                path,
                format!("existing ephemeral containers {prev_name:?} may not be removed"),
            )),
            Some(now) if now != prev => errs.push(FieldError::forbidden(
                path,
                format!("existing ephemeral containers {prev_name:?} may not be changed"),
            )),
            Some(_) => {}
        }
    }
    let names_of = |field: &str| -> Vec<String> {
        old.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| kinds::str_at(c, "/name").to_string())
            .collect()
    };
    let regular: Vec<String> = names_of("containers");
    let mut taken: Vec<String> = names_of("initContainers");
    taken.extend(regular.iter().cloned());
    for (i, c) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let name = kinds::str_at(c, "/name");
        if name.is_empty() {
            errs.push(FieldError::required(format!("{at}.name"), ""));
        } else {
            for msg in validation::dns1123_label(name) {
                errs.push(FieldError::invalid(format!("{at}.name"), name, msg));
            }
            if taken.iter().any(|t| t == name) {
                errs.push(FieldError::duplicate(format!("{at}.name"), name));
            }
            taken.push(name.to_string());
        }
        if kinds::str_at(c, "/image").is_empty() {
            errs.push(FieldError::required(format!("{at}.image"), ""));
        }
        for field in FORBIDDEN_FIELDS {
            if c.get(*field).is_some_and(is_set) {
                errs.push(FieldError::forbidden(
                    format!("{at}.{field}"),
                    "cannot be set for an Ephemeral Container",
                ));
            }
        }
        let target = kinds::str_at(c, "/targetContainerName");
        if !target.is_empty() && !regular.iter().any(|r| r == target) {
            errs.push(FieldError::not_found(
                format!("{at}.targetContainerName"),
                target,
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ephemeral: Value) -> Value {
        json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}], "ephemeralContainers": ephemeral}
        })
    }

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_new_debug_container_is_accepted() {
        let mut c = json!({"name": "debugger-x7k2p", "image": "busybox", "resources": {}, "stdin": true, "tty": true, "targetContainerName": "app"});
        default_container(&mut c);
        assert!(validate(&pod(json!([])), &[c.clone()]).is_empty());
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    }

    #[test]
    fn existing_containers_stay_as_they_are() {
        let old = pod(json!([{"name": "debugger-a", "image": "busybox"}]));
        assert_eq!(
            texts(&validate(&old, &[])),
            vec![
                "spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger-a\" may not be removed"
            ]
        );
        assert_eq!(
            texts(&validate(
                &old,
                &[json!({"name": "debugger-a", "image": "alpine"})]
            )),
            vec![
                "spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger-a\" may not be changed"
            ]
        );
    }

    #[test]
    fn fields_an_ephemeral_container_cannot_have() {
        let c = json!({"name": "app", "image": "busybox", "ports": [{"containerPort": 80}],
                       "resources": {"limits": {"cpu": "1"}}, "targetContainerName": "nope"});
        assert_eq!(
            texts(&validate(&pod(json!([])), &[c])),
            vec![
                "spec.ephemeralContainers[0].name: Duplicate value: \"app\"",
                "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
                "spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container",
                "spec.ephemeralContainers[0].targetContainerName: Not found: \"nope\"",
            ]
        );
    }
}

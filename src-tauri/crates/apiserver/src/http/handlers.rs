//! Resource handlers: list (and watch), get, create, replace, patch, delete, delete
//! collection, and the pod subresources (`status`, `log`, `binding`, `eviction`, `exec`).
//! Each translates query parameters and bodies the way kube-apiserver does and hands the
//! work to the store's validated operations.

use std::time::Duration;

use serde_json::{Value, json};

use super::table::{IncludeObject, wants_table};
use super::{ApiState, Body, Req, json_response, stream_response, text_response, watch_stream};
use crate::error::{Error, Result};
use crate::kinds::{self, ResourceKind};
use crate::store::{DeleteOptions, DeleteOutcome, FieldValidation, PatchKind, WriteOptions};
use kq_kube::selectors::{FieldSelector, LabelSelector};

/// Label, field and namespace filter of a list or watch.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub kind: &'static ResourceKind,
    pub ns: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.ns
            && self.kind.namespaced
            && kinds::namespace_of(obj) != ns
        {
            return false;
        }
        self.labels
            .matches(obj.pointer("/metadata/labels").and_then(Value::as_object))
            && self.fields.matches(|f| field_value(self.kind, obj, f))
    }

    /// [`Filter::matches`] for a stored object: without label or field selectors only the
    /// namespace counts, which is known without decoding the object.
    pub fn matches_stored(&self, obj: &crate::store::Obj) -> bool {
        if self.labels.0.is_empty() && self.fields.0.is_empty() {
            return match &self.ns {
                Some(ns) if self.kind.namespaced => obj.namespace() == ns,
                _ => true,
            };
        }
        self.matches(obj)
    }
}

fn field_value(kind: &ResourceKind, obj: &Value, field: &str) -> Option<String> {
    match field {
        "metadata.name" => Some(kinds::name_of(obj).to_string()),
        "metadata.namespace" => Some(kinds::namespace_of(obj).to_string()),
        other => kind.hooks.field_value(obj, other),
    }
}

pub(crate) fn build_filter(
    req: &Req,
    kind: &'static ResourceKind,
    ns: Option<String>,
) -> Result<Filter> {
    let labels = LabelSelector::parse(req.q("labelSelector").unwrap_or_default())
        .map_err(|e| Error::BadRequest(e.to_string()))?;
    let fields = FieldSelector::parse(req.q("fieldSelector").unwrap_or_default())
        .map_err(|e| Error::BadRequest(e.to_string()))?;
    let empty = json!({});
    for t in &fields.0 {
        if field_value(kind, &empty, &t.field).is_none() {
            return Err(Error::BadRequest(format!(
                "field label not supported: {}",
                t.field
            )));
        }
    }
    Ok(Filter {
        kind,
        ns,
        labels,
        fields,
    })
}

fn list_kind(kind: &ResourceKind) -> String {
    format!("{}List", kind.kind)
}

/// Items of a list response carry no kind/apiVersion, as the apiserver's do.
fn list_item(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("kind");
        m.remove("apiVersion");
    }
    o
}

pub(crate) async fn list(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: Option<String>,
    legacy_watch: bool,
) -> Result<hyper::Response<Body>> {
    let filter = build_filter(req, kind, ns)?;
    if legacy_watch || req.q_bool("watch") {
        return watch_stream::watch(state, req, filter);
    }
    let (items, rv) = state.store.list_stored(kind, filter.ns.as_deref());
    let items: Vec<_> = items
        .into_iter()
        .filter(|o| filter.matches_stored(o))
        .collect();
    let rv = rv.to_string();
    if let Some(t) = wants_table(&req.accept) {
        let include = IncludeObject::parse(req.q("includeObject"));
        let now = state.store.clock().now();
        let items: Vec<&Value> = items.iter().map(|o| &**o).collect();
        let body = super::table::table(kind, &items, &rv, include, t, now, true);
        return Ok(json_response(200, &t.content_type(), &body, &[]));
    }
    // Written by hand from the bytes each object was stored as, without its kind and
    // apiVersion, as the apiserver's list items are.
    let mut body = Vec::with_capacity(64 + items.len() * 2048);
    let head = json!({"kind": list_kind(kind), "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": rv}});
    let head = serde_json::to_vec(&head).unwrap_or_default();
    body.extend_from_slice(&head[..head.len().saturating_sub(1)]);
    body.extend_from_slice(b",\"items\":[");
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        o.write_list_item(&mut body);
    }
    body.extend_from_slice(b"]}\n");
    Ok(super::bytes_response(200, "application/json", body))
}

pub(crate) async fn watch_one(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
) -> Result<hyper::Response<Body>> {
    let mut filter = build_filter(req, kind, Some(ns.to_string()).filter(|_| kind.namespaced))?;
    filter.fields.0.push(kq_kube::selectors::FieldTerm {
        field: "metadata.name".into(),
        negate: false,
        value: name.into(),
    });
    watch_stream::watch(state, req, filter)
}

fn object_response(
    state: &ApiState,
    req: &Req,
    kind: &ResourceKind,
    obj: &Value,
    code: u16,
    warnings: &[String],
) -> hyper::Response<Body> {
    if let Some(t) = wants_table(&req.accept) {
        let now = state.store.clock().now();
        let rv = kinds::str_at(obj, "/metadata/resourceVersion");
        let body = super::table::table(
            kind,
            &[obj],
            rv,
            IncludeObject::parse(req.q("includeObject")),
            t,
            now,
            true,
        );
        return json_response(code, &t.content_type(), &body, warnings);
    }
    json_response(code, "application/json", obj, warnings)
}

pub(crate) fn get(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
) -> Result<hyper::Response<Body>> {
    // Unit tests need a handler that panics, to prove the server answers a bug with a 500
    // Status and keeps serving; no build outside `cargo test` has this.
    #[cfg(test)]
    if name == tests::PANIC_PROBE {
        panic!("a deliberate panic in a request handler");
    }
    let obj = state
        .store
        .get_stored(kind, ns, name)
        .ok_or_else(|| Error::not_found(kind.group, kind.plural, name))?;
    if wants_table(&req.accept).is_none() {
        // The bytes the object was stored as, as `json_response` would write it.
        let mut body = Vec::with_capacity(obj.json().len() + 1);
        body.extend_from_slice(obj.json());
        body.push(b'\n');
        return Ok(super::bytes_response(200, "application/json", body));
    }
    Ok(object_response(state, req, kind, &obj, 200, &[]))
}

fn write_options(req: &Req) -> Result<WriteOptions> {
    let field_validation = match req.q("fieldValidation") {
        None | Some("") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Warn") => FieldValidation::Warn,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "fieldValidation parameter unsupported: {other}, supported values: Strict, Warn, Ignore"
            )));
        }
    };
    Ok(WriteOptions {
        dry_run: req.q("dryRun") == Some("All"),
        field_manager: req.q("fieldManager").map(str::to_string),
        field_validation,
        user_agent: Some(req.user_agent.clone()).filter(|u| !u.is_empty()),
        ..Default::default()
    })
}

/// A Go-flavoured description of a JSON syntax error, as `json.Unmarshal` words it.
fn json_syntax_error(body: &[u8], e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "unexpected end of JSON input".into();
    }
    let text = String::from_utf8_lossy(body);
    let line = e.line().saturating_sub(1);
    let col = e.column().saturating_sub(1);
    let ch = text
        .lines()
        .nth(line)
        .and_then(|l| l.chars().nth(col))
        .unwrap_or(' ');
    let what = match ch {
        '\'' => "'\\''".to_string(),
        c => format!("'{c}'"),
    };
    format!("invalid character {what} looking for beginning of value")
}

fn summarize(body: &[u8]) -> String {
    match body.first() {
        None => "<empty>".into(),
        Some(b'{') => {
            let s = String::from_utf8_lossy(body);
            if s.chars().count() > 30 {
                format!("{} ...", s.chars().take(30).collect::<String>())
            } else {
                s.into_owned()
            }
        }
        Some(_) => {
            let hex: String = body.iter().take(30).map(|b| format!("{b:02x}")).collect();
            if body.len() > 30 {
                format!("{hex} ...")
            } else {
                hex
            }
        }
    }
}

fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Decode a create/update body by Content-Type.
fn parse_body(req: &Req, kind: &ResourceKind) -> Result<Value> {
    let unrecognized = |detail: String| {
        Error::BadRequest(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {detail} ({})",
            kind.kind,
            summarize(&req.body)
        ))
    };
    match media_type(&req.content_type).as_str() {
        "" | "application/json" | "*/*" => serde_json::from_slice::<Value>(&req.body)
            .map_err(|e| unrecognized(json_syntax_error(&req.body, &e))),
        "application/yaml" | "application/x-yaml" | "text/yaml" => {
            let text = std::str::from_utf8(&req.body).map_err(|_| {
                Error::BadRequest("error converting YAML to JSON: invalid UTF-8".into())
            })?;
            serde_yaml_ng::from_str::<Value>(text)
                .map_err(|e| Error::BadRequest(format!("error converting YAML to JSON: yaml: {e}")))
        }
        "application/vnd.kubernetes.protobuf" => match crate::http::proto::decode_object(&req.body)
        {
            Ok(v) => Ok(v),
            Err(crate::http::proto::ProtoError::Malformed(detail)) => {
                Err(Error::BadRequest(format!(
                    "the object provided is unrecognized (must be of type {}): {detail} ({})",
                    kind.kind,
                    summarize(&req.body)
                )))
            }
            Err(crate::http::proto::ProtoError::Unsupported(_)) => Err(
                Error::UnsupportedMediaType("application/json, application/yaml".into()),
            ),
        },
        _ => Err(Error::UnsupportedMediaType(
            "application/json, application/yaml, application/vnd.kubernetes.protobuf".into(),
        )),
    }
}

pub(crate) fn create(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
) -> Result<hyper::Response<Body>> {
    let opts = write_options(req)?;
    let body = parse_body(req, kind)?;
    // Reviews are questions: answered from who is asking, never stored.
    if crate::auth::reviews::is_review(kind) {
        let (body, unknown) = kind.hooks.decode(&body).map_err(|e| match e {
            crate::strict::DecodeError::Type(msg) => Error::BadRequest(format!(
                "{} in version \"{}\" cannot be handled as a {}: {msg}",
                kind.kind, kind.version, kind.kind
            )),
        })?;
        let warnings: Vec<String> = match opts.field_validation {
            FieldValidation::Strict if !unknown.is_empty() => {
                return Err(Error::BadRequest(crate::strict::unknown_fields_message(
                    &unknown,
                )));
            }
            FieldValidation::Ignore => Vec::new(),
            _ => unknown
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect(),
        };
        let answer = crate::auth::reviews::create(
            &state.store,
            &state.token_signer,
            &state.token,
            &req.user,
            kind,
            ns,
            &body,
        )?;
        return Ok(json_response(201, "application/json", &answer, &warnings));
    }
    let res = state.store.create(kind, ns, body, &opts)?;
    Ok(json_response(
        201,
        "application/json",
        &res.object,
        &res.warnings,
    ))
}

pub(crate) fn replace(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    status: bool,
) -> Result<hyper::Response<Body>> {
    let opts = write_options(req)?;
    let body = parse_body(req, kind)?;
    let res = state.store.replace(kind, ns, name, body, &opts, status)?;
    Ok(json_response(
        200,
        "application/json",
        &res.object,
        &res.warnings,
    ))
}

/// The patch type a PATCH's Content-Type names.
fn patch_kind(req: &Req) -> Result<PatchKind> {
    Ok(match media_type(&req.content_type).as_str() {
        "application/json-patch+json" => PatchKind::Json,
        "application/merge-patch+json" => PatchKind::Merge,
        "application/strategic-merge-patch+json" => PatchKind::Strategic,
        "application/apply-patch+yaml" => PatchKind::Apply,
        _ => {
            return Err(Error::UnsupportedMediaType(
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json".into(),
            ));
        }
    })
}

pub(crate) fn patch(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    status: bool,
) -> Result<hyper::Response<Body>> {
    let pkind = patch_kind(req)?;
    let opts = write_options(req)?;
    let res = state
        .store
        .patch(kind, ns, name, &req.body, pkind, &opts, status)?;
    let code = if res.created { 201 } else { 200 };
    Ok(json_response(
        code,
        "application/json",
        &res.object,
        &res.warnings,
    ))
}

fn delete_options(req: &Req) -> Result<DeleteOptions> {
    let mut opts: DeleteOptions = if req.body.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else {
        serde_json::from_slice(&req.body).map_err(|e| {
            Error::BadRequest(format!(
                "DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: {e}"
            ))
        })?
    };
    if let Some(g) = req.q("gracePeriodSeconds") {
        opts.grace_period_seconds = Some(
            g.parse()
                .map_err(|_| Error::BadRequest(format!("invalid gracePeriodSeconds: {g}")))?,
        );
    }
    if req.q("dryRun") == Some("All") {
        opts.dry_run = vec!["All".into()];
    }
    if let Some(p) = req.q("propagationPolicy") {
        opts.propagation_policy = Some(p.to_string());
    }
    if let Some(o) = req.q("orphanDependents") {
        opts.orphan_dependents = Some(
            o.parse()
                .map_err(|_| Error::BadRequest(format!("invalid orphanDependents: {o}")))?,
        );
    }
    Ok(opts)
}

/// Pods, namespaces and services answer a delete with the object; others with a Status.
fn returns_object(kind: &ResourceKind) -> bool {
    kind.group.is_empty() && matches!(kind.plural, "pods" | "namespaces" | "services")
}

fn success_status(kind: &ResourceKind, obj: &Value) -> Value {
    let mut details = json!({"name": kinds::name_of(obj), "kind": kind.plural, "uid": kinds::str_at(obj, "/metadata/uid")});
    if !kind.group.is_empty() {
        details["group"] = json!(kind.group);
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

pub(crate) fn delete(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
) -> Result<hyper::Response<Body>> {
    let opts = delete_options(req)?;
    let (out, warnings) = state.store.delete_with_warnings(kind, ns, name, &opts)?;
    // kube-apiserver answers 202 when the object stays and the client asked for its
    // dependents to go with the deprecated `orphanDependents: false`.
    let code = match (&out, opts.orphan_dependents) {
        (DeleteOutcome::Terminating(_), Some(false)) => 202,
        _ => 200,
    };
    let body = match out {
        DeleteOutcome::Terminating(obj) => obj,
        DeleteOutcome::Deleted(obj) if returns_object(kind) => obj,
        DeleteOutcome::Deleted(obj) => success_status(kind, &obj),
    };
    Ok(json_response(code, "application/json", &body, &warnings))
}

pub(crate) fn delete_collection(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: Option<&str>,
) -> Result<hyper::Response<Body>> {
    if !kind.verbs.contains(&"deletecollection") {
        return Err(Error::MethodNotAllowed);
    }
    let filter = build_filter(req, kind, ns.map(str::to_string))?;
    let opts = delete_options(req)?;
    let mut deleted = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    for obj in state.store.list_raw(kind, ns) {
        if !filter.matches(&obj) {
            continue;
        }
        match state.store.delete_with_warnings(
            kind,
            kinds::namespace_of(&obj),
            kinds::name_of(&obj),
            &opts,
        ) {
            Ok((DeleteOutcome::Terminating(o) | DeleteOutcome::Deleted(o), w)) => {
                for w in w {
                    if !warnings.contains(&w) {
                        warnings.push(w);
                    }
                }
                deleted.push(list_item(&o))
            }
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let body = json!({
        "kind": list_kind(kind),
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": state.store.resource_version().to_string()},
        "items": deleted,
    });
    Ok(json_response(200, "application/json", &body, &warnings))
}

pub(crate) async fn subresource(
    state: &ApiState,
    req: &Req,
    kind: &'static ResourceKind,
    ns: &str,
    name: &str,
    sub: &str,
) -> Result<hyper::Response<Body>> {
    use hyper::Method;
    match (sub, &req.method) {
        ("status", &Method::GET) => {
            let obj = state
                .store
                .get_raw(kind, ns, name)
                .ok_or_else(|| Error::not_found(kind.group, kind.plural, name))?;
            Ok(json_response(200, "application/json", &obj, &[]))
        }
        ("status", &Method::PUT) => replace(state, req, kind, ns, name, true),
        ("status", &Method::PATCH) => patch(state, req, kind, ns, name, true),
        ("status", _) => Err(Error::MethodNotAllowed),
        ("scale", &Method::GET) if kind.has_subresource("scale") => {
            super::scale::get(state, kind, ns, name)
        }
        ("scale", &Method::PUT) if kind.has_subresource("scale") => {
            super::scale::replace(state, req, kind, ns, name, &write_options(req)?)
        }
        ("scale", &Method::PATCH) if kind.has_subresource("scale") => {
            let pkind = patch_kind(req)?;
            super::scale::patch(state, req, kind, ns, name, pkind, &write_options(req)?)
        }
        ("log", &Method::GET) if kind.has_subresource("log") => logs(state, req, ns, name).await,
        ("ephemeralcontainers", &Method::GET) if kind.has_subresource(sub) => {
            super::ephemeral::get(state, kind, ns, name)
        }
        ("ephemeralcontainers", &Method::PUT) if kind.has_subresource(sub) => {
            let body = parse_body(req, kind)?;
            super::ephemeral::replace(state, kind, ns, name, body, &write_options(req)?)
        }
        ("ephemeralcontainers", &Method::PATCH) if kind.has_subresource(sub) => {
            let pkind = patch_kind(req)?;
            super::ephemeral::patch(state, req, kind, ns, name, pkind, &write_options(req)?)
        }
        ("ephemeralcontainers", _) if kind.has_subresource(sub) => Err(Error::MethodNotAllowed),
        ("binding", &Method::POST) if kind.has_subresource("binding") => {
            let body = parse_body(req, kind)?;
            let node = body
                .pointer("/target/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if node.is_empty() {
                return Err(Error::Invalid {
                    group: String::new(),
                    kind: "Binding".into(),
                    name: name.into(),
                    causes: vec![kq_kube::validation::FieldError::required("target.name", "")],
                });
            }
            state.store.bind_pod(ns, name, node)?;
            Ok(json_response(
                201,
                "application/json",
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                &[],
            ))
        }
        ("eviction", &Method::POST) if kind.has_subresource("eviction") => {
            let body: Value = if req.body.is_empty() {
                json!({})
            } else {
                parse_body(req, kind)?
            };
            super::eviction::create(state, kind, ns, name, &body)
        }
        ("exec" | "attach" | "portforward", _) if kind.has_subresource(sub) => {
            // The server hands these to `http::stream` before the body is read (they need
            // the connection's upgrade); a request that gets here asked for no upgrade,
            // which the kubelet refuses the same way.
            let _ = state
                .store
                .get_raw(kind, ns, name)
                .ok_or_else(|| Error::not_found("", "pods", name))?;
            Err(Error::BadRequest("Upgrade request required".into()))
        }
        ("token", &Method::POST) if kind.has_subresource("token") => {
            let body = if req.body.is_empty() {
                json!({})
            } else {
                parse_body(req, kind)?
            };
            let answer = crate::auth::authn::token_request(
                &state.store,
                &state.token_signer,
                ns,
                name,
                &body,
            )?;
            Ok(json_response(201, "application/json", &answer, &[]))
        }
        ("finalize", &Method::PUT) => {
            let obj = state
                .store
                .get_raw(kind, ns, name)
                .ok_or_else(|| Error::not_found(kind.group, kind.plural, name))?;
            Ok(json_response(200, "application/json", &obj, &[]))
        }
        _ => Err(Error::PathNotFound),
    }
}

/// The kubelet's `validateContainerLogStatus`: which attempt's logs exist, or why none do.
fn log_source(pod: &Value, container: &str, previous: bool) -> Result<bool> {
    let name = kinds::name_of(pod);
    let status = [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .find_map(|l| {
        pod.pointer(&format!("/status/{l}"))
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
            })
    });
    let Some(cs) = status else {
        return Err(Error::BadRequest(format!(
            "container {container:?} in pod {name:?} is not available"
        )));
    };
    let last_term = cs.pointer("/lastState/terminated");
    let last_id = last_term
        .and_then(|t| t.get("containerID"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let state = cs.get("state").cloned().unwrap_or_else(|| json!({}));
    if previous {
        if last_id.is_empty() {
            return Err(Error::BadRequest(format!(
                "previous terminated container {container:?} in pod {name:?} not found"
            )));
        }
        return Ok(true);
    }
    if state.get("running").is_some() {
        return Ok(false);
    }
    if let Some(t) = state.get("terminated") {
        if t.get("containerID")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            if !last_id.is_empty() {
                return Ok(true);
            }
            return Err(Error::BadRequest(format!(
                "container {container:?} in pod {name:?} is terminated"
            )));
        }
        return Ok(false);
    }
    if last_term.is_some() {
        if last_id.is_empty() {
            return Err(Error::BadRequest(format!(
                "container {container:?} in pod {name:?} is terminated"
            )));
        }
        return Ok(true);
    }
    if let Some(w) = state.get("waiting") {
        let reason = w.get("reason").and_then(Value::as_str).unwrap_or_default();
        let why = match reason {
            "ErrImagePull" => "image can't be pulled".to_string(),
            "ImagePullBackOff" => "trying and failing to pull image".to_string(),
            other => other.to_string(),
        };
        return Err(Error::BadRequest(format!(
            "container {container:?} in pod {name:?} is waiting to start: {why}"
        )));
    }
    Err(Error::BadRequest(format!(
        "container {container:?} in pod {name:?} is waiting to start - no logs yet"
    )))
}

fn render_lines(lines: &[crate::logs::LogLine], timestamps: bool) -> String {
    let mut out = String::new();
    for l in lines {
        if timestamps {
            out.push_str(&l.time.strftime("%Y-%m-%dT%H:%M:%S.%9fZ").to_string());
            out.push(' ');
        }
        out.push_str(&l.text);
    }
    out
}

async fn logs(state: &ApiState, req: &Req, ns: &str, name: &str) -> Result<hyper::Response<Body>> {
    let store = &state.store;
    let pod = store
        .get_raw(&kinds::pod::KIND, ns, name)
        .ok_or_else(|| Error::not_found("", "pods", name))?;
    let container = kinds::pod::request_container(&pod, req.q("container"))?;
    let previous = req.q_bool("previous");
    let follow = req.q_bool("follow");
    let timestamps = req.q_bool("timestamps");
    if kinds::str_at(&pod, "/spec/nodeName").is_empty() {
        // No node, no kubelet to ask: the apiserver answers with an empty log.
        return Ok(text_response(200, ""));
    }
    let from_previous = log_source(&pod, &container, previous)?;
    let uid = kinds::str_at(&pod, "/metadata/uid").to_string();
    // For a follow, the snapshot and the subscription are taken together so no line is lost
    // or doubled between them.
    let (mut lines, subscription) = if follow && !from_previous {
        let (lines, finished, rx) = store.logs().follow(&uid, &container);
        (lines, Some((finished, rx)))
    } else {
        (store.logs().read(&uid, &container, from_previous), None)
    };
    let now = store.clock().now();
    if let Some(since) = req.q("sinceSeconds").and_then(|s| s.parse::<i64>().ok()) {
        let cutoff = now
            .checked_sub(jiff::SignedDuration::from_secs(since))
            .unwrap_or(now);
        lines.retain(|l| l.time >= cutoff);
    } else if let Some(t) = req.q("sinceTime").and_then(crate::clock::parse_time) {
        lines.retain(|l| l.time >= t);
    }
    if let Some(n) = req.q("tailLines").and_then(|s| s.parse::<usize>().ok()) {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let mut text = render_lines(&lines, timestamps);
    if let Some(limit) = req.q("limitBytes").and_then(|s| s.parse::<usize>().ok()) {
        let mut cut = limit.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let Some((finished, mut rx)) = subscription else {
        return Ok(text_response(200, text));
    };
    // Follow: the snapshot above plus everything appended until the attempt ends.
    let (tx, out) = tokio::sync::mpsc::channel(64);
    let _ = tx.try_send(hyper::body::Bytes::from(text));
    if finished {
        drop(tx);
        return Ok(stream_response("text/plain", out));
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                msg = rx.recv() => match msg {
                    Ok(crate::logs::LogUpdate::Line(l)) => {
                        let chunk = render_lines(std::slice::from_ref(&l), timestamps);
                        if tx.send(hyper::body::Bytes::from(chunk)).await.is_err() {
                            return;
                        }
                    }
                    Ok(crate::logs::LogUpdate::Finished) | Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                },
                // Keep idle follows from lingering forever after a shutdown.
                _ = tokio::time::sleep(Duration::from_secs(4 * 3600)) => return,
            }
        }
    });
    Ok(stream_response("text/plain", out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GET of a pod with this name panics inside the handler (see [`get`]).
    pub(super) const PANIC_PROBE: &str = "panic-probe";

    /// A serving API server with its own CA, for tests that speak HTTPS to it (kq-sim's
    /// `Cluster` does the same with its PKI, token and kubeconfig).
    struct TestServer {
        ca_pem: String,
        port: u16,
        token: String,
        stop: tokio::sync::watch::Sender<bool>,
        server: tokio::task::JoinHandle<()>,
    }

    impl TestServer {
        async fn start() -> TestServer {
            use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
            use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

            let ca_key = KeyPair::generate().expect("a CA key");
            let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca_cert = ca_params.self_signed(&ca_key).expect("a CA certificate");
            let issuer = Issuer::new(ca_params, ca_key);
            let leaf_key = KeyPair::generate().expect("a serving key");
            let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
                .expect("serving params")
                .signed_by(&leaf_key, &issuer)
                .expect("a serving certificate");
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let mut tls = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("TLS 1.2 and 1.3")
                .with_no_client_auth()
                .with_single_cert(
                    vec![
                        CertificateDer::from(leaf.der().to_vec()),
                        CertificateDer::from(ca_cert.der().to_vec()),
                    ],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
                )
                .expect("a serving configuration");
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];

            let clock = std::sync::Arc::new(crate::Clock::new(1.0));
            let store = crate::Store::new(clock, ca_cert.pem(), 100);
            store
                .create(
                    &kinds::namespace::KIND,
                    "",
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
                    &WriteOptions::default(),
                )
                .expect("the default namespace");
            // The learner's token is kubeadm's admin, whose rights come from the default
            // RBAC objects, as in every cluster.
            crate::auth::bootstrap::create_defaults(&store).expect("the default RBAC objects");
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .expect("a free port");
            let port = listener.local_addr().expect("a bound address").port();
            let token = "test-token".to_string();
            let state = std::sync::Arc::new(ApiState {
                store,
                token: token.clone(),
                token_signer: Default::default(),
                bookmark_interval: Duration::from_secs(60),
                server_address: format!("127.0.0.1:{port}"),
                limits: super::super::ServerLimits::default(),
                watch_stats: Default::default(),
                streams: None,
                audit: Default::default(),
                join: Default::default(),
            });
            let (stop, stop_rx) = tokio::sync::watch::channel(false);
            let server = tokio::spawn(super::super::serve(
                listener,
                std::sync::Arc::new(tls),
                state,
                stop_rx,
            ));
            TestServer {
                ca_pem: ca_cert.pem(),
                port,
                token,
                stop,
                server,
            }
        }

        fn ca_pem(&self) -> &str {
            &self.ca_pem
        }

        fn port(&self) -> u16 {
            self.port
        }

        fn token(&self) -> &str {
            &self.token
        }

        async fn shutdown(self) {
            let _ = self.stop.send(true);
            let _ = self.server.await;
        }
    }

    /// One HTTPS request to the running cluster; the status code and body of its answer.
    async fn https(cluster: &TestServer, path: &str) -> (u16, Value) {
        use rustls::pki_types::pem::PemObject;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let mut roots = rustls::RootCertStore::empty();
        let ca = rustls::pki_types::CertificateDer::from_pem_slice(cluster.ca_pem().as_bytes())
            .expect("the cluster's CA certificate");
        roots.add(ca).expect("the CA is a valid trust anchor");
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", cluster.port()))
            .await
            .expect("the server accepts connections");
        let server = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("an IP name");
        let mut tls = connector.connect(server, tcp).await.expect("a TLS session");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            cluster.token()
        );
        tls.write_all(request.as_bytes())
            .await
            .expect("request sent");
        let mut raw = Vec::new();
        // A close_notify-less close is fine: everything up to it was read.
        let _ = tls.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw);
        let code = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("an HTTP status line");
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        // Chunked or not, the JSON object sits between the first '{' and the last '}'.
        let json = match (body.find('{'), body.rfind('}')) {
            (Some(a), Some(b)) if a < b => serde_json::from_str(&body[a..=b]).unwrap_or_default(),
            _ => Value::Null,
        };
        (code, json)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_handler_answers_500_and_the_server_keeps_serving() {
        let cluster = TestServer::start().await;
        let probe = format!("/api/v1/namespaces/default/pods/{PANIC_PROBE}");
        for round in 1..=3 {
            let (code, status) = https(&cluster, &probe).await;
            assert_eq!(
                code, 500,
                "round {round}: a bug in a handler is answered with a 500 Status: {status}"
            );
            assert_eq!(status["kind"], "Status", "{status}");
            assert_eq!(status["reason"], "InternalError", "{status}");
            let (code, ns) = https(&cluster, "/api/v1/namespaces/default").await;
            assert_eq!(
                code, 200,
                "round {round}: after a handler panicked, the server keeps serving: {ns}"
            );
            assert_eq!(ns["metadata"]["name"], "default");
        }
        cluster.shutdown().await;
    }

    fn pod(containers: &[&str], status: Value) -> Value {
        let cs: Vec<Value> = containers
            .iter()
            .map(|n| json!({"name": n, "image": "x"}))
            .collect();
        json!({"metadata": {"name": "web"}, "spec": {"nodeName": "node-1", "containers": cs}, "status": status})
    }

    fn err(r: Result<bool>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(prev) => panic!("expected an error, got previous={prev}"),
        }
    }

    #[test]
    fn container_choice() {
        let one = pod(&["c"], json!({}));
        let pick = kinds::pod::request_container;
        assert_eq!(pick(&one, None).unwrap(), "c");
        let two = pod(&["a", "b"], json!({}));
        assert_eq!(
            pick(&two, None).unwrap_err().to_string(),
            "a container name must be specified for pod web, choose one of: [a b]"
        );
        assert_eq!(
            pick(&two, Some("z")).unwrap_err().to_string(),
            "container z is not valid for pod web"
        );
        // kubectl applies kubectl.kubernetes.io/default-container itself; the API server
        // does not, so a client that leaves the container out still gets the list.
        let mut annotated = two.clone();
        annotated["metadata"]["annotations"] =
            json!({"kubectl.kubernetes.io/default-container": "b"});
        assert!(pick(&annotated, None).is_err());
        let mut with_init = two.clone();
        with_init["spec"]["initContainers"] = json!([{"name": "setup"}]);
        assert_eq!(
            pick(&with_init, None).unwrap_err().to_string(),
            "a container name must be specified for pod web, choose one of: [setup a b]"
        );
        assert_eq!(pick(&with_init, Some("setup")).unwrap(), "setup");
    }

    #[test]
    fn kubelet_log_messages() {
        let waiting = |reason: &str| {
            pod(
                &["c"],
                json!({"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": reason}}}]}),
            )
        };
        assert_eq!(
            err(log_source(&waiting("ImagePullBackOff"), "c", false)),
            "container \"c\" in pod \"web\" is waiting to start: trying and failing to pull image"
        );
        assert_eq!(
            err(log_source(&waiting("ErrImagePull"), "c", false)),
            "container \"c\" in pod \"web\" is waiting to start: image can't be pulled"
        );
        assert_eq!(
            err(log_source(&waiting("ContainerCreating"), "c", false)),
            "container \"c\" in pod \"web\" is waiting to start: ContainerCreating"
        );
        assert_eq!(
            err(log_source(&waiting("ContainerCreating"), "c", true)),
            "previous terminated container \"c\" in pod \"web\" not found"
        );
        let crashed = pod(
            &["c"],
            json!({"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "containerID": "containerd://1"}}}]}),
        );
        assert!(
            log_source(&crashed, "c", false).unwrap(),
            "between restarts, logs come from the last attempt"
        );
        assert!(log_source(&crashed, "c", true).unwrap());
        let never = pod(
            &["c"],
            json!({"containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 128}}}]}),
        );
        assert_eq!(
            err(log_source(&never, "c", false)),
            "container \"c\" in pod \"web\" is terminated"
        );
        assert_eq!(
            err(log_source(&pod(&["c"], json!({})), "c", false)),
            "container \"c\" in pod \"web\" is not available"
        );
    }
}

//! The OpenAPI documents `kubectl explain` and kubectl's validation read: `/openapi/v3` (the
//! index of group-versions), `/openapi/v3/<api/v1|apis/<g>/<v>>` (one document per
//! group-version) and `/openapi/v2` (kube-openapi `pkg/handler3/handler.go` and
//! `pkg/handler/handler.go`; the documents themselves mirror `api/openapi-spec/v3/*.json`).
//!
//! Schemas and their field descriptions come from k8s-openapi's `JsonSchema` impls (generated
//! from the upstream spec of the simulated release), rendered by schemars as OpenAPI 3:
//! `#/components/schemas/io.k8s.api.core.v1.Pod` references, with a `$ref` that has sibling
//! keys wrapped in `allOf` as upstream does. Those impls carry no `x-kubernetes-*` extensions,
//! so this module adds what kubectl looks for:
//!
//! - the `x-kubernetes-group-version-kind` array on each kind's schema, which is how explain
//!   finds the schema of a resource;
//! - paths for each resource with the GVK on every operation, including the cluster-wide list
//!   path (`/api/v1/pods`), the only place kubectl 1.27's explain looks;
//! - a `patch` operation whose own parameters list `fieldValidation`, which tells kubectl
//!   (cli-runtime `query_param_verifier_v3.go`) the server validates fields itself, so it
//!   sends `fieldValidation=Strict|Warn|Ignore` instead of validating client-side. The patch
//!   operation has no `requestBody`: with a strategic-merge body declared, kubectl 1.29+
//!   would build apply patches from these schemas, which lack the patch-merge-key extensions,
//!   instead of from its compiled-in types.
//!
//! k8s-openapi marks `metadata` required on every kind because its Rust field is not an
//! `Option`; upstream never does, so the requirement is dropped (explain would otherwise
//! print `-required-` next to `metadata`).
//!
//! Each document is hashed like kube-openapi (upper-case hex SHA-512 of the body): the index
//! links `?hash=<H>`, a matching hash is served as immutable for a year, a stale one is
//! redirected (301) to the current URL. All documents are built once, on first use.
//!
//! `/openapi/v2` answers an empty protobuf document to kubectl (1.27 and 1.28 fetch it before
//! every explain and validating write and fail if it errors; explain reads v3 and the server
//! validates, so nothing needs its content) and a Swagger 2.0 JSON document to clients that
//! ask for JSON.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use hyper::body::Bytes;
use k8s_openapi::Resource;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use super::{Body, Req, base};
use crate::error::{Error, Result};
use crate::kinds::{self, ResourceKind};

/// The proto content type kubectl 1.27/1.28 ask `/openapi/v2` for.
const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// How a kind's schema is found and added to a generator.
struct KindSchema {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    /// The component name, `io.k8s.api.core.v1.Pod`.
    name: fn() -> std::borrow::Cow<'static, str>,
    /// Adds the schema (and everything it references) to the generator's definitions.
    add: fn(&mut SchemaGenerator),
}

fn of<T: Resource + JsonSchema>() -> KindSchema {
    KindSchema {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        name: T::schema_name,
        add: |g| {
            g.subschema_for::<T>();
        },
    }
}

/// Every type the cluster serves, by its k8s-openapi type. A kind added to `kinds::ALL` needs a
/// line here (the unit test below says which one is missing).
fn kind_schemas() -> Vec<KindSchema> {
    use k8s_openapi::api::{
        apps, authentication, authorization, batch, coordination, core, discovery, policy, rbac,
        storage,
    };
    vec![
        of::<core::v1::Namespace>(),
        of::<core::v1::Node>(),
        of::<core::v1::Pod>(),
        of::<core::v1::Event>(),
        of::<core::v1::ConfigMap>(),
        of::<core::v1::Secret>(),
        of::<core::v1::ServiceAccount>(),
        of::<core::v1::Service>(),
        of::<core::v1::Endpoints>(),
        of::<core::v1::LimitRange>(),
        of::<core::v1::PersistentVolumeClaim>(),
        of::<core::v1::PersistentVolume>(),
        of::<core::v1::ResourceQuota>(),
        of::<apps::v1::Deployment>(),
        of::<apps::v1::StatefulSet>(),
        of::<apps::v1::DaemonSet>(),
        of::<apps::v1::ReplicaSet>(),
        of::<apps::v1::ControllerRevision>(),
        of::<authentication::v1::TokenReview>(),
        of::<authentication::v1::SelfSubjectReview>(),
        of::<authorization::v1::LocalSubjectAccessReview>(),
        of::<authorization::v1::SelfSubjectAccessReview>(),
        of::<authorization::v1::SelfSubjectRulesReview>(),
        of::<authorization::v1::SubjectAccessReview>(),
        of::<batch::v1::Job>(),
        of::<batch::v1::CronJob>(),
        of::<policy::v1::PodDisruptionBudget>(),
        of::<rbac::v1::ClusterRoleBinding>(),
        of::<rbac::v1::ClusterRole>(),
        of::<rbac::v1::RoleBinding>(),
        of::<rbac::v1::Role>(),
        of::<storage::v1::StorageClass>(),
        of::<coordination::v1::Lease>(),
        of::<discovery::v1::EndpointSlice>(),
    ]
}

/// One served document and its hash.
struct Document {
    body: Bytes,
    /// Upper-case hex SHA-512 of `body`.
    hash: String,
}

impl Document {
    fn new(v: &Value) -> Document {
        let body = serde_json::to_vec(v).unwrap_or_default();
        let hash = hex_upper(&Sha512::digest(&body));
        Document {
            body: Bytes::from(body),
            hash,
        }
    }
}

/// Every document the server serves, built once.
struct Documents {
    /// `/openapi/v3`.
    index: Document,
    /// Keyed by `api/v1`, `apis/apps/v1`, ...
    group_versions: BTreeMap<String, Document>,
    /// `/openapi/v2` as JSON.
    v2: Document,
}

fn documents() -> &'static Documents {
    static DOCS: OnceLock<Documents> = OnceLock::new();
    DOCS.get_or_init(build_documents)
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

/// `api/v1` or `apis/<group>/<version>`.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn build_documents() -> Documents {
    let mut gvs: Vec<(&'static str, &'static str)> = Vec::new();
    for k in kinds::ALL {
        if !gvs.contains(&(k.group, k.version)) {
            gvs.push((k.group, k.version));
        }
    }
    let table = kind_schemas();
    let group_versions: BTreeMap<String, Document> = gvs
        .iter()
        .map(|(g, v)| {
            (
                gv_path(g, v),
                Document::new(&group_version_document(g, v, &table)),
            )
        })
        .collect();
    let paths: Map<String, Value> = group_versions
        .iter()
        .map(|(p, d)| {
            (
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", d.hash)}),
            )
        })
        .collect();
    let index = Document::new(&json!({ "paths": paths }));
    let v2 = Document::new(&v2_document(&table));
    Documents {
        index,
        group_versions,
        v2,
    }
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

/// Adds the GVK extension to each kind's schema and drops k8s-openapi's `metadata`
/// requirement (see the module doc).
fn annotate_kinds(schemas: &mut Map<String, Value>, kinds: &[&KindSchema]) {
    for ks in kinds {
        let Some(Value::Object(schema)) = schemas.get_mut((ks.name)().as_ref()) else {
            continue;
        };
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|r| r != "metadata");
            if required.is_empty() {
                schema.remove("required");
            }
        }
        schema.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([gvk(ks.group, ks.version, ks.kind)]),
        );
    }
}

/// `CoreV1`, `RbacAuthorizationV1`: the group-version part of upstream operation ids.
fn op_id_gv(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    let mut s: String = group
        .trim_end_matches(".k8s.io")
        .split('.')
        .map(capitalize)
        .collect();
    s.push_str(&capitalize(version));
    s
}

/// `core_v1`, `rbacAuthorization_v1`: upstream's operation tags.
fn tag(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    let mut parts = group.trim_end_matches(".k8s.io").split('.');
    let mut s = parts.next().unwrap_or_default().to_string();
    s.extend(parts.map(capitalize));
    format!("{s}_{version}")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn path_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}})
}

/// The paths of one resource, each operation carrying its GVK.
fn resource_paths(k: &ResourceKind, schema_name: &str, paths: &mut Map<String, Value>) {
    let prefix = format!("/{}", gv_path(k.group, k.version));
    let gv = op_id_gv(k.group, k.version);
    let tags = json!([tag(k.group, k.version)]);
    let kind = k.kind;
    let has = |verb: &str| k.verbs.contains(&verb);
    let object = json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema_name}")}}}});
    let write_params = || {
        json!([
            query_param("dryRun"),
            query_param("fieldManager"),
            query_param("fieldValidation")
        ])
    };
    let op = |action: &str, id: String, description: String, extra: Value| {
        let mut o = json!({
            "tags": tags,
            "description": description,
            "operationId": id,
            "responses": {"200": object, "401": {"description": "Unauthorized"}},
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk(k.group, k.version, kind),
        });
        if let (Value::Object(o), Value::Object(extra)) = (&mut o, extra) {
            o.extend(extra);
        }
        o
    };
    let list = |id: String| {
        op(
            "list",
            id,
            format!("list or watch objects of kind {kind}"),
            json!({"responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}}}),
        )
    };
    let (collection, item) = if k.namespaced {
        (
            format!("{prefix}/namespaces/{{namespace}}/{}", k.plural),
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", k.plural),
        )
    } else {
        (
            format!("{prefix}/{}", k.plural),
            format!("{prefix}/{}/{{name}}", k.plural),
        )
    };
    let ns_word = if k.namespaced { "Namespaced" } else { "" };
    let mut coll = Map::new();
    if k.namespaced && has("list") {
        paths.insert(
            format!("{prefix}/{}", k.plural),
            json!({"get": list(format!("list{gv}{kind}ForAllNamespaces"))}),
        );
    }
    if has("list") {
        coll.insert("get".into(), list(format!("list{gv}{ns_word}{kind}")));
    }
    if has("create") {
        coll.insert(
            "post".into(),
            op(
                "post",
                format!("create{gv}{ns_word}{kind}"),
                format!("create a {kind}"),
                json!({"parameters": write_params()}),
            ),
        );
    }
    if has("deletecollection") {
        coll.insert(
            "delete".into(),
            op(
                "deletecollection",
                format!("deletecollection{gv}{ns_word}{kind}"),
                format!("delete collection of {kind}"),
                json!({"responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}}}),
            ),
        );
    }
    if !coll.is_empty() {
        if k.namespaced {
            coll.insert("parameters".into(), json!([path_param("namespace")]));
        }
        paths.insert(collection, Value::Object(coll));
    }
    let mut one = Map::new();
    if has("get") {
        one.insert(
            "get".into(),
            op(
                "get",
                format!("read{gv}{ns_word}{kind}"),
                format!("read the specified {kind}"),
                json!({}),
            ),
        );
    }
    if has("update") {
        one.insert(
            "put".into(),
            op(
                "put",
                format!("replace{gv}{ns_word}{kind}"),
                format!("replace the specified {kind}"),
                json!({"parameters": write_params()}),
            ),
        );
    }
    if has("patch") {
        one.insert(
            "patch".into(),
            op(
                "patch",
                format!("patch{gv}{ns_word}{kind}"),
                format!("partially update the specified {kind}"),
                json!({"parameters": [
                    query_param("dryRun"),
                    query_param("fieldManager"),
                    query_param("fieldValidation"),
                    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
                ]}),
            ),
        );
    }
    if has("delete") {
        one.insert(
            "delete".into(),
            op(
                "delete",
                format!("delete{gv}{ns_word}{kind}"),
                format!("delete a {kind}"),
                json!({"responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}}}),
            ),
        );
    }
    if !one.is_empty() {
        let mut params = vec![path_param("name")];
        if k.namespaced {
            params.push(path_param("namespace"));
        }
        one.insert("parameters".into(), Value::Array(params));
        paths.insert(item, Value::Object(one));
    }
}

/// The OpenAPI 3 document of one group-version.
fn group_version_document(group: &str, version: &str, table: &[KindSchema]) -> Value {
    let mut generator = SchemaSettings::openapi3()
        .with(|s| s.meta_schema = None)
        .into_generator();
    let mut served = Vec::new();
    let mut paths = Map::new();
    for k in kinds::ALL
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        let Some(ks) = table
            .iter()
            .find(|s| s.group == k.group && s.version == k.version && s.kind == k.kind)
        else {
            // The unit test keeps this from happening; a kind without a schema is left out
            // rather than failing every document.
            continue;
        };
        (ks.add)(&mut generator);
        resource_paths(k, &(ks.name)(), &mut paths);
        served.push(ks);
    }
    let mut schemas = generator.take_definitions(true);
    annotate_kinds(&mut schemas, &served);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": super::VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}},
        },
        "security": [{"BearerToken": []}],
    })
}

/// Swagger 2.0 for JSON clients: every kind's definitions under `#/definitions`, with the GVK
/// extension, and no operations (no JSON client of v2 needs them; kubectl reads protobuf).
fn v2_document(table: &[KindSchema]) -> Value {
    let mut generator = SchemaSettings::draft07()
        .with(|s| {
            s.meta_schema = None;
            s.definitions_path = "/definitions".into();
            // Swagger 2.0 upstream keeps a `$ref`'s sibling description as is (no `allOf`).
            s.transforms.clear();
        })
        .into_generator();
    let served: Vec<&KindSchema> = table
        .iter()
        .filter(|ks| {
            kinds::ALL
                .iter()
                .any(|k| k.group == ks.group && k.version == ks.version && k.kind == ks.kind)
        })
        .collect();
    for ks in &served {
        (ks.add)(&mut generator);
    }
    let mut definitions = generator.take_definitions(true);
    annotate_kinds(&mut definitions, &served);
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": super::VERSION},
        "paths": {},
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    })
}

/// A response with `body` and `headers`, which replace `base`'s (its `Cache-Control`).
fn respond(
    code: u16,
    content_type: &str,
    body: Bytes,
    headers: &[(&'static str, String)],
) -> Result<hyper::Response<Body>> {
    let mut resp = base(code, content_type)
        .body(http_body_util::BodyExt::boxed(http_body_util::Full::new(
            body,
        )))
        .map_err(|e| Error::Internal(e.to_string()))?;
    for (name, value) in headers {
        let value = hyper::header::HeaderValue::from_str(value)
            .map_err(|e| Error::Internal(e.to_string()))?;
        resp.headers_mut().insert(*name, value);
    }
    Ok(resp)
}

fn etag(d: &Document) -> (&'static str, String) {
    ("Etag", format!("\"{}\"", d.hash))
}

/// Whether an `Accept` header admits `media` (a missing header admits anything).
fn accepts(accept: &str, media: &str) -> bool {
    let (ty, _) = media.split_once('/').unwrap_or((media, ""));
    accept.is_empty()
        || accept.split(',').any(|c| {
            let m = c.split(';').next().unwrap_or_default().trim();
            m == media || m == "*/*" || m.strip_suffix("/*") == Some(ty)
        })
}

/// `GET /openapi/v3`.
pub(crate) fn v3_index() -> Result<hyper::Response<Body>> {
    let d = &documents().index;
    respond(200, "application/json", d.body.clone(), &[etag(d)])
}

/// `GET /openapi/v3/<gv>`: JSON only (kubectl asks for JSON); an Accept that excludes JSON
/// gets 406, as kube-openapi answers one it cannot serve.
pub(crate) fn v3_group_version(req: &Req, gv: &str) -> Result<hyper::Response<Body>> {
    let d = documents()
        .group_versions
        .get(gv)
        .ok_or(Error::PathNotFound)?;
    let vary = ("Vary", "Accept".to_string());
    if !accepts(&req.accept, "application/json") {
        return respond(406, "text/plain", Bytes::new(), &[vary]);
    }
    match req.q("hash") {
        Some(h) if !h.is_empty() && h != d.hash => {
            let url = format!("/openapi/v3/{gv}?hash={}", d.hash);
            let body = format!("<a href=\"{url}\">Moved Permanently</a>.\n\n");
            respond(
                301,
                "text/html; charset=utf-8",
                Bytes::from(body),
                &[("Location", url)],
            )
        }
        Some(h) if !h.is_empty() => {
            let expires = jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .saturating_add(jiff::Span::new().years(1))
                .strftime("%a, %d %b %Y %H:%M:%S UTC")
                .to_string();
            respond(
                200,
                "application/json",
                d.body.clone(),
                &[
                    etag(d),
                    vary,
                    ("Cache-Control", "public, immutable".to_string()),
                    ("Expires", expires),
                ],
            )
        }
        _ => respond(200, "application/json", d.body.clone(), &[etag(d), vary]),
    }
}

/// `GET /openapi/v2`: JSON to a client that asks for it, else the empty protobuf document.
pub(crate) fn v2(req: &Req) -> Result<hyper::Response<Body>> {
    if !req.accept.contains("protobuf")
        && accepts(&req.accept, "application/json")
        && !req.accept.is_empty()
    {
        let d = &documents().v2;
        return respond(200, "application/json", d.body.clone(), &[etag(d)]);
    }
    // An empty `openapi_v2.Document`: kubectl 1.27/1.28 parse it, find no schema for any kind
    // and leave validation to the server (fieldValidation) and explain to v3.
    respond(200, V2_PROTOBUF, Bytes::new(), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_kind_has_a_schema_with_its_own_gvk_and_a_list_path() {
        let docs = documents();
        for k in kinds::ALL {
            let gv = gv_path(k.group, k.version);
            let body = &docs
                .group_versions
                .get(&gv)
                .unwrap_or_else(|| panic!("{gv} has a document"))
                .body;
            let doc: Value = serde_json::from_slice(body).expect("the document is JSON");
            let schemas = doc["components"]["schemas"]
                .as_object()
                .expect("components/schemas");
            let want = gvk(k.group, k.version, k.kind);
            let found = schemas.values().find(|s| {
                s["x-kubernetes-group-version-kind"]
                    .as_array()
                    .is_some_and(|a| a.contains(&want))
            });
            let Some(schema) = found else {
                panic!("{} has no schema in {gv}: add it to kind_schemas()", k.kind);
            };
            assert!(
                schema["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{}: explain prints the schema's description",
                k.kind
            );
            assert!(
                !schema["required"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|f| f == "metadata")),
                "{}: metadata is never required upstream",
                k.kind
            );
            let ops: Vec<&Value> = doc["paths"]
                .as_object()
                .expect("paths")
                .values()
                .flat_map(|p| p.as_object().into_iter().flat_map(|o| o.values()))
                .filter(|op| op["x-kubernetes-group-version-kind"] == want)
                .collect();
            assert!(!ops.is_empty(), "{}: an operation names its GVK", k.kind);
            if k.verbs.contains(&"list") {
                let list = format!("/{gv}/{}", k.plural);
                assert_eq!(
                    doc["paths"][&list]["get"]["x-kubernetes-group-version-kind"], want,
                    "kubectl 1.27 finds {} through {list}",
                    k.kind
                );
            }
            if k.verbs.contains(&"patch") {
                let validated = ops.iter().any(|op| {
                    op["x-kubernetes-action"] == "patch"
                        && op["parameters"].as_array().is_some_and(|ps| {
                            ps.iter()
                                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
                        })
                        && op.get("requestBody").is_none()
                });
                assert!(
                    validated,
                    "{}: kubectl trusts server-side validation only with fieldValidation on patch",
                    k.kind
                );
            }
        }
    }

    #[test]
    fn the_index_links_every_document_by_its_hash() {
        let docs = documents();
        let index: Value = serde_json::from_slice(&docs.index.body).expect("JSON index");
        let paths = index["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), docs.group_versions.len());
        for (gv, d) in &docs.group_versions {
            assert_eq!(
                paths[gv]["serverRelativeURL"],
                format!("/openapi/v3/{gv}?hash={}", d.hash)
            );
            assert_eq!(d.hash.len(), 128, "SHA-512 in hex");
            assert_eq!(d.hash, d.hash.to_uppercase(), "kube-openapi prints %X");
        }
        assert!(paths.contains_key("api/v1") && paths.contains_key("apis/apps/v1"));
    }

    #[test]
    fn refs_with_descriptions_are_wrapped_in_all_of_and_resolve() {
        let docs = documents();
        let doc: Value = serde_json::from_slice(&docs.group_versions["api/v1"].body).expect("JSON");
        let pod = &doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.PodSpec"
        );
        let text = String::from_utf8_lossy(&docs.group_versions["api/v1"].body).into_owned();
        for r in text.split("\"$ref\":\"").skip(1) {
            let target = r.split('"').next().unwrap_or_default();
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{target} is a components ref"));
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{name} resolves"
            );
        }
    }

    #[test]
    fn operation_ids_and_tags_follow_upstream_naming() {
        assert_eq!(op_id_gv("", "v1"), "CoreV1");
        assert_eq!(
            op_id_gv("rbac.authorization.k8s.io", "v1"),
            "RbacAuthorizationV1"
        );
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
        assert_eq!(tag("apps", "v1"), "apps_v1");
    }
}

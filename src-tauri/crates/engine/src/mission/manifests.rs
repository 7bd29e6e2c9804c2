//! Lesson manifests: every `*.yaml`/`*.yml` in `manifests/` (the broken state) and `solution/`
//! (the reference fix), each possibly holding several `---`-separated documents.
//!
//! Each document must be a mapping with `apiVersion`, `kind` and `metadata.name`. The engine
//! applies everything into the mission's own namespace (`kq-<id>`), which keeps missions
//! isolated from each other and from anything else on the cluster, so `metadata.namespace`
//! may only name that namespace. Cluster-scoped kinds (see [`is_cluster_scoped`]) are told
//! apart here; whether the mission may hold them is decided against its `cluster_scoped:`
//! declaration by the loader.
//!
//! Every problem of every document is collected, each at its own line, so a teacher sees them
//! all in one run of `kq lessons check`.

use std::path::{Path, PathBuf};

use super::LessonError;
use super::files::LessonRoot;

/// One Kubernetes object from a lesson file.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub file: PathBuf,
    /// The line the document starts on.
    pub line: usize,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// The object as JSON, ready for server-side apply.
    pub object: serde_json::Value,
}

impl Manifest {
    /// Whether the object lives outside any namespace (a Node, a ClusterRole, …).
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(&self.kind)
    }
}

/// The cluster-scoped kinds of Kubernetes v1.33, each checked at compile time against
/// k8s-openapi's own scope for the type, so the list cannot drift from the API.
macro_rules! cluster_scoped_kinds {
    ($($t:ty),* $(,)?) => {
        const CLUSTER_SCOPED_KINDS: &[&str] = &[$(<$t as k8s_openapi::Resource>::KIND),*];
        const _: fn() = || {
            fn cluster_scoped<
                T: k8s_openapi::Resource<Scope = k8s_openapi::ClusterResourceScope>,
            >() {
            }
            $(cluster_scoped::<$t>();)*
        };
    };
}

cluster_scoped_kinds!(
    k8s_openapi::api::core::v1::Node,
    k8s_openapi::api::core::v1::Namespace,
    k8s_openapi::api::core::v1::PersistentVolume,
    k8s_openapi::api::core::v1::ComponentStatus,
    k8s_openapi::api::rbac::v1::ClusterRole,
    k8s_openapi::api::rbac::v1::ClusterRoleBinding,
    k8s_openapi::api::storage::v1::StorageClass,
    k8s_openapi::api::storage::v1::CSIDriver,
    k8s_openapi::api::storage::v1::CSINode,
    k8s_openapi::api::storage::v1::VolumeAttachment,
    k8s_openapi::api::scheduling::v1::PriorityClass,
    k8s_openapi::api::node::v1::RuntimeClass,
    k8s_openapi::api::networking::v1::IngressClass,
    k8s_openapi::api::networking::v1::IPAddress,
    k8s_openapi::api::networking::v1::ServiceCIDR,
    k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration,
    k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
    k8s_openapi::api::certificates::v1::CertificateSigningRequest,
    k8s_openapi::api::flowcontrol::v1::FlowSchema,
    k8s_openapi::api::flowcontrol::v1::PriorityLevelConfiguration,
    k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService,
);

/// The cluster-scoped kinds a mission may declare: only what the embedded cluster needs for a
/// lesson today (extra nodes, each with its own simulated kubelet).
pub const DECLARABLE_CLUSTER_SCOPED_KINDS: &[&str] = &["Node"];

/// Whether objects of `kind` live outside any namespace. A kind Kubernetes does not define
/// (a custom resource) counts as namespaced: the cluster decides when it is applied.
pub fn is_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED_KINDS.contains(&kind)
}

/// Splits multi-document YAML into `(first line, text)` chunks.
pub(crate) fn documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut start = 1;
    let mut cur = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            docs.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            continue;
        }
        if t == "..." {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    docs.push((start, cur));
    docs
}

/// The 0-based line of `metadata:`'s `key:` in a document (block or flow style), if written.
fn metadata_key_line(doc: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = doc.lines().collect();
    let meta = lines.iter().position(|l| l.starts_with("metadata:"))?;
    let flow = format!("{key}:");
    if lines[meta].contains(&flow) {
        return Some(meta);
    }
    lines
        .iter()
        .enumerate()
        .skip(meta + 1)
        .take_while(|(_, l)| l.trim().is_empty() || l.starts_with([' ', '\t', '#']))
        .find(|(_, l)| l.trim_start().starts_with(&flow))
        .map(|(i, _)| i)
}

/// What reading a folder of manifests found.
#[derive(Debug, Default)]
pub struct ManifestRead {
    /// Every document whose kind and name are known, even one with other problems, so checks
    /// that look for "a Pod named web" do not invent a second error about the same document.
    pub manifests: Vec<Manifest>,
    /// Every problem, each at its own file and line.
    pub errors: Vec<LessonError>,
    /// False when some document's kind or name could not be read: cross-checks then stay quiet
    /// rather than guess.
    pub complete: bool,
    /// Each file's text as read, so later messages can point inside it without reading again.
    pub sources: Vec<(PathBuf, String)>,
}

/// Reads one manifest file; `namespace` is the mission's, when its id is known.
pub fn read_manifest_file(
    root: &LessonRoot,
    file: &Path,
    namespace: Option<&str>,
    out: &mut ManifestRead,
) {
    let text = match root.read(file) {
        Ok(t) => t,
        Err(e) => {
            out.errors.push(e);
            out.complete = false;
            return;
        }
    };
    out.sources.push((file.to_owned(), text.clone()));
    for (start, doc) in documents(&text) {
        let value: serde_yaml_ng::Value = match serde_yaml_ng::from_str(&doc) {
            Ok(v) => v,
            Err(e) => {
                let p = super::format::split_yaml_error(&e);
                out.errors.push(LessonError::Invalid {
                    file: file.to_owned(),
                    line: start + super::format::clamp_line(&doc, p.line).saturating_sub(1),
                    field: p.field,
                    message: format!("not valid YAML: {}", p.message),
                });
                out.complete = false;
                continue;
            }
        };
        if value.is_null() {
            continue; // an empty document (comments only, or a trailing `---`)
        }
        let invalid = |line: usize, field: &str, message: String| LessonError::Invalid {
            file: file.to_owned(),
            line,
            field: Some(field.to_owned()),
            message,
        };
        if !value.is_mapping() {
            out.errors.push(invalid(
                start,
                "",
                "a manifest must be a mapping (`kind: Pod` …)".into(),
            ));
            out.complete = false;
            continue;
        }
        let text_field = |v: Option<&serde_yaml_ng::Value>| {
            v.and_then(serde_yaml_ng::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let api_version = text_field(value.get("apiVersion"));
        if api_version.is_none() {
            out.errors.push(invalid(
                start,
                "apiVersion",
                "missing `apiVersion` (e.g. `v1`)".into(),
            ));
        }
        let kind = text_field(value.get("kind"));
        if kind.is_none() {
            out.errors
                .push(invalid(start, "kind", "missing `kind` (e.g. `Pod`)".into()));
        }
        let metadata = value.get("metadata");
        let name = text_field(metadata.and_then(|m| m.get("name")));
        if name.is_none() {
            out.errors.push(invalid(
                start,
                "metadata.name",
                format!(
                    "the {} has no `metadata.name`",
                    kind.as_deref().unwrap_or("object")
                ),
            ));
        }
        let (Some(kind), Some(name)) = (kind, name) else {
            out.complete = false;
            continue;
        };
        if let Some(ns) = metadata.and_then(|m| m.get("namespace"))
            && !is_cluster_scoped(&kind)
        {
            let line = start + metadata_key_line(&doc, "namespace").unwrap_or(0);
            match (ns.as_str(), namespace) {
                (Some(ns), Some(mission)) if ns == mission => {}
                (found, mission) => out.errors.push(invalid(
                    line,
                    "metadata.namespace",
                    format!(
                        "{kind} `{name}` sets metadata.namespace to `{}`; remove it: the \
                         mission applies everything into its own namespace{}",
                        found.map_or_else(|| format!("{ns:?}"), str::to_owned),
                        mission.map(|m| format!(" (`{m}`)")).unwrap_or_default(),
                    ),
                )),
            }
        }
        let object = match serde_json::to_value(&value) {
            Ok(o) => o,
            Err(e) => {
                out.errors.push(invalid(
                    start,
                    "",
                    format!("{kind} `{name}` cannot be converted to JSON: {e}"),
                ));
                serde_json::Value::Null
            }
        };
        out.manifests.push(Manifest {
            file: file.to_owned(),
            line: start,
            api_version: api_version.unwrap_or_default(),
            kind,
            name,
            object,
        });
    }
}

/// Reads every YAML file of a folder, in name order, collecting every problem.
pub fn read_manifest_dir(root: &LessonRoot, dir: &Path, namespace: Option<&str>) -> ManifestRead {
    let mut out = ManifestRead {
        complete: true,
        ..ManifestRead::default()
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            out.errors.push(LessonError::Io {
                file: dir.to_owned(),
                source,
            });
            out.complete = false;
            return out;
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    for f in files {
        read_manifest_file(root, &f, namespace, &mut out);
    }
    out
}

/// The line of `image: <image>` in a manifest's document, for errors about that image.
pub fn image_line(text: &str, manifest: &Manifest, image: &str) -> usize {
    text.lines()
        .enumerate()
        .skip(manifest.line.saturating_sub(1))
        .find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with("image:") && t.contains(image)
        })
        .map_or(manifest.line, |(i, _)| i + 1)
}

/// Every container image an object's pod templates name (Pods, Deployments, Jobs, CronJobs…):
/// any `image` inside a `containers`, `initContainers` or `ephemeralContainers` list.
pub fn container_images(object: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    if matches!(
                        k.as_str(),
                        "containers" | "initContainers" | "ephemeralContainers"
                    ) && let Some(list) = child.as_array()
                    {
                        for c in list {
                            if let Some(image) = c.get("image").and_then(|i| i.as_str()) {
                                out.push(image.to_owned());
                            }
                        }
                    }
                    walk(child, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(object, &mut out);
    out
}

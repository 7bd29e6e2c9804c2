//! Lesson manifests: every `*.yaml`/`*.yml` in `manifests/` (the broken state) and `solution/`
//! (the reference fix), each possibly holding several `---`-separated documents.
//!
//! Each document must be a mapping with `apiVersion`, `kind` and `metadata.name`, and must not
//! set `metadata.namespace`: the engine applies everything into the mission's own namespace
//! (`kq-<id>`), which keeps missions isolated from each other and from anything else on the
//! cluster.

use std::path::{Path, PathBuf};

use super::LessonError;

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

/// Reads one manifest file.
pub fn read_manifest_file(file: &Path) -> Result<Vec<Manifest>, LessonError> {
    let text = std::fs::read_to_string(file).map_err(|source| LessonError::Io {
        file: file.to_owned(),
        source,
    })?;
    let mut out = Vec::new();
    for (start, doc) in documents(&text) {
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&doc).map_err(|e| {
            let p = super::format::split_yaml_error(&e);
            LessonError::Invalid {
                file: file.to_owned(),
                line: start + super::format::clamp_line(&doc, p.line).saturating_sub(1),
                field: p.field,
                message: format!("not valid YAML: {}", p.message),
            }
        })?;
        if value.is_null() {
            continue; // an empty document (comments only, or a trailing `---`)
        }
        let invalid = |field: &str, message: String| LessonError::Invalid {
            file: file.to_owned(),
            line: start,
            field: Some(field.to_owned()),
            message,
        };
        if !value.is_mapping() {
            return Err(invalid(
                "",
                "a manifest must be a mapping (`kind: Pod` …)".into(),
            ));
        }
        let text_field = |v: Option<&serde_yaml_ng::Value>| {
            v.and_then(serde_yaml_ng::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let api_version = text_field(value.get("apiVersion"))
            .ok_or_else(|| invalid("apiVersion", "missing `apiVersion` (e.g. `v1`)".into()))?;
        let kind = text_field(value.get("kind"))
            .ok_or_else(|| invalid("kind", "missing `kind` (e.g. `Pod`)".into()))?;
        let metadata = value.get("metadata");
        let name = text_field(metadata.and_then(|m| m.get("name"))).ok_or_else(|| {
            invalid(
                "metadata.name",
                format!("the {kind} has no `metadata.name`"),
            )
        })?;
        if metadata.and_then(|m| m.get("namespace")).is_some() {
            return Err(invalid(
                "metadata.namespace",
                format!(
                    "{kind} `{name}` sets metadata.namespace; remove it, the mission applies \
                     everything into its own namespace"
                ),
            ));
        }
        let object = serde_json::to_value(&value).map_err(|e| {
            invalid(
                "",
                format!("{kind} `{name}` cannot be converted to JSON: {e}"),
            )
        })?;
        out.push(Manifest {
            file: file.to_owned(),
            line: start,
            api_version,
            kind,
            name,
            object,
        });
    }
    Ok(out)
}

/// Reads every YAML file of a folder, in name order.
pub fn read_manifest_dir(dir: &Path) -> Result<Vec<Manifest>, LessonError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LessonError::Io {
        file: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(read_manifest_file(&f)?);
    }
    Ok(out)
}

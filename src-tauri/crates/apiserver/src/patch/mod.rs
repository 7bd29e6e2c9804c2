//! PATCH: the four content types kube-apiserver accepts (JSON patch, merge patch, strategic
//! merge patch, server-side apply) turned into the patched object, which the write path then
//! decodes, validates and stores like any update; plus the `managedFields` bookkeeping that
//! apply relies on.
//!
//! Kubernetes keeps the same concept in `k8s.io/apiserver/pkg/endpoints/handlers/patch.go`,
//! `k8s.io/apimachinery/pkg/util/strategicpatch` and `.../handlers/fieldmanager`.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::kinds::{self, ResourceKind};
use crate::registry::check_gvk;

pub(crate) mod json_patch_bounds;
pub(crate) mod managed;
pub mod strategic;

/// The four PATCH content types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

/// Parse an apply body (YAML or JSON).
pub(crate) fn parse_apply(patch: &[u8]) -> Result<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(patch) {
        return Ok(v);
    }
    let text = std::str::from_utf8(patch)
        .map_err(|_| Error::BadRequest("error decoding YAML: invalid UTF-8".into()))?;
    serde_yaml_ng::from_str::<Value>(text)
        .map_err(|e| Error::BadRequest(format!("error decoding YAML: {e}")))
}

fn patch_error(msg: String) -> Error {
    Error::BadRequest(msg)
}

/// Compute the patched object (not yet decoded or validated).
pub(crate) fn compute_patch(
    kind: &ResourceKind,
    old: &Value,
    patch: &[u8],
    pkind: PatchKind,
    name: &str,
) -> Result<Value> {
    match pkind {
        PatchKind::Json => {
            let ops = json_patch_bounds::parse(patch)?;
            let doc = json_patch_bounds::apply(old, &ops);
            if let Err(Error::PatchNotApplicable { cause }) = &doc {
                tracing::debug!(%name, %cause, "JSON patch refused");
            }
            doc
        }
        PatchKind::Merge => {
            let p: Value = serde_json::from_slice(patch).map_err(|e| patch_error(e.to_string()))?;
            if !p.is_object() {
                return Err(patch_error(
                    "json: cannot unmarshal into Go value of type map[string]interface {}".into(),
                ));
            }
            let mut doc = old.clone();
            json_patch::merge(&mut doc, &p);
            Ok(doc)
        }
        PatchKind::Strategic => {
            let p: Value = serde_json::from_slice(patch).map_err(|e| patch_error(e.to_string()))?;
            strategic::apply(old, &p, kind.kind)
        }
        PatchKind::Apply => {
            let p = parse_apply(patch)?;
            if !p.is_object() {
                return Err(patch_error(
                    "error decoding YAML: the apply configuration must be an object".into(),
                ));
            }
            if p.get("apiVersion")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(patch_error("apiVersion must be set".into()));
            }
            if p.get("kind")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(patch_error("kind must be set".into()));
            }
            check_gvk(kind, &p)?;
            let applied = kinds::name_of(&p);
            if applied != name {
                return Err(Error::BadRequest(format!(
                    "the name of the object ({applied}) does not match the name on the URL ({name})"
                )));
            }
            // Server-side apply, simplified: the applied configuration is merged over the live
            // object with strategic-merge list semantics.
            strategic::apply(old, &p, kind.kind)
        }
    }
}

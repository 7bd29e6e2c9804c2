//! `meta.k8s.io` Table responses, which is what `kubectl get` asks for. Without them kubectl
//! falls back to NAME and AGE only, so STATUS would vanish.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::kinds::ResourceKind;

/// What the client asked for in Accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableRequest {
    /// `v1` or `v1beta1`.
    pub version: &'static str,
}

impl TableRequest {
    /// The Content-Type of the response.
    pub fn content_type(&self) -> String {
        format!("application/json;as=Table;v={};g=meta.k8s.io", self.version)
    }
}

/// Does the Accept header ask for a Table (first acceptable range wins)?
pub(crate) fn wants_table(accept: &str) -> Option<TableRequest> {
    for range in accept.split(',') {
        let parts: Vec<&str> = range.split(';').map(str::trim).collect();
        let media = parts.first().copied().unwrap_or_default();
        let param = |k: &str| {
            parts
                .iter()
                .skip(1)
                .find_map(|p| p.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
        };
        if media == "application/json"
            && param("as") == Some("Table")
            && param("g") == Some("meta.k8s.io")
        {
            match param("v") {
                Some("v1") => return Some(TableRequest { version: "v1" }),
                Some("v1beta1") => return Some(TableRequest { version: "v1beta1" }),
                _ => continue,
            }
        }
        if media == "application/json"
            || media == "*/*"
            || media == "application/vnd.kubernetes.protobuf"
        {
            return None;
        }
    }
    None
}

/// The `includeObject` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// One table row for an object.
pub(crate) fn row(
    kind: &ResourceKind,
    obj: &Value,
    include: IncludeObject,
    req: TableRequest,
    now: Timestamp,
) -> Value {
    let mut r = json!({"cells": kind.hooks.cells(obj, now)});
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            r["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": format!("meta.k8s.io/{}", req.version),
                "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
            });
        }
        IncludeObject::Object => r["object"] = obj.clone(),
    }
    r
}

/// A whole table.
pub(crate) fn table(
    kind: &ResourceKind,
    objs: &[&Value],
    rv: &str,
    include: IncludeObject,
    req: TableRequest,
    now: Timestamp,
    with_columns: bool,
) -> Value {
    let columns: Vec<Value> = if with_columns {
        kind.hooks.columns().iter().map(|c| c.to_json()).collect()
    } else {
        vec![]
    };
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{}", req.version),
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": columns,
        "rows": objs.iter().map(|o| row(kind, o, include, req, now)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kubectl_get_accept() {
        let a = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(wants_table(a), Some(TableRequest { version: "v1" }));
        assert_eq!(wants_table("application/json"), None);
        assert_eq!(
            wants_table("application/json;as=Table;v=v1beta1;g=meta.k8s.io"),
            Some(TableRequest { version: "v1beta1" })
        );
    }
}

//! Strict decoding of request bodies through the k8s-openapi types.
//!
//! kubectl always sends `fieldValidation=Strict`, so a typo such as `imagee` must come back as
//! `strict decoding error: unknown field "spec.containers[0].imagee"`, a good teaching moment.
//! Unknown fields are found generically with `serde_ignored` (any field the typed struct
//! ignores), and type errors are located with `serde_path_to_error` so the message names the
//! field, as the Go decoder does.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Type mismatch or malformed value; text in Go's `json: cannot unmarshal ...` style.
    Type(String),
}

/// Decode `value` as `K`, returning the object and the unknown field paths (in the
/// `spec.containers[0].imagee` form kube-apiserver prints).
pub fn decode<K: DeserializeOwned>(
    value: &Value,
    kind: &str,
) -> Result<(K, Vec<String>), DecodeError> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(ignored_path(&path));
    let de = serde_ignored::Deserializer::new(value, &mut record);
    match serde_path_to_error::deserialize::<_, K>(de) {
        Ok(obj) => Ok((obj, unknown)),
        Err(e) => {
            let path = go_field_path(e.path());
            Err(DecodeError::Type(go_type_error(
                kind,
                &path,
                &e.inner().to_string(),
            )))
        }
    }
}

/// The text kube-apiserver uses for unknown fields, all of them in one message.
pub fn unknown_fields_message(fields: &[String]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    format!("strict decoding error: {}", parts.join(", "))
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    fn walk(p: &Path<'_>, out: &mut String) {
        match p {
            Path::Root => {}
            Path::Seq { parent, index } => {
                walk(parent, out);
                out.push_str(&format!("[{index}]"));
            }
            Path::Map { parent, key } => {
                walk(parent, out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut out = String::new();
    walk(path, &mut out);
    out
}

/// Go's decoder names fields by their dotted JSON path without list indexes.
fn go_field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut parts = Vec::new();
    for seg in path.iter() {
        match seg {
            Segment::Map { key } => parts.push(key.clone()),
            Segment::Enum { variant } => parts.push(variant.clone()),
            Segment::Seq { .. } | Segment::Unknown => {}
        }
    }
    parts.join(".")
}

/// Translate serde's "invalid type: string \"x\", expected i32" into Go's wording.
fn go_type_error(kind: &str, path: &str, serde_msg: &str) -> String {
    let found = if serde_msg.contains("invalid type: string") {
        "string"
    } else if serde_msg.contains("invalid type: integer")
        || serde_msg.contains("invalid type: floating point")
    {
        "number"
    } else if serde_msg.contains("invalid type: boolean") {
        "bool"
    } else if serde_msg.contains("invalid type: map") {
        "object"
    } else if serde_msg.contains("invalid type: sequence") {
        "array"
    } else if serde_msg.contains("invalid type: null") {
        "null"
    } else {
        return format!("json: {serde_msg}");
    };
    let expected = serde_msg.rsplit("expected ").next().unwrap_or_default();
    let go_type = match expected {
        e if e.starts_with("i32") => "int32".to_string(),
        e if e.starts_with("i64") => "int64".to_string(),
        e if e.starts_with("u") && e.len() <= 4 => "uint".to_string(),
        e if e.starts_with("f64") => "float64".to_string(),
        e if e.contains("string") => "string".to_string(),
        e if e.contains("bool") => "bool".to_string(),
        e if e.contains("sequence") || e.contains("Vec") => "[]interface {}".to_string(),
        e if e.contains("map") => "map[string]string".to_string(),
        other => other
            .trim_start_matches("struct ")
            .trim_start_matches("a ")
            .to_string(),
    };
    if path.is_empty() {
        format!("json: cannot unmarshal {found} into Go value of type v1.{kind}")
    } else {
        format!(
            "json: cannot unmarshal {found} into Go struct field {kind}.{path} of type {go_type}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    #[test]
    fn finds_unknown_nested_fields() {
        let v = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","labelz":{}},
            "spec":{"containers":[{"name":"c","image":"nginx","imagee":"typo"}]}});
        let (_pod, unknown) = decode::<Pod>(&v, "Pod").unwrap();
        assert_eq!(
            unknown,
            vec![
                "metadata.labelz".to_string(),
                "spec.containers[0].imagee".to_string()
            ]
        );
        assert_eq!(
            unknown_fields_message(&unknown[1..]),
            "strict decoding error: unknown field \"spec.containers[0].imagee\""
        );
    }

    #[test]
    fn reports_type_errors_with_a_path() {
        let v = json!({"spec":{"containers":[{"name":"c","ports":[{"containerPort":"eighty"}]}]}});
        let err = decode::<Pod>(&v, "Pod").unwrap_err();
        let DecodeError::Type(msg) = err;
        assert!(msg.contains("spec.containers.ports.containerPort"), "{msg}");
        assert!(msg.starts_with("json: cannot unmarshal string"), "{msg}");
    }
}

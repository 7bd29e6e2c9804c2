//! RFC 6902 JSON patches applied with the bounds kube-apiserver enforces, so no patch can
//! take the embedded cluster (and the desktop app it lives in) down.
//!
//! Three things make an unbounded JSON patch dangerous in-process:
//! - **operation count**: kube-apiserver refuses more than 10,000 operations before applying
//!   anything (413);
//! - **`copy`**: each one deep-copies a subtree, so a short chain of copies doubles the
//!   document each time. kube-apiserver caps the bytes all copies of one patch may add
//!   (`JSONPatchMaxCopyBytes`, 3 MiB) and answers a patch past it like any failed patch (422);
//! - **nesting**: `move` can push a subtree one level deeper per operation, and everything
//!   that later walks the document (clone, compare, serialise, drop) recurses once per level.
//!   That overflows a thread's stack long before any size limit is reached, and a stack
//!   overflow aborts the process: no `catch_unwind` can stop it. So the depth is checked
//!   before every operation that can deepen the document, never after the fact.
//!
//! Operations are applied one at a time with `json_patch::patch_unsafe` on a copy of the
//! stored object: the crate's own rollback (its undo stack) is never needed, because a failed
//! patch just drops the copy, and that rollback is what panicked on a `move` into its own
//! parent. A panic inside the crate is still caught here as a last line of defence.

use std::panic::{AssertUnwindSafe, catch_unwind};

use json_patch::PatchOperation;
use serde_json::Value;

use crate::error::{Error, Result};

/// kube-apiserver's `maxJSONPatchOperations` (k8s.io/apiserver
/// `pkg/endpoints/handlers/patch.go`).
pub(crate) const MAX_OPERATIONS: usize = 10_000;

/// kube-apiserver's default `JSONPatchMaxCopyBytes` (k8s.io/apiserver `pkg/server/config.go`:
/// twice etcd's 1.5 MiB request limit, since JSON is bigger than the stored protobuf).
pub(crate) const MAX_COPY_BYTES: usize = 3 * 1024 * 1024;

/// How deeply objects and arrays may nest in a patched object.
///
/// Kubernetes' own bound is 10,000 levels (apimachinery `pkg/util/json`, "exceeded max depth
/// of 10000"), set for Go's growable stacks. Measured here: cloning a 1,500-level
/// `serde_json::Value` overflows a 2 MiB thread stack in a debug build, and handlers run on
/// such threads. 128 is the nesting serde_json accepts when it parses any request body (its
/// recursion limit), so a patch can never produce an object the server would refuse as a
/// body, nor one that kube-rs (the app's own client, also serde_json) could not read back.
/// Typed Kubernetes objects nest far less (a Pod about a dozen levels).
pub(crate) const MAX_DEPTH: usize = 128;

/// How deeply `v` nests (0 for a scalar, 1 for `{}` or `[]`), walked without recursion so
/// measuring a hostile document cannot itself overflow the stack.
pub(crate) fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => {
                deepest = deepest.max(d);
                continue;
            }
        };
        deepest = deepest.max(d + 1);
        stack.extend(children.map(|c| (c, d + 1)));
    }
    deepest
}

/// Counts serialised bytes and stops the serialiser once `limit` is passed, so measuring a
/// huge subtree costs at most `limit` bytes of work.
struct ByteBudget {
    used: usize,
    limit: usize,
}

impl std::io::Write for ByteBudget {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.used = self.used.saturating_add(buf.len());
        if self.used > self.limit {
            return Err(std::io::Error::other("over budget"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The JSON size of `v`, or `None` once it is over `limit`.
pub(crate) fn json_size_within(v: &Value, limit: usize) -> Option<usize> {
    let mut budget = ByteBudget { used: 0, limit };
    serde_json::to_writer(&mut budget, v).ok()?;
    Some(budget.used)
}

/// Number of reference tokens in a JSON pointer (`/a/b` has 2; `` has 0).
fn tokens(pointer: &str) -> usize {
    pointer.bytes().filter(|b| *b == b'/').count()
}

fn rejected(cause: impl Into<String>) -> Error {
    Error::PatchNotApplicable {
        cause: cause.into(),
    }
}

/// Parse a JSON patch body and refuse it, before applying anything, when it has more
/// operations than kube-apiserver allows.
pub(crate) fn parse(body: &[u8]) -> Result<Vec<PatchOperation>> {
    let patch: json_patch::Patch =
        serde_json::from_slice(body).map_err(|e| Error::BadRequest(e.to_string()))?;
    if patch.0.len() > MAX_OPERATIONS {
        return Err(Error::EntityTooLarge(format!(
            "The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {}",
            patch.0.len()
        )));
    }
    Ok(patch.0)
}

/// Apply `ops` to a copy of `original`, bounded in copied bytes and nesting depth.
pub(crate) fn apply(original: &Value, ops: &[PatchOperation]) -> Result<Value> {
    let mut doc = original.clone();
    // Invariant: no container in `doc` sits deeper than `bound` (an upper bound, kept cheap:
    // it is only recomputed exactly when a move might break the limit).
    let mut bound = depth(&doc);
    let mut copied = 0usize;
    for (i, op) in ops.iter().enumerate() {
        // The depth `doc` may reach once `op` is applied.
        let after = match op {
            PatchOperation::Add(o) => tokens(o.path.as_str()) + depth(&o.value),
            PatchOperation::Replace(o) => tokens(o.path.as_str()) + depth(&o.value),
            PatchOperation::Copy(o) => {
                // A missing source is the crate's error to report; measure what exists.
                let Some(source) = doc.pointer(o.from.as_str()) else {
                    return Err(rejected(format!("operation {i}: copy from a missing path")));
                };
                let room = MAX_COPY_BYTES - copied;
                let size = json_size_within(source, room).ok_or_else(|| {
                    rejected(format!(
                        "operation {i}: copies would add more than {MAX_COPY_BYTES} bytes"
                    ))
                })?;
                copied += size;
                tokens(o.path.as_str()) + depth(source)
            }
            PatchOperation::Move(o) => {
                let to = tokens(o.path.as_str());
                let from = tokens(o.from.as_str());
                // The moved subtree sits `from` levels down, so it nests at most
                // `bound - from` levels itself; measure it only when that might not fit.
                let loose = to + bound.saturating_sub(from);
                if loose <= MAX_DEPTH {
                    loose
                } else {
                    match doc.pointer(o.from.as_str()) {
                        Some(moved) => to + depth(moved),
                        None => {
                            return Err(rejected(format!(
                                "operation {i}: move from a missing path"
                            )));
                        }
                    }
                }
            }
            PatchOperation::Remove(_) | PatchOperation::Test(_) => 0,
        };
        if after > MAX_DEPTH {
            return Err(rejected(format!(
                "operation {i}: the result would nest {after} levels deep, more than {MAX_DEPTH}"
            )));
        }
        bound = bound.max(after);
        let one = std::slice::from_ref(op);
        match catch_unwind(AssertUnwindSafe(|| json_patch::patch_unsafe(&mut doc, one))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(rejected(format!("operation {i}: {}", e.kind))),
            Err(_) => {
                tracing::error!(
                    operation = i,
                    "the JSON patch engine panicked; patch refused"
                );
                return Err(rejected(format!("operation {i}: the patch engine failed")));
            }
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(v: Value) -> Vec<PatchOperation> {
        serde_json::from_value(v).expect("a well-formed patch")
    }

    fn rejection(r: Result<Value>) -> String {
        match r {
            Err(Error::PatchNotApplicable { cause }) => cause,
            other => panic!("expected the patch to be refused as not applicable, got {other:?}"),
        }
    }

    #[test]
    fn a_failed_test_after_a_move_into_the_parent_is_refused_not_a_panic() {
        // json-patch's rollback of this patch panics (it cannot undo a move into the parent).
        let doc = json!({"metadata": {"labels": {"a": "x"}}});
        let patch = ops(json!([
            {"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels"},
            {"op": "test", "path": "/x", "value": 1}
        ]));
        let cause = rejection(apply(&doc, &patch));
        assert!(
            cause.contains("operation 1"),
            "the failing test op is named: {cause}"
        );
    }

    #[test]
    fn a_chain_of_copies_stops_at_the_copy_budget() {
        // Each copy doubles /a; 40 of them would need terabytes.
        let mut chain = vec![json!({"op": "add", "path": "/a", "value": ["xxxxxxxxxxxxxxxx"]})];
        for _ in 0..40 {
            chain.push(json!({"op": "copy", "from": "/a", "path": "/a/-"}));
        }
        let cause = rejection(apply(&json!({}), &ops(Value::Array(chain))));
        assert!(
            cause.contains("more than 3145728 bytes"),
            "the copy budget is what stops it: {cause}"
        );
    }

    #[test]
    fn moves_cannot_nest_the_object_past_the_depth_limit() {
        let mut chain = vec![json!({"op": "add", "path": "/n", "value": {}})];
        for _ in 0..3000 {
            chain.push(json!({"op": "add", "path": "/t", "value": {}}));
            chain.push(json!({"op": "move", "from": "/n", "path": "/t/n"}));
            chain.push(json!({"op": "move", "from": "/t", "path": "/n"}));
        }
        let cause = rejection(apply(&json!({}), &ops(Value::Array(chain))));
        assert!(cause.contains("more than 128"), "{cause}");
    }

    #[test]
    fn ordinary_patches_still_apply() {
        let doc =
            json!({"metadata": {"labels": {"a": "x"}}, "spec": {"containers": [{"name": "c"}]}});
        let patch = ops(json!([
            {"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
            {"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/b"},
            {"op": "replace", "path": "/spec/containers/0/name", "value": "d"},
            {"op": "test", "path": "/metadata/annotations/a", "value": "x"}
        ]));
        let out = apply(&doc, &patch).expect("a well-formed patch applies");
        assert_eq!(out["metadata"]["labels"], json!({"b": "x"}));
        assert_eq!(out["metadata"]["annotations"], json!({"a": "x"}));
        assert_eq!(out["spec"]["containers"][0]["name"], "d");
        assert_eq!(
            doc["metadata"]["labels"]["a"], "x",
            "the stored object is untouched"
        );
    }

    #[test]
    fn more_operations_than_the_apiserver_allows_are_refused_before_applying() {
        let one = r#"{"op":"add","path":"/x","value":1}"#;
        let body = format!("[{}]", vec![one; MAX_OPERATIONS + 1].join(","));
        match parse(body.as_bytes()) {
            Err(e @ Error::EntityTooLarge(_)) => assert_eq!(
                e.to_string(),
                "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
            ),
            other => panic!("expected 413, got {other:?}"),
        }
        assert!(parse(format!("[{}]", vec![one; MAX_OPERATIONS].join(",")).as_bytes()).is_ok());
    }

    #[test]
    fn depth_is_measured_without_recursion() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": []}]})), 4);
        let mut deep = json!(0);
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(depth(&deep), 100_000);
        // Dropping it would recurse; leak it instead (it is test memory).
        std::mem::forget(deep);
    }
}

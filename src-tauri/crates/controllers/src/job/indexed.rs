//! Indexed Jobs, as Kubernetes has them in `pkg/controller/job/indexed_job_utils.go`: a pod's
//! completion index, `completedIndexes` read and written as intervals, and the pod template
//! for one index.

use super::*;

/// The completion index of an Indexed Job's pod.
pub(super) fn completion_index(pod: &Value) -> Option<i32> {
    pod.pointer("/metadata/annotations")
        .and_then(|a| a.get(COMPLETION_INDEX))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .filter(|i: &i32| *i >= 0)
}

/// Parse `completedIndexes` (`1,3-5`) into a set.
pub(super) fn parse_indexes(s: &str, completions: i32) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        if let (Ok(a), Ok(b)) = (a, b) {
            for i in a..=b.min(completions - 1) {
                out.insert(i);
            }
        }
    }
    out
}

/// Render a set of indexes as intervals (`1,3-5`).
pub(super) fn format_indexes(set: &BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// An Indexed Job's pod template for index `i`: annotation and label with the index,
/// hostname `<job>-<i>` and the `JOB_COMPLETION_INDEX` variable in every container.
pub(super) fn indexed_template(template: &Value, job: &str, i: i32) -> Value {
    let mut t = template.clone();
    for field in ["annotations", "labels"] {
        if !t["metadata"].get(field).is_some_and(Value::is_object) {
            t["metadata"][field] = json!({});
        }
        t["metadata"][field][COMPLETION_INDEX] = json!(i.to_string());
    }
    if t.get("spec").is_some_and(Value::is_object) {
        t["spec"]["hostname"] = json!(format!("{job}-{i}"));
        let env = json!({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": format!("metadata.annotations['{COMPLETION_INDEX}']")}}});
        for list in ["initContainers", "containers"] {
            if let Some(cs) = t["spec"].get_mut(list).and_then(Value::as_array_mut) {
                for c in cs {
                    if !c.get("env").is_some_and(Value::is_array) {
                        c["env"] = json!([]);
                    }
                    if let Some(e) = c["env"].as_array_mut()
                        && !e.iter().any(|v| {
                            v.get("name").and_then(Value::as_str) == Some("JOB_COMPLETION_INDEX")
                        })
                    {
                        e.push(env.clone());
                    }
                }
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_indexes_render_as_intervals() {
        let set = parse_indexes("0,2-4,7", 10);
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), vec![0, 2, 3, 4, 7]);
        assert_eq!(format_indexes(&set), "0,2-4,7");
        assert_eq!(format_indexes(&parse_indexes("0-9", 5)), "0-4");
    }
}

//! The pod failure policy, as Kubernetes applies it in `pkg/controller/job/pod_failure_policy.go`.

use super::*;

/// What a pod failure policy rule decides for a failed pod (`matchPodFailurePolicy`):
/// the FailJob message, whether the failure counts towards the backoff limit.
pub(super) fn match_failure_policy(
    policy: &PodFailurePolicy,
    pod: &Value,
) -> (Option<String>, bool) {
    let (ns, name) = (kinds::namespace_of(pod), kinds::name_of(pod));
    for (index, rule) in policy.rules.iter().enumerate() {
        let action = rule.action.as_str();
        let matched = if let Some(req) = &rule.on_exit_codes {
            // Regular containers first, then init containers; only non-zero exits.
            ["/status/containerStatuses", "/status/initContainerStatuses"]
                .iter()
                .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
                .flatten()
                .find_map(|c| {
                    let cname = kinds::str_at(c, "/name");
                    let code = c.pointer("/state/terminated/exitCode")?.as_i64()?;
                    if code == 0 || req.container_name.as_deref().is_some_and(|n| n != cname) {
                        return None;
                    }
                    let listed = req.values.iter().any(|v| i64::from(*v) == code);
                    let hit = match req.operator.as_str() {
                        "In" => listed,
                        "NotIn" => !listed,
                        _ => false,
                    };
                    hit.then(|| {
                        format!(
                            "Container {cname} for pod {ns}/{name} failed with exit code {code} matching {action} rule at index {index}"
                        )
                    })
                })
        } else if let Some(patterns) = &rule.on_pod_conditions {
            pod.pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|c| {
                    let (ty, status) = (kinds::str_at(c, "/type"), kinds::str_at(c, "/status"));
                    patterns
                        .iter()
                        .any(|p| p.type_ == ty && p.status == status)
                        .then(|| {
                            format!(
                                "Pod {ns}/{name} has condition {ty} matching {action} rule at index {index}"
                            )
                        })
                })
        } else {
            None
        };
        if let Some(msg) = matched {
            match action {
                "FailJob" => return (Some(msg), true),
                "Ignore" => return (None, false),
                "Count" | "FailIndex" => return (None, true),
                _ => {}
            }
        }
    }
    (None, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_failure_policy_rules_match_exit_codes() {
        let policy: PodFailurePolicy = serde_json::from_value(json!({"rules": [
            {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [42]}},
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [3]}},
        ]}))
        .unwrap();
        let pod = |code: i64| {
            json!({"metadata": {"name": "p", "namespace": "default"}, "status": {"phase": "Failed",
                "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": code}}}]}})
        };
        assert_eq!(match_failure_policy(&policy, &pod(42)), (None, false));
        assert_eq!(
            match_failure_policy(&policy, &pod(3)),
            (
                Some("Container main for pod default/p failed with exit code 3 matching FailJob rule at index 1".into()),
                true
            )
        );
        assert_eq!(match_failure_policy(&policy, &pod(1)), (None, true));
    }
}

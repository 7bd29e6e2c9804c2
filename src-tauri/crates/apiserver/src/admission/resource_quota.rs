//! The `ResourceQuota` admission plug-in, last in the chain: a create (or a Service or claim
//! update) is charged against every quota of its namespace that limits what it uses, refused
//! when a quota would go over, and on success the plug-in itself writes each charged quota's
//! new `status.used`, so two creates in a row see each other's usage before the quota
//! controller recounts.
//!
//! Kubernetes: `k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go`
//! (`CheckRequest`, `checkQuotas`: the `failed quota`, `status unknown for quota` and
//! `exceeded quota` texts, and the optimistic retry when a quota changed under it), with the
//! evaluators of `pkg/quota/v1/evaluator/core` (in `kinds::resourcequota`).

use serde_json::Value;

use super::{Attributes, Plugin};
use crate::error::{Error, Result};
use crate::kinds::resourcequota::{
    self as rq, ResourceList, add_lists, list_json, list_of, mask, pretty,
};
use crate::kinds::{self, ResourceKind, name_of};
use crate::store::WriteOptions;

/// How often a charge is recomputed when a quota changed between reading and writing it.
const RETRIES: usize = 5;

/// The `ResourceQuota` plug-in.
pub struct ResourceQuota;

impl Plugin for ResourceQuota {
    fn name(&self) -> &'static str {
        "ResourceQuota"
    }

    fn validate_create(
        &self,
        a: &Attributes<'_>,
        obj: &Value,
        _warnings: &mut Vec<String>,
    ) -> Result<()> {
        if a.namespace.is_empty() || !a.subresource.is_empty() {
            return Ok(());
        }
        charge(a, obj, None)
    }

    fn validate_update(
        &self,
        a: &Attributes<'_>,
        new: &Value,
        old: &Value,
        _warnings: &mut Vec<String>,
    ) -> Result<()> {
        // Only the service and claim evaluators charge updates (a Service turned NodePort
        // uses node ports; a claim may grow).
        if a.namespace.is_empty()
            || !a.subresource.is_empty()
            || !(a.is("", "services") || a.is("", "persistentvolumeclaims"))
        {
            return Ok(());
        }
        charge(a, new, Some(old))
    }
}

fn forbidden(a: &Attributes<'_>, reason: String) -> Error {
    Error::Forbidden {
        group: a.kind.group.into(),
        resource: a.kind.plural.into(),
        name: a.name.into(),
        reason,
    }
}

/// The new `status.used` of each quota this request is charged to, or the refusal.
fn check_request(
    a: &Attributes<'_>,
    quotas: &[std::sync::Arc<Value>],
    obj: &Value,
    old: Option<&Value>,
) -> Result<Vec<(usize, ResourceList)>> {
    let kind: &ResourceKind = a.kind;
    let now = a.store.clock().now();
    let mut interesting = Vec::new();
    for (i, q) in quotas.iter().enumerate() {
        if !rq::quota_matches(q, kind, obj) {
            continue;
        }
        let hard = list_of(q.pointer("/status/hard"));
        let restricted = rq::matching_resources(kind, &hard);
        if a.is("", "pods")
            && let Some(msg) = rq::pod_constraints(obj, &restricted)
        {
            return Err(forbidden(a, format!("failed quota: {}: {msg}", name_of(q))));
        }
        let used = list_of(q.pointer("/status/used"));
        if restricted.iter().any(|r| !used.contains_key(*r)) {
            let names: Vec<&str> = restricted.iter().map(|s| s.as_str()).collect();
            return Err(forbidden(
                a,
                format!(
                    "status unknown for quota: {}, resources: {}",
                    name_of(q),
                    names.join(",")
                ),
            ));
        }
        interesting.push(i);
    }
    if interesting.is_empty() {
        return Ok(vec![]);
    }
    let mut delta = rq::usage(kind, obj, now);
    let negative: Vec<&str> = delta
        .iter()
        .filter(|(_, v)| v.nanos < 0)
        .map(|(k, _)| k.as_str())
        .collect();
    if !negative.is_empty() {
        return Err(forbidden(
            a,
            format!(
                "quota usage is negative for resource(s): {}",
                negative.join(",")
            ),
        ));
    }
    if let Some(old) = old {
        let before = rq::usage(kind, old, now);
        for (k, v) in &before {
            let e = delta.entry(k.clone()).or_default();
            *e = e.minus(*v);
        }
    }
    delta.retain(|_, v| v.nanos != 0);
    if delta.is_empty() {
        return Ok(vec![]);
    }
    let mut out = Vec::new();
    for i in interesting {
        let q = &quotas[i];
        let hard = list_of(q.pointer("/status/hard"));
        let used = list_of(q.pointer("/status/used"));
        let requested = mask(&delta, hard.keys());
        let new_usage = add_lists(&used, &requested);
        let exceeded: Vec<String> = requested
            .keys()
            .filter(|k| {
                let n = new_usage.get(*k).copied().unwrap_or_default();
                hard.get(*k).is_some_and(|h| n.nanos > h.nanos)
            })
            .cloned()
            .collect();
        if !exceeded.is_empty() {
            return Err(forbidden(
                a,
                format!(
                    "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                    name_of(q),
                    pretty(&mask(&requested, &exceeded)),
                    pretty(&mask(&used, &exceeded)),
                    pretty(&mask(&hard, &exceeded)),
                ),
            ));
        }
        if !requested.is_empty() {
            out.push((i, new_usage));
        }
    }
    Ok(out)
}

/// Check the request against the namespace's quotas and record the new usage, retrying when
/// a quota changed in between (another create was charged first).
fn charge(a: &Attributes<'_>, obj: &Value, old: Option<&Value>) -> Result<()> {
    for _ in 0..RETRIES {
        let quotas = a
            .store
            .list_raw(&kinds::resourcequota::KIND, Some(a.namespace));
        if quotas.is_empty() {
            return Ok(());
        }
        let updates = check_request(a, &quotas, obj, old)?;
        // A dry run is checked against the quotas but never charged to them.
        if a.dry_run {
            return Ok(());
        }
        let mut conflict = false;
        for (i, used) in updates {
            let mut q = (*quotas[i]).clone();
            q["status"]["used"] = list_json(&used);
            let opts = WriteOptions {
                user_agent: Some("kube-apiserver".into()),
                ..WriteOptions::default()
            };
            match a.store.replace(
                &kinds::resourcequota::KIND,
                a.namespace,
                name_of(&quotas[i]),
                q,
                &opts,
                true,
            ) {
                Ok(_) => {}
                Err(Error::Conflict { .. }) => {
                    conflict = true;
                    break;
                }
                // A quota deleted meanwhile no longer limits anything.
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(Error::Internal(e.to_string())),
            }
        }
        if !conflict {
            return Ok(());
        }
    }
    Err(Error::Internal(
        "resource quota evaluation timed out".into(),
    ))
}

/// A charge as Go prints one resource (`requests.cpu=500m`), for tests.
#[cfg(test)]
fn one(name: &str, q: &str) -> String {
    let mut l = ResourceList::new();
    l.insert(name.into(), rq::Amount::parse(q).unwrap_or_default());
    pretty(&l)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::store::Store;

    fn store() -> Arc<Store> {
        let s = Store::new(Arc::new(crate::Clock::new(0.0)), String::new(), 100);
        s.create(
            &kinds::namespace::KIND,
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "q"}}),
            &WriteOptions::default(),
        )
        .expect("namespace");
        s
    }

    fn quota(s: &Store, hard: Value, used: Value) {
        s.create(
            &kinds::resourcequota::KIND,
            "q",
            json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "rq"}, "spec": {"hard": hard}}),
            &WriteOptions::default(),
        )
        .expect("quota");
        let mut q = (*s.get_raw(&kinds::resourcequota::KIND, "q", "rq").unwrap()).clone();
        q["status"] = json!({"hard": hard, "used": used});
        s.replace(
            &kinds::resourcequota::KIND,
            "q",
            "rq",
            q,
            &WriteOptions::default(),
            true,
        )
        .expect("status");
    }

    fn attrs<'a>(s: &'a Store, kind: &'static ResourceKind, name: &'a str) -> Attributes<'a> {
        Attributes {
            kind,
            namespace: "q",
            name,
            subresource: "",
            store: s,
            dry_run: false,
        }
    }

    fn pod(cpu: &str) -> Value {
        json!({"metadata": {"name": "p", "namespace": "q"}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"cpu": cpu}}}]}})
    }

    #[test]
    fn a_charge_is_recorded_and_the_next_one_over_is_refused() {
        let s = store();
        quota(
            &s,
            json!({"pods": "2", "requests.cpu": "1"}),
            json!({"pods": "0", "requests.cpu": "0"}),
        );
        let a = attrs(&s, &kinds::pod::KIND, "p1");
        ResourceQuota
            .validate_create(&a, &pod("600m"), &mut vec![])
            .expect("fits");
        let q = s.get_raw(&kinds::resourcequota::KIND, "q", "rq").unwrap();
        assert_eq!(
            q["status"]["used"],
            json!({"pods": "1", "requests.cpu": "600m"})
        );
        let err = ResourceQuota
            .validate_create(&a, &pod("600m"), &mut vec![])
            .expect_err("over");
        assert_eq!(
            err.to_string(),
            "pods \"p1\" is forbidden: exceeded quota: rq, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1"
        );
        assert_eq!(one("requests.memory", "600Mi"), "requests.memory=600Mi");
    }

    #[test]
    fn a_dry_run_is_checked_but_never_charged() {
        let s = store();
        quota(
            &s,
            json!({"pods": "1", "requests.cpu": "1"}),
            json!({"pods": "0", "requests.cpu": "0"}),
        );
        let dry = Attributes {
            dry_run: true,
            ..attrs(&s, &kinds::pod::KIND, "p1")
        };
        for _ in 0..3 {
            ResourceQuota
                .validate_create(&dry, &pod("600m"), &mut vec![])
                .expect("a dry run that fits is admitted, again and again");
        }
        let q = s.get_raw(&kinds::resourcequota::KIND, "q", "rq").unwrap();
        assert_eq!(
            q["status"]["used"],
            json!({"pods": "0", "requests.cpu": "0"}),
            "nothing was charged"
        );
        let err = ResourceQuota
            .validate_create(&dry, &pod("2"), &mut vec![])
            .expect_err("a dry run over the quota is refused like the real request");
        assert_eq!(
            err.to_string(),
            "pods \"p1\" is forbidden: exceeded quota: rq, requested: requests.cpu=2, used: requests.cpu=0, limited: requests.cpu=1"
        );
    }

    #[test]
    fn unset_requests_and_unknown_status_are_refused() {
        let s = store();
        quota(
            &s,
            json!({"requests.cpu": "1", "requests.memory": "1Gi"}),
            json!({"requests.cpu": "0"}),
        );
        let a = attrs(&s, &kinds::pod::KIND, "p1");
        let bare = json!({"spec": {"containers": [{"name": "web"}]}});
        let err = ResourceQuota
            .validate_create(&a, &bare, &mut vec![])
            .expect_err("must specify");
        assert_eq!(
            err.to_string(),
            "pods \"p1\" is forbidden: failed quota: rq: must specify requests.cpu for: web; requests.memory for: web"
        );
        let full = json!({"spec": {"containers": [{"name": "web", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}});
        let err = ResourceQuota
            .validate_create(&a, &full, &mut vec![])
            .expect_err("no usage yet");
        assert_eq!(
            err.to_string(),
            "pods \"p1\" is forbidden: status unknown for quota: rq, resources: requests.cpu,requests.memory"
        );
    }

    #[test]
    fn object_counts_and_service_updates() {
        let s = store();
        quota(
            &s,
            json!({"configmaps": "1", "count/secrets": "0", "services.nodeports": "1"}),
            json!({"configmaps": "1", "count/secrets": "0", "services.nodeports": "0"}),
        );
        let cm = attrs(&s, &kinds::configmap::KIND, "c");
        let err = ResourceQuota
            .validate_create(&cm, &json!({}), &mut vec![])
            .expect_err("over");
        assert_eq!(
            err.to_string(),
            "configmaps \"c\" is forbidden: exceeded quota: rq, requested: configmaps=1, used: configmaps=1, limited: configmaps=1"
        );
        let svc = attrs(&s, &kinds::service::KIND, "s");
        let cluster_ip =
            json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80}, {"port": 81}]}});
        let node_port =
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}});
        let err = ResourceQuota
            .validate_update(&svc, &node_port, &cluster_ip, &mut vec![])
            .expect_err("two node ports");
        assert_eq!(
            err.to_string(),
            "services \"s\" is forbidden: exceeded quota: rq, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"
        );
    }
}

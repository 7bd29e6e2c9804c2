//! The `LimitRanger` admission plug-in: a pod created in a namespace with LimitRanges gets the
//! Container defaults for every request and limit its containers and init containers leave
//! out (and the `kubernetes.io/limit-ranger` annotation that says so), then must fit each
//! range's min, max and limit/request ratio, per container and per pod; a
//! PersistentVolumeClaim must fit its storage min and max on create and update.
//!
//! Kubernetes: `plugin/pkg/admission/limitranger/admission.go` (`PodMutateLimitFunc`,
//! `PodValidateLimitFunc`, `PersistentVolumeClaimValidateLimitFunc` and their constraint
//! texts). Each failing range refuses with all of its violations, aggregated as
//! `utilerrors.NewAggregate` prints them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Attributes, Plugin};
use crate::error::{Error, Result};
use crate::kinds::limitrange::MAX_MILLI;
use crate::kinds::resourcequota::{Amount, ResourceList, add_lists};
use crate::kinds::{self, str_at};
use kq_kube::quantity::Quantity;

/// The annotation naming what the plug-in set.
const ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// The `LimitRanger` plug-in.
pub struct LimitRanger;

impl Plugin for LimitRanger {
    fn name(&self) -> &'static str {
        "LimitRanger"
    }

    fn admit_create(&self, a: &Attributes<'_>, obj: &mut Value) -> Result<()> {
        if !a.is("", "pods") || !a.subresource.is_empty() {
            return Ok(());
        }
        for lr in a
            .store
            .list_raw(&kinds::limitrange::KIND, Some(a.namespace))
        {
            default_pod(&lr, obj);
        }
        Ok(())
    }

    fn validate_create(
        &self,
        a: &Attributes<'_>,
        obj: &Value,
        _warnings: &mut Vec<String>,
    ) -> Result<()> {
        if !a.subresource.is_empty() {
            return Ok(());
        }
        if a.is("", "pods") {
            return check(a, obj, validate_pod);
        }
        if a.is("", "persistentvolumeclaims") {
            return check(a, obj, validate_claim);
        }
        Ok(())
    }

    fn validate_update(
        &self,
        a: &Attributes<'_>,
        new: &Value,
        _old: &Value,
        _warnings: &mut Vec<String>,
    ) -> Result<()> {
        // Pods' containers cannot change on update, so only claims are checked again.
        if a.subresource.is_empty() && a.is("", "persistentvolumeclaims") {
            return check(a, new, validate_claim);
        }
        Ok(())
    }
}

/// Run one limit function per LimitRange; the first range with violations refuses.
fn check(a: &Attributes<'_>, obj: &Value, f: fn(&Value, &Value) -> Vec<String>) -> Result<()> {
    for lr in a
        .store
        .list_raw(&kinds::limitrange::KIND, Some(a.namespace))
    {
        let errs = f(&lr, obj);
        if !errs.is_empty() {
            return Err(Error::Forbidden {
                group: a.kind.group.into(),
                resource: a.kind.plural.into(),
                name: a.name.into(),
                reason: aggregate(&errs),
            });
        }
    }
    Ok(())
}

/// `utilerrors.NewAggregate(...).Error()`: one message alone, several de-duplicated in `[...]`.
fn aggregate(errs: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errs {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    if seen.len() == 1 {
        seen[0].to_string()
    } else {
        format!("[{}]", seen.join(", "))
    }
}

/// The items of a LimitRange of one type.
fn items<'a>(lr: &'a Value, ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    lr.pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |i| str_at(i, "/type") == ty)
}

fn strings(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, q)| Some((k.clone(), q.as_str()?.to_string())))
        .collect()
}

/// `defaultContainerResourceRequirements` and `mergePodResourceRequirements`.
fn default_pod(lr: &Value, pod: &mut Value) {
    let (mut requests, mut limits) = (BTreeMap::new(), BTreeMap::new());
    for item in items(lr, "Container") {
        requests.extend(strings(item.get("defaultRequest")));
        limits.extend(strings(item.get("default")));
    }
    if requests.is_empty() && limits.is_empty() {
        return;
    }
    let mut notes = Vec::new();
    for (list, what) in [
        ("containers", "container"),
        ("initContainers", "init container"),
    ] {
        let Some(cs) = pod
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in cs {
            let name = str_at(c, "/name").to_string();
            let mut set = |section: &str, defaults: &BTreeMap<String, String>| {
                let mut added = Vec::new();
                if !c.get("resources").is_some_and(Value::is_object) {
                    c["resources"] = json!({});
                }
                let res = &mut c["resources"];
                if !res.get(section).is_some_and(Value::is_object) {
                    res[section] = json!({});
                }
                for (k, v) in defaults {
                    if res[section].get(k).is_none() {
                        res[section][k] = json!(v);
                        added.push(k.clone());
                    }
                }
                if res[section].as_object().is_some_and(|m| m.is_empty())
                    && let Some(o) = res.as_object_mut()
                {
                    o.remove(section);
                }
                added
            };
            let set_limits = set("limits", &limits);
            let set_requests = set("requests", &requests);
            if !set_requests.is_empty() {
                notes.push(format!(
                    "{} request for {what} {name}",
                    set_requests.join(", ")
                ));
            }
            if !set_limits.is_empty() {
                notes.push(format!("{} limit for {what} {name}", set_limits.join(", ")));
            }
        }
    }
    if !notes.is_empty() {
        if !pod
            .pointer("/metadata/annotations")
            .is_some_and(Value::is_object)
        {
            pod["metadata"]["annotations"] = json!({});
        }
        pod["metadata"]["annotations"][ANNOTATION] =
            json!(format!("LimitRanger plugin set: {}", notes.join("; ")));
    }
}

/// A resource list as (original text, quantity), for messages and comparisons.
type Texts = BTreeMap<String, Amount>;

fn amounts(v: Option<&Value>) -> Texts {
    crate::kinds::resourcequota::list_of(v)
}

/// `requestLimitEnforcedValues`: milli-units when nothing overflows them, else units.
fn common(values: &[Option<Amount>]) -> Vec<i128> {
    let whole: Vec<i128> = values
        .iter()
        .map(|v| v.map_or(0, |a| Quantity(a.nanos).value()))
        .collect();
    if whole.iter().all(|w| *w <= MAX_MILLI) {
        values
            .iter()
            .map(|v| v.map_or(0, |a| Quantity(a.nanos).milli_value()))
            .collect()
    } else {
        whole
    }
}

/// `minConstraint`.
fn min_constraint(
    ty: &str,
    res: &str,
    enforced: Amount,
    req: &Texts,
    lim: &Texts,
) -> Option<String> {
    let (r, l) = (req.get(res).copied(), lim.get(res).copied());
    let v = common(&[r, l, Some(enforced)]);
    let Some(r) = r else {
        return Some(format!(
            "minimum {res} usage per {ty} is {enforced}.  No request is specified"
        ));
    };
    if v[0] < v[2] {
        return Some(format!(
            "minimum {res} usage per {ty} is {enforced}, but request is {r}"
        ));
    }
    if let Some(l) = l
        && v[1] < v[2]
    {
        return Some(format!(
            "minimum {res} usage per {ty} is {enforced}, but limit is {l}"
        ));
    }
    None
}

/// `maxConstraint`.
fn max_constraint(
    ty: &str,
    res: &str,
    enforced: Amount,
    req: &Texts,
    lim: &Texts,
) -> Option<String> {
    let (r, l) = (req.get(res).copied(), lim.get(res).copied());
    let v = common(&[r, l, Some(enforced)]);
    let Some(l) = l else {
        return Some(format!(
            "maximum {res} usage per {ty} is {enforced}.  No limit is specified"
        ));
    };
    if v[1] > v[2] {
        return Some(format!(
            "maximum {res} usage per {ty} is {enforced}, but limit is {l}"
        ));
    }
    if let Some(r) = r
        && v[0] > v[2]
    {
        return Some(format!(
            "maximum {res} usage per {ty} is {enforced}, but request is {r}"
        ));
    }
    None
}

/// `maxRequestConstraint` (claims: the max is enforced against the request).
fn max_request_constraint(ty: &str, res: &str, enforced: Amount, req: &Texts) -> Option<String> {
    let r = req.get(res).copied();
    let v = common(&[r, None, Some(enforced)]);
    let Some(r) = r else {
        return Some(format!(
            "maximum {res} usage per {ty} is {enforced}.  No request is specified"
        ));
    };
    (v[0] > v[2]).then(|| format!("maximum {res} usage per {ty} is {enforced}, but request is {r}"))
}

/// `limitRequestRatioConstraint`.
fn ratio_constraint(
    ty: &str,
    res: &str,
    enforced: Amount,
    req: &Texts,
    lim: &Texts,
) -> Option<String> {
    let (r, l) = (req.get(res).copied(), lim.get(res).copied());
    let v = common(&[r, l, Some(enforced)]);
    if r.is_none() || v[0] == 0 {
        return Some(format!(
            "{res} max limit to request ratio per {ty} is {enforced}, but no request is specified or request is 0"
        ));
    }
    if l.is_none() || v[1] == 0 {
        return Some(format!(
            "{res} max limit to request ratio per {ty} is {enforced}, but no limit is specified or limit is 0"
        ));
    }
    let shown = v[1] as f64 / v[0] as f64;
    let e = Quantity(enforced.nanos);
    let (observed, max) = if e.value() <= MAX_MILLI {
        (shown * 1000.0, e.milli_value() as f64)
    } else {
        (shown, e.value() as f64)
    };
    (observed > max).then(|| {
        format!(
            "{res} max limit to request ratio per {ty} is {enforced}, but provided ratio is {shown:.6}"
        )
    })
}

/// Every min, max and ratio of one item against one request/limit pair.
fn constraints(item: &Value, ty: &str, req: &Texts, lim: &Texts, errs: &mut Vec<String>) {
    for (res, q) in amounts(item.get("min")) {
        errs.extend(min_constraint(ty, &res, q, req, lim));
    }
    for (res, q) in amounts(item.get("max")) {
        errs.extend(max_constraint(ty, &res, q, req, lim));
    }
    for (res, q) in amounts(item.get("maxLimitRequestRatio")) {
        errs.extend(ratio_constraint(ty, &res, q, req, lim));
    }
}

/// `PodValidateLimitFunc`.
fn validate_pod(lr: &Value, pod: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let containers = |list: &str| -> Vec<Value> {
        pod.pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (apps, inits) = (containers("containers"), containers("initContainers"));
    let lists = |c: &Value| {
        (
            amounts(c.pointer("/resources/requests")),
            amounts(c.pointer("/resources/limits")),
        )
    };
    for item in lr
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match str_at(item, "/type") {
            "Container" => {
                for c in apps.iter().chain(inits.iter()) {
                    let (req, lim) = lists(c);
                    constraints(item, "Container", &req, &lim, &mut errs);
                }
            }
            "Pod" => {
                // The containers' sum, raised to any larger init container.
                let (mut req, mut lim) = (ResourceList::new(), ResourceList::new());
                for c in &apps {
                    let (r, l) = lists(c);
                    req = add_lists(&req, &r);
                    lim = add_lists(&lim, &l);
                }
                for c in &inits {
                    let (r, l) = lists(c);
                    for (total, one) in [(&mut req, r), (&mut lim, l)] {
                        for (k, v) in one {
                            let e = total.entry(k).or_default();
                            if v.nanos > e.nanos {
                                *e = v;
                            }
                        }
                    }
                }
                constraints(item, "Pod", &req, &lim, &mut errs);
            }
            _ => {}
        }
    }
    errs
}

/// `PersistentVolumeClaimValidateLimitFunc`.
fn validate_claim(lr: &Value, pvc: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let req = amounts(pvc.pointer("/spec/resources/requests"));
    let none = Texts::new();
    for item in items(lr, "PersistentVolumeClaim") {
        for (res, q) in amounts(item.get("min")) {
            errs.extend(min_constraint(
                "PersistentVolumeClaim",
                &res,
                q,
                &req,
                &none,
            ));
        }
        for (res, q) in amounts(item.get("max")) {
            errs.extend(max_request_constraint(
                "PersistentVolumeClaim",
                &res,
                q,
                &req,
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lr(limits: Value) -> Value {
        json!({"spec": {"limits": limits}})
    }

    #[test]
    fn defaults_fill_what_containers_leave_out_and_say_so() {
        let range = lr(json!([{"type": "Container",
            "default": {"cpu": "500m", "memory": "256Mi"},
            "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]));
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "app", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}]}});
        default_pod(&range, &mut pod);
        assert_eq!(
            pod["spec"]["containers"][0]["resources"],
            json!({"limits": {"cpu": "1", "memory": "256Mi"}, "requests": {"cpu": "1", "memory": "128Mi"}})
        );
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION],
            "LimitRanger plugin set: memory request for container app; memory limit for container app; cpu, memory request for init container init; cpu, memory limit for init container init"
        );
    }

    #[test]
    fn min_max_and_ratio_texts() {
        let range = lr(json!([{"type": "Container",
            "min": {"cpu": "100m"}, "max": {"cpu": "1", "memory": "1Gi"},
            "maxLimitRequestRatio": {"cpu": "2"}}]));
        let pod = json!({"spec": {"containers": [{"name": "a", "resources": {
            "requests": {"cpu": "50m"}, "limits": {"cpu": "2"}}}]}});
        let errs = validate_pod(&range, &pod);
        assert_eq!(
            aggregate(&errs),
            "[minimum cpu usage per Container is 100m, but request is 50m, maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Container is 1Gi.  No limit is specified, cpu max limit to request ratio per Container is 2, but provided ratio is 40.000000]"
        );
        let claim_range = lr(
            json!([{"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}, "min": {"storage": "1Gi"}}]),
        );
        let pvc = json!({"spec": {"resources": {"requests": {"storage": "5Gi"}}}});
        assert_eq!(
            validate_claim(&claim_range, &pvc),
            ["maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"]
        );
        let pvc = json!({"spec": {}});
        assert_eq!(
            validate_claim(&claim_range, &pvc),
            [
                "minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified",
                "maximum storage usage per PersistentVolumeClaim is 2Gi.  No request is specified"
            ]
        );
    }

    #[test]
    fn pod_items_sum_the_containers() {
        let range = lr(json!([{"type": "Pod", "max": {"memory": "1Gi"}}]));
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"memory": "768Mi"}}},
            {"name": "b", "resources": {"limits": {"memory": "512Mi"}}}]}});
        assert_eq!(
            validate_pod(&range, &pod),
            ["maximum memory usage per Pod is 1Gi, but limit is 1280Mi"]
        );
    }
}

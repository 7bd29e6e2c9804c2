//! The Deployment controller: rolls a Deployment's pod template out through ReplicaSets named
//! `<deployment>-<pod-template-hash>`, as Kubernetes does in `pkg/controller/deployment/`:
//! `deployment_controller.go` (which keys to sync, claiming ReplicaSets), `sync.go` (the new
//! ReplicaSet, revisions, scaling, proportional scaling, cleanup, status), `rolling.go` and
//! `recreate.go` (the two strategies), `progress.go` (the Progressing condition and the
//! progress deadline) and `util/deployment_util.go` (annotations, fenceposts, conditions).
//!
//! The texts are those of a v1.31+ server (`Scaled up replica set %s from %d to %d`). The
//! progress deadline is a requeue on the virtual clock, so a paused cluster reaches
//! ProgressDeadlineExceeded in milliseconds.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::PodSpec;
use serde_json::{Map, Value, json};

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{DeleteOptions, PatchKind, WriteOptions};
use crate::workload;

/// The revision of a ReplicaSet (and, copied, of its Deployment).
pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
/// The earlier revisions of a ReplicaSet that became new again (a rollback).
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the ReplicaSet was last scaled.
const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// replicas + maxSurge when the ReplicaSet was last scaled.
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label that tells a Deployment's ReplicaSets (and their pods) apart.
const HASH_LABEL: &str = "pod-template-hash";
/// revision-history is kept under this many characters.
const MAX_HISTORY_CHARS: usize = 2000;

/// The deployment controller.
#[derive(Debug, Default)]
pub(crate) struct DeploymentController {
    templates: Comparable,
}

/// Pod templates as `EqualIgnoreHash` compares them ([`comparable_template`]), by the uid of
/// the Deployment or ReplicaSet they belong to: a template that has not changed since the
/// last sync is not decoded and defaulted again.
#[derive(Debug, Default)]
struct Comparable(HashMap<String, (Value, Value)>);

impl Comparable {
    /// `owner`'s pod template (`template`) as `EqualIgnoreHash` compares it.
    fn of(&mut self, owner: &Value, template: &Value) -> Value {
        let uid = kinds::str_at(owner, "/metadata/uid");
        if uid.is_empty() {
            return comparable_template(template);
        }
        if let Some((seen, comparable)) = self.0.get(uid)
            && seen == template
        {
            return comparable.clone();
        }
        let comparable = comparable_template(template);
        self.0
            .insert(uid.to_string(), (template.clone(), comparable.clone()));
        comparable
    }

    /// The object with this uid is gone.
    fn forget(&mut self, uid: &str) {
        self.0.remove(uid);
    }
}

fn deploy_kind() -> &'static ResourceKind {
    &kinds::deployment::KIND
}

fn rs_kind() -> &'static ResourceKind {
    &kinds::replicaset::KIND
}

fn opts() -> WriteOptions {
    let mut o = WriteOptions::default();
    o.field_manager = Some("kube-controller-manager".into());
    o
}

impl Controller<Shared> for DeploymentController {
    fn name(&self) -> &'static str {
        "deployment"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/deployments", "apps/replicasets", "pods"]
    }

    fn on_change(&mut self, change: &Change<'_>, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        let obj = change.object;
        let ns = kinds::namespace_of(obj);
        match change.resource {
            "apps/deployments" => {
                if change.change == ChangeType::Deleted {
                    self.templates.forget(kinds::str_at(obj, "/metadata/uid"));
                }
                workload::own_change(change, queue);
            }
            "apps/replicasets" => {
                if change.change == ChangeType::Deleted {
                    self.templates.forget(kinds::str_at(obj, "/metadata/uid"));
                }
                workload::dependent_change(ctx, deploy_kind(), change, queue);
            }
            // Recreate waits for the old pods to be gone (`deletePod`).
            _ if change.change == ChangeType::Deleted => {
                let Some(r) = workload::controller_of(obj) else {
                    return;
                };
                if kinds::str_at(r, "/kind") != "ReplicaSet" {
                    return;
                }
                let Some(rs) = ctx.store.get_raw(rs_kind(), ns, kinds::str_at(r, "/name")) else {
                    return;
                };
                if let Some(d) = workload::controller_of(&rs)
                    && kinds::str_at(d, "/kind") == "Deployment"
                {
                    queue.key(format!("{ns}/{}", kinds::str_at(d, "/name")));
                }
            }
            _ => {}
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        ctx: &mut Shared,
        _queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let Some(d) = ctx.store.get_raw(deploy_kind(), ns, name) else {
            return Ok(Action::await_change());
        };
        let mut sync = Sync {
            sh: ctx,
            templates: &mut self.templates,
            now,
            d: (*d).clone(),
        };
        sync.run()
    }
}

// ----- reading a Deployment with the defaults applied ---------------------------------------

fn i64_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

/// `spec.replicas` (default 1).
fn replicas(d: &Value) -> i64 {
    i64_at(d, "/spec/replicas").unwrap_or(1).max(0)
}

fn rs_spec(rs: &Value) -> i64 {
    i64_at(rs, "/spec/replicas").unwrap_or(1).max(0)
}

fn rs_status(rs: &Value, field: &str) -> i64 {
    i64_at(rs, &format!("/status/{field}")).unwrap_or(0)
}

fn is_rolling(d: &Value) -> bool {
    kinds::str_at(d, "/spec/strategy/type") != "Recreate"
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int, or a percentage of `total` rounded up or
/// down; `None` for a malformed value.
fn scaled(v: Option<&Value>, default: &str, total: i64, round_up: bool) -> i64 {
    let v = v.cloned().unwrap_or_else(|| json!(default));
    if let Some(i) = v.as_i64() {
        return i;
    }
    let s = v.as_str().unwrap_or(default);
    let pct = s
        .strip_suffix('%')
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0);
    let x = pct * total;
    if round_up {
        (x + 99).div_euclid(100)
    } else {
        x.div_euclid(100)
    }
}

/// `ResolveFenceposts`: (maxSurge, maxUnavailable) for `desired` replicas.
fn fenceposts(d: &Value, desired: i64) -> (i64, i64) {
    let ru = d.pointer("/spec/strategy/rollingUpdate");
    let surge = scaled(ru.and_then(|r| r.get("maxSurge")), "25%", desired, true);
    let mut unavailable = scaled(
        ru.and_then(|r| r.get("maxUnavailable")),
        "25%",
        desired,
        false,
    );
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// `MaxSurge`.
fn max_surge(d: &Value) -> i64 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d, replicas(d)).0
}

/// `MaxUnavailable`.
fn max_unavailable(d: &Value) -> i64 {
    let n = replicas(d);
    if !is_rolling(d) || n == 0 {
        return 0;
    }
    fenceposts(d, n).1.min(n)
}

/// `progressDeadlineSeconds` (default 600), `None` when it is "no deadline" (MaxInt32).
fn progress_deadline(d: &Value) -> Option<Duration> {
    let s = i64_at(d, "/spec/progressDeadlineSeconds").unwrap_or(600);
    (s != i64::from(i32::MAX)).then(|| Duration::from_secs(s.max(0).unsigned_abs()))
}

fn revision_of(rs: &Value) -> i64 {
    annotation(rs, REVISION).parse().unwrap_or(0)
}

fn annotation<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn set_annotation(obj: &mut Value, key: &str, value: String) {
    if !obj["metadata"]["annotations"].is_object() {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][key] = json!(value);
}

fn created(obj: &Value) -> Option<Timestamp> {
    crate::clock::parse_time(kinds::str_at(obj, "/metadata/creationTimestamp"))
}

/// `ReplicaSetsByCreationTimestamp`: oldest first, then by name.
fn by_creation(a: &Value, b: &Value) -> Ordering {
    created(a)
        .cmp(&created(b))
        .then_with(|| kinds::name_of(a).cmp(kinds::name_of(b)))
}

/// A pod template as `EqualIgnoreHash` compares it: without the pod-template-hash label, and
/// with the pod spec defaults applied, so a template the API server defaulted on one kind and
/// not (yet) on the other still compares equal.
fn comparable_template(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    if let Some(meta) = t.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|_, v| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()));
        meta.remove("creationTimestamp");
    }
    if t.get("metadata")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
        && let Some(o) = t.as_object_mut()
    {
        o.remove("metadata");
    }
    let spec = t.get("spec").cloned().unwrap_or(json!({}));
    if let Ok(mut typed) = serde_json::from_value::<PodSpec>(spec) {
        kinds::pod::default_spec(&mut typed);
        if let Ok(v) = serde_json::to_value(&typed) {
            t["spec"] = v;
        }
    }
    t
}

fn equal_ignore_hash(a: &Value, b: &Value) -> bool {
    comparable_template(a) == comparable_template(b)
}

/// Annotations a Deployment does not hand on to its ReplicaSets (`skipCopyAnnotation`).
fn skip_copy(key: &str) -> bool {
    matches!(
        key,
        "kubectl.kubernetes.io/last-applied-configuration"
            | REVISION
            | REVISION_HISTORY
            | DESIRED_REPLICAS
            | MAX_REPLICAS
            | "deprecated.deployment.rollback.to"
    )
}

/// Copy the Deployment's annotations onto the ReplicaSet (`copyDeploymentAnnotationsToReplicaSet`);
/// returns whether anything changed.
fn copy_annotations(d: &Value, rs: &mut Value) -> bool {
    let mut changed = false;
    let Some(from) = d
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    else {
        return false;
    };
    for (k, v) in from {
        if skip_copy(k) || rs.pointer("/metadata/annotations").and_then(|a| a.get(k)) == Some(v) {
            continue;
        }
        let Some(s) = v.as_str() else { continue };
        set_annotation(rs, k, s.to_string());
        changed = true;
    }
    changed
}

/// `SetReplicasAnnotations`: desired-replicas and max-replicas; returns whether they changed.
fn set_replicas_annotations(rs: &mut Value, desired: i64, max: i64) -> bool {
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        if annotation(rs, k) != v.to_string() {
            set_annotation(rs, k, v.to_string());
            changed = true;
        }
    }
    changed
}

/// `SetNewReplicaSetAnnotations`: copied annotations, the new revision (moving the old one
/// into revision-history) and, for a ReplicaSet about to be created, the replica counts.
fn set_new_rs_annotations(d: &Value, rs: &mut Value, new_revision: i64, exists: bool) -> bool {
    let mut changed = copy_annotations(d, rs);
    let old = annotation(rs, REVISION).to_string();
    let old_n: i64 = if old.is_empty() {
        0
    } else {
        match old.parse() {
            Ok(n) => n,
            Err(_) => return false,
        }
    };
    if old_n < new_revision {
        set_annotation(rs, REVISION, new_revision.to_string());
        changed = true;
        if !old.is_empty() {
            let history = annotation(rs, REVISION_HISTORY).to_string();
            let joined = if history.is_empty() {
                old.clone()
            } else {
                let mut parts: Vec<&str> = history.split(',').collect();
                // Trim the oldest entries until the list fits.
                while !parts.is_empty()
                    && parts.iter().map(|p| p.len() + 1).sum::<usize>() + old.len()
                        > MAX_HISTORY_CHARS
                {
                    parts.remove(0);
                }
                parts.push(&old);
                parts.join(",")
            };
            set_annotation(rs, REVISION_HISTORY, joined);
        }
    }
    if !exists && set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

fn is_active_rs(rs: &Value) -> bool {
    rs_spec(rs) > 0
}

fn sum(rss: &[Value], f: impl Fn(&Value) -> i64) -> i64 {
    rss.iter().map(f).sum()
}

/// A Deployment condition (`NewDeploymentCondition`).
fn condition(kind: &str, status: &str, reason: &str, message: String, now: Timestamp) -> Value {
    let t = crate::clock::rfc3339(now);
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": t,
        "lastTransitionTime": t,
        "reason": reason,
        "message": message,
    })
}

fn get_condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| kinds::str_at(c, "/type") == kind)
}

/// `SetDeploymentCondition`: unchanged status and reason leave the condition alone; a
/// changed one moves to the end, keeping its transition time if the status is the same.
fn set_condition(status: &mut Value, mut cond: Value) {
    let kind = kinds::str_at(&cond, "/type").to_string();
    if let Some(cur) = get_condition(status, &kind) {
        if cur.get("status") == cond.get("status") && cur.get("reason") == cond.get("reason") {
            return;
        }
        if cur.get("status") == cond.get("status") {
            cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    remove_condition(status, &kind);
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    if let Some(a) = status["conditions"].as_array_mut() {
        a.push(cond);
    }
}

fn remove_condition(status: &mut Value, kind: &str) {
    if let Some(a) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        a.retain(|c| kinds::str_at(c, "/type") != kind);
    }
}

/// Drop the zero counts Go omits on the wire (`omitempty`).
fn omit_zeros(status: &mut Value) {
    if let Some(o) = status.as_object_mut() {
        o.retain(|_, v| v != &json!(0) && !v.is_null());
        if o.get("conditions")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            o.remove("conditions");
        }
    }
}

// ----- one sync -----------------------------------------------------------------------------

/// One sync of one Deployment (`syncDeployment`), with the Deployment as last written.
struct Sync<'a> {
    sh: &'a mut Shared,
    templates: &'a mut Comparable,
    now: Timestamp,
    d: Value,
}

impl Sync<'_> {
    fn ns(&self) -> String {
        kinds::namespace_of(&self.d).to_string()
    }

    fn event(&mut self, type_: &str, reason: &str, message: &str) {
        let d = self.d.clone();
        workload::event(self.sh, self.now, &d, deploy_kind(), type_, reason, message);
    }

    fn run(&mut self) -> crate::Result<Action> {
        let selector = self
            .d
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or(json!({}));
        if workload::selector_is_empty(&selector) {
            self.event(
                "Warning",
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            );
            let generation = i64_at(&self.d, "/metadata/generation").unwrap_or(1);
            if i64_at(&self.d, "/status/observedGeneration").unwrap_or(0) < generation {
                let mut status = self.d.get("status").cloned().unwrap_or(json!({}));
                status["observedGeneration"] = json!(generation);
                self.write_status(status)?;
            }
            return Ok(Action::await_change());
        }
        let rs_list = self.claim_replica_sets(&selector)?;
        if self.d.pointer("/metadata/deletionTimestamp").is_some() {
            let (new_rs, old) = self.all_replica_sets(&rs_list, false)?;
            self.sync_status(&old, new_rs.as_ref())?;
            return Ok(Action::await_change());
        }
        self.check_paused_condition()?;
        if self.d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
            return self.scale_only(&rs_list);
        }
        if self.is_scaling_event(&rs_list)? {
            return self.scale_only(&rs_list);
        }
        if is_rolling(&self.d) {
            self.rollout_rolling(&rs_list)
        } else {
            self.rollout_recreate(&rs_list)
        }
    }

    /// The ReplicaSets this Deployment controls, adopting matching orphans and releasing
    /// owned ones that no longer match (`getReplicaSetsForDeployment`).
    fn claim_replica_sets(&mut self, selector: &Value) -> crate::Result<Vec<Value>> {
        let ns = self.ns();
        let uid = kinds::str_at(&self.d, "/metadata/uid").to_string();
        let deleting = self.d.pointer("/metadata/deletionTimestamp").is_some();
        let mut out = Vec::new();
        for rs in self.sh.store.list_raw(rs_kind(), Some(&ns)) {
            let matches = workload::selector_matches(selector, rs.pointer("/metadata/labels"));
            match workload::controller_of(&rs) {
                Some(r) if kinds::str_at(r, "/uid") == uid => {
                    if matches {
                        out.push((*rs).clone());
                    } else {
                        let refs: Vec<Value> = owner_refs(&rs)
                            .into_iter()
                            .filter(|r| kinds::str_at(r, "/uid") != uid)
                            .collect();
                        self.patch_owner_refs(&rs, refs);
                    }
                }
                Some(_) => {}
                None if matches
                    && !deleting
                    && rs.pointer("/metadata/deletionTimestamp").is_none() =>
                {
                    let mut refs = owner_refs(&rs);
                    refs.push(workload::controller_ref(&self.d, deploy_kind()));
                    if let Some(adopted) = self.patch_owner_refs(&rs, refs) {
                        out.push(adopted);
                    }
                }
                None => {}
            }
        }
        out.sort_by(by_creation);
        Ok(out)
    }

    fn patch_owner_refs(&mut self, rs: &Value, refs: Vec<Value>) -> Option<Value> {
        let body = json!({"metadata": {
            // No reference left: the field goes (`omitempty`), not an empty list.
            "ownerReferences": if refs.is_empty() { Value::Null } else { json!(refs) },
            "uid": kinds::str_at(rs, "/metadata/uid"),
        }});
        let bytes = serde_json::to_vec(&body).ok()?;
        self.sh
            .store
            .patch(
                rs_kind(),
                kinds::namespace_of(rs),
                kinds::name_of(rs),
                &bytes,
                PatchKind::Merge,
                &opts(),
                false,
            )
            .ok()
            .map(|r| r.object)
    }

    /// Write the Deployment's status through `/status`; the revision annotation (which
    /// Kubernetes writes in the same request) goes through the main resource when it changed.
    fn write_status(&mut self, mut status: Value) -> crate::Result<()> {
        omit_zeros(&mut status);
        let ns = self.ns();
        let name = kinds::name_of(&self.d).to_string();
        let want_annotations = self.d.pointer("/metadata/annotations").cloned();
        if self.d.get("status") != Some(&status) {
            let mut body = self.d.clone();
            body["status"] = status;
            let res = self
                .sh
                .store
                .replace(deploy_kind(), &ns, &name, body, &opts(), true)?;
            self.d = res.object;
        }
        if self.d.pointer("/metadata/annotations").cloned() != want_annotations {
            let mut body = self.d.clone();
            body["metadata"]["annotations"] = want_annotations.unwrap_or(json!({}));
            let res = self
                .sh
                .store
                .replace(deploy_kind(), &ns, &name, body, &opts(), false)?;
            self.d = res.object;
        }
        Ok(())
    }

    fn status(&self) -> Value {
        self.d.get("status").cloned().unwrap_or(json!({}))
    }

    /// `checkPausedConditions`.
    fn check_paused_condition(&mut self) -> crate::Result<()> {
        if progress_deadline(&self.d).is_none() {
            return Ok(());
        }
        let status = self.status();
        let cond = get_condition(&status, "Progressing");
        if cond.is_some_and(|c| kinds::str_at(c, "/reason") == "ProgressDeadlineExceeded") {
            return Ok(());
        }
        let paused_cond = cond.is_some_and(|c| kinds::str_at(c, "/reason") == "DeploymentPaused");
        let paused = self.d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
        let new = if paused && !paused_cond {
            condition(
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".into(),
                self.now,
            )
        } else if !paused && paused_cond {
            condition(
                "Progressing",
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed".into(),
                self.now,
            )
        } else {
            return Ok(());
        };
        let mut status = status;
        set_condition(&mut status, new);
        self.write_status(status)
    }

    /// The new ReplicaSet (creating it when `create`) and the old ones
    /// (`getAllReplicaSetsAndSyncRevision`).
    fn all_replica_sets(
        &mut self,
        rs_list: &[Value],
        create: bool,
    ) -> crate::Result<(Option<Value>, Vec<Value>)> {
        // The Deployment's side of `EqualIgnoreHash`, worked out once for every ReplicaSet.
        let template = self
            .d
            .pointer("/spec/template")
            .cloned()
            .unwrap_or(json!({}));
        let wanted = self.templates.of(&self.d, &template);
        let existing = rs_list
            .iter()
            .find(|rs| {
                let theirs = rs.pointer("/spec/template").unwrap_or(&Value::Null);
                self.templates.of(rs, theirs) == wanted
            })
            .cloned();
        let existing_uid = existing
            .as_ref()
            .map(|rs| kinds::str_at(rs, "/metadata/uid").to_string());
        let old: Vec<Value> = rs_list
            .iter()
            .filter(|rs| Some(kinds::str_at(rs, "/metadata/uid")) != existing_uid.as_deref())
            .cloned()
            .collect();
        let new_rs = self.new_replica_set(existing, &old, create)?;
        Ok((new_rs, old))
    }

    /// `getNewReplicaSet`.
    fn new_replica_set(
        &mut self,
        existing: Option<Value>,
        old: &[Value],
        create: bool,
    ) -> crate::Result<Option<Value>> {
        let ns = self.ns();
        let new_revision = old.iter().map(revision_of).max().unwrap_or(0) + 1;
        if let Some(rs) = existing {
            let mut copy = rs.clone();
            let mut changed = set_new_rs_annotations(&self.d, &mut copy, new_revision, true);
            let min_ready = self
                .d
                .pointer("/spec/minReadySeconds")
                .cloned()
                .unwrap_or(json!(0));
            if copy
                .pointer("/spec/minReadySeconds")
                .cloned()
                .unwrap_or(json!(0))
                != min_ready
            {
                copy["spec"]["minReadySeconds"] = min_ready;
                changed = true;
            }
            let rs = if changed {
                let name = kinds::name_of(&copy).to_string();
                self.sh
                    .store
                    .replace(rs_kind(), &ns, &name, copy, &opts(), false)?
                    .object
            } else {
                rs
            };
            let mut needs = false;
            let rev = annotation(&rs, REVISION).to_string();
            if annotation(&self.d, REVISION) != rev && !rev.is_empty() {
                set_annotation(&mut self.d, REVISION, rev);
                needs = true;
            }
            let mut status = self.status();
            if get_condition(&status, "Progressing").is_none() {
                let msg = format!("Found new replica set {:?}", kinds::name_of(&rs));
                set_condition(
                    &mut status,
                    condition("Progressing", "True", "FoundNewReplicaSet", msg, self.now),
                );
                needs = true;
            }
            if needs {
                self.write_status(status)?;
            }
            return Ok(Some(rs));
        }
        if !create {
            return Ok(None);
        }
        let collision = i64_at(&self.d, "/status/collisionCount");
        let mut template = self
            .d
            .pointer("/spec/template")
            .cloned()
            .unwrap_or(json!({}));
        let hash = workload::hash_suffix(&template, collision);
        if !template["metadata"].is_object() {
            template["metadata"] = json!({});
        }
        if !template["metadata"]["labels"].is_object() {
            template["metadata"]["labels"] = json!({});
        }
        template["metadata"]["labels"][HASH_LABEL] = json!(hash);
        let mut selector = self
            .d
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or(json!({}));
        if !selector["matchLabels"].is_object() {
            selector["matchLabels"] = json!({});
        }
        selector["matchLabels"][HASH_LABEL] = json!(hash);
        let name = format!("{}-{hash}", kinds::name_of(&self.d));
        let mut rs = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": template["metadata"]["labels"].clone(),
                "ownerReferences": [workload::controller_ref(&self.d, deploy_kind())],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": self.d.pointer("/spec/minReadySeconds").cloned().unwrap_or(json!(0)),
                "selector": selector,
                "template": template,
            },
        });
        let mut all: Vec<Value> = old.to_vec();
        all.push(rs.clone());
        let count = self.new_rs_new_replicas(&all, &rs);
        rs["spec"]["replicas"] = json!(count);
        set_new_rs_annotations(&self.d, &mut rs, new_revision, false);
        let mut already = false;
        let created = match self.sh.store.create(rs_kind(), &ns, rs, &opts()) {
            Ok(res) => res.object,
            Err(kq_apiserver::Error::AlreadyExists { .. }) => {
                already = true;
                let theirs = self.sh.store.get_raw(rs_kind(), &ns, &name);
                let uid = kinds::str_at(&self.d, "/metadata/uid").to_string();
                let template = self
                    .d
                    .pointer("/spec/template")
                    .cloned()
                    .unwrap_or(json!({}));
                match theirs {
                    Some(t)
                        if workload::controlled_by(&t, &uid)
                            && equal_ignore_hash(
                                t.pointer("/spec/template").unwrap_or(&Value::Null),
                                &template,
                            ) =>
                    {
                        (*t).clone()
                    }
                    _ => {
                        // A hash collision: count it, so the next hash differs.
                        let mut status = self.status();
                        status["collisionCount"] = json!(collision.unwrap_or(0) + 1);
                        self.write_status(status)?;
                        return Err(crate::Error::Invalid(format!(
                            "replica set {name} already exists with another template"
                        )));
                    }
                }
            }
            Err(e) => {
                let msg = format!("Failed to create new replica set {name:?}: {e}");
                if progress_deadline(&self.d).is_some() {
                    let mut status = self.status();
                    set_condition(
                        &mut status,
                        condition(
                            "Progressing",
                            "False",
                            "ReplicaSetCreateError",
                            msg.clone(),
                            self.now,
                        ),
                    );
                    self.write_status(status)?;
                }
                self.event("Warning", "ReplicaSetCreateError", &msg);
                return Err(e.into());
            }
        };
        if !already && count > 0 {
            let msg = format!("Scaled up replica set {name} from 0 to {count}");
            self.event("Normal", "ScalingReplicaSet", &msg);
        }
        let mut status = self.status();
        let mut needs = false;
        let rev = new_revision.to_string();
        if annotation(&self.d, REVISION) != rev {
            set_annotation(&mut self.d, REVISION, rev);
            needs = true;
        }
        if !already && progress_deadline(&self.d).is_some() {
            let msg = format!("Created new replica set {name:?}");
            set_condition(
                &mut status,
                condition("Progressing", "True", "NewReplicaSetCreated", msg, self.now),
            );
            needs = true;
        }
        if needs {
            self.write_status(status)?;
        }
        Ok(Some(created))
    }

    /// `NewRSNewReplicas`: how big the new ReplicaSet may be now.
    fn new_rs_new_replicas(&self, all: &[Value], new_rs: &Value) -> i64 {
        let n = replicas(&self.d);
        if !is_rolling(&self.d) {
            return n;
        }
        let current = sum(all, rs_spec);
        let max_total = n + max_surge(&self.d);
        if current >= max_total {
            return rs_spec(new_rs);
        }
        let up = (max_total - current).min(n - rs_spec(new_rs));
        rs_spec(new_rs) + up
    }

    /// `isScalingEvent`: an active ReplicaSet was last sized for another replica count.
    fn is_scaling_event(&mut self, rs_list: &[Value]) -> crate::Result<bool> {
        let (new_rs, old) = self.all_replica_sets(rs_list, false)?;
        let n = replicas(&self.d);
        Ok(old
            .iter()
            .chain(new_rs.iter())
            .filter(|rs| is_active_rs(rs))
            .any(|rs| {
                annotation(rs, DESIRED_REPLICAS)
                    .parse::<i64>()
                    .is_ok_and(|desired| desired != n)
            }))
    }

    /// Resize `rs` to `to` and refresh its replica annotations (`scaleReplicaSet`); returns
    /// whether the size changed, with the ReplicaSet as written.
    fn scale_rs(&mut self, rs: &Value, to: i64, op: &str) -> crate::Result<(bool, Value)> {
        let from = rs_spec(rs);
        let n = replicas(&self.d);
        let max = n + max_surge(&self.d);
        let mut copy = rs.clone();
        let annotations = set_replicas_annotations(&mut copy, n, max);
        if from == to && !annotations {
            return Ok((false, rs.clone()));
        }
        copy["spec"]["replicas"] = json!(to);
        let ns = self.ns();
        let name = kinds::name_of(rs).to_string();
        let written = self
            .sh
            .store
            .replace(rs_kind(), &ns, &name, copy, &opts(), false)?
            .object;
        if from != to {
            let msg = format!("Scaled {op} replica set {name} from {from} to {to}");
            self.event("Normal", "ScalingReplicaSet", &msg);
        }
        Ok((from != to, written))
    }

    /// `scaleReplicaSetAndRecordEvent`.
    fn scale_rs_event(&mut self, rs: &Value, to: i64) -> crate::Result<(bool, Value)> {
        if rs_spec(rs) == to {
            return Ok((false, rs.clone()));
        }
        let op = if rs_spec(rs) < to { "up" } else { "down" };
        self.scale_rs(rs, to, op)
    }

    /// The paused or scaling path (`sync`): resize, clean up while paused, report status.
    fn scale_only(&mut self, rs_list: &[Value]) -> crate::Result<Action> {
        let (new_rs, old) = self.all_replica_sets(rs_list, false)?;
        self.scale(new_rs.as_ref(), &old)?;
        let rs_list = self.reread(rs_list);
        let (new_rs, old) = split(&rs_list, new_rs.as_ref());
        if self.d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
            self.cleanup(&old)?;
        }
        self.sync_status(&old, new_rs.as_ref())?;
        Ok(Action::await_change())
    }

    /// The ReplicaSets as stored now (after this sync's writes), same order.
    fn reread(&self, rs_list: &[Value]) -> Vec<Value> {
        let ns = self.ns();
        let mut out: Vec<Value> = rs_list
            .iter()
            .filter_map(|rs| self.sh.store.get_raw(rs_kind(), &ns, kinds::name_of(rs)))
            .map(|rs| (*rs).clone())
            .collect();
        // A ReplicaSet created in this sync is not in the list yet.
        for rs in self.sh.store.list_raw(rs_kind(), Some(&ns)) {
            let uid = kinds::str_at(&self.d, "/metadata/uid");
            if workload::controlled_by(&rs, uid)
                && !out.iter().any(|o| kinds::name_of(o) == kinds::name_of(&rs))
            {
                out.push((*rs).clone());
            }
        }
        out.sort_by(by_creation);
        out
    }

    /// `scale`: resize for a changed replica count, proportionally across active
    /// ReplicaSets in the middle of a rollout.
    fn scale(&mut self, new_rs: Option<&Value>, old: &[Value]) -> crate::Result<()> {
        let n = replicas(&self.d);
        // One active ReplicaSet (or none: the newest) takes the whole count.
        let mut newest_first: Vec<Value> = old.to_vec();
        newest_first.sort_by(|a, b| by_creation(b, a));
        let active: Vec<Value> = newest_first
            .iter()
            .chain(new_rs)
            .filter(|rs| is_active_rs(rs))
            .cloned()
            .collect();
        let target = match active.len() {
            0 => new_rs.cloned().or_else(|| newest_first.first().cloned()),
            1 => Some(active[0].clone()),
            _ => None,
        };
        if let Some(rs) = target {
            if rs_spec(&rs) != n {
                self.scale_rs_event(&rs, n)?;
            }
            return Ok(());
        }
        // The new ReplicaSet is saturated: the old ones go to zero.
        if let Some(new_rs) = new_rs {
            let desired = annotation(new_rs, DESIRED_REPLICAS).parse::<i64>().ok();
            if rs_spec(new_rs) == n
                && desired == Some(n)
                && rs_status(new_rs, "availableReplicas") == n
            {
                for rs in old.iter().filter(|rs| is_active_rs(rs)) {
                    self.scale_rs_event(rs, 0)?;
                }
                return Ok(());
            }
        }
        if !is_rolling(&self.d) {
            return Ok(());
        }
        let mut all = active;
        let current = sum(&all, rs_spec);
        let allowed = if n > 0 { n + max_surge(&self.d) } else { 0 };
        let to_add = allowed - current;
        let op = match to_add.cmp(&0) {
            Ordering::Greater => {
                // Largest first, newer first among equals.
                all.sort_by(|a, b| rs_spec(b).cmp(&rs_spec(a)).then_with(|| by_creation(b, a)));
                "up"
            }
            Ordering::Less => {
                // Largest first, older first among equals.
                all.sort_by(|a, b| rs_spec(b).cmp(&rs_spec(a)).then_with(|| by_creation(a, b)));
                "down"
            }
            Ordering::Equal => "",
        };
        let mut sizes: Vec<i64> = Vec::with_capacity(all.len());
        let mut added = 0;
        for rs in &all {
            if to_add != 0 {
                let p = self.proportion(rs, to_add, added);
                sizes.push(rs_spec(rs) + p);
                added += p;
            } else {
                sizes.push(rs_spec(rs));
            }
        }
        if to_add != 0
            && let Some(first) = sizes.first_mut()
        {
            *first = (*first + to_add - added).max(0);
        }
        for (rs, size) in all.iter().zip(sizes) {
            self.scale_rs(rs, size, op)?;
        }
        Ok(())
    }

    /// `GetProportion`: this ReplicaSet's share of `to_add`.
    fn proportion(&self, rs: &Value, to_add: i64, added: i64) -> i64 {
        if rs_spec(rs) == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let fraction = self.fraction(rs);
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// `getReplicaSetFraction`.
    fn fraction(&self, rs: &Value) -> i64 {
        let n = replicas(&self.d);
        if n == 0 {
            return -rs_spec(rs);
        }
        let deployment_replicas = n + max_surge(&self.d);
        let annotated = annotation(rs, MAX_REPLICAS)
            .parse::<i64>()
            .unwrap_or_else(|_| i64_at(&self.d, "/status/replicas").unwrap_or(0));
        if annotated == 0 {
            return 0;
        }
        let size = (rs_spec(rs) * deployment_replicas) as f64 / annotated as f64;
        size.round() as i64 - rs_spec(rs)
    }

    /// `rolloutRolling`: one scaling step per sync.
    fn rollout_rolling(&mut self, rs_list: &[Value]) -> crate::Result<Action> {
        let (new_rs, old) = self.all_replica_sets(rs_list, true)?;
        let Some(new_rs) = new_rs else {
            return Ok(Action::await_change());
        };
        let mut all: Vec<Value> = old.clone();
        all.push(new_rs.clone());
        // Scale the new ReplicaSet up (or down to replicas).
        let n = replicas(&self.d);
        if rs_spec(&new_rs) != n {
            let to = if rs_spec(&new_rs) > n {
                n
            } else {
                self.new_rs_new_replicas(&all, &new_rs)
            };
            let (scaled, written) = self.scale_rs_event(&new_rs, to)?;
            if scaled {
                all.pop();
                all.push(written.clone());
                return self.sync_rollout_status(&old, Some(&written));
            }
        }
        // Scale the old ones down.
        let active_old: Vec<Value> = old.iter().filter(|rs| is_active_rs(rs)).cloned().collect();
        if self.reconcile_old(&all, &active_old, &new_rs)? {
            let rs_list = self.reread(&all);
            let (new_rs, old) = split(&rs_list, Some(&new_rs));
            return self.sync_rollout_status(&old, new_rs.as_ref());
        }
        let status = self.status();
        if self.complete(&status) {
            self.cleanup(&old)?;
        }
        self.sync_rollout_status(&old, Some(&new_rs))
    }

    /// `reconcileOldReplicaSets`.
    fn reconcile_old(
        &mut self,
        all: &[Value],
        old: &[Value],
        new_rs: &Value,
    ) -> crate::Result<bool> {
        let old_count = sum(old, rs_spec);
        if old_count == 0 {
            return Ok(false);
        }
        let all_count = sum(all, rs_spec);
        let min_available = replicas(&self.d) - max_unavailable(&self.d);
        let new_unavailable = rs_spec(new_rs) - rs_status(new_rs, "availableReplicas");
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        // First the old replicas that are not available anyway, oldest ReplicaSet first.
        let mut old: Vec<Value> = old.to_vec();
        old.sort_by(by_creation);
        let mut cleaned = 0;
        for rs in old.iter_mut() {
            if cleaned >= max_scaled_down {
                break;
            }
            let spec = rs_spec(rs);
            let available = rs_status(rs, "availableReplicas");
            if spec == 0 || spec == available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(spec - available);
            let (_, written) = self.scale_rs_event(rs, spec - down)?;
            *rs = written;
            cleaned += down;
        }
        // Then available ones, as far as maxUnavailable allows.
        let mut all_now: Vec<Value> = old.clone();
        all_now.push(new_rs.clone());
        let available = sum(&all_now, |rs| rs_status(rs, "availableReplicas"));
        let mut scaled_down = 0;
        if available > min_available {
            let budget = available - min_available;
            for rs in &old {
                if scaled_down >= budget {
                    break;
                }
                let spec = rs_spec(rs);
                if spec == 0 {
                    continue;
                }
                let down = spec.min(budget - scaled_down);
                self.scale_rs_event(rs, spec - down)?;
                scaled_down += down;
            }
        }
        Ok(cleaned + scaled_down > 0)
    }

    /// `rolloutRecreate`: old ReplicaSets to zero, wait for their pods to be gone, then the
    /// new one at full size.
    fn rollout_recreate(&mut self, rs_list: &[Value]) -> crate::Result<Action> {
        let (new_rs, old) = self.all_replica_sets(rs_list, false)?;
        let mut scaled = false;
        for rs in old.iter().filter(|rs| is_active_rs(rs)) {
            if self.scale_rs_event(rs, 0)?.0 {
                scaled = true;
            }
        }
        if scaled {
            let rs_list = self.reread(rs_list);
            let (new_rs, old) = split(&rs_list, new_rs.as_ref());
            return self.sync_rollout_status(&old, new_rs.as_ref());
        }
        if self.old_pods_running(new_rs.as_ref(), &old) {
            return self.sync_rollout_status(&old, new_rs.as_ref());
        }
        let (new_rs, old) = match new_rs {
            Some(rs) => (rs, old),
            None => {
                let (new_rs, old) = self.all_replica_sets(rs_list, true)?;
                let Some(new_rs) = new_rs else {
                    return Ok(Action::await_change());
                };
                (new_rs, old)
            }
        };
        let n = replicas(&self.d);
        let (_, new_rs) = self.scale_rs_event(&new_rs, n)?;
        let status = self.status();
        if self.complete(&status) {
            self.cleanup(&old)?;
        }
        self.sync_rollout_status(&old, Some(&new_rs))
    }

    /// `oldPodsRunning`: an old ReplicaSet still reports pods, or one of its pods has not
    /// finished (terminating pods count).
    fn old_pods_running(&self, new_rs: Option<&Value>, old: &[Value]) -> bool {
        if sum(old, |rs| rs_status(rs, "replicas")) > 0 {
            return true;
        }
        let ns = self.ns();
        let new_uid = new_rs.map(|rs| kinds::str_at(rs, "/metadata/uid").to_string());
        let old_uids: Vec<&str> = old
            .iter()
            .map(|rs| kinds::str_at(rs, "/metadata/uid"))
            .collect();
        self.sh.pods.values().any(|p| {
            kinds::namespace_of(p) == ns
                && workload::controller_of(p).is_some_and(|r| {
                    let uid = kinds::str_at(r, "/uid");
                    old_uids.contains(&uid) && Some(uid) != new_uid.as_deref()
                })
                && !matches!(workload::phase(p), "Succeeded" | "Failed")
        })
    }

    /// `cleanupDeployment`: delete the oldest unused ReplicaSets beyond revisionHistoryLimit.
    fn cleanup(&mut self, old: &[Value]) -> crate::Result<()> {
        let limit = i64_at(&self.d, "/spec/revisionHistoryLimit")
            .unwrap_or(10)
            .max(0);
        let mut alive: Vec<&Value> = old
            .iter()
            .filter(|rs| rs.pointer("/metadata/deletionTimestamp").is_none())
            .collect();
        let diff = alive.len() as i64 - limit;
        if diff <= 0 {
            return Ok(());
        }
        alive.sort_by(|a, b| {
            revision_of(a)
                .cmp(&revision_of(b))
                .then_with(|| by_creation(a, b))
        });
        let ns = self.ns();
        for rs in alive.into_iter().take(diff.unsigned_abs() as usize) {
            let observed = rs_status(rs, "observedGeneration")
                >= i64_at(rs, "/metadata/generation").unwrap_or(1);
            if rs_status(rs, "replicas") != 0 || rs_spec(rs) != 0 || !observed {
                continue;
            }
            match self.sh.store.delete(
                rs_kind(),
                &ns,
                kinds::name_of(rs),
                &DeleteOptions::default(),
            ) {
                Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// `calculateStatus`: counts from the ReplicaSets, and the Available condition.
    fn calculate_status(&self, old: &[Value], new_rs: Option<&Value>) -> Value {
        let all = || old.iter().chain(new_rs);
        let available: i64 = all().map(|rs| rs_status(rs, "availableReplicas")).sum();
        let total: i64 = all().map(rs_spec).sum();
        let mut status = self.status();
        status["observedGeneration"] = json!(i64_at(&self.d, "/metadata/generation").unwrap_or(1));
        status["replicas"] = json!(all().map(|rs| rs_status(rs, "replicas")).sum::<i64>());
        status["updatedReplicas"] = json!(new_rs.map_or(0, |rs| rs_status(rs, "replicas")));
        status["readyReplicas"] =
            json!(all().map(|rs| rs_status(rs, "readyReplicas")).sum::<i64>());
        status["availableReplicas"] = json!(available);
        status["unavailableReplicas"] = json!((total - available).max(0));
        let n = replicas(&self.d);
        let cond = if available >= n - max_unavailable(&self.d) {
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                self.now,
            )
        } else {
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
                self.now,
            )
        };
        set_condition(&mut status, cond);
        omit_zeros(&mut status);
        status
    }

    /// `syncDeploymentStatus`.
    fn sync_status(&mut self, old: &[Value], new_rs: Option<&Value>) -> crate::Result<()> {
        let status = self.calculate_status(old, new_rs);
        self.write_status(status)
    }

    /// `DeploymentComplete`.
    fn complete(&self, status: &Value) -> bool {
        let n = replicas(&self.d);
        let get = |k: &str| i64_at(status, &format!("/{k}")).unwrap_or(0);
        get("updatedReplicas") == n
            && get("replicas") == n
            && get("availableReplicas") == n
            && get("observedGeneration") >= i64_at(&self.d, "/metadata/generation").unwrap_or(1)
    }

    /// `syncRolloutStatus`: the status with the Progressing and ReplicaFailure conditions,
    /// and a requeue at the progress deadline.
    fn sync_rollout_status(
        &mut self,
        old: &[Value],
        new_rs: Option<&Value>,
    ) -> crate::Result<Action> {
        let mut status = self.calculate_status(old, new_rs);
        let deadline = progress_deadline(&self.d);
        if deadline.is_none() {
            remove_condition(&mut status, "Progressing");
        }
        let before = self.status();
        let current = get_condition(&before, "Progressing").cloned();
        let get = |s: &Value, k: &str| i64_at(s, &format!("/{k}")).unwrap_or(0);
        let is_complete = get(&status, "replicas") == get(&status, "updatedReplicas")
            && current
                .as_ref()
                .is_some_and(|c| kinds::str_at(c, "/reason") == "NewReplicaSetAvailable");
        let subject = match new_rs {
            Some(rs) => format!("ReplicaSet {:?}", kinds::name_of(rs)),
            None => format!("Deployment {:?}", kinds::name_of(&self.d)),
        };
        if let Some(deadline) = deadline.filter(|_| !is_complete) {
            if self.complete(&status) {
                let msg = format!("{subject} has successfully progressed.");
                set_condition(
                    &mut status,
                    condition(
                        "Progressing",
                        "True",
                        "NewReplicaSetAvailable",
                        msg,
                        self.now,
                    ),
                );
            } else if progressing(&before, &status) {
                let msg = format!("{subject} is progressing.");
                let mut cond = condition("Progressing", "True", "ReplicaSetUpdated", msg, self.now);
                if let Some(cur) = &current {
                    if kinds::str_at(cur, "/status") == "True" {
                        cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
                    }
                    remove_condition(&mut status, "Progressing");
                }
                set_condition(&mut status, cond);
            } else if self.timed_out(&status, deadline) {
                let msg = format!("{subject} has timed out progressing.");
                set_condition(
                    &mut status,
                    condition(
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        msg,
                        self.now,
                    ),
                );
            }
        }
        // ReplicaFailure comes from the new ReplicaSet, else from any.
        let failure = new_rs.into_iter().chain(old.iter()).find_map(|rs| {
            rs.pointer("/status/conditions")?
                .as_array()?
                .iter()
                .find(|c| kinds::str_at(c, "/type") == "ReplicaFailure")
                .cloned()
        });
        match failure {
            Some(c) => {
                let t = c.get("lastTransitionTime").cloned().unwrap_or(Value::Null);
                set_condition(
                    &mut status,
                    json!({
                        "type": "ReplicaFailure",
                        "status": c.get("status").cloned().unwrap_or(json!("True")),
                        "lastUpdateTime": t,
                        "lastTransitionTime": t,
                        "reason": c.get("reason").cloned().unwrap_or(json!("")),
                        "message": c.get("message").cloned().unwrap_or(json!("")),
                    }),
                );
            }
            None => remove_condition(&mut status, "ReplicaFailure"),
        }
        omit_zeros(&mut status);
        let changed = before != status;
        self.write_status(status.clone())?;
        if changed {
            // The write comes back as a change; the deadline is planned from there.
            return Ok(Action::await_change());
        }
        Ok(self.requeue_stuck(&status, deadline))
    }

    /// `DeploymentTimedOut`.
    fn timed_out(&self, status: &Value, deadline: Duration) -> bool {
        let Some(c) = get_condition(status, "Progressing") else {
            return false;
        };
        match kinds::str_at(c, "/reason") {
            "NewReplicaSetAvailable" => false,
            "ProgressDeadlineExceeded" => true,
            _ => crate::clock::parse_time(kinds::str_at(c, "/lastUpdateTime"))
                .is_some_and(|from| crate::scheduler::add(from, deadline) < self.now),
        }
    }

    /// `requeueStuckDeployment`: look again one second after the deadline.
    fn requeue_stuck(&self, status: &Value, deadline: Option<Duration>) -> Action {
        let (Some(deadline), Some(c)) = (deadline, get_condition(status, "Progressing")) else {
            return Action::await_change();
        };
        if self.complete(status) || kinds::str_at(c, "/reason") == "ProgressDeadlineExceeded" {
            return Action::await_change();
        }
        let Some(from) = crate::clock::parse_time(kinds::str_at(c, "/lastUpdateTime")) else {
            return Action::await_change();
        };
        let at = crate::scheduler::add(from, deadline);
        let after = Duration::try_from(at.duration_since(self.now)).unwrap_or_default();
        if after < Duration::from_secs(1) {
            return Action::requeue(Duration::from_secs(1));
        }
        Action::requeue(after + Duration::from_secs(1))
    }
}

/// `DeploymentProgressing`: more updated, fewer old, more ready or more available replicas.
fn progressing(old: &Value, new: &Value) -> bool {
    let get = |s: &Value, k: &str| i64_at(s, &format!("/{k}")).unwrap_or(0);
    let old_old = get(old, "replicas") - get(old, "updatedReplicas");
    let new_old = get(new, "replicas") - get(new, "updatedReplicas");
    get(new, "updatedReplicas") > get(old, "updatedReplicas")
        || new_old < old_old
        || get(new, "readyReplicas") > get(old, "readyReplicas")
        || get(new, "availableReplicas") > get(old, "availableReplicas")
}

fn owner_refs(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Split a re-read list into the ReplicaSet named like `new_rs` and the others.
fn split(rs_list: &[Value], new_rs: Option<&Value>) -> (Option<Value>, Vec<Value>) {
    let new_name = new_rs.map(|rs| kinds::name_of(rs).to_string());
    let mut new = None;
    let mut old = Vec::new();
    for rs in rs_list {
        if Some(kinds::name_of(rs)) == new_name.as_deref() {
            new = Some(rs.clone());
        } else {
            old.push(rs.clone());
        }
    }
    (new, old)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(replicas: i64, surge: Value, unavailable: Value) -> Value {
        json!({"spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}})
    }

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        let d = deploy(3, json!("25%"), json!("25%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (1, 0));
        let d = deploy(10, json!("25%"), json!("25%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (3, 2));
        let d = deploy(3, json!(0), json!(0));
        assert_eq!(
            (max_surge(&d), max_unavailable(&d)),
            (0, 1),
            "both zero: one unavailable"
        );
        let d = deploy(2, json!(0), json!(5));
        assert_eq!(max_unavailable(&d), 2, "never more than replicas");
        let d = deploy(0, json!("25%"), json!("25%"));
        assert_eq!(max_unavailable(&d), 0);
        let defaults = json!({"spec": {}});
        assert_eq!(
            (max_surge(&defaults), max_unavailable(&defaults)),
            (1, 0),
            "1 replica, 25%/25%"
        );
        let recreate = json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}});
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }

    #[test]
    fn templates_compare_without_the_hash_label_and_with_defaults() {
        let d = json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}});
        let mut rs = d.clone();
        rs["metadata"]["labels"][HASH_LABEL] = json!("7c5ddbdf54");
        rs["spec"]["restartPolicy"] = json!("Always");
        assert!(equal_ignore_hash(&d, &rs));
        let mut other = rs.clone();
        other["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        assert!(!equal_ignore_hash(&d, &other));
    }

    #[test]
    fn a_remembered_template_is_read_again_once_it_changes() {
        let owner = |uid: &str, template: &Value| json!({"metadata": {"uid": uid}, "spec": {"template": template}});
        let v1 = json!({"metadata": {"labels": {"app": "web", HASH_LABEL: "1"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}});
        let mut v2 = v1.clone();
        v2["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        let mut templates = Comparable::default();
        for (uid, template) in [("a", &v1), ("a", &v1), ("a", &v2), ("b", &v1), ("", &v2)] {
            assert_eq!(
                templates.of(&owner(uid, template), template),
                comparable_template(template),
                "{uid}"
            );
        }
        assert_eq!(templates.0.len(), 2, "one a uid, none without");
        assert_eq!(templates.0["a"].0, v2, "the latest template");
        templates.forget("a");
        assert_eq!(templates.0.len(), 1);
    }

    #[test]
    fn revision_history_records_the_revision_a_rollback_replaces() {
        let d = json!({"metadata": {"annotations": {"kubernetes.io/change-cause": "v1",
            "kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "spec": {"replicas": 3}});
        let mut rs = json!({"metadata": {"annotations": {REVISION: "1"}}});
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
        assert_eq!(annotation(&rs, REVISION), "3");
        assert_eq!(annotation(&rs, REVISION_HISTORY), "1");
        assert_eq!(annotation(&rs, "kubernetes.io/change-cause"), "v1");
        assert_eq!(
            annotation(&rs, "kubectl.kubernetes.io/last-applied-configuration"),
            ""
        );
        assert!(
            !set_new_rs_annotations(&d, &mut rs, 3, true),
            "nothing left to change"
        );
        let mut fresh = json!({"metadata": {}});
        set_new_rs_annotations(&d, &mut fresh, 1, false);
        assert_eq!(annotation(&fresh, DESIRED_REPLICAS), "3");
        assert_eq!(annotation(&fresh, MAX_REPLICAS), "4");
    }

    #[test]
    fn conditions_move_to_the_end_when_their_reason_changes() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t1: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let mut s = json!({});
        set_condition(
            &mut s,
            condition(
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                "a".into(),
                t0,
            ),
        );
        set_condition(
            &mut s,
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "b".into(),
                t0,
            ),
        );
        set_condition(
            &mut s,
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                "c".into(),
                t1,
            ),
        );
        let types: Vec<&str> = s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["Available", "Progressing"]);
        assert_eq!(
            s["conditions"][1]["lastTransitionTime"],
            crate::clock::rfc3339(t0),
            "status unchanged keeps the transition time"
        );
        assert_eq!(
            s["conditions"][1]["lastUpdateTime"],
            crate::clock::rfc3339(t1)
        );
    }
}

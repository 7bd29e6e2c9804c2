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
//!
//! This module claims ReplicaSets, makes the new one and scales; [`rollout`] holds the two
//! strategies and the cleanup, [`progress`] the status and the progress deadline, and [`util`]
//! what `deployment_util.go` reads of a Deployment.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{DeleteOptions, PatchKind, WriteOptions};
use crate::workload;

mod progress;
mod rollout;
mod util;

pub(crate) use util::REVISION;
use util::*;

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
}

//! The StatefulSet controller: pods `<set>-<ordinal>` with a stable identity, created in
//! ordinal order and replaced from the highest ordinal down, as Kubernetes does in
//! `pkg/controller/statefulset/stateful_set_control.go` (revisions, replica processing,
//! condemned pods, the rolling update with its partition, status), `stateful_set_utils.go`
//! (pod identity, storage wiring, versioned pods, `completeRollingUpdate`) and
//! `stateful_pod_control.go` (create/delete with the `<verb> Pod %s in StatefulSet %s
//! successful` events). Template history lives in ControllerRevisions (`crate::history`).
//!
//! Unset fields are read with the API server's defaults (replicas 1, `OrderedReady`,
//! `RollingUpdate` with partition 0, revisionHistoryLimit 10, ordinals starting at 0).
//! Claims from `volumeClaimTemplates` are made only when the API server serves
//! PersistentVolumeClaims; the pod's volumes name the claims either way, as the real
//! controller wires them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::history;
use crate::kinds::{self, ResourceKind};
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::shared::Shared;
use crate::store::{DeleteOptions, WriteOptions};
use crate::workload::{self, PodName};

/// Label naming the pod (`apps.StatefulSetPodNameLabel`).
const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Label holding the ordinal (`apps.PodIndexLabel`).
const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// Label naming the pod's ControllerRevision (`apps.ControllerRevisionHashLabelKey`).
const REVISION_LABEL: &str = "controller-revision-hash";
/// The most pods one sync of a Parallel set creates (kube-controller-manager's batches stop
/// at `MaxBatchSize` too); the rest follow on the next sync.
const MAX_CREATES_PER_SYNC: usize = 500;

/// The statefulset controller.
#[derive(Debug, Default)]
pub(crate) struct StatefulSetController;

fn sts_kind() -> &'static ResourceKind {
    &kinds::statefulset::KIND
}

impl Controller<Shared> for StatefulSetController {
    fn name(&self) -> &'static str {
        "statefulset"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["apps/statefulsets", "pods"]
    }

    fn on_change(&mut self, change: &Change<'_>, ctx: &mut Shared, queue: &mut Enqueue<'_>) {
        if change.resource == "pods" {
            workload::dependent_change(ctx, sts_kind(), change, queue);
        } else {
            workload::own_change(change, queue);
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
        let Some(set) = ctx.store.get_raw(sts_kind(), ns, name) else {
            return Ok(Action::await_change());
        };
        sync(ctx, &set, now)
    }
}

/// The set's spec as the controller reads it, defaults applied.
#[derive(Debug, Clone)]
struct Spec {
    replicas: i64,
    start: i64,
    parallel: bool,
    rolling: bool,
    partition: i64,
    history_limit: i64,
    min_ready: Duration,
    service: String,
}

fn i64_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

impl Spec {
    fn of(set: &Value) -> Spec {
        let strategy = set
            .pointer("/spec/updateStrategy/type")
            .and_then(Value::as_str)
            .unwrap_or("RollingUpdate");
        Spec {
            // int32 fields: clamped so that start + replicas cannot overflow.
            replicas: i64_at(set, "/spec/replicas")
                .unwrap_or(1)
                .clamp(0, i64::from(i32::MAX)),
            start: i64_at(set, "/spec/ordinals/start")
                .unwrap_or(0)
                .clamp(0, i64::from(i32::MAX)),
            parallel: kinds::str_at(set, "/spec/podManagementPolicy") == "Parallel",
            rolling: strategy == "RollingUpdate",
            partition: i64_at(set, "/spec/updateStrategy/rollingUpdate/partition")
                .unwrap_or(0)
                .clamp(0, i64::from(i32::MAX)),
            history_limit: i64_at(set, "/spec/revisionHistoryLimit").unwrap_or(10),
            min_ready: Duration::from_secs(
                i64_at(set, "/spec/minReadySeconds")
                    .unwrap_or(0)
                    .max(0)
                    .unsigned_abs(),
            ),
            service: kinds::str_at(set, "/spec/serviceName").to_string(),
        }
    }
}

/// `<parent>-<ordinal>` split apart (`getParentNameAndOrdinal`); `None` for other names.
fn parent_and_ordinal(name: &str) -> Option<(&str, i64)> {
    let (parent, ord) = name.rsplit_once('-')?;
    if ord.is_empty() || !ord.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i32 = ord.parse().ok()?;
    Some((parent, i64::from(n)))
}

fn ordinal_of(pod: &Value) -> Option<i64> {
    parent_and_ordinal(kinds::name_of(pod)).map(|(_, o)| o)
}

fn revision_of(pod: &Value) -> &str {
    kinds::str_at(pod, &format!("/metadata/labels/{REVISION_LABEL}"))
}

fn running_and_ready(pod: &Value) -> bool {
    workload::phase(pod) == "Running" && workload::is_ready(pod)
}

fn running_and_available(pod: &Value, min_ready: Duration, now: Timestamp) -> bool {
    workload::phase(pod) == "Running" && workload::is_available(pod, min_ready, now)
}

fn is_unavailable(pod: &Value, min_ready: Duration, now: Timestamp) -> bool {
    workload::is_terminating(pod) || !running_and_available(pod, min_ready, now)
}

/// The counts of `updateStatus` over `pods`.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    replicas: i64,
    ready: i64,
    available: i64,
    current: i64,
    updated: i64,
}

fn count(pods: &[Arc<Value>], spec: &Spec, current: &str, update: &str, now: Timestamp) -> Counts {
    let mut c = Counts::default();
    for p in pods {
        // A pod the API server holds has a phase (`isCreated`).
        c.replicas += 1;
        if running_and_ready(p) {
            c.ready += 1;
            if running_and_available(p, spec.min_ready, now) {
                c.available += 1;
            }
        }
        if !workload::is_terminating(p) {
            if revision_of(p) == current {
                c.current += 1;
            }
            if revision_of(p) == update {
                c.updated += 1;
            }
        }
    }
    c
}

/// The pod for `ordinal` at `revision` (`newVersionedStatefulSetPod` → `newStatefulSetPod`).
fn new_pod(set: &Value, template: &Value, spec: &Spec, ordinal: i64, revision: &str) -> Value {
    let name = format!("{}-{ordinal}", kinds::name_of(set));
    let mut pod = workload::pod_from_template(template, set, sts_kind(), PodName::Exact(&name));
    pod["metadata"]["namespace"] = json!(kinds::namespace_of(set));
    let labels = &mut pod["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[POD_NAME_LABEL] = json!(name);
    labels[POD_INDEX_LABEL] = json!(ordinal.to_string());
    labels[REVISION_LABEL] = json!(revision);
    pod["spec"]["hostname"] = json!(name);
    if !spec.service.is_empty() {
        pod["spec"]["subdomain"] = json!(spec.service);
    }
    // Storage: one volume per claim template, replacing a template volume of that name.
    let claims = set
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !claims.is_empty() {
        let mut volumes: Vec<Value> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for c in &claims {
            let cname = kinds::name_of(c).to_string();
            volumes.push(json!({"name": cname, "persistentVolumeClaim": {
                "claimName": claim_name(&cname, kinds::name_of(set), ordinal)}}));
            names.push(cname);
        }
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            if !names.iter().any(|n| n == kinds::str_at(v, "/name")) {
                volumes.push(v.clone());
            }
        }
        pod["spec"]["volumes"] = json!(volumes);
    }
    pod
}

/// `<claim template>-<set>-<ordinal>` (`getPersistentVolumeClaimName`).
fn claim_name(template: &str, set: &str, ordinal: i64) -> String {
    format!("{template}-{set}-{ordinal}")
}

/// What one sync decided, for the status and the next look.
struct Sync<'a> {
    sh: &'a mut Shared,
    set: &'a Value,
    spec: Spec,
    now: Timestamp,
}

impl Sync<'_> {
    fn event(&mut self, type_: &str, reason: &str, message: &str) {
        workload::event(
            self.sh,
            self.now,
            self.set,
            sts_kind(),
            type_,
            reason,
            message,
        );
    }

    /// `CreateStatefulPod`: its claims first (when served), then the pod; the event either way.
    fn create(&mut self, pod: Value) -> crate::Result<()> {
        let set_name = kinds::name_of(self.set).to_string();
        let pod_name = kinds::name_of(&pod).to_string();
        self.create_claims(&pod_name)?;
        let ns = kinds::namespace_of(self.set).to_string();
        match workload::create_pod(&self.sh.store, &ns, pod) {
            Ok(_) => {
                let msg = format!("create Pod {pod_name} in StatefulSet {set_name} successful");
                self.event("Normal", "SuccessfulCreate", &msg);
                Ok(())
            }
            Err(e) => {
                let text = workload::error_text(&e);
                let msg =
                    format!("create Pod {pod_name} in StatefulSet {set_name} failed error: {text}");
                self.event("Warning", "FailedCreate", &msg);
                Err(e)
            }
        }
    }

    /// The pod's claims from `volumeClaimTemplates`, when the API server serves claims.
    fn create_claims(&mut self, pod_name: &str) -> crate::Result<()> {
        let Some(pvc_kind) = kinds::by_kind("", "PersistentVolumeClaim") else {
            return Ok(());
        };
        let Some(ordinal) = parent_and_ordinal(pod_name).map(|(_, o)| o) else {
            return Ok(());
        };
        let set_name = kinds::name_of(self.set).to_string();
        let ns = kinds::namespace_of(self.set).to_string();
        let templates = self
            .set
            .pointer("/spec/volumeClaimTemplates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for t in templates {
            let name = claim_name(kinds::name_of(&t), &set_name, ordinal);
            if self.sh.store.get_raw(pvc_kind, &ns, &name).is_some() {
                continue;
            }
            let mut labels: Map<String, Value> = t
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(ml) = self
                .set
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
            {
                labels.extend(ml.clone());
            }
            let mut claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": t.get("spec").cloned().unwrap_or_else(|| json!({}))});
            if let Some(a) = t.pointer("/metadata/annotations") {
                claim["metadata"]["annotations"] = a.clone();
            }
            let mut opts = WriteOptions::default();
            opts.field_manager = Some("kube-controller-manager".into());
            match self.sh.store.create(pvc_kind, &ns, claim, &opts) {
                Ok(_) | Err(kq_apiserver::Error::AlreadyExists { .. }) => {
                    let msg = format!(
                        "create Claim {name} Pod {pod_name} in StatefulSet {set_name} success"
                    );
                    self.event("Normal", "SuccessfulCreate", &msg);
                }
                Err(e) => {
                    let msg = format!(
                        "create Claim {name} for Pod {pod_name} in StatefulSet {set_name} failed error: {e}"
                    );
                    self.event("Warning", "FailedCreate", &msg);
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// `DeleteStatefulPod` with its event.
    fn delete(&mut self, pod: &Value) -> crate::Result<()> {
        let set_name = kinds::name_of(self.set).to_string();
        let pod_name = kinds::name_of(pod).to_string();
        let ns = kinds::namespace_of(pod).to_string();
        let opts = DeleteOptions::default();
        match self
            .sh
            .store
            .delete(&kinds::pod::KIND, &ns, &pod_name, &opts)
        {
            Ok(_) => {
                let msg = format!("delete Pod {pod_name} in StatefulSet {set_name} successful");
                self.event("Normal", "SuccessfulDelete", &msg);
                Ok(())
            }
            Err(kq_apiserver::Error::NotFound { .. }) => Ok(()),
            Err(e) => {
                let msg =
                    format!("delete Pod {pod_name} in StatefulSet {set_name} failed error: {e}");
                self.event("Warning", "FailedDelete", &msg);
                Err(e.into())
            }
        }
    }
}

/// The current and update revisions, every revision, and the collision count.
type Revisions = (Arc<Value>, Arc<Value>, Vec<Arc<Value>>, i64);

/// The current and update revisions (`getStatefulSetRevisions`), creating or renumbering the
/// update revision as needed; also returns every revision and the collision count.
fn revisions(sh: &Shared, set: &Value) -> crate::Result<Revisions> {
    let ns = kinds::namespace_of(set);
    let uid = kinds::str_at(set, "/metadata/uid");
    history::adopt_orphans(&sh.store, set, sts_kind());
    let mut revs = history::owned(&sh.store, ns, uid);
    let mut collision = i64_at(set, "/status/collisionCount").unwrap_or(0);
    let data = history::template_patch(set);
    let equal: Vec<&Arc<Value>> = revs
        .iter()
        .filter(|r| r.get("data") == Some(&data))
        .collect();
    let update: Arc<Value> = match (equal.last(), revs.last()) {
        (Some(e), Some(last)) if kinds::name_of(e) == kinds::name_of(last) => (*e).clone(),
        (Some(e), _) => {
            let next = history::next_number(&revs);
            let renumbered = Arc::new(history::renumber(&sh.store, e, next)?);
            let name = kinds::name_of(&renumbered).to_string();
            revs.retain(|r| kinds::name_of(r) != name);
            revs.push(renumbered.clone());
            renumbered
        }
        (None, _) => {
            let labels = set
                .pointer("/spec/template/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let annotations = set
                .pointer("/metadata/annotations")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let rev = history::new_revision(
                set,
                sts_kind(),
                labels,
                annotations,
                data,
                history::next_number(&revs),
            );
            let hash_of = rev.get("data").cloned().unwrap_or(Value::Null);
            let created = Arc::new(history::create(
                &sh.store,
                set,
                rev,
                &hash_of,
                &mut collision,
            )?);
            if !revs
                .iter()
                .any(|r| kinds::name_of(r) == kinds::name_of(&created))
            {
                revs.push(created.clone());
            }
            created
        }
    };
    let current_name = kinds::str_at(set, "/status/currentRevision");
    let current = revs
        .iter()
        .find(|r| !current_name.is_empty() && kinds::name_of(r) == current_name)
        .cloned()
        .unwrap_or_else(|| update.clone());
    Ok((current, update, revs, collision))
}

/// One sync of one StatefulSet (`UpdateStatefulSet`).
fn sync(sh: &mut Shared, set: &Arc<Value>, now: Timestamp) -> crate::Result<Action> {
    let ns = kinds::namespace_of(set).to_string();
    let name = kinds::name_of(set).to_string();
    let uid = kinds::str_at(set, "/metadata/uid").to_string();
    let selector = set.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    if workload::selector_is_empty(&selector) {
        return Ok(Action::await_change());
    }
    let spec = Spec::of(set);
    let (current, update, revs, collision) = revisions(sh, set)?;
    let (current_name, update_name) = (
        kinds::name_of(&current).to_string(),
        kinds::name_of(&update).to_string(),
    );
    let current_template = history::template_of(&current);
    let update_template = set
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));

    // The set's pods: those it controls or adopts, named after it and selected (`ClaimPods`
    // with `isMemberOf`).
    let mut candidates: Vec<Arc<Value>> = sh
        .pods
        .values()
        .filter(|p| {
            kinds::namespace_of(p) == ns
                && workload::controller_of(p).is_none_or(|r| kinds::str_at(r, "/uid") == uid)
        })
        .cloned()
        .collect();
    candidates.sort_by(|a, b| kinds::name_of(a).cmp(kinds::name_of(b)));
    let pods: Vec<Arc<Value>> = workload::claim(
        &sh.store,
        set,
        sts_kind(),
        &kinds::pod::KIND,
        candidates,
        |p| {
            parent_and_ordinal(kinds::name_of(p)).is_some_and(|(parent, _)| parent == name)
                && workload::selector_matches(&selector, p.pointer("/metadata/labels"))
        },
    );

    let end = spec.start + spec.replicas - 1;
    // The pods in range by index (ordinal - start); a missing index is a pod to make. A map,
    // not a slice of `replicas` slots: replicas may be as large as validation allows.
    let mut replicas: BTreeMap<i64, Arc<Value>> = BTreeMap::new();
    let mut condemned: Vec<Arc<Value>> = Vec::new();
    for p in &pods {
        let Some(ord) = ordinal_of(p) else { continue };
        if ord >= spec.start && ord <= end {
            replicas.insert(ord - spec.start, p.clone());
        } else {
            condemned.push(p.clone());
        }
    }
    condemned.sort_by_key(|p| std::cmp::Reverse(ordinal_of(p).unwrap_or(-1)));

    let min_ready = spec.min_ready;
    let first_unavailable: Option<String> = replicas
        .values()
        .find(|p| is_unavailable(p, min_ready, now))
        .map(|p| kinds::name_of(p).to_string())
        .or_else(|| {
            condemned
                .iter()
                .rev()
                .find(|p| is_unavailable(p, min_ready, now))
                .map(|p| kinds::name_of(p).to_string())
        });

    let mut c = count(&pods, &spec, &current_name, &update_name, now);
    let mut result: crate::Result<bool> = Ok(false);
    if set.pointer("/metadata/deletionTimestamp").is_none() {
        let mut s = Sync {
            sh,
            set,
            spec: spec.clone(),
            now,
        };
        result = s.act(
            &replicas,
            &condemned,
            first_unavailable.as_deref(),
            (&current_template, &current_name),
            (&update_template, &update_name),
            &mut c,
        );
    }

    // Status (`updateStatefulSetStatus` with `completeRollingUpdate`).
    let (mut status_current, mut status_current_rev) = (c.current, current_name.clone());
    if spec.rolling && c.updated == c.replicas && c.ready == c.replicas {
        status_current = c.updated;
        status_current_rev = update_name.clone();
    }
    let mut status = Map::new();
    if let Some(g) = i64_at(set, "/metadata/generation") {
        status.insert("observedGeneration".into(), json!(g));
    }
    status.insert("replicas".into(), json!(c.replicas));
    if c.ready > 0 {
        status.insert("readyReplicas".into(), json!(c.ready));
    }
    if status_current > 0 {
        status.insert("currentReplicas".into(), json!(status_current));
    }
    if c.updated > 0 {
        status.insert("updatedReplicas".into(), json!(c.updated));
    }
    status.insert("currentRevision".into(), json!(status_current_rev));
    status.insert("updateRevision".into(), json!(update_name));
    status.insert("collisionCount".into(), json!(collision));
    status.insert("availableReplicas".into(), json!(c.available));
    if let Some(conds) = set.pointer("/status/conditions") {
        status.insert("conditions".into(), conds.clone());
    }
    let status = Value::Object(status);
    if set.get("status") != Some(&status) {
        let mut body = (**set).clone();
        body["status"] = status;
        let mut opts = WriteOptions::default();
        opts.field_manager = Some("kube-controller-manager".into());
        sh.store
            .replace(sts_kind(), &ns, &name, body, &opts, true)?;
    }

    // History: keep `revisionHistoryLimit` revisions nobody uses (`truncateHistory`).
    let mut live: Vec<&str> = vec![status_current_rev.as_str(), update_name.as_str()];
    live.extend(pods.iter().map(|p| revision_of(p)));
    let old: Vec<&Arc<Value>> = revs
        .iter()
        .filter(|r| !live.contains(&kinds::name_of(r)))
        .collect();
    if spec.history_limit >= 0 && old.len() as i64 > spec.history_limit {
        let excess = old.len() - spec.history_limit as usize;
        for r in old.into_iter().take(excess) {
            history::delete(&sh.store, r)?;
        }
    }
    if result? {
        return Ok(Action::requeue(Duration::ZERO));
    }

    // A ready pod becomes available after minReadySeconds: look again then.
    if !min_ready.is_zero() {
        let next = pods
            .iter()
            .filter(|p| !workload::is_available(p, min_ready, now))
            .filter_map(|p| workload::available_at(p, min_ready))
            .filter(|t| *t > now)
            .min();
        if let Some(t) = next {
            let d = Duration::try_from(t.duration_since(now)).unwrap_or_default();
            return Ok(Action::requeue(d));
        }
    }
    Ok(Action::await_change())
}

impl Sync<'_> {
    /// Replicas, then condemned pods, then the rolling update (`updateStatefulSet`); stops at
    /// the first thing to wait for when pods are managed in order.
    fn act(
        &mut self,
        replicas: &BTreeMap<i64, Arc<Value>>,
        condemned: &[Arc<Value>],
        first_unavailable: Option<&str>,
        current: (&Value, &str),
        update: (&Value, &str),
        c: &mut Counts,
    ) -> crate::Result<bool> {
        let monotonic = !self.spec.parallel;
        let (min_ready, now) = (self.spec.min_ready, self.now);
        let mut created = 0usize;

        for i in 0..self.spec.replicas {
            let ordinal = self.spec.start + i;
            match replicas.get(&i) {
                Some(pod) if matches!(workload::phase(pod), "Failed" | "Succeeded") => {
                    // Since Kubernetes 1.30 (PR #123809) there is no RecreatingFailedPod /
                    // RecreatingTerminatedPod event any more: only the delete's own event.
                    if !workload::is_terminating(pod) {
                        self.delete(pod)?;
                    }
                    // The replacement comes on a later sync, once this one is gone.
                    if monotonic {
                        return Ok(false);
                    }
                }
                None => {
                    // Ordinals below the partition stay at the current revision.
                    let at_current =
                        self.spec.rolling && ordinal < self.spec.start + self.spec.partition;
                    let (template, revision) = if at_current { current } else { update };
                    let pod = new_pod(self.set, template, &self.spec, ordinal, revision);
                    self.create(pod)?;
                    created += 1;
                    if monotonic {
                        return Ok(false);
                    }
                    if created >= MAX_CREATES_PER_SYNC {
                        // The rest on the next sync, so one sync stays bounded.
                        return Ok(true);
                    }
                }
                Some(pod) => {
                    if monotonic
                        && (workload::is_terminating(pod)
                            || !running_and_ready(pod)
                            || !running_and_available(pod, min_ready, now))
                    {
                        return Ok(false);
                    }
                }
            }
        }

        for pod in condemned {
            if workload::is_terminating(pod) {
                if monotonic {
                    return Ok(false);
                }
                continue;
            }
            let first = first_unavailable == Some(kinds::name_of(pod));
            if monotonic && !first && !running_and_available(pod, min_ready, now) {
                return Ok(false);
            }
            self.delete(pod)?;
            if monotonic {
                return Ok(false);
            }
        }

        if !self.spec.rolling {
            return Ok(false);
        }
        // Replace the highest ordinal not at the update revision, one at a time.
        let update_min = self.spec.partition.max(0);
        for target in (update_min..self.spec.replicas).rev() {
            let Some(pod) = replicas.get(&target) else {
                return Ok(false);
            };
            if revision_of(pod) != update.1 && !workload::is_terminating(pod) {
                self.delete(pod)?;
                c.current -= 1;
                return Ok(false);
            }
            if is_unavailable(pod, min_ready, now) {
                return Ok(false);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_come_from_the_name() {
        assert_eq!(parent_and_ordinal("web-0"), Some(("web", 0)));
        assert_eq!(parent_and_ordinal("my-db-12"), Some(("my-db", 12)));
        assert_eq!(parent_and_ordinal("web-x"), None);
        assert_eq!(parent_and_ordinal("web"), None);
        assert_eq!(parent_and_ordinal("web-99999999999"), None);
    }

    #[test]
    fn a_pod_has_its_identity_revision_and_claims() {
        let set = json!({"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
            "spec": {"serviceName": "nginx", "replicas": 3,
                "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {}}],
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}],
                             "volumes": [{"name": "cfg", "emptyDir": {}}]}}}});
        let spec = Spec::of(&set);
        assert!(!spec.parallel && spec.rolling && spec.partition == 0);
        let pod = new_pod(&set, &set["spec"]["template"], &spec, 2, "web-5d8c7b9f4");
        assert_eq!(pod["metadata"]["name"], "web-2");
        assert_eq!(pod["metadata"]["labels"]["app"], "web");
        assert_eq!(pod["metadata"]["labels"][POD_NAME_LABEL], "web-2");
        assert_eq!(pod["metadata"]["labels"][POD_INDEX_LABEL], "2");
        assert_eq!(pod["metadata"]["labels"][REVISION_LABEL], "web-5d8c7b9f4");
        assert_eq!(pod["spec"]["hostname"], "web-2");
        assert_eq!(pod["spec"]["subdomain"], "nginx");
        assert_eq!(
            pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "www-web-2"
        );
        assert_eq!(pod["spec"]["volumes"][1]["name"], "cfg");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    }
}

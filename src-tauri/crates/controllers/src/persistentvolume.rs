//! The persistentvolume controller and kind's local-path provisioner.
//!
//! The controller is kube-controller-manager's binder
//! (`pkg/controller/volume/persistentvolume/pv_controller.go`, `index.go` for the match and
//! `pkg/controller/volume/events/event.go` for the reasons): a pending claim is bound to the
//! smallest Available volume of its class that has the access modes, size, volume mode and
//! labels it asks for (or to the volume it names, or that names it); with none, it explains
//! why on the claim (`FailedBinding` with no class, `WaitForFirstConsumer` until the scheduler
//! picks a node for a `WaitForFirstConsumer` class, `ExternalProvisioning` while a
//! provisioner is asked for a volume, `ProvisioningFailed` when the class does not exist).
//! Pending claims are looked at again every 15 s (the controller's resync), so the events
//! repeat as `(x4 over 60s)`. A volume whose claim is gone is `Released`, then deleted
//! (reclaim policy Delete) or kept (Retain); a bound claim whose volume is gone is `Lost`.
//!
//! The provisioner plays the part kind's `local-path-provisioner` pod plays
//! (`rancher/local-path-provisioner`, an external provisioner through
//! `sig-storage-lib-external-provisioner`): for a claim of a `rancher.io/local-path` class
//! with a selected node it reports `Provisioning`, creates `pvc-<claim uid>` (a hostPath
//! under `/var/local-path-provisioner` with node affinity to that node) and reports
//! `ProvisioningSucceeded`, from its `<provisioner>_<pod>_<uuid>` identity; it deletes the
//! volumes it made once they are released.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use serde_json::{Value, json};

use crate::kinds;
use crate::quantity::Quantity;
use crate::reconciler::{Action, Change, ChangeType, Controller, Enqueue};
use crate::recorder::Regarding;
use crate::shared::Shared;
use crate::store::{DeleteOptions, WriteOptions};

/// How often pending claims and unsettled volumes are looked at again (`--pvclaimbinder-sync-period`).
pub(crate) const RESYNC: Duration = Duration::from_secs(15);
/// The event source of the binder.
const COMPONENT: &str = "persistentvolume-controller";
/// The provisioner kind's default class names.
pub(crate) const LOCAL_PATH: &str = "rancher.io/local-path";
/// Where local-path keeps its volumes on the node.
const LOCAL_PATH_ROOT: &str = "/var/local-path-provisioner";

/// Claim annotations (`pv_controller.go`, `storage/volume/util`).
pub(crate) const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
pub(crate) const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
pub(crate) const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// The finalizer the pv-protection controller removes.
pub(crate) const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

fn claim_key(ns: &str, name: &str) -> String {
    format!("claim/{ns}/{name}")
}

fn volume_key(name: &str) -> String {
    format!("volume/{name}")
}

fn provision_key(ns: &str, name: &str) -> String {
    format!("provision/{ns}/{name}")
}

fn annotation<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn storage(obj: &Value, pointer: &str) -> i128 {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(Quantity::parse)
        .map_or(0, Quantity::milli_value)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The class a claim asks for: `spec.storageClassName`, else the beta annotation.
pub(crate) fn claim_class(claim: &Value) -> Option<String> {
    match claim
        .pointer("/spec/storageClassName")
        .and_then(Value::as_str)
    {
        Some(c) => Some(c.to_string()),
        None => claim
            .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// Is the claim reference of `pv` this claim (`IsVolumeBoundToClaim`)?
fn bound_to(pv: &Value, claim: &Value) -> bool {
    let Some(r) = pv.pointer("/spec/claimRef").filter(|r| r.is_object()) else {
        return false;
    };
    let uid = kinds::str_at(r, "/uid");
    kinds::str_at(r, "/name") == kinds::name_of(claim)
        && kinds::str_at(r, "/namespace") == kinds::namespace_of(claim)
        && (uid.is_empty() || uid == kinds::str_at(claim, "/metadata/uid"))
}

/// Does the claim's label selector select the volume?
fn selects(claim: &Value, pv: &Value) -> bool {
    match claim.pointer("/spec/selector").filter(|s| !s.is_null()) {
        None => true,
        Some(sel) => crate::workload::selector_matches(sel, pv.pointer("/metadata/labels")),
    }
}

/// `findMatchingVolume`: a volume pre-bound to the claim, else the smallest Available one that
/// fits. With `delay` (a `WaitForFirstConsumer` class and no node chosen yet) only pre-bound
/// volumes count; the scheduler picks the rest.
pub(crate) fn find_match<'a>(
    claim: &Value,
    volumes: &'a [std::sync::Arc<Value>],
    delay: bool,
) -> Option<&'a Value> {
    let want_modes = strings(claim.pointer("/spec/accessModes"));
    let want = storage(claim, "/spec/resources/requests/storage");
    let class = claim_class(claim).unwrap_or_default();
    let mode = |v: &Value| match kinds::str_at(v, "/spec/volumeMode") {
        "" => "Filesystem".to_string(),
        m => m.to_string(),
    };
    let mut best: Option<(&Value, i128)> = None;
    for pv in volumes {
        let pv: &Value = pv;
        let modes = strings(pv.pointer("/spec/accessModes"));
        if !want_modes.iter().all(|m| modes.contains(m)) || mode(pv) != mode(claim) {
            continue;
        }
        if pv.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        if bound_to(pv, claim) {
            return Some(pv);
        }
        if delay
            || kinds::str_at(pv, "/status/phase") != "Available"
            || pv.pointer("/spec/claimRef").is_some_and(|r| !r.is_null())
            || !selects(claim, pv)
            || kinds::str_at(pv, "/spec/storageClassName") != class
        {
            continue;
        }
        let size = storage(pv, "/spec/capacity/storage");
        if size >= want && best.is_none_or(|(_, s)| size < s) {
            best = Some((pv, size));
        }
    }
    best.map(|(pv, _)| pv)
}

fn claim_regarding(claim: &Value) -> Regarding {
    Regarding::object(claim, "PersistentVolumeClaim", "v1")
}

/// Turn a bound claim `Lost` (once), with the binder's Warning saying why.
fn mark_lost(sh: &mut Shared, now: Timestamp, claim: &Value, reason: &str, message: &str) {
    if kinds::str_at(claim, "/status/phase") == "Lost" {
        return;
    }
    let _ = sh.store.update_status::<PersistentVolumeClaim>(
        kinds::namespace_of(claim),
        kinds::name_of(claim),
        |c| c.status.get_or_insert_with(Default::default).phase = Some("Lost".into()),
    );
    PersistentVolumeController::event(
        sh,
        now,
        COMPONENT,
        &claim_regarding(claim),
        "Warning",
        reason,
        message,
    );
}

fn volume_regarding(pv: &Value) -> Regarding {
    Regarding::object(pv, "PersistentVolume", "v1")
}

/// The binder and the local-path provisioner, keyed `claim/<ns>/<name>`,
/// `volume/<name>` and `provision/<ns>/<name>`.
#[derive(Debug, Default)]
pub(crate) struct PersistentVolumeController {
    /// The provisioner's identity (`<provisioner>_<pod>_<uuid>`), made on first use.
    identity: Option<String>,
}

impl PersistentVolumeController {
    fn identity(&mut self, sh: &mut Shared) -> String {
        if let Some(id) = &self.identity {
            return id.clone();
        }
        // A ReplicaSet pod's name (hash and suffix in the names' alphabet) and a UUID.
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut pick = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    let i = usize::try_from(sh.rng.next_u64() % ALPHABET.len() as u64).unwrap_or(0);
                    ALPHABET[i] as char
                })
                .collect()
        };
        let pod = format!("local-path-provisioner-{}-{}", pick(10), pick(5));
        let h = sh.rng.hex(32);
        let uuid = format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        );
        let id = format!("{LOCAL_PATH}_{pod}_{uuid}");
        self.identity = Some(id.clone());
        id
    }

    fn event(
        sh: &mut Shared,
        now: Timestamp,
        component: &str,
        r: &Regarding,
        ty: &str,
        reason: &str,
        msg: &str,
    ) {
        let store = sh.store.clone();
        sh.recorder
            .legacy_event(&store, now, component, "", r, ty, reason, msg);
    }

    fn sync_claim(
        &mut self,
        ns: &str,
        name: &str,
        now: Timestamp,
        sh: &mut Shared,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let Some(claim) = sh
            .store
            .get_raw(&kinds::persistentvolumeclaim::KIND, ns, name)
        else {
            return Ok(Action::await_change());
        };
        if claim.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Action::await_change());
        }
        let volumes = sh.store.list_raw(&kinds::persistentvolume::KIND, None);
        let volume_name = kinds::str_at(&claim, "/spec/volumeName").to_string();
        if annotation(&claim, ANN_BIND_COMPLETED).is_empty() {
            if !volume_name.is_empty() {
                // The user named the volume.
                let Some(pv) = volumes.iter().find(|v| kinds::name_of(v) == volume_name) else {
                    return Ok(Action::requeue(RESYNC));
                };
                let free = pv.pointer("/spec/claimRef").is_none_or(Value::is_null);
                if free || bound_to(pv, &claim) {
                    self.bind(sh, &claim, pv)?;
                    return Ok(Action::await_change());
                }
                Self::event(
                    sh,
                    now,
                    COMPONENT,
                    &claim_regarding(&claim),
                    "Warning",
                    "FailedBinding",
                    &format!(
                        "volume {:?} already bound to a different claim.",
                        volume_name
                    ),
                );
                return Ok(Action::requeue(RESYNC));
            }
            return self.sync_unbound(&claim, &volumes, now, sh, queue);
        }
        // A bound claim: its volume must still be there and name it.
        match volumes.iter().find(|v| kinds::name_of(v) == volume_name) {
            None => {
                mark_lost(
                    sh,
                    now,
                    &claim,
                    "ClaimLost",
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                );
                Ok(Action::await_change())
            }
            Some(pv) => {
                let free = pv.pointer("/spec/claimRef").is_none_or(Value::is_null);
                if free || bound_to(pv, &claim) {
                    self.bind(sh, &claim, pv)?;
                } else {
                    mark_lost(
                        sh,
                        now,
                        &claim,
                        "ClaimMisbound",
                        "Two claims are bound to the same volume, this one is bound incorrectly",
                    );
                }
                Ok(Action::await_change())
            }
        }
    }

    fn sync_unbound(
        &mut self,
        claim: &Value,
        volumes: &[std::sync::Arc<Value>],
        now: Timestamp,
        sh: &mut Shared,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let (ns, name) = (
            kinds::namespace_of(claim).to_string(),
            kinds::name_of(claim).to_string(),
        );
        let class_name = claim_class(claim);
        let Some(class_name) = class_name else {
            // Retroactive default: a claim made before any default class gets one later.
            let default = sh
                .store
                .list_raw(&kinds::storageclass::KIND, None)
                .into_iter()
                .filter(|c| kinds::storageclass::is_default(c))
                .max_by(|a, b| {
                    kinds::str_at(a, "/metadata/creationTimestamp")
                        .cmp(kinds::str_at(b, "/metadata/creationTimestamp"))
                });
            if let Some(d) = default {
                let d = kinds::name_of(&d).to_string();
                sh.store
                    .update_with::<PersistentVolumeClaim>(&ns, &name, |c| {
                        c.spec
                            .get_or_insert_with(Default::default)
                            .storage_class_name = Some(d.clone());
                    })?;
                return Ok(Action::await_change());
            }
            return self.sync_unbound_with_class(claim, volumes, "", now, sh, queue);
        };
        self.sync_unbound_with_class(claim, volumes, &class_name, now, sh, queue)
    }

    fn sync_unbound_with_class(
        &mut self,
        claim: &Value,
        volumes: &[std::sync::Arc<Value>],
        class_name: &str,
        now: Timestamp,
        sh: &mut Shared,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let (ns, name) = (
            kinds::namespace_of(claim).to_string(),
            kinds::name_of(claim).to_string(),
        );
        let class = (!class_name.is_empty())
            .then(|| sh.store.get_raw(&kinds::storageclass::KIND, "", class_name))
            .flatten();
        let wffc = class
            .as_ref()
            .is_some_and(|c| kinds::str_at(c, "/volumeBindingMode") == "WaitForFirstConsumer");
        let selected = annotation(claim, ANN_SELECTED_NODE).to_string();
        let delay = wffc && selected.is_empty();
        if let Some(pv) = find_match(claim, volumes, delay) {
            self.bind(sh, claim, pv)?;
            return Ok(Action::await_change());
        }
        let r = claim_regarding(claim);
        if class_name.is_empty() {
            Self::event(
                sh,
                now,
                COMPONENT,
                &r,
                "Normal",
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
            );
            set_pending(sh, &ns, &name);
            return Ok(Action::requeue(RESYNC));
        }
        let Some(class) = class else {
            Self::event(
                sh,
                now,
                COMPONENT,
                &r,
                "Warning",
                "ProvisioningFailed",
                &format!("storageclass.storage.k8s.io {class_name:?} not found"),
            );
            set_pending(sh, &ns, &name);
            return Ok(Action::requeue(RESYNC));
        };
        if delay {
            Self::event(
                sh,
                now,
                COMPONENT,
                &r,
                "Normal",
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
            );
            set_pending(sh, &ns, &name);
            return Ok(Action::requeue(RESYNC));
        }
        // Provisioning: the claim names its provisioner, then waits for it.
        let provisioner = kinds::str_at(&class, "/provisioner").to_string();
        if annotation(claim, ANN_STORAGE_PROVISIONER) != provisioner {
            sh.store
                .update_with::<PersistentVolumeClaim>(&ns, &name, |c| {
                    let a = c.metadata.annotations.get_or_insert_with(BTreeMap::new);
                    a.insert(ANN_BETA_STORAGE_PROVISIONER.into(), provisioner.clone());
                    a.insert(ANN_STORAGE_PROVISIONER.into(), provisioner.clone());
                })?;
        }
        Self::event(
            sh,
            now,
            COMPONENT,
            &r,
            "Normal",
            "ExternalProvisioning",
            &format!(
                "Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."
            ),
        );
        if provisioner == LOCAL_PATH {
            queue.key(provision_key(&ns, &name));
        }
        Ok(Action::requeue(RESYNC))
    }

    /// `bind`: the volume's claim reference and phase, then the claim's volume, annotations
    /// and status.
    fn bind(&mut self, sh: &mut Shared, claim: &Value, pv: &Value) -> crate::Result<()> {
        let (ns, name) = (
            kinds::namespace_of(claim).to_string(),
            kinds::name_of(claim).to_string(),
        );
        let pv_name = kinds::name_of(pv).to_string();
        let claim_uid = kinds::str_at(claim, "/metadata/uid").to_string();
        let claim_rv = kinds::str_at(claim, "/metadata/resourceVersion").to_string();
        // A reference without the claim's uid (pre-bound by name) is completed too.
        if !bound_to(pv, claim) || kinds::str_at(pv, "/spec/claimRef/uid").is_empty() {
            let by_controller = pv.pointer("/spec/claimRef").is_none_or(Value::is_null);
            sh.store
                .update_with::<PersistentVolume>("", &pv_name, |v| {
                    let spec = v.spec.get_or_insert_with(Default::default);
                    spec.claim_ref = Some(k8s_openapi::api::core::v1::ObjectReference {
                        api_version: Some("v1".into()),
                        kind: Some("PersistentVolumeClaim".into()),
                        namespace: Some(ns.clone()),
                        name: Some(name.clone()),
                        uid: Some(claim_uid.clone()),
                        resource_version: Some(claim_rv.clone()),
                        ..Default::default()
                    });
                    if by_controller {
                        v.metadata
                            .annotations
                            .get_or_insert_with(BTreeMap::new)
                            .insert(ANN_BOUND_BY_CONTROLLER.into(), "yes".into());
                    }
                })?;
        }
        if kinds::str_at(pv, "/status/phase") != "Bound" {
            sh.store
                .update_status::<PersistentVolume>("", &pv_name, |v| {
                    let st = v.status.get_or_insert_with(Default::default);
                    st.phase = Some("Bound".into());
                    st.last_phase_transition_time =
                        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                            sh.store.clock().now(),
                        ));
                })?;
        }
        let named_by_user = !kinds::str_at(claim, "/spec/volumeName").is_empty();
        if annotation(claim, ANN_BIND_COMPLETED).is_empty()
            || kinds::str_at(claim, "/spec/volumeName") != pv_name
        {
            sh.store
                .update_with::<PersistentVolumeClaim>(&ns, &name, |c| {
                    c.spec.get_or_insert_with(Default::default).volume_name = Some(pv_name.clone());
                    let a = c.metadata.annotations.get_or_insert_with(BTreeMap::new);
                    a.insert(ANN_BIND_COMPLETED.into(), "yes".into());
                    if !named_by_user {
                        a.insert(ANN_BOUND_BY_CONTROLLER.into(), "yes".into());
                    }
                })?;
        }
        let modes = strings(pv.pointer("/spec/accessModes"));
        let capacity: BTreeMap<String, K8sQuantity> = pv
            .pointer("/spec/capacity")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| {
                        v.as_str().map(|s| (k.clone(), K8sQuantity(s.to_string())))
                    })
                    .collect()
            })
            .unwrap_or_default();
        sh.store
            .update_status::<PersistentVolumeClaim>(&ns, &name, |c| {
                let st = c.status.get_or_insert_with(Default::default);
                st.phase = Some("Bound".into());
                st.access_modes = Some(modes.clone());
                st.capacity = Some(capacity.clone());
            })?;
        Ok(())
    }

    fn sync_volume(
        &mut self,
        name: &str,
        now: Timestamp,
        sh: &mut Shared,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let Some(pv) = sh.store.get_raw(&kinds::persistentvolume::KIND, "", name) else {
            return Ok(Action::await_change());
        };
        let phase = kinds::str_at(&pv, "/status/phase").to_string();
        if pv.pointer("/metadata/deletionTimestamp").is_some() {
            // pv-protection: a volume no claim is bound to may go.
            if phase != "Bound" {
                sh.store.update_with::<PersistentVolume>("", name, |v| {
                    if let Some(f) = v.metadata.finalizers.as_mut() {
                        f.retain(|f| f != PV_PROTECTION);
                    }
                })?;
            }
            return Ok(Action::await_change());
        }
        let set_phase = |sh: &mut Shared, p: &str| {
            sh.store.update_status::<PersistentVolume>("", name, |v| {
                let st = v.status.get_or_insert_with(Default::default);
                st.phase = Some(p.to_string());
                st.last_phase_transition_time =
                    Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now));
            })
        };
        let Some(r) = pv.pointer("/spec/claimRef").filter(|r| r.is_object()) else {
            if phase != "Available" {
                set_phase(sh, "Available")?;
            }
            return Ok(Action::await_change());
        };
        let (cns, cname, cuid) = (
            kinds::str_at(r, "/namespace").to_string(),
            kinds::str_at(r, "/name").to_string(),
            kinds::str_at(r, "/uid").to_string(),
        );
        if cuid.is_empty() {
            // Pre-bound by the administrator: Available until the claim comes.
            if phase != "Available" {
                set_phase(sh, "Available")?;
            }
            queue.key(claim_key(&cns, &cname));
            return Ok(Action::await_change());
        }
        let claim = sh
            .store
            .get_raw(&kinds::persistentvolumeclaim::KIND, &cns, &cname)
            .filter(|c| kinds::str_at(c, "/metadata/uid") == cuid);
        if let Some(claim) = claim {
            if kinds::str_at(&claim, "/spec/volumeName") == name {
                if phase != "Bound" {
                    set_phase(sh, "Bound")?;
                }
            } else {
                queue.key(claim_key(&cns, &cname));
            }
            return Ok(Action::await_change());
        }
        // The claim is gone: released, then reclaimed.
        if phase != "Released" && phase != "Failed" {
            set_phase(sh, "Released")?;
        }
        match kinds::str_at(&pv, "/spec/persistentVolumeReclaimPolicy") {
            "Delete" if annotation(&pv, ANN_PROVISIONED_BY) == LOCAL_PATH => {
                let _ = sh.store.delete(
                    &kinds::persistentvolume::KIND,
                    "",
                    name,
                    &DeleteOptions::default(),
                );
            }
            "Delete" if phase != "Failed" => {
                let msg = format!(
                    "error getting deleter volume plugin for volume {name:?}: no deletable volume plugin matched"
                );
                sh.store.update_status::<PersistentVolume>("", name, |v| {
                    let st = v.status.get_or_insert_with(Default::default);
                    st.phase = Some("Failed".into());
                    st.message = Some(msg.clone());
                })?;
                Self::event(
                    sh,
                    now,
                    COMPONENT,
                    &volume_regarding(&pv),
                    "Warning",
                    "VolumeFailedDelete",
                    &msg,
                );
            }
            _ => {}
        }
        Ok(Action::await_change())
    }

    /// The local-path provisioner's turn at a claim.
    fn provision(
        &mut self,
        ns: &str,
        name: &str,
        now: Timestamp,
        sh: &mut Shared,
    ) -> crate::Result<Action> {
        let Some(claim) = sh
            .store
            .get_raw(&kinds::persistentvolumeclaim::KIND, ns, name)
        else {
            return Ok(Action::await_change());
        };
        if claim.pointer("/metadata/deletionTimestamp").is_some()
            || !kinds::str_at(&claim, "/spec/volumeName").is_empty()
            || annotation(&claim, ANN_STORAGE_PROVISIONER) != LOCAL_PATH
        {
            return Ok(Action::await_change());
        }
        let uid = kinds::str_at(&claim, "/metadata/uid").to_string();
        let pv_name = format!("pvc-{uid}");
        if sh
            .store
            .get_raw(&kinds::persistentvolume::KIND, "", &pv_name)
            .is_some()
        {
            return Ok(Action::await_change());
        }
        let identity = self.identity(sh);
        let r = claim_regarding(&claim);
        let class_name = claim_class(&claim).unwrap_or_default();
        let node = annotation(&claim, ANN_SELECTED_NODE).to_string();
        Self::event(
            sh,
            now,
            &identity,
            &r,
            "Normal",
            "Provisioning",
            &format!("External provisioner is provisioning volume for claim \"{ns}/{name}\""),
        );
        if node.is_empty() {
            Self::event(
                sh,
                now,
                &identity,
                &r,
                "Warning",
                "ProvisioningFailed",
                &format!(
                    "failed to provision volume with StorageClass {class_name:?}: configuration error, no node was specified"
                ),
            );
            return Ok(Action::await_change());
        }
        let reclaim = sh
            .store
            .get_raw(&kinds::storageclass::KIND, "", &class_name)
            .map(|c| kinds::str_at(&c, "/reclaimPolicy").to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "Delete".into());
        let pv = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": pv_name,
                "annotations": {
                    "local.path.provisioner/selected-node": node,
                    ANN_PROVISIONED_BY: LOCAL_PATH,
                }
            },
            "spec": {
                "accessModes": claim.pointer("/spec/accessModes").cloned().unwrap_or(json!([])),
                "capacity": {"storage": kinds::str_at(&claim, "/spec/resources/requests/storage")},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "name": name,
                    "namespace": ns,
                    "resourceVersion": kinds::str_at(&claim, "/metadata/resourceVersion"),
                    "uid": uid,
                },
                "hostPath": {
                    "path": format!("{LOCAL_PATH_ROOT}/{pv_name}_{ns}_{name}"),
                    "type": "DirectoryOrCreate",
                },
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
                ]}]}},
                "persistentVolumeReclaimPolicy": reclaim,
                "storageClassName": class_name,
                "volumeMode": kinds::str_at(&claim, "/spec/volumeMode"),
            }
        });
        let mut opts = WriteOptions::default();
        opts.field_manager = Some("local-path-provisioner".into());
        match sh
            .store
            .create(&kinds::persistentvolume::KIND, "", pv, &opts)
        {
            Ok(_) => {
                Self::event(
                    sh,
                    now,
                    &identity,
                    &r,
                    "Normal",
                    "ProvisioningSucceeded",
                    &format!("Successfully provisioned volume {pv_name}"),
                );
                Ok(Action::await_change())
            }
            Err(e) => {
                Self::event(
                    sh,
                    now,
                    &identity,
                    &r,
                    "Warning",
                    "ProvisioningFailed",
                    &format!("failed to provision volume with StorageClass {class_name:?}: {e}"),
                );
                Ok(Action::requeue(RESYNC))
            }
        }
    }
}

fn set_pending(sh: &mut Shared, ns: &str, name: &str) {
    let _ = sh
        .store
        .update_status::<PersistentVolumeClaim>(ns, name, |c| {
            let st = c.status.get_or_insert_with(Default::default);
            if st.phase.as_deref() != Some("Pending") {
                st.phase = Some("Pending".into());
            }
        });
}

impl Controller<Shared> for PersistentVolumeController {
    fn name(&self) -> &'static str {
        "persistentvolume-binder"
    }

    fn watches(&self) -> &'static [&'static str] {
        &[
            "persistentvolumeclaims",
            "persistentvolumes",
            "storage.k8s.io/storageclasses",
        ]
    }

    fn on_change(&mut self, change: &Change<'_>, sh: &mut Shared, queue: &mut Enqueue<'_>) {
        let obj = change.object;
        match change.resource {
            "persistentvolumeclaims" => {
                let (ns, name) = (kinds::namespace_of(obj), kinds::name_of(obj));
                let volume = kinds::str_at(obj, "/spec/volumeName");
                if !volume.is_empty() {
                    queue.key(volume_key(volume));
                }
                if change.change != ChangeType::Deleted {
                    queue.key(claim_key(ns, name));
                }
            }
            "persistentvolumes" => {
                if change.change != ChangeType::Deleted {
                    queue.key(volume_key(kinds::name_of(obj)));
                }
                if let Some(r) = obj.pointer("/spec/claimRef").filter(|r| r.is_object()) {
                    queue.key(claim_key(
                        kinds::str_at(r, "/namespace"),
                        kinds::str_at(r, "/name"),
                    ));
                }
                // A volume that came or went free may suit a waiting claim.
                pending_claims(sh, queue);
            }
            _ => pending_claims(sh, queue),
        }
    }

    fn reconcile(
        &mut self,
        key: &str,
        now: Timestamp,
        sh: &mut Shared,
        queue: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let mut parts = key.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("claim"), Some(ns), Some(name)) => self.sync_claim(ns, name, now, sh, queue),
            (Some("volume"), Some(name), None) => self.sync_volume(name, now, sh, queue),
            (Some("provision"), Some(ns), Some(name)) => self.provision(ns, name, now, sh),
            _ => Ok(Action::await_change()),
        }
    }
}

/// Queue every claim not yet bound.
fn pending_claims(sh: &Shared, queue: &mut Enqueue<'_>) {
    for c in sh.store.list_raw(&kinds::persistentvolumeclaim::KIND, None) {
        if annotation(&c, ANN_BIND_COMPLETED).is_empty()
            && c.pointer("/metadata/deletionTimestamp").is_none()
        {
            queue.key(claim_key(kinds::namespace_of(&c), kinds::name_of(&c)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn pv(name: &str, size: &str, class: &str, modes: &[&str]) -> Arc<Value> {
        Arc::new(
            json!({"metadata": {"name": name, "labels": {"tier": "fast"}},
            "spec": {"capacity": {"storage": size}, "accessModes": modes,
                "storageClassName": class, "volumeMode": "Filesystem"},
            "status": {"phase": "Available"}}),
        )
    }

    fn claim(size: &str, class: &str) -> Value {
        json!({"metadata": {"name": "c", "namespace": "d", "uid": "u1"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                "storageClassName": class, "volumeMode": "Filesystem"}})
    }

    #[test]
    fn the_smallest_fitting_volume_of_the_class_wins() {
        let vols = vec![
            pv("big", "10Gi", "", &["ReadWriteOnce"]),
            pv("small", "1Gi", "", &["ReadWriteOnce", "ReadOnlyMany"]),
            pv("tiny", "100Mi", "", &["ReadWriteOnce"]),
            pv("other-class", "1Gi", "fast", &["ReadWriteOnce"]),
            pv("rox", "1Gi", "", &["ReadOnlyMany"]),
        ];
        let got = find_match(&claim("500Mi", ""), &vols, false).map(kinds::name_of);
        assert_eq!(got, Some("small"));
        assert_eq!(find_match(&claim("20Gi", ""), &vols, false), None);
        assert_eq!(
            find_match(&claim("500Mi", ""), &vols, true),
            None,
            "delayed binding waits"
        );
    }

    #[test]
    fn a_volume_that_names_the_claim_is_taken_first() {
        let mut pre = (*pv("pre", "5Gi", "x", &["ReadWriteOnce"])).clone();
        pre["spec"]["claimRef"] = json!({"name": "c", "namespace": "d"});
        let vols = vec![pv("small", "1Gi", "", &["ReadWriteOnce"]), Arc::new(pre)];
        let got = find_match(&claim("1Gi", ""), &vols, true).map(kinds::name_of);
        assert_eq!(got, Some("pre"));
    }
}

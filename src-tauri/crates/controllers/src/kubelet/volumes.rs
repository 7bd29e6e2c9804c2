//! The kubelet's volume manager for claims (`pkg/kubelet/volumemanager`): before a pod's
//! sandbox is made, every PersistentVolumeClaim it names must be processed by the desired
//! state of world populator (`populator/desired_state_of_world_populator.go`,
//! `createVolumeSpec`/`getPVCExtractPV`/`getPVSpec`: the claim exists, is not being deleted, is
//! `Bound` and names its volume, which exists). A claim it cannot process is recorded as the
//! pod's error, which `WaitForAttachAndMount` (`volume_manager.go`,
//! `verifyVolumesMountedFunc`) returns at once rather than waiting out its 2m3s; the kubelet
//! reports it as `FailedMount` (`kubelet.go`: `Unable to attach or mount volumes: %v`) and the
//! pod worker tries again after its 10–15 s back-off, so a pod on an unbound claim stays
//! `ContainerCreating` with that warning counting up. (A wait that merely times out — a
//! ConfigMap or Secret volume that cannot be set up — is an interrupted wait and reports
//! nothing since 1.28; those volumes have only their `MountVolume.SetUp failed` warnings.)
//!
//! Once mounted, emptyDir, hostPath and claim volumes are trees of the node's
//! ([`kq_shell::fs::Volumes`]) mounted into each container's filesystem at its
//! `volumeMounts` (the operation executor's `SetUp`): an emptyDir is the pod's, shared by its
//! containers and gone with the pod; a hostPath, and a claim's volume (by the path of its
//! hostPath or local volume, else by its name), belong to the node, so the files written on a
//! claim are there for the next pod that mounts it.

use serde_json::Value;

use crate::kinds;
use crate::store::Store;

/// Why the populator cannot process a claim volume (`createVolumeSpec`'s error), if it cannot.
fn claim_error(store: &Store, ns: &str, claim: &str) -> Option<String> {
    let why = match store.get_raw(&kinds::persistentvolumeclaim::KIND, ns, claim) {
        None => format!(
            "failed to fetch PVC from API server: persistentvolumeclaims \"{claim}\" not found"
        ),
        Some(c) if c.pointer("/metadata/deletionTimestamp").is_some() => {
            "PVC is being deleted".into()
        }
        Some(c) if kinds::str_at(&c, "/status/phase") != "Bound" => "PVC is not bound".into(),
        Some(c) if kinds::str_at(&c, "/spec/volumeName").is_empty() => {
            "PVC has empty pvc.Spec.VolumeName".into()
        }
        Some(c) => {
            let pv = kinds::str_at(&c, "/spec/volumeName");
            if store
                .get_raw(&kinds::persistentvolume::KIND, "", pv)
                .is_some()
            {
                return None;
            }
            format!("failed to fetch PV {pv} from API server: persistentvolumes \"{pv}\" not found")
        }
    };
    Some(format!("error processing PVC {ns}/{claim}: {why}"))
}

/// The pod's claim volumes the populator cannot process, sorted by name, with its errors.
pub(super) fn unprocessed(store: &Store, pod: &Value) -> Vec<(String, String)> {
    let ns = kinds::namespace_of(pod);
    let mut out: Vec<(String, String)> = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let claim = v.pointer("/persistentVolumeClaim/claimName")?.as_str()?;
            let err = claim_error(store, ns, claim)?;
            Some((kinds::str_at(v, "/name").to_string(), err))
        })
        .collect();
    out.sort();
    out
}

/// `WaitForAttachAndMount` for the pod's claims: the FailedMount message when the populator
/// could not process one (its errors sorted, unique, joined by `; ` as `PopPodErrors` gives
/// them).
pub(super) fn wait_for_attach_and_mount(store: &Store, pod: &Value) -> Result<(), String> {
    let pending = unprocessed(store, pod);
    if pending.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = pending.iter().map(|(n, _)| n.as_str()).collect();
    let mut errors: Vec<&str> = pending.iter().map(|(_, e)| e.as_str()).collect();
    errors.sort();
    errors.dedup();
    let list = format!("[{}]", names.join(" "));
    Err(format!(
        "Unable to attach or mount volumes: unmounted volumes={list}, unattached volumes=[], failed to process volumes={list}: {}",
        errors.join("; ")
    ))
}

/// The node-wide identity of a pod volume's tree, for the volumes that hold data.
fn volume_key(store: &Store, pod: &Value, volume: &Value) -> Option<String> {
    let uid = kinds::str_at(pod, "/metadata/uid");
    let name = kinds::str_at(volume, "/name");
    if volume.get("emptyDir").is_some() {
        return Some(format!("emptydir/{uid}/{name}"));
    }
    if let Some(path) = volume.pointer("/hostPath/path").and_then(Value::as_str) {
        return Some(format!("host/{}", kq_shell::fs::normalize(path)));
    }
    let claim = volume
        .pointer("/persistentVolumeClaim/claimName")?
        .as_str()?;
    let pvc = store.get_raw(
        &kinds::persistentvolumeclaim::KIND,
        kinds::namespace_of(pod),
        claim,
    )?;
    let pv_name = kinds::str_at(&pvc, "/spec/volumeName");
    let pv = store.get_raw(&kinds::persistentvolume::KIND, "", pv_name)?;
    let path = pv
        .pointer("/spec/hostPath/path")
        .or_else(|| pv.pointer("/spec/local/path"))
        .and_then(Value::as_str);
    Some(match path {
        Some(p) => format!("host/{}", kq_shell::fs::normalize(p)),
        None => format!("pv/{pv_name}"),
    })
}

/// Mount the pod's data volumes at the container's `volumeMounts` in its filesystem.
pub(super) fn mount(
    volumes: &kq_shell::fs::Volumes,
    fs: &kq_shell::fs::Fs,
    store: &Store,
    pod: &Value,
    container: &k8s_openapi::api::core::v1::Container,
) {
    let pod_volumes = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for m in container.volume_mounts.iter().flatten() {
        if m.sub_path.as_deref().is_some_and(|s| !s.is_empty()) {
            continue;
        }
        let Some(v) = pod_volumes.iter().find(|v| v["name"] == m.name.as_str()) else {
            continue;
        };
        if let Some(key) = volume_key(store, pod, v) {
            fs.mount_volume(&m.mount_path, &volumes.get(&key));
        }
    }
}

/// A deleted pod's emptyDirs go with it.
pub(super) fn forget_pod(volumes: &kq_shell::fs::Volumes, uid: &str) {
    volumes.remove_prefix(&format!("emptydir/{uid}/"));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::store::WriteOptions;

    #[test]
    fn a_claim_the_populator_cannot_process_fails_the_mount_with_its_error() {
        let store = Store::new(Arc::new(crate::clock::Clock::new(0.0)), String::new(), 100);
        let opts = WriteOptions::default();
        store
            .create(
                &kinds::namespace::KIND,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}}),
                &opts,
            )
            .expect("namespace");
        store
            .create(
                &kinds::persistentvolumeclaim::KIND,
                "d",
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                        "resources": {"requests": {"storage": "1Gi"}}}}),
                &opts,
            )
            .expect("claim");
        let pod = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "c"}},
            {"name": "gone", "persistentVolumeClaim": {"claimName": "missing"}},
            {"name": "tmp", "emptyDir": {}}]}});
        assert_eq!(
            wait_for_attach_and_mount(&store, &pod),
            Err("Unable to attach or mount volumes: unmounted volumes=[data gone], unattached volumes=[], failed to process volumes=[data gone]: error processing PVC d/c: PVC is not bound; error processing PVC d/missing: failed to fetch PVC from API server: persistentvolumeclaims \"missing\" not found".into())
        );
        let only_tmp = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"volumes": [
            {"name": "tmp", "emptyDir": {}}]}});
        assert_eq!(wait_for_attach_and_mount(&store, &only_tmp), Ok(()));
    }
}

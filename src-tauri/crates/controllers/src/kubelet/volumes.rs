//! The kubelet's volume manager for claims (`pkg/kubelet/volumemanager`): before a pod's
//! sandbox is made, every PersistentVolumeClaim it names must be processed by the desired
//! state of world populator (`populator/desired_state_of_world_populator.go`,
//! `getPVCExtractPV`: the claim exists, is not being deleted, is `Bound` and names its
//! volume, which exists). `WaitForAttachAndMount` (`volume_manager.go`) waits up to 2m3s
//! (`podAttachAndMountTimeout`) for them; then the kubelet reports `FailedMount`
//! (`kubelet.go`: `Unable to attach or mount volumes: %v`) and the next sync waits again, so
//! a pod on an unbound claim stays `ContainerCreating` with that warning every two minutes.
//!
//! Once mounted, emptyDir, hostPath and claim volumes are trees of the node's
//! ([`kq_shell::fs::Volumes`]) mounted into each container's filesystem at its
//! `volumeMounts` (the operation executor's `SetUp`): an emptyDir is the pod's, shared by its
//! containers and gone with the pod; a hostPath, and a claim's volume (by the path of its
//! hostPath or local volume, else by its name), belong to the node, so the files written on a
//! claim are there for the next pod that mounts it.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use super::add;
use crate::kinds;
use crate::store::Store;

/// `podAttachAndMountTimeout`: 2m3s.
pub(super) const ATTACH_AND_MOUNT_TIMEOUT: Duration = Duration::from_secs(123);
/// How often the wait looks at the claims again (the populator's loop and the wait's poll).
const POLL: Duration = Duration::from_secs(1);

/// A pod's wait for its volumes.
#[derive(Debug, Default)]
pub(super) struct MountWait {
    /// When the current wait began.
    since: Option<Timestamp>,
}

/// What the wait came to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Mount {
    /// Every claim is usable: go on to the sandbox.
    Ready,
    /// Still waiting: look again after `retry`; `failed` is the FailedMount message when the
    /// wait just timed out.
    Waiting {
        retry: Duration,
        failed: Option<String>,
    },
}

/// The pod's volumes whose claims cannot be used yet, sorted (the populator's errors only
/// reach the kubelet's log, not the API).
pub(super) fn unprocessed(store: &Store, pod: &Value) -> Vec<String> {
    let ns = kinds::namespace_of(pod);
    let mut out: Vec<String> = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let claim = v.pointer("/persistentVolumeClaim/claimName")?.as_str()?;
            let usable = store
                .get_raw(&kinds::persistentvolumeclaim::KIND, ns, claim)
                .filter(|c| c.pointer("/metadata/deletionTimestamp").is_none())
                .filter(|c| kinds::str_at(c, "/status/phase") == "Bound")
                .map(|c| kinds::str_at(&c, "/spec/volumeName").to_string())
                .filter(|pv| !pv.is_empty())
                .is_some_and(|pv| {
                    store
                        .get_raw(&kinds::persistentvolume::KIND, "", &pv)
                        .is_some()
                });
            (!usable).then(|| kinds::str_at(v, "/name").to_string())
        })
        .collect();
    out.sort();
    out
}

/// `WaitForAttachAndMount` for the pod's claims at `now`; the first wait began when the pod
/// worker first synced the pod (`started`).
pub(super) fn wait_for_attach_and_mount(
    wait: &mut MountWait,
    store: &Store,
    pod: &Value,
    started: Timestamp,
    now: Timestamp,
) -> Mount {
    let pending = unprocessed(store, pod);
    if pending.is_empty() {
        wait.since = None;
        return Mount::Ready;
    }
    let since = *wait.since.get_or_insert(started);
    let deadline = add(since, ATTACH_AND_MOUNT_TIMEOUT);
    if now >= deadline {
        wait.since = Some(now);
        let list = format!("[{}]", pending.join(" "));
        return Mount::Waiting {
            retry: POLL,
            failed: Some(format!(
                "Unable to attach or mount volumes: unmounted volumes={list}, unattached volumes=[], failed to process volumes={list}: context deadline exceeded"
            )),
        };
    }
    let left = Duration::try_from(deadline.duration_since(now)).unwrap_or_default();
    Mount::Waiting {
        retry: left.min(POLL),
        failed: None,
    }
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
    fn an_unbound_claim_fails_the_mount_after_two_minutes_three_seconds() {
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
        let t0 = store.clock().now();
        let mut wait = MountWait::default();
        assert_eq!(
            wait_for_attach_and_mount(&mut wait, &store, &pod, t0, t0),
            Mount::Waiting {
                retry: POLL,
                failed: None
            }
        );
        let at = add(t0, ATTACH_AND_MOUNT_TIMEOUT);
        assert_eq!(
            wait_for_attach_and_mount(&mut wait, &store, &pod, t0, at),
            Mount::Waiting {
                retry: POLL,
                failed: Some("Unable to attach or mount volumes: unmounted volumes=[data gone], unattached volumes=[], failed to process volumes=[data gone]: context deadline exceeded".into())
            }
        );
    }
}

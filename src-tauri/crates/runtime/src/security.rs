//! The security context as the kubelet and the runtime apply it to a container (Kubernetes:
//! `pkg/kubelet/kuberuntime/security_context_others.go` `verifyRunAsNonRoot`,
//! `kuberuntime_container.go` `getImageUser`, `pkg/securitycontext/util.go`
//! `DetermineEffectiveSecurityContext`).
//!
//! * `runAsNonRoot: true` is checked against the user the container would run as: an explicit
//!   `runAsUser` (0 breaks the policy), else the image's `USER` — none means root, and a user
//!   name cannot be checked at all. A failure is a `CreateContainerConfigError`.
//! * `runAsUser`, `runAsGroup`, `fsGroup` and `supplementalGroups` become the processes'
//!   credentials, so `id` inside the container shows them.
//! * `readOnlyRootFilesystem: true` makes the rootfs read-only; the container's writable
//!   volume mounts stay writable.
//!
//! Container-level fields override the pod's, field by field.

use k8s_openapi::api::core::v1::{Container, PodSecurityContext};
use serde_json::Value;

use kq_registry::ResolvedImage;

use crate::{ContainerSandbox, ImageInfo, RuntimeError};

/// The pod-level security context of a pod object (default when absent or malformed).
fn pod_security_context(pod: &Value) -> PodSecurityContext {
    pod.pointer("/spec/securityContext")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// `format.Pod`: `name_namespace(uid)`, how the kubelet names a pod in messages.
fn describe_pod(pod: &Value) -> String {
    let s = |p: &str| pod.pointer(p).and_then(Value::as_str).unwrap_or_default();
    format!(
        "{}_{}({})",
        s("/metadata/name"),
        s("/metadata/namespace"),
        s("/metadata/uid")
    )
}

/// The image's user as the CRI reports it: a numeric UID, or a name, from the `USER`
/// before any `:group`. No `USER` at all is root (`getImageUser`).
fn image_user(image: &ResolvedImage) -> (Option<i64>, String) {
    let user = image.user.split(':').next().unwrap_or_default();
    if user.is_empty() {
        return (Some(0), String::new());
    }
    match user.parse::<i64>() {
        Ok(uid) => (Some(uid), String::new()),
        Err(_) => (None, user.to_string()),
    }
}

fn image_group(image: &ResolvedImage) -> Option<i64> {
    image.user.split_once(':').and_then(|(_, g)| g.parse().ok())
}

/// `verifyRunAsNonRoot`: the kubelet refuses to create a container that would run as root
/// (or as a user it cannot check) when the effective `runAsNonRoot` is true.
pub fn verify_run_as_non_root(
    pod: &Value,
    c: &Container,
    image: &ImageInfo,
) -> Result<(), RuntimeError> {
    let psc = pod_security_context(pod);
    let csc = c.security_context.as_ref();
    let non_root = csc.and_then(|s| s.run_as_non_root).or(psc.run_as_non_root);
    if non_root != Some(true) {
        return Ok(());
    }
    let container = c.name.clone();
    if let Some(uid) = csc.and_then(|s| s.run_as_user).or(psc.run_as_user) {
        return if uid == 0 {
            Err(RuntimeError::RunAsUserBreaksNonRoot {
                pod: describe_pod(pod),
                container,
            })
        } else {
            Ok(())
        };
    }
    match image_user(&image.resolved) {
        (None, name) => Err(RuntimeError::NonNumericImageUser {
            user: name,
            pod: describe_pod(pod),
            container,
        }),
        (Some(0), _) => Err(RuntimeError::ImageRunsAsRoot {
            pod: describe_pod(pod),
            container,
        }),
        (Some(_), _) => Ok(()),
    }
}

/// The credentials the container's processes get, or `None` when they run as the image's
/// root with its own groups (nothing in the security context or the image says otherwise).
pub fn credentials(pod: &Value, c: &Container, image: &ImageInfo) -> Option<kq_shell::Credentials> {
    credentials_for(pod, c, &image.resolved)
}

fn credentials_for(
    pod: &Value,
    c: &Container,
    image: &ResolvedImage,
) -> Option<kq_shell::Credentials> {
    let psc = pod_security_context(pod);
    let csc = c.security_context.as_ref();
    let uid = csc
        .and_then(|s| s.run_as_user)
        .or(psc.run_as_user)
        .or_else(|| image_user(image).0.filter(|u| *u != 0));
    let gid = csc
        .and_then(|s| s.run_as_group)
        .or(psc.run_as_group)
        .or_else(|| image_group(image));
    let extra: Vec<i64> = psc
        .fs_group
        .into_iter()
        .chain(psc.supplemental_groups.iter().flatten().copied())
        .collect();
    if uid.is_none() && gid.is_none() && extra.is_empty() {
        return None;
    }
    let gid = gid.unwrap_or(0);
    let mut groups: Vec<i64> = std::iter::once(gid).chain(extra).collect();
    groups.sort_unstable();
    groups.dedup();
    Some(kq_shell::Credentials {
        uid: uid.unwrap_or(0),
        gid,
        groups,
    })
}

impl ContainerSandbox {
    /// Applies the pod's and container's security context to the container before it
    /// starts: the processes' credentials and a read-only rootfs.
    pub fn apply_security_context(&mut self, pod: &Value) {
        self.shell_env.user = credentials_for(pod, &self.container, &self.image);
        let read_only = self
            .container
            .security_context
            .as_ref()
            .and_then(|s| s.read_only_root_filesystem)
            == Some(true);
        if read_only {
            let fs = &self.shell_env.fs;
            for m in self.container.volume_mounts.iter().flatten() {
                if m.read_only != Some(true) {
                    fs.mount_writable(m.mount_path.trim_end_matches('/'));
                }
            }
            fs.mount_root_read_only();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Runtime;

    fn container(v: Value) -> Container {
        serde_json::from_value(v).expect("container")
    }

    fn pod(sc: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "ns", "uid": "u-1"},
               "spec": {"securityContext": sc}})
    }

    fn check(image: &str, pod_sc: Value, c: Value) -> Result<(), String> {
        let rt = Runtime::new();
        let img = rt.resolve(image, &[]).expect("image");
        verify_run_as_non_root(&pod(pod_sc), &container(c), &img).map_err(|e| e.to_string())
    }

    #[test]
    fn run_as_non_root_is_checked_against_the_image_user() {
        assert_eq!(
            check("nginx", json!({"runAsNonRoot": true}), json!({"name": "nginx"})),
            Err("container has runAsNonRoot and image will run as root (pod: \"web_ns(u-1)\", container: nginx)".into())
        );
        assert_eq!(
            check("curlimages/curl", json!({}), json!({"name": "c", "securityContext": {"runAsNonRoot": true}})),
            Err("container has runAsNonRoot and image has non-numeric user (curl_user), cannot verify user is non-root (pod: \"web_ns(u-1)\", container: c)".into())
        );
        assert_eq!(
            check(
                "busybox",
                json!({"runAsNonRoot": true, "runAsUser": 0}),
                json!({"name": "b"})
            ),
            Err(
                "container's runAsUser breaks non-root policy (pod: \"web_ns(u-1)\", container: b)"
                    .into()
            )
        );
        assert_eq!(
            check(
                "busybox",
                json!({"runAsNonRoot": true}),
                json!({"name": "b", "securityContext": {"runAsUser": 1000}})
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "registry.k8s.io/pause:3.10",
                json!({"runAsNonRoot": true}),
                json!({"name": "p"})
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "nginx",
                json!({"runAsNonRoot": true}),
                json!({"name": "n", "securityContext": {"runAsNonRoot": false}})
            ),
            Ok(()),
            "the container's false overrides the pod's true"
        );
    }

    #[test]
    fn credentials_follow_the_security_context() {
        let rt = Runtime::new();
        let busybox = rt.resolve("busybox", &[]).expect("busybox");
        let p = pod(
            json!({"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "supplementalGroups": [4000]}),
        );
        let got = credentials(&p, &container(json!({"name": "b"})), &busybox);
        assert_eq!(
            got,
            Some(kq_shell::Credentials {
                uid: 1000,
                gid: 3000,
                groups: vec![2000, 3000, 4000]
            })
        );
        let got = credentials(
            &pod(json!({})),
            &container(json!({"name": "b", "securityContext": {"runAsUser": 1000}})),
            &busybox,
        );
        assert_eq!(
            got,
            Some(kq_shell::Credentials {
                uid: 1000,
                gid: 0,
                groups: vec![0]
            })
        );
        assert_eq!(
            credentials(&pod(json!({})), &container(json!({"name": "b"})), &busybox),
            None
        );
    }
}

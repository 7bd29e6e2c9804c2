//! Pod Security admission and the kubelet's security context as kubectl and the container's
//! shell see them (WORKLOADS.md §4.3; kubelet `security_context_others.go`): on every
//! installed kubectl, tightening a namespace to `restricted` lists the pods already there,
//! `kubectl run` is refused with the full restricted message, a Deployment is created with
//! the warning while its ReplicaSet's pods are refused (`FailedCreate`), `warn=baseline`
//! warns about a privileged pod, a bad label value is Invalid, a compliant pod runs,
//! `runAsNonRoot` with nginx stops at `CreateContainerConfigError`, and a read-only rootfs
//! refuses writes while its volume and `runAsUser` show inside the container.

use std::path::Path;
use std::time::Duration;

use kq_tests::check::{Step, expect, fails_with, has, has_row, ok, retry_until};
use kq_tests::cluster::{Kubectl, TestCluster, on_every_kubectl};

/// What every restricted check asks of a plain container `c` (`kubectl run` names it after
/// the pod).
fn restricted_detail(c: &str) -> String {
    format!(
        "allowPrivilegeEscalation != false (container \"{c}\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"{c}\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"{c}\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"{c}\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
    )
}

const WAIT: Duration = Duration::from_secs(30);
const PAUSE: Duration = Duration::from_millis(300);

fn apply(k: &Kubectl, dir: &Path, ns: &str, name: &str, yaml: &str) -> kq_tests::cluster::Run {
    let path = dir.join(format!("{ns}-{name}.yaml"));
    std::fs::write(&path, yaml).expect("a manifest in the scratch directory");
    let file = path.to_string_lossy().into_owned();
    k.run(&["apply", "-n", ns, "-f", &file])
}

/// `restricted` namespace: existing pods, refusals, templates, compliant pods.
fn restricted(k: &Kubectl, dir: &Path, ns: &str) -> Step {
    ok(&k.run(&["create", "namespace", ns]))?;
    ok(&k.run(&["run", "nginx", "--image=nginx", "-n", ns]))?;
    ok(&k.run(&["run", "web-b", "--image=nginx", "-n", ns]))?;
    let ns_arg = format!("namespace/{ns}");
    let run = k.run(&[
        "label",
        &ns_arg,
        "pod-security.kubernetes.io/enforce=restricted",
    ]);
    ok(&run)?;
    has(
        &run,
        &format!(
            "Warning: existing pods in namespace \"{ns}\" violate the new PodSecurity enforce level \"restricted:latest\"\n"
        ),
        "tightening names the namespace and the level",
    )?;
    has(
        &run,
        "Warning: nginx (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile\n",
        "pods with the same reasons are one line, named by the first",
    )?;
    has(&run, &format!("{ns_arg} labeled"), "the label is set")?;

    let run = k.run(&["run", "nginx2", "--image=nginx", "-n", ns]);
    fails_with(
        &run,
        &format!(
            "Error from server (Forbidden): pods \"nginx2\" is forbidden: violates PodSecurity \"restricted:latest\": {}\n",
            restricted_detail("nginx2")
        ),
        "enforce refuses the pod with every failed check",
    )?;

    let run = k.run(&["create", "deployment", "web", "--image=nginx", "-n", ns]);
    ok(&run)?;
    has(
        &run,
        &format!(
            "Warning: would violate PodSecurity \"restricted:latest\": {}\n",
            restricted_detail("nginx")
        ),
        "a pod template is only warned about",
    )?;
    has(&run, "deployment.apps/web created", "the Deployment exists")?;
    let failed = format!(
        "is forbidden: violates PodSecurity \"restricted:latest\": {}",
        restricted_detail("nginx")
    );
    retry_until(
        k,
        &["describe", "rs", "-l", "app=web", "-n", ns],
        WAIT,
        PAUSE,
        |r| {
            has(r, "FailedCreate", "the ReplicaSet's pods are refused")?;
            has(
                r,
                "Error creating: pods \"web-",
                "the event names the generated pod",
            )?;
            has(r, &failed, "with the admission message")
        },
    )?;

    // A compliant pod: non-root image user, no escalation, no capabilities, seccomp.
    let run = apply(
        k,
        dir,
        ns,
        "compliant",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: compliant\nspec:\n  securityContext:\n    runAsNonRoot: true\n    seccompProfile:\n      type: RuntimeDefault\n  containers:\n  - name: app\n    image: registry.k8s.io/pause:3.10\n    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities:\n        drop: [\"ALL\"]\n",
    );
    ok(&run)?;
    expect(!run.stderr.contains("Warning"), || {
        format!("a compliant pod is not warned about: {run}")
    })?;
    retry_until(
        k,
        &["get", "pod", "compliant", "-n", ns],
        WAIT,
        PAUSE,
        |r| {
            has_row(
                r,
                &["compliant", "1/1", "Running"],
                "the compliant pod runs",
            )
        },
    )
}

/// `warn=baseline` (enforce stays privileged): warnings, the kubelet's checks, a read-only
/// rootfs, a bad label.
fn baseline_warn(k: &Kubectl, dir: &Path, ns: &str) -> Step {
    ok(&k.run(&["create", "namespace", ns]))?;
    let ns_arg = format!("namespace/{ns}");
    ok(&k.run(&["label", &ns_arg, "pod-security.kubernetes.io/warn=baseline"]))?;
    let run = apply(
        k,
        dir,
        ns,
        "priv",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: priv\nspec:\n  containers:\n  - name: x\n    image: busybox\n    command: [\"sleep\", \"3600\"]\n    securityContext:\n      privileged: true\n",
    );
    ok(&run)?;
    has(
        &run,
        "Warning: would violate PodSecurity \"baseline:latest\": privileged (container \"x\" must not set securityContext.privileged=true)\n",
        "warn admits the pod with the baseline warning",
    )?;

    let run = k.run(&[
        "label",
        &ns_arg,
        "pod-security.kubernetes.io/enforce=strict",
    ]);
    fails_with(
        &run,
        &format!(
            "Namespace \"{ns}\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted"
        ),
        "a bad level is refused",
    )?;

    // runAsNonRoot against nginx, which runs as root.
    ok(&apply(
        k,
        dir,
        ns,
        "nr",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nr\nspec:\n  securityContext:\n    runAsNonRoot: true\n  containers:\n  - name: nginx\n    image: nginx\n",
    ))?;
    retry_until(k, &["get", "pod", "nr", "-n", ns], WAIT, PAUSE, |r| {
        has_row(
            r,
            &["nr", "0/1", "CreateContainerConfigError"],
            "the kubelet refuses to create it",
        )
    })?;
    let prefix =
        format!("Error: container has runAsNonRoot and image will run as root (pod: \"nr_{ns}(");
    retry_until(k, &["describe", "pod", "nr", "-n", ns], WAIT, PAUSE, |r| {
        has(r, &prefix, "describe shows the kubelet's event")?;
        has(r, ")\", container: nginx)", "naming the container")
    })?;

    // A read-only rootfs with a writable volume, as user 1000.
    ok(&apply(
        k,
        dir,
        ns,
        "ro",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ro\nspec:\n  containers:\n  - name: c\n    image: busybox\n    command: [\"sleep\", \"3600\"]\n    securityContext:\n      runAsUser: 1000\n      readOnlyRootFilesystem: true\n    volumeMounts:\n    - name: cache\n      mountPath: /cache\n  volumes:\n  - name: cache\n    emptyDir: {}\n",
    ))?;
    retry_until(k, &["get", "pod", "ro", "-n", ns], WAIT, PAUSE, |r| {
        has_row(r, &["ro", "1/1", "Running"], "the read-only pod runs")
    })?;
    let run = k.run(&["exec", "ro", "-n", ns, "--", "sh", "-c", "echo x > /x"]);
    fails_with(
        &run,
        "sh: can't create /x: Read-only file system",
        "the rootfs refuses writes",
    )?;
    has(
        &run,
        "command terminated with exit code 2",
        "sh's redirection status",
    )?;
    let run = k.run(&[
        "exec",
        "ro",
        "-n",
        ns,
        "--",
        "sh",
        "-c",
        "echo ok > /cache/f && cat /cache/f && id",
    ]);
    ok(&run)?;
    expect(
        run.stdout == "ok\nuid=1000 gid=0(root) groups=0(root)\n",
        || format!("the volume stays writable and the process runs as 1000: {run}"),
    )
}

#[test]
fn pod_security_and_security_context_on_every_kubectl() {
    let tc = TestCluster::start_with(kq_sim::ClusterConfig {
        speed: 4.0,
        ..kq_sim::ClusterConfig::default()
    });
    on_every_kubectl(&tc, "psa", |k, ns| {
        restricted(k, tc.dir(), ns)?;
        baseline_warn(k, tc.dir(), &format!("{ns}-b"))
    });
}

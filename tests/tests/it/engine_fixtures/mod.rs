//! Realistic Pod and Event fixtures for the engine tests, shaped after what the kubelet and the
//! scheduler really write (see the kube-api compatibility spec, §4): kubelet events carry
//! `source.component: kubelet`, a container `fieldPath`, `count` and first/last timestamps;
//! scheduler events carry `eventTime`, `reportingComponent: default-scheduler` and no
//! timestamps; container states, conditions and their order follow the kubelet's status
//! generation.

// Builders mirror the fields of a core/v1 Event one-to-one; a struct would only rename them.
#![allow(dead_code, clippy::too_many_arguments)]

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::{Value, json};

/// The moment every fixture counts from.
pub fn t0() -> Timestamp {
    "2025-03-01T10:00:00Z"
        .parse()
        .expect("a valid RFC 3339 literal")
}

/// `t0 + secs`.
pub fn at(secs: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(secs))
        .expect("fixture times stay in range")
}

/// `t0 + secs` as RFC 3339 text.
pub fn ts(secs: i64) -> String {
    at(secs).to_string()
}

pub fn pod(v: Value) -> Pod {
    serde_json::from_value(v).expect("fixture pods are valid core/v1 Pods")
}

pub fn event(v: Value) -> Event {
    serde_json::from_value(v).expect("fixture events are valid core/v1 Events")
}

/// Pod metadata + a one-container spec.
pub fn pod_json(ns: &str, name: &str, uid: &str, containers: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name, "namespace": ns, "uid": uid, "resourceVersion": "100",
            "creationTimestamp": ts(0), "labels": {"app": name}
        },
        "spec": {
            "containers": containers,
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30,
            "serviceAccountName": "default"
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"}
    })
}

pub fn container(name: &str, image: &str) -> Value {
    json!({
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
    })
}

/// A kubelet-style condition list in the kubelet's order.
pub fn conditions(sandbox: bool, initialized: bool, ready: bool, since: i64) -> Value {
    let b = |x: bool| if x { "True" } else { "False" };
    let mut ready_c = json!({"type": "Ready", "status": b(ready), "lastTransitionTime": ts(since), "lastProbeTime": null});
    let mut cready_c = json!({"type": "ContainersReady", "status": b(ready), "lastTransitionTime": ts(since), "lastProbeTime": null});
    if !ready {
        ready_c["reason"] = json!("ContainersNotReady");
        cready_c["reason"] = json!("ContainersNotReady");
    }
    let mut init_c = json!({"type": "Initialized", "status": b(initialized), "lastTransitionTime": ts(1), "lastProbeTime": null});
    if !initialized {
        init_c["reason"] = json!("ContainersNotInitialized");
    }
    json!([
        {"type": "PodReadyToStartContainers", "status": b(sandbox), "lastTransitionTime": ts(1), "lastProbeTime": null},
        init_c,
        ready_c,
        cready_c,
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(0), "lastProbeTime": null}
    ])
}

/// Marks the pod as bound to node-1 with the kubelet's first status.
pub fn scheduled(mut p: Value) -> Value {
    p["spec"]["nodeName"] = json!("node-1");
    p["status"]["hostIP"] = json!("172.18.0.2");
    p["status"]["startTime"] = json!(ts(0));
    p["status"]["podIP"] = json!("10.244.0.5");
    p["status"]["conditions"] = conditions(true, true, false, 1);
    p
}

pub fn waiting(name: &str, image: &str, reason: &str, message: Option<&str>) -> Value {
    let mut w = json!({"reason": reason});
    if let Some(m) = message {
        w["message"] = json!(m);
    }
    json!({
        "name": name, "image": image, "imageID": "", "ready": false, "restartCount": 0,
        "started": false, "state": {"waiting": w}
    })
}

pub fn running(name: &str, image: &str, started: i64, ready: bool, restarts: i32) -> Value {
    json!({
        "name": name, "image": format!("docker.io/library/{image}"),
        "imageID": format!("docker.io/library/{}@sha256:{}", image.split(':').next().unwrap_or(image), "a".repeat(64)),
        "containerID": format!("containerd://{}", "b".repeat(64)),
        "ready": ready, "restartCount": restarts, "started": true,
        "state": {"running": {"startedAt": ts(started)}}
    })
}

pub fn terminated_state(reason: &str, exit: i32, started: i64, finished: i64) -> Value {
    json!({"terminated": {
        "exitCode": exit, "reason": reason, "startedAt": ts(started), "finishedAt": ts(finished),
        "containerID": format!("containerd://{}", "c".repeat(64))
    }})
}

pub fn event_obj(
    ns: &str,
    pod: &str,
    uid: &str,
    container: Option<&str>,
    kind: &str,
    reason: &str,
    message: &str,
    count: i32,
    first: i64,
    last: i64,
) -> Event {
    let mut involved = json!({
        "kind": "Pod", "namespace": ns, "name": pod, "uid": uid, "apiVersion": "v1",
        "resourceVersion": "100"
    });
    if let Some(c) = container {
        involved["fieldPath"] = json!(format!("spec.containers{{{c}}}"));
    }
    event(json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {
            "name": format!("{pod}.{:x}{}", first.unsigned_abs() * 1_000_000_007, reason.len()),
            "namespace": ns,
            "uid": format!("{uid}-{reason}-{}-{message}", container.unwrap_or("pod")),
        },
        "involvedObject": involved,
        "reason": reason, "message": message, "type": kind, "count": count,
        "firstTimestamp": ts(first), "lastTimestamp": ts(last),
        "source": {"component": "kubelet", "host": "node-1"},
        "reportingComponent": "kubelet", "reportingInstance": "node-1"
    }))
}

/// A kubelet event about a container.
pub fn kubelet(
    ns: &str,
    pod: &str,
    uid: &str,
    container: &str,
    kind: &str,
    reason: &str,
    message: &str,
    count: i32,
    first: i64,
    last: i64,
) -> Event {
    event_obj(
        ns,
        pod,
        uid,
        Some(container),
        kind,
        reason,
        message,
        count,
        first,
        last,
    )
}

/// A scheduler event (events.k8s.io recorder seen through core/v1).
pub fn scheduler(
    ns: &str,
    pod: &str,
    uid: &str,
    kind: &str,
    reason: &str,
    message: &str,
    first: i64,
    series: Option<(i32, i64)>,
) -> Event {
    let mut v = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{pod}.sched{first}"), "namespace": ns, "uid": format!("{uid}-sched-{reason}")},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "uid": uid, "apiVersion": "v1", "resourceVersion": "99"},
        "reason": reason, "message": message, "type": kind,
        "eventTime": format!("{}", at(first).strftime("%Y-%m-%dT%H:%M:%S.000000Z")),
        "firstTimestamp": null, "lastTimestamp": null, "source": {},
        "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-node-1",
        "action": if reason == "Scheduled" { "Binding" } else { "Scheduling" }
    });
    if let Some((count, last)) = series {
        v["series"] = json!({"count": count, "lastObservedTime": at(last).strftime("%Y-%m-%dT%H:%M:%S.000000Z").to_string()});
    }
    event(v)
}

/// The Scheduled event of §4.1.
pub fn scheduled_event(ns: &str, pod: &str, uid: &str) -> Event {
    scheduler(
        ns,
        pod,
        uid,
        "Normal",
        "Scheduled",
        &format!("Successfully assigned {ns}/{pod} to node-1"),
        0,
        None,
    )
}

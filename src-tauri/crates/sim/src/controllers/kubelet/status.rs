//! The pod status the API sees: the phase, the conditions with their transition times, and each
//! container's status built from what the kubelet knows of it, written through the store only
//! when it changed. Kubernetes keeps it in `pkg/kubelet/kubelet_pods.go` (`getPhase`,
//! `convertToAPIContainerStatuses`), `pkg/kubelet/status/generate.go` (the conditions) and
//! `status/status_manager.go` (the write).

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::container::{Ctr, State, Term, Waiting};
use super::pod_worker::{Sandbox, Worker};
use super::rfc3339;
use super::{Ctx, Kubelet};

impl Kubelet {
    pub(super) fn container_status(&self, w: &Worker, c: &Ctr) -> Value {
        let default_waiting = if w.has_init() {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let image = c.image.as_ref();
        let mut s = json!({
            "name": c.spec.name,
            "image": image.map_or_else(|| c.spec.image.clone().unwrap_or_default(), |i| i.image.clone()),
            "imageID": image.map_or_else(String::new, |i| i.image_id.clone()),
            "ready": c.is_ready(),
            "restartCount": c.restart_count,
            "started": c.is_running(),
            "lastState": c.last_term.as_ref().map_or_else(|| json!({}), |t| json!({"terminated": terminated(t)})),
        });
        match &c.state {
            State::Running(run) => {
                s["state"] = json!({"running": {"startedAt": rfc3339(run.started_at)}});
                s["containerID"] = json!(run.container_id);
            }
            State::Terminated { term, why } => {
                if let Some(Waiting { reason, message }) = why {
                    s["state"] = json!({"waiting": {"reason": reason, "message": message}});
                    s["lastState"] = json!({"terminated": terminated(term)});
                } else {
                    s["state"] = json!({"terminated": terminated(term)});
                }
                s["containerID"] = json!(term.container_id);
                s["started"] = json!(false);
            }
            State::Waiting { why } => {
                match why {
                    Some(Waiting { reason, message }) => {
                        s["state"] = json!({"waiting": {"reason": reason, "message": message}});
                    }
                    None => s["state"] = json!({"waiting": {"reason": default_waiting}}),
                }
                if let Some(t) = &c.last_term {
                    s["containerID"] = json!(t.container_id);
                }
            }
        }
        if c.image.is_none() {
            s.as_object_mut().map(|o| o.remove("imageID"));
            s["imageID"] = json!("");
        }
        if let Some(res) = &c.spec.resources
            && (res.requests.is_some() || res.limits.is_some())
        {
            s["resources"] = serde_json::to_value(res).unwrap_or_default();
        }
        let mounts: Vec<Value> = c
            .spec
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| {
                let mut v = json!({"name": m.name, "mountPath": m.mount_path});
                if m.read_only == Some(true) {
                    v["readOnly"] = json!(true);
                    v["recursiveReadOnly"] = json!("Disabled");
                }
                v
            })
            .collect();
        if !mounts.is_empty() {
            s["volumeMounts"] = json!(mounts);
        }
        s
    }

    pub(super) fn phase(w: &Worker) -> &'static str {
        let policy = w.restart_policy.as_str();
        let mut pending_init = 0;
        let mut failed_init = false;
        for c in w.ctrs.iter().filter(|c| c.init) {
            if c.succeeded() {
                continue;
            }
            match &c.state {
                State::Terminated { term, .. } if term.exit_code != 0 && policy == "Never" => {
                    failed_init = true;
                }
                _ => pending_init += 1,
            }
        }
        if failed_init {
            return "Failed";
        }
        if pending_init > 0 {
            return "Pending";
        }
        let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
        for c in w.ctrs.iter().filter(|c| !c.init) {
            match &c.state {
                State::Running(_) => running += 1,
                State::Terminated { term, .. } => {
                    stopped += 1;
                    if term.exit_code == 0 {
                        succeeded += 1;
                    }
                }
                State::Waiting { .. } if c.last_term.is_some() => stopped += 1,
                State::Waiting { .. } => waiting += 1,
            }
        }
        if waiting > 0 {
            "Pending"
        } else if running > 0 {
            "Running"
        } else if stopped > 0 {
            match policy {
                "Always" => "Running",
                _ if stopped == succeeded => "Succeeded",
                "OnFailure" => "Running",
                _ => "Failed",
            }
        } else {
            "Pending"
        }
    }

    pub(super) fn write_status(&self, w: &mut Worker, cx: &mut Ctx<'_>) {
        if w.start_time.is_none() {
            return;
        }
        let phase = Self::phase(w);
        let terminal = phase == "Succeeded" || phase == "Failed";
        let cond = |w: &mut Worker,
                    ty: &'static str,
                    ok: bool,
                    reason: Option<&str>,
                    message: Option<String>| {
            let status = if ok { "True" } else { "False" };
            let entry = w.cond_times.entry(ty).or_insert((ok, rfc3339(cx.now)));
            if entry.0 != ok {
                *entry = (ok, rfc3339(cx.now));
            }
            let mut c = json!({"type": ty, "status": status, "lastProbeTime": null, "lastTransitionTime": entry.1});
            if !ok {
                if let Some(r) = reason {
                    c["reason"] = json!(r);
                }
                if let Some(m) = message {
                    c["message"] = json!(m);
                }
            }
            c
        };
        let incomplete: Vec<&str> = w
            .ctrs
            .iter()
            .filter(|c| c.init && !c.succeeded())
            .map(Ctr::name)
            .collect();
        let unready: Vec<&str> = w
            .ctrs
            .iter()
            .filter(|c| !c.init && !c.is_ready())
            .map(Ctr::name)
            .collect();
        let incomplete_msg = format!(
            "containers with incomplete status: [{}]",
            incomplete.join(" ")
        );
        let unready_msg = format!("containers with unready status: [{}]", unready.join(" "));
        let (init_ok, ready_ok) = (incomplete.is_empty(), unready.is_empty());
        let sandbox_ok = w.sandbox == Sandbox::Ready && !(terminal && w.deleting);
        let mut conditions = vec![
            cond(w, "PodReadyToStartContainers", sandbox_ok, None, None),
            cond(
                w,
                "Initialized",
                init_ok,
                Some("ContainersNotInitialized"),
                Some(incomplete_msg),
            ),
        ];
        let (ready_reason, ready_msg) = match phase {
            "Succeeded" => ("PodCompleted", None),
            "Failed" => ("PodFailed", None),
            _ => ("ContainersNotReady", Some(unready_msg)),
        };
        let ready_ok = ready_ok && !terminal;
        conditions.push(cond(
            w,
            "Ready",
            ready_ok,
            Some(ready_reason),
            ready_msg.clone(),
        ));
        conditions.push(cond(
            w,
            "ContainersReady",
            ready_ok,
            Some(ready_reason),
            ready_msg,
        ));
        let scheduled = w.pod["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled").cloned())
            .unwrap_or_else(|| json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": rfc3339(cx.now)}));
        conditions.push(scheduled);
        let inits: Vec<Value> = w
            .ctrs
            .iter()
            .filter(|c| c.init)
            .map(|c| self.container_status(w, c))
            .collect();
        let mains: Vec<Value> = w
            .ctrs
            .iter()
            .filter(|c| !c.init)
            .map(|c| self.container_status(w, c))
            .collect();
        let mut status = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": self.node_ip,
            "hostIPs": [{"ip": self.node_ip}],
            "startTime": w.start_time.map(rfc3339),
            "containerStatuses": mains,
        });
        if !inits.is_empty() {
            status["initContainerStatuses"] = json!(inits);
        }
        if let Some(ip) = &w.pod_ip {
            status["podIP"] = json!(ip);
            status["podIPs"] = json!([{"ip": ip}]);
        }
        if w.last_status.as_ref() == Some(&status) {
            return;
        }
        let result = cx.store.update_status::<Pod>(&w.ns, &w.name, |p| {
            let qos = p.status.as_ref().and_then(|s| s.qos_class.clone());
            if let Ok(mut s) =
                serde_json::from_value::<k8s_openapi::api::core::v1::PodStatus>(status.clone())
            {
                s.qos_class = qos;
                p.status = Some(s);
            }
        });
        if let Ok(p) = result
            && p.metadata.uid.as_deref() == Some(w.uid.as_str())
        {
            w.last_status = Some(status);
        }
    }
}

/// A termination as the API's `ContainerStateTerminated`.
fn terminated(t: &Term) -> Value {
    let mut v = json!({
        "exitCode": t.exit_code,
        "reason": t.reason,
        "startedAt": t.started_at.map_or_else(|| "1970-01-01T00:00:00Z".to_string(), rfc3339),
        "finishedAt": rfc3339(t.finished_at),
        "containerID": t.container_id,
    });
    if let Some(m) = &t.message {
        v["message"] = json!(m);
    }
    v
}

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

/// One container's status as the API shows it, built from its [`State`] (as
/// `convertToAPIContainerStatuses` builds it from the runtime's status and the reason cache).
/// `has_init`: the pod has init containers (a container without a start yet is then
/// `PodInitializing`, not `ContainerCreating`).
pub(super) fn container_status(c: &Ctr, has_init: bool) -> Value {
    let default_waiting = if has_init {
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

/// The pod's phase from its containers' states and its restart policy (`getPhase`).
pub(super) fn phase(ctrs: &[Ctr], policy: &str) -> &'static str {
    let mut pending_init = 0;
    let mut failed_init = false;
    for c in ctrs.iter().filter(|c| c.init) {
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
    for c in ctrs.iter().filter(|c| !c.init && !c.ephemeral) {
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

impl Kubelet {
    pub(super) fn write_status(&self, w: &mut Worker, cx: &mut Ctx<'_>) {
        if w.start_time.is_none() {
            return;
        }
        let phase = phase(&w.ctrs, &w.restart_policy);
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
            .filter(|c| !c.init && !c.ephemeral && !c.is_ready())
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
            .map(|c| container_status(c, w.has_init()))
            .collect();
        let mains: Vec<Value> = w
            .ctrs
            .iter()
            .filter(|c| !c.init && !c.ephemeral)
            .map(|c| container_status(c, w.has_init()))
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
        if let Some(statuses) = super::ephemeral::statuses(&w.ctrs) {
            status["ephemeralContainerStatuses"] = statuses;
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

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use k8s_openapi::api::core::v1::Container;
    use serde_json::json;

    use super::super::container::{Ctr, Run, State, Term, Waiting};
    use super::super::rfc3339;
    use super::super::runtime::{Program, Step};
    use super::{container_status, phase};

    /// A program that sleeps forever.
    #[derive(Debug)]
    struct Idle;

    impl Program for Idle {
        fn next_step(&mut self) -> Step {
            Step::Sleep(std::time::Duration::from_secs(3600))
        }
        fn memory_bytes(&self) -> u64 {
            0
        }
        fn handles_sigterm(&self) -> bool {
            true
        }
        fn http(&self, _port: i32, _path: &str) -> Option<u16> {
            None
        }
        fn listens(&self, _port: i32) -> bool {
            false
        }
        fn exec(&mut self, _argv: &[String]) -> (i32, String) {
            (0, String::new())
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ctr(name: &str, init: bool) -> Ctr {
        let spec = Container {
            name: name.into(),
            image: Some("nginx:1.27".into()),
            ..Container::default()
        };
        Ctr::new(spec, init)
    }

    fn term(code: i32, reason: &str, id: &str) -> Term {
        Term {
            exit_code: code,
            reason: reason.into(),
            message: None,
            started_at: Some(at("2026-01-01T00:00:00Z")),
            finished_at: at("2026-01-01T00:00:05Z"),
            container_id: id.into(),
        }
    }

    fn running(ready: bool) -> State {
        State::Running(Run {
            program: Box::new(Idle),
            started_at: at("2026-01-01T00:01:00Z"),
            container_id: "containerd://run".into(),
            ready,
            stopping: None,
            oom_at: None,
            liveness_failures: 0,
            readiness_failures: 0,
            epoch: 1,
        })
    }

    fn exited(code: i32) -> Ctr {
        let mut c = ctr("app", false);
        c.state = State::Terminated {
            term: term(
                code,
                if code == 0 { "Completed" } else { "Error" },
                "containerd://t",
            ),
            why: None,
        };
        c
    }

    #[test]
    fn a_container_without_a_start_is_creating_or_initializing() {
        let c = ctr("app", false);
        let s = container_status(&c, false);
        assert_eq!(
            s["state"],
            json!({"waiting": {"reason": "ContainerCreating"}})
        );
        assert_eq!(s["lastState"], json!({}));
        assert_eq!(s["ready"], json!(false));
        assert_eq!(s["started"], json!(false));
        assert_eq!(s["imageID"], json!(""));
        assert!(s.get("containerID").is_none());
        let s = container_status(&c, true);
        assert_eq!(
            s["state"],
            json!({"waiting": {"reason": "PodInitializing"}})
        );
    }

    #[test]
    fn a_failed_sync_before_the_first_start_shows_its_reason() {
        let mut c = ctr("app", false);
        c.wait_because("ErrImagePull", "not found".into());
        let s = container_status(&c, false);
        assert_eq!(
            s["state"],
            json!({"waiting": {"reason": "ErrImagePull", "message": "not found"}})
        );
    }

    #[test]
    fn an_exit_is_terminated_and_a_held_back_restart_is_waiting_with_the_exit_as_last_state() {
        let mut c = exited(1);
        c.last_term = Some(term(2, "Error", "containerd://older"));
        let s = container_status(&c, false);
        assert_eq!(s["state"]["terminated"]["exitCode"], json!(1));
        assert_eq!(s["state"]["terminated"]["reason"], json!("Error"));
        assert_eq!(
            s["state"]["terminated"]["finishedAt"],
            json!(rfc3339(at("2026-01-01T00:00:05Z")))
        );
        assert_eq!(s["lastState"]["terminated"]["exitCode"], json!(2));
        assert_eq!(s["containerID"], json!("containerd://t"));
        assert_eq!(s["started"], json!(false));

        c.wait_because("CrashLoopBackOff", "back-off 10s".into());
        let s = container_status(&c, false);
        assert_eq!(
            s["state"],
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}})
        );
        assert_eq!(s["lastState"]["terminated"]["exitCode"], json!(1));
        assert_eq!(s["containerID"], json!("containerd://t"));
    }

    #[test]
    fn a_start_error_never_started_and_shows_the_unix_epoch_as_its_start() {
        let mut c = ctr("app", false);
        c.state = State::Terminated {
            term: Term {
                started_at: None,
                message: Some("exec: \"nope\": not found".into()),
                ..term(128, "StartError", "containerd://s")
            },
            why: Some(Waiting {
                reason: "RunContainerError".into(),
                message: "exec: \"nope\": not found".into(),
            }),
        };
        let s = container_status(&c, false);
        assert_eq!(s["state"]["waiting"]["reason"], json!("RunContainerError"));
        let t = &s["lastState"]["terminated"];
        assert_eq!(t["startedAt"], json!("1970-01-01T00:00:00Z"));
        assert_eq!(t["message"], json!("exec: \"nope\": not found"));
    }

    #[test]
    fn a_running_container_is_ready_only_when_its_run_is() {
        let mut c = ctr("app", false);
        c.state = running(false);
        let s = container_status(&c, false);
        assert_eq!(
            s["state"],
            json!({"running": {"startedAt": rfc3339(at("2026-01-01T00:01:00Z"))}})
        );
        assert_eq!(s["ready"], json!(false));
        assert_eq!(s["started"], json!(true));
        assert_eq!(s["containerID"], json!("containerd://run"));
        c.state = running(true);
        assert_eq!(container_status(&c, false)["ready"], json!(true));
        // A running container is never held back by a failed sync.
        c.wait_because("ErrImagePull", "x".into());
        assert!(c.is_running());
    }

    #[test]
    fn the_phase_follows_the_states_and_the_restart_policy() {
        assert_eq!(phase(&[ctr("app", false)], "Always"), "Pending");
        let mut run = ctr("app", false);
        run.state = running(true);
        assert_eq!(phase(&[run], "Always"), "Running");
        assert_eq!(phase(&[exited(1)], "Always"), "Running");
        assert_eq!(phase(&[exited(1)], "OnFailure"), "Running");
        assert_eq!(phase(&[exited(0)], "OnFailure"), "Succeeded");
        assert_eq!(phase(&[exited(0)], "Never"), "Succeeded");
        assert_eq!(phase(&[exited(1)], "Never"), "Failed");
        let mut init = exited(1);
        init.init = true;
        assert_eq!(phase(&[init, ctr("app", false)], "Never"), "Failed");
        let mut init = exited(1);
        init.init = true;
        assert_eq!(phase(&[init, ctr("app", false)], "Always"), "Pending");
    }
}

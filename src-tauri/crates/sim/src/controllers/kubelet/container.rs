//! A container as the kubelet knows it: its spec, the current run or the last exit, the previous
//! termination (`lastState`), restart count and readiness; and the runtime side of a container's
//! life: create and start, the program it runs, its exit and its stop. Kubernetes keeps the
//! state in `pkg/kubelet/container/runtime.go` (`ContainerStatus`, `ContainerState`) and the
//! start and kill in `pkg/kubelet/kuberuntime/kuberuntime_container.go`.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Container;
use serde_json::{Value, json};

use super::Wake;
use super::add;
use super::images::Pull;
use super::pod_worker::Worker;
use super::rfc3339;
use super::runtime::{ImageInfo, Program, Step};
use super::{Ctx, Kubelet, Outcome, jitter};

/// One terminated container.
#[derive(Debug, Clone)]
pub(super) struct Term {
    pub(super) exit_code: i32,
    pub(super) reason: String,
    pub(super) message: Option<String>,
    pub(super) started_at: Option<Timestamp>,
    pub(super) finished_at: Timestamp,
    pub(super) container_id: String,
}

impl Term {
    pub(super) fn to_json(&self) -> Value {
        let mut t = json!({
            "exitCode": self.exit_code,
            "reason": self.reason,
            "startedAt": self.started_at.map_or_else(|| "1970-01-01T00:00:00Z".to_string(), rfc3339),
            "finishedAt": rfc3339(self.finished_at),
            "containerID": self.container_id,
        });
        if let Some(m) = &self.message {
            t["message"] = json!(m);
        }
        t
    }
}

#[derive(Debug)]
pub(super) struct Run {
    pub(super) program: Box<dyn Program>,
    pub(super) started_at: Timestamp,
    pub(super) container_id: String,
    /// A kill in progress: when the process is gone and with which code.
    pub(super) stopping: Option<(Timestamp, i32)>,
    pub(super) oom_at: Option<Timestamp>,
    pub(super) liveness_failures: u32,
    pub(super) readiness_failures: u32,
    /// Bumped per run so probe and program timers of an earlier run are ignored.
    pub(super) epoch: u64,
}

#[derive(Debug)]
pub(super) struct Ctr {
    pub(super) spec: Container,
    pub(super) init: bool,
    pub(super) run: Option<Run>,
    pub(super) pull: Option<Pull>,
    /// The latest exited container while none runs.
    pub(super) term: Option<Term>,
    /// `lastState.terminated`.
    pub(super) last_term: Option<Term>,
    /// The waiting reason and message of the last failed sync (`reasonCache`).
    pub(super) reason: Option<(String, String)>,
    pub(super) image: Option<ImageInfo>,
    pub(super) attempts: u32,
    pub(super) restart_count: i32,
    pub(super) ready: bool,
    pub(super) epoch: u64,
}

impl Ctr {
    pub(super) fn new(spec: Container, init: bool) -> Self {
        Ctr {
            spec,
            init,
            run: None,
            pull: None,
            term: None,
            last_term: None,
            reason: None,
            image: None,
            attempts: 0,
            restart_count: 0,
            ready: false,
            epoch: 0,
        }
    }

    pub(super) fn name(&self) -> &str {
        &self.spec.name
    }

    pub(super) fn field_path(&self) -> String {
        if self.init {
            format!("spec.initContainers{{{}}}", self.spec.name)
        } else {
            format!("spec.containers{{{}}}", self.spec.name)
        }
    }

    pub(super) fn succeeded(&self) -> bool {
        self.run.is_none() && self.term.as_ref().is_some_and(|t| t.exit_code == 0)
    }
}

/// Container memory limit in bytes, if any.
pub(super) fn memory_limit(c: &Container) -> Option<u64> {
    let q = c.resources.as_ref()?.limits.as_ref()?.get("memory")?;
    let v = crate::quantity::Quantity::parse(&q.0)?.value();
    u64::try_from(v).ok()
}

impl Kubelet {
    pub(super) fn create_and_start(
        &mut self,
        w: &mut Worker,
        i: usize,
        cx: &mut Ctx<'_>,
    ) -> Outcome {
        let reg = w.regarding(Some(w.ctrs[i].field_path()));
        let name = w.ctrs[i].name().to_string();
        let Some(image) = w.ctrs[i].image.clone() else {
            return Outcome::Failed;
        };
        let env = match self
            .runtime
            .container_env(cx.store, &w.ns, &w.pod, &w.ctrs[i].spec, &image)
        {
            Ok(env) => env,
            Err(msg) => {
                self.event(cx, &reg, "Warning", "Failed", &format!("Error: {msg}"));
                w.ctrs[i].reason = Some(("CreateContainerConfigError".into(), msg));
                return Outcome::Failed;
            }
        };
        let files = self
            .runtime
            .mounted_files(cx.store, &w.ns, &w.pod, &w.ctrs[i].spec);
        // A new container: the previous one becomes `lastState` and its log `--previous`.
        let c = &mut w.ctrs[i];
        if c.attempts > 0 {
            c.restart_count += 1;
            if let Some(t) = c.term.take() {
                c.last_term = Some(t);
            }
            cx.store.logs().restart(&w.uid, &name);
        }
        c.attempts += 1;
        c.epoch += 1;
        let container_id = format!("containerd://{}", cx.rng.hex(64));
        self.event(
            cx,
            &reg,
            "Normal",
            "Created",
            &format!("Created container: {name}"),
        );
        let pod_ip = w.pod_ip.clone().unwrap_or_default();
        let launched = self
            .runtime
            .launch(&image, &c.spec, env, files, cx.now, &pod_ip);
        match launched {
            Err(msg) => {
                self.event(cx, &reg, "Warning", "Failed", &format!("Error: {msg}"));
                c.term = Some(Term {
                    exit_code: 128,
                    reason: "StartError".into(),
                    message: Some(msg.clone()),
                    started_at: None,
                    finished_at: cx.now,
                    container_id,
                });
                c.reason = Some(("RunContainerError".into(), msg));
                cx.store.logs().finish(&w.uid, &name);
                Outcome::Failed
            }
            Ok(program) => {
                self.event(
                    cx,
                    &reg,
                    "Normal",
                    "Started",
                    &format!("Started container {name}"),
                );
                let oom_at = match (memory_limit(&c.spec), program.memory_bytes()) {
                    (Some(limit), used) if used > limit => Some(add(
                        cx.now,
                        jitter(
                            cx.rng,
                            Duration::from_millis(500),
                            Duration::from_millis(1500),
                        ),
                    )),
                    _ => None,
                };
                c.reason = None;
                c.term = None;
                c.run = Some(Run {
                    program,
                    started_at: cx.now,
                    container_id,
                    stopping: None,
                    oom_at,
                    liveness_failures: 0,
                    readiness_failures: 0,
                    epoch: c.epoch,
                });
                c.ready = false;
                let epoch = c.epoch;
                cx.wakes
                    .push((cx.now, Wake::Program(w.uid.clone(), i, epoch)));
                if let Some(at) = oom_at {
                    cx.wakes.push((at, Wake::Program(w.uid.clone(), i, epoch)));
                }
                for (probe, liveness) in [
                    (&c.spec.readiness_probe, false),
                    (&c.spec.liveness_probe, true),
                ] {
                    if let Some(p) = probe {
                        let delay =
                            Duration::from_secs(p.initial_delay_seconds.unwrap_or(0).max(0) as u64);
                        cx.wakes.push((
                            add(cx.now, delay),
                            Wake::Probe(w.uid.clone(), i, epoch, liveness),
                        ));
                    }
                }
                w.relist_pending = true;
                cx.wakes.push((
                    add(
                        cx.now,
                        jitter(
                            cx.rng,
                            Duration::from_millis(400),
                            Duration::from_millis(600),
                        ),
                    ),
                    Wake::Relist(w.uid.clone()),
                ));
                Outcome::Ok
            }
        }
    }

    // ----- programs, exits, stops ---------------------------------------------------------

    pub(super) fn step_program(&mut self, uid: &str, i: usize, epoch: u64, cx: &mut Ctx<'_>) {
        let Some(w) = self.workers.get_mut(uid) else {
            return;
        };
        let store_logs = cx.store.logs();
        let Some(c) = w.ctrs.get_mut(i) else { return };
        let Some(run) = c.run.as_mut().filter(|r| r.epoch == epoch) else {
            return;
        };
        if let Some((at, code)) = run.stopping {
            if at <= cx.now {
                let reason = if code == 0 { "Completed" } else { "Error" };
                exit(w, i, code, reason, cx);
            }
            return;
        }
        if let Some(at) = run.oom_at
            && at <= cx.now
        {
            exit(w, i, 137, "OOMKilled", cx);
            return;
        }
        let name = c.spec.name.clone();
        for _ in 0..10_000 {
            match run.program.next_step() {
                Step::Out(text) => store_logs.append(uid, &name, &text, cx.now),
                Step::Sleep(d) => {
                    if d < Duration::from_secs(86_400 * 365 * 10) {
                        cx.wakes
                            .push((add(cx.now, d), Wake::Program(uid.to_string(), i, epoch)));
                    }
                    return;
                }
                Step::Exit(code) => {
                    let reason = if code == 0 { "Completed" } else { "Error" };
                    exit(w, i, code, reason, cx);
                    return;
                }
            }
        }
        cx.wakes.push((
            add(cx.now, Duration::from_millis(10)),
            Wake::Program(uid.to_string(), i, epoch),
        ));
    }

    pub(super) fn stop_container(
        &mut self,
        w: &mut Worker,
        i: usize,
        grace_secs: u64,
        cx: &mut Ctx<'_>,
    ) {
        let Some(run) = w.ctrs[i].run.as_mut() else {
            return;
        };
        if run.stopping.is_some() {
            return;
        }
        let (after, code) = if run.program.handles_sigterm() {
            (
                jitter(
                    cx.rng,
                    Duration::from_millis(100),
                    Duration::from_millis(400),
                ),
                0,
            )
        } else {
            // PID 1 ignores SIGTERM without a handler: SIGKILL when the grace period ends.
            (Duration::from_secs(grace_secs), 137)
        };
        let at = add(cx.now, after);
        run.stopping = Some((at, code));
        cx.wakes
            .push((at, Wake::Program(w.uid.clone(), i, run.epoch)));
    }
}

pub(super) fn exit(w: &mut Worker, i: usize, code: i32, reason: &str, cx: &mut Ctx<'_>) {
    let c = &mut w.ctrs[i];
    let Some(run) = c.run.take() else { return };
    cx.store.logs().finish(&w.uid, &c.spec.name);
    c.term = Some(Term {
        exit_code: code,
        reason: reason.to_string(),
        message: None,
        started_at: Some(run.started_at),
        finished_at: cx.now,
        container_id: run.container_id,
    });
    c.ready = false;
    w.relist_pending = true;
    cx.wakes.push((
        add(
            cx.now,
            jitter(
                cx.rng,
                Duration::from_millis(300),
                Duration::from_millis(700),
            ),
        ),
        Wake::Relist(w.uid.clone()),
    ));
}

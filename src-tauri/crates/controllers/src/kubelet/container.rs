//! A container as the kubelet knows it: its spec, the current run or the last exit, the previous
//! termination (`lastState`), restart count and readiness; and the runtime side of a container's
//! life: create and start, the program it runs, its exit and its stop. Kubernetes keeps the
//! state in `pkg/kubelet/container/runtime.go` (`ContainerStatus`, `ContainerState`) and the
//! start and kill in `pkg/kubelet/kuberuntime/kuberuntime_container.go`.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Container;

use super::Quantity;
use super::Wake;
use super::add;
use super::images::Pull;
use super::pod_worker::Worker;
use super::runtime::{ImageInfo, Program, Step, StoreObjects};
use super::streams::Input;
use super::{Ctx, Kubelet, Outcome, jitter};

/// Why a container is not running: the reason and message of the last failed sync (the
/// kubelet's `reasonCache`), e.g. `ErrImagePull`, `CrashLoopBackOff`, `RunContainerError`.
#[derive(Debug, Clone)]
pub(super) struct Waiting {
    pub(super) reason: String,
    pub(super) message: String,
}

/// One terminated container (`ContainerStateTerminated`).
#[derive(Debug, Clone)]
pub(super) struct Term {
    pub(super) exit_code: i32,
    pub(super) reason: String,
    pub(super) message: Option<String>,
    /// `None` for a container that never started (`StartError`).
    pub(super) started_at: Option<Timestamp>,
    pub(super) finished_at: Timestamp,
    pub(super) container_id: String,
}

/// A running container (`ContainerStateRunning`) and what the kubelet follows of it.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) program: Box<dyn Program>,
    pub(super) started_at: Timestamp,
    pub(super) container_id: String,
    /// Ready, as the readiness probe (or, without one, the relist) last saw it.
    pub(super) ready: bool,
    /// A kill in progress: when the process is gone and with which code.
    pub(super) stopping: Option<(Timestamp, i32)>,
    pub(super) oom_at: Option<Timestamp>,
    pub(super) liveness_failures: u32,
    pub(super) readiness_failures: u32,
    /// Bumped per run so probe and program timers of an earlier run are ignored.
    pub(super) epoch: u64,
}

/// What a container is doing now: exactly one of waiting, running or terminated, as
/// `ContainerState` in the API. The API status is built from it in [`super::status`].
#[derive(Debug)]
pub(super) enum State {
    /// No container exists yet. Without a reason the API shows `ContainerCreating` (or
    /// `PodInitializing` in a pod with init containers).
    Waiting { why: Option<Waiting> },
    /// A container runs (it may be stopping).
    Running(Run),
    /// The latest container exited or failed to start, and none runs. With a `why` (a crash
    /// back-off, an image or config error on the way to the next start) the API shows the
    /// container waiting for that reason, with this termination as `lastState`.
    Terminated { term: Term, why: Option<Waiting> },
}

/// One container of a pod as the kubelet knows it.
#[derive(Debug)]
pub(super) struct Ctr {
    pub(super) spec: Container,
    pub(super) init: bool,
    pub(super) state: State,
    /// `lastState.terminated`: the container before the current one.
    pub(super) last_term: Option<Term>,
    /// An image pull in progress for the next start.
    pub(super) pull: Option<Pull>,
    pub(super) image: Option<ImageInfo>,
    /// Containers created so far; the restart count is one less.
    pub(super) attempts: u32,
    pub(super) restart_count: i32,
    pub(super) epoch: u64,
    /// An ephemeral container (`kubectl debug`): never restarted, never part of the pod's
    /// readiness or phase, reported in `ephemeralContainerStatuses` (see [`super::ephemeral`]).
    pub(super) ephemeral: bool,
}

impl Ctr {
    pub(super) fn new(spec: Container, init: bool) -> Self {
        Ctr {
            spec,
            init,
            state: State::Waiting { why: None },
            last_term: None,
            pull: None,
            image: None,
            attempts: 0,
            restart_count: 0,
            epoch: 0,
            ephemeral: false,
        }
    }

    pub(super) fn name(&self) -> &str {
        &self.spec.name
    }

    pub(super) fn field_path(&self) -> String {
        if self.ephemeral {
            format!("spec.ephemeralContainers{{{}}}", self.spec.name)
        } else if self.init {
            format!("spec.initContainers{{{}}}", self.spec.name)
        } else {
            format!("spec.containers{{{}}}", self.spec.name)
        }
    }

    pub(super) fn run(&self) -> Option<&Run> {
        match &self.state {
            State::Running(run) => Some(run),
            _ => None,
        }
    }

    pub(super) fn run_mut(&mut self) -> Option<&mut Run> {
        match &mut self.state {
            State::Running(run) => Some(run),
            _ => None,
        }
    }

    pub(super) fn is_running(&self) -> bool {
        matches!(self.state, State::Running(_))
    }

    /// The latest exit, while no container runs.
    pub(super) fn term(&self) -> Option<&Term> {
        match &self.state {
            State::Terminated { term, .. } => Some(term),
            _ => None,
        }
    }

    /// Running and ready.
    pub(super) fn is_ready(&self) -> bool {
        self.run().is_some_and(|r| r.ready)
    }

    pub(super) fn succeeded(&self) -> bool {
        self.term().is_some_and(|t| t.exit_code == 0)
    }

    /// A sync failed before the next container could start: the API shows the container
    /// waiting for `reason` until a start succeeds. (A running container is never held back:
    /// the sync returns before its image and config are looked at.)
    pub(super) fn wait_because(&mut self, reason: &str, message: String) {
        let waiting = Some(Waiting {
            reason: reason.to_string(),
            message,
        });
        match &mut self.state {
            State::Waiting { why } | State::Terminated { why, .. } => *why = waiting,
            State::Running(_) => {}
        }
    }
}

/// Container memory limit in bytes, if any.
pub(super) fn memory_limit(c: &Container) -> Option<u64> {
    let q = c.resources.as_ref()?.limits.as_ref()?.get("memory")?;
    let v = Quantity::parse(&q.0)?.value();
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
        let env = match self.runtime.container_env(
            &StoreObjects(cx.store),
            &w.ns,
            &w.pod,
            &w.ctrs[i].spec,
            &image,
        ) {
            Ok(env) => env,
            Err(msg) => {
                self.event(cx, &reg, "Warning", "Failed", &format!("Error: {msg}"));
                w.ctrs[i].wait_because("CreateContainerConfigError", msg.to_string());
                return Outcome::Failed;
            }
        };
        // `generateContainerConfig`: after the environment, the image's user against
        // `runAsNonRoot`.
        if let Err(e) = kq_runtime::verify_run_as_non_root(&w.pod, &w.ctrs[i].spec, &image) {
            let msg = e.to_string();
            self.event(cx, &reg, "Warning", "Failed", &format!("Error: {msg}"));
            w.ctrs[i].wait_because("CreateContainerConfigError", msg);
            return Outcome::Failed;
        }
        let files =
            self.runtime
                .mounted_files(&StoreObjects(cx.store), &w.ns, &w.pod, &w.ctrs[i].spec);
        // A new container: the previous one becomes `lastState` and its log `--previous`.
        let c = &mut w.ctrs[i];
        if c.attempts > 0 {
            c.restart_count += 1;
            if let State::Terminated { term, why } =
                std::mem::replace(&mut c.state, State::Waiting { why: None })
            {
                c.last_term = Some(term);
                c.state = State::Waiting { why };
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
        // The sandbox outlives the start: exec runs its processes in it (see `streams`).
        let mut sandbox = self
            .runtime
            .sandbox(&image, &c.spec, env, files, cx.now, &pod_ip);
        sandbox.apply_security_context(&w.pod);
        super::volumes::mount(&self.volumes, &sandbox.fs(), cx.store, &w.pod, &c.spec);
        let launched = self.runtime.start(&sandbox);
        match launched {
            Err(msg) => {
                self.event(cx, &reg, "Warning", "Failed", &format!("Error: {msg}"));
                c.state = State::Terminated {
                    term: Term {
                        exit_code: 128,
                        reason: "StartError".into(),
                        message: Some(msg.to_string()),
                        started_at: None,
                        finished_at: cx.now,
                        container_id,
                    },
                    why: Some(Waiting {
                        reason: "RunContainerError".into(),
                        message: msg.to_string(),
                    }),
                };
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
                c.state = State::Running(Run {
                    program,
                    started_at: cx.now,
                    container_id,
                    ready: false,
                    stopping: None,
                    oom_at,
                    liveness_failures: 0,
                    readiness_failures: 0,
                    epoch: c.epoch,
                });
                let epoch = c.epoch;
                cx.containers.started(&w.uid, i, epoch, &c.spec, sandbox);
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
        let name = c.spec.name.clone();
        let Some(run) = c.run_mut().filter(|r| r.epoch == epoch) else {
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
        for _ in 0..10_000 {
            match run.program.next_step() {
                Step::Stdout(b) => {
                    store_logs.append(uid, &name, &String::from_utf8_lossy(&b), cx.now);
                    cx.containers.main_output(uid, &name, &b, false);
                }
                Step::Stderr(b) => {
                    store_logs.append(uid, &name, &String::from_utf8_lossy(&b), cx.now);
                    cx.containers.main_output(uid, &name, &b, true);
                }
                // Blocked on stdin: what an attach queued, else idle until an attach's input
                // wakes it (`streams::Containers::main_input`).
                Step::WaitInput => match cx.containers.main_input(uid, &name, epoch) {
                    Input::Data(bytes) => run.program.feed_stdin(&bytes),
                    Input::Eof => run.program.close_stdin(),
                    // A process that does not survive SIGINT is PID 1 here, which the kernel
                    // spares signals it has no handler for: nothing happens then.
                    Input::Interrupt => {
                        let _ = run.program.interrupt();
                    }
                    Input::Nothing => return,
                },
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
        let Some(run) = w.ctrs[i].run_mut() else {
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
    let run = match std::mem::replace(&mut c.state, State::Waiting { why: None }) {
        State::Running(run) => run,
        other => {
            c.state = other;
            return;
        }
    };
    cx.store.logs().finish(&w.uid, &c.spec.name);
    cx.containers.stopped(&w.uid, &c.spec.name);
    c.state = State::Terminated {
        term: Term {
            exit_code: code,
            reason: reason.to_string(),
            message: None,
            started_at: Some(run.started_at),
            finished_at: cx.now,
            container_id: run.container_id,
        },
        why: None,
    };
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

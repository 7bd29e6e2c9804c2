//! Liveness and readiness probes: HTTP GET, TCP socket and exec against the container's program,
//! the failure threshold, readiness flips and the liveness kill. Kubernetes keeps it in
//! `pkg/kubelet/prober/` (`worker.go` runs one probe per period, `prober.go` runs the check).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};

use super::Wake;
use super::add;
use super::runtime::Program;
use super::{Ctx, Kubelet};

pub(super) fn probe_port(
    p: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString,
    c: &Container,
) -> i32 {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match p {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
            .map_or(0, |cp| cp.container_port),
    }
}

impl Kubelet {
    pub(super) fn probe(
        &mut self,
        uid: &str,
        i: usize,
        epoch: u64,
        liveness: bool,
        cx: &mut Ctx<'_>,
    ) {
        let Some(mut w) = self.workers.remove(uid) else {
            return;
        };
        let pod_ip = w.pod_ip.clone().unwrap_or_default();
        let grace = w.pod["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30);
        let reg = w.regarding(Some(w.ctrs[i].field_path()));
        let spec = w.ctrs[i].spec.clone();
        let probe: Option<Probe> = if liveness {
            spec.liveness_probe.clone()
        } else {
            spec.readiness_probe.clone()
        };
        let mut status_changed = false;
        let mut kill = false;
        if let (Some(p), Some(run)) = (
            probe,
            w.ctrs[i]
                .run_mut()
                .filter(|r| r.epoch == epoch && r.stopping.is_none()),
        ) {
            let result = run_probe(&p, &spec, run.program.as_mut(), &pod_ip);
            let threshold = p.failure_threshold.unwrap_or(3).max(1) as u32;
            let period = Duration::from_secs(p.period_seconds.unwrap_or(10).max(1) as u64);
            let kind = if liveness { "Liveness" } else { "Readiness" };
            match result {
                ProbeResult::Success => {
                    if liveness {
                        run.liveness_failures = 0;
                    } else {
                        run.readiness_failures = 0;
                        if !run.ready {
                            run.ready = true;
                            status_changed = true;
                        }
                    }
                }
                ProbeResult::Failure(msg) => {
                    self.event(
                        cx,
                        &reg,
                        "Warning",
                        "Unhealthy",
                        &format!("{kind} probe failed: {msg}"),
                    );
                    if liveness {
                        run.liveness_failures += 1;
                        if run.liveness_failures >= threshold {
                            kill = true;
                        }
                    } else {
                        run.readiness_failures += 1;
                        if run.readiness_failures >= threshold && run.ready {
                            run.ready = false;
                            status_changed = true;
                        }
                    }
                }
            }
            if !kill {
                cx.wakes.push((
                    add(cx.now, period),
                    Wake::Probe(uid.to_string(), i, epoch, liveness),
                ));
            }
        }
        if kill {
            let name = spec.name.clone();
            self.event(
                cx,
                &reg,
                "Normal",
                "Killing",
                &format!("Container {name} failed liveness probe, will be restarted"),
            );
            self.stop_container(&mut w, i, grace, cx);
        }
        if status_changed {
            self.write_status(&mut w, cx);
        }
        self.workers.insert(uid.to_string(), w);
    }
}

/// The outcome of one probe, as `pkg/probe`'s `Result`: a failure carries the text the
/// `Unhealthy` event shows.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ProbeResult {
    Success,
    Failure(String),
}

/// Run one probe against the container's program: HTTP GET (2xx and 3xx pass), TCP connect, or
/// exec (exit code 0 passes); a probe with no handler passes.
pub(super) fn run_probe(
    p: &Probe,
    c: &Container,
    program: &mut dyn Program,
    pod_ip: &str,
) -> ProbeResult {
    if let Some(h) = &p.http_get {
        let port = probe_port(&h.port, c);
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_lowercase();
        return match program.http(port, &path) {
            None => ProbeResult::Failure(format!(
                "Get \"{scheme}://{pod_ip}:{port}{path}\": dial tcp {pod_ip}:{port}: connect: connection refused"
            )),
            Some(code) if (200..400).contains(&code) => ProbeResult::Success,
            Some(code) => {
                ProbeResult::Failure(format!("HTTP probe failed with statuscode: {code}"))
            }
        };
    }
    if let Some(t) = &p.tcp_socket {
        let port = probe_port(&t.port, c);
        return if program.listens(port) {
            ProbeResult::Success
        } else {
            ProbeResult::Failure(format!(
                "dial tcp {pod_ip}:{port}: connect: connection refused"
            ))
        };
    }
    if let Some(e) = &p.exec {
        let argv = e.command.clone().unwrap_or_default();
        let (code, output) = program.exec(&argv);
        return if code == 0 {
            ProbeResult::Success
        } else {
            ProbeResult::Failure(output)
        };
    }
    ProbeResult::Success
}

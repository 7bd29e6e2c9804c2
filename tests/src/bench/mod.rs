//! The figures behind `cargo xtask bench`: what is measured, at which size, and how a figure
//! is printed.
//!
//! Every figure is one JSON object on its own stdout line (`figure`, `value`, `unit`,
//! `target`, `target_op`, `pass`, `detail`), so the runner in `xtask` can turn a run into one
//! table and later figures (the engine, the desktop app) are only more rows. Progress goes to
//! stderr. The machine is a noisy shared one, so single timings are never reported: figures
//! are medians or percentiles over repeated runs, and a ratio always names both of its sides in
//! `detail`, measured in the same run.

pub mod api;
pub mod classroom;
pub mod cluster;
pub mod engine;
pub mod peers;
pub mod pods;
pub mod rollout;
pub mod streams;
pub mod watch;

use std::time::Duration;

use serde_json::json;

/// How big and how long a run is.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// `--quick`: tiny sizes, figures printed but targets not enforced.
    pub quick: bool,
    /// Repetitions of whole-cluster measurements (starts, kubectl runs, watch rounds).
    pub reps: usize,
    /// Pods seeded for the API and memory figures.
    pub pods: usize,
    /// Namespaces the seeded pods are spread over.
    pub namespaces: usize,
    /// Single-pod GETs timed.
    pub gets: usize,
    /// One-namespace LISTs timed.
    pub lists: usize,
    /// All-namespace LISTs timed.
    pub list_alls: usize,
    /// Concurrent watch streams.
    pub watchers: usize,
    /// Pod changes written per watch round.
    pub changes: usize,
    /// Watch rounds (the figure is their median).
    pub watch_rounds: usize,
}

impl Sizes {
    /// The sizes the targets are stated for.
    pub fn full() -> Sizes {
        Sizes {
            quick: false,
            reps: 15,
            pods: 5000,
            namespaces: 10,
            gets: 2000,
            lists: 300,
            list_alls: 30,
            watchers: 100,
            changes: 2000,
            watch_rounds: 3,
        }
    }

    /// Small enough to finish in seconds in a debug build (the `bench` test tier).
    pub fn quick() -> Sizes {
        Sizes {
            quick: true,
            reps: 3,
            pods: 200,
            namespaces: 4,
            gets: 60,
            lists: 20,
            list_alls: 3,
            watchers: 10,
            changes: 100,
            watch_rounds: 3,
        }
    }
}

/// Which way a target points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The value must be at most the target (times, memory).
    AtMost,
    /// The value must be at least the target (throughput).
    AtLeast,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::AtMost => "<=",
            Op::AtLeast => ">=",
        }
    }

    fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Op::AtMost => value <= target,
            Op::AtLeast => value >= target,
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Dotted name (`api.get_p99_ms`); `--only` matches its prefix.
    pub name: &'static str,
    /// The measured value.
    pub value: f64,
    /// `ms`, `MB`, `x`, `events/s`.
    pub unit: &'static str,
    /// The target, when one is stated.
    pub target: Option<(Op, f64)>,
    /// How it was measured: sizes, repetitions, and both sides of a ratio.
    pub detail: String,
}

impl Figure {
    /// A figure without a target (reported, never pass or fail).
    pub fn new(name: &'static str, value: f64, unit: &'static str, detail: String) -> Figure {
        Figure {
            name,
            value,
            unit,
            target: None,
            detail,
        }
    }

    /// The same figure judged against a target.
    pub fn target(mut self, op: Op, target: f64) -> Figure {
        self.target = Some((op, target));
        self
    }

    /// The JSON line printed on stdout. `pass` is null without a target and in quick runs,
    /// whose sizes the targets are not stated for.
    pub fn to_json(&self, quick: bool) -> serde_json::Value {
        let pass = match self.target {
            Some((op, t)) if !quick => Some(op.holds(self.value, t)),
            _ => None,
        };
        json!({
            "figure": self.name,
            "value": round3(self.value),
            "unit": self.unit,
            "target": self.target.map(|(_, t)| t),
            "target_op": self.target.map(|(op, _)| op.as_str()),
            "pass": pass,
            "detail": self.detail,
        })
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Milliseconds, for printing durations.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median (mean of the middle two for an even count); 0 for no samples.
pub fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile (`p` in 0..=100); 0 for no samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Progress for the person watching (stderr, so stdout stays one figure per line).
pub fn progress(msg: impl std::fmt::Display) {
    eprintln!("kq-bench: {msg}");
}

/// The process's resident set size in bytes (`VmRSS` in /proc/self/status).
pub fn rss_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| "no VmRSS line in /proc/self/status".to_string())
}

/// A writable kubeconfig path and HOME for one cluster, removed at drop.
pub fn scratch() -> Result<tempfile::TempDir, String> {
    tempfile::tempdir().map_err(|e| format!("cannot create a scratch directory: {e}"))
}

/// A `kube` client built from the kubeconfig the cluster wrote, as the desktop app builds it.
pub async fn kube_client(cluster: &kq_sim::RunningCluster) -> Result<kube::Client, String> {
    let kc = kube::config::Kubeconfig::from_yaml(cluster.kubeconfig_yaml())
        .map_err(|e| format!("the cluster's kubeconfig does not parse: {e}"))?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| format!("the cluster's kubeconfig is not usable: {e}"))?;
    kube::Client::try_from(config).map_err(|e| format!("cannot build a kube client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentiles_follow_their_definitions() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 50.0), 50.0);
        assert_eq!(percentile(&hundred, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }

    #[test]
    fn quick_runs_never_pass_or_fail() {
        let f = Figure::new("x", 10.0, "ms", String::new()).target(Op::AtMost, 5.0);
        assert_eq!(f.to_json(true)["pass"], serde_json::Value::Null);
        assert_eq!(f.to_json(false)["pass"], false);
        assert_eq!(f.to_json(false)["target_op"], "<=");
    }
}

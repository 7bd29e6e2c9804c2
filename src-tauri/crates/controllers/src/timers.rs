//! The kubelet's timers in virtual time ([`Wake`]) and the deterministic generator for jitter
//! and ids ([`Rng`]), below both the kubelet and the manager that fires them.
//!
//! Kubernetes has no single equivalent: a real kubelet's pod workers, PLEG, probers and
//! container processes each keep their own goroutines and tickers.

/// A kubelet timer in virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Pod worker sync.
    Sync(String),
    /// PLEG relist for a pod.
    Relist(String),
    /// A container program's next step (pod uid, container index, run epoch).
    Program(String, usize, u64),
    /// A probe (pod uid, container index, run epoch, liveness?).
    Probe(String, usize, u64, bool),
    /// Remove a terminated pod.
    Finalize(String),
}

/// A small deterministic generator for jitter and ids (the same inputs give the same run).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }
}

//! What the scheduler, the event recorder's refresh and the kubelets share on the node side:
//! the context a reconcile gets (client-go's shared informers' caches plus the clients a
//! controller holds, as `pkg/controller` passes them to each controller's constructor), and
//! the deterministic generator the jitter of every timer comes from.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use serde_json::Value;

use crate::recorder::Recorder;
use crate::store::Store;

/// What every controller on the node side's runner and every kubelet works with: the store,
/// jitter, the event recorder and the informer caches of pods and nodes.
pub(crate) struct Shared {
    pub store: Arc<Store>,
    pub rng: Rng,
    pub recorder: Recorder,
    /// Every pod the controllers know, by uid.
    pub pods: HashMap<String, Arc<Value>>,
    pub nodes: Vec<Node>,
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

//! What the scheduler, the event recorder's refresh and the kubelets share on the node side:
//! the context a reconcile gets (client-go's shared informers' caches plus the clients a
//! controller holds, as `pkg/controller` passes them to each controller's constructor).

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use serde_json::Value;

use crate::recorder::Recorder;
use crate::store::Store;
use crate::timers::Rng;

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

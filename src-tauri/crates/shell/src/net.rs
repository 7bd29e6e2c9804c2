//! The network a container's processes see: cluster DNS and connections to Services and pods.
//! The shell knows nothing of Kubernetes; the node (kq-controllers) implements [`Network`]
//! and the runtime hands it to every process through [`ShellEnv::net`](crate::ShellEnv).
//! Scaffolding: the applets that use it (`wget`, `curl`, `nc`, `nslookup`) land with the
//! network work.

use std::sync::Arc;

/// The cluster network as a process inside a pod reaches it.
pub trait Network: Send + Sync + std::fmt::Debug {}

/// A process's handle on the network; `None` means no network (a process run outside any
/// pod, as in the interpreter's own tests). Handles compare equal: the network is the
/// node's, not part of what a process's environment says.
#[derive(Debug, Clone, Default)]
pub struct NetHandle(pub Option<Arc<dyn Network>>);

impl PartialEq for NetHandle {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for NetHandle {}

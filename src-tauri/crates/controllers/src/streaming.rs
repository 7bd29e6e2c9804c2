//! The kubelet's streaming server (`pkg/kubelet/cri/streaming`): the node side of the API
//! server's [`ContainerStreams`] seam. `exec` and `attach` run in a container through the
//! kubelet ([`crate::kubelet::streams`]); `portforward` and the proxy paths dial the pod's
//! network namespace through the simulated network ([`crate::network`]).

use std::sync::Arc;

use kq_apiserver::streaming::{
    ContainerStreams, StreamIo, StreamRequest, StreamResult, StreamTask,
};
use tokio::io::DuplexStream;

use crate::manager::Controllers;

/// The streaming server of the embedded node(s).
#[derive(Debug)]
pub struct NodeStreams {
    controllers: Arc<Controllers>,
}

/// The streaming seam the API server calls for `controllers`' kubelets.
pub fn streams(controllers: Arc<Controllers>) -> Arc<dyn ContainerStreams> {
    Arc::new(NodeStreams { controllers })
}

impl ContainerStreams for NodeStreams {
    fn check(&self, req: &StreamRequest, attach: bool) -> StreamResult<()> {
        crate::kubelet::streams::check(&self.controllers, req, attach)
    }

    fn exec(&self, req: StreamRequest, io: StreamIo) -> StreamTask {
        crate::kubelet::streams::exec(self.controllers.clone(), req, io)
    }

    fn attach(&self, req: StreamRequest, io: StreamIo) -> StreamTask {
        crate::kubelet::streams::attach(self.controllers.clone(), req, io)
    }

    fn dial(&self, namespace: &str, pod: &str, port: u16) -> Result<DuplexStream, String> {
        crate::network::dial(&self.controllers, namespace, pod, port)
    }
}

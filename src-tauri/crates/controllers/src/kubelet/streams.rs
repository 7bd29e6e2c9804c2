//! `exec` and `attach` inside a container of this node (the kubelet's `ExecInContainer` and
//! `AttachContainer`). Scaffolding: filled in with the streaming work.

use std::sync::Arc;

use kq_apiserver::streaming::{StreamExit, StreamIo, StreamRequest, StreamResult, StreamTask};

use crate::manager::Controllers;

/// Whether `req` can run now.
pub(crate) fn check(_c: &Controllers, _req: &StreamRequest, _attach: bool) -> StreamResult<()> {
    Err(kq_apiserver::Error::BadRequest(
        "exec and attach are not built yet".into(),
    ))
}

pub(crate) fn exec(_c: Arc<Controllers>, _req: StreamRequest, _io: StreamIo) -> StreamTask {
    Box::pin(async { StreamExit::Failed("exec is not built yet".into()) })
}

pub(crate) fn attach(_c: Arc<Controllers>, _req: StreamRequest, _io: StreamIo) -> StreamTask {
    Box::pin(async { StreamExit::Failed("attach is not built yet".into()) })
}

//! Choosing a cluster, without talking to it yet.
//!
//! KubeQuest runs missions on its embedded cluster by default; a learner or a classroom may pick
//! a context from their kubeconfig instead. This module covers everything about that choice that
//! needs no network:
//!
//! - [`load_kubeconfig`] reads `KUBECONFIG` (several files, merged with kubectl's "first one wins"
//!   rules through [`kube::config::Kubeconfig::merge`]) or `~/.kube/config`;
//! - [`list_contexts`] lists the contexts with the current one marked, and [`classify`] decides
//!   whether each is **local** (its server address is loopback or a name desktop tools give this
//!   machine; never judged by the context's name) or **remote**;
//! - [`ConnectPolicy`] refuses remote contexts unless the learner allowed that context by name:
//!   missions create and break pods, which must never happen on a production cluster by accident;
//!   [`record_consent`] is the one way a name joins that allow-list;
//! - [`ConnectError`] is the typed error the UI branches on (`kind`), each with a message that
//!   says what to do next, and [`classify_kube_error`] maps `kube::Error` onto it;
//! - [`ReconnectPolicy`] is the pure back-off schedule used while a cluster is unreachable.

mod errors;
mod kubeconfig;
mod reconnect;

pub use errors::{
    ConnectError, ConnectErrorKind, ConnectFailure, SUPPORTED_MINORS, check_server_version,
    classify_kube_error, classify_watcher_error,
};
pub use kubeconfig::{
    ConnectPolicy, ContextInfo, LoadedKubeconfig, Locality, classify, list_contexts,
    load_kubeconfig, load_kubeconfig_from_env, record_consent,
};
pub use reconnect::{ReconnectPolicy, ReconnectState};

/// The app's kube client for `config`: every request carries the user agent
/// [`crate::activity::app_user_agent`] (`kubequest/0.1.0`), so the cluster's audit log tells
/// the app's own watches and reads from the learner's kubectl.
pub fn app_client(mut config: kube::Config) -> Result<kube::Client, kube::Error> {
    if let Ok(agent) = hyper::header::HeaderValue::from_str(&crate::activity::app_user_agent()) {
        config
            .headers
            .retain(|(name, _)| name != hyper::header::USER_AGENT);
        config.headers.push((hyper::header::USER_AGENT, agent));
    }
    kube::Client::try_from(config)
}

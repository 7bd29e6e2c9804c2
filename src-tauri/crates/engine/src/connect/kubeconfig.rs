//! Reading kubeconfig files and classifying their contexts as local or remote.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;
use serde::Serialize;
use ts_rs::TS;

use super::ConnectError;

/// The merged kubeconfig and the files it came from.
#[derive(Debug, Clone)]
pub struct LoadedKubeconfig {
    pub config: Kubeconfig,
    /// The files that were read, in merge order (missing entries of `KUBECONFIG` are skipped,
    /// as kubectl does).
    pub files: Vec<PathBuf>,
}

/// Reads the kubeconfig the way kubectl does.
///
/// `kubeconfig_env` is the value of `KUBECONFIG` (a path list, `:`-separated on Unix); `home` is
/// the user's home directory for the `~/.kube/config` default. Files listed in `KUBECONFIG` that
/// do not exist are skipped (client-go's loading rules); a file that exists but cannot be read or
/// parsed is an error naming it, because silently dropping a context would be worse.
pub fn load_kubeconfig(
    kubeconfig_env: Option<&OsStr>,
    home: Option<&Path>,
) -> Result<LoadedKubeconfig, ConnectError> {
    let listed: Vec<PathBuf> = kubeconfig_env
        .map(|v| {
            std::env::split_paths(v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let candidates = if listed.is_empty() {
        match home {
            Some(h) => vec![h.join(".kube").join("config")],
            None => Vec::new(),
        }
    } else {
        listed
    };
    let mut merged: Option<Kubeconfig> = None;
    let mut files = Vec::new();
    for path in &candidates {
        if !path.exists() {
            continue;
        }
        let cfg = Kubeconfig::read_from(path).map_err(|e| ConnectError::KubeconfigUnreadable {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        merged = Some(match merged {
            None => cfg,
            Some(m) => m
                .merge(cfg)
                .map_err(|e| ConnectError::KubeconfigUnreadable {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                })?,
        });
        files.push(path.clone());
    }
    match merged {
        Some(config) => Ok(LoadedKubeconfig { config, files }),
        None => Err(ConnectError::KubeconfigUnreadable {
            path: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            detail: "no kubeconfig file found".into(),
        }),
    }
}

/// [`load_kubeconfig`] with the process environment (`KUBECONFIG`, `HOME`/`USERPROFILE`).
/// Only the desktop shell and the CLI call this; logic and tests use [`load_kubeconfig`].
pub fn load_kubeconfig_from_env() -> Result<LoadedKubeconfig, ConnectError> {
    let env = std::env::var_os("KUBECONFIG");
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    load_kubeconfig(env.as_deref(), home.as_deref().map(Path::new))
}

/// Whether a context points at a cluster on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Locality {
    /// On this machine; `why` says what gave it away (`server host 127.0.0.1`).
    Local { why: String },
    /// Anywhere else.
    Remote,
}

impl Locality {
    pub fn is_local(&self) -> bool {
        matches!(self, Locality::Local { .. })
    }
}

/// One kubeconfig context, as the cluster picker lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ContextInfo {
    pub name: String,
    pub cluster: String,
    pub user: Option<String>,
    pub namespace: Option<String>,
    pub server: Option<String>,
    pub current: bool,
    pub locality: Locality,
}

/// Host names that always mean this machine (or the desktop VM's view of it).
const LOCAL_HOSTS: &[&str] = &[
    "localhost",
    "host.docker.internal",
    "host.minikube.internal",
    "kubernetes.docker.internal",
];

/// The host part of a server URL (`https://127.0.0.1:6443` → `127.0.0.1`, `https://[::1]:6443`
/// → `::1`).
fn server_host(server: &str) -> Option<String> {
    let rest = server.split_once("://").map_or(server, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h.to_owned());
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Decides whether a context's server is on this machine, from the server address alone.
///
/// Local means the server host is loopback (`localhost`, `*.localhost`, `127.x`, `::1`),
/// `0.0.0.0`, or a name desktop tools give this machine (`host.docker.internal`,
/// `host.minikube.internal`, `kubernetes.docker.internal`). Anything else is remote, including
/// private addresses: a shared classroom cluster on `10.0.0.5` is not the learner's own.
///
/// Context and cluster names are deliberately not consulted: anyone can name a production
/// context `kind-prod`, and a name is no evidence of where the server is. A desktop VM reached
/// on its own address (minikube's `192.168.49.2`) is therefore remote, and the learner allows it
/// once by name: asking once too often is cheap, breaking pods on someone else's cluster is not.
pub fn classify(server: Option<&str>) -> Locality {
    let Some(host) = server.and_then(server_host) else {
        return Locality::Remote;
    };
    let local = match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => LOCAL_HOSTS.contains(&host.as_str()) || host.ends_with(".localhost"),
    };
    if local {
        Locality::Local {
            why: format!("server host {host}"),
        }
    } else {
        Locality::Remote
    }
}

/// Every context of the kubeconfig, in file order, with its locality.
pub fn list_contexts(config: &Kubeconfig) -> Vec<ContextInfo> {
    config
        .contexts
        .iter()
        .map(|named| {
            let ctx = named.context.as_ref();
            let cluster = ctx.map(|c| c.cluster.clone()).unwrap_or_default();
            let server = config
                .clusters
                .iter()
                .find(|c| c.name == cluster)
                .and_then(|c| c.cluster.as_ref())
                .and_then(|c| c.server.clone());
            ContextInfo {
                locality: classify(server.as_deref()),
                name: named.name.clone(),
                cluster,
                user: ctx.and_then(|c| c.user.clone()),
                namespace: ctx.and_then(|c| c.namespace.clone()),
                server,
                current: config.current_context.as_deref() == Some(named.name.as_str()),
            }
        })
        .collect()
}

/// Which contexts KubeQuest may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectPolicy {
    /// Remote contexts the learner explicitly allowed, by context name.
    pub allowed_remote: BTreeSet<String>,
}

impl ConnectPolicy {
    /// Local contexts are always allowed; a remote one only if allowed by name.
    pub fn check(&self, ctx: &ContextInfo) -> Result<(), ConnectError> {
        if ctx.locality.is_local() || self.allowed_remote.contains(&ctx.name) {
            Ok(())
        } else {
            Err(ConnectError::NotLocalRefused {
                context: ctx.name.clone(),
                server: ctx.server.clone().unwrap_or_default(),
            })
        }
    }
}

/// The allow-list after the learner confirmed, in the app, that missions may run on the context
/// `name`: the only way the list grows.
///
/// The desktop shell calls this from a command of its own after the window's confirmation
/// dialog, and never takes the list from the window, so a script in the page cannot allow a
/// cluster by rewriting the settings. `contexts` is the kubeconfig as it is now: consent is
/// recorded only for a context that exists (a typo must not pre-allow a context added later)
/// and is remote; a local context needs no consent and leaves the list as it was. The answer is
/// sorted and without duplicates.
pub fn record_consent(
    allowed: &[String],
    contexts: &[ContextInfo],
    name: &str,
) -> Result<Vec<String>, ConnectError> {
    let Some(ctx) = contexts.iter().find(|c| c.name == name) else {
        return Err(ConnectError::UnknownContext {
            context: name.to_owned(),
        });
    };
    let mut list: BTreeSet<String> = allowed.iter().cloned().collect();
    if !ctx.locality.is_local() {
        list.insert(ctx.name.clone());
    }
    Ok(list.into_iter().collect())
}

//! The one error type of the embedded cluster.
//!
//! Most variants are API errors: each maps onto the `metav1.Status` a real kube-apiserver
//! returns for the same mistake (code, reason, message and details), because learners read
//! these texts in `kubectl` output and lessons teach from them. The remaining variants are
//! start-up failures (port, certificates, kubeconfig) that never reach a client.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::validation::FieldError;

/// Everything that can go wrong in the embedded cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404 NotFound: the named object does not exist (`pods "nope" not found`).
    #[error("{} \"{name}\" not found", qualified(group, resource))]
    NotFound {
        /// API group of the resource ("" for the core group).
        group: String,
        /// Plural resource name, e.g. `pods`.
        resource: String,
        /// Object name.
        name: String,
    },
    /// 404 NotFound for a URL that names no resource at all.
    #[error("the server could not find the requested resource")]
    PathNotFound,
    /// 409 AlreadyExists: create of a name that is taken.
    #[error("{} \"{name}\" already exists", qualified(group, resource))]
    AlreadyExists {
        /// API group of the resource.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
    },
    /// 409 Conflict: stale resourceVersion, failed precondition or a binding race.
    #[error(
        "Operation cannot be fulfilled on {} \"{name}\": {detail}",
        qualified(group, resource)
    )]
    Conflict {
        /// API group of the resource.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
        /// Why, e.g. "the object has been modified; please apply your changes to the latest version and try again".
        detail: String,
    },
    /// 422 Invalid: validation failed; `causes` become `details.causes`.
    #[error(
        "{} \"{name}\" is invalid: {}",
        qualified_kind(group, kind),
        render_causes(causes)
    )]
    Invalid {
        /// API group of the kind.
        group: String,
        /// Kind, e.g. `Pod`.
        kind: String,
        /// Object name as sent (may be empty).
        name: String,
        /// The field errors, in the order validation found them.
        causes: Vec<FieldError>,
    },
    /// 400 BadRequest with a free-form message (decode errors, selectors, namespace mismatch, logs).
    #[error("{0}")]
    BadRequest(String),
    /// 403 Forbidden on a named object (`pods "x" is forbidden: ...`).
    #[error("{} \"{name}\" is forbidden: {reason}", qualified(group, resource))]
    Forbidden {
        /// API group of the resource.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
        /// The admission or policy reason.
        reason: String,
    },
    /// 410 Expired: a watch asked for history the server no longer keeps.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The resourceVersion the client asked for.
        requested: u64,
        /// The oldest resourceVersion still available.
        oldest: u64,
    },
    /// 405 MethodNotAllowed.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 415 UnsupportedMediaType; the message lists accepted types.
    #[error("the body of the request was in an unknown format - accepted media types include: {0}")]
    UnsupportedMediaType(String),
    /// 413 RequestEntityTooLarge.
    #[error("Request entity too large: limit is {0}")]
    RequestEntityTooLarge(usize),
    /// 401 Unauthorized: missing or wrong bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// 500 InternalError: a bug in the embedded cluster; never expected.
    #[error("Internal error occurred: {0}")]
    Internal(String),
    /// An image catalog file (a teacher's or mission's `registry.yaml`) is invalid; the text
    /// names the file, line and field.
    #[error("{0}")]
    Catalog(String),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address we tried.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Generating the CA or serving certificate failed.
    #[error("cannot create certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The TLS configuration was rejected.
    #[error("cannot configure TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The kubeconfig file could not be written.
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        /// Where we tried to write it.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Any other I/O failure at start-up.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `pods` or `deployments.apps`, as Kubernetes qualifies resources in messages.
pub(crate) fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn qualified_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// One error prints bare; several print as `[a, b]` like Go's aggregate error.
fn render_causes(causes: &[FieldError]) -> String {
    match causes {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Error {
    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Error::NotFound {
            group: group.into(),
            resource: resource.into(),
            name: name.into(),
        }
    }

    /// The optimistic-concurrency conflict every client retries on.
    pub fn modified(group: &str, resource: &str, name: &str) -> Self {
        Error::Conflict {
            group: group.into(),
            resource: resource.into(),
            name: name.into(),
            detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
        }
    }

    /// HTTP status code of the `metav1.Status`.
    pub fn code(&self) -> u16 {
        match self {
            Error::NotFound { .. } | Error::PathNotFound => 404,
            Error::AlreadyExists { .. } | Error::Conflict { .. } => 409,
            Error::Invalid { .. } => 422,
            Error::BadRequest(_) => 400,
            Error::Forbidden { .. } => 403,
            Error::Expired { .. } => 410,
            Error::MethodNotAllowed => 405,
            Error::UnsupportedMediaType(_) => 415,
            Error::RequestEntityTooLarge(_) => 413,
            Error::Unauthorized => 401,
            _ => 500,
        }
    }

    /// The `reason` field of the `metav1.Status`.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::NotFound { .. } | Error::PathNotFound => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::Conflict { .. } => "Conflict",
            Error::Invalid { .. } => "Invalid",
            Error::BadRequest(_) => "BadRequest",
            Error::Forbidden { .. } => "Forbidden",
            Error::Expired { .. } => "Expired",
            Error::MethodNotAllowed => "MethodNotAllowed",
            Error::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Error::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            Error::Unauthorized => "Unauthorized",
            _ => "InternalError",
        }
    }

    /// The full `metav1.Status` object a real apiserver sends for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            Error::NotFound {
                group,
                resource,
                name,
            }
            | Error::AlreadyExists {
                group,
                resource,
                name,
            }
            | Error::Conflict {
                group,
                resource,
                name,
                ..
            }
            | Error::Forbidden {
                group,
                resource,
                name,
                ..
            } => Some(details(group, resource, name)),
            Error::Invalid {
                group,
                kind,
                name,
                causes,
            } => {
                let mut d = details(group, kind, name);
                d["causes"] = causes
                    .iter()
                    .map(|c| json!({"reason": c.reason(), "message": c.body(), "field": c.field}))
                    .collect();
                Some(d)
            }
            Error::PathNotFound | Error::MethodNotAllowed => Some(json!({})),
            Error::Internal(msg) => Some(json!({"causes": [{"message": msg}]})),
            _ => None,
        };
        if let Some(d) = details {
            status["details"] = d;
        }
        status
    }
}

fn details(group: &str, kind: &str, name: &str) -> Value {
    let mut d = serde_json::Map::new();
    if !name.is_empty() {
        d.insert("name".into(), name.into());
    }
    if !group.is_empty() {
        d.insert("group".into(), group.into());
    }
    d.insert("kind".into(), kind.into());
    Value::Object(d)
}

//! The API server's errors: each variant maps onto the `metav1.Status` a real kube-apiserver
//! returns for the same mistake (code, reason, message and details), because learners read
//! these texts in `kubectl` output and lessons teach from them (Kubernetes:
//! `k8s.io/apimachinery/pkg/api/errors`). Start-up failures (port, certificates, kubeconfig)
//! never reach a client and are kq-sim's own error type.

use serde_json::{Value, json};

use kq_kube::validation::FieldError;

/// Everything a request to the API server (or an in-process write) can end with.
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
    /// 403 Forbidden (`NewForbidden`): `pods "x" is forbidden: ...` on a named object,
    /// `pods is forbidden: ...` on a collection, `forbidden: ...` with no resource at all
    /// (a non-resource URL).
    #[error("{}", forbidden_message(group, resource, name, reason))]
    Forbidden {
        /// API group of the resource.
        group: String,
        /// Plural resource name; empty for a non-resource URL.
        resource: String,
        /// Object name; empty for a collection.
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
    /// 413 RequestEntityTooLarge: the request body is over the apiserver's limit.
    #[error("Request entity too large: limit is {0}")]
    RequestEntityTooLarge(usize),
    /// 413 RequestEntityTooLarge for a request within the body limit that asks for too much,
    /// e.g. `The allowed maximum operations in a JSON patch is 10000, got 20000`
    /// (k8s.io/apiserver `pkg/endpoints/handlers/patch.go`, via `NewRequestEntityTooLargeError`).
    #[error("Request entity too large: {0}")]
    EntityTooLarge(String),
    /// An object too big to store: etcd refuses any request over its `--max-request-bytes`
    /// (1.5 MiB by default) with exactly this text, and kube-apiserver passes it through.
    /// Kubernetes answers it with a 500 and no reason (kubernetes/kubernetes#112152, still
    /// open); KubeQuest answers 413 RequestEntityTooLarge with etcd's own words, because the
    /// request, not the server, is at fault and a refusal must never read as a server crash.
    #[error("etcdserver: request is too large")]
    ObjectTooLarge,
    /// 422 Invalid for a JSON patch that cannot be applied (a failed `test`, a missing path, a
    /// `copy` past the size budget, nesting past the depth limit). kube-apiserver answers
    /// every such failure with `NewGenericServerResponse(422, ...)`, whose message is this
    /// fixed text; the cause is kept for logs only, as the real server keeps it from clients.
    #[error("the server rejected our request due to an error in our request")]
    PatchNotApplicable {
        /// Why the patch could not be applied (never sent to the client).
        cause: String,
    },
    /// 401 Unauthorized: missing or wrong bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// 500 InternalError: a bug in the embedded cluster; never expected.
    #[error("Internal error occurred: {0}")]
    Internal(String),
    /// The kubelet refused an exec or attach before the upgrade, e.g. `container not found
    /// ("c")`. The kubelet answers it as a plain-text 500 (`streaming.WriteError`), not a
    /// `metav1.Status`: a SPDY client prints `error: unable to upgrade connection: <text>`,
    /// and the 1.30+ apiserver's WebSocket translator sends it after the 101 as
    /// `Internal error occurred: unable to upgrade connection: <text>` on the error channel.
    #[error("{0}")]
    KubeletUpgrade(String),
    /// 429 TooManyRequests (`errors.NewTooManyRequests`), e.g. an eviction a disruption
    /// budget refuses: `causes` are (reason, message) pairs, and a non-zero `retry_after`
    /// becomes `details.retryAfterSeconds` (and the `Retry-After` header, which the writer of
    /// the response adds).
    #[error("{message}")]
    TooManyRequests {
        /// The message clients print.
        message: String,
        /// `details.causes` as (reason, message).
        causes: Vec<(String, String)>,
        /// Seconds the client should wait; 0 for none.
        retry_after: u32,
    },
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

/// `NewForbidden`'s three shapes.
fn forbidden_message(group: &str, resource: &str, name: &str, reason: &str) -> String {
    if group.is_empty() && resource.is_empty() {
        format!("forbidden: {reason}")
    } else if name.is_empty() {
        format!("{} is forbidden: {reason}", qualified(group, resource))
    } else {
        format!(
            "{} \"{name}\" is forbidden: {reason}",
            qualified(group, resource)
        )
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
            Error::Invalid { .. } | Error::PatchNotApplicable { .. } => 422,
            Error::BadRequest(_) => 400,
            Error::Forbidden { .. } => 403,
            Error::Expired { .. } => 410,
            Error::MethodNotAllowed => 405,
            Error::UnsupportedMediaType(_) => 415,
            Error::RequestEntityTooLarge(_) | Error::EntityTooLarge(_) | Error::ObjectTooLarge => {
                413
            }
            Error::Unauthorized => 401,
            Error::TooManyRequests { .. } => 429,
            _ => 500,
        }
    }

    /// The `reason` field of the `metav1.Status`.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::NotFound { .. } | Error::PathNotFound => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::Conflict { .. } => "Conflict",
            Error::Invalid { .. } | Error::PatchNotApplicable { .. } => "Invalid",
            Error::BadRequest(_) => "BadRequest",
            Error::Forbidden { .. } => "Forbidden",
            Error::Expired { .. } => "Expired",
            Error::MethodNotAllowed => "MethodNotAllowed",
            Error::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Error::RequestEntityTooLarge(_) | Error::EntityTooLarge(_) | Error::ObjectTooLarge => {
                "RequestEntityTooLarge"
            }
            Error::Unauthorized => "Unauthorized",
            Error::TooManyRequests { .. } => "TooManyRequests",
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
            } if !resource.is_empty() => Some(details(group, resource, name)),
            // `StatusDetails` with every field empty encodes as `{}`.
            Error::Forbidden { .. } => Some(json!({})),
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
            // NewGenericServerResponse always sets Details, empty here, so it encodes as `{}`.
            Error::PathNotFound | Error::MethodNotAllowed | Error::PatchNotApplicable { .. } => {
                Some(json!({}))
            }
            Error::Internal(msg) => Some(json!({"causes": [{"message": msg}]})),
            Error::TooManyRequests {
                causes,
                retry_after,
                ..
            } => {
                let mut d = json!({});
                if !causes.is_empty() {
                    d["causes"] = causes
                        .iter()
                        .map(|(reason, message)| json!({"reason": reason, "message": message}))
                        .collect();
                }
                if *retry_after > 0 {
                    d["retryAfterSeconds"] = json!(retry_after);
                }
                Some(d)
            }
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

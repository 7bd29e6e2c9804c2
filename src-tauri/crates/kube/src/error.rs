//! kq-kube's errors. Kubernetes returns these texts as the message of a 400 BadRequest
//! `metav1.Status`; the API server wraps them, so the text is exactly apimachinery's.

/// What the shared Kubernetes knowledge can reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A label or field selector that does not parse; the text is the one
    /// `k8s.io/apimachinery/pkg/labels` or `.../fields` gives (e.g. `found 'b', expected: ...`).
    #[error("{0}")]
    Selector(String),
}

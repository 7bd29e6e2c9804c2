//! Shared Kubernetes knowledge used by both the embedded cluster and the engine, with no
//! async runtime: what a duration, a quantity, an image reference or a label selector means, and
//! how kubectl prints a pod.
//!
//! No tokio: the embedded cluster (`kq-sim` and its component crates) and the engine both link
//! it. Modules, and where Kubernetes keeps the same knowledge:
//!
//! - [`audit`]: the API server's bounded audit log of answered requests.
//! - [`duration`]: human durations (`k8s.io/apimachinery/pkg/util/duration`).
//! - [`kubeconfig_file`]: writing a kubeconfig privately (0600) and whole.
//! - [`printers`]: kubectl's pod table cells (`k8s.io/kubernetes/pkg/printers/internalversion`).
//! - [`query`]: query strings (`url.ParseQuery`'s decoding).
//! - [`quantity`]: resource quantities (`k8s.io/apimachinery/pkg/api/resource`).
//! - [`selectors`]: label and field selectors (`k8s.io/apimachinery/pkg/labels`, `.../fields`).
//! - [`validation`]: field errors and name/label rules (`k8s.io/apimachinery/pkg/util/validation`).
//! - [`random`]: `generateName` suffixes and tokens (`k8s.io/apiserver/pkg/storage/names`).
//! - [`reference`]: image references (`github.com/distribution/reference`).
//! - [`scheduling`]: kube-scheduler's per-node Filter plug-ins and their FitError reasons
//!   (`k8s.io/kubernetes/pkg/scheduler/framework/plugins`).

pub mod audit;
pub mod cron;
pub mod duration;
mod error;
pub mod kubeconfig_file;
pub mod printers;
pub mod quantity;
pub mod query;
pub mod random;
pub mod reference;
pub mod scheduling;
pub mod selectors;
pub mod validation;

pub use error::Error;

/// The kernel release the embedded cluster's nodes report (`status.nodeInfo.kernelVersion`)
/// and its containers see (nginx logs `OS: Linux <release>` at start).
pub const NODE_KERNEL_RELEASE: &str = "6.8.0-60-generic";

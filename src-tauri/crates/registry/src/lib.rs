//! kq-registry: the offline image registry: every image a learner can pull in the embedded
//! cluster. Kubernetes keeps no registry of its own: the kubelet asks the container runtime
//! (containerd's CRI image service) to pull from a real registry; this crate stands in for
//! those registries and answers with the texts containerd reports. Image references are
//! kq-kube's ([`kq_kube::reference`]), re-exported here.
//!
//! - [`ImageRef`] parses references as the kubelet does; a bad one gives the kubelet's
//!   `InvalidImageName` message ([`InvalidReference`]).
//! - [`Catalog`] holds repositories and tags (the embedded `builtin.yaml`, plus teacher or mission
//!   files merged with [`Catalog::add_yaml`]) and [`Catalog::resolve`] plays containerd's pull:
//!   a [`ResolvedImage`] to start, or a [`PullError`] whose [`PullError::cri_message`] is the
//!   text real clusters show.
//! - [`credentials_from_dockerconfigjson`] reads image pull secrets; [`pull_duration`] says how
//!   long a pull takes.
//!
//! Catalog file format (`format: 1`; unknown fields are errors):
//!
//! ```yaml
//! format: 1
//! repositories:
//!   - name: nginx                 # normalised to docker.io/library/nginx
//!     private: false              # private repositories need one of `credentials`
//!     credentials: [{username: u, password: p}]
//!     binaries: [sh, nginx]       # executables in $PATH
//!     entrypoint: ["/docker-entrypoint.sh"]
//!     cmd: ["nginx", "-g", "daemon off;"]
//!     env: {NGINX_VERSION: "1.27.3"}   # kept in file order
//!     behaviour: {kind: server, ports: [80], http: ["/"], memory_mib: 8, logs: ["..."]}
//!     tags:
//!       - {tag: "1.27", digest: "sha256:<64 hex>", size: 72099501}
//!       - {tag: "alpine", digest: "sha256:<64 hex>", size: 20547000,
//!          env: {NGINX_VERSION: "1.27.3"}, binaries: [sh, nginx]}   # per-tag overrides
//! ```
//!
//! `behaviour.kind` is one of `server`, `shell`, `database` (with `requires_env` and
//! `missing_env_logs`), `interpreter`, `memory` (with `memory_arg`) and `pause`; see
//! [`Behaviour`] for the fields and the log placeholders.

mod catalog;
mod pull;
use kq_kube::reference;

pub use catalog::{Behaviour, Catalog, CatalogError, Credential, FORMAT, Repo, ResolvedImage, Tag};
pub use pull::{
    DockerConfigError, PullError, RegistryCredential, credentials_from_dockerconfigjson,
    normalize_registry, pull_duration,
};
pub use reference::{DOCKER_HUB, ImageRef, InvalidReference};

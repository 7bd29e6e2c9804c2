//! Shared Kubernetes knowledge used by both the embedded cluster and the engine, with no
//! async runtime: what a duration, a quantity, an image reference or a label selector means, and
//! how kubectl prints a pod.

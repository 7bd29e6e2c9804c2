//! The simulated container runtime (KubeQuest's CRI): what an image does when it runs.

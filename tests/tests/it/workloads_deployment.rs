//! Workloads: workloads_deployment (filled in by the workloads work).

//! Workloads: workloads_batch (filled in by the workloads work).

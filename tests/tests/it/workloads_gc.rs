//! Workloads: workloads_gc (filled in by the workloads work).

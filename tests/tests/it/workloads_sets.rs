//! Workloads: workloads_sets (filled in by the workloads work).

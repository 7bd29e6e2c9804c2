//! Workloads: workloads_api (filled in by the workloads work).

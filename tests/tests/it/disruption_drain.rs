//! PodDisruptionBudgets, the eviction subresource and kubectl drain; node Leases.

//! ResourceQuota and LimitRange: admission texts, defaults and the quota controller's status.used.

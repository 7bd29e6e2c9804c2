//! The admission chain: plug-ins that run in order on every create, after the kind's scheme
//! defaulting and before its strategy prepares and validates the object.
//!
//! Kubernetes keeps the same concept in `k8s.io/apiserver/pkg/admission` (the chain) and
//! `plugin/pkg/admission/` (the plug-ins, enabled by `--enable-admission-plugins`). Here the
//! chain is [`CHAIN`], one file per plug-in.

use serde_json::Value;

use crate::error::Result;
use crate::kinds::ResourceKind;
use crate::store::Store;

mod default_storage_class;
mod default_toleration_seconds;
mod limit_ranger;
mod namespace_lifecycle;
pub(crate) mod pod_security;
mod resource_quota;
pub(crate) mod service_account;
mod storage_object_in_use_protection;

/// What a plug-in is told about the request.
pub struct Attributes<'a> {
    /// The kind being written.
    pub kind: &'static ResourceKind,
    /// The request's namespace ("" for cluster-scoped kinds).
    pub namespace: &'a str,
    /// The object's name, or its `generateName` prefix when the server generates the name
    /// (it is given after the chain has run, as kube-apiserver does).
    pub name: &'a str,
    /// The subresource written (`status`), empty for the object itself.
    pub subresource: &'a str,
    /// The store, for checks such as "does the namespace exist".
    pub store: &'a Store,
    /// A `dryRun=All` request: every check runs, nothing is persisted (the quota plug-in does
    /// not charge it, as `checkQuotas` skips dry-run waiters).
    pub dry_run: bool,
}

impl Attributes<'_> {
    /// Is the request about this group's resource (as a plug-in's `GetResource()` check)?
    pub fn is(&self, group: &str, plural: &str) -> bool {
        self.kind.group == group && self.kind.plural == plural
    }
}

/// One admission plug-in: it may change the object (mutating) or refuse the request
/// (validating), and add warnings the client prints (`Warning: ...`).
///
/// kube-apiserver runs every plug-in's mutating half in chain order before the object is
/// named and validated, then every validating half in chain order after the kind's own
/// validation (with the generated name). Updates go through the same two passes.
pub trait Plugin: Sync {
    /// The plug-in's name, as `--enable-admission-plugins` spells it.
    fn name(&self) -> &'static str;

    /// Admit (and possibly mutate) a create.
    fn admit_create(&self, _attrs: &Attributes<'_>, _obj: &mut Value) -> Result<()> {
        Ok(())
    }

    /// Validate a create, after the kind's own validation; may add warnings.
    fn validate_create(
        &self,
        _attrs: &Attributes<'_>,
        _obj: &Value,
        _warnings: &mut Vec<String>,
    ) -> Result<()> {
        Ok(())
    }

    /// Admit (and possibly mutate) an update of `old` to `new` (`attrs.subresource` says
    /// whether it is a `status` write).
    fn admit_update(&self, _attrs: &Attributes<'_>, _new: &mut Value, _old: &Value) -> Result<()> {
        Ok(())
    }

    /// Validate an update, after the kind's own validation; may add warnings.
    fn validate_update(
        &self,
        _attrs: &Attributes<'_>,
        _new: &Value,
        _old: &Value,
        _warnings: &mut Vec<String>,
    ) -> Result<()> {
        Ok(())
    }
}

/// The plug-ins in the order kube-apiserver runs them.
pub static CHAIN: &[&dyn Plugin] = &[
    &namespace_lifecycle::NamespaceLifecycle,
    &limit_ranger::LimitRanger,
    &service_account::ServiceAccount,
    &pod_security::PodSecurity,
    &default_toleration_seconds::DefaultTolerationSeconds,
    &default_storage_class::DefaultStorageClass,
    &storage_object_in_use_protection::StorageObjectInUseProtection,
    &resource_quota::ResourceQuota,
];

/// Log which plug-in refused a request, and pass its error on.
fn refused(
    plugin: &dyn Plugin,
    attrs: &Attributes<'_>,
    what: &str,
    e: crate::Error,
) -> crate::Error {
    tracing::debug!(
        plugin = plugin.name(),
        kind = attrs.kind.kind,
        name = attrs.name,
        "admission refused the {what}"
    );
    e
}

/// Run the chain's mutating pass on a create; the first refusal wins.
pub fn admit_create(attrs: &Attributes<'_>, obj: &mut Value) -> Result<()> {
    for plugin in CHAIN {
        plugin
            .admit_create(attrs, obj)
            .map_err(|e| refused(*plugin, attrs, "create", e))?;
    }
    Ok(())
}

/// Run the chain's validating pass on a create; the first refusal wins.
pub fn validate_create(
    attrs: &Attributes<'_>,
    obj: &Value,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for plugin in CHAIN {
        plugin
            .validate_create(attrs, obj, warnings)
            .map_err(|e| refused(*plugin, attrs, "create", e))?;
    }
    Ok(())
}

/// Run the chain's mutating pass on an update; the first refusal wins.
pub fn admit_update(attrs: &Attributes<'_>, new: &mut Value, old: &Value) -> Result<()> {
    for plugin in CHAIN {
        plugin
            .admit_update(attrs, new, old)
            .map_err(|e| refused(*plugin, attrs, "update", e))?;
    }
    Ok(())
}

/// Run the chain's validating pass on an update; the first refusal wins.
pub fn validate_update(
    attrs: &Attributes<'_>,
    new: &Value,
    old: &Value,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for plugin in CHAIN {
        plugin
            .validate_update(attrs, new, old, warnings)
            .map_err(|e| refused(*plugin, attrs, "update", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::kinds;

    fn store() -> Arc<Store> {
        Store::new(Arc::new(crate::Clock::new(0.0)), String::new(), 100)
    }

    #[test]
    fn the_chain_runs_in_kube_apiserver_order() {
        let names: Vec<&str> = CHAIN.iter().map(|p| p.name()).collect();
        assert_eq!(
            names,
            [
                "NamespaceLifecycle",
                "LimitRanger",
                "ServiceAccount",
                "PodSecurity",
                "DefaultTolerationSeconds",
                "DefaultStorageClass",
                "StorageObjectInUseProtection",
                "ResourceQuota",
            ]
        );
    }

    #[test]
    fn a_namespaced_create_needs_its_namespace() {
        let store = store();
        let attrs = Attributes {
            kind: &kinds::configmap::KIND,
            namespace: "nowhere",
            name: "cm",
            subresource: "",
            store: &store,
            dry_run: false,
        };
        let mut obj = json!({"metadata": {"name": "cm", "namespace": "nowhere"}});
        let err = admit_create(&attrs, &mut obj).expect_err("no such namespace");
        assert_eq!(err.to_string(), "namespaces \"nowhere\" not found");
    }

    #[test]
    fn pod_plugins_leave_other_kinds_alone() {
        let store = store();
        let attrs = Attributes {
            kind: &kinds::node::KIND,
            namespace: "",
            name: "node-9",
            subresource: "",
            store: &store,
            dry_run: false,
        };
        let mut obj = json!({"metadata": {"name": "node-9"}});
        let before = obj.clone();
        admit_create(&attrs, &mut obj).expect("nodes are cluster-scoped and not pods");
        assert_eq!(obj, before);
    }
}

//! NamespaceLifecycle: a namespaced object can only be created in a namespace that exists and
//! is not being terminated (Kubernetes: `plugin/pkg/admission/namespace/lifecycle`).

use serde_json::Value;

use super::{Attributes, Plugin};
use crate::error::{Error, Result};
use crate::kinds;

/// The NamespaceLifecycle plug-in.
pub struct NamespaceLifecycle;

impl Plugin for NamespaceLifecycle {
    fn name(&self) -> &'static str {
        "NamespaceLifecycle"
    }

    fn admit_create(&self, a: &Attributes<'_>, _obj: &mut Value) -> Result<()> {
        let (kind, ns, name) = (a.kind, a.namespace, a.name);
        if !kind.namespaced {
            return Ok(());
        }
        match a.store.get_raw(&kinds::namespace::KIND, "", ns) {
            None => Err(Error::not_found("", "namespaces", ns)),
            Some(n) if kinds::str_at(&n, "/status/phase") == "Terminating" => {
                Err(Error::Forbidden {
                    group: kind.group.into(),
                    resource: kind.plural.into(),
                    name: name.into(),
                    reason: format!(
                        "unable to create new content in namespace {ns} because it is being terminated"
                    ),
                })
            }
            Some(_) => Ok(()),
        }
    }
}

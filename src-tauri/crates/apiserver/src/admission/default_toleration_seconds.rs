//! DefaultTolerationSeconds: pods tolerate `not-ready` and `unreachable` nodes for 300 s
//! unless they say otherwise (Kubernetes: `plugin/pkg/admission/defaulttolerationseconds`).

use k8s_openapi::api::core::v1::{Pod, PodSpec, Toleration};
use serde_json::Value;

use super::{Attributes, Plugin};
use crate::error::{Error, Result};
use crate::kinds::typed;

/// The DefaultTolerationSeconds plug-in.
pub struct DefaultTolerationSeconds;

impl Plugin for DefaultTolerationSeconds {
    fn name(&self) -> &'static str {
        "DefaultTolerationSeconds"
    }

    fn admit_create(&self, a: &Attributes<'_>, obj: &mut Value) -> Result<()> {
        if !a.is("", "pods") {
            return Ok(());
        }
        let mut pod: Pod = typed(obj);
        add_default_tolerations(pod.spec.get_or_insert_with(Default::default));
        *obj = serde_json::to_value(&pod).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(())
    }
}

fn add_default_tolerations(spec: &mut PodSpec) {
    let tols = spec.tolerations.get_or_insert_with(Vec::new);
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let present = tols.iter().any(|t| {
            (t.key.as_deref() == Some(key)
                || t.key.is_none() && t.operator.as_deref() == Some("Exists"))
                && (t.effect.is_none() || t.effect.as_deref() == Some("NoExecute"))
        });
        if !present {
            tols.push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(300),
                value: None,
            });
        }
    }
}

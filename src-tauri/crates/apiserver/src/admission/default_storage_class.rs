//! The `DefaultStorageClass` admission plug-in
//! (`plugin/pkg/admission/storage/storageclass/setdefault/admission.go`): a claim created
//! without `storageClassName` gets the default class's name. A claim that says `""` asks for
//! no class and is left alone; with no default class nothing changes (the persistentvolume
//! controller back-fills the class if one is made default later). Several default classes:
//! the newest wins (`GetDefaultClass`, 1.26+).

use serde_json::{Value, json};

use super::{Attributes, Plugin};
use crate::error::Result;
use crate::kinds;

/// The `DefaultStorageClass` plug-in.
pub struct DefaultStorageClass;

/// The name of the cluster's default StorageClass, if any.
pub fn default_class(attrs: &Attributes<'_>) -> Option<String> {
    let mut defaults: Vec<std::sync::Arc<Value>> = attrs
        .store
        .list_raw(&kinds::storageclass::KIND, None)
        .into_iter()
        .filter(|c| kinds::storageclass::is_default(c))
        .collect();
    // Newest first; equal times by name, as the real sort is stable on a name-ordered list.
    defaults.sort_by(|a, b| {
        let t = |v: &Value| kinds::str_at(v, "/metadata/creationTimestamp").to_string();
        t(b).cmp(&t(a))
            .then_with(|| kinds::name_of(a).cmp(kinds::name_of(b)))
    });
    defaults.first().map(|c| kinds::name_of(c).to_string())
}

impl Plugin for DefaultStorageClass {
    fn name(&self) -> &'static str {
        "DefaultStorageClass"
    }

    fn admit_create(&self, attrs: &Attributes<'_>, obj: &mut Value) -> Result<()> {
        if !attrs.is("", "persistentvolumeclaims") || !attrs.subresource.is_empty() {
            return Ok(());
        }
        if obj
            .pointer("/spec/storageClassName")
            .is_some_and(|v| !v.is_null())
        {
            return Ok(());
        }
        if let Some(class) = default_class(attrs) {
            if !obj.get("spec").is_some_and(Value::is_object) {
                obj["spec"] = json!({});
            }
            obj["spec"]["storageClassName"] = json!(class);
        }
        Ok(())
    }
}

//! The `DefaultStorageClass` admission plug-in (scaffold: admits everything until it is built).

use super::Plugin;

/// The `DefaultStorageClass` plug-in.
pub struct DefaultStorageClass;

impl Plugin for DefaultStorageClass {
    fn name(&self) -> &'static str {
        "DefaultStorageClass"
    }
}

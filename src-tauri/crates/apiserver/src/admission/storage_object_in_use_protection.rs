//! The `StorageObjectInUseProtection` admission plug-in (scaffold: admits everything until it is built).

use super::Plugin;

/// The `StorageObjectInUseProtection` plug-in.
pub struct StorageObjectInUseProtection;

impl Plugin for StorageObjectInUseProtection {
    fn name(&self) -> &'static str {
        "StorageObjectInUseProtection"
    }
}

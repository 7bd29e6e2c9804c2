//! The `ResourceQuota` admission plug-in (scaffold: admits everything until it is built).

use super::Plugin;

/// The `ResourceQuota` plug-in.
pub struct ResourceQuota;

impl Plugin for ResourceQuota {
    fn name(&self) -> &'static str {
        "ResourceQuota"
    }
}

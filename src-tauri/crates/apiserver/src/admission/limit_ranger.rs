//! The `LimitRanger` admission plug-in (scaffold: admits everything until it is built).

use super::Plugin;

/// The `LimitRanger` plug-in.
pub struct LimitRanger;

impl Plugin for LimitRanger {
    fn name(&self) -> &'static str {
        "LimitRanger"
    }
}

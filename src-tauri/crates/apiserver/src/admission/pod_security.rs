//! The `PodSecurity` admission plug-in (scaffold: admits everything until it is built).

use super::Plugin;

/// The `PodSecurity` plug-in.
pub struct PodSecurity;

impl Plugin for PodSecurity {
    fn name(&self) -> &'static str {
        "PodSecurity"
    }
}

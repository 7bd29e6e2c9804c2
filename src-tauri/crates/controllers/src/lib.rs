//! The embedded cluster's controllers on one reconciler runtime driven by the virtual clock.

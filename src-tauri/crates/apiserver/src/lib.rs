//! The embedded cluster's API server: storage, a generic registry that runs each kind's
//! strategy, the admission chain, patch, and the HTTPS layer real kubectl talks to.

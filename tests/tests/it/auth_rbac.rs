//! RBAC: roles, bindings, aggregation, default ClusterRoles and the authorizer's Forbidden texts through real kubectl.

//! Pod Security admission and the kubelet's security context as kubectl and the container's shell see them.

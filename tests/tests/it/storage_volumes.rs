//! StorageClass, PersistentVolume and PersistentVolumeClaim binding, provisioning, volume scheduling and mounts.

//! The POSIX-sh interpreter that busybox-style container commands run in.

//! A container's writable filesystem: byte-exact files and directories shared by every
//! process of one container (the main process and each `kubectl exec`), as the container's
//! overlay rootfs is on a real node. A clone of [`Fs`] is another handle on the same tree.
//!
//! The tree is bounded so that a learner cannot exhaust the app's memory from inside a pod:
//! at most [`MAX_FILES`] files and [`MAX_TOTAL_BYTES`] bytes in all. A write past either cap
//! fails with `ENOSPC`, which busybox reports as `No space left on device`.
//!
//! ConfigMap, Secret and projected volumes are mounted read-only, as the kubelet mounts
//! them: a change below such a mount fails with `EROFS` (`Read-only file system`). A
//! container with `readOnlyRootFilesystem: true` has its whole rootfs read-only except the
//! writable mounts (its volumes, `/dev`, and the `/etc/hosts` family the kubelet binds in).

//!
//! Volumes (emptyDir, hostPath, a claim's volume) are trees of their own mounted over a
//! directory ([`Fs::mount_volume`]): every path below the mount point reads and writes the
//! volume's tree, so containers and pods that mount the same volume share its files, and the
//! image's files under the mount point are hidden, as a bind mount hides them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most files one container may hold.
pub const MAX_FILES: usize = 4096;
/// Most bytes all files of one container may hold together.
pub const MAX_TOTAL_BYTES: usize = 32 * 1024 * 1024;

/// The `strerror(ENOSPC)` text busybox prints after a failed write.
pub const ENOSPC: &str = "No space left on device";
/// The `strerror(EROFS)` text.
pub const EROFS: &str = "Read-only file system";

/// Directories every image has, whether or not a file lives in them.
const BASE_DIRS: &[&str] = &[
    "/bin",
    "/dev",
    "/etc",
    "/home",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local",
    "/usr/local/bin",
    "/var",
    "/var/log",
    "/var/run",
];

#[derive(Debug, Default)]
struct Tree {
    files: BTreeMap<String, Vec<u8>>,
    /// Directories made by `mkdir`/`tar -x`, beyond [`BASE_DIRS`] and the parents of files.
    dirs: BTreeSet<String>,
    /// Base directories removed by `rm -r`.
    removed: BTreeSet<String>,
    /// Roots of read-only mounts.
    read_only: BTreeSet<String>,
    /// The rootfs itself is read-only (`readOnlyRootFilesystem`); only [`Tree::writable`]
    /// mounts accept changes.
    root_read_only: bool,
    /// Roots of writable mounts over a read-only rootfs.
    writable: BTreeSet<String>,
    total: usize,
    /// Volumes mounted over directories: mount point → the volume's tree.
    mounts: BTreeMap<String, Fs>,
    /// A volume's tree: no image directories.
    bare: bool,
}

/// A handle on one container's filesystem. Handles compare equal when they share a tree.
#[derive(Clone, Default)]
pub struct Fs(Arc<Mutex<Tree>>);

/// A summary: a process's debug output must not carry megabytes of file contents.
impl std::fmt::Debug for Fs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.lock();
        f.debug_struct("Fs")
            .field("files", &t.files.len())
            .field("bytes", &t.total)
            .field("read_only", &t.read_only)
            .finish()
    }
}

impl PartialEq for Fs {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Fs {}

/// Normalises an absolute path: no trailing `/`, no `.`/`..`, no repeated `/`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The parent directory of a normalised path (`/` for `/x`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl Fs {
    /// A filesystem holding `files` (absolute path → text).
    pub fn from_files(files: &BTreeMap<String, String>) -> Fs {
        let fs = Fs::default();
        fs.seed(files);
        fs
    }

    /// Mounts `root` read-only: nothing below it may be created, changed or removed.
    pub fn mount_read_only(&self, root: &str) {
        self.lock().read_only.insert(normalize(root));
    }

    /// Whether `path` lies on a read-only mount.
    pub fn is_read_only(&self, path: &str) -> bool {
        Self::ro_in(&self.lock(), &normalize(path))
    }

    /// Mounts the container's rootfs read-only: only the mounts given to
    /// [`Self::mount_writable`] (and `/dev`, and the files the kubelet binds in) accept changes.
    pub fn mount_root_read_only(&self) {
        let mut t = self.lock();
        t.root_read_only = true;
        for w in ["/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"] {
            t.writable.insert(w.to_string());
        }
    }

    /// A writable mount (a volume) at `root`, which stays writable over a read-only rootfs.
    /// The mount point exists, as the runtime creates it before the container starts.
    pub fn mount_writable(&self, root: &str) {
        let root = normalize(root);
        let mut t = self.lock();
        t.writable.insert(root.clone());
        let mut cur = root;
        while !Self::dir_in(&t, &cur) && !t.files.contains_key(&cur) {
            let up = parent(&cur).to_string();
            t.removed.remove(&cur);
            t.dirs.insert(cur);
            cur = up;
        }
    }

    fn ro_in(t: &Tree, p: &str) -> bool {
        let under = |root: &String| {
            p == root
                || p.strip_prefix(root.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        t.read_only.iter().any(under) || (t.root_read_only && !t.writable.iter().any(under))
    }

    fn lock(&self) -> MutexGuard<'_, Tree> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Adds (or replaces) files, ignoring the caps: what the image and the mounted volumes
    /// bring is not a learner's write.
    pub fn seed(&self, files: &BTreeMap<String, String>) {
        let mut t = self.lock();
        for (k, v) in files {
            let k = normalize(k);
            let old = t.files.insert(k, v.as_bytes().to_vec());
            t.total = t.total + v.len() - old.map_or(0, |o| o.len());
        }
    }

    /// A file's bytes.
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            return fs.read(&inner);
        }
        self.lock().files.get(&p).cloned()
    }

    /// A file's text (invalid UTF-8 replaced, as a terminal would show it).
    pub fn read_text(&self, path: &str) -> Option<String> {
        self.read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// A file's size in bytes.
    pub fn size(&self, path: &str) -> Option<usize> {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            return fs.size(&inner);
        }
        self.lock().files.get(&p).map(Vec::len)
    }

    pub fn is_file(&self, path: &str) -> bool {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            return fs.is_file(&inner);
        }
        self.lock().files.contains_key(&p)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            return fs.is_dir(&inner);
        }
        let t = self.lock();
        Self::dir_in(&t, &p)
    }

    fn dir_in(t: &Tree, p: &str) -> bool {
        if p == "/" {
            return true;
        }
        if t.dirs.contains(p) {
            return true;
        }
        let pre = format!("{p}/");
        if t.files.keys().any(|k| k.starts_with(&pre)) || t.dirs.iter().any(|d| d.starts_with(&pre))
        {
            return true;
        }
        BASE_DIRS.contains(&p) && !t.bare && !t.removed.contains(p)
    }

    /// An empty volume: a tree without an image's directories.
    pub fn volume() -> Fs {
        let fs = Fs::default();
        fs.lock().bare = true;
        fs
    }

    /// Mounts `volume` over the directory `root` (made if missing, as the runtime makes mount
    /// points).
    pub fn mount_volume(&self, root: &str, volume: &Fs) {
        if self == volume {
            return;
        }
        let root = normalize(root);
        let mut t = self.lock();
        let mut cur = root.clone();
        while cur != "/" && !Self::dir_in(&t, &cur) {
            let up = parent(&cur).to_string();
            t.removed.remove(&cur);
            t.dirs.insert(cur);
            cur = up;
        }
        t.mounts.insert(root, volume.clone());
    }

    /// The volume mounted over the normalised path `p`, and `p` inside it.
    fn mounted(&self, p: &str) -> Option<(Fs, String)> {
        let t = self.lock();
        t.mounts
            .iter()
            .filter(|(root, _)| {
                p == root.as_str()
                    || p.strip_prefix(root.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|(root, _)| root.len())
            .map(|(root, fs)| {
                let inner = match &p[root.len()..] {
                    "" => "/".to_string(),
                    rest => rest.to_string(),
                };
                (fs.clone(), inner)
            })
    }

    pub fn exists(&self, path: &str) -> bool {
        self.is_file(path) || self.is_dir(path)
    }

    /// Writes a whole file (truncating), or fails with `ENOSPC`.
    pub fn write(&self, path: &str, data: &[u8]) -> Result<(), &'static str> {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            if self.is_read_only(&p) {
                return Err(EROFS);
            }
            return fs.write(&inner, data);
        }
        let mut t = self.lock();
        if Self::ro_in(&t, &p) {
            return Err(EROFS);
        }
        let old = t.files.get(&p).map_or(0, Vec::len);
        if !t.files.contains_key(&p) && t.files.len() >= MAX_FILES {
            return Err(ENOSPC);
        }
        if t.total - old + data.len() > MAX_TOTAL_BYTES {
            return Err(ENOSPC);
        }
        t.total = t.total - old + data.len();
        t.files.insert(p, data.to_vec());
        Ok(())
    }

    /// Appends to a file (creating it); when the cap is reached the bytes that fit are
    /// written and the write fails with `ENOSPC`, as a full disk does.
    pub fn append(&self, path: &str, data: &[u8]) -> Result<(), &'static str> {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            if self.is_read_only(&p) {
                return Err(EROFS);
            }
            return fs.append(&inner, data);
        }
        let mut t = self.lock();
        if Self::ro_in(&t, &p) {
            return Err(EROFS);
        }
        if !t.files.contains_key(&p) && t.files.len() >= MAX_FILES {
            return Err(ENOSPC);
        }
        let room = MAX_TOTAL_BYTES.saturating_sub(t.total);
        let n = data.len().min(room);
        t.total += n;
        t.files.entry(p).or_default().extend_from_slice(&data[..n]);
        if n < data.len() { Err(ENOSPC) } else { Ok(()) }
    }

    /// Removes a file; `Ok(false)` when there was none.
    pub fn remove_file(&self, path: &str) -> Result<bool, &'static str> {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            if self.is_read_only(&p) && fs.is_file(&inner) {
                return Err(EROFS);
            }
            return fs.remove_file(&inner);
        }
        let mut t = self.lock();
        if !t.files.contains_key(&p) {
            return Ok(false);
        }
        if Self::ro_in(&t, &p) {
            return Err(EROFS);
        }
        if let Some(old) = t.files.remove(&p) {
            t.total -= old.len();
        }
        Ok(true)
    }

    /// Creates a directory (its parent must exist unless `parents`). Errors carry the
    /// `strerror` text.
    pub fn mkdir(&self, path: &str, parents: bool) -> Result<(), &'static str> {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            if self.is_read_only(&p) && !fs.is_dir(&inner) {
                return Err(EROFS);
            }
            return fs.mkdir(&inner, parents);
        }
        let mut t = self.lock();
        if t.files.contains_key(&p) {
            return Err("File exists");
        }
        if Self::dir_in(&t, &p) {
            return if parents { Ok(()) } else { Err("File exists") };
        }
        if Self::ro_in(&t, &p) {
            return Err(EROFS);
        }
        let mut chain = vec![p.clone()];
        let mut cur = parent(&p).to_string();
        while !Self::dir_in(&t, &cur) {
            if t.files.contains_key(&cur) {
                return Err("Not a directory");
            }
            if !parents {
                return Err("No such file or directory");
            }
            chain.push(cur.clone());
            cur = parent(&cur).to_string();
        }
        if t.dirs.len() >= MAX_FILES {
            return Err(ENOSPC);
        }
        for d in chain {
            t.removed.remove(&d);
            t.dirs.insert(d);
        }
        Ok(())
    }

    /// Removes a directory and everything below it.
    pub fn remove_tree(&self, path: &str) -> Result<(), &'static str> {
        let p = normalize(path);
        if let Some((fs, inner)) = self.mounted(&p) {
            if self.is_read_only(&p) {
                return Err(EROFS);
            }
            return fs.remove_tree(&inner);
        }
        let pre = format!("{p}/");
        let mut t = self.lock();
        if Self::ro_in(&t, &p) || t.read_only.iter().any(|r| r.starts_with(&pre)) {
            return Err(EROFS);
        }
        let gone: Vec<String> = t
            .files
            .keys()
            .filter(|k| k.starts_with(&pre))
            .cloned()
            .collect();
        for k in gone {
            if let Some(old) = t.files.remove(&k) {
                t.total -= old.len();
            }
        }
        t.dirs.retain(|d| d != &p && !d.starts_with(&pre));
        for b in BASE_DIRS {
            if *b == p || b.starts_with(&pre) {
                t.removed.insert((*b).to_string());
            }
        }
        Ok(())
    }

    /// The names directly inside a directory, sorted, with whether each is a directory.
    pub fn list(&self, dir: &str) -> Vec<(String, bool)> {
        let p = normalize(dir);
        if let Some((fs, inner)) = self.mounted(&p) {
            return fs.list(&inner);
        }
        let pre = if p == "/" {
            "/".to_string()
        } else {
            format!("{p}/")
        };
        let t = self.lock();
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        let mut note = |full: &str, is_dir: bool| {
            if let Some(rest) = full.strip_prefix(&pre)
                && !rest.is_empty()
            {
                match rest.split_once('/') {
                    Some((first, _)) => {
                        out.insert(first.to_string(), true);
                    }
                    None => {
                        out.entry(rest.to_string()).or_insert(is_dir);
                    }
                }
            }
        };
        for k in t.files.keys() {
            note(k, false);
        }
        for d in &t.dirs {
            note(d, true);
        }
        for b in BASE_DIRS {
            if !t.bare && !t.removed.contains(*b) {
                note(b, true);
            }
        }
        out.into_iter().collect()
    }

    /// Every file path, sorted.
    pub fn file_paths(&self) -> Vec<String> {
        self.lock().files.keys().cloned().collect()
    }

    /// Bytes held by all files.
    pub fn total_bytes(&self) -> usize {
        self.lock().total
    }
}

/// The volumes of one node, by identity (`emptydir/<pod uid>/<volume>`, `host/<path>`): the
/// same identity is the same tree, so a claim's files outlive the pods that mount it.
#[derive(Debug, Default)]
pub struct Volumes(Mutex<HashMap<String, Fs>>);

impl Volumes {
    /// The volume called `key`, made empty on first use.
    pub fn get(&self, key: &str) -> Fs {
        let mut m = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        m.entry(key.to_string()).or_insert_with(Fs::volume).clone()
    }

    /// Forget volumes whose key starts with `prefix` (a deleted pod's emptyDirs).
    pub fn remove_prefix(&self, prefix: &str) {
        let mut m = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        m.retain(|k, _| !k.starts_with(prefix));
    }
}

#[cfg(test)]
mod volume_tests {
    use super::*;

    #[test]
    fn a_mounted_volume_is_shared_and_hides_the_image() {
        let image: BTreeMap<String, String> = [("/data/old".to_string(), "image\n".to_string())]
            .into_iter()
            .collect();
        let (a, b) = (Fs::from_files(&image), Fs::default());
        let vols = Volumes::default();
        a.mount_volume("/data", &vols.get("host/x"));
        b.mount_volume("/mnt/shared", &vols.get("host/x"));
        assert_eq!(
            a.read("/data/old"),
            None,
            "the mount hides the image's files"
        );
        a.write("/data/x", b"hi\n").expect("a writable volume");
        assert_eq!(b.read_text("/mnt/shared/x").as_deref(), Some("hi\n"));
        assert_eq!(b.list("/mnt/shared"), vec![("x".to_string(), false)]);
        assert!(b.list("/mnt").contains(&("shared".to_string(), true)));
        assert!(a.is_dir("/data") && b.is_dir("/mnt/shared"));
        let c = Fs::default();
        c.mount_volume("/again", &vols.get("host/x"));
        assert_eq!(
            c.read_text("/again/x").as_deref(),
            Some("hi\n"),
            "the data outlives its first user"
        );
        c.mount_read_only("/again");
        assert_eq!(c.write("/again/y", b"no"), Err(EROFS));
    }
}

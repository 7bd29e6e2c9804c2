//! Writing a kubeconfig, which holds a bearer token: the embedded cluster's own, a class
//! learner's or a teacher's. The file is created with mode 0600 from the start (never
//! chmod-ed afterwards, so no other user can open it in between) as a temporary file in the
//! same folder, synced and renamed into place, so a reader (kubectl, the app after a crash)
//! never sees half a file.

use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path` (making its folder) with mode 0600.
pub fn write(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kubeconfig".into());
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", crate::random::name_suffix()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_private_in_a_new_folder_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/ada.kubeconfig");
        write(&p, "first").unwrap();
        write(&p, "second").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "second");
        let left: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind: {left:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner may read a token");
        }
    }
}

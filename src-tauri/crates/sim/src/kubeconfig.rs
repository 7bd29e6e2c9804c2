//! The kubeconfig the embedded cluster writes for kubectl and the engine: cluster, user and
//! context all named `kubequest`, the CA inline, the bearer token. The file is created with
//! mode 0600 from the start (never chmod-ed afterwards), through a temporary file renamed into
//! place so readers never see half a file.

use std::path::Path;

use base64::Engine;

use crate::{Error, Result};

/// The name of the cluster, user and context in the kubeconfig.
pub const CONTEXT: &str = "kubequest";

/// Render the kubeconfig YAML.
pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {CONTEXT}\ncontexts:\n- context:\n    cluster: {CONTEXT}\n    user: {CONTEXT}\n  name: {CONTEXT}\ncurrent-context: {CONTEXT}\npreferences: {{}}\nusers:\n- name: {CONTEXT}\n  user:\n    token: {token}\n"
    )
}

/// Write the kubeconfig to `path` with mode 0600.
pub fn write(path: &Path, contents: &str) -> Result<()> {
    kq_kube::kubeconfig_file::write(path, contents).map_err(|source| Error::Kubeconfig {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/kubeconfig");
        write(&p, &render("https://127.0.0.1:1", "PEM", "tok")).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("current-context: kubequest"));
        assert!(text.contains("token: tok"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}

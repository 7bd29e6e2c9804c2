//! What a pull costs and how it fails: credentials from image pull secrets, containerd's error
//! texts as the kubelet shows them, and a deterministic pull duration.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use super::reference::DOCKER_HUB;

/// One registry login, as found in a `kubernetes.io/dockerconfigjson` image pull secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCredential {
    /// The registry host the login is for, normalised: `docker.io`, `registry.kubequest.local`.
    pub registry: String,
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl RegistryCredential {
    /// Whether the kubelet's keyring would offer this login for an image on `domain`.
    /// Docker Hub's aliases (`index.docker.io`, `registry-1.docker.io`,
    /// `https://index.docker.io/v1/`) all match `docker.io`.
    pub fn matches(&self, domain: &str) -> bool {
        normalize_registry(&self.registry) == normalize_registry(domain)
    }
}

/// Reduces a registry key from a docker config (`https://index.docker.io/v1/`,
/// `registry.example.com:5000/some/path`) to the host it names, mapping Docker Hub's aliases to
/// `docker.io`.
pub fn normalize_registry(key: &str) -> String {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        _ => host,
    }
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize)]
struct DockerAuth {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    auth: Option<String>,
}

/// Reads the `.dockerconfigjson` key of an image pull secret:
/// `{"auths":{"<host>":{"username":"u","password":"p"}}}` or `{"auths":{"<host>":{"auth":
/// base64("u:p")}}}` (when both are present, `username`/`password` win, as in the kubelet's
/// keyring). Errors are plain sentences for the learner.
pub fn credentials_from_dockerconfigjson(
    json: &[u8],
) -> Result<Vec<RegistryCredential>, DockerConfigError> {
    let config: DockerConfig =
        serde_json::from_slice(json).map_err(|e| DockerConfigError::InvalidJson(e.to_string()))?;
    let mut out = Vec::new();
    for (registry, entry) in config.auths {
        let (username, password) = match (entry.username, entry.password, entry.auth) {
            (Some(u), Some(p), _) if !u.is_empty() => (u, p),
            (_, _, Some(auth)) if !auth.is_empty() => decode_auth(&registry, &auth)?,
            _ => return Err(DockerConfigError::NoLogin(registry)),
        };
        out.push(RegistryCredential {
            registry: normalize_registry(&registry),
            username,
            password,
        });
    }
    Ok(out)
}

fn decode_auth(registry: &str, auth: &str) -> Result<(String, String), DockerConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| DockerConfigError::AuthNotBase64(registry.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| DockerConfigError::AuthNotText(registry.to_string()))?;
    let (user, pass) = text
        .split_once(':')
        .ok_or_else(|| DockerConfigError::AuthNotUserPassword(registry.to_string()))?;
    Ok((user.to_string(), pass.to_string()))
}

/// Why an image pull secret's `.dockerconfigjson` yields no logins. The texts are plain
/// sentences for the learner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerConfigError {
    /// The data is not JSON of the `{"auths": {…}}` shape (serde's reason).
    #[error(
        "the .dockerconfigjson data is not valid JSON ({0}); recreate the secret with \
         kubectl create secret docker-registry"
    )]
    InvalidJson(String),
    /// The login for this registry has neither `username`/`password` nor `auth`.
    #[error("the login for {0:?} has neither username/password nor auth; add them to the secret")]
    NoLogin(String),
    /// The `auth` field for this registry is not base64.
    #[error("the auth field for {0:?} is not valid base64 of user:password")]
    AuthNotBase64(String),
    /// The `auth` field for this registry decodes to bytes that are not UTF-8.
    #[error("the auth field for {0:?} does not decode to text")]
    AuthNotText(String),
    /// The `auth` field for this registry has no `:` between user and password.
    #[error("the auth field for {0:?} must encode user:password")]
    AuthNotUserPassword(String),
}

/// Why containerd could not pull an image. [`PullError::cri_message`] is the text the kubelet
/// puts after `Failed to pull image "<image>": ` and in the container's waiting message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullError {
    /// The repository exists but has no such tag (or digest).
    NotFound {
        /// The normalised reference, e.g. `docker.io/library/nginx:nonexistent`.
        image: String,
    },
    /// Docker Hub's answer for a repository that does not exist (or is private and no login
    /// was sent): `insufficient_scope`.
    AccessDenied {
        /// The normalised reference.
        image: String,
    },
    /// A private repository and no login, or a wrong one.
    Unauthorized {
        /// The normalised reference.
        image: String,
        /// containerd's text after `failed to resolve reference "<image>": `.
        detail: String,
    },
    /// The registry host does not exist (a typo in the registry name).
    UnknownHost {
        /// The normalised reference.
        image: String,
        /// containerd's text after `failed to resolve reference "<image>": `.
        detail: String,
    },
}

impl PullError {
    /// The CRI error as the kubelet shows it (kubelet 1.28+, containerd 1.7/2.x).
    ///
    /// containerd wraps the resolver error as `failed to pull and unpack image %q: failed to
    /// resolve reference %q: …` (containerd/containerd `internal/cri/server/images/image_pull.go`
    /// and `client/pull.go`). The gRPC status is `NotFound` for a missing tag and `Unknown`
    /// otherwise; since kubernetes/kubernetes PR #117612 (1.28) the kubelet's remote image
    /// client strips the `rpc error: code = Unknown desc = ` prefix from Unknown errors
    /// (`staging/src/k8s.io/cri-client/pkg/remote_image.go`), so only NotFound keeps its prefix.
    /// Texts verified against: containerd `core/remotes/docker/resolver.go` (`pull access
    /// denied, repository does not exist or may require authorization: %w`, `%s: not found`),
    /// `core/remotes/docker/authorizer.go` (`server message: %s: authorization failed`,
    /// `authorization failed: no basic auth credentials`, `failed to fetch oauth token: %w`),
    /// `core/remotes/errors/errors.go` (`unexpected status from %s request to %s: %s`), and
    /// public `kubectl describe` outputs of the same errors.
    pub fn cri_message(&self) -> String {
        match self {
            PullError::NotFound { image } => format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image {image:?}: \
                 failed to resolve reference {image:?}: {image}: not found"
            ),
            PullError::AccessDenied { image } => format!(
                "failed to pull and unpack image {image:?}: failed to resolve reference {image:?}: \
                 pull access denied, repository does not exist or may require authorization: \
                 server message: insufficient_scope: authorization failed"
            ),
            PullError::Unauthorized { image, detail }
            | PullError::UnknownHost { image, detail } => {
                format!(
                    "failed to pull and unpack image {image:?}: failed to resolve reference \
                     {image:?}: {detail}"
                )
            }
        }
    }

    /// The normalised image reference the error is about.
    pub fn image(&self) -> &str {
        match self {
            PullError::NotFound { image }
            | PullError::AccessDenied { image }
            | PullError::Unauthorized { image, .. }
            | PullError::UnknownHost { image, .. } => image,
        }
    }
}

impl fmt::Display for PullError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cri_message())
    }
}

impl std::error::Error for PullError {}

/// How long pulling an image of `size_bytes` (compressed) takes on a classroom connection:
/// 0.4 s of registry round trips plus 25 MB/s. `nginx:1.25` (72 MB) takes about 3.3 s,
/// `busybox` (2.2 MB) about 0.5 s. Deterministic and never decreasing with size.
pub fn pull_duration(size_bytes: u64) -> Duration {
    const BYTES_PER_MS: u64 = 25_000;
    Duration::from_millis(400 + size_bytes.div_ceil(BYTES_PER_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerconfigjson_with_auth_field() {
        // base64("learner:s3cret") as kubectl create secret docker-registry writes it.
        let json = br#"{"auths":{"registry.kubequest.local":{"username":"","password":"","auth":"bGVhcm5lcjpzM2NyZXQ="}}}"#;
        let creds = credentials_from_dockerconfigjson(json).unwrap();
        assert_eq!(
            creds,
            vec![RegistryCredential {
                registry: "registry.kubequest.local".into(),
                username: "learner".into(),
                password: "s3cret".into(),
            }]
        );
    }

    #[test]
    fn dockerconfigjson_with_username_and_password_and_hub_alias() {
        let json = br#"{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p:with:colons"}}}"#;
        let creds = credentials_from_dockerconfigjson(json).unwrap();
        assert_eq!(creds.len(), 1);
        assert_eq!(creds[0].registry, "docker.io");
        assert_eq!(creds[0].password, "p:with:colons");
        assert!(creds[0].matches("docker.io"));
        assert!(!creds[0].matches("registry.kubequest.local"));
    }

    #[test]
    fn dockerconfigjson_errors_are_explained() {
        assert!(
            credentials_from_dockerconfigjson(b"not json")
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
        let e = credentials_from_dockerconfigjson(br#"{"auths":{"r.io":{"auth":"!!"}}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("base64"), "{e}");
        let e = credentials_from_dockerconfigjson(br#"{"auths":{"r.io":{"auth":"bm9jb2xvbg=="}}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("user:password"), "{e}");
        let e = credentials_from_dockerconfigjson(br#"{"auths":{"r.io":{}}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("neither"), "{e}");
    }

    #[test]
    fn registry_keys_normalise() {
        assert_eq!(
            normalize_registry("https://index.docker.io/v1/"),
            "docker.io"
        );
        assert_eq!(normalize_registry("registry-1.docker.io"), "docker.io");
        assert_eq!(
            normalize_registry("http://localhost:5000/x"),
            "localhost:5000"
        );
        assert_eq!(
            normalize_registry("Registry.KubeQuest.local"),
            "registry.kubequest.local"
        );
    }

    #[test]
    fn pull_duration_is_realistic_and_monotonic() {
        let nginx = pull_duration(72_099_501);
        assert!(
            nginx >= Duration::from_secs(2) && nginx <= Duration::from_secs(5),
            "{nginx:?}"
        );
        let busybox = pull_duration(2_200_000);
        assert!(busybox >= Duration::from_millis(400) && busybox <= Duration::from_millis(600));
        let mut last = Duration::ZERO;
        for size in (0..500_000_000u64).step_by(7_654_321) {
            let d = pull_duration(size);
            assert!(d >= last);
            last = d;
        }
        assert_eq!(pull_duration(0), Duration::from_millis(400));
    }
}

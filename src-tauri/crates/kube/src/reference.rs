//! Image references as the kubelet and containerd read them.
//!
//! The grammar is the docker/distribution one (`reference := name [":" tag] ["@" digest]`), and
//! normalisation follows `ParseNormalizedNamed`: a first component containing `.` or `:`, equal
//! to `localhost`, or containing an uppercase letter is a registry host; anything else lives on
//! `docker.io`, and single-component names get the `library/` prefix.
//!
//! Verified against kubernetes/kubernetes `vendor/github.com/distribution/reference/`
//! (`regexp.go`, `reference.go`, `normalize.go`) and the kubelet's use of it in
//! `pkg/kubelet/images/image_manager.go` (`applyDefaultImageTag`, which calls
//! `parsers.ParseImageName`, whose error is `couldn't parse image name %q: %v`).

use std::fmt;

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";
const LEGACY_DOCKER_HUB: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// `RepositoryNameTotalLengthMax` in distribution/reference.
const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// A parsed, normalised image reference: `docker.io/library/nginx:1.25`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Registry host (and port): `docker.io`, `registry.k8s.io`, `localhost:5000`.
    pub domain: String,
    /// Repository path inside the registry: `library/nginx`, `academy/secret-app`.
    pub path: String,
    /// The tag, when the reference names one.
    pub tag: Option<String>,
    /// The digest (`sha256:<64 hex>`), when the reference names one.
    pub digest: Option<String>,
}

/// A reference the kubelet refuses before pulling: the pod's container waits with reason
/// `InvalidImageName` and an `InspectFailed` warning event carries [`InvalidReference`]'s text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidReference {
    /// The image string exactly as written in the pod spec.
    pub image: String,
    /// The distribution/reference error, e.g. `invalid reference format`.
    pub reason: String,
}

impl fmt::Display for InvalidReference {
    /// The kubelet's message (1.30+):
    /// `Failed to apply default image tag "<image>": couldn't parse image name "<image>": <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Failed to apply default image tag {image:?}: couldn't parse image name {image:?}: {}",
            self.reason,
            image = self.image
        )
    }
}

impl std::error::Error for InvalidReference {}

impl ImageRef {
    /// Parses an image string as the kubelet does before asking containerd to pull it.
    pub fn parse(s: &str) -> Result<ImageRef, InvalidReference> {
        parse_normalized(s).map_err(|reason| InvalidReference {
            image: s.to_string(),
            reason,
        })
    }

    /// The repository name without tag or digest: `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The reference containerd records as the container's `image`:
    /// `docker.io/library/nginx:1.25`, `latest` when neither tag nor digest is given, and
    /// `name@digest` (tag dropped) when a digest is given, as `ParseDockerRef` does.
    pub fn normalized(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => format!("{}@{digest}", self.name()),
            (None, Some(tag)) => format!("{}:{tag}", self.name()),
            (None, None) => format!("{}:latest", self.name()),
        }
    }

    /// The short name people type: `nginx:1.25`, `curlimages/curl:8.10.1`,
    /// `registry.k8s.io/pause:3.9` (the `docker.io/library/` part dropped).
    pub fn familiar(&self) -> String {
        let mut name = self.name();
        if self.domain == DOCKER_HUB {
            name = self.path.clone();
            if let Some(rest) = name.strip_prefix(OFFICIAL_PREFIX)
                && !rest.contains('/')
            {
                name = rest.to_string();
            }
        }
        match (&self.tag, &self.digest) {
            (_, Some(digest)) => format!("{name}@{digest}"),
            (Some(tag), None) => format!("{name}:{tag}"),
            (None, None) => name,
        }
    }

    /// The tag a pull asks for: the tag, or `latest` when there is neither tag nor digest.
    pub fn tag_or_latest(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }
}

/// The form containerd reports in a container status's `image` (`docker.io/library/nginx:latest`
/// for `nginx`), so a spec's image and a status's compare equal. A reference that does not parse
/// comes back as written (trimmed): the kubelet never runs it, so it only equals itself.
///
/// The engine's one image normaliser; it used to keep its own that read `MyRegistry/app` as a
/// Docker Hub path, where `splitDockerDomain` makes an upper-case first component a host.
pub fn normalize(image: &str) -> String {
    let image = image.trim();
    ImageRef::parse(image).map_or_else(|_| image.to_string(), |r| r.normalized())
}

/// `ParseNormalizedNamed`: returns the distribution/reference error text on failure.
fn parse_normalized(s: &str) -> Result<ImageRef, String> {
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
        ));
    }
    let (domain, remainder) = split_docker_domain(s);
    let remote = remainder.split(':').next().unwrap_or_default();
    if remote.to_lowercase() != remote {
        return Err(format!(
            "invalid reference format: repository name ({remote}) must be lowercase"
        ));
    }
    parse_full(&format!("{domain}/{remainder}"))
}

/// `splitDockerDomain`.
fn split_docker_domain(name: &str) -> (String, String) {
    let Some((first, rest)) = name.split_once('/') else {
        return (DOCKER_HUB.to_string(), format!("{OFFICIAL_PREFIX}{name}"));
    };
    let (domain, mut remote) = if first == "localhost" {
        (first.to_string(), rest.to_string())
    } else if first == LEGACY_DOCKER_HUB {
        (DOCKER_HUB.to_string(), rest.to_string())
    } else if first.contains(['.', ':']) || first.to_lowercase() != first {
        (first.to_string(), rest.to_string())
    } else {
        (DOCKER_HUB.to_string(), name.to_string())
    };
    if domain == DOCKER_HUB && !remote.contains('/') {
        remote = format!("{OFFICIAL_PREFIX}{remote}");
    }
    (domain, remote)
}

/// `reference.Parse` on an already domain-prefixed string.
fn parse_full(s: &str) -> Result<ImageRef, String> {
    match match_reference(s) {
        Some(parts) => build(parts),
        None if s.is_empty() => Err("repository name must have at least one component".into()),
        None if match_reference(&s.to_lowercase()).is_some() => {
            Err("repository name must be lowercase".into())
        }
        None => Err("invalid reference format".into()),
    }
}

struct Parts<'a> {
    domain: &'a str,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

fn build(p: Parts<'_>) -> Result<ImageRef, String> {
    if p.path.len() > NAME_MAX {
        return Err(format!(
            "repository name must not be more than {NAME_MAX} characters"
        ));
    }
    if let Some(digest) = p.digest {
        validate_digest(digest)?;
    }
    Ok(ImageRef {
        domain: p.domain.to_string(),
        path: p.path.to_string(),
        tag: p.tag.map(str::to_string),
        digest: p.digest.map(str::to_string),
    })
}

/// go-digest's `Digest.Validate` for the algorithms the kubelet links in.
fn validate_digest(d: &str) -> Result<(), String> {
    let (alg, hex) = d.split_once(':').unwrap_or((d, ""));
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err("unsupported digest algorithm".into()),
    };
    if hex.len() != len {
        return Err("invalid checksum digest length".into());
    }
    if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err("invalid checksum digest format".into());
    }
    Ok(())
}

/// The anchored `ReferenceRegexp`, hand-written: `name [":" tag] ["@" digest]`.
fn match_reference(s: &str) -> Option<Parts<'_>> {
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (s, None),
    };
    if let Some(d) = digest
        && !is_digest_pattern(d)
    {
        return None;
    }
    // A tag follows the last ':' only if no '/' comes after it; remote names never hold ':'.
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag
        && !is_tag(t)
    {
        return None;
    }
    let (domain, path) = split_name(name)?;
    Some(Parts {
        domain,
        path,
        tag,
        digest,
    })
}

/// `anchoredNameRegexp`: an optional `domain/` then a remote name.
fn split_name(name: &str) -> Option<(&str, &str)> {
    if let Some((domain, path)) = name.split_once('/')
        && is_domain(domain)
        && is_remote_name(path)
    {
        return Some((domain, path));
    }
    is_remote_name(name).then_some(("", name))
}

fn is_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = t.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= TAG_MAX
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}`.
fn is_digest_pattern(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `remoteName`: path components separated by `/`.
fn is_remote_name(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep_start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        debug_assert!(i > sep_start);
    }
}

/// `domainAndPort`: a DNS-ish name or `[ipv6]`, with an optional `:port`.
fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return false;
        };
        let v6 = &inner[..end];
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        let after = &inner[end + 1..];
        match after.strip_prefix(':') {
            Some(port) => ("v6", Some(port)),
            None if after.is_empty() => ("v6", None),
            None => return false,
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    host == "v6" && s.starts_with('[') || host.split('.').all(is_domain_component)
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn ok(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn reason(s: &str) -> String {
        match ImageRef::parse(s) {
            Ok(r) => panic!("{s:?} should be invalid, parsed as {r:?}"),
            Err(e) => e.reason,
        }
    }

    #[test]
    fn valid_references_normalise_like_containerd() {
        let table: &[(&str, &str, &str, &str)] = &[
            // input, name(), normalized(), familiar()
            (
                "nginx",
                "docker.io/library/nginx",
                "docker.io/library/nginx:latest",
                "nginx",
            ),
            (
                "nginx:1.25",
                "docker.io/library/nginx",
                "docker.io/library/nginx:1.25",
                "nginx:1.25",
            ),
            (
                "library/nginx",
                "docker.io/library/nginx",
                "docker.io/library/nginx:latest",
                "nginx",
            ),
            (
                "docker.io/nginx",
                "docker.io/library/nginx",
                "docker.io/library/nginx:latest",
                "nginx",
            ),
            (
                "index.docker.io/nginx:1.27",
                "docker.io/library/nginx",
                "docker.io/library/nginx:1.27",
                "nginx:1.27",
            ),
            (
                "curlimages/curl:8.10.1",
                "docker.io/curlimages/curl",
                "docker.io/curlimages/curl:8.10.1",
                "curlimages/curl:8.10.1",
            ),
            (
                "localhost:5000/a/b:c",
                "localhost:5000/a/b",
                "localhost:5000/a/b:c",
                "localhost:5000/a/b:c",
            ),
            (
                "localhost/app",
                "localhost/app",
                "localhost/app:latest",
                "localhost/app",
            ),
            (
                "registry.k8s.io/pause:3.9",
                "registry.k8s.io/pause",
                "registry.k8s.io/pause:3.9",
                "registry.k8s.io/pause:3.9",
            ),
            (
                "a__b--c.d_e:Latest_1.0-x",
                "docker.io/library/a__b--c.d_e",
                "docker.io/library/a__b--c.d_e:Latest_1.0-x",
                "a__b--c.d_e:Latest_1.0-x",
            ),
            (
                "[::1]:5000/app:v1",
                "[::1]:5000/app",
                "[::1]:5000/app:v1",
                "[::1]:5000/app:v1",
            ),
        ];
        for (input, name, normalized, familiar) in table {
            let r = ok(input);
            assert_eq!(r.name(), *name, "{input}");
            assert_eq!(r.normalized(), *normalized, "{input}");
            assert_eq!(r.familiar(), *familiar, "{input}");
        }
        let r = ok("registry.k8s.io/pause:3.9");
        assert_eq!(
            (r.domain.as_str(), r.path.as_str()),
            ("registry.k8s.io", "pause")
        );
        assert_eq!(r.tag.as_deref(), Some("3.9"));
    }

    /// The engine's vector (it was `kq-engine`'s `normalize_image` test); the digest is a full
    /// sha256 now that the one parser checks it.
    #[test]
    fn images_normalise_like_containerd() {
        let cases = [
            ("nginx", "docker.io/library/nginx:latest".to_string()),
            ("nginx:1.25", "docker.io/library/nginx:1.25".to_string()),
            ("bitnami/redis:7", "docker.io/bitnami/redis:7".to_string()),
            (
                "docker.io/library/nginx:1.25",
                "docker.io/library/nginx:1.25".to_string(),
            ),
            (
                "localhost:5000/app",
                "localhost:5000/app:latest".to_string(),
            ),
            (
                "registry.kq.local/team/app:v2",
                "registry.kq.local/team/app:v2".to_string(),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), want, "{input}");
        }
        assert_eq!(
            normalize(&format!("nginx@{D}")),
            format!("docker.io/library/nginx@{D}")
        );
        assert_eq!(normalize(" nginx "), "docker.io/library/nginx:latest");
        assert_eq!(normalize("nginx:"), "nginx:", "unparsable: as written");
    }

    /// Where the engine's old normaliser and the cluster's parser disagreed: an upper-case first
    /// component is a registry host (`splitDockerDomain`), not a Docker Hub namespace; upper case
    /// in the repository path stays an error.
    #[test]
    fn an_upper_case_first_component_is_a_host() {
        let r = ok("MyRegistry/app:1");
        assert_eq!((r.domain.as_str(), r.path.as_str()), ("MyRegistry", "app"));
        assert_eq!(normalize("MyRegistry/app:1"), "MyRegistry/app:1");
        assert_eq!(
            normalize("Registry.Example.com:5000/team/app"),
            "Registry.Example.com:5000/team/app:latest"
        );
        assert_eq!(
            reason("registry.example.com/Team/app"),
            "invalid reference format: repository name (Team/app) must be lowercase"
        );
    }

    #[test]
    fn digest_references_drop_the_tag_when_normalised() {
        let r = ok(&format!("nginx@{D}"));
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.tag, None);
        assert_eq!(r.normalized(), format!("docker.io/library/nginx@{D}"));
        assert_eq!(r.tag_or_latest(), None);

        let r = ok(&format!("nginx:1.25@{D}"));
        assert_eq!(r.tag.as_deref(), Some("1.25"));
        assert_eq!(r.normalized(), format!("docker.io/library/nginx@{D}"));
    }

    #[test]
    fn invalid_references_give_the_distribution_error() {
        let fmt = "invalid reference format";
        assert_eq!(
            reason("Nginx"),
            "invalid reference format: repository name (library/Nginx) must be lowercase"
        );
        assert_eq!(
            reason("myorg/MyApp:1"),
            "invalid reference format: repository name (myorg/MyApp) must be lowercase"
        );
        assert_eq!(reason("nginx:"), fmt);
        assert_eq!(reason(":tag"), fmt);
        assert_eq!(reason("nginx::1"), fmt);
        assert_eq!(reason("nginx:tag with space"), fmt);
        assert_eq!(reason(""), fmt);
        assert_eq!(reason("nginx/"), fmt);
        assert_eq!(reason("nginx//x"), fmt);
        assert_eq!(reason("-nginx"), fmt);
        assert_eq!(reason("nginx:-1"), fmt);
        assert_eq!(reason("https://registry.example.com/app:1"), fmt);
        assert_eq!(reason(&format!("nginx:{}", "a".repeat(129))), fmt);
        assert!(ImageRef::parse(&format!("nginx:{}", "a".repeat(128))).is_ok());
        assert_eq!(
            reason("nginx@sha256:abc"),
            fmt,
            "shorter than the 32-hex pattern"
        );
        assert_eq!(
            reason(&format!("nginx@sha256:{}", "a".repeat(40))),
            "invalid checksum digest length"
        );
        assert_eq!(
            reason(&format!("nginx@md5:{}", "a".repeat(32))),
            "unsupported digest algorithm"
        );
        assert_eq!(
            reason(&format!("nginx@sha256:{}", "A".repeat(64))),
            "invalid checksum digest format"
        );
        assert_eq!(
            reason(&"a".repeat(64)),
            format!(
                "invalid repository name ({}), cannot specify 64-byte hexadecimal strings",
                "a".repeat(64)
            )
        );
        assert_eq!(
            reason(&format!("x/{}", "a".repeat(260))),
            "repository name must not be more than 255 characters"
        );
    }

    #[test]
    fn invalid_reference_displays_the_kubelet_message() {
        let e = ImageRef::parse("nginx:").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"Failed to apply default image tag "nginx:": couldn't parse image name "nginx:": invalid reference format"#
        );
        let e = ImageRef::parse("Nginx").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Failed to apply default image tag \"Nginx\": couldn't parse image name \"Nginx\": \
             invalid reference format: repository name (library/Nginx) must be lowercase"
        );
    }
}

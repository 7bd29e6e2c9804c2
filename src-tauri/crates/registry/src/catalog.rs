//! The offline registry: which repositories and tags exist, what is inside each image, and
//! how its main process behaves. Built from YAML (the embedded `builtin.yaml` plus teacher or
//! mission files merged with [`Catalog::add_yaml`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::pull::{PullError, RegistryCredential};
use super::reference::{DOCKER_HUB, ImageRef};

/// The catalog format this code reads (`format: 1`).
pub const FORMAT: u32 = 1;

const BUILTIN: &str = include_str!("builtin.yaml");

/// How an image's main process behaves once started. Log lines may hold placeholders that the
/// container runtime fills when it writes them:
///
/// - `{time:nginx}` → `2024/05/01 12:00:00` (nginx error log),
/// - `{time:redis}` → `01 May 2024 12:00:00.000`,
/// - `{time:mysql}` → `2024-05-01 12:00:00+00:00` (the MySQL entrypoint's
///   `date --rfc-3339=seconds`),
/// - `{kernel}` → the node's kernel release (nginx prints `OS: Linux <release>`),
/// - `{time:mysqld}` → `2024-05-01T12:00:00.000000Z` (mysqld's own log),
/// - `{time:postgres}` → `2024-05-01 12:00:00.000 UTC`,
/// - `{time:httpd}` → `Wed May 01 12:00:00.000000 2024`,
/// - `{time:klog}` → `0501 12:00:00.000000` (a klog header after its severity letter),
/// - `{pod_ip}` → the pod's IP address.
///
/// `{env:NAME}` placeholders are filled by [`Catalog::resolve`] from the image's environment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Behaviour {
    /// Runs until stopped, listens on `ports`, answers HTTP 200 on the `http` paths and prints
    /// `logs` at start.
    Server {
        #[serde(default)]
        ports: Vec<u16>,
        #[serde(default)]
        http: Vec<String>,
        memory_mib: u32,
        #[serde(default)]
        logs: Vec<String>,
    },
    /// The image's programs are run by the simulated `sh`; the default command (busybox's
    /// `sh`) exits 0 at once without a TTY.
    Shell { memory_mib: u32 },
    /// Like a server, but needs one group of `requires_env` fully set (non-empty); otherwise it
    /// prints `missing_env_logs` and exits 1.
    Database {
        #[serde(default)]
        ports: Vec<u16>,
        memory_mib: u32,
        #[serde(default)]
        logs: Vec<String>,
        requires_env: Vec<Vec<String>>,
        missing_env_logs: Vec<String>,
    },
    /// python / node: with no script argument the REPL exits 0 at once (no TTY); with one it
    /// runs until stopped.
    Interpreter {
        memory_mib: u32,
        #[serde(default)]
        logs: Vec<String>,
    },
    /// A stress tool: memory use comes from the `memory_arg` argument (`--vm-bytes 150M`).
    Memory { memory_arg: String, memory_mib: u32 },
    /// Sleeps until stopped (the pause container).
    Pause { memory_mib: u32 },
    /// A client-go program that lists the pods of its namespace every 10 s as its pod's
    /// ServiceAccount and logs the names, or the API server's refusal.
    PodLister { memory_mib: u32 },
}

impl Behaviour {
    /// Steady-state memory use in MiB (for `Memory`, the base before the argument's bytes).
    pub fn memory_mib(&self) -> u32 {
        match self {
            Behaviour::Server { memory_mib, .. }
            | Behaviour::Shell { memory_mib }
            | Behaviour::Database { memory_mib, .. }
            | Behaviour::Interpreter { memory_mib, .. }
            | Behaviour::Memory { memory_mib, .. }
            | Behaviour::Pause { memory_mib }
            | Behaviour::PodLister { memory_mib } => *memory_mib,
        }
    }

    /// The `kind` as written in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            Behaviour::Server { .. } => "server",
            Behaviour::Shell { .. } => "shell",
            Behaviour::Database { .. } => "database",
            Behaviour::Interpreter { .. } => "interpreter",
            Behaviour::Memory { .. } => "memory",
            Behaviour::Pause { .. } => "pause",
            Behaviour::PodLister { .. } => "pod_lister",
        }
    }

    /// Lines printed at start (for a database whose environment is complete).
    pub fn logs(&self) -> &[String] {
        match self {
            Behaviour::Server { logs, .. }
            | Behaviour::Database { logs, .. }
            | Behaviour::Interpreter { logs, .. } => logs,
            _ => &[],
        }
    }

    /// For `Database`: whether `env` sets every variable of at least one `requires_env` group
    /// to a non-empty value (the entrypoints test `[ -z "$VAR" ]`). Other kinds need nothing.
    pub fn env_satisfied(&self, env: &[(String, String)]) -> bool {
        let Behaviour::Database { requires_env, .. } = self else {
            return true;
        };
        let set = |name: &String| env.iter().any(|(k, v)| k == name && !v.is_empty());
        requires_env.is_empty() || requires_env.iter().any(|group| group.iter().all(set))
    }

    /// For `Memory`: the bytes requested by `memory_arg` in `args` (`--vm-bytes 150M` or
    /// `--vm-bytes=150M`; suffixes b, k, m, g as stress reads them, powers of 1024).
    pub fn requested_memory_bytes(&self, args: &[String]) -> Option<u64> {
        let Behaviour::Memory { memory_arg, .. } = self else {
            return None;
        };
        let prefix = format!("{memory_arg}=");
        let value = args.iter().enumerate().find_map(|(i, a)| {
            if a == memory_arg {
                args.get(i + 1).map(String::as_str)
            } else {
                a.strip_prefix(&prefix)
            }
        })?;
        parse_stress_size(value)
    }

    fn substitute_env(&mut self, env: &[(String, String)]) {
        let fill = |lines: &mut Vec<String>| {
            for line in lines.iter_mut() {
                for (k, v) in env {
                    let key = format!("{{env:{k}}}");
                    if line.contains(&key) {
                        *line = line.replace(&key, v);
                    }
                }
            }
        };
        match self {
            Behaviour::Server { logs, .. } | Behaviour::Interpreter { logs, .. } => fill(logs),
            Behaviour::Database {
                logs,
                missing_env_logs,
                ..
            } => {
                fill(logs);
                fill(missing_env_logs);
            }
            _ => {}
        }
    }
}

/// `stress` sizes: a number with an optional b/k/m/g suffix (1024-based).
fn parse_stress_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, mult) = match s.chars().last()?.to_ascii_lowercase() {
        'b' => (&s[..s.len() - 1], 1),
        'k' => (&s[..s.len() - 1], 1 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// A login a private repository accepts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

/// One tag of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag name, e.g. `1.25`.
    pub tag: String,
    /// The manifest digest, `sha256:<64 lowercase hex>`.
    pub digest: String,
    /// Compressed size in bytes (what the kubelet reports as `Image size`).
    pub size: u64,
    /// Environment entries that differ from the repository's (e.g. `NGINX_VERSION`).
    pub env: Vec<(String, String)>,
    /// Executables in `$PATH` when they differ from the repository's (alpine variants).
    pub binaries: Option<BTreeSet<String>>,
    /// Behaviour when it differs from the repository's (version-specific start-up logs).
    pub behaviour: Option<Behaviour>,
}

/// One repository, e.g. `docker.io/library/nginx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// The full name, e.g. `docker.io/library/nginx`.
    pub name: String,
    /// The registry host, e.g. `docker.io`.
    pub domain: String,
    /// The path inside the registry, e.g. `library/nginx`.
    pub path: String,
    /// Private repositories need one of `credentials`.
    pub private: bool,
    pub credentials: Vec<Credential>,
    pub binaries: BTreeSet<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// The image config's `USER` (`65535:65535`, `curl_user`); empty when the image sets
    /// none, so its processes run as root.
    pub user: String,
    pub env: Vec<(String, String)>,
    pub behaviour: Behaviour,
    pub tags: Vec<Tag>,
}

impl Repo {
    /// The tag called `name`.
    pub fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.tag == name)
    }

    /// The tag whose manifest has `digest`.
    pub fn tag_by_digest(&self, digest: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.digest == digest)
    }
}

/// Everything the runtime needs to start a container from a pulled image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    pub reference: ImageRef,
    /// Normalised reference, containerd's `image`: `docker.io/library/nginx:1.25`.
    pub image: String,
    /// containerd's `imageID`: `docker.io/library/nginx@sha256:…`.
    pub image_id: String,
    /// `sha256:…`.
    pub digest: String,
    /// Compressed size in bytes.
    pub size_bytes: u64,
    /// With `{env:…}` placeholders filled.
    pub behaviour: Behaviour,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// The image config's `USER`, empty for root (see [`Repo::user`]).
    pub user: String,
    /// In image order, tag overrides applied.
    pub env: Vec<(String, String)>,
    pub binaries: BTreeSet<String>,
}

/// A catalog file that could not be used, explained for a teacher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    /// The file (or `builtin.yaml`).
    pub source: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The field at fault, when known (`privat`, `repositories[2].tags[0].digest`).
    pub field: Option<String>,
    /// What is wrong, in plain words.
    pub problem: String,
    /// What to do about it.
    pub next_step: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}. {}", self.problem, self.next_step)
    }
}

impl std::error::Error for CatalogError {}

// ---------------------------------------------------------------------------------------------
// The YAML file.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    format: u32,
    #[serde(default)]
    repositories: Vec<RepoSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoSpec {
    name: String,
    #[serde(default)]
    private: Option<bool>,
    #[serde(default)]
    credentials: Option<Vec<Credential>>,
    #[serde(default)]
    binaries: Option<BTreeSet<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    env: Option<OrderedEnv>,
    #[serde(default)]
    behaviour: Option<Behaviour>,
    #[serde(default)]
    tags: Vec<TagSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagSpec {
    tag: String,
    digest: String,
    size: u64,
    #[serde(default)]
    env: Option<OrderedEnv>,
    #[serde(default)]
    binaries: Option<BTreeSet<String>>,
    #[serde(default)]
    behaviour: Option<Behaviour>,
}

/// A YAML mapping of environment variables, kept in file order.
#[derive(Default)]
struct OrderedEnv(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedEnv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedEnv;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of variable names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedEnv, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    set_env(&mut out, k, v);
                }
                Ok(OrderedEnv(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn set_env(env: &mut Vec<(String, String)>, key: String, value: String) {
    match env.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => env.push((key, value)),
    }
}

// ---------------------------------------------------------------------------------------------

/// The offline registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    repos: BTreeMap<String, Repo>,
}

impl Catalog {
    /// An empty catalog (every pull fails).
    pub fn empty() -> Catalog {
        Catalog::default()
    }

    /// The catalog shipped with KubeQuest (`builtin.yaml`).
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog::default();
        if let Err(e) = catalog.add_yaml(BUILTIN, "builtin.yaml") {
            // The embedded file is checked by the tests; reaching this is a build defect.
            panic!("the embedded image catalog is invalid: {e}");
        }
        catalog
    }

    /// All repositories, by full name.
    pub fn repositories(&self) -> impl Iterator<Item = &Repo> {
        self.repos.values()
    }

    /// Merges a catalog file: new repositories are added; for a repository already known, the
    /// fields the file sets replace the old ones and its tags are added (a tag of the same name
    /// is replaced). Nothing changes when the file has an error.
    pub fn add_yaml(&mut self, yaml: &str, source: &str) -> Result<(), CatalogError> {
        let spec: FileSpec = serde_yaml_ng::from_str(yaml).map_err(|e| yaml_error(source, &e))?;
        let err = |field: String, problem: String, next_step: &str| CatalogError {
            source: source.to_string(),
            line: None,
            field: Some(field),
            problem,
            next_step: next_step.to_string(),
        };
        if spec.format != FORMAT {
            return Err(err(
                "format".into(),
                format!("format {} is not one KubeQuest reads", spec.format),
                "Write `format: 1` at the top of the file.",
            ));
        }
        let mut merged = self.repos.clone();
        for (i, r) in spec.repositories.into_iter().enumerate() {
            let at = |f: &str| format!("repositories[{i}].{f}");
            let reference = ImageRef::parse(&r.name).map_err(|e| {
                err(
                    at("name"),
                    format!("{:?} is not a valid repository name ({})", r.name, e.reason),
                    "Use a lowercase name such as `nginx`, `myorg/app` or \
                     `registry.example.com/team/app`.",
                )
            })?;
            if reference.tag.is_some() || reference.digest.is_some() {
                return Err(err(
                    at("name"),
                    format!("{:?} names a tag or digest", r.name),
                    "Put only the repository in `name` and list versions under `tags`.",
                ));
            }
            let name = reference.name();
            let mut tags = Vec::new();
            for (j, t) in r.tags.into_iter().enumerate() {
                let tat = |f: &str| at(&format!("tags[{j}].{f}"));
                if ImageRef::parse(&format!("x:{}", t.tag)).is_err() {
                    return Err(err(
                        tat("tag"),
                        format!("{:?} is not a valid tag", t.tag),
                        "Tags use letters, digits, `_`, `.` and `-`, start with a letter, digit or \
                         `_`, and have at most 128 characters.",
                    ));
                }
                if !is_sha256(&t.digest) {
                    return Err(err(
                        tat("digest"),
                        format!("{:?} is not a sha256 digest", t.digest),
                        "Write `sha256:` followed by 64 lowercase hexadecimal characters.",
                    ));
                }
                tags.push(Tag {
                    tag: t.tag,
                    digest: t.digest,
                    size: t.size,
                    env: t.env.unwrap_or_default().0,
                    binaries: t.binaries,
                    behaviour: t.behaviour,
                });
            }
            let repo = match merged.remove(&name) {
                Some(mut old) => {
                    if let Some(v) = r.private {
                        old.private = v;
                    }
                    if let Some(v) = r.credentials {
                        old.credentials = v;
                    }
                    if let Some(v) = r.binaries {
                        old.binaries = v;
                    }
                    if let Some(v) = r.entrypoint {
                        old.entrypoint = v;
                    }
                    if let Some(v) = r.cmd {
                        old.cmd = v;
                    }
                    if let Some(v) = r.user {
                        old.user = v;
                    }
                    if let Some(v) = r.env {
                        old.env = v.0;
                    }
                    if let Some(v) = r.behaviour {
                        old.behaviour = v;
                    }
                    for t in tags {
                        match old.tags.iter_mut().find(|o| o.tag == t.tag) {
                            Some(slot) => *slot = t,
                            None => old.tags.push(t),
                        }
                    }
                    old
                }
                None => {
                    let Some(behaviour) = r.behaviour else {
                        return Err(err(
                            at("behaviour"),
                            format!("repository {name} is new, so it needs a behaviour"),
                            "Add `behaviour: {kind: server, memory_mib: 10}` (kinds: server, shell, \
                             database, interpreter, memory, pause, pod_lister).",
                        ));
                    };
                    if tags.is_empty() {
                        return Err(err(
                            at("tags"),
                            format!("repository {name} is new and lists no tags"),
                            "Add at least one entry under `tags` with tag, digest and size.",
                        ));
                    }
                    Repo {
                        name: name.clone(),
                        domain: reference.domain,
                        path: reference.path,
                        private: r.private.unwrap_or(false),
                        credentials: r.credentials.unwrap_or_default(),
                        binaries: r.binaries.unwrap_or_default(),
                        entrypoint: r.entrypoint.unwrap_or_default(),
                        cmd: r.cmd.unwrap_or_default(),
                        user: r.user.unwrap_or_default(),
                        env: r.env.unwrap_or_default().0,
                        behaviour,
                        tags,
                    }
                }
            };
            if repo.private && repo.credentials.is_empty() {
                return Err(err(
                    at("credentials"),
                    format!("repository {name} is private but accepts no credentials"),
                    "Add `credentials: [{username: ..., password: ...}]` or set `private: false`.",
                ));
            }
            merged.insert(name, repo);
        }
        self.repos = merged;
        Ok(())
    }

    /// The repository and tag a reference names, without any credential check.
    pub fn lookup(&self, r: &ImageRef) -> Result<(&Repo, &Tag), PullError> {
        let image = r.normalized();
        let Some(repo) = self.repos.get(&r.name()) else {
            return Err(self.unknown_repository(r));
        };
        let tag = match (&r.digest, r.tag_or_latest()) {
            (Some(digest), _) => repo.tag_by_digest(digest),
            (None, Some(tag)) => repo.tag(tag),
            (None, None) => None,
        };
        tag.map(|t| (repo, t)).ok_or(PullError::NotFound { image })
    }

    /// Pulls `image` (as written in the pod spec) with the logins from the pod's image pull
    /// secrets. A reference that does not parse is reported as a `NotFound` here; callers
    /// should parse with [`ImageRef::parse`] first to report `InvalidImageName`.
    pub fn resolve(
        &self,
        image: &str,
        creds: &[RegistryCredential],
    ) -> Result<ResolvedImage, PullError> {
        let reference = ImageRef::parse(image).map_err(|_| PullError::NotFound {
            image: image.to_string(),
        })?;
        let normalized = reference.normalized();
        // A registry asks for credentials before it says whether the manifest exists.
        let repo_on_host = self.repos.values().find(|r| r.domain == reference.domain);
        if let Some(repo) = self.repos.get(&reference.name()) {
            if repo.private {
                self.check_credentials(repo, &reference, creds)?;
            }
        } else if let Some(host_repo) = repo_on_host
            && host_repo.private
            && reference.domain != DOCKER_HUB
        {
            // Unknown repository on a private registry: it still demands a login first.
            self.check_credentials(host_repo, &reference, creds)?;
        }
        let (repo, tag) = self.lookup(&reference)?;
        let mut env = repo.env.clone();
        for (k, v) in &tag.env {
            set_env(&mut env, k.clone(), v.clone());
        }
        let mut behaviour = tag
            .behaviour
            .clone()
            .unwrap_or_else(|| repo.behaviour.clone());
        behaviour.substitute_env(&env);
        Ok(ResolvedImage {
            image: normalized,
            image_id: format!("{}@{}", repo.name, tag.digest),
            digest: tag.digest.clone(),
            size_bytes: tag.size,
            behaviour,
            entrypoint: repo.entrypoint.clone(),
            cmd: repo.cmd.clone(),
            user: repo.user.clone(),
            env,
            binaries: tag
                .binaries
                .clone()
                .unwrap_or_else(|| repo.binaries.clone()),
            reference,
        })
    }

    fn unknown_repository(&self, r: &ImageRef) -> PullError {
        let image = r.normalized();
        if r.domain == DOCKER_HUB {
            return PullError::AccessDenied { image };
        }
        if self.repos.values().any(|repo| repo.domain == r.domain) {
            // A registry we know (registry.k8s.io, the academy registry): HEAD answers 404.
            return PullError::NotFound { image };
        }
        let host = r.domain.split(':').next().unwrap_or_default();
        PullError::UnknownHost {
            detail: format!(
                "failed to do request: Head \"{}\": dial tcp: lookup {host} on 127.0.0.53:53: \
                 no such host",
                manifest_url(r)
            ),
            image,
        }
    }

    /// Docker Hub uses bearer tokens; other registries in the catalog use basic auth, as a
    /// self-hosted `registry:2` with htpasswd does.
    fn check_credentials(
        &self,
        repo: &Repo,
        r: &ImageRef,
        creds: &[RegistryCredential],
    ) -> Result<(), PullError> {
        let image = r.normalized();
        let offered: Vec<&RegistryCredential> =
            creds.iter().filter(|c| c.matches(&r.domain)).collect();
        let accepted = offered.iter().any(|c| {
            repo.credentials
                .iter()
                .any(|ok| ok.username == c.username && ok.password == c.password)
        });
        if accepted {
            return Ok(());
        }
        if r.domain == DOCKER_HUB {
            if offered.is_empty() {
                return Err(PullError::AccessDenied { image });
            }
            return Err(PullError::Unauthorized {
                detail: format!(
                    "failed to authorize: failed to fetch oauth token: unexpected status from GET \
                     request to https://auth.docker.io/token?scope=repository%3A{}%3Apull&service=registry.docker.io: \
                     401 Unauthorized",
                    r.path.replace('/', "%2F")
                ),
                image,
            });
        }
        let detail = if offered.is_empty() {
            "pull access denied, repository does not exist or may require authorization: \
             authorization failed: no basic auth credentials"
                .to_string()
        } else {
            format!(
                "unexpected status from HEAD request to {}: 401 Unauthorized",
                manifest_url(r)
            )
        };
        Err(PullError::Unauthorized { image, detail })
    }
}

/// `https://<host>/v2/<path>/manifests/<tag or digest>`, the request the resolver makes.
fn manifest_url(r: &ImageRef) -> String {
    let reference = r
        .digest
        .as_deref()
        .or(r.tag_or_latest())
        .unwrap_or("latest");
    format!("https://{}/v2/{}/manifests/{reference}", r.domain, r.path)
}

fn is_sha256(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn yaml_error(source: &str, e: &serde_yaml_ng::Error) -> CatalogError {
    let message = e.to_string();
    // serde_yaml_ng appends " at line L column C"; the line is reported separately.
    let problem = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    let field = between(&problem, "unknown field `", "`")
        .or_else(|| between(&problem, "missing field `", "`"))
        .map(str::to_string)
        .or_else(|| {
            // "repositories[0].tags[1]: invalid type…" names the path before the colon.
            problem
                .split_once(": ")
                .map(|(path, _)| path)
                .filter(|p| !p.contains(' '))
                .map(str::to_string)
        });
    let next_step = if problem.contains("unknown field") {
        "Check the spelling; the allowed fields are listed after `expected`."
    } else if problem.contains("missing field") {
        "Add the missing field."
    } else if problem.contains("unknown variant") {
        "Use one of the values listed after `expected`."
    } else {
        "Fix the YAML at that line; indentation and quoting are the usual causes."
    };
    CatalogError {
        source: source.to_string(),
        line: e.location().map(|l| l.line()),
        field,
        problem,
        next_step: next_step.to_string(),
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pull::credentials_from_dockerconfigjson;

    /// The placeholders documented on `Behaviour` that the runtime fills.
    const PLACEHOLDERS: &[&str] = &[
        "{time:nginx}",
        "{time:redis}",
        "{time:mysql}",
        "{time:mysqld}",
        "{time:postgres}",
        "{time:httpd}",
        "{time:klog}",
        "{kernel}",
        "{pod_ip}",
    ];

    fn cred(registry: &str, username: &str, password: &str) -> RegistryCredential {
        RegistryCredential {
            registry: registry.into(),
            username: username.into(),
            password: password.into(),
        }
    }

    #[test]
    fn every_builtin_tag_resolves_by_tag_and_by_digest() {
        let c = Catalog::builtin();
        let mut digests = BTreeSet::new();
        let mut count = 0;
        for repo in c.repositories() {
            let creds: Vec<RegistryCredential> = repo
                .credentials
                .iter()
                .map(|k| cred(&repo.domain, &k.username, &k.password))
                .collect();
            for tag in &repo.tags {
                count += 1;
                assert!(
                    digests.insert(tag.digest.clone()),
                    "duplicate digest {}",
                    tag.digest
                );
                let image = format!("{}:{}", repo.name, tag.tag);
                let r = c
                    .resolve(&image, &creds)
                    .unwrap_or_else(|e| panic!("{image}: {e}"));
                assert_eq!(r.image, image);
                assert_eq!(r.image_id, format!("{}@{}", repo.name, tag.digest));
                assert_eq!(r.size_bytes, tag.size);
                assert!(tag.size > 0);
                let by_digest = c
                    .resolve(&format!("{}@{}", repo.name, tag.digest), &creds)
                    .unwrap();
                assert_eq!(by_digest.image_id, r.image_id);
                let missing = match &r.behaviour {
                    Behaviour::Database {
                        missing_env_logs, ..
                    } => missing_env_logs.as_slice(),
                    _ => &[],
                };
                for line in r.behaviour.logs().iter().chain(missing) {
                    let mut rest = line.as_str();
                    while let Some(i) = rest.find('{') {
                        let end = rest[i..].find('}').map(|e| i + e + 1).unwrap_or(rest.len());
                        let placeholder = &rest[i..end];
                        // JSON (etcd's zap lines) and Go's %+v keep literal braces: only a
                        // lower-case word right after `{` is meant as a placeholder.
                        let literal = !rest[i + 1..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_lowercase());
                        if literal {
                            rest = &rest[i + 1..];
                            continue;
                        }
                        assert!(
                            PLACEHOLDERS.contains(&placeholder),
                            "{image}: unknown placeholder {placeholder} in {line}"
                        );
                        rest = &rest[end..];
                    }
                }
            }
        }
        assert!(count >= 50, "only {count} tags");
    }

    #[test]
    fn images_say_which_user_they_run_as() {
        // The kubelet's runAsNonRoot check reads this: no USER means root.
        let c = Catalog::builtin();
        let user = |image: &str| c.resolve(image, &[]).expect(image).user;
        assert_eq!(user("nginx"), "");
        assert_eq!(user("busybox"), "");
        assert_eq!(user("registry.k8s.io/pause:3.10"), "65535:65535");
        assert_eq!(user("curlimages/curl"), "curl_user");
        let mut t = Catalog::builtin();
        t.add_yaml(
            "format: 1\nrepositories:\n  - name: busybox\n    user: \"1000\"\n",
            "teacher.yaml",
        )
        .expect("a user override merges");
        assert_eq!(t.resolve("busybox", &[]).expect("busybox").user, "1000");
    }

    #[test]
    fn builtin_has_the_lesson_images() {
        let c = Catalog::builtin();
        for image in [
            "nginx:1.25",
            "nginx:1.25.5",
            "nginx:1.26",
            "nginx:1.27",
            "nginx:1.27.3",
            "nginx",
            "nginx:alpine",
            "nginx:stable",
            "httpd:2.4",
            "httpd",
            "httpd:alpine",
            "busybox:1.36",
            "busybox:1.36.1",
            "busybox:1.37",
            "busybox",
            "busybox:stable",
            "alpine:3.19",
            "alpine:3.20",
            "alpine:3.21",
            "alpine",
            "redis:7",
            "redis:7.2",
            "redis:7.4",
            "redis",
            "redis:alpine",
            "mysql:8.0",
            "mysql:8.4",
            "mysql:9",
            "mysql",
            "postgres:15",
            "postgres:16",
            "postgres:17",
            "postgres",
            "postgres:alpine",
            "python:3.12",
            "python:3.13",
            "python:3.12-slim",
            "python",
            "node:20",
            "node:22",
            "node:lts",
            "node",
            "node:alpine",
            "curlimages/curl:8.10.1",
            "curlimages/curl",
            "registry.k8s.io/pause:3.9",
            "registry.k8s.io/pause:3.10",
            "polinux/stress",
        ] {
            assert!(c.resolve(image, &[]).is_ok(), "{image}");
        }
        let nginx = c.resolve("nginx:1.25", &[]).unwrap();
        assert_eq!(nginx.size_bytes, 72_099_501);
        assert_eq!(nginx.image, "docker.io/library/nginx:1.25");
        assert!(
            nginx
                .image_id
                .starts_with("docker.io/library/nginx@sha256:")
        );
        assert_eq!(nginx.entrypoint, ["/docker-entrypoint.sh"]);
        assert_eq!(nginx.cmd, ["nginx", "-g", "daemon off;"]);
        assert!(
            nginx
                .env
                .iter()
                .any(|(k, v)| k == "NGINX_VERSION" && v == "1.25.5")
        );
        assert!(nginx.binaries.contains("nginx") && nginx.binaries.contains("bash"));
        let logs = nginx.behaviour.logs();
        assert_eq!(
            logs[0],
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        );
        assert!(
            logs.iter()
                .any(|l| l.ends_with("[notice] 1#1: start worker processes"))
        );
        assert!(logs.iter().any(|l| l.ends_with("nginx/1.25.5")), "{logs:?}");

        for bare in ["busybox", "alpine", "alpine:3.20"] {
            let r = c.resolve(bare, &[]).unwrap();
            assert!(
                r.binaries.contains("sh") && !r.binaries.contains("bash"),
                "{bare}"
            );
        }
        assert!(c.resolve("alpine", &[]).unwrap().binaries.contains("apk"));
        assert!(!c.resolve("busybox", &[]).unwrap().binaries.contains("apk"));
        assert!(c.resolve("busybox", &[]).unwrap().binaries.contains("wget"));
        assert_eq!(c.resolve("busybox", &[]).unwrap().cmd, ["sh"]);
        assert!(
            !c.resolve("nginx:alpine", &[])
                .unwrap()
                .binaries
                .contains("bash")
        );

        let pause = c.resolve("registry.k8s.io/pause:3.9", &[]).unwrap();
        assert!(matches!(pause.behaviour, Behaviour::Pause { .. }));
        assert!((300_000..340_000).contains(&pause.size_bytes));
        let busybox = c.resolve("busybox:1.36", &[]).unwrap();
        assert!((2_000_000..2_400_000).contains(&busybox.size_bytes));
    }

    #[test]
    fn database_needs_one_full_env_group() {
        let c = Catalog::builtin();
        let mysql = c.resolve("mysql:8.4", &[]).unwrap();
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(!mysql.behaviour.env_satisfied(&env(&[])));
        assert!(
            !mysql
                .behaviour
                .env_satisfied(&env(&[("MYSQL_ROOT_PASSWORD", "")]))
        );
        assert!(
            mysql
                .behaviour
                .env_satisfied(&env(&[("MYSQL_ROOT_PASSWORD", "x")]))
        );
        assert!(
            mysql
                .behaviour
                .env_satisfied(&env(&[("MYSQL_RANDOM_ROOT_PASSWORD", "yes")]))
        );
        let Behaviour::Database {
            missing_env_logs, ..
        } = &mysql.behaviour
        else {
            panic!("mysql is a database");
        };
        assert!(missing_env_logs.iter().any(|l| l.ends_with(
            "[ERROR] [Entrypoint]: Database is uninitialized and password option is not specified"
        )));
        assert!(
            missing_env_logs
                .iter()
                .any(|l| l.contains("Entrypoint script for MySQL Server 8.4."))
        );
        assert!(missing_env_logs.contains(&"    - MYSQL_RANDOM_ROOT_PASSWORD".to_string()));

        let pg = c.resolve("postgres:16", &[]).unwrap();
        assert!(!pg.behaviour.env_satisfied(&env(&[])));
        assert!(
            pg.behaviour
                .env_satisfied(&env(&[("POSTGRES_PASSWORD", "pw")]))
        );
        let Behaviour::Database {
            missing_env_logs, ..
        } = &pg.behaviour
        else {
            panic!("postgres is a database");
        };
        assert_eq!(
            missing_env_logs[0],
            "Error: Database is uninitialized and superuser password is not specified."
        );
        // Non-databases need nothing.
        assert!(
            c.resolve("nginx", &[])
                .unwrap()
                .behaviour
                .env_satisfied(&[])
        );
    }

    #[test]
    fn stress_memory_argument() {
        let c = Catalog::builtin();
        let stress = c.resolve("polinux/stress", &[]).unwrap();
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let b = &stress.behaviour;
        assert_eq!(
            b.requested_memory_bytes(&args(&[
                "--vm",
                "1",
                "--vm-bytes",
                "150M",
                "--vm-hang",
                "1"
            ])),
            Some(150 * 1024 * 1024)
        );
        assert_eq!(
            b.requested_memory_bytes(&args(&["--vm-bytes=2g"])),
            Some(2 << 30)
        );
        assert_eq!(
            b.requested_memory_bytes(&args(&["--vm-bytes", "512k"])),
            Some(512 << 10)
        );
        assert_eq!(b.requested_memory_bytes(&args(&["--vm", "1"])), None);
        assert_eq!(
            b.requested_memory_bytes(&args(&["--vm-bytes", "lots"])),
            None
        );
        let nginx = c.resolve("nginx", &[]).unwrap();
        assert_eq!(
            nginx
                .behaviour
                .requested_memory_bytes(&args(&["--vm-bytes", "1M"])),
            None
        );
    }

    #[test]
    fn cri_messages_match_containerd() {
        let c = Catalog::builtin();
        assert_eq!(
            c.resolve("nginx:nonexistent", &[])
                .unwrap_err()
                .cri_message(),
            "rpc error: code = NotFound desc = failed to pull and unpack image \
             \"docker.io/library/nginx:nonexistent\": failed to resolve reference \
             \"docker.io/library/nginx:nonexistent\": docker.io/library/nginx:nonexistent: not found"
        );
        assert_eq!(
            c.resolve("nosuchimage", &[]).unwrap_err().cri_message(),
            "failed to pull and unpack image \"docker.io/library/nosuchimage:latest\": failed to \
             resolve reference \"docker.io/library/nosuchimage:latest\": pull access denied, \
             repository does not exist or may require authorization: server message: \
             insufficient_scope: authorization failed"
        );
        assert!(matches!(
            c.resolve("nginz", &[]),
            Err(PullError::AccessDenied { .. })
        ));
        assert_eq!(
            c.resolve("registry.k8s.io/pause:9.9", &[]).unwrap_err(),
            PullError::NotFound {
                image: "registry.k8s.io/pause:9.9".into()
            }
        );
        assert_eq!(
            c.resolve("registry.k8s.io/nothing:1", &[]).unwrap_err(),
            PullError::NotFound {
                image: "registry.k8s.io/nothing:1".into()
            }
        );
        assert_eq!(
            c.resolve("regsitry.example.com/app:1", &[])
                .unwrap_err()
                .cri_message(),
            "failed to pull and unpack image \"regsitry.example.com/app:1\": failed to resolve \
             reference \"regsitry.example.com/app:1\": failed to do request: Head \
             \"https://regsitry.example.com/v2/app/manifests/1\": dial tcp: lookup \
             regsitry.example.com on 127.0.0.53:53: no such host"
        );
        let digest = format!("sha256:{}", "e".repeat(64));
        assert_eq!(
            c.resolve(&format!("nginx@{digest}"), &[]).unwrap_err(),
            PullError::NotFound {
                image: format!("docker.io/library/nginx@{digest}")
            }
        );
    }

    #[test]
    fn private_repository_needs_the_right_login() {
        let c = Catalog::builtin();
        let image = "registry.kubequest.local/academy/secret-app:1.0";
        let secret =
            br#"{"auths":{"registry.kubequest.local":{"auth":"bGVhcm5lcjprdWJlcXVlc3Q="}}}"#;
        let good = credentials_from_dockerconfigjson(secret).unwrap();
        let r = c.resolve(image, &good).unwrap();
        assert_eq!(
            r.image_id.split('@').next(),
            Some("registry.kubequest.local/academy/secret-app")
        );

        assert_eq!(
            c.resolve(image, &[]).unwrap_err().cri_message(),
            "failed to pull and unpack image \"registry.kubequest.local/academy/secret-app:1.0\": \
             failed to resolve reference \"registry.kubequest.local/academy/secret-app:1.0\": \
             pull access denied, repository does not exist or may require authorization: \
             authorization failed: no basic auth credentials"
        );
        // A login for another registry is not offered.
        let elsewhere = [cred("docker.io", "learner", "kubequest")];
        assert_eq!(c.resolve(image, &elsewhere), c.resolve(image, &[]));
        let wrong = [cred("registry.kubequest.local", "learner", "guess")];
        assert_eq!(
            c.resolve(image, &wrong).unwrap_err().cri_message(),
            "failed to pull and unpack image \"registry.kubequest.local/academy/secret-app:1.0\": \
             failed to resolve reference \"registry.kubequest.local/academy/secret-app:1.0\": \
             unexpected status from HEAD request to \
             https://registry.kubequest.local/v2/academy/secret-app/manifests/1.0: 401 Unauthorized"
        );
        // Auth comes before existence: a missing tag without login is still a 401.
        assert!(matches!(
            c.resolve("registry.kubequest.local/academy/secret-app:2.0", &[]),
            Err(PullError::Unauthorized { .. })
        ));
        assert!(matches!(
            c.resolve("registry.kubequest.local/academy/other:1", &[]),
            Err(PullError::Unauthorized { .. })
        ));
        assert!(matches!(
            c.resolve("registry.kubequest.local/academy/secret-app:2.0", &good),
            Err(PullError::NotFound { .. })
        ));
    }

    #[test]
    fn private_docker_hub_repository() {
        let mut c = Catalog::builtin();
        c.add_yaml(
            r#"
format: 1
repositories:
  - name: kqacademy/private-api
    private: true
    credentials: [{username: teacher, password: pw}]
    behaviour: {kind: server, memory_mib: 5, ports: [8080]}
    tags: [{tag: "1", digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", size: 1000}]
"#,
            "mission.yaml",
        )
        .unwrap();
        let image = "kqacademy/private-api:1";
        assert!(matches!(
            c.resolve(image, &[]),
            Err(PullError::AccessDenied { .. })
        ));
        assert_eq!(
            c.resolve(
                image,
                &[cred("https://index.docker.io/v1/", "teacher", "nope")]
            )
            .unwrap_err()
            .cri_message(),
            "failed to pull and unpack image \"docker.io/kqacademy/private-api:1\": failed to \
             resolve reference \"docker.io/kqacademy/private-api:1\": failed to authorize: failed \
             to fetch oauth token: unexpected status from GET request to \
             https://auth.docker.io/token?scope=repository%3Akqacademy%2Fprivate-api%3Apull&service=registry.docker.io: \
             401 Unauthorized"
        );
        assert!(
            c.resolve(image, &[cred("docker.io", "teacher", "pw")])
                .is_ok()
        );
    }

    #[test]
    fn add_yaml_merges_new_repositories_and_tags() {
        let mut c = Catalog::builtin();
        assert!(c.resolve("nginx:1.28", &[]).is_err());
        c.add_yaml(
            r#"
format: 1
repositories:
  - name: nginx
    tags:
      - tag: "1.28"
        digest: sha256:2222222222222222222222222222222222222222222222222222222222222222
        size: 73000000
        env: {NGINX_VERSION: "1.28.0"}
  - name: ghcr.io/kq/hello
    binaries: [hello]
    cmd: [hello]
    env: {B: "2", A: "1"}
    behaviour: {kind: server, ports: [8080], http: ["/"], memory_mib: 3, logs: ["hello {env:A}"]}
    tags:
      - {tag: v1, digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333", size: 5000000}
"#,
            "missions/hello/images.yaml",
        )
        .unwrap();
        let n = c.resolve("nginx:1.28", &[]).unwrap();
        assert_eq!(n.size_bytes, 73_000_000);
        assert!(
            n.behaviour
                .logs()
                .iter()
                .any(|l| l.ends_with("nginx/1.28.0"))
        );
        assert!(n.binaries.contains("nginx"), "repository fields are kept");
        assert!(c.resolve("nginx:1.25", &[]).is_ok(), "old tags are kept");
        let h = c.resolve("ghcr.io/kq/hello:v1", &[]).unwrap();
        assert_eq!(
            h.env,
            [
                ("B".to_string(), "2".to_string()),
                ("A".to_string(), "1".to_string())
            ]
        );
        assert_eq!(h.behaviour.logs(), ["hello 1"]);
        assert_eq!(
            h.image_id,
            format!("ghcr.io/kq/hello@sha256:{}", "3".repeat(64))
        );
    }

    #[test]
    fn add_yaml_reports_unknown_fields_with_their_line() {
        let mut c = Catalog::builtin();
        let before = c.clone();
        let yaml = "format: 1\nrepositories:\n  - name: web\n    privat: true\n    tags: []\n";
        let e = c.add_yaml(yaml, "missions/m1/images.yaml").unwrap_err();
        assert_eq!(e.source, "missions/m1/images.yaml");
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(e.field.as_deref(), Some("privat"));
        let text = e.to_string();
        assert!(
            text.starts_with("missions/m1/images.yaml, line 4, field `privat`: "),
            "{text}"
        );
        assert!(text.contains("Check the spelling"), "{text}");
        assert_eq!(c, before, "nothing changes on error");

        let yaml = "format: 1\nrepositories:\n  - name: web\n    behaviour: {kind: webserver, memory_mib: 1}\n    tags: []\n";
        let e = c.add_yaml(yaml, "x.yaml").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.problem.contains("unknown variant `webserver`"), "{e}");

        let yaml = "format: 1\nrepositories:\n  - name: web\n    behaviour: {kind: server, memory_mib: 1, port: [80]}\n    tags: []\n";
        let e = c.add_yaml(yaml, "x.yaml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("port"), "{e}");
    }

    #[test]
    fn add_yaml_checks_values() {
        let mut c = Catalog::empty();
        let bad_digest = "format: 1\nrepositories:\n  - name: web\n    behaviour: {kind: pause, memory_mib: 1}\n    tags: [{tag: v1, digest: 'sha256:abc', size: 1}]\n";
        let e = c.add_yaml(bad_digest, "x.yaml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("repositories[0].tags[0].digest"));
        assert!(e.next_step.contains("64 lowercase hexadecimal"));

        let no_behaviour = "format: 1\nrepositories:\n  - name: web\n    tags: [{tag: v1, digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000', size: 1}]\n";
        assert_eq!(
            c.add_yaml(no_behaviour, "x.yaml")
                .unwrap_err()
                .field
                .as_deref(),
            Some("repositories[0].behaviour")
        );
        let upper = "format: 1\nrepositories:\n  - name: Web\n    behaviour: {kind: pause, memory_mib: 1}\n";
        assert_eq!(
            c.add_yaml(upper, "x.yaml").unwrap_err().field.as_deref(),
            Some("repositories[0].name")
        );
        let tagged = "format: 1\nrepositories:\n  - name: web:1\n";
        assert!(
            c.add_yaml(tagged, "x.yaml")
                .unwrap_err()
                .problem
                .contains("names a tag")
        );
        let private = "format: 1\nrepositories:\n  - name: web\n    private: true\n    behaviour: {kind: pause, memory_mib: 1}\n    tags: [{tag: v1, digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000', size: 1}]\n";
        assert_eq!(
            c.add_yaml(private, "x.yaml").unwrap_err().field.as_deref(),
            Some("repositories[0].credentials")
        );
        let e = c.add_yaml("format: 2\n", "x.yaml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("format"));
        let e = c.add_yaml("repositories: []\n", "x.yaml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("format"), "{e}");
        assert_eq!(c, Catalog::empty());
    }
}

//! A container process that calls the API server with its pod's credentials, and the seam it
//! calls through. On a real node such a process is a client-go program using
//! `rest.InClusterConfig()`: it reads the ServiceAccount token the kubelet mounts at
//! `/var/run/secrets/kubernetes.io/serviceaccount` and sends it to `kubernetes.default.svc`,
//! where the API server authenticates it as `system:serviceaccount:<ns>:<sa>` and RBAC
//! decides (client-go `rest/config.go`, apiserver `pkg/authentication/serviceaccount`).
//!
//! The runtime reads no API objects itself, so the node hands it an [`ApiClient`]; the
//! mounted token stands for the pod it was mounted into, so a call names that pod and the
//! client acts as the pod's ServiceAccount.
//!
//! [`PodLister`] is the `pod_lister` image behaviour: every 10 s it lists the pods of its
//! namespace and logs, in Go's `log` format, either the names or the refusal exactly as the
//! API server words it (`pods is forbidden: User "system:serviceaccount:dev:default" cannot
//! list resource "pods" in API group "" in the namespace "dev"`), until a RoleBinding lets it.

use std::sync::Arc;
use std::time::Duration;

use kq_shell::ShellEnv;

use super::{MIB, Program, Step};

/// Where the kubelet mounts a pod's ServiceAccount credentials.
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How often the lister lists.
const PERIOD: Duration = Duration::from_secs(10);

/// Calls to the API server made with the credentials mounted into a pod.
pub trait ApiClient: Send + Sync + std::fmt::Debug {
    /// `GET /api/v1/namespaces/<namespace>/pods` with the token mounted into pod
    /// `namespace/pod`: the pods' names, or the message of the Status the server refused
    /// with.
    fn list_pods(&self, namespace: &str, pod: &str) -> Result<Vec<String>, String>;
}

/// The `pod_lister` behaviour's process.
#[derive(Debug)]
pub(crate) struct PodLister {
    api: Option<Arc<dyn ApiClient>>,
    env: ShellEnv,
    /// Virtual time of the next listing.
    now: jiff::Timestamp,
    pending: std::collections::VecDeque<Step>,
    memory: u64,
}

impl PodLister {
    pub(crate) fn new(
        api: Option<Arc<dyn ApiClient>>,
        env: ShellEnv,
        now: jiff::Timestamp,
        memory_mib: u32,
    ) -> Self {
        PodLister {
            api,
            env,
            now,
            pending: Default::default(),
            memory: u64::from(memory_mib) * MIB,
        }
    }

    /// Go's `log` prefix: `2006/01/02 15:04:05 `.
    fn stamp(&self) -> String {
        self.now.strftime("%Y/%m/%d %H:%M:%S ").to_string()
    }

    fn read(&self, file: &str) -> Option<String> {
        self.env
            .fs
            .read_text(file)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// One round: the log line, and whether the process goes on.
    fn list_once(&self) -> (String, bool) {
        let stamp = self.stamp();
        // `rest.InClusterConfig()` fails without the token, and the program exits.
        if self.read(&format!("{SA_DIR}/token")).is_none() {
            return (
                format!(
                    "{stamp}error building in-cluster config: open {SA_DIR}/token: no such file or directory"
                ),
                false,
            );
        }
        let ns = self
            .read(&format!("{SA_DIR}/namespace"))
            .unwrap_or_else(|| "default".into());
        let pod = self.read("/etc/hostname").unwrap_or_default();
        let result = match &self.api {
            Some(api) => api.list_pods(&ns, &pod),
            None => Err(format!(
                "Get \"https://10.96.0.1:443/api/v1/namespaces/{ns}/pods\": dial tcp 10.96.0.1:443: connect: connection refused"
            )),
        };
        let line = match result {
            Ok(names) => format!(
                "{stamp}{} pods in namespace \"{ns}\": {}",
                names.len(),
                names.join(", ")
            ),
            Err(e) => format!("{stamp}error listing pods in namespace \"{ns}\": {e}"),
        };
        (line, true)
    }
}

impl Program for PodLister {
    fn next_step(&mut self) -> Step {
        if let Some(s) = self.pending.pop_front() {
            return s;
        }
        let (line, goes_on) = self.list_once();
        self.pending.push_back(if goes_on {
            Step::Sleep(PERIOD)
        } else {
            Step::Exit(1)
        });
        self.now = self.now.checked_add(PERIOD).unwrap_or(self.now);
        Step::Stderr(format!("{line}\n").into_bytes())
    }
    fn memory_bytes(&self) -> u64 {
        self.memory
    }
    fn handles_sigterm(&self) -> bool {
        true
    }
    fn http(&self, _port: i32, _path: &str) -> Option<u16> {
        None
    }
    fn listens(&self, _port: i32) -> bool {
        false
    }
    fn exec(&mut self, argv: &[String]) -> (i32, String) {
        super::program::exec_in(&self.env, argv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug)]
    struct Fixed(Result<Vec<String>, String>);

    impl ApiClient for Fixed {
        fn list_pods(&self, _ns: &str, _pod: &str) -> Result<Vec<String>, String> {
            self.0.clone()
        }
    }

    fn env(with_token: bool) -> ShellEnv {
        let mut files = BTreeMap::new();
        files.insert("/etc/hostname".to_string(), "lister\n".to_string());
        if with_token {
            files.insert(format!("{SA_DIR}/namespace"), "dev".to_string());
            files.insert(format!("{SA_DIR}/token"), "t".to_string());
        }
        ShellEnv {
            fs: kq_shell::fs::Fs::from_files(&files),
            ..Default::default()
        }
    }

    fn text(s: Step) -> String {
        match s {
            Step::Stderr(b) | Step::Stdout(b) => String::from_utf8_lossy(&b).into_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn it_logs_the_refusal_then_sleeps_ten_seconds() {
        let now = jiff::Timestamp::from_second(1_700_000_000).expect("a time");
        let api: Arc<dyn ApiClient> = Arc::new(Fixed(Err("pods is forbidden: x".into())));
        let mut p = PodLister::new(Some(api), env(true), now, 4);
        assert_eq!(
            text(p.next_step()),
            "2023/11/14 22:13:20 error listing pods in namespace \"dev\": pods is forbidden: x\n"
        );
        assert_eq!(p.next_step(), Step::Sleep(PERIOD));
        assert!(text(p.next_step()).starts_with("2023/11/14 22:13:30 "));
    }

    #[test]
    fn it_logs_the_names_once_allowed() {
        let now = jiff::Timestamp::from_second(1_700_000_000).expect("a time");
        let api: Arc<dyn ApiClient> = Arc::new(Fixed(Ok(vec!["a".into(), "b".into()])));
        let mut p = PodLister::new(Some(api), env(true), now, 4);
        assert_eq!(
            text(p.next_step()),
            "2023/11/14 22:13:20 2 pods in namespace \"dev\": a, b\n"
        );
    }

    #[test]
    fn without_a_token_it_cannot_build_its_config_and_exits() {
        let now = jiff::Timestamp::from_second(1_700_000_000).expect("a time");
        let mut p = PodLister::new(None, env(false), now, 4);
        assert!(text(p.next_step()).ends_with(
            "error building in-cluster config: open /var/run/secrets/kubernetes.io/serviceaccount/token: no such file or directory\n"
        ));
        assert_eq!(p.next_step(), Step::Exit(1));
    }
}

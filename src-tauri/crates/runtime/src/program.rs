//! The programs a container runs: a script interpreted by kq-shell ([`Scripted`]) or an
//! image's own behaviour from the catalog ([`Behaving`]: servers, databases, memory hogs),
//! each a [`Program`] the kubelet pulls [`Step`]s from. On a real node this is the process
//! runc starts.

use super::*;

/// A process run by the shell interpreter (busybox and friends).
#[derive(Debug)]
pub(crate) struct Scripted {
    pub(crate) process: shell::Process,
    pub(crate) env: ShellEnv,
}

impl Program for Scripted {
    fn next_step(&mut self) -> Step {
        match self.process.next_step() {
            shell::Step::Stdout(s) => Step::Stdout(s.into_bytes()),
            shell::Step::Binary(b) => Step::Stdout(b),
            shell::Step::Stderr(s) => Step::Stderr(s.into_bytes()),
            shell::Step::Sleep(d) => Step::Sleep(d),
            shell::Step::WaitInput => Step::WaitInput,
            shell::Step::Exit(c) => Step::Exit(c),
        }
    }
    fn memory_bytes(&self) -> u64 {
        MIB
    }
    fn handles_sigterm(&self) -> bool {
        false
    }
    fn http(&self, _port: i32, _path: &str) -> Option<u16> {
        None
    }
    fn listens(&self, _port: i32) -> bool {
        false
    }
    fn exec(&mut self, argv: &[String]) -> (i32, String) {
        exec_in(&self.env, argv)
    }
    fn feed_stdin(&mut self, bytes: &[u8]) {
        self.process.feed_stdin(bytes);
    }
    fn close_stdin(&mut self) {
        self.process.close_stdin();
    }
    fn interrupt(&mut self) -> bool {
        self.process.interrupt()
    }
    fn resize(&mut self, columns: u16, rows: u16) {
        self.process.resize(columns, rows);
    }
}

/// Run a command to completion in a container's environment (exec probes).
pub(crate) fn exec_in(env: &ShellEnv, argv: &[String]) -> (i32, String) {
    match shell::spawn(argv, env.clone()) {
        Err(shell::ExecError::NotFound(bin)) => (
            126,
            format!(
                "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{bin}\": executable file not found in $PATH: unknown"
            ),
        ),
        Ok(mut p) => {
            let mut out = String::new();
            for _ in 0..10_000 {
                match p.next_step() {
                    shell::Step::Stdout(s) | shell::Step::Stderr(s) => out.push_str(&s),
                    shell::Step::Binary(b) => out.push_str(&String::from_utf8_lossy(&b)),
                    // A probe's stdin is `/dev/null`: a read sees end-of-file at once.
                    shell::Step::Sleep(_) | shell::Step::WaitInput => {}
                    shell::Step::Exit(c) => return (c, out),
                }
            }
            (1, out)
        }
    }
}

/// A process whose behaviour comes from its image (servers, databases, interpreters, pause,
/// memory hogs).
#[derive(Debug)]
pub(crate) struct Behaving {
    image: ResolvedImage,
    pending: std::collections::VecDeque<Step>,
    memory: u64,
    serves: bool,
    env: ShellEnv,
}

impl Behaving {
    pub(crate) fn new(
        image: ResolvedImage,
        argv: &[String],
        env: &[(String, String)],
        shell_env: ShellEnv,
        now: jiff::Timestamp,
        pod_ip: &str,
    ) -> Self {
        let mut pending = std::collections::VecDeque::new();
        let mut memory = u64::from(image.behaviour.memory_mib()) * MIB;
        let mut serves = false;
        let fill = |line: &str| format!("{}\n", fill_placeholders(line, now, pod_ip));
        match &image.behaviour {
            Behaviour::Server { logs, .. } => {
                pending.extend(logs.iter().map(|l| Step::Stdout(fill(l).into_bytes())));
                serves = true;
                pending.push_back(Step::Sleep(Duration::MAX));
            }
            Behaviour::Database {
                logs,
                missing_env_logs,
                ..
            } => {
                if image.behaviour.env_satisfied(env) {
                    pending.extend(logs.iter().map(|l| Step::Stdout(fill(l).into_bytes())));
                    serves = true;
                    pending.push_back(Step::Sleep(Duration::MAX));
                } else {
                    pending.extend(
                        missing_env_logs
                            .iter()
                            .map(|l| Step::Stdout(fill(l).into_bytes())),
                    );
                    pending.push_back(Step::Exit(1));
                }
            }
            Behaviour::Interpreter { logs, .. } => {
                if argv.len() <= 1 {
                    pending.push_back(Step::Exit(0));
                } else {
                    pending.extend(logs.iter().map(|l| Step::Stdout(fill(l).into_bytes())));
                    pending.push_back(Step::Sleep(Duration::MAX));
                }
            }
            Behaviour::Memory { .. } => {
                if let Some(bytes) = image.behaviour.requested_memory_bytes(argv) {
                    memory = memory.saturating_add(bytes);
                }
                pending.push_back(Step::Stdout(
                    b"stress: info: [1] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd\n".to_vec(),
                ));
                pending.push_back(Step::Sleep(Duration::MAX));
            }
            Behaviour::Pause { .. } | Behaviour::Shell { .. } | Behaviour::PodLister { .. } => {
                pending.push_back(Step::Sleep(Duration::MAX));
            }
        }
        Behaving {
            image,
            pending,
            memory,
            serves,
            env: shell_env,
        }
    }

    fn ports(&self) -> Vec<i32> {
        match &self.image.behaviour {
            Behaviour::Server { ports, .. } | Behaviour::Database { ports, .. } => {
                ports.iter().map(|p| i32::from(*p)).collect()
            }
            _ => Vec::new(),
        }
    }

    fn http_paths(&self) -> &[String] {
        match &self.image.behaviour {
            Behaviour::Server { http, .. } => http,
            _ => &[],
        }
    }
}

/// Fill the catalog's log placeholders with the start time, the pod's address and the node's
/// kernel release.
fn fill_placeholders(line: &str, now: jiff::Timestamp, pod_ip: &str) -> String {
    if !line.contains('{') {
        return line.to_string();
    }
    let z = now.to_zoned(jiff::tz::TimeZone::UTC);
    let fmt = |f: &str| z.strftime(f).to_string();
    line.replace("{time:nginx}", &fmt("%Y/%m/%d %H:%M:%S"))
        .replace("{time:redis}", &fmt("%d %b %Y %H:%M:%S.%3f"))
        .replace("{time:mysqld}", &fmt("%Y-%m-%dT%H:%M:%S.%6fZ"))
        .replace("{time:mysql}", &fmt("%Y-%m-%d %H:%M:%S+00:00"))
        .replace("{time:postgres}", &fmt("%Y-%m-%d %H:%M:%S.%3f UTC"))
        .replace("{time:httpd}", &fmt("%a %b %d %H:%M:%S.%6f %Y"))
        .replace("{time:klog}", &fmt("%m%d %H:%M:%S.%6f"))
        .replace("{pod_ip}", pod_ip)
        .replace("{kernel}", kq_kube::NODE_KERNEL_RELEASE)
}

impl Program for Behaving {
    fn next_step(&mut self) -> Step {
        self.pending
            .pop_front()
            .unwrap_or(Step::Sleep(Duration::MAX))
    }
    fn memory_bytes(&self) -> u64 {
        self.memory
    }
    fn handles_sigterm(&self) -> bool {
        !matches!(self.image.behaviour, Behaviour::Memory { .. })
    }
    fn http(&self, port: i32, path: &str) -> Option<u16> {
        if !self.serves {
            return None;
        }
        if !self.ports().contains(&port) {
            return None;
        }
        let http = self.http_paths();
        if http.is_empty() {
            // A port that speaks something else: the connection is reset, which a probe reports
            // as a failure; 400 stands in for it.
            return Some(400);
        }
        Some(if http.iter().any(|p| p == path) {
            200
        } else {
            404
        })
    }
    fn listens(&self, port: i32) -> bool {
        self.serves && self.ports().contains(&port)
    }
    fn exec(&mut self, argv: &[String]) -> (i32, String) {
        exec_in(&self.env, argv)
    }
}

#[cfg(test)]
mod placeholder_tests {
    use super::fill_placeholders;

    #[test]
    fn every_log_placeholder_the_catalog_documents_is_filled() {
        let line = "{time:nginx}|{time:redis}|{time:mysql}|{time:mysqld}|{time:postgres}|\
                    {time:httpd}|{time:klog}|OS: Linux {kernel}|{pod_ip}";
        let now: jiff::Timestamp = "2024-05-01T12:00:00Z".parse().expect("a timestamp");
        let filled = fill_placeholders(line, now, "10.244.0.7");
        assert!(!filled.contains('{'), "a placeholder was left: {filled}");
        assert!(filled.contains("OS: Linux 6.8.0-60-generic"), "{filled}");
        assert!(filled.starts_with("2024/05/01 12:00:00|"), "{filled}");
        assert!(filled.ends_with("|10.244.0.7"), "{filled}");
    }
}

//! `kubectl exec`, `attach` and `port-forward` against the embedded cluster, on every kubectl
//! on this machine (STREAMS.md §7 rows 1–8, 11, 14–16), asserting what a learner sees: stdout,
//! stderr and the exit code, byte for byte where kubectl prints them itself.
//!
//! Each row runs twice: on the default transport (WebSocket v5 for exec/attach from 1.30,
//! the SPDY-over-WebSocket tunnel for port-forward from 1.31, SPDY otherwise), and on a
//! cluster whose API server refuses WebSocket upgrades (`ServerLimits::websocket_streams`
//! off), where kubectl 1.30+ falls back to SPDY as it does against an older API server.
//! kubectl 1.29 additionally runs with `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true`, its opt-in.
//!
//! Versions run concurrently, each in its own namespace with its own pods.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kq_sim::ClusterConfig;
use kq_tests::check::Step;
use kq_tests::cluster::{
    Kubectl, Run, TestCluster, kubectl_binaries, on_every_kubectl, on_kubectls, wait_with_limit,
};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(60);

/// The exact stdout, stderr and exit code of a run.
fn exactly(run: &Run, stdout: &str, stderr: &str, code: i32, why: &str) -> Step {
    if run.stdout == stdout && run.stderr == stderr && run.code == code {
        Ok(())
    } else {
        Err(format!(
            "{why}: expected exit {code}, stdout {stdout:?}, stderr {stderr:?}; got exit {}, stdout {:?}, stderr {:?}",
            run.code, run.stdout, run.stderr
        ))
    }
}

/// kubectl with extra environment variables (the transport switches).
#[derive(Clone)]
struct Variant {
    name: &'static str,
    env: Vec<(&'static str, &'static str)>,
}

fn run(k: &Kubectl, v: &Variant, args: &[&str]) -> Run {
    k.run_with(args, &v.env, LIMIT)
}

/// Runs kubectl with `input` on its stdin (closed afterwards, which is end of input).
fn run_stdin(k: &Kubectl, v: &Variant, args: &[&str], input: &[u8]) -> Run {
    let mut c = k.command(args);
    for (key, val) in &v.env {
        c.env(key, val);
    }
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let cmd = format!("kubectl.{} {}", k.label, args.join(" "));
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let out = wait_with_limit(child, LIMIT);
    Run {
        cmd,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn pod(name: &str, image: &str, command: Option<&[&str]>, stdin: bool) -> serde_json::Value {
    let mut c = json!({"name": "c", "image": image});
    if let Some(cmd) = command {
        c["command"] = json!(cmd);
    }
    if stdin {
        c["stdin"] = json!(true);
    }
    if image.starts_with("nginx") {
        c["name"] = json!("nginx");
        c["ports"] = json!([{"name": "http", "containerPort": 80}]);
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"restartPolicy": "Never", "containers": [c]},
    })
}

/// The pods of one namespace: a busybox that sleeps, a shell to attach to, an nginx and a
/// Service in front of it with a named target port.
fn setup(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let r = k.run(&["create", "namespace", ns]);
    if !r.ok() {
        return Err(format!("namespace: {r}"));
    }
    tc.create(ns, pod("bb", "busybox", Some(&["sleep", "3600"]), false));
    tc.create(ns, pod("web", "nginx:1.27", None, false));
    tc.create(
        ns,
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
        }),
    );
    let r = k.run(&[
        "wait",
        "-n",
        ns,
        "--for=condition=Ready",
        "pod/bb",
        "pod/web",
        "--timeout=60s",
    ]);
    if !r.ok() {
        return Err(format!("pods not ready: {r}"));
    }
    Ok(())
}

fn exec_rows(tc: &TestCluster, k: &Kubectl, v: &Variant, ns: &str, idx: usize) -> Step {
    let why = |row: &str| format!("{} row {row}", v.name);
    // Every row runs even when an earlier one fails, so one report shows them all.
    let mut errs: Vec<Step> = Vec::new();
    // 1
    let r = run(k, v, &["exec", "-n", ns, "bb", "--", "echo", "hi"]);
    errs.push(exactly(&r, "hi\n", "", 0, &why("1 exec echo")));
    // 2
    let r = run(
        k,
        v,
        &[
            "exec",
            "-n",
            ns,
            "bb",
            "--",
            "sh",
            "-c",
            "echo o; echo e >&2; exit 7",
        ],
    );
    errs.push(exactly(
        &r,
        "o\n",
        "e\ncommand terminated with exit code 7\n",
        7,
        &why("2 exit code"),
    ));
    // 3
    let r = run_stdin(
        k,
        v,
        &["exec", "-i", "-n", ns, "bb", "--", "cat"],
        b"a\nb\n",
    );
    errs.push(exactly(&r, "a\nb\n", "", 0, &why("3 stdin EOF")));
    // 4
    let r = run(k, v, &["exec", "-n", ns, "bb", "--", "seq", "1", "200000"]);
    let want: String = (1..=200_000).map(|i| format!("{i}\n")).collect();
    if r.stdout != want || r.code != 0 {
        errs.push(Err(format!(
            "{}: expected {} bytes of seq output, got {} bytes, exit {}, stderr {:?}",
            why("4 large output"),
            want.len(),
            r.stdout.len(),
            r.code,
            r.stderr
        )));
    }
    // 6: `-t` with `-i` on an input that is not a terminal degrades with kubectl's warning
    // (without `-i` kubectl drops the TTY silently: `SetupTTY`).
    let r = run(
        k,
        v,
        &["exec", "-i", "-t", "-n", ns, "bb", "--", "echo", "tty"],
    );
    errs.push(exactly(
        &r,
        "tty\n",
        "Unable to use a TTY - input is not a terminal or the right kind of file\n",
        0,
        &why("6 -t without a terminal"),
    ));
    // 7
    let r = run(k, v, &["exec", "-n", ns, "nope", "--", "echo", "hi"]);
    errs.push(exactly(
        &r,
        "",
        "Error from server (NotFound): pods \"nope\" not found\n",
        1,
        &why("7 missing pod"),
    ));
    let r = run(
        k,
        v,
        &["exec", "-n", ns, "bb", "-c", "nope", "--", "echo", "hi"],
    );
    errs.push(exactly(
        &r,
        "",
        "Error from server (BadRequest): container nope is not valid for pod bb\n",
        1,
        &why("7 missing container"),
    ));
    // 5: a real terminal through script(1): echo, CRLF, the exit code.
    let line = format!("{} exec -it -n {ns} bb -- sh", k.path.display());
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("HOME", env_of(k, "HOME"))
        .env("KUBECONFIG", env_of(k, "KUBECONFIG"))
        .env("PATH", env_of(k, "PATH"))
        .env("LANG", "C")
        .env("TERM", "dumb");
    for (key, val) in &v.env {
        c.env(key, val);
    }
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("script: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        std::thread::spawn(move || {
            // Typed slowly, as a person would, after the session is up.
            std::thread::sleep(Duration::from_millis(1500));
            let _ = stdin.write_all(b"echo x\r");
            std::thread::sleep(Duration::from_millis(500));
            let _ = stdin.write_all(b"exit 3\r");
            std::thread::sleep(Duration::from_secs(5));
        });
    }
    let out = wait_with_limit(child, Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !text.contains("echo x\r\n") || !text.contains("\r\nx\r\n") || out.status.code() != Some(3) {
        errs.push(Err(format!(
            "{}: expected the typed line echoed, x on its own CRLF line and exit 3; got exit {:?}, output {text:?}, stderr {:?}",
            why("5 exec -it"),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    // 11: the shell reads what is typed and exits on `exit`, which ends the attach.
    let att = format!("att-{idx}");
    tc.create(ns, pod(&att, "busybox", Some(&["sh"]), true));
    let r = k.run(&[
        "wait",
        "-n",
        ns,
        "--for=condition=Ready",
        &format!("pod/{att}"),
        "--timeout=60s",
    ]);
    if !r.ok() {
        return Err(format!("{}: not ready: {r}", why("11")));
    }
    let r = run_stdin(
        k,
        v,
        &["attach", "-i", "-n", ns, &att, "-c", "c"],
        b"echo attached\nexit\n",
    );
    if !r.stdout.contains("attached\n")
        || !r
            .stderr
            .contains("If you don't see a command prompt, try pressing enter.\n")
    {
        errs.push(Err(format!("{}: {r}", why("11 attach -i"))));
    }
    let failed: Vec<String> = errs.into_iter().filter_map(Result::err).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

fn env_of(k: &Kubectl, name: &str) -> String {
    // The Kubectl helper sets HOME and KUBECONFIG on its own commands; script(1) runs
    // kubectl through a shell line, so read them back from a command it built.
    let c = k.command(&[]);
    c.get_envs()
        .find(|(key, _)| *key == name)
        .and_then(|(_, v)| v)
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A running `kubectl port-forward` whose stdout lines arrive on a channel.
struct Forward {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Forward {
    fn start(k: &Kubectl, v: &Variant, args: &[&str]) -> Result<Forward, String> {
        let mut c = k.command(args);
        for (key, val) in &v.env {
            c.env(key, val);
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().map_err(|e| format!("port-forward: {e}"))?;
        let (tx, rx) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Forward {
            child,
            lines: rx,
            seen: Vec::new(),
        })
    }

    /// Starts `kubectl port-forward ARGS LOCAL:remote` on a free local port and waits for
    /// its "Forwarding from" line. The port is free when chosen but another test (or
    /// another kubectl of this one) may take it before kubectl binds it; kubectl then says
    /// "address already in use" and exits, and the forward starts again on a new port.
    fn on_free_port(
        k: &Kubectl,
        v: &Variant,
        args: &[&str],
        remote: u16,
    ) -> Result<(Forward, u16), String> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let spec = format!("{port}:{remote}");
            let mut all: Vec<&str> = args.to_vec();
            all.push(&spec);
            let mut f = Forward::start(k, v, &all)?;
            match f.wait_for(&format!("Forwarding from 127.0.0.1:{port} -> {remote}")) {
                Ok(()) => return Ok((f, port)),
                Err(e) if f.seen.iter().any(|l| l.contains("address already in use")) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(format!("no free local port after 5 tries: {last}"))
    }

    /// Waits (at most 20 s) until kubectl printed a line containing `text`.
    fn wait_for(&mut self, text: &str) -> Step {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.seen.iter().any(|l| l.contains(text)) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => {
                    return Err(format!(
                        "port-forward never printed {text:?}; printed {:?}",
                        self.seen
                    ));
                }
            }
        }
    }

    fn drain(&mut self) {
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(300)) {
            self.seen.push(l);
        }
    }

    fn count(&self, text: &str) -> usize {
        self.seen.iter().filter(|l| l.contains(text)).count()
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.0 GET through the forwarded port; the whole answer.
fn http_get(port: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut body = Vec::new();
    s.read_to_end(&mut body).map_err(|e| format!("read: {e}"))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn forward_rows(k: &Kubectl, v: &Variant, ns: &str) -> Step {
    let why = |row: &str| format!("{} row {row}", v.name);
    // 14: three parallel connections, twice, on one port-forward.
    let (mut f, port) = Forward::on_free_port(k, v, &["port-forward", "-n", ns, "pod/web"], 80)
        .map_err(|e| format!("{}: {e}", why("14")))?;
    for round in 0..2 {
        let answers: Vec<Result<String, String>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..3).map(|_| s.spawn(move || http_get(port))).collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
                .collect()
        });
        for a in answers {
            let a = a.map_err(|e| format!("{} round {round}: {e}", why("14")))?;
            if !a.starts_with("HTTP/1.1 200 OK") || !a.contains("Welcome to nginx!") {
                return Err(format!("{} round {round}: nginx answered {a:?}", why("14")));
            }
        }
    }
    f.drain();
    let handled = f.count(&format!("Handling connection for {port}"));
    if handled != 6 {
        return Err(format!(
            "{}: expected 6 'Handling connection' lines, got {handled}: {:?}",
            why("14"),
            f.seen
        ));
    }
    if let Ok(Some(status)) = f.child.try_wait() {
        return Err(format!("{}: port-forward exited ({status})", why("14")));
    }
    drop(f);

    // 15: a Service's named target port.
    let (f, port) = Forward::on_free_port(k, v, &["port-forward", "-n", ns, "svc/web"], 80)
        .map_err(|e| format!("{}: {e}", why("15")))?;
    let a = http_get(port).map_err(|e| format!("{}: {e}", why("15")))?;
    if !a.contains("Welcome to nginx!") {
        return Err(format!("{}: nginx answered {a:?}", why("15")));
    }
    drop(f);

    // 16: nothing listens on 81: the connection fails and kubectl gives up.
    let (mut f, port) = Forward::on_free_port(k, v, &["port-forward", "-n", ns, "pod/web"], 81)
        .map_err(|e| format!("{}: {e}", why("16")))?;
    let _ = http_get(port);
    f.wait_for("error: lost connection to pod")
        .map_err(|e| format!("{}: {e}", why("16")))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        match f.child.try_wait() {
            Ok(Some(s)) => break s.code(),
            _ if Instant::now() > deadline => break None,
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    if code != Some(1) {
        return Err(format!("{}: expected exit 1, got {code:?}", why("16")));
    }
    Ok(())
}

/// Proof of the transport: kubectl 1.31+ logs at `-v=4` when it falls back from WebSocket
/// to SPDY (client-go `FallbackExecutor`: `RemoteCommand fallback: …`, a line 1.30's binary
/// does not have; port-forward's `FallbackDialer`: `fallback to secondary dialer from
/// primary dialer err: …`). With
/// WebSocket upgrades refused the fallback must be logged; by default it must not be.
fn transport_rows(k: &Kubectl, label: &str, ns: &str, websockets_refused: bool) -> Step {
    let minor: u32 = label
        .strip_prefix("1.")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if minor >= 31 {
        let r = k.run(&["exec", "-v=4", "-n", ns, "bb", "--", "echo", "hi"]);
        let fell_back = r.stderr.contains("RemoteCommand fallback: ");
        if r.stdout != "hi\n" || r.code != 0 || fell_back != websockets_refused {
            return Err(format!(
                "exec transport: expected {} with WebSocket upgrades {}: {r}",
                if websockets_refused {
                    "a SPDY fallback"
                } else {
                    "no fallback"
                },
                if websockets_refused {
                    "refused"
                } else {
                    "served"
                },
            ));
        }
    }
    if minor >= 31 {
        let (f, _) = Forward::on_free_port(
            k,
            &Variant {
                name: "transport",
                env: Vec::new(),
            },
            &["port-forward", "-v=4", "-n", ns, "pod/web"],
            80,
        )?;
        let fell_back = f
            .seen
            .iter()
            .any(|l| l.contains("fallback to secondary dialer from primary dialer"));
        if fell_back != websockets_refused {
            return Err(format!(
                "port-forward transport: fallback logged = {fell_back}, WebSocket refused = {websockets_refused}: {:?}",
                f.seen
            ));
        }
    }
    Ok(())
}

/// The transports to try with one kubectl on one cluster.
fn variants(label: &str, websockets_refused: bool) -> Vec<Variant> {
    let mut v = vec![Variant {
        name: if websockets_refused {
            "spdy-fallback"
        } else {
            "default"
        },
        env: Vec::new(),
    }];
    if label == "1.29" && !websockets_refused {
        v.push(Variant {
            name: "1.29 websocket opt-in",
            env: vec![("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "true")],
        });
    }
    if label == "1.30" && !websockets_refused {
        v.push(Variant {
            name: "1.30 port-forward tunnel opt-in",
            env: vec![("KUBECTL_PORT_FORWARD_WEBSOCKETS", "true")],
        });
    }
    v
}

fn every_version(config: ClusterConfig, websockets_refused: bool) {
    let tc = TestCluster::start_with(config);
    on_every_kubectl(&tc, "st", |k, ns| {
        setup(&tc, k, ns)?;
        // Every row runs even after one fails, so a version's report lists all its failures.
        let label = k.label.as_str();
        let mut failed = Vec::new();
        if let Err(e) = transport_rows(k, label, ns, websockets_refused) {
            failed.push(e);
        }
        for (idx, v) in variants(label, websockets_refused).iter().enumerate() {
            if let Err(e) = exec_rows(&tc, k, v, ns, idx) {
                failed.push(e);
            }
            if let Err(e) = forward_rows(k, v, ns) {
                failed.push(e);
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("\n"))
        }
    });
}

#[test]
fn every_kubectl_execs_attaches_and_forwards_on_its_default_transport() {
    every_version(ClusterConfig::default(), false);
}

#[test]
fn every_kubectl_falls_back_to_spdy_when_websocket_upgrades_are_refused() {
    every_version(
        ClusterConfig {
            server: kq_sim::ServerLimits {
                websocket_streams: false,
                ..Default::default()
            },
            ..Default::default()
        },
        true,
    );
}

/// Row 8: an idle WebSocket exec outlives kubectl's 61 s pong deadline (1.30+; 1.29 with its
/// opt-in), because every ping is answered while the process waits for input.
#[test]
fn an_idle_websocket_exec_survives_past_kubectls_pong_deadline() {
    let tc = TestCluster::start();
    let versions: Vec<_> = kubectl_binaries()
        .into_iter()
        .filter(|(l, _)| !matches!(l.as_str(), "1.27" | "1.28"))
        .collect();
    on_kubectls(&tc, &versions, "idle", |k, ns| {
        let r = k.run(&["create", "namespace", ns]);
        if !r.ok() {
            return Err(format!("namespace: {r}"));
        }
        tc.create(ns, pod("bb", "busybox", Some(&["sleep", "3600"]), false));
        let r = k.run(&[
            "wait",
            "-n",
            ns,
            "--for=condition=Ready",
            "pod/bb",
            "--timeout=60s",
        ]);
        if !r.ok() {
            return Err(format!("not ready: {r}"));
        }
        let mut c = k.command(&["exec", "-i", "-n", ns, "bb", "--", "sh"]);
        if k.label == "1.29" {
            c.env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "true");
        }
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().map_err(|e| e.to_string())?;
        let stdin = child.stdin.take();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(70));
            if let Some(mut stdin) = stdin {
                let _ = stdin.write_all(b"echo alive\nexit\n");
            }
        });
        let out = wait_with_limit(child, Duration::from_secs(100));
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout != "alive\n" || out.status.code() != Some(0) {
            return Err(format!(
                "expected 'alive' and exit 0 after 70 s idle, got exit {:?}, stdout {stdout:?}, stderr {:?}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    });
}

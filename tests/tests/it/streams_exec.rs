//! The kubelet's exec and attach, driven through the node side of the streaming seam
//! (`ContainerStreams`) without any wire: what a learner's `kubectl exec`, `exec -it`,
//! `attach` and `run -i` reach once the API server has upgraded the connection, and the
//! refusals they get before it does.
//!
//! Each test runs a paused cluster (the pod's start happens at fixed virtual moments), starts
//! real busybox pods, and plays the client: it feeds stdin chunks and end-of-file, reads the
//! stdout and stderr chunks, and checks the session's end. Every wait is bounded.

use std::time::Duration;

use kq_sim::streaming::{ContainerStreams, StreamExit, StreamIo, StreamRequest};
use kq_tests::cluster::TestCluster;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Longest a test waits for any one thing.
const LIMIT: Duration = Duration::from_secs(20);

fn pod(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": containers, "restartPolicy": "Never",
                 "terminationGracePeriodSeconds": 5}})
}

fn busybox(name: &str, command: &[&str]) -> Value {
    json!({"name": name, "image": "busybox:1.36", "command": command})
}

/// A paused cluster with `pods` created and moved on until they run.
fn cluster_with(pods: &[Value]) -> TestCluster {
    let tc = TestCluster::paused();
    for p in pods {
        tc.create("default", p.clone());
    }
    tc.cluster().advance(Duration::from_secs(30));
    tc
}

fn phase(tc: &TestCluster, name: &str) -> String {
    let p = tc
        .cluster()
        .store()
        .get::<k8s_openapi::api::core::v1::Pod>("default", name)
        .expect("the pod exists");
    p.status.and_then(|s| s.phase).unwrap_or_default()
}

fn streams(tc: &TestCluster) -> std::sync::Arc<dyn ContainerStreams> {
    tc.cluster().streams().expect("the cluster runs a kubelet")
}

fn req(
    pod: &str,
    container: Option<&str>,
    command: &[&str],
    stdin: bool,
    tty: bool,
) -> StreamRequest {
    StreamRequest {
        namespace: "default".into(),
        pod: pod.into(),
        container: container.map(str::to_string),
        command: command.iter().map(|s| s.to_string()).collect(),
        stdin,
        stdout: true,
        stderr: !tty,
        tty,
    }
}

/// The client's ends of a running session.
struct Session {
    stdin: Option<mpsc::Sender<Vec<u8>>>,
    stdout: mpsc::Receiver<Vec<u8>>,
    stderr: Option<mpsc::Receiver<Vec<u8>>>,
    task: JoinHandle<StreamExit>,
}

fn start(tc: &TestCluster, r: StreamRequest, attach: bool) -> Session {
    let s = streams(tc);
    s.check(&r, attach).expect("the request is accepted");
    let (in_tx, in_rx) = mpsc::channel(16);
    let (out_tx, out_rx) = mpsc::channel(16);
    let (err_tx, err_rx) = mpsc::channel(16);
    let io = StreamIo {
        stdin: r.stdin.then_some(in_rx),
        resize: None,
        stdout: Some(out_tx),
        stderr: r.stderr.then_some(err_tx),
    };
    let stdin = r.stdin.then_some(in_tx);
    let stderr = r.stderr.then_some(err_rx);
    let task = if attach {
        s.attach(r, io)
    } else {
        s.exec(r, io)
    };
    let task = tc
        .block_on(async { tokio::runtime::Handle::current() })
        .spawn(task);
    Session {
        stdin,
        stdout: out_rx,
        stderr,
        task,
    }
}

impl Session {
    fn send(&self, tc: &TestCluster, bytes: &[u8]) {
        let tx = self.stdin.as_ref().expect("the session has stdin");
        tc.block_on(async { tx.send(bytes.to_vec()).await })
            .expect("the session reads stdin");
    }

    /// Read stdout until it has shown `want` (everything read so far is returned).
    fn read_until(&mut self, tc: &TestCluster, seen: &mut Vec<u8>, want: &[u8]) {
        let found = tc.block_on(async {
            tokio::time::timeout(LIMIT, async {
                while !contains(seen, want) {
                    match self.stdout.recv().await {
                        Some(chunk) => seen.extend(chunk),
                        None => return false,
                    }
                }
                true
            })
            .await
        });
        assert_eq!(
            found,
            Ok(true),
            "expected {:?} in {:?}",
            String::from_utf8_lossy(want),
            String::from_utf8_lossy(seen)
        );
    }

    /// The client goes away (closes every stream) and the session ends.
    fn leave(self, tc: &TestCluster) -> StreamExit {
        let Session {
            stdin,
            stdout,
            stderr,
            task,
        } = self;
        drop((stdin, stdout, stderr));
        tc.block_on(async { tokio::time::timeout(LIMIT, task).await })
            .expect("the session ends in time")
            .expect("the session task does not panic")
    }

    /// Close stdin, read both outputs to their end and return them with the exit.
    fn finish(mut self, tc: &TestCluster) -> (String, String, StreamExit) {
        self.stdin = None;
        tc.block_on(async {
            tokio::time::timeout(LIMIT, async {
                let mut out = Vec::new();
                let mut err = Vec::new();
                let read_err = async {
                    if let Some(rx) = self.stderr.as_mut() {
                        while let Some(c) = rx.recv().await {
                            err.extend(c);
                        }
                    }
                };
                let read_out = async {
                    while let Some(c) = self.stdout.recv().await {
                        out.extend(c);
                    }
                };
                tokio::join!(read_out, read_err);
                let exit = self.task.await.expect("the session task does not panic");
                (
                    String::from_utf8_lossy(&out).into_owned(),
                    String::from_utf8_lossy(&err).into_owned(),
                    exit,
                )
            })
            .await
            .expect("the session ends in time")
        })
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn exec(tc: &TestCluster, pod: &str, command: &[&str]) -> (String, String, StreamExit) {
    start(tc, req(pod, None, command, false, false), false).finish(tc)
}

fn log_of(tc: &TestCluster, pod: &str, container: &str) -> String {
    let p = tc
        .cluster()
        .store()
        .get::<k8s_openapi::api::core::v1::Pod>("default", pod)
        .expect("the pod exists");
    let uid = p.metadata.uid.unwrap_or_default();
    tc.cluster()
        .store()
        .logs()
        .read(&uid, container, false)
        .into_iter()
        .map(|l| l.text)
        .collect()
}

#[test]
fn exec_prints_keeps_streams_apart_and_reports_the_exit_code() {
    let tc = cluster_with(&[pod("p", json!([busybox("c", &["sleep", "3600"])]))]);
    assert_eq!(phase(&tc, "p"), "Running");

    assert_eq!(
        exec(&tc, "p", &["echo", "hi"]),
        ("hi\n".into(), String::new(), StreamExit::Success)
    );
    assert_eq!(
        exec(&tc, "p", &["sh", "-c", "echo o; echo e >&2; exit 7"]),
        ("o\n".into(), "e\n".into(), StreamExit::ExitCode(7))
    );
    // What an exec prints never reaches the container's log.
    assert!(!log_of(&tc, "p", "c").contains("hi"));

    // A program the image lacks: containerd's refusal, after the upgrade.
    let (out, err, exit) = exec(&tc, "p", &["bash"]);
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    let StreamExit::Failed(text) = exit else {
        panic!("expected a runtime failure, got {exit:?}");
    };
    let (head, tail) = text.split_once("\": ").expect("the exec id is quoted");
    assert_eq!(
        head.len(),
        "failed to exec in container: failed to start exec \"".len() + 64
    );
    assert!(head.starts_with("failed to exec in container: failed to start exec \""));
    assert_eq!(
        tail,
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"bash\": executable file not found in $PATH: unknown"
    );
}

#[test]
fn exec_processes_share_the_container_filesystem() {
    let tc = cluster_with(&[pod("p", json!([busybox("c", &["sleep", "3600"])]))]);
    assert_eq!(
        exec(&tc, "p", &["sh", "-c", "echo kept > /tmp/f"]),
        (String::new(), String::new(), StreamExit::Success)
    );
    assert_eq!(
        exec(&tc, "p", &["cat", "/tmp/f"]),
        ("kept\n".into(), String::new(), StreamExit::Success)
    );
}

#[test]
fn exec_stdin_reaches_cat_and_its_end_of_file_ends_it() {
    let tc = cluster_with(&[pod("p", json!([busybox("c", &["sleep", "3600"])]))]);
    let s = start(&tc, req("p", None, &["cat"], true, false), false);
    s.send(&tc, b"a\n");
    s.send(&tc, b"b\n");
    assert_eq!(
        s.finish(&tc),
        ("a\nb\n".into(), String::new(), StreamExit::Success)
    );
    // Without -i the process reads /dev/null: cat ends at once.
    assert_eq!(
        exec(&tc, "p", &["cat"]),
        (String::new(), String::new(), StreamExit::Success)
    );
}

#[test]
fn an_interactive_shell_on_a_tty_echoes_prompts_and_exits_with_its_code() {
    let tc = cluster_with(&[pod("p", json!([busybox("c", &["sleep", "3600"])]))]);
    let mut s = start(&tc, req("p", None, &["sh"], true, true), false);
    assert!(s.stderr.is_none(), "a terminal has one output");
    let mut seen = Vec::new();
    s.read_until(&tc, &mut seen, b"/ # ");
    assert_eq!(seen, b"/ # ");
    // Typed one key at a time, with a mistake erased; the terminal echoes each.
    for key in ["e", "c", "h", "o", " ", "y", "\x7f", "x", "\r"] {
        s.send(&tc, key.as_bytes());
    }
    s.read_until(&tc, &mut seen, b"x\r\n/ # ");
    assert_eq!(
        String::from_utf8_lossy(&seen),
        "/ # echo y\x08 \x08x\r\nx\r\n/ # "
    );
    s.send(&tc, b"exit 3\r");
    let (out, err, exit) = s.finish(&tc);
    assert_eq!(out, "exit 3\r\n");
    assert_eq!(err, "");
    assert_eq!(exit, StreamExit::ExitCode(3));
}

#[test]
fn ctrl_c_interrupts_the_foreground_command_or_ends_the_process() {
    let tc = cluster_with(&[pod("p", json!([busybox("c", &["sleep", "3600"])]))]);
    // The clock is paused: only ^C can end this sleep.
    let mut s = start(&tc, req("p", None, &["sh"], true, true), false);
    let mut seen = Vec::new();
    s.read_until(&tc, &mut seen, b"/ # ");
    s.send(&tc, b"sleep 100\r");
    s.read_until(&tc, &mut seen, b"sleep 100\r\n");
    s.send(&tc, b"\x03");
    s.read_until(&tc, &mut seen, b"^C\r\n/ # ");
    s.send(&tc, b"echo $?\r");
    s.read_until(&tc, &mut seen, b"130\r\n/ # ");
    s.send(&tc, b"exit 2\r");
    let (_, _, exit) = s.finish(&tc);
    assert_eq!(exit, StreamExit::ExitCode(2));

    // Anything but a shell dies of SIGINT.
    let mut s = start(&tc, req("p", None, &["cat"], true, true), false);
    s.send(&tc, b"typed\x03");
    let mut seen = Vec::new();
    s.read_until(&tc, &mut seen, b"typed^C");
    let (_, _, exit) = s.finish(&tc);
    assert_eq!(exit, StreamExit::ExitCode(130));
}

#[test]
fn attach_to_a_terminal_echoes_and_interrupts_the_line() {
    let tc = cluster_with(&[pod(
        "p",
        json!([{"name": "c", "image": "busybox:1.36", "command": ["sh"],
                "stdin": true, "tty": true}]),
    )]);
    assert_eq!(phase(&tc, "p"), "Running");
    let mut s = start(&tc, req("p", None, &[], true, true), true);
    let mut seen = Vec::new();
    // The prompt was printed before the attach: pressing enter shows a new one.
    s.send(&tc, b"\r");
    s.read_until(&tc, &mut seen, b"\r\n/ # ");
    s.send(&tc, b"abc\x03");
    s.read_until(&tc, &mut seen, b"abc^C\r\n/ # ");
    s.send(&tc, b"echo hi\r");
    s.read_until(&tc, &mut seen, b"echo hi\r\nhi\r\n/ # ");
    s.send(&tc, b"exit 5\r");
    let (_, _, exit) = s.finish(&tc);
    assert_eq!(exit, StreamExit::Success, "an attach reports no exit code");
    tc.cluster().advance(Duration::from_secs(5));
    assert_eq!(phase(&tc, "p"), "Failed");
}

#[test]
fn refusals_carry_the_api_server_and_kubelet_texts() {
    let tc = cluster_with(&[
        pod("p", json!([busybox("c", &["sleep", "3600"])])),
        pod(
            "two",
            json!([
                busybox("a", &["sleep", "3600"]),
                busybox("b", &["sleep", "3600"])
            ]),
        ),
        pod(
            "pulling",
            json!([{"name": "c", "image": "busybox:no-such-tag", "command": ["sleep", "1"]}]),
        ),
    ]);
    let s = streams(&tc);
    let refusal = |r: StreamRequest, attach: bool| {
        let e = s.check(&r, attach).expect_err("refused");
        (e.code(), e.reason(), e.to_string())
    };
    assert_eq!(
        refusal(req("nope", None, &["ls"], false, false), false),
        (404, "NotFound", "pods \"nope\" not found".into())
    );
    assert_eq!(
        refusal(req("p", Some("x"), &["ls"], false, false), false),
        (
            400,
            "BadRequest",
            "container x is not valid for pod p".into()
        )
    );
    assert_eq!(
        refusal(req("two", None, &["ls"], false, false), false),
        (
            400,
            "BadRequest",
            "a container name must be specified for pod two, choose one of: [a b]".into()
        )
    );
    // The kubelet's own answers for a container that does not run.
    assert_eq!(
        refusal(req("pulling", Some("c"), &["ls"], false, false), false),
        (500, "InternalError", "container not found (\"c\")".into())
    );
    assert_eq!(
        refusal(req("pulling", None, &[], true, false), true),
        (
            500,
            "InternalError",
            "container c not found in pod pulling_default".into()
        )
    );
    // A pod that is running is accepted, for either container when named.
    assert!(
        s.check(&req("two", Some("b"), &["ls"], false, false), false)
            .is_ok()
    );
}

#[test]
fn attach_follows_the_main_shell_and_feeds_its_stdin() {
    let tc = cluster_with(&[pod(
        "p",
        json!([{"name": "c", "image": "busybox:1.36", "command": ["sh"], "stdin": true}]),
    )]);
    assert_eq!(phase(&tc, "p"), "Running", "sh waits on its open stdin");
    let mut s = start(&tc, req("p", None, &[], true, false), true);
    let mut seen = Vec::new();
    s.send(&tc, b"echo hi\n");
    s.read_until(&tc, &mut seen, b"hi\n");
    assert_eq!(seen, b"hi\n");
    // The main process's output also lands in its log.
    assert_eq!(log_of(&tc, "p", "c"), "hi\n");
    // Without stdinOnce, the client's end-of-file closes nothing: the attach goes on (as
    // `echo x | kubectl attach -i` does) until the client leaves, and the shell still runs.
    let Session {
        stdin,
        stdout,
        stderr,
        task,
    } = s;
    drop(stdin);
    let mut s = Session {
        stdin: None,
        stdout,
        stderr,
        task,
    };
    tc.cluster().advance(Duration::from_secs(1));
    assert!(!s.task.is_finished(), "the attach outlives its stdin");
    assert!(s.stdout.try_recv().is_err(), "nothing more was printed");
    assert_eq!(s.leave(&tc), StreamExit::Success);
    tc.cluster().advance(Duration::from_secs(5));
    assert_eq!(phase(&tc, "p"), "Running");

    // A second attach ends when the shell exits.
    let s = start(&tc, req("p", None, &[], true, false), true);
    s.send(&tc, b"echo bye; exit 4\n");
    let (out, _, exit) = s.finish(&tc);
    assert_eq!((out.as_str(), exit), ("bye\n", StreamExit::Success));
    tc.cluster().advance(Duration::from_secs(5));
    assert_eq!(phase(&tc, "p"), "Failed");
}

#[test]
fn stdin_once_ends_the_container_at_the_first_attach_end_of_file() {
    let tc = cluster_with(&[pod(
        "t2",
        json!([{"name": "t2", "image": "busybox:1.36", "command": ["sh"],
                "stdin": true, "stdinOnce": true}]),
    )]);
    assert_eq!(phase(&tc, "t2"), "Running");
    let s = start(&tc, req("t2", None, &[], true, false), true);
    s.send(&tc, b"echo hi\n");
    let (out, err, exit) = s.finish(&tc);
    assert_eq!(
        (out.as_str(), err.as_str(), exit),
        ("hi\n", "", StreamExit::Success)
    );
    tc.cluster().advance(Duration::from_secs(5));
    assert_eq!(phase(&tc, "t2"), "Succeeded");
}

#[test]
fn a_container_without_stdin_gives_its_main_process_end_of_file() {
    // `cat` as PID 1 without `stdin: true` reads /dev/null and exits 0.
    let tc = cluster_with(&[pod("p", json!([busybox("c", &["cat"])]))]);
    assert_eq!(phase(&tc, "p"), "Succeeded");
}

#[test]
fn an_exec_dies_with_its_container() {
    let tc = cluster_with(&[pod("p", json!([busybox("c", &["sleep", "3600"])]))]);
    let mut s = start(
        &tc,
        req("p", None, &["sh", "-c", "echo up; sleep 600"], false, false),
        false,
    );
    let mut seen = Vec::new();
    s.read_until(&tc, &mut seen, b"up\n");
    tc.cluster()
        .store()
        .delete(
            &kq_sim::kinds::pod::KIND,
            "default",
            "p",
            &Default::default(),
        )
        .expect("the pod is deleted");
    tc.cluster().settle();
    // sleep as PID 1 ignores SIGTERM: killed when the 5 s grace period ends.
    tc.cluster().advance(Duration::from_secs(6));
    let (out, _, exit) = s.finish(&tc);
    assert_eq!((out.as_str(), exit), ("", StreamExit::ExitCode(137)));
}

// ----- real kubectl: run -i --rm and cp (STREAMS.md §7 rows 9, 10, 12, 13) -------------------

mod kubectl {
    use std::io::Write;
    use std::path::Path;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use kq_tests::check::Step;
    use kq_tests::cluster::{Kubectl, Run, TestCluster, on_every_kubectl, wait_with_limit};

    const LIMIT: Duration = Duration::from_secs(90);

    /// Run with `input` piped to kubectl's stdin (then closed).
    fn run_piped(k: &Kubectl, args: &[&str], input: &[u8]) -> Run {
        let mut c = k.command(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("kubectl starts");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input);
        }
        let out = wait_with_limit(child, LIMIT);
        Run {
            cmd: format!("kubectl.{} {}", k.label, args.join(" ")),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run a kubectl command line on a real terminal (script(1)), typing `keys` one chunk
    /// at a time once the session is up.
    fn run_tty(k: &Kubectl, line: &str, keys: &[&'static [u8]]) -> Run {
        let base = k.command(&[]);
        let mut c = std::process::Command::new("script");
        c.args(["-qec", line, "/dev/null"]).env_clear();
        for (key, val) in base.get_envs() {
            if let Some(val) = val {
                c.env(key, val);
            }
        }
        c.env("TERM", "dumb")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("script starts");
        if let Some(mut stdin) = child.stdin.take() {
            let keys: Vec<&'static [u8]> = keys.to_vec();
            std::thread::spawn(move || {
                // Typed as a person would: after the pod has started and kubectl attached.
                std::thread::sleep(Duration::from_secs(6));
                for key in keys {
                    let _ = stdin.write_all(key);
                    std::thread::sleep(Duration::from_millis(700));
                }
                std::thread::sleep(Duration::from_secs(10));
            });
        }
        let out = wait_with_limit(child, LIMIT);
        Run {
            cmd: line.to_string(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn expect(cond: bool, run: &Run, why: &str) -> Step {
        if cond {
            Ok(())
        } else {
            Err(format!("{why}: {run}"))
        }
    }

    fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(root)
                        .map(|r| r.display().to_string())
                        .unwrap_or_default();
                    out.push((rel, std::fs::read(&p).unwrap_or_default()));
                }
            }
        }
        out.sort();
        out
    }

    fn scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
        let r = k.run(&["create", "namespace", ns]);
        expect(r.ok(), &r, "namespace")?;

        // Row 9: the shell exits 4 at once; kubectl shows its output and exits with its code.
        let r = k.run_with(
            &[
                "run",
                "t",
                "-n",
                ns,
                "-i",
                "--rm",
                "--restart=Never",
                "--image=busybox",
                "--",
                "sh",
                "-c",
                "echo hi; exit 4",
            ],
            &[],
            LIMIT,
        );
        expect(
            r.code == 4,
            &r,
            "run -i --rm exits with the container's code",
        )?;
        expect(r.stdout.contains("hi\n"), &r, "the container's output")?;
        expect(
            r.stdout.contains("pod \"t\" deleted"),
            &r,
            "--rm deletes the pod",
        )?;

        // Row 10: stdin piped to sh; stdinOnce's end-of-file ends the shell and the pod.
        let r = run_piped(
            k,
            &[
                "run",
                "t2",
                "-n",
                ns,
                "-i",
                "--rm",
                "--restart=Never",
                "--image=busybox",
                "--",
                "sh",
            ],
            b"echo hi\n",
        );
        expect(r.code == 0, &r, "piped sh exits 0 at end-of-file")?;
        expect(r.stdout.contains("hi\n"), &r, "the piped command ran")?;
        expect(
            r.stdout.contains("pod \"t2\" deleted"),
            &r,
            "--rm deletes the pod",
        )?;

        // run -it: the container gets a terminal; what is typed reaches its shell through the
        // container's line discipline (echo, CRLF), and `exit 3` ends pod and kubectl.
        let r = run_tty(
            k,
            &format!(
                "{} run t3 -n {ns} -it --rm --restart=Never --image=busybox -- sh",
                k.path.display()
            ),
            &[b"echo x\r", b"exit 3\r"],
        );
        expect(r.code == 3, &r, "run -it exits with the shell's code")?;
        expect(
            r.stdout.contains("echo x\r\nx\r\n"),
            &r,
            "the typed line is echoed and its output follows on CRLF lines",
        )?;
        expect(
            r.stdout.contains("pod \"t3\" deleted"),
            &r,
            "--rm deletes the pod",
        )?;

        // A client that never reads stdin still ends (wget cannot resolve `web` here).
        let started = Instant::now();
        let r = k.run_with(
            &[
                "run",
                "tmp",
                "-n",
                ns,
                "--rm",
                "-i",
                "--image=busybox",
                "--restart=Never",
                "--",
                "wget",
                "-qO-",
                "web",
            ],
            &[],
            LIMIT,
        );
        expect(
            r.code != -1 && started.elapsed() < LIMIT,
            &r,
            "run -i of a command that ignores stdin ends",
        )?;
        expect(
            r.stdout.contains("pod \"tmp\" deleted"),
            &r,
            "--rm deletes the pod",
        )?;

        // Rows 12-13: cp both ways through tar, with a file over 1 MiB of every byte value.
        let r = k.run(&[
            "run",
            "box",
            "-n",
            ns,
            "--image=busybox",
            "--restart=Never",
            "--",
            "sleep",
            "3600",
        ]);
        expect(r.ok(), &r, "run box")?;
        let r = k.run(&[
            "wait",
            "-n",
            ns,
            "--for=condition=Ready",
            "pod/box",
            "--timeout=60s",
        ]);
        expect(r.ok(), &r, "box gets ready")?;
        let local = tc.dir().join(format!("cp-{ns}"));
        let src = local.join("dir");
        std::fs::create_dir_all(src.join("sub")).map_err(|e| e.to_string())?;
        let big: Vec<u8> = (0..(1536 * 1024u32)).map(|i| (i % 251) as u8).collect();
        std::fs::write(src.join("big.bin"), &big).map_err(|e| e.to_string())?;
        std::fs::write(src.join("sub/small.txt"), b"hello\n").map_err(|e| e.to_string())?;
        let (s, b) = (
            src.display().to_string(),
            local.join("back").display().to_string(),
        );
        let target = format!("{ns}/box:/tmp/dir");
        let r = k.run_with(&["cp", &s, &target], &[], LIMIT);
        expect(r.ok(), &r, "cp to the pod")?;
        let r = k.run_with(&["cp", &target, &b], &[], LIMIT);
        expect(r.ok(), &r, "cp from the pod")?;
        let (want, got) = (files_under(&src), files_under(Path::new(&b)));
        if want != got {
            return Err(format!(
                "cp round trip differs: sent {:?}, got back {:?}",
                want.iter().map(|(n, d)| (n, d.len())).collect::<Vec<_>>(),
                got.iter().map(|(n, d)| (n, d.len())).collect::<Vec<_>>()
            ));
        }
        let missing = format!("{ns}/box:/nonexistent");
        let x = local.join("x").display().to_string();
        let r = k.run_with(&["cp", &missing, &x], &[], LIMIT);
        // tar fails in the pod, but kubectl exits 0 once it has read the (empty) archive,
        // before the exit status arrives: kubernetes/kubectl#980, still open. Whether tar's
        // complaint is printed first is a race in kubectl, so only the outcome is checked.
        expect(
            r.code == 0,
            &r,
            "cp of a missing path ends as kubectl's does",
        )?;
        expect(
            !Path::new(&x).exists(),
            &r,
            "nothing is written for a missing path",
        )?;
        Ok(())
    }

    #[test]
    fn every_kubectl_runs_interactively_and_copies_files() {
        let tc = TestCluster::start();
        on_every_kubectl(&tc, "ex", |k, ns| scenario(&tc, k, ns));
    }
}

#[test]
fn the_terminal_size_reaches_the_process() {
    let tc = cluster_with(&[pod("p", json!([busybox("c", &["sleep", "3600"])]))]);
    let s = streams(&tc);
    let ls_at = |width: u16| {
        let r = req("p", None, &["ls", "/"], false, true);
        let (out_tx, mut out_rx) = mpsc::channel(16);
        let (size_tx, size_rx) = mpsc::channel(4);
        size_tx
            .try_send(kq_sim::streaming::TerminalSize { width, height: 24 })
            .expect("room for a size");
        let io = StreamIo {
            stdin: None,
            resize: Some(size_rx),
            stdout: Some(out_tx),
            stderr: None,
        };
        let task = s.exec(r, io);
        tc.block_on(async {
            tokio::time::timeout(LIMIT, async {
                let mut out = Vec::new();
                let read = async {
                    while let Some(c) = out_rx.recv().await {
                        out.extend(c);
                    }
                };
                let (exit, ()) = tokio::join!(task, read);
                drop(size_tx);
                (String::from_utf8_lossy(&out).into_owned(), exit)
            })
            .await
            .expect("ls ends")
        })
    };
    let (narrow, exit) = ls_at(20);
    assert_eq!(exit, StreamExit::Success);
    let (wide, _) = ls_at(200);
    assert!(
        narrow.lines().count() > wide.lines().count(),
        "ls lays out to the width: at 20 columns {narrow:?}, at 200 {wide:?}"
    );
    assert!(
        wide.ends_with("\r\n"),
        "terminal output ends lines with CRLF: {wide:?}"
    );
}

/// Output past any flow-control window arrives whole and in order (STREAMS.md §7 row 4), at
/// real speed: the shell's output throttle sleeps on the cluster's clock.
#[test]
fn exec_streams_large_output_intact() {
    let tc = TestCluster::start();
    tc.create(
        "default",
        pod("p", json!([busybox("c", &["sleep", "3600"])])),
    );
    let started = std::time::Instant::now();
    while phase(&tc, "p") != "Running" {
        assert!(started.elapsed() < LIMIT, "the pod runs");
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = std::time::Instant::now();
    // 1.29 MB: far past a 64 KiB window.
    let (out, err, exit) = exec(&tc, "p", &["seq", "1", "200000"]);
    eprintln!("seq 1 200000: {} bytes in {:?}", out.len(), t.elapsed());
    let want: String = (1..=200000).map(|i| format!("{i}\n")).collect();
    assert_eq!(
        (out.len(), err.as_str(), exit),
        (want.len(), "", StreamExit::Success)
    );
    assert!(out == want, "the output is intact");
}

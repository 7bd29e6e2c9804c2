//! `kq play` in a terminal: it starts the embedded cluster, prints the KUBECONFIG line (real
//! kubectl works with it), applies the mission, prints the pipeline, and exits 0 on Ctrl-C
//! after cleaning up. Remote contexts are refused unless allowed, and the refusal says how.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kq_tests::cluster::kubectl_binaries;
use kq_tests::{kq_binary, workspace_root};

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success(), "kill {sig} {pid}");
}

/// Reads a child's stdout on a thread; lines arrive on the channel.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                seen.push(l.clone());
                if pred(&l) {
                    return l;
                }
            }
            Err(_) => panic!(
                "kq play never printed {what}; it printed:\n{}",
                seen.join("\n")
            ),
        }
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait works") {
            return s.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kq play did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `kq play crash-loop-backoff` with `TMPDIR` pointing at `tmp`, where its scratch folder goes.
fn play_with_tmpdir(data: &Path, tmp: &Path) -> Child {
    let lessons = workspace_root().join("lessons");
    Command::new(kq_binary())
        .args([
            "play",
            "crash-loop-backoff",
            "--lessons",
            lessons.to_str().expect("utf-8 path"),
        ])
        .env("XDG_DATA_HOME", data)
        .env("TMPDIR", tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kq starts")
}

fn play(args: &[&str], data: &Path) -> Child {
    Command::new(kq_binary())
        .arg("play")
        .args(args)
        .env("XDG_DATA_HOME", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kq starts")
}

#[test]
fn kq_play_starts_the_mission_prints_the_pipeline_and_exits_0_on_sigint() {
    let data = tempfile::tempdir().expect("temp dir");
    let lessons = workspace_root().join("lessons");
    let mut child = play(
        &[
            "crash-loop-backoff",
            "--lessons",
            lessons.to_str().expect("utf-8 path"),
        ],
        data.path(),
    );
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    let export = wait_line(&rx, &mut seen, "the KUBECONFIG line", |l| {
        l.trim_start().starts_with("export KUBECONFIG=")
    });
    let kubeconfig = export
        .trim()
        .trim_start_matches("export KUBECONFIG=")
        .to_owned();
    wait_line(&rx, &mut seen, "greeter's pipeline", |l| {
        l.starts_with("kq-crash-loop-backoff/greeter ")
    });

    // Real kubectl sees the mission's pod through the printed kubeconfig.
    let (_, kubectl) = kubectl_binaries().pop().expect("a kubectl");
    let home = data.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let out = Command::new(kubectl)
        .args(["get", "pods", "-n", "kq-crash-loop-backoff", "-o", "name"])
        .env_clear()
        .env("HOME", &home)
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("kubectl runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pod/greeter\n",
        "kubectl with the printed KUBECONFIG: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let progress = data.path().join("kubequest/progress.json");
    let stored = std::fs::read_to_string(&progress).expect("the start is recorded");
    assert!(
        stored.contains("crash-loop-backoff") && stored.contains("in-progress"),
        "{stored}"
    );

    signal(child.id(), "-INT");
    let code = wait_exit(&mut child, Duration::from_secs(20));
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(
        code,
        Some(0),
        "Ctrl-C ends kq play cleanly; stdout:\n{}\n{}",
        seen.join("\n"),
        rest.join("\n")
    );
    assert!(
        rest.iter().any(|l| l.contains("stopped; cleaning up")),
        "{rest:?}"
    );
    assert!(
        !Path::new(&kubeconfig).exists(),
        "the embedded cluster's kubeconfig is removed at exit"
    );
}

/// The embedded cluster's kubeconfig holds its credentials: the folder it is written to must be
/// one nobody else could have created beforehand (not `kubequest-play-<pid>`, which anyone on a
/// shared machine can predict) and nobody else can read (0700).
/// Ctrl-C the moment the kubeconfig line appears (while the mission is still being set up)
/// ends kq play cleanly too: the scratch folder with the cluster's credentials is not left
/// behind in the temp dir.
#[test]
fn ctrl_c_during_the_set_up_still_removes_the_scratch_folder() {
    let data = tempfile::tempdir().expect("temp dir");
    let tmp = tempfile::tempdir().expect("a temp dir to stand for the shared one");
    let mut child = play_with_tmpdir(data.path(), tmp.path());
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_line(&rx, &mut seen, "the KUBECONFIG line", |l| {
        l.trim_start().starts_with("export KUBECONFIG=")
    });
    signal(child.id(), "-INT");
    let code = wait_exit(&mut child, Duration::from_secs(20));
    assert_eq!(code, Some(0), "Ctrl-C ends kq play cleanly");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("temp dir readable")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "nothing is left in the temp dir: {left:?}");
}

#[test]
fn kq_play_keeps_the_kubeconfig_in_a_fresh_private_folder() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().expect("temp dir");
    let tmp = tempfile::tempdir().expect("a temp dir to stand for the shared one");
    let mut child = play_with_tmpdir(data.path(), tmp.path());
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    let export = wait_line(&rx, &mut seen, "the KUBECONFIG line", |l| {
        l.trim_start().starts_with("export KUBECONFIG=")
    });
    let kubeconfig =
        std::path::PathBuf::from(export.trim().trim_start_matches("export KUBECONFIG="));
    let folder = kubeconfig
        .parent()
        .expect("the kubeconfig is in a folder")
        .to_owned();
    assert_eq!(
        folder.parent(),
        Some(tmp.path()),
        "the scratch folder is in the temp dir (TMPDIR)"
    );
    let name = folder
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a utf-8 name")
        .to_owned();
    assert_ne!(
        name,
        format!("kubequest-play-{}", child.id()),
        "the scratch folder's name must not be predictable from the process id"
    );
    let mode = std::fs::metadata(&folder)
        .expect("the folder exists")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "the scratch folder is private to the learner");
    let file_mode = std::fs::metadata(&kubeconfig)
        .expect("the kubeconfig exists")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(
        file_mode, 0o600,
        "the kubeconfig is readable by the learner only"
    );

    // Ctrl-C is handled once the mission runs (before that it ends the process at once).
    wait_line(&rx, &mut seen, "greeter's pipeline", |l| {
        l.starts_with("kq-crash-loop-backoff/greeter ")
    });
    signal(child.id(), "-INT");
    let code = wait_exit(&mut child, Duration::from_secs(20));
    assert_eq!(code, Some(0), "Ctrl-C ends kq play cleanly");
    assert!(!folder.exists(), "the scratch folder is removed at exit");
}

#[test]
fn a_remote_context_is_refused_and_the_message_says_how_to_allow_it() {
    let data = tempfile::tempdir().expect("temp dir");
    let kubeconfig = data.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: prod\n  \
         cluster:\n    server: https://k8s.prod.example.com:6443\ncontexts:\n- name: prod\n  \
         context:\n    cluster: prod\n    user: me\nusers:\n- name: me\n  user:\n    token: x\n",
    )
    .expect("kubeconfig");
    let lessons = workspace_root().join("lessons");
    let out = Command::new(kq_binary())
        .args([
            "play",
            "crash-loop-backoff",
            "--lessons",
            lessons.to_str().expect("utf-8 path"),
            "--context",
            "prod",
        ])
        .env("XDG_DATA_HOME", data.path())
        .env("KUBECONFIG", &kubeconfig)
        .stdin(Stdio::null())
        .output()
        .expect("kq runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not a local cluster") && err.contains("--allow-remote"),
        "{err}"
    );

    let out = Command::new(kq_binary())
        .args([
            "play",
            "no-such-mission",
            "--lessons",
            lessons.to_str().expect("utf-8 path"),
        ])
        .env("XDG_DATA_HOME", data.path())
        .stdin(Stdio::null())
        .output()
        .expect("kq runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no-such-mission") && err.contains("crash-loop-backoff"),
        "lists the missions there are: {err}"
    );
}

/// The whole loop a learner goes through in a terminal: the mission breaks, real kubectl shows
/// why, real kubectl fixes it, and `kq play` notices, prints the learner's own debrief (the
/// commands they ran) as plain text and records the solve.
#[test]
fn kq_play_is_solved_by_real_kubectl_fixing_the_pod() {
    let data = tempfile::tempdir().expect("temp dir");
    let lessons = workspace_root().join("lessons");
    let mut child = play(
        &[
            "image-pull-backoff",
            "--lessons",
            lessons.to_str().expect("utf-8 path"),
            "--speed",
            "10",
        ],
        data.path(),
    );
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    let export = wait_line(&rx, &mut seen, "the KUBECONFIG line", |l| {
        l.trim_start().starts_with("export KUBECONFIG=")
    });
    let kubeconfig = export
        .trim()
        .trim_start_matches("export KUBECONFIG=")
        .to_owned();
    // The broken state develops: the pull fails.
    wait_line(&rx, &mut seen, "the failed pull", |l| {
        l.contains("ErrImagePull") || l.contains("ImagePullBackOff")
    });

    let (_, kubectl) = kubectl_binaries().pop().expect("a kubectl");
    let home = data.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let kubectl = |args: &[&str]| {
        Command::new(&kubectl)
            .args(args)
            .env_clear()
            .env("HOME", &home)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .expect("kubectl runs")
    };
    let described = kubectl(&["describe", "pod", "web", "-n", "kq-image-pull-backoff"]);
    let text = String::from_utf8_lossy(&described.stdout);
    assert!(
        text.contains("Failed to pull image \"nginx:nonexistent-tag-xyz-123\""),
        "describe shows the evidence:\n{text}"
    );
    let fixed = kubectl(&[
        "set",
        "image",
        "pod/web",
        "web=nginx:1.27",
        "-n",
        "kq-image-pull-backoff",
    ]);
    assert!(
        fixed.status.success(),
        "kubectl set image: {}",
        String::from_utf8_lossy(&fixed.stderr)
    );

    let code = wait_exit(&mut child, Duration::from_secs(60));
    let rest: Vec<String> = rx.try_iter().collect();
    let all = format!("{}\n{}", seen.join("\n"), rest.join("\n"));
    assert_eq!(
        code,
        Some(0),
        "a solved mission ends kq play with 0:\n{all}"
    );
    assert!(
        all.lines().any(|l| l == "What happened"),
        "the debrief is printed, its headings as lines of their own:\n{all}"
    );
    assert!(
        !all.contains("## ") && !all.contains('\x1b'),
        "in a pipe the debrief is plain text: no Markdown marks, no escape codes:\n{all}"
    );
    // The debrief is this learner's: the commands they ran, as they ran them, grouped.
    let commands = all
        .split("\nYour commands\n")
        .nth(1)
        .and_then(|rest| rest.split("\nTime to fix:").next())
        .unwrap_or_else(|| panic!("the debrief lists the learner's commands:\n{all}"));
    assert!(
        commands
            .lines()
            .any(|l| l.trim_start().starts_with("- `kubectl describe pod web")),
        "the learner looked with kubectl describe pod web:\n{commands}"
    );
    assert!(
        commands
            .lines()
            .any(|l| l.trim_start().starts_with("- `kubectl set image")),
        "the learner fixed it with kubectl set image:\n{commands}"
    );
    assert!(
        !commands.contains("kubectl logs"),
        "a command the learner never ran is not listed as theirs:\n{commands}"
    );
    assert!(
        !all.contains("deleting it is not a fix"),
        "the pod was never deleted, so nothing says it was:\n{all}"
    );
    // In a pipe the status is appended change by change, not redrawn: the KUBECONFIG line
    // opens the first status and is not repeated with each change.
    assert_eq!(
        all.lines()
            .filter(|l| l.starts_with("export KUBECONFIG="))
            .count(),
        1,
        "{all}"
    );
    let stored = std::fs::read_to_string(data.path().join("kubequest/progress.json"))
        .expect("progress is saved");
    assert!(
        stored.contains("image-pull-backoff") && stored.contains("solved"),
        "{stored}"
    );
}

/// On a terminal the status is one block redrawn in place: after the first draw, each change
/// moves the cursor back to the block's first row and clears down, and every redraw starts with
/// the `export KUBECONFIG=…` line, so it stays in view. (`script` gives kq play a real PTY.)
#[test]
fn on_a_terminal_kq_play_redraws_one_status_block_under_the_kubeconfig_line() {
    let data = tempfile::tempdir().expect("temp dir");
    let typescript = data.path().join("typescript");
    let lessons = workspace_root().join("lessons");
    let command = format!(
        "stty cols 120 rows 40; exec {} play crash-loop-backoff --lessons {}",
        kq_binary().display(),
        lessons.display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &command])
        .arg(&typescript)
        .env("XDG_DATA_HOME", data.path())
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs kq play in a pseudo-terminal");
    // Wait until the pod has crashed at least once: several redraws by then.
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read(&typescript)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if text.contains("CrashLoopBackOff") && text.matches("\x1b[J").count() >= 3 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "kq play on a terminal never redrew its status:\n{text:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    // Each redraw is `ESC [ n F` (to the start of the line n rows up) then `ESC [ J` (clear
    // down): the block is replaced, not appended.
    let pieces: Vec<&str> = text.split("\x1b[J").collect();
    let redraws = &pieces[1..pieces.len() - 1]; // the last one may still be being written
    assert!(!redraws.is_empty(), "{text:?}");
    for (before, _) in pieces.iter().zip(redraws) {
        let start = before
            .rfind("\x1b[")
            .expect("a cursor movement before each clear");
        let movement = &before[start + 2..];
        assert!(
            movement.ends_with('F')
                && movement.len() > 1
                && movement[..movement.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_digit()),
            "the cursor goes back up over the previous block before clearing: {movement:?}"
        );
    }
    for r in redraws {
        // Each piece ends with the next redraw's cursor movement.
        let block = r.rsplit_once("\x1b[").map_or(*r, |(b, _)| b);
        let lines: Vec<&str> = block.lines().map(|l| l.trim_end_matches('\r')).collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("export KUBECONFIG="))
            .unwrap_or_else(|| panic!("every redrawn block opens with the KUBECONFIG line: {r:?}"));
        assert!(
            lines[at..].iter().any(|l| l.starts_with("objectives (")),
            "the block holds the objectives: {r:?}"
        );
        assert_eq!(
            lines.last().copied(),
            Some("(type h and Enter for a hint; Ctrl-C to stop)"),
            "the block ends the screen; nothing is appended under it: {r:?}"
        );
    }
}

/// `kq play` with `KUBECONFIG` set to a learner's class kubeconfig (as `kq classroom prepare`
/// writes it): no embedded cluster and no `--context`; the mission plays in the learner's own
/// namespace on the class's cluster, the teacher's file and missions outside the class are
/// refused with what to do, and leaving the mission keeps the namespace the teacher made and
/// tells the class.
#[test]
fn kq_play_with_a_learner_s_class_kubeconfig_plays_in_the_learner_s_namespace() {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use kq_engine::classroom;
    use kq_engine::mission::Catalog;
    use kq_tests::cluster::{TestCluster, kube_client};
    use kube::Api;

    let tc = TestCluster::start();
    let lessons = workspace_root().join("lessons");
    let catalog = Catalog::load(std::slice::from_ref(&lessons));
    let plan = kq_tests::classroom::plan("monday", "ada\nbob\n", &catalog);
    let out = kq_tests::classroom::prepare(&tc, &plan);
    let admin = tc.block_on(kube_client(tc.cluster()));
    let data = tempfile::tempdir().expect("temp dir");
    let kq = |mission: &str, kubeconfig: &Path| {
        Command::new(kq_binary())
            .args([
                "play",
                mission,
                "--lessons",
                lessons.to_str().expect("utf-8 path"),
            ])
            .env("XDG_DATA_HOME", data.path())
            .env("KUBECONFIG", kubeconfig)
            .env("TMPDIR", data.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kq starts")
    };

    // The teacher's file is for following the class, not for playing.
    let teacher = kq("crash-loop-backoff", &out.join("teacher.kubeconfig"))
        .wait_with_output()
        .expect("kq runs");
    let err = String::from_utf8_lossy(&teacher.stderr);
    assert_eq!(teacher.status.code(), Some(1), "{err}");
    assert!(
        err.contains("this is the teacher's kubeconfig: use `kq classroom status`"),
        "{err}"
    );
    // The node drain is not a mission of the class: the class's missions are listed.
    let drain = kq("drain-blocked-by-pdb", &out.join("ada.kubeconfig"))
        .wait_with_output()
        .expect("kq runs");
    let err = String::from_utf8_lossy(&drain.stderr);
    assert_eq!(drain.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`drain-blocked-by-pdb` is not a mission of class monday; its missions are: crash-loop-backoff, "),
        "{err}"
    );

    let mut child = kq("crash-loop-backoff", &out.join("ada.kubeconfig"));
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_line(&rx, &mut seen, "the class line", |l| {
        l.starts_with("class monday, learner ada")
    });
    wait_line(
        &rx,
        &mut seen,
        "greeter's pipeline in ada's namespace",
        |l| l.starts_with("kq-ada-crash-loop-backoff/greeter "),
    );
    assert!(
        !seen.iter().any(|l| l.contains("export KUBECONFIG=")),
        "no embedded cluster was started: {seen:#?}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(admin.clone(), classroom::CLASS_NAMESPACE);
    let current = |tc: &TestCluster| {
        tc.block_on(cms.get("progress-ada"))
            .expect("progress-ada")
            .data
            .unwrap_or_default()
            .get("current")
            .cloned()
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while current(&tc) != "crash-loop-backoff" {
        assert!(
            Instant::now() < deadline,
            "the class never heard that ada is on mission 1"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(child.id(), "-INT");
    let code = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(code, Some(0), "Ctrl-C ends kq play cleanly");
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let ns = tc
        .block_on(namespaces.get("kq-ada-crash-loop-backoff"))
        .expect("ada's namespace stays: the teacher made it");
    assert!(ns.metadata.deletion_timestamp.is_none());
    assert_eq!(current(&tc), "", "the class sees that ada left the mission");
    assert!(
        tc.block_on(namespaces.get_opt("kq-crash-loop-backoff"))
            .expect("admin reads")
            .is_none(),
        "nothing was played in the solo namespace"
    );
}

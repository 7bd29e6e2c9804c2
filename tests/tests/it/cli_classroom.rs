//! `kq classroom` as a teacher runs it: `serve` a class of three on the embedded cluster
//! (loopback only: CI never listens on a network), each learner's kubeconfig working with real
//! kubectl in their own namespaces and Forbidden next door, a join code answering the same
//! kubeconfig, the teacher's `status` table, SIGTERM ending the class with exit 0; `prepare`
//! and `clean` through a kubeconfig context on an embedded cluster standing in for a real one;
//! and the refusals a teacher can meet (a bad roster, an unknown context).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kq_tests::cluster::{TestCluster, kubectl_binaries, wait_with_limit};
use kq_tests::kq_binary;

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success(), "kill {sig} {pid}");
}

fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn roster(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("names.txt");
    std::fs::write(&p, text).unwrap();
    p
}

/// Real kubectl with `kubeconfig` and a private HOME.
fn kubectl(home: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    let (label, path) = kubectl_binaries().into_iter().next().expect("a kubectl");
    let child = Command::new(&path)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("kubectl {label}: {e}"));
    wait_with_limit(child, Duration::from_secs(60))
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn kq(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(kq_binary());
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        c.env(k, v);
    }
    wait_with_limit(c.spawn().expect("kq starts"), Duration::from_secs(180))
}

#[test]
fn kq_classroom_serve_seats_three_learners_for_real_kubectl_and_ends_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let names = roster(dir.path(), "# Monday's group\nAda\n\ngrace\n  lin  \n");
    let out = dir.path().join("class");
    let mut child = Command::new(kq_binary())
        .args(["classroom", "serve", "--learners"])
        .arg(&names)
        .arg("--out")
        .arg(&out)
        .args(["--class", "monday", "--hours", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kq starts");
    let rx = lines_of(&mut child);
    let ready = match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(l) => l,
        Err(_) => {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("kq classroom serve never printed ready:\n{}", text(&o));
        }
    };
    let rest = ready
        .strip_prefix("ready: https://127.0.0.1:")
        .unwrap_or_else(|| panic!("a ready line on loopback: {ready}"));
    let (port, tail) = rest.split_once(' ').expect("url then fields");
    let port: u16 = port.parse().expect("a port");
    assert_eq!(tail, format!("learners=3 out={}", out.display()), "{ready}");

    for who in ["ada", "grace", "lin", "teacher"] {
        let p = out.join(format!("{who}.kubeconfig"));
        let meta = std::fs::metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{} holds a token and must be private",
                p.display()
            );
        }
        let _ = meta;
        let yaml = std::fs::read_to_string(&p).unwrap();
        assert!(
            yaml.contains(&format!("server: https://127.0.0.1:{port}")),
            "{yaml}"
        );
    }
    let sheet = std::fs::read_to_string(out.join("join-sheet.md")).expect("the join sheet");
    assert!(out.join("join-sheet.html").is_file());

    // Each learner works in their own namespaces with real kubectl, and nowhere else.
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let ada = out.join("ada.kubeconfig");
    let own = kubectl(
        &home,
        &ada,
        &["get", "pods", "-n", "kq-ada-crash-loop-backoff"],
    );
    assert!(own.status.success(), "{}", text(&own));
    assert!(
        String::from_utf8_lossy(&own.stderr)
            .contains("No resources found in kq-ada-crash-loop-backoff namespace."),
        "{}",
        text(&own)
    );
    let run = kubectl(
        &home,
        &ada,
        &[
            "run",
            "probe",
            "--image=busybox",
            "-n",
            "kq-ada-crash-loop-backoff",
            "--",
            "sleep",
            "3600",
        ],
    );
    assert!(run.status.success(), "{}", text(&run));
    let next_door = kubectl(
        &home,
        &ada,
        &["get", "pods", "-n", "kq-grace-crash-loop-backoff"],
    );
    assert!(!next_door.status.success(), "{}", text(&next_door));
    assert!(
        String::from_utf8_lossy(&next_door.stderr).contains(
            "pods is forbidden: User \"system:serviceaccount:kq-classroom:learner-ada\" cannot \
             list resource \"pods\" in API group \"\" in the namespace \
             \"kq-grace-crash-loop-backoff\""
        ),
        "{}",
        text(&next_door)
    );
    // The scheduling missions' extra nodes are there, one copy per learner, made by the
    // teacher before anyone joined; the drain mission is not in the class, so its node-2 is
    // not.
    let nodes = kubectl(&home, &ada, &["get", "nodes", "-o", "name"]);
    assert!(nodes.status.success(), "{}", text(&nodes));
    assert_eq!(
        String::from_utf8_lossy(&nodes.stdout),
        "node/batch-1\nnode/batch-2\nnode/batch-3\nnode/fast-1\nnode/fast-2\nnode/fast-3\n\
         node/node-1\n"
    );
    // Every learner's fixed search-indexer finds an SSD node at once, while the pending-cpu
    // mission's 6-CPU worker still fits nowhere (the SSD nodes take no more than a class
    // needs, or the worker would run there and solve itself).
    let lessons = kq_tests::workspace_root().join("lessons");
    let apply = |who: &str, ns: &str, dir: &str| {
        let o = kubectl(
            &home,
            &out.join(format!("{who}.kubeconfig")),
            &["apply", "-n", ns, "-f", lessons.join(dir).to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", text(&o));
    };
    for who in ["ada", "grace", "lin"] {
        apply(
            who,
            &format!("kq-{who}-node-selector-mismatch"),
            "12-node-selector-mismatch/solution",
        );
    }
    apply(
        "ada",
        "kq-ada-pending-insufficient-cpu",
        "03-pending-insufficient-cpu/manifests",
    );
    let node_of = |who: &str, ns: &str, pod: &str| -> String {
        let o = kubectl(
            &home,
            &out.join(format!("{who}.kubeconfig")),
            &[
                "get",
                "pod",
                pod,
                "-n",
                ns,
                "-o",
                "jsonpath={.spec.nodeName}",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut placed: Vec<String>;
    loop {
        placed = ["ada", "grace", "lin"]
            .iter()
            .map(|w| {
                node_of(
                    w,
                    &format!("kq-{w}-node-selector-mismatch"),
                    "search-indexer",
                )
            })
            .collect();
        if placed.iter().all(|n| !n.is_empty()) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    placed.sort();
    assert_eq!(placed, ["fast-1", "fast-2", "fast-3"], "one SSD node each");
    // Once the scheduler has judged the worker (it has a PodScheduled condition), it is
    // Unschedulable, on no node.
    let deadline = Instant::now() + Duration::from_secs(30);
    let worker = loop {
        let o = kubectl(
            &home,
            &ada,
            &[
                "get",
                "pod",
                "report-worker",
                "-n",
                "kq-ada-pending-insufficient-cpu",
                "-o",
                "jsonpath={.status.phase} {.spec.nodeName} {.status.conditions[0].reason}",
            ],
        );
        if !String::from_utf8_lossy(&o.stdout).ends_with(' ') || Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        String::from_utf8_lossy(&worker.stdout),
        "Pending  Unschedulable",
        "{}",
        text(&worker)
    );

    // A join code fetches the same kubeconfig over the wire, without a token.
    let code = sheet
        .lines()
        .find(|l| l.starts_with("| grace |"))
        .and_then(|l| l.split('`').nth(1))
        .unwrap_or_else(|| panic!("grace's code on the sheet:\n{sheet}"))
        .to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (learner, yaml) = rt
        .block_on(kq_engine::classroom::join_with_code(
            &format!("127.0.0.1:{port}"),
            &code.to_lowercase(),
        ))
        .expect("grace's code is accepted");
    assert_eq!(learner, "grace");
    assert_eq!(
        yaml,
        std::fs::read_to_string(out.join("grace.kubeconfig")).unwrap()
    );

    // The teacher's view lists every learner.
    let status = kq(
        &[
            "classroom",
            "status",
            "--kubeconfig",
            out.join("teacher.kubeconfig").to_str().unwrap(),
        ],
        &[],
    );
    assert!(status.status.success(), "{}", text(&status));
    let table = String::from_utf8_lossy(&status.stdout).into_owned();
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].starts_with("LEARNER "), "{table}");
    for (row, learner) in rows[1..4].iter().zip(["ada", "grace", "lin"]) {
        assert!(row.starts_with(&format!("{learner} ")), "{table}");
    }
    // The same class as the CSV `kq progress report` writes, one row per learner and mission.
    let csv = kq(
        &[
            "classroom",
            "status",
            "--format",
            "csv",
            "--kubeconfig",
            out.join("teacher.kubeconfig").to_str().unwrap(),
        ],
        &[],
    );
    assert!(csv.status.success(), "{}", text(&csv));
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    assert!(
        csv.starts_with("learner_id,learner_name,mission_id,status,"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("lin,lin,crash-loop-backoff,not-started,")),
        "{csv}"
    );
    // The teacher reads everything, but as another identity: no Secrets.
    let secrets = kubectl(
        &home,
        &out.join("teacher.kubeconfig"),
        &["get", "secrets", "-n", "kq-ada-crash-loop-backoff"],
    );
    assert!(!secrets.status.success(), "{}", text(&secrets));

    signal(child.id(), "-TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "kq did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "kq exits 0 when the class ends");
    assert!(rx.try_recv().is_err(), "one line on stdout: the ready line");
}

#[test]
fn kq_classroom_prepare_and_clean_on_a_context_leave_the_cluster_as_it_was() {
    let tc = TestCluster::start();
    let kc = tc.kubeconfig();
    let dir = tempfile::tempdir().unwrap();
    let names = roster(dir.path(), "ada\ngrace\n");
    let out = dir.path().join("class");
    let namespaces = |tc: &TestCluster| -> Vec<String> {
        let mut v: Vec<String> = tc
            .cluster()
            .store()
            .list::<k8s_openapi::api::core::v1::Namespace>(None)
            .into_iter()
            .filter(|n| n.metadata.deletion_timestamp.is_none())
            .filter_map(|n| n.metadata.name)
            .collect();
        v.sort();
        v
    };
    let before = namespaces(&tc);

    let unknown = kq(
        &[
            "classroom",
            "prepare",
            "--context",
            "school",
            "--learners",
            names.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("KUBECONFIG", &kc)],
    );
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "error: the kubeconfig has no context named `school`; its contexts are: kubequest\n"
    );
    assert_eq!(
        namespaces(&tc),
        before,
        "nothing is made for an unknown context"
    );

    let prepared = kq(
        &[
            "classroom",
            "prepare",
            "--context",
            "kubequest",
            "--learners",
            names.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("KUBECONFIG", &kc)],
    );
    assert!(prepared.status.success(), "{}", text(&prepared));
    let err = String::from_utf8_lossy(&prepared.stderr);
    for left_out in [
        "left out: untolerated-taint: it needs cluster-wide objects (Node batch-1)",
        "left out: node-selector-mismatch: it needs cluster-wide objects (Node fast-1)",
        "left out: drain-blocked-by-pdb: it drains a node",
    ] {
        assert!(err.contains(left_out), "{left_out}\n{}", text(&prepared));
    }
    let stdout = String::from_utf8_lossy(&prepared.stdout);
    assert!(
        stdout.starts_with("class class prepared on kubequest for 2 learners and 25 missions"),
        "{}",
        text(&prepared)
    );
    assert!(out.join("ada.kubeconfig").is_file());
    let after = namespaces(&tc);
    assert!(after.contains(&"kq-classroom".to_owned()), "{after:?}");
    assert!(
        after.contains(&"kq-grace-crash-loop-backoff".to_owned()),
        "{after:?}"
    );
    assert!(
        !after.contains(&"kq-ada-untolerated-taint".to_owned()),
        "a left-out mission gets no namespace"
    );

    let cleaned = kq(
        &["classroom", "clean", "--context", "kubequest"],
        &[("KUBECONFIG", &kc)],
    );
    assert!(cleaned.status.success(), "{}", text(&cleaned));
    let removed = String::from_utf8_lossy(&cleaned.stdout);
    assert!(
        removed.contains("removed namespace/kq-classroom\n")
            && removed.contains("removed namespace/kq-ada-crash-loop-backoff\n"),
        "{removed}"
    );
    assert_eq!(
        namespaces(&tc),
        before,
        "clean removes exactly what prepare made"
    );
    let again = kq(
        &["classroom", "clean", "--context", "kubequest"],
        &[("KUBECONFIG", &kc)],
    );
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "nothing to remove: no class KubeQuest prepared is on kubequest\n"
    );
}

#[test]
fn kq_classroom_refuses_a_bad_roster_before_starting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let names = roster(dir.path(), "ada\nAda Lovelace\n");
    let out = dir.path().join("class");
    let o = kq(
        &[
            "classroom",
            "serve",
            "--learners",
            names.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: {}:2: \"Ada Lovelace\" is not a valid learner name: use lower-case letters, \
             digits and '-' (for example ada-lovelace)\n",
            names.display()
        )
    );
    assert!(o.stdout.is_empty(), "no ready line");
    assert!(!out.exists(), "nothing is written for a bad roster");
    let missing = kq(
        &[
            "classroom",
            "serve",
            "--learners",
            dir.path().join("nope.txt").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("one learner name per line"),
        "{}",
        text(&missing)
    );
    // A named pipe in place of the roster is refused at once instead of waiting for a writer
    // (kq is killed after its limit otherwise), and so is a file far larger than any roster.
    let fifo = dir.path().join("fifo.txt");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let huge = dir.path().join("huge.txt");
    std::fs::write(&huge, "ada\n".repeat(400_000)).unwrap();
    for (file, why) in [
        (&fifo, "it is a FIFO (named pipe), not a regular file"),
        (&huge, "it is larger than 1024 KiB"),
    ] {
        let o = kq(
            &[
                "classroom",
                "serve",
                "--learners",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            err.starts_with(&format!(
                "error: cannot read the roster {}: {why}",
                file.display()
            )),
            "{}",
            text(&o)
        );
        assert!(!out.exists(), "nothing is written for an unreadable roster");
    }
}

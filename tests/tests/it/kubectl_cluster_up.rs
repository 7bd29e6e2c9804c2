//! `kq cluster up`: writes a private kubeconfig, prints exactly one `ready:` line once it
//! serves, works with real kubectl, and exits 0 on SIGTERM and on SIGINT.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kq_tests::cluster::{kubectl_binaries, wait_with_limit};
use kq_tests::kq_binary;

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success(), "kill {sig} {pid}");
}

fn up_and_stop(kq: &PathBuf, sig: &str, port: Option<u16>) {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("nested/kubeconfig");
    let mut args = vec![
        "cluster".to_string(),
        "up".into(),
        "--kubeconfig".into(),
        kc.display().to_string(),
    ];
    if let Some(p) = port {
        args.extend(["--port".into(), p.to_string()]);
    }
    args.extend(["--speed".into(), "2".into()]);
    let mut child = Command::new(kq)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kq starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("kq prints its ready line within 30 s");
    assert_eq!(line, format!("ready: KUBECONFIG={}", kc.display()));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kc).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "the kubeconfig holds a credential and must be private"
        );
    }
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(text.contains("current-context: kubequest"), "{text}");
    assert!(text.contains("certificate-authority-data:"), "{text}");
    if let Some(p) = port {
        assert!(
            text.contains(&format!("server: https://127.0.0.1:{p}")),
            "{text}"
        );
    }

    let (label, path) = kubectl_binaries().into_iter().next().expect("a kubectl");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let get = Command::new(&path)
        .args(["get", "nodes"])
        .env_clear()
        .env("HOME", &home)
        .env("KUBECONFIG", &kc)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_limit(get, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("node-1   Ready"),
        "kubectl {label} get nodes: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    signal(child.id(), sig);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "kq did not stop on {sig}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "kq exits 0 on {sig}");
    assert!(rx.try_recv().is_err(), "exactly one line on stdout");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn kq_cluster_up_serves_kubectl_and_stops_cleanly() {
    let kq = kq_binary();
    up_and_stop(&kq, "-TERM", None);
    up_and_stop(&kq, "-INT", Some(free_port()));
}

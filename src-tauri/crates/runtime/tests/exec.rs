//! `kubectl exec` and `attach` as the runtime serves them: processes started in a running
//! container's sandbox share its filesystem; a missing binary fails with containerd's text.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Container;
use kq_runtime::{ContainerSandbox, Program, Runtime, RuntimeError, Step};

fn container(image: &str, command: Option<&[&str]>) -> Container {
    Container {
        name: "main".into(),
        image: Some(image.into()),
        command: command.map(|c| c.iter().map(|s| s.to_string()).collect()),
        ..Container::default()
    }
}

fn sandbox(rt: &Runtime, c: &Container) -> ContainerSandbox {
    let image = match rt.resolve(c.image.as_deref().unwrap_or_default(), &[]) {
        Ok(i) => i,
        Err(e) => panic!("resolve: {e}"),
    };
    let env = vec![
        ("HOME".to_string(), "/root".to_string()),
        ("HOSTNAME".to_string(), "web-0".to_string()),
    ];
    let mut files = BTreeMap::new();
    files.insert("/etc/config/mode".to_string(), "dev\n".to_string());
    rt.sandbox(
        &image,
        c,
        env,
        files,
        jiff::Timestamp::UNIX_EPOCH,
        "10.244.0.5",
    )
}

/// Stdout, stderr and the step the program paused on.
fn drain(p: &mut dyn Program) -> (Vec<u8>, String, Step) {
    let (mut out, mut err) = (Vec::new(), String::new());
    for _ in 0..10_000 {
        match p.next_step() {
            Step::Stdout(b) => out.extend(b),
            Step::Stderr(b) => err.push_str(&String::from_utf8_lossy(&b)),
            Step::Sleep(d) if d != Duration::MAX => {}
            s => return (out, err, s),
        }
    }
    panic!("program never paused");
}

fn exec(
    rt: &Runtime,
    sb: &ContainerSandbox,
    argv: &[&str],
    input: &[u8],
) -> (Vec<u8>, String, Step) {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let mut p = match rt.exec(sb, &argv, false) {
        Ok(p) => p,
        Err(e) => panic!("exec {argv:?}: {e}"),
    };
    p.feed_stdin(input);
    p.close_stdin();
    drain(p.as_mut())
}

#[test]
fn exec_shares_the_containers_filesystem_with_the_main_process() {
    let rt = Runtime::new();
    let c = container(
        "busybox:1.36",
        Some(&["sh", "-c", "echo started > /tmp/state; sleep 3600"]),
    );
    let sb = sandbox(&rt, &c);
    let mut main = match rt.start(&sb) {
        Ok(p) => p,
        Err(e) => panic!("start: {e}"),
    };
    assert_eq!(main.next_step(), Step::Sleep(Duration::from_secs(3600)));
    // The exec sees the main process's write and the mounted file.
    let (out, _, end) = exec(&rt, &sb, &["cat", "/tmp/state", "/etc/config/mode"], b"");
    assert_eq!(
        (out.as_slice(), end),
        (&b"started\ndev\n"[..], Step::Exit(0))
    );
    // A write by one exec is seen by the next, and by exec probes on the main process.
    let (_, _, end) = exec(
        &rt,
        &sb,
        &["sh", "-c", "mkdir -p /srv && echo ok > /srv/healthy"],
        b"",
    );
    assert_eq!(end, Step::Exit(0));
    assert_eq!(
        main.exec(&["cat".into(), "/srv/healthy".into()]),
        (0, "ok\n".into())
    );
    // kubectl cp into the container and back out.
    let (archive, err, end) = exec(&rt, &sb, &["tar", "cf", "-", "/srv"], b"");
    assert_eq!(
        (err.as_str(), end),
        (
            "tar: removing leading '/' from member names\n",
            Step::Exit(0)
        )
    );
    let other = sandbox(&rt, &c);
    let (_, err, end) = exec(&rt, &other, &["tar", "-xmf", "-", "-C", "/tmp"], &archive);
    assert_eq!((err.as_str(), end), ("", Step::Exit(0)));
    assert_eq!(
        other.fs().read("/tmp/srv/healthy").as_deref(),
        Some(&b"ok\n"[..])
    );
    // The first container's tree is untouched by the second's.
    assert!(!sb.fs().exists("/tmp/srv"));
}

#[test]
fn exec_of_a_missing_binary_fails_with_containerds_text() {
    let rt = Runtime::new();
    let sb = sandbox(&rt, &container("busybox:1.36", Some(&["sleep", "3600"])));
    match rt.exec(&sb, &["bash".to_string()], true) {
        Err(e @ RuntimeError::ExecNotFound(_)) => assert_eq!(
            e.to_string(),
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"bash\": executable file not found in $PATH: unknown"
        ),
        other => panic!("expected ExecNotFound, got {other:?}"),
    }
}

#[test]
fn exec_into_an_nginx_container_runs_its_shell() {
    let rt = Runtime::new();
    let sb = sandbox(&rt, &container("nginx:1.25", None));
    let mut main = match rt.start(&sb) {
        Ok(p) => p,
        Err(e) => panic!("start: {e}"),
    };
    assert!(matches!(main.next_step(), Step::Stdout(_)));
    let (out, _, end) = exec(
        &rt,
        &sb,
        &["sh", "-c", "echo hi > /tmp/x; cat /tmp/x; ls /tmp"],
        b"",
    );
    assert_eq!((out.as_slice(), end), (&b"hi\nx\n"[..], Step::Exit(0)));
    // `kubectl exec -it web -- bash` on a Debian image prompts as its bashrc sets it.
    let mut p = match rt.exec(&sb, &["bash".to_string()], true) {
        Ok(p) => p,
        Err(e) => panic!("exec bash: {e}"),
    };
    assert_eq!(
        drain(p.as_mut()),
        (b"root@web-0:/# ".to_vec(), String::new(), Step::WaitInput)
    );
    p.feed_stdin(b"cd; exit 4\n");
    assert_eq!(
        drain(p.as_mut()),
        (Vec::new(), String::new(), Step::Exit(4))
    );
}

#[test]
fn a_container_with_stdin_keeps_its_shell_waiting_for_attach() {
    let rt = Runtime::new();
    // `kubectl run -i -t bb --image=busybox` sets stdin and tty on the container.
    let mut c = container("busybox:1.36", None);
    c.stdin = Some(true);
    c.tty = Some(true);
    let sb = sandbox(&rt, &c);
    let mut main = match rt.start(&sb) {
        Ok(p) => p,
        Err(e) => panic!("start: {e}"),
    };
    assert_eq!(
        drain(main.as_mut()),
        (b"/ # ".to_vec(), String::new(), Step::WaitInput)
    );
    main.feed_stdin(b"echo $HOSTNAME\n");
    assert_eq!(
        drain(main.as_mut()),
        (b"web-0\n/ # ".to_vec(), String::new(), Step::WaitInput)
    );
    main.close_stdin();
    assert_eq!(
        drain(main.as_mut()),
        (Vec::new(), "\n".into(), Step::Exit(0))
    );
    // Without `stdin: true` the same image's `sh` ends at once (Completed).
    let sb = sandbox(&rt, &container("busybox:1.36", None));
    let mut main = match rt.start(&sb) {
        Ok(p) => p,
        Err(e) => panic!("start: {e}"),
    };
    assert_eq!(drain(main.as_mut()).2, Step::Exit(0));
}

#[test]
fn volumes_that_bring_files_are_mounted_read_only() {
    let rt = Runtime::new();
    let mut c = container("busybox:1.36", Some(&["sleep", "3600"]));
    c.volume_mounts = Some(vec![k8s_openapi::api::core::v1::VolumeMount {
        name: "cfg".into(),
        mount_path: "/etc/config".into(),
        ..Default::default()
    }]);
    let sb = sandbox(&rt, &c);
    let (out, err, end) = exec(
        &rt,
        &sb,
        &[
            "sh",
            "-c",
            "echo prod > /etc/config/mode; cat /etc/config/mode; echo ok > /tmp/w; cat /tmp/w",
        ],
        b"",
    );
    assert_eq!(
        (out.as_slice(), err.as_str(), end),
        (
            &b"dev\nok\n"[..],
            "sh: can't create /etc/config/mode: Read-only file system\n",
            Step::Exit(0)
        )
    );
}

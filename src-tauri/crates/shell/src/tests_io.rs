//! Stdin, terminals, the shared filesystem and `tar`: what `kubectl exec -i/-it`, `attach`
//! and `kubectl cp` see from a process.

use std::time::Duration;

use super::fs::{Fs, MAX_TOTAL_BYTES};
use super::{Process, ShellEnv, SpawnOptions, Step, spawn_with};

const BUSYBOX: &[&str] = &[
    "sh", "ash", "echo", "cat", "sleep", "true", "false", "tail", "head", "wc", "grep", "test",
    "[", "ls", "tee", "mkdir", "rmdir", "rm", "touch", "cp", "mv", "tar", "busybox", "seq",
];

fn env(fs: &Fs) -> ShellEnv {
    let mut e = ShellEnv {
        fs: fs.clone(),
        ..ShellEnv::default()
    };
    for b in BUSYBOX {
        e.binaries.insert((*b).to_string());
    }
    e.vars.insert("HOME".into(), "/root".into());
    e.vars.insert("PATH".into(), "/bin:/usr/bin".into());
    e.now_unix = 1_700_000_000;
    e
}

fn sv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn start(argv: &[&str], fs: &Fs, stdin: bool, tty: bool) -> Process {
    match spawn_with(&sv(argv), env(fs), SpawnOptions { stdin, tty }) {
        Ok(p) => p,
        Err(e) => panic!("spawn {argv:?}: {e}"),
    }
}

/// Steps until the process waits for input, exits or idles for good (that step included).
fn until_pause(p: &mut Process) -> Vec<Step> {
    let mut v = Vec::new();
    for _ in 0..10_000 {
        let s = p.next_step();
        let stop = matches!(s, Step::WaitInput | Step::Exit(_)) || s == Step::Sleep(Duration::MAX);
        v.push(s);
        if stop {
            return v;
        }
    }
    panic!("no pause in 10000 steps: {:?}", &v[..20]);
}

/// Stdout bytes, stderr text and how the run stopped.
fn collect(steps: &[Step]) -> (Vec<u8>, String, Step) {
    let mut out = Vec::new();
    let mut err = String::new();
    for s in steps {
        match s {
            Step::Stdout(t) => out.extend_from_slice(t.as_bytes()),
            Step::Binary(b) => out.extend_from_slice(b),
            Step::Stderr(t) => err.push_str(t),
            _ => {}
        }
    }
    (out, err, steps.last().cloned().unwrap_or(Step::WaitInput))
}

/// Runs a command to its end with `input` on stdin.
fn run_with(argv: &[&str], fs: &Fs, input: &[u8]) -> (Vec<u8>, String, Step) {
    let mut p = start(argv, fs, true, false);
    p.feed_stdin(input);
    p.close_stdin();
    collect(&until_pause(&mut p))
}

fn sh(script: &str, fs: &Fs) -> (String, String, Step) {
    let (o, e, end) = run_with(&["sh", "-c", script], fs, b"");
    (String::from_utf8_lossy(&o).into_owned(), e, end)
}

#[test]
fn cat_streams_stdin_as_it_arrives_and_ends_at_eof() {
    let fs = Fs::default();
    let mut p = start(&["cat"], &fs, true, false);
    assert_eq!(until_pause(&mut p), vec![Step::WaitInput]);
    p.feed_stdin(b"hello\n");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("hello\n".into()), Step::WaitInput]
    );
    p.feed_stdin(b"world");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("world".into()), Step::WaitInput]
    );
    p.close_stdin();
    assert_eq!(until_pause(&mut p), vec![Step::Exit(0)]);
}

#[test]
fn a_closed_stdin_reads_as_end_of_file() {
    let fs = Fs::default();
    let mut p = start(&["cat"], &fs, false, false);
    assert_eq!(until_pause(&mut p), vec![Step::Exit(0)]);
    // `sh` with nothing on stdin ends at once, as a busybox pod without `-i` does.
    let mut p = start(&["sh"], &fs, false, false);
    assert_eq!(until_pause(&mut p), vec![Step::Exit(0)]);
    // Bytes fed after end-of-file are ignored.
    let mut p = start(&["cat"], &fs, true, false);
    p.close_stdin();
    p.feed_stdin(b"late\n");
    assert_eq!(until_pause(&mut p), vec![Step::Exit(0)]);
}

#[test]
fn text_tools_wait_for_end_of_file() {
    let fs = Fs::default();
    let mut p = start(&["wc", "-l"], &fs, true, false);
    assert_eq!(until_pause(&mut p), vec![Step::WaitInput]);
    p.feed_stdin(b"a\nb\n");
    assert_eq!(until_pause(&mut p), vec![Step::WaitInput]);
    p.feed_stdin(b"c\n");
    p.close_stdin();
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("3\n".into()), Step::Exit(0)]
    );
    let (o, _, end) = run_with(&["grep", "b"], &fs, b"a\nb\nab\n");
    assert_eq!((o.as_slice(), end), (&b"b\nab\n"[..], Step::Exit(0)));
    let (o, _, _) = run_with(&["head", "-n", "1"], &fs, b"x\ny\n");
    assert_eq!(o, b"x\n");
    let (o, _, _) = run_with(&["tail", "-n", "1"], &fs, b"x\ny\n");
    assert_eq!(o, b"y\n");
    let (o, _, _) = run_with(&["sh", "-c", "cat | wc -c"], &fs, b"12345");
    assert_eq!(o, b"5\n");
    let (o, _, _) = run_with(&["tee", "/tmp/copy"], &fs, b"kept\n");
    assert_eq!(o, b"kept\n");
    assert_eq!(fs.read("/tmp/copy").as_deref(), Some(&b"kept\n"[..]));
}

#[test]
fn read_waits_for_a_whole_line() {
    let fs = Fs::default();
    let mut p = start(
        &["sh", "-c", "read a; echo got $a; read b; echo then $b"],
        &fs,
        true,
        false,
    );
    assert_eq!(until_pause(&mut p), vec![Step::WaitInput]);
    p.feed_stdin(b"fir");
    assert_eq!(until_pause(&mut p), vec![Step::WaitInput]);
    p.feed_stdin(b"st\nsec");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("got first\n".into()), Step::WaitInput]
    );
    p.close_stdin();
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("then sec\n".into()), Step::Exit(0)]
    );
}

#[test]
fn sh_reads_its_script_from_stdin_line_by_line() {
    let fs = Fs::default();
    // `echo 'echo hi' | kubectl exec -i pod -- sh`
    let (o, e, end) = run_with(&["sh"], &fs, b"echo hi\n");
    assert_eq!(
        (o.as_slice(), e.as_str(), end),
        (&b"hi\n"[..], "", Step::Exit(0))
    );
    // Each command runs as soon as its line is complete.
    let mut p = start(&["sh", "-s"], &fs, true, false);
    assert_eq!(until_pause(&mut p), vec![Step::WaitInput]);
    p.feed_stdin(b"echo one\nfor i in 1 2; do\n");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("one\n".into()), Step::WaitInput]
    );
    p.feed_stdin(b"echo $i; done\nfalse\n");
    assert_eq!(
        until_pause(&mut p),
        vec![
            Step::Stdout("1\n".into()),
            Step::Stdout("2\n".into()),
            Step::WaitInput
        ]
    );
    // At end-of-file the shell exits with the last command's status.
    p.close_stdin();
    assert_eq!(until_pause(&mut p), vec![Step::Exit(1)]);
}

#[test]
fn interactive_shell_on_a_terminal_prompts_like_busybox_ash() {
    let fs = Fs::default();
    let mut p = start(&["sh"], &fs, true, true);
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("/ # ".into()), Step::WaitInput]
    );
    p.feed_stdin(b"echo hi\n");
    assert_eq!(
        until_pause(&mut p),
        vec![
            Step::Stdout("hi\n".into()),
            Step::Stdout("/ # ".into()),
            Step::WaitInput
        ]
    );
    // An open `if` asks for more with PS2.
    p.feed_stdin(b"if true\n");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("> ".into()), Step::WaitInput]
    );
    p.feed_stdin(b"then cd /root; fi\n");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("~ # ".into()), Step::WaitInput]
    );
    // Errors do not end an interactive shell, and carry no line number.
    p.feed_stdin(b"nope\n");
    assert_eq!(
        until_pause(&mut p),
        vec![
            Step::Stderr("sh: nope: not found\n".into()),
            Step::Stdout("~ # ".into()),
            Step::WaitInput
        ]
    );
    p.feed_stdin(b"exit 3\n");
    assert_eq!(until_pause(&mut p), vec![Step::Exit(3)]);
}

#[test]
fn interactive_shell_ends_the_line_at_eof_and_survives_ctrl_c() {
    let fs = Fs::default();
    let mut p = start(&["sh", "-i"], &fs, true, true);
    until_pause(&mut p);
    p.feed_stdin(b"sleep 100\n");
    assert_eq!(p.next_step(), Step::Sleep(Duration::from_secs(100)));
    assert!(p.interrupt());
    assert_eq!(
        until_pause(&mut p),
        vec![
            Step::Stderr("\n".into()),
            Step::Stdout("/ # ".into()),
            Step::WaitInput
        ]
    );
    p.feed_stdin(b"echo $?\n");
    assert_eq!(
        until_pause(&mut p),
        vec![
            Step::Stdout("130\n".into()),
            Step::Stdout("/ # ".into()),
            Step::WaitInput
        ]
    );
    p.close_stdin();
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stderr("\n".into()), Step::Exit(0)]
    );
    // Without a terminal nothing survives Ctrl-C.
    let mut p = start(&["cat"], &fs, true, false);
    assert!(!p.interrupt());
}

#[test]
fn ctrl_c_discards_a_line_the_shell_has_not_read_yet() {
    let fs = Fs::default();
    let mut p = start(&["sh", "-i"], &fs, true, true);
    until_pause(&mut p);
    // Typed, then interrupted before the shell read it: the terminal's input queue is
    // flushed, so the sleep never starts.
    p.feed_stdin(b"sleep 100\n");
    assert!(p.interrupt());
    assert_eq!(
        until_pause(&mut p),
        vec![
            Step::Stderr("\n".into()),
            Step::Stdout("/ # ".into()),
            Step::WaitInput
        ]
    );
    p.feed_stdin(b"echo $?\n");
    assert_eq!(
        until_pause(&mut p),
        vec![
            Step::Stdout("130\n".into()),
            Step::Stdout("/ # ".into()),
            Step::WaitInput
        ]
    );
}

#[test]
fn processes_of_one_container_share_its_filesystem() {
    let fs = Fs::default();
    let (_, e, end) = sh(
        "mkdir -p /data/a && echo x > /data/a/f && echo y >> /data/a/f",
        &fs,
    );
    assert_eq!((e.as_str(), end), ("", Step::Exit(0)));
    // The next exec sees what the first wrote.
    let (o, _, _) = sh(
        "cat /data/a/f; test -d /data/a && echo dir; [ -d /data/a/f ] || echo notdir; ls /data/a; ls /data",
        &fs,
    );
    assert_eq!(o, "x\ny\ndir\nnotdir\nf\na\n");
    let (_, e, end) = sh("mkdir /data/a", &fs);
    assert_eq!(
        (e.as_str(), end),
        (
            "mkdir: can't create directory '/data/a': File exists\n",
            Step::Exit(1)
        )
    );
    let (_, e, _) = sh("mkdir /x/y", &fs);
    assert_eq!(
        e,
        "mkdir: can't create directory '/x/y': No such file or directory\n"
    );
    let (_, e, end) = sh("rm /data", &fs);
    assert_eq!(
        (e.as_str(), end),
        ("rm: can't remove '/data': Is a directory\n", Step::Exit(1))
    );
    let (_, e, _) = sh("echo z > /nodir/f", &fs);
    assert_eq!(e, "sh: can't create /nodir/f: nonexistent directory\n");
    let (o, e, end) = sh("rm -r /data; ls /data", &fs);
    assert_eq!(
        (o.as_str(), e.as_str(), end),
        ("", "ls: /data: No such file or directory\n", Step::Exit(1))
    );
    // Relative paths resolve against the working directory.
    let (o, _, _) = sh("cd /tmp && touch t && ls /tmp && rm t && ls /tmp", &fs);
    assert_eq!(o, "t\n");
}

#[test]
fn a_write_past_the_cap_fails_with_no_space_left_on_device() {
    let fs = Fs::default();
    assert!(fs.write("/big", &vec![b'a'; MAX_TOTAL_BYTES - 4]).is_ok());
    let (o, e, end) = sh("echo 123456789 >> /tmp/f; echo $?", &fs);
    assert_eq!(o, "1\n");
    assert_eq!(e, "echo: write error: No space left on device\n");
    assert_eq!(end, Step::Exit(0));
    assert_eq!(fs.total_bytes(), MAX_TOTAL_BYTES);
    let (o, _, _) = sh("rm /big /tmp/f; echo ok > /tmp/g; cat /tmp/g", &fs);
    assert_eq!(o, "ok\n");
}

/// A deterministic 1.5 MiB of bytes, most of them ≥ 0x80.
fn binary_blob() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..1536 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8 | 0x80
        })
        .collect()
}

#[test]
fn tar_round_trip_keeps_every_byte() {
    let src = Fs::default();
    let blob = binary_blob();
    assert!(src.write("/data/bin/blob", &blob).is_ok());
    assert!(src.write("/data/notes.txt", b"hello\n").is_ok());
    let long = format!("/data/{}", "n".repeat(120));
    assert!(src.write(&long, b"long name\n").is_ok());
    let (archive, err, end) = run_with(&["tar", "cf", "-", "/data"], &src, b"");
    assert_eq!(end, Step::Exit(0));
    assert_eq!(err, "tar: removing leading '/' from member names\n");
    // The first entry is the directory: name without the leading '/', typeflag '5'.
    assert_eq!(&archive[..6], b"data/\0");
    assert_eq!(archive[156], b'5');
    assert_eq!(&archive[257..265], b"ustar  \0");
    assert_eq!(archive.len() % 512, 0);

    let (list, _, end) = run_with(&["tar", "tf", "-"], &Fs::default(), &archive);
    assert_eq!(end, Step::Exit(0));
    assert_eq!(
        String::from_utf8_lossy(&list),
        format!(
            "data/\ndata/bin/\ndata/bin/blob\ndata/{}\ndata/notes.txt\n",
            "n".repeat(120)
        )
    );

    // kubectl cp's extraction commands, into another container.
    let dst = Fs::default();
    assert!(dst.mkdir("/restore", false).is_ok());
    let (_, err, end) = run_with(&["tar", "-xmf", "-", "-C", "/restore"], &dst, &archive);
    assert_eq!((err.as_str(), end), ("", Step::Exit(0)));
    assert_eq!(dst.read("/restore/data/bin/blob"), Some(blob.clone()));
    assert_eq!(
        dst.read("/restore/data/notes.txt").as_deref(),
        Some(&b"hello\n"[..])
    );
    assert_eq!(
        dst.read(&format!("/restore{long}")).as_deref(),
        Some(&b"long name\n"[..])
    );
    let other = Fs::default();
    let (_, err, end) = run_with(
        &[
            "tar",
            "--no-same-permissions",
            "--no-same-owner",
            "-xmf",
            "-",
            "-C",
            "/tmp",
        ],
        &other,
        &archive,
    );
    assert_eq!((err.as_str(), end), ("", Step::Exit(0)));
    assert_eq!(other.read("/tmp/data/bin/blob"), Some(blob));
    assert!(other.is_dir("/tmp/data/bin"));
}

#[test]
fn tar_errors_use_busyboxs_texts() {
    let fs = Fs::default();
    let (archive, err, end) = run_with(&["tar", "cf", "-", "/nope"], &fs, b"");
    assert_eq!(
        err,
        "tar: removing leading '/' from member names\n\
         tar: /nope: No such file or directory\n\
         tar: error exit delayed from previous errors\n"
    );
    assert_eq!(end, Step::Exit(1));
    // The (empty) archive is still written: two zero blocks.
    assert_eq!(archive, vec![0u8; 1024]);
    let (_, err, end) = run_with(&["tar", "xf", "-", "-C", "/missing"], &fs, b"");
    assert_eq!(
        (err.as_str(), end),
        (
            "tar: can't change directory to '/missing': No such file or directory\n",
            Step::Exit(1)
        )
    );
    let (_, err, end) = run_with(&["tar", "xf", "-"], &fs, &[b'x'; 1024]);
    assert_eq!(
        (err.as_str(), end),
        ("tar: invalid tar magic\n", Step::Exit(1))
    );
    let (_, err, end) = run_with(&["tar", "cf", "-"], &fs, b"");
    assert_eq!((err.as_str(), end), ("tar: empty archive\n", Step::Exit(1)));
    // Empty input is an empty archive.
    let (o, err, end) = run_with(&["tar", "tf", "-"], &fs, b"");
    assert_eq!((o.len(), err.as_str(), end), (0, "", Step::Exit(0)));
}

#[test]
fn cat_copies_binary_files_exactly() {
    let fs = Fs::default();
    let blob = binary_blob();
    assert!(fs.write("/blob", &blob).is_ok());
    let (o, _, end) = run_with(&["cat", "/blob"], &fs, b"");
    assert_eq!(end, Step::Exit(0));
    assert_eq!(o, blob);
}

#[test]
fn tar_extracts_pax_archives_like_the_ones_kubectl_cp_sends() {
    // Written by a PAX tar writer (as Go's archive/tar writes names that do not fit
    // ustar): a directory, a 160-byte path and a non-ASCII name, each in a PAX record.
    let archive = include_bytes!("testdata/pax.tar");
    let fs = Fs::default();
    let (_, err, end) = run_with(&["tar", "-xmf", "-", "-C", "/tmp"], &fs, archive);
    assert_eq!((err.as_str(), end), ("", Step::Exit(0)));
    let deep = format!("/tmp/app/{}/f.txt", "d".repeat(150));
    assert_eq!(fs.read(&deep).as_deref(), Some(&b"deep\n"[..]));
    assert_eq!(
        fs.read("/tmp/app/caf\u{e9}.txt").as_deref(),
        Some(&b"\xc3\xa9\xff\n"[..])
    );
    let (o, _, _) = sh("ls /tmp/app", &fs);
    assert_eq!(o, format!("caf\u{e9}.txt\n{}\n", "d".repeat(150)));
}

#[test]
fn bulk_output_is_not_slowed_like_a_chatty_loop() {
    let fs = Fs::default();
    assert!(fs.write("/blob", &binary_blob()).is_ok());
    let mut p = start(&["tar", "cf", "-", "/blob"], &fs, false, false);
    let steps = until_pause(&mut p);
    let sleeps = steps.iter().filter(|s| matches!(s, Step::Sleep(_))).count();
    assert!(sleeps <= 1, "{sleeps} throttling sleeps for 1.5 MiB");
    // A loop that prints text without pause still gets throttled.
    let mut p = start(
        &["sh", "-c", "while true; do echo spam; done"],
        &fs,
        false,
        false,
    );
    let throttled = (0..1000).any(|_| matches!(p.next_step(), Step::Sleep(_)));
    assert!(throttled);
}

#[test]
fn configmap_mounts_are_read_only() {
    let fs = Fs::default();
    assert!(fs.write("/etc/config/app.conf", b"port=80\n").is_ok());
    fs.mount_read_only("/etc/config");
    let (o, e, end) = sh(
        "cat /etc/config/app.conf; echo x > /etc/config/app.conf; echo $?; \
         echo y >> /etc/config/new; rm /etc/config/app.conf; touch /etc/config/t; \
         mkdir /etc/config/d; rm -r /etc/config; echo z > /etc/configs",
        &fs,
    );
    assert_eq!(o, "port=80\n2\n");
    assert_eq!(
        e,
        "sh: can't create /etc/config/app.conf: Read-only file system\n\
         sh: can't create /etc/config/new: Read-only file system\n\
         rm: can't remove '/etc/config/app.conf': Read-only file system\n\
         touch: /etc/config/t: Read-only file system\n\
         mkdir: can't create directory '/etc/config/d': Read-only file system\n\
         rm: can't remove '/etc/config': Read-only file system\n"
    );
    assert_eq!(end, Step::Exit(0));
    assert_eq!(
        fs.read("/etc/config/app.conf").as_deref(),
        Some(&b"port=80\n"[..])
    );
    assert_eq!(fs.read("/etc/configs").as_deref(), Some(&b"z\n"[..]));
}

#[test]
fn a_read_only_rootfs_keeps_volumes_and_dev_writable() {
    let fs = Fs::default();
    fs.mount_root_read_only();
    fs.mount_writable("/cache");
    let (o, e, end) = sh(
        "echo x > /x; echo $?; echo y > /tmp/y; touch /etc/t; mkdir /data; \
         echo ok > /cache/f; cat /cache/f; echo gone > /dev/null; echo $?",
        &fs,
    );
    assert_eq!(o, "2\nok\n0\n");
    assert_eq!(
        e,
        "sh: can't create /x: Read-only file system\n\
         sh: can't create /tmp/y: Read-only file system\n\
         touch: /etc/t: Read-only file system\n\
         mkdir: can't create directory '/data': Read-only file system\n"
    );
    assert_eq!(end, Step::Exit(0));
    assert!(fs.read("/x").is_none(), "nothing reached the rootfs");
}

#[test]
fn the_interactive_loop_survives_errors_and_stray_break() {
    let fs = Fs::default();
    let (o, e, end) = run_with(
        &["sh"],
        &fs,
        b"break\necho ${nope:?is unset}\necho after $?\n( exit 7 )\necho $?\nreturn 5\necho never\n",
    );
    assert_eq!(String::from_utf8_lossy(&o), "after 2\n7\n");
    assert_eq!(e, "sh: nope: is unset\n");
    // `return` at the top level ends ash's command loop (`evalskip` breaks `cmdloop()`).
    assert_eq!(end, Step::Exit(5));
}

#[test]
fn exec_i_into_cat_redirected_writes_the_bytes_it_gets() {
    // `kubectl exec -i pod -- sh -c 'cat > /tmp/blob' < blob`
    let fs = Fs::default();
    let blob = binary_blob();
    let mut p = start(
        &["sh", "-c", "cat > /tmp/blob; echo done"],
        &fs,
        true,
        false,
    );
    for chunk in blob.chunks(32 * 1024) {
        p.feed_stdin(chunk);
        let steps = until_pause(&mut p);
        assert_eq!(steps.last(), Some(&Step::WaitInput));
        assert!(
            steps.iter().all(|s| s.output().is_none()),
            "nothing on stdout yet"
        );
    }
    p.close_stdin();
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("done\n".into()), Step::Exit(0)]
    );
    assert_eq!(fs.read("/tmp/blob"), Some(blob));
    assert!(format!("{fs:?}").len() < 200);
}

#[test]
fn ls_on_a_terminal_prints_busyboxs_colored_columns() {
    let fs = Fs::default();
    let (_, _, end) = sh(
        "mkdir -p /w/dir1 /w/zz && touch /w/a.txt /w/bb /w/longer-name.conf /w/c",
        &fs,
    );
    assert_eq!(end, Step::Exit(0));
    let mut p = start(&["ls", "/w"], &fs, true, true);
    p.resize(40, 24);
    let (o, _, end) = collect(&until_pause(&mut p));
    assert_eq!(end, Step::Exit(0));
    // 6 names, the longest 16 wide: columns of 18 in 39 usable columns, 2 of them,
    // filled top to bottom.
    let file = |n: &str| format!("\x1b[0;0m{n}\x1b[m");
    let dir = |n: &str| format!("\x1b[1;34m{n}\x1b[m");
    let want = format!(
        "{}{}{}\n{}{}{}\n{}{}{}\n",
        file("a.txt"),
        " ".repeat(13),
        dir("dir1"),
        file("bb"),
        " ".repeat(16),
        file("longer-name.conf"),
        file("c"),
        " ".repeat(17),
        dir("zz"),
    );
    assert_eq!(String::from_utf8_lossy(&o), want);
    // Not on a terminal (or with LS_COLORS=none, or -1): plain names, one per line.
    let (o, _, _) = sh("ls /w", &fs);
    assert_eq!(o, "a.txt\nbb\nc\ndir1\nlonger-name.conf\nzz\n");
    let mut p = start(
        &["sh", "-c", "LS_COLORS=none ls /w/zz /w/c"],
        &fs,
        true,
        true,
    );
    let (o, _, _) = collect(&until_pause(&mut p));
    assert_eq!(String::from_utf8_lossy(&o), "/w/c\n\n/w/zz:\n");
}

#[test]
fn a_read_loop_follows_stdin_and_a_nested_shell_returns_to_the_outer_prompt() {
    let fs = Fs::default();
    let mut p = start(
        &[
            "sh",
            "-c",
            "while read l; do echo \"got $l\"; done; echo end",
        ],
        &fs,
        true,
        false,
    );
    p.feed_stdin(b"a\nb");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("got a\n".into()), Step::WaitInput]
    );
    p.feed_stdin(b"\n");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("got b\n".into()), Step::WaitInput]
    );
    p.close_stdin();
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("end\n".into()), Step::Exit(0)]
    );

    let mut p = start(&["sh"], &fs, true, true);
    until_pause(&mut p);
    p.feed_stdin(b"sh\n");
    assert_eq!(
        until_pause(&mut p),
        vec![Step::Stdout("/ # ".into()), Step::WaitInput]
    );
    p.feed_stdin(b"exit 2\necho $?\n");
    assert_eq!(
        until_pause(&mut p),
        vec![
            Step::Stdout("/ # ".into()),
            Step::Stdout("2\n".into()),
            Step::Stdout("/ # ".into()),
            Step::WaitInput
        ]
    );
}

#[test]
fn head_and_tail_count_bytes_with_c_and_start_with_plus() {
    let fs = Fs::default();
    let (o, _, _) = sh(
        "printf 'abcdef\\n12\\n34\\n' > /f; head -c 3 /f; echo; tail -c 3 /f; tail -c +5 /f; tail -n +2 /f",
        &fs,
    );
    assert_eq!(o, "abc\n34\nef\n12\n34\n12\n34\n");
}

#[test]
fn a_long_seq_streams_whole_past_the_one_mebibyte_text_cap() {
    let fs = Fs::default();
    let mut p = start(&["sh", "-c", "seq 1 200000; echo $?"], &fs, false, false);
    let (o, _, end) = collect(&until_pause(&mut p));
    let mut want: String = (1..=200_000).map(|i| format!("{i}\n")).collect();
    want.push_str("0\n");
    assert_eq!(end, Step::Exit(0));
    assert_eq!(o.len(), want.len());
    assert!(o == want.as_bytes());
    // In a pipe it still feeds the next command (up to the pipe's 1 MiB).
    let (o, _, _) = sh(
        "seq 1 1000 | wc -l; seq 3 -1 1 | head -n 2; seq -s , 3",
        &fs,
    );
    assert_eq!(o, "1000\n3\n2\n1,2,3\n");
}

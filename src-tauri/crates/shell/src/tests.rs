use std::time::Duration;

use super::{ExecError, ShellEnv, Step, spawn};

const BUSYBOX: &[&str] = &[
    "sh", "ash", "echo", "cat", "sleep", "env", "printenv", "true", "false", "tail", "head",
    "hostname", "date", "yes", "seq", "expr", "wc", "grep", "printf", "test", "[", "ls", "tee",
];

fn env() -> ShellEnv {
    let mut e = ShellEnv::default();
    for b in BUSYBOX {
        e.binaries.insert((*b).to_string());
    }
    for (k, v) in [
        ("HOSTNAME", "web-0"),
        ("HOME", "/root"),
        ("PATH", "/bin:/usr/bin"),
        ("GREETING", "hello"),
    ] {
        e.vars.insert(k.into(), v.into());
    }
    e.files.insert(
        "/etc/config/app.conf".into(),
        "port=8080\nmode=dev\n".into(),
    );
    e.now_unix = 86_400 * 365;
    e
}

fn sv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Steps until Exit or `Sleep(MAX)` (included), at most `limit`.
fn steps_with(argv: &[&str], e: ShellEnv, limit: usize) -> Vec<Step> {
    let mut p = spawn(&sv(argv), e).expect("spawn");
    let mut v = Vec::new();
    for _ in 0..limit {
        let s = p.next_step();
        let end = matches!(s, Step::Exit(_)) || s == Step::Sleep(Duration::MAX);
        v.push(s);
        if end {
            break;
        }
    }
    v
}

fn sh(script: &str) -> Vec<Step> {
    steps_with(&["sh", "-c", script], env(), 1000)
}

fn out(s: &str) -> Step {
    Step::Stdout(s.into())
}

fn err(s: &str) -> Step {
    Step::Stderr(s.into())
}

fn secs(n: u64) -> Step {
    Step::Sleep(Duration::from_secs(n))
}

/// Stdout text and the exit code.
fn run(script: &str) -> (String, String, Option<i32>) {
    let mut o = String::new();
    let mut e = String::new();
    let mut code = None;
    for s in sh(script) {
        match s {
            Step::Stdout(t) => o.push_str(&t),
            Step::Stderr(t) => e.push_str(&t),
            Step::Binary(b) => o.push_str(&String::from_utf8_lossy(&b)),
            Step::Exit(c) => code = Some(c),
            Step::Sleep(_) | Step::WaitInput => {}
        }
    }
    (o, e, code)
}

#[test]
fn echo_then_exit_code() {
    assert_eq!(sh("echo boom; exit 1"), vec![out("boom\n"), Step::Exit(1)]);
}

#[test]
fn sleep_between_output() {
    assert_eq!(
        sh("echo start; sleep 5; echo done"),
        vec![out("start\n"), secs(5), out("done\n"), Step::Exit(0)]
    );
}

#[test]
fn endless_loop_alternates() {
    let v = steps_with(
        &["sh", "-c", "while true; do echo tick; sleep 10; done"],
        env(),
        40,
    );
    assert_eq!(v.len(), 40);
    for pair in v.chunks(2) {
        assert_eq!(pair, &[out("tick\n"), secs(10)]);
    }
}

#[test]
fn cat_missing_file() {
    assert_eq!(
        sh("cat /etc/config/missing"),
        vec![
            err("cat: can't open '/etc/config/missing': No such file or directory\n"),
            Step::Exit(1)
        ]
    );
    assert_eq!(run("cat /etc/config/app.conf").0, "port=8080\nmode=dev\n");
    let direct = steps_with(&["cat", "/etc/config/app.conf"], env(), 10);
    assert_eq!(direct, vec![out("port=8080\nmode=dev\n"), Step::Exit(0)]);
}

#[test]
fn expansion_and_defaults() {
    assert_eq!(
        run("echo \"$GREETING ${NAME:-world}\" ${GREETING:+set} ${#GREETING}").0,
        "hello world set 5\n"
    );
    assert_eq!(
        run("X=; echo \"[${X-unset}] [${X:-empty}] [${Y-unset}]\"").0,
        "[] [empty] [unset]\n"
    );
    assert_eq!(run("echo $? $$ $0").0, "0 1 sh\n");
    assert_eq!(
        run("echo '$HOME' \"$HOME\" \\$HOME").0,
        "$HOME /root $HOME\n"
    );
    assert_eq!(
        run("f=a.tar.gz; echo ${f%.gz} ${f%%.*} ${f#*.} ${f##*.}").0,
        "a.tar a tar.gz gz\n"
    );
    assert_eq!(
        run("x='a  b'; for w in $x \"$x\"; do echo \"<$w>\"; done").0,
        "<a>\n<b>\n<a  b>\n"
    );
    let v = steps_with(
        &["sh", "-c", "echo $0 $1 $#; echo \"$@\"", "myname", "a", "b"],
        env(),
        10,
    );
    assert_eq!(v, vec![out("myname a 2\n"), out("a b\n"), Step::Exit(0)]);
}

#[test]
fn and_or_short_circuit() {
    assert_eq!(
        run("false && echo no; true || echo no; false || echo yes; true && echo yes2").0,
        "yes\nyes2\n"
    );
    assert_eq!(run("! false && echo negated").0, "negated\n");
    assert_eq!(run("false; echo $?; true; echo $?").0, "1\n0\n");
}

#[test]
fn exit_inside_if() {
    assert_eq!(
        sh("if [ -f /etc/config/app.conf ]; then echo found; exit 3; fi; echo after"),
        vec![out("found\n"), Step::Exit(3)]
    );
    assert_eq!(
        run("if false; then echo a; elif true; then echo b; else echo c; fi").0,
        "b\n"
    );
    assert_eq!(run("if [ 1 -gt 2 ]; then echo a; else echo c; fi").0, "c\n");
}

#[test]
fn not_found_binaries() {
    assert_eq!(
        spawn(&sv(&["bash", "-c", "x"]), env()).err(),
        Some(ExecError::NotFound("bash".into()))
    );
    assert_eq!(
        spawn(&sv(&["/bin/bash"]), env()).err(),
        Some(ExecError::NotFound("/bin/bash".into()))
    );
    assert!(spawn(&sv(&["/bin/sh", "-c", "true"]), env()).is_ok());
    assert_eq!(
        sh("foo; echo $?"),
        vec![err("sh: foo: not found\n"), out("127\n"), Step::Exit(0)]
    );
    let v = steps_with(&["/bin/sh", "-c", "nope"], env(), 10);
    assert_eq!(v, vec![err("/bin/sh: nope: not found\n"), Step::Exit(127)]);
    let v = steps_with(&["sh", "-c", "nope", "job"], env(), 10);
    assert_eq!(
        v,
        vec![err("job: line 1: nope: not found\n"), Step::Exit(127)]
    );
}

#[test]
fn bare_sh_and_sleep_forever() {
    assert_eq!(steps_with(&["sh"], env(), 5), vec![Step::Exit(0)]);
    assert_eq!(
        steps_with(&["sleep", "infinity"], env(), 5),
        vec![Step::Sleep(Duration::MAX)]
    );
    assert_eq!(
        steps_with(&["tail", "-f", "/dev/null"], env(), 5),
        vec![Step::Sleep(Duration::MAX)]
    );
    assert_eq!(
        steps_with(&["sleep", "3600"], env(), 5),
        vec![secs(3600), Step::Exit(0)]
    );
    assert_eq!(
        steps_with(&["sleep", "1.5m"], env(), 5),
        vec![secs(90), Step::Exit(0)]
    );
    assert_eq!(steps_with(&["true"], env(), 5), vec![Step::Exit(0)]);
    assert_eq!(steps_with(&["false"], env(), 5), vec![Step::Exit(1)]);
    let mut p = spawn(&sv(&["sleep", "infinity"]), env()).expect("spawn");
    for _ in 0..3 {
        assert_eq!(p.next_step(), Step::Sleep(Duration::MAX));
    }
    let mut p = spawn(&sv(&["false"]), env()).expect("spawn");
    for _ in 0..3 {
        assert_eq!(p.next_step(), Step::Exit(1));
    }
}

#[test]
fn busybox_error_texts() {
    assert_eq!(
        sh("sleep abc"),
        vec![err("sleep: invalid number 'abc'\n"), Step::Exit(1)]
    );
    assert_eq!(
        sh("exit abc"),
        vec![
            err("sh: exit: line 1: Illegal number: abc\n"),
            Step::Exit(2)
        ]
    );
    assert_eq!(
        sh("echo hi; fi"),
        vec![err("sh: syntax error: unexpected \"fi\"\n"), Step::Exit(2)]
    );
    assert_eq!(
        sh("echo one\nif true; then echo x"),
        vec![
            out("one\n"),
            err("sh: syntax error: unexpected end of file (expecting \"fi\")\n"),
            Step::Exit(2)
        ]
    );
    assert_eq!(
        sh("while true; do"),
        vec![
            err("sh: syntax error: unexpected end of file\n"),
            Step::Exit(2)
        ]
    );
    assert_eq!(
        sh("echo 'open"),
        vec![
            err("sh: syntax error: unterminated quoted string\n"),
            Step::Exit(2)
        ]
    );
    assert_eq!(
        sh(";"),
        vec![err("sh: syntax error: unexpected \";\"\n"), Step::Exit(2)]
    );
    assert_eq!(
        run("[ abc -eq 1 ]; echo $?"),
        ("2\n".into(), "sh: abc: bad number\n".into(), Some(0))
    );
    assert_eq!(
        steps_with(&["sh", "-c"], env(), 5),
        vec![err("sh: -c requires an argument\n"), Step::Exit(2)]
    );
}

#[test]
fn loops_case_functions_arith() {
    assert_eq!(run("for x in a b c; do echo $x; done").0, "a\nb\nc\n");
    assert_eq!(
        run("i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done").0,
        "0\n1\n2\n"
    );
    assert_eq!(
        run("i=0; until [ $i -ge 2 ]; do i=$(expr $i + 1); done; echo $i").0,
        "2\n"
    );
    assert_eq!(
        run("for i in 1 2 3 4; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done").0,
        "1\n3\n"
    );
    assert_eq!(
        run("case prod-1 in dev*) echo d;; prod*|stg) echo p;; *) echo o;; esac").0,
        "p\n"
    );
    assert_eq!(
        run("greet() { echo \"hi $1\"; return 4; }; greet bob; echo $?").0,
        "hi bob\n4\n"
    );
    assert_eq!(
        run("echo $((2 + 3 * 4)) $(( (7 % 4) - 10 / 2 ))").0,
        "14 -2\n"
    );
    assert_eq!(
        run("seq 3 | while read n; do echo n=$n; done").0,
        "n=1\nn=2\nn=3\n"
    );
    assert_eq!(
        run("echo \"host: $(hostname)\"; echo `echo back`").0,
        "host: web-0\nback\n"
    );
}

#[test]
fn groups_subshells_exec_set_e() {
    assert_eq!(run("x=1; (x=2; exit 5); echo $? $x").0, "5 1\n");
    assert_eq!(run("{ echo a; echo b; } > /tmp/o; cat /tmp/o").0, "a\nb\n");
    assert_eq!(sh("exec sleep 7; echo never"), vec![secs(7), Step::Exit(0)]);
    assert_eq!(
        sh("set -e; echo a; false; echo b"),
        vec![out("a\n"), Step::Exit(1)]
    );
    assert_eq!(
        run("set -e; false || echo ok; if false; then :; fi; echo end").0,
        "ok\nend\n"
    );
}

#[test]
fn redirections() {
    assert_eq!(sh("echo e >&2"), vec![err("e\n"), Step::Exit(0)]);
    assert_eq!(
        sh("cat /nope 2>&1"),
        vec![
            out("cat: can't open '/nope': No such file or directory\n"),
            Step::Exit(1)
        ]
    );
    assert_eq!(
        sh("echo hidden >/dev/null; cat /nope 2>/dev/null; echo $?"),
        vec![out("1\n"), Step::Exit(0)]
    );
    assert_eq!(
        run("echo a > /tmp/f; echo b >> /tmp/f; cat < /tmp/f").0,
        "a\nb\n"
    );
    assert_eq!(
        run("cat <<EOF\nhi $GREETING\nEOF\necho after").0,
        "hi hello\nafter\n"
    );
    assert_eq!(run("grep mode < /etc/config/app.conf").0, "mode=dev\n");
}

#[test]
fn applets_output() {
    assert_eq!(
        run("echo -n a; echo -e 'b\\tc'; printf '%s=%d%%\\n' a 1 b 2").0,
        "ab\tc\na=1%\nb=2%\n"
    );
    assert_eq!(run("printf '%5s|%-3s|%03d\\n' ab c 7").0, "   ab|c  |007\n");
    assert_eq!(
        run("hostname; printenv GREETING; printenv NOPE; echo $?").0,
        "web-0\nhello\n1\n"
    );
    assert_eq!(
        run("X=1 env | grep ^X=; export Y=2; env | grep Y=").0,
        "X=1\nY=2\n"
    );
    assert_eq!(
        run("date; date +%F").0,
        "Fri Jan  1 00:00:00 UTC 1971\n1971-01-01\n"
    );
    assert_eq!(
        run("seq 2 4; expr 6 \\* 7; head -n 1 /etc/config/app.conf; wc -l < /etc/config/app.conf")
            .0,
        "2\n3\n4\n42\nport=8080\n2\n"
    );
}

#[test]
fn yes_is_rate_limited() {
    let v = steps_with(&["yes"], env(), 20);
    assert_eq!(v.len(), 20);
    assert!(
        v.iter()
            .any(|s| matches!(s, Step::Sleep(d) if *d > Duration::ZERO && *d < Duration::MAX))
    );
    assert!(v.iter().all(|s| match s {
        Step::Stdout(t) => t.len() <= 64 * 1024 && t.starts_with("y\n"),
        Step::Sleep(_) => true,
        _ => false,
    }));
}

#[test]
fn spinning_loops_never_hang() {
    assert_eq!(
        sh("while true; do :; done"),
        vec![Step::Sleep(Duration::MAX)]
    );
    assert_eq!(
        sh("echo x; while :; do true; done; echo never"),
        vec![out("x\n"), Step::Sleep(Duration::MAX)]
    );
    // Output without sleeping is throttled.
    let v = steps_with(&["sh", "-c", "while true; do echo spam; done"], env(), 2000);
    assert!(
        v.iter()
            .any(|s| matches!(s, Step::Sleep(d) if *d < Duration::MAX))
    );
    // Exponential growth is capped.
    let (o, _, code) = run("x=ab; for i in $(seq 40); do x=\"$x$x\"; done; echo ${#x}");
    assert_eq!(code, Some(0));
    assert!(o.trim().parse::<usize>().expect("number") <= 1024 * 1024);
    // Unbounded recursion ends with an error, not a crash.
    let (_, e, code) = run("f() { f; }; f");
    assert_eq!(code, Some(2));
    assert!(e.contains("recursion"));
}

#[test]
fn deep_nesting_is_a_syntax_error() {
    let script = format!("{}echo{}", "( ".repeat(500), " )".repeat(500));
    let (_, e, code) = run(&script);
    assert_eq!(code, Some(2));
    assert!(e.starts_with("sh: syntax error"));
    let script = format!("echo {}x{}", "$(echo ".repeat(300), ")".repeat(300));
    assert_eq!(run(&script).2, Some(2));
}

/// Deterministic xorshift for the fuzz tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn finishes(script: &str) {
    let mut p = match spawn(&sv(&["sh", "-c", script]), env()) {
        Ok(p) => p,
        Err(e) => panic!("spawn failed: {e}"),
    };
    for _ in 0..300 {
        match p.next_step() {
            Step::Exit(_) => return,
            Step::Sleep(d) if d == Duration::MAX => return,
            Step::Stdout(t) | Step::Stderr(t) => assert!(t.len() <= 64 * 1024),
            Step::Binary(b) => assert!(b.len() <= 64 * 1024),
            Step::WaitInput => panic!("no stdin was opened"),
            Step::Sleep(_) => {}
        }
    }
}

#[test]
fn fuzz_random_bytes() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let len = (r.next() % 80) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| (r.next() % 128) as u8).collect();
        finishes(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn fuzz_token_soup() {
    const TOKS: &[&str] = &[
        "echo",
        "x",
        "$X",
        "${X:-d}",
        "\"",
        "'",
        ";",
        "&&",
        "||",
        "|",
        "&",
        "(",
        ")",
        "{",
        "}",
        "if",
        "then",
        "elif",
        "else",
        "fi",
        "while",
        "until",
        "do",
        "done",
        "for",
        "in",
        "case",
        "esac",
        ";;",
        "!",
        ">",
        "<",
        "2>&1",
        ">&2",
        "/tmp/f",
        "sleep",
        "1",
        "exit",
        "3",
        "true",
        "false",
        ":",
        "\n",
        "$(",
        "`",
        "$((",
        "))",
        "cat",
        "yes",
        "break",
        "continue",
        "f()",
        "return",
        "exec",
        "eval",
        "set",
        "-e",
        "read",
        "<<E",
        "E",
        "$?",
        "*",
        "${#X}",
        "seq",
        "10",
        "[",
        "]",
        "-eq",
        "=",
        "tail",
        "-f",
        "/dev/null",
        "printf",
        "%s%d",
        "\\",
    ];
    let mut r = Rng(0x1234_5678_9abc_def1);
    for _ in 0..1500 {
        let n = (r.next() % 14) as usize + 1;
        let script: Vec<&str> = (0..n)
            .map(|_| TOKS[(r.next() as usize) % TOKS.len()])
            .collect();
        finishes(&script.join(" "));
    }
}

#[test]
fn process_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<super::Process>();
}

#[test]
fn background_jobs_and_nested_spin_budget() {
    assert_eq!(
        sh("(while true; do echo bg; sleep 1; done) & echo fg; sleep 2"),
        vec![out("bg\n"), out("fg\n"), secs(2), Step::Exit(0)]
    );
    // Spinning inside command substitutions shares the parent's budget.
    let v = sh("while true; do x=$(i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done); done");
    assert_eq!(v, vec![Step::Sleep(Duration::MAX)]);
    assert_eq!(
        run("printf 'a\\nb\\n' > /tmp/l; while read l; do echo \"<$l>\"; done < /tmp/l").0,
        "<a>\n<b>\n"
    );
}

#[test]
fn script_files_and_xtrace() {
    let mut e = env();
    e.files.insert(
        "/scripts/run.sh".into(),
        "#!/bin/sh\necho \"run $1\"\nexit 4\n".into(),
    );
    assert_eq!(
        steps_with(&["/scripts/run.sh", "x"], e.clone(), 10),
        vec![out("run x\n"), Step::Exit(4)]
    );
    assert_eq!(
        steps_with(&["sh", "/scripts/run.sh", "y"], e.clone(), 10),
        vec![out("run y\n"), Step::Exit(4)]
    );
    e.files
        .insert("/scripts/b.sh".into(), "#!/bin/bash\necho hi\n".into());
    assert_eq!(
        spawn(&sv(&["/scripts/b.sh"]), e).err(),
        Some(ExecError::NotFound("/bin/bash".into()))
    );
    assert_eq!(
        steps_with(&["sh", "-xc", "echo 'a b'"], env(), 10),
        vec![err("+ echo 'a b'\n"), out("a b\n"), Step::Exit(0)]
    );
}

#[test]
fn id_and_whoami_show_the_security_context_user() {
    let mut e = env();
    for b in ["id", "whoami", "busybox"] {
        e.binaries.insert(b.into());
    }
    e.user = Some(super::Credentials {
        uid: 1000,
        gid: 3000,
        groups: vec![2000, 3000],
    });
    let steps = steps_with(&["sh", "-c", "id; id -u; whoami; echo $?"], e.clone(), 100);
    assert_eq!(
        steps,
        vec![
            out("uid=1000 gid=3000 groups=2000,3000\n"),
            out("1000\n"),
            err("whoami: unknown uid 1000\n"),
            out("1\n"),
            Step::Exit(0)
        ]
    );
    e.binaries.remove("busybox");
    e.user = Some(super::Credentials {
        uid: 65534,
        gid: 0,
        groups: vec![0],
    });
    let steps = steps_with(&["sh", "-c", "id; whoami"], e, 100);
    assert_eq!(
        steps,
        vec![
            out("uid=65534(nobody) gid=0(root) groups=0(root)\n"),
            out("nobody\n"),
            Step::Exit(0)
        ]
    );
    let (o, _, _) = run("id");
    assert_eq!(o, "", "an image without id has no such command");
}

//! The resumable interpreter: an explicit frame stack instead of Rust recursion, so a
//! process can stop at any `sleep` and continue on the next [`Step`] request.
//!
//! Error texts follow busybox ash (`shell/ash.c`): `ash_vmsg()` prints `"<arg0>: "`, then,
//! only when a command name is set (a builtin is running, or the shell got an `$0` after
//! `-c SCRIPT` / runs a script file), `"<name>: "` if it differs from `$0` and
//! `"line <n>: "`. `find_command()` reports `"<cmd>: not found"` (status 127).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::Step;
use super::applets::{self, Outcome};
use super::parser::{self, N, Node, ParamOp, Part, Redir, RedirKind, Simple, SyntaxError, Word};

/// Longest text of one [`Step::Stdout`] / [`Step::Stderr`].
pub(crate) const MAX_CHUNK: usize = 64 * 1024;
/// Largest expanded word, captured output or file the shell keeps.
pub(crate) const MAX_TEXT: usize = 1024 * 1024;
/// Most files the script may create in the file map.
const MAX_FILES: usize = 4096;
/// Interpreter steps without any output or sleep after which the process counts as
/// spinning forever (`while true; do :; done`).
pub(crate) const SPIN_LIMIT: u64 = 200_000;
/// Output emitted without any sleep before the interpreter throttles with a short sleep.
const THROTTLE_BYTES: usize = 64 * 1024;
const THROTTLE_STEPS: usize = 256;
pub(crate) const THROTTLE_SLEEP: Duration = Duration::from_millis(100);
/// Deepest frame stack (function recursion, nested `eval`).
const MAX_FRAMES: usize = 10_000;
/// Deepest nesting of command substitutions / pipelines run as sub-machines.
const MAX_SUB_DEPTH: usize = 16;

/// Where fd 1 or fd 2 currently writes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    Stdout,
    Stderr,
    Null,
    File(String),
}

/// The shell's variables, files, and I/O routing.
#[derive(Debug, Clone)]
pub(crate) struct Shell {
    pub vars: BTreeMap<String, String>,
    pub exported: BTreeSet<String>,
    pub files: BTreeMap<String, String>,
    pub binaries: BTreeSet<String>,
    pub now_unix: i64,
    pub arg0: String,
    pub commandname: Option<String>,
    pub positional: Vec<String>,
    pub status: i32,
    pub errexit: bool,
    pub xtrace: bool,
    pub funcs: BTreeMap<String, N>,
    pub line: u32,
    pub fd1: Out,
    pub fd2: Out,
    pub stdin: String,
    pub out: VecDeque<Step>,
    pub sub_depth: usize,
}

impl Shell {
    pub fn new(
        vars: BTreeMap<String, String>,
        files: BTreeMap<String, String>,
        binaries: BTreeSet<String>,
        now_unix: i64,
    ) -> Self {
        let exported = vars.keys().cloned().collect();
        Shell {
            vars,
            exported,
            files,
            binaries,
            now_unix,
            arg0: "sh".into(),
            commandname: None,
            positional: Vec::new(),
            status: 0,
            errexit: false,
            xtrace: false,
            funcs: BTreeMap::new(),
            line: 1,
            fd1: Out::Stdout,
            fd2: Out::Stderr,
            stdin: String::new(),
            out: VecDeque::new(),
            sub_depth: 0,
        }
    }

    /// Writes `text` to fd 1 or 2 as the current redirections say.
    pub fn write(&mut self, fd: u32, text: &str) {
        if text.is_empty() {
            return;
        }
        let target = if fd == 2 {
            self.fd2.clone()
        } else {
            self.fd1.clone()
        };
        match target {
            Out::Null => {}
            Out::Stdout | Out::Stderr => {
                let err = target == Out::Stderr;
                let mut rest = text;
                while !rest.is_empty() {
                    let cut = floor_boundary(rest, MAX_CHUNK);
                    let (a, b) = rest.split_at(cut);
                    self.out.push_back(if err {
                        Step::Stderr(a.to_string())
                    } else {
                        Step::Stdout(a.to_string())
                    });
                    rest = b;
                }
            }
            Out::File(path) => self.append_file(&path, text),
        }
    }

    pub fn append_file(&mut self, path: &str, text: &str) {
        if !self.files.contains_key(path) && self.files.len() >= MAX_FILES {
            return;
        }
        let f = self.files.entry(path.to_string()).or_default();
        let room = MAX_TEXT.saturating_sub(f.len());
        f.push_str(&text[..floor_boundary(text, room)]);
    }

    pub fn get_var(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.status.to_string()),
            "$" => Some("1".into()),
            "!" => None,
            "#" => Some(self.positional.len().to_string()),
            "@" | "*" => Some(self.positional.join(" ")),
            "0" => Some(self.arg0.clone()),
            "-" => {
                let mut s = String::new();
                if self.errexit {
                    s.push('e');
                }
                if self.xtrace {
                    s.push('x');
                }
                Some(s)
            }
            _ if name.chars().all(|c| c.is_ascii_digit()) => {
                let i: usize = name.parse().ok()?;
                self.positional.get(i.checked_sub(1)?).cloned()
            }
            _ => self.vars.get(name).cloned(),
        }
    }

    pub fn set_var(&mut self, name: &str, value: &str) {
        let v = value[..floor_boundary(value, MAX_TEXT)].to_string();
        self.vars.insert(name.to_string(), v);
    }

    /// The `ash_vmsg()` prefix for a message while `cmd` (a builtin) runs, or for the shell
    /// itself when `cmd` is `None`.
    pub fn prefix(&self, cmd: Option<&str>) -> String {
        let mut p = format!("{}: ", self.arg0);
        if let Some(name) = cmd.or(self.commandname.as_deref()) {
            if name != self.arg0 {
                p.push_str(name);
                p.push_str(": ");
            }
            p.push_str(&format!("line {}: ", self.line));
        }
        p
    }

    /// Writes an ash-style diagnostic to fd 2.
    pub fn diag(&mut self, cmd: Option<&str>, text: &str) {
        let m = format!("{}{}\n", self.prefix(cmd), text);
        self.write(2, &m);
    }

    pub fn file_exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    pub fn dir_exists(&self, path: &str) -> bool {
        let p = path.trim_end_matches('/');
        if p.is_empty() {
            return true;
        }
        const DIRS: &[&str] = &[
            "/bin",
            "/dev",
            "/etc",
            "/home",
            "/proc",
            "/root",
            "/run",
            "/sbin",
            "/sys",
            "/tmp",
            "/usr",
            "/usr/bin",
            "/usr/sbin",
            "/usr/local",
            "/usr/local/bin",
            "/var",
            "/var/log",
            "/var/run",
        ];
        if DIRS.contains(&p) {
            return true;
        }
        let pre = format!("{p}/");
        self.files.keys().any(|k| k.starts_with(&pre))
    }

    /// Whether `name` (a bare command name) is an executable of the image.
    pub fn has_binary(&self, name: &str) -> bool {
        self.binaries.contains(name)
    }
}

/// Largest index ≤ `max` that is a char boundary of `s`.
pub(crate) fn floor_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Saved state restored when a subshell (or nested `sh`) ends.
#[derive(Debug, Clone)]
struct Saved {
    vars: BTreeMap<String, String>,
    exported: BTreeSet<String>,
    positional: Vec<String>,
    funcs: BTreeMap<String, N>,
    arg0: String,
    commandname: Option<String>,
    errexit: bool,
    xtrace: bool,
    fd1: Out,
    fd2: Out,
    stdin: String,
}

#[derive(Debug, Clone)]
enum Frame {
    Run(N),
    Script {
        items: Vec<N>,
        idx: usize,
        error: Option<SyntaxError>,
    },
    List {
        node: N,
        idx: usize,
    },
    AndOr {
        rhs: N,
        and: bool,
    },
    Not,
    /// `set -e` does not apply inside (conditions, left of `&&`/`||`, after `!`).
    Guard,
    If {
        node: N,
        idx: usize,
    },
    Loop {
        node: N,
        testing: bool,
        last: i32,
    },
    For {
        var: String,
        items: Vec<String>,
        idx: usize,
        body: N,
    },
    /// Subshell boundary; `exit` stops here.
    Restore(Box<Saved>),
    /// Restores redirections.
    Fds {
        fd1: Out,
        fd2: Out,
        stdin: Option<String>,
    },
    /// Function call boundary; `return` stops here.
    Func {
        positional: Vec<String>,
    },
    /// `exec CMD`: the shell ends with the command's status.
    ExitAfter,
    /// After the last pipeline stage: an earlier stage never ends.
    BlockAfter,
    /// `yes`: endless output.
    Yes {
        text: String,
    },
}

/// How a run of a sub-machine ended.
pub(crate) struct SubRun {
    pub stdout: String,
    pub stderr: Vec<String>,
    pub status: i32,
    pub slept: Duration,
    pub blocked: bool,
}

/// A shell process: state plus frame stack.
#[derive(Debug)]
pub(crate) struct Machine {
    pub sh: Shell,
    stack: Vec<Frame>,
    exited: Option<i32>,
    blocked: bool,
    silent_ticks: u64,
    unslept_bytes: usize,
    unslept_steps: usize,
}

enum Flow {
    Exit(i32),
    Break(usize),
    Continue(usize),
    Return(i32),
}

impl Machine {
    pub fn new(sh: Shell) -> Self {
        Machine {
            sh,
            stack: Vec::new(),
            exited: None,
            blocked: false,
            silent_ticks: 0,
            unslept_bytes: 0,
            unslept_steps: 0,
        }
    }

    /// Starts a parsed script.
    pub fn start_script(&mut self, script: parser::Script) {
        self.stack.push(Frame::Script {
            items: script.items,
            idx: 0,
            error: script.error,
        });
    }

    /// Starts one command with literal (already final) arguments, then exits with its status.
    pub fn start_argv(&mut self, argv: &[String]) {
        let words = argv.iter().map(|a| vec![Part::Quoted(a.clone())]).collect();
        let s = Simple {
            assigns: Vec::new(),
            words,
            redirs: Vec::new(),
            line: 1,
        };
        self.stack.push(Frame::Run(Arc::new(Node::Simple(s))));
    }

    pub fn exit_now(&mut self, code: i32) {
        self.exited = Some(code & 0xff);
        self.stack.clear();
    }

    pub fn next_step(&mut self) -> Step {
        loop {
            if let Some(s) = self.sh.out.pop_front() {
                return self.throttle(s);
            }
            if let Some(code) = self.exited {
                return Step::Exit(code);
            }
            if self.blocked || self.silent_ticks > SPIN_LIMIT {
                self.blocked = true;
                return Step::Sleep(Duration::MAX);
            }
            self.tick();
        }
    }

    fn throttle(&mut self, s: Step) -> Step {
        self.silent_ticks = 0;
        match &s {
            Step::Stdout(t) | Step::Stderr(t) => {
                self.unslept_bytes += t.len();
                self.unslept_steps += 1;
                if self.unslept_bytes >= THROTTLE_BYTES || self.unslept_steps >= THROTTLE_STEPS {
                    self.sh.out.push_front(Step::Sleep(THROTTLE_SLEEP));
                }
            }
            Step::Sleep(d) => {
                self.unslept_bytes = 0;
                self.unslept_steps = 0;
                if *d == Duration::MAX {
                    self.blocked = true;
                    self.sh.out.clear();
                }
            }
            Step::Exit(_) => {}
        }
        s
    }

    /// Runs to completion (or until blocked / out of the spin budget it shares with its
    /// parent), collecting the output. A background job (`stop_at_sleep`) only runs until
    /// its first pause.
    fn run_captured(&mut self, stop_at_sleep: bool) -> SubRun {
        let mut stdout = String::new();
        let mut stderr = Vec::new();
        let mut slept = Duration::ZERO;
        loop {
            while let Some(s) = self.sh.out.pop_front() {
                match s {
                    Step::Stdout(t) => {
                        let room = MAX_TEXT.saturating_sub(stdout.len());
                        stdout.push_str(&t[..floor_boundary(&t, room)]);
                    }
                    Step::Stderr(t) => {
                        if stderr.len() < THROTTLE_STEPS {
                            stderr.push(t);
                        }
                    }
                    Step::Sleep(d) => {
                        if d == Duration::MAX {
                            self.blocked = true;
                        } else {
                            slept = slept.saturating_add(d);
                            if stop_at_sleep {
                                return SubRun {
                                    stdout,
                                    stderr,
                                    status: 0,
                                    slept,
                                    blocked: false,
                                };
                            }
                        }
                    }
                    Step::Exit(_) => {}
                }
            }
            if let Some(code) = self.exited {
                return SubRun {
                    stdout,
                    stderr,
                    status: code,
                    slept,
                    blocked: false,
                };
            }
            if self.blocked || self.silent_ticks > SPIN_LIMIT || stdout.len() >= MAX_TEXT {
                let blocked = stdout.len() < MAX_TEXT && !stop_at_sleep;
                return SubRun {
                    stdout,
                    stderr,
                    status: 0,
                    slept,
                    blocked,
                };
            }
            self.tick();
        }
    }

    /// A child machine for a subshell whose output is captured (`$(…)`, pipeline stages,
    /// background jobs). It borrows the file map; [`Self::join_sub`] hands it back.
    fn sub_machine(&mut self, stdin: String) -> Option<Machine> {
        if self.sh.sub_depth >= MAX_SUB_DEPTH {
            self.sh.diag(None, "nesting too deep");
            return None;
        }
        let mut sh = Shell {
            files: std::mem::take(&mut self.sh.files),
            out: VecDeque::new(),
            stdin,
            fd1: Out::Stdout,
            fd2: Out::Stderr,
            sub_depth: self.sh.sub_depth + 1,
            ..self.sh.clone_light()
        };
        sh.line = self.sh.line;
        let mut m = Machine::new(sh);
        m.silent_ticks = self.silent_ticks;
        Some(m)
    }

    fn join_sub(&mut self, mut child: Machine, run: &SubRun) {
        self.sh.files = std::mem::take(&mut child.sh.files);
        self.silent_ticks = self.silent_ticks.max(child.silent_ticks);
        for e in &run.stderr {
            self.sh.write(2, e);
        }
    }

    /// Runs `node` in a captured subshell.
    fn capture(&mut self, node: N, stdin: String, background: bool) -> SubRun {
        let Some(mut child) = self.sub_machine(stdin) else {
            return SubRun {
                stdout: String::new(),
                stderr: Vec::new(),
                status: 2,
                slept: Duration::ZERO,
                blocked: false,
            };
        };
        child.stack.push(Frame::Run(node));
        let run = child.run_captured(background);
        self.join_sub(child, &run);
        run
    }

    fn push(&mut self, f: Frame) {
        self.stack.push(f);
    }

    fn guarded(&self) -> bool {
        self.stack.iter().any(|f| matches!(f, Frame::Guard))
    }

    /// One interpreter step.
    fn tick(&mut self) {
        self.silent_ticks += 1;
        if self.stack.len() > MAX_FRAMES {
            self.sh.diag(None, "recursion too deep");
            self.flow(Flow::Exit(2));
            return;
        }
        let Some(frame) = self.stack.pop() else {
            self.exited = Some(self.sh.status & 0xff);
            return;
        };
        match frame {
            Frame::Run(node) => self.start(node),
            Frame::Script { items, idx, error } => {
                if idx < items.len() {
                    let n = items[idx].clone();
                    self.push(Frame::Script {
                        items,
                        idx: idx + 1,
                        error,
                    });
                    self.push(Frame::Run(n));
                } else if let Some(e) = error {
                    self.sh.line = e.line;
                    self.sh.diag(None, &format!("syntax error: {}", e.msg));
                    self.flow(Flow::Exit(2));
                }
            }
            Frame::List { node, idx } => {
                if let Node::List(items) = &*node
                    && let Some(n) = items.get(idx).cloned()
                {
                    self.push(Frame::List {
                        node: node.clone(),
                        idx: idx + 1,
                    });
                    self.push(Frame::Run(n));
                }
            }
            Frame::AndOr { rhs, and } => {
                if (self.sh.status == 0) == and {
                    self.push(Frame::Run(rhs));
                }
            }
            Frame::Not => self.sh.status = i32::from(self.sh.status == 0),
            Frame::Guard => {}
            Frame::If { node, idx } => {
                let Node::If {
                    branches,
                    otherwise,
                } = &*node
                else {
                    return;
                };
                if self.sh.status == 0 {
                    if let Some((_, body)) = branches.get(idx) {
                        self.push(Frame::Run(body.clone()));
                    }
                } else if let Some((cond, _)) = branches.get(idx + 1) {
                    let cond = cond.clone();
                    self.push(Frame::If {
                        node: node.clone(),
                        idx: idx + 1,
                    });
                    self.push(Frame::Guard);
                    self.push(Frame::Run(cond));
                } else if let Some(e) = otherwise {
                    self.push(Frame::Run(e.clone()));
                } else {
                    self.sh.status = 0;
                }
            }
            Frame::Loop {
                node,
                testing,
                last,
            } => {
                let Node::Loop { until, cond, body } = &*node else {
                    return;
                };
                if testing {
                    if (self.sh.status == 0) != *until {
                        let body = body.clone();
                        self.push(Frame::Loop {
                            node: node.clone(),
                            testing: false,
                            last,
                        });
                        self.push(Frame::Run(body));
                    } else {
                        self.sh.status = last;
                    }
                } else {
                    let last = self.sh.status;
                    let cond = cond.clone();
                    self.push(Frame::Loop {
                        node: node.clone(),
                        testing: true,
                        last,
                    });
                    self.push(Frame::Guard);
                    self.push(Frame::Run(cond));
                }
            }
            Frame::For {
                var,
                items,
                idx,
                body,
            } => {
                if let Some(v) = items.get(idx).cloned() {
                    self.sh.set_var(&var, &v);
                    let b = body.clone();
                    self.push(Frame::For {
                        var,
                        items,
                        idx: idx + 1,
                        body,
                    });
                    self.push(Frame::Run(b));
                }
            }
            Frame::Restore(saved) => self.restore(*saved),
            Frame::Fds { fd1, fd2, stdin } => {
                self.sh.fd1 = fd1;
                self.sh.fd2 = fd2;
                if let Some(s) = stdin {
                    self.sh.stdin = s;
                }
            }
            Frame::Func { positional } => self.sh.positional = positional,
            Frame::ExitAfter => {
                let s = self.sh.status;
                self.flow(Flow::Exit(s));
            }
            Frame::BlockAfter => {
                self.sh.out.push_back(Step::Sleep(Duration::MAX));
            }
            Frame::Yes { text } => {
                let before = self.sh.out.len();
                self.sh.write(1, &text);
                if self.sh.out.len() > before {
                    self.sh.out.push_back(Step::Sleep(THROTTLE_SLEEP));
                }
                self.push(Frame::Yes { text });
            }
        }
    }

    fn save(&self) -> Saved {
        Saved {
            vars: self.sh.vars.clone(),
            exported: self.sh.exported.clone(),
            positional: self.sh.positional.clone(),
            funcs: self.sh.funcs.clone(),
            arg0: self.sh.arg0.clone(),
            commandname: self.sh.commandname.clone(),
            errexit: self.sh.errexit,
            xtrace: self.sh.xtrace,
            fd1: self.sh.fd1.clone(),
            fd2: self.sh.fd2.clone(),
            stdin: self.sh.stdin.clone(),
        }
    }

    fn restore(&mut self, s: Saved) {
        self.sh.vars = s.vars;
        self.sh.exported = s.exported;
        self.sh.positional = s.positional;
        self.sh.funcs = s.funcs;
        self.sh.arg0 = s.arg0;
        self.sh.commandname = s.commandname;
        self.sh.errexit = s.errexit;
        self.sh.xtrace = s.xtrace;
        self.sh.fd1 = s.fd1;
        self.sh.fd2 = s.fd2;
        self.sh.stdin = s.stdin;
    }

    /// Unwinds frames for `exit`, `break`, `continue`, `return`.
    fn flow(&mut self, flow: Flow) {
        let mut loops_left = match flow {
            Flow::Break(n) | Flow::Continue(n) => n.max(1),
            _ => 0,
        };
        while let Some(f) = self.stack.pop() {
            match f {
                Frame::Restore(saved) => {
                    match flow {
                        Flow::Exit(c) | Flow::Return(c) => {
                            self.restore(*saved);
                            self.sh.status = c & 0xff;
                        }
                        _ => self.stack.push(Frame::Restore(saved)),
                    }
                    return;
                }
                Frame::Fds { fd1, fd2, stdin } => {
                    self.sh.fd1 = fd1;
                    self.sh.fd2 = fd2;
                    if let Some(s) = stdin {
                        self.sh.stdin = s;
                    }
                }
                Frame::Func { positional } => {
                    self.sh.positional = positional;
                    if let Flow::Return(c) = flow {
                        self.sh.status = c & 0xff;
                        return;
                    }
                    if matches!(flow, Flow::Break(_) | Flow::Continue(_)) {
                        return;
                    }
                }
                Frame::Loop { node, .. } if !matches!(flow, Flow::Exit(_) | Flow::Return(_)) => {
                    loops_left -= 1;
                    if loops_left == 0 {
                        self.sh.status = 0;
                        if let Flow::Continue(_) = flow
                            && let Node::Loop { cond, .. } = &*node
                        {
                            let cond = cond.clone();
                            self.push(Frame::Loop {
                                node,
                                testing: true,
                                last: 0,
                            });
                            self.push(Frame::Guard);
                            self.push(Frame::Run(cond));
                        }
                        return;
                    }
                }
                Frame::For {
                    var,
                    items,
                    idx,
                    body,
                } if !matches!(flow, Flow::Exit(_) | Flow::Return(_)) => {
                    loops_left -= 1;
                    if loops_left == 0 {
                        self.sh.status = 0;
                        if let Flow::Continue(_) = flow {
                            self.push(Frame::For {
                                var,
                                items,
                                idx,
                                body,
                            });
                        }
                        return;
                    }
                }
                _ => {}
            }
        }
        match flow {
            Flow::Exit(c) | Flow::Return(c) => self.exited = Some(c & 0xff),
            // `break`/`continue` outside a loop: nothing left to run at this level.
            Flow::Break(_) | Flow::Continue(_) => self.exited = Some(self.sh.status & 0xff),
        }
    }

    /// Begins executing a node.
    fn start(&mut self, node: N) {
        match &*node {
            Node::Simple(s) => self.simple(s),
            Node::Pipeline(cmds) => self.pipeline(cmds),
            Node::Not(n) => {
                self.push(Frame::Not);
                self.push(Frame::Guard);
                self.push(Frame::Run(n.clone()));
            }
            Node::And(a, b) | Node::Or(a, b) => {
                let and = matches!(&*node, Node::And(..));
                self.push(Frame::AndOr {
                    rhs: b.clone(),
                    and,
                });
                self.push(Frame::Guard);
                self.push(Frame::Run(a.clone()));
            }
            Node::List(items) => {
                if items.is_empty() {
                    self.sh.status = 0;
                } else {
                    self.push(Frame::List {
                        node: node.clone(),
                        idx: 0,
                    });
                }
            }
            Node::Background(n) => {
                // The job's output up to its first pause shows; the shell does not wait.
                let run = self.capture(n.clone(), String::new(), true);
                self.sh.write(1, &run.stdout);
                self.sh.status = 0;
            }
            Node::Group(n) => self.push(Frame::Run(n.clone())),
            Node::Subshell(n) => {
                let saved = self.save();
                self.push(Frame::Restore(Box::new(saved)));
                self.push(Frame::Run(n.clone()));
            }
            Node::If { branches, .. } => {
                if let Some((cond, _)) = branches.first() {
                    let cond = cond.clone();
                    self.push(Frame::If {
                        node: node.clone(),
                        idx: 0,
                    });
                    self.push(Frame::Guard);
                    self.push(Frame::Run(cond));
                }
            }
            Node::Loop { cond, .. } => {
                let cond = cond.clone();
                self.push(Frame::Loop {
                    node: node.clone(),
                    testing: true,
                    last: 0,
                });
                self.push(Frame::Guard);
                self.push(Frame::Run(cond));
            }
            Node::For { var, items, body } => {
                let values = match items {
                    None => self.sh.positional.clone(),
                    Some(words) => {
                        let mut v = Vec::new();
                        for w in words {
                            match self.expand(w, true) {
                                Ok(f) => v.extend(f),
                                Err(e) => return self.fatal(&e),
                            }
                        }
                        v
                    }
                };
                self.sh.status = 0;
                self.push(Frame::For {
                    var: var.clone(),
                    items: values,
                    idx: 0,
                    body: body.clone(),
                });
            }
            Node::Case { subject, arms } => {
                let subj = match self.expand_str(subject) {
                    Ok(s) => s,
                    Err(e) => return self.fatal(&e),
                };
                for (pats, body) in arms {
                    for p in pats {
                        let pat = match self.expand_pattern(p) {
                            Ok(p) => p,
                            Err(e) => return self.fatal(&e),
                        };
                        if glob_match(&pat, &subj.chars().collect::<Vec<_>>()) {
                            match body {
                                Some(b) => self.push(Frame::Run(b.clone())),
                                None => self.sh.status = 0,
                            }
                            return;
                        }
                    }
                }
                self.sh.status = 0;
            }
            Node::FuncDef { name, body } => {
                self.sh.funcs.insert(name.clone(), body.clone());
                self.sh.status = 0;
            }
            Node::Redirected { inner, redirs } => {
                let saved = self.fds_frame(redirs);
                if let Err(st) = self.apply_redirs(redirs) {
                    self.stack.push(saved);
                    self.tick_restore();
                    self.sh.status = st;
                    return;
                }
                self.push(saved);
                self.push(Frame::Run(inner.clone()));
            }
        }
    }

    /// The frame that undoes `redirs`; stdin is only restored when they replace it, so
    /// that `read` consumes input for good.
    fn fds_frame(&self, redirs: &[Redir]) -> Frame {
        let touches_stdin = redirs.iter().any(|r| {
            r.fd == 0
                && matches!(
                    r.kind,
                    RedirKind::In | RedirKind::DupIn | RedirKind::Here(..)
                )
        });
        Frame::Fds {
            fd1: self.sh.fd1.clone(),
            fd2: self.sh.fd2.clone(),
            stdin: touches_stdin.then(|| self.sh.stdin.clone()),
        }
    }

    /// Pops and applies the `Fds` frame just pushed.
    fn tick_restore(&mut self) {
        if !matches!(self.stack.last(), Some(Frame::Fds { .. })) {
            return;
        }
        if let Some(Frame::Fds { fd1, fd2, stdin }) = self.stack.pop() {
            self.sh.fd1 = fd1;
            self.sh.fd2 = fd2;
            if let Some(s) = stdin {
                self.sh.stdin = s;
            }
        }
    }

    fn fatal(&mut self, msg: &str) {
        self.sh.diag(None, msg);
        self.flow(Flow::Exit(2));
    }

    fn pipeline(&mut self, cmds: &[N]) {
        let Some((last, first)) = cmds.split_last() else {
            return;
        };
        let mut input = self.sh.stdin.clone();
        let mut slept = Duration::ZERO;
        let mut blocked = false;
        for c in first {
            let run = self.capture(c.clone(), std::mem::take(&mut input), false);
            input = run.stdout;
            slept = slept.saturating_add(run.slept);
            blocked |= run.blocked;
        }
        if slept > Duration::ZERO {
            self.sh.out.push_back(Step::Sleep(slept));
        }
        let mut saved = self.save();
        saved.stdin = self.sh.stdin.clone();
        if blocked {
            self.push(Frame::BlockAfter);
        }
        self.push(Frame::Restore(Box::new(saved)));
        self.sh.stdin = input;
        self.push(Frame::Run(last.clone()));
    }

    // ------------------------------------------------------------ simple commands

    fn simple(&mut self, s: &Simple) {
        self.sh.line = s.line;
        let mut argv = Vec::new();
        let mut subst_status = None;
        for w in &s.words {
            match self.expand_tracking(w, true, &mut subst_status) {
                Ok(f) => argv.extend(f),
                Err(e) => return self.fatal(&e),
            }
        }
        let mut assigns = Vec::new();
        for (name, w) in &s.assigns {
            match self.expand_tracking(w, false, &mut subst_status) {
                Ok(f) => assigns.push((name.clone(), f.join(" "))),
                Err(e) => return self.fatal(&e),
            }
        }
        if self.sh.xtrace {
            let mut t: Vec<String> = assigns
                .iter()
                .map(|(n, v)| format!("{n}={}", quote(v)))
                .collect();
            t.extend(argv.iter().map(|a| quote(a)));
            let line = format!("+ {}\n", t.join(" "));
            self.sh.write(2, &line);
        }
        if argv.is_empty() {
            for (n, v) in &assigns {
                self.sh.set_var(n, v);
            }
            let saved = (
                self.sh.fd1.clone(),
                self.sh.fd2.clone(),
                self.sh.stdin.clone(),
            );
            let r = self.apply_redirs(&s.redirs);
            (self.sh.fd1, self.sh.fd2, self.sh.stdin) = saved;
            self.sh.status = match r {
                Err(st) => st,
                Ok(()) => subst_status.unwrap_or(0),
            };
            return;
        }
        // `exec` without a command makes its redirections permanent.
        if argv.len() == 1 && argv[0] == "exec" {
            self.sh.status = match self.apply_redirs(&s.redirs) {
                Err(st) => st,
                Ok(()) => 0,
            };
            return;
        }
        let saved = self.fds_frame(&s.redirs);
        if let Err(st) = self.apply_redirs(&s.redirs) {
            self.stack.push(saved);
            self.tick_restore();
            self.sh.status = st;
            return;
        }
        // Prefix assignments: exported for this command only (they stay for special
        // builtins and functions, as in ash).
        let mut undo = Vec::new();
        let special = is_special_builtin(&argv[0]) || self.sh.funcs.contains_key(&argv[0]);
        for (n, v) in &assigns {
            if !special {
                undo.push((
                    n.clone(),
                    self.sh.vars.get(n).cloned(),
                    self.sh.exported.contains(n),
                ));
            }
            self.sh.set_var(n, v);
            self.sh.exported.insert(n.clone());
        }
        let depth = self.stack.len();
        self.push(saved);
        self.command(argv);
        if self.stack.len() == depth + 1 {
            // Completed synchronously: restore redirections now.
            self.tick_restore();
        }
        for (n, old, was_exported) in undo {
            match old {
                Some(v) => {
                    self.sh.vars.insert(n.clone(), v);
                }
                None => {
                    self.sh.vars.remove(&n);
                }
            }
            if !was_exported {
                self.sh.exported.remove(&n);
            }
        }
        if self.sh.errexit && self.sh.status != 0 && self.exited.is_none() && !self.guarded() {
            // Only when the command finished synchronously; long-running ones are
            // checked again by nothing, which matches their status being set later.
            if self.stack.len() <= depth {
                let st = self.sh.status;
                self.flow(Flow::Exit(st));
            }
        }
    }

    /// Runs a command by name: builtins, functions, then the image's executables.
    fn command(&mut self, argv: Vec<String>) {
        let name = argv[0].clone();
        let args = &argv[1..];
        match name.as_str() {
            "exit" => {
                let code = match args.first() {
                    None => self.sh.status,
                    Some(a) => match parse_number(a) {
                        Some(n) => n,
                        None => {
                            self.sh.diag(Some("exit"), &format!("Illegal number: {a}"));
                            return self.flow(Flow::Exit(2));
                        }
                    },
                };
                self.flow(Flow::Exit(code))
            }
            "return" => {
                let code = match args.first() {
                    None => self.sh.status,
                    Some(a) => match parse_number(a) {
                        Some(n) => n,
                        None => {
                            self.sh
                                .diag(Some("return"), &format!("Illegal number: {a}"));
                            return self.flow(Flow::Exit(2));
                        }
                    },
                };
                if self.stack.iter().any(|f| matches!(f, Frame::Func { .. })) {
                    self.flow(Flow::Return(code))
                } else {
                    self.flow(Flow::Exit(code))
                }
            }
            "break" | "continue" => {
                let n = match args.first() {
                    None => 1,
                    Some(a) => match parse_number(a) {
                        Some(n) if n > 0 => n as usize,
                        _ => {
                            self.sh.diag(Some(&name), &format!("Illegal number: {a}"));
                            return self.flow(Flow::Exit(2));
                        }
                    },
                };
                let in_loop = self
                    .stack
                    .iter()
                    .rev()
                    .take_while(|f| !matches!(f, Frame::Restore(_) | Frame::Func { .. }));
                if in_loop
                    .clone()
                    .any(|f| matches!(f, Frame::Loop { .. } | Frame::For { .. }))
                {
                    // Leave the redirection frame pushed by `simple` in place: the unwind
                    // pops it and restores.
                    self.flow(if name == "break" {
                        Flow::Break(n)
                    } else {
                        Flow::Continue(n)
                    });
                } else {
                    self.sh.status = 0;
                }
            }
            "exec" => {
                let rest = args.to_vec();
                if rest.is_empty() {
                    self.sh.status = 0;
                    return;
                }
                // The redirections of `exec` stay for the new program: drop the restore.
                while self
                    .stack
                    .last()
                    .is_some_and(|f| !matches!(f, Frame::Restore(_)))
                {
                    self.stack.pop();
                }
                self.push(Frame::ExitAfter);
                self.command(rest);
            }
            "eval" => {
                let text = args.join(" ");
                let script = parser::parse_script(&text);
                if let Some(e) = &script.error
                    && script.items.is_empty()
                {
                    self.sh.line = e.line;
                    self.sh.diag(None, &format!("syntax error: {}", e.msg));
                    return self.flow(Flow::Exit(2));
                }
                self.sh.status = 0;
                self.push(Frame::Script {
                    items: script.items,
                    idx: 0,
                    error: script.error,
                });
            }
            "." | "source" => {
                let Some(path) = args.first() else {
                    self.sh.status = 0;
                    return;
                };
                let Some(text) = self.sh.files.get(path).cloned() else {
                    self.sh.diag(
                        Some(&name),
                        &format!("can't open '{path}': No such file or directory"),
                    );
                    return self.flow(Flow::Exit(2));
                };
                let script = parser::parse_script(&text);
                self.sh.status = 0;
                self.push(Frame::Script {
                    items: script.items,
                    idx: 0,
                    error: script.error,
                });
            }
            "set" => self.builtin_set(args),
            "shift" => {
                let n = match args.first().map(|a| parse_number(a)) {
                    None => 1,
                    Some(Some(n)) => n as usize,
                    Some(None) => {
                        let a = args[0].clone();
                        self.sh.diag(Some("shift"), &format!("Illegal number: {a}"));
                        return self.flow(Flow::Exit(2));
                    }
                };
                if n > self.sh.positional.len() {
                    self.sh.status = 1;
                } else {
                    self.sh.positional.drain(..n);
                    self.sh.status = 0;
                }
            }
            "export" | "readonly" | "local" => {
                if args.is_empty() || args[0] == "-p" {
                    let lines: String = self
                        .sh
                        .exported
                        .iter()
                        .filter_map(|k| {
                            self.sh
                                .vars
                                .get(k)
                                .map(|v| format!("export {k}={}\n", sh_quote(v)))
                        })
                        .collect();
                    self.sh.write(1, &lines);
                } else {
                    for a in args {
                        let (n, v) = match a.split_once('=') {
                            Some((n, v)) => (n.to_string(), Some(v.to_string())),
                            None => (a.clone(), None),
                        };
                        if let Some(v) = v {
                            self.sh.set_var(&n, &v);
                        }
                        if name == "export" {
                            self.sh.exported.insert(n);
                        }
                    }
                }
                self.sh.status = 0;
            }
            "unset" => {
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    self.sh.vars.remove(a);
                    self.sh.exported.remove(a);
                    self.sh.funcs.remove(a);
                }
                self.sh.status = 0;
            }
            "cd" => {
                let target = match args.first() {
                    Some(t) => t.clone(),
                    None => self
                        .sh
                        .vars
                        .get("HOME")
                        .cloned()
                        .unwrap_or_else(|| "/".into()),
                };
                let abs = if target.starts_with('/') {
                    target.clone()
                } else {
                    let pwd = self
                        .sh
                        .vars
                        .get("PWD")
                        .cloned()
                        .unwrap_or_else(|| "/".into());
                    format!("{}/{}", pwd.trim_end_matches('/'), target)
                };
                if self.sh.dir_exists(&abs) {
                    self.sh.set_var("PWD", &abs);
                    self.sh.status = 0;
                } else {
                    self.sh.diag(
                        Some("cd"),
                        &format!("can't cd to {target}: No such file or directory"),
                    );
                    self.sh.status = 2;
                }
            }
            "read" => self.builtin_read(args),
            "command" | "type" => {
                let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                if name == "command" && !args.iter().any(|a| a == "-v" || a == "-V") {
                    let rest: Vec<String> = args
                        .iter()
                        .skip_while(|a| a.starts_with('-'))
                        .cloned()
                        .collect();
                    if rest.is_empty() {
                        self.sh.status = 0;
                    } else {
                        self.command(rest);
                    }
                    return;
                }
                let mut st = 0;
                for n in names {
                    if is_builtin(n) || self.sh.funcs.contains_key(n.as_str()) {
                        let t = if name == "type" {
                            format!("{n} is a shell builtin\n")
                        } else {
                            format!("{n}\n")
                        };
                        self.sh.write(1, &t);
                    } else if self.sh.has_binary(n) {
                        let t = if name == "type" {
                            format!("{n} is /bin/{n}\n")
                        } else {
                            format!("/bin/{n}\n")
                        };
                        self.sh.write(1, &t);
                    } else {
                        if name == "type" {
                            self.sh.write(1, &format!("{n}: not found\n"));
                        }
                        st = 127.min(if name == "type" { 127 } else { 1 });
                    }
                }
                self.sh.status = st;
            }
            _ => self.command_external(argv),
        }
    }

    fn command_external(&mut self, argv: Vec<String>) {
        let name = argv[0].clone();
        if let Some(body) = self.sh.funcs.get(&name).cloned() {
            let saved = std::mem::replace(&mut self.sh.positional, argv[1..].to_vec());
            self.push(Frame::Func { positional: saved });
            self.push(Frame::Run(body));
            return;
        }
        let applet = if is_builtin(&name) {
            Some(name.clone())
        } else if name.contains('/') {
            let base = name.rsplit('/').next().unwrap_or_default().to_string();
            if self.sh.file_exists(&name) {
                return self.run_script_file(&name, &argv);
            }
            let dir = &name[..name.len() - base.len()];
            let std_dir = matches!(
                dir.trim_end_matches('/'),
                "/bin" | "/sbin" | "/usr/bin" | "/usr/sbin" | "/usr/local/bin" | "/usr/local/sbin"
            );
            (std_dir && self.sh.has_binary(&base)).then_some(base)
        } else {
            self.sh.has_binary(&name).then(|| name.clone())
        };
        let Some(applet) = applet else {
            self.sh.diag(None, &format!("{name}: not found"));
            self.sh.status = 127;
            return;
        };
        if matches!(applet.as_str(), "sh" | "ash" | "bash" | "dash") {
            return self.nested_shell(&argv);
        }
        let mut args = argv.clone();
        args[0] = applet;
        match applets::run(&mut self.sh, &args) {
            Outcome::Status(s) => self.sh.status = s & 0xff,
            Outcome::Sleep(d, s) => {
                self.sh.out.push_back(Step::Sleep(d));
                self.sh.status = s;
            }
            Outcome::Forever => {
                self.sh.out.push_back(Step::Sleep(Duration::MAX));
                self.sh.status = 0;
            }
            Outcome::Yes(text) => self.push(Frame::Yes { text }),
            Outcome::Run(rest) => {
                if rest.is_empty() {
                    self.sh.status = 0;
                } else {
                    self.command(rest);
                }
            }
        }
    }

    /// A script file from the file map run by path (`#!/bin/sh` or no interpreter line).
    fn run_script_file(&mut self, path: &str, argv: &[String]) {
        let text = self.sh.files.get(path).cloned().unwrap_or_default();
        if let Some(first) = text.lines().next().filter(|l| l.starts_with("#!")) {
            let interp = first[2..].split_whitespace().next().unwrap_or_default();
            let base = interp.rsplit('/').next().unwrap_or_default();
            if !self.sh.has_binary(base) {
                self.sh.diag(None, &format!("{path}: not found"));
                self.sh.status = 127;
                return;
            }
            if !matches!(base, "sh" | "ash" | "bash" | "dash") {
                self.sh.out.push_back(Step::Sleep(Duration::MAX));
                return;
            }
        }
        let mut v = vec!["sh".to_string()];
        v.extend(argv.iter().cloned());
        self.nested_shell(&v);
    }

    /// `sh -c …` / `sh FILE` inside a script: a child shell with a fresh state.
    fn nested_shell(&mut self, argv: &[String]) {
        let saved = self.save();
        let inv = match parse_invocation(argv, &self.sh.files) {
            Ok(inv) => inv,
            Err((msg, code)) => {
                let m = format!("{}: {msg}\n", argv[0]);
                self.sh.write(2, &m);
                self.sh.status = code;
                return;
            }
        };
        self.push(Frame::Restore(Box::new(saved)));
        self.sh.vars.retain(|k, _| self.sh.exported.contains(k));
        self.sh.funcs.clear();
        self.apply_invocation(inv);
    }

    pub(crate) fn apply_invocation(&mut self, inv: Invocation) {
        self.sh.arg0 = inv.arg0;
        self.sh.commandname = inv.commandname;
        self.sh.positional = inv.positional;
        self.sh.errexit = inv.errexit;
        self.sh.xtrace = inv.xtrace;
        match inv.script {
            Some(text) => self.start_script(parser::parse_script(&text)),
            None => self.sh.status = 0,
        }
    }

    fn builtin_set(&mut self, args: &[String]) {
        if args.is_empty() {
            let lines: String = self
                .sh
                .vars
                .iter()
                .map(|(k, v)| format!("{k}={}\n", sh_quote(v)))
                .collect();
            self.sh.write(1, &lines);
            self.sh.status = 0;
            return;
        }
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "--" {
                self.sh.positional = args[i + 1..].to_vec();
                break;
            }
            let (on, flags) = match a.strip_prefix('-') {
                Some(f) => (true, f),
                None => match a.strip_prefix('+') {
                    Some(f) => (false, f),
                    None => {
                        self.sh.positional = args[i..].to_vec();
                        break;
                    }
                },
            };
            if flags == "o" {
                if let Some(opt) = args.get(i + 1) {
                    match opt.as_str() {
                        "errexit" => self.sh.errexit = on,
                        "xtrace" => self.sh.xtrace = on,
                        _ => {}
                    }
                    i += 1;
                }
            } else {
                for c in flags.chars() {
                    match c {
                        'e' => self.sh.errexit = on,
                        'x' => self.sh.xtrace = on,
                        'u' | 'f' | 'v' | 'C' | 'a' | 'b' | 'm' | 'n' | 'o' => {}
                        _ => {
                            self.sh.diag(
                                Some("set"),
                                &format!("illegal option {}{c}", if on { '-' } else { '+' }),
                            );
                            return self.flow(Flow::Exit(2));
                        }
                    }
                }
            }
            i += 1;
        }
        self.sh.status = 0;
    }

    fn builtin_read(&mut self, args: &[String]) {
        let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        let raw = args.iter().any(|a| a == "-r");
        if self.sh.stdin.is_empty() {
            for n in &names {
                self.sh.set_var(n, "");
            }
            self.sh.status = 1;
            return;
        }
        let (line, rest) = match self.sh.stdin.find('\n') {
            Some(i) => (
                self.sh.stdin[..i].to_string(),
                self.sh.stdin[i + 1..].to_string(),
            ),
            None => (std::mem::take(&mut self.sh.stdin), String::new()),
        };
        self.sh.stdin = rest;
        let line = if raw { line } else { line.replace('\\', "") };
        let names: Vec<String> = if names.is_empty() {
            vec!["REPLY".into()]
        } else {
            names.into_iter().cloned().collect()
        };
        let mut rest = line.trim_start_matches([' ', '\t']);
        for (i, n) in names.iter().enumerate() {
            if i + 1 == names.len() {
                self.sh.set_var(n, rest.trim_end_matches([' ', '\t']));
            } else {
                let end = rest.find([' ', '\t']).unwrap_or(rest.len());
                self.sh.set_var(n, &rest[..end]);
                rest = rest[end..].trim_start_matches([' ', '\t']);
            }
        }
        self.sh.status = 0;
    }

    // ------------------------------------------------------------ redirections

    fn apply_redirs(&mut self, redirs: &[Redir]) -> Result<(), i32> {
        for r in redirs {
            let target = match &r.kind {
                RedirKind::Here(body, expand) => {
                    let text = if *expand {
                        match self.expand_heredoc(body) {
                            Ok(t) => t,
                            Err(e) => {
                                self.sh.diag(None, &e);
                                return Err(2);
                            }
                        }
                    } else {
                        body.clone()
                    };
                    if r.fd == 0 {
                        self.sh.stdin = text;
                    }
                    continue;
                }
                _ => match self.expand_str(&r.target) {
                    Ok(t) => t,
                    Err(e) => {
                        self.sh.diag(None, &e);
                        return Err(2);
                    }
                },
            };
            match r.kind {
                RedirKind::In => {
                    if r.fd != 0 {
                        continue;
                    }
                    if target == "/dev/null" {
                        self.sh.stdin.clear();
                    } else if let Some(t) = self.sh.files.get(&target) {
                        self.sh.stdin = t.clone();
                    } else {
                        self.sh.diag(
                            None,
                            &format!("can't open '{target}': No such file or directory"),
                        );
                        return Err(1);
                    }
                }
                RedirKind::Out | RedirKind::Append => {
                    let out = match target.as_str() {
                        "/dev/null" => Out::Null,
                        "/dev/stdout" => self.sh.fd1.clone(),
                        "/dev/stderr" => self.sh.fd2.clone(),
                        p => {
                            if p.is_empty() || p.ends_with('/') || self.sh.dir_exists(p) {
                                self.sh
                                    .diag(None, &format!("can't create {p}: Is a directory"));
                                return Err(1);
                            }
                            let p = self.abs_path(p);
                            if r.kind == RedirKind::Out || !self.sh.files.contains_key(&p) {
                                if !self.sh.files.contains_key(&p)
                                    && self.sh.files.len() >= MAX_FILES
                                {
                                    self.sh.diag(
                                        None,
                                        &format!("can't create {p}: No space left on device"),
                                    );
                                    return Err(1);
                                }
                                self.sh.files.insert(p.clone(), String::new());
                            }
                            Out::File(p)
                        }
                    };
                    self.set_fd(r.fd, out);
                }
                RedirKind::DupOut => {
                    let out = match target.as_str() {
                        "1" => self.sh.fd1.clone(),
                        "2" => self.sh.fd2.clone(),
                        "-" => Out::Null,
                        t => {
                            self.sh.diag(None, &format!("{t}: bad file descriptor"));
                            return Err(1);
                        }
                    };
                    self.set_fd(r.fd, out);
                }
                RedirKind::DupIn | RedirKind::Here(..) => {}
            }
        }
        Ok(())
    }

    fn set_fd(&mut self, fd: u32, out: Out) {
        match fd {
            1 => self.sh.fd1 = out,
            2 => self.sh.fd2 = out,
            _ => {}
        }
    }

    fn abs_path(&self, p: &str) -> String {
        if p.starts_with('/') {
            p.to_string()
        } else {
            let pwd = self
                .sh
                .vars
                .get("PWD")
                .cloned()
                .unwrap_or_else(|| "/".into());
            format!("{}/{}", pwd.trim_end_matches('/'), p)
        }
    }

    // ------------------------------------------------------------ expansion

    fn expand(&mut self, w: &Word, split: bool) -> Result<Vec<String>, String> {
        let mut st = None;
        self.expand_tracking(w, split, &mut st)
    }

    fn expand_str(&mut self, w: &Word) -> Result<String, String> {
        Ok(self.expand(w, false)?.join(" "))
    }

    /// Expands a word into fields. `subst` receives the status of the last `$(…)`.
    fn expand_tracking(
        &mut self,
        w: &Word,
        split: bool,
        subst: &mut Option<i32>,
    ) -> Result<Vec<String>, String> {
        let mut fields: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut active = false;
        for (i, part) in w.iter().enumerate() {
            match part {
                Part::Lit(s) => {
                    if i == 0 && (s == "~" || s.starts_with("~/")) {
                        let home = self
                            .sh
                            .vars
                            .get("HOME")
                            .cloned()
                            .unwrap_or_else(|| "/".into());
                        cur.push_str(&home);
                        cur.push_str(&s[1..]);
                    } else {
                        cur.push_str(s);
                    }
                    active = true;
                }
                Part::Quoted(s) => {
                    cur.push_str(s);
                    active = true;
                }
                Part::Param {
                    name,
                    op: ParamOp::Plain,
                    quoted: true,
                } if name == "@" => {
                    let ps = self.sh.positional.clone();
                    for (j, p) in ps.iter().enumerate() {
                        if j > 0 {
                            fields.push(std::mem::take(&mut cur));
                        }
                        cur.push_str(p);
                        active = true;
                    }
                }
                Part::Param { name, op, quoted } => {
                    let v = self.param(name, op)?;
                    push_value(&mut fields, &mut cur, &mut active, &v, split && !quoted);
                }
                Part::Command { body, quoted } => {
                    let run = self.capture(body.clone(), String::new(), false);
                    if run.slept > Duration::ZERO {
                        self.sh.out.push_back(Step::Sleep(run.slept));
                    }
                    if run.blocked {
                        self.sh.out.push_back(Step::Sleep(Duration::MAX));
                    }
                    *subst = Some(run.status);
                    let v = run.stdout.trim_end_matches('\n').to_string();
                    push_value(&mut fields, &mut cur, &mut active, &v, split && !quoted);
                }
                Part::Arith { expr, quoted } => {
                    let v = self.arith(expr)?.to_string();
                    push_value(&mut fields, &mut cur, &mut active, &v, split && !quoted);
                }
            }
            if cur.len() > MAX_TEXT {
                cur.truncate(floor_boundary(&cur, MAX_TEXT));
            }
        }
        if active {
            fields.push(cur);
        }
        Ok(fields)
    }

    fn param(&mut self, name: &str, op: &ParamOp) -> Result<String, String> {
        let val = self.sh.get_var(name);
        let unset_or = |colon: bool, v: &Option<String>| match v {
            None => true,
            Some(s) => colon && s.is_empty(),
        };
        Ok(match op {
            ParamOp::Plain => val.unwrap_or_default(),
            ParamOp::Length => val.map_or(0, |v| v.chars().count()).to_string(),
            ParamOp::Default(colon, w) => {
                if unset_or(*colon, &val) {
                    self.expand_str(w)?
                } else {
                    val.unwrap_or_default()
                }
            }
            ParamOp::Assign(colon, w) => {
                if unset_or(*colon, &val) {
                    let v = self.expand_str(w)?;
                    if !parser::is_name(name) {
                        return Err(format!("{name}: bad variable name"));
                    }
                    self.sh.set_var(name, &v);
                    v
                } else {
                    val.unwrap_or_default()
                }
            }
            ParamOp::Alt(colon, w) => {
                if unset_or(*colon, &val) {
                    String::new()
                } else {
                    self.expand_str(w)?
                }
            }
            ParamOp::Error(colon, w) => {
                if unset_or(*colon, &val) {
                    let m = self.expand_str(w)?;
                    let m = if m.is_empty() {
                        if *colon {
                            "parameter not set or null".to_string()
                        } else {
                            "parameter not set".to_string()
                        }
                    } else {
                        m
                    };
                    return Err(format!("{name}: {m}"));
                }
                val.unwrap_or_default()
            }
            ParamOp::TrimPrefix(longest, w) | ParamOp::TrimSuffix(longest, w) => {
                let v = val.unwrap_or_default();
                let pat = self.expand_pattern(w)?;
                let prefix = matches!(op, ParamOp::TrimPrefix(..));
                trim(&v, &pat, prefix, *longest)
            }
        })
    }

    /// Expands a pattern word: quoted characters match literally.
    fn expand_pattern(&mut self, w: &Word) -> Result<Vec<PatChar>, String> {
        let mut out = Vec::new();
        for part in w {
            match part {
                Part::Lit(s) => {
                    let mut cs = s.chars();
                    while let Some(c) = cs.next() {
                        out.push(match c {
                            '*' => PatChar::Star,
                            '?' => PatChar::Any,
                            '\\' => PatChar::Lit(cs.next().unwrap_or('\\')),
                            _ => PatChar::Lit(c),
                        });
                    }
                }
                Part::Quoted(s) => out.extend(s.chars().map(PatChar::Lit)),
                other => {
                    let v = self.expand_str(&vec![other.clone()])?;
                    let quoted = match other {
                        Part::Param { quoted, .. }
                        | Part::Command { quoted, .. }
                        | Part::Arith { quoted, .. } => *quoted,
                        _ => true,
                    };
                    for c in v.chars() {
                        out.push(match c {
                            '*' if !quoted => PatChar::Star,
                            '?' if !quoted => PatChar::Any,
                            _ => PatChar::Lit(c),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    fn expand_heredoc(&mut self, body: &str) -> Result<String, String> {
        let mut out = String::new();
        let cs: Vec<char> = body.chars().collect();
        let mut i = 0;
        while i < cs.len() {
            let c = cs[i];
            if c == '\\' && matches!(cs.get(i + 1), Some('$' | '\\' | '`')) {
                out.push(cs[i + 1]);
                i += 2;
                continue;
            }
            if c == '$' {
                let (name, next) = read_param_name(&cs, i + 1);
                if let Some(name) = name {
                    out.push_str(&self.sh.get_var(&name).unwrap_or_default());
                    i = next;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        }
        Ok(out)
    }

    // ------------------------------------------------------------ arithmetic

    fn arith(&mut self, expr: &str) -> Result<i64, String> {
        // Parameter expansion first, as ash does.
        let cs: Vec<char> = expr.chars().collect();
        let mut text = String::new();
        let mut i = 0;
        while i < cs.len() {
            if cs[i] == '$' {
                let (name, next) = read_param_name(&cs, i + 1);
                if let Some(name) = name {
                    text.push_str(&self.sh.get_var(&name).unwrap_or_default());
                    i = next;
                    continue;
                }
            }
            text.push(cs[i]);
            i += 1;
        }
        let mut a = Arith {
            toks: arith_lex(&text)?,
            pos: 0,
            sh: &self.sh,
            depth: 0,
        };
        let v = a.ternary()?;
        if a.pos != a.toks.len() {
            return Err("arithmetic syntax error".into());
        }
        Ok(v)
    }
}

impl Shell {
    /// A copy without the (possibly large) file map and output queue.
    fn clone_light(&self) -> Shell {
        Shell {
            vars: self.vars.clone(),
            exported: self.exported.clone(),
            files: BTreeMap::new(),
            binaries: self.binaries.clone(),
            now_unix: self.now_unix,
            arg0: self.arg0.clone(),
            commandname: self.commandname.clone(),
            positional: self.positional.clone(),
            status: self.status,
            errexit: self.errexit,
            xtrace: self.xtrace,
            funcs: self.funcs.clone(),
            line: self.line,
            fd1: Out::Stdout,
            fd2: Out::Stderr,
            stdin: String::new(),
            out: VecDeque::new(),
            sub_depth: self.sub_depth,
        }
    }
}

/// `$name`, `${name}`, `$1`, `$?` at `cs[i..]` (after the `$`).
fn read_param_name(cs: &[char], i: usize) -> (Option<String>, usize) {
    match cs.get(i) {
        Some('{') => {
            let end = cs[i..].iter().position(|c| *c == '}').map(|p| i + p);
            match end {
                Some(e) if e > i + 1 => (Some(cs[i + 1..e].iter().collect()), e + 1),
                _ => (None, i),
            }
        }
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
            let mut j = i;
            while cs
                .get(j)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                j += 1;
            }
            (Some(cs[i..j].iter().collect()), j)
        }
        Some(c) if c.is_ascii_digit() || "?#$!-@*".contains(*c) => (Some(c.to_string()), i + 1),
        _ => (None, i),
    }
}

fn push_value(fields: &mut Vec<String>, cur: &mut String, active: &mut bool, v: &str, split: bool) {
    if !split {
        cur.push_str(v);
        *active = true;
        return;
    }
    for c in v.chars() {
        if c == ' ' || c == '\t' || c == '\n' {
            if *active {
                fields.push(std::mem::take(cur));
                *active = false;
            }
        } else {
            cur.push(c);
            *active = true;
        }
    }
}

/// ash's `number()`: digits only (no sign), else "Illegal number".
pub(crate) fn parse_number(s: &str) -> Option<i32> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: u64 = s.chars().take(18).collect::<String>().parse().ok()?;
    Some((v & 0x7fff_ffff) as i32)
}

pub(crate) fn is_special_builtin(n: &str) -> bool {
    matches!(
        n,
        "." | ":"
            | "break"
            | "continue"
            | "eval"
            | "exec"
            | "exit"
            | "export"
            | "readonly"
            | "return"
            | "set"
            | "shift"
            | "source"
            | "times"
            | "trap"
            | "unset"
            | "local"
    )
}

/// ash's builtins (`builtintab`); the rest must exist in the image.
pub(crate) fn is_builtin(n: &str) -> bool {
    is_special_builtin(n)
        || matches!(
            n,
            "[" | "[["
                | "alias"
                | "bg"
                | "cd"
                | "chdir"
                | "command"
                | "echo"
                | "false"
                | "fg"
                | "getopts"
                | "hash"
                | "help"
                | "jobs"
                | "kill"
                | "let"
                | "printf"
                | "pwd"
                | "read"
                | "test"
                | "true"
                | "type"
                | "ulimit"
                | "umask"
                | "unalias"
                | "wait"
        )
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+,-./:@]^_".contains(c))
    {
        s.to_string()
    } else {
        sh_quote(s)
    }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

// ---------------------------------------------------------------- patterns

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PatChar {
    Lit(char),
    Any,
    Star,
}

/// Glob match with `*` and `?` (linear backtracking on the last star).
pub(crate) fn glob_match(p: &[PatChar], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(PatChar::Star) => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(PatChar::Any) => {
                pi += 1;
                si += 1;
            }
            Some(PatChar::Lit(c)) if *c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|c| *c == PatChar::Star)
}

fn trim(v: &str, pat: &[PatChar], prefix: bool, longest: bool) -> String {
    let cs: Vec<char> = v.chars().collect();
    if cs.len() > 4096 {
        return v.to_string();
    }
    let n = cs.len();
    let lens: Vec<usize> = if longest {
        (0..=n).rev().collect()
    } else {
        (0..=n).collect()
    };
    for l in lens {
        let (part, rest): (&[char], &[char]) = if prefix {
            (&cs[..l], &cs[l..])
        } else {
            (&cs[n - l..], &cs[..n - l])
        };
        if glob_match(pat, part) {
            return rest.iter().collect();
        }
    }
    v.to_string()
}

// ---------------------------------------------------------------- arithmetic

#[derive(Debug, Clone, PartialEq)]
enum ATok {
    Num(i64),
    Ident(String),
    Op(&'static str),
}

fn arith_lex(s: &str) -> Result<Vec<ATok>, String> {
    const OPS: &[&str] = &[
        "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", "(", ")", "<",
        ">", "!", "~", "&", "|", "^", "?", ":",
    ];
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    'outer: while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < cs.len() && cs[j].is_ascii_alphanumeric() {
                j += 1;
            }
            let t: String = cs[i..j].iter().collect();
            let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                i64::from_str_radix(h, 16)
            } else if t.len() > 1 && t.starts_with('0') {
                i64::from_str_radix(&t[1..], 8)
            } else {
                t.parse()
            };
            out.push(ATok::Num(
                v.map_err(|_| "arithmetic syntax error".to_string())?,
            ));
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i;
            while j < cs.len() && (cs[j].is_ascii_alphanumeric() || cs[j] == '_') {
                j += 1;
            }
            out.push(ATok::Ident(cs[i..j].iter().collect()));
            i = j;
            continue;
        }
        for op in OPS {
            let oc: Vec<char> = op.chars().collect();
            if cs[i..].starts_with(&oc) {
                out.push(ATok::Op(op));
                i += oc.len();
                continue 'outer;
            }
        }
        return Err("arithmetic syntax error".into());
    }
    Ok(out)
}

struct Arith<'a> {
    toks: Vec<ATok>,
    pos: usize,
    sh: &'a Shell,
    depth: usize,
}

impl Arith<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(ATok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn ternary(&mut self) -> Result<i64, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("arithmetic syntax error".into());
        }
        let c = self.binary(0)?;
        let r = if self.peek_op() == Some("?") {
            self.pos += 1;
            let a = self.ternary()?;
            if self.peek_op() != Some(":") {
                return Err("arithmetic syntax error".into());
            }
            self.pos += 1;
            let b = self.ternary()?;
            if c != 0 { a } else { b }
        } else {
            c
        };
        self.depth -= 1;
        Ok(r)
    }

    fn binary(&mut self, min_prec: u8) -> Result<i64, String> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_op() {
            let prec = match op {
                "||" => 1,
                "&&" => 2,
                "|" => 3,
                "^" => 4,
                "&" => 5,
                "==" | "!=" => 6,
                "<" | ">" | "<=" | ">=" => 7,
                "<<" | ">>" => 8,
                "+" | "-" => 9,
                "*" | "/" | "%" => 10,
                _ => break,
            };
            if prec < min_prec.max(1) {
                break;
            }
            self.pos += 1;
            let rhs = self.binary(prec + 1)?;
            lhs = match op {
                "||" => i64::from(lhs != 0 || rhs != 0),
                "&&" => i64::from(lhs != 0 && rhs != 0),
                "|" => lhs | rhs,
                "^" => lhs ^ rhs,
                "&" => lhs & rhs,
                "==" => i64::from(lhs == rhs),
                "!=" => i64::from(lhs != rhs),
                "<" => i64::from(lhs < rhs),
                ">" => i64::from(lhs > rhs),
                "<=" => i64::from(lhs <= rhs),
                ">=" => i64::from(lhs >= rhs),
                "<<" => lhs.wrapping_shl(rhs as u32),
                ">>" => lhs.wrapping_shr(rhs as u32),
                "+" => lhs.wrapping_add(rhs),
                "-" => lhs.wrapping_sub(rhs),
                "*" => lhs.wrapping_mul(rhs),
                "/" | "%" => {
                    if rhs == 0 {
                        return Err("divide by zero".into());
                    }
                    if op == "/" {
                        lhs.wrapping_div(rhs)
                    } else {
                        lhs.wrapping_rem(rhs)
                    }
                }
                _ => lhs,
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<i64, String> {
        let tok = self.toks.get(self.pos).cloned();
        self.pos += 1;
        match tok {
            Some(ATok::Num(n)) => Ok(n),
            Some(ATok::Ident(name)) => {
                let v = self.sh.get_var(&name).unwrap_or_default();
                let v = v.trim();
                if v.is_empty() {
                    Ok(0)
                } else {
                    match arith_lex(v)?.as_slice() {
                        [ATok::Num(n)] => Ok(*n),
                        [ATok::Op("-"), ATok::Num(n)] => Ok(n.wrapping_neg()),
                        _ => Err("arithmetic syntax error".into()),
                    }
                }
            }
            Some(ATok::Op("(")) => {
                let v = self.ternary()?;
                if self.peek_op() != Some(")") {
                    return Err("arithmetic syntax error".into());
                }
                self.pos += 1;
                Ok(v)
            }
            Some(ATok::Op("-")) => Ok(self.unary()?.wrapping_neg()),
            Some(ATok::Op("+")) => self.unary(),
            Some(ATok::Op("!")) => Ok(i64::from(self.unary()? == 0)),
            Some(ATok::Op("~")) => Ok(!self.unary()?),
            _ => Err("arithmetic syntax error".into()),
        }
    }
}

// ---------------------------------------------------------------- invocation

/// How `sh` was invoked (ash `procargs()`).
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub arg0: String,
    pub commandname: Option<String>,
    pub positional: Vec<String>,
    pub errexit: bool,
    pub xtrace: bool,
    /// `None`: no `-c` and no file, so the shell reads its (empty) stdin.
    pub script: Option<String>,
}

/// Parses `sh [-ex] [-c SCRIPT [ARG0 [ARGS…]] | FILE [ARGS…]]`.
/// Errors carry the message (after `"<argv0>: "`) and the exit status.
pub(crate) fn parse_invocation(
    argv: &[String],
    files: &BTreeMap<String, String>,
) -> Result<Invocation, (String, i32)> {
    let mut inv = Invocation {
        arg0: argv.first().cloned().unwrap_or_else(|| "sh".into()),
        commandname: None,
        positional: Vec::new(),
        errexit: false,
        xtrace: false,
        script: None,
    };
    let mut minus_c = false;
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        let (on, flags) = match (a.strip_prefix('-'), a.strip_prefix('+')) {
            (Some(f), _) => (true, f),
            (_, Some(f)) => (false, f),
            _ => break,
        };
        i += 1;
        if flags.is_empty() || flags == "-" {
            break;
        }
        for c in flags.chars() {
            match c {
                'c' => minus_c = true,
                'e' => inv.errexit = on,
                'x' => inv.xtrace = on,
                'o' => i += 1,
                's' | 'i' | 'l' | 'u' | 'v' | 'f' | 'm' | 'n' | 'a' | 'C' | 'b' => {}
                _ => {
                    return Err((
                        format!("illegal option {}{c}", if on { '-' } else { '+' }),
                        2,
                    ));
                }
            }
        }
    }
    let rest = &argv[i.min(argv.len())..];
    if minus_c {
        let Some(script) = rest.first() else {
            return Err(("-c requires an argument".into(), 2));
        };
        inv.script = Some(script.clone());
        if let Some(a0) = rest.get(1) {
            inv.arg0 = a0.clone();
            inv.commandname = Some(a0.clone());
            inv.positional = rest[2..].to_vec();
        }
    } else if let Some(file) = rest.first() {
        let Some(text) = files.get(file) else {
            return Err((format!("can't open '{file}': No such file or directory"), 2));
        };
        inv.script = Some(text.clone());
        inv.arg0 = file.clone();
        inv.commandname = Some(file.clone());
        inv.positional = rest[1..].to_vec();
    }
    Ok(inv)
}

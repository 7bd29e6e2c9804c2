//! The resumable interpreter: an explicit frame stack instead of Rust recursion, so a
//! process can stop at any `sleep` and continue on the next [`Step`] request.
//!
//! Error texts follow busybox ash (`shell/ash.c`): `ash_vmsg()` prints `"<arg0>: "`, then,
//! only when a command name is set (a builtin is running, or the shell got an `$0` after
//! `-c SCRIPT` / runs a script file), `"<name>: "` if it differs from `$0` and
//! `"line <n>: "`. `find_command()` reports `"<cmd>: not found"` (status 127).
//!
//! The executor keeps the frame stack, pipelines, simple commands and sub-machines here;
//! builtins, redirections, word expansion and arithmetic are its submodules.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::Step;
use super::applets::{self, Outcome};
use super::parser::{self, N, Node, ParamOp, Part, Redir, RedirKind, Simple, SyntaxError, Word};
use crate::fs::Fs;

mod arithmetic;
mod builtins;
mod expansion;
mod interactive;
mod redirection;

use builtins::{is_builtin, is_special_builtin, quote};
use expansion::{glob_match, read_param_name};

/// Longest text of one [`Step::Stdout`] / [`Step::Stderr`].
pub(crate) const MAX_CHUNK: usize = 64 * 1024;
/// Largest expanded word, captured output or file the shell keeps.
pub(crate) const MAX_TEXT: usize = 1024 * 1024;
/// Interpreter steps without any output or sleep after which the process counts as
/// spinning forever (`while true; do :; done`).
pub(crate) const SPIN_LIMIT: u64 = 200_000;
/// Output emitted without any sleep before the interpreter throttles with a short sleep.
const THROTTLE_BYTES: usize = 64 * 1024;
const THROTTLE_STEPS: usize = 256;
/// How many bytes of [`Step::Binary`] output count as one toward [`THROTTLE_BYTES`].
const BINARY_WEIGHT: usize = 64;
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
    /// What fd 0 reads when it is not the process's own stdin (a pipe, a redirection).
    pub stdin: String,
    /// fd 0 is the process's own stdin ([`Self::live`]), not [`Self::stdin`].
    pub stdin_live: bool,
    pub out: VecDeque<Step>,
    pub sub_depth: usize,
    /// The container's shared filesystem.
    pub fs: crate::fs::Fs,
    /// The process's own stdin as it arrives (not a pipe or redirection inside the script).
    pub live: LiveInput,
    /// The pod's network (`wget`, `nc`, `nslookup`, `curl`).
    pub net: crate::net::NetHandle,
    /// Why a write to a file failed since the last command started (`ENOSPC`, `EROFS`).
    pub write_failed: Option<&'static str>,
    /// Who the process runs as (`id`, `whoami`); `None` is the image's root.
    pub user: Option<crate::Credentials>,
}

/// Stdin of the process as fed from outside.
#[derive(Debug, Clone)]
pub(crate) struct LiveInput {
    pub buf: Vec<u8>,
    pub eof: bool,
    pub tty: bool,
    /// The terminal's width (what `TIOCGWINSZ` would say), for `ls` columns.
    pub columns: usize,
}

impl Shell {
    pub fn new(
        vars: BTreeMap<String, String>,
        binaries: BTreeSet<String>,
        now_unix: i64,
        fs: Fs,
    ) -> Self {
        let exported = vars.keys().cloned().collect();
        Shell {
            vars,
            exported,
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
            stdin_live: false,
            out: VecDeque::new(),
            sub_depth: 0,
            fs,
            live: LiveInput {
                eof: true,
                ..LiveInput::default()
            },
            net: Default::default(),
            write_failed: None,
            user: None,
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
            Out::File(path) => self.append_file(&path, text.as_bytes()),
        }
    }

    /// Writes bytes that need not be text (an archive, a binary file) to fd 1 or 2.
    /// Short text stays text; anything longer than one chunk goes out as bytes.
    pub fn write_bytes(&mut self, fd: u32, data: &[u8]) {
        if data.len() <= MAX_CHUNK
            && let Ok(t) = std::str::from_utf8(data)
        {
            return self.write(fd, t);
        }
        let target = if fd == 2 {
            self.fd2.clone()
        } else {
            self.fd1.clone()
        };
        match target {
            Out::Null => {}
            Out::Stdout | Out::Stderr => {
                for chunk in data.chunks(MAX_CHUNK) {
                    self.out.push_back(if target == Out::Stderr {
                        Step::Stderr(String::from_utf8_lossy(chunk).into_owned())
                    } else {
                        Step::Binary(chunk.to_vec())
                    });
                }
            }
            Out::File(path) => self.append_file(&path, data),
        }
    }

    /// Appends to a file of the container; a full filesystem marks the command's write
    /// as failed ([`Self::write_failed`]).
    pub fn append_file(&mut self, path: &str, data: &[u8]) {
        let p = self.abs(path);
        if let Err(e) = self.fs.append(&p, data) {
            self.write_failed = Some(e);
        }
    }

    /// `path` made absolute against `$PWD`.
    pub fn abs(&self, p: &str) -> String {
        if p.starts_with('/') {
            crate::fs::normalize(p)
        } else {
            let pwd = self.vars.get("PWD").map_or("/", String::as_str);
            crate::fs::normalize(&format!("{pwd}/{p}"))
        }
    }

    /// A file's text.
    pub fn read_file(&self, path: &str) -> Option<String> {
        self.fs.read_text(&self.abs(path))
    }

    /// Everything fd 0 holds, as text; the process's own stdin is read to its end (the
    /// caller made sure end-of-file arrived).
    pub fn take_stdin(&mut self) -> String {
        String::from_utf8_lossy(&self.take_stdin_bytes()).into_owned()
    }

    /// Everything fd 0 holds, as bytes.
    pub fn take_stdin_bytes(&mut self) -> Vec<u8> {
        if self.stdin_live {
            std::mem::take(&mut self.live.buf)
        } else {
            std::mem::take(&mut self.stdin).into_bytes()
        }
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
        self.fs.is_file(&self.abs(path))
    }

    pub fn dir_exists(&self, path: &str) -> bool {
        self.fs.is_dir(&self.abs(path))
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
    stdin_live: bool,
}

/// What an interrupted command waits for on the process's stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Any byte (a streaming `cat`).
    Data,
    /// A whole line (`read`, the interactive shell).
    Line,
    /// End-of-file (`wc`, `tar -x`: they read everything).
    Eof,
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
        stdin: Option<(String, bool)>,
    },
    /// A command (already expanded, redirections applied) that waits for stdin, run again
    /// when the input it wants has arrived.
    Retry(Vec<String>),
    /// An interactive shell (or `sh -s`) reading its commands from stdin line by line.
    /// `pending` holds the lines of a command not yet complete (`if …` awaiting `fi`).
    Interactive {
        pending: String,
        prompt: bool,
        shown: bool,
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
    /// A long `seq`, one chunk per step (the output throttle paces it).
    Seq(applets::SeqRun),
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
    /// Blocked on the process's stdin until it holds what this says.
    waiting: Option<Want>,
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
            waiting: None,
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

    /// Whether the process's stdin holds what a waiting command wants.
    fn input_ready(&self, want: Want) -> bool {
        let live = &self.sh.live;
        live.eof
            || match want {
                Want::Data => !live.buf.is_empty(),
                Want::Line => live.buf.contains(&b'\n'),
                Want::Eof => false,
            }
    }

    /// Suspends `argv` until the process's stdin holds what `want` says; `false` when it
    /// already does (or fd 0 is not the process's stdin) and the command can run now.
    pub(crate) fn wait_for_input(&mut self, argv: &[String], want: Want) -> bool {
        if !self.sh.stdin_live || self.input_ready(want) {
            return false;
        }
        self.push(Frame::Retry(argv.to_vec()));
        self.waiting = Some(want);
        true
    }

    pub fn feed_stdin(&mut self, bytes: &[u8]) {
        if self.sh.live.eof {
            return;
        }
        let room = crate::fs::MAX_TOTAL_BYTES.saturating_sub(self.sh.live.buf.len());
        self.sh
            .live
            .buf
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Ctrl-C: an interactive shell on a terminal drops what runs and prompts again.
    pub fn interrupt(&mut self) -> bool {
        if self.exited.is_some() || !self.unwind_to_interactive(true) {
            return false;
        }
        self.waiting = None;
        self.blocked = false;
        self.silent_ticks = 0;
        // The terminal flushes its input queue on SIGINT (ISIG without NOFLSH): a line typed
        // before ^C that the shell had not read yet is gone, not run after the new prompt.
        self.sh.live.buf.clear();
        self.sh.out.retain(|s| !matches!(s, Step::Sleep(_)));
        // ash's SIGINT handler ends the line (`newline_and_flush(stderr)`); status 130.
        self.sh.write(2, "\n");
        self.sh.status = 130;
        true
    }

    /// Drops every frame above the innermost interactive loop (one that prompts, when
    /// `prompting`), undoing redirections and subshells; `false` when there is none.
    fn unwind_to_interactive(&mut self, prompting: bool) -> bool {
        let Some(pos) = self
            .stack
            .iter()
            .rposition(|f| matches!(f, Frame::Interactive { prompt, .. } if *prompt || !prompting))
        else {
            return false;
        };
        while self.stack.len() > pos + 1 {
            match self.stack.pop() {
                Some(Frame::Restore(saved)) => self.restore(*saved),
                Some(Frame::Fds { fd1, fd2, stdin }) => self.restore_fds(fd1, fd2, stdin),
                _ => {}
            }
        }
        if let Some(Frame::Interactive { pending, shown, .. }) = self.stack.last_mut() {
            pending.clear();
            *shown = false;
        }
        true
    }

    fn restore_fds(&mut self, fd1: Out, fd2: Out, stdin: Option<(String, bool)>) {
        self.sh.fd1 = fd1;
        self.sh.fd2 = fd2;
        if let Some((s, live)) = stdin {
            self.sh.stdin = s;
            self.sh.stdin_live = live;
        }
    }

    pub fn resize(&mut self, columns: u16) {
        if columns > 0 {
            self.sh.live.columns = usize::from(columns);
        }
    }

    pub fn close_stdin(&mut self) {
        self.sh.live.eof = true;
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
            if let Some(want) = self.waiting {
                if !self.input_ready(want) {
                    return Step::WaitInput;
                }
                self.waiting = None;
                self.silent_ticks = 0;
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
            Step::Stdout(_) | Step::Stderr(_) | Step::Binary(_) => {
                // Bulk data (an archive, a copied file) is bounded by the filesystem's
                // size, so it counts for less: `kubectl cp` of a large file is not slowed
                // to a crawl, yet a loop that repeats it still pauses.
                let n = s.output().map_or(0, |(b, _)| b.len());
                self.unslept_bytes += if matches!(s, Step::Binary(_)) {
                    n / BINARY_WEIGHT
                } else {
                    n
                };
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
            Step::Exit(_) | Step::WaitInput => {}
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
                    Step::Binary(b) => {
                        // A pipe inside the script carries text: binary data is shown as a
                        // terminal would.
                        let t = String::from_utf8_lossy(&b);
                        let room = MAX_TEXT.saturating_sub(stdout.len());
                        stdout.push_str(&t[..floor_boundary(&t, room)]);
                    }
                    Step::WaitInput => {}
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

    fn join_sub(&mut self, child: Machine, run: &SubRun) {
        self.sh.write_failed = self.sh.write_failed.or(child.sh.write_failed);
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
            Frame::Fds { fd1, fd2, stdin } => self.restore_fds(fd1, fd2, stdin),
            Frame::Retry(argv) => self.command(argv),
            Frame::Interactive {
                pending,
                prompt,
                shown,
            } => self.interactive(pending, prompt, shown),
            Frame::Func { positional } => self.sh.positional = positional,
            Frame::ExitAfter => {
                let s = self.sh.status;
                self.flow(Flow::Exit(s));
            }
            Frame::BlockAfter => {
                self.sh.out.push_back(Step::Sleep(Duration::MAX));
            }
            Frame::Seq(mut run) => {
                let chunk = run.chunk();
                self.sh.write(1, &chunk);
                if run.is_running() {
                    self.push(Frame::Seq(run));
                }
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
            stdin_live: self.sh.stdin_live,
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
        self.sh.stdin_live = s.stdin_live;
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
                Frame::Fds { fd1, fd2, stdin } => self.restore_fds(fd1, fd2, stdin),
                // The interactive loop outlives `break`, `continue` and `return` typed at
                // the prompt; only `exit` ends it.
                f @ Frame::Interactive { .. } if !matches!(flow, Flow::Exit(_)) => {
                    if let Flow::Return(c) = flow {
                        self.sh.status = c & 0xff;
                    }
                    self.stack.push(f);
                    return;
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
            Node::Pipeline(cmds) => {
                if cmds.len() > 1 && self.sh.stdin_live && !self.sh.live.eof {
                    self.push(Frame::Run(node.clone()));
                    self.waiting = Some(Want::Eof);
                    return;
                }
                self.pipeline(cmds)
            }
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
            stdin: touches_stdin.then(|| (self.sh.stdin.clone(), self.sh.stdin_live)),
        }
    }

    /// Pops and applies the `Fds` frame just pushed.
    fn tick_restore(&mut self) {
        if !matches!(self.stack.last(), Some(Frame::Fds { .. })) {
            return;
        }
        if let Some(Frame::Fds { fd1, fd2, stdin }) = self.stack.pop() {
            self.restore_fds(fd1, fd2, stdin);
        }
    }

    /// An error that ends a script; an interactive shell abandons the command line and
    /// prompts again instead.
    fn fatal(&mut self, msg: &str) {
        self.sh.diag(None, msg);
        if self.unwind_to_interactive(false) {
            self.sh.status = 2;
            return;
        }
        self.flow(Flow::Exit(2));
    }

    fn pipeline(&mut self, cmds: &[N]) {
        let Some((last, first)) = cmds.split_last() else {
            return;
        };
        // The first stage reads the process's stdin: it runs once all of it has arrived.
        let mut input = if self.sh.stdin_live {
            self.sh.take_stdin()
        } else {
            self.sh.stdin.clone()
        };
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
        let saved = self.save();
        if blocked {
            self.push(Frame::BlockAfter);
        }
        self.push(Frame::Restore(Box::new(saved)));
        self.sh.stdin = input;
        self.sh.stdin_live = false;
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
                self.sh.stdin_live,
            );
            let r = self.apply_redirs(&s.redirs);
            (self.sh.fd1, self.sh.fd2, self.sh.stdin, self.sh.stdin_live) = saved;
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
        if let Some(want) = applets::reads_stdin(&args)
            && self.wait_for_input(&argv, want)
        {
            return;
        }
        if args[0] == "cat"
            && self.sh.stdin_live
            && !self.sh.live.eof
            && applets::cat_streams(&args)
        {
            // `cat` copies the process's stdin as it arrives (an attach, `exec -i`).
            let data = std::mem::take(&mut self.sh.live.buf);
            self.sh.write_bytes(1, &data);
            self.push(Frame::Retry(argv));
            self.waiting = Some(Want::Data);
            return;
        }
        self.sh.write_failed = None;
        let outcome = applets::run(&mut self.sh, &args);
        if let Some(e) = self.sh.write_failed.take() {
            // A write that hit the cap fails like one to a full disk (`full_write()`).
            let m = format!("{}: write error: {e}\n", args[0]);
            self.sh.write(2, &m);
            self.sh.status = 1;
            return;
        }
        match outcome {
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
            Outcome::Seq(run) => {
                self.sh.status = 0;
                self.push(Frame::Seq(run));
            }
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
        let text = self.sh.read_file(path).unwrap_or_default();
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
        let inv = match parse_invocation(argv, &self.sh.fs) {
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
            None if self.sh.stdin_live => {
                // No script: commands come from stdin, one at a time as they arrive (ash's
                // `cmdloop()`); prompts when interactive (`-i`, or stdin on a terminal).
                self.sh.status = 0;
                self.push(Frame::Interactive {
                    pending: String::new(),
                    prompt: inv.interactive || self.sh.live.tty,
                    shown: false,
                });
            }
            None => {
                // A pipe or redirection inside the script: all of it is there already.
                let text = std::mem::take(&mut self.sh.stdin);
                self.sh.status = 0;
                self.start_script(parser::parse_script(&text));
            }
        }
    }
}

impl Shell {
    /// A copy without the (possibly large) file map and output queue.
    fn clone_light(&self) -> Shell {
        Shell {
            vars: self.vars.clone(),
            exported: self.exported.clone(),
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
            stdin_live: false,
            out: VecDeque::new(),
            sub_depth: self.sub_depth,
            fs: self.fs.clone(),
            live: LiveInput {
                eof: true,
                ..LiveInput::default()
            },
            net: self.net.clone(),
            write_failed: None,
            user: self.user.clone(),
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
    /// `-i`: prompts even when stdin is not a terminal.
    pub interactive: bool,
    /// `None`: no `-c` and no file (or `-s`), so the shell reads its commands from stdin.
    pub script: Option<String>,
}

/// Parses `sh [-ex] [-c SCRIPT [ARG0 [ARGS…]] | FILE [ARGS…]]`.
/// Errors carry the message (after `"<argv0>: "`) and the exit status.
pub(crate) fn parse_invocation(argv: &[String], fs: &Fs) -> Result<Invocation, (String, i32)> {
    let mut inv = Invocation {
        arg0: argv.first().cloned().unwrap_or_else(|| "sh".into()),
        commandname: None,
        positional: Vec::new(),
        errexit: false,
        xtrace: false,
        interactive: false,
        script: None,
    };
    let mut minus_c = false;
    let mut minus_s = false;
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
                's' => minus_s = true,
                'i' => inv.interactive = on,
                'l' | 'u' | 'v' | 'f' | 'm' | 'n' | 'a' | 'C' | 'b' => {}
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
    } else if minus_s {
        inv.positional = rest.to_vec();
    } else if let Some(file) = rest.first() {
        let Some(text) = fs.read_text(file) else {
            return Err((format!("can't open '{file}': No such file or directory"), 2));
        };
        inv.script = Some(text);
        inv.arg0 = file.clone();
        inv.commandname = Some(file.clone());
        inv.positional = rest[1..].to_vec();
    }
    Ok(inv)
}

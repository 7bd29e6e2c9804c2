//! kq-shell: the POSIX-sh interpreter busybox-style containers run in KubeQuest's embedded
//! cluster. Kubernetes has no such component: on a real node the image's own `/bin/sh`
//! (busybox ash) runs under the container runtime; here the runtime (kq-runtime) runs it.
//!
//! What a busybox/alpine container prints and how it exits: the simulated kubelet starts a
//! container's `command`/`args` with [`spawn`] and pulls [`Step`]s from the [`Process`].
//!
//! `sh -c SCRIPT` runs a POSIX-sh subset modelled on busybox ash (`shell/ash.c`): quoting,
//! `$VAR`/`${VAR…}` expansion (`:-` `-` `:=` `:+` `:?` `#` `##` `%` `%%` `${#VAR}`), `$?`
//! `$$` `$#` `$@` `$*` `$0`…`$9`, `$(…)`, backquotes, `$((…))`; `;` `&&` `||` `!` `|` `&`;
//! `{ …; }`, `( … )`, `if`/`elif`/`else`, `while`/`until`, `for`, `case`, functions; the
//! redirections `>` `>>` `<` `2>&1` `>&2` `<<EOF`; comments. Builtins and applets: see
//! [`applets`].
//!
//! A process has a stdin ([`Process::feed_stdin`], [`Process::close_stdin`]): `sh` without
//! `-c` (or with `-s`) runs each command as its line arrives, and prints busybox ash's
//! prompt when interactive (`-i`, or on a terminal, [`SpawnOptions::tty`]); `cat` copies
//! stdin as it comes, `read` waits for a line, the other readers for end-of-file;
//! meanwhile the process reports [`Step::WaitInput`]. Files live in the container's
//! filesystem ([`fs::Fs`]), byte-exact and shared by every process of the container;
//! `tar` reads and writes the archives `kubectl cp` exchanges.
//!
//! The interpreter never blocks or grows without bound: a script that spins without output
//! or sleep for [`machine::SPIN_LIMIT`] steps reports `Sleep(Duration::MAX)` for good; output
//! without sleeps is throttled with short sleeps; each output step is at most 64 KiB;
//! scripts, words, files and nesting are capped.

mod applets;
mod fileutils;
pub mod fs;
mod machine;
pub mod net;
mod parser;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_io;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What the container's process sees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellEnv {
    /// Container environment (already resolved), plus `HOSTNAME`, `HOME`, `PATH`.
    pub vars: BTreeMap<String, String>,
    /// Absolute path → content: mounted ConfigMap/Secret keys, `/etc/hostname`, …; added to
    /// [`Self::fs`] when the process starts.
    pub files: BTreeMap<String, String>,
    /// The container's filesystem, shared by all its processes (a default handle is a fresh,
    /// empty tree).
    pub fs: fs::Fs,
    /// Executables the image has in `$PATH` (e.g. the busybox applets).
    pub binaries: BTreeSet<String>,
    /// The time `date` reports, in seconds since the Unix epoch (UTC).
    pub now_unix: i64,
    /// The pod's network (cluster DNS, Services, pods).
    pub net: net::NetHandle,
    /// Who the processes run as when the pod's security context says (`runAsUser`,
    /// `runAsGroup`, supplemental groups); `None` runs them as the image's root.
    pub user: Option<Credentials>,
}

/// A process's user and groups, as the runtime sets them from the security context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The user ID.
    pub uid: i64,
    /// The primary group ID (0 unless `runAsGroup` says otherwise).
    pub gid: i64,
    /// Every group the process is in, primary included, ascending.
    pub groups: Vec<i64>,
}

/// One observable event of a running process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Text written to stdout (as written; usually ending in `'\n'`).
    Stdout(String),
    /// Text written to stderr.
    Stderr(String),
    /// Bytes written to stdout that are not (or may not be) text: `tar cf -`, `cat` of a
    /// binary file. Consumers treat it like [`Step::Stdout`].
    Binary(Vec<u8>),
    /// The process is blocked reading stdin: nothing more happens until
    /// [`Process::feed_stdin`] or [`Process::close_stdin`].
    WaitInput,
    /// The process is idle this long; `Duration::MAX` means forever (`sleep infinity`,
    /// `tail -f /dev/null`, a server, or a loop that only burns CPU).
    Sleep(Duration),
    /// The process ended with this code; no further steps.
    Exit(i32),
}

/// Why the container runtime could not start the process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// `argv[0]` (as given) is not an executable of the image: the kubelet reports a
    /// `StartError` with exit code 128.
    #[error("exec: \"{0}\": executable file not found in $PATH")]
    NotFound(String),
}

impl Step {
    /// The bytes an output step carries, and whether they went to stderr.
    pub fn output(&self) -> Option<(&[u8], bool)> {
        match self {
            Step::Stdout(t) => Some((t.as_bytes(), false)),
            Step::Stderr(t) => Some((t.as_bytes(), true)),
            Step::Binary(b) => Some((b, false)),
            _ => None,
        }
    }
}

/// How the process's stdin and terminal are set up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    /// Stdin stays open for [`Process::feed_stdin`] (`kubectl exec -i`, a container with
    /// `stdin: true`); otherwise stdin is `/dev/null`: reads see end-of-file at once.
    pub stdin: bool,
    /// The process runs on a terminal (`-t`): an interactive `sh` prints prompts.
    pub tty: bool,
}

/// A running container process.
#[derive(Debug)]
pub struct Process {
    machine: machine::Machine,
}

impl Process {
    /// The next event. After [`Step::Exit`] it keeps returning the same `Exit`; after
    /// `Sleep(Duration::MAX)` it keeps returning that; after [`Step::WaitInput`] it keeps
    /// returning that until input or end-of-file arrives.
    pub fn next_step(&mut self) -> Step {
        self.machine.next_step()
    }

    /// Bytes arriving on stdin (a learner's keystrokes, a piped file, a tar stream).
    /// Ignored after [`Self::close_stdin`]. Input beyond what the process has consumed is
    /// bounded: past [`fs::MAX_TOTAL_BYTES`] pending bytes the rest is dropped.
    pub fn feed_stdin(&mut self, bytes: &[u8]) {
        self.machine.feed_stdin(bytes);
    }

    /// The terminal's size changed (`kubectl exec -t` sends it at start and on every
    /// resize); `ls` lays its columns out to the width.
    pub fn resize(&mut self, columns: u16, _rows: u16) {
        self.machine.resize(columns);
    }

    /// End-of-file on stdin (the client closed it, Ctrl-D on a terminal).
    pub fn close_stdin(&mut self) {
        self.machine.close_stdin();
    }

    /// Ctrl-C on the process's terminal: `true` when the process survives it (an
    /// interactive shell drops the current command and prompts again), `false` when the
    /// signal would end it.
    pub fn interrupt(&mut self) -> bool {
        self.machine.interrupt()
    }

    /// The container filesystem this process works on.
    pub fn fs(&self) -> fs::Fs {
        self.machine.sh.fs.clone()
    }
}

/// The shells the interpreter stands in for.
fn is_shell(name: &str) -> bool {
    matches!(name, "sh" | "ash" | "bash" | "dash")
}

/// Starts the process the container runtime would exec for `argv`.
///
/// `argv[0]` is a bare name looked up in `env.binaries`, or a path: a path whose last
/// component is in `binaries` (`/bin/sh`), or a script in `env.files` whose `#!`
/// interpreter is a shell the image has.
///
/// Stdin is `/dev/null` and there is no terminal: see [`spawn_with`].
pub fn spawn(argv: &[String], env: ShellEnv) -> Result<Process, ExecError> {
    spawn_with(argv, env, SpawnOptions::default())
}

/// [`spawn`] with stdin and terminal as `opts` says.
pub fn spawn_with(
    argv: &[String],
    env: ShellEnv,
    opts: SpawnOptions,
) -> Result<Process, ExecError> {
    let not_found = || ExecError::NotFound(argv.first().cloned().unwrap_or_default());
    let Some(cmd) = argv.first() else {
        return Err(not_found());
    };
    let base = cmd.rsplit('/').next().unwrap_or_default().to_string();
    let ShellEnv {
        vars,
        files,
        fs,
        binaries,
        now_unix,
        net,
        user,
    } = env;
    fs.seed(&files);
    let mut argv: Vec<String> = argv.to_vec();
    let script = if cmd.contains('/') {
        fs.read_text(cmd)
    } else {
        None
    };
    if let Some(text) = script {
        // A script file run directly: `#!/bin/sh` (or no interpreter line).
        if let Some(first) = text.lines().next().filter(|l| l.starts_with("#!")) {
            let interp = first[2..].split_whitespace().next().unwrap_or_default();
            let ib = interp.rsplit('/').next().unwrap_or_default();
            if !binaries.contains(ib) {
                return Err(ExecError::NotFound(interp.to_string()));
            }
            if !is_shell(ib) {
                // Some other interpreter (python, …): a program the simulator runs silently.
                argv = vec![ib.to_string()];
            } else {
                argv.insert(0, ib.to_string());
            }
        } else {
            argv.insert(0, "sh".to_string());
        }
    } else if base.is_empty() || !binaries.contains(&base) {
        return Err(not_found());
    }
    let mut sh = machine::Shell::new(vars, binaries, now_unix, fs);
    sh.net = net;
    sh.user = user;
    // fd 0 is the process's own stdin: `/dev/null` (end-of-file at once) unless opened.
    sh.stdin_live = true;
    sh.live.eof = !opts.stdin;
    sh.live.tty = opts.tty;
    let first = argv[0].rsplit('/').next().unwrap_or_default().to_string();
    let mut machine;
    if is_shell(&first) {
        match machine::parse_invocation(&argv, &sh.fs) {
            Ok(inv) => {
                machine = machine::Machine::new(sh);
                machine.apply_invocation(inv);
            }
            Err((msg, code)) => {
                sh.write(2, &format!("{}: {msg}\n", argv[0]));
                machine = machine::Machine::new(sh);
                machine.exit_now(code);
            }
        }
    } else {
        machine = machine::Machine::new(sh);
        machine.start_argv(&argv);
    }
    Ok(Process { machine })
}

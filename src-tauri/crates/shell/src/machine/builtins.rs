//! The shell's builtins as busybox ash runs them (`builtintab` in `shell/ash.c`): `exit`,
//! `return`, `cd`, `export`, `set`, `read`, `eval`, `.`, `test`, … dispatched by
//! [`Machine::command`] before functions and the image's executables. Kubernetes has no
//! counterpart: on a real node this is the image's own `/bin/sh`.

use super::*;

impl Machine {
    /// Runs a command by name: builtins, functions, then the image's executables.
    pub(super) fn command(&mut self, argv: Vec<String>) {
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
                let Some(text) = self.sh.read_file(path) else {
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

    pub(super) fn builtin_set(&mut self, args: &[String]) {
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

    pub(super) fn builtin_read(&mut self, args: &[String]) {
        let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        let raw = args.iter().any(|a| a == "-r");
        let live = self.sh.stdin_live;
        if live {
            // The process's own stdin: wait for a whole line (or end-of-file), take it.
            let mut argv = vec!["read".to_string()];
            argv.extend(args.iter().cloned());
            if self.wait_for_input(&argv, Want::Line) {
                return;
            }
            let buf = &mut self.sh.live.buf;
            let line: Vec<u8> = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => buf.drain(..=i).collect(),
                None => std::mem::take(buf),
            };
            self.sh.stdin = String::from_utf8_lossy(&line).into_owned();
        }
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

pub(super) fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+,-./:@]^_".contains(c))
    {
        s.to_string()
    } else {
        sh_quote(s)
    }
}

pub(super) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

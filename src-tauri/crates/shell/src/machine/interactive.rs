//! The interactive loop: `sh` (or `sh -i`, `sh -s`) reading its commands from stdin as they
//! arrive, one complete command line at a time, with ash's prompts (`PS1`, `PS2`) on a
//! terminal, end-of-file ending the shell with the last status, and a syntax error reported
//! without ending it (ash's `cmdloop()`).

use super::*;

impl Machine {
    /// One turn of the interactive loop: prompt, read a line, run what is complete.
    pub(super) fn interactive(&mut self, mut pending: String, prompt: bool, mut shown: bool) {
        if prompt && !shown {
            let p = if pending.is_empty() {
                self.ps1()
            } else {
                self.sh
                    .vars
                    .get("PS2")
                    .cloned()
                    .unwrap_or_else(|| "> ".into())
            };
            // On a terminal line editing prints the prompt on stdout; `sh -i` on a pipe
            // prints it on stderr (ash's `putprompt()`).
            let fd = if self.sh.live.tty { 1 } else { 2 };
            self.sh.write(fd, &p);
            shown = true;
        }
        let live = &mut self.sh.live;
        let line = match live.buf.iter().position(|b| *b == b'\n') {
            Some(i) => {
                let l: Vec<u8> = live.buf.drain(..=i).collect();
                Some(String::from_utf8_lossy(&l).into_owned())
            }
            None if live.eof && !live.buf.is_empty() => {
                let l = std::mem::take(&mut live.buf);
                Some(String::from_utf8_lossy(&l).into_owned() + "\n")
            }
            None => None,
        };
        let Some(line) = line else {
            if self.sh.live.eof {
                if !pending.is_empty() {
                    // A command left open at end-of-file: its syntax error shows.
                    self.push(Frame::Interactive {
                        pending: String::new(),
                        prompt,
                        shown: true,
                    });
                    self.run_interactive(&pending);
                    return;
                }
                if prompt {
                    // ash's `cmdloop()` ends the prompt line at end-of-file.
                    self.sh.write(2, "\n");
                }
                let st = self.sh.status;
                self.flow(Flow::Exit(st));
                return;
            }
            self.push(Frame::Interactive {
                pending,
                prompt,
                shown,
            });
            self.waiting = Some(Want::Line);
            return;
        };
        pending.push_str(&line);
        if pending.len() > MAX_TEXT {
            pending.clear();
        }
        let script = parser::parse_script(&pending);
        if script.error.as_ref().is_some_and(|e| is_incomplete(&e.msg)) && !self.sh.live.eof {
            self.push(Frame::Interactive {
                pending,
                prompt,
                shown: false,
            });
            return;
        }
        self.push(Frame::Interactive {
            pending: String::new(),
            prompt,
            shown: false,
        });
        self.run_interactive(&pending);
    }

    /// Runs one command line of the interactive loop. A syntax error is reported and the
    /// loop goes on (only a non-interactive shell exits on it); nothing of a line with one runs.
    fn run_interactive(&mut self, text: &str) {
        let script = parser::parse_script(text);
        if let Some(e) = &script.error {
            self.sh.line = e.line;
            self.sh.diag(None, &format!("syntax error: {}", e.msg));
            self.sh.status = 2;
            return;
        }
        self.push(Frame::Script {
            items: script.items,
            idx: 0,
            error: None,
        });
    }

    /// `$PS1`, or busybox's default `\w \$ ` (with `FEATURE_EDITING_FANCY_PROMPT`): the
    /// working directory with `$HOME` as `~`, then `#` for root.
    fn ps1(&self) -> String {
        // bash on Debian images gets `\u@\h:\w\$ ` from /etc/bash.bashrc; dash prompts `# `
        // for root; busybox ash (built with the fancy prompt) `\w \$ `.
        let default = if self.sh.arg0.rsplit('/').next() == Some("bash") {
            "\\u@\\h:\\w\\$ "
        } else if self.sh.has_binary("dash") && !self.sh.has_binary("busybox") {
            "# "
        } else {
            "\\w \\$ "
        };
        let raw = self
            .sh
            .vars
            .get("PS1")
            .cloned()
            .unwrap_or_else(|| default.into());
        let pwd = self
            .sh
            .vars
            .get("PWD")
            .cloned()
            .unwrap_or_else(|| "/".into());
        let home = self.sh.vars.get("HOME").cloned().unwrap_or_default();
        let w = if !home.is_empty() && home != "/" && pwd == home {
            "~".to_string()
        } else if !home.is_empty() && home != "/" && pwd.starts_with(&format!("{home}/")) {
            format!("~{}", &pwd[home.len()..])
        } else {
            pwd.clone()
        };
        let host = self.sh.vars.get("HOSTNAME").cloned().unwrap_or_default();
        let mut out = String::new();
        let mut it = raw.chars();
        while let Some(c) = it.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match it.next() {
                Some('w') => out.push_str(&w),
                Some('W') => out.push_str(pwd.rsplit('/').find(|s| !s.is_empty()).unwrap_or("/")),
                Some('$') => out.push('#'),
                Some('h') => out.push_str(host.split('.').next().unwrap_or_default()),
                Some('H') => out.push_str(&host),
                Some('u') => out.push_str("root"),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        }
        out
    }
}

impl Default for LiveInput {
    fn default() -> Self {
        // A terminal whose size nobody reported is 80 columns wide (libbb's
        // `get_terminal_width()` fallback).
        LiveInput {
            buf: Vec::new(),
            eof: false,
            tty: false,
            columns: 80,
        }
    }
}

/// Whether a syntax error only says the command goes on in the next line.
fn is_incomplete(msg: &str) -> bool {
    msg.contains("end of file") || msg.starts_with("unterminated")
}

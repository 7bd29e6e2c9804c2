//! Redirections (`>` `>>` `<` `2>&1` `>&2` `<<EOF`): where fds 1 and 2 of the running
//! command write, as ash's `redirect()` sets them up; paths resolve against `$PWD`. A
//! redirection that cannot be opened fails the command with status 2 (`redirectsafe()`
//! returns the caught exception times two).

use super::*;

impl Machine {
    pub(super) fn apply_redirs(&mut self, redirs: &[Redir]) -> Result<(), i32> {
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
                        self.sh.stdin_live = false;
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
                        self.sh.stdin_live = false;
                    } else if let Some(t) = self.sh.read_file(&target) {
                        self.sh.stdin = t;
                        self.sh.stdin_live = false;
                    } else {
                        self.sh.diag(
                            None,
                            &format!("can't open '{target}': No such file or directory"),
                        );
                        return Err(2);
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
                                return Err(2);
                            }
                            let p = self.abs_path(p);
                            if !self.sh.fs.is_dir(crate::fs::parent(&p)) {
                                // ash: `errmsg(ENOENT, "nonexistent directory")`.
                                self.sh.diag(
                                    None,
                                    &format!("can't create {p}: nonexistent directory"),
                                );
                                return Err(2);
                            }
                            let opened = if self.sh.fs.is_read_only(&p) {
                                Err(crate::fs::EROFS)
                            } else if r.kind == RedirKind::Out || !self.sh.fs.is_file(&p) {
                                self.sh.fs.write(&p, b"")
                            } else {
                                Ok(())
                            };
                            if let Err(e) = opened {
                                self.sh.diag(None, &format!("can't create {p}: {e}"));
                                return Err(2);
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
                            return Err(2);
                        }
                    };
                    self.set_fd(r.fd, out);
                }
                RedirKind::DupIn | RedirKind::Here(..) => {}
            }
        }
        Ok(())
    }

    pub(super) fn set_fd(&mut self, fd: u32, out: Out) {
        match fd {
            1 => self.sh.fd1 = out,
            2 => self.sh.fd2 = out,
            _ => {}
        }
    }

    pub(super) fn abs_path(&self, p: &str) -> String {
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
}

//! The ash builtins and busybox applets the simulated containers can run.
//!
//! Message texts follow busybox: `cat` reports an unreadable file through libbb's
//! `open_or_warn_stdin()` → `"can't open '%s': %m"` (coreutils/cat.c); numbers that do not
//! parse go through libbb's `xatonum_template.c` → `"invalid number '%s'"` (used by
//! coreutils/sleep.c); `test`/`[` (coreutils/test.c) reports `"<arg>: bad number"` and
//! `"missing ]"` with status 2. Builtins run inside `sh`, so their `bb_error_msg` prefix
//! is the applet name `sh`.

use std::time::Duration;

use super::fileutils;
pub(crate) use super::fileutils::{cat_streams, reads_stdin};
use super::machine::{MAX_TEXT, Shell, floor_boundary};

/// What running a command led to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Finished with this status.
    Status(i32),
    /// Idle this long, then finished with the status.
    Sleep(Duration, i32),
    /// Never finishes and prints nothing more (`sleep infinity`, `tail -f`, servers).
    Forever,
    /// Prints this text over and over (`yes`).
    Yes(String),
    /// Prints the rest of a long `seq` a chunk at a time.
    Seq(SeqRun),
    /// Runs another command (`env NAME=value cmd`).
    Run(Vec<String>),
}

use Outcome::Status;

/// Runs builtin or applet `argv[0]` (already resolved to a bare name).
pub(crate) fn run(sh: &mut Shell, argv: &[String]) -> Outcome {
    let args = &argv[1..];
    match argv[0].as_str() {
        ":" | "true" | "trap" | "wait" | "kill" | "umask" | "ulimit" | "times" | "hash"
        | "alias" | "unalias" | "jobs" | "fg" | "bg" | "sync" | "chmod" | "chown" | "ln"
        | "getopts" | "let" | "help" => Status(0),
        "false" => Status(1),
        "wget" | "nc" | "nslookup" | "curl" => crate::net::applet(sh, argv),
        "echo" => echo(sh, args),
        "printf" => printf(sh, args),
        "test" => test(sh, args),
        "[" | "[[" => {
            let close = if argv[0] == "[" { "]" } else { "]]" };
            if args.last().map(String::as_str) != Some(close) {
                sh.write(2, &format!("sh: missing {close}\n"));
                return Status(2);
            }
            test(sh, &args[..args.len() - 1])
        }
        "pwd" => {
            let p = sh.vars.get("PWD").cloned().unwrap_or_else(|| "/".into());
            sh.write(1, &format!("{p}\n"));
            Status(0)
        }
        "cat" => cat(sh, args),
        "sleep" => sleep(sh, args),
        "usleep" => match args.first().and_then(|a| a.parse::<u64>().ok()) {
            Some(us) => Outcome::Sleep(Duration::from_micros(us), 0),
            None => Status(1),
        },
        "env" => env(sh, args),
        "printenv" => printenv(sh, args),
        "hostname" => {
            let h = sh
                .vars
                .get("HOSTNAME")
                .cloned()
                .or_else(|| sh.read_file("/etc/hostname").map(|s| s.trim().to_string()))
                .unwrap_or_else(|| "localhost".into());
            sh.write(1, &format!("{h}\n"));
            Status(0)
        }
        "date" => date(sh, args),
        "head" => head_tail(sh, args, true),
        "tail" => head_tail(sh, args, false),
        "wc" => wc(sh, args),
        "yes" => {
            let line = if args.is_empty() {
                "y".to_string()
            } else {
                args.join(" ")
            };
            let mut text = String::new();
            while text.len() < 8192 {
                text.push_str(&line);
                text.push('\n');
            }
            Outcome::Yes(text)
        }
        "seq" => seq(sh, args),
        "expr" => expr(sh, args),
        "grep" => grep(sh, args),
        "tee" => fileutils::tee(sh, args),
        "tar" => fileutils::tar(sh, args),
        "basename" => match args.first() {
            Some(p) => {
                let t = p.trim_end_matches('/');
                let mut b = t.rsplit('/').next().unwrap_or("").to_string();
                if b.is_empty() {
                    b = "/".into();
                }
                if let Some(sfx) = args.get(1)
                    && b.len() > sfx.len()
                    && b.ends_with(sfx.as_str())
                {
                    b.truncate(b.len() - sfx.len());
                }
                sh.write(1, &format!("{b}\n"));
                Status(0)
            }
            None => usage(sh, "basename FILE [SUFFIX]"),
        },
        "dirname" => match args.first() {
            Some(p) => {
                let t = p.trim_end_matches('/');
                let d = match t.rfind('/') {
                    Some(0) => "/".to_string(),
                    Some(i) => t[..i].to_string(),
                    None => ".".to_string(),
                };
                sh.write(1, &format!("{d}\n"));
                Status(0)
            }
            None => usage(sh, "dirname FILENAME"),
        },
        "uname" => {
            let t = if args.iter().any(|a| a == "-a") {
                let h = sh.vars.get("HOSTNAME").cloned().unwrap_or_default();
                format!("Linux {h} 6.6.0 #1 SMP x86_64 GNU/Linux\n")
            } else if args.iter().any(|a| a == "-m") {
                "x86_64\n".to_string()
            } else if args.iter().any(|a| a == "-r") {
                "6.6.0\n".to_string()
            } else {
                "Linux\n".to_string()
            };
            sh.write(1, &t);
            Status(0)
        }
        "id" => id(sh, args),
        "whoami" => whoami(sh),
        "which" => {
            let mut st = 0;
            for a in args {
                if sh.binaries.contains(a) {
                    sh.write(1, &format!("/bin/{a}\n"));
                } else {
                    st = 1;
                }
            }
            Status(st)
        }
        "ls" => fileutils::ls(sh, args),
        "mkdir" => fileutils::mkdir(sh, args),
        "rmdir" => fileutils::rmdir(sh, args),
        "touch" => fileutils::touch(sh, args),
        "rm" => fileutils::rm(sh, args),
        "cp" | "mv" => fileutils::cp_mv(sh, argv),
        // Anything else the image has is a long-running program the simulator does not
        // model (a server such as nginx): it runs silently until killed.
        _ => Outcome::Forever,
    }
}

/// The name `/etc/passwd` (or `/etc/group`) of the images gives an ID: the images know
/// root and nobody; any other ID a security context picks has no entry.
fn user_name(uid: i64) -> Option<&'static str> {
    match uid {
        0 => Some("root"),
        65534 => Some("nobody"),
        _ => None,
    }
}

fn group_name(gid: i64) -> Option<&'static str> {
    match gid {
        0 => Some("root"),
        65534 => Some("nogroup"),
        _ => None,
    }
}

fn with_name(id: i64, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{id}({n})"),
        None => id.to_string(),
    }
}

/// `id`, `id -u`, `id -g`, `id -G` for the process's user (see [`crate::Credentials`]).
fn id(sh: &mut Shell, args: &[String]) -> Outcome {
    let Some(c) = sh.user.clone() else {
        let t = match args.first().map(String::as_str) {
            Some("-u" | "-g") => "0\n",
            Some("-G") => "0 10\n",
            _ => "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n",
        };
        sh.write(1, t);
        return Status(0);
    };
    let t = match args.first().map(String::as_str) {
        Some("-u") => format!("{}\n", c.uid),
        Some("-g") => format!("{}\n", c.gid),
        Some("-G") => {
            let g: Vec<String> = c.groups.iter().map(i64::to_string).collect();
            format!("{}\n", g.join(" "))
        }
        _ => {
            let groups: Vec<String> = c
                .groups
                .iter()
                .map(|g| with_name(*g, group_name(*g)))
                .collect();
            format!(
                "uid={} gid={} groups={}\n",
                with_name(c.uid, user_name(c.uid)),
                with_name(c.gid, group_name(c.gid)),
                groups.join(",")
            )
        }
    };
    sh.write(1, &t);
    Status(0)
}

/// `whoami`: a user ID without a passwd entry has no name to print; busybox and GNU
/// coreutils say so in their own words.
fn whoami(sh: &mut Shell) -> Outcome {
    let uid = sh.user.as_ref().map_or(0, |c| c.uid);
    match user_name(uid) {
        Some(n) => {
            sh.write(1, &format!("{n}\n"));
            Status(0)
        }
        None => {
            let msg = if sh.binaries.contains("busybox") {
                format!("whoami: unknown uid {uid}\n")
            } else {
                format!("whoami: cannot find name for user ID {uid}\n")
            };
            sh.write(2, &msg);
            Status(1)
        }
    }
}

fn usage(sh: &mut Shell, text: &str) -> Outcome {
    sh.write(2, &format!("Usage: {text}\n"));
    Status(1)
}

/// Backslash escapes of `echo -e` and `printf` formats; `None` in the result means `\c`
/// (stop all output).
fn unescape(s: &str, out: &mut String) -> bool {
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        i += 1;
        if c != '\\' || i >= cs.len() {
            out.push(c);
            continue;
        }
        let e = cs[i];
        i += 1;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            'e' => out.push('\x1b'),
            '\\' => out.push('\\'),
            'c' => return false,
            '0'..='7' => {
                let mut v: u32 = 0;
                let mut n = 0;
                let mut j = i - 1;
                if e == '0' {
                    j = i;
                }
                while n < 3 && j < cs.len() && ('0'..='7').contains(&cs[j]) {
                    v = v * 8 + cs[j].to_digit(8).unwrap_or(0);
                    j += 1;
                    n += 1;
                }
                i = j;
                out.push(char::from_u32(v & 0xff).unwrap_or('?'));
            }
            'x' => {
                let mut v: u32 = 0;
                let mut n = 0;
                while n < 2 && i < cs.len() && cs[i].is_ascii_hexdigit() {
                    v = v * 16 + cs[i].to_digit(16).unwrap_or(0);
                    i += 1;
                    n += 1;
                }
                if n == 0 {
                    out.push_str("\\x");
                } else {
                    out.push(char::from_u32(v).unwrap_or('?'));
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    true
}

/// busybox `echo` (coreutils/echo.c): `-n`, `-e`, `-E`; no escapes by default.
fn echo(sh: &mut Shell, args: &[String]) -> Outcome {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let Some(flags) = a.strip_prefix('-') else {
            break;
        };
        if flags.is_empty() || !flags.chars().all(|c| matches!(c, 'n' | 'e' | 'E')) {
            break;
        }
        for c in flags.chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => escapes = false,
            }
        }
        i += 1;
    }
    let text = args[i..].join(" ");
    let mut out = String::new();
    if escapes {
        if !unescape(&text, &mut out) {
            sh.write(1, &out);
            return Status(0);
        }
    } else {
        out = text;
    }
    if newline {
        out.push('\n');
    }
    sh.write(1, &out);
    Status(0)
}

fn printf(sh: &mut Shell, args: &[String]) -> Outcome {
    let Some(fmt) = args.first() else {
        return usage(sh, "printf FORMAT [ARGUMENT]...");
    };
    let mut rest = args[1..].iter();
    let mut out = String::new();
    let mut status = 0;
    let fcs: Vec<char> = fmt.chars().collect();
    loop {
        let before = rest.len();
        let mut i = 0;
        while i < fcs.len() {
            let c = fcs[i];
            if c == '\\' {
                let j = (i + escape_len(&fcs[i..])).min(fcs.len());
                let seg: String = fcs[i..j].iter().collect();
                let mut tmp = String::new();
                if !unescape(&seg, &mut tmp) {
                    out.push_str(&tmp);
                    sh.write(1, &out);
                    return Status(status);
                }
                out.push_str(&tmp);
                i = j;
                continue;
            }
            if c != '%' {
                out.push(c);
                i += 1;
                continue;
            }
            i += 1;
            if fcs.get(i) == Some(&'%') {
                out.push('%');
                i += 1;
                continue;
            }
            let mut flags = String::new();
            while let Some(f) = fcs.get(i).filter(|f| "-+ #0".contains(**f)) {
                flags.push(*f);
                i += 1;
            }
            let mut width = String::new();
            while let Some(d) = fcs.get(i).filter(|d| d.is_ascii_digit()) {
                width.push(*d);
                i += 1;
            }
            let mut prec: Option<usize> = None;
            if fcs.get(i) == Some(&'.') {
                i += 1;
                let mut p = String::new();
                while let Some(d) = fcs.get(i).filter(|d| d.is_ascii_digit()) {
                    p.push(*d);
                    i += 1;
                }
                prec = Some(p.parse().unwrap_or(0));
            }
            let Some(conv) = fcs.get(i).copied() else {
                out.push('%');
                break;
            };
            i += 1;
            let arg = rest.next().cloned();
            let body = match conv {
                's' => {
                    let mut s = arg.unwrap_or_default();
                    if let Some(p) = prec {
                        s = s.chars().take(p).collect();
                    }
                    s
                }
                'b' => {
                    let mut s = String::new();
                    unescape(&arg.unwrap_or_default(), &mut s);
                    s
                }
                'c' => arg
                    .and_then(|a| a.chars().next())
                    .map(String::from)
                    .unwrap_or_default(),
                'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
                    let a = arg.unwrap_or_default();
                    let v = match parse_int(&a) {
                        Some(v) => v,
                        None => {
                            sh.write(2, &format!("printf: invalid number '{a}'\n"));
                            status = 1;
                            0
                        }
                    };
                    let mut s = match conv {
                        'x' => format!("{v:x}"),
                        'X' => format!("{v:X}"),
                        'o' => format!("{v:o}"),
                        _ => {
                            if flags.contains('+') && v >= 0 {
                                format!("+{v}")
                            } else {
                                v.to_string()
                            }
                        }
                    };
                    if let Some(p) = prec {
                        while s.trim_start_matches('-').len() < p && s.len() < 4096 {
                            s.insert(usize::from(s.starts_with('-')), '0');
                        }
                    }
                    s
                }
                'f' | 'e' | 'g' | 'E' | 'G' => {
                    let a = arg.unwrap_or_default();
                    let v: f64 = a.trim().parse().unwrap_or_else(|_| {
                        if !a.is_empty() {
                            status = 1;
                        }
                        0.0
                    });
                    let p = prec.unwrap_or(6).min(60);
                    match conv {
                        'e' | 'E' => format!("{v:.p$e}"),
                        'g' | 'G' => format!("{v}"),
                        _ => format!("{v:.p$}"),
                    }
                }
                other => {
                    sh.write(2, &format!("printf: %{other}: invalid format\n"));
                    sh.write(1, &out);
                    return Status(1);
                }
            };
            let w: usize = width.parse::<usize>().unwrap_or(0).min(4096);
            let len = body.chars().count();
            if len < w {
                let pad = w - len;
                if flags.contains('-') {
                    out.push_str(&body);
                    out.extend(std::iter::repeat_n(' ', pad));
                } else if flags.contains('0') && conv != 's' {
                    let (sign, digits) = match body.strip_prefix('-') {
                        Some(d) => ("-", d.to_string()),
                        None => ("", body.clone()),
                    };
                    out.push_str(sign);
                    out.extend(std::iter::repeat_n('0', pad));
                    out.push_str(&digits);
                } else {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(&body);
                }
            } else {
                out.push_str(&body);
            }
            if out.len() > MAX_TEXT {
                break;
            }
        }
        if rest.len() == 0 || rest.len() == before || out.len() > MAX_TEXT {
            break;
        }
    }
    out.truncate(floor_boundary(&out, MAX_TEXT));
    sh.write(1, &out);
    Status(status)
}

/// Length of the escape sequence at the start of `cs` (which begins with a backslash).
fn escape_len(cs: &[char]) -> usize {
    match cs.get(1) {
        None => 1,
        Some('0') => {
            2 + cs[2..]
                .iter()
                .take(3)
                .take_while(|c| ('0'..='7').contains(*c))
                .count()
        }
        Some('1'..='7') => {
            1 + cs[1..]
                .iter()
                .take(3)
                .take_while(|c| ('0'..='7').contains(*c))
                .count()
        }
        Some('x') => {
            2 + cs[2..]
                .iter()
                .take(2)
                .take_while(|c| c.is_ascii_hexdigit())
                .count()
        }
        Some(_) => 2,
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(c) = t.strip_prefix('\'').or_else(|| t.strip_prefix('"')) {
        return Some(c.chars().next().map_or(0, |c| c as i64));
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

// ---------------------------------------------------------------- test

struct Test<'a> {
    args: &'a [String],
    pos: usize,
    sh: &'a Shell,
    err: Option<String>,
}

const BINOPS: &[&str] = &[
    "=", "==", "!=", "-eq", "-ne", "-gt", "-lt", "-ge", "-le", "<", ">",
];
const UNOPS: &[&str] = &[
    "-z", "-n", "-f", "-e", "-d", "-s", "-r", "-w", "-x", "-L", "-h", "-t", "-b", "-c", "-p", "-S",
];

impl Test<'_> {
    fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }

    fn or(&mut self) -> bool {
        let mut v = self.and();
        while self.arg(self.pos) == Some("-o") {
            self.pos += 1;
            let r = self.and();
            v = v || r;
        }
        v
    }

    fn and(&mut self) -> bool {
        let mut v = self.not();
        while self.arg(self.pos) == Some("-a") {
            self.pos += 1;
            let r = self.not();
            v = v && r;
        }
        v
    }

    fn not(&mut self) -> bool {
        if self.arg(self.pos) == Some("!") && self.pos + 1 < self.args.len() {
            self.pos += 1;
            return !self.not();
        }
        self.primary()
    }

    fn num(&mut self, s: &str) -> i64 {
        let t = s.trim();
        match t.parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                if self.err.is_none() {
                    self.err = Some(format!("{s}: bad number"));
                }
                0
            }
        }
    }

    fn primary(&mut self) -> bool {
        let Some(a) = self.arg(self.pos).map(str::to_string) else {
            if self.err.is_none() {
                self.err = Some("argument expected".into());
            }
            return false;
        };
        if a == "(" && self.pos + 2 < self.args.len() + 1 {
            if let Some(op) = self.arg(self.pos + 2).filter(|o| BINOPS.contains(o)) {
                // `( = x` style: treat "(" as a string operand.
                let _ = op;
            } else {
                self.pos += 1;
                let v = self.or();
                if self.arg(self.pos) == Some(")") {
                    self.pos += 1;
                } else if self.err.is_none() {
                    self.err = Some("closing paren expected".into());
                }
                return v;
            }
        }
        if let (Some(op), Some(b)) = (self.arg(self.pos + 1), self.arg(self.pos + 2))
            && BINOPS.contains(&op)
        {
            let (op, b) = (op.to_string(), b.to_string());
            self.pos += 3;
            return match op.as_str() {
                "=" | "==" => a == b,
                "!=" => a != b,
                "<" => a < b,
                ">" => a > b,
                _ => {
                    let (x, y) = (self.num(&a), self.num(&b));
                    match op.as_str() {
                        "-eq" => x == y,
                        "-ne" => x != y,
                        "-gt" => x > y,
                        "-lt" => x < y,
                        "-ge" => x >= y,
                        _ => x <= y,
                    }
                }
            };
        }
        if UNOPS.contains(&a.as_str())
            && let Some(v) = self.arg(self.pos + 1).map(str::to_string)
        {
            self.pos += 2;
            let sh = self.sh;
            return match a.as_str() {
                "-z" => v.is_empty(),
                "-n" => !v.is_empty(),
                "-f" => sh.file_exists(&v),
                "-d" => sh.dir_exists(&v),
                "-e" | "-r" | "-w" => sh.file_exists(&v) || sh.dir_exists(&v),
                "-s" => sh.fs.size(&sh.abs(&v)).is_some_and(|n| n > 0),
                "-x" => {
                    let base = v.rsplit('/').next().unwrap_or_default();
                    sh.binaries.contains(base) || sh.dir_exists(&v)
                }
                _ => false,
            };
        }
        self.pos += 1;
        !a.is_empty()
    }
}

/// `test` / `[` (coreutils/test.c).
fn test(sh: &mut Shell, args: &[String]) -> Outcome {
    if args.is_empty() {
        return Status(1);
    }
    let mut t = Test {
        args,
        pos: 0,
        sh,
        err: None,
    };
    let v = t.or();
    if t.err.is_none() && t.pos < args.len() {
        t.err = Some(format!("{}: unknown operand", args[t.pos]));
    }
    if let Some(e) = t.err {
        sh.write(2, &format!("sh: {e}\n"));
        return Status(2);
    }
    Status(i32::from(!v))
}

// ---------------------------------------------------------------- files

/// Reads `path` (or stdin for `-`), reporting like `open_or_warn_stdin()`.
fn read_input(sh: &mut Shell, applet: &str, path: &str) -> Option<String> {
    if path == "-" {
        return Some(sh.take_stdin());
    }
    if path == "/dev/null" {
        return Some(String::new());
    }
    if let Some(t) = sh.read_file(path) {
        return Some(t);
    }
    if sh.dir_exists(path) {
        sh.write(2, &format!("{applet}: read error: Is a directory\n"));
    } else {
        sh.write(
            2,
            &format!("{applet}: can't open '{path}': No such file or directory\n"),
        );
    }
    None
}

fn cat(sh: &mut Shell, args: &[String]) -> Outcome {
    let mut files: Vec<&str> = args
        .iter()
        .filter(|a| *a == "-" || !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    if files.is_empty() {
        files.push("-");
    }
    let mut st = 0;
    for f in files {
        // Bytes as they are: `cat` of a binary file (or a tar stream) is copied exactly.
        let bytes = if f == "-" {
            Some(sh.take_stdin_bytes())
        } else {
            sh.fs.read(&sh.abs(f))
        };
        match bytes {
            Some(b) => sh.write_bytes(1, &b),
            None => match read_input(sh, "cat", f) {
                Some(t) => sh.write(1, &t),
                None => st = 1,
            },
        }
    }
    Status(st)
}

/// busybox `sleep` (coreutils/sleep.c): each argument is `N[.N][smhd]` or `inf…`, summed.
fn sleep(sh: &mut Shell, args: &[String]) -> Outcome {
    if args.is_empty() {
        return usage(sh, "sleep [N]...");
    }
    let mut total = Duration::ZERO;
    for a in args {
        if a.len() >= 3 && a[..3].eq_ignore_ascii_case("inf") {
            return Outcome::Forever;
        }
        let (num, mult) = match a.chars().last() {
            Some('s') => (&a[..a.len() - 1], 1.0),
            Some('m') => (&a[..a.len() - 1], 60.0),
            Some('h') => (&a[..a.len() - 1], 3600.0),
            Some('d') => (&a[..a.len() - 1], 86400.0),
            _ => (a.as_str(), 1.0),
        };
        let ok = !num.is_empty()
            && num.chars().all(|c| c.is_ascii_digit() || c == '.')
            && num.chars().filter(|c| *c == '.').count() <= 1
            && num != ".";
        let v: Option<f64> = if ok { num.parse().ok() } else { None };
        let Some(v) = v else {
            sh.write(2, &format!("sleep: invalid number '{a}'\n"));
            return Status(1);
        };
        let d = Duration::try_from_secs_f64(v * mult).unwrap_or(Duration::MAX);
        total = total.saturating_add(d);
    }
    if total == Duration::MAX {
        return Outcome::Forever;
    }
    Outcome::Sleep(total, 0)
}

fn env(sh: &mut Shell, args: &[String]) -> Outcome {
    let mut i = 0;
    let mut clear = false;
    while let Some(a) = args.get(i) {
        if a == "-i" || a == "-" {
            clear = true;
        } else if a == "-u" {
            i += 1;
            if let Some(n) = args.get(i) {
                sh.exported.remove(n);
            }
        } else if let Some((n, v)) = a.split_once('=') {
            sh.set_var(n, v);
            sh.exported.insert(n.to_string());
        } else {
            break;
        }
        i += 1;
    }
    if clear {
        sh.exported.retain(|k| {
            args.iter()
                .any(|a| a.split_once('=').is_some_and(|(n, _)| n == k))
        });
    }
    if i < args.len() {
        return Outcome::Run(args[i..].to_vec());
    }
    let lines: String = sh
        .exported
        .iter()
        .filter_map(|k| sh.vars.get(k).map(|v| format!("{k}={v}\n")))
        .collect();
    sh.write(1, &lines);
    Status(0)
}

fn printenv(sh: &mut Shell, args: &[String]) -> Outcome {
    if args.is_empty() {
        return env(sh, &[]);
    }
    let mut st = 0;
    for n in args {
        match sh.vars.get(n).filter(|_| sh.exported.contains(n)).cloned() {
            Some(v) => sh.write(1, &format!("{v}\n")),
            None => st = 1,
        }
    }
    Status(st)
}

// ---------------------------------------------------------------- date

fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn date(sh: &mut Shell, args: &[String]) -> Outcome {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = sh.now_unix;
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    let wd = (days + 4).rem_euclid(7) as usize;
    let fmt = args
        .iter()
        .find_map(|a| a.strip_prefix('+'))
        .unwrap_or("%a %b %e %H:%M:%S %Z %Y")
        .to_string();
    let mut out = String::new();
    let mut cs = fmt.chars();
    while let Some(c) = cs.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match cs.next() {
            Some('Y') => out.push_str(&y.to_string()),
            Some('y') => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('e') => out.push_str(&format!("{d:2}")),
            Some('H') => out.push_str(&format!("{hh:02}")),
            Some('M') => out.push_str(&format!("{mm:02}")),
            Some('S') => out.push_str(&format!("{ss:02}")),
            Some('s') => out.push_str(&t.to_string()),
            Some('a') => out.push_str(DAYS[wd]),
            Some('b') | Some('h') => out.push_str(MONTHS[(m as usize + 11) % 12]),
            Some('Z') => out.push_str("UTC"),
            Some('z') => out.push_str("+0000"),
            Some('F') => out.push_str(&format!("{y}-{m:02}-{d:02}")),
            Some('T') => out.push_str(&format!("{hh:02}:{mm:02}:{ss:02}")),
            Some('n') => out.push('\n'),
            Some('%') => out.push('%'),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out.push('\n');
    sh.write(1, &out);
    Status(0)
}

// ---------------------------------------------------------------- text tools

fn head_tail(sh: &mut Shell, args: &[String], head: bool) -> Outcome {
    let name = if head { "head" } else { "tail" };
    let mut n: usize = 10;
    let mut follow = false;
    // `-c`: count bytes, not lines; `+N` (tail): start at the Nth line or byte.
    let mut bytes = false;
    let mut from_start = false;
    let mut files = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "-f" || a == "-F" {
            follow = true;
        } else if let Some(v) = a.strip_prefix("-c").filter(|v| !v.is_empty()) {
            bytes = true;
            from_start = v.starts_with('+');
            n = v.trim_start_matches(['+', '-']).parse().unwrap_or(n);
        } else if a == "-n" || a == "-c" {
            bytes = a == "-c";
            let v = args.get(i).cloned().unwrap_or_default();
            i += 1;
            from_start = v.starts_with('+');
            match v.trim_start_matches(['+', '-']).parse() {
                Ok(v) => n = v,
                Err(_) => {
                    sh.write(2, &format!("{name}: invalid number '{v}'\n"));
                    return Status(1);
                }
            }
        } else if let Some(v) = a.strip_prefix("-n").filter(|v| !v.is_empty()) {
            n = v.parse().unwrap_or(n);
        } else if let Some(v) = a
            .strip_prefix('-')
            .filter(|v| v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty())
        {
            n = v.parse().unwrap_or(n);
        } else if a.starts_with('-') && a.len() > 1 {
            if a.contains('f') {
                follow = true;
            }
        } else {
            files.push(a.clone());
        }
    }
    if files.is_empty() {
        files.push("-".into());
    }
    let mut st = 0;
    let multi = files.len() > 1;
    for (k, f) in files.iter().enumerate() {
        let Some(text) = read_input(sh, name, f) else {
            st = 1;
            continue;
        };
        if multi {
            sh.write(
                1,
                &format!("{}==> {f} <==\n", if k > 0 { "\n" } else { "" }),
            );
        }
        if bytes {
            let b = text.as_bytes();
            let sel = if head {
                &b[..n.min(b.len())]
            } else if from_start {
                &b[n.saturating_sub(1).min(b.len())..]
            } else {
                &b[b.len().saturating_sub(n)..]
            };
            sh.write_bytes(1, sel);
            continue;
        }
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let sel = if head {
            &lines[..n.min(lines.len())]
        } else if from_start {
            &lines[n.saturating_sub(1).min(lines.len())..]
        } else {
            &lines[lines.len().saturating_sub(n)..]
        };
        let s: String = sel.concat();
        sh.write(1, &s);
    }
    if follow && !head {
        return Outcome::Forever;
    }
    Status(st)
}

fn wc(sh: &mut Shell, args: &[String]) -> Outcome {
    let flags: String = args
        .iter()
        .filter(|a| a.starts_with('-') && a.len() > 1)
        .map(|a| &a[1..])
        .collect();
    let mut files: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with('-') || *a == "-")
        .cloned()
        .collect();
    let named = !files.is_empty();
    if files.is_empty() {
        files.push("-".into());
    }
    let (l, w, c) = (
        flags.contains('l'),
        flags.contains('w'),
        flags.contains('c') || flags.contains('m'),
    );
    let all = !(l || w || c);
    let mut st = 0;
    for f in files {
        let Some(t) = read_input(sh, "wc", &f) else {
            st = 1;
            continue;
        };
        let mut cols = Vec::new();
        if l || all {
            cols.push(t.matches('\n').count());
        }
        if w || all {
            cols.push(t.split_whitespace().count());
        }
        if c || all {
            cols.push(t.len());
        }
        let mut line = if cols.len() == 1 && !named {
            cols[0].to_string()
        } else {
            cols.iter()
                .map(|v| format!("{v:>7}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if named {
            line.push(' ');
            line.push_str(&f);
        }
        line.push('\n');
        sh.write(1, &line);
    }
    Status(st)
}

fn seq(sh: &mut Shell, args: &[String]) -> Outcome {
    let mut sep = "\n".to_string();
    let mut nums = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "-s" {
            sep = args.get(i).cloned().unwrap_or_default();
            i += 1;
        } else if a == "-w" {
        } else {
            match a.parse::<i64>() {
                Ok(v) => nums.push(v),
                Err(_) => {
                    sh.write(2, &format!("seq: invalid number '{a}'\n"));
                    return Status(1);
                }
            }
        }
    }
    let (first, step, last) = match nums.as_slice() {
        [l] => (1, 1, *l),
        [f, l] => (*f, 1, *l),
        [f, s, l] => (*f, *s, *l),
        _ => return usage(sh, "seq [-w] [-s SEP] [FIRST [INC]] LAST"),
    };
    if step == 0 {
        return Status(1);
    }
    let mut run = SeqRun {
        next: Some(first),
        step,
        last,
        sep,
        started: false,
    };
    let chunk = run.chunk();
    sh.write(1, &chunk);
    if run.next.is_some() {
        // More than one chunk: the rest streams (no cap, like the real applet).
        return Outcome::Seq(run);
    }
    Status(0)
}

/// A `seq` in progress: the next number, and whether one was printed yet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeqRun {
    next: Option<i64>,
    step: i64,
    last: i64,
    sep: String,
    started: bool,
}

impl SeqRun {
    pub(crate) fn is_running(&self) -> bool {
        self.next.is_some()
    }

    /// Up to one output chunk of numbers; `next` becomes `None` after the last one (whose
    /// line the chunk ends).
    pub(crate) fn chunk(&mut self) -> String {
        let mut out = String::new();
        while let Some(v) = self.next {
            if !((self.step > 0 && v <= self.last) || (self.step < 0 && v >= self.last)) {
                self.next = None;
                break;
            }
            if out.len() + self.sep.len() + 24 > super::machine::MAX_CHUNK {
                return out;
            }
            if self.started {
                out.push_str(&self.sep);
            }
            self.started = true;
            out.push_str(&v.to_string());
            self.next = v.checked_add(self.step);
        }
        if self.started {
            out.push('\n');
        }
        out
    }
}

/// busybox `expr` (coreutils/expr.c), without the `:` regex operator.
fn expr(sh: &mut Shell, args: &[String]) -> Outcome {
    struct E<'a> {
        a: &'a [String],
        p: usize,
        err: Option<&'static str>,
        depth: usize,
    }
    fn int(s: &str) -> Option<i64> {
        s.trim().parse().ok()
    }
    impl E<'_> {
        fn peek(&self) -> Option<&str> {
            self.a.get(self.p).map(String::as_str)
        }
        fn fail(&mut self, m: &'static str) -> String {
            if self.err.is_none() {
                self.err = Some(m);
            }
            String::new()
        }
        fn or(&mut self) -> String {
            let mut l = self.and();
            while self.peek() == Some("|") {
                self.p += 1;
                let r = self.and();
                if l.is_empty() || l == "0" {
                    l = if r.is_empty() { "0".into() } else { r };
                }
            }
            l
        }
        fn and(&mut self) -> String {
            let mut l = self.cmp();
            while self.peek() == Some("&") {
                self.p += 1;
                let r = self.cmp();
                if l.is_empty() || l == "0" || r.is_empty() || r == "0" {
                    l = "0".into();
                }
            }
            l
        }
        fn cmp(&mut self) -> String {
            let mut l = self.add();
            while let Some(op) = self
                .peek()
                .filter(|o| ["=", "!=", "<", ">", "<=", ">="].contains(o))
            {
                let op = op.to_string();
                self.p += 1;
                let r = self.add();
                let ord = match (int(&l), int(&r)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    _ => l.cmp(&r),
                };
                let v = match op.as_str() {
                    "=" => ord.is_eq(),
                    "!=" => ord.is_ne(),
                    "<" => ord.is_lt(),
                    ">" => ord.is_gt(),
                    "<=" => ord.is_le(),
                    _ => ord.is_ge(),
                };
                l = i32::from(v).to_string();
            }
            l
        }
        fn add(&mut self) -> String {
            let mut l = self.mul();
            while let Some(op) = self.peek().filter(|o| *o == "+" || *o == "-") {
                let plus = op == "+";
                self.p += 1;
                let r = self.mul();
                let (Some(x), Some(y)) = (int(&l), int(&r)) else {
                    return self.fail("non-numeric argument");
                };
                l = if plus {
                    x.wrapping_add(y)
                } else {
                    x.wrapping_sub(y)
                }
                .to_string();
            }
            l
        }
        fn mul(&mut self) -> String {
            let mut l = self.prim();
            while let Some(op) = self.peek().filter(|o| ["*", "/", "%"].contains(o)) {
                let op = op.to_string();
                self.p += 1;
                let r = self.prim();
                let (Some(x), Some(y)) = (int(&l), int(&r)) else {
                    return self.fail("non-numeric argument");
                };
                if op != "*" && y == 0 {
                    return self.fail("division by zero");
                }
                l = match op.as_str() {
                    "*" => x.wrapping_mul(y),
                    "/" => x.wrapping_div(y),
                    _ => x.wrapping_rem(y),
                }
                .to_string();
            }
            l
        }
        fn prim(&mut self) -> String {
            self.depth += 1;
            if self.depth > 64 {
                return self.fail("syntax error");
            }
            let Some(t) = self.peek().map(str::to_string) else {
                return self.fail("syntax error");
            };
            self.p += 1;
            let v = match t.as_str() {
                "(" => {
                    let v = self.or();
                    if self.peek() != Some(")") {
                        return self.fail("syntax error");
                    }
                    self.p += 1;
                    v
                }
                "length" => {
                    let s = self.prim();
                    s.chars().count().to_string()
                }
                _ => t,
            };
            self.depth -= 1;
            v
        }
    }
    if args.is_empty() {
        return usage(sh, "expr EXPRESSION");
    }
    let mut e = E {
        a: args,
        p: 0,
        err: None,
        depth: 0,
    };
    let v = e.or();
    if e.err.is_none() && e.p < args.len() {
        e.err = Some("syntax error");
    }
    if let Some(m) = e.err {
        sh.write(2, &format!("expr: {m}\n"));
        return Status(2);
    }
    sh.write(1, &format!("{v}\n"));
    Status(i32::from(v.is_empty() || v == "0"))
}

/// `grep` with fixed strings (plus `^`/`$` anchors and `-E` alternatives).
fn grep(sh: &mut Shell, args: &[String]) -> Outcome {
    let (mut inv, mut icase, mut count, mut quiet, mut num, mut ext, mut only_name) =
        (false, false, false, false, false, false, false);
    let mut pats: Vec<String> = Vec::new();
    let mut files = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "-e" {
            pats.extend(args.get(i).cloned());
            i += 1;
        } else if a.starts_with('-') && a.len() > 1 {
            for c in a[1..].chars() {
                match c {
                    'v' => inv = true,
                    'i' => icase = true,
                    'c' => count = true,
                    'q' | 's' => quiet = true,
                    'n' => num = true,
                    'E' => ext = true,
                    'l' => only_name = true,
                    _ => {}
                }
            }
        } else if pats.is_empty() && files.is_empty() {
            pats.push(a.clone());
        } else {
            files.push(a.clone());
        }
    }
    if pats.is_empty() {
        return usage(sh, "grep [-vicqnEl] PATTERN [FILE]...");
    }
    let alts: Vec<String> = pats
        .iter()
        .flat_map(|p| {
            if ext {
                p.split('|').map(str::to_string).collect()
            } else {
                vec![p.clone()]
            }
        })
        .map(|p| if icase { p.to_lowercase() } else { p })
        .collect();
    let matches = |line: &str| {
        let l = if icase {
            line.to_lowercase()
        } else {
            line.to_string()
        };
        alts.iter().any(|p| {
            let (start, p) = match p.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, p.as_str()),
            };
            let (end, p) = match p.strip_suffix('$') {
                Some(r) => (true, r),
                None => (false, p),
            };
            match (start, end) {
                (true, true) => l == p,
                (true, false) => l.starts_with(p),
                (false, true) => l.ends_with(p),
                _ => l.contains(p),
            }
        })
    };
    let named = !files.is_empty();
    if files.is_empty() {
        files.push("-".into());
    }
    let multi = files.len() > 1;
    let mut found = false;
    let mut err = false;
    for f in &files {
        let Some(text) = (if f == "-" || sh.file_exists(f) {
            read_input(sh, "grep", f)
        } else {
            sh.write(2, &format!("grep: {f}: No such file or directory\n"));
            None
        }) else {
            err = true;
            continue;
        };
        let mut n = 0;
        let mut out = String::new();
        for (k, line) in text.lines().enumerate() {
            if matches(line) != inv {
                n += 1;
                if !count && !quiet && !only_name {
                    if multi {
                        out.push_str(f);
                        out.push(':');
                    }
                    if num {
                        out.push_str(&format!("{}:", k + 1));
                    }
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        found |= n > 0;
        if quiet {
            continue;
        }
        if count {
            out = if multi {
                format!("{f}:{n}\n")
            } else {
                format!("{n}\n")
            };
        } else if only_name && n > 0 {
            out = format!(
                "{}\n",
                if named {
                    f.as_str()
                } else {
                    "(standard input)"
                }
            );
        }
        sh.write(1, &out);
    }
    Status(if found && (quiet || !err) {
        0
    } else if err {
        2
    } else {
        1
    })
}

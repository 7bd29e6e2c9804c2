//! The busybox applets that change the container's filesystem (`touch`, `rm`, `mkdir`,
//! `rmdir`, `cp`, `mv`, `tee`), list it (`ls`) and archive it (`tar`), plus which applets
//! read stdin, so that the interpreter can hold them until the input they need arrives.
//!
//! Texts follow busybox: `rm` (coreutils/rm.c → libbb `remove_file()`: `"can't remove
//! '%s'"`), `mkdir` (libbb `bb_make_directory()`: `"can't create directory '%s'"`),
//! `rmdir` (`"'%s'"` with the errno text), `touch` (the path, then the errno text); every
//! message is `"<applet>: "` then the text, then `": <strerror>"` where there is one.
//! `ls` (coreutils/ls.c) prints one name per line, or on a terminal busybox's colored
//! columns laid out to the terminal's width.
//!
//! `tar` (archival/tar.c): `c`, `x`, `t` with `-f FILE|-`, `-C DIR`, `-O`, `-v`, `-m`,
//! `-o`, `--no-same-owner`, `--no-same-permissions`, `--overwrite`. Archives are written
//! as busybox writes them: GNU headers (`ustar  ` magic), octal fields, directories with
//! typeflag `5` and a trailing `/`, names longer than 100 bytes in a `././@LongLink` entry,
//! leading `/` stripped with `"removing leading '/' from member names"`, two zero blocks
//! at the end. Reading accepts ustar, GNU and PAX (`path` records) headers, which is what
//! Go's `archive/tar` writes for `kubectl cp`.

use std::collections::BTreeSet;

use super::applets::Outcome::{self, Status};
use super::fs;
use super::machine::{Out, Shell, Want};

const BLOCK: usize = 512;

/// Splits `args` into operands, skipping options and the values of `valued` options.
fn operands<'a>(args: &'a [String], valued: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "-" || !a.starts_with('-') {
            out.push(a.as_str());
        } else if valued.contains(&a.as_str()) {
            i += 1;
        }
    }
    out
}

/// Whether applet `argv[0]` reads the process's stdin, and how much it needs before it
/// can run: the text tools read to end-of-file.
pub(crate) fn reads_stdin(argv: &[String]) -> Option<Want> {
    let args = argv.get(1..).unwrap_or_default();
    let files_read_stdin = |files: &[&str]| files.is_empty() || files.contains(&"-");
    let stdin = match argv.first().map(String::as_str)? {
        "cat" => !cat_streams(argv) && operands(args, &[]).contains(&"-"),
        "head" | "tail" => {
            let follow = args.iter().any(|a| a == "-f" || a == "-F");
            !follow && files_read_stdin(&operands(args, &["-n", "-c"]))
        }
        "wc" => files_read_stdin(&operands(args, &[])),
        "tee" => true,
        "grep" => {
            let ops = operands(args, &["-e", "-f", "-m", "-A", "-B", "-C"]);
            let has_e = args.iter().any(|a| a == "-e");
            let files = if has_e {
                &ops[..]
            } else {
                ops.get(1..).unwrap_or_default()
            };
            files_read_stdin(files)
        }
        "tar" => TarOpts::parse(args).is_ok_and(|o| o.mode != 'c' && o.file == "-"),
        _ => false,
    };
    stdin.then_some(Want::Eof)
}

/// `cat` with no file (or only `-`): it copies stdin as it arrives.
pub(crate) fn cat_streams(argv: &[String]) -> bool {
    let ops = operands(argv.get(1..).unwrap_or_default(), &[]);
    ops.iter().all(|o| *o == "-") && ops.len() <= 1
}

pub(crate) fn touch(sh: &mut Shell, args: &[String]) -> Outcome {
    let mut st = 0;
    for a in operands(args, &["-d", "-r", "-t"]) {
        let p = sh.abs(a);
        if sh.fs.exists(&p) {
            continue;
        }
        if !sh.fs.is_dir(fs::parent(&p)) {
            sh.write(2, &format!("touch: {a}: No such file or directory\n"));
            st = 1;
        } else if let Err(e) = sh.fs.write(&p, b"") {
            sh.write(2, &format!("touch: {a}: {e}\n"));
            st = 1;
        }
    }
    Status(st)
}

pub(crate) fn rm(sh: &mut Shell, args: &[String]) -> Outcome {
    let flags: String = args
        .iter()
        .filter(|a| a.starts_with('-') && a.len() > 1)
        .flat_map(|a| a.chars().skip(1))
        .collect();
    let force = flags.contains('f');
    let recursive = flags.contains('r') || flags.contains('R');
    let mut st = 0;
    for a in operands(args, &[]) {
        let p = sh.abs(a);
        match sh.fs.remove_file(&p) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                sh.write(2, &format!("rm: can't remove '{a}': {e}\n"));
                st = 1;
                continue;
            }
        }
        if sh.fs.is_dir(&p) {
            if recursive {
                if let Err(e) = sh.fs.remove_tree(&p) {
                    sh.write(2, &format!("rm: can't remove '{a}': {e}\n"));
                    st = 1;
                }
                continue;
            }
            sh.write(2, &format!("rm: can't remove '{a}': Is a directory\n"));
            st = 1;
        } else if !force {
            sh.write(
                2,
                &format!("rm: can't remove '{a}': No such file or directory\n"),
            );
            st = 1;
        }
    }
    Status(st)
}

pub(crate) fn mkdir(sh: &mut Shell, args: &[String]) -> Outcome {
    let parents = args.iter().any(|a| a.starts_with('-') && a.contains('p'));
    let mut st = 0;
    for a in operands(args, &["-m"]) {
        let p = sh.abs(a);
        if let Err(e) = sh.fs.mkdir(&p, parents) {
            sh.write(2, &format!("mkdir: can't create directory '{a}': {e}\n"));
            st = 1;
        }
    }
    Status(st)
}

pub(crate) fn rmdir(sh: &mut Shell, args: &[String]) -> Outcome {
    let mut st = 0;
    for a in operands(args, &[]) {
        let p = sh.abs(a);
        let err = if !sh.fs.exists(&p) {
            Some("No such file or directory")
        } else if !sh.fs.is_dir(&p) {
            Some("Not a directory")
        } else if !sh.fs.list(&p).is_empty() {
            Some("Directory not empty")
        } else {
            None
        };
        if let Err(e) = err.map_or_else(|| sh.fs.remove_tree(&p), Err) {
            sh.write(2, &format!("rmdir: '{a}': {e}\n"));
            st = 1;
        }
    }
    Status(st)
}

pub(crate) fn cp_mv(sh: &mut Shell, argv: &[String]) -> Outcome {
    let name = argv[0].as_str();
    let ops = operands(&argv[1..], &[]);
    let [src, dst] = ops.as_slice() else {
        sh.write(2, "Usage: cp [-arPLHpfinlsTu] SOURCE DEST\n");
        return Status(1);
    };
    let sp = sh.abs(src);
    let Some(data) = sh.fs.read(&sp) else {
        sh.write(
            2,
            &format!("{name}: can't stat '{src}': No such file or directory\n"),
        );
        return Status(1);
    };
    let mut dp = sh.abs(dst);
    if sh.fs.is_dir(&dp) {
        let base = sp.rsplit('/').next().unwrap_or_default();
        dp = fs::normalize(&format!("{dp}/{base}"));
    }
    if !sh.fs.is_dir(fs::parent(&dp)) {
        sh.write(
            2,
            &format!("{name}: can't create '{dst}': No such file or directory\n"),
        );
        return Status(1);
    }
    if let Err(e) = sh.fs.write(&dp, &data) {
        sh.write(2, &format!("{name}: can't create '{dst}': {e}\n"));
        return Status(1);
    }
    if name == "mv"
        && dp != sp
        && let Err(e) = sh.fs.remove_file(&sp)
    {
        sh.write(2, &format!("mv: can't remove '{src}': {e}\n"));
        return Status(1);
    }
    Status(0)
}

pub(crate) fn tee(sh: &mut Shell, args: &[String]) -> Outcome {
    let input = sh.take_stdin_bytes();
    let append = args.iter().any(|a| a == "-a");
    let mut st = 0;
    for f in operands(args, &[]) {
        let p = sh.abs(f);
        let r = if append {
            sh.fs.append(&p, &input)
        } else if !sh.fs.is_dir(fs::parent(&p)) {
            sh.write(2, &format!("tee: {f}: No such file or directory\n"));
            st = 1;
            continue;
        } else {
            sh.fs.write(&p, &input)
        };
        if let Err(e) = r {
            sh.write(2, &format!("tee: {f}: {e}\n"));
            st = 1;
        }
    }
    sh.write_bytes(1, &input);
    Status(st)
}

pub(crate) fn ls(sh: &mut Shell, args: &[String]) -> Outcome {
    let flags: String = args
        .iter()
        .filter(|a| a.starts_with('-') && a.len() > 1)
        .flat_map(|a| a.chars().skip(1))
        .collect();
    let all = flags.contains('a') || flags.contains('A');
    let mut paths: Vec<&str> = operands(args, &[]);
    let pwd = sh.vars.get("PWD").cloned().unwrap_or_else(|| "/".into());
    if paths.is_empty() {
        paths.push(&pwd);
    }
    let multi = paths.len() > 1;
    // busybox ls on a terminal (stdout is the tty) prints columns, in color unless
    // LS_COLORS says "none" (FEATURE_LS_COLOR_IS_DEFAULT). Debian's GNU ls is not modelled
    // beyond one name per line.
    let tty = sh.live.tty
        && sh.fd1 == Out::Stdout
        && sh.has_binary("busybox")
        && !flags.contains('1')
        && !flags.contains('l');
    let color = tty
        && sh
            .vars
            .get("LS_COLORS")
            .is_none_or(|v| !v.is_empty() && v != "none");
    let width = sh.live.columns.saturating_sub(1);
    let mut st = 0;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for p in paths {
        let a = sh.abs(p);
        if sh.fs.is_file(&a) {
            files.push((p.to_string(), false));
        } else if sh.fs.is_dir(&a) {
            dirs.push((p.to_string(), a));
        } else {
            sh.write(2, &format!("ls: {p}: No such file or directory\n"));
            st = 1;
        }
    }
    files.sort();
    dirs.sort();
    // File operands first, then each directory, under a heading when more than one
    // operand was given.
    let mut out = if tty {
        columns(&files, width, color)
    } else {
        single(&files)
    };
    for (k, (p, a)) in dirs.iter().enumerate() {
        if multi {
            if k > 0 || !files.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{p}:\n"));
        }
        let entries: Vec<(String, bool)> = sh
            .fs
            .list(a)
            .into_iter()
            .filter(|(name, _)| all || !name.starts_with('.'))
            .collect();
        out.push_str(&if tty {
            columns(&entries, width, color)
        } else {
            single(&entries)
        });
    }
    sh.write(1, &out);
    Status(st)
}

fn single(entries: &[(String, bool)]) -> String {
    entries.iter().map(|(n, _)| format!("{n}\n")).collect()
}

/// busybox's `display_files()`: columns as wide as the longest name plus two, filled top
/// to bottom, as many as fit in `width`; directories bold blue when in color.
fn columns(entries: &[(String, bool)], width: usize, color: bool) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let col_width = entries
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let ncols = (width / col_width).max(1);
    let nrows = entries.len().div_ceil(ncols);
    let mut out = String::new();
    for row in 0..nrows {
        let mut column = 0;
        let mut nexttab = 0;
        for nc in 0..ncols {
            let Some((name, is_dir)) = entries.get(nc * nrows + row) else {
                continue;
            };
            if column > 0 {
                out.push_str(&" ".repeat(nexttab - column));
                column = nexttab;
            }
            nexttab = column + col_width;
            if color {
                out.push_str(if *is_dir { "\x1b[1;34m" } else { "\x1b[0;0m" });
            }
            out.push_str(name);
            if color {
                out.push_str("\x1b[m");
            }
            column += name.chars().count();
        }
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------- tar

/// The parsed command line of `tar`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TarOpts {
    mode: char,
    file: String,
    dir: Option<String>,
    verbose: bool,
    to_stdout: bool,
    paths: Vec<String>,
}

impl TarOpts {
    /// getopt-style parsing; the first argument may omit its `-` (`tar cf - /x`).
    fn parse(args: &[String]) -> Result<TarOpts, String> {
        let mut o = TarOpts {
            mode: ' ',
            file: "-".into(),
            dir: None,
            verbose: false,
            to_stdout: false,
            paths: Vec::new(),
        };
        let mut i = 0;
        let mut first = true;
        while let Some(a) = args.get(i) {
            i += 1;
            let cluster = if first && !a.starts_with('-') && !a.is_empty() {
                Some(a.as_str())
            } else if let Some(long) = a.strip_prefix("--") {
                let (k, v) = match long.split_once('=') {
                    Some((k, v)) => (k, Some(v.to_string())),
                    None => (long, None),
                };
                let mut value = || {
                    v.clone().or_else(|| {
                        i += 1;
                        args.get(i - 1).cloned()
                    })
                };
                match k {
                    "directory" => o.dir = value(),
                    "file" => o.file = value().unwrap_or_else(|| "-".into()),
                    "create" => o.mode = 'c',
                    "extract" | "get" => o.mode = 'x',
                    "list" => o.mode = 't',
                    "verbose" => o.verbose = true,
                    "to-stdout" => o.to_stdout = true,
                    "no-same-owner"
                    | "no-same-permissions"
                    | "overwrite"
                    | "touch"
                    | "numeric-owner"
                    | "no-recursion" => {}
                    _ => return Err(format!("unrecognized option '{a}'")),
                }
                first = false;
                continue;
            } else if a.len() > 1 && a.starts_with('-') {
                Some(&a[1..])
            } else {
                None
            };
            first = false;
            let Some(cluster) = cluster else {
                o.paths.push(a.clone());
                continue;
            };
            let chars: Vec<char> = cluster.chars().collect();
            let mut k = 0;
            while let Some(&c) = chars.get(k) {
                k += 1;
                match c {
                    'c' | 'x' | 't' => o.mode = c,
                    'v' => o.verbose = true,
                    'O' => o.to_stdout = true,
                    'f' | 'C' => {
                        let rest: String = chars[k..].iter().collect();
                        k = chars.len();
                        let v = if rest.is_empty() {
                            i += 1;
                            match args.get(i - 1) {
                                Some(v) => v.clone(),
                                None => {
                                    return Err(format!("option requires an argument -- '{c}'"));
                                }
                            }
                        } else {
                            rest
                        };
                        if c == 'f' {
                            o.file = v;
                        } else {
                            o.dir = Some(v);
                        }
                    }
                    'm' | 'o' | 'p' | 'k' | 'h' | 'a' => {}
                    _ => return Err(format!("invalid option -- '{c}'")),
                }
            }
        }
        Ok(o)
    }
}

const TAR_USAGE: &str = "Usage: tar c|x|t [-ZzJjahmvokO] [-f TARFILE] [-C DIR] [-T FILE] [-X FILE] [LONGOPT]... [FILE]...\n";

pub(crate) fn tar(sh: &mut Shell, args: &[String]) -> Outcome {
    let o = match TarOpts::parse(args) {
        Ok(o) => o,
        Err(e) => {
            sh.write(2, &format!("tar: {e}\n{TAR_USAGE}"));
            return Status(1);
        }
    };
    if o.mode == ' ' {
        sh.write(2, TAR_USAGE);
        return Status(1);
    }
    let base = match &o.dir {
        Some(d) => {
            let a = sh.abs(d);
            if !sh.fs.is_dir(&a) {
                sh.write(
                    2,
                    &format!("tar: can't change directory to '{d}': No such file or directory\n"),
                );
                return Status(1);
            }
            a
        }
        None => sh.abs("."),
    };
    if o.mode == 'c' {
        return tar_create(sh, &o, &base);
    }
    let data = if o.file == "-" {
        sh.take_stdin_bytes()
    } else {
        match sh.fs.read(&sh.abs(&o.file)) {
            Some(d) => d,
            None => {
                sh.write(
                    2,
                    &format!("tar: can't open '{}': No such file or directory\n", o.file),
                );
                return Status(1);
            }
        }
    };
    tar_read(sh, &o, &base, &data)
}

/// An octal header field, as busybox's `putOctal()` fills it (digits, then NUL).
fn put_octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let s = format!("{value:0width$o}");
    let b = s.as_bytes();
    let b = &b[b.len().saturating_sub(width)..];
    field[..b.len()].copy_from_slice(b);
    field[width] = 0;
}

fn header(name: &[u8], typeflag: u8, size: u64, mode: u64, mtime: i64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    put_octal(&mut h[100..108], mode);
    put_octal(&mut h[108..116], 0);
    put_octal(&mut h[116..124], 0);
    put_octal(&mut h[124..136], size);
    put_octal(&mut h[136..148], u64::try_from(mtime).unwrap_or(0));
    h[156] = typeflag;
    h[257..265].copy_from_slice(b"ustar  \0");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    // The checksum is the byte sum with the checksum field as spaces: six octal digits,
    // NUL, space.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let c = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(c.as_bytes());
    h
}

fn pad(out: &mut Vec<u8>) {
    let rem = out.len() % BLOCK;
    if rem != 0 {
        out.resize(out.len() + BLOCK - rem, 0);
    }
}

/// Appends one entry (a GNU long-name entry first when the name does not fit).
fn put_entry(out: &mut Vec<u8>, name: &str, typeflag: u8, data: &[u8], mtime: i64) {
    let full = if typeflag == b'5' {
        format!("{name}/")
    } else {
        name.to_string()
    };
    if full.len() > 100 {
        let mut long = full.clone().into_bytes();
        long.push(0);
        out.extend_from_slice(&header(b"././@LongLink", b'L', long.len() as u64, 0, 0));
        out.extend_from_slice(&long);
        pad(out);
    }
    let mode = if typeflag == b'5' { 0o755 } else { 0o644 };
    out.extend_from_slice(&header(
        full.as_bytes(),
        typeflag,
        data.len() as u64,
        mode,
        mtime,
    ));
    out.extend_from_slice(data);
    pad(out);
}

fn tar_create(sh: &mut Shell, o: &TarOpts, base: &str) -> Outcome {
    if o.paths.is_empty() {
        sh.write(2, "tar: empty archive\n");
        return Status(1);
    }
    let mut out = Vec::new();
    let mut warned = false;
    let mut error = false;
    let mut listed = String::new();
    for p in &o.paths {
        let abs = if p.starts_with('/') {
            fs::normalize(p)
        } else {
            fs::normalize(&format!("{base}/{p}"))
        };
        let stripped = p.trim_start_matches('/');
        if stripped.len() != p.len() && !warned {
            sh.write(2, "tar: removing leading '/' from member names\n");
            warned = true;
        }
        let name = stripped.trim_end_matches('/').to_string();
        if sh.fs.is_file(&abs) {
            let data = sh.fs.read(&abs).unwrap_or_default();
            put_entry(&mut out, &name, b'0', &data, sh.now_unix);
            listed.push_str(&format!("{name}\n"));
        } else if sh.fs.is_dir(&abs) {
            walk(sh, &abs, &name, &mut out, &mut listed);
        } else {
            sh.write(2, &format!("tar: {p}: No such file or directory\n"));
            error = true;
        }
        if out.len() > fs::MAX_TOTAL_BYTES * 2 {
            break;
        }
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    if o.verbose {
        // With the archive on stdout the names go to stderr.
        let fd = if o.file == "-" { 2 } else { 1 };
        sh.write(fd, &listed);
    }
    if o.file == "-" {
        sh.write_bytes(1, &out);
    } else if let Err(e) = sh.fs.write(&sh.abs(&o.file), &out) {
        sh.write(2, &format!("tar: can't open '{}': {e}\n", o.file));
        return Status(1);
    }
    if error {
        sh.write(2, "tar: error exit delayed from previous errors\n");
        return Status(1);
    }
    Status(0)
}

/// A directory and everything below it, parents before children.
fn walk(sh: &Shell, abs: &str, name: &str, out: &mut Vec<u8>, listed: &mut String) {
    if !name.is_empty() {
        put_entry(out, name, b'5', &[], sh.now_unix);
        listed.push_str(&format!("{name}/\n"));
    }
    for (child, is_dir) in sh.fs.list(abs) {
        let ca = fs::normalize(&format!("{abs}/{child}"));
        let cn = if name.is_empty() {
            child.clone()
        } else {
            format!("{name}/{child}")
        };
        if is_dir {
            walk(sh, &ca, &cn, out, listed);
        } else {
            let data = sh.fs.read(&ca).unwrap_or_default();
            put_entry(out, &cn, b'0', &data, sh.now_unix);
            listed.push_str(&format!("{cn}\n"));
        }
    }
}

/// A numeric header field: octal (spaces and NULs around it) or GNU base-256.
fn parse_num(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(v);
    }
    let s: String = field
        .iter()
        .map(|b| *b as char)
        .filter(|c| *c != '\0' && *c != ' ')
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(&s, 8).ok()
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The `path` record of a PAX extended header (`"<len> path=<value>\n"` records).
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let mut rest: &str = &text;
    let mut found = None;
    while !rest.is_empty() {
        let (len, _) = rest.split_once(' ')?;
        let n: usize = len.parse().ok()?;
        let rec = rest.get(..n)?;
        rest = &rest[n..];
        let body = rec.split_once(' ')?.1.trim_end_matches('\n');
        if let Some(v) = body.strip_prefix("path=") {
            found = Some(v.to_string());
        }
    }
    found
}

fn tar_read(sh: &mut Shell, o: &TarOpts, base: &str, data: &[u8]) -> Outcome {
    let mut pos = 0;
    let mut warned = false;
    let mut next_name: Option<String> = None;
    let mut listing = String::new();
    let mut made: BTreeSet<String> = BTreeSet::new();
    let fail = |sh: &mut Shell, listing: &str, msg: &str| {
        sh.write(1, listing);
        sh.write(2, &format!("tar: {msg}\n"));
        Status(1)
    };
    while pos + BLOCK <= data.len() {
        let h = &data[pos..pos + BLOCK];
        pos += BLOCK;
        if h.iter().all(|b| *b == 0) {
            break;
        }
        if &h[257..262] != b"ustar" {
            return fail(sh, &listing, "invalid tar magic");
        }
        let stored = parse_num(&h[148..156]);
        let mut sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
        sum = sum - h[148..156].iter().map(|b| u64::from(*b)).sum::<u64>() + 8 * 32;
        if stored != Some(sum) {
            return fail(sh, &listing, "invalid tar header checksum");
        }
        let Some(size) = parse_num(&h[124..136]).and_then(|s| usize::try_from(s).ok()) else {
            return fail(sh, &listing, "invalid tar header checksum");
        };
        let Some(body) = pos.checked_add(size).and_then(|end| data.get(pos..end)) else {
            return fail(sh, &listing, "short read");
        };
        pos += size.div_ceil(BLOCK) * BLOCK;
        let typeflag = h[156];
        match typeflag {
            b'L' => {
                next_name = Some(cstr(body));
                continue;
            }
            b'x' => {
                next_name = pax_path(body).or(next_name);
                continue;
            }
            b'g' | b'K' => continue,
            _ => {}
        }
        let mut name = next_name.take().unwrap_or_else(|| {
            let prefix = cstr(&h[345..500]);
            let n = cstr(&h[..100]);
            if prefix.is_empty() || &h[257..263] != b"ustar\0" {
                n
            } else {
                format!("{prefix}/{n}")
            }
        });
        if name.starts_with('/') {
            if !warned {
                sh.write(2, "tar: removing leading '/' from member names\n");
                warned = true;
            }
            name = name.trim_start_matches('/').to_string();
        }
        if name.is_empty() {
            continue;
        }
        if o.mode == 't' || o.verbose {
            listing.push_str(&name);
            listing.push('\n');
        }
        if o.mode == 't' {
            continue;
        }
        let target = fs::normalize(&format!("{base}/{name}"));
        if !target.starts_with(base) && base != "/" {
            continue;
        }
        let is_dir = typeflag == b'5' || (name.ends_with('/') && matches!(typeflag, b'0' | 0));
        if o.to_stdout {
            if !is_dir && matches!(typeflag, b'0' | 0 | b'7') {
                sh.write_bytes(1, body);
            }
            continue;
        }
        if is_dir {
            if let Err(e) = sh.fs.mkdir(&target, true) {
                return fail(
                    sh,
                    &listing,
                    &format!("can't create directory '{name}': {e}"),
                );
            }
            made.insert(target);
            continue;
        }
        if !matches!(typeflag, b'0' | 0 | b'7') {
            // Links, devices and FIFOs have no place in the simulated filesystem.
            continue;
        }
        let parent = fs::parent(&target).to_string();
        if !made.contains(&parent) {
            // busybox creates leading directories (ARCHIVE_CREATE_LEADING_DIRS).
            let _ = sh.fs.mkdir(&parent, true);
            made.insert(parent);
        }
        if sh.fs.is_dir(&target) {
            continue;
        }
        if let Err(e) = sh.fs.write(&target, body) {
            // busybox opens the file first (`xopen3()` → "can't open '%s'"), then copies
            // (`bb_copyfd_exact_size()` → "write error").
            let msg = if e == fs::EROFS {
                format!("can't open '{name}': {e}")
            } else {
                format!("write error: {e}")
            };
            return fail(sh, &listing, &msg);
        }
    }
    sh.write(1, &listing);
    Status(0)
}

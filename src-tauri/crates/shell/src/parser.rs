//! Lexer and recursive-descent parser for the POSIX-sh subset the simulated kubelet runs.
//!
//! The grammar and the error texts follow busybox ash (`shell/ash.c`): `list()`, `andor()`,
//! `pipeline()`, `parse_command()`, `simplecmd()`; a syntax error is reported as
//! `syntax error: unexpected <tok>` with an optional ` (expecting <tok>)`, where the token
//! names come from ash's `tokname_array` (`end of file`, `newline`, `word`, `redirection`
//! unquoted; operators and keywords in double quotes, e.g. `"fi"`).

use std::sync::Arc;

/// Deepest nesting of compound commands / substitutions the parser accepts.
pub(crate) const MAX_DEPTH: usize = 64;
/// Longest script (in bytes) the shell accepts.
pub(crate) const MAX_SCRIPT: usize = 256 * 1024;

/// One piece of a shell word.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    /// Unquoted literal text.
    Lit(String),
    /// Literal text that came from quotes or a backslash escape.
    Quoted(String),
    /// `$name`, `${name…}`.
    Param {
        name: String,
        op: ParamOp,
        quoted: bool,
    },
    /// `$(…)` or backquotes.
    Command { body: Arc<Node>, quoted: bool },
    /// `$((…))`: the raw expression text.
    Arith { expr: String, quoted: bool },
}

pub(crate) type Word = Vec<Part>;

/// The operator inside `${…}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamOp {
    Plain,
    Length,
    /// `${x-w}` / `${x:-w}`
    Default(bool, Word),
    /// `${x=w}` / `${x:=w}`
    Assign(bool, Word),
    /// `${x+w}` / `${x:+w}`
    Alt(bool, Word),
    /// `${x?w}` / `${x:?w}`
    Error(bool, Word),
    /// `${x#p}` (false) / `${x##p}` (true)
    TrimPrefix(bool, Word),
    /// `${x%p}` (false) / `${x%%p}` (true)
    TrimSuffix(bool, Word),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RedirKind {
    /// `>` and `>|`
    Out,
    /// `>>`
    Append,
    /// `<`
    In,
    /// `>&N`
    DupOut,
    /// `<&N`
    DupIn,
    /// `<<` / `<<-`: the body and whether it undergoes parameter expansion.
    Here(String, bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Redir {
    pub fd: u32,
    pub kind: RedirKind,
    pub target: Word,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Simple {
    pub assigns: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirs: Vec<Redir>,
    pub line: u32,
}

pub(crate) type N = Arc<Node>;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Simple(Simple),
    Pipeline(Vec<N>),
    Not(N),
    And(N, N),
    Or(N, N),
    List(Vec<N>),
    Background(N),
    Group(N),
    Subshell(N),
    If {
        branches: Vec<(N, N)>,
        otherwise: Option<N>,
    },
    Loop {
        until: bool,
        cond: N,
        body: N,
    },
    For {
        var: String,
        items: Option<Vec<Word>>,
        body: N,
    },
    Case {
        subject: Word,
        arms: Vec<(Vec<Word>, Option<N>)>,
    },
    FuncDef {
        name: String,
        body: N,
    },
    Redirected {
        inner: N,
        redirs: Vec<Redir>,
    },
}

/// A syntax error: the message after `syntax error: ` is already included.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub msg: String,
    pub line: u32,
}

/// A parsed script: the top-level commands (one per `parsecmd` call in ash, i.e. one per
/// line) that precede the first syntax error, and that error if any. ash executes each
/// line before parsing the next, so the commands before the error still run.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    pub items: Vec<N>,
    pub error: Option<SyntaxError>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(Word),
    Semi,
    Amp,
    AndIf,
    OrIf,
    Pipe,
    LParen,
    RParen,
    DSemi,
    Newline,
    Eof,
    Redir(Option<u32>, &'static str),
}

const KEYWORDS: &[&str] = &[
    "!", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then", "until",
    "while", "{", "}",
];
/// Keywords that end a list (marked `\1` in ash's `tokname_array`).
const END_WORDS: &[&str] = &["do", "done", "elif", "else", "esac", "fi", "then", "}"];

fn lit_word(w: &Word) -> Option<&str> {
    match w.as_slice() {
        [Part::Lit(s)] => Some(s.as_str()),
        _ => None,
    }
}

fn keyword(t: &Tok) -> Option<&str> {
    match t {
        Tok::Word(w) => lit_word(w).filter(|s| KEYWORDS.contains(s)),
        _ => None,
    }
}

fn tokname(t: &Tok) -> String {
    let q = |s: &str| format!("\"{s}\"");
    match t {
        Tok::Eof => "end of file".into(),
        Tok::Newline => "newline".into(),
        Tok::Redir(..) => "redirection".into(),
        Tok::Word(_) => match keyword(t) {
            Some(k) => q(k),
            None => "word".into(),
        },
        Tok::Semi => q(";"),
        Tok::Amp => q("&"),
        Tok::AndIf => q("&&"),
        Tok::OrIf => q("||"),
        Tok::Pipe => q("|"),
        Tok::LParen => q("("),
        Tok::RParen => q(")"),
        Tok::DSemi => q(";;"),
    }
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

pub(crate) fn is_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(is_name_start) && cs.all(is_name_char)
}

type PResult<T> = Result<T, SyntaxError>;

struct Parser {
    src: Vec<char>,
    pos: usize,
    line: u32,
    peeked: Option<Tok>,
    depth: usize,
}

/// Parses a whole script the way ash's `evalstring` does, one top-level line at a time.
pub(crate) fn parse_script(text: &str) -> Script {
    if text.len() > MAX_SCRIPT {
        return Script {
            items: Vec::new(),
            error: Some(SyntaxError {
                msg: "script too long".into(),
                line: 1,
            }),
        };
    }
    let mut p = Parser {
        src: text.chars().collect(),
        pos: 0,
        line: 1,
        peeked: None,
        depth: 0,
    };
    let mut items = Vec::new();
    loop {
        match p.top_command() {
            Ok(Some(n)) => items.push(n),
            Ok(None) => return Script { items, error: None },
            Err(e) => {
                return Script {
                    items,
                    error: Some(e),
                };
            }
        }
    }
}

impl Parser {
    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(SyntaxError {
            msg: msg.into(),
            line: self.line,
        })
    }

    fn unexpected<T>(&mut self, t: &Tok, expecting: Option<&str>) -> PResult<T> {
        let mut msg = format!("unexpected {}", tokname(t));
        if let Some(e) = expecting {
            msg.push_str(&format!(" (expecting \"{e}\")"));
        }
        self.err(msg)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.err("nesting too deep")
        } else {
            Ok(())
        }
    }

    // ---------------------------------------------------------------- lexer

    fn ch(&self) -> Option<char> {
        self.src.get(self.pos).copied()
    }

    fn ch_at(&self, off: usize) -> Option<char> {
        self.src.get(self.pos + off).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.ch()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn peek(&mut self) -> PResult<&Tok> {
        if self.peeked.is_none() {
            let t = self.lex()?;
            self.peeked = Some(t);
        }
        Ok(self.peeked.as_ref().unwrap_or(&Tok::Eof))
    }

    fn next(&mut self) -> PResult<Tok> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    fn skip_newlines(&mut self) -> PResult<()> {
        while *self.peek()? == Tok::Newline {
            self.next()?;
        }
        Ok(())
    }

    fn lex(&mut self) -> PResult<Tok> {
        loop {
            match self.ch() {
                Some(' ' | '\t' | '\r') => {
                    self.pos += 1;
                }
                Some('\\') if self.ch_at(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                Some('#') => {
                    while self.ch().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let Some(c) = self.ch() else {
            return Ok(Tok::Eof);
        };
        let two = |p: &Self, s: &str| {
            let mut it = s.chars();
            it.next() == p.ch() && it.next() == p.ch_at(1)
        };
        let op = |p: &mut Self, n: usize, t: Tok| {
            p.pos += n;
            Ok(t)
        };
        match c {
            '\n' => {
                self.bump();
                Ok(Tok::Newline)
            }
            '&' if two(self, "&&") => op(self, 2, Tok::AndIf),
            '&' => op(self, 1, Tok::Amp),
            '|' if two(self, "||") => op(self, 2, Tok::OrIf),
            '|' => op(self, 1, Tok::Pipe),
            ';' if two(self, ";;") => op(self, 2, Tok::DSemi),
            ';' => op(self, 1, Tok::Semi),
            '(' => op(self, 1, Tok::LParen),
            ')' => op(self, 1, Tok::RParen),
            '<' | '>' => self.lex_redir(None),
            _ => {
                let start = self.pos;
                let w = self.lex_word()?;
                // An all-digit word directly followed by `<`/`>` is an IO number.
                if matches!(self.ch(), Some('<' | '>')) {
                    let digits: String = self.src[start..self.pos].iter().collect();
                    if !digits.is_empty()
                        && digits.len() < 4
                        && let Ok(fd) = digits.parse::<u32>()
                        && digits.chars().all(|c| c.is_ascii_digit())
                    {
                        return self.lex_redir(Some(fd));
                    }
                }
                Ok(Tok::Word(w))
            }
        }
    }

    fn lex_redir(&mut self, fd: Option<u32>) -> PResult<Tok> {
        let ops = ["<<-", ">>", ">&", ">|", "<<", "<&", "<>", "<", ">"];
        for o in ops {
            let n = o.chars().count();
            if (0..n).all(|i| self.ch_at(i) == o.chars().nth(i)) {
                self.pos += n;
                return Ok(Tok::Redir(fd, o));
            }
        }
        self.err("bad redirection")
    }

    fn lex_word(&mut self) -> PResult<Word> {
        let mut parts: Word = Vec::new();
        let mut lit = String::new();
        let flush = |lit: &mut String, parts: &mut Word| {
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(lit)));
            }
        };
        while let Some(c) = self.ch() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' => break,
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') => {}
                        Some(e) => {
                            flush(&mut lit, &mut parts);
                            parts.push(Part::Quoted(e.to_string()));
                        }
                        None => lit.push('\\'),
                    }
                }
                '\'' => {
                    self.bump();
                    let mut s = String::new();
                    loop {
                        match self.bump() {
                            Some('\'') => break,
                            Some(c) => s.push(c),
                            None => return self.err("unterminated quoted string"),
                        }
                    }
                    flush(&mut lit, &mut parts);
                    parts.push(Part::Quoted(s));
                }
                '"' => {
                    self.bump();
                    flush(&mut lit, &mut parts);
                    let mut inner = self.lex_dquote()?;
                    if inner.is_empty() {
                        inner.push(Part::Quoted(String::new()));
                    }
                    parts.extend(inner);
                }
                '$' => {
                    if let Some(p) = self.lex_dollar(false)? {
                        flush(&mut lit, &mut parts);
                        parts.push(p);
                    } else {
                        lit.push('$');
                    }
                }
                '`' => {
                    flush(&mut lit, &mut parts);
                    let p = self.lex_backquote(false)?;
                    parts.push(p);
                }
                _ => {
                    self.bump();
                    lit.push(c);
                }
            }
        }
        flush(&mut lit, &mut parts);
        Ok(parts)
    }

    /// Lexes the inside of `"…"` after the opening quote, consuming the closing one.
    fn lex_dquote(&mut self) -> PResult<Word> {
        let mut parts = Vec::new();
        let mut s = String::new();
        loop {
            let Some(c) = self.ch() else {
                return self.err("unterminated quoted string");
            };
            match c {
                '"' => {
                    self.bump();
                    break;
                }
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') => {}
                        Some(e @ ('$' | '`' | '"' | '\\')) => s.push(e),
                        Some(e) => {
                            s.push('\\');
                            s.push(e);
                        }
                        None => return self.err("unterminated quoted string"),
                    }
                }
                '$' => {
                    if let Some(p) = self.lex_dollar(true)? {
                        if !s.is_empty() {
                            parts.push(Part::Quoted(std::mem::take(&mut s)));
                        }
                        parts.push(p);
                    } else {
                        s.push('$');
                    }
                }
                '`' => {
                    if !s.is_empty() {
                        parts.push(Part::Quoted(std::mem::take(&mut s)));
                    }
                    let p = self.lex_backquote(true)?;
                    parts.push(p);
                }
                _ => {
                    self.bump();
                    s.push(c);
                }
            }
        }
        if !s.is_empty() {
            parts.push(Part::Quoted(s));
        }
        Ok(parts)
    }

    /// At a `$`: returns the expansion, or `None` (having consumed the `$`) for a lone `$`.
    fn lex_dollar(&mut self, quoted: bool) -> PResult<Option<Part>> {
        self.bump();
        let param = |name: String| Part::Param {
            name,
            op: ParamOp::Plain,
            quoted,
        };
        match self.ch() {
            Some('(') if self.ch_at(1) == Some('(') => {
                self.pos += 2;
                let mut depth = 0usize;
                let mut expr = String::new();
                loop {
                    match self.bump() {
                        None => return self.err("unterminated arithmetic"),
                        Some(')') if depth == 0 && self.ch() == Some(')') => {
                            self.bump();
                            break;
                        }
                        Some(c) => {
                            if c == '(' {
                                depth += 1;
                            } else if c == ')' {
                                depth = depth.saturating_sub(1);
                            }
                            expr.push(c);
                        }
                    }
                }
                Ok(Some(Part::Arith { expr, quoted }))
            }
            Some('(') => {
                self.bump();
                self.enter()?;
                let saved = self.peeked.take();
                let body = self.list(true)?;
                match self.next()? {
                    Tok::RParen => {}
                    t => return self.unexpected(&t, Some(")")),
                }
                self.peeked = saved;
                self.depth -= 1;
                Ok(Some(Part::Command { body, quoted }))
            }
            Some('{') => {
                self.bump();
                self.enter()?;
                let p = self.lex_braced(quoted)?;
                self.depth -= 1;
                Ok(Some(p))
            }
            Some(c) if is_name_start(c) => {
                let mut name = String::new();
                while let Some(c) = self.ch().filter(|c| is_name_char(*c)) {
                    name.push(c);
                    self.pos += 1;
                }
                Ok(Some(param(name)))
            }
            Some(c) if c.is_ascii_digit() || "?$#@*!-".contains(c) => {
                self.bump();
                Ok(Some(param(c.to_string())))
            }
            _ => Ok(None),
        }
    }

    fn lex_braced(&mut self, quoted: bool) -> PResult<Part> {
        let bad = |p: &Self| p.err("bad substitution");
        let mut length = false;
        if self.ch() == Some('#') && self.ch_at(1).is_some_and(|c| c != '}') {
            length = true;
            self.bump();
        }
        let mut name = String::new();
        match self.ch() {
            Some(c) if is_name_start(c) => {
                while let Some(c) = self.ch().filter(|c| is_name_char(*c)) {
                    name.push(c);
                    self.pos += 1;
                }
            }
            Some(c) if c.is_ascii_digit() => {
                while let Some(c) = self.ch().filter(|c| c.is_ascii_digit()) {
                    name.push(c);
                    self.pos += 1;
                }
            }
            Some(c) if "?$#@*!-".contains(c) => {
                name.push(c);
                self.bump();
            }
            None => return self.err("unterminated quoted string"),
            _ => return bad(self),
        }
        if length {
            return if self.bump() == Some('}') {
                Ok(Part::Param {
                    name,
                    op: ParamOp::Length,
                    quoted,
                })
            } else {
                bad(self)
            };
        }
        let colon = self.ch() == Some(':');
        if colon {
            self.bump();
        }
        let Some(c) = self.bump() else {
            return self.err("unterminated quoted string");
        };
        let op_kind = match c {
            '}' if !colon => {
                return Ok(Part::Param {
                    name,
                    op: ParamOp::Plain,
                    quoted,
                });
            }
            '-' | '=' | '+' | '?' => c,
            '#' | '%' if !colon => {
                let longest = self.ch() == Some(c);
                if longest {
                    self.bump();
                }
                let w = self.lex_operand()?;
                let op = if c == '#' {
                    ParamOp::TrimPrefix(longest, w)
                } else {
                    ParamOp::TrimSuffix(longest, w)
                };
                return Ok(Part::Param { name, op, quoted });
            }
            _ => return bad(self),
        };
        let w = self.lex_operand()?;
        let op = match op_kind {
            '-' => ParamOp::Default(colon, w),
            '=' => ParamOp::Assign(colon, w),
            '+' => ParamOp::Alt(colon, w),
            _ => ParamOp::Error(colon, w),
        };
        Ok(Part::Param { name, op, quoted })
    }

    /// The word after a `${name<op>` up to the closing `}`.
    fn lex_operand(&mut self) -> PResult<Word> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        loop {
            let Some(c) = self.ch() else {
                return self.err("unterminated quoted string");
            };
            match c {
                '}' => {
                    self.bump();
                    break;
                }
                '\\' => {
                    self.bump();
                    if let Some(e) = self.bump() {
                        if !lit.is_empty() {
                            parts.push(Part::Lit(std::mem::take(&mut lit)));
                        }
                        parts.push(Part::Quoted(e.to_string()));
                    }
                }
                '\'' => {
                    self.bump();
                    let mut s = String::new();
                    loop {
                        match self.bump() {
                            Some('\'') => break,
                            Some(c) => s.push(c),
                            None => return self.err("unterminated quoted string"),
                        }
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Quoted(s));
                }
                '"' => {
                    self.bump();
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    let inner = self.lex_dquote()?;
                    if inner.is_empty() {
                        parts.push(Part::Quoted(String::new()));
                    }
                    parts.extend(inner);
                }
                '$' => {
                    if let Some(p) = self.lex_dollar(false)? {
                        if !lit.is_empty() {
                            parts.push(Part::Lit(std::mem::take(&mut lit)));
                        }
                        parts.push(p);
                    } else {
                        lit.push('$');
                    }
                }
                _ => {
                    self.bump();
                    lit.push(c);
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(parts)
    }

    fn lex_backquote(&mut self, quoted: bool) -> PResult<Part> {
        self.bump();
        let mut inner = String::new();
        loop {
            match self.bump() {
                None => return self.err("unterminated quoted string"),
                Some('`') => break,
                Some('\\') => match self.bump() {
                    Some(c @ ('`' | '\\' | '$')) => inner.push(c),
                    Some(c) => {
                        inner.push('\\');
                        inner.push(c);
                    }
                    None => return self.err("unterminated quoted string"),
                },
                Some(c) => inner.push(c),
            }
        }
        self.enter()?;
        let mut sub = Parser {
            src: inner.chars().collect(),
            pos: 0,
            line: self.line,
            peeked: None,
            depth: self.depth,
        };
        let body = sub.list(true)?;
        match sub.next()? {
            Tok::Eof => {}
            t => return sub.unexpected(&t, None),
        }
        self.depth -= 1;
        Ok(Part::Command { body, quoted })
    }

    /// Reads a here-document body: the lines after the current line up to `delim`,
    /// removing them from the source so that lexing continues after the current line.
    fn read_heredoc(&mut self, delim: &str, strip_tabs: bool) -> String {
        let Some(nl) = self.src[self.pos..].iter().position(|c| *c == '\n') else {
            return String::new();
        };
        let body_start = self.pos + nl + 1;
        let mut i = body_start;
        let mut body = String::new();
        while i < self.src.len() {
            let end = self.src[i..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(self.src.len(), |e| i + e);
            let mut line: String = self.src[i..end].iter().collect();
            if strip_tabs {
                line = line.trim_start_matches('\t').to_string();
            }
            i = (end + 1).min(self.src.len());
            if line == delim {
                break;
            }
            body.push_str(&line);
            body.push('\n');
        }
        let removed = i - body_start;
        self.src.drain(body_start..i);
        let _ = removed;
        body
    }

    // ---------------------------------------------------------------- grammar

    /// One top-level command line (ash `parsecmd` → `list(1)`); `None` at end of input.
    fn top_command(&mut self) -> PResult<Option<N>> {
        loop {
            match self.peek()? {
                Tok::Eof => return Ok(None),
                Tok::Newline => {
                    self.next()?;
                }
                _ => break,
            }
        }
        let mut items = Vec::new();
        loop {
            let n = self.andor()?;
            match self.next()? {
                Tok::Amp => items.push(Arc::new(Node::Background(n))),
                Tok::Semi => items.push(n),
                Tok::Newline | Tok::Eof => {
                    items.push(n);
                    break;
                }
                t => return self.unexpected(&t, None),
            }
            match self.peek()? {
                Tok::Newline | Tok::Eof => {
                    self.next()?;
                    break;
                }
                _ => {}
            }
        }
        Ok(Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Arc::new(Node::List(items))
        }))
    }

    fn is_end(&mut self) -> PResult<bool> {
        let t = self.peek()?;
        Ok(match t {
            Tok::Eof | Tok::RParen | Tok::DSemi => true,
            Tok::Word(w) => lit_word(w).is_some_and(|s| END_WORDS.contains(&s)),
            _ => false,
        })
    }

    /// A compound list (ash `list(0)`): at least one and-or list, ended by a keyword,
    /// `)`, `;;` or end of file. `in_subst` is for `$(…)`, which may be empty.
    fn list(&mut self, in_subst: bool) -> PResult<N> {
        let mut items = Vec::new();
        self.skip_newlines()?;
        if in_subst && self.is_end()? {
            return Ok(Arc::new(Node::List(items)));
        }
        loop {
            let n = self.andor()?;
            match self.peek()? {
                Tok::Amp => {
                    self.next()?;
                    items.push(Arc::new(Node::Background(n)));
                }
                Tok::Semi | Tok::Newline => {
                    self.next()?;
                    items.push(n);
                }
                _ => {
                    items.push(n);
                    break;
                }
            }
            self.skip_newlines()?;
            if self.is_end()? {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Arc::new(Node::List(items))
        })
    }

    fn andor(&mut self) -> PResult<N> {
        let mut n = self.pipeline()?;
        loop {
            let and = match self.peek()? {
                Tok::AndIf => true,
                Tok::OrIf => false,
                _ => return Ok(n),
            };
            self.next()?;
            self.skip_newlines()?;
            let rhs = self.pipeline()?;
            n = Arc::new(if and {
                Node::And(n, rhs)
            } else {
                Node::Or(n, rhs)
            });
        }
    }

    fn pipeline(&mut self) -> PResult<N> {
        let mut negate = false;
        if keyword(self.peek()?) == Some("!") {
            self.next()?;
            negate = true;
        }
        let mut cmds = vec![self.command()?];
        while *self.peek()? == Tok::Pipe {
            self.next()?;
            self.skip_newlines()?;
            cmds.push(self.command()?);
        }
        let n = if cmds.len() == 1 {
            cmds.remove(0)
        } else {
            Arc::new(Node::Pipeline(cmds))
        };
        Ok(if negate { Arc::new(Node::Not(n)) } else { n })
    }

    fn expect_kw(&mut self, kw: &str) -> PResult<()> {
        let t = self.next()?;
        if keyword(&t) == Some(kw) {
            Ok(())
        } else {
            self.unexpected(&t, Some(kw))
        }
    }

    fn command(&mut self) -> PResult<N> {
        self.enter()?;
        let r = self.command_inner();
        self.depth -= 1;
        r
    }

    fn command_inner(&mut self) -> PResult<N> {
        let t = self.peek()?.clone();
        let node = match keyword(&t) {
            Some("if") => {
                self.next()?;
                let mut branches = Vec::new();
                let mut otherwise = None;
                let cond = self.list(false)?;
                self.expect_kw("then")?;
                let body = self.list(false)?;
                branches.push((cond, body));
                loop {
                    let t = self.next()?;
                    match keyword(&t) {
                        Some("elif") => {
                            let cond = self.list(false)?;
                            self.expect_kw("then")?;
                            let body = self.list(false)?;
                            branches.push((cond, body));
                        }
                        Some("else") => {
                            otherwise = Some(self.list(false)?);
                            self.expect_kw("fi")?;
                            break;
                        }
                        Some("fi") => break,
                        _ => return self.unexpected(&t, Some("fi")),
                    }
                }
                Node::If {
                    branches,
                    otherwise,
                }
            }
            Some(k @ ("while" | "until")) => {
                let until = k == "until";
                self.next()?;
                let cond = self.list(false)?;
                self.expect_kw("do")?;
                let body = self.list(false)?;
                self.expect_kw("done")?;
                Node::Loop { until, cond, body }
            }
            Some("for") => {
                self.next()?;
                let var = match self.next()? {
                    Tok::Word(w) if lit_word(&w).is_some_and(is_name) => {
                        lit_word(&w).unwrap_or_default().to_string()
                    }
                    t => return self.unexpected(&t, None),
                };
                self.skip_newlines()?;
                let mut items = None;
                if keyword(self.peek()?) == Some("in") {
                    self.next()?;
                    let mut ws = Vec::new();
                    while let Tok::Word(w) = self.peek()? {
                        let w = w.clone();
                        self.next()?;
                        ws.push(w);
                    }
                    match self.next()? {
                        Tok::Semi | Tok::Newline => {}
                        t => return self.unexpected(&t, None),
                    }
                    items = Some(ws);
                } else if *self.peek()? == Tok::Semi {
                    self.next()?;
                }
                self.skip_newlines()?;
                self.expect_kw("do")?;
                let body = self.list(false)?;
                self.expect_kw("done")?;
                Node::For { var, items, body }
            }
            Some("case") => {
                self.next()?;
                let subject = match self.next()? {
                    Tok::Word(w) => w,
                    t => return self.unexpected(&t, None),
                };
                self.skip_newlines()?;
                self.expect_kw("in")?;
                let mut arms = Vec::new();
                loop {
                    self.skip_newlines()?;
                    if keyword(self.peek()?) == Some("esac") {
                        self.next()?;
                        break;
                    }
                    if *self.peek()? == Tok::LParen {
                        self.next()?;
                    }
                    let mut pats = Vec::new();
                    loop {
                        match self.next()? {
                            Tok::Word(w) => pats.push(w),
                            t => return self.unexpected(&t, None),
                        }
                        match self.next()? {
                            Tok::Pipe => {}
                            Tok::RParen => break,
                            t => return self.unexpected(&t, Some(")")),
                        }
                    }
                    self.skip_newlines()?;
                    let body =
                        if *self.peek()? == Tok::DSemi || keyword(self.peek()?) == Some("esac") {
                            None
                        } else {
                            Some(self.list(false)?)
                        };
                    arms.push((pats, body));
                    let t = self.next()?;
                    match &t {
                        Tok::DSemi => {}
                        _ if keyword(&t) == Some("esac") => break,
                        _ => return self.unexpected(&t, Some("esac")),
                    }
                }
                Node::Case { subject, arms }
            }
            Some("{") => {
                self.next()?;
                let body = self.list(false)?;
                self.expect_kw("}")?;
                Node::Group(body)
            }
            Some(_) => {
                let t = self.next()?;
                return self.unexpected(&t, None);
            }
            None => match t {
                Tok::LParen => {
                    self.next()?;
                    let body = self.list(false)?;
                    match self.next()? {
                        Tok::RParen => {}
                        t => return self.unexpected(&t, Some(")")),
                    }
                    Node::Subshell(body)
                }
                Tok::Word(_) | Tok::Redir(..) => return self.simple(),
                t => {
                    self.next()?;
                    return self.unexpected(&t, None);
                }
            },
        };
        // Redirections after a compound command.
        let mut redirs = Vec::new();
        while let Tok::Redir(..) = self.peek()? {
            let t = self.next()?;
            redirs.push(self.redir(t)?);
        }
        let n = Arc::new(node);
        Ok(if redirs.is_empty() {
            n
        } else {
            Arc::new(Node::Redirected { inner: n, redirs })
        })
    }

    fn redir(&mut self, t: Tok) -> PResult<Redir> {
        let Tok::Redir(fd, op) = t else {
            return self.unexpected(&t, None);
        };
        let target = match self.next()? {
            Tok::Word(w) => w,
            t => return self.unexpected(&t, None),
        };
        let default_fd = if op.starts_with('<') { 0 } else { 1 };
        let fd = fd.unwrap_or(default_fd);
        let kind = match op {
            ">" | ">|" => RedirKind::Out,
            ">>" => RedirKind::Append,
            "<" | "<>" => RedirKind::In,
            ">&" => RedirKind::DupOut,
            "<&" => RedirKind::DupIn,
            _ => {
                let expand = target.iter().all(|p| matches!(p, Part::Lit(_)));
                let delim: String = target
                    .iter()
                    .map(|p| match p {
                        Part::Lit(s) | Part::Quoted(s) => s.clone(),
                        _ => String::new(),
                    })
                    .collect();
                let body = self.read_heredoc(&delim, op == "<<-");
                RedirKind::Here(body, expand)
            }
        };
        Ok(Redir { fd, kind, target })
    }

    fn simple(&mut self) -> PResult<N> {
        let line = self.line;
        let mut s = Simple {
            assigns: Vec::new(),
            words: Vec::new(),
            redirs: Vec::new(),
            line,
        };
        loop {
            match self.peek()? {
                Tok::Word(_) => {
                    let Tok::Word(w) = self.next()? else { break };
                    if s.words.is_empty()
                        && let Some((name, value)) = split_assignment(&w)
                    {
                        s.assigns.push((name, value));
                        continue;
                    }
                    s.words.push(w);
                }
                Tok::Redir(..) => {
                    let t = self.next()?;
                    let r = self.redir(t)?;
                    s.redirs.push(r);
                }
                Tok::LParen if s.words.len() == 1 && s.assigns.is_empty() => {
                    // Function definition `name() compound-command`.
                    let name = lit_word(&s.words[0]).map(str::to_string);
                    self.next()?;
                    match self.next()? {
                        Tok::RParen => {}
                        t => return self.unexpected(&t, Some(")")),
                    }
                    let Some(name) = name.filter(|n| is_name(n)) else {
                        return self.err("bad function name");
                    };
                    self.skip_newlines()?;
                    let body = self.command()?;
                    return Ok(Arc::new(Node::FuncDef { name, body }));
                }
                _ => break,
            }
        }
        if s.words.is_empty() && s.assigns.is_empty() && s.redirs.is_empty() {
            let t = self.next()?;
            return self.unexpected(&t, None);
        }
        Ok(Arc::new(Node::Simple(s)))
    }
}

/// `NAME=value` at the start of a simple command.
fn split_assignment(w: &Word) -> Option<(String, Word)> {
    let Some(Part::Lit(first)) = w.first() else {
        return None;
    };
    let eq = first.find('=')?;
    let name = &first[..eq];
    if !is_name(name) {
        return None;
    }
    let mut value: Word = Vec::new();
    let rest = &first[eq + 1..];
    if !rest.is_empty() {
        value.push(Part::Lit(rest.to_string()));
    }
    value.extend(w[1..].iter().cloned());
    Some((name.to_string(), value))
}

//! Word expansion as ash does it (`expandarg()`): parameters (`$VAR`, `${VAR…}` with
//! `:-` `-` `:=` `:+` `:?` `#` `##` `%` `%%`), `$(…)` and backquotes, `$((…))`, field
//! splitting, here-documents, and the `*`/`?` glob patterns of `case` and `${VAR#…}`.

use super::*;

impl Machine {
    pub(super) fn expand(&mut self, w: &Word, split: bool) -> Result<Vec<String>, String> {
        let mut st = None;
        self.expand_tracking(w, split, &mut st)
    }

    pub(super) fn expand_str(&mut self, w: &Word) -> Result<String, String> {
        Ok(self.expand(w, false)?.join(" "))
    }

    /// Expands a word into fields. `subst` receives the status of the last `$(…)`.
    pub(super) fn expand_tracking(
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

    pub(super) fn param(&mut self, name: &str, op: &ParamOp) -> Result<String, String> {
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
    pub(super) fn expand_pattern(&mut self, w: &Word) -> Result<Vec<PatChar>, String> {
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

    pub(super) fn expand_heredoc(&mut self, body: &str) -> Result<String, String> {
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
}

/// `$name`, `${name}`, `$1`, `$?` at `cs[i..]` (after the `$`).
pub(super) fn read_param_name(cs: &[char], i: usize) -> (Option<String>, usize) {
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

pub(super) fn push_value(
    fields: &mut Vec<String>,
    cur: &mut String,
    active: &mut bool,
    v: &str,
    split: bool,
) {
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

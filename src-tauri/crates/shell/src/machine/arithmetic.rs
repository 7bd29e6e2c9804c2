//! `$((…))` arithmetic as ash's `shell/math.c` evaluates it: parameters expanded first,
//! then a precedence-climbing evaluator over 64-bit integers.

use super::*;

impl Machine {
    pub(super) fn arith(&mut self, expr: &str) -> Result<i64, String> {
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

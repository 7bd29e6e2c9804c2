//! Label and field selectors with kube-apiserver's grammar and error texts
//! (`k8s.io/apimachinery/pkg/labels/selector.go`, `.../fields/selector.go`).
//!
//! Errors are returned as the plain message; the API layer wraps them in a 400 BadRequest, and
//! kubectl prefixes them with `Unable to find "/v1, Resource=pods" that match label selector ...`.
//!
//! [`LabelOp::matches`] is the one requirement matcher (`labels.Requirement.Matches`): label
//! selectors use it, and so does the scheduler for node affinity's `NodeSelectorRequirement`
//! (`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`, read by
//! [`LabelOp::from_node_selector_operator`]), as `k8s.io/component-helpers/scheduling/corev1/nodeaffinity`
//! turns those into label requirements.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use serde_json::{Map, Value};

use crate::Error;

/// `metav1.LabelSelectorAsSelector(selector).Matches(labels)`: every `matchLabels` pair and
/// every `matchExpressions` requirement holds, so an empty selector matches everything. `None`
/// when an expression's operator is not one a label selector takes (`In`, `NotIn`, `Exists`,
/// `DoesNotExist`), which the conversion refuses. The API server, the workload controllers
/// and the engine all select through this one function.
pub fn label_selector_matches(
    selector: &meta::LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> Option<bool> {
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    for (k, v) in selector.match_labels.iter().flatten() {
        if get(k) != Some(v.as_str()) {
            return Some(false);
        }
    }
    for r in selector.match_expressions.iter().flatten() {
        let op = match r.operator.as_str() {
            "In" => LabelOp::In,
            "NotIn" => LabelOp::NotIn,
            "Exists" => LabelOp::Exists,
            "DoesNotExist" => LabelOp::DoesNotExist,
            _ => return None,
        };
        if !op.matches(r.values.as_deref().unwrap_or_default(), get(&r.key)) {
            return Some(false);
        }
    }
    Some(true)
}

/// A label selector operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelOp {
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key=v` or `key==v`
    Equals,
    /// `key!=v`
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`
    NotIn,
    /// `key>3`
    GreaterThan,
    /// `key<3`
    LessThan,
}

impl LabelOp {
    /// A node selector requirement's operator (`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`,
    /// `Lt`); `None` for anything else, which matches no node.
    pub fn from_node_selector_operator(op: &str) -> Option<LabelOp> {
        Some(match op {
            "In" => LabelOp::In,
            "NotIn" => LabelOp::NotIn,
            "Exists" => LabelOp::Exists,
            "DoesNotExist" => LabelOp::DoesNotExist,
            "Gt" => LabelOp::GreaterThan,
            "Lt" => LabelOp::LessThan,
            _ => return None,
        })
    }

    /// `labels.Requirement.Matches`: does a label's `value` (`None` when the key is absent)
    /// satisfy this operator with `values`? `Gt`/`Lt` compare integers against the first value
    /// and fail when either does not parse.
    pub fn matches(&self, values: &[String], value: Option<&str>) -> bool {
        match self {
            LabelOp::Exists => value.is_some(),
            LabelOp::DoesNotExist => value.is_none(),
            LabelOp::Equals | LabelOp::In => value.is_some_and(|v| values.iter().any(|x| x == v)),
            LabelOp::NotEquals | LabelOp::NotIn => {
                value.is_none_or(|v| !values.iter().any(|x| x == v))
            }
            LabelOp::GreaterThan | LabelOp::LessThan => {
                let (Some(v), Some(limit)) = (value, values.first()) else {
                    return false;
                };
                let (Ok(v), Ok(limit)) = (v.parse::<i64>(), limit.parse::<i64>()) else {
                    return false;
                };
                if *self == LabelOp::GreaterThan {
                    v > limit
                } else {
                    v < limit
                }
            }
        }
    }
}

/// One `key op values` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub op: LabelOp,
    /// Values (sorted, deduplicated).
    pub values: Vec<String>,
}

/// A parsed label selector; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(pub Vec<Requirement>);

impl LabelSelector {
    /// Parse selector syntax (`app=web,tier in (a,b),!legacy`).
    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::parse_text(s).map_err(Error::Selector)
    }

    fn parse_text(s: &str) -> Result<Self, String> {
        let items = lex(s)?;
        let mut p = Parser { items, pos: 0 };
        let mut reqs = p.parse()?;
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector(reqs))
    }

    /// Does an object's `metadata.labels` satisfy every requirement?
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| r.op.matches(&r.values, get(&r.key)))
    }

    /// Is this the match-everything selector?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Error,
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::ClosedPar,
        "," => Tok::Comma,
        "!" => Tok::DoesNotExist,
        "==" => Tok::DoubleEquals,
        "=" => Tok::Equals,
        ">" => Tok::GreaterThan,
        "in" => Tok::In,
        "<" => Tok::LessThan,
        "!=" => Tok::NotEquals,
        "notin" => Tok::NotIn,
        "(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn lex(s: &str) -> Result<Vec<(Tok, String)>, String> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < b.len() && is_space(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            out.push((Tok::End, String::new()));
            return Ok(out);
        }
        if is_special(b[pos]) {
            // Longest special-symbol token that is a known operator.
            let mut buf = String::new();
            let mut last: Option<(Tok, String, usize)> = None;
            let mut i = pos;
            while i < b.len() && is_special(b[i]) {
                buf.push(b[i] as char);
                if let Some(t) = keyword(&buf) {
                    last = Some((t, buf.clone(), i + 1));
                } else if last.is_some() {
                    break;
                }
                i += 1;
            }
            match last {
                Some((t, lit, end)) => {
                    out.push((t, lit));
                    pos = end;
                }
                None => {
                    out.push((Tok::Error, format!("error expected: keyword found '{buf}'")));
                    pos = i;
                }
            }
        } else {
            let start = pos;
            while pos < b.len() && !is_special(b[pos]) && !is_space(b[pos]) {
                pos += 1;
            }
            let word = String::from_utf8_lossy(&b[start..pos]).into_owned();
            match keyword(&word) {
                Some(t) => out.push((t, word)),
                None => out.push((Tok::Identifier, word)),
            }
        }
    }
}

struct Parser {
    items: Vec<(Tok, String)>,
    pos: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    KeyAndOperator,
    Values,
}

impl Parser {
    fn at(&self, i: usize) -> (Tok, String) {
        self.items
            .get(i)
            .cloned()
            .unwrap_or((Tok::End, String::new()))
    }

    fn lookahead(&self, ctx: Ctx) -> (Tok, String) {
        let (mut t, l) = self.at(self.pos);
        if ctx == Ctx::Values && matches!(t, Tok::In | Tok::NotIn) {
            t = Tok::Identifier;
        }
        (t, l)
    }

    fn consume(&mut self, ctx: Ctx) -> (Tok, String) {
        let r = self.lookahead(ctx);
        self.pos += 1;
        r
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (t, lit) = self.lookahead(Ctx::Values);
            match t {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.consume(Ctx::Values);
                    match t {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.lookahead(Ctx::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Tok::End => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut op = None;
        let (mut t, mut lit) = self.consume(Ctx::Values);
        if t == Tok::DoesNotExist {
            op = Some(LabelOp::DoesNotExist);
            (t, lit) = self.consume(Ctx::Values);
        }
        if t != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let key = lit;
        let errs = crate::validation::qualified_name(&key);
        if !errs.is_empty() {
            return Err(format!(
                "<nil>: Invalid value: {}: {}",
                crate::validation::quote(&key),
                errs.join("; ")
            ));
        }
        let (next, _) = self.lookahead(Ctx::Values);
        if matches!(next, Tok::End | Tok::Comma) {
            let op = op.unwrap_or(LabelOp::Exists);
            return Ok(Requirement {
                key,
                op,
                values: vec![],
            });
        }
        if op == Some(LabelOp::DoesNotExist) {
            // `!key=v`: the requirement ends at the key; the caller then trips over `=`.
            return Ok(Requirement {
                key,
                op: LabelOp::DoesNotExist,
                values: vec![],
            });
        }
        let (t, lit) = self.consume(Ctx::KeyAndOperator);
        let op = match t {
            Tok::In => LabelOp::In,
            Tok::Equals | Tok::DoubleEquals => LabelOp::Equals,
            Tok::GreaterThan => LabelOp::GreaterThan,
            Tok::LessThan => LabelOp::LessThan,
            Tok::NotIn => LabelOp::NotIn,
            Tok::NotEquals => LabelOp::NotEquals,
            _ => {
                return Err(format!(
                    "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                ));
            }
        };
        let mut values = match op {
            LabelOp::In | LabelOp::NotIn => self.set_values()?,
            _ => self.exact_value()?,
        };
        values.sort();
        values.dedup();
        for v in &values {
            let errs = crate::validation::label_value(v);
            if !errs.is_empty() {
                return Err(format!(
                    "values[0][{key}]: Invalid value: {}: {}",
                    crate::validation::quote(v),
                    errs.join("; ")
                ));
            }
        }
        if matches!(op, LabelOp::GreaterThan | LabelOp::LessThan)
            && values.first().and_then(|v| v.parse::<i64>().ok()).is_none()
        {
            return Err(
                "values[0]: Invalid value: for 'Gt', 'Lt' operators, the value must be an integer"
                    .to_string(),
            );
        }
        Ok(Requirement { key, op, values })
    }

    fn set_values(&mut self) -> Result<Vec<String>, String> {
        let (t, lit) = self.consume(Ctx::Values);
        if t != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (t, lit) = self.lookahead(Ctx::Values);
        match t {
            Tok::Identifier | Tok::Comma => {
                let s = self.identifiers()?;
                let (t, _) = self.consume(Ctx::Values);
                if t != Tok::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(s)
            }
            Tok::ClosedPar => {
                self.consume(Ctx::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut s: Vec<String> = Vec::new();
        loop {
            let (t, lit) = self.consume(Ctx::Values);
            match t {
                Tok::Identifier => {
                    s.push(lit);
                    let (t2, l2) = self.lookahead(Ctx::Values);
                    match t2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(s),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if s.is_empty() {
                        s.push(String::new());
                    }
                    let (t2, _) = self.lookahead(Ctx::Values);
                    if t2 == Tok::ClosedPar {
                        s.push(String::new());
                        return Ok(s);
                    }
                    if t2 == Tok::Comma {
                        s.push(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        let (t, _) = self.lookahead(Ctx::Values);
        if matches!(t, Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        let (t, lit) = self.consume(Ctx::Values);
        if t == Tok::Identifier {
            Ok(vec![lit])
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

/// One field selector term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    /// Field path such as `status.phase`.
    pub field: String,
    /// `true` for `!=`.
    pub negate: bool,
    /// Expected value (unescaped).
    pub value: String,
}

/// A parsed field selector; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<FieldTerm>);

impl FieldSelector {
    /// Parse `a=b,c!=d` with backslash escapes, as `fields.ParseSelector` does.
    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::parse_text(s).map_err(Error::Selector)
    }

    fn parse_text(s: &str) -> Result<Self, String> {
        let mut terms = split_terms(s);
        terms.sort();
        let mut out = Vec::new();
        for part in terms {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(&part) else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let value = unescape(rhs)?;
            out.push(FieldTerm {
                field: lhs.to_string(),
                negate: op == "!=",
                value,
            });
        }
        Ok(FieldSelector(out))
    }

    /// Check every term against a field lookup.
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|t| {
            let v = lookup(&t.field).unwrap_or_default();
            (v == t.value) != t.negate
        })
    }
}

fn split_terms(s: &str) -> Vec<String> {
    if s.is_empty() {
        return vec![];
    }
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    terms.push(cur);
    terms
}

fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if rest.starts_with(op) {
                return Some((&term[..i], op, &term[i + op.len()..]));
            }
        }
    }
    None
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ ('\\' | ',' | '=')) => out.push(n),
                Some(n) => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{n}"
                    ));
                }
                None => {
                    return Err("invalid field selector: invalid escape sequence: \\".to_string());
                }
            },
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped {c} in value: {s}"
                ));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn node_selector_operators_match_like_node_affinity() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let op = |o: &str| LabelOp::from_node_selector_operator(o).unwrap();
        assert!(op("In").matches(&v(&["a", "b"]), Some("b")));
        assert!(!op("In").matches(&v(&["a"]), None));
        assert!(op("NotIn").matches(&v(&["a"]), None));
        assert!(!op("NotIn").matches(&v(&["a"]), Some("a")));
        assert!(op("Exists").matches(&[], Some("")));
        assert!(op("DoesNotExist").matches(&[], None));
        assert!(op("Gt").matches(&v(&["3"]), Some("4")));
        assert!(!op("Gt").matches(&v(&["3"]), Some("3")));
        assert!(op("Lt").matches(&v(&["3"]), Some("-1")));
        assert!(
            !op("Lt").matches(&v(&["x"]), Some("1")),
            "an unparsable bound"
        );
        assert!(
            !op("Gt").matches(&v(&["1"]), Some("two")),
            "an unparsable value"
        );
        assert!(!op("Gt").matches(&v(&["1"]), None));
        assert_eq!(LabelOp::from_node_selector_operator("Equals"), None);
    }

    #[test]
    fn label_operators() {
        let l = labels(json!({"app":"web","tier":"front","n":"5"}));
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(Some(&l));
        assert!(m("app=web"));
        assert!(m("app==web"));
        assert!(!m("app!=web"));
        assert!(m("tier in (front,back)"));
        assert!(!m("tier notin (front)"));
        assert!(m("app"));
        assert!(m("!missing"));
        assert!(!m("!app"));
        assert!(m("n>3,n<6"));
        assert!(m(""));
    }

    #[test]
    fn label_errors_match_apimachinery() {
        assert_eq!(
            LabelSelector::parse("a b").unwrap_err().to_string(),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(
            LabelSelector::parse("a=b c").unwrap_err().to_string(),
            "found 'c', expected: ',' or 'end of string'"
        );
        assert_eq!(
            LabelSelector::parse("a in b").unwrap_err().to_string(),
            "unable to parse requirement: found 'b' expected: '('"
        );
        assert_eq!(
            LabelSelector::parse("=x").unwrap_err().to_string(),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert!(
            LabelSelector::parse("a,")
                .unwrap_err()
                .to_string()
                .contains("expected: identifier after ','")
        );
    }

    #[test]
    fn field_selectors() {
        let s = FieldSelector::parse("status.phase!=Failed,metadata.name=web").unwrap();
        assert!(s.matches(|f| Some(if f == "status.phase" {
            "Running".into()
        } else {
            "web".into()
        })));
        assert_eq!(
            FieldSelector::parse("foo").unwrap_err().to_string(),
            "invalid selector: 'foo'; can't understand 'foo'"
        );
        let s = FieldSelector::parse("involvedObject.namespace=").unwrap();
        assert!(s.matches(|_| Some(String::new())));
    }
}

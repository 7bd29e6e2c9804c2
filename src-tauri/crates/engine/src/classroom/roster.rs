//! The roster: who is in the class, from a `names.txt` the teacher writes.
//!
//! One name per line; blank lines and lines starting with `#` are ignored; names are trimmed
//! and lower-cased. A name becomes part of Kubernetes names (`kq-<name>-<mission>`,
//! `learner-<name>`), so it must be a DNS-1123 label of at most
//! [`MAX_LEARNER_CHARS`](super::MAX_LEARNER_CHARS) characters, and not `teacher` (the teacher's
//! kubeconfig is `teacher.kubeconfig`). Every bad or repeated name is reported with its line and
//! a suggestion, all at once, and nothing is created while the roster is bad.

use super::{ClassError, MAX_LEARNER_CHARS, TEACHER_ACCOUNT, is_dns_label};

/// The learners of a class, in roster order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    /// Valid, distinct learner names (lower-case DNS labels, never `teacher`).
    pub learners: Vec<String>,
}

/// One refused line of a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterProblem {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

/// A DNS-label version of `name` to suggest: lower-case, every run of other characters turned
/// into one `-`, cut to the limit.
fn suggestion(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut s: String = out
        .trim_matches('-')
        .chars()
        .take(MAX_LEARNER_CHARS)
        .collect();
    while s.ends_with('-') {
        s.pop();
    }
    s
}

impl Roster {
    /// Parses a roster's text; `file` names it in errors (`names.txt:4: …`).
    pub fn parse(file: &str, text: &str) -> Result<Roster, ClassError> {
        let mut learners: Vec<(String, usize)> = Vec::new();
        let mut problems = Vec::new();
        // A roster saved by Windows Notepad may start with a byte order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let name = trimmed.to_lowercase();
            let message = if name.chars().count() > MAX_LEARNER_CHARS {
                let s = suggestion(&name);
                Some(format!(
                    "\"{trimmed}\" is longer than {MAX_LEARNER_CHARS} characters, which the \
                     learner's namespace names cannot hold: shorten it (for example {s})"
                ))
            } else if !is_dns_label(&name, MAX_LEARNER_CHARS) {
                let s = suggestion(&name);
                let example = if s.is_empty() {
                    "learner-1".to_owned()
                } else {
                    s
                };
                Some(format!(
                    "\"{trimmed}\" is not a valid learner name: use lower-case letters, digits \
                     and '-' (for example {example})"
                ))
            } else if name == TEACHER_ACCOUNT {
                Some(format!(
                    "\"{trimmed}\" is the teacher's own account: give the learner another name \
                     (for example {TEACHER_ACCOUNT}-1)"
                ))
            } else if let Some((_, first)) = learners.iter().find(|(n, _)| *n == name) {
                Some(format!(
                    "\"{trimmed}\" is already on line {first}: give each learner a different \
                     name (for example {name}-2)"
                ))
            } else {
                None
            };
            match message {
                Some(message) => problems.push(RosterProblem { line, message }),
                None => learners.push((name, line)),
            }
        }
        if !problems.is_empty() {
            return Err(ClassError::Roster {
                file: file.to_owned(),
                problems,
            });
        }
        if learners.is_empty() {
            return Err(ClassError::EmptyRoster {
                file: file.to_owned(),
            });
        }
        Ok(Roster {
            learners: learners.into_iter().map(|(n, _)| n).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusals(text: &str) -> String {
        match Roster::parse("names.txt", text) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("the roster should be refused, got {r:?}"),
        }
    }

    #[test]
    fn names_are_trimmed_and_lower_cased_comments_and_blanks_skipped() {
        let r = Roster::parse(
            "names.txt",
            "\u{feff}# class 3B\r\n\r\n  Ada \r\nbob-2\n\t\ncharlie\n",
        )
        .unwrap();
        assert_eq!(r.learners, ["ada", "bob-2", "charlie"]);
    }

    #[test]
    fn a_name_with_a_space_is_refused_with_its_line_and_a_suggestion() {
        assert_eq!(
            refusals("ada\nbob\n# x\nAda Lovelace\n"),
            "names.txt:4: \"Ada Lovelace\" is not a valid learner name: use lower-case \
             letters, digits and '-' (for example ada-lovelace)"
        );
    }

    #[test]
    fn every_refusal_is_listed_each_on_its_line() {
        let text = "ada\n-bob\nteacher\nADA\nabcdefghijklmnopqrstuvwxyz\n__\n";
        let lines: Vec<String> = refusals(text).lines().map(str::to_owned).collect();
        assert_eq!(
            lines,
            [
                "names.txt:2: \"-bob\" is not a valid learner name: use lower-case letters, \
                 digits and '-' (for example bob)",
                "names.txt:3: \"teacher\" is the teacher's own account: give the learner \
                 another name (for example teacher-1)",
                "names.txt:4: \"ADA\" is already on line 1: give each learner a different name \
                 (for example ada-2)",
                "names.txt:5: \"abcdefghijklmnopqrstuvwxyz\" is longer than 20 characters, \
                 which the learner's namespace names cannot hold: shorten it (for example \
                 abcdefghijklmnopqrst)",
                "names.txt:6: \"__\" is not a valid learner name: use lower-case letters, \
                 digits and '-' (for example learner-1)",
            ]
        );
    }

    #[test]
    fn an_empty_roster_is_refused() {
        assert_eq!(
            refusals("# nobody yet\n\n"),
            "names.txt: no learners: write one learner name per line (lines starting with # \
             are ignored)"
        );
    }
}

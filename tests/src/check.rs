//! Checks on what a kubectl run printed, shared by the tests that drive real kubectl.
//!
//! Each check returns a [`Step`]: `Ok(())` when the learner would see what the test expects,
//! otherwise an error naming the expectation (`why`) and the whole run (command, exit code,
//! stdout and stderr), so a failing version explains itself without a rerun. A scenario chains
//! them with `?` and the first mismatch ends it.
//!
//! Checks that look alike but read output differently keep different names (`header` splits
//! columns on two spaces, `header_words` on any whitespace; `has_line` looks within one line,
//! `has_words` across the whole output), so a test's expectation never changes silently.

use std::time::{Duration, Instant};

use crate::cluster::{Kubectl, Run};

/// One step of a kubectl scenario: `Err` carries what went wrong, for the failure report.
pub type Step = Result<(), String>;

/// The run exited 0.
pub fn ok(run: &Run) -> Step {
    if run.ok() {
        Ok(())
    } else {
        Err(format!("expected success: {run}"))
    }
}

/// `text` appears in stdout or stderr.
pub fn has(run: &Run, text: &str, why: &str) -> Step {
    if run.stdout.contains(text) || run.stderr.contains(text) {
        Ok(())
    } else {
        Err(format!("{why}: expected to see {text:?} in {run}"))
    }
}

/// `text` appears in neither stdout nor stderr.
pub fn lacks(run: &Run, text: &str, why: &str) -> Step {
    if run.stdout.contains(text) || run.stderr.contains(text) {
        Err(format!("{why}: did not expect {text:?} in {run}"))
    } else {
        Ok(())
    }
}

/// The run failed (non-zero exit) and printed `text`.
pub fn fails_with(run: &Run, text: &str, why: &str) -> Step {
    if run.ok() {
        return Err(format!("{why}: expected a failure: {run}"));
    }
    has(run, text, why)
}

/// The run succeeded and its stdout, trimmed, is exactly `want`.
pub fn equals(run: &Run, want: &str, why: &str) -> Step {
    ok(run)?;
    if run.stdout.trim() == want {
        Ok(())
    } else {
        Err(format!("{why}: expected {want:?}, got {run}"))
    }
}

/// Like [`has`] on stdout only, with every run of whitespace (kubectl's tab alignment) in
/// both the output and `text` read as one space; the match may span lines.
pub fn has_words(run: &Run, text: &str, why: &str) -> Step {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let want = norm(text);
    if norm(&run.stdout).contains(&want) {
        Ok(())
    } else {
        Err(format!("{why}: expected to see {want:?} in {run}"))
    }
}

/// Some single line of stdout, with runs of spaces collapsed to one, contains `text`.
pub fn has_line(run: &Run, text: &str, why: &str) -> Step {
    let found = run.stdout.lines().any(|l| {
        l.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(text)
    });
    if found {
        Ok(())
    } else {
        Err(format!("{why}: expected a line with {text:?} in {run}"))
    }
}

/// The lines of stdout, each split on whitespace.
pub fn rows(run: &Run) -> Vec<Vec<String>> {
    run.stdout
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Some line of stdout starts with these whitespace-separated words, in order.
pub fn has_row(run: &Run, words: &[&str], why: &str) -> Step {
    let found = run.stdout.lines().any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.len() >= words.len() && cols[..words.len()] == *words
    });
    if found {
        Ok(())
    } else {
        Err(format!("{why}: expected a row starting {words:?} in {run}"))
    }
}

/// The column headers of stdout's first line are exactly `cols`. Columns are separated by
/// at least two spaces, so `LAST SCHEDULE` and `NODE SELECTOR` stay one header.
pub fn header(run: &Run, cols: &[&str], why: &str) -> Step {
    let first = run.stdout.lines().next().unwrap_or_default();
    let got: Vec<&str> = first
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if got == cols {
        Ok(())
    } else {
        Err(format!("{why}: header {got:?} != {cols:?} in {run}"))
    }
}

/// The words of stdout's first line are exactly `cols` (any whitespace separates, so a
/// two-word header counts as two entries).
pub fn header_words(run: &Run, cols: &[&str], why: &str) -> Step {
    let first = run.stdout.lines().next().unwrap_or_default();
    let got: Vec<&str> = first.split_whitespace().collect();
    if got == cols {
        Ok(())
    } else {
        Err(format!("{why}: header {got:?}, expected {cols:?} in {run}"))
    }
}

/// `cond` holds; otherwise the error `why` builds.
pub fn expect(cond: bool, why: impl FnOnce() -> String) -> Step {
    if cond { Ok(()) } else { Err(why()) }
}

/// Run `args` again, `pause` apart, until `check` passes; after `limit` of real time the
/// last check's error is the answer. Every read is bounded by kubectl's own 60 s limit.
pub fn retry_until(
    k: &Kubectl,
    args: &[&str],
    limit: Duration,
    pause: Duration,
    check: impl Fn(&Run) -> Step,
) -> Step {
    let start = Instant::now();
    loop {
        let r = k.run(args);
        match check(&r) {
            Ok(()) => return Ok(()),
            Err(e) if start.elapsed() > limit => return Err(e),
            Err(_) => std::thread::sleep(pause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: i32, stdout: &str) -> Run {
        Run {
            cmd: "kubectl get pods".into(),
            code,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    const TABLE: &str = "NAME   READY   STATUS    RESTARTS   AGE\n\
                         web    1/1     Running   0          5s\n";

    #[test]
    fn rows_match_leading_words_only() {
        let r = run(0, TABLE);
        assert!(has_row(&r, &["web", "1/1", "Running"], "row").is_ok());
        assert!(has_row(&r, &["1/1", "Running"], "not leading").is_err());
        assert!(has_line(&r, "1/1 Running", "inside a line").is_ok());
        assert!(has_words(&r, "AGE web", "across lines").is_ok());
        assert!(has_line(&r, "AGE web", "not across lines").is_err());
    }

    #[test]
    fn the_two_header_checks_split_columns_differently() {
        let r = run(0, "NAME   LAST SCHEDULE   AGE\n");
        assert!(header(&r, &["NAME", "LAST SCHEDULE", "AGE"], "two spaces").is_ok());
        assert!(header_words(&r, &["NAME", "LAST", "SCHEDULE", "AGE"], "words").is_ok());
        assert!(header_words(&r, &["NAME", "LAST SCHEDULE", "AGE"], "words").is_err());
    }

    #[test]
    fn exit_codes_and_texts() {
        let failed = run(1, "Error from server (NotFound): pods \"x\" not found\n");
        assert!(ok(&failed).is_err());
        assert!(fails_with(&failed, "NotFound", "refused").is_ok());
        assert!(fails_with(&run(0, "NotFound"), "NotFound", "succeeded").is_err());
        assert!(lacks(&failed, "Running", "absent").is_ok());
        assert!(equals(&run(0, "nginx:1.27\n"), "nginx:1.27", "trimmed").is_ok());
        assert!(equals(&run(1, "nginx:1.27\n"), "nginx:1.27", "failed").is_err());
    }
}

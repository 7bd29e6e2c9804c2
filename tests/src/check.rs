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

use crate::cluster::Run;

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

//! The hint ladder: hints are revealed one at a time, gentle first, explicit last.
//!
//! The number revealed is stored in progress (`hintsUsed`), so the ladder is rebuilt from it and
//! never shows a hint the learner did not ask for.

/// A mission's hints and how many are revealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintLadder<'a> {
    hints: &'a [String],
    revealed: usize,
}

impl<'a> HintLadder<'a> {
    /// A ladder with `revealed` hints already shown (clamped to the number of hints).
    pub fn new(hints: &'a [String], revealed: usize) -> HintLadder<'a> {
        HintLadder {
            hints,
            revealed: revealed.min(hints.len()),
        }
    }

    /// The hints shown so far.
    pub fn revealed(&self) -> &'a [String] {
        &self.hints[..self.revealed]
    }

    /// How many hints are shown.
    pub fn revealed_count(&self) -> usize {
        self.revealed
    }

    /// How many are left.
    pub fn remaining(&self) -> usize {
        self.hints.len() - self.revealed
    }

    /// Reveals the next hint, or `None` when all are shown.
    pub fn reveal_next(&mut self) -> Option<&'a str> {
        let hint = self.hints.get(self.revealed)?;
        self.revealed += 1;
        Some(hint)
    }
}

//! The simulated pseudo-terminal of `kubectl exec -t` and of a container with `tty: true`:
//! the part of the Linux tty line discipline (`n_tty`) a learner notices, in its default
//! cooked mode (`stty sane`: `ICANON ECHO ECHOE ECHOCTL ICRNL ONLCR ISIG`).
//!
//! Input: keystrokes are echoed back; `\r` is read as `\n` (ICRNL); a line reaches the process
//! only when it is complete (ICANON); DEL (0x7f) erases the last character on screen
//! (`\b \b`); ^C (0x03) discards the line, echoes `^C` and interrupts (ISIG); ^D (0x04) at the
//! start of a line is end-of-file, elsewhere it hands over the partial line; other control
//! characters echo as `^X` (ECHOCTL). Output: every `\n` the process writes leaves the
//! terminal as `\r\n` (ONLCR); a terminal has one output, so stderr shares stdout.

/// What a chunk of keystrokes asks of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TtyInput {
    /// Bytes for the process to read (a complete line, or a partial one handed over by ^D).
    Feed(Vec<u8>),
    /// End-of-file (^D on an empty line).
    Eof,
    /// SIGINT (^C).
    Interrupt,
}

/// The line being edited, between keystrokes.
#[derive(Debug, Default)]
pub(crate) struct LineDiscipline {
    line: Vec<u8>,
}

/// How many bytes one line may hold (Linux's `N_TTY_BUF_SIZE`); keystrokes past it are dropped.
const MAX_LINE: usize = 4096;

impl LineDiscipline {
    pub(crate) fn new() -> Self {
        LineDiscipline::default()
    }

    /// Handle keystrokes: what to echo to the terminal, and what the process gets.
    pub(crate) fn input(&mut self, bytes: &[u8]) -> (Vec<u8>, Vec<TtyInput>) {
        let mut echo = Vec::new();
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'\r' | b'\n' => {
                    echo.extend_from_slice(b"\r\n");
                    let mut line = std::mem::take(&mut self.line);
                    line.push(b'\n');
                    out.push(TtyInput::Feed(line));
                }
                0x7f | 0x08 => {
                    if self.pop_char() {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
                0x03 => {
                    self.line.clear();
                    echo.extend_from_slice(b"^C");
                    out.push(TtyInput::Interrupt);
                }
                0x04 => {
                    if self.line.is_empty() {
                        out.push(TtyInput::Eof);
                    } else {
                        out.push(TtyInput::Feed(std::mem::take(&mut self.line)));
                    }
                }
                b'\t' => self.push(b, &mut echo, b"\t"),
                c if c < 0x20 => self.push(c, &mut echo, &[b'^', c + 0x40]),
                c => self.push(c, &mut echo, &[c]),
            }
        }
        (echo, out)
    }

    fn push(&mut self, b: u8, echo: &mut Vec<u8>, shown: &[u8]) {
        if self.line.len() < MAX_LINE {
            self.line.push(b);
            echo.extend_from_slice(shown);
        }
    }

    /// Remove the last character (all bytes of a UTF-8 sequence); whether there was one.
    fn pop_char(&mut self) -> bool {
        let Some(mut last) = self.line.pop() else {
            return false;
        };
        while last & 0xc0 == 0x80 {
            match self.line.pop() {
                Some(b) => last = b,
                None => break,
            }
        }
        true
    }
}

/// Output post-processing (ONLCR): `\n` becomes `\r\n`.
pub(crate) fn onlcr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_echoed_and_delivered_on_return() {
        let mut ld = LineDiscipline::new();
        let (echo, out) = ld.input(b"echo x");
        assert_eq!(echo, b"echo x");
        assert!(out.is_empty());
        let (echo, out) = ld.input(b"\r");
        assert_eq!(echo, b"\r\n");
        assert_eq!(out, vec![TtyInput::Feed(b"echo x\n".to_vec())]);
    }

    #[test]
    fn erase_interrupt_and_eof() {
        let mut ld = LineDiscipline::new();
        let (echo, _) = ld.input("lsé\x7f\x7fx\x7f\x7f\x7f".as_bytes());
        assert_eq!(echo, b"ls\xc3\xa9\x08 \x08\x08 \x08x\x08 \x08\x08 \x08");
        let (echo, out) = ld.input(b"sleep 9\x03");
        assert_eq!(echo, b"sleep 9^C");
        assert_eq!(out, vec![TtyInput::Interrupt]);
        let (_, out) = ld.input(b"ab\x04\x04");
        assert_eq!(
            out,
            vec![TtyInput::Feed(b"ab".to_vec()), TtyInput::Eof],
            "^D hands over a partial line, then is end-of-file"
        );
        let (echo, _) = ld.input(b"\x1b[A");
        assert_eq!(echo, b"^[[A");
    }

    #[test]
    fn output_newlines_become_crlf() {
        assert_eq!(onlcr(b"a\nb\r\n"), b"a\r\nb\r\r\n");
    }
}

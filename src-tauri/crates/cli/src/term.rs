//! What `kq play` prints, for a terminal or for a pipe.
//!
//! On a terminal (stdout is a TTY, `NO_COLOR` unset, `TERM` not `dumb`) the mission's live
//! status is one block at the bottom that is redrawn in place: the cursor moves back to the
//! block's first row, clears down, and draws it again. Lines that belong to the story (events,
//! hints, nudges) are printed above the block and scroll away like any output. Each status line
//! is cut to the terminal's width, so a long line never wraps and the block always takes the
//! rows it was counted as.
//!
//! Anywhere else (a pipe, a log file, `NO_COLOR`, a dumb terminal) nothing is redrawn: each
//! change of the status is appended as plain lines, only the entries that changed, so a log
//! reads as a sequence of changes rather than repeated blocks.
//!
//! Markdown (briefings, debriefs) is rendered from comrak's syntax tree: on a terminal with
//! bold headings, dimmed and indented code blocks, bullets, and links as `text (url)`; as plain
//! text otherwise.

use std::io::{IsTerminal, Write};

use comrak::nodes::{AstNode, ListType, NodeValue};
use comrak::{Arena, Options, parse_document};
use crossterm::style::{Attribute, SetAttribute};
use crossterm::{cursor, queue, terminal};

/// Whether stdout is a terminal that takes cursor movement and styles.
pub fn live_terminal() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    std::io::stdout().is_terminal() && !no_color && !dumb
}

/// One entry of the status block: a key that stays the same while its text changes (a pod, an
/// objective), and its text (one or more lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub text: String,
}

impl Entry {
    pub fn new(key: impl Into<String>, text: impl Into<String>) -> Self {
        Entry {
            key: key.into(),
            text: text.into(),
        }
    }
}

/// The live status and the lines printed above it.
pub struct StatusScreen {
    /// Redraw in place (a terminal) or append changes (anything else).
    live: bool,
    /// Rows the block took when last drawn (0 before the first draw); always the number of
    /// lines written after the last story line.
    drawn_rows: usize,
    /// The entries as last shown, to append only what changed when not live.
    shown: Vec<Entry>,
}

impl StatusScreen {
    pub fn new(live: bool) -> Self {
        StatusScreen {
            live,
            drawn_rows: 0,
            shown: Vec::new(),
        }
    }

    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Prints lines of the story above the status block (the block is drawn again below them
    /// by the next [`StatusScreen::show`]).
    pub fn story(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.live {
            self.erase(&mut out);
        }
        let _ = writeln!(out, "{}", text.trim_end_matches('\n'));
        if self.live {
            self.draw(&mut out);
        }
        let _ = out.flush();
    }

    /// Shows the status: redrawn in place on a terminal; elsewhere, the entries whose text
    /// changed, appended.
    pub fn show(&mut self, entries: Vec<Entry>) {
        let mut out = std::io::stdout().lock();
        if self.live {
            self.erase(&mut out);
            self.shown = entries;
            self.draw(&mut out);
        } else {
            for e in changed(&self.shown, &entries) {
                let _ = writeln!(out, "{}", e.text.trim_end_matches('\n'));
            }
            self.shown = entries;
        }
        let _ = out.flush();
    }

    /// Prints story lines and shows the new status in one redraw (a terminal is erased and
    /// drawn once, however many lines arrived together).
    pub fn update(&mut self, story: &[String], entries: Vec<Entry>) {
        if !self.live {
            if !story.is_empty() {
                let mut out = std::io::stdout().lock();
                for line in story {
                    let _ = writeln!(out, "{}", line.trim_end_matches('\n'));
                }
            }
            self.show(entries);
            return;
        }
        let mut out = std::io::stdout().lock();
        self.erase(&mut out);
        for line in story {
            let _ = writeln!(out, "{}", line.trim_end_matches('\n'));
        }
        self.shown = entries;
        self.draw(&mut out);
        let _ = out.flush();
    }

    /// Leaves the block on screen as it is and moves below it, for what follows (the debrief).
    pub fn finish(&mut self) {
        self.drawn_rows = 0;
    }

    fn erase(&mut self, out: &mut impl Write) {
        if self.drawn_rows > 0 {
            let rows = u16::try_from(self.drawn_rows).unwrap_or(u16::MAX);
            let _ = queue!(
                out,
                cursor::MoveToPreviousLine(rows),
                terminal::Clear(terminal::ClearType::FromCursorDown)
            );
        }
        self.drawn_rows = 0;
    }

    fn draw(&mut self, out: &mut impl Write) {
        let width = terminal::size().map_or(80, |(w, _)| usize::from(w)).max(20);
        // One column spare: writing into the last column makes some terminals wrap.
        let lines = block_lines(&self.shown, width - 1);
        for l in &lines {
            let _ = writeln!(out, "{l}");
        }
        self.drawn_rows = lines.len();
    }
}

/// The entries of `after` that are new or read differently from `before`.
pub fn changed<'a>(before: &[Entry], after: &'a [Entry]) -> Vec<&'a Entry> {
    after
        .iter()
        .filter(|e| !before.iter().any(|b| b.key == e.key && b.text == e.text))
        .collect()
}

/// The block's lines, each cut to `width` characters (with `…` where it was cut).
pub fn block_lines(entries: &[Entry], width: usize) -> Vec<String> {
    entries
        .iter()
        .flat_map(|e| e.text.trim_end_matches('\n').lines())
        .map(|l| cut(l, width))
        .collect()
}

fn cut(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        return line.to_owned();
    }
    let mut s: String = line.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// Markdown for the terminal: styled when `styled`, plain text otherwise.
pub fn markdown(md: &str, styled: bool) -> String {
    let arena = Arena::new();
    let mut opts = Options::default();
    opts.extension.table = true;
    opts.extension.strikethrough = true;
    opts.extension.autolink = true;
    let root = parse_document(&arena, md, &opts);
    let mut r = Renderer {
        styled,
        out: String::new(),
    };
    r.blocks(root, "");
    let mut text = r.out.trim_end().to_owned();
    text.push('\n');
    text
}

struct Renderer {
    styled: bool,
    out: String,
}

impl Renderer {
    fn style(&self, a: Attribute) -> String {
        if self.styled {
            SetAttribute(a).to_string()
        } else {
            String::new()
        }
    }

    /// A blank line between blocks (none at the very start).
    fn gap(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            if !self.out.ends_with('\n') {
                self.out.push('\n');
            }
            self.out.push('\n');
        }
    }

    fn blocks<'a>(&mut self, node: &'a AstNode<'a>, indent: &str) {
        for child in node.children() {
            self.block(child, indent);
        }
    }

    fn block<'a>(&mut self, node: &'a AstNode<'a>, indent: &str) {
        let value = node.data.borrow().value.clone();
        match value {
            NodeValue::Heading(_) => {
                self.gap();
                let text = self.inlines(node);
                let (on, off) = (self.style(Attribute::Bold), self.style(Attribute::Reset));
                self.out.push_str(&format!("{indent}{on}{text}{off}\n"));
            }
            NodeValue::Paragraph => {
                if !indent.ends_with("- ") && !indent.ends_with(". ") {
                    self.gap();
                }
                let text = self.inlines(node);
                let cont = " ".repeat(indent.chars().count());
                for (i, line) in text.lines().enumerate() {
                    let lead = if i == 0 { indent } else { &cont };
                    self.out.push_str(&format!("{lead}{line}\n"));
                }
            }
            NodeValue::CodeBlock(code) => {
                self.gap();
                let (on, off) = (self.style(Attribute::Dim), self.style(Attribute::Reset));
                let pad = " ".repeat(indent.chars().count());
                for line in code.literal.trim_end_matches('\n').lines() {
                    self.out.push_str(&format!("{pad}    {on}{line}{off}\n"));
                }
            }
            NodeValue::List(list) => {
                self.gap();
                let pad = " ".repeat(indent.chars().count());
                for (i, item) in node.children().enumerate() {
                    let marker = match list.list_type {
                        ListType::Bullet => format!("{pad}  - "),
                        ListType::Ordered => format!("{pad}  {}. ", list.start + i),
                    };
                    let cont = " ".repeat(marker.chars().count());
                    let mut first = true;
                    for part in item.children() {
                        if first {
                            self.block(part, &marker);
                            first = false;
                        } else {
                            self.block(part, &cont);
                        }
                    }
                }
            }
            NodeValue::BlockQuote => {
                self.gap();
                let inner = {
                    let mut r = Renderer {
                        styled: self.styled,
                        out: String::new(),
                    };
                    r.blocks(node, "");
                    r.out
                };
                for line in inner.trim_end().lines() {
                    self.out.push_str(&format!("{indent}> {line}\n"));
                }
            }
            NodeValue::ThematicBreak => {
                self.gap();
                self.out.push_str("---\n");
            }
            NodeValue::Table(_) => {
                self.gap();
                for row in node.children() {
                    let cells: Vec<String> = row.children().map(|c| self.inlines(c)).collect();
                    self.out
                        .push_str(&format!("{indent}{}\n", cells.join(" | ").trim_end()));
                }
            }
            // Raw HTML is not rendered anywhere in KubeQuest; its text is shown as written.
            NodeValue::HtmlBlock(html) => {
                self.gap();
                self.out.push_str(&html.literal);
            }
            _ => self.blocks(node, indent),
        }
    }

    /// The inline content of a block as one string (soft breaks become spaces).
    fn inlines<'a>(&self, node: &'a AstNode<'a>) -> String {
        let mut s = String::new();
        for child in node.children() {
            self.inline(child, &mut s);
        }
        s
    }

    fn inline<'a>(&self, node: &'a AstNode<'a>, s: &mut String) {
        let value = node.data.borrow().value.clone();
        match value {
            NodeValue::Text(t) => s.push_str(&t),
            NodeValue::SoftBreak => s.push(' '),
            NodeValue::LineBreak => s.push('\n'),
            NodeValue::Code(c) => {
                if self.styled {
                    s.push_str(&format!(
                        "{}{}{}",
                        self.style(Attribute::Bold),
                        c.literal,
                        self.style(Attribute::NormalIntensity)
                    ));
                } else {
                    s.push('`');
                    s.push_str(&c.literal);
                    s.push('`');
                }
            }
            NodeValue::Strong => {
                s.push_str(&self.style(Attribute::Bold));
                s.push_str(&self.inlines(node));
                s.push_str(&self.style(Attribute::NormalIntensity));
            }
            NodeValue::Emph => {
                s.push_str(&self.style(Attribute::Italic));
                s.push_str(&self.inlines(node));
                s.push_str(&self.style(Attribute::NoItalic));
            }
            NodeValue::Link(link) => {
                let text = self.inlines(node);
                if text == link.url || format!("mailto:{text}") == link.url {
                    s.push_str(&text);
                } else {
                    s.push_str(&format!("{text} ({})", link.url));
                }
            }
            NodeValue::Image(link) => {
                let text = self.inlines(node);
                s.push_str(&format!("[image: {text}] ({})", link.url));
            }
            NodeValue::HtmlInline(h) => s.push_str(&h),
            _ => s.push_str(&self.inlines(node)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBRIEF: &str = "# What happened\n\nThe pod asked for `nginx:nope`, see \
        [the docs](https://kubernetes.io/docs/concepts/containers/images/).\n\n\
        ## Commands\n\n- `kubectl describe pod web`\n- **set** the image\n\n\
        1. first\n2. second\n\n```sh\nkubectl get pods\nkubectl logs web\n```\n";

    #[test]
    fn plain_markdown_keeps_the_words_and_shows_links_with_their_address() {
        let text = markdown(DEBRIEF, false);
        assert_eq!(
            text,
            "What happened\n\nThe pod asked for `nginx:nope`, see the docs \
             (https://kubernetes.io/docs/concepts/containers/images/).\n\nCommands\n\n  - \
             `kubectl describe pod web`\n  - set the image\n\n  1. first\n  2. second\n\n    \
             kubectl get pods\n    kubectl logs web\n"
        );
        assert!(!text.contains('\x1b'), "no escape codes in plain text");
    }

    #[test]
    fn terminal_markdown_has_bold_headings_and_dimmed_code() {
        let text = markdown(DEBRIEF, true);
        assert!(
            text.starts_with("\x1b[1mWhat happened\x1b[0m\n"),
            "bold heading: {text:?}"
        );
        assert!(
            text.contains("    \x1b[2mkubectl get pods\x1b[0m\n"),
            "code block indented and dimmed: {text:?}"
        );
        assert!(
            text.contains("the docs (https://kubernetes.io/docs/concepts/containers/images/)"),
            "{text:?}"
        );
        assert!(!text.contains("```") && !text.contains("## "), "{text:?}");
    }

    #[test]
    fn a_pipe_gets_only_the_entries_that_changed() {
        let before = vec![
            Entry::new("pod/web", "web Pending"),
            Entry::new("o/1", "[ ] a"),
        ];
        let after = vec![
            Entry::new("pod/web", "web Running"),
            Entry::new("o/1", "[ ] a"),
            Entry::new("o/2", "[ ] b"),
        ];
        let texts: Vec<&str> = changed(&before, &after)
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(texts, ["web Running", "[ ] b"]);
    }

    #[test]
    fn block_lines_never_wrap() {
        let lines = block_lines(&[Entry::new("k", "short\nabcdefghijklmnop")], 10);
        assert_eq!(lines, ["short", "abcdefghi…"]);
    }
}

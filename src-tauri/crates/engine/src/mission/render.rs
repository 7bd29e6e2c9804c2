//! Briefings and debriefs to HTML, safely.
//!
//! Lessons may come from a teacher's folder, so their Markdown is untrusted. The renderer
//! (comrak, CommonMark + GFM tables, strikethrough and autolinks) guarantees:
//!
//! - **no raw HTML**: `<script>`, `<img onerror=…>`, `<iframe>` and friends are shown as text
//!   (escaped), never interpreted;
//! - **safe links only**: a link or image keeps its URL only if it is `http:`, `https:`,
//!   `mailto:` (links only) or an in-page anchor (`#section`); anything else (`javascript:`,
//!   `data:`, `file:`, relative paths that would navigate the app's webview away) is dropped and
//!   its text kept;
//! - code blocks carry `class="language-…"` for CSS highlighting, with no inline styles;
//! - headings get `id`s (slugs) so the UI can link to sections.

use comrak::nodes::NodeValue;
use comrak::{Arena, Options, format_html, parse_document};

fn options() -> Options<'static> {
    let mut o = Options::default();
    o.extension.table = true;
    o.extension.strikethrough = true;
    o.extension.autolink = true;
    o.extension.tasklist = true;
    o.extension.header_id_prefix = Some(String::new());
    // Raw HTML is escaped: a teacher sees their mistake, a learner sees harmless text.
    o.render.r#unsafe = false;
    o.render.escape = true;
    o
}

/// Whether a URL may stay in the rendered HTML.
pub fn is_safe_url(url: &str, image: bool) -> bool {
    let u = url.trim();
    if u.starts_with('#') {
        return !image;
    }
    // Browsers ignore ASCII whitespace and control characters inside a scheme; compare
    // without them.
    let cleaned: String = u
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect();
    let lower = cleaned.to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || (!image && lower.starts_with("mailto:"))
}

/// Renders lesson Markdown to safe HTML.
pub fn render_markdown(markdown: &str) -> String {
    let arena = Arena::new();
    let opts = options();
    let root = parse_document(&arena, markdown, &opts);
    let unsafe_nodes: Vec<_> = root
        .descendants()
        .filter(|n| match &n.data.borrow().value {
            NodeValue::Link(l) => !is_safe_url(&l.url, false),
            NodeValue::Image(l) => !is_safe_url(&l.url, true),
            _ => false,
        })
        .collect();
    for node in unsafe_nodes {
        // Keep the link text (or the image's alt text) in place of the element.
        let children: Vec<_> = node.children().collect();
        for child in children {
            node.insert_before(child);
        }
        node.detach();
    }
    let mut html = String::new();
    if format_html(root, &opts, &mut html).is_err() {
        // Formatting into a String cannot fail; an empty briefing is the safe fallback anyway.
        return String::new();
    }
    html
}

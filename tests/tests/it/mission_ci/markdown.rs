//! Reading a debrief: its Markdown sections, its rendered HTML and the kubectl commands in it.

/// The outline every debrief follows (../shared/seed/), as words its headings must contain.
pub(super) const OUTLINE: &[(&str, &[&str])] = &[
    ("what happened", &["what happened"]),
    ("how Kubernetes behaved", &["how kubernetes behaved"]),
    ("the correct mental model", &["mental model"]),
    (
        "a real-world incident",
        &["real-world incident", "real world incident"],
    ),
    ("commands you mastered", &["commands you mastered"]),
    ("prevention strategies", &["prevention"]),
    ("what's next", &["what's next"]),
];

/// Tags the safe renderer may emit for Markdown (anything else came from raw HTML).
pub(super) const MARKDOWN_TAGS: &[&str] = &[
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "input",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
];

pub(super) fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The names of every tag in `html`, lower-cased.
pub(super) fn tag_names(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|rest| {
            rest.trim_start_matches('/')
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect()
}

/// `html` without its tags.
pub(super) fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The text of every heading in the rendered HTML, lower-cased, in order.
pub(super) fn html_headings(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<h") {
        let after = &rest[i + 2..];
        let level = after.chars().next().filter(|c| ('1'..='6').contains(c));
        let Some(level) = level else {
            rest = after;
            continue;
        };
        let close = format!("</h{level}>");
        let (Some(open_end), Some(end)) = (after.find('>'), after.find(&close)) else {
            break;
        };
        if open_end < end {
            let text = unescape(&strip_tags(&after[open_end + 1..end]));
            out.push(text.replace('\u{2019}', "'").trim().to_lowercase());
        }
        rest = &after[end + close.len()..];
    }
    out
}

/// A Markdown section: a heading outside code fences and the lines up to the next heading of
/// the same or a higher level.
pub(super) struct Section {
    pub(super) title: String,
    pub(super) body: String,
}

pub(super) fn markdown_sections(md: &str) -> Vec<Section> {
    let mut heads: Vec<(usize, usize, String)> = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut fence: Option<&str> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if t.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if t.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let level = t.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level) && t[level..].starts_with(' ') {
            let title = t[level..].trim().replace('\u{2019}', "'").to_lowercase();
            heads.push((i, level, title));
        }
    }
    heads
        .iter()
        .enumerate()
        .map(|(k, (line, level, title))| {
            let end = heads[k + 1..]
                .iter()
                .find(|(_, l, _)| l <= level)
                .map_or(lines.len(), |(i, _, _)| *i);
            Section {
                title: title.clone(),
                body: lines[line + 1..end].join("\n"),
            }
        })
        .collect()
}

pub(super) fn section<'a>(sections: &'a [Section], needle: &str) -> &'a Section {
    sections
        .iter()
        .find(|s| s.title.contains(needle))
        .unwrap_or_else(|| panic!("the debrief has no section whose heading contains `{needle}`"))
}

/// The contents of every inline code span (single backticks).
pub(super) fn inline_code(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.trim().to_owned())
        .collect()
}

/// Every `kubectl …` command in Markdown: lines of code blocks (with `$ ` prompts, trailing
/// `# comments` and `\` continuations handled) and inline code spans.
pub(super) fn kubectl_commands(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut pending = String::new();
    for line in md.lines() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            let t = t.strip_prefix("$ ").unwrap_or(t);
            let t = t.split(" # ").next().unwrap_or(t);
            if !pending.is_empty() {
                pending.push(' ');
                pending.push_str(t.trim_end_matches('\\'));
            } else if t.starts_with("kubectl ") {
                pending = t.trim_end_matches('\\').to_owned();
            }
            if !pending.is_empty() && !t.ends_with('\\') {
                out.push(std::mem::take(&mut pending));
            }
        } else {
            out.extend(
                inline_code(t)
                    .into_iter()
                    .filter(|c| c.starts_with("kubectl ")),
            );
        }
    }
    out.into_iter().map(|c| normalize_command(&c)).collect()
}

pub(super) fn normalize_command(c: &str) -> String {
    c.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The same command, allowing its flags in another order.
pub(super) fn same_command(a: &str, b: &str) -> bool {
    pub(super) fn sorted(s: &str) -> Vec<&str> {
        let mut v: Vec<&str> = s.split_whitespace().collect();
        v.sort_unstable();
        v
    }
    a == b || sorted(a) == sorted(b)
}

/// The namespace a command names with `-n`/`--namespace`, if any.
pub(super) fn namespace_flag(cmd: &str) -> Option<String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    words.iter().enumerate().find_map(|(i, w)| {
        if *w == "-n" || *w == "--namespace" {
            words.get(i + 1).map(|s| (*s).to_owned())
        } else {
            w.strip_prefix("--namespace=")
                .or_else(|| w.strip_prefix("-n="))
                .map(str::to_owned)
        }
    })
}

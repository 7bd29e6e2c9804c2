//! Join codes: a short code per learner that fetches their kubeconfig from the embedded class
//! server, so a learner types `ABCD-EFGH` instead of copying a file across the room.
//!
//! A code is 8 characters of Crockford's base32 (`0-9`, `A-Z` without `I`, `L`, `O`, `U`):
//! 40 random bits, shown as `ABCD-EFGH`. Typing is forgiving as Crockford intends: any case,
//! the dash optional, spaces ignored, `I`/`L` read as `1` and `O` as `0`. A code is only
//! accepted while the teacher's `kq classroom serve` runs and until the class ends, and the
//! server answers more than ten bad codes a minute from one address with 429, so guessing one
//! of 2^40 is hopeless.
//!
//! [`join_with_code`] is the learner's side: `POST /kubequest/v1/join` with `{"code": …}`.
//! The learner does not have the class's CA yet (it is in the kubeconfig the answer carries),
//! so this one request cannot check the server's certificate: it skips verification, sends
//! nothing secret but the code, and what comes back is only trusted as far as it is checked
//! (a kubeconfig that parses and carries a learner's seat). Every later request goes through
//! that kubeconfig, which pins the class's CA.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use super::{ClassError, Seat};

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// The path of the join endpoint on the class server.
pub const JOIN_PATH: &str = "/kubequest/v1/join";
/// How long a join may take.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh random code, `ABCD-EFGH`.
pub fn new_join_code() -> String {
    // Bytes 0..5 of a v4 UUID are 40 bits straight from the operating system's generator.
    let u = uuid::Uuid::new_v4();
    let mut bits: u64 = 0;
    for b in &u.as_bytes()[..5] {
        bits = (bits << 8) | u64::from(*b);
    }
    let chars: String = (0..8)
        .rev()
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
        .collect();
    format_join_code(&chars)
}

/// `ABCDEFGH` as `ABCD-EFGH`.
pub fn format_join_code(code: &str) -> String {
    if code.len() == 8 && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}

/// A typed code in its canonical form `ABCD-EFGH`, or `None` if it is not a code.
pub fn normalise_join_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(8);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == 8).then(|| format_join_code(&out))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The join sheet as Markdown.
pub fn join_sheet_markdown(
    class: &str,
    server: &str,
    ends_at: Timestamp,
    codes: &[(String, String)],
) -> String {
    let mut out = format!(
        "# Join codes for class {class}\n\nClass server: `{server}` · the codes work while the \
         class server runs, until {ends_at}.\n\nIn KubeQuest choose **Join a class**, type the \
         class server address and your code. (On a cluster that is not a KubeQuest class \
         server, hand out the kubeconfig files instead.)\n\n| Learner | Code |\n|---|---|\n"
    );
    for (learner, code) in codes {
        out.push_str(&format!("| {learner} | `{code}` |\n"));
    }
    out
}

/// The join sheet as printable HTML: one card per learner, no scripts.
pub fn join_sheet_html(
    class: &str,
    server: &str,
    ends_at: Timestamp,
    codes: &[(String, String)],
) -> String {
    let (class, server) = (html_escape(class), html_escape(server));
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Join codes for class {class}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 1cm; }}\n\
         .cards {{ display: flex; flex-wrap: wrap; gap: 0.5cm; }}\n\
         .card {{ border: 1px dashed #444; padding: 0.5cm; width: 8cm; break-inside: avoid; }}\n\
         .code {{ font-family: monospace; font-size: 20pt; letter-spacing: 2pt; }}\n\
         @media print {{ h1, p.note {{ display: none; }} }}\n</style>\n</head>\n<body>\n\
         <h1>Join codes for class {class}</h1>\n<p class=\"note\">Cut along the dashed lines; \
         each learner gets their own card.</p>\n<div class=\"cards\">\n"
    );
    for (learner, code) in codes {
        out.push_str(&format!(
            "<div class=\"card\">\n<p>KubeQuest class <strong>{class}</strong> for \
             <strong>{}</strong></p>\n<p>Class server: <code>{server}</code></p>\n\
             <p>Join code: <span class=\"code\">{}</span></p>\n<p>In KubeQuest choose \
             <em>Join a class</em>. Works until {ends_at}.</p>\n</div>\n",
            html_escape(learner),
            html_escape(code),
        ));
    }
    out.push_str("</div>\n</body>\n</html>\n");
    out
}

/// Writes `DIR/join-sheet.md` and `DIR/join-sheet.html` (0600: the codes are credentials
/// while the class server runs); answers the Markdown file's path.
pub fn write_join_sheets(
    out: &Path,
    class: &str,
    server: &str,
    ends_at: Timestamp,
    codes: &[(String, String)],
) -> Result<PathBuf, ClassError> {
    let md = out.join("join-sheet.md");
    super::write_kubeconfig(&md, &join_sheet_markdown(class, server, ends_at, codes))?;
    super::write_kubeconfig(
        &out.join("join-sheet.html"),
        &join_sheet_html(class, server, ends_at, codes),
    )?;
    Ok(md)
}

/// The class server's base URL from what the learner typed: `192.168.1.20:6443`,
/// `https://192.168.1.20:6443/`, `[fe80::1]:6443`.
pub fn server_url(typed: &str) -> Result<hyper::Uri, ClassError> {
    let bad = || ClassError::BadServer {
        server: typed.to_owned(),
    };
    let t = typed.trim().trim_end_matches('/');
    if t.is_empty() || t.starts_with("http://") || t.contains(char::is_whitespace) {
        return Err(bad());
    }
    let with_scheme = if t.starts_with("https://") {
        t.to_owned()
    } else if t.contains("://") {
        return Err(bad());
    } else {
        format!("https://{t}")
    };
    let uri: hyper::Uri = with_scheme.parse().map_err(|_| bad())?;
    if uri.host().is_none_or(str::is_empty)
        || uri
            .path_and_query()
            .is_some_and(|p| p.as_str() != "/" && !p.as_str().is_empty())
    {
        return Err(bad());
    }
    Ok(uri)
}

/// Fetches a learner's kubeconfig from the class server at `server` with a join code: answers
/// `(learner, kubeconfig YAML)`. The request skips certificate verification (see the module
/// docs); the kubeconfig must parse and carry a learner's seat.
pub async fn join_with_code(server: &str, code: &str) -> Result<(String, String), ClassError> {
    let code = normalise_join_code(code).ok_or_else(|| ClassError::BadJoinCode {
        code: code.trim().to_owned(),
    })?;
    let uri = server_url(server)?;
    let shown = uri.to_string().trim_end_matches('/').to_owned();
    let mut config = kube::Config::new(uri);
    // The CA arrives in the answer; see the module docs.
    config.accept_invalid_certs = true;
    config.connect_timeout = Some(JOIN_TIMEOUT);
    config.read_timeout = Some(JOIN_TIMEOUT);
    config.write_timeout = Some(JOIN_TIMEOUT);
    // A 429 means "wait a minute", not "retry now".
    config.default_retry = false;
    let failed = |detail: String| ClassError::JoinFailed {
        server: shown.clone(),
        detail,
    };
    let client = kube::Client::try_from(config).map_err(|e| failed(e.to_string()))?;
    let body = serde_json::to_vec(&serde_json::json!({ "code": code }))
        .map_err(|e| failed(e.to_string()))?;
    let request = hyper::Request::builder()
        .method(hyper::Method::POST)
        .uri(JOIN_PATH)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| failed(e.to_string()))?;
    let answer = match tokio::time::timeout(JOIN_TIMEOUT, client.request_text(request)).await {
        Err(_) => {
            return Err(ClassError::NoServer {
                server: shown,
                detail: format!("no answer within {} s", JOIN_TIMEOUT.as_secs()),
            });
        }
        Ok(Ok(text)) => text,
        Ok(Err(kube::Error::Api(s))) => {
            return Err(match s.code {
                403 => ClassError::JoinRefused { server: shown },
                429 => ClassError::TooManyAttempts { server: shown },
                404 | 405 => failed(format!(
                    "HTTP {}: this server does not take join codes; it may be a cluster \
                     prepared with `kq classroom prepare`",
                    s.code
                )),
                code => failed(format!("HTTP {code}: {}", s.message)),
            });
        }
        Ok(Err(e)) => {
            return Err(match crate::connect::classify_kube_error(&e) {
                crate::connect::ConnectError::Unreachable { detail } => ClassError::NoServer {
                    server: shown,
                    detail,
                },
                other => failed(other.to_string()),
            });
        }
    };
    parse_join_answer(&answer).map_err(failed)
}

/// Checks the join endpoint's answer: `{"learner", "kubeconfig"}`, the kubeconfig parsing and
/// seating that learner.
pub fn parse_join_answer(text: &str) -> Result<(String, String), String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        learner: String,
        kubeconfig: String,
    }
    let a: Answer = serde_json::from_str(text).map_err(|e| format!("not a join answer: {e}"))?;
    let config: kube::config::Kubeconfig = serde_yaml_ng::from_str(&a.kubeconfig)
        .map_err(|e| format!("the kubeconfig does not parse: {e}"))?;
    match Seat::from_kubeconfig(&config, None) {
        Some(Seat {
            learner: Some(l), ..
        }) if l == a.learner => Ok((a.learner, a.kubeconfig)),
        Some(_) => Err(format!(
            "the kubeconfig is not a seat for learner {}",
            a.learner
        )),
        None => Err("the kubeconfig carries no class seat".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_crockford_characters_with_a_dash() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let c = new_join_code();
            assert_eq!(c.len(), 9, "{c}");
            assert_eq!(&c[4..5], "-", "{c}");
            assert!(
                c.chars()
                    .filter(|x| *x != '-')
                    .all(|x| ALPHABET.contains(&(x as u8))),
                "{c}"
            );
            assert_eq!(normalise_join_code(&c).as_deref(), Some(c.as_str()));
            seen.insert(c);
        }
        assert!(
            seen.len() > 195,
            "codes are random: {} distinct of 200",
            seen.len()
        );
    }

    #[test]
    fn typed_codes_are_forgiven_as_crockford_intends() {
        for typed in ["abcd-efgh", "ABCDEFGH", " abcd efgh ", "aBcD-eFgH"] {
            assert_eq!(
                normalise_join_code(typed).as_deref(),
                Some("ABCD-EFGH"),
                "{typed:?}"
            );
        }
        assert_eq!(
            normalise_join_code("1o0l-ixyz").as_deref(),
            Some("1001-1XYZ")
        );
        for bad in [
            "ABCD-EFG",
            "ABCD-EFGHJ",
            "ABCD-EFGU",
            "ABCD_EFGH",
            "ÄBCD-EFGH",
            "",
        ] {
            assert_eq!(normalise_join_code(bad), None, "{bad:?} is not a code");
        }
    }

    #[test]
    fn server_addresses_as_learners_type_them() {
        assert_eq!(
            server_url("192.168.1.20:6443").unwrap().to_string(),
            "https://192.168.1.20:6443/"
        );
        assert_eq!(
            server_url(" https://teacher.local:6443/ ")
                .unwrap()
                .to_string(),
            "https://teacher.local:6443/"
        );
        assert_eq!(
            server_url("[fe80::1]:6443").unwrap().host(),
            Some("[fe80::1]")
        );
        for bad in [
            "",
            "http://192.168.1.20:6443",
            "ftp://x",
            "192.168.1.20:6443/api",
            "a b",
        ] {
            assert!(
                matches!(server_url(bad), Err(ClassError::BadServer { .. })),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_refused_connection_says_there_is_no_class_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = join_with_code(&addr.to_string(), "ABCD-EFGH")
            .await
            .unwrap_err();
        assert!(matches!(e, ClassError::NoServer { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with(&format!("no class server at https://{addr}")),
            "{e}"
        );
    }

    #[test]
    fn a_join_answer_must_seat_the_learner_it_names() {
        let seat = Seat {
            class: "c".into(),
            learner: Some("ada".into()),
        };
        let kc = super::super::render_kubeconfig("https://h:1", "", "t", &seat);
        let ok = serde_json::json!({"learner": "ada", "kubeconfig": kc}).to_string();
        assert_eq!(parse_join_answer(&ok).unwrap().0, "ada");
        let other = serde_json::json!({"learner": "bob", "kubeconfig": kc}).to_string();
        assert!(
            parse_join_answer(&other).is_err(),
            "ada's kubeconfig is not bob's seat"
        );
        let teacher = super::super::render_kubeconfig(
            "https://h:1",
            "",
            "t",
            &Seat {
                class: "c".into(),
                learner: None,
            },
        );
        let t = serde_json::json!({"learner": "ada", "kubeconfig": teacher}).to_string();
        assert!(
            parse_join_answer(&t).is_err(),
            "a join never hands out the teacher's seat"
        );
    }

    #[test]
    fn the_html_sheet_escapes_and_has_no_script() {
        let at: Timestamp = "2026-03-02T16:00:00Z".parse().unwrap();
        let html = join_sheet_html(
            "c",
            "https://h:1",
            at,
            &[("ada".into(), "ABCD-EFGH".into())],
        );
        assert!(html.contains("ABCD-EFGH") && html.contains("https://h:1"));
        assert!(!html.to_lowercase().contains("<script"));
        let md = join_sheet_markdown(
            "c",
            "https://h:1",
            at,
            &[("ada".into(), "ABCD-EFGH".into())],
        );
        assert!(md.contains("| ada | `ABCD-EFGH` |"), "{md}");
    }
}

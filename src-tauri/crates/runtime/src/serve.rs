//! What a container answers on its ports, and the node's table of who listens where.
//!
//! A server image (nginx, httpd, redis, a teacher's HTTP app) or a database that started
//! (postgres, mysql with their required environment) listens on its catalog `ports` for as
//! long as its process runs: [`serving`] wraps the image's program so that the listener is
//! registered in [`Listeners`] under the pod's IP when the container starts, and disappears
//! when the kubelet drops the program (the container exited or was killed). The network
//! ([`kq_shell::net::Network`], implemented by the node) asks [`Listeners::connect`] for a
//! [`Responder`] and gets none when nothing listens: a refused connection.
//!
//! The answers are the images' own bytes:
//! - nginx: its default `index.html` ("Welcome to nginx!", 615 bytes) on `/` and
//!   `/index.html`, and otherwise its built-in error pages
//!   (`src/http/ngx_http_special_response.c`: `<html>\r\n<head><title>404 Not Found</title>…`
//!   with the `nginx/VERSION` footer of `server_tokens on`), with its header order (`Server`,
//!   `Date`, `Content-Type`, `Content-Length`, `Last-Modified`, `Connection`, `ETag`,
//!   `Accept-Ranges`); the version is the image's `NGINX_VERSION`.
//! - httpd: `<html><body><h1>It works!</h1></body></html>` (45 bytes, the file's 2007 mtime in
//!   `Last-Modified`/`ETag`) and Apache's 404 page, `Server: Apache/VERSION (Unix)`.
//! - redis: the inline and RESP protocols for `PING`, `ECHO`, `SET`, `GET`, `DEL`, `QUIT`,
//!   and redis 7's unknown-command error.
//! - databases speak binary protocols a shell cannot show: they accept and stay silent.
//! - any other server with catalog `http` paths answers 200 on those paths and 404 elsewhere.
//!
//! [`Program::http`] (probes) and these answers agree: both use the catalog's paths.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, Weak};

use kq_registry::{Behaviour, ResolvedImage};
use kq_shell::net::Responder;

use crate::{Program, Step};

/// Which protocol a listener speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Nginx {
        version: String,
    },
    Httpd {
        version: String,
    },
    Redis,
    /// A database: accepts connections, says nothing a line-based client can show.
    Silent,
    /// A catalog server with HTTP paths (200 on those, 404 elsewhere).
    Http {
        paths: Vec<String>,
    },
}

/// A running container's server.
#[derive(Debug)]
pub struct Served {
    ports: Vec<u16>,
    kind: Kind,
    /// Redis keys (`SET`/`GET` within the container's life).
    data: Mutex<HashMap<String, String>>,
}

impl Served {
    /// The server an image's behaviour runs, if it listens at all.
    fn for_image(image: &ResolvedImage) -> Option<Served> {
        let env = |k: &str| {
            image
                .env
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let repo = image
            .reference
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let (ports, kind) = match &image.behaviour {
            Behaviour::Server { ports, http, .. } => {
                let kind = if repo.starts_with("nginx") {
                    Kind::Nginx {
                        version: env("NGINX_VERSION").unwrap_or_else(|| "1.27.3".into()),
                    }
                } else if repo == "httpd" {
                    Kind::Httpd {
                        version: env("HTTPD_VERSION").unwrap_or_else(|| "2.4.62".into()),
                    }
                } else if repo == "redis" {
                    Kind::Redis
                } else if http.is_empty() {
                    Kind::Silent
                } else {
                    Kind::Http {
                        paths: http.clone(),
                    }
                };
                (ports.clone(), kind)
            }
            Behaviour::Database { ports, .. } => (ports.clone(), Kind::Silent),
            _ => return None,
        };
        if ports.is_empty() {
            return None;
        }
        Some(Served {
            ports,
            kind,
            data: Mutex::new(HashMap::new()),
        })
    }

    /// The HTTP status a `GET path` gets (probes use the same answer as clients).
    pub fn http_status(&self, path: &str) -> Option<u16> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        match &self.kind {
            Kind::Nginx { .. } => Some(match path {
                "/" | "/index.html" | "/50x.html" => 200,
                _ => 404,
            }),
            Kind::Httpd { .. } => Some(match path {
                "/" | "/index.html" => 200,
                _ => 404,
            }),
            Kind::Http { paths } => Some(if paths.iter().any(|p| p == path) {
                200
            } else {
                404
            }),
            Kind::Redis | Kind::Silent => None,
        }
    }
}

/// The node's listeners by pod IP. Entries are weak: a stopped container's server is gone.
#[derive(Debug, Default)]
pub struct Listeners {
    by_ip: Mutex<HashMap<Ipv4Addr, Vec<Weak<Served>>>>,
}

impl Listeners {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Ipv4Addr, Vec<Weak<Served>>>> {
        match self.by_ip.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn register(&self, ip: Ipv4Addr, served: &Arc<Served>) {
        let mut g = self.lock();
        let list = g.entry(ip).or_default();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(served));
    }

    /// What answers on `ip:port`, or `None` when nothing listens there.
    pub fn connect(&self, ip: Ipv4Addr, port: u16) -> Option<Arc<dyn Responder>> {
        let g = self.lock();
        let served = g
            .get(&ip)?
            .iter()
            .filter_map(Weak::upgrade)
            .find(|s| s.ports.contains(&port))?;
        Some(Arc::new(Conn { served, port }))
    }
}

/// One connection's server side.
#[derive(Debug)]
struct Conn {
    served: Arc<Served>,
    #[allow(dead_code)]
    port: u16,
}

impl Responder for Conn {
    fn respond(&self, request: &[u8], now_unix: i64) -> Vec<u8> {
        match &self.served.kind {
            Kind::Redis => redis(&self.served, request),
            Kind::Silent => Vec::new(),
            _ => {
                let mut out = Vec::new();
                for req in split_requests(request) {
                    out.extend(http(&self.served, &req, now_unix));
                }
                out
            }
        }
    }
}

/// A program whose server is registered while the program lives.
#[derive(Debug)]
struct Serving {
    inner: Box<dyn Program>,
    served: Arc<Served>,
}

/// Wrap an image's program so that its ports answer (registered under `pod_ip` in
/// `listeners`) while it runs. Programs that do not listen (a database refusing to start,
/// an image without ports) are returned as they are.
pub(crate) fn serving(
    inner: Box<dyn Program>,
    image: &ResolvedImage,
    pod_ip: &str,
    listeners: &Listeners,
) -> Box<dyn Program> {
    let Some(served) = Served::for_image(image) else {
        return inner;
    };
    if !served.ports.iter().any(|p| inner.listens(i32::from(*p))) {
        return inner;
    }
    let served = Arc::new(served);
    if let Ok(ip) = pod_ip.parse() {
        listeners.register(ip, &served);
    }
    Box::new(Serving { inner, served })
}

impl Program for Serving {
    fn next_step(&mut self) -> Step {
        self.inner.next_step()
    }
    fn memory_bytes(&self) -> u64 {
        self.inner.memory_bytes()
    }
    fn handles_sigterm(&self) -> bool {
        self.inner.handles_sigterm()
    }
    fn http(&self, port: i32, path: &str) -> Option<u16> {
        if !self.listens(port) {
            return None;
        }
        // A port that does not speak HTTP resets the probe's connection; the prober
        // reports a failure, which 400 stands for.
        Some(self.served.http_status(path).unwrap_or(400))
    }
    fn listens(&self, port: i32) -> bool {
        self.served.ports.iter().any(|p| i32::from(*p) == port) && self.inner.listens(port)
    }
    fn exec(&mut self, argv: &[String]) -> (i32, String) {
        self.inner.exec(argv)
    }
    fn feed_stdin(&mut self, bytes: &[u8]) {
        self.inner.feed_stdin(bytes)
    }
    fn close_stdin(&mut self) {
        self.inner.close_stdin()
    }
    fn interrupt(&mut self) -> bool {
        self.inner.interrupt()
    }
}

// ----- HTTP --------------------------------------------------------------------------------

/// One parsed HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    method: String,
    target: String,
    version: String,
    close: bool,
}

/// Splits a byte stream into complete HTTP requests (bodies by `Content-Length` skipped).
fn split_requests(bytes: &[u8]) -> Vec<Request> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let mut parts = first.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let version = parts.next().unwrap_or("HTTP/1.0").to_string();
        let mut close = version == "HTTP/1.0";
        let mut body_len = 0usize;
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("connection") {
                    close = v.eq_ignore_ascii_case("close");
                } else if k.eq_ignore_ascii_case("content-length") {
                    body_len = v.parse().unwrap_or(0);
                }
            }
        }
        out.push(Request {
            method,
            target,
            version,
            close,
        });
        let next = (end + 4).saturating_add(body_len).min(rest.len());
        rest = &rest[next..];
    }
    out
}

/// The HTTP `Date` format (`Sun, 06 Dec 2026 03:18:04 GMT`).
pub fn http_date(unix: i64) -> String {
    match jiff::Timestamp::from_second(unix) {
        Ok(t) => t
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
        Err(_) => "Thu, 01 Jan 1970 00:00:00 GMT".into(),
    }
}

/// nginx's default `/usr/share/nginx/html/index.html` (615 bytes).
pub const NGINX_INDEX: &str = "<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href=\"http://nginx.org/\">nginx.org</a>.<br/>
Commercial support is available at
<a href=\"http://nginx.com/\">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
";

/// nginx's default `50x.html`.
const NGINX_50X: &str = "<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
";

/// When the image's packaged `index.html` was built (its `Last-Modified`; the `ETag` is
/// `"<mtime hex>-<size hex>"`), per nginx version.
fn nginx_mtime(version: &str) -> i64 {
    match version {
        "1.25.5" => 1_713_277_799, // Tue, 16 Apr 2024 14:29:59 GMT
        "1.26.2" => 1_723_468_800, // Mon, 12 Aug 2024 13:20:00 GMT
        _ => 1_732_636_500,        // 1.27.3: Tue, 26 Nov 2024 15:55:00 GMT
    }
}

/// nginx's built-in error page for `status` (`ngx_http_error_pages` plus the full tail).
pub fn nginx_error_page(status_text: &str, version: &str) -> String {
    format!(
        "<html>\r\n<head><title>{status_text}</title></head>\r\n<body>\r\n<center><h1>{status_text}</h1></center>\r\n<hr><center>nginx/{version}</center>\r\n</body>\r\n</html>\r\n"
    )
}

const HTTPD_INDEX: &str = "<html><body><h1>It works!</h1></body></html>\n";
/// httpd's `htdocs/index.html` mtime (Mon, 11 Jun 2007 18:53:14 GMT).
const HTTPD_INDEX_MTIME: i64 = 1_181_587_994;

fn httpd_404() -> &'static str {
    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n"
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Not Allowed",
        _ => "Internal Server Error",
    }
}

fn http(served: &Served, req: &Request, now: i64) -> Vec<u8> {
    let date = http_date(now);
    let head_only = req.method == "HEAD";
    let path = req.target.split(['?', '#']).next().unwrap_or("/");
    let status = served.http_status(path).unwrap_or(404);
    let mut headers: Vec<(String, String)> = Vec::new();
    let body: String;
    let status_line: String;
    match &served.kind {
        Kind::Nginx { version } => {
            let static_ok = matches!(req.method.as_str(), "GET" | "HEAD");
            let (code, text) = if !static_ok && status == 200 {
                (405, "405 Not Allowed".to_string())
            } else {
                (status, format!("{status} {}", reason(status)))
            };
            status_line = format!("HTTP/1.1 {text}");
            headers.push(("Server".into(), format!("nginx/{version}")));
            headers.push(("Date".into(), date));
            headers.push(("Content-Type".into(), "text/html".into()));
            if code == 200 {
                body = if path == "/50x.html" {
                    NGINX_50X.to_string()
                } else {
                    NGINX_INDEX.to_string()
                };
                let mtime = nginx_mtime(version);
                headers.push(("Content-Length".into(), body.len().to_string()));
                headers.push(("Last-Modified".into(), http_date(mtime)));
                headers.push(("Connection".into(), conn(req)));
                headers.push(("ETag".into(), format!("\"{mtime:x}-{:x}\"", body.len())));
                headers.push(("Accept-Ranges".into(), "bytes".into()));
            } else {
                body = nginx_error_page(&text, version);
                headers.push(("Content-Length".into(), body.len().to_string()));
                headers.push(("Connection".into(), conn(req)));
            }
        }
        Kind::Httpd { version } => {
            status_line = format!("HTTP/1.1 {status} {}", reason(status));
            headers.push(("Date".into(), date));
            headers.push(("Server".into(), format!("Apache/{version} (Unix)")));
            let content_type;
            if status == 200 {
                body = HTTPD_INDEX.to_string();
                headers.push(("Last-Modified".into(), http_date(HTTPD_INDEX_MTIME)));
                headers.push((
                    "ETag".into(),
                    format!("\"{:x}-{:x}\"", body.len(), HTTPD_INDEX_MTIME * 1_000_000),
                ));
                headers.push(("Accept-Ranges".into(), "bytes".into()));
                content_type = "text/html";
            } else {
                body = httpd_404().to_string();
                content_type = "text/html; charset=iso-8859-1";
            }
            headers.push(("Content-Length".into(), body.len().to_string()));
            if req.close {
                headers.push(("Connection".into(), "close".into()));
            } else {
                headers.push(("Keep-Alive".into(), "timeout=5, max=100".into()));
                headers.push(("Connection".into(), "Keep-Alive".into()));
            }
            headers.push(("Content-Type".into(), content_type.into()));
        }
        _ => {
            status_line = format!("HTTP/1.1 {status} {}", reason(status));
            body = if status == 200 {
                "OK\n".to_string()
            } else {
                "404 page not found\n".to_string()
            };
            headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
            headers.push(("Date".into(), date));
            headers.push(("Content-Length".into(), body.len().to_string()));
            if req.close {
                headers.push(("Connection".into(), "close".into()));
            }
        }
    }
    let _ = &req.version;
    let mut out = format!("{status_line}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&body);
    }
    out.into_bytes()
}

fn conn(req: &Request) -> String {
    if req.close { "close" } else { "keep-alive" }.into()
}

// ----- redis -------------------------------------------------------------------------------

/// Splits redis input into commands: RESP arrays (`*1\r\n$4\r\nPING\r\n`) or inline lines.
fn redis_commands(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if let Some(n) = line.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) {
            let mut args = Vec::new();
            for _ in 0..n.min(1024) {
                let _len = lines.next();
                if let Some(a) = lines.next() {
                    args.push(a.to_string());
                }
            }
            out.push(args);
        } else if !line.trim().is_empty() {
            out.push(line.split_whitespace().map(str::to_string).collect());
        }
    }
    out
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn redis(served: &Served, request: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    let mut data = match served.data.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    for args in redis_commands(request) {
        let Some(cmd) = args.first() else { continue };
        let rest = &args[1..];
        let arity_error = || {
            format!(
                "-ERR wrong number of arguments for '{}' command\r\n",
                cmd.to_ascii_lowercase()
            )
        };
        let reply = match cmd.to_ascii_uppercase().as_str() {
            "PING" => match rest {
                [] => "+PONG\r\n".to_string(),
                [m] => bulk(m),
                _ => arity_error(),
            },
            "ECHO" => match rest {
                [m] => bulk(m),
                _ => arity_error(),
            },
            "SET" if rest.len() >= 2 => {
                data.insert(rest[0].clone(), rest[1].clone());
                "+OK\r\n".to_string()
            }
            "GET" if rest.len() == 1 => match data.get(&rest[0]) {
                Some(v) => bulk(v),
                None => "$-1\r\n".to_string(),
            },
            "DEL" if !rest.is_empty() => {
                let n = rest.iter().filter(|k| data.remove(*k).is_some()).count();
                format!(":{n}\r\n")
            }
            "QUIT" => "+OK\r\n".to_string(),
            "SET" | "GET" | "DEL" => arity_error(),
            _ => {
                let mut s = format!("-ERR unknown command '{cmd}', with args beginning with: ");
                for a in rest {
                    s.push_str(&format!("'{a}' "));
                }
                s.push_str("\r\n");
                s
            }
        };
        out.push_str(&reply);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(kind: Kind) -> Served {
        Served {
            ports: vec![80],
            kind,
            data: Mutex::new(HashMap::new()),
        }
    }

    #[test]
    fn nginx_pages_have_their_real_sizes() {
        assert_eq!(NGINX_INDEX.len(), 615);
        let page = nginx_error_page("404 Not Found", "1.25.5");
        assert_eq!(page.len(), 153);
        let s = served(Kind::Nginx {
            version: "1.25.5".into(),
        });
        let r = String::from_utf8(http(
            &s,
            &split_requests(b"GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")[0],
            1_765_000_000,
        ))
        .unwrap_or_default();
        assert!(r.starts_with(
            "HTTP/1.1 200 OK\r\nServer: nginx/1.25.5\r\nDate: Sat, 06 Dec 2025 05:46:40 GMT\r\n\
             Content-Type: text/html\r\nContent-Length: 615\r\n\
             Last-Modified: Tue, 16 Apr 2024 14:29:59 GMT\r\nConnection: close\r\n\
             ETag: \"661e8b67-267\"\r\nAccept-Ranges: bytes\r\n\r\n<!DOCTYPE html>"
        ));
    }

    #[test]
    fn keep_alive_answers_every_request() {
        let s = served(Kind::Httpd {
            version: "2.4.62".into(),
        });
        let conn = Conn {
            served: Arc::new(s),
            port: 80,
        };
        let out = conn.respond(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
            0,
        );
        let text = String::from_utf8(out).unwrap_or_default();
        assert_eq!(text.matches("HTTP/1.1 ").count(), 2);
        assert!(text.contains("<html><body><h1>It works!</h1></body></html>\n"));
        assert!(text.contains("HTTP/1.1 404 Not Found\r\n"));
    }

    #[test]
    fn redis_speaks_inline_and_resp() {
        let s = served(Kind::Redis);
        assert_eq!(redis(&s, b"PING\r\n"), b"+PONG\r\n");
        assert_eq!(redis(&s, b"*1\r\n$4\r\nPING\r\n"), b"+PONG\r\n");
        assert_eq!(
            redis(&s, b"SET a 1\nGET a\nGET b\n"),
            b"+OK\r\n$1\r\n1\r\n$-1\r\n"
        );
    }
}

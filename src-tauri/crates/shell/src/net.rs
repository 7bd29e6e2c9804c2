//! The network a container's processes see, and the busybox applets that use it: `wget`,
//! `nc`, `nslookup` and a `curl` for the images that ship one.
//!
//! The shell knows nothing of Kubernetes. The node (kq-controllers) implements [`Network`]:
//! cluster DNS answers ([`Network::lookup`]) and TCP connections ([`Network::connect`]) to
//! Service cluster IPs, pod IPs and node ports, reaching what a container serves through a
//! [`Responder`] (kq-runtime's `serve.rs`). The runtime hands every process a [`NetHandle`]
//! scoped to its pod ([`PodNet`]: `127.0.0.1` is the pod itself).
//!
//! What the applets print follows their sources: busybox `networking/wget.c` (the
//! `Connecting to` / `saving to` lines, the progress line of `libbb/progress.c` when stderr
//! is not a terminal, `server returned error: …`, `download timed out`), `libbb/xconnect.c`
//! (`bad address '…'`, `can't connect to remote host (IP): Connection refused`),
//! `networking/nc_bloaty.c` (`-v` prints `HOST (IP:PORT) open`; a refusal is only reported
//! with `-vv`) and `networking/nslookup.c` (the `Server:`/`Address:` header, `Name:`/`Address:`
//! answers, `** server can't find NAME: NXDOMAIN`; busybox's nslookup sends the name as given,
//! without the resolv.conf search list, and exits 0 even when nothing was found).
//!
//! Name resolution for `wget`, `nc` and `curl` is the C library's: `/etc/resolv.conf`'s
//! `search` list is tried first for names with fewer dots than `ndots`, then the name as is.
//! Waits (a connect to an address nobody has, `-T`/`-w` timeouts) are sleeps of the process,
//! so they follow the cluster clock and always end: the kernel gives up a TCP connect after
//! its SYN retries (127 s with Linux's default `tcp_syn_retries` of 6).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

/// How long the Linux kernel keeps retrying a TCP connect nobody answers (SYN sent at 0, 1, 3,
/// 7, 15, 31 and 63 s, given up 64 s after the last: `tcp_syn_retries` = 6).
pub const KERNEL_CONNECT_TIMEOUT: Duration = Duration::from_secs(127);

/// A server's side of an open connection.
pub trait Responder: Send + Sync + std::fmt::Debug {
    /// The bytes the server sends back for one request (an HTTP request, a line); `now_unix`
    /// is the time for `Date:` headers. Empty: the server sends nothing.
    fn respond(&self, request: &[u8], now_unix: i64) -> Vec<u8>;
}

/// The outcome of a TCP connect.
#[derive(Debug, Clone)]
pub enum Connect {
    /// Connected: what the far end answers.
    Open(Arc<dyn Responder>),
    /// A TCP reset (nothing listens) or kube-proxy's reject rule (a Service without ready
    /// endpoints): `Connection refused` at once.
    Refused,
    /// Nobody answers: the kernel gives up after [`KERNEL_CONNECT_TIMEOUT`].
    TimedOut,
}

/// A DNS answer for A records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The addresses (in the order the server gives them).
    Found(Vec<Ipv4Addr>),
    /// The name exists (e.g. a headless Service without ready pods) but has no A record.
    NoRecords,
    /// No such name.
    NxDomain,
    /// The DNS server does not answer.
    NoServer,
}

/// The cluster network as a process inside a pod reaches it.
pub trait Network: Send + Sync + std::fmt::Debug {
    /// Ask the DNS server at `server` for the A records of `fqdn` (absolute, no trailing dot).
    fn lookup(&self, server: Ipv4Addr, fqdn: &str) -> Lookup;
    /// Open a TCP connection to `ip:port`.
    fn connect(&self, ip: Ipv4Addr, port: u16) -> Connect;
}

/// A process's handle on the network; `None` means no network (a process run outside any
/// pod, as in the interpreter's own tests). Handles compare equal: the network is the
/// node's, not part of what a process's environment says.
#[derive(Debug, Clone, Default)]
pub struct NetHandle(pub Option<Arc<dyn Network>>);

impl PartialEq for NetHandle {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for NetHandle {}

/// The node's network as seen from inside one pod: loopback addresses are the pod itself.
#[derive(Debug)]
pub struct PodNet {
    node: Arc<dyn Network>,
    pod_ip: Option<Ipv4Addr>,
}

impl PodNet {
    /// The handle for a pod with address `pod_ip` (empty or invalid: no loopback services).
    pub fn handle(node: Arc<dyn Network>, pod_ip: &str) -> NetHandle {
        NetHandle(Some(Arc::new(PodNet {
            node,
            pod_ip: pod_ip.parse().ok(),
        })))
    }
}

impl Network for PodNet {
    fn lookup(&self, server: Ipv4Addr, fqdn: &str) -> Lookup {
        self.node.lookup(server, fqdn)
    }
    fn connect(&self, ip: Ipv4Addr, port: u16) -> Connect {
        if ip.is_loopback() {
            return match self.pod_ip {
                Some(own) => match self.node.connect(own, port) {
                    // The pod's own address is always there: no answer means nothing listens.
                    Connect::TimedOut => Connect::Refused,
                    c => c,
                },
                None => Connect::Refused,
            };
        }
        self.node.connect(ip, port)
    }
}

// ----- what an applet does, independent of the interpreter's internals ---------------------

/// One effect of a network applet, applied by the interpreter in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    Out(String),
    Err(String),
    Sleep(Duration),
    /// Write (create or truncate) a file, path as given (relative to the working directory).
    WriteFile(String, String),
}

/// What a network applet reads from its process.
pub(crate) struct Ctx<'a> {
    pub net: &'a NetHandle,
    /// `/etc/resolv.conf`, if the container has one.
    pub resolv: Option<String>,
    pub now_unix: i64,
    /// Everything on stdin (already at end-of-file).
    pub stdin: String,
    /// Whether a file exists (wget refuses to overwrite without `-O`).
    pub exists: &'a dyn Fn(&str) -> bool,
}

/// Effects and exit status of a network applet.
pub(crate) struct Run {
    pub effects: Vec<Effect>,
    /// `None`: the process never ends (nc waiting for a server that keeps the line open).
    pub status: Option<i32>,
}

impl Run {
    fn new() -> Self {
        Run {
            effects: Vec::new(),
            status: Some(0),
        }
    }
    fn out(&mut self, s: impl Into<String>) {
        self.effects.push(Effect::Out(s.into()));
    }
    fn err(&mut self, s: impl Into<String>) {
        self.effects.push(Effect::Err(s.into()));
    }
    fn sleep(&mut self, d: Duration) {
        self.effects.push(Effect::Sleep(d));
    }
    fn exit(mut self, code: i32) -> Self {
        self.status = Some(code);
        self
    }
}

/// Runs network applet `argv[0]`.
pub(crate) fn run(cx: &Ctx<'_>, argv: &[String]) -> Run {
    let args = &argv[1..];
    match argv[0].as_str() {
        "wget" => wget(cx, args),
        "nc" => nc(cx, args),
        "nslookup" => nslookup(cx, args),
        "curl" => curl(cx, args),
        other => {
            let mut r = Run::new();
            r.err(format!("{other}: applet not found\n"));
            r.exit(127)
        }
    }
}

/// Runs a network applet inside the interpreter: reads `/etc/resolv.conf`, stdin and the
/// clock from `sh`, and applies the applet's output, sleeps and files in order.
pub(crate) fn applet(sh: &mut crate::machine::Shell, argv: &[String]) -> crate::applets::Outcome {
    use crate::applets::Outcome;
    let resolv = sh.fs.read_text("/etc/resolv.conf");
    let pwd = sh.vars.get("PWD").cloned().unwrap_or_else(|| "/".into());
    let absolute = |p: &str| {
        if p.starts_with('/') {
            crate::fs::normalize(p)
        } else {
            crate::fs::normalize(&format!("{}/{p}", pwd.trim_end_matches('/')))
        }
    };
    let result = {
        let fs = &sh.fs;
        let exists = |p: &str| fs.exists(&absolute(p));
        let cx = Ctx {
            net: &sh.net,
            resolv,
            now_unix: sh.now_unix,
            stdin: sh.stdin.clone(),
            exists: &exists,
        };
        run(&cx, argv)
    };
    sh.stdin.clear();
    for e in result.effects {
        match e {
            Effect::Out(t) => sh.write(1, &t),
            Effect::Err(t) => sh.write(2, &t),
            Effect::Sleep(d) => {
                sh.now_unix = sh.now_unix.saturating_add(d.as_secs() as i64);
                sh.out.push_back(crate::Step::Sleep(d));
            }
            Effect::WriteFile(path, text) => {
                if let Err(e) = sh.fs.write(&absolute(&path), text.as_bytes()) {
                    sh.write(2, &format!("{}: can't open '{path}': {e}\n", argv[0]));
                    return Outcome::Status(1);
                }
            }
        }
    }
    match result.status {
        Some(code) => Outcome::Status(code),
        None => Outcome::Forever,
    }
}

// ----- resolver ------------------------------------------------------------------------------

/// `/etc/resolv.conf` as the C library reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolv {
    pub nameservers: Vec<Ipv4Addr>,
    pub search: Vec<String>,
    pub ndots: usize,
}

impl Resolv {
    pub(crate) fn parse(text: Option<&str>) -> Resolv {
        let mut r = Resolv {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
        };
        for line in text.unwrap_or_default().lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(ip) = words.next().and_then(|w| w.parse().ok()) {
                        r.nameservers.push(ip);
                    }
                }
                Some("search") | Some("domain") => {
                    r.search = words.map(str::to_string).collect();
                }
                Some("options") => {
                    for w in words {
                        if let Some(n) = w.strip_prefix("ndots:").and_then(|n| n.parse().ok()) {
                            r.ndots = n;
                        }
                    }
                }
                _ => {}
            }
        }
        r
    }
}

/// How long glibc's resolver waits for a DNS server that does not answer before the lookup
/// fails: `timeout:5` times `attempts:2` (resolv.conf's defaults); a timeout ends the search.
pub const RESOLVER_GIVE_UP: Duration = Duration::from_secs(10);

/// `getaddrinfo` for `host`: an address literal, `localhost`, or the DNS answers through the
/// search list. `Err` carries how long the failed lookup waited (a silent DNS server).
fn resolve(cx: &Ctx<'_>, host: &str) -> Result<Ipv4Addr, Duration> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(ip);
    }
    if host == "localhost" {
        return Ok(Ipv4Addr::LOCALHOST);
    }
    let Some(net) = cx.net.0.as_ref() else {
        return Err(Duration::ZERO);
    };
    let conf = Resolv::parse(cx.resolv.as_deref());
    let Some(server) = conf.nameservers.first().copied() else {
        return Err(Duration::ZERO);
    };
    let mut candidates = Vec::new();
    if let Some(abs) = host.strip_suffix('.') {
        candidates.push(abs.to_string());
    } else {
        let dots = host.matches('.').count();
        if dots >= conf.ndots {
            candidates.push(host.to_string());
        }
        candidates.extend(conf.search.iter().map(|d| format!("{host}.{d}")));
        if dots < conf.ndots {
            candidates.push(host.to_string());
        }
    }
    for name in candidates {
        match net.lookup(server, &name.to_ascii_lowercase()) {
            Lookup::Found(ips) => {
                if let Some(ip) = ips.first() {
                    return Ok(*ip);
                }
            }
            Lookup::NoServer => return Err(RESOLVER_GIVE_UP),
            Lookup::NoRecords | Lookup::NxDomain => {}
        }
    }
    Err(Duration::ZERO)
}

fn connect(cx: &Ctx<'_>, ip: Ipv4Addr, port: u16) -> Connect {
    match cx.net.0.as_ref() {
        Some(n) => n.connect(ip, port),
        // No network at all: only loopback exists, and nothing listens on it.
        None if ip.is_loopback() => Connect::Refused,
        None => Connect::TimedOut,
    }
}

// ----- URLs and HTTP ---------------------------------------------------------------------

/// A parsed `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    /// `host` or `host:port` as written (what busybox prints).
    hostport: String,
    host: String,
    port: u16,
    /// Without the leading `/`.
    path: String,
}

fn parse_url(url: &str) -> Result<Url, String> {
    let (rest, default_port) = if let Some((scheme, rest)) = url.split_once("://") {
        match scheme {
            "http" => (rest, 80),
            "https" => (rest, 443),
            _ => return Err(format!("not an http or ftp url: {url}")),
        }
    } else {
        (url, 80)
    };
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let hostport = rest[..cut].to_string();
    let mut path = rest[cut..].to_string();
    if let Some(p) = path.strip_prefix('/') {
        path = p.to_string();
    } else if let Some(p) = path.strip_prefix('?') {
        path = format!("?{p}");
    }
    if let Some(i) = path.find('#') {
        path.truncate(i);
    }
    let hostport = match hostport.rsplit_once('@') {
        Some((_, h)) => h.to_string(),
        None => hostport,
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) => (h.to_string(), p),
            Err(_) => return Err(format!("bad port spec '{hostport}'")),
        },
        None => (hostport.clone(), default_port),
    };
    Ok(Url {
        hostport,
        host,
        port,
        path,
    })
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a server's reply as HTTP/1.x; `None` when it is not HTTP (or empty).
pub(crate) fn parse_response(bytes: &[u8]) -> Option<Response> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?.to_string();
    if !status_line.starts_with("HTTP/") {
        return None;
    }
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = bytes[end + 4..].to_vec();
    if let Some(n) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(n);
    }
    Some(Response {
        status_line,
        status,
        headers,
        body,
    })
}

/// busybox `smart_ulltoa5`: a size in five columns (`  615`, ` 120k`).
fn size5(n: u64) -> String {
    if n < 100_000 {
        return format!("{n:>5}");
    }
    let mut v = n;
    for unit in ['k', 'M', 'G', 'T'] {
        v /= 1024;
        if v < 10_000 {
            return format!("{v:>4}{unit}");
        }
    }
    format!("{v:>4}P")
}

/// The one progress line busybox wget prints when stderr is not a terminal (a container log):
/// `libbb/progress.c` pads the name to 20 columns, draws a 32-star bar (the 80-column default
/// minus 48) and an ETA of zero for a transfer done within the second.
fn progress_line(curfile: &str, size: u64) -> String {
    let name: String = curfile.chars().take(20).collect();
    if size == 0 {
        return format!("{name:<20} {} --:--:-- ETA\n", size5(0));
    }
    format!(
        "{name:<20} 100% |{}| {}  0:00:00 ETA\n",
        "*".repeat(32),
        size5(size)
    )
}

// ----- wget ------------------------------------------------------------------------------

#[derive(Default)]
struct WgetOpts {
    quiet: bool,
    server_response: bool,
    spider: bool,
    output: Option<String>,
    timeout: Option<u64>,
    user_agent: Option<String>,
    url: Option<String>,
}

fn wget_usage(r: &mut Run) {
    r.err(
        "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\n\
         Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\
         \t[--post-data STR | --post-file FILE] [-Y on/off]\n\
         \t[--no-check-certificate] [-P DIR] [-U AGENT] [-T SEC] URL...\n\n\
         Retrieve files via HTTP or FTP\n",
    );
}

fn parse_wget(args: &[String]) -> Result<WgetOpts, String> {
    let mut o = WgetOpts::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if let Some(long) = a.strip_prefix("--") {
            let (name, val) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut value = || -> Result<String, String> {
                if let Some(v) = val.clone() {
                    return Ok(v);
                }
                let v = args
                    .get(i)
                    .cloned()
                    .ok_or_else(|| format!("option '--{name}' requires an argument"))?;
                i += 1;
                Ok(v)
            };
            match name {
                "quiet" => o.quiet = true,
                "server-response" => o.server_response = true,
                "spider" => o.spider = true,
                "output-document" => o.output = Some(value()?),
                "timeout" => {
                    let v = value()?;
                    o.timeout = Some(v.parse().map_err(|_| format!("invalid number '{v}'"))?);
                }
                "user-agent" => o.user_agent = Some(value()?),
                "tries" | "header" | "post-data" | "post-file" | "output-file"
                | "directory-prefix" | "proxy" => {
                    value()?;
                }
                _ => {}
            }
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                let takes = matches!(c, 'O' | 'o' | 'P' | 'Y' | 'U' | 'T' | 't');
                if !takes {
                    match c {
                        'q' => o.quiet = true,
                        'S' => o.server_response = true,
                        'c' => {}
                        _ => return Err(format!("invalid option -- '{c}'")),
                    }
                    continue;
                }
                let v: String = if k < chars.len() {
                    let v = chars[k..].iter().collect();
                    k = chars.len();
                    v
                } else {
                    let v = args
                        .get(i)
                        .cloned()
                        .ok_or_else(|| format!("option requires an argument -- '{c}'"))?;
                    i += 1;
                    v
                };
                match c {
                    'O' => o.output = Some(v),
                    'U' => o.user_agent = Some(v),
                    'T' => {
                        o.timeout = Some(v.parse().map_err(|_| format!("invalid number '{v}'"))?)
                    }
                    _ => {}
                }
            }
            continue;
        }
        if o.url.is_none() {
            o.url = Some(a.clone());
        }
    }
    Ok(o)
}

fn wget(cx: &Ctx<'_>, args: &[String]) -> Run {
    let mut r = Run::new();
    let o = match parse_wget(args) {
        Ok(o) => o,
        Err(e) => {
            r.err(format!("wget: {e}\n"));
            wget_usage(&mut r);
            return r.exit(1);
        }
    };
    let Some(url) = o.url.clone() else {
        wget_usage(&mut r);
        return r.exit(1);
    };
    let mut target = match parse_url(&url) {
        Ok(u) => u,
        Err(e) => {
            r.err(format!("wget: {e}\n"));
            return r.exit(1);
        }
    };
    // busybox's default timeout is 900 s; 0 disables it.
    let timeout = o.timeout.unwrap_or(900);
    let fname_out = match &o.output {
        Some(f) => f.clone(),
        None => {
            let last = target
                .path
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            if last.is_empty() {
                "index.html".to_string()
            } else {
                last
            }
        }
    };
    let mut redirects = 16;
    let mut resolved: Option<(String, Ipv4Addr)> = None;
    let response = loop {
        let ip = match &resolved {
            Some((h, ip)) if *h == target.hostport => *ip,
            _ => {
                let ip = match resolve(cx, &target.host) {
                    Ok(ip) => ip,
                    Err(waited) => {
                        r.sleep(waited);
                        r.err(format!("wget: bad address '{}'\n", target.hostport));
                        return r.exit(1);
                    }
                };
                if !o.quiet {
                    r.err(format!(
                        "Connecting to {} ({ip}:{})\n",
                        target.hostport, target.port
                    ));
                }
                resolved = Some((target.hostport.clone(), ip));
                ip
            }
        };
        let server = match connect(cx, ip, target.port) {
            Connect::Open(s) => s,
            Connect::Refused => {
                r.err(format!(
                    "wget: can't connect to remote host ({ip}): Connection refused\n"
                ));
                return r.exit(1);
            }
            Connect::TimedOut => {
                let kernel = KERNEL_CONNECT_TIMEOUT.as_secs();
                if timeout > 0 && timeout < kernel {
                    r.sleep(Duration::from_secs(timeout));
                    r.err("wget: download timed out\n");
                } else {
                    r.sleep(KERNEL_CONNECT_TIMEOUT);
                    r.err(format!(
                        "wget: can't connect to remote host ({ip}): Connection timed out\n"
                    ));
                }
                return r.exit(1);
            }
        };
        let request = format!(
            "GET /{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nConnection: close\r\n\r\n",
            target.path,
            target.hostport,
            o.user_agent.as_deref().unwrap_or("Wget")
        );
        let reply = server.respond(request.as_bytes(), cx.now_unix);
        let Some(resp) = parse_response(&reply) else {
            // The server closed the connection without an HTTP answer (or spoke another
            // protocol): fgets() gets nothing.
            r.err("wget: error getting response: Connection reset by peer\n");
            return r.exit(1);
        };
        if o.server_response {
            r.err(format!("  {}\n", resp.status_line));
        }
        match resp.status {
            200..=204 => {}
            300..=303 | 307 | 308 => {}
            _ => {
                r.err(format!(
                    "wget: server returned error: {}\n",
                    resp.status_line
                ));
                return r.exit(1);
            }
        }
        if o.server_response {
            for (k, v) in &resp.headers {
                r.err(format!("  {k}: {v}\n"));
            }
            r.err("  \n");
        }
        if resp.status >= 300
            && let Some(loc) = resp.header("location").map(str::to_string)
        {
            redirects -= 1;
            if redirects == 0 {
                r.err("wget: too many redirections\n");
                return r.exit(1);
            }
            if let Some(p) = loc.strip_prefix('/') {
                target.path = p.to_string();
            } else {
                match parse_url(&loc) {
                    Ok(u) => target = u,
                    Err(e) => {
                        r.err(format!("wget: {e}\n"));
                        return r.exit(1);
                    }
                }
            }
            continue;
        }
        break resp;
    };
    if o.spider {
        if !o.quiet {
            r.err("remote file exists\n");
        }
        return r;
    }
    let to_stdout = fname_out == "-";
    if !to_stdout && o.output.is_none() && (cx.exists)(&fname_out) {
        r.err(format!("wget: can't open '{fname_out}': File exists\n"));
        return r.exit(1);
    }
    let body = String::from_utf8_lossy(&response.body).into_owned();
    if !o.quiet {
        if to_stdout {
            r.err("writing to stdout\n");
        } else {
            r.err(format!("saving to '{fname_out}'\n"));
        }
    }
    if to_stdout {
        r.out(body.clone());
    } else {
        r.effects
            .push(Effect::WriteFile(fname_out.clone(), body.clone()));
    }
    if !o.quiet {
        let curfile = fname_out.rsplit('/').next().unwrap_or(&fname_out);
        r.err(progress_line(curfile, response.body.len() as u64));
        if to_stdout {
            r.err("written to stdout\n");
        } else {
            r.err(format!("'{fname_out}' saved\n"));
        }
    }
    r
}

// ----- nc --------------------------------------------------------------------------------

fn nc(cx: &Ctx<'_>, args: &[String]) -> Run {
    let mut r = Run::new();
    let mut verbose = 0;
    let mut zero = false;
    let mut wait: Option<u64> = None;
    let mut listen = false;
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                match c {
                    'v' => verbose += 1,
                    'z' => zero = true,
                    'l' => listen = true,
                    'n' | 'u' | 'k' => {}
                    'w' | 'p' | 'q' | 's' | 'i' | 'e' | 'o' => {
                        let v: String = if k < chars.len() {
                            let v = chars[k..].iter().collect();
                            k = chars.len();
                            v
                        } else {
                            let Some(v) = args.get(i).cloned() else {
                                r.err(format!("nc: option requires an argument -- '{c}'\n"));
                                return r.exit(1);
                            };
                            i += 1;
                            v
                        };
                        if c == 'w' {
                            match v.parse() {
                                Ok(n) => wait = Some(n),
                                Err(_) => {
                                    r.err(format!("nc: invalid number '{v}'\n"));
                                    return r.exit(1);
                                }
                            }
                        }
                    }
                    _ => {
                        r.err(format!("nc: invalid option -- '{c}'\n"));
                        return r.exit(1);
                    }
                }
            }
        } else {
            rest.push(a.clone());
        }
    }
    if listen {
        // A listener: nobody connects to a shell's port in the simulation, so it waits.
        r.status = None;
        return r;
    }
    let (Some(host), Some(port)) = (rest.first(), rest.get(1)) else {
        r.err("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: nc [OPTIONS] HOST PORT  - connect\nnc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen\n");
        return r.exit(1);
    };
    let Ok(port) = port.parse::<u16>() else {
        r.err(format!("nc: bad port '{port}'\n"));
        return r.exit(1);
    };
    let ip = match resolve(cx, host) {
        Ok(ip) => ip,
        Err(waited) => {
            r.sleep(waited);
            r.err(format!("nc: bad address '{host}'\n"));
            return r.exit(1);
        }
    };
    let dotted = format!("{ip}:{port}");
    match connect(cx, ip, port) {
        Connect::Refused => {
            if verbose > 1 {
                r.err(format!("nc: {host} ({dotted}): Connection refused\n"));
            }
            r.exit(1)
        }
        Connect::TimedOut => {
            let limit = wait
                .filter(|w| *w > 0)
                .map(Duration::from_secs)
                .unwrap_or(KERNEL_CONNECT_TIMEOUT)
                .min(KERNEL_CONNECT_TIMEOUT);
            r.sleep(limit);
            if verbose > 0 {
                r.err(format!("nc: {host} ({dotted}): Connection timed out\n"));
            }
            r.exit(1)
        }
        Connect::Open(server) => {
            if verbose > 0 {
                r.err(format!("{host} ({dotted}) open\n"));
            }
            if zero {
                return r;
            }
            // Each line of stdin goes to the server as it is read; its answers come back.
            let mut reply = Vec::new();
            for line in cx.stdin.split_inclusive('\n') {
                reply.extend(server.respond(line.as_bytes(), cx.now_unix));
            }
            if !reply.is_empty() {
                r.out(String::from_utf8_lossy(&reply).into_owned());
            }
            // At end of stdin busybox nc keeps reading from the server, which keeps the
            // connection open: `-w` ends that wait, otherwise it lasts.
            match wait.filter(|w| *w > 0) {
                Some(w) => {
                    r.sleep(Duration::from_secs(w));
                    r
                }
                None => {
                    r.status = None;
                    r
                }
            }
        }
    }
}

// ----- nslookup ----------------------------------------------------------------------------

fn nslookup(cx: &Ctx<'_>, args: &[String]) -> Run {
    let mut r = Run::new();
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let Some(name) = names.first() else {
        r.err("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n\nQuery DNS about HOST\n\nQUERY_TYPE: soa,ns,a,aaaa,cname,mx,txt,ptr,srv,any\n");
        return r.exit(1);
    };
    let conf = Resolv::parse(cx.resolv.as_deref());
    let server_name = match names.get(1) {
        Some(s) => s.to_string(),
        None => conf
            .nameservers
            .first()
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "127.0.0.1".into()),
    };
    let Ok(server) = server_name.parse::<Ipv4Addr>() else {
        r.err(format!("nslookup: bad address '{server_name}'\n"));
        return r.exit(1);
    };
    let answer = match cx.net.0.as_ref() {
        Some(n) => n.lookup(server, name.trim_end_matches('.')),
        None => Lookup::NoServer,
    };
    if answer == Lookup::NoServer {
        // Five seconds (the default timeout) of retries before giving up.
        r.sleep(Duration::from_secs(5));
        r.out(";; connection timed out; no servers could be reached\n\n");
        return r.exit(1);
    }
    r.out(format!(
        "Server:\t\t{server_name}\nAddress:\t{server}:53\n\n"
    ));
    // An A and an AAAA query; the cluster has no IPv6 addresses, so the AAAA answer of a name
    // that exists is empty (CoreDNS answers authoritatively, so no "Non-authoritative" line).
    match &answer {
        Lookup::Found(ips) => {
            for ip in ips {
                r.out(format!("Name:\t{name}\nAddress: {ip}\n"));
            }
            r.out("\n\n");
        }
        Lookup::NoRecords => r.out("\n\n"),
        Lookup::NxDomain | Lookup::NoServer => {
            r.out(format!("** server can't find {name}: NXDOMAIN\n\n"));
            r.out(format!("** server can't find {name}: NXDOMAIN\n\n"));
        }
    }
    r
}

// ----- curl --------------------------------------------------------------------------------

fn curl(cx: &Ctx<'_>, args: &[String]) -> Run {
    let mut r = Run::new();
    let mut silent = false;
    let mut show_error = false;
    let mut head = false;
    let mut include = false;
    let mut fail = false;
    let mut write_code = false;
    let mut output: Option<String> = None;
    let mut connect_timeout: Option<u64> = None;
    let mut url: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].clone();
        i += 1;
        let mut next = || {
            let v = args.get(i).cloned().unwrap_or_default();
            i += 1;
            v
        };
        match a.as_str() {
            "-s" | "--silent" => silent = true,
            "-S" | "--show-error" => show_error = true,
            "-I" | "--head" => head = true,
            "-i" | "--include" => include = true,
            "-f" | "--fail" => fail = true,
            "-v" | "-L" | "--location" | "-k" | "--insecure" => {}
            "-sS" | "-Ss" => {
                silent = true;
                show_error = true;
            }
            "-o" | "--output" => output = Some(next()),
            "-w" | "--write-out" => write_code = next().contains("%{http_code}"),
            "--connect-timeout" | "-m" | "--max-time" => {
                connect_timeout = next().parse().ok();
            }
            "-H" | "--header" | "-X" | "--request" | "-d" | "--data" | "-A" => {
                next();
            }
            s if s.starts_with('-') => {
                for c in s[1..].chars() {
                    match c {
                        's' => silent = true,
                        'S' => show_error = true,
                        'I' => head = true,
                        'i' => include = true,
                        'f' => fail = true,
                        _ => {}
                    }
                }
            }
            _ => url = Some(a),
        }
    }
    let say_error = |r: &mut Run, text: String| {
        if !silent || show_error {
            r.err(text);
        }
    };
    let Some(url) = url else {
        r.err("curl: try 'curl --help' or 'curl --manual' for more information\n");
        return r.exit(2);
    };
    let target = match parse_url(&url) {
        Ok(u) => u,
        Err(_) => {
            say_error(&mut r, "curl: (3) URL rejected: Bad hostname\n".to_string());
            return r.exit(3);
        }
    };
    let ip = match resolve(cx, &target.host) {
        Ok(ip) => ip,
        Err(waited) => {
            r.sleep(waited);
            say_error(
                &mut r,
                format!("curl: (6) Could not resolve host: {}\n", target.host),
            );
            return r.exit(6);
        }
    };
    let server = match connect(cx, ip, target.port) {
        Connect::Open(s) => s,
        Connect::Refused => {
            say_error(
                &mut r,
                format!(
                    "curl: (7) Failed to connect to {} port {} after 0 ms: Couldn't connect to server\n",
                    target.host, target.port
                ),
            );
            return r.exit(7);
        }
        Connect::TimedOut => {
            let kernel = KERNEL_CONNECT_TIMEOUT.as_secs();
            match connect_timeout.filter(|t| *t > 0 && *t < kernel) {
                Some(t) => {
                    r.sleep(Duration::from_secs(t));
                    say_error(
                        &mut r,
                        format!(
                            "curl: (28) Failed to connect to {} port {} after {} ms: Timeout was reached\n",
                            target.host,
                            target.port,
                            t * 1000
                        ),
                    );
                    return r.exit(28);
                }
                None => {
                    r.sleep(KERNEL_CONNECT_TIMEOUT);
                    say_error(
                        &mut r,
                        format!(
                            "curl: (28) Failed to connect to {} port {} after {} ms: Couldn't connect to server\n",
                            target.host,
                            target.port,
                            kernel * 1000
                        ),
                    );
                    return r.exit(28);
                }
            }
        }
    };
    let method = if head { "HEAD" } else { "GET" };
    let request = format!(
        "{method} /{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
        target.path, target.hostport
    );
    let reply = server.respond(request.as_bytes(), cx.now_unix);
    let Some(resp) = parse_response(&reply) else {
        say_error(&mut r, "curl: (52) Empty reply from server\n".to_string());
        return r.exit(52);
    };
    if fail && resp.status >= 400 {
        say_error(
            &mut r,
            format!(
                "curl: (22) The requested URL returned error: {}\n",
                resp.status
            ),
        );
        return r.exit(22);
    }
    let mut text = String::new();
    if head || include {
        text.push_str(&resp.status_line);
        text.push_str("\r\n");
        for (k, v) in &resp.headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
    }
    if !head {
        text.push_str(&String::from_utf8_lossy(&resp.body));
    }
    match output.as_deref() {
        Some("/dev/null") => {}
        Some("-") | None => r.out(text),
        Some(f) => r.effects.push(Effect::WriteFile(f.to_string(), text)),
    }
    if write_code {
        r.out(resp.status.to_string());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug)]
    struct Page;
    impl Responder for Page {
        fn respond(&self, request: &[u8], _now: i64) -> Vec<u8> {
            let req = String::from_utf8_lossy(request);
            if req.starts_with("GET / ") {
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec()
            } else if req.starts_with("PING") {
                b"+PONG\r\n".to_vec()
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
            }
        }
    }

    #[derive(Debug, Default)]
    struct FakeNet {
        asked: Mutex<Vec<String>>,
    }
    impl Network for FakeNet {
        fn lookup(&self, _server: Ipv4Addr, fqdn: &str) -> Lookup {
            if let Ok(mut a) = self.asked.lock() {
                a.push(fqdn.to_string());
            }
            match fqdn {
                "web.default.svc.cluster.local" => {
                    Lookup::Found(vec![Ipv4Addr::new(10, 96, 0, 20)])
                }
                "down.default.svc.cluster.local" => {
                    Lookup::Found(vec![Ipv4Addr::new(10, 96, 0, 21)])
                }
                "lost.default.svc.cluster.local" => {
                    Lookup::Found(vec![Ipv4Addr::new(10, 96, 0, 22)])
                }
                _ => Lookup::NxDomain,
            }
        }
        fn connect(&self, ip: Ipv4Addr, _port: u16) -> Connect {
            match ip.octets()[3] {
                20 => Connect::Open(Arc::new(Page)),
                21 => Connect::Refused,
                _ => Connect::TimedOut,
            }
        }
    }

    const RESOLV: &str = "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n";

    fn run_cmd(net: Arc<FakeNet>, cmd: &[&str]) -> Run {
        let handle = NetHandle(Some(net));
        let no = |_: &str| false;
        let cx = Ctx {
            net: &handle,
            resolv: Some(RESOLV.into()),
            now_unix: 0,
            stdin: "PING\n".into(),
            exists: &no,
        };
        let argv: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        run(&cx, &argv)
    }

    fn stderr(r: &Run) -> String {
        r.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Err(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn wget_saves_with_busybox_lines_and_search_path() {
        let net = Arc::new(FakeNet::default());
        let r = run_cmd(net.clone(), &["wget", "web"]);
        assert_eq!(r.status, Some(0));
        assert_eq!(
            stderr(&r),
            "Connecting to web (10.96.0.20:80)\nsaving to 'index.html'\n\
             index.html           100% |********************************|     5  0:00:00 ETA\n\
             'index.html' saved\n"
        );
        assert!(
            r.effects
                .contains(&Effect::WriteFile("index.html".into(), "hello".into()))
        );
        assert_eq!(
            net.asked.lock().map(|a| a.clone()).unwrap_or_default(),
            vec!["web.default.svc.cluster.local".to_string()]
        );
    }

    #[test]
    fn wget_errors() {
        let net = Arc::new(FakeNet::default());
        let r = run_cmd(net.clone(), &["wget", "-qO-", "web/nope"]);
        assert_eq!(r.status, Some(1));
        assert_eq!(
            stderr(&r),
            "wget: server returned error: HTTP/1.1 404 Not Found\n"
        );
        let r = run_cmd(net.clone(), &["wget", "-q", "-O", "-", "http://down"]);
        assert_eq!(
            stderr(&r),
            "wget: can't connect to remote host (10.96.0.21): Connection refused\n"
        );
        let r = run_cmd(net.clone(), &["wget", "-q", "nosuch"]);
        assert_eq!(stderr(&r), "wget: bad address 'nosuch'\n");
        let r = run_cmd(net.clone(), &["wget", "-q", "-T", "3", "lost:8080"]);
        assert_eq!(r.effects[0], Effect::Sleep(Duration::from_secs(3)));
        assert_eq!(stderr(&r), "wget: download timed out\n");
        assert_eq!(r.status, Some(1));
    }

    #[test]
    fn nc_and_nslookup() {
        let net = Arc::new(FakeNet::default());
        let r = run_cmd(net.clone(), &["nc", "-w", "1", "web", "6379"]);
        assert_eq!(r.effects[0], Effect::Out("+PONG\r\n".into()));
        assert_eq!(r.status, Some(0));
        let r = run_cmd(net.clone(), &["nc", "-zv", "down", "80"]);
        assert_eq!(r.status, Some(1));
        assert_eq!(stderr(&r), "");
        let r = run_cmd(net.clone(), &["nslookup", "web.default.svc.cluster.local"]);
        assert_eq!(
            r.effects[0],
            Effect::Out("Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n".into())
        );
        assert_eq!(
            r.effects[1],
            Effect::Out("Name:\tweb.default.svc.cluster.local\nAddress: 10.96.0.20\n".into())
        );
        let r = run_cmd(net, &["nslookup", "web"]);
        assert_eq!(
            r.effects[1],
            Effect::Out("** server can't find web: NXDOMAIN\n\n".into())
        );
        assert_eq!(r.status, Some(0));
    }
}

//! The cluster's audit log: what was asked of the API server, by whom, and how it was answered.
//!
//! The embedded API server records one [`AuditEntry`] per request it answers; on a real cluster
//! the engine records the requests the app itself made on the learner's behalf (the editor's
//! Apply, a command run in a container). The engine reads the log to notice what the learner
//! has looked at and changed (reacting hints, the personal debrief).
//!
//! The log is bounded twice, like the watch history: at most [`AuditLog::capacity`] entries and
//! at most [`AuditLog::max_bytes`] of recorded text, oldest first out, so a client that polls in
//! a loop for hours cannot grow it. Every entry has a sequence number that never repeats, so a
//! reader asks for what came after the last one it saw ([`AuditLog::since`]) and learns from
//! [`AuditSlice::dropped`] whether entries were evicted before it read them.
//!
//! No async runtime: a reader that wants to sleep until something is recorded registers a
//! listener ([`AuditLog::set_listener`]) that, for example, sends on a tokio watch channel.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Query strings longer than this are cut (at a character boundary) before they are stored.
pub const MAX_QUERY_CHARS: usize = 512;

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, from 1, never reused.
    pub seq: u64,
    /// When the request was answered, on the cluster's clock, in milliseconds since the Unix
    /// epoch (the embedded cluster's clock may run faster than the wall clock).
    pub at_ms: i64,
    /// The authenticated user (`kubernetes-admin`, `system:serviceaccount:ns:sa`,
    /// `system:anonymous`); impersonated requests name the impersonated user.
    pub user: String,
    /// The `User-Agent` header (`kubectl/v1.31.0 (linux/amd64) kubernetes/…`), empty if none.
    pub user_agent: String,
    /// kubectl's `Kubectl-Command` header (`kubectl logs`, `kubectl set image`), when sent.
    pub command: Option<String>,
    /// kubectl's `Kubectl-Session` header: one value per kubectl invocation.
    pub session: Option<String>,
    /// The Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`; for non-resource paths the lower-case HTTP method.
    pub verb: String,
    /// API group, empty for the core group.
    pub group: String,
    /// Resource (`pods`), empty for non-resource paths.
    pub resource: String,
    /// Subresource (`log`, `exec`, `status`, `scale`, `portforward`, `ephemeralcontainers`).
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The request path for non-resource requests (`/version`, `/openapi/v3`), else empty.
    pub path: String,
    /// The raw query string (`previous=true&container=web`), cut to [`MAX_QUERY_CHARS`].
    pub query: String,
    /// The HTTP status code of the answer.
    pub code: u16,
    /// Whether the request was a dry run (`dryRun=All`): it changed nothing.
    pub dry_run: bool,
}

impl AuditEntry {
    /// Approximate bytes this entry holds, for the byte bound.
    fn weight(&self) -> usize {
        std::mem::size_of::<AuditEntry>()
            + self.user.len()
            + self.user_agent.len()
            + self.command.as_ref().map_or(0, String::len)
            + self.session.as_ref().map_or(0, String::len)
            + self.verb.len()
            + self.group.len()
            + self.resource.len()
            + self.subresource.as_ref().map_or(0, String::len)
            + self.namespace.as_ref().map_or(0, String::len)
            + self.name.as_ref().map_or(0, String::len)
            + self.path.len()
            + self.query.len()
    }

    /// Whether the request may have changed something (a write verb that succeeded, not a dry
    /// run). An exec or attach counts: a command in a container can change its files.
    pub fn is_write(&self) -> bool {
        let writes = matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        );
        writes && !self.dry_run && (200..300).contains(&self.code)
    }

    /// The first value of one query parameter, decoded, if present.
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query_values(key).next()
    }

    /// Every value of one query parameter, decoded, in order (`command=ls&command=%2Fetc`).
    pub fn query_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = String> + 'a {
        crate::query::values(&self.query, key)
    }
}

/// What [`AuditLog::since`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSlice {
    /// The entries after the asked-for sequence number, oldest first.
    pub entries: Vec<AuditEntry>,
    /// How many entries after that number were evicted before this read.
    pub dropped: u64,
    /// The sequence number to ask from next time (the last one recorded so far).
    pub last_seq: u64,
}

type Listener = Arc<dyn Fn(u64) + Send + Sync>;

struct Inner {
    entries: VecDeque<AuditEntry>,
    bytes: usize,
    next_seq: u64,
    listener: Option<Listener>,
}

/// A bounded, shared, in-memory audit log. Cheap to clone: clones share the same log.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
    max_bytes: usize,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("AuditLog")
            .field("entries", &inner.entries.len())
            .field("bytes", &inner.bytes)
            .field("capacity", &self.capacity)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl Default for AuditLog {
    /// 10,000 entries or 4 MiB, whichever is reached first: hours of a learner's kubectl use.
    fn default() -> Self {
        AuditLog::new(10_000, 4 << 20)
    }
}

impl AuditLog {
    /// A log that keeps at most `capacity` entries and `max_bytes` of them.
    pub fn new(capacity: usize, max_bytes: usize) -> AuditLog {
        AuditLog {
            inner: Arc::new(Mutex::new(Inner {
                entries: VecDeque::new(),
                bytes: 0,
                next_seq: 1,
                listener: None,
            })),
            capacity: capacity.max(1),
            max_bytes,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every mutation is a push or
        // pop), so a poisoned log is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an entry; its `seq` is assigned here (the value passed is ignored) and returned.
    pub fn record(&self, mut entry: AuditEntry) -> u64 {
        if entry.query.len() > MAX_QUERY_CHARS {
            let mut cut = MAX_QUERY_CHARS;
            while !entry.query.is_char_boundary(cut) {
                cut -= 1;
            }
            entry.query.truncate(cut);
        }
        let (seq, listener) = {
            let mut inner = self.lock();
            let seq = inner.next_seq;
            inner.next_seq += 1;
            entry.seq = seq;
            inner.bytes += entry.weight();
            inner.entries.push_back(entry);
            while inner.entries.len() > self.capacity
                || (inner.bytes > self.max_bytes && inner.entries.len() > 1)
            {
                if let Some(old) = inner.entries.pop_front() {
                    inner.bytes -= old.weight();
                }
            }
            (seq, inner.listener.clone())
        };
        if let Some(l) = listener {
            l(seq);
        }
        seq
    }

    /// The entries recorded after `after` (0 for everything still held).
    pub fn since(&self, after: u64) -> AuditSlice {
        let inner = self.lock();
        let last_seq = inner.next_seq - 1;
        let first_held = inner.entries.front().map_or(inner.next_seq, |e| e.seq);
        let dropped = first_held.saturating_sub(after + 1);
        // Sequence numbers are consecutive from the first held, so the first entry after
        // `after` is found by subtraction, not by a scan of the whole log.
        let skip = usize::try_from((after + 1).saturating_sub(first_held)).unwrap_or(usize::MAX);
        let entries = inner.entries.iter().skip(skip).cloned().collect();
        AuditSlice {
            entries,
            dropped,
            last_seq,
        }
    }

    /// The sequence number of the last entry recorded (0 when none yet).
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// How many entries and bytes the log holds now.
    pub fn size(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }

    /// Calls `listener` with the new sequence number after each record (outside the lock).
    /// Replaces any earlier listener.
    pub fn set_listener(&self, listener: impl Fn(u64) + Send + Sync + 'static) {
        self.lock().listener = Some(Arc::new(listener));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(verb: &str, name: &str) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at_ms: 0,
            user: "kubernetes-admin".into(),
            user_agent: "kubectl/v1.31.0".into(),
            command: Some("kubectl get".into()),
            session: None,
            verb: verb.into(),
            group: String::new(),
            resource: "pods".into(),
            subresource: None,
            namespace: Some("kq-x".into()),
            name: Some(name.into()),
            path: String::new(),
            query: String::new(),
            code: 200,
            dry_run: false,
        }
    }

    #[test]
    fn entries_get_increasing_numbers_and_a_reader_gets_what_came_after() {
        let log = AuditLog::new(10, 1 << 20);
        assert_eq!(log.record(entry("get", "a")), 1);
        assert_eq!(log.record(entry("get", "b")), 2);
        let s = log.since(1);
        assert_eq!(s.entries.len(), 1);
        assert_eq!(s.entries[0].name.as_deref(), Some("b"));
        assert_eq!((s.dropped, s.last_seq), (0, 2));
        assert!(log.since(2).entries.is_empty());
    }

    #[test]
    fn the_oldest_entries_go_first_and_a_late_reader_learns_how_many_it_missed() {
        let log = AuditLog::new(3, 1 << 20);
        for i in 0..5 {
            log.record(entry("get", &format!("p{i}")));
        }
        let s = log.since(0);
        let names: Vec<_> = s.entries.iter().filter_map(|e| e.name.clone()).collect();
        assert_eq!(names, ["p2", "p3", "p4"]);
        assert_eq!(s.dropped, 2);
        assert_eq!(log.size().0, 3);
    }

    #[test]
    fn the_byte_bound_holds_with_long_queries() {
        let log = AuditLog::new(1_000_000, 64 * 1024);
        for _ in 0..10_000 {
            let mut e = entry("list", "x");
            e.query = "a".repeat(10_000);
            log.record(e);
        }
        let (n, bytes) = log.size();
        assert!(bytes <= 64 * 1024, "{bytes} bytes held");
        assert!(n > 10, "{n} entries held");
        assert!(
            log.since(0)
                .entries
                .iter()
                .all(|e| e.query.len() == MAX_QUERY_CHARS)
        );
    }

    #[test]
    fn writes_are_successful_non_dry_run_changes() {
        let mut e = entry("patch", "web");
        assert!(e.is_write());
        e.dry_run = true;
        assert!(!e.is_write());
        e.dry_run = false;
        e.code = 422;
        assert!(!e.is_write());
        assert!(!entry("get", "web").is_write());
    }

    #[test]
    fn query_params_are_found_by_name() {
        let mut e = entry("get", "web");
        e.query = "container=web&previous=true".into();
        assert_eq!(e.query_param("previous").as_deref(), Some("true"));
        assert_eq!(e.query_param("follow"), None);
    }

    #[test]
    fn the_listener_hears_every_record() {
        let log = AuditLog::new(10, 1 << 20);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let h = heard.clone();
        log.set_listener(move |seq| h.lock().unwrap().push(seq));
        log.record(entry("get", "a"));
        log.record(entry("get", "b"));
        assert_eq!(*heard.lock().unwrap(), [1, 2]);
    }
}

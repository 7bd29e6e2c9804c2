//! Container log buffers, the source of `kubectl logs`.
//!
//! The kubelet (a later issue; tests until then) writes each container's output here with
//! [`LogStore::append`], calls [`LogStore::restart`] when a container restarts (the current
//! attempt becomes the one `kubectl logs -p` shows) and [`LogStore::finish`] when it exits,
//! which ends `kubectl logs -f`. Buffers are keyed by pod UID so a recreated pod with the
//! same name starts empty, as on a real node.
//!
//! Each attempt's buffer is bounded in bytes the way the kubelet bounds a container's log
//! file: past [`MAX_LOG_BYTES`] the oldest lines go and the newest stay, so a container that
//! floods its output costs at most that much, however short its lines.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use jiff::Timestamp;
use tokio::sync::broadcast;

/// One chunk of output (normally one line including its newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When it was written (cluster time), for `--timestamps` and `--since`.
    pub time: Timestamp,
    /// The text, ending in `\n` unless the container wrote a partial line.
    pub text: String,
}

/// What a follower receives.
#[derive(Debug, Clone)]
pub enum LogUpdate {
    /// New output.
    Line(LogLine),
    /// The attempt ended; stop following.
    Finished,
}

#[derive(Debug, Default)]
struct Attempt {
    /// Oldest first.
    lines: VecDeque<LogLine>,
    /// Sum of [`stored_size`] over `lines`; at most [`MAX_LOG_BYTES`] after every append.
    bytes: usize,
    finished: bool,
}

impl Attempt {
    fn push(&mut self, line: LogLine) {
        self.bytes += stored_size(&line);
        self.lines.push_back(line);
        while self.bytes > MAX_LOG_BYTES {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= stored_size(&old);
        }
    }
}

#[derive(Debug)]
struct ContainerLogs {
    current: Attempt,
    previous: Option<Vec<LogLine>>,
    tx: broadcast::Sender<LogUpdate>,
}

impl ContainerLogs {
    fn new() -> Self {
        ContainerLogs {
            current: Attempt::default(),
            previous: None,
            tx: broadcast::channel(1024).0,
        }
    }
}

/// A pod's containers' log buffers, by container name.
type PodLogs = HashMap<String, ContainerLogs>;

/// Per-container log buffers for every pod, by pod UID then container name, so a deleted
/// pod's buffers go in one removal however many pods have logs.
#[derive(Debug, Default)]
pub struct LogStore {
    inner: Mutex<HashMap<String, PodLogs>>,
}

/// The kubelet's `containerLogMaxSize` default, 10Mi (k8s.io/kubernetes
/// `pkg/kubelet/apis/config/v1beta1/defaults.go`): the size at which it rotates a
/// container's log file. Each attempt keeps at most this many bytes, newest lines first.
pub const MAX_LOG_BYTES: usize = 10 * 1024 * 1024;

/// What one line costs in the kubelet's log file (CRI format: an RFC 3339 timestamp with
/// nanoseconds, 30 bytes, then ` stdout F `, 10 bytes, then the text), so a flood of empty
/// lines is bounded as well as a few long ones.
fn stored_size(line: &LogLine) -> usize {
    const CRI_LINE_PREFIX: usize = 40;
    CRI_LINE_PREFIX + line.text.len()
}

impl LogStore {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, PodLogs>) -> R) -> R {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g)
    }

    /// A container's buffers, made empty on first use.
    fn entry<'a>(
        m: &'a mut HashMap<String, PodLogs>,
        pod_uid: &str,
        container: &str,
    ) -> &'a mut ContainerLogs {
        m.entry(pod_uid.to_string())
            .or_default()
            .entry(container.to_string())
            .or_insert_with(ContainerLogs::new)
    }

    /// A container's buffers, if it has any.
    fn find<'a>(
        m: &'a HashMap<String, PodLogs>,
        pod_uid: &str,
        container: &str,
    ) -> Option<&'a ContainerLogs> {
        m.get(pod_uid).and_then(|pod| pod.get(container))
    }

    /// Append output for a container (split into lines; a trailing partial line is kept as is).
    pub fn append(&self, pod_uid: &str, container: &str, text: &str, now: Timestamp) {
        self.with(|m| {
            let c = Self::entry(m, pod_uid, container);
            for piece in text.split_inclusive('\n') {
                let line = LogLine {
                    time: now,
                    text: piece.to_string(),
                };
                c.current.push(line.clone());
                // No followers is fine; a lagging follower re-reads nothing and just misses lines.
                let _ = c.tx.send(LogUpdate::Line(line));
            }
        });
    }

    /// The container restarted: the current attempt becomes the previous one.
    pub fn restart(&self, pod_uid: &str, container: &str) {
        self.with(|m| {
            let c = Self::entry(m, pod_uid, container);
            let old = std::mem::take(&mut c.current);
            c.previous = Some(old.lines.into());
            let _ = c.tx.send(LogUpdate::Finished);
        });
    }

    /// The current attempt exited; followers stop.
    pub fn finish(&self, pod_uid: &str, container: &str) {
        self.with(|m| {
            let c = Self::entry(m, pod_uid, container);
            c.current.finished = true;
            let _ = c.tx.send(LogUpdate::Finished);
        });
    }

    /// Output of the current (or previous) attempt.
    pub fn read(&self, pod_uid: &str, container: &str, previous: bool) -> Vec<LogLine> {
        self.with(|m| match Self::find(m, pod_uid, container) {
            Some(c) if previous => c.previous.clone().unwrap_or_default(),
            Some(c) => c.current.lines.iter().cloned().collect(),
            None => Vec::new(),
        })
    }

    /// Has the current attempt ended?
    pub fn is_finished(&self, pod_uid: &str, container: &str) -> bool {
        self.with(|m| Self::find(m, pod_uid, container).is_some_and(|c| c.current.finished))
    }

    /// Snapshot plus a subscription for `follow`, taken atomically so no line is lost or doubled.
    pub fn follow(
        &self,
        pod_uid: &str,
        container: &str,
    ) -> (Vec<LogLine>, bool, broadcast::Receiver<LogUpdate>) {
        self.with(|m| {
            let c = Self::entry(m, pod_uid, container);
            (
                c.current.lines.iter().cloned().collect(),
                c.current.finished,
                c.tx.subscribe(),
            )
        })
    }

    /// Forget a deleted pod's logs.
    pub fn remove_pod(&self, pod_uid: &str) {
        self.with(|m| {
            m.remove(pod_uid);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_rotate() {
        let s = LogStore::default();
        let now = Timestamp::now();
        s.append("u", "c", "one\ntwo\n", now);
        assert_eq!(s.read("u", "c", false).len(), 2);
        s.restart("u", "c");
        s.append("u", "c", "three\n", now);
        assert_eq!(
            s.read("u", "c", true)
                .iter()
                .map(|l| l.text.as_str())
                .collect::<String>(),
            "one\ntwo\n"
        );
        assert_eq!(s.read("u", "c", false)[0].text, "three\n");
        s.remove_pod("u");
        assert!(s.read("u", "c", false).is_empty());
    }

    #[test]
    fn a_deleted_pods_logs_go_and_other_pods_logs_stay() {
        let s = LogStore::default();
        let now = Timestamp::now();
        s.append("a", "web", "a web\n", now);
        s.append("a", "sidecar", "a sidecar\n", now);
        s.append("b", "web", "b web\n", now);
        s.restart("b", "web");
        s.append("b", "web", "b web again\n", now);
        s.finish("b", "web");
        s.remove_pod("a");
        assert!(s.read("a", "web", false).is_empty());
        assert!(s.read("a", "sidecar", false).is_empty());
        assert_eq!(s.read("b", "web", false)[0].text, "b web again\n");
        assert_eq!(s.read("b", "web", true)[0].text, "b web\n");
        assert!(s.is_finished("b", "web"));
        assert!(!s.is_finished("a", "web"));
        s.remove_pod("b");
        assert!(s.read("b", "web", true).is_empty());
    }

    #[test]
    fn a_flooding_container_keeps_at_most_the_kubelets_log_size_and_its_newest_lines() {
        let s = LogStore::default();
        let now = Timestamp::now();
        // 20 MiB of output, twice what the kubelet keeps before rotating.
        let chunk = format!("{}\n", "x".repeat(1023));
        for i in 0..20 * 1024 {
            s.append("u", "c", &format!("{i:08} {chunk}"), now);
        }
        let lines = s.read("u", "c", false);
        let kept: usize = lines.iter().map(stored_size).sum();
        assert!(
            kept <= MAX_LOG_BYTES,
            "a container's log must stay within containerLogMaxSize (10Mi): {kept} bytes kept"
        );
        assert!(
            kept > MAX_LOG_BYTES - 2 * 1024,
            "only the oldest lines beyond the limit may go: {kept} bytes kept"
        );
        assert!(
            lines
                .last()
                .is_some_and(|l| l.text.starts_with(&format!("{:08} ", 20 * 1024 - 1))),
            "the newest line must be kept"
        );
        let first: usize = lines[0].text[..8].parse().expect("a numbered line");
        assert_eq!(
            first + lines.len(),
            20 * 1024,
            "what is kept must be the newest lines, in order, with none missing"
        );
    }

    #[test]
    fn a_flood_of_empty_lines_is_bounded_too() {
        let s = LogStore::default();
        let now = Timestamp::now();
        let burst = "\n".repeat(64 * 1024);
        for _ in 0..8 {
            s.append("u", "c", &burst, now);
        }
        let n = s.read("u", "c", false).len();
        assert!(
            n * stored_size(&LogLine {
                time: now,
                text: "\n".into()
            }) <= MAX_LOG_BYTES,
            "each line costs its place in the log file, so empty lines cannot grow the buffer \
             without bound: {n} lines kept"
        );
    }
}

//! Container log buffers, the source of `kubectl logs`.
//!
//! The kubelet (a later issue; tests until then) writes each container's output here with
//! [`LogStore::append`], calls [`LogStore::restart`] when a container restarts (the current
//! attempt becomes the one `kubectl logs -p` shows) and [`LogStore::finish`] when it exits,
//! which ends `kubectl logs -f`. Buffers are keyed by pod UID so a recreated pod with the
//! same name starts empty, as on a real node.

use std::collections::HashMap;
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

#[derive(Debug)]
struct Attempt {
    lines: Vec<LogLine>,
    finished: bool,
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
            current: Attempt {
                lines: Vec::new(),
                finished: false,
            },
            previous: None,
            tx: broadcast::channel(1024).0,
        }
    }
}

/// Per-container log buffers for every pod.
#[derive(Debug, Default)]
pub struct LogStore {
    inner: Mutex<HashMap<(String, String), ContainerLogs>>,
}

/// Each attempt keeps at most this many chunks, like a kubelet's rotated log file.
const MAX_LINES: usize = 10_000;

impl LogStore {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<(String, String), ContainerLogs>) -> R) -> R {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g)
    }

    /// Append output for a container (split into lines; a trailing partial line is kept as is).
    pub fn append(&self, pod_uid: &str, container: &str, text: &str, now: Timestamp) {
        self.with(|m| {
            let c = m
                .entry((pod_uid.to_string(), container.to_string()))
                .or_insert_with(ContainerLogs::new);
            for piece in text.split_inclusive('\n') {
                let line = LogLine {
                    time: now,
                    text: piece.to_string(),
                };
                c.current.lines.push(line.clone());
                // No followers is fine; a lagging follower re-reads nothing and just misses lines.
                let _ = c.tx.send(LogUpdate::Line(line));
            }
            if c.current.lines.len() > MAX_LINES {
                let excess = c.current.lines.len() - MAX_LINES;
                c.current.lines.drain(..excess);
            }
        });
    }

    /// The container restarted: the current attempt becomes the previous one.
    pub fn restart(&self, pod_uid: &str, container: &str) {
        self.with(|m| {
            let c = m
                .entry((pod_uid.to_string(), container.to_string()))
                .or_insert_with(ContainerLogs::new);
            let old = std::mem::replace(
                &mut c.current,
                Attempt {
                    lines: Vec::new(),
                    finished: false,
                },
            );
            c.previous = Some(old.lines);
            let _ = c.tx.send(LogUpdate::Finished);
        });
    }

    /// The current attempt exited; followers stop.
    pub fn finish(&self, pod_uid: &str, container: &str) {
        self.with(|m| {
            let c = m
                .entry((pod_uid.to_string(), container.to_string()))
                .or_insert_with(ContainerLogs::new);
            c.current.finished = true;
            let _ = c.tx.send(LogUpdate::Finished);
        });
    }

    /// Output of the current (or previous) attempt.
    pub fn read(&self, pod_uid: &str, container: &str, previous: bool) -> Vec<LogLine> {
        self.with(
            |m| match m.get(&(pod_uid.to_string(), container.to_string())) {
                Some(c) if previous => c.previous.clone().unwrap_or_default(),
                Some(c) => c.current.lines.clone(),
                None => Vec::new(),
            },
        )
    }

    /// Has the current attempt ended?
    pub fn is_finished(&self, pod_uid: &str, container: &str) -> bool {
        self.with(|m| {
            m.get(&(pod_uid.to_string(), container.to_string()))
                .is_some_and(|c| c.current.finished)
        })
    }

    /// Snapshot plus a subscription for `follow`, taken atomically so no line is lost or doubled.
    pub fn follow(
        &self,
        pod_uid: &str,
        container: &str,
    ) -> (Vec<LogLine>, bool, broadcast::Receiver<LogUpdate>) {
        self.with(|m| {
            let c = m
                .entry((pod_uid.to_string(), container.to_string()))
                .or_insert_with(ContainerLogs::new);
            (
                c.current.lines.clone(),
                c.current.finished,
                c.tx.subscribe(),
            )
        })
    }

    /// Forget a deleted pod's logs.
    pub fn remove_pod(&self, pod_uid: &str) {
        self.with(|m| m.retain(|(uid, _), _| uid != pod_uid));
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
}

//! Watch streams: one JSON event per line over a chunked response.
//!
//! Semantics follow kube-apiserver's watch cache: resourceVersion ""/"0" starts with
//! synthetic ADDED events, N replays history after N, a version older than the history gets
//! an in-stream `ERROR 410 Expired` (never an HTTP 410, which kube-rs would retry forever),
//! selectors turn changes that enter or leave the selection into ADDED/DELETED, bookmarks
//! carry kind and apiVersion, `timeoutSeconds` ends the stream, and Table watches send one-row
//! tables.
//!
//! A watch never holds more than its channel of events for a client that stops reading: as
//! in the watch cache (`cache_watcher.go`), a watch whose channel stays full for the dispatch
//! budget is terminated, its buffered events are freed, and its stream ends, so the client
//! re-watches from its last resourceVersion. [`WatchStats`] counts what every watch holds.
//!
//! A watch from a resourceVersion the server has not reached yet waits for it (the watch
//! cache lets clients "wait for events without unnecessary blocking"), except a watch that
//! asks for initial events: that one waits at most 3 s and then gets an in-stream `ERROR`
//! with the 504 "Too large resource version" Status, exactly as from kube-apiserver.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use serde_json::{Value, json};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{broadcast, mpsc};

use super::handlers::Filter;
use super::table::{IncludeObject, TableRequest, row, wants_table};
use super::{ApiState, Body, Req};
use crate::error::{Error, Result};
use crate::store::{EventType, Obj, Store, WatchControl, WatchEvent, WatchStart};

/// How long a watch that asks for initial events from a resourceVersion the server has not
/// reached waits for it before failing (`blockTimeout`, k8s.io/apiserver
/// `pkg/storage/cacher/watch_cache.go`).
const FRESH_BLOCK_TIMEOUT: Duration = Duration::from_secs(3);

/// What the client is told to wait before retrying after "Too large resource version"
/// (`resourceVersionTooHighRetrySeconds`, `watch_cache.go`).
const TOO_LARGE_RETRY_SECONDS: u64 = 1;

/// The server's own accounting of watch output: bytes rendered for clients that their
/// connections have not yet taken, and watches terminated for not reading.
#[derive(Debug, Default)]
pub struct WatchStats {
    /// Sum of the lengths of every [`Metered`] chunk alive (queued in some watch's channel).
    buffered: AtomicUsize,
    /// Watches terminated because their client stopped reading.
    terminated: AtomicU64,
}

impl WatchStats {
    /// Bytes every open watch holds for its client right now.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered.load(Ordering::SeqCst)
    }

    /// Watches terminated so far for not reading what they were sent.
    pub fn terminated(&self) -> u64 {
        self.terminated.load(Ordering::SeqCst)
    }
}

/// One rendered event waiting in a watch's channel; counted in [`WatchStats`] from creation
/// until the connection takes it (or it is dropped with a terminated watch).
struct Metered {
    bytes: Bytes,
    stats: Arc<WatchStats>,
}

impl Metered {
    fn new(bytes: Bytes, stats: &Arc<WatchStats>) -> Self {
        stats.buffered.fetch_add(bytes.len(), Ordering::SeqCst);
        Metered {
            bytes,
            stats: stats.clone(),
        }
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        self.stats
            .buffered
            .fetch_sub(self.bytes.len(), Ordering::SeqCst);
    }
}

/// The receiving end of a watch's channel, shared between the response body (which reads
/// it) and the watch (which empties it when it terminates a client that does not read, since
/// that client's body is never polled again).
type Outbox = Arc<Mutex<mpsc::Receiver<Metered>>>;

fn lock(outbox: &Outbox) -> MutexGuard<'_, mpsc::Receiver<Metered>> {
    // Receiving cannot leave the channel half-updated, so a poisoned lock is still usable.
    match outbox.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// The streamed response of a watch, fed by its channel.
fn watch_response(content_type: &str, outbox: Outbox) -> hyper::Response<Body> {
    let stream = futures::stream::poll_fn(move |cx| {
        lock(&outbox)
            .poll_recv(cx)
            .map(|item| item.map(|m| Ok::<_, Infallible>(Frame::data(m.bytes.clone()))))
    });
    // No length is known, so hyper frames the body with chunked transfer encoding.
    super::base(200, content_type)
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()).boxed()))
}

struct Stream {
    store: Arc<Store>,
    filter: Filter,
    table: Option<(TableRequest, IncludeObject)>,
    columns_sent: bool,
    tx: mpsc::Sender<Metered>,
    outbox: Outbox,
    stats: Arc<WatchStats>,
    /// How long a send may wait for room in a full channel before the watch is terminated.
    budget: Duration,
}

/// An event's object as a watch sends it: the stored one (with the encoding it was stored as)
/// or a rewritten copy.
enum Translated {
    Shared(Obj),
    Owned(Value),
}

impl Stream {
    fn render(&mut self, ty: &str, obj: &Value, encoded: Option<&[u8]>) -> Bytes {
        let table = match self.table {
            Some((req, include)) if ty != "ERROR" && ty != "BOOKMARK" => {
                let now = self.store.clock().now();
                let columns: Vec<Value> = if self.columns_sent {
                    vec![]
                } else {
                    self.columns_sent = true;
                    self.filter
                        .kind
                        .hooks
                        .columns()
                        .iter()
                        .map(|c| c.to_json())
                        .collect()
                };
                Some(json!({
                    "kind": "Table",
                    "apiVersion": format!("meta.k8s.io/{}", req.version),
                    "metadata": {"resourceVersion": crate::kinds::str_at(obj, "/metadata/resourceVersion")},
                    "columnDefinitions": columns,
                    "rows": [row(self.filter.kind, obj, include, req, now)],
                }))
            }
            _ => None,
        };
        // `{"type":…,"object":…}` written by hand so a stored object is sent as it was encoded
        // when written, however many watches send it.
        let mut line = Vec::with_capacity(4096);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(ty.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        match (&table, encoded) {
            (Some(t), _) => line.extend_from_slice(&serde_json::to_vec(t).unwrap_or_default()),
            (None, Some(e)) => line.extend_from_slice(e),
            (None, None) => line.extend_from_slice(&serde_json::to_vec(obj).unwrap_or_default()),
        }
        line.extend_from_slice(b"}\n");
        Bytes::from(line)
    }

    async fn send(&mut self, ty: &str, obj: &Value) -> bool {
        let b = self.render(ty, obj, None);
        self.push(b).await
    }

    async fn send_event(&mut self, ty: &str, obj: &Translated) -> bool {
        let b = match obj {
            // Without a table the stored bytes are sent as they are, never decoded.
            Translated::Shared(o) if self.table.is_none() => render_line(ty, o.json()),
            Translated::Shared(o) => self.render(ty, o, Some(o.json())),
            Translated::Owned(o) => self.render(ty, o, None),
        };
        self.push(b).await
    }

    /// Queue one chunk for the client. As the watch cache's dispatcher does, try without
    /// waiting first, then wait at most the budget; a client that has not made room by then
    /// is not reading, and its watch is terminated. `false` means the watch is over.
    async fn push(&mut self, b: Bytes) -> bool {
        let item = Metered::new(b, &self.stats);
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(TrySendError::Closed(_)) => false,
            Err(TrySendError::Full(item)) => {
                match tokio::time::timeout(self.budget, self.tx.send(item)).await {
                    Ok(sent) => sent.is_ok(),
                    Err(_) => {
                        self.terminate();
                        false
                    }
                }
            }
        }
    }

    /// Drop a watch whose client does not read: free what it buffered and end its stream.
    fn terminate(&self) {
        self.stats.terminated.fetch_add(1, Ordering::SeqCst);
        let mut rx = lock(&self.outbox);
        tracing::info!(
            resource = self.filter.kind.plural,
            buffered = rx.len(),
            "Forcing watcher close due to unresponsiveness"
        );
        rx.close();
        while rx.try_recv().is_ok() {}
    }

    /// Translate a store event through the selector, as the watch cache does.
    fn translate(&self, ev: &WatchEvent) -> Option<(&'static str, Translated)> {
        let new_ok = self.filter.matches_stored(&ev.object);
        let old_ok = ev
            .old
            .as_ref()
            .is_some_and(|o| self.filter.matches_stored(o));
        let shared = || Translated::Shared(ev.object.clone());
        match ev.kind {
            EventType::Added => new_ok.then(|| ("ADDED", shared())),
            EventType::Deleted => (old_ok || new_ok).then(|| ("DELETED", shared())),
            EventType::Modified => match (old_ok, new_ok) {
                (true, true) => Some(("MODIFIED", shared())),
                (false, true) => Some(("ADDED", shared())),
                (true, false) => {
                    // Leaving the selection looks like a delete of the last matching state,
                    // stamped with this change's resourceVersion.
                    let mut last = ev.old.as_deref().cloned().unwrap_or_default();
                    last["metadata"]["resourceVersion"] = json!(ev.rv.to_string());
                    Some(("DELETED", Translated::Owned(last)))
                }
                (false, false) => None,
            },
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let kind = self.filter.kind;
        let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": kind.kind, "apiVersion": kind.api_version(), "metadata": meta})
    }
}

/// One watch event line, `{"type":…,"object":…}`, around an object's JSON.
fn render_line(ty: &str, json: &[u8]) -> Bytes {
    let mut line = Vec::with_capacity(json.len() + 32);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(ty.as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(json);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

fn expired(requested: u64, oldest: u64) -> Value {
    Error::Expired { requested, oldest }.to_status()
}

/// The Status of `storage.NewTooLargeResourceVersionError` (k8s.io/apiserver
/// `pkg/storage/errors.go`): a 504 Timeout ("Timeout: " is `apierrors.NewTimeoutError`'s
/// prefix) with the ResourceVersionTooLarge cause, which client-go's reflector recognises.
fn too_large(requested: u64, current: u64) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("Timeout: Too large resource version: {requested}, current: {current}"),
        "reason": "Timeout",
        "details": {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": TOO_LARGE_RETRY_SECONDS,
        },
        "code": 504,
    })
}

/// Wait until the store reaches `rv`, for at most [`FRESH_BLOCK_TIMEOUT`]; the current
/// resourceVersion if it never does.
async fn wait_until_fresh(store: &Store, rv: u64) -> std::result::Result<(), u64> {
    let deadline = tokio::time::Instant::now() + FRESH_BLOCK_TIMEOUT;
    loop {
        let current = store.resource_version();
        if current >= rv {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(current);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn watch(state: &ApiState, req: &Req, filter: Filter) -> Result<hyper::Response<Body>> {
    let table = wants_table(&req.accept).map(|t| (t, IncludeObject::parse(req.q("includeObject"))));
    let content_type =
        table.map_or_else(|| "application/json".to_string(), |(t, _)| t.content_type());
    let send_initial = req.q_bool("sendInitialEvents");
    let requested = match req.q("resourceVersion").unwrap_or_default() {
        "" | "0" => None,
        s => Some(
            s.parse::<u64>()
                .map_err(|_| Error::BadRequest(format!("invalid resource version \"{s}\"")))?,
        ),
    };
    let start = match requested {
        Some(n) if !send_initial => WatchStart::After(n),
        _ => WatchStart::Current,
    };
    // With initial events the list must be at least as new as the version asked for; the
    // watch cache waits for it and then fails (`waitUntilWatchCacheFreshAndForceAllEvents`).
    let must_reach = requested.filter(|&n| send_initial && n > state.store.resource_version());
    let bookmarks = req.q_bool("allowWatchBookmarks");
    let timeout = match req.q("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()) {
        Some(t) => Duration::from_secs(t),
        // The apiserver picks a random 30–60 minutes when the client sets no timeout.
        None => Duration::from_secs(
            1800 + u64::from(kq_kube::random::hex(3).bytes().map(u32::from).sum::<u32>()) % 1800,
        ),
    };
    let store = state.store.clone();
    let interval = state.bookmark_interval;
    let (tx, rx) = mpsc::channel::<Metered>(state.limits.watch_channel_events.max(1));
    let outbox: Outbox = Arc::new(Mutex::new(rx));
    let mut control = store.control();
    let kind = filter.kind;
    let subscription = match must_reach {
        Some(_) => None,
        None => Some(store.subscribe(kind, start)),
    };
    let mut s = Stream {
        store,
        filter,
        table,
        columns_sent: false,
        tx,
        outbox: outbox.clone(),
        stats: state.watch_stats.clone(),
        budget: state.limits.watch_dispatch_budget,
    };
    tokio::spawn(async move {
        let subscription = match (subscription, must_reach) {
            (Some(sub), _) => sub,
            (None, Some(rv)) => match wait_until_fresh(&s.store, rv).await {
                Ok(()) => s.store.subscribe(kind, start),
                Err(current) => {
                    let _ = s.send("ERROR", &too_large(rv, current)).await;
                    return;
                }
            },
            (None, None) => s.store.subscribe(kind, start),
        };
        let sub = match subscription {
            Ok(sub) => sub,
            Err(Error::Expired { requested, oldest }) => {
                let _ = s.send("ERROR", &expired(requested, oldest)).await;
                return;
            }
            Err(_) => return,
        };
        let mut last_rv = match start {
            WatchStart::Current => sub.rv,
            WatchStart::After(n) => n,
        };
        for ev in &sub.initial {
            if let Some((ty, obj)) = s.translate(ev)
                && !s.send_event(ty, &obj).await
            {
                return;
            }
            last_rv = last_rv.max(ev.rv);
        }
        if send_initial && bookmarks {
            let b = s.bookmark(last_rv, true);
            if !s.send("BOOKMARK", &b).await {
                return;
            }
        }
        let mut live = sub.rx;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = s.tx.closed() => return,
                c = control.recv() => match c {
                    Ok(WatchControl::Expire) => {
                        let _ = s.send("ERROR", &expired(last_rv, s.store.resource_version() + 1)).await;
                        return;
                    }
                    Ok(WatchControl::Close) | Err(broadcast::error::RecvError::Closed) => return,
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                },
                _ = tick.tick(), if bookmarks => {
                    // Everything committed up to `rv` is already in our channel (the store sends
                    // under its lock), so once drained the bookmark is exact.
                    let rv = s.store.resource_version();
                    loop {
                        match live.try_recv() {
                            Ok(ev) => {
                                if ev.rv <= last_rv { continue; }
                                last_rv = ev.rv;
                                if let Some((ty, obj)) = s.translate(&ev)
                                    && !s.send_event(ty, &obj).await
                                {
                                    return;
                                }
                            }
                            Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                match s.store.events_after(s.filter.kind, last_rv) {
                                    Ok(evs) => for ev in evs {
                                        last_rv = ev.rv;
                                        if let Some((ty, obj)) = s.translate(&ev)
                                            && !s.send_event(ty, &obj).await
                                        {
                                            return;
                                        }
                                    },
                                    Err(_) => {
                                        let _ = s.send("ERROR", &expired(last_rv, s.store.resource_version())).await;
                                        return;
                                    }
                                }
                            }
                            Err(_) => break,
                        }
                    }
                    last_rv = last_rv.max(rv);
                    let b = s.bookmark(last_rv, false);
                    if !s.send("BOOKMARK", &b).await {
                        return;
                    }
                }
                ev = live.recv() => match ev {
                    Ok(ev) => {
                        if ev.rv <= last_rv { continue; }
                        last_rv = ev.rv;
                        if let Some((ty, obj)) = s.translate(&ev)
                            && !s.send_event(ty, &obj).await
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // This reader fell behind the live channel; the history still has what it
                        // missed, or the client must re-list.
                        match s.store.events_after(s.filter.kind, last_rv) {
                            Ok(evs) => {
                                for ev in evs {
                                    last_rv = ev.rv;
                                    if let Some((ty, obj)) = s.translate(&ev)
                                        && !s.send_event(ty, &obj).await
                                    {
                                        return;
                                    }
                                }
                            }
                            Err(_) => {
                                let _ = s.send("ERROR", &expired(last_rv, s.store.resource_version())).await;
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(watch_response(&content_type, outbox))
}

//! Watch streams: one JSON event per line over a chunked response.
//!
//! Semantics follow kube-apiserver's watch cache: resourceVersion ""/"0" starts with
//! synthetic ADDED events, N replays history after N, a version older than the history gets
//! an in-stream `ERROR 410 Expired` (never an HTTP 410, which kube-rs would retry forever),
//! selectors turn changes that enter or leave the selection into ADDED/DELETED, bookmarks
//! carry kind and apiVersion, `timeoutSeconds` ends the stream, and Table watches send one-row
//! tables.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::handlers::Filter;
use super::table::{IncludeObject, TableRequest, row, wants_table};
use super::{ApiState, Body, Req, stream_response};
use crate::error::{Error, Result};
use crate::store::{Encoded, EventType, Store, WatchControl, WatchEvent, WatchStart};

struct Stream {
    store: Arc<Store>,
    filter: Filter,
    table: Option<(TableRequest, IncludeObject)>,
    columns_sent: bool,
    tx: mpsc::Sender<Bytes>,
}

/// An event's object as a watch sends it: the stored one (with its shared encoding) or a
/// rewritten copy.
enum Translated {
    Shared(Arc<Value>, Encoded),
    Owned(Value),
}

impl Stream {
    fn render(&mut self, ty: &str, obj: &Value, encoded: Option<&Encoded>) -> Bytes {
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
        // `{"type":…,"object":…}` written by hand so the object is serialised at most once per
        // event, however many watches send it.
        let mut line = Vec::with_capacity(4096);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(ty.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        match (&table, encoded) {
            (Some(t), _) => line.extend_from_slice(&serde_json::to_vec(t).unwrap_or_default()),
            (None, Some(e)) => line.extend_from_slice(e.get_or_encode(obj)),
            (None, None) => line.extend_from_slice(&serde_json::to_vec(obj).unwrap_or_default()),
        }
        line.extend_from_slice(b"}\n");
        Bytes::from(line)
    }

    async fn send(&mut self, ty: &str, obj: &Value) -> bool {
        let b = self.render(ty, obj, None);
        self.tx.send(b).await.is_ok()
    }

    async fn send_event(&mut self, ty: &str, obj: &Translated) -> bool {
        let b = match obj {
            Translated::Shared(o, enc) => self.render(ty, o, Some(enc)),
            Translated::Owned(o) => self.render(ty, o, None),
        };
        self.tx.send(b).await.is_ok()
    }

    /// Translate a store event through the selector, as the watch cache does.
    fn translate(&self, ev: &WatchEvent) -> Option<(&'static str, Translated)> {
        let new_ok = self.filter.matches(&ev.object);
        let old_ok = ev.old.as_ref().is_some_and(|o| self.filter.matches(o));
        let shared = || Translated::Shared(ev.object.clone(), ev.encoded.clone());
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

fn expired(requested: u64, oldest: u64) -> Value {
    Error::Expired { requested, oldest }.to_status()
}

pub(crate) fn watch(state: &ApiState, req: &Req, filter: Filter) -> Result<hyper::Response<Body>> {
    let table = wants_table(&req.accept).map(|t| (t, IncludeObject::parse(req.q("includeObject"))));
    let content_type =
        table.map_or_else(|| "application/json".to_string(), |(t, _)| t.content_type());
    let send_initial = req.q_bool("sendInitialEvents");
    let start = match req.q("resourceVersion").unwrap_or_default() {
        "" | "0" => WatchStart::Current,
        _ if send_initial => WatchStart::Current,
        s => WatchStart::After(
            s.parse()
                .map_err(|_| Error::BadRequest(format!("invalid resource version \"{s}\"")))?,
        ),
    };
    let bookmarks = req.q_bool("allowWatchBookmarks");
    let timeout = match req.q("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()) {
        Some(t) => Duration::from_secs(t),
        // The apiserver picks a random 30–60 minutes when the client sets no timeout.
        None => Duration::from_secs(
            1800 + u64::from(crate::random::hex(3).bytes().map(u32::from).sum::<u32>()) % 1800,
        ),
    };
    let store = state.store.clone();
    let interval = state.bookmark_interval;
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut control = store.control();
    let subscription = store.subscribe(filter.kind, start);
    let mut s = Stream {
        store,
        filter,
        table,
        columns_sent: false,
        tx,
    };
    tokio::spawn(async move {
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
    Ok(stream_response(&content_type, rx))
}

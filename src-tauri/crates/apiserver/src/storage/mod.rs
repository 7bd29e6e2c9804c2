//! The object store: every object of the embedded cluster, one global resourceVersion,
//! a change history for watch replay (bounded per resource by count and across resources by
//! bytes, oldest first, like etcd's compaction), and watch fan-out.
//!
//! Objects are kept as canonical JSON (produced by round-tripping through the k8s-openapi
//! types), which keeps the store generic over kinds. Each stored version is held as its
//! encoded bytes, not as a `serde_json::Value` tree (a tree costs about ten times its JSON):
//! readers get a tree decoded on demand, shared with every other reader for as long as any of
//! them holds it, and watches send the stored bytes as they are. All writes go
//! through one mutex and each bumps the global resourceVersion, so history order equals
//! resourceVersion order. Watchers receive events over a `tokio::sync::broadcast` channel: a
//! writer never waits for a reader; a reader that falls behind replays from the history, and
//! if that is gone too it gets an in-stream `410 Expired`, like a real apiserver.
//!
//! The typed, validated operations (create, replace, patch, delete) that the HTTP API and
//! in-process controllers share live in [`crate::registry`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::logs::LogStore;

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed; the event carries its last state with a new resourceVersion.
    Deleted,
}

impl EventType {
    /// Wire name (`ADDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    /// What happened.
    pub kind: EventType,
    /// The object after the change (for deletes: the last state).
    pub object: Obj,
    /// The object before the change, so selector watches can turn a MODIFIED that leaves the
    /// selection into a DELETED (as the apiserver's watch cache does).
    pub old: Option<Obj>,
    /// The resourceVersion of this change.
    pub rv: u64,
}

/// One version of one object as the store keeps it: its JSON, and the decoded tree for as long
/// as some reader holds it.
#[derive(Debug)]
struct Stored {
    json: Box<[u8]>,
    /// Where `json` holds the `apiVersion` and `kind` members (with a separating comma), which
    /// a list item leaves out; empty ranges when absent.
    type_members: [(u32, u32); 2],
    /// `metadata.namespace`, so a watch filters by namespace without decoding.
    namespace: Box<str>,
    rv: u64,
    tree: Mutex<Weak<Value>>,
}

impl Stored {
    /// Keep `obj` (already stamped with `rv`); `obj` itself is shared with readers while held.
    fn new(obj: &Arc<Value>, rv: u64) -> Arc<Stored> {
        let (json, type_members) = encode(obj);
        Arc::new(Stored {
            json: json.into_boxed_slice(),
            type_members,
            namespace: namespace_of(obj).into(),
            rv,
            tree: Mutex::new(Arc::downgrade(obj)),
        })
    }

    /// The decoded object: the tree some reader still holds, or a fresh decode.
    fn tree(&self) -> Arc<Value> {
        self.tree_or_decode().0
    }

    /// [`Stored::tree`], and whether it had to be decoded.
    fn tree_or_decode(&self) -> (Arc<Value>, bool) {
        let mut held = match self.tree.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(t) = held.upgrade() {
            return (t, false);
        }
        // The bytes were written from a Value, so they decode.
        let t = Arc::new(serde_json::from_slice(&self.json).unwrap_or_default());
        *held = Arc::downgrade(&t);
        (t, true)
    }
}

/// `obj` as compact JSON (byte for byte what `serde_json::to_vec` writes), with where its
/// `apiVersion` and `kind` members are.
fn encode(obj: &Value) -> (Vec<u8>, [(u32, u32); 2]) {
    let mut cut = [(0, 0); 2];
    let Some(map) = obj.as_object() else {
        // A Value always serialises.
        return (serde_json::to_vec(obj).unwrap_or_default(), cut);
    };
    let mut out = Vec::with_capacity(2048);
    out.push(b'{');
    let mut found = 0;
    for (i, (k, v)) in map.iter().enumerate() {
        let start = out.len();
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, v);
        if (k == "apiVersion" || k == "kind") && found < 2 {
            cut[found] = (start as u32, out.len() as u32);
            found += 1;
        }
    }
    out.push(b'}');
    (out, cut)
}

/// An object carried by a watch event: the stored version, decoded the first time this copy
/// of the event is looked into (copies kept in the history and the live channel hold bytes
/// only).
#[derive(Debug, Clone)]
pub struct Obj {
    stored: Arc<Stored>,
    tree: OnceLock<Arc<Value>>,
}

impl Obj {
    fn new(stored: &Arc<Stored>) -> Obj {
        Obj {
            stored: stored.clone(),
            tree: OnceLock::new(),
        }
    }

    /// The decoded object, shared.
    pub fn arc(&self) -> Arc<Value> {
        self.tree.get_or_init(|| self.stored.tree()).clone()
    }

    /// The object as JSON, encoded once when it was written.
    pub fn json(&self) -> &[u8] {
        &self.stored.json
    }

    /// `metadata.namespace` ("" for cluster-scoped objects), without decoding.
    pub fn namespace(&self) -> &str {
        &self.stored.namespace
    }

    /// Append the object as a list item writes it: its JSON without `kind` and `apiVersion`,
    /// as the apiserver's list items are.
    pub fn write_list_item(&self, out: &mut Vec<u8>) {
        let json = &self.stored.json;
        let [(a0, a1), (b0, b1)] = self.stored.type_members;
        let (a0, a1, b0, b1) = (a0 as usize, a1 as usize, b0 as usize, b1 as usize);
        if a1 == 0 || json.len() < 2 {
            out.extend_from_slice(json);
            return;
        }
        out.push(b'{');
        let mut first = true;
        let end = json.len() - 1;
        let parts = if b1 == 0 {
            [(1, a0), (a1, end), (end, end)]
        } else {
            [(1, a0), (a1, b0), (b1, end)]
        };
        for (from, to) in parts {
            let mut part = &json[from..to];
            if first {
                // The first member written takes no comma before it.
                part = part.strip_prefix(b",").unwrap_or(part);
            }
            if !part.is_empty() {
                out.extend_from_slice(part);
                first = false;
            }
        }
        out.push(b'}');
    }
}

impl std::ops::Deref for Obj {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.tree.get_or_init(|| self.stored.tree())
    }
}

/// Out-of-band instructions to every open watch (test hooks and shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchControl {
    /// Send an in-stream `410 Expired` and close (history is compacted too).
    Expire,
    /// Close the stream cleanly, as a real apiserver does when a watch times out.
    Close,
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// `resourceVersion` "" or "0": synthetic ADDED events for the current state.
    Current,
    /// Replay every change after this resourceVersion.
    After(u64),
}

/// An open subscription to one resource's changes.
#[derive(Debug)]
pub struct Subscription {
    /// Events to send before live ones (synthetic ADDED or replayed history).
    pub initial: Vec<WatchEvent>,
    /// Live events.
    pub rx: broadcast::Receiver<WatchEvent>,
    /// The resourceVersion the initial events bring the client to.
    pub rv: u64,
}

type Key = (String, String);

/// Default for the bytes of history kept across all resources. Kubernetes bounds its watch
/// cache by event count and etcd compacts by time, neither by bytes; KubeQuest runs in a
/// learner's desktop session, so it bounds by bytes too. 64 MiB holds about 40 changes of
/// objects at the 1.5 MiB size limit, or tens of thousands of typical pod changes.
pub const HISTORY_BYTES: usize = 64 * 1024 * 1024;

/// JSON bytes' worth of recently written or decoded objects whose trees the store keeps, so
/// what is read again and again (the RBAC bindings every request is authorized against, an
/// object a controller is working on) is not decoded on every read. About a megabyte of JSON
/// is some ten megabytes of trees.
const RECENT_BYTES: usize = 1024 * 1024;

/// The trees kept for [`RECENT_BYTES`], oldest first.
#[derive(Default)]
struct Recent {
    trees: VecDeque<(Arc<Value>, usize)>,
    bytes: usize,
}

/// One change kept for replay, with what it costs.
struct Recorded {
    event: WatchEvent,
    /// The JSON length of the versions the event holds (the object, and before a change its
    /// previous state), counted in [`Inner::history_bytes`]. A previous state that is also an
    /// earlier change's object is counted twice, so the budget errs on the safe side.
    bytes: usize,
}

struct Table {
    objects: BTreeMap<Key, Arc<Stored>>,
    /// Changes in strictly increasing resourceVersion order.
    history: VecDeque<Recorded>,
    /// Changes with a resourceVersion at or below this may be missing from `history`.
    compacted: u64,
    tx: broadcast::Sender<WatchEvent>,
}

impl Table {
    fn new() -> Self {
        Table {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            compacted: 0,
            tx: broadcast::channel(4096).0,
        }
    }
}

struct Inner {
    rv: u64,
    tables: HashMap<(&'static str, &'static str), Table>,
    /// Sum of `bytes` over every table's history.
    history_bytes: usize,
}

/// The embedded cluster's state. Cheap to share behind an `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
    clock: Arc<Clock>,
    logs: LogStore,
    ca_pem: String,
    history_limit: usize,
    /// Budget for [`Inner::history_bytes`].
    history_bytes_limit: usize,
    recent: Mutex<Recent>,
    control: broadcast::Sender<WatchControl>,
    kubelet_attached: AtomicBool,
    /// The control plane's controllers (kq-controllers), handed changes before a write returns.
    control_plane: std::sync::RwLock<Option<ControlPlaneHook>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("resource_version", &self.resource_version())
            .finish_non_exhaustive()
    }
}

fn key(kind: &dyn Resource, ns: &str, name: &str) -> Key {
    (
        if kind.namespaced() {
            ns.to_string()
        } else {
            String::new()
        },
        name.to_string(),
    )
}

fn table_id(kind: &dyn Resource) -> (&'static str, &'static str) {
    (kind.group(), kind.plural())
}

/// What the store calls to hand its latest changes to the control plane
/// ([`Store::set_control_plane`]).
pub type ControlPlaneHook = Arc<dyn Fn() + Send + Sync>;

/// What storage knows of a resource: how its objects are keyed (Kubernetes: the generic
/// registry's key functions over group, resource and scope). The served kinds implement it;
/// storage itself knows none of them.
pub trait Resource {
    /// API group ("" for core).
    fn group(&self) -> &'static str;
    /// Plural resource name (`pods`).
    fn plural(&self) -> &'static str;
    /// Namespaced or cluster-scoped.
    fn namespaced(&self) -> bool;
}

/// `metadata.name` of a stored object.
pub fn name_of(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

/// `metadata.namespace` of a stored object.
pub fn namespace_of(obj: &Value) -> &str {
    str_at(obj, "/metadata/namespace")
}

/// String at a JSON pointer, or "".
pub fn str_at<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    value_at(obj, ptr)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// [`Value::pointer`] without its allocations for pointers that escape nothing (no `~`):
/// controllers read a few fields of every pod on every sync.
fn value_at<'a>(obj: &'a Value, ptr: &str) -> Option<&'a Value> {
    if ptr.is_empty() || ptr.contains('~') {
        return obj.pointer(ptr);
    }
    ptr.strip_prefix('/')?
        .split('/')
        .try_fold(obj, |target, token| match target {
            Value::Object(map) => map.get(token),
            Value::Array(list) => array_index(token).and_then(|i| list.get(i)),
            _ => None,
        })
}

/// An array index token as JSON pointers spell it: digits, no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

impl Store {
    /// An empty store holding the given resources (the registry's constructors,
    /// [`Store::new`] and [`Store::with_history`], pass every served kind). `ca_pem` is
    /// published in every namespace's `kube-root-ca.crt`. Work that outlives a request (a
    /// namespace's default objects and cleanup, pod termination without a kubelet) is the
    /// control plane's ([`Store::set_control_plane`]).
    pub fn with_resources<'a>(
        clock: Arc<Clock>,
        ca_pem: String,
        history_limit: usize,
        history_bytes: usize,
        resources: impl IntoIterator<Item = &'a dyn Resource>,
    ) -> Arc<Self> {
        let tables = resources
            .into_iter()
            .map(|k| (table_id(k), Table::new()))
            .collect();
        Arc::new(Store {
            // Real clusters never show tiny resourceVersions; start somewhere plausible.
            inner: Mutex::new(Inner {
                rv: 1000,
                tables,
                history_bytes: 0,
            }),
            clock,
            logs: LogStore::default(),
            ca_pem,
            history_limit: history_limit.max(16),
            history_bytes_limit: history_bytes,
            recent: Mutex::default(),
            control: broadcast::channel(16).0,
            kubelet_attached: AtomicBool::new(false),
            control_plane: std::sync::RwLock::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written object (every mutation is
        // a single insert), so a poisoned lock is safe to keep using.
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The decoded object, kept among the recent trees when it had to be decoded.
    fn tree(&self, stored: &Stored) -> Arc<Value> {
        let (tree, decoded) = stored.tree_or_decode();
        if decoded {
            self.keep(&tree, stored.json.len());
        }
        tree
    }

    /// Keep `tree` (of `len` JSON bytes) among the recent trees, forgetting the oldest beyond
    /// [`RECENT_BYTES`].
    fn keep(&self, tree: &Arc<Value>, len: usize) {
        let mut r = match self.recent.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        r.trees.push_back((tree.clone(), len));
        r.bytes += len;
        while r.bytes > RECENT_BYTES {
            let Some((_, n)) = r.trees.pop_front() else {
                break;
            };
            r.bytes -= n;
        }
    }

    /// The cluster clock.
    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// Container log buffers.
    pub fn logs(&self) -> &LogStore {
        &self.logs
    }

    /// PEM of the cluster CA.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Declare that a kubelet now finishes graceful pod deletions (see
    /// [`Store::finalize_pod_deletion`]); until then the store removes terminating pods itself.
    pub fn set_kubelet_attached(&self, attached: bool) {
        self.kubelet_attached.store(attached, Ordering::SeqCst);
    }

    /// Whether a kubelet finishes graceful pod deletions ([`Store::set_kubelet_attached`]).
    pub fn kubelet_attached(&self) -> bool {
        self.kubelet_attached.load(Ordering::SeqCst)
    }

    /// Attach the control plane's controllers: the store calls `hook` after a write they must
    /// see before it returns (a namespace created or deleted, a namespace's default
    /// ServiceAccount or `kube-root-ca.crt` removed).
    pub fn set_control_plane(&self, hook: ControlPlaneHook) {
        *self
            .control_plane
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    /// Hand the latest changes to the control plane now (nothing when none is attached).
    pub(crate) fn kick_control_plane(&self) {
        let hook = self
            .control_plane
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(hook) = hook {
            hook();
        }
    }

    /// Subscribe to watch control messages.
    pub fn control(&self) -> broadcast::Receiver<WatchControl> {
        self.control.subscribe()
    }

    /// Test hook: every open watch receives an in-stream `410 Expired` and is closed, and the
    /// history is compacted so re-watching from an old resourceVersion is refused too.
    pub fn expire_watches(&self) {
        {
            let mut g = self.lock();
            let rv = g.rv;
            for t in g.tables.values_mut() {
                t.history.clear();
                t.compacted = rv;
            }
            g.history_bytes = 0;
        }
        let _ = self.control.send(WatchControl::Expire);
    }

    /// Test hook: close every open watch cleanly (clients re-watch from their last version).
    pub fn close_watches(&self) {
        let _ = self.control.send(WatchControl::Close);
    }

    /// Current object, if any.
    pub fn get_raw(&self, kind: &dyn Resource, ns: &str, name: &str) -> Option<Arc<Value>> {
        let stored = self
            .lock()
            .tables
            .get(&table_id(kind))
            .and_then(|t| t.objects.get(&key(kind, ns, name)).cloned());
        // Decoded outside the lock, so a reader never holds up a writer.
        stored.map(|s| self.tree(&s))
    }

    /// Like [`Store::get_raw`], the object as stored: a GET that needs no tree sends its bytes.
    pub fn get_stored(&self, kind: &dyn Resource, ns: &str, name: &str) -> Option<Obj> {
        self.lock()
            .tables
            .get(&table_id(kind))
            .and_then(|t| t.objects.get(&key(kind, ns, name)))
            .map(Obj::new)
    }

    /// All objects of a kind, optionally in one namespace, in (namespace, name) order.
    pub fn list_raw(&self, kind: &dyn Resource, ns: Option<&str>) -> Vec<Arc<Value>> {
        self.list_with_rv(kind, ns).0
    }

    /// Like [`Store::list_raw`] plus the resourceVersion the list is consistent with.
    pub fn list_with_rv(&self, kind: &dyn Resource, ns: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let g = self.lock();
        let items: Vec<Arc<Stored>> = match g.tables.get(&table_id(kind)) {
            Some(t) => match ns.filter(|_| kind.namespaced()) {
                Some(ns) => t
                    .objects
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                    .map(|(_, v)| v.clone())
                    .collect(),
                None => t.objects.values().cloned().collect(),
            },
            None => Vec::new(),
        };
        let rv = g.rv;
        drop(g);
        (items.iter().map(|s| self.tree(s)).collect(), rv)
    }

    /// Like [`Store::list_with_rv`], the objects as stored: a LIST that needs no tree sends
    /// their bytes, and one that filters decodes each as it looks into it.
    pub fn list_stored(&self, kind: &dyn Resource, ns: Option<&str>) -> (Vec<Obj>, u64) {
        let g = self.lock();
        let items = match g.tables.get(&table_id(kind)) {
            Some(t) => match ns.filter(|_| kind.namespaced()) {
                Some(ns) => t
                    .objects
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                    .map(|(_, s)| Obj::new(s))
                    .collect(),
                None => t.objects.values().map(Obj::new).collect(),
            },
            None => Vec::new(),
        };
        (items, g.rv)
    }

    /// Bytes of change history kept right now, across all resources.
    pub fn history_bytes(&self) -> usize {
        self.lock().history_bytes
    }

    fn record(&self, g: &mut Inner, kind: &dyn Resource, ev: WatchEvent) {
        let limit = self.history_limit;
        let newest = ev.rv;
        let bytes = ev.object.json().len() + ev.old.as_ref().map_or(0, |o| o.json().len());
        if let Some(t) = g.tables.get_mut(&table_id(kind)) {
            t.history.push_back(Recorded {
                event: ev.clone(),
                bytes,
            });
            g.history_bytes += bytes;
            while t.history.len() > limit {
                if let Some(old) = t.history.pop_front() {
                    t.compacted = old.event.rv;
                    g.history_bytes -= old.bytes;
                }
            }
            // No receivers is normal; broadcast never blocks the writer.
            let _ = t.tx.send(ev);
        }
        // Over budget, the oldest changes of any resource go, as etcd compacts every key
        // below a revision; the change just made always stays.
        while g.history_bytes > self.history_bytes_limit {
            let oldest = g
                .tables
                .values_mut()
                .filter_map(|t| t.history.front().map(|r| r.event.rv).map(|rv| (rv, t)))
                .min_by_key(|(rv, _)| *rv);
            let Some((rv, t)) = oldest else { break };
            if rv >= newest {
                break;
            }
            if let Some(old) = t.history.pop_front() {
                t.compacted = old.event.rv;
                g.history_bytes -= old.bytes;
            }
        }
    }

    fn stamp(obj: &mut Value, rv: u64) {
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = Value::Object(Default::default());
        }
        obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        // ObjectMeta's lists and maps are `omitempty`: a Go API server never stores an
        // empty one, so the last finalizer or owner reference removed leaves no field.
        if let Some(meta) = obj["metadata"].as_object_mut() {
            meta.retain(|k, v| {
                !(matches!(
                    k.as_str(),
                    "finalizers" | "ownerReferences" | "labels" | "annotations"
                ) && (v.as_array().is_some_and(Vec::is_empty)
                    || v.as_object().is_some_and(serde_json::Map::is_empty)))
            });
        }
    }

    /// Insert a new object (already defaulted and validated). Fails if the name is taken.
    pub(crate) fn commit_create(&self, kind: &dyn Resource, mut obj: Value) -> Result<Arc<Value>> {
        let k = key(kind, namespace_of(&obj), name_of(&obj));
        let mut g = self.lock();
        let exists = g
            .tables
            .get(&table_id(kind))
            .is_some_and(|t| t.objects.contains_key(&k));
        if exists {
            return Err(Error::AlreadyExists {
                group: kind.group().into(),
                resource: kind.plural().into(),
                name: k.1,
            });
        }
        g.rv += 1;
        let rv = g.rv;
        Self::stamp(&mut obj, rv);
        let obj = Arc::new(obj);
        let stored = Stored::new(&obj, rv);
        self.keep(&obj, stored.json.len());
        if let Some(t) = g.tables.get_mut(&table_id(kind)) {
            t.objects.insert(k, stored.clone());
        }
        self.record(
            &mut g,
            kind,
            WatchEvent {
                kind: EventType::Added,
                object: Obj::new(&stored),
                old: None,
                rv,
            },
        );
        Ok(obj)
    }

    /// Replace an object. With `expected_rv`, fail with Conflict if it changed meanwhile.
    /// An update that changes nothing is not a write: no new resourceVersion, no event.
    pub(crate) fn commit_update(
        &self,
        kind: &dyn Resource,
        mut obj: Value,
        expected_rv: Option<u64>,
    ) -> Result<Arc<Value>> {
        let k = key(kind, namespace_of(&obj), name_of(&obj));
        let mut g = self.lock();
        let Some(old) = g
            .tables
            .get(&table_id(kind))
            .and_then(|t| t.objects.get(&k).cloned())
        else {
            return Err(Error::not_found(kind.group(), kind.plural(), &k.1));
        };
        let old_rv = old.rv;
        if let Some(exp) = expected_rv
            && exp != old_rv
        {
            return Err(Error::modified(kind.group(), kind.plural(), &k.1));
        }
        Self::stamp(&mut obj, old_rv);
        // Canonical JSON (sorted keys, one spelling per value) is equal exactly when the
        // objects are.
        if serde_json::to_vec(&obj).is_ok_and(|b| *b == *old.json) {
            drop(g);
            return Ok(old.tree());
        }
        g.rv += 1;
        let rv = g.rv;
        Self::stamp(&mut obj, rv);
        let obj = Arc::new(obj);
        let stored = Stored::new(&obj, rv);
        self.keep(&obj, stored.json.len());
        if let Some(t) = g.tables.get_mut(&table_id(kind)) {
            t.objects.insert(k, stored.clone());
        }
        self.record(
            &mut g,
            kind,
            WatchEvent {
                kind: EventType::Modified,
                object: Obj::new(&stored),
                old: Some(Obj::new(&old)),
                rv,
            },
        );
        Ok(obj)
    }

    /// Remove an object; `expected_uid` guards against removing a recreated namesake.
    pub(crate) fn commit_delete(
        &self,
        kind: &dyn Resource,
        ns: &str,
        name: &str,
        expected_uid: Option<&str>,
    ) -> Result<Arc<Value>> {
        let k = key(kind, ns, name);
        let mut g = self.lock();
        let Some(old) = g
            .tables
            .get(&table_id(kind))
            .and_then(|t| t.objects.get(&k).cloned())
        else {
            return Err(Error::not_found(kind.group(), kind.plural(), name));
        };
        let tree = old.tree();
        if let Some(uid) = expected_uid
            && str_at(&tree, "/metadata/uid") != uid
        {
            return Err(Error::not_found(kind.group(), kind.plural(), name));
        }
        g.rv += 1;
        let rv = g.rv;
        let mut last = (*tree).clone();
        Self::stamp(&mut last, rv);
        let last = Arc::new(last);
        let stored = Stored::new(&last, rv);
        if let Some(t) = g.tables.get_mut(&table_id(kind)) {
            t.objects.remove(&k);
        }
        self.record(
            &mut g,
            kind,
            WatchEvent {
                kind: EventType::Deleted,
                object: Obj::new(&stored),
                old: Some(Obj::new(&old)),
                rv,
            },
        );
        Ok(last)
    }

    /// Open a watch on one resource (all namespaces; the caller filters).
    pub fn subscribe(&self, kind: &dyn Resource, start: WatchStart) -> Result<Subscription> {
        let g = self.lock();
        let Some(t) = g.tables.get(&table_id(kind)) else {
            return Err(Error::PathNotFound);
        };
        let rx = t.tx.subscribe();
        match start {
            WatchStart::Current => {
                let initial = t
                    .objects
                    .values()
                    .map(|o| WatchEvent {
                        kind: EventType::Added,
                        object: Obj::new(o),
                        old: None,
                        rv: o.rv,
                    })
                    .collect();
                Ok(Subscription {
                    initial,
                    rx,
                    rv: g.rv,
                })
            }
            WatchStart::After(n) => {
                if n < t.compacted {
                    return Err(Error::Expired {
                        requested: n,
                        oldest: t.compacted + 1,
                    });
                }
                let initial = t
                    .history
                    .iter()
                    .filter(|r| r.event.rv > n)
                    .map(|r| r.event.clone())
                    .collect();
                Ok(Subscription {
                    initial,
                    rx,
                    rv: g.rv,
                })
            }
        }
    }

    /// History after `rv`, for a watcher that lagged behind the live channel.
    pub fn events_after(&self, kind: &dyn Resource, rv: u64) -> Result<Vec<WatchEvent>> {
        let g = self.lock();
        let Some(t) = g.tables.get(&table_id(kind)) else {
            return Err(Error::PathNotFound);
        };
        if rv < t.compacted {
            return Err(Error::Expired {
                requested: rv,
                oldest: t.compacted + 1,
            });
        }
        Ok(t.history
            .iter()
            .filter(|r| r.event.rv > rv)
            .map(|r| r.event.clone())
            .collect())
    }

    /// Check internal invariants (used by property tests): every stored object carries a
    /// resourceVersion no newer than the global one, its key matches its metadata, and the
    /// history is in strictly increasing resourceVersion order.
    pub fn check_consistency(&self) -> std::result::Result<(), Inconsistency> {
        let g = self.lock();
        for ((group, plural), t) in &g.tables {
            for ((ns, name), stored) in &t.objects {
                let obj = &*stored.tree();
                let rv = rv_of(obj);
                if rv != stored.rv {
                    return Err(Inconsistency(format!(
                        "{group}/{plural} {ns}/{name}: resourceVersion {rv} stored as {}",
                        stored.rv
                    )));
                }
                if rv == 0 || rv > g.rv {
                    return Err(Inconsistency(format!(
                        "{group}/{plural} {ns}/{name}: resourceVersion {rv} vs global {}",
                        g.rv
                    )));
                }
                if name_of(obj) != name || (!ns.is_empty() && namespace_of(obj) != ns) {
                    return Err(Inconsistency(format!(
                        "{group}/{plural} {ns}/{name}: key does not match metadata"
                    )));
                }
                if str_at(obj, "/metadata/uid").is_empty() {
                    return Err(Inconsistency(format!(
                        "{group}/{plural} {ns}/{name}: no uid"
                    )));
                }
            }
            let mut last = 0;
            for r in &t.history {
                if r.event.rv <= last {
                    return Err(Inconsistency(format!(
                        "{group}/{plural}: history out of order"
                    )));
                }
                last = r.event.rv;
            }
        }
        Ok(())
    }
}

/// A broken invariant of the store, described for the test that found it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store inconsistent: {0}")]
pub struct Inconsistency(pub String);

/// The resourceVersion stored in an object (0 if absent).
pub fn rv_of(obj: &Value) -> u64 {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_by_pointer_are_the_ones_json_pointers_name() {
        let obj = json!({
            "metadata": {"name": "web-1", "namespace": "shop",
                "annotations": {"a/b": "slash", "c~d": "tilde"}},
            "spec": {"containers": [{"name": "nginx"}, {"name": "sidecar"}]},
            "": {"": "empty keys"},
        });
        for ptr in [
            "",
            "/",
            "//",
            "/metadata/name",
            "/metadata/namespace",
            "/metadata/missing",
            "/metadata/annotations/a~1b",
            "/metadata/annotations/c~0d",
            "/spec/containers/0/name",
            "/spec/containers/1/name",
            "/spec/containers/2/name",
            "/spec/containers/01/name",
            "/spec/containers/+1/name",
            "/spec/containers/-/name",
            "/metadata/name/x",
            "metadata/name",
        ] {
            assert_eq!(value_at(&obj, ptr), obj.pointer(ptr), "pointer {ptr:?}");
            assert_eq!(
                str_at(&obj, ptr),
                obj.pointer(ptr).and_then(Value::as_str).unwrap_or_default(),
                "pointer {ptr:?}"
            );
        }
        assert_eq!(name_of(&obj), "web-1");
        assert_eq!(namespace_of(&obj), "shop");
        assert_eq!(name_of(&json!({"metadata": []})), "");
    }

    struct Pods;

    impl Resource for Pods {
        fn group(&self) -> &'static str {
            ""
        }
        fn plural(&self) -> &'static str {
            "pods"
        }
        fn namespaced(&self) -> bool {
            true
        }
    }

    fn store() -> Arc<Store> {
        Store::with_resources(
            Arc::new(Clock::new(0.0)),
            String::new(),
            100,
            HISTORY_BYTES,
            [&Pods as &dyn Resource],
        )
    }

    fn pod(name: &str, image: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                         "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": image}]},
            "data": {"k": "v"}, "binaryData": {}, "zeta": [1, 2.5, null, true, "é\n\"x\""],
        })
    }

    #[test]
    fn stored_bytes_are_what_serde_json_writes_and_list_items_lack_kind_and_api_version() {
        for obj in [
            pod("a", "nginx"),
            json!({"kind": "Pod"}),
            json!({"apiVersion": "v1"}),
            json!({"b": 1, "kind": "K"}),
            json!({}),
            json!([1, 2]),
        ] {
            let (bytes, _) = encode(&obj);
            assert_eq!(bytes, serde_json::to_vec(&obj).unwrap());
            let o = Obj::new(&Stored::new(&Arc::new(obj.clone()), 1));
            let mut item = Vec::new();
            o.write_list_item(&mut item);
            let mut want = obj.clone();
            if let Some(m) = want.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            assert_eq!(
                String::from_utf8(item).unwrap(),
                serde_json::to_string(&want).unwrap()
            );
        }
    }

    #[test]
    fn readers_share_one_tree_while_they_hold_it_and_get_the_same_object_after() {
        let s = store();
        let made = s.commit_create(&Pods, pod("a", "nginx")).unwrap();
        let got = s.get_raw(&Pods, "shop", "a").unwrap();
        assert!(Arc::ptr_eq(&made, &got));
        drop((made, got));
        let again = s.get_raw(&Pods, "shop", "a").unwrap();
        let mut want = pod("a", "nginx");
        want["metadata"]["resourceVersion"] = json!("1001");
        assert_eq!(*again, want);
        assert!(Arc::ptr_eq(&again, &s.list_raw(&Pods, Some("shop"))[0]));
    }

    #[test]
    fn the_store_holds_no_tree_beyond_the_recent_ones_and_decodes_the_same_object() {
        let s = store();
        let first = Arc::downgrade(&s.commit_create(&Pods, pod("a", "nginx")).unwrap());
        // A watcher that never reads keeps its live channel full of this table's changes.
        let _idle = s.subscribe(&Pods, WatchStart::Current).unwrap();
        assert!(first.upgrade().is_some(), "a just-written object is kept");
        for i in 0..3 {
            let mut big = pod(&format!("big-{i}"), "nginx");
            big["metadata"]["annotations"] = json!({"note": "x".repeat(RECENT_BYTES / 2)});
            s.commit_create(&Pods, big).unwrap();
        }
        assert!(
            first.upgrade().is_none(),
            "neither the history, the live channel nor the object table holds a tree"
        );
        let again = s.get_raw(&Pods, "shop", "a").unwrap();
        let mut want = pod("a", "nginx");
        want["metadata"]["resourceVersion"] = json!("1001");
        assert_eq!(*again, want);
    }

    #[test]
    fn history_and_watches_keep_bytes_and_decode_what_they_look_into() {
        let s = store();
        s.commit_create(&Pods, pod("a", "nginx")).unwrap();
        let sub = s.subscribe(&Pods, WatchStart::After(1000)).unwrap();
        let mut rx = sub.rx;
        let changed = s.commit_update(&Pods, pod("a", "httpd"), None).unwrap();
        // The same object again is not a change.
        let mut same = (*changed).clone();
        assert!(Arc::ptr_eq(
            &s.commit_update(&Pods, same.clone(), None).unwrap(),
            &changed
        ));
        same["metadata"]["labels"]["app"] = json!("api");
        s.commit_update(&Pods, same, None).unwrap();
        drop(changed);
        let ev = rx.try_recv().unwrap();
        assert_eq!(ev.kind, EventType::Modified);
        assert_eq!(ev.object["spec"]["containers"][0]["image"], "httpd");
        assert_eq!(
            ev.old.as_ref().unwrap()["spec"]["containers"][0]["image"],
            "nginx"
        );
        assert_eq!(ev.object.namespace(), "shop");
        let replay = s.events_after(&Pods, 1000).unwrap();
        assert_eq!(replay.len(), 3);
        assert_eq!(replay[2].object["metadata"]["labels"]["app"], "api");
        // The history counts every version it holds: each object, and each previous state.
        let held: usize = replay
            .iter()
            .map(|e| e.object.json().len() + e.old.as_ref().map_or(0, |o| o.json().len()))
            .sum();
        assert_eq!(s.history_bytes(), held);
        let gone = s.commit_delete(&Pods, "shop", "a", None).unwrap();
        assert_eq!(gone["metadata"]["resourceVersion"], "1004");
        assert!(s.get_raw(&Pods, "shop", "a").is_none());
        s.check_consistency().unwrap();
    }
}

//! `exec` and `attach` inside a container of this node: the kubelet's `GetExec`/`GetAttach`
//! (`pkg/kubelet/kubelet_pods.go`) and the CRI streaming server behind them
//! (`pkg/kubelet/cri/streaming`), as the API server's [`ContainerStreams`] seam calls them.
//!
//! **Where a running container can be reached.** The kubelet's state sits behind the node
//! side's lock, which no stream may hold across an await. So every running container is also
//! listed in [`Containers`], an `Arc` registry keyed by pod uid and container name: the
//! kubelet adds a container when it starts (with the runtime's sandbox, the environment and
//! filesystem every process of the container shares) and removes it when it exits. An exec
//! finds the sandbox there and runs its own process on a tokio task; an attach subscribes to
//! the main process's output there and queues its input there.
//!
//! **Exec.** The process's steps are pulled on the task: output goes to the client's stdout
//! or stderr in chunks of at most 32 KiB (never to the container log, as on a real node),
//! sleeps wait on the cluster's virtual clock, a process blocked reading stdin waits for the
//! client's next chunk or its end-of-file. With `tty` the [`pty`](super::pty) line discipline
//! sits between client and process, and the terminal's size (the resize stream) reaches the
//! process (`ls` lays out its columns to it). The session ends with the process's exit
//! ([`StreamExit::Success`] or [`StreamExit::ExitCode`]); if the container stops meanwhile
//! the process dies with it (SIGKILL: exit code 137); if the client leaves, the process is
//! dropped. On a paused clock a sleeping process waits until the test moves time (or the
//! client leaves): every wait is bounded by one of those.
//!
//! **Attach.** The main process is stepped by the kubelet's sync loop (its output also lands
//! in the container log). What it writes after the attach also goes to the attach's stdout;
//! attach input is queued for it, and a main process blocked on stdin is woken through the
//! sync loop ([`crate::manager::Controllers::wake_kubelet_input`]). A container without
//! `stdin: true` reads `/dev/null`; with `stdinOnce: true` the first attach's end-of-file
//! closes the container's stdin for good, so a `sh` reading it exits (`kubectl run -i`). An
//! attach ends when the container exits or the client leaves.
//!
//! **Refusals** (before the upgrade, [`check`]): the API server's own checks of
//! `streamLocation` (`pkg/registry/core/pod/strategy.go`) with their texts, then the
//! kubelet's: a container that is not running is `container not found ("c")` for exec and
//! `container c not found in pod NAME_NAMESPACE` for attach, sent as a plain-text refusal
//! ([`kq_apiserver::Error::KubeletUpgrade`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Container;
use kq_apiserver::Error;
use kq_apiserver::streaming::{StreamExit, StreamIo, StreamRequest, StreamResult, StreamTask};
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::pty::{LineDiscipline, TtyInput, onlcr};
use super::runtime::{Program, Runtime};
use crate::clock::Clock;
use crate::kinds;
use crate::manager::Controllers;
use kq_runtime::{ContainerSandbox, RuntimeError};

/// Largest chunk sent to a client at once (kubectl's own writes are at most 32 KiB).
const MAX_CHUNK: usize = 32 * 1024;
/// Output chunks of a main process queued for one attach; past it a slow client misses
/// output rather than stalling the kubelet.
const ATTACH_QUEUE: usize = 1024;
/// Input queued for a main process that is not reading (a real pipe holds 64 KiB).
const MAX_PENDING_INPUT: usize = 1024 * 1024;
/// Steps of a process pulled before the task yields to others.
const STEPS_PER_YIELD: u32 = 256;
/// The exit status of a process killed by SIGKILL, as the runtime reports it.
const SIGKILL_EXIT: u8 = 137;
/// The exit status of a process ended by SIGINT (^C on its terminal).
const SIGINT_EXIT: u8 = 130;

/// One output chunk of a process: the bytes and whether they went to stderr.
type Chunk = (Vec<u8>, bool);

/// What a process does next, as the streaming side acts on it.
#[derive(Debug)]
pub(crate) enum Act {
    Output(Vec<u8>, bool),
    Sleep(Duration),
    WaitInput,
    Exit(i32),
}

/// The streaming side's reading of a runtime step.
pub(crate) fn act(step: super::runtime::Step) -> Act {
    use super::runtime::Step;
    match step {
        Step::Stdout(bytes) => Act::Output(bytes, false),
        Step::Stderr(bytes) => Act::Output(bytes, true),
        Step::Sleep(d) => Act::Sleep(d),
        Step::WaitInput => Act::WaitInput,
        Step::Exit(code) => Act::Exit(code),
    }
}

/// What a main process finds when it reads stdin.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input {
    Data(Vec<u8>),
    Eof,
    /// ^C was typed on the container's terminal.
    Interrupt,
    /// Nothing yet: the process blocks (and is woken when input arrives).
    Nothing,
}

/// Every running container of the node side, reachable without the kubelets' lock.
#[derive(Debug)]
pub(crate) struct Containers {
    runtime: Arc<Runtime>,
    /// By pod uid, then container name: a deleted pod's containers go in one removal, however
    /// many other pods run.
    running: Mutex<HashMap<String, HashMap<String, Arc<Running>>>>,
    /// Main processes that were blocked on stdin and have input now: (pod uid, container
    /// index, run epoch), for the sync loop to step.
    wakes: Mutex<Vec<(String, usize, u64)>>,
}

/// A running container as exec and attach reach it.
#[derive(Debug)]
pub(crate) struct Running {
    uid: String,
    index: usize,
    epoch: u64,
    /// The container has a terminal (`tty: true`).
    tty: bool,
    sandbox: ContainerSandbox,
    /// Set when the container stops: exec processes die with it.
    stopped: watch::Sender<bool>,
    main: Mutex<MainIo>,
}

/// The main process's stdin and the attaches following its output.
#[derive(Debug, Default)]
struct MainIo {
    /// The container has a stdin (`stdin: true`) that was not closed by `stdinOnce`.
    stdin_open: bool,
    stdin_once: bool,
    pending: VecDeque<Vec<u8>>,
    pending_bytes: usize,
    /// End-of-file waits behind `pending`.
    eof: bool,
    /// The process is blocked reading stdin.
    waiting: bool,
    /// ^C typed on the container's terminal, not yet delivered.
    interrupted: bool,
    attached: Vec<mpsc::Sender<Chunk>>,
    /// The container's terminal, when it has one and an attach types into it.
    line: LineDiscipline,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Containers {
    pub(crate) fn new(runtime: Arc<Runtime>) -> Self {
        Containers {
            runtime,
            running: Mutex::new(HashMap::new()),
            wakes: Mutex::new(Vec::new()),
        }
    }

    fn get(&self, uid: &str, container: &str) -> Option<Arc<Running>> {
        lock(&self.running)
            .get(uid)
            .and_then(|pod| pod.get(container))
            .cloned()
    }

    /// The kubelet started container `spec` (index `index`, run `epoch`) of pod `uid`.
    pub(crate) fn started(
        &self,
        uid: &str,
        index: usize,
        epoch: u64,
        spec: &Container,
        sandbox: ContainerSandbox,
    ) {
        let stdin = spec.stdin.unwrap_or(false);
        let running = Running {
            uid: uid.to_string(),
            index,
            epoch,
            tty: spec.tty.unwrap_or(false),
            sandbox,
            stopped: watch::channel(false).0,
            main: Mutex::new(MainIo {
                stdin_open: stdin,
                stdin_once: spec.stdin_once.unwrap_or(false),
                eof: !stdin,
                ..MainIo::default()
            }),
        };
        let old = lock(&self.running)
            .entry(uid.to_string())
            .or_default()
            .insert(spec.name.clone(), Arc::new(running));
        if let Some(old) = old {
            old.stop();
        }
    }

    /// The container exited or was killed: its execs die, its attaches end.
    pub(crate) fn stopped(&self, uid: &str, container: &str) {
        let gone = {
            let mut map = lock(&self.running);
            let gone = map.get_mut(uid).and_then(|pod| pod.remove(container));
            if map.get(uid).is_some_and(HashMap::is_empty) {
                map.remove(uid);
            }
            gone
        };
        if let Some(r) = gone {
            r.stop();
        }
    }

    /// Every container of a pod that is gone.
    pub(crate) fn forget_pod(&self, uid: &str) {
        let gone = lock(&self.running).remove(uid).unwrap_or_default();
        for r in gone.into_values() {
            r.stop();
        }
    }

    /// Output of a main process: also to every attach following it.
    pub(crate) fn main_output(&self, uid: &str, container: &str, bytes: &[u8], stderr: bool) {
        let Some(r) = self.get(uid, container) else {
            return;
        };
        let mut io = lock(&r.main);
        let data = if r.tty { onlcr(bytes) } else { bytes.to_vec() };
        // A full queue (a client not reading) loses this chunk; a closed one is forgotten.
        io.attached.retain(|tx| {
            !matches!(
                tx.try_send((data.clone(), stderr)),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }

    /// A main process reads stdin: queued input, end-of-file, or nothing yet (it blocks,
    /// and is woken when input arrives).
    pub(crate) fn main_input(&self, uid: &str, container: &str, epoch: u64) -> Input {
        let Some(r) = self.get(uid, container).filter(|r| r.epoch == epoch) else {
            return Input::Eof;
        };
        let mut io = lock(&r.main);
        if std::mem::take(&mut io.interrupted) {
            io.waiting = false;
            return Input::Interrupt;
        }
        if let Some(chunk) = io.pending.pop_front() {
            io.pending_bytes -= chunk.len();
            io.waiting = false;
            return Input::Data(chunk);
        }
        if io.eof {
            io.waiting = false;
            return Input::Eof;
        }
        io.waiting = true;
        Input::Nothing
    }

    /// A main process to step again now that its input arrived.
    pub(crate) fn push_wake(&self, uid: String, index: usize, epoch: u64) {
        lock(&self.wakes).push((uid, index, epoch));
    }

    /// Main processes to step again now that their input arrived.
    pub(crate) fn take_wakes(&self) -> Vec<(String, usize, u64)> {
        std::mem::take(&mut *lock(&self.wakes))
    }
}

impl Running {
    fn stop(&self) {
        self.stopped.send_replace(true);
        lock(&self.main).attached.clear();
    }

    /// Queue input for the main process; whether it must be woken to read it.
    fn push_input(&self, input: TtyOrRaw) -> bool {
        let mut io = lock(&self.main);
        if !io.stdin_open || io.eof {
            return false;
        }
        match input {
            TtyOrRaw::Data(bytes) => {
                if bytes.is_empty() || io.pending_bytes + bytes.len() > MAX_PENDING_INPUT {
                    return false;
                }
                io.pending_bytes += bytes.len();
                io.pending.push_back(bytes);
            }
            TtyOrRaw::Eof => io.eof = true,
            TtyOrRaw::Interrupt => io.interrupted = true,
        }
        std::mem::take(&mut io.waiting)
    }
}

enum TtyOrRaw {
    Data(Vec<u8>),
    Eof,
    Interrupt,
}

/// The pod `ns/name` as the store has it.
fn pod_of(c: &Controllers, ns: &str, name: &str) -> StreamResult<Arc<Value>> {
    c.store()
        .get_raw(&kinds::pod::KIND, ns, name)
        .ok_or_else(|| Error::not_found("", "pods", name))
}

/// The running container a request reaches, or the kubelet's refusal.
fn find(c: &Controllers, req: &StreamRequest, attach: bool) -> StreamResult<Arc<Running>> {
    let pod = pod_of(c, &req.namespace, &req.pod)?;
    let container = kinds::pod::request_container(&pod, req.container.as_deref())?;
    if kinds::str_at(&pod, "/spec/nodeName").is_empty() {
        return Err(Error::BadRequest(format!(
            "pod {} does not have a host assigned",
            req.pod
        )));
    }
    let uid = kinds::str_at(&pod, "/metadata/uid");
    c.containers().get(uid, &container).ok_or_else(|| {
        Error::KubeletUpgrade(if attach {
            format!(
                "container {container} not found in pod {}_{}",
                req.pod, req.namespace
            )
        } else {
            format!("container not found ({container:?})")
        })
    })
}

/// Whether `req` can run now (answered before the API server upgrades the connection).
pub(crate) fn check(c: &Controllers, req: &StreamRequest, attach: bool) -> StreamResult<()> {
    find(c, req, attach).map(|_| ())
}

/// Runs `req.command` in the container until the process ends.
pub(crate) fn exec(c: Arc<Controllers>, req: StreamRequest, io: StreamIo) -> StreamTask {
    Box::pin(async move {
        let running = match find(&c, &req, false) {
            Ok(r) => r,
            Err(e) => return StreamExit::Failed(e.to_string()),
        };
        let process = match c
            .containers()
            .runtime
            .exec(&running.sandbox, &req.command, req.tty)
        {
            Ok(p) => p,
            Err(e) => return StreamExit::Failed(exec_failure(&e)),
        };
        let clock = c.store().clock().clone();
        let stopped = running.stopped.subscribe();
        drive(process, req.tty, io, &clock, stopped).await
    })
}

/// The client's side of a session: where output goes and where input comes from.
struct Client {
    stdout: Option<mpsc::Sender<Vec<u8>>>,
    stderr: Option<mpsc::Sender<Vec<u8>>>,
    /// Output still needs the terminal's ONLCR (an exec's process writes plain `\n`).
    tty: bool,
    /// A terminal carries stderr too.
    merged: bool,
}

impl Client {
    /// Send output; `false` when the client is gone.
    async fn send(&self, bytes: &[u8], stderr: bool) -> bool {
        let (tx, data) = if self.tty {
            (self.stdout.as_ref(), onlcr(bytes))
        } else if stderr && !self.merged {
            (self.stderr.as_ref(), bytes.to_vec())
        } else {
            (self.stdout.as_ref(), bytes.to_vec())
        };
        let Some(tx) = tx else {
            // Not asked for: discarded, as the kubelet discards a stream nobody opened.
            return true;
        };
        for chunk in data.chunks(MAX_CHUNK) {
            if tx.send(chunk.to_vec()).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Resolves when the client has gone (every output stream it opened is closed).
    async fn gone(&self) {
        match (&self.stdout, &self.stderr) {
            (Some(a), Some(b)) => {
                tokio::join!(a.closed(), b.closed());
            }
            (Some(a), None) | (None, Some(a)) => a.closed().await,
            (None, None) => std::future::pending().await,
        }
    }
}

/// The next input chunk, or `None` at end-of-file; never resolves without a stdin.
async fn recv(stdin: &mut Option<mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match stdin {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Wait until virtual time reaches `target`. Polls in short real steps so a paused clock
/// moved by a test, or a speed change, is noticed.
async fn until(clock: &Clock, target: Timestamp) {
    loop {
        let now = clock.now();
        if now >= target {
            return;
        }
        let left = Duration::try_from(target.duration_since(now)).unwrap_or_default();
        let real = if clock.is_paused() {
            Duration::from_millis(20)
        } else {
            clock
                .real_duration(left)
                .clamp(Duration::from_millis(1), Duration::from_millis(200))
        };
        tokio::time::sleep(real).await;
    }
}

fn later(now: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// What input did to an exec'd process.
enum Fed {
    Continue,
    /// ^C ended it.
    Interrupted,
    /// Its stdin reached end-of-file.
    Closed,
    /// ^C stopped what it was doing (a shell dropped its foreground command): whatever it
    /// was waiting for is over.
    Woken,
}

/// Hand client input to the process, through the terminal when there is one. ^C ends the
/// process unless it survives SIGINT (an interactive shell drops the line and prompts again).
async fn feed(
    process: &mut Box<dyn Program>,
    ld: &mut Option<LineDiscipline>,
    client: &Client,
    bytes: &[u8],
) -> Fed {
    let Some(ld) = ld else {
        process.feed_stdin(bytes);
        return Fed::Continue;
    };
    let (echo, acts) = ld.input(bytes);
    if !echo.is_empty() {
        // The echo is the terminal's, already in terminal form.
        if let Some(tx) = &client.stdout {
            let _ = tx.send(echo).await;
        }
    }
    let mut fed = Fed::Continue;
    for a in acts {
        match a {
            TtyInput::Feed(line) => process.feed_stdin(&line),
            TtyInput::Eof => {
                process.close_stdin();
                fed = Fed::Closed;
            }
            TtyInput::Interrupt => {
                if !process.interrupt() {
                    return Fed::Interrupted;
                }
                fed = Fed::Woken;
            }
        }
    }
    fed
}

/// Run an exec'd process to its end, wired to the client.
async fn drive(
    mut process: Box<dyn Program>,
    tty: bool,
    io: StreamIo,
    clock: &Clock,
    mut stopped: watch::Receiver<bool>,
) -> StreamExit {
    let StreamIo {
        stdin: mut input,
        resize: mut sizes,
        stdout,
        stderr,
    } = io;
    let client = Client {
        stdout,
        stderr: if tty { None } else { stderr },
        tty,
        merged: tty,
    };
    if !tty {
        // Only a terminal has a size.
        sizes = None;
    }
    let mut ld = tty.then(LineDiscipline::new);
    // Whether the process has been told its stdin ended.
    let mut eof_given = input.is_none();
    if eof_given {
        process.close_stdin();
    }
    let mut steps = 0u32;
    loop {
        if *stopped.borrow() {
            return StreamExit::ExitCode(SIGKILL_EXIT);
        }
        steps += 1;
        if steps.is_multiple_of(STEPS_PER_YIELD) {
            tokio::task::yield_now().await;
        }
        // Sizes and keystrokes sent while the process runs are taken without waiting.
        while let Some(Ok(size)) = sizes.as_mut().map(|rx| rx.try_recv()) {
            process.resize(size.width, size.height);
        }
        while let Some(rx) = input.as_mut() {
            match rx.try_recv() {
                Ok(bytes) => match feed(&mut process, &mut ld, &client, &bytes).await {
                    Fed::Interrupted => return StreamExit::ExitCode(SIGINT_EXIT),
                    Fed::Closed => eof_given = true,
                    Fed::Continue | Fed::Woken => {}
                },
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    input = None;
                    process.close_stdin();
                    eof_given = true;
                }
            }
        }
        let wait_until = match act(process.next_step()) {
            Act::Output(bytes, err) => {
                if !client.send(&bytes, err).await {
                    return StreamExit::Success;
                }
                continue;
            }
            Act::Exit(0) => return StreamExit::Success,
            Act::Exit(code) => return StreamExit::ExitCode(exit_byte(code)),
            Act::Sleep(d) if d.is_zero() => continue,
            Act::Sleep(d) => Some(later(clock.now(), d)),
            Act::WaitInput => {
                if input.is_none() && !eof_given {
                    // No client stdin (any more): the process reads end-of-file.
                    process.close_stdin();
                    eof_given = true;
                    continue;
                }
                // Blocked for input that may never come: only the client or the container
                // ending can end this wait.
                None
            }
        };
        // Wait for the sleep to end, or for input while blocked on it.
        loop {
            let sleep = async {
                match wait_until {
                    Some(t) => until(clock, t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => break,
                chunk = recv(&mut input) => match chunk {
                    Some(bytes) => {
                        match feed(&mut process, &mut ld, &client, &bytes).await {
                            Fed::Interrupted => return StreamExit::ExitCode(SIGINT_EXIT),
                            Fed::Closed => eof_given = true,
                            Fed::Woken => break,
                            Fed::Continue => {}
                        }
                        if wait_until.is_none() {
                            break;
                        }
                    }
                    None => {
                        input = None;
                        process.close_stdin();
                        eof_given = true;
                        if wait_until.is_none() {
                            break;
                        }
                    }
                },
                size = recv_size(&mut sizes) => match size {
                    Some(size) => process.resize(size.width, size.height),
                    None => sizes = None,
                },
                _ = stopped.changed() => return StreamExit::ExitCode(SIGKILL_EXIT),
                _ = client.gone() => return StreamExit::Success,
            }
        }
    }
}

/// The next terminal size, or `None` when the client stopped sending them; never resolves
/// without a resize stream.
async fn recv_size(
    sizes: &mut Option<mpsc::Receiver<kq_apiserver::streaming::TerminalSize>>,
) -> Option<kq_apiserver::streaming::TerminalSize> {
    match sizes {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// containerd's refusal of an exec, as the kubelet passes it on (it follows `error executing
/// command in container: `). Each exec gets a fresh 64-hex-digit id.
fn exec_failure(e: &RuntimeError) -> String {
    format!(
        "failed to exec in container: failed to start exec \"{}\": {e}",
        exec_id()
    )
}

fn exec_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seed = std::collections::hash_map::RandomState::new();
    (0..4)
        .map(|i| {
            let mut h = seed.build_hasher();
            h.write_u64(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            h.write_u64(i);
            format!("{:016x}", h.finish())
        })
        .collect()
}

/// An exit status as the 8 bits a process leaves (a shell's `exit 256` is 0).
fn exit_byte(code: i32) -> u8 {
    (code & 0xff) as u8
}

/// Connects the client to the container's main process until it exits or the client leaves.
pub(crate) fn attach(c: Arc<Controllers>, req: StreamRequest, io: StreamIo) -> StreamTask {
    Box::pin(async move {
        let running = match find(&c, &req, true) {
            Ok(r) => r,
            Err(e) => return StreamExit::Failed(e.to_string()),
        };
        let StreamIo {
            stdin,
            resize: _,
            stdout,
            stderr,
        } = io;
        let client = Client {
            stdout,
            stderr: if running.tty { None } else { stderr },
            // Output of a terminal is already in terminal form (see `main_output`).
            tty: false,
            merged: running.tty,
        };
        let (tx, mut rx) = mpsc::channel::<Chunk>(ATTACH_QUEUE);
        let mut input = {
            let mut main = lock(&running.main);
            if *running.stopped.borrow() {
                return StreamExit::Success;
            }
            main.attached.push(tx);
            // A container without stdin (or one closed by stdinOnce) takes no input.
            stdin.filter(|_| main.stdin_open && !main.eof)
        };
        loop {
            tokio::select! {
                chunk = rx.recv() => match chunk {
                    Some((bytes, err)) => {
                        if !client.send(&bytes, err).await {
                            return StreamExit::Success;
                        }
                    }
                    // The container exited (its output is all delivered).
                    None => return StreamExit::Success,
                },
                chunk = recv(&mut input) => {
                    let wake = match chunk {
                        Some(bytes) => attach_input(&running, &client, &bytes).await,
                        None => {
                            input = None;
                            let once = lock(&running.main).stdin_once;
                            once && running.push_input(TtyOrRaw::Eof)
                        }
                    };
                    if wake {
                        c.wake_kubelet_input(running.uid.clone(), running.index, running.epoch);
                    }
                }
                _ = client.gone() => return StreamExit::Success,
            }
        }
    })
}

/// Attach input for the main process (through its terminal when it has one); whether the
/// process must be woken.
async fn attach_input(running: &Running, client: &Client, bytes: &[u8]) -> bool {
    if !running.tty {
        return running.push_input(TtyOrRaw::Data(bytes.to_vec()));
    }
    let (echo, acts) = lock(&running.main).line.input(bytes);
    if !echo.is_empty()
        && let Some(tx) = &client.stdout
    {
        let _ = tx.send(echo).await;
    }
    let mut wake = false;
    for a in acts {
        wake |= match a {
            TtyInput::Feed(line) => running.push_input(TtyOrRaw::Data(line)),
            TtyInput::Eof => running.push_input(TtyOrRaw::Eof),
            // SIGINT reaches the main process when it next reads its terminal: an
            // interactive shell drops the line and prompts again; PID 1 ignores it otherwise.
            TtyInput::Interrupt => running.push_input(TtyOrRaw::Interrupt),
        };
    }
    wake
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn start(rt: &Runtime, containers: &Containers, uid: &str, name: &str) {
        let image = rt.pause_image().expect("the pause image is in the catalog");
        let spec = Container {
            name: name.into(),
            ..Default::default()
        };
        let sandbox = rt.sandbox(
            &image,
            &spec,
            Vec::new(),
            BTreeMap::new(),
            Timestamp::UNIX_EPOCH,
            "10.244.0.2",
        );
        containers.started(uid, 0, 1, &spec, sandbox);
    }

    #[test]
    fn a_deleted_pod_takes_its_containers_and_leaves_other_pods_running() {
        let rt = Arc::new(Runtime::new());
        let containers = Containers::new(rt.clone());
        start(&rt, &containers, "a", "web");
        start(&rt, &containers, "a", "sidecar");
        start(&rt, &containers, "b", "web");
        let (a_web, b_web) = (
            containers.get("a", "web").expect("a's web runs"),
            containers.get("b", "web").expect("b's web runs"),
        );
        containers.forget_pod("a");
        assert!(containers.get("a", "web").is_none());
        assert!(containers.get("a", "sidecar").is_none());
        assert!(*a_web.stopped.borrow(), "the deleted pod's execs must end");
        let b = containers
            .get("b", "web")
            .expect("another pod's container stays reachable");
        assert!(Arc::ptr_eq(&b, &b_web));
        assert!(
            !*b.stopped.borrow(),
            "another pod's container keeps running"
        );
        containers.forget_pod("a");
        assert!(containers.get("b", "web").is_some());
    }

    #[test]
    fn a_stopped_container_leaves_its_pods_other_containers() {
        let rt = Arc::new(Runtime::new());
        let containers = Containers::new(rt.clone());
        start(&rt, &containers, "a", "web");
        start(&rt, &containers, "a", "sidecar");
        containers.stopped("a", "web");
        assert!(containers.get("a", "web").is_none());
        assert!(containers.get("a", "sidecar").is_some());
        containers.stopped("a", "sidecar");
        assert!(
            lock(&containers.running).is_empty(),
            "no empty entry is kept"
        );
        start(&rt, &containers, "a", "web");
        assert!(
            containers.get("a", "web").is_some(),
            "a restart is reachable again"
        );
    }
}

//! The terminal beside the mission: a real shell on a pseudo-terminal (portable-pty) whose
//! `KUBECONFIG` already points at the mission's cluster, with the mission namespace as the
//! context's default, so `kubectl get pods` shows the mission's pods.
//!
//! Each terminal gets a private temporary folder (mode 0700) holding its kubeconfig (0600: it
//! carries the cluster's credentials) and the shell's start-up file, and a working folder
//! beside them. The shell is the learner's own (`$SHELL`, else bash, else sh); bash and zsh read
//! the learner's usual start-up file first, then get kubectl's completion and a short prompt,
//! or a message saying kubectl is missing and how to install it. KubeQuest never fetches it.
//!
//! Output goes to the window over a `Channel` as raw bytes, read on a thread of its own and
//! coalesced into chunks of at most [`CHUNK`] bytes. The window acknowledges what it has drawn
//! (`terminal_ack`); with [`WINDOW`] bytes unacknowledged the forwarder waits, the bounded
//! queue behind it fills and the shell's writes block, as in any terminal that cannot keep up.
//! An empty message means the shell has ended. Input goes through a bounded queue to a writer
//! thread, so a shell that stops reading never blocks a command. A terminal ends (its shell is
//! hung up) when the window closes it, its mission stops or another starts, or the window closes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Condvar, Mutex};

use kq_engine::ipc::UiError;
use kube::config::Kubeconfig;
use portable_pty::{ChildKiller, CommandBuilder, MasterPty, PtySize, native_pty_system};
use tauri::Manager;
use tauri::ipc::{Channel, InvokeResponseBody};

use crate::cluster::{self, EMBEDDED_CONTEXT, EmbeddedCluster};
use crate::error;
use crate::settings::SettingsBook;

/// The largest chunk of output sent to the window at once.
const CHUNK: usize = 64 * 1024;
/// How many bytes may be sent and not yet drawn before the shell's output waits.
const WINDOW: u64 = 512 * 1024;
/// Reads queued between the reading thread and the forwarder (each at most [`READ`] bytes).
const READS_QUEUED: usize = 8;
const READ: usize = 16 * 1024;
/// Inputs queued for the shell; a full queue refuses the next one instead of waiting.
const INPUTS_QUEUED: usize = 64;
/// The largest input the window sends at once (a paste); the isolation rule bounds it too.
pub const MAX_INPUT: usize = 64 * 1024;
/// Terminal sizes the window may ask for.
const COLS: std::ops::RangeInclusive<u16> = 2..=1000;
const ROWS: std::ops::RangeInclusive<u16> = 1..=500;

/// The open terminals, by id.
#[derive(Default)]
pub struct Terminals {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The id the next terminal gets; ids are never reused while the app runs.
    next: u32,
    open: HashMap<u32, Term>,
}

/// One running shell. Dropping it hangs the shell up and stops its threads.
struct Term {
    mission: String,
    master: Box<dyn MasterPty + Send>,
    /// Input for the writer thread; dropping it ends that thread.
    input: SyncSender<Vec<u8>>,
    killer: Box<dyn ChildKiller + Send + Sync>,
    credit: Arc<Credit>,
    /// The kubeconfig, start-up file and working folder; removed when the terminal ends.
    _dir: tempfile::TempDir,
}

impl Drop for Term {
    fn drop(&mut self) {
        // SIGHUP, as a closing terminal sends: the shell and its foreground job end.
        let _ = self.killer.kill();
        self.credit.close();
    }
}

/// Bytes sent to the window and not yet acknowledged.
#[derive(Default)]
struct Credit {
    /// `(unacknowledged bytes, closed)`.
    state: Mutex<(u64, bool)>,
    changed: Condvar,
}

impl Credit {
    /// Waits until fewer than [`WINDOW`] bytes are unacknowledged; false once closed.
    fn wait_for_room(&self) -> bool {
        let mut state = lock(&self.state);
        while state.0 >= WINDOW && !state.1 {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        !state.1
    }

    fn sent(&self, bytes: usize) {
        lock(&self.state).0 += bytes as u64;
    }

    fn acknowledged(&self, bytes: u64) {
        let mut state = lock(&self.state);
        state.0 = state.0.saturating_sub(bytes);
        self.changed.notify_all();
    }

    fn close(&self) {
        lock(&self.state).1 = true;
        self.changed.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Terminals {
    /// Ends the terminals of `mission` (it stopped).
    pub fn close_mission(&self, mission: &str) {
        self.close_where(|t| t.mission == mission);
    }

    /// Ends the terminals of every mission but `mission` (it starts).
    pub fn close_others(&self, mission: &str) {
        self.close_where(|t| t.mission != mission);
    }

    /// Ends the terminals that `ends` picks, once the lock is released.
    fn close_where(&self, ends: impl Fn(&Term) -> bool) {
        let ended = {
            let mut inner = lock(&self.inner);
            let ids: Vec<u32> = inner
                .open
                .iter()
                .filter(|(_, t)| ends(t))
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| inner.open.remove(id))
                .collect::<Vec<_>>()
        };
        drop(ended);
    }

    /// Ends every terminal (the window closed).
    pub fn close_all(&self) {
        let ended = std::mem::take(&mut lock(&self.inner).open);
        drop(ended);
    }

    fn with<R>(&self, id: u32, f: impl FnOnce(&Term) -> R) -> Result<R, UiError> {
        let inner = lock(&self.inner);
        let term = inner.open.get(&id).ok_or_else(|| {
            error::internal(
                "This terminal has ended. Close it and open a new one from the mission screen.",
            )
        })?;
        Ok(f(term))
    }
}

fn size(cols: u16, rows: u16) -> Result<PtySize, UiError> {
    if !COLS.contains(&cols) || !ROWS.contains(&rows) {
        return Err(error::internal(format!(
            "A terminal of {cols}×{rows} characters cannot be drawn: it needs {}–{} columns \
             and {}–{} rows. Make the panel larger.",
            COLS.start(),
            COLS.end(),
            ROWS.start(),
            ROWS.end()
        )));
    }
    Ok(PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    })
}

/// The kubeconfig a mission's terminal uses: only `context` (its cluster and user too), made
/// the current context, with `namespace` as its default namespace.
pub fn mission_kubeconfig(
    config: &Kubeconfig,
    context: &str,
    namespace: &str,
) -> Result<Kubeconfig, String> {
    let Some(named) = config.contexts.iter().find(|c| c.name == context) else {
        return Err(format!("the kubeconfig has no context named `{context}`"));
    };
    let mut named = named.clone();
    let Some(ctx) = named.context.as_mut() else {
        return Err(format!(
            "the context `{context}` is empty in the kubeconfig"
        ));
    };
    ctx.namespace = Some(namespace.to_owned());
    let clusters = config
        .clusters
        .iter()
        .filter(|c| c.name == ctx.cluster)
        .cloned()
        .collect();
    let auth_infos = config
        .auth_infos
        .iter()
        .filter(|u| ctx.user.as_deref() == Some(u.name.as_str()))
        .cloned()
        .collect();
    Ok(Kubeconfig {
        api_version: Some("v1".into()),
        kind: Some("Config".into()),
        preferences: config.preferences.clone(),
        clusters,
        auth_infos,
        contexts: vec![named],
        current_context: Some(context.to_owned()),
        ..Kubeconfig::default()
    })
}

/// The mission's kubeconfig for the chosen cluster (embedded or a kubeconfig context).
fn kubeconfig_for(app: &tauri::AppHandle, namespace: &str) -> Result<Kubeconfig, UiError> {
    // In a class: the learner's own credentials on the class cluster.
    if let Some((config, context)) = app.state::<crate::classroom::Classroom>().kubeconfig() {
        return mission_kubeconfig(&config, &context, namespace)
            .map_err(|e| error::cluster(format!("The terminal cannot reach the class: {e}.")));
    }
    let settings = app.state::<SettingsBook>().get();
    let (config, context) = match &settings.context {
        None => {
            let embedded = app.state::<EmbeddedCluster>();
            let yaml = embedded.running()?.kubeconfig_yaml();
            let config = Kubeconfig::from_yaml(yaml).map_err(|e| {
                error::internal(format!(
                    "The embedded cluster's kubeconfig is unreadable: {e}"
                ))
            })?;
            (config, EMBEDDED_CONTEXT.to_owned())
        }
        Some(name) => {
            let (loaded, _) = cluster::allowed_context(name, &settings)?;
            (loaded.config, name.clone())
        }
    };
    mission_kubeconfig(&config, &context, namespace)
        .map_err(|e| error::cluster(format!("The terminal cannot reach the cluster: {e}.")))
}

/// Writes `contents` to a new file readable by its owner only.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// `text` as one single-quoted shell word (POSIX sh, bash, zsh).
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What the terminal says when no `kubectl` is on the PATH: how to install it on this system.
pub fn kubectl_missing_message(namespace: &str) -> String {
    // Short lines: the panel is narrow, and a wrapped command is hard to copy.
    let how = if cfg!(target_os = "macos") {
        "  brew install kubectl\n\
         or download it from\n  https://kubernetes.io/docs/tasks/tools/install-kubectl-macos/"
    } else if cfg!(windows) {
        "  winget install -e --id Kubernetes.kubectl\n\
         or download it from\n  https://kubernetes.io/docs/tasks/tools/install-kubectl-windows/"
    } else {
        "  Debian/Ubuntu, from the Kubernetes apt repository:\n    sudo apt-get install kubectl\n\
         or download it from\n  https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/"
    };
    format!(
        "kubectl is not installed: it is not on this terminal's PATH.\n\
         Install it, then open a new terminal:\n{how}\n\
         KUBECONFIG already points at this mission's cluster,\nnamespace {namespace}.\n"
    )
}

/// The shell to run: `$SHELL` if it exists, else bash, else sh.
fn user_shell() -> PathBuf {
    std::env::var_os("SHELL")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_file())
        .or_else(|| Some(PathBuf::from("/bin/bash")).filter(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from("/bin/sh"))
}

/// A shell's kind, by its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShellKind {
    Bash,
    Zsh,
    /// Any other shell: started as it is, the missing-kubectl check done by the app.
    Other,
}

fn shell_kind(shell: &Path) -> ShellKind {
    match shell.file_name().and_then(|n| n.to_str()) {
        Some("bash") => ShellKind::Bash,
        Some("zsh") => ShellKind::Zsh,
        _ => ShellKind::Other,
    }
}

/// The start-up lines bash and zsh run after the learner's own file: KUBECONFIG again (the
/// learner's file may set it), completion or the missing-kubectl message, and the prompt.
fn startup_script(kind: ShellKind, kubeconfig: &Path, namespace: &str) -> String {
    let (own, completion, prompt) = match kind {
        ShellKind::Zsh => (
            "ZDOTDIR=\"$HOME\"\n[ -f \"$HOME/.zshrc\" ] && . \"$HOME/.zshrc\"\n",
            "autoload -Uz compinit && compinit -u 2>/dev/null\nsource <(kubectl completion zsh)",
            "PROMPT='%B%F{cyan}kubequest%f%b:%1~%# '",
        ),
        _ => (
            "[ -f \"$HOME/.bashrc\" ] && . \"$HOME/.bashrc\"\n",
            "source <(kubectl completion bash)",
            "PS1='\\[\\e[1;36m\\]kubequest\\[\\e[0m\\]:\\W\\$ '",
        ),
    };
    format!(
        "# KubeQuest's terminal: the learner's own start-up file, then the mission's cluster.\n\
         {own}export KUBECONFIG={kubeconfig}\n\
         if command -v kubectl >/dev/null 2>&1; then\n  {completion}\nelse\n  printf '%s' {message}\nfi\n\
         {prompt}\n",
        kubeconfig = quoted(&kubeconfig.display().to_string()),
        message = quoted(&kubectl_missing_message(namespace)),
    )
}

/// Whether `program` is an executable file in one of `path`'s folders.
fn on_path(program: &str, path: Option<&std::ffi::OsStr>) -> bool {
    let Some(path) = path else { return false };
    std::env::split_paths(path).any(|dir| {
        let file = dir.join(program);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        {
            file.with_extension("exe").is_file() || file.is_file()
        }
    })
}

/// What the shell needs: its command line, environment and folders.
struct Prepared {
    command: CommandBuilder,
    /// Printed before the shell's own output (a shell without a start-up file of ours).
    preface: Option<String>,
    dir: tempfile::TempDir,
}

fn prepare(kubeconfig: &Kubeconfig, namespace: &str) -> std::io::Result<Prepared> {
    let dir = tempfile::Builder::new()
        .prefix("kubequest-terminal-")
        .tempdir()?;
    let config_path = dir.path().join("kubeconfig");
    let yaml = serde_yaml_ng::to_string(kubeconfig).map_err(std::io::Error::other)?;
    write_private(&config_path, &yaml)?;
    let work = dir.path().join(namespace);
    std::fs::create_dir(&work)?;

    let shell = if cfg!(windows) {
        std::env::var_os("COMSPEC")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("cmd.exe"))
    } else {
        user_shell()
    };
    let kind = shell_kind(&shell);
    let mut command = CommandBuilder::new(&shell);
    command.cwd(&work);
    command.env("KUBECONFIG", &config_path);
    command.env("TERM", "xterm-256color");
    // The window draws 256 colours; 24-bit colours would need inline styles its CSP refuses.
    command.env_remove("COLORTERM");
    let mut preface = None;
    match kind {
        ShellKind::Bash => {
            let rc = dir.path().join("bashrc");
            write_private(&rc, &startup_script(kind, &config_path, namespace))?;
            command.args(["--rcfile".as_ref(), rc.as_os_str(), "-i".as_ref()]);
        }
        ShellKind::Zsh => {
            let zdot = dir.path().join("zsh");
            std::fs::create_dir(&zdot)?;
            write_private(
                &zdot.join(".zshenv"),
                "[ -f \"$HOME/.zshenv\" ] && . \"$HOME/.zshenv\"\n",
            )?;
            write_private(
                &zdot.join(".zshrc"),
                &startup_script(kind, &config_path, namespace),
            )?;
            command.env("ZDOTDIR", &zdot);
            command.arg("-i");
        }
        ShellKind::Other => {
            let path = command.get_env("PATH").map(ToOwned::to_owned);
            if !on_path("kubectl", path.as_deref()) {
                preface = Some(kubectl_missing_message(namespace).replace('\n', "\r\n"));
            }
        }
    }
    Ok(Prepared {
        command,
        preface,
        dir,
    })
}

/// Opens a terminal for the running mission `mission_id`; its output goes to `on_output`.
#[tauri::command]
pub async fn terminal_open(
    app: tauri::AppHandle,
    mission_id: String,
    cols: u16,
    rows: u16,
    on_output: Channel<InvokeResponseBody>,
) -> Result<u32, UiError> {
    let size = size(cols, rows)?;
    let namespace = crate::missions::namespace_of(&app, &mission_id).await?;
    let kubeconfig = kubeconfig_for(&app, &namespace)?;
    let prepared = tauri::async_runtime::spawn_blocking(move || prepare(&kubeconfig, &namespace))
        .await
        .map_err(|e| error::internal(format!("Preparing the terminal stopped unexpectedly: {e}")))?
        .map_err(|e| {
            error::internal(format!(
                "The terminal's private folder could not be written ({e}). Check that the \
                 temporary folder has free space, then open the terminal again."
            ))
        })?;
    let spawn_failed = |e: &dyn std::fmt::Display| {
        error::internal(format!(
            "The shell could not start in a terminal ({e}). Check that your shell (SHELL) \
             exists, then open the terminal again."
        ))
    };
    let pair = native_pty_system()
        .openpty(size)
        .map_err(|e| spawn_failed(&e))?;
    let mut child = pair
        .slave
        .spawn_command(prepared.command)
        .map_err(|e| spawn_failed(&e))?;
    // Only the shell holds the other end now, so its exit ends the reads.
    drop(pair.slave);
    let killer = child.clone_killer();
    let reader = pair
        .master
        .try_clone_reader()
        .map_err(|e| spawn_failed(&e))?;
    let writer = pair.master.take_writer().map_err(|e| spawn_failed(&e))?;

    let credit = Arc::new(Credit::default());
    let (reads, queued) = sync_channel::<Vec<u8>>(READS_QUEUED);
    let (input, inputs) = sync_channel::<Vec<u8>>(INPUTS_QUEUED);
    if let Some(preface) = prepared.preface {
        let _ = reads.try_send(preface.into_bytes());
    }
    std::thread::spawn(move || read_output(reader, &reads));
    let forward_credit = credit.clone();
    std::thread::spawn(move || {
        forward_output(&queued, &on_output, &forward_credit);
        // Reap the shell, so it leaves no zombie behind.
        let _ = child.wait();
    });
    std::thread::spawn(move || write_input(writer, &inputs));

    let terminals = app.state::<Terminals>();
    let mut inner = lock(&terminals.inner);
    let id = inner.next;
    inner.next = inner.next.wrapping_add(1);
    inner.open.insert(
        id,
        Term {
            mission: mission_id,
            master: pair.master,
            input,
            killer,
            credit,
            _dir: prepared.dir,
        },
    );
    Ok(id)
}

/// Reads the shell's output until it ends; blocks while the forwarder's queue is full.
fn read_output(mut reader: Box<dyn Read + Send>, reads: &SyncSender<Vec<u8>>) {
    let mut buf = vec![0; READ];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if reads.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // EIO once the shell has ended.
            Err(_) => return,
        }
    }
}

/// Sends queued output to the window in chunks of at most [`CHUNK`] bytes, within the window
/// of unacknowledged bytes; then an empty message, which says the shell has ended.
fn forward_output(
    queued: &Receiver<Vec<u8>>,
    channel: &Channel<InvokeResponseBody>,
    credit: &Credit,
) {
    let mut pending: Vec<u8> = Vec::new();
    loop {
        if pending.is_empty() {
            match queued.recv() {
                Ok(bytes) => pending = bytes,
                Err(_) => break,
            }
        }
        // Coalesce what else is already there, up to a chunk.
        while pending.len() < CHUNK {
            match queued.try_recv() {
                Ok(bytes) => pending.extend_from_slice(&bytes),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if !credit.wait_for_room() {
            return;
        }
        let rest = if pending.len() > CHUNK {
            pending.split_off(CHUNK)
        } else {
            Vec::new()
        };
        let chunk = std::mem::replace(&mut pending, rest);
        credit.sent(chunk.len());
        if channel.send(InvokeResponseBody::Raw(chunk)).is_err() {
            return;
        }
    }
    // Output left after the shell ended (at most one chunk's worth more, then the end).
    if !pending.is_empty() && credit.wait_for_room() {
        let _ = channel.send(InvokeResponseBody::Raw(pending));
    }
    let _ = channel.send(InvokeResponseBody::Raw(Vec::new()));
}

fn write_input(mut writer: Box<dyn Write + Send>, inputs: &Receiver<Vec<u8>>) {
    while let Ok(bytes) = inputs.recv() {
        if writer
            .write_all(&bytes)
            .and_then(|()| writer.flush())
            .is_err()
        {
            return;
        }
    }
}

/// Keys and pastes for the shell.
#[tauri::command]
pub fn terminal_write(
    id: u32,
    data: String,
    terminals: tauri::State<'_, Terminals>,
) -> Result<(), UiError> {
    if data.len() > MAX_INPUT {
        return Err(error::internal(format!(
            "That paste is too long for the terminal ({} bytes; at most {MAX_INPUT} at once). \
             Paste it in parts, or save it to a file.",
            data.len()
        )));
    }
    terminals
        .with(id, |t| t.input.try_send(data.into_bytes()))?
        .map_err(|_| {
            error::internal(
                "The shell is not reading what you type (it may be busy). Wait for it, or \
                 press Ctrl+C.",
            )
        })
}

/// The window has drawn `bytes` more of the terminal's output.
#[tauri::command]
pub fn terminal_ack(
    id: u32,
    bytes: u32,
    terminals: tauri::State<'_, Terminals>,
) -> Result<(), UiError> {
    terminals.with(id, |t| t.credit.acknowledged(u64::from(bytes)))
}

/// The panel changed size.
#[tauri::command]
pub fn terminal_resize(
    id: u32,
    cols: u16,
    rows: u16,
    terminals: tauri::State<'_, Terminals>,
) -> Result<(), UiError> {
    let size = size(cols, rows)?;
    terminals
        .with(id, |t| t.master.resize(size))?
        .map_err(|e| error::internal(format!("The terminal could not be resized: {e}")))
}

/// Ends the terminal: the shell is hung up and its folder removed. Closing an ended one is fine.
#[tauri::command]
pub fn terminal_close(id: u32, terminals: tauri::State<'_, Terminals>) {
    let ended = lock(&terminals.inner).open.remove(&id);
    drop(ended);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const EMBEDDED: &str = "apiVersion: v1
kind: Config
clusters:
- name: kubequest
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: Q0E=
- name: other
  cluster:
    server: https://10.0.0.1
users:
- name: learner
  user:
    token: secret-token
- name: someone-else
  user:
    token: not-this-one
contexts:
- name: kubequest
  context:
    cluster: kubequest
    user: learner
- name: other
  context:
    cluster: other
    user: someone-else
current-context: other
";

    #[test]
    fn the_mission_kubeconfig_has_the_mission_context_and_namespace_only() {
        let config = Kubeconfig::from_yaml(EMBEDDED).expect("the sample kubeconfig parses");
        let mission = mission_kubeconfig(&config, "kubequest", "kq-crash-loop-backoff")
            .expect("the context exists");
        let yaml = serde_yaml_ng::to_string(&mission).expect("a kubeconfig serialises");
        let back = Kubeconfig::from_yaml(&yaml).expect("kubectl reads what the terminal writes");
        assert_eq!(back.current_context.as_deref(), Some("kubequest"));
        assert_eq!(back.contexts.len(), 1, "only the mission's context: {yaml}");
        let ctx = back.contexts[0].context.as_ref().expect("a context body");
        assert_eq!(ctx.namespace.as_deref(), Some("kq-crash-loop-backoff"));
        assert_eq!(back.clusters.len(), 1);
        assert_eq!(back.clusters[0].name, "kubequest");
        assert_eq!(back.auth_infos.len(), 1);
        assert!(
            yaml.contains("secret-token") && !yaml.contains("not-this-one"),
            "the context's own credentials, and no one else's: {yaml}"
        );
    }

    #[test]
    fn an_unknown_context_is_refused_by_name() {
        let config = Kubeconfig::from_yaml(EMBEDDED).expect("the sample kubeconfig parses");
        let e = mission_kubeconfig(&config, "prod", "kq-x").expect_err("no such context");
        assert!(e.contains("`prod`"), "{e}");
    }

    #[test]
    fn the_start_up_file_sets_kubeconfig_after_the_learners_own_file() {
        let script = startup_script(ShellKind::Bash, Path::new("/tmp/it's/kubeconfig"), "kq-a");
        let own = script.find(".bashrc").expect("sources ~/.bashrc");
        let export = script
            .find(r"export KUBECONFIG='/tmp/it'\''s/kubeconfig'")
            .expect("KUBECONFIG quoted for the shell");
        assert!(own < export, "the mission's KUBECONFIG wins: {script}");
        assert!(script.contains("kubectl completion bash"), "{script}");
        assert!(script.contains("apt-get install kubectl"), "{script}");
    }

    #[test]
    fn sizes_outside_what_a_panel_draws_are_refused() {
        assert!(size(80, 24).is_ok());
        assert!(size(0, 24).is_err());
        assert!(size(80, 0).is_err());
        assert!(size(5000, 24).is_err());
    }

    /// A channel that records the size of every message the window would get.
    fn recording_channel() -> (Channel<InvokeResponseBody>, Arc<Mutex<Vec<usize>>>) {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let channel = Channel::new(move |body| {
            if let InvokeResponseBody::Raw(bytes) = body {
                lock(&seen).push(bytes.len());
            }
            Ok(())
        });
        (channel, sizes)
    }

    #[test]
    fn output_is_coalesced_into_bounded_chunks_and_ends_with_an_empty_message() {
        let (channel, sizes) = recording_channel();
        let (reads, queued) = sync_channel(READS_QUEUED);
        for _ in 0..6 {
            reads.send(vec![b'x'; READ]).expect("queued");
        }
        drop(reads);
        forward_output(&queued, &channel, &Credit::default());
        let sizes = lock(&sizes).clone();
        assert_eq!(
            sizes,
            vec![CHUNK, 2 * READ, 0],
            "six reads of 16 KiB make one full chunk and the rest, then the end"
        );
    }

    #[test]
    fn output_waits_for_the_window_to_draw_what_it_was_sent() {
        let (channel, sizes) = recording_channel();
        let (reads, queued) = sync_channel(READS_QUEUED);
        let credit = Arc::new(Credit::default());
        let forward_credit = credit.clone();
        let forwarder =
            std::thread::spawn(move || forward_output(&queued, &channel, &forward_credit));
        // A shell that prints far more than the window may have in flight.
        let writer = std::thread::spawn(move || {
            for _ in 0..64 {
                if reads.send(vec![b'y'; READ]).is_err() {
                    return;
                }
            }
        });
        let sent = || lock(&sizes).iter().sum::<usize>() as u64;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sent() < WINDOW && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100));
        let before = sent();
        assert!(
            (WINDOW..WINDOW + CHUNK as u64).contains(&before),
            "unacknowledged output stops at the window: {before} bytes sent"
        );
        credit.acknowledged(before);
        writer
            .join()
            .expect("the shell's output all went out once drawn");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sent() < before + 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(sent() > before, "acknowledging lets the output go on");
        credit.close();
        forwarder.join().expect("closing ends the forwarder");
    }

    #[cfg(unix)]
    #[test]
    fn a_mission_shell_runs_with_the_mission_kubeconfig() {
        let config = Kubeconfig::from_yaml(EMBEDDED).expect("the sample kubeconfig parses");
        let mission = mission_kubeconfig(&config, "kubequest", "kq-a").expect("the context");
        let prepared = prepare(&mission, "kq-a").expect("the folder is written");
        let kubeconfig = prepared.dir.path().join("kubeconfig");
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = kubeconfig.metadata().expect("written").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the kubeconfig holds credentials");
        }
        assert_eq!(
            prepared.command.get_env("KUBECONFIG"),
            Some(kubeconfig.as_os_str())
        );
        assert_eq!(
            prepared.command.get_env("TERM"),
            Some(std::ffi::OsStr::new("xterm-256color"))
        );
        assert_eq!(
            prepared.command.get_cwd().map(PathBuf::from),
            Some(prepared.dir.path().join("kq-a"))
        );
    }

    /// A terminal of `mission` running `sleep` in a pty, and that shell.
    fn sleeping_term(mission: &str) -> (Term, Shell) {
        let pair = native_pty_system()
            .openpty(size(80, 24).expect("a size"))
            .expect("a pty");
        let mut sleep = CommandBuilder::new("sleep");
        sleep.arg("30");
        let child = pair.slave.spawn_command(sleep).expect("sleep starts");
        let (input, _inputs) = sync_channel(1);
        let term = Term {
            mission: mission.to_owned(),
            master: pair.master,
            input,
            killer: child.clone_killer(),
            credit: Arc::new(Credit::default()),
            _dir: tempfile::tempdir().expect("a folder"),
        };
        (term, child)
    }

    type Shell = Box<dyn portable_pty::Child + Send + Sync>;

    /// The missions whose shells still run, once they are `want` (or after 10 s).
    fn running(shells: &mut [(&'static str, Shell)], want: &[&str]) -> Vec<&'static str> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut running = Vec::new();
            for (mission, shell) in shells.iter_mut() {
                if shell.try_wait().expect("the shell's state").is_none() {
                    running.push(*mission);
                }
            }
            if running == want || std::time::Instant::now() > deadline {
                return running;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn starting_a_mission_ends_the_other_missions_terminals_and_stopping_it_ends_its_own() {
        let terminals = Terminals::default();
        let mut shells = Vec::new();
        for (id, mission) in [(0, "a"), (1, "b"), (2, "b"), (3, "c")] {
            let (term, child) = sleeping_term(mission);
            lock(&terminals.inner).open.insert(id, term);
            shells.push((mission, child));
        }
        let open = |t: &Terminals| {
            let mut ids: Vec<u32> = lock(&t.inner).open.keys().copied().collect();
            ids.sort_unstable();
            ids
        };
        terminals.close_others("b");
        assert_eq!(open(&terminals), [1, 2]);
        assert_eq!(
            running(&mut shells, &["b", "b"]),
            ["b", "b"],
            "a's and c's shells end"
        );

        terminals.close_mission("b");
        assert_eq!(open(&terminals), Vec::<u32>::new());
        assert_eq!(
            running(&mut shells, &[]),
            Vec::<&str>::new(),
            "b's shells end"
        );
    }
}

// The only module that talks to the Rust side. Every call is typed with the bindings ts-rs
// generates from the Rust IPC types, and every failure reaches the caller as a `UiError`
// (`{kind, message}`), so components branch on `kind` and never on message text.

import { Channel, invoke } from '@tauri-apps/api/core';
import type { ActionResult } from './bindings/ActionResult';
import type { AppInfo } from './bindings/AppInfo';
import type { ContainerOutput } from './bindings/ContainerOutput';
import type { ContextInfo } from './bindings/ContextInfo';
import type { DebriefView } from './bindings/DebriefView';
import type { GraphKind } from './bindings/GraphKind';
import type { HintReveal } from './bindings/HintReveal';
import type { MissionList } from './bindings/MissionList';
import type { MissionSession } from './bindings/MissionSession';
import type { Progress } from './bindings/Progress';
import type { ProgressLoad } from './bindings/ProgressLoad';
import type { SessionUpdate } from './bindings/SessionUpdate';
import type { Settings } from './bindings/Settings';
import type { UiError } from './bindings/UiError';
import type { ClassExportFormat, ClassroomState, ClassView, JoinedClass, ServeDefaults, ServeRequest, ServingClass } from './classroom';
import { toUiError } from './errors';

export type { AppInfo, MissionList, UiError };
export { toUiError };

const notInApp: UiError = {
  kind: 'internal',
  message:
    'This page is not connected to the KubeQuest app, so it cannot read missions. Open KubeQuest itself instead of the page in a browser.',
};

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  // Without Tauri's IPC the call would fail with a TypeError that explains nothing.
  if (typeof window !== 'undefined' && !('__TAURI_INTERNALS__' in window)) {
    throw notInApp;
  }
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toUiError(error);
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** The app's version, lesson folders and cluster state, for the title bar. */
export async function appInfo(): Promise<AppInfo> {
  const info = await call<AppInfo>('app_info');
  if (!isRecord(info) || typeof info.version !== 'string' || !isRecord(info.cluster)) {
    throw { kind: 'internal', message: 'The app described itself in a form this window does not understand.' } satisfies UiError;
  }
  return info;
}

/** Every mission that could be loaded, in curriculum order, and the lessons that could not. */
export async function listMissions(): Promise<MissionList> {
  const list = await call<MissionList>('list_missions');
  if (!isRecord(list) || !Array.isArray(list.missions) || !Array.isArray(list.problems)) {
    throw { kind: 'internal', message: 'The mission list arrived in a form this window does not understand.' } satisfies UiError;
  }
  return list;
}

const shapeError = (what: string): UiError => ({
  kind: 'internal',
  message: `${what} arrived in a form this window does not understand.`,
});

/**
 * The learner's progress, keyed by mission id, and (once, after a damaged or newer-version
 * progress file) what loading it had to recover from.
 */
export async function getProgress(): Promise<ProgressLoad> {
  const loaded = await call<ProgressLoad>('get_progress');
  if (!isRecord(loaded) || !isRecord(loaded.progress) || !isRecord(loaded.progress.missions)) throw shapeError('Your progress');
  const recovery = loaded.recovery;
  if (recovery != null && (!isRecord(recovery) || typeof recovery.message !== 'string' || typeof recovery.restored !== 'boolean')) {
    throw shapeError('Your progress');
  }
  return loaded;
}

/** A running mission's update stream; `close` stops delivering its messages to the page. */
export interface Subscription {
  close(): void;
}

/**
 * Starts a mission: the engine applies its broken manifests and streams `SessionUpdate`s to
 * `onUpdate` until the subscription is closed (or the mission stopped). `reset_mission` keeps
 * using the same stream.
 */
export async function startMission(
  id: string,
  onUpdate: (update: SessionUpdate) => void,
): Promise<{ session: MissionSession; subscription: Subscription }> {
  let live = true;
  // What one cluster change changed (a pod's pipeline, the graph, the workloads) comes as one
  // message, applied in one go: the window renders once for it.
  const channel = new Channel<SessionUpdate[]>((updates) => {
    if (!Array.isArray(updates)) return;
    for (const update of updates) if (live) onUpdate(update);
  });
  const subscription = {
    close() {
      live = false;
      channel.onmessage = () => {};
    },
  };
  try {
    const session = await call<MissionSession>('start_mission', { id, onUpdate: channel });
    if (!isRecord(session) || !isRecord(session.detail) || !Array.isArray(session.manifests)) {
      throw shapeError('The mission');
    }
    return { session, subscription };
  } catch (error) {
    subscription.close();
    throw error;
  }
}

/** Stops the mission's watch (the cluster objects stay as they are). */
export async function stopMission(id: string): Promise<void> {
  await call<null>('stop_mission', { id });
}

/** Re-applies the broken state; updates keep arriving on the mission's existing stream. */
export async function resetMission(id: string): Promise<MissionSession> {
  const session = await call<MissionSession>('reset_mission', { id });
  if (!isRecord(session) || !Array.isArray(session.manifests)) throw shapeError('The reset mission');
  return session;
}

const checkAction = (result: ActionResult): ActionResult => {
  if (!isRecord(result) || typeof result.command !== 'string' || !Array.isArray(result.diagnostics)) {
    throw shapeError('The result of the action');
  }
  return result;
};

/** `kubectl apply -f FILE` with the editor's text. */
export async function applyManifest(id: string, file: string, yaml: string): Promise<ActionResult> {
  return checkAction(await call<ActionResult>('apply_manifest', { id, file, yaml }));
}

/**
 * "Delete and re-apply", for a change that cannot be made in place: `kubectl delete -f FILE`
 * (waiting until the objects are gone) then `kubectl apply -f FILE`, with the editor's text.
 */
export async function reapplyManifest(id: string, file: string, yaml: string): Promise<ActionResult> {
  return checkAction(await call<ActionResult>('reapply_manifest', { id, file, yaml }));
}

/** `kubectl delete -f FILE` with the editor's text. */
export async function deleteManifest(id: string, file: string, yaml: string): Promise<ActionResult> {
  return checkAction(await call<ActionResult>('delete_manifest', { id, file, yaml }));
}

/** The next hint of the ladder (counted in progress). */
export async function revealHint(id: string): Promise<HintReveal> {
  const hint = await call<HintReveal>('reveal_hint', { id });
  if (!isRecord(hint) || typeof hint.html !== 'string') throw shapeError('The hint');
  return hint;
}

/**
 * A solved mission's debrief, read again from the map: the learner's personal debrief of their
 * latest solve (`personal`, absent for solves from before it was kept) and the lesson's, as
 * safe HTML (`html` holds both, personal part first). Refused for a mission not solved yet.
 */
export async function missionDebrief(id: string): Promise<DebriefView> {
  const view = await call<DebriefView>('mission_debrief', { id });
  if (!isRecord(view) || typeof view.html !== 'string' || typeof view.lessonHtml !== 'string') {
    throw shapeError('The debrief');
  }
  return view;
}

export async function getSettings(): Promise<Settings> {
  const settings = await call<Settings>('get_settings');
  if (!isRecord(settings) || typeof settings.theme !== 'string') throw shapeError('The settings');
  return settings;
}

/** Saves and returns the settings as stored. */
export async function saveSettings(settings: Settings): Promise<Settings> {
  const saved = await call<Settings>('save_settings', { settings });
  if (!isRecord(saved) || typeof saved.theme !== 'string') throw shapeError('The saved settings');
  return saved;
}

/**
 * Records, on the Rust side, that the learner confirmed missions may run on the remote context
 * `context`; the settings as stored. The window never sends the allow-list itself.
 */
export async function allowRemoteContext(context: string): Promise<Settings> {
  const saved = await call<Settings>('allow_remote_context', { context });
  if (!isRecord(saved) || !Array.isArray(saved.allowedRemoteContexts)) throw shapeError('The saved settings');
  return saved;
}

/** Opens a lesson's web link in the system browser (the Rust side accepts http and https only). */
export async function openLink(url: string): Promise<void> {
  await call<null>('open_link', { url });
}

/** The contexts of the learner's kubeconfig, classified local or remote. */
export async function listContexts(): Promise<ContextInfo[]> {
  const contexts = await call<ContextInfo[]>('list_contexts');
  if (!Array.isArray(contexts)) throw shapeError('The kubeconfig contexts');
  return contexts;
}

/** Opens the save dialog and writes the progress; the saved path, or null when cancelled. */
export async function exportProgress(): Promise<string | null> {
  const path = await call<string | null>('export_progress');
  return typeof path === 'string' ? path : null;
}

/**
 * Sets the learner's name that exports carry (kept with the progress, shared with `kq`; the
 * learner id stays). Answers the saved progress; a name Rust refuses rejects with its reason.
 */
export async function setLearnerName(name: string): Promise<Progress> {
  const progress = await call<Progress>('set_learner_name', { name });
  if (!isRecord(progress) || !isRecord(progress.missions)) throw shapeError('The saved progress');
  return progress;
}

/** Opens the open dialog and imports progress; the merged progress, or null when cancelled. */
export async function importProgress(): Promise<Progress | null> {
  const progress = await call<Progress | null>('import_progress');
  if (progress === null || progress === undefined) return null;
  if (!isRecord(progress) || !isRecord(progress.missions)) throw shapeError('The imported progress');
  return progress;
}

/**
 * Runs one command in a container of a pod of the mission (`kubectl exec`), through the same
 * client the mission uses; output is capped and the run bounded in time by the engine.
 */
export async function runInContainer(
  id: string,
  pod: string,
  container: string | null,
  argv: string[],
): Promise<ContainerOutput> {
  const output = await call<ContainerOutput>('run_in_container', { id, pod, container, argv });
  if (
    !isRecord(output) ||
    typeof output.stdout !== 'string' ||
    typeof output.stderr !== 'string' ||
    !isRecord(output.exit)
  ) {
    throw shapeError('The command’s output');
  }
  return output;
}

/**
 * A graph node's object as `kubectl get <kind> <name> -o yaml` prints it, read now through the
 * mission's client in the mission's namespace (without `managedFields`; a Secret's values are
 * hidden by the engine).
 */
export async function objectYaml(id: string, kind: GraphKind, name: string): Promise<string> {
  const yaml = await call<string>('object_yaml', { id, kind, name });
  if (typeof yaml !== 'string') throw shapeError('The object’s YAML');
  return yaml;
}

/**
 * Opens a terminal for the running mission: a shell whose KUBECONFIG points at the mission's
 * cluster and namespace. Its output arrives as bytes in `onOutput`; an empty chunk means the
 * shell has ended. Drawn output must be acknowledged (`terminalAck`) or the shell's output waits.
 */
export async function terminalOpen(
  missionId: string,
  cols: number,
  rows: number,
  onOutput: (bytes: Uint8Array) => void,
): Promise<{ id: number; subscription: Subscription }> {
  let live = true;
  const channel = new Channel<ArrayBuffer>((chunk) => {
    if (live) onOutput(new Uint8Array(chunk));
  });
  const subscription = {
    close() {
      live = false;
      channel.onmessage = () => {};
    },
  };
  try {
    const id = await call<number>('terminal_open', { missionId, cols, rows, onOutput: channel });
    if (typeof id !== 'number') throw shapeError('The terminal');
    return { id, subscription };
  } catch (error) {
    subscription.close();
    throw error;
  }
}

/** Keys and pastes for the terminal's shell (at most 16384 characters at once). */
export async function terminalWrite(id: number, data: string): Promise<void> {
  await call<null>('terminal_write', { id, data });
}

/** The window has drawn `bytes` more of the terminal's output. */
export async function terminalAck(id: number, bytes: number): Promise<void> {
  await call<null>('terminal_ack', { id, bytes });
}

/** The terminal's panel changed size. */
export async function terminalResize(id: number, cols: number, rows: number): Promise<void> {
  await call<null>('terminal_resize', { id, cols, rows });
}

/** Ends the terminal's shell. */
export async function terminalClose(id: number): Promise<void> {
  await call<null>('terminal_close', { id });
}

// ---- the classroom ------------------------------------------------------------------------

const checkJoined = (joined: JoinedClass): JoinedClass => {
  if (!isRecord(joined) || typeof joined.class !== 'string' || typeof joined.learner !== 'string') throw shapeError('The class');
  return joined;
};

/** What the app serves, has joined, or watches now. */
export async function classroomState(): Promise<ClassroomState> {
  const state = await call<ClassroomState>('classroom_state');
  if (!isRecord(state) || !('serving' in state) || !('joined' in state)) throw shapeError('The classroom');
  return state;
}

/** The serve form's defaults: the class folder and this computer's network addresses. */
export async function classroomDefaults(): Promise<ServeDefaults> {
  const defaults = await call<ServeDefaults>('classroom_defaults');
  if (!isRecord(defaults) || typeof defaults.out !== 'string' || !Array.isArray(defaults.addresses)) throw shapeError('The class defaults');
  return defaults;
}

/** Opens the open dialog for a roster; its file name and text, or null when cancelled. */
export async function classroomOpenRoster(): Promise<{ file: string; text: string } | null> {
  const roster = await call<{ file: string; text: string } | null>('classroom_open_roster');
  if (roster === null || roster === undefined) return null;
  if (!isRecord(roster) || typeof roster.text !== 'string' || typeof roster.file !== 'string') throw shapeError('The roster');
  return roster;
}

/**
 * Serves a class from the embedded cluster: its accounts, namespaces, kubeconfigs and join
 * sheet; `onProgress` hears each step as it is made.
 */
export async function classroomServe(request: ServeRequest, onProgress: (step: string) => void): Promise<ServingClass> {
  let live = true;
  const channel = new Channel<string>((step) => {
    if (live && typeof step === 'string') onProgress(step);
  });
  try {
    const serving = await call<ServingClass>('classroom_serve', { request, onProgress: channel });
    if (!isRecord(serving) || typeof serving.server !== 'string' || typeof serving.folder !== 'string') throw shapeError('The class');
    return serving;
  } finally {
    live = false;
    channel.onmessage = () => {};
  }
}

/** Ends the class this app serves: join codes stop working. */
export async function classroomStop(): Promise<void> {
  await call<null>('classroom_stop');
}

/** Opens the served class's folder (kubeconfigs and join sheet) in the file manager. */
export async function classroomOpenFolder(): Promise<void> {
  await call<null>('classroom_open_folder');
}

/** The live class view, read now with the teacher's identity. */
export async function classroomView(): Promise<ClassView> {
  const view = await call<ClassView>('classroom_view');
  if (!isRecord(view) || !Array.isArray(view.learners) || !Array.isArray(view.missions) || typeof view.readAt !== 'string') {
    throw shapeError('The class view');
  }
  return view;
}

/** Opens a class's `teacher.kubeconfig` (a real cluster's class) for the live view; its class, or null. */
export async function classroomOpenTeacher(): Promise<string | null> {
  const name = await call<string | null>('classroom_open_teacher');
  return typeof name === 'string' ? name : null;
}

/** Opens the save dialog and writes the class table as CSV or Markdown; the path, or null. */
export async function classroomExport(format: ClassExportFormat): Promise<string | null> {
  const path = await call<string | null>('classroom_export', { format });
  return typeof path === 'string' ? path : null;
}

/** Opens the open dialog for a class `.kubeconfig` and joins its class; null when cancelled. */
export async function classroomJoinFile(): Promise<JoinedClass | null> {
  const joined = await call<JoinedClass | null>('classroom_join_file');
  return joined === null || joined === undefined ? null : checkJoined(joined);
}

/** Joins a class with the server address and join code from the learner's card. */
export async function classroomJoinCode(server: string, code: string): Promise<JoinedClass> {
  return checkJoined(await call<JoinedClass>('classroom_join_code', { server, code }));
}

/** Leaves the class: missions play on the embedded cluster again. */
export async function classroomLeave(): Promise<void> {
  await call<null>('classroom_leave');
}

/** The class server stopped answering: play on the embedded cluster until the class is tried again. */
export async function classroomFallBack(): Promise<JoinedClass> {
  return checkJoined(await call<JoinedClass>('classroom_fall_back'));
}

/** Tries the class server again; the class, back on it, or an error saying it still does not answer. */
export async function classroomRetry(): Promise<JoinedClass> {
  return checkJoined(await call<JoinedClass>('classroom_retry'));
}

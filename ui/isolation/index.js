// Isolation hook (Tauri's isolation pattern). Every IPC message from the KubeQuest window passes
// through this sandboxed frame before it is encrypted and sent to Rust, so a script injected
// into the main page (a compromised dependency, a lesson that slipped past sanitising) cannot
// send anything the window itself would not.
//
// It guards by allow-list: each command the window calls (ui/src/lib/ipc.ts, granted in
// src-tauri/capabilities) with the exact shape of its arguments, plus Tauri's own channel fetch
// that delivers mission updates, terminal output and a class's serve progress. Anything else,
// or a known command with arguments of another shape, is replaced by a call to a command that does not exist, so Rust refuses it and the
// caller's promise rejects instead of hanging. Rust still validates every argument; this is
// the outer wall, not the only one. src/lib/isolation.test.ts keeps this list in step with
// ipc.ts and the Rust command list.
(() => {
  /** The command a refused message is turned into; Rust knows no such command. */
  const REFUSED = '__kubequest_refused__';
  /** The largest manifest the editor may send: the API server's own request limit (3 MiB). */
  const MAX_YAML = 3 * 1024 * 1024;

  const isRecord = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const noArgs = (p) => p === undefined || p === null || (isRecord(p) && Object.keys(p).length === 0);
  const onlyKeys = (p, keys) => isRecord(p) && Object.keys(p).every((k) => keys.includes(k)) && keys.every((k) => k in p);
  const text = (v, max) => typeof v === 'string' && v.length > 0 && v.length <= max;
  // A mission id: a DNS label, as the namespace kq-<id> must be.
  const missionId = (v) => typeof v === 'string' && v.length <= 60 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v);
  // A manifest file name as the mission screen lists it: no folders, no parent references.
  const fileName = (v) => text(v, 255) && !/[/\\]/.test(v) && v !== '.' && v !== '..';
  const channel = (v) => typeof v === 'string' && /^__CHANNEL__:\d+$/.test(v);
  const contextName = (v) => text(v, 253);
  const settings = (v) =>
    isRecord(v) &&
    (v.context === null || contextName(v.context)) &&
    typeof v.speed === 'number' &&
    typeof v.theme === 'string';
  // A pod name (a DNS subdomain) and a container name (a DNS label), as the API server allows.
  const podName = (v) => typeof v === 'string' && v.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v);
  const containerName = (v) => typeof v === 'string' && v.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v);
  // An exec's argv: a first word, and a bounded line (the panel's input is one line).
  const argv = (v) =>
    Array.isArray(v) && v.length > 0 && v.length <= 256 && v.every((w) => typeof w === 'string' && w.length <= 16384) && v[0].length > 0;
  // A graph node's kind (the engine's GraphKind, kebab-case).
  const GRAPH_KINDS = Object.freeze([
    'service',
    'endpoint-slice',
    'deployment',
    'stateful-set',
    'daemon-set',
    'cron-job',
    'job',
    'replica-set',
    'pod',
    'config-map',
    'secret',
    'persistent-volume-claim',
    'service-account',
    'resource-quota',
    'limit-range',
  ]);
  const graphKind = (v) => typeof v === 'string' && GRAPH_KINDS.includes(v);
  // A terminal: its id (a counter), its size in characters, what the learner types or pastes
  // (terminal.ts sends at most 16384 characters at once; Rust refuses more than 64 KiB), and
  // how much drawn output it acknowledges (a few chunks of at most 64 KiB).
  const int = (v, min, max) => Number.isInteger(v) && v >= min && v <= max;
  const terminalId = (v) => int(v, 0, 0xffffffff);
  const termSize = (p) => int(p.cols, 2, 1000) && int(p.rows, 1, 500);
  // The classroom: a serve request (a roster of at most a few hundred names, a class name that
  // is a DNS label, an hour count, a folder, an IP address), a join (the server's https URL and
  // a code as the sheet prints it), an export format.
  const className = (v) => typeof v === 'string' && v.length <= 40 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v);
  const ipAddress = (v) => typeof v === 'string' && v.length <= 45 && /^[0-9a-fA-F.:]+$/.test(v);
  const serveRequest = (v) =>
    onlyKeys(v, ['roster', 'rosterFile', 'class', 'hours', 'out', 'listen']) &&
    typeof v.roster === 'string' &&
    v.roster.length <= 64 * 1024 &&
    text(v.rosterFile, 255) &&
    className(v.class) &&
    typeof v.hours === 'number' &&
    v.hours >= 0.25 &&
    v.hours <= 168 &&
    text(v.out, 4096) &&
    ipAddress(v.listen);
  const serverUrl = (v) => text(v, 300) && /^https:\/\/[^/?#@\s]+$/.test(v);
  const joinCode = (v) => typeof v === 'string' && /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(v);
  const editorAction = (p) => onlyKeys(p, ['id', 'file', 'yaml']) && missionId(p.id) && fileName(p.file) && typeof p.yaml === 'string' && p.yaml.length <= MAX_YAML;

  /** Each allowed command and the check its arguments must pass. */
  const RULES = Object.freeze({
    app_info: noArgs,
    list_missions: noArgs,
    get_progress: noArgs,
    mission_debrief: (p) => onlyKeys(p, ['id']) && missionId(p.id),
    get_settings: noArgs,
    list_contexts: noArgs,
    export_progress: noArgs,
    import_progress: noArgs,
    // A learner name: Rust trims it and refuses one over 80 characters; this only bounds it.
    set_learner_name: (p) => onlyKeys(p, ['name']) && text(p.name, 400),
    start_mission: (p) => onlyKeys(p, ['id', 'onUpdate']) && missionId(p.id) && channel(p.onUpdate),
    stop_mission: (p) => onlyKeys(p, ['id']) && missionId(p.id),
    reset_mission: (p) => onlyKeys(p, ['id']) && missionId(p.id),
    reveal_hint: (p) => onlyKeys(p, ['id']) && missionId(p.id),
    apply_manifest: editorAction,
    delete_manifest: editorAction,
    reapply_manifest: editorAction,
    save_settings: (p) => onlyKeys(p, ['settings']) && settings(p.settings),
    allow_remote_context: (p) => onlyKeys(p, ['context']) && contextName(p.context),
    run_in_container: (p) =>
      onlyKeys(p, ['id', 'pod', 'container', 'argv']) &&
      missionId(p.id) &&
      podName(p.pod) &&
      (p.container === null || containerName(p.container)) &&
      argv(p.argv),
    // Any object's name is a DNS subdomain at most, as a pod's is.
    object_yaml: (p) => onlyKeys(p, ['id', 'kind', 'name']) && missionId(p.id) && graphKind(p.kind) && podName(p.name),
    open_link: (p) => onlyKeys(p, ['url']) && text(p.url, 2048) && /^https?:\/\//i.test(p.url),
    terminal_open: (p) =>
      onlyKeys(p, ['missionId', 'cols', 'rows', 'onOutput']) && missionId(p.missionId) && termSize(p) && channel(p.onOutput),
    terminal_write: (p) => onlyKeys(p, ['id', 'data']) && terminalId(p.id) && text(p.data, 16384),
    terminal_ack: (p) => onlyKeys(p, ['id', 'bytes']) && terminalId(p.id) && int(p.bytes, 1, 16 * 1024 * 1024),
    terminal_resize: (p) => onlyKeys(p, ['id', 'cols', 'rows']) && terminalId(p.id) && termSize(p),
    terminal_close: (p) => onlyKeys(p, ['id']) && terminalId(p.id),
    classroom_state: noArgs,
    classroom_defaults: noArgs,
    classroom_open_roster: noArgs,
    classroom_serve: (p) => onlyKeys(p, ['request', 'onProgress']) && serveRequest(p.request) && channel(p.onProgress),
    classroom_stop: noArgs,
    classroom_open_folder: noArgs,
    classroom_view: noArgs,
    classroom_open_teacher: noArgs,
    classroom_export: (p) => onlyKeys(p, ['format']) && (p.format === 'csv' || p.format === 'markdown'),
    classroom_join_file: noArgs,
    classroom_join_code: (p) => onlyKeys(p, ['server', 'code']) && serverUrl(p.server) && joinCode(p.code),
    classroom_leave: noArgs,
    classroom_fall_back: noArgs,
    classroom_retry: noArgs,
    // Tauri's own: fetches a channel's queued messages (mission updates).
    'plugin:__TAURI_CHANNEL__|fetch': noArgs,
  });

  /** Whether the window may send this message as it is. */
  const allowed = (message) =>
    isRecord(message) &&
    typeof message.cmd === 'string' &&
    Object.prototype.hasOwnProperty.call(RULES, message.cmd) &&
    RULES[message.cmd](message.payload) === true;

  window.__TAURI_ISOLATION_HOOK__ = (message) => {
    if (allowed(message)) return message;
    console.warn('KubeQuest refused an IPC message it does not send:', message && message.cmd);
    return { ...message, cmd: REFUSED, payload: {} };
  };
  window.__KUBEQUEST_ISOLATION_RULES__ = Object.freeze(Object.keys(RULES));
})();

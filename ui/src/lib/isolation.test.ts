// The isolation hook (ui/isolation/index.js) guards what the window may send to Rust: these
// tests run it as the isolation frame does and check that it lets exactly the window's own
// calls through, refuses everything else, and stays in step with ipc.ts and the Rust commands.

import { describe, expect, it } from 'vitest';
import buildRs from '../../../src-tauri/build.rs?raw';
import hookSource from '../../isolation/index.js?raw';
import ipc from './ipc.ts?raw';

interface Message {
  cmd: string;
  callback: number;
  error: number;
  payload: unknown;
  options?: unknown;
}
type Hook = (message: Message) => Message;

function loadHook(): { hook: Hook; rules: readonly string[] } {
  const fakeWindow: Record<string, unknown> = {};
  const quietConsole = { warn: () => {} };
  new Function('window', 'console', hookSource)(fakeWindow, quietConsole);
  return {
    hook: fakeWindow.__TAURI_ISOLATION_HOOK__ as Hook,
    rules: fakeWindow.__KUBEQUEST_ISOLATION_RULES__ as readonly string[],
  };
}

const { hook, rules } = loadHook();
const msg = (cmd: string, payload: unknown): Message => ({ cmd, callback: 1, error: 2, payload });
const passes = (cmd: string, payload: unknown) => hook(msg(cmd, payload)).cmd === cmd;

describe('isolation hook', () => {
  it('lets the window’s own calls through unchanged', () => {
    const ok: [string, unknown][] = [
      ['app_info', {}],
      ['list_missions', {}],
      ['get_progress', {}],
      ['get_settings', {}],
      ['list_contexts', {}],
      ['export_progress', {}],
      ['import_progress', {}],
      ['set_learner_name', { name: 'Ada Lovelace' }],
      ['start_mission', { id: 'crash-loop-backoff', onUpdate: '__CHANNEL__:12' }],
      ['stop_mission', { id: 'crash-loop-backoff' }],
      ['reset_mission', { id: 'crash-loop-backoff' }],
      ['reveal_hint', { id: 'crash-loop-backoff' }],
      ['apply_manifest', { id: 'crash-loop-backoff', file: 'pod.yaml', yaml: 'kind: Pod' }],
      ['delete_manifest', { id: 'crash-loop-backoff', file: 'pod.yaml', yaml: 'kind: Pod' }],
      ['save_settings', { settings: { context: null, allowedRemoteContexts: [], speed: 1, theme: 'system' } }],
      ['allow_remote_context', { context: 'classroom' }],
      ['open_link', { url: 'https://kubernetes.io/docs/' }],
      ['run_in_container', { id: 'crash-loop-backoff', pod: 'web-7d9f', container: null, argv: ['ls', '/etc/config'] }],
      ['run_in_container', { id: 'crash-loop-backoff', pod: 'web', container: 'sidecar', argv: ['sh', '-c', 'env | sort'] }],
      ['object_yaml', { id: 'crash-loop-backoff', kind: 'deployment', name: 'web' }],
      ['object_yaml', { id: 'crash-loop-backoff', kind: 'persistent-volume-claim', name: 'data.v1' }],
      ['terminal_open', { missionId: 'crash-loop-backoff', cols: 80, rows: 24, onOutput: '__CHANNEL__:7' }],
      ['terminal_write', { id: 0, data: 'kubectl get pods\r' }],
      ['terminal_ack', { id: 3, bytes: 65536 }],
      ['terminal_resize', { id: 3, cols: 132, rows: 40 }],
      ['terminal_close', { id: 3 }],
      ['classroom_state', {}],
      ['classroom_serve', { request: { roster: 'ada\ngrace\n', rosterFile: 'names.txt', class: 'year-10-b', hours: 2, out: '/home/teacher/KubeQuest/class-2026-12-07', listen: '127.0.0.1' }, onProgress: '__CHANNEL__:3' }],
      ['classroom_serve', { request: { roster: 'ada', rosterFile: 'pasted roster', class: 'class', hours: 0.5, out: 'C:\\Users\\t\\class', listen: 'fe80::1' }, onProgress: '__CHANNEL__:4' }],
      ['classroom_export', { format: 'markdown' }],
      ['classroom_join_code', { server: 'https://192.168.1.20:40123', code: 'ABCD-EFGH' }],
      ['classroom_join_code', { server: 'https://[fe80::1]:6443', code: '7K3M-9PQR' }],
      ['plugin:__TAURI_CHANNEL__|fetch', null],
    ];
    for (const [cmd, payload] of ok) {
      const message = msg(cmd, payload);
      expect(hook(message), `${cmd} is one of the window's own calls and must pass as it is`).toEqual(message);
    }
  });

  it('refuses commands the window never sends, so an injected script cannot reach them', () => {
    for (const cmd of ['plugin:opener|open_url', 'plugin:dialog|open', 'plugin:store|set', 'plugin:event|listen', 'plugin:shell|execute', 'anything']) {
      expect(passes(cmd, {}), `${cmd} must be refused`).toBe(false);
      expect(hook(msg(cmd, { secret: 1 })).payload, 'a refused message carries nothing on').toEqual({});
    }
  });

  it('refuses known commands with arguments of another shape', () => {
    const bad: [string, unknown][] = [
      ['app_info', { extra: true }],
      ['start_mission', { id: '../../etc', onUpdate: '__CHANNEL__:1' }],
      ['start_mission', { id: 'crash-loop-backoff' }],
      ['stop_mission', { id: 'Crash Loop' }],
      ['apply_manifest', { id: 'crash-loop-backoff', file: '../secrets.yaml', yaml: 'x' }],
      ['apply_manifest', { id: 'crash-loop-backoff', file: 'pod.yaml', yaml: 'x'.repeat(3 * 1024 * 1024 + 1) }],
      ['apply_manifest', { id: 'crash-loop-backoff', file: 'pod.yaml', yaml: 'x', namespace: 'kube-system' }],
      ['save_settings', { settings: 'all' }],
      ['allow_remote_context', { context: '' }],
      ['allow_remote_context', { context: 'prod', also: 'staging' }],
      ['open_link', { url: 'file:///etc/passwd' }],
      ['open_link', { url: 'javascript:alert(1)' }],
      ['run_in_container', { id: 'crash-loop-backoff', pod: 'web', container: null, argv: [] }],
      ['run_in_container', { id: 'crash-loop-backoff', pod: 'web', container: null, argv: 'rm -rf /' }],
      ['run_in_container', { id: 'crash-loop-backoff', pod: '../web', container: null, argv: ['ls'] }],
      ['run_in_container', { id: 'crash-loop-backoff', pod: 'web', container: null, argv: ['ls'], namespace: 'kube-system' }],
      ['run_in_container', { id: 'crash-loop-backoff', pod: 'web', container: 'Bad Name', argv: ['ls'] }],
      ['object_yaml', { id: 'crash-loop-backoff', kind: 'node', name: 'worker-1' }],
      ['object_yaml', { id: 'crash-loop-backoff', kind: 'secret', name: '../db' }],
      ['object_yaml', { id: 'crash-loop-backoff', kind: 'secret', name: 'db', namespace: 'kube-system' }],
      ['terminal_open', { missionId: '../etc', cols: 80, rows: 24, onOutput: '__CHANNEL__:7' }],
      ['terminal_open', { missionId: 'crash-loop-backoff', cols: 0, rows: 24, onOutput: '__CHANNEL__:7' }],
      ['terminal_open', { missionId: 'crash-loop-backoff', cols: 80, rows: 24, onOutput: '__CHANNEL__:7', shell: '/bin/zsh' }],
      ['terminal_write', { id: 0, data: 'x'.repeat(16385) }],
      ['terminal_write', { id: -1, data: 'ls' }],
      ['terminal_write', { id: '0', data: 'ls' }],
      ['terminal_ack', { id: 0, bytes: 1.5 }],
      ['terminal_resize', { id: 0, cols: 80, rows: 100000 }],
      ['terminal_close', { id: 0, all: true }],
      ['classroom_serve', { request: { roster: 'ada', rosterFile: 'names.txt', class: 'Year 10', hours: 2, out: '/tmp/c', listen: '127.0.0.1' }, onProgress: '__CHANNEL__:3' }],
      ['classroom_serve', { request: { roster: 'ada', rosterFile: 'names.txt', class: 'c', hours: 2, out: '/tmp/c', listen: '0.0.0.0; rm -rf /' }, onProgress: '__CHANNEL__:3' }],
      ['classroom_serve', { request: { roster: 'ada', rosterFile: 'names.txt', class: 'c', hours: 2, out: '/tmp/c', listen: '127.0.0.1' } }],
      ['classroom_export', { format: 'pdf' }],
      ['classroom_join_code', { server: 'http://192.168.1.20:40123', code: 'ABCD-EFGH' }],
      ['classroom_join_code', { server: 'https://evil.example/steal?x=1', code: 'ABCD-EFGH' }],
      ['classroom_join_code', { server: 'https://192.168.1.20:40123', code: 'abcd-efgh' }],
      ['classroom_leave', { everything: true }],
      ['plugin:__TAURI_CHANNEL__|fetch', { anything: 1 }],
    ];
    for (const [cmd, payload] of bad) {
      expect(passes(cmd, payload), `${cmd} with ${JSON.stringify(payload).slice(0, 80)} must be refused`).toBe(false);
    }
  });

  it('has a rule for every command ipc.ts calls and every command the Rust side grants, and no more', () => {
    const called = [...ipc.matchAll(/call<[^(]*>\('([a-z_]+)'/g)].map((m) => m[1]);
    const list = buildRs.slice(buildRs.indexOf('const COMMANDS'), buildRs.indexOf('];'));
    const granted = [...list.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
    expect(called.length, 'ipc.ts calls were found').toBeGreaterThan(10);
    const own = rules.filter((r) => !r.startsWith('plugin:'));
    expect([...new Set(called)].sort(), 'every call in ipc.ts has a rule in ui/isolation/index.js').toEqual([...own].sort());
    expect([...granted].sort(), 'every command in src-tauri/build.rs has a rule in ui/isolation/index.js').toEqual([...own].sort());
  });
});

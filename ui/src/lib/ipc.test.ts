import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args) }));

const { appInfo, listMissions } = await import('./ipc');

const fakeWindow = (withIpc: boolean) => (withIpc ? { __TAURI_INTERNALS__: {} } : {});

describe('ipc', () => {
  beforeEach(() => {
    invoke.mockReset();
    vi.stubGlobal('window', fakeWindow(true));
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('calls list_missions and returns its list', async () => {
    const list = { missions: [], problems: ['a.md:1: bad'] };
    invoke.mockResolvedValue(list);
    await expect(listMissions()).resolves.toEqual(list);
    expect(invoke).toHaveBeenCalledWith('list_missions', undefined);
  });

  it('calls app_info and returns it', async () => {
    const info = { version: '0.1.0', lessonDirs: ['/l'], cluster: { state: 'notStarted' } };
    invoke.mockResolvedValue(info);
    await expect(appInfo()).resolves.toEqual(info);
    expect(invoke).toHaveBeenCalledWith('app_info', undefined);
  });

  it('passes a Rust error through with its kind', async () => {
    invoke.mockRejectedValue({ kind: 'lessons', message: 'No lesson folder was found.' });
    await expect(listMissions()).rejects.toEqual({ kind: 'lessons', message: 'No lesson folder was found.' });
  });

  it('normalises a bare string rejection into an internal error', async () => {
    invoke.mockRejectedValue('command list_missions not allowed by capability');
    await expect(listMissions()).rejects.toEqual({
      kind: 'internal',
      message: 'command list_missions not allowed by capability',
    });
  });

  it('normalises a thrown Error into an internal error', async () => {
    invoke.mockRejectedValue(new Error('IPC timed out'));
    await expect(appInfo()).rejects.toEqual({ kind: 'internal', message: 'IPC timed out' });
  });

  it('rejects a reply of the wrong shape instead of rendering nonsense', async () => {
    invoke.mockResolvedValue({ missions: 'nope' });
    await expect(listMissions()).rejects.toMatchObject({ kind: 'internal' });
    invoke.mockResolvedValue(null);
    await expect(appInfo()).rejects.toMatchObject({ kind: 'internal' });
  });

  it('explains, without calling, when the page is opened outside the app', async () => {
    vi.stubGlobal('window', fakeWindow(false));
    await expect(listMissions()).rejects.toMatchObject({
      kind: 'internal',
      message: expect.stringContaining('not connected to the KubeQuest app'),
    });
    expect(invoke).not.toHaveBeenCalled();
  });
});

describe('mission commands', () => {
  beforeEach(() => {
    invoke.mockReset();
    vi.stubGlobal('window', fakeWindow(true));
  });
  afterEach(() => vi.unstubAllGlobals());

  it('passes ids, files and text with the names the Rust commands take', async () => {
    const { applyManifest, deleteManifest, revealHint, stopMission, resetMission, saveSettings, exportProgress, importProgress } =
      await import('./ipc');
    invoke.mockResolvedValue({ ok: true, command: 'kubectl apply', output: 'pod/web configured', diagnostics: [] });
    await applyManifest('m', 'pod.yaml', 'kind: Pod');
    expect(invoke).toHaveBeenLastCalledWith('apply_manifest', { id: 'm', file: 'pod.yaml', yaml: 'kind: Pod' });
    await deleteManifest('m', 'pod.yaml', 'kind: Pod');
    expect(invoke).toHaveBeenLastCalledWith('delete_manifest', { id: 'm', file: 'pod.yaml', yaml: 'kind: Pod' });
    invoke.mockResolvedValue({ index: 0, html: '<p>h</p>', remaining: 1, hintsUsed: 1 });
    await revealHint('m');
    expect(invoke).toHaveBeenLastCalledWith('reveal_hint', { id: 'm' });
    invoke.mockResolvedValue(null);
    await stopMission('m');
    expect(invoke).toHaveBeenLastCalledWith('stop_mission', { id: 'm' });
    await expect(exportProgress()).resolves.toBeNull();
    await expect(importProgress()).resolves.toBeNull();
    invoke.mockResolvedValue({ manifests: [], detail: {} });
    await resetMission('m');
    expect(invoke).toHaveBeenLastCalledWith('reset_mission', { id: 'm' });
    const settings = { context: null, allowedRemoteContexts: [], speed: 1, theme: 'dark' as const, teacherPreview: false };
    invoke.mockResolvedValue(settings);
    await expect(saveSettings(settings)).resolves.toEqual(settings);
    expect(invoke).toHaveBeenLastCalledWith('save_settings', { settings });
  });

  it('runs a command in a container and checks the answer’s shape', async () => {
    const { runInContainer } = await import('./ipc');
    const output = { stdout: 'web\n', stderr: '', stdoutTruncated: false, stderrTruncated: false, exit: { kind: 'code', code: 0 } };
    invoke.mockResolvedValue(output);
    await expect(runInContainer('m', 'web', null, ['cat', '/etc/hostname'])).resolves.toEqual(output);
    expect(invoke).toHaveBeenLastCalledWith('run_in_container', { id: 'm', pod: 'web', container: null, argv: ['cat', '/etc/hostname'] });
    invoke.mockResolvedValue({ stdout: 1 });
    await expect(runInContainer('m', 'web', 'c', ['env'])).rejects.toMatchObject({ kind: 'internal' });
    invoke.mockRejectedValue({ kind: 'cluster', message: 'pods "web" not found' });
    await expect(runInContainer('m', 'web', null, ['env'])).rejects.toEqual({ kind: 'cluster', message: 'pods "web" not found' });
  });

  it('objectYaml asks for one object of the mission and checks it got text', async () => {
    const { objectYaml } = await import('./ipc');
    invoke.mockResolvedValue('apiVersion: apps/v1\nkind: Deployment\n');
    await expect(objectYaml('m', 'deployment', 'web')).resolves.toBe('apiVersion: apps/v1\nkind: Deployment\n');
    expect(invoke).toHaveBeenLastCalledWith('object_yaml', { id: 'm', kind: 'deployment', name: 'web' });
    invoke.mockResolvedValue({ yaml: 1 });
    await expect(objectYaml('m', 'pod', 'web-1')).rejects.toMatchObject({ kind: 'internal' });
    invoke.mockRejectedValue({ kind: 'cluster', message: 'deployments.apps "web" not found' });
    await expect(objectYaml('m', 'deployment', 'web')).rejects.toEqual({ kind: 'cluster', message: 'deployments.apps "web" not found' });
  });
});

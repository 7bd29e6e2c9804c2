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

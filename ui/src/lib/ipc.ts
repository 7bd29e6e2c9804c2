// The only module that talks to the Rust side. Every call is typed with the bindings ts-rs
// generates from the Rust IPC types, and every failure reaches the caller as a `UiError`
// (`{kind, message}`), so components branch on `kind` and never on message text.

import { invoke } from '@tauri-apps/api/core';
import type { AppInfo } from './bindings/AppInfo';
import type { MissionList } from './bindings/MissionList';
import type { UiError } from './bindings/UiError';
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

// Tracks one request for the window: loading, then ready or failed, and a "still loading"
// flag once it has taken longer than it should. The window never shows a spinner without
// words, and never a spinner forever: after `slowAfterMs` it says so and offers to retry.

import type { UiError } from './bindings/UiError';
import { toUiError } from './errors';

export type Load<T> =
  | { status: 'loading'; slow: boolean }
  | { status: 'ready'; value: T }
  | { status: 'failed'; error: UiError };

/** Lessons are read from local disk: anything past ten seconds is worth saying out loud. */
export const SLOW_AFTER_MS = 10_000;

export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Reports every state of `request` to `onChange`, starting with loading. Returns a function
 * that stops reporting, so a retry can start over without the old request overwriting it.
 */
export function track<T>(
  request: Promise<T>,
  onChange: (state: Load<T>) => void,
  { slowAfterMs = SLOW_AFTER_MS, timers = realTimers }: { slowAfterMs?: number; timers?: Timers } = {},
): () => void {
  let live = true;
  onChange({ status: 'loading', slow: false });
  const slowTimer = timers.setTimeout(() => {
    if (live) onChange({ status: 'loading', slow: true });
  }, slowAfterMs);
  const settle = (state: Load<T>) => {
    timers.clearTimeout(slowTimer);
    if (live) {
      live = false;
      onChange(state);
    }
  };
  request.then(
    (value) => settle({ status: 'ready', value }),
    (error: unknown) => settle({ status: 'failed', error: toUiError(error) }),
  );
  return () => {
    live = false;
    timers.clearTimeout(slowTimer);
  };
}

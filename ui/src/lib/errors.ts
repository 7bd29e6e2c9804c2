// What the window says when something fails. The copy depends on the error's kind only; the
// message from Rust is shown as it is, never parsed.

import type { ErrorKind } from './bindings/ErrorKind';
import type { UiError } from './bindings/UiError';

export interface ErrorCopy {
  title: string;
  /** The next step the learner (or their teacher) can take. */
  nextStep: string;
}

export function errorCopy(kind: ErrorKind): ErrorCopy {
  switch (kind) {
    case 'lessons':
      return {
        title: 'The lessons could not be read',
        nextStep:
          'Check that the lessons folder exists and can be read. A teacher can point KubeQuest at another folder with KUBEQUEST_LESSONS. Then try again.',
      };
    case 'cluster':
      return {
        title: 'The cluster is not answering',
        nextStep: 'Try again in a moment. If it keeps failing, restart KubeQuest.',
      };
    case 'progress':
      return {
        title: 'Your progress was not saved',
        nextStep:
          'Make sure the folder named below exists, is writable and has free space, then try again. Until then, what you do is not recorded.',
      };
    case 'internal':
      return {
        title: 'Something went wrong inside KubeQuest',
        nextStep: 'Try again. If it keeps happening, restart KubeQuest and report the message below.',
      };
  }
}

const KINDS: readonly ErrorKind[] = ['lessons', 'cluster', 'progress', 'internal'];

const isKind = (value: unknown): value is ErrorKind =>
  typeof value === 'string' && (KINDS as readonly string[]).includes(value);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

function describe(value: unknown): string {
  try {
    const json = JSON.stringify(value);
    if (json !== undefined && json !== '{}') return json;
  } catch {
    // Cyclic or otherwise unprintable: fall through to the plain conversion.
  }
  return String(value);
}

/**
 * Turns anything a failed call can reject with into a `UiError`. Rust sends `{kind, message}`;
 * everything else (a thrown `Error`, a bare string from a plugin, a shape this version does
 * not know) becomes kind `internal` with the most useful text that can be found in it.
 */
export function toUiError(error: unknown): UiError {
  if (isRecord(error) && isKind(error.kind) && typeof error.message === 'string') {
    return { kind: error.kind, message: error.message || 'No details were given.' };
  }
  if (error instanceof Error) {
    return { kind: 'internal', message: error.message || error.name };
  }
  if (typeof error === 'string') {
    return { kind: 'internal', message: error || 'No details were given.' };
  }
  if (isRecord(error) && typeof error.message === 'string' && error.message) {
    return { kind: 'internal', message: error.message };
  }
  if (error === undefined || error === null) {
    return { kind: 'internal', message: 'The call failed without saying why.' };
  }
  return { kind: 'internal', message: `Unexpected error: ${describe(error)}` };
}

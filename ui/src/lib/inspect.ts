// "Run in container": what the panel next to a running pod does, without the DOM.
//
// - `splitArgv` turns the typed line into the argv the exec receives, the way a POSIX shell
//   splits words (quotes and backslashes), with no expansion: no globs, no variables, no
//   pipes. A learner who wants those writes `sh -c '…'`, and the panel's hint says so.
// - `kubectlExec` is the same command as the learner would type it in a terminal, quoted so
//   it can be pasted back into a shell.
// - `inspectStep` is the panel's state machine: idle → running → done | failed, where a new
//   run always starts from the typed command, and a result that arrives for an older run (the
//   learner ran again meanwhile) is dropped.

import type { ContainerOutput } from './bindings/ContainerOutput';
import type { UiError } from './bindings/UiError';

export type SplitResult = { ok: true; argv: string[] } | { ok: false; error: string };

/** Splits a command line into words as `sh` would, without expanding anything. */
export function splitArgv(line: string): SplitResult {
  const argv: string[] = [];
  let word = '';
  // A word exists once any character of it (even an empty pair of quotes) was read.
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
      i += 1;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: 'A single quote is not closed.' };
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      let closed = false;
      while (i < line.length) {
        const d = line.charAt(i);
        if (d === '"') {
          closed = true;
          i += 1;
          break;
        }
        // Inside double quotes a backslash escapes only these, as in sh.
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line.charAt(i + 1))) {
          word += line.charAt(i + 1);
          i += 2;
        } else {
          word += d;
          i += 1;
        }
      }
      if (!closed) return { ok: false, error: 'A double quote is not closed.' };
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return { ok: false, error: 'The line ends with a backslash.' };
      word += line.charAt(i + 1);
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i += 1;
    }
  }
  if (inWord) argv.push(word);
  if (argv.length === 0) return { ok: false, error: 'Type a command to run, e.g. ls /etc/config.' };
  return { ok: true, argv };
}

/** One word as a shell needs it: as it is when safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * `kubectl exec -n NS POD [-c C] -- ARGV…`. The container is named only when the pod has more
 * than one (kubectl picks the only one itself).
 */
export function kubectlExec(namespace: string, pod: string, container: string | null, argv: string[]): string {
  const parts = ['kubectl', 'exec', '-n', shellQuote(namespace), shellQuote(pod)];
  if (container) parts.push('-c', shellQuote(container));
  parts.push('--', ...argv.map(shellQuote));
  return parts.join(' ');
}

/** One-click commands that answer the usual "what does the container see?" questions. */
export const SUGGESTED_COMMANDS: readonly string[] = [
  'ls /etc/config',
  'env',
  'cat /etc/resolv.conf',
  'cat /etc/hostname',
];

/** How a finished command ended, in a few words, and whether it is a success. */
export function exitSummary(output: ContainerOutput): { text: string; ok: boolean } {
  switch (output.exit.kind) {
    case 'code':
      return { text: `exit code ${output.exit.code}`, ok: output.exit.code === 0 };
    case 'timedOut':
      return { text: `stopped after ${output.exit.seconds} s: the command was still running`, ok: false };
    case 'failed':
      return { text: 'the command could not run', ok: false };
  }
}

export type InspectState =
  | { phase: 'idle' }
  | { phase: 'invalid'; run: number; error: string }
  | { phase: 'running'; run: number; argv: string[]; command: string }
  | { phase: 'done'; run: number; argv: string[]; command: string; output: ContainerOutput }
  | { phase: 'failed'; run: number; argv: string[]; command: string; error: UiError };

export type InspectEvent =
  | { type: 'run'; line: string; namespace: string; pod: string; container: string | null }
  | { type: 'result'; run: number; output: ContainerOutput }
  | { type: 'error'; run: number; error: UiError };

/** The next state of the panel. Runs are numbered so a late answer cannot overwrite a newer. */
export function inspectStep(state: InspectState, event: InspectEvent): InspectState {
  switch (event.type) {
    case 'run': {
      if (state.phase === 'running') return state;
      const last = 'run' in state ? state.run : 0;
      const split = splitArgv(event.line);
      if (!split.ok) return { phase: 'invalid', run: last, error: split.error };
      const run = last + 1;
      const command = kubectlExec(event.namespace, event.pod, event.container, split.argv);
      return { phase: 'running', run, argv: split.argv, command };
    }
    case 'result':
      if (state.phase !== 'running' || state.run !== event.run) return state;
      return { ...state, phase: 'done', output: event.output };
    case 'error':
      if (state.phase !== 'running' || state.run !== event.run) return state;
      return { ...state, phase: 'failed', error: event.error };
  }
}

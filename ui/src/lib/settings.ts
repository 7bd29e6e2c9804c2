// The settings screen's logic: the cluster choices with their local/remote badges, when a
// choice needs the learner's explicit confirmation, the speed steps and the theme.

import type { ContextInfo } from './bindings/ContextInfo';
import type { Settings } from './bindings/Settings';
import type { Theme } from './bindings/Theme';

export interface ClusterChoice {
  /** Null is the embedded cluster. */
  context: string | null;
  name: string;
  badge: 'Built in' | 'Local' | 'Remote';
  detail: string;
  server: string | null;
  current: boolean;
  remote: boolean;
}

export function clusterChoices(contexts: readonly ContextInfo[]): ClusterChoice[] {
  return [
    {
      context: null,
      name: 'Embedded cluster',
      badge: 'Built in',
      detail: 'Runs inside KubeQuest, offline. Nothing is installed or shared.',
      server: null,
      current: false,
      remote: false,
    },
    ...contexts.map((c): ClusterChoice => {
      const remote = c.locality.kind === 'remote';
      return {
        context: c.name,
        name: c.name,
        badge: remote ? 'Remote' : 'Local',
        detail:
          c.locality.kind === 'local'
            ? c.locality.why
            : `Its server is not on this machine${c.server ? ` (${c.server})` : ''}: missions would create objects there.`,
        server: c.server,
        current: c.current,
        remote,
      };
    }),
  ];
}

/**
 * A remote context needs an explicit yes, once. The yes is recorded by the Rust side
 * (`allowRemoteContext`), which owns the allow-list; this only reads it.
 */
export function needsConfirmation(choice: ClusterChoice, settings: Settings): boolean {
  return choice.remote && choice.context !== null && !settings.allowedRemoteContexts.includes(choice.context);
}

/**
 * The settings after choosing `choice`. The allow-list is left as the Rust side answered it:
 * `save_settings` ignores any list the window sends.
 */
export function chooseCluster(settings: Settings, choice: ClusterChoice): Settings {
  return { ...settings, context: choice.context };
}

export const SPEEDS = [0.5, 1, 2, 5, 10] as const;

export function speedLabel(speed: number): string {
  const x = `${Number.isInteger(speed) ? speed : speed.toFixed(1)}×`;
  return speed === 1 ? `${x} real time` : speed < 1 ? `${x} slower` : `${x} faster`;
}

export const THEMES: readonly { value: Theme; label: string }[] = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

/** Applies the theme to the page at once: `data-theme` on <html> (absent for system). */
export function applyTheme(theme: Theme, root: { dataset: DOMStringMap } = document.documentElement): void {
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
}

// ---------------------------------------------------------------------------------------------
// The learner's name: what the teacher's class report shows. It lives with the progress (shared
// with `kq`), so these helpers only check what is typed and remember a skipped first-run prompt.

/** The longest name Rust keeps (`MAX_LEARNER_NAME_CHARS` in the engine). */
export const MAX_LEARNER_NAME = 80;

/** Why a typed name cannot be used, or null when it can (Rust checks the same again). */
export function learnerNameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === '') return 'Type the name your teacher knows you by.';
  if ([...trimmed].length > MAX_LEARNER_NAME) return `Keep it to ${MAX_LEARNER_NAME} characters.`;
  // Control characters would break the rows of the teacher's report.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return 'Type the name on one line.';
  return null;
}

/** Where a skipped first-run name prompt is remembered (the window's own storage). */
export const NAME_PROMPT_KEY = 'kubequest.learnerNamePrompt';

/**
 * Whether to offer the name prompt on the mission map: only once the progress is known, only
 * when no name is stored, and never again after the learner chose "Not now" (Settings and the
 * first export still ask).
 */
export function shouldAskLearnerName(
  progress: { learner: { name: string } | null } | null,
  storage: Pick<Storage, 'getItem'> | null,
): boolean {
  if (!progress || (progress.learner && progress.learner.name.trim() !== '')) return false;
  try {
    return storage?.getItem(NAME_PROMPT_KEY) !== 'skipped';
  } catch {
    // Storage can be unavailable (private mode): asking again is harmless.
    return true;
  }
}

/** Remembers that the learner skipped the first-run prompt. */
export function skipLearnerNamePrompt(storage: Pick<Storage, 'setItem'> | null): void {
  try {
    storage?.setItem(NAME_PROMPT_KEY, 'skipped');
  } catch {
    // Nothing to do: the prompt shows again next time, which blocks nothing.
  }
}

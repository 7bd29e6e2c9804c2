// The classroom in the window: what the teacher's live class view and the learner's join form
// decide without the cluster. Sorting the class table, which rows count as stuck, scaling the
// two bar charts, mapping the engine's roster errors to the lines they name, and checking a
// join code and a server address before anything is sent. Nothing here reads the clock:
// callers pass `now` in milliseconds.

import { parseTime } from './kubetime';

import type { ClassLearnerRow } from './bindings/ClassLearnerRow';
import type { ClassMissionSummary } from './bindings/ClassMissionSummary';
import type { ClassView } from './bindings/ClassView';

export type { ClassLearnerRow, ClassMissionSummary, ClassView };

// ---- the class table ----------------------------------------------------------------------

/** The columns the class table sorts by, in the order it shows them. */
export const CLASS_COLUMNS = ['learner', 'mission', 'stage', 'reason', 'time', 'hints', 'solved'] as const;
export type ClassColumn = (typeof CLASS_COLUMNS)[number];
export type SortDirection = 'ascending' | 'descending';
export interface ClassSort {
  column: ClassColumn;
  direction: SortDirection;
}

export const COLUMN_LABELS: Record<ClassColumn, string> = {
  learner: 'Learner',
  mission: 'Mission',
  stage: 'Stage',
  reason: 'Reason',
  time: 'Time on mission',
  hints: 'Hints',
  solved: 'Solved',
};

/** The pipeline's stages in the order a pod goes through them (stage.rs's names). */
const STAGE_ORDER = ['apply', 'schedule', 'init', 'pull', 'create', 'run', 'ready'];

type Key = string | number | null;

function keyOf(row: ClassLearnerRow, column: ClassColumn): Key {
  switch (column) {
    case 'learner':
      return row.learner;
    case 'mission':
      return row.missionTitle ?? row.mission;
    case 'stage': {
      if (row.stage === null) return null;
      const at = STAGE_ORDER.indexOf(row.stage);
      return at === -1 ? STAGE_ORDER.length : at;
    }
    case 'reason':
      return row.reason;
    case 'time':
      return row.secondsOnMission;
    case 'hints':
      return row.hints;
    case 'solved':
      return row.solved;
  }
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function compareKeys(a: Exclude<Key, null>, b: Exclude<Key, null>): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return collator.compare(String(a), String(b));
}

/**
 * The rows in the chosen order. A row without a value for the column (a learner who has not
 * started a mission) goes last in both directions, so the rows worth looking at stay on top;
 * ties keep the learners in name order.
 */
export function sortRows(rows: readonly ClassLearnerRow[], sort: ClassSort): ClassLearnerRow[] {
  const sign = sort.direction === 'ascending' ? 1 : -1;
  return [...rows].sort((x, y) => {
    const a = keyOf(x, sort.column);
    const b = keyOf(y, sort.column);
    if (a === null && b !== null) return 1;
    if (b === null && a !== null) return -1;
    const primary = a === null || b === null ? 0 : sign * compareKeys(a, b);
    return primary !== 0 ? primary : collator.compare(x.learner, y.learner);
  });
}

/**
 * A click on a column header: the same column turns round, another starts in its most useful
 * direction (names and missions A→Z, numbers largest first: the longest stuck on top).
 */
export function nextSort(current: ClassSort, column: ClassColumn): ClassSort {
  if (current.column === column) {
    return { column, direction: current.direction === 'ascending' ? 'descending' : 'ascending' };
  }
  const numeric = column === 'time' || column === 'hints' || column === 'solved';
  return { column, direction: numeric ? 'descending' : 'ascending' };
}

/** The stuck thresholds the teacher chooses from, in minutes (10 unless changed). */
export const STUCK_CHOICES = [5, 10, 15, 20, 30, 45, 60] as const;
export const DEFAULT_STUCK_MINUTES = 10;

/**
 * Whether the row is stuck: on a mission not solved yet for more than `minutes` minutes.
 * A learner who solved the mission they are on is not stuck, however long it took.
 */
export function isStuck(row: ClassLearnerRow, minutes: number): boolean {
  return row.mission !== null && !row.solvedCurrent && row.secondsOnMission !== null && row.secondsOnMission > minutes * 60;
}

/** A time on a mission or to fix one, as the table shows it: `45 s`, `12 min`, `1 h 05 min`. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** "updated 3 s ago" for the view read at `readAt` (RFC 3339), or null before a first read. */
export function updatedAgo(readAt: string | null, now: number): string | null {
  const at = parseTime(readAt);
  if (at === null) return null;
  const seconds = Math.max(0, Math.floor((now - at) / 1000));
  if (seconds < 60) return `updated ${seconds} s ago`;
  return `updated ${formatSeconds(seconds)} ago`;
}

/** The table's caption: how many learners, how many stuck. */
export function classSummary(view: ClassView, minutes: number): string {
  const learners = view.learners.length;
  const stuck = view.learners.filter((r) => isStuck(r, minutes)).length;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const base = plural(learners, 'learner', 'learners');
  if (learners === 0) return 'No learner in this class yet.';
  return stuck === 0 ? `${base}, none stuck for more than ${minutes} min.` : `${base}, ${stuck} stuck for more than ${minutes} min.`;
}

// ---- the charts ---------------------------------------------------------------------------

export interface Bar {
  /** The mission's title (its id when it has none). */
  label: string;
  /** The number the bar stands for; null when there is none yet (no solve, say). */
  value: number | null;
  /** The bar's length as a share of the chart's width, 0..1. */
  share: number;
  /** The number as text, drawn next to the bar and read by screen readers. */
  text: string;
}

/**
 * "Nice" top of a chart's scale: the smallest 1, 2 or 5 × 10^n at or above the largest value,
 * so bars keep their proportions and the longest one does not always touch the edge.
 */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= max) return step * magnitude;
  }
  return 10 * magnitude;
}

/** Bars for a chart, scaled together; a mission without a number gets an empty bar. */
export function scaleBars(
  items: readonly { label: string; value: number | null }[],
  format: (value: number) => string,
): { bars: Bar[]; max: number } {
  const largest = Math.max(0, ...items.map((i) => i.value ?? 0));
  const max = niceMax(largest);
  const bars = items.map(({ label, value }) => ({
    label,
    value,
    share: value === null ? 0 : Math.min(1, Math.max(0, value / max)),
    text: value === null ? 'none yet' : format(value),
  }));
  return { bars, max };
}

/** Median time to fix per mission (minutes on the scale), for the missions someone started. */
export function timeToFixBars(missions: readonly ClassMissionSummary[]) {
  return scaleBars(
    missions.filter((m) => m.started > 0).map((m) => ({ label: m.title || m.mission, value: m.medianSecondsToFix })),
    (v) => formatSeconds(v),
  );
}

/** Hints revealed per mission, for the missions someone started. */
export function hintBars(missions: readonly ClassMissionSummary[]) {
  return scaleBars(
    missions.filter((m) => m.started > 0).map((m) => ({ label: m.title || m.mission, value: m.hints })),
    (v) => `${v} ${v === 1 ? 'hint' : 'hints'}`,
  );
}

// ---- the roster ---------------------------------------------------------------------------

export interface RosterProblem {
  /** The roster's line the engine names (1-based), or null for the whole roster. */
  line: number | null;
  /** What is wrong and what to do, as the engine says it (without the `file:line:` prefix). */
  message: string;
}

/**
 * The engine's roster errors (one per line of its message, each `names.txt:4: …`), attached to
 * the lines they name so the form can show each beside its line. A line without that prefix
 * is about the whole roster.
 */
export function rosterProblems(message: string): RosterProblem[] {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => {
      const m = /^[^:\n]+:(\d+): (.*)$/.exec(l);
      return m ? { line: Number(m[1]), message: m[2] ?? l } : { line: null, message: l };
    });
}

/** The names a roster text would give (blank lines and `#` comments left out), for a count. */
export function rosterNames(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

// ---- joining a class ----------------------------------------------------------------------

/** Crockford's base32 alphabet: digits and letters without I, L, O and U. */
const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{8}$/;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * A join code as the teacher's sheet prints it (`ABCD-EFGH`), from what the learner typed:
 * any case, with or without the dash or spaces.
 */
export function checkJoinCode(input: string): Checked<string> {
  const plain = input.replace(/[\s-]/g, '').toUpperCase();
  if (plain.length === 0) return { ok: false, message: 'Enter the join code from your card, for example ABCD-EFGH.' };
  const odd = [...plain].find((c) => /[ILOU]/.test(c));
  if (odd) {
    const instead = odd === 'O' ? '0 (zero)' : odd === 'U' ? 'V' : '1 (one)';
    return { ok: false, message: `Join codes have no letter ${odd}: did you mean ${instead}?` };
  }
  if (/[^0-9A-Z]/.test(plain)) return { ok: false, message: 'A join code has only letters and digits, for example ABCD-EFGH.' };
  if (plain.length !== 8 || !CROCKFORD.test(plain)) {
    return { ok: false, message: `A join code has 8 letters and digits (ABCD-EFGH); this one has ${plain.length}.` };
  }
  return { ok: true, value: `${plain.slice(0, 4)}-${plain.slice(4)}` };
}

/**
 * The class server's address as a URL (`https://192.168.1.20:6443`), from what the learner
 * typed: the URL from the card, or just `host:port`. The class server speaks HTTPS only.
 */
export function checkServer(input: string): Checked<string> {
  const text = input.trim();
  if (text.length === 0) return { ok: false, message: 'Enter the server address from your card, for example https://192.168.1.20:6443.' };
  if (/^http:\/\//i.test(text)) {
    return { ok: false, message: 'The class server speaks HTTPS: the address starts with https://.' };
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { ok: false, message: 'This is not a server address. Copy it from your card, for example https://192.168.1.20:6443.' };
  }
  if (url.protocol !== 'https:') return { ok: false, message: 'The class server speaks HTTPS: the address starts with https://.' };
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return { ok: false, message: 'The server address is only https://, the host and the port, for example https://192.168.1.20:6443.' };
  }
  if (!url.port) return { ok: false, message: 'Add the port from your card after the address, for example https://192.168.1.20:6443.' };
  return { ok: true, value: `${url.protocol}//${url.host}` };
}

// ---- serving a class ----------------------------------------------------------------------

/** A class name: a DNS label of at most 40 characters, as the engine's plan requires. */
export function checkClassName(input: string): Checked<string> {
  const name = input.trim();
  if (name.length === 0) return { ok: true, value: 'class' };
  if (name.length > 40 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    return { ok: false, message: 'Use at most 40 lower-case letters, digits and \u2018-\u2019 for the class name (for example year-10-b).' };
  }
  return { ok: true, value: name };
}

/** The class length in hours: from 0.25 (a token lasts at least 10 minutes) to 168 (a week). */
export function checkHours(input: string | number): Checked<number> {
  const hours = typeof input === 'number' ? input : Number(String(input).trim());
  if (!Number.isFinite(hours) || hours < 0.25 || hours > 168) {
    return { ok: false, message: 'A class lasts from 0.25 hours (15 minutes) to 168 hours (a week): enter a number such as 2 or 1.5.' };
  }
  return { ok: true, value: hours };
}

/** Whether a listen address keeps the class on this computer. */
export const isLoopback = (address: string) => address === '127.0.0.1' || address === '::1';

// ---- what the Rust side answers (src-tauri/src/classroom.rs) ------------------------------

/** The form's starting values: the class folder, and this computer's network addresses. */
export interface ServeDefaults {
  /** `~/KubeQuest/class-<date>`. */
  out: string;
  /** Addresses other computers may reach this one on (never loopback). */
  addresses: string[];
}

/** What the teacher sends to start a class. */
export interface ServeRequest {
  /** The roster's text, and the file name its errors name (`names.txt` when pasted). */
  roster: string;
  rosterFile: string;
  class: string;
  hours: number;
  out: string;
  /** `127.0.0.1` or one of `ServeDefaults.addresses`. */
  listen: string;
}

/** A class this app serves. */
export interface ServingClass {
  class: string;
  /** The address learners join at (`https://192.168.1.20:40123`). */
  server: string;
  folder: string;
  /** `join-sheet.html` (printable) in the folder. */
  sheet: string;
  learners: string[];
  endsAt: string;
  /** Missions left out of the class, with why. */
  leftOut: [string, string][];
}

/** The class this app's learner joined. */
export interface JoinedClass {
  class: string;
  learner: string;
  server: string;
  /** The class server stopped answering: missions play on the embedded cluster until retried. */
  fallback: boolean;
}

/** The classroom as the app holds it now. */
export interface ClassroomState {
  serving: ServingClass | null;
  joined: JoinedClass | null;
  /** The class whose teacher kubeconfig was opened for the live view (a real cluster's). */
  watching: string | null;
}

export type ClassExportFormat = 'csv' | 'markdown';

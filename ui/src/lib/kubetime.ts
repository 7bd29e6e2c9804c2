// Time as kubectl prints it, so what the window shows matches the terminal next to it.
//
// `humanDuration` is apimachinery's `duration.HumanDuration` (used by `kubectl describe` for
// event ages and by `kubectl get` for AGE and RESTARTS), `eventAge` is describe's Age cell
// (`DescribeEvents`: `<last seen> (x<count> over <first seen>)`), and `countdown` is the
// window's own wording for "the kubelet tries again in …". Nothing here reads the clock:
// callers pass `now` in milliseconds.

import type { EventRow } from './bindings/EventRow';

/**
 * `duration.HumanDuration`: about two significant figures. Up to two seconds in the future
 * count as "now" (`0s`), as Go tolerates clock skew; further is `<invalid>`.
 */
export function humanDuration(ms: number): string {
  // Go's int(d.Seconds()) truncates toward zero.
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const dy = days % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/** Milliseconds since the epoch for an RFC 3339 time, or null when absent or unreadable. */
export function parseTime(text: string | null | undefined): number | null {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** `translateTimestampSince`: how long ago `then` was, or `<unknown>` without a time. */
export function age(then: string | null | undefined, now: number): string {
  const at = parseTime(then);
  return at === null ? '<unknown>' : humanDuration(now - at);
}

/** The Age cell of `kubectl describe`'s Events table: `12s`, or `3s (x4 over 2m)`. */
export function eventAge(row: Pick<EventRow, 'count' | 'firstSeen' | 'lastSeen'>, now: number): string {
  const first = age(row.firstSeen ?? row.lastSeen, now);
  if (row.count > 1) return `${age(row.lastSeen, now)} (x${row.count} over ${first})`;
  return first;
}

/**
 * Events in the order `kubectl describe` prints them. Its `SortableEvents` compares the core/v1
 * `lastTimestamp` and nothing else: an event without one (the scheduler's `Scheduled`, written
 * by the events.k8s.io recorder) counts as the zero time and comes first, whatever its
 * `eventTime`. The sort is stable, so equal times keep the order the app sent (the server's):
 * `Pulling` stays before `Pulled` when both fall in the same second.
 */
export function sortEvents<T extends Pick<EventRow, 'lastTimestamp'>>(rows: readonly T[]): T[] {
  const key = (r: T) => parseTime(r.lastTimestamp) ?? 0;
  return rows
    .map((row, i) => ({ row, i }))
    .sort((a, b) => key(a.row) - key(b.row) || a.i - b.i)
    .map((x) => x.row);
}

export interface Countdown {
  /** Whole seconds left, rounded up, never negative. */
  seconds: number;
  /** `7s`, `1m 05s`, `5m 00s`; `now` once due. */
  text: string;
  due: boolean;
}

/** Time left until `at`, for the retry countdown. */
export function countdown(at: string | null | undefined, now: number): Countdown | null {
  const target = parseTime(at);
  if (target === null) return null;
  const seconds = Math.max(0, Math.ceil((target - now) / 1000));
  if (seconds === 0) return { seconds, text: 'now', due: true };
  if (seconds < 60) return { seconds, text: `${seconds}s`, due: false };
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return { seconds, text: `${m}m ${String(s).padStart(2, '0')}s`, due: false };
}

/** `4m 12s`, `45s`, `1h 02m`: how long a fix took, for the map and the debrief. */
export function formatElapsed(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s}s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes}m ${String(s % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
}
